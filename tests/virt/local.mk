# tests/virt/local.mk: the virt suite (unit tests and libvirt service tests); included from
# compute/virt/local.mk.
check_PROGRAMS += tests/virt/test-virt
TESTS += tests/virt/test-virt
tests_virt_test_virt_SOURCES = \
	tests/virt/test-virt.c tests/virt/virt_tests.h \
	tests/virt/test-virt-unit.c \
	tests/virt/test-virt-service.c
tests_virt_test_virt_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_virt_test_virt_LDADD = compute/virt/libtern-virt.la common/libtern-common.la \
	$(LIBVIRT_LIBS) $(JANSSON_LIBS) $(CHECK_LIBS)
