# compute/local.mk: the host daemon and its drivers.
include compute/virt/local.mk

# libtern-compute: everything of tern-compute but main(), so suites can link it.
noinst_LTLIBRARIES += compute/libtern-compute.la
compute_libtern_compute_la_SOURCES = \
	compute/migration_queue.c compute/migration_queue.h
compute_libtern_compute_la_LIBADD = common/libtern-common.la

check_PROGRAMS += tests/compute/test-migration-queue
TESTS += tests/compute/test-migration-queue
UNIT_TESTS += tests/compute/test-migration-queue
tests_compute_test_migration_queue_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_compute_test_migration_queue_LDADD = compute/libtern-compute.la $(CHECK_LIBS)
