-- db/schema/002_migrate_data.sql: what the source and destination computes agreed for a
-- migration (the host checks' result: shared instance path, block migration, disks to copy,
-- destination URIs), kept so that a compute restarted mid-migration can finish or roll back.
ALTER TABLE migrations ADD COLUMN migrate_data jsonb;
