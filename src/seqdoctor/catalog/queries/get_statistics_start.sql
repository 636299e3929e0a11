-- When the insert counters of list_table_changes.sql started counting, and
-- which cluster this is.
-- Minimum server version: 12.
--
-- pg_stat_database.stats_reset stays NULL until this database's statistics
-- are reset (pg_stat_reset(), or one table's with
-- pg_stat_reset_single_table_counters()). Until then its counters run from
-- the server's statistics start: the stats_reset of pg_stat_bgwriter, set
-- when the statistics were created (initdb) or discarded (after a crash).
--
-- The system identifier (pg_control_system(), which every role may call
-- unless it has been revoked) names the cluster: with the database name it
-- keys the history store, and a physical standby promoted in a failover
-- keeps it.
SELECT
    pg_catalog.pg_stat_get_db_stat_reset_time(d.oid) AS database_reset,
    (SELECT b.stats_reset FROM pg_catalog.pg_stat_bgwriter AS b) AS server_reset,
    CASE
        WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
        THEN (SELECT s.system_identifier FROM pg_catalog.pg_control_system() AS s)
    END AS system_identifier
FROM pg_catalog.pg_database AS d
WHERE d.datname = pg_catalog.current_database()
