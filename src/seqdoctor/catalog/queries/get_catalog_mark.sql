-- A mark of every catalog row the inventory is read from, that changes whenever
-- one of them may have: for `seqdoctor serve`, whose rounds read the inventory
-- (list_sequences.sql, list_column_uses.sql, list_foreign_keys.sql) again only
-- when it moved (see ReadOptions.earlier). Minimum server version: 12.
--
-- Two marks in one, each covering what the other may miss:
--
-- 1. For each catalog, its row count and the sum of a hash of each row's
--    (ctid, xmin). Every INSERT, UPDATE or DELETE of a catalog row (CREATE,
--    ALTER, DROP, GRANT, REVOKE, RENAME, TRUNCATE's new relfilenode...) adds a
--    row version with a new xmin at a new ctid or takes one away, which moves
--    the sum, unless two 32-bit hash sums collide. It is exact as of this
--    statement's snapshot, on a primary and on a standby alike, and needs no
--    statistics. Blind spots: in-place updates (VACUUM and ANALYZE write
--    relpages, reltuples, relfrozenxid, relhasindex without a new row
--    version: the inventory's row_estimate is then stale, and the history
--    reads reltuples afresh every round), and a row frozen (xmin shown as 2)
--    at the very ctid of a frozen row removed since, within one round.
-- 2. The catalogs' own counters of rows inserted, updated and deleted, and
--    this database's statistics reset time: they move on any change, in
--    place or not, but late (at the writing session's next flush, up to
--    seconds later), never on a standby, not at all where track_counts is
--    off. A late counter only makes a later round read again.
--
-- Both taken before the inventory is read: a change committed after this
-- statement may or may not be in the inventory, and moves the mark of the
-- next round, which then reads it whole. Privileges: relacl, attacl, nspacl are
-- columns of these rows; role membership is pg_auth_members. The roles'
-- attributes the inventory depends on (superuser, BYPASSRLS: what the audit
-- may read, and who may own a guard's function) are read as they are, from
-- pg_roles: pg_authid, whose row versions would do, is not every role's to read.
WITH catalogs (rel, rows) AS (
    SELECT 'pg_catalog.pg_class'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_class)
    -- System columns (attnum < 0, six per relation) come and go with their
    -- relation's pg_class row and never change: left out, a third fewer hashes.
    UNION ALL SELECT 'pg_catalog.pg_attribute'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_attribute WHERE attnum > 0)
    UNION ALL SELECT 'pg_catalog.pg_attrdef'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_attrdef)
    UNION ALL SELECT 'pg_catalog.pg_depend'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_depend)
    UNION ALL SELECT 'pg_catalog.pg_index'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_index)
    UNION ALL SELECT 'pg_catalog.pg_constraint'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_constraint)
    UNION ALL SELECT 'pg_catalog.pg_sequence'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_sequence)
    UNION ALL SELECT 'pg_catalog.pg_namespace'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_namespace)
    UNION ALL SELECT 'pg_catalog.pg_type'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_type)
    UNION ALL SELECT 'pg_catalog.pg_inherits'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_inherits)
    UNION ALL SELECT 'pg_catalog.pg_partitioned_table'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_partitioned_table)
    UNION ALL SELECT 'pg_catalog.pg_trigger'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_trigger)
    UNION ALL SELECT 'pg_catalog.pg_proc'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_proc)
    UNION ALL SELECT 'pg_catalog.pg_auth_members'::regclass,
           (SELECT count(*) || ':' || coalesce(sum(pg_catalog.hashtext(ctid::text || xmin::text)), 0)
            FROM pg_catalog.pg_auth_members)
)
SELECT pg_catalog.concat_ws(
    '/',
    pg_catalog.string_agg(
        pg_catalog.concat_ws(
            ':',
            rows,
            pg_catalog.pg_stat_get_tuples_inserted(rel),
            pg_catalog.pg_stat_get_tuples_updated(rel),
            pg_catalog.pg_stat_get_tuples_deleted(rel)
        ),
        ','
    ),
    pg_catalog.pg_stat_get_db_stat_reset_time(
        (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
    ),
    (SELECT pg_catalog.md5(pg_catalog.string_agg(
                pg_catalog.concat_ws(':', oid, rolname, rolsuper, rolbypassrls), ',' ORDER BY oid))
     FROM pg_catalog.pg_roles)
) AS mark
FROM catalogs
