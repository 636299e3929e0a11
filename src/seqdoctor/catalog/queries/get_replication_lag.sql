-- How far replication trails this server, in bytes of WAL: what the online
-- widening's backfill pauses on. Minimum server version: 12.
--
-- replica: the standby furthest behind in replaying (pg_stat_replication);
-- slot: the logical slot holding back the most WAL, active or not (an inactive
-- slot retains WAL too). NULL when there is none, or when the role may not see
-- the positions (pg_read_all_stats): then there is nothing to wait on.
SELECT
    (SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn))::int8
     FROM pg_catalog.pg_stat_replication AS r) AS replica,
    (SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(),
                                           s.confirmed_flush_lsn))::int8
     FROM pg_catalog.pg_replication_slots AS s
     WHERE s.slot_type = 'logical') AS slot
