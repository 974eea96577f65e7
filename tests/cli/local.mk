# tests/cli/local.mk: the cli suite (included from tests/local.mk): parsing, validation, output
# and progress (unit), and the tern program against a real tern-conductor on private services.
check_PROGRAMS += tests/cli/test-cli
TESTS += tests/cli/test-cli
tests_cli_test_cli_SOURCES = tests/cli/test-cli.c tests/cli/test-cli.h \
	tests/cli/test-cli-errors.c tests/cli/test-cli-output.c \
	tests/cli/test-cli-conductor.c tests/cli/test-cli-conductor.h tests/cli/test-cli-events.c \
	tests/cli/test-cli-wait.c tests/cli/test-cli-actions.c \
	tests/cli/test-cli-identities.c
tests_cli_test_cli_CFLAGS = $(SUITE_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) $(RABBITMQ_CFLAGS)
tests_cli_test_cli_LDADD = tools/cli/libtern-cli.la db/libtern-db.la rpc/libtern-rpc.la \
	$(HARNESS_LIBS) common/libtern-common.la $(SUITE_LIBS) $(LIBPQ_LIBS) $(RABBITMQ_LIBS) \
	$(JANSSON_LIBS)
# Its conductor cases run the programs they test.
EXTRA_tests_cli_test_cli_DEPENDENCIES = tools/cli/tern conductor/tern-conductor \
	tools/manage/tern-manage
