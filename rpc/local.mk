# rpc/local.mk: build rules for rpc/ (included by the top-level Makefile.am).
