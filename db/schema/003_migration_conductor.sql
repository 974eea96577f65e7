-- db/schema/003_migration_conductor.sql: the conductor (its host) that handles a migration from
-- the request to the hand-off to the source compute. A conductor that dies in between leaves the
-- migration queued without migrate data and its instance migrating: the conductors' sweep
-- (db_migration_take_orphans) finds such migrations by this column and ends them.
ALTER TABLE migrations ADD COLUMN conductor text;
