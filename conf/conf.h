/*
 * conf/conf.h: tern's configuration - nova.conf-style INI files, one typed table of options.
 *
 * Every option is declared once in conf/options.c (name, section, type, default, limits or
 * choices, help, secret flag, and where its value lives in conf_t). From that one table come
 * the parser's validation, the --help text of every daemon, `tern-config show` and the generated
 * etc/tern.conf.sample (a test fails when the checked-in sample is stale).
 *
 * Loading follows oslo.config: each --config-file in order (a later file overrides an earlier
 * one), then every *.conf of --config-dir in name order. A bad file (unknown section or option,
 * a value of the wrong type, out of range, not one of the choices, a syntax error) is refused
 * with an error naming file, section, option and why; a secret's value never appears in it.
 *
 * Ownership: conf_t and its strings belong to the caller of conf_load_*() and are freed with
 * conf_free(). conf_t is read-only once loaded and may be read from any thread.
 */
#ifndef TERN_CONF_H
#define TERN_CONF_H

#include <stdbool.h>
#include <stdio.h>

/* Read by conf_load_args() when the command line names no file and no directory. */
#define CONF_DEFAULT_FILE "/etc/tern/tern.conf"

typedef struct conf {
    /* [DEFAULT] */
    char *host;          /* this host's name (default: gethostname()) */
    char *transport_url; /* secret */
    char *control_exchange;
    char *state_path;
    char *instances_path;               /* "$state_path/instances" when unset */
    char *image_store_path;             /* "$state_path/images" when unset */
    int max_concurrent_live_migrations; /* 0: unlimited */
    bool debug;
    char *log_file;
    bool use_syslog;
    int rpc_response_timeout; /* seconds */
    int report_interval;      /* seconds */
    int service_down_time;    /* seconds */
    double cpu_allocation_ratio;
    double ram_allocation_ratio;
    double disk_allocation_ratio;
    int reserved_host_memory_mb;
    int reserved_host_disk_mb;
    char *policy_file;
    char *compute_trusted_users; /* comma-separated AMQP users a compute serves */
    struct {
        char *connection;   /* secret */
        int max_retries;    /* connection attempts after the first at start-up; -1: forever */
        int retry_interval; /* seconds between them */
    } database;
    struct {
        bool ssl;
        char *ssl_ca_file;
        bool ssl_verify;
        char *ssl_cert_file;
        char *ssl_key_file;
        int heartbeat_timeout_threshold; /* seconds; 0 disables heartbeats */
        int rabbit_retry_interval;       /* seconds */
        int rabbit_retry_backoff;        /* seconds */
        int rabbit_interval_max;         /* seconds */
        bool amqp_durable_queues;
    } oslo_messaging_rabbit;
    struct {
        char *connection_uri;
        char *virt_type;
        char *cpu_mode;              /* "" (kvm: host-model, qemu: none) or the mode */
        char *cpu_models;            /* list: candidate models of cpu_mode custom, in order */
        char *cpu_model_extra_flags; /* list: "+flag"/"flag" enable, "-flag" disable */
        char *live_migration_scheme;
        char *live_migration_inbound_addr;
        int live_migration_bandwidth; /* MiB/s, 0 = unlimited */
        int live_migration_downtime;  /* ms */
        int live_migration_downtime_steps;
        int live_migration_downtime_delay;     /* s per GiB */
        int live_migration_completion_timeout; /* s per GiB, 0 = none */
        char *live_migration_timeout_action;   /* abort | force_complete */
        bool live_migration_permit_post_copy;
        bool live_migration_permit_auto_converge;
        bool live_migration_with_native_tls;
        int live_migration_parallel_connections;
    } libvirt;
    struct {
        int workers;                   /* RPC worker threads */
        int max_concurrent_migrations; /* drains' cloud-wide limit (0: none) */
        int rate_limit_per_minute;     /* per identity, on the expensive methods (0: none) */
        int rate_limit_burst;
    } conductor;
    struct {
        int workers;           /* RPC worker threads of tern-compute */
        char *hooks_dir;       /* migration hooks (compute/hooks.h); "" = none */
        int hook_timeout;      /* seconds each hook may run */
        char *volume_roots;    /* directories volumes must lie under; NULL = none allowed */
        char *allowed_bridges; /* list: bridges tern did not make that guests may use */
    } compute;
    struct {
        char *listen;         /* address tern-api listens on */
        int port;             /* its port */
        int workers;          /* threads serving requests */
        int max_connections;  /* connections open at once */
        int max_body_bytes;   /* largest request body read */
        int max_header_bytes; /* memory for a connection's request line and headers */
        int request_timeout;  /* seconds: idle connection, the conductor's answer */
    } api;
    struct {
        char *www_authenticate_uri; /* told to clients in a 401; default auth_url */
        char *auth_url;             /* where tokens are obtained and validated */
        char *username;             /* tern-api's service user */
        char *password;             /* secret */
        char *project_name;
        char *user_domain_name;
        char *project_domain_name;
        int token_cache_time;     /* seconds a validated token is believed (0: never) */
        int http_connect_timeout; /* seconds */
    } keystone_authtoken;
} conf_t;

/* Parse from a string (name stands for the file in messages; for tests, as libvirt's
 * daemonConfigLoadData). Defaults fill what the text does not set. */
conf_t *conf_load_data(const char *name, const char *data);

/* Load files in order, then the *.conf files of config_dir in name order (config_dir may be NULL). With no
 * file and no dir, the defaults alone. NULL with a CONFIG error on any bad input. */
conf_t *conf_load_files(const char *const *files, size_t n_files, const char *config_dir);

void conf_free(conf_t *cfg);

/* The items of a list option's value ("a,b,c", as conf_t holds it): a new NULL-terminated array
 * of new strings (conf_list_free), empty for "" or NULL; *ret_n (may be NULL) gets the count. */
char **conf_list_split(const char *list, size_t *ret_n);
void conf_list_free(char **items);

/* Command line of daemons and tools: --config-file F (repeatable), --config-dir D, --help,
 * --version. Arguments after the options are left in rest/n_rest (borrowed from argv). */
typedef struct conf_args {
    char **config_files; /* owned array of borrowed strings */
    size_t n_config_files;
    const char *config_dir;
    char **rest; /* borrowed: the non-option arguments */
    int n_rest;
} conf_args_t;

/* 0: go on; 1: --help or --version was printed (exit 0); -1: usage error printed (exit 2).
 * extra_usage (may be NULL) is appended to the usage line, e.g. "db sync". When
 * allow_rest is false, any non-option argument is a usage error. */
int conf_parse_args_full(int argc, char **argv, const char *program, const char *extra_usage,
                         bool allow_rest, conf_args_t *ret_args);
int conf_parse_args(int argc, char **argv, const char *program, conf_args_t *ret_args);
void conf_args_clear(conf_args_t *args);

/* Load what args name; with no --config-file and no --config-dir, /etc/tern/tern.conf when it
 * exists, else the defaults. */
conf_t *conf_load_args(const conf_args_t *args);

/* Set up logging from [DEFAULT] debug, log_file and use_syslog. */
int conf_log_setup(const conf_t *cfg, const char *program);

/* Write the sample configuration (every option, its help, default and limits, commented out). */
void conf_write_sample(FILE *out);

/* Write the effective configuration, secrets masked. */
void conf_write_effective(const conf_t *cfg, FILE *out);

/* Write the options' documentation for --help. */
void conf_write_help(FILE *out);

/* Write --help: the usage line (program, then extra_usage when not NULL), the common options
 * and conf_write_help(). */
void conf_write_usage(FILE *out, const char *program, const char *extra_usage);

#endif /* TERN_CONF_H */
