# tests/common/local.mk: the unit suite of common/ (included from tests/local.mk).
check_PROGRAMS += tests/common/test-common
TESTS += tests/common/test-common
UNIT_TESTS += tests/common/test-common
tests_common_test_common_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
tests_common_test_common_LDADD = common/libtern-common.la $(JANSSON_LIBS) $(CHECK_LIBS)
