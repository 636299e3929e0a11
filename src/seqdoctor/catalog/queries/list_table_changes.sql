-- Each table a sequence feeds: a mark that changes whenever its rows may have,
-- for `seqdoctor serve`, whose rounds read again only the columns of tables
-- whose mark moved (see ReadOptions.earlier); and its activity (below), which
-- a round reads with it, in one pass. Minimum server version: 12.
--
-- The mark joins, for the table or each leaf partition of a partitioned one:
-- its oid (a partition attached or detached changes the set), its
-- relfilenode (TRUNCATE, VACUUM FULL, CLUSTER and table rewrites give a new
-- one), and its counters of rows inserted, updated and deleted (behind
-- pg_stat_all_tables.n_tup_ins, n_tup_upd and n_tup_del; COPY and logical
-- replication count as inserts), then the time this database's statistics
-- were last reset: a reset changes every mark, whichever way the counters go.
-- Deleted rows count too: a delete cannot put a sequence behind, but it can
-- take away the rows it was behind, and a column found behind keeps its
-- values, and its first collision, while its mark and its sequence stay put.
--
-- Counters reach these functions late: after the writing transaction ends,
-- at most once a second per session on 15 and later (longer when it is idle
-- or the statistics contended), through the statistics collector, which may
-- drop messages, before 15. A write not yet counted is seen once it is, as
-- the caller compares with the mark taken when the columns were last read,
-- not with the last round's; and the exporter reads every table again on its
-- slower full cycle.
--
-- The same read gives the tables' activity, for the burn rate (SEQ010) and
-- the estimate of the exhaustion forecast (SEQ011) when no history has been
-- recorded (catalog/activity.py): rows inserted (n_tup_ins, aborted inserts
-- included, since the statistics were reset) and the planner's row estimate
-- (reltuples, -1 for a table never vacuumed or analyzed on 14 and later). A
-- partitioned table has no counters of its own and, unless someone ran
-- ANALYZE on it by hand, no row estimate: its leaf partitions' are summed.
-- Inheritance children of a plain table are not: each is audited on its own.
--
-- Partitions are found through pg_inherits rather than pg_partition_tree(),
-- which takes an ACCESS SHARE lock on each of them: a partition held by a
-- migration's lock would stall the read. A table with no leaf has no row: no
-- mark, read every round. Counters are any role's to read.
--
-- Each table is looked up by its oid (LATERAL ... OFFSET 0 keeps the lookup an
-- index scan, where the planner would hash the whole of pg_class: at 100,000
-- tables, 500,000 rows), and a plain table's mark is made without the grouping
-- a partitioned one needs: the same marks, in about half the time.
WITH RECURSIVE listed AS (
    SELECT t.oid AS table_oid, c.relkind, c.relfilenode, c.reltuples
    FROM unnest(%(oids)s::oid[]) AS t(oid)
    CROSS JOIN LATERAL (
        SELECT c.relkind, c.relfilenode, c.reltuples
        FROM pg_catalog.pg_class AS c
        WHERE c.oid OPERATOR(pg_catalog.=) t.oid
        OFFSET 0
    ) AS c
),
reset AS (
    SELECT pg_catalog.pg_stat_get_db_stat_reset_time(
        (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
    ) AS at
),
tree AS (
    SELECT table_oid, table_oid AS relid, relkind, relfilenode, reltuples
    FROM listed
    WHERE relkind = 'p'
    UNION ALL
    SELECT tree.table_oid, c.oid, c.relkind, c.relfilenode, c.reltuples
    FROM tree
    CROSS JOIN LATERAL (
        SELECT c.oid, c.relkind, c.relfilenode, c.reltuples
        FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
        WHERE i.inhparent OPERATOR(pg_catalog.=) tree.relid
        OFFSET 0
    ) AS c
    WHERE tree.relkind = 'p'
)
SELECT
    table_oid::int8 AS table_oid,
    pg_catalog.concat_ws(
        '/',
        pg_catalog.concat_ws(
            ':',
            table_oid,
            relfilenode,
            pg_catalog.pg_stat_get_tuples_inserted(table_oid),
            pg_catalog.pg_stat_get_tuples_updated(table_oid),
            pg_catalog.pg_stat_get_tuples_deleted(table_oid)
        ),
        (SELECT at FROM reset)
    ) AS mark,
    pg_catalog.pg_stat_get_tuples_inserted(table_oid)::int8 AS rows_inserted,
    (CASE WHEN reltuples >= 0 THEN reltuples ELSE -1 END)::int8 AS row_estimate
FROM listed
WHERE relkind <> 'p'
UNION ALL
SELECT
    table_oid::int8 AS table_oid,
    pg_catalog.concat_ws(
        '/',
        pg_catalog.string_agg(
            pg_catalog.concat_ws(
                ':',
                relid,
                relfilenode,
                pg_catalog.pg_stat_get_tuples_inserted(relid),
                pg_catalog.pg_stat_get_tuples_updated(relid),
                pg_catalog.pg_stat_get_tuples_deleted(relid)
            ),
            ',' ORDER BY relid
        ),
        (SELECT at FROM reset)
    ) AS mark,
    sum(pg_catalog.pg_stat_get_tuples_inserted(relid))::int8 AS rows_inserted,
    CASE
        WHEN bool_or(reltuples >= 0) THEN sum(greatest(reltuples, 0))
        ELSE -1
    END::int8 AS row_estimate
FROM tree
WHERE relkind <> 'p'
GROUP BY table_oid
