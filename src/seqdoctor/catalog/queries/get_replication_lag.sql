-- How far replication trails this server, in bytes of WAL: what the online
-- widening's backfill pauses on. Minimum server version: 12.
--
-- replica: the standby furthest behind in replaying (pg_stat_replication);
-- slot: the replication slot holding back the most WAL, active or not (an
-- inactive slot retains WAL too, and fills the disk): for a logical slot up to
-- what its consumer confirmed (confirmed_flush_lsn), for a physical one up to
-- its restart_lsn. NULL when there is none, or when the role may not see the
-- positions (pg_read_all_stats): then there is nothing to wait on.
SELECT
    (SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn))::int8
     FROM pg_catalog.pg_stat_replication AS r) AS replica,
    (SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(),
                                           coalesce(s.confirmed_flush_lsn, s.restart_lsn)))::int8
     FROM pg_catalog.pg_replication_slots AS s) AS slot
