-- Rows inserted into, and estimated in, the tables sequences feed: for the
-- burn rate (SEQ010) and the estimate of the exhaustion forecast (SEQ011)
-- when no history has been recorded.
-- Minimum server version: 12.
--
-- The counters are those behind pg_stat_user_tables.n_tup_ins: every row
-- inserted since the statistics were reset, aborted inserts included; any
-- role may read them. reltuples is the planner's row estimate, -1 for a table
-- never vacuumed or analyzed (PostgreSQL 14 and later).
--
-- A partitioned table has no counters of its own and, unless someone ran
-- ANALYZE on it by hand, no row estimate: its leaf partitions' are summed.
-- The partitions are found through pg_inherits rather than
-- pg_partition_tree(), which takes an ACCESS SHARE lock on each of them: a
-- partition held by a migration's lock would stall the read. Inheritance
-- children of a plain table are not summed: each is audited on its own.
WITH RECURSIVE tree AS (
    SELECT c.oid AS table_oid, c.oid AS relid, c.relkind, c.reltuples
    FROM unnest(%(oids)s::oid[]) AS t(oid)
    JOIN pg_catalog.pg_class AS c ON c.oid = t.oid
    UNION ALL
    SELECT tree.table_oid, c.oid, c.relkind, c.reltuples
    FROM tree
    JOIN pg_catalog.pg_inherits AS i ON i.inhparent = tree.relid
    JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
    WHERE tree.relkind = 'p'
)
SELECT
    table_oid::int8 AS table_oid,
    sum(pg_catalog.pg_stat_get_tuples_inserted(relid))::int8 AS rows_inserted,
    CASE
        WHEN bool_or(reltuples >= 0) THEN sum(greatest(reltuples, 0))
        ELSE -1
    END::int8 AS row_estimate
FROM tree
WHERE relkind <> 'p'
GROUP BY table_oid
