-- Every column that takes its values from a sequence, in user schemas.
-- Minimum server version: 12 (pg_partition_root).
--
-- A column is fed by a sequence when
--   * it is an identity column: pg_depend records the sequence as an internal
--     part of the column (classid pg_class, deptype 'i');
--   * or its default calls nextval() on it: the default (a pg_attrdef row)
--     depends on the sequence with deptype 'n'. This finds serial columns and
--     plain DEFAULT nextval('some_other_seq'); pg_get_serial_sequence() sees
--     only sequences OWNED BY the column, deptype 'a', and so misses the latter.
-- A serial column is a default on a sequence the column also owns (deptype 'a').
--
-- The default must call nextval(), not merely name the sequence (currval()):
-- we look for nextval's oid in the stored expression tree (adbin) as text.
-- pg_get_expr() would say the same more readably, but it opens the table and
-- takes an ACCESS SHARE lock on it: one table locked by a migration would
-- then stall the whole inventory. This query locks no table.
--
-- Partitions inherit the parent's default: a partition whose root partitioned
-- table is fed by the same sequence is judged through the root, once.
-- Inheritance children (INHERITS) are tables of their own with their own
-- indexes, and are judged each on its own.
--
-- No ORDER BY: the reader sorts (read.list_column_uses). At 100,000 tables the
-- server's sort of these wide rows spills to disk, and asking for an order
-- steered the planner to a nested loop over every schema.
WITH fed AS (
    SELECT d.objid AS sequence_oid, d.refobjid AS table_oid, d.refobjsubid AS attnum, s.seqcycle
    FROM pg_catalog.pg_depend AS d
    JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = d.objid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass
      AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.refobjsubid > 0
      AND d.deptype = 'i'
    UNION
    SELECT d.refobjid, ad.adrelid, ad.adnum, s.seqcycle
    FROM pg_catalog.pg_attrdef AS ad
    JOIN pg_catalog.pg_depend AS d
      ON d.classid = 'pg_catalog.pg_attrdef'::regclass
     AND d.objid = ad.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.deptype = 'n'
    JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = d.refobjid
    WHERE ad.adbin::text LIKE
          '%%:funcid ' || 'pg_catalog.nextval(pg_catalog.regclass)'::regprocedure::oid || ' %%'
)
SELECT
    f.sequence_oid::int8 AS sequence_oid,
    f.table_oid::int8 AS table_oid,
    n.nspname AS schema,
    c.relname AS table,
    a.attname AS column,
    a.attnum::int AS attnum,
    pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
    coalesce(bt.typname, t.typname) AS type_name,
    CASE
        WHEN a.attidentity <> '' THEN 'identity'
        -- EXISTS, one index look-up per column, rather than IN over every OWNED
        -- BY link: the planner hashes such a list only while it fits work_mem,
        -- and past a few hundred thousand tables would scan it once per column.
        WHEN EXISTS (
            SELECT FROM pg_catalog.pg_depend AS o
            WHERE o.classid = 'pg_catalog.pg_class'::regclass
              AND o.objid = f.sequence_oid
              AND o.refobjid = f.table_oid
              AND o.refobjsubid = f.attnum
              AND o.deptype = 'a'
        ) THEN 'serial'
        ELSE 'default'
    END AS kind,
    CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
    c.relkind::text AS relkind,
    c.reltuples::int8 AS row_estimate,
    CASE WHEN q.index_facts THEN coalesce(ix.has_unique_index, false) END AS has_unique_index,
    CASE WHEN q.index_facts THEN coalesce(ix.has_probe_index, false) END AS has_probe_index,
    p.readable,
    -- Only a table with row-level security enabled can hide rows.
    CASE WHEN c.relrowsecurity THEN row_security_active(c.oid) ELSE false END AS row_security,
    g.guard,
    -- Unique only together with other columns: their names, from the narrowest
    -- such index (its key columns but this one; expressions are left out).
    CASE WHEN q.index_facts AND NOT ix.unique_alone AND ix.unique_index IS NOT NULL THEN (
        SELECT string_agg(quote_ident(ka.attname), ', ' ORDER BY k.n)
        FROM pg_catalog.pg_index AS ui
        CROSS JOIN LATERAL unnest((ui.indkey::int2[])[0:ui.indnkeyatts - 1])
            WITH ORDINALITY AS k (attnum, n)
        JOIN pg_catalog.pg_attribute AS ka ON ka.attrelid = ui.indrelid AND ka.attnum = k.attnum
        WHERE ui.indexrelid = ix.unique_index AND k.attnum <> a.attnum
    ) END AS unique_with,
    g.guard_function
FROM fed AS f
JOIN pg_catalog.pg_class AS c ON c.oid = f.table_oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = f.table_oid AND a.attnum = f.attnum
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type AS bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_partitioned_table AS pt ON pt.partrelid = c.oid
CROSS JOIN LATERAL (
    -- The index facts cost a third of this query at scale: they are read when
    -- asked for (to read the columns through their indexes), and for a sequence
    -- that cycles, which SEQ006 judges by whether its column is unique.
    SELECT %(index_facts)s OR f.seqcycle AS index_facts
) AS q
LEFT JOIN LATERAL (
    -- The table's indexes, looked at once for both questions. indkey is an
    -- int2vector, subscripted from 0; its first indnkeyatts entries are the key
    -- columns (the rest are INCLUDE columns).
    SELECT
        -- Unique on the column alone; partition key columns may join it, since
        -- a unique index on a partitioned table must contain them.
        bool_or(
            i.indisunique
            AND i.indpred IS NULL
            AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
            AND (i.indkey::int2[])[0:i.indnkeyatts - 1]
                <@ (ARRAY[a.attnum] || coalesce(pt.partattrs::int2[], '{}'))
        ) AS has_unique_index,
        -- Unique on the column alone, partition keys or not.
        coalesce(bool_or(
            i.indisunique AND i.indpred IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum
        ), false) AS unique_alone,
        -- The unique index with the fewest key columns that holds the column.
        (array_agg(i.indexrelid ORDER BY i.indnkeyatts, i.indexrelid) FILTER (
            WHERE i.indisunique
              AND i.indpred IS NULL
              AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
        ))[1] AS unique_index,
        -- max() and min() are answered from a valid btree index led by the column.
        bool_or(
            ic.relam = btree.oid AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indisvalid
        ) AS has_probe_index
    FROM pg_catalog.pg_index AS i
    JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
    CROSS JOIN (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'btree') AS btree
    WHERE i.indrelid = c.oid AND q.index_facts
) AS ix ON true
LEFT JOIN LATERAL (
    -- The mode of the seqdoctor guard on the column (seqdoctor.guard): its
    -- enabled INSERT trigger whose WHEN condition names this column and
    -- this sequence (PostgreSQL records both in pg_depend); the mode is its
    -- first argument. Read from the catalog's columns: pg_get_triggerdef()
    -- would open the table.
    --
    -- 'tampered' when what it runs cannot be trusted on what the catalog
    -- says: its function runs as its owner (SECURITY DEFINER), belongs to a
    -- role that may not create triggers on the table, or its WHEN condition
    -- calls objects that are not PostgreSQL's own (built-ins are pinned and
    -- never in pg_depend). Its body and settings are checked against this
    -- seqdoctor's by the audit, through guard_function (the function's oid).
    SELECT
        CASE WHEN NOT pr.prosecdef
                  AND (ro.rolsuper OR pg_catalog.has_table_privilege(pr.proowner, c.oid, 'TRIGGER'))
                  AND NOT EXISTS (
                      SELECT FROM pg_catalog.pg_depend AS d
                      WHERE d.classid = 'pg_catalog.pg_trigger'::regclass AND d.objid = tg.oid
                        AND d.refclassid <> 'pg_catalog.pg_class'::regclass
                        AND NOT (d.refclassid = 'pg_catalog.pg_proc'::regclass
                                 AND d.refobjid = tg.tgfoid)
                  )
             THEN split_part(encode(tg.tgargs, 'escape'), '\000', 1)
             ELSE 'tampered'
        END AS guard,
        tg.tgfoid::int8 AS guard_function
    FROM pg_catalog.pg_trigger AS tg
    JOIN pg_catalog.pg_proc AS pr ON pr.oid = tg.tgfoid
    JOIN pg_catalog.pg_roles AS ro ON ro.oid = pr.proowner
    WHERE tg.tgrelid = c.oid
      AND tg.tgname = 'seqdoctor_guard_insert_' || a.attnum
      AND tg.tgenabled <> 'D'
      AND EXISTS (
          SELECT FROM pg_catalog.pg_depend AS d
          WHERE d.classid = 'pg_catalog.pg_trigger'::regclass AND d.objid = tg.oid
            AND d.refclassid = 'pg_catalog.pg_class'::regclass
            AND d.refobjid = f.sequence_oid
      )
    LIMIT 1
) AS g ON true
CROSS JOIN LATERAL (
    -- A superuser may read everything: asking per column would look up every
    -- table again, which at 100,000 tables costs more than the rest of the query.
    SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) OR (
        has_schema_privilege(n.oid, 'USAGE')
        AND has_column_privilege(c.oid, a.attnum, 'SELECT')
    ) AS readable
) AS p
WHERE c.relkind IN ('r', 'p', 'f')
  -- NULL: the table was dropped while this query ran (the privilege functions
  -- look at the catalog as it is now, not as this query's snapshot saw it).
  AND p.readable IS NOT NULL
  AND NOT a.attisdropped
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT (
      c.relispartition
      AND EXISTS (
          SELECT FROM fed AS root
          WHERE root.table_oid = pg_catalog.pg_partition_root(c.oid)
            AND root.sequence_oid = f.sequence_oid
      )
  )
