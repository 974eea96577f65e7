# tests/compute/local.mk: the compute suite (included from tests/local.mk); unit cases only.
check_PROGRAMS += tests/compute/test-compute
TESTS += tests/compute/test-compute
tests_compute_test_compute_SOURCES = tests/compute/test-compute.c tests/compute/compute_tests.h \
	tests/compute/test-migration-queue.c tests/compute/test-migrate-data.c \
	tests/compute/test-outcome.c tests/compute/test-hooks.c tests/compute/test-volumes.c
tests_compute_test_compute_CFLAGS = $(SUITE_CFLAGS) $(JANSSON_CFLAGS)
tests_compute_test_compute_LDADD = compute/libtern-compute.la common/libtern-common.la \
	$(SUITE_LIBS) $(JANSSON_LIBS)
