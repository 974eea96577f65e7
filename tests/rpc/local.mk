# tests/rpc/local.mk: the rpc suite and its companions (included from tests/local.mk).
check_PROGRAMS += tests/rpc/test-rpc
TESTS += tests/rpc/test-rpc
tests_rpc_test_rpc_SOURCES = tests/rpc/test-rpc.c tests/rpc/rpc_tests.h tests/rpc/test-rpc-calls.c \
	tests/rpc/test-rpc-faults.c tests/rpc/test-rpc-limits.c
tests_rpc_test_rpc_CFLAGS = $(SUITE_CFLAGS) $(RABBITMQ_CFLAGS) $(JANSSON_CFLAGS)
tests_rpc_test_rpc_LDADD = rpc/libtern-rpc.la $(HARNESS_LIBS) common/libtern-common.la \
	$(SUITE_LIBS) $(RABBITMQ_LIBS) $(JANSSON_LIBS)

# rpc-peer: the tern side of tests/rpc/run-interop (oslo.messaging interoperability).
check_PROGRAMS += tests/rpc/rpc-peer
tests_rpc_rpc_peer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_rpc_rpc_peer_LDADD = rpc/libtern-rpc.la common/libtern-common.la $(RABBITMQ_LIBS) \
	$(JANSSON_LIBS)
EXTRA_DIST += tests/rpc/run-interop tests/rpc/oslo_peer.py

# run-fuzz: builds tests/rpc/fuzz-message.c with clang's libFuzzer and fuzzes rpc/message.c for a
# bounded time (tools/test runs it; by hand: tests/rpc/run-fuzz BUILDDIR [SECONDS]).
EXTRA_DIST += tests/rpc/run-fuzz tests/rpc/fuzz-message.c
