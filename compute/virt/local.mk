# compute/virt/local.mk: build rules for compute/virt/ (included from its parent's local.mk).
