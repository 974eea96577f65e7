/*
 * tests/rpc/rpc_tests.h: the cases of the rpc suite (tests/rpc/test-rpc).
 */
#ifndef TERN_TESTS_RPC_TESTS_H
#define TERN_TESTS_RPC_TESTS_H

#include "tests/support/tern-check.h"

/* test-rpc-calls.c: against the run's shared RabbitMQ */
TCase *rpc_calls_tcase(void);     /* call, cast, fanout, identity, slow handlers */
TCase *rpc_errors_tcase(void);    /* remote errors, versions, timeouts, malformed, counters */
TCase *rpc_listeners_tcase(void); /* listeners: their own queues, copies of casts */

/* test-rpc-faults.c: against private services of their own (they restart the broker) */
int rpc_faults_prepare(void); /* start them; 0 or -1 */
void rpc_faults_release(void);
TCase *rpc_restart_tcase(void);   /* broker restarts under calls, casts, listeners */
TCase *rpc_ack_tcase(void);       /* acknowledgements: a server killed before its ack */
TCase *rpc_failover_tcase(void);  /* the next host of a URL */
TCase *rpc_tls_tcase(void);       /* amqps with a client certificate */
TCase *rpc_heartbeat_tcase(void); /* idle connections kept alive */

/* test-rpc-limits.c: against private services of their own (a gigabyte through the broker) */
int rpc_limits_prepare(void); /* start them; 0 or -1 */
void rpc_limits_release(void);
TCase *rpc_limits_tcase(void); /* oversized messages and replies: dropped unread, memory bounded */

#endif /* TERN_TESTS_RPC_TESTS_H */
