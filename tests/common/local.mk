# tests/common/local.mk: build rules for tests/common/ (included from its parent's local.mk).
