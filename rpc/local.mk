# rpc/local.mk: libtern-rpc, oslo.messaging-compatible RPC over RabbitMQ.
noinst_LTLIBRARIES += rpc/libtern-rpc.la
rpc_libtern_rpc_la_SOURCES = \
	rpc/rpc.h rpc/rpc-private.h \
	rpc/url.c \
	rpc/conn.c \
	rpc/message.c \
	rpc/reader.c \
	rpc/client.c \
	rpc/dispatch.c \
	rpc/server.c
rpc_libtern_rpc_la_CFLAGS = $(AM_CFLAGS) $(RABBITMQ_CFLAGS) $(JANSSON_CFLAGS)
rpc_libtern_rpc_la_LIBADD = common/libtern-common.la $(RABBITMQ_LIBS) $(JANSSON_LIBS)
