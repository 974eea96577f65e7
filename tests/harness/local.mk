# tests/harness/local.mk: build rules for tests/harness/ (included from its parent's local.mk).
# libtern-harness.la: the real-service harness other suites link (with $(HARNESS_LIBS));
# tern-test-services: its command-line front end; tests/services/test-services: its own suite.
noinst_LTLIBRARIES += tests/harness/libtern-harness.la
tests_harness_libtern_harness_la_SOURCES = \
	tests/harness/harness.c tests/harness/harness.h \
	tests/harness/harness-private.h \
	tests/harness/harness-proc.c \
	tests/harness/harness-postgres.c \
	tests/harness/harness-rabbitmq.c
tests_harness_libtern_harness_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS) $(RABBITMQ_CFLAGS)
tests_harness_libtern_harness_la_LIBADD = common/libtern-common.la $(LIBPQ_LIBS) $(RABBITMQ_LIBS)

# What a suite using the harness adds to its LDADD.
HARNESS_LIBS = tests/harness/libtern-harness.la

noinst_PROGRAMS += tests/harness/tern-test-services
tests_harness_tern_test_services_SOURCES = tests/harness/tern-test-services.c
tests_harness_tern_test_services_LDADD = $(HARNESS_LIBS)

EXTRA_DIST += tests/harness/README.md
