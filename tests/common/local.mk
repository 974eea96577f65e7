# tests/common/local.mk: the common suite (included from tests/local.mk); unit cases only.
check_PROGRAMS += tests/common/test-common
TESTS += tests/common/test-common
tests_common_test_common_CFLAGS = $(SUITE_CFLAGS) $(JANSSON_CFLAGS)
tests_common_test_common_LDADD = common/libtern-common.la $(SUITE_LIBS) $(JANSSON_LIBS)
