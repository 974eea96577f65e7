# tools/manage/local.mk: build rules for tools/manage/ (included from its parent's local.mk).
# tern-manage: `tern-manage db sync|version`; its suite tests/db/test-manage runs the binary
# against the harness's PostgreSQL.
bin_PROGRAMS += tools/manage/tern-manage
tools_manage_tern_manage_SOURCES = tools/manage/manage.c
tools_manage_tern_manage_LDADD = db/libtern-db.la conf/libtern-conf.la common/libtern-common.la \
	$(INIH_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS)

EXTRA_DIST += tools/manage/README.md

check_PROGRAMS += tests/db/test-manage
TESTS += tests/db/test-manage
tests_db_test_manage_SOURCES = tests/db/test-manage.c
tests_db_test_manage_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBPQ_CFLAGS)
tests_db_test_manage_LDADD = $(HARNESS_LIBS) common/libtern-common.la $(CHECK_LIBS) $(LIBPQ_LIBS)
# The suite runs the program it tests.
EXTRA_tests_db_test_manage_DEPENDENCIES = tools/manage/tern-manage
