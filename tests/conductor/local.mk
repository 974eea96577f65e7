# tests/conductor/local.mk: the conductor suite (included from tests/local.mk); its checks and
# refusals cases need PostgreSQL (tests/harness).
check_PROGRAMS += tests/conductor/test-conductor
TESTS += tests/conductor/test-conductor
tests_conductor_test_conductor_SOURCES = tests/conductor/test-conductor.c \
	tests/conductor/conductor_tests.h tests/conductor/test-policy.c tests/conductor/test-checks.c \
	tests/conductor/test-ratelimit.c tests/conductor/test-validate.c
tests_conductor_test_conductor_CFLAGS = $(SUITE_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS)
tests_conductor_test_conductor_LDADD = conductor/libtern-conductor.la db/libtern-db.la \
	$(HARNESS_LIBS) common/libtern-common.la $(SUITE_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS)
