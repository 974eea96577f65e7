# tools/cli/local.mk: build rules for tools/cli/ (included from its parent's local.mk).
# libtern-cli: parsing, validation and output of the tern client - everything that does not
# talk to the broker, so its suite runs without one. tern itself adds main.c (configuration,
# connection, the --wait loop).
noinst_LTLIBRARIES += tools/cli/libtern-cli.la
tools_cli_libtern_cli_la_SOURCES = \
	tools/cli/cli.h \
	tools/cli/parse.c \
	tools/cli/commands.c \
	tools/cli/cmd-migrations.c \
	tools/cli/cmd-servers.c \
	tools/cli/cmd-services.c \
	tools/cli/output.c \
	tools/cli/progress.c
tools_cli_libtern_cli_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_cli_libtern_cli_la_LIBADD = common/libtern-common.la $(JANSSON_LIBS)

EXTRA_DIST += tools/cli/README.md

check_PROGRAMS += tests/cli/test-cli
TESTS += tests/cli/test-cli
UNIT_TESTS += tests/cli/test-cli
tests_cli_test_cli_SOURCES = tests/cli/test-cli.c tests/cli/test-cli.h \
	tests/cli/test-cli-errors.c tests/cli/test-cli-output.c
tests_cli_test_cli_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
tests_cli_test_cli_LDADD = tools/cli/libtern-cli.la common/libtern-common.la $(CHECK_LIBS) \
	$(JANSSON_LIBS)
