# bench/local.mk: build rules for bench/ (included by the top-level Makefile.am).

# bench/rpc: tern RPC against oslo.messaging on one broker (`make bench-rpc` builds and runs it).
noinst_PROGRAMS += bench/rpc/bench-rpc
bench_rpc_bench_rpc_SOURCES = bench/rpc/bench-rpc.c
bench_rpc_bench_rpc_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_rpc_bench_rpc_LDADD = rpc/libtern-rpc.la $(HARNESS_LIBS) common/libtern-common.la \
	$(RABBITMQ_LIBS) $(JANSSON_LIBS) $(LIBPQ_LIBS)
EXTRA_DIST += bench/rpc/oslo_bench.py bench/rpc/README.md

.PHONY: bench-rpc
bench-rpc: bench/rpc/bench-rpc
	bench/rpc/bench-rpc
