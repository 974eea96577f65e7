# conductor/local.mk: build rules for conductor/ (included by the top-level Makefile.am).
