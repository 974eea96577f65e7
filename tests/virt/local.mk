# tests/virt/local.mk: the virt suite (included from tests/local.mk): unit cases and the libvirt
# cases on two real libvirtd hosts of the testbed.
check_PROGRAMS += tests/virt/test-virt
TESTS += tests/virt/test-virt
tests_virt_test_virt_SOURCES = \
	tests/virt/test-virt.c tests/virt/virt_tests.h \
	tests/virt/test-virt-unit.c \
	tests/virt/test-virt-service.c
tests_virt_test_virt_CFLAGS = $(SUITE_CFLAGS) $(LIBVIRT_CFLAGS) $(JANSSON_CFLAGS)
tests_virt_test_virt_LDADD = compute/virt/libtern-virt.la common/libtern-common.la \
	$(SUITE_LIBS) $(LIBVIRT_LIBS) $(JANSSON_LIBS)
