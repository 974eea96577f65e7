# compute/local.mk: the host daemon and its drivers.
include compute/virt/local.mk
