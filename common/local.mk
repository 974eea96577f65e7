# common/local.mk: libtern-common, the helpers every other module may use.
noinst_LTLIBRARIES += common/libtern-common.la
common_libtern_common_la_SOURCES = \
	common/error.c common/error.h \
	common/log.c common/log.h \
	common/util.c common/util.h \
	common/command.c common/command.h \
	common/json.c common/json.h \
	common/hold.c common/hold.h \
	common/identity.c common/identity.h
common_libtern_common_la_CFLAGS = $(AM_CFLAGS) $(UUID_CFLAGS) $(JANSSON_CFLAGS)
common_libtern_common_la_LIBADD = $(UUID_LIBS) $(JANSSON_LIBS) -lm
