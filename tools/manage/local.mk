# tools/manage/local.mk: build rules for tools/manage/ (included from its parent's local.mk).
