-- db/schema/001_initial.sql: tern's first schema.
--
-- Applied by `tern-manage db sync` inside one transaction together with its row in
-- tern_schema_version. Never edit a released file: add NNN_name.sql with the next number.
-- Timestamps are timestamptz written from the server's clock (now()); the C side reads them as
-- milliseconds since the epoch through tern_ms().

CREATE FUNCTION tern_ms(ts timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM ts) * 1000)::bigint $$;

-- One row per running daemon (tern-compute, tern-conductor) on a host.
CREATE TABLE services (
    id bigserial PRIMARY KEY,
    host text NOT NULL,
    binary_name text NOT NULL,
    topic text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    disabled_reason text,
    forced_down boolean NOT NULL DEFAULT false,
    report_count bigint NOT NULL DEFAULT 0,
    last_heartbeat timestamptz,
    version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT services_host_binary_key UNIQUE (host, binary_name)
);

-- The resource report of one hypervisor node; host + hypervisor_hostname identify it.
CREATE TABLE compute_nodes (
    id bigserial PRIMARY KEY,
    host text NOT NULL,
    hypervisor_hostname text NOT NULL,
    hypervisor_type text NOT NULL,
    hypervisor_version bigint NOT NULL DEFAULT 0,
    host_ip text,
    cpu_info jsonb NOT NULL DEFAULT '{}'::jsonb,
    vcpus integer NOT NULL DEFAULT 0 CHECK (vcpus >= 0),
    vcpus_used integer NOT NULL DEFAULT 0 CHECK (vcpus_used >= 0),
    memory_mb bigint NOT NULL DEFAULT 0 CHECK (memory_mb >= 0),
    memory_mb_used bigint NOT NULL DEFAULT 0 CHECK (memory_mb_used >= 0),
    free_ram_mb bigint NOT NULL DEFAULT 0,
    local_gb bigint NOT NULL DEFAULT 0 CHECK (local_gb >= 0),
    local_gb_used bigint NOT NULL DEFAULT 0 CHECK (local_gb_used >= 0),
    free_disk_gb bigint NOT NULL DEFAULT 0,
    cpu_allocation_ratio double precision NOT NULL DEFAULT 16.0 CHECK (cpu_allocation_ratio > 0),
    ram_allocation_ratio double precision NOT NULL DEFAULT 1.0 CHECK (ram_allocation_ratio > 0),
    disk_allocation_ratio double precision NOT NULL DEFAULT 1.0 CHECK (disk_allocation_ratio > 0),
    reserved_host_memory_mb bigint NOT NULL DEFAULT 0 CHECK (reserved_host_memory_mb >= 0),
    reserved_host_disk_gb bigint NOT NULL DEFAULT 0 CHECK (reserved_host_disk_gb >= 0),
    reserved_host_cpus integer NOT NULL DEFAULT 0 CHECK (reserved_host_cpus >= 0),
    running_vms integer NOT NULL DEFAULT 0 CHECK (running_vms >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT compute_nodes_host_node_key UNIQUE (host, hypervisor_hostname)
);

CREATE TABLE instances (
    id bigserial PRIMARY KEY,
    uuid uuid NOT NULL,
    name text NOT NULL,
    host text,
    node text,
    vm_state text NOT NULL DEFAULT 'building'
        CHECK (vm_state IN ('building', 'active', 'paused', 'suspended', 'stopped', 'rescued',
                            'resized', 'shelved', 'soft-delete', 'deleted', 'error')),
    task_state text,
    power_state integer NOT NULL DEFAULT 0 CHECK (power_state BETWEEN 0 AND 7),
    memory_mb bigint NOT NULL CHECK (memory_mb >= 0),
    vcpus integer NOT NULL CHECK (vcpus >= 0),
    root_gb bigint NOT NULL DEFAULT 0 CHECK (root_gb >= 0),
    ephemeral_gb bigint NOT NULL DEFAULT 0 CHECK (ephemeral_gb >= 0),
    flavor_name text,
    image_ref text,
    project_id text NOT NULL,
    user_id text NOT NULL,
    locked boolean NOT NULL DEFAULT false,
    priority integer NOT NULL DEFAULT 0,
    launched_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT instances_uuid_key UNIQUE (uuid)
);
CREATE INDEX instances_host_idx ON instances (host) WHERE deleted_at IS NULL;
CREATE INDEX instances_project_idx ON instances (project_id) WHERE deleted_at IS NULL;

CREATE TABLE migrations (
    id bigserial PRIMARY KEY,
    uuid uuid NOT NULL,
    instance_uuid uuid NOT NULL REFERENCES instances (uuid),
    source_compute text NOT NULL,
    source_node text,
    dest_compute text,
    dest_node text,
    migration_type text NOT NULL DEFAULT 'live-migration'
        CHECK (migration_type IN ('live-migration', 'migration', 'evacuation')),
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'preparing', 'running', 'postcopy-active', 'completed',
                          'failed', 'cancelled', 'error')),
    block_migration boolean NOT NULL DEFAULT false,
    memory_total bigint NOT NULL DEFAULT 0,
    memory_processed bigint NOT NULL DEFAULT 0,
    memory_remaining bigint NOT NULL DEFAULT 0,
    disk_total bigint NOT NULL DEFAULT 0,
    disk_processed bigint NOT NULL DEFAULT 0,
    disk_remaining bigint NOT NULL DEFAULT 0,
    dirty_rate bigint NOT NULL DEFAULT 0,
    iterations bigint NOT NULL DEFAULT 0,
    downtime_ms bigint,
    total_time_ms bigint,
    error_message text,
    user_id text,
    project_id text,
    checks_started_at timestamptz,
    checks_finished_at timestamptz,
    preparation_started_at timestamptz,
    preparation_finished_at timestamptz,
    migration_started_at timestamptz,
    migration_finished_at timestamptz,
    post_started_at timestamptz,
    post_finished_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT migrations_uuid_key UNIQUE (uuid)
);
CREATE INDEX migrations_instance_idx ON migrations (instance_uuid);
CREATE INDEX migrations_source_idx ON migrations (source_compute);
CREATE INDEX migrations_dest_idx ON migrations (dest_compute);

-- Resources held on a destination node by an in-flight migration (see db/claims.h).
CREATE TABLE resource_claims (
    id bigserial PRIMARY KEY,
    migration_uuid uuid NOT NULL REFERENCES migrations (uuid) ON DELETE CASCADE,
    instance_uuid uuid NOT NULL,
    compute_node_id bigint NOT NULL REFERENCES compute_nodes (id) ON DELETE CASCADE,
    memory_mb bigint NOT NULL DEFAULT 0 CHECK (memory_mb >= 0),
    vcpus integer NOT NULL DEFAULT 0 CHECK (vcpus >= 0),
    disk_gb bigint NOT NULL DEFAULT 0 CHECK (disk_gb >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT resource_claims_migration_node_key UNIQUE (migration_uuid, compute_node_id)
);
CREATE INDEX resource_claims_node_idx ON resource_claims (compute_node_id);

CREATE TABLE volume_attachments (
    id bigserial PRIMARY KEY,
    instance_uuid uuid NOT NULL REFERENCES instances (uuid),
    volume_id text NOT NULL,
    device_name text NOT NULL,
    connection_info jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT volume_attachments_instance_volume_key UNIQUE (instance_uuid, volume_id)
);

CREATE TABLE virtual_interfaces (
    id bigserial PRIMARY KEY,
    instance_uuid uuid NOT NULL REFERENCES instances (uuid),
    address text NOT NULL,
    network_name text,
    bridge text,
    vif_model text,
    devname text,
    ip_addresses jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(ip_addresses) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT virtual_interfaces_address_key UNIQUE (address)
);
CREATE INDEX virtual_interfaces_instance_idx ON virtual_interfaces (instance_uuid);

CREATE TABLE security_group_rules (
    id bigserial PRIMARY KEY,
    instance_uuid uuid NOT NULL REFERENCES instances (uuid),
    group_name text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('ingress', 'egress')),
    ethertype text NOT NULL DEFAULT 'IPv4' CHECK (ethertype IN ('IPv4', 'IPv6')),
    protocol text CHECK (protocol IN ('tcp', 'udp', 'icmp')),
    port_range_min integer CHECK (port_range_min BETWEEN 0 AND 65535),
    port_range_max integer CHECK (port_range_max BETWEEN 0 AND 65535),
    remote_ip_prefix text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (port_range_min IS NULL OR port_range_max IS NULL OR port_range_min <= port_range_max)
);
CREATE INDEX security_group_rules_instance_idx ON security_group_rules (instance_uuid);

-- Who asked what of an instance, when, and how it ended.
CREATE TABLE instance_actions (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL,
    instance_uuid uuid NOT NULL REFERENCES instances (uuid),
    action text NOT NULL,
    user_id text,
    project_id text,
    result text CHECK (result IN ('success', 'error')),
    message text,
    start_time timestamptz NOT NULL DEFAULT now(),
    finish_time timestamptz
);
CREATE INDEX instance_actions_instance_idx ON instance_actions (instance_uuid);
