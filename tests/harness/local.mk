# tests/harness/local.mk: build rules for tests/harness/ (included from its parent's local.mk).
