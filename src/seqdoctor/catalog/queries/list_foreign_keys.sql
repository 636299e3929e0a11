-- Foreign-key column pairs between integer columns: the referencing column and
-- the column it references, one row per key position.
-- Minimum server version: 11 (pg_constraint.conparentid).
--
-- Only top-level constraints (conparentid = 0): PostgreSQL clones a foreign
-- key of, or to, a partitioned table into each partition, and the clones say
-- nothing the parent constraint does not.
SELECT
    con.conname AS constraint_name,
    con.conrelid::int8 AS table_oid,
    n.nspname AS schema,
    c.relname AS table,
    a.attname AS column,
    a.attnum::int AS attnum,
    pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
    coalesce(bt.typname, t.typname) AS type_name,
    con.confrelid::int8 AS referenced_table_oid,
    k.refattnum::int AS referenced_attnum
FROM pg_catalog.pg_constraint AS con
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(attnum, refattnum)
JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type AS bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND coalesce(bt.typname, t.typname) IN ('int2', 'int4', 'int8')
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY n.nspname, c.relname, con.conname, k.attnum
