/*
 * conf/options.c: every configuration option of tern, declared once.
 *
 * Defaults, limits and help texts follow nova (nova/conf/libvirt.py, compute.py, service.py,
 * paths.py), oslo.messaging (transport_url, control_exchange, rpc_response_timeout and the rabbit
 * driver's options) and oslo.log, reworded where tern differs. Adding an option: one row here,
 * a field in conf_t (conf/conf.h), then `make update-sample` to regenerate etc/tern.conf.sample.
 */
#include <stddef.h>

#include "conf/conf.h"
#include "conf/options.h"

#define OFF(field) offsetof(conf_t, field)
#define OPT_MIN(v) .min = (v), .has_min = true
#define OPT_MAX(v) .max = (v), .has_max = true

#define OPT(sec, nm, typ, fld, def, ...)                                                           \
    {                                                                                              \
        .section = (sec), .name = (nm), .type = (typ), .offset = OFF(fld), .default_value = (def), \
        __VA_ARGS__                                                                                \
    }

static const char *const virt_types[] = {"kvm", "qemu", NULL};
static const char *const cpu_modes[] = {"",       "none", "host-model", "host-passthrough",
                                        "custom", NULL};
static const char *const schemes[] = {"", "tcp", "tls", "ssh", NULL};
static const char *const timeout_actions[] = {"abort", "force_complete", NULL};

const char *const conf_sections[] = {"DEFAULT", "database",           "oslo_messaging_rabbit",
                                     "libvirt", "conductor",          "compute",
                                     "api",     "keystone_authtoken", NULL};

const conf_option_t conf_options[] = {
    /* [DEFAULT]: identity and messaging */
    OPT("DEFAULT", "host", CONF_STR, host, NULL, .default_doc = "<the system host name>",
        .help = "Hostname, FQDN or IP address of this host.\n\n"
                "Used as the name of this compute's RPC queue (compute.HOST) and as the host "
                "name in the database; it must be valid within an AMQP routing key and stay the "
                "same for the life of the host. Defaults to the system host name."),
    OPT("DEFAULT", "transport_url", CONF_URL, transport_url, "rabbit://guest:guest@localhost:5672/",
        .secret = true,
        .help = "The network address and optional user credentials for connecting to the "
                "messaging backend, in URL format.\n\n"
                "The expected format is: "
                "rabbit://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host "
                "(amqps:// or [oslo_messaging_rabbit] ssl for TLS). Several hosts are tried in "
                "turn. The password is never written to logs or error messages."),
    OPT("DEFAULT", "control_exchange", CONF_STR, control_exchange, "tern",
        .help = "The default exchange under which topics are scoped."),
    OPT("DEFAULT", "rpc_response_timeout", CONF_INT, rpc_response_timeout, "60", OPT_MIN(1),
        OPT_MAX(86400), .help = "Seconds to wait for a response from a call."),
    /* [DEFAULT]: paths */
    OPT("DEFAULT", "state_path", CONF_PATH, state_path, "/var/lib/tern",
        .help = "The top-level directory for maintaining tern's state.\n\n"
                "Other paths may refer to it as $state_path."),
    OPT("DEFAULT", "instances_path", CONF_PATH, instances_path, "$state_path/instances",
        .help = "Specifies where instances are stored on the hypervisor's disk.\n\n"
                "It can point to locally attached storage or a directory on NFS. A live "
                "migration without shared storage pre-creates the instance's disks under the "
                "same path on the destination, so every compute should use the same value."),
    OPT("DEFAULT", "image_store_path", CONF_PATH, image_store_path, "$state_path/images",
        .help = "Where a compute finds base images (one directory per image name)."),
    OPT("DEFAULT", "policy_file", CONF_PATH, policy_file, "/etc/tern/policy.json",
        .help = "The policy file of the conductor: which identity (AMQP user) has which role, "
                "and which role each RPC method needs.\n\n"
                "It only overrides the defaults in code (tern-config policy-sample prints "
                "them): without the file the defaults apply. A rule for an unknown method or "
                "an unknown role is an error at start-up."),
    OPT("DEFAULT", "compute_trusted_users", CONF_STR, compute_trusted_users, "tern",
        .help = "Comma-separated AMQP users whose RPC calls a compute serves: the conductor's "
                "identities. Besides them a compute serves only another host's compute "
                "(\"tern-compute.<host>\", each compute's own user), and only the source's calls "
                "of a migration to this host (pre_live_migration, "
                "post_live_migration_at_destination, rollback_live_migration_at_destination) and "
                "get_instance_state. RabbitMQ validates a message's user-id against its "
                "connection, so no other client can make a compute act."),
    /* [DEFAULT]: logging (oslo.log) */
    OPT("DEFAULT", "debug", CONF_BOOL, debug, "false",
        .help = "If set to true, the logging level will be set to DEBUG instead of the default "
                "INFO level."),
    OPT("DEFAULT", "log_file", CONF_PATH, log_file, NULL,
        .help = "Name of log file to send logging output to.\n\n"
                "If not set, logging goes to standard error."),
    OPT("DEFAULT", "use_syslog", CONF_BOOL, use_syslog, "false",
        .help = "Use syslog for logging (takes precedence over log_file)."),
    /* [DEFAULT]: services */
    OPT("DEFAULT", "report_interval", CONF_INT, report_interval, "10", OPT_MIN(1), OPT_MAX(3600),
        .help = "Number of seconds indicating how frequently the state of services on a given "
                "hypervisor is reported.\n\n"
                "The conductor needs this to determine the overall health of the deployment.\n\n"
                "Related options:\n\n"
                "* service_down_time: report_interval should be less than service_down_time."),
    OPT("DEFAULT", "service_down_time", CONF_INT, service_down_time, "60", OPT_MIN(1),
        .help = "Maximum time in seconds since last check-in for up service.\n\n"
                "Each compute node periodically updates its status in the database based on "
                "report_interval. If a compute node has not updated its status for more than "
                "service_down_time, it is considered down and is neither chosen as a live "
                "migration destination nor accepted as a source.\n\n"
                "Related options:\n\n"
                "* report_interval: service_down_time should not be less than report_interval."),
    /* [DEFAULT]: live migration */
    OPT("DEFAULT", "max_concurrent_live_migrations", CONF_INT, max_concurrent_live_migrations, "1",
        OPT_MIN(0), OPT_MAX(1000),
        .help = "Maximum number of live migrations to run concurrently.\n\n"
                "This limit is enforced to avoid outbound live migrations overwhelming the "
                "host/network and causing failures. It is not recommended that you change this "
                "unless you are very sure that doing so is safe and stable in your "
                "environment.\n\n"
                "Possible values:\n\n"
                "* 0: treated as unlimited.\n"
                "* Any positive integer representing maximum concurrent live migrations to run."),
    /* [DEFAULT]: resources */
    OPT("DEFAULT", "cpu_allocation_ratio", CONF_FLOAT, cpu_allocation_ratio, "4.0", OPT_MIN(0.0),
        .help = "Virtual CPU to physical CPU allocation ratio.\n\n"
                "This option is used to influence the hosts selected as live migration "
                "destinations: a host accepts guests whose virtual CPUs add up to its physical "
                "CPUs times this ratio (nova's initial_cpu_allocation_ratio)."),
    OPT("DEFAULT", "ram_allocation_ratio", CONF_FLOAT, ram_allocation_ratio, "1.0", OPT_MIN(0.0),
        .help = "Virtual RAM to physical RAM allocation ratio.\n\n"
                "A host accepts guests whose memory adds up to its physical memory, less "
                "reserved_host_memory_mb, times this ratio."),
    OPT("DEFAULT", "disk_allocation_ratio", CONF_FLOAT, disk_allocation_ratio, "1.0", OPT_MIN(0.0),
        .help = "Virtual disk to physical disk allocation ratio.\n\n"
                "A host accepts guests whose disks add up to the size of its instances_path "
                "file system, less reserved_host_disk_mb, times this ratio."),
    OPT("DEFAULT", "reserved_host_memory_mb", CONF_INT, reserved_host_memory_mb, "512", OPT_MIN(0),
        .help = "Amount of memory in MB to reserve for the host so that it is always available "
                "to host processes."),
    OPT("DEFAULT", "reserved_host_disk_mb", CONF_INT, reserved_host_disk_mb, "0", OPT_MIN(0),
        .help = "Amount of disk resources in MB to make them always available to host.\n\n"
                "The disk usage gets reported back to the conductor from the compute services "
                "running on the compute nodes. To prevent the disk resources from being "
                "considered as available, this option can be used to reserve disk space for "
                "that host."),
    /* [database] (oslo.db) */
    OPT("database", "connection", CONF_URL, database.connection, NULL, .secret = true,
        .help = "The connection string used to connect to the database: "
                "postgresql://user:pass@host:port/dbname.\n\n"
                "Only the conductor and tern-manage have one: computes never hold database "
                "credentials."),
    OPT("database", "max_retries", CONF_INT, database.max_retries, "10", OPT_MIN(-1),
        .help = "Maximum number of database connection retries during startup.\n\n"
                "Set to -1 to specify an infinite retry count. A conductor started before "
                "PostgreSQL is up waits this way; tern-manage fails at once.\n\n"
                "Related options:\n\n"
                "* retry_interval"),
    OPT("database", "retry_interval", CONF_INT, database.retry_interval, "10", OPT_MIN(0),
        OPT_MAX(3600),
        .help = "Interval between retries of opening a SQL connection, in seconds.\n\n"
                "Related options:\n\n"
                "* max_retries"),
    /* [oslo_messaging_rabbit] */
    OPT("oslo_messaging_rabbit", "ssl", CONF_BOOL, oslo_messaging_rabbit.ssl, "false",
        .help = "Connect over SSL (implied by amqps:// transport URLs)."),
    OPT("oslo_messaging_rabbit", "ssl_ca_file", CONF_PATH, oslo_messaging_rabbit.ssl_ca_file, NULL,
        .help = "SSL certification authority file (valid only if SSL enabled).\n\n"
                "Unset, the broker's certificate is verified against the system's CA bundle "
                "(/etc/ssl/certs/ca-certificates.crt)."),
    OPT("oslo_messaging_rabbit", "ssl_verify", CONF_BOOL, oslo_messaging_rabbit.ssl_verify, "true",
        .help = "Verify the broker's certificate and that it is for the host name connected to "
                "(valid only if SSL enabled).\n\n"
                "On by default, with or without ssl_ca_file. false accepts any certificate for "
                "any name: the link is encrypted but anyone on the path can pose as the broker "
                "(oslo.messaging verifies only when ssl_ca_file is set; tern always does unless "
                "this says otherwise)."),
    OPT("oslo_messaging_rabbit", "ssl_cert_file", CONF_PATH, oslo_messaging_rabbit.ssl_cert_file,
        NULL, .help = "SSL cert file (valid only if SSL enabled)."),
    OPT("oslo_messaging_rabbit", "ssl_key_file", CONF_PATH, oslo_messaging_rabbit.ssl_key_file,
        NULL, .help = "SSL key file (valid only if SSL enabled)."),
    OPT("oslo_messaging_rabbit", "heartbeat_timeout_threshold", CONF_INT,
        oslo_messaging_rabbit.heartbeat_timeout_threshold, "60", OPT_MIN(0), OPT_MAX(3600),
        .help = "Number of seconds after which the Rabbit broker is considered down if "
                "heartbeat's keep-alive fails (0 disables heartbeat)."),
    OPT("oslo_messaging_rabbit", "rabbit_retry_interval", CONF_INT,
        oslo_messaging_rabbit.rabbit_retry_interval, "1", OPT_MIN(1), OPT_MAX(3600),
        .help = "How frequently to retry connecting with RabbitMQ, in seconds."),
    OPT("oslo_messaging_rabbit", "rabbit_retry_backoff", CONF_INT,
        oslo_messaging_rabbit.rabbit_retry_backoff, "2", OPT_MIN(0), OPT_MAX(3600),
        .help = "How long to backoff for between retries when connecting to RabbitMQ, in "
                "seconds."),
    OPT("oslo_messaging_rabbit", "rabbit_interval_max", CONF_INT,
        oslo_messaging_rabbit.rabbit_interval_max, "30", OPT_MIN(1), OPT_MAX(3600),
        .help = "Maximum interval of RabbitMQ connection retries, in seconds."),
    OPT("oslo_messaging_rabbit", "amqp_durable_queues", CONF_BOOL,
        oslo_messaging_rabbit.amqp_durable_queues, "false",
        .help = "Use durable queues in AMQP: the control exchange, the topic queues and the reply "
                "queues survive a broker restart, and so do the messages in them (published "
                "persistent). Every daemon and client on the exchange must agree: RabbitMQ "
                "refuses to declare an existing queue or exchange with another durability."),
    /* [libvirt] */
    OPT("libvirt", "connection_uri", CONF_URL, libvirt.connection_uri, NULL,
        .help = "Overrides the default libvirt URI of the chosen virtualization type.\n\n"
                "If set, tern will use this URI to connect to libvirt; if empty, "
                "qemu:///system.\n\n"
                "Related options:\n\n"
                "* virt_type: Influences what is used as default value here."),
    OPT("libvirt", "virt_type", CONF_ENUM, libvirt.virt_type, "kvm", .choices = virt_types,
        .help = "Describes the virtualization type (or so called domain type) libvirt should "
                "use.\n\n"
                "The choice of this type must match the underlying virtualization strategy you "
                "have chosen for this host: kvm, or qemu for software emulation (TCG) where "
                "/dev/kvm is missing.\n\n"
                "Related options:\n\n"
                "* connection_uri: depends on this\n"
                "* cpu_mode: depends on this"),
    OPT("libvirt", "cpu_mode", CONF_ENUM, libvirt.cpu_mode, "", .choices = cpu_modes,
        .help = "Is used to set the CPU mode an instance should have.\n\n"
                "If virt_type=\"kvm\", it will default to \"host-model\"; with \"qemu\" "
                "(TCG) to \"none\", QEMU's default model. A live migration checks, before it "
                "starts, that the destination can run the guest's CPU as libvirt expanded it "
                "when the guest started; a host-passthrough guest needs the same host CPU model "
                "and features on the destination.\n\n"
                "Possible values:\n\n"
                "* ``host-model``: clone the host CPU feature flags\n"
                "* ``host-passthrough``: use the host CPU model exactly\n"
                "* ``custom``: use the CPU model in ``[libvirt] cpu_models``\n"
                "* ``none``: don't set a specific CPU model (the hypervisor's default)\n\n"
                "Related options:\n\n"
                "* ``cpu_models``: needed, and only allowed, with custom\n"
                "* ``cpu_model_extra_flags``"),
    OPT("libvirt", "cpu_models", CONF_LIST, libvirt.cpu_models, "",
        .help = "An ordered list of CPU models the host supports.\n\n"
                "It is expected that the list is ordered so that the more common and less "
                "advanced CPU models are listed earlier. A guest gets the first model of the "
                "list that this host's hypervisor can run (a host where none can run refuses "
                "to start guests). Only used, and needed, when cpu_mode is custom.\n\n"
                "Related options:\n\n"
                "* cpu_mode: must be custom\n"
                "* cpu_model_extra_flags"),
    OPT("libvirt", "cpu_model_extra_flags", CONF_LIST, libvirt.cpu_model_extra_flags, "",
        .help = "Enable or disable guest CPU flags.\n\n"
                "To explicitly enable or disable CPU flags, use the +flag or -flag notation: "
                "the + sign will enable the CPU flag for the guest, while a - sign will "
                "disable it. If neither + nor - is specified, the flag will be enabled. Flags "
                "are libvirt's CPU feature names (e.g. pcid, avx2, tsc-deadline).\n\n"
                "Related options:\n\n"
                "* cpu_mode: host-model, host-passthrough or custom (with virt_type kvm, "
                "an empty cpu_mode means host-model)"),
    OPT("libvirt", "live_migration_scheme", CONF_ENUM, libvirt.live_migration_scheme, "",
        .choices = schemes,
        .help = "URI scheme for live migration used by the source of live migration traffic.\n\n"
                "The destination's libvirt is reached at qemu+SCHEME://ADDRESS/system; empty "
                "means tcp. It is not recommended that you change this unless you are very sure "
                "that hypervisor supports a particular scheme.\n\n"
                "Related options:\n\n"
                "* live_migration_inbound_addr: the ADDRESS in that URI."),
    OPT("libvirt", "live_migration_inbound_addr", CONF_STR, libvirt.live_migration_inbound_addr,
        NULL,
        .help = "IP address used as the live migration address for this host.\n\n"
                "This option indicates the IP address which should be used as the target for "
                "live migration traffic when migrating to this hypervisor. This metadata is then "
                "used by the source of the live migration traffic to construct a migration "
                "URI.\n\n"
                "If this option is not set, the hostname of the migration target compute node "
                "will be used."),
    OPT("libvirt", "live_migration_bandwidth", CONF_INT, libvirt.live_migration_bandwidth, "0",
        OPT_MIN(0),
        .help = "Maximum bandwidth (in MiB/s) to be used during migration.\n\n"
                "If set to 0, the hypervisor will choose a suitable default."),
    OPT("libvirt", "live_migration_downtime", CONF_INT, libvirt.live_migration_downtime, "500",
        OPT_MIN(100),
        .help = "Target maximum period of time tern will try to keep the instance paused during "
                "the last part of the memory copy, in *milliseconds*.\n\n"
                "Minimum downtime is 100ms. You can increase this value if you want to allow "
                "live-migrations to complete faster, or avoid live-migration timeout errors by "
                "allowing the guest to be paused for longer during the live-migration switch "
                "over. This value may be exceeded if there is any reduction on the transfer rate "
                "after the VM is paused.\n\n"
                "Related options:\n\n"
                "* live_migration_completion_timeout"),
    OPT("libvirt", "live_migration_downtime_steps", CONF_INT, libvirt.live_migration_downtime_steps,
        "10", OPT_MIN(3), OPT_MAX(1000),
        .help = "Number of incremental steps to reach max downtime value.\n\n"
                "Minimum number of steps is 3."),
    OPT("libvirt", "live_migration_downtime_delay", CONF_INT, libvirt.live_migration_downtime_delay,
        "75", OPT_MIN(3),
        .help = "Time to wait, in seconds, between each step increase of the migration "
                "downtime.\n\n"
                "Minimum delay is 3 seconds. Value is per GiB of guest RAM + disk to be "
                "transferred, with lower bound of a minimum of 2 GiB per device."),
    OPT("libvirt", "live_migration_completion_timeout", CONF_INT,
        libvirt.live_migration_completion_timeout, "800", OPT_MIN(0),
        .help = "Time to wait, in seconds, for migration to successfully complete transferring "
                "data before aborting the operation.\n\n"
                "Value is per GiB of guest RAM + disk to be transferred, with lower bound of a "
                "minimum of 2 GiB. Should usually be larger than downtime delay * downtime "
                "steps. Set to 0 to disable timeouts.\n\n"
                "Related options:\n\n"
                "* live_migration_downtime\n"
                "* live_migration_downtime_steps\n"
                "* live_migration_downtime_delay\n"
                "* live_migration_timeout_action"),
    OPT("libvirt", "live_migration_timeout_action", CONF_ENUM,
        libvirt.live_migration_timeout_action, "abort", .choices = timeout_actions,
        .help = "This option will be used to determine what action will be taken against a VM "
                "after live_migration_completion_timeout expires.\n\n"
                "By default, the live migrate operation will be aborted after completion "
                "timeout. If it is set to force_complete, the compute service will either pause "
                "the VM or trigger post-copy depending on if post copy is enabled and available "
                "(live_migration_permit_post_copy is set to True).\n\n"
                "Related options:\n\n"
                "* live_migration_completion_timeout\n"
                "* live_migration_permit_post_copy"),
    OPT("libvirt", "live_migration_permit_post_copy", CONF_BOOL,
        libvirt.live_migration_permit_post_copy, "false",
        .help = "This option allows tern to switch an on-going live migration to post-copy "
                "mode, i.e., switch the active VM to the one on the destination node before the "
                "migration is complete, therefore ensuring an upper bound on the memory that "
                "needs to be transferred.\n\n"
                "When permitted, post-copy mode will be automatically activated if we reach the "
                "timeout defined by live_migration_completion_timeout and "
                "live_migration_timeout_action is set to force_complete. When using post-copy "
                "mode, if the source and destination hosts lose network connectivity, the VM "
                "being live-migrated will need to be rebooted.\n\n"
                "tern never switches a block migration (local disks copied) to post-copy, and "
                "never switches while the link moves nothing (it pauses the VM instead). When "
                "the stream breaks during post-copy, the VM is split between the two hosts; "
                "tern leaves both as they are and records the migration as postcopy-paused for "
                "an operator: it does not resume post-copy (VIR_MIGRATE_POSTCOPY_RESUME crashes "
                "libvirt 11.3's destination daemon, which loses the VM). A link cut during "
                "post-copy that ends before libvirt's keepalive closes the connection (about "
                "30 s by default) is survived: 20 s is, on the testbed.\n\n"
                "Related options:\n\n"
                "* live_migration_permit_auto_converge\n"
                "* live_migration_timeout_action"),
    OPT("libvirt", "live_migration_permit_auto_converge", CONF_BOOL,
        libvirt.live_migration_permit_auto_converge, "true",
        .help = "This option allows tern to start live migration with auto converge on.\n\n"
                "Auto converge throttles down CPU if a progress of on-going live migration is "
                "slow: QEMU slows the guest's vCPUs, step by step, until its memory is copied "
                "faster than it is dirtied. On by default (nova's default is off, oVirt's on): "
                "it is the first rung of tern's escalation for a migration that does not "
                "converge - auto-converge, then post-copy where permitted, then pausing the "
                "guest to complete (the stall detection; live_migration_timeout_action).\n\n"
                "Related options:\n\n"
                "* live_migration_permit_post_copy"),
    OPT("libvirt", "live_migration_with_native_tls", CONF_BOOL,
        libvirt.live_migration_with_native_tls, "false",
        .help = "Use QEMU-native TLS encryption when live migrating.\n\n"
                "This option will allow both migration stream (guest RAM plus device state) "
                "*and* disk stream to be transported over native TLS, i.e. TLS support built "
                "into QEMU.\n\n"
                "Prerequisite: TLS environment is configured correctly on all relevant compute "
                "nodes. This means, Certificate Authority (CA), server, client certificates, "
                "their corresponding keys, and their file permissions are in place, and are "
                "validated."),
    OPT("libvirt", "live_migration_parallel_connections", CONF_INT,
        libvirt.live_migration_parallel_connections, "1", OPT_MIN(1), OPT_MAX(256),
        .help = "Number of parallel connections that carry one migration's memory (QEMU "
                "multifd).\n\n"
                "1 means a single connection, without multifd."),
    /* [conductor] */
    OPT("conductor", "workers", CONF_INT, conductor.workers, "8", OPT_MIN(1), OPT_MAX(256),
        .help = "Number of RPC worker threads of the conductor.\n\n"
                "Requests are handled by this many threads at once, so that one slow request "
                "does not stall the others."),
    OPT("conductor", "max_concurrent_migrations", CONF_INT, conductor.max_concurrent_migrations,
        "5", OPT_MIN(0), OPT_MAX(10000),
        .help = "Live migrations a host drain may have in flight across the whole cloud.\n\n"
                "A drain (host-evacuate-live, host-maintenance-enter) starts no migration "
                "while this many migrations of any kind are queued, preparing or running. "
                "Each host also keeps to its own max_concurrent_live_migrations, as its "
                "compute reports it, for the migrations out of it and into it. 0 means no "
                "cloud-wide limit (KubeVirt's parallelMigrationsPerCluster, default 5)."),
    OPT("conductor", "rate_limit_per_minute", CONF_INT, conductor.rate_limit_per_minute, "600",
        OPT_MIN(0), OPT_MAX(1000000),
        .help = "Requests a minute each identity may make of the conductor's expensive "
                "methods.\n\n"
                "Those that start work or read whole tables: live_migrate, server_create, "
                "server_delete, host_evacuate_live, host_maintenance_enter, migration_list, "
                "server_list and instance_action_list. Each identity (AMQP user) has a bucket of "
                "rate_limit_burst requests that refills at this rate; a request that finds it "
                "empty is refused (rate_limited, saying when to try again) and changes nothing. "
                "0 means no limit."),
    OPT("conductor", "rate_limit_burst", CONF_INT, conductor.rate_limit_burst, "100", OPT_MIN(1),
        OPT_MAX(1000000),
        .help = "Requests of the expensive methods an identity may make at once, before "
                "rate_limit_per_minute applies."),
    /* [compute] */
    OPT("compute", "workers", CONF_INT, compute.workers, "8", OPT_MIN(1), OPT_MAX(256),
        .help = "Number of RPC worker threads of tern-compute.\n\n"
                "The conductor's and the other computes' requests to this host (checks, "
                "preparations, state queries) are handled by this many threads at once; a "
                "migration itself runs on a thread of its own (max_concurrent_live_migrations)."),
    OPT("compute", "hooks_dir", CONF_PATH, compute.hooks_dir, NULL,
        .help = "Directory of this host's live-migration hooks; empty means none.\n\n"
                "Each event has a subdirectory EVENT.d holding executables, run in the order of "
                "their names (non-executable files and names starting with '.' or ending in '~' "
                "are skipped): before_migration_source, after_migration_source, "
                "after_migration_failure_source, before_migration_destination, "
                "after_migration_destination. A hook reads the instance and the migration as one "
                "JSON object on stdin. A before hook that fails (a non-zero exit, killed, timed "
                "out, not executable) refuses the migration, which then fails with the first "
                "line of the hook's stderr and leaves the guest on the source; an after hook's "
                "failure is only logged (compute/README.md, \"Hooks\"). When set, it must be an "
                "existing directory when tern-compute starts.\n\n"
                "Related options:\n\n"
                "* hook_timeout"),
    OPT("compute", "hook_timeout", CONF_INT, compute.hook_timeout, "30", OPT_MIN(1), OPT_MAX(3600),
        .help = "Seconds each migration hook may run before it is killed (with its process "
                "group) and counted as failed.\n\n"
                "A destination's hooks run within its pre_live_migration, which the source waits "
                "10 minutes for.\n\n"
                "Related options:\n\n"
                "* hooks_dir"),
    OPT("compute", "volume_roots", CONF_STR, compute.volume_roots, NULL,
        .help = "Comma-separated directories a volume's file must lie under; empty means no "
                "volume may be attached on this host.\n\n"
                "A volume's path is resolved (realpath: neither '..' nor a symbolic link gets "
                "out) and must be a regular file under one of these directories, also resolved, "
                "before the guest is started with it or a migration brings it here; anything "
                "else (/etc/shadow, a raw /dev device, another instance's disk) is refused with "
                "an error naming the path."),
    OPT("compute", "allowed_bridges", CONF_LIST, compute.allowed_bridges, "",
        .help = "Bridges that tern did not make which guests may be plugged into.\n\n"
                "A network names a Linux bridge. One that does not exist is made by tern-compute, "
                "marked as its own, and removed once no guest uses it. One that exists and tern "
                "did not make (an operator's, an uplink) may be used only when listed here, and "
                "is never removed; any other is refused with an error naming it."),
    /* [api]: tern-api, the Compute API (nova's osapi_compute_* and oslo.middleware's limits) */
    OPT("api", "listen", CONF_STR, api.listen, "0.0.0.0",
        .help = "The IP address on which tern-api listens (an IPv4 or IPv6 address; 0.0.0.0 "
                "or :: for every address), as nova's osapi_compute_listen."),
    OPT("api", "port", CONF_INT, api.port, "8774", OPT_MIN(1), OPT_MAX(65535),
        .help = "The port on which tern-api listens (nova's osapi_compute_listen_port)."),
    OPT("api", "workers", CONF_INT, api.workers, "4", OPT_MIN(1), OPT_MAX(256),
        .help = "Number of threads of tern-api that serve requests (each waits for the "
                "conductor's answer to its request)."),
    OPT("api", "max_connections", CONF_INT, api.max_connections, "256", OPT_MIN(1), OPT_MAX(65536),
        .help = "Connections tern-api holds open at once; a client beyond them is refused "
                "until one closes."),
    OPT("api", "max_body_bytes", CONF_INT, api.max_body_bytes, "114688", OPT_MIN(0),
        OPT_MAX(16777216),
        .help = "The largest request body tern-api reads, in bytes (oslo.middleware's "
                "max_request_body_size); a larger one is refused with 413 unread."),
    OPT("api", "max_header_bytes", CONF_INT, api.max_header_bytes, "32768", OPT_MIN(4096),
        OPT_MAX(1048576),
        .help = "Memory for a connection's request line and headers, in bytes; a request whose "
                "headers do not fit is refused (431)."),
    OPT("api", "request_timeout", CONF_INT, api.request_timeout, "60", OPT_MIN(1), OPT_MAX(3600),
        .help = "Seconds a request may take: an idle connection is closed after them, and the "
                "conductor's answer is waited for no longer (504 after it)."),
    /* [keystone_authtoken]: how tern-api validates tokens (keystonemiddleware's names) */
    OPT("keystone_authtoken", "www_authenticate_uri", CONF_URL,
        keystone_authtoken.www_authenticate_uri, NULL,
        .help = "Complete public Identity API endpoint, told to clients in the "
                "WWW-Authenticate header of a 401 (Keystone uri=\"...\"). Defaults to "
                "auth_url."),
    OPT("keystone_authtoken", "auth_url", CONF_URL, keystone_authtoken.auth_url, NULL,
        .help = "The Identity API endpoint tern-api asks: its service token from "
                "POST AUTH_URL/v3/auth/tokens, each user token checked with GET "
                "AUTH_URL/v3/auth/tokens. Required by tern-api (e.g. http://127.0.0.1:5000/v3, "
                "or without the /v3)."),
    OPT("keystone_authtoken", "username", CONF_STR, keystone_authtoken.username, "tern",
        .help = "The service user of tern-api in Keystone; it needs a role that may validate "
                "tokens (admin or service)."),
    OPT("keystone_authtoken", "password", CONF_STR, keystone_authtoken.password, NULL,
        .secret = true, .help = "The service user's password."),
    OPT("keystone_authtoken", "project_name", CONF_STR, keystone_authtoken.project_name, "service",
        .help = "The project the service token is scoped to."),
    OPT("keystone_authtoken", "user_domain_name", CONF_STR, keystone_authtoken.user_domain_name,
        "Default", .help = "The domain of the service user."),
    OPT("keystone_authtoken", "project_domain_name", CONF_STR,
        keystone_authtoken.project_domain_name, "Default",
        .help = "The domain of the service user's project."),
    OPT("keystone_authtoken", "token_cache_time", CONF_INT, keystone_authtoken.token_cache_time,
        "300", OPT_MIN(0), OPT_MAX(86400),
        .help = "Seconds a validated token is believed without asking Keystone again (never "
                "past its expires_at); 0 asks every time. A revoked token may be accepted for "
                "that long."),
    OPT("keystone_authtoken", "http_connect_timeout", CONF_INT,
        keystone_authtoken.http_connect_timeout, "5", OPT_MIN(1), OPT_MAX(300),
        .help = "Seconds to wait for a connection to Keystone; a request whose token could "
                "not be checked gets 503."),
};

const size_t conf_n_options = sizeof(conf_options) / sizeof(conf_options[0]);
