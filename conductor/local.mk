# conductor/local.mk: tern-conductor.

# libtern-conductor: everything of tern-conductor but main(), so suites can link it.
noinst_LTLIBRARIES += conductor/libtern-conductor.la
conductor_libtern_conductor_la_SOURCES = \
	conductor/conductor.h \
	conductor/dispatch.c \
	conductor/checks.c conductor/checks.h \
	conductor/validate.c conductor/validate.h \
	conductor/scheduler.c conductor/scheduler.h \
	conductor/live_migrate.c \
	conductor/drain.c \
	conductor/evacuations.c \
	conductor/migrations.c \
	conductor/recovery.c \
	conductor/events.c \
	conductor/actions.c \
	conductor/action_events.c \
	conductor/servers.c \
	conductor/services.c \
	conductor/views.c conductor/views.h \
	conductor/policy.c conductor/policy.h \
	conductor/ratelimit.c conductor/ratelimit.h
conductor_libtern_conductor_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS)
conductor_libtern_conductor_la_LIBADD = db/libtern-db.la rpc/libtern-rpc.la common/libtern-common.la \
	$(JANSSON_LIBS)

# tern-conductor: the central daemon.
sbin_PROGRAMS += conductor/tern-conductor
conductor_tern_conductor_SOURCES = conductor/main.c
conductor_tern_conductor_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
conductor_tern_conductor_LDADD = conductor/libtern-conductor.la db/libtern-db.la \
	conf/libtern-conf-rpc.la rpc/libtern-rpc.la conf/libtern-conf.la common/libtern-common.la \
	$(LIBPQ_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS) $(INIH_LIBS) $(UUID_LIBS)

EXTRA_DIST += conductor/API.md etc/policy.json
