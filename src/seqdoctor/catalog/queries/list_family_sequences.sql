-- The sequences that feed family columns, with their definitions: the online
-- widening takes each to AS bigint (and its MAXVALUE, MINVALUE descending, to
-- bigint's bound when it was the old type's). Minimum server version: 12.
--
-- How a sequence feeds a column is recorded in pg_depend: an owned sequence
-- (serial, or ALTER SEQUENCE ... OWNED BY) depends on the column with deptype
-- 'a', an identity column's sequence with deptype 'i'; a bare DEFAULT
-- nextval('s') is a default (pg_attrdef) depending on the sequence with
-- deptype 'n'. A sequence can come twice (owned by the column it feeds).
WITH family AS (
    SELECT s.table_oid, s.attnum
    FROM unnest(%(tables)s::oid[], %(attnums)s::int2[]) AS s(table_oid, attnum)
),
link AS (
    SELECT d.objid AS sequence_oid, f.table_oid, f.attnum,
           CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS how
    FROM family AS f
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.refobjid = f.table_oid AND d.refobjsubid = f.attnum
     AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
    UNION
    SELECT d.refobjid, f.table_oid, f.attnum, 'default'
    FROM family AS f
    JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid = f.table_oid AND ad.adnum = f.attnum
    JOIN pg_catalog.pg_depend AS d
      ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'n'
)
SELECT
    l.sequence_oid::int8 AS oid,
    n.nspname AS schema,
    c.relname AS name,
    l.table_oid::int8 AS table_oid,
    l.attnum::int AS attnum,
    l.how,
    t.typname AS type_name,
    s.seqmin AS min_value,
    s.seqmax AS max_value,
    s.seqincrement AS increment,
    s.seqcycle AS cycle,
    s.seqstart AS start_value,
    s.seqcache AS cache
FROM link AS l
JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = l.sequence_oid
JOIN pg_catalog.pg_class AS c ON c.oid = l.sequence_oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type AS t ON t.oid = s.seqtypid
ORDER BY n.nspname, c.relname, l.table_oid, l.attnum, l.how
