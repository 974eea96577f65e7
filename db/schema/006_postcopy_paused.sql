-- db/schema/006_postcopy_paused.sql: migrations.status 'postcopy-paused'.
--
-- The stream of a migration that had switched to post-copy broke: the destination runs the
-- guest's CPUs, the source still holds the part of its memory not yet sent, and neither copy is
-- whole. tern leaves both domains as they are and keeps the instance's task (and claim) until an
-- operator decides, as for 'needs-operator'.
ALTER TABLE migrations DROP CONSTRAINT migrations_status_check;
ALTER TABLE migrations ADD CONSTRAINT migrations_status_check
    CHECK (status IN ('queued', 'preparing', 'running', 'postcopy-active', 'postcopy-paused',
                      'needs-operator', 'completed', 'failed', 'cancelled', 'error'));
