-- db/schema/008_drains.sql: host drains (tern host-evacuate-live, host-maintenance-enter).
--
-- A drain moves every instance off one host, run by the conductor that owns its row (taken with
-- a conditional UPDATE, like migrations.conductor; a conductor whose heartbeat stopped loses it
-- to the next). Each instance of the host has a drain_instances row with its outcome; its
-- migrations are ordinary migrations rows.
--
-- services.maintenance: the host is (or is being put) in maintenance, disabled until
-- host-maintenance-exit. compute_nodes.max_live_migrations: the host's own
-- [DEFAULT] max_concurrent_live_migrations, as its compute reports it (0: no limit); the drain
-- admits no more than that many migrations out of, or into, a host.
-- instances.migration_support: oVirt's migration mode - 'migratable', 'manual' (an operator may
-- move it, a drain may not) or 'pinned' (it never leaves its host); a drain reports the last
-- two as blocking unless it was asked with force.
ALTER TABLE services ADD COLUMN maintenance boolean NOT NULL DEFAULT false;
ALTER TABLE compute_nodes ADD COLUMN max_live_migrations integer NOT NULL DEFAULT 1
    CHECK (max_live_migrations >= 0);
ALTER TABLE instances ADD COLUMN migration_support text NOT NULL DEFAULT 'migratable'
    CHECK (migration_support IN ('migratable', 'manual', 'pinned'));
-- instances.never_pause / drains.never_pause: a stricter convergence policy - the migration
-- aborts (the guest runs on at its source) where the shipped ladder would pause the guest.
ALTER TABLE instances ADD COLUMN never_pause boolean NOT NULL DEFAULT false;

CREATE TABLE drains (
    id bigserial PRIMARY KEY,
    host text NOT NULL,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'aborting', 'completed', 'failed', 'aborted')),
    maintenance boolean NOT NULL DEFAULT false,
    target_host text,
    block_migration boolean,              -- NULL: auto (copy unless the storage is shared)
    max_concurrent integer NOT NULL CHECK (max_concurrent >= 1),
    force boolean NOT NULL DEFAULT false, -- move 'manual' and 'pinned' instances too
    never_pause boolean NOT NULL DEFAULT false,
    conductor text,                       -- the conductor running it
    user_id text,
    project_id text,
    request_id text,
    reason text,
    message text,                         -- how it ended
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
-- At most one drain in progress per host.
CREATE UNIQUE INDEX drains_one_active_per_host ON drains (host)
    WHERE status IN ('running', 'aborting');

CREATE TABLE drain_instances (
    id bigserial PRIMARY KEY,
    drain_id bigint NOT NULL REFERENCES drains (id) ON DELETE CASCADE,
    instance_uuid uuid NOT NULL REFERENCES instances (uuid),
    priority integer NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'migrating', 'completed', 'failed', 'blocked',
                          'cancelled')),
    migration_uuid uuid,                  -- the current (or last) attempt
    attempts integer NOT NULL DEFAULT 0,
    dest_host text,
    message text,
    abort_sent boolean NOT NULL DEFAULT false,
    started_at timestamptz,
    finished_at timestamptz,
    CONSTRAINT drain_instances_key UNIQUE (drain_id, instance_uuid)
);
