# tools/cli/local.mk: build rules for tools/cli/ (included from its parent's local.mk).
# libtern-cli: parsing, validation and output of the tern client - everything that does not
# talk to the broker, so its unit suite runs without one. The tern program adds main.c
# (configuration, connection) and wait.c (the --wait of migrations and drains).
noinst_LTLIBRARIES += tools/cli/libtern-cli.la
tools_cli_libtern_cli_la_SOURCES = \
	tools/cli/cli.h \
	tools/cli/parse.c \
	tools/cli/commands.c \
	tools/cli/cmd-migrations.c \
	tools/cli/cmd-servers.c \
	tools/cli/cmd-actions.c \
	tools/cli/cmd-services.c \
	tools/cli/cmd-drains.c \
	tools/cli/output.c \
	tools/cli/progress.c
tools_cli_libtern_cli_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_cli_libtern_cli_la_LIBADD = common/libtern-common.la $(JANSSON_LIBS)

# tern: the client itself.
bin_PROGRAMS += tools/cli/tern
tools_cli_tern_SOURCES = tools/cli/main.c tools/cli/wait.c tools/cli/run.h
tools_cli_tern_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_cli_tern_LDADD = tools/cli/libtern-cli.la conf/libtern-conf-rpc.la conf/libtern-conf.la \
	rpc/libtern-rpc.la common/libtern-common.la $(INIH_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS) -lm

EXTRA_DIST += tools/cli/README.md
