-- Every foreign key with a position on a family column, on either side: the
-- constraints the online widening adds again on the new columns, with exactly
-- their options. Minimum server version: 12.
--
-- pg_get_constraintdef() gives the options as the server would dump them
-- (MATCH, ON UPDATE/DELETE with SET NULL (cols) column lists from 15,
-- DEFERRABLE, NOT VALID); run it with search_path = pg_catalog so the table it
-- references comes schema-qualified. Top-level constraints only
-- (conparentid = 0), as list_key_family.sql follows them.
WITH family AS (
    SELECT s.table_oid, s.attnum
    FROM unnest(%(tables)s::oid[], %(attnums)s::int2[]) AS s(table_oid, attnum)
)
SELECT
    con.oid::int8 AS oid,
    con.conname AS name,
    con.conrelid::int8 AS table_oid,
    n.nspname AS schema,
    c.relname AS table,
    con.conkey::int[] AS attnums,
    con.confrelid::int8 AS referenced_table_oid,
    rn.nspname AS referenced_schema,
    rc.relname AS referenced_table,
    con.confkey::int[] AS referenced_attnums,
    con.convalidated AS validated,
    pg_catalog.pg_get_constraintdef(con.oid) AS definition,
    (SELECT ds.description FROM pg_catalog.pg_description AS ds
     WHERE ds.objoid = con.oid AND ds.classoid = 'pg_catalog.pg_constraint'::regclass
       AND ds.objsubid = 0) AS comment
FROM pg_catalog.pg_constraint AS con
JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class AS rc ON rc.oid = con.confrelid
JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND (
      EXISTS (SELECT FROM family AS f
              WHERE f.table_oid = con.conrelid AND f.attnum = ANY (con.conkey))
      OR EXISTS (SELECT FROM family AS f
                 WHERE f.table_oid = con.confrelid AND f.attnum = ANY (con.confkey))
  )
ORDER BY n.nspname, c.relname, con.conname
