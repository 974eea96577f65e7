# conf/local.mk: build rules for conf/ (included by the top-level Makefile.am).
