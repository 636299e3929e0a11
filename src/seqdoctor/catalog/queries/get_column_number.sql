-- The table oid and column number of a column given by schema, table and
-- column name; no row when there is no such column. Minimum server version: 12.
SELECT a.attrelid::int8 AS table_oid, a.attnum::int AS attnum
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND a.attname = %(column)s
  AND a.attnum > 0 AND NOT a.attisdropped
