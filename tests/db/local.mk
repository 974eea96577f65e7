# tests/db/local.mk: the db suite (included from tests/local.mk): db/ and tern-manage. A service
# suite: it needs the harness's PostgreSQL (started on its own when tools/test has not started one).
check_PROGRAMS += tests/db/test-db
TESTS += tests/db/test-db
tests_db_test_db_SOURCES = \
	tests/db/test-db.c tests/db/test-db.h \
	tests/db/test-db-instances.c \
	tests/db/test-db-migrations.c \
	tests/db/test-db-outcomes.c \
	tests/db/test-db-resources.c \
	tests/db/test-db-devices.c \
	tests/db/test-db-actions.c \
	tests/db/test-db-tls.c \
	tests/db/test-db-drains.c \
	tests/db/test-manage.c
tests_db_test_db_CFLAGS = $(SUITE_CFLAGS) $(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
tests_db_test_db_LDADD = db/libtern-db.la $(HARNESS_LIBS) common/libtern-common.la \
	$(SUITE_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS)
# Its manage cases run the program they test.
EXTRA_tests_db_test_db_DEPENDENCIES = tools/manage/tern-manage
