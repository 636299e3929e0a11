-- Every sequence in user schemas, with its definition from pg_sequence.
-- Minimum server version: 10 (pg_sequence appeared in 10).
--
-- The position (last_value, is_called) is read separately: pg_sequences.last_value
-- is NULL both for a never-called sequence and for a role without privilege,
-- and pg_sequence_last_value() raises without privilege before PostgreSQL 18.
-- "readable" says whether reading the position will be allowed, so the audit
-- can report an unreadable sequence instead of mistaking it for an unused one.
--
-- User schemas: everything but pg_catalog, information_schema, and the pg_toast
-- and pg_temp_N schemas (no user schema may start with "pg_").
SELECT
    c.oid::int8 AS oid,
    n.nspname AS schema,
    c.relname AS name,
    t.typname AS type_name,
    s.seqstart AS start_value,
    s.seqincrement AS increment_by,
    s.seqmin AS min_value,
    s.seqmax AS max_value,
    s.seqcycle AS cycle,
    s.seqcache AS cache_size,
    p.readable
FROM pg_catalog.pg_sequence AS s
JOIN pg_catalog.pg_class AS c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type AS t ON t.oid = s.seqtypid
CROSS JOIN LATERAL (
    -- A superuser may read everything, without a look-up per sequence.
    SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) OR (
        has_schema_privilege(n.oid, 'USAGE')
        AND has_sequence_privilege(c.oid, 'SELECT')
    ) AS readable
) AS p
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  -- NULL: the sequence was dropped while this query ran (the privilege
  -- functions look at the catalog as it is now, not as of this query's snapshot).
  AND p.readable IS NOT NULL
ORDER BY n.nspname, c.relname
