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

check_PROGRAMS += tests/rpc/test-rpc
TESTS += tests/rpc/test-rpc
tests_rpc_test_rpc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(RABBITMQ_CFLAGS) $(JANSSON_CFLAGS)
tests_rpc_test_rpc_LDADD = rpc/libtern-rpc.la $(HARNESS_LIBS) common/libtern-common.la \
	$(CHECK_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS)

# rpc-peer: the tern side of tests/rpc/run-interop (oslo.messaging interoperability).
check_PROGRAMS += tests/rpc/rpc-peer
tests_rpc_rpc_peer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_rpc_rpc_peer_LDADD = rpc/libtern-rpc.la common/libtern-common.la $(RABBITMQ_LIBS) \
	$(JANSSON_LIBS)
EXTRA_DIST += tests/rpc/run-interop tests/rpc/oslo_peer.py

# test-rpc-faults: broker restart, killed consumer, fail-over, TLS (private services).
check_PROGRAMS += tests/rpc/test-rpc-faults
TESTS += tests/rpc/test-rpc-faults
tests_rpc_test_rpc_faults_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
tests_rpc_test_rpc_faults_LDADD = rpc/libtern-rpc.la $(HARNESS_LIBS) common/libtern-common.la \
	$(CHECK_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS)

# run-fuzz: builds tests/rpc/fuzz-message.c with clang's libFuzzer and fuzzes rpc/message.c for a
# bounded time (tools/test runs it; by hand: tests/rpc/run-fuzz BUILDDIR [SECONDS]).
EXTRA_DIST += tests/rpc/run-fuzz tests/rpc/fuzz-message.c
