# tests/db/local.mk: the db/ suite (included from db/local.mk). A service suite: it needs the
# harness's PostgreSQL (started on its own when tools/test has not started one).
check_PROGRAMS += tests/db/test-db
TESTS += tests/db/test-db
tests_db_test_db_SOURCES = \
	tests/db/test-db.c tests/db/test-db.h \
	tests/db/test-db-instances.c \
	tests/db/test-db-migrations.c \
	tests/db/test-db-resources.c \
	tests/db/test-db-devices.c
tests_db_test_db_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
tests_db_test_db_LDADD = db/libtern-db.la $(HARNESS_LIBS) common/libtern-common.la \
	$(CHECK_LIBS) $(LIBPQ_LIBS) $(JANSSON_LIBS)
