/*
 * db/drains.h: host drains - every instance off one host, run by one conductor at a time.
 *
 * A drain (tern host-evacuate-live, host-maintenance-enter) is a drains row and one
 * drain_instances row ("item") per instance the host held when it began. db_drain_create() is
 * one transaction: the row, the host's compute service disabled with the reason (and put into
 * maintenance when asked), and the items in priority order, those that must not move marked
 * blocked with why. The conductor that runs it owns the row (drains.conductor, taken by
 * db_drain_take()); each item's migrations are ordinary migrations rows, and an item follows
 * them through compare-and-set updates (db_drain_item_update()).
 *
 * Ownership: db_drain_t and db_drain_item_t own their strings (db_drain_clear(),
 * db_drain_item_clear()); lists are new arrays (db_drain_list_free(), db_drain_item_list_free()).
 * Inputs are borrowed.
 */
#ifndef TERN_DB_DRAINS_H
#define TERN_DB_DRAINS_H

#include "db/db.h"

typedef enum {
    DB_DRAIN_RUNNING = 0, /* instances being moved */
    DB_DRAIN_ABORTING,    /* host-evacuate-abort: queued ones cancelled, running ones aborted */
    DB_DRAIN_COMPLETED,   /* every instance moved */
    DB_DRAIN_FAILED,      /* over, with instances that could not move (message says which) */
    DB_DRAIN_ABORTED,     /* over after an abort */
} db_drain_status_t;

typedef enum {
    DB_DRAIN_ITEM_QUEUED = 0, /* waiting for its turn (priority, limits) */
    DB_DRAIN_ITEM_MIGRATING,  /* migration_uuid in flight */
    DB_DRAIN_ITEM_COMPLETED,  /* the instance is off the host (dest_host) */
    DB_DRAIN_ITEM_FAILED,     /* it could not move: message */
    DB_DRAIN_ITEM_BLOCKED,    /* it must not move (pinned, manual, not running): message */
    DB_DRAIN_ITEM_CANCELLED,  /* aborted, or the instance was deleted */
} db_drain_item_status_t;

const char *db_drain_status_name(db_drain_status_t status);
const char *db_drain_item_status_name(db_drain_item_status_t status);
bool db_drain_status_is_final(db_drain_status_t status);
bool db_drain_item_status_is_final(db_drain_item_status_t status);

typedef struct db_drain {
    int64_t id;
    char *host;
    db_drain_status_t status;
    bool maintenance;    /* host-maintenance-enter: the host stays in maintenance */
    char *target_host;   /* NULL: the scheduler chooses */
    int block_migration; /* 1, 0, or -1 for auto */
    int max_concurrent;  /* migrations of this drain at once (>= 1) */
    bool force;          /* move "manual" and "pinned" instances too */
    bool never_pause;    /* its migrations abort rather than pause a guest to complete */
    char *conductor;     /* the conductor running it, or NULL */
    char *user_id;
    char *project_id;
    char *request_id;
    char *reason; /* the service's disabled reason */
    char *message;
    int64_t created_ms;
    int64_t updated_ms;
    int64_t finished_ms;
} db_drain_t;

/* One instance of a drain, with what its current (or last) migration reports. */
typedef struct db_drain_item {
    int64_t id;
    int64_t drain_id;
    char instance_uuid[DB_UUID_LEN];
    char *instance_name;
    int priority;
    db_drain_item_status_t status;
    char migration_uuid[DB_UUID_LEN]; /* "" before the first attempt */
    int attempts;
    char *dest_host;
    char *message;
    bool abort_sent;
    int64_t started_ms;  /* first attempt */
    int64_t finished_ms; /* 0 until final */
    /* from migration_uuid's row (0 / NULL without one) */
    char *migration_status;
    int64_t migration_id;
    int64_t data_total; /* memory + disk */
    int64_t data_processed;
    int64_t data_remaining;
    int64_t downtime_ms; /* -1 unknown */
    int64_t transfer_ms; /* libvirt's job: migration_started_at to _finished_at; 0 unknown */
    int64_t migration_started_ms;
    int64_t migration_finished_ms;
} db_drain_item_t;

void db_drain_clear(db_drain_t *drain);
void db_drain_list_free(db_drain_t *list, size_t count);
void db_drain_item_clear(db_drain_item_t *item);
void db_drain_item_list_free(db_drain_item_t *list, size_t count);

/* Begin a drain of req->host (status running; req's host, maintenance, target_host,
 * block_migration, max_concurrent, force, user, project, request_id and reason are used), in
 * one transaction: the host's tern-compute service is disabled with req->reason (maintenance
 * set when req->maintenance), and an item is queued per live instance of the host, ordered by
 * priority - blocked instead, with the reason, when it is not active, or its migration_support
 * is "manual" or "pinned" and req->force is false. NOT_FOUND when the host has no compute
 * service; CONFLICT naming the drain when one is already in progress on the host. *ret_drain
 * receives the new row. Not retried. */
int db_drain_create(db_conn_t *conn, const db_drain_t *req, db_drain_t *ret_drain);

/* Read a drain by id, or (id 0) the newest drain of host. NOT_FOUND when there is none. Read,
 * retried. */
int db_drain_get(db_conn_t *conn, int64_t id, const char *host, db_drain_t *ret_drain);

/* The drains in progress that conductor_host runs, after taking those that no conductor runs
 * or whose conductor has sent no heartbeat for down_s seconds (one conditional UPDATE: two
 * conductors never take the same drain). Retried (the same conductor taking again is a no-op). */
int db_drain_take(db_conn_t *conn, const char *conductor_host, int down_s, db_drain_t **ret_list,
                  size_t *ret_count);

/* A drain's items, highest priority first (then in creation order). Read, retried. */
int db_drain_items(db_conn_t *conn, int64_t drain_id, db_drain_item_t **ret_list,
                   size_t *ret_count);

/* Compare-and-set of item id from status `from` to `to`: migration_uuid (NULL: kept),
 * dest_host (NULL: kept) and message (NULL: kept) are set; attempt adds one to attempts and
 * sets started_at the first time; a final `to` sets finished_at. CONFLICT when the item is no
 * longer in `from`. Not retried. */
int db_drain_item_update(db_conn_t *conn, int64_t id, db_drain_item_status_t from,
                         db_drain_item_status_t to, const char *migration_uuid,
                         const char *dest_host, const char *message, bool attempt);

/* Mark item id's abort as sent. Idempotent, retried. */
int db_drain_item_abort_sent(db_conn_t *conn, int64_t id);

/* Move drain id from running to aborting. NOT_FOUND when absent, CONFLICT when not running.
 * Not retried. */
int db_drain_abort(db_conn_t *conn, int64_t id);

/* End drain id (running or aborting) with a final status and message. CONFLICT when it has
 * ended already. Not retried. */
int db_drain_finish(db_conn_t *conn, int64_t id, db_drain_status_t status, const char *message);

/* Migrations in flight (queued, preparing, running, postcopy-active): in total, and per host
 * out of it and into it. hosts[i] are new strings (db_flight_clear). Read, retried. */
typedef struct db_flight {
    int64_t total;
    size_t n;
    char **hosts;
    int64_t *outgoing;
    int64_t *incoming;
} db_flight_t;

int db_migrations_in_flight(db_conn_t *conn, db_flight_t *ret_flight);
void db_flight_clear(db_flight_t *flight);
/* host's counts in flight (0 when it has none). */
int64_t db_flight_outgoing(const db_flight_t *flight, const char *host);
int64_t db_flight_incoming(const db_flight_t *flight, const char *host);
/* Count one more migration from source to dest (NULL: not known yet) in flight. */
void db_flight_add(db_flight_t *flight, const char *source, const char *dest);

#endif /* TERN_DB_DRAINS_H */
