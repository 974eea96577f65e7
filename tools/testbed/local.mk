# tools/testbed/local.mk: build rules for tools/testbed/ (included from its parent's local.mk).
