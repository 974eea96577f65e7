/*
 * conf/options.c: every configuration option of tern, declared once.
 *
 * Defaults follow nova (nova/conf/libvirt.py, compute.py) and oslo.messaging's rabbit driver
 * unless noted. Adding an option: one row here and a field in conf_t; then `make update-sample`.
 */
#include <stddef.h>

#include "conf/conf.h"
#include "conf/options.h"

#define OFF(field) offsetof(conf_t, field)
#define INT_MAX_OPT 2147483647.0

static const char *const virt_types[] = {"kvm", "qemu", NULL};
static const char *const cpu_modes[] = {"",       "none", "host-model", "host-passthrough",
                                        "custom", NULL};
static const char *const schemes[] = {"", "tcp", "tls", "ssh", NULL};
static const char *const timeout_actions[] = {"abort", "force_complete", NULL};

const char *const conf_sections[] = {"DEFAULT", "database",  "oslo_messaging_rabbit",
                                     "libvirt", "conductor", NULL};

const conf_option_t conf_options[] = {
    /* [DEFAULT] */
    {"DEFAULT", "host", CONF_STR, OFF(host), NULL, 0, 0, NULL, 0,
     "Name of this host, as computes and the database know it. Defaults to the system host "
     "name."},
    {"DEFAULT", "transport_url", CONF_STR, OFF(transport_url),
     "rabbit://guest:guest@localhost:5672/", 0, 0, NULL, 1,
     "The messaging transport: rabbit://user:pass@host:port[,user:pass@host2:port]/vhost, or "
     "amqps:// for TLS. Several hosts are tried in turn."},
    {"DEFAULT", "control_exchange", CONF_STR, OFF(control_exchange), "tern", 0, 0, NULL, 0,
     "The AMQP exchange topics are scoped to."},
    {"DEFAULT", "state_path", CONF_STR, OFF(state_path), "/var/lib/tern", 0, 0, NULL, 0,
     "Top-level directory for tern's state."},
    {"DEFAULT", "instances_path", CONF_STR, OFF(instances_path), "$state_path/instances", 0, 0,
     NULL, 0, "Where instances' disks and consoles live on a compute host."},
    {"DEFAULT", "image_store_path", CONF_STR, OFF(image_store_path), "$state_path/images", 0, 0,
     NULL, 0, "Where base images are taken from (one directory per image)."},
    {"DEFAULT", "max_concurrent_live_migrations", CONF_INT, OFF(max_concurrent_live_migrations),
     "1", 0, 1000, NULL, 0, "Outgoing live migrations a compute runs at once; 0 means no limit."},
    {"DEFAULT", "debug", CONF_BOOL, OFF(debug), "false", 0, 0, NULL, 0,
     "Log at DEBUG level instead of INFO."},
    {"DEFAULT", "log_file", CONF_STR, OFF(log_file), NULL, 0, 0, NULL, 0,
     "Log to this file instead of standard error."},
    {"DEFAULT", "use_syslog", CONF_BOOL, OFF(use_syslog), "false", 0, 0, NULL, 0,
     "Log to syslog (takes precedence over log_file)."},
    {"DEFAULT", "rpc_response_timeout", CONF_INT, OFF(rpc_response_timeout), "60", 1, 3600, NULL, 0,
     "Seconds to wait for the answer to an RPC call."},
    {"DEFAULT", "report_interval", CONF_INT, OFF(report_interval), "10", 1, 3600, NULL, 0,
     "Seconds between a service's heartbeats and resource reports."},
    {"DEFAULT", "service_down_time", CONF_INT, OFF(service_down_time), "60", 1, 86400, NULL, 0,
     "A service whose last heartbeat is older than this many seconds is down."},
    {"DEFAULT", "cpu_allocation_ratio", CONF_FLOAT, OFF(cpu_allocation_ratio), "4.0", 0.0001, 1000,
     NULL, 0, "Virtual CPUs per physical CPU a host may give out (nova's initial ratio)."},
    {"DEFAULT", "ram_allocation_ratio", CONF_FLOAT, OFF(ram_allocation_ratio), "1.0", 0.0001, 1000,
     NULL, 0, "Guest memory per MiB of host memory a host may give out."},
    {"DEFAULT", "disk_allocation_ratio", CONF_FLOAT, OFF(disk_allocation_ratio), "1.0", 0.0001,
     1000, NULL, 0, "Guest disk per GiB of host disk a host may give out."},
    {"DEFAULT", "reserved_host_memory_mb", CONF_INT, OFF(reserved_host_memory_mb), "512", 0,
     INT_MAX_OPT, NULL, 0, "Memory kept for the host itself, in MiB."},
    {"DEFAULT", "reserved_host_disk_mb", CONF_INT, OFF(reserved_host_disk_mb), "0", 0, INT_MAX_OPT,
     NULL, 0, "Disk kept for the host itself, in MiB."},
    {"DEFAULT", "policy_file", CONF_STR, OFF(policy_file), "/etc/tern/policy.json", 0, 0, NULL, 0,
     "The policy: which identity (AMQP user) has which role, which role each method needs."},
    /* [database] */
    {"database", "connection", CONF_STR, OFF(database.connection), NULL, 0, 0, NULL, 1,
     "The conductor's database: postgresql://user:pass@host:port/dbname. Computes have none."},
    {"database", "max_retries", CONF_INT, OFF(database.max_retries), "10", -1, 1000, NULL, 0,
     "Connection attempts at start-up; -1 retries forever."},
    /* [oslo_messaging_rabbit] */
    {"oslo_messaging_rabbit", "ssl", CONF_BOOL, OFF(oslo_messaging_rabbit.ssl), "false", 0, 0, NULL,
     0, "Connect with TLS (implied by amqps:// URLs)."},
    {"oslo_messaging_rabbit", "ssl_ca_file", CONF_STR, OFF(oslo_messaging_rabbit.ssl_ca_file), NULL,
     0, 0, NULL, 0, "CA certificates that verify the broker."},
    {"oslo_messaging_rabbit", "ssl_cert_file", CONF_STR, OFF(oslo_messaging_rabbit.ssl_cert_file),
     NULL, 0, 0, NULL, 0, "Client certificate."},
    {"oslo_messaging_rabbit", "ssl_key_file", CONF_STR, OFF(oslo_messaging_rabbit.ssl_key_file),
     NULL, 0, 0, NULL, 0, "Client private key."},
    {"oslo_messaging_rabbit", "heartbeat_timeout_threshold", CONF_INT,
     OFF(oslo_messaging_rabbit.heartbeat_timeout_threshold), "60", 0, 3600, NULL, 0,
     "Seconds of silence after which the broker connection is considered dead; 0 disables "
     "heartbeats."},
    {"oslo_messaging_rabbit", "rabbit_retry_interval", CONF_INT,
     OFF(oslo_messaging_rabbit.rabbit_retry_interval), "1", 1, 3600, NULL, 0,
     "Seconds before the first reconnection attempt."},
    {"oslo_messaging_rabbit", "rabbit_retry_backoff", CONF_INT,
     OFF(oslo_messaging_rabbit.rabbit_retry_backoff), "2", 0, 3600, NULL, 0,
     "Seconds added to the delay after each failed attempt."},
    {"oslo_messaging_rabbit", "rabbit_interval_max", CONF_INT,
     OFF(oslo_messaging_rabbit.rabbit_interval_max), "30", 1, 3600, NULL, 0,
     "Longest delay between reconnection attempts, in seconds."},
    /* [libvirt] */
    {"libvirt", "connection_uri", CONF_STR, OFF(libvirt.connection_uri), NULL, 0, 0, NULL, 0,
     "The libvirt URI of this host's hypervisor; empty means qemu:///system."},
    {"libvirt", "virt_type", CONF_ENUM, OFF(libvirt.virt_type), "kvm", 0, 0, virt_types, 0,
     "Domain type: kvm, or qemu for software emulation (TCG)."},
    {"libvirt", "cpu_mode", CONF_ENUM, OFF(libvirt.cpu_mode), "", 0, 0, cpu_modes, 0,
     "Guest CPU mode; empty lets the hypervisor choose."},
    {"libvirt", "live_migration_scheme", CONF_ENUM, OFF(libvirt.live_migration_scheme), "", 0, 0,
     schemes, 0, "Scheme of the destination's libvirt URI (qemu+SCHEME://); empty is tcp."},
    {"libvirt", "live_migration_inbound_addr", CONF_STR, OFF(libvirt.live_migration_inbound_addr),
     NULL, 0, 0, NULL, 0,
     "This host's address for incoming live-migration traffic; empty means its host name."},
    {"libvirt", "live_migration_bandwidth", CONF_INT, OFF(libvirt.live_migration_bandwidth), "0", 0,
     INT_MAX_OPT, NULL, 0, "Maximum migration bandwidth in MiB/s; 0 means unlimited."},
    {"libvirt", "live_migration_downtime", CONF_INT, OFF(libvirt.live_migration_downtime), "500",
     100, INT_MAX_OPT, NULL, 0, "Largest pause of the guest, in ms, that the last step allows."},
    {"libvirt", "live_migration_downtime_steps", CONF_INT,
     OFF(libvirt.live_migration_downtime_steps), "10", 3, 64, NULL, 0,
     "Steps in which the allowed downtime grows to live_migration_downtime."},
    {"libvirt", "live_migration_downtime_delay", CONF_INT,
     OFF(libvirt.live_migration_downtime_delay), "75", 3, INT_MAX_OPT, NULL, 0,
     "Seconds between downtime steps, per GiB of data to move."},
    {"libvirt", "live_migration_completion_timeout", CONF_INT,
     OFF(libvirt.live_migration_completion_timeout), "800", 0, INT_MAX_OPT, NULL, 0,
     "Seconds a migration may take, per GiB of data, before the timeout action; 0 disables."},
    {"libvirt", "live_migration_timeout_action", CONF_ENUM,
     OFF(libvirt.live_migration_timeout_action), "abort", 0, 0, timeout_actions, 0,
     "What a migration past its completion timeout gets: abort, or force_complete (post-copy "
     "when permitted, else pause the guest)."},
    {"libvirt", "live_migration_permit_post_copy", CONF_BOOL,
     OFF(libvirt.live_migration_permit_post_copy), "false", 0, 0, NULL, 0,
     "Allow switching a migration that does not converge to post-copy."},
    {"libvirt", "live_migration_permit_auto_converge", CONF_BOOL,
     OFF(libvirt.live_migration_permit_auto_converge), "false", 0, 0, NULL, 0,
     "Allow throttling the guest's CPUs so that a migration converges."},
    {"libvirt", "live_migration_with_native_tls", CONF_BOOL,
     OFF(libvirt.live_migration_with_native_tls), "false", 0, 0, NULL, 0,
     "Encrypt migration streams with QEMU's native TLS."},
    {"libvirt", "live_migration_parallel_connections", CONF_INT,
     OFF(libvirt.live_migration_parallel_connections), "1", 1, 256, NULL, 0,
     "Connections that carry one migration's memory in parallel."},
    /* [conductor] */
    {"conductor", "workers", CONF_INT, OFF(conductor.workers), "8", 1, 256, NULL, 0,
     "RPC worker threads of a daemon (so one slow request does not stall the others)."},
};

const size_t conf_n_options = sizeof(conf_options) / sizeof(conf_options[0]);
