-- db/schema/007_instance_action_events.sql: the steps of an instance action, and the action of
-- a migration.
--
-- instance_action_events: one row per step of an action (nova's instance_action_events): the
-- conductor's checks, each destination it tried, the hand-off, then each step the source
-- compute reports. result is NULL while the step runs, then 'success' or 'error' with message
-- saying why. The events go with their action (ON DELETE CASCADE).
-- migrations.action_id: the action that started the migration (db_migration_begin records
-- both in one transaction), so that the reports of a migration find their action without
-- guessing from the instance and the request id. Existing migrations are linked to the action
-- their transaction made (same instance, same now()).
CREATE TABLE instance_action_events (
    id bigserial PRIMARY KEY,
    action_id bigint NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
    event text NOT NULL,
    host text,
    result text CHECK (result IN ('success', 'error')),
    message text,
    start_time timestamptz NOT NULL DEFAULT now(),
    finish_time timestamptz
);
CREATE INDEX instance_action_events_action_idx ON instance_action_events (action_id);

ALTER TABLE migrations ADD COLUMN action_id bigint
    REFERENCES instance_actions (id) ON DELETE SET NULL;
UPDATE migrations AS m SET action_id = (
    SELECT a.id FROM instance_actions AS a
     WHERE a.instance_uuid = m.instance_uuid AND a.start_time = m.created_at
     ORDER BY a.id DESC LIMIT 1);
