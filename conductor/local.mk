# conductor/local.mk: tern-conductor.

# libtern-conductor: everything of tern-conductor but main(), so suites can link it.
noinst_LTLIBRARIES += conductor/libtern-conductor.la
conductor_libtern_conductor_la_SOURCES = \
	conductor/policy.c conductor/policy.h
conductor_libtern_conductor_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
conductor_libtern_conductor_la_LIBADD = common/libtern-common.la $(JANSSON_LIBS)

check_PROGRAMS += tests/conductor/test-policy
TESTS += tests/conductor/test-policy
UNIT_TESTS += tests/conductor/test-policy
tests_conductor_test_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
tests_conductor_test_policy_LDADD = conductor/libtern-conductor.la $(CHECK_LIBS)

EXTRA_DIST += conductor/API.md etc/policy.json
