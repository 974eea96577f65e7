-- db/schema/005_migration_outcomes.sql: what a migration owns and what it leaves behind.
--
-- instances.task_owner: the migration that holds the instance's task_state. A migration ends its
-- task only if it still owns it, so a late end of an old migration (a swept slow request, a
-- redelivered report) never clears the task_state of a newer one.
-- migrations.cleanup_host: the host that still holds leftovers of the migration (the source after
-- the switch-over until its post-processing has run; the destination after a rollback it did not
-- answer), so that the host's compute removes them when it is back.
-- migrations.status 'needs-operator': the guest is paused on both hosts, or runs on both; tern
-- leaves both domains untouched and keeps the instance's task until an operator decides.
ALTER TABLE instances ADD COLUMN task_owner uuid;
UPDATE instances AS i SET task_owner = m.uuid
    FROM migrations AS m
    WHERE i.task_state = 'migrating' AND m.instance_uuid = i.uuid
      AND m.status IN ('queued', 'preparing', 'running', 'postcopy-active');

ALTER TABLE migrations ADD COLUMN cleanup_host text;
CREATE INDEX migrations_cleanup_host_idx ON migrations (cleanup_host)
    WHERE cleanup_host IS NOT NULL;

ALTER TABLE migrations DROP CONSTRAINT migrations_status_check;
ALTER TABLE migrations ADD CONSTRAINT migrations_status_check
    CHECK (status IN ('queued', 'preparing', 'running', 'postcopy-active', 'needs-operator',
                      'completed', 'failed', 'cancelled', 'error'));
