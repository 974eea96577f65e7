# tests/support/local.mk: what every Check suite links (included from tests/local.mk):
# tests/support/tern-check.h's assertions and runner, with Check itself.
noinst_LTLIBRARIES += tests/support/libtern-check.la
tests_support_libtern_check_la_SOURCES = tests/support/tern-check.c tests/support/tern-check.h
tests_support_libtern_check_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_support_libtern_check_la_LIBADD = common/libtern-common.la $(CHECK_LIBS)

# A suite's CFLAGS and LDADD start with these.
SUITE_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
SUITE_LIBS = tests/support/libtern-check.la $(CHECK_LIBS)
EXTRA_DIST += tests/support/README.md
