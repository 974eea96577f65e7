# db/local.mk: build rules for db/ (included by the top-level Makefile.am).
