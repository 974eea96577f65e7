# conf/local.mk: configuration (one options table) and logging set-up.
noinst_LTLIBRARIES += conf/libtern-conf.la
conf_libtern_conf_la_SOURCES = \
	conf/conf.c conf/conf.h \
	conf/args.c \
	conf/doc.c \
	conf/options.c conf/options.h
conf_libtern_conf_la_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
conf_libtern_conf_la_LIBADD = common/libtern-common.la $(INIH_LIBS) -lm

# The transport settings for rpc/: the one file of conf/ that knows rpc/, in its own library so
# that libtern-conf stays free of it.
noinst_LTLIBRARIES += conf/libtern-conf-rpc.la
conf_libtern_conf_rpc_la_SOURCES = conf/conf-rpc.c conf/conf-rpc.h conf/daemon.c conf/daemon.h
conf_libtern_conf_rpc_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
conf_libtern_conf_rpc_la_LIBADD = conf/libtern-conf.la rpc/libtern-rpc.la

EXTRA_DIST += etc/tern.conf.sample conf/README.md
