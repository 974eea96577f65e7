# api/local.mk: tern-api, the OpenStack Compute API in front of the conductor.

# libtern-api: everything of tern-api but main(), so suites can link it.
noinst_LTLIBRARIES += api/libtern-api.la
api_libtern_api_la_SOURCES = \
	api/api.h \
	api/server.c \
	api/servers.c \
	api/version.c api/version.h \
	api/keystone.c api/keystone.h
api_libtern_api_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS)
api_libtern_api_la_LIBADD = rpc/libtern-rpc.la common/libtern-common.la $(MHD_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS)

# tern-api: the daemon.
sbin_PROGRAMS += api/tern-api
api_tern_api_SOURCES = api/main.c
api_tern_api_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
api_tern_api_LDADD = api/libtern-api.la conf/libtern-conf-rpc.la rpc/libtern-rpc.la \
	conf/libtern-conf.la common/libtern-common.la $(MHD_LIBS) $(CURL_LIBS) $(RABBITMQ_LIBS) \
	$(JANSSON_LIBS) $(INIH_LIBS) $(UUID_LIBS)

EXTRA_DIST += api/README.md
