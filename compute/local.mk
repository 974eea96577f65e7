# compute/local.mk: build rules for compute/ (included by the top-level Makefile.am).
