# tools/cli/local.mk: build rules for tools/cli/ (included from its parent's local.mk).
