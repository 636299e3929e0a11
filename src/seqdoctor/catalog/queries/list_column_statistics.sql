-- The planner's statistics of columns whose values the audit does not read
-- (no index leads with them): the values ANALYZE sampled, per table analyzed.
-- Minimum server version: 12.
--
-- pg_stats rather than pg_statistic: the view shows only the columns the role
-- may read, and hides tables whose row-level security applies to it. Its
-- histogram_bounds and most_common_vals are anyarray: read as text, then as
-- numeric, which every column the audit compares (integers, numeric) parses.
-- Only integral values within bigint are kept: a sequence hands out no other.
--
-- A partitioned table has statistics of its own, over the whole tree
-- (inherited = true), and each partition its own (inherited = false): all are
-- read, the partitions found through pg_inherits, which locks nothing
-- (pg_partition_tree() locks every partition). A plain table is judged on its
-- own rows, as read.table_sql reads it: its inherited = false row only.
-- The time is the table's last ANALYZE or autoanalyze, from the functions
-- behind pg_stat_all_tables (the view aggregates over every table); greatest()
-- skips NULLs. Before 14 a partitioned table's own is not recorded.
WITH RECURSIVE wanted AS (
    SELECT w.i, w.table_oid, w.column_name
    FROM unnest(%(indexes)s::int[], %(tables)s::oid[], %(columns)s::text[])
         AS w (i, table_oid, column_name)
), tree AS (
    SELECT w.i, c.oid AS relid, w.column_name, c.relkind
    FROM wanted AS w
    JOIN pg_catalog.pg_class AS c ON c.oid = w.table_oid
    UNION ALL
    SELECT t.i, c.oid, t.column_name, c.relkind
    FROM tree AS t
    JOIN pg_catalog.pg_inherits AS h ON h.inhparent = t.relid
    JOIN pg_catalog.pg_class AS c ON c.oid = h.inhrelid
    WHERE t.relkind = 'p'
)
SELECT
    t.i,
    n.nspname AS schema,
    c.relname AS table,
    greatest(
        pg_catalog.pg_stat_get_last_analyze_time(c.oid),
        pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid)
    ) AS analyzed_at,
    s.sampled
FROM tree AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.relid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    -- One look-up per table, through the catalog indexes: OFFSET 0 keeps the
    -- planner from flattening this into a join, which read all of pg_statistic
    -- and pg_attribute per batch (2.5 s a batch at 3,000 tables).
    SELECT ARRAY(
        SELECT DISTINCT v::int8
        FROM unnest(
            coalesce(st.histogram_bounds::text::numeric[], '{}')
            || coalesce(st.most_common_vals::text::numeric[], '{}')
        ) AS v
        -- NaN and infinities sort above every number: BETWEEN leaves them out.
        WHERE v BETWEEN -9223372036854775808 AND 9223372036854775807 AND v = trunc(v)
        ORDER BY 1
    ) AS sampled
    FROM pg_catalog.pg_stats AS st
    WHERE st.schemaname = n.nspname
      AND st.tablename = c.relname
      AND st.attname = t.column_name
      AND st.inherited = (c.relkind = 'p')
    OFFSET 0
) AS s
