# tools/guest/local.mk: build rules for tools/guest/ (included from its parent's local.mk).
