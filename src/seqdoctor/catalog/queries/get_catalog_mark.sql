-- A mark of every catalog row the inventory is read from, that changes whenever
-- one of them may have: for `seqdoctor serve`, whose rounds read the inventory
-- (list_sequences.sql, list_column_uses.sql, list_foreign_keys.sql) again only
-- when it moved (see ReadOptions.earlier). Minimum server version: 12.
--
-- On a primary with track_counts on (the default), the catalogs' own counters
-- of rows inserted, updated and deleted: a few numbers, read in the same time
-- at 100 tables or 100,000. Every INSERT, UPDATE or DELETE of a catalog row
-- (CREATE, ALTER, DROP, GRANT, REVOKE, RENAME, TRUNCATE's new relfilenode...)
-- counts, committed or not. Three things can hide a change from them:
--
-- - Lateness. A session's counts reach these functions when it is idle after
--   its transaction, at most once a second: a session idle within a second of
--   its last report reports 10 seconds later (PostgreSQL 15 and later), one
--   that never goes idle only when it does; before 15 they go through the
--   statistics collector, within half a second, which may drop them under
--   load. A change counted late is still seen: the mark is compared with the
--   one taken before the inventory in hand was read, not with the last
--   round's, so the round after it is counted reads the inventory again. With
--   serve's --interval of 10 seconds or more, a change is missed by one round
--   at most; a count the collector dropped, until serve's full cycle.
-- - Resets: pg_stat_reset() and pg_stat_reset_single_table_counters() change
--   this database's reset time, and a restart the postmaster's start time, both
--   in the mark: the counters may go back to any values, the mark still moves.
-- - In-place updates (VACUUM and ANALYZE write relpages, reltuples,
--   relfrozenxid, relhasindex without a new row version): no count, no new row
--   version either. The inventory's row_estimate is then stale; the history
--   reads reltuples afresh every round.
--
-- A standby counts nothing it replays, and with track_counts off nothing
-- counts: there the mark is each catalog's row count and the sum of a hash of
-- each row's (ctid, xmin), exact as of this statement's snapshot, which every
-- new row version moves (unless two 32-bit hash sums collide), but whose cost
-- grows with the catalog. Its blind spots: in-place updates, as above, and a
-- row frozen (xmin shown as 2) at the very ctid of a frozen row removed since,
-- within one round. CASE evaluates only the branch it takes.
--
-- Taken before the inventory is read: a change committed after this
-- statement may or may not be in the inventory, and moves the mark of the
-- next round, which then reads it whole. Privileges: relacl, attacl, nspacl are
-- columns of these rows; role membership is pg_auth_members. The roles'
-- attributes the inventory depends on (superuser, BYPASSRLS: what the audit
-- may read, and who may own a guard's function) are read as they are, from
-- pg_roles: pg_authid, whose row versions would do, is not every role's to read.
WITH catalogs (rel) AS (
    VALUES
        ('pg_catalog.pg_class'::regclass),
        ('pg_catalog.pg_attribute'::regclass),
        ('pg_catalog.pg_attrdef'::regclass),
        ('pg_catalog.pg_depend'::regclass),
        ('pg_catalog.pg_index'::regclass),
        ('pg_catalog.pg_constraint'::regclass),
        ('pg_catalog.pg_sequence'::regclass),
        ('pg_catalog.pg_namespace'::regclass),
        ('pg_catalog.pg_type'::regclass),
        ('pg_catalog.pg_inherits'::regclass),
        ('pg_catalog.pg_partitioned_table'::regclass),
        ('pg_catalog.pg_trigger'::regclass),
        ('pg_catalog.pg_proc'::regclass),
        ('pg_catalog.pg_auth_members'::regclass)
)
SELECT pg_catalog.concat_ws(
    '/',
    CASE
        WHEN pg_catalog.pg_is_in_recovery() OR pg_catalog.current_setting('track_counts') <> 'on'
        THEN (
            SELECT 'rows ' || pg_catalog.concat_ws(
                ',',
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_class),
                -- System columns (attnum < 0, six per relation) come and go with their
                -- relation's pg_class row and never change: left out, a third fewer hashes.
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_attribute WHERE attnum > 0),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_attrdef),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_depend),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_index),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_constraint),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_sequence),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_namespace),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_type),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_inherits),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_partitioned_table),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_trigger),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_proc),
                (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
                 FROM pg_catalog.pg_auth_members)
            )
        )
        ELSE (
            SELECT 'counts ' || pg_catalog.string_agg(
                pg_catalog.concat_ws(
                    ':',
                    pg_catalog.pg_stat_get_tuples_inserted(rel),
                    pg_catalog.pg_stat_get_tuples_updated(rel),
                    pg_catalog.pg_stat_get_tuples_deleted(rel)
                ),
                ','
            )
            FROM catalogs
        )
    END,
    pg_catalog.pg_stat_get_db_stat_reset_time(
        (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
    ),
    pg_catalog.pg_postmaster_start_time(),
    (SELECT pg_catalog.md5(pg_catalog.string_agg(
                pg_catalog.concat_ws(':', oid, rolname, rolsuper, rolbypassrls), ',' ORDER BY oid))
     FROM pg_catalog.pg_roles)
) AS mark
