/*
 * db/services.h: the services table, one row per daemon (tern-compute, tern-conductor) on a host.
 *
 * A daemon upserts its row at start-up and then heartbeats it periodically. Whether it is "up"
 * is computed by the server from its own clock: not forced down and last heartbeat younger than
 * the caller's service_down_time (so hosts' clock skew does not matter).
 *
 * Ownership: db_service_t's strings are owned by the struct (db_service_clear());
 * db_service_list() returns a new array (db_service_list_free()). All inputs are borrowed.
 */
#ifndef TERN_DB_SERVICES_H
#define TERN_DB_SERVICES_H

#include "db/db.h"

typedef struct db_service {
    int64_t id;
    char *host;                /* host name the daemon reports */
    char *binary;              /* "tern-compute", "tern-conductor" */
    char *topic;               /* RPC topic it consumes, e.g. "compute" */
    bool disabled;             /* no new instances / migrations scheduled to it */
    char *disabled_reason;     /* NULL when none was given */
    bool forced_down;          /* an operator declared it down whatever its heartbeats say */
    int64_t report_count;      /* heartbeats received */
    int64_t last_heartbeat_ms; /* 0 before the first heartbeat */
    int version;               /* service (RPC) version the daemon runs */
    int64_t created_ms;
    int64_t updated_ms;
    bool is_up;       /* computed by the read that returned this row */
    bool maintenance; /* in (or entering) maintenance: disabled until host-maintenance-exit */
    bool draining;    /* a drain of the host is in progress (computed by the read) */
} db_service_t;

void db_service_clear(db_service_t *svc);
void db_service_list_free(db_service_t *list, size_t count);

/* On daemon start: insert (host, binary) or update its topic and version, and heartbeat it now.
 * disabled/forced_down are kept (an operator's decision survives a restart). ret_service may be
 * NULL. Idempotent, retried once. */
int db_service_upsert(db_conn_t *conn, const char *host, const char *binary, const char *topic,
                      int version, db_service_t *ret_service);

/* Record a heartbeat now (report_count + 1). NOT_FOUND when the service has no row. Retried. */
int db_service_heartbeat(db_conn_t *conn, const char *host, const char *binary);

/* Read one service; is_up uses down_time_s (e.g. [DEFAULT] service_down_time = 60). */
int db_service_get(db_conn_t *conn, const char *host, const char *binary, int down_time_s,
                   db_service_t *ret_service);

/* List services ordered by host, binary; binary NULL for all. Read, retried. */
int db_service_list(db_conn_t *conn, const char *binary, int down_time_s, db_service_t **ret_list,
                    size_t *ret_count);

/* Enable or disable a service. reason (may be NULL) is stored when disabling and cleared when
 * enabling. NOT_FOUND when there is no such service. Idempotent, retried. */
int db_service_set_disabled(db_conn_t *conn, const char *host, const char *binary, bool disabled,
                            const char *reason);

/* Set or clear forced_down. NOT_FOUND when there is no such service. Idempotent, retried. */
int db_service_set_forced_down(db_conn_t *conn, const char *host, const char *binary,
                               bool forced_down);

/* Put host's compute service into maintenance (disabled with reason, maintenance set) or take
 * it out (enabled, reason cleared, maintenance cleared). NOT_FOUND when the host has no compute
 * service. Idempotent, retried. */
int db_service_set_maintenance(db_conn_t *conn, const char *host, bool maintenance,
                               const char *reason);

#endif /* TERN_DB_SERVICES_H */
