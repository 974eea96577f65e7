-- db/schema/004_node_usage_from_instances.sql: a node's vcpus_used, memory_mb_used and
-- local_gb_used are no longer stored. They were the sum over the node's instances as of the last
-- resource report, so a deleted or just-moved instance kept counting until the next one; they are
-- now summed from the instances table whenever a node is read (DB_COMPUTE_NODE_COLS), inside the
-- claim's transaction too.
ALTER TABLE compute_nodes
    DROP COLUMN vcpus_used,
    DROP COLUMN memory_mb_used,
    DROP COLUMN local_gb_used;
