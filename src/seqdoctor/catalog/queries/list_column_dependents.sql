-- What stands in the way of ALTER TABLE ... ALTER COLUMN ... TYPE on some columns.
-- Minimum server version: 12 (pg_partition_tree, attgenerated).
--
-- ALTER COLUMN TYPE rebuilds the indexes, constraints, defaults and extended
-- statistics on the column by itself, but refuses while a view or rule reads
-- the column, and likewise for triggers, policies, generated columns,
-- SQL-standard function bodies and partition keys (tablecmds.c,
-- RememberAllDependentForRebuilding). pg_depend records each of these as an
-- object depending on the column (refobjsubid = its number).
--
-- Rows, one per object:
--   relation  a view or materialized view reading the column, or reading such a
--             view (DROP VIEW refuses while other views depend on it): dropped
--             and recreated around the ALTER. depth orders them: drop the
--             deepest first, create the shallowest first.
--   rule      a rule on a table (not a view's own _RETURN rule) reading the column
--             or one of those views: dropped and recreated too.
--   blocker   anything else the ALTER or the DROP VIEW would refuse on; detail
--             says what. seqdoctor does not drop those.
--   inherited the column is inherited (INHERITS): ALTER on its parent changes it.
WITH RECURSIVE target AS (
    SELECT t.table_oid, t.attnum
    FROM unnest(%(tables)s::oid[], %(attnums)s::int2[]) AS t(table_oid, attnum)
),
reader AS (
    -- Rules reading a target column, then rules reading a view found so far.
    SELECT d.objid AS rule_oid, 1 AS depth
    FROM target AS t
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.refobjid = t.table_oid
     AND d.refobjsubid = t.attnum
     AND d.classid = 'pg_catalog.pg_rewrite'::regclass
     AND d.deptype = 'n'
    UNION
    SELECT d.objid, reader.depth + 1
    FROM reader
    JOIN pg_catalog.pg_rewrite AS r ON r.oid = reader.rule_oid AND r.rulename = '_RETURN'
    JOIN pg_catalog.pg_class AS v ON v.oid = r.ev_class AND v.relkind IN ('v', 'm')
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.refobjid = v.oid
     AND d.classid = 'pg_catalog.pg_rewrite'::regclass
     AND d.deptype = 'n'
    JOIN pg_catalog.pg_rewrite AS r2 ON r2.oid = d.objid AND r2.ev_class <> v.oid
),
relation AS (
    SELECT r.ev_class AS oid, max(reader.depth) AS depth
    FROM reader
    JOIN pg_catalog.pg_rewrite AS r ON r.oid = reader.rule_oid AND r.rulename = '_RETURN'
    JOIN pg_catalog.pg_class AS v ON v.oid = r.ev_class AND v.relkind IN ('v', 'm')
    GROUP BY r.ev_class
)
SELECT 'relation' AS kind, c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name,
       NULL::text AS table, rel.depth, NULL::int8 AS table_oid, NULL::int AS attnum,
       NULL::text AS detail
FROM relation AS rel
JOIN pg_catalog.pg_class AS c ON c.oid = rel.oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
UNION ALL
-- Rules on tables; a rule on a view we recreate goes with the view.
SELECT DISTINCT 'rule', r.oid::int8, n.nspname, r.rulename, c.relname, 0, c.oid::int8, NULL::int,
       pg_catalog.pg_get_ruledef(r.oid)
FROM reader
JOIN pg_catalog.pg_rewrite AS r ON r.oid = reader.rule_oid
JOIN pg_catalog.pg_class AS c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND r.ev_class NOT IN (SELECT oid FROM relation)
UNION ALL
-- Other objects on a target column that ALTER COLUMN TYPE refuses to rebuild.
SELECT 'blocker', NULL, NULL, NULL, NULL, 0, t.table_oid::int8, t.attnum::int,
       pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
FROM target AS t
JOIN pg_catalog.pg_depend AS d
  ON d.refclassid = 'pg_catalog.pg_class'::regclass
 AND d.refobjid = t.table_oid
 AND d.refobjsubid = t.attnum
LEFT JOIN pg_catalog.pg_attrdef AS ad
  ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND ad.oid = d.objid
LEFT JOIN pg_catalog.pg_attribute AS generated
  ON generated.attrelid = ad.adrelid AND generated.attnum = ad.adnum
WHERE d.classid IN (
        'pg_catalog.pg_trigger'::regclass, 'pg_catalog.pg_policy'::regclass,
        'pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_publication_rel'::regclass
      )
   OR generated.attgenerated <> ''
UNION ALL
-- Partition keys: no partitioned table in the tree may be partitioned by the column.
SELECT 'blocker', NULL, NULL, NULL, NULL, 0, t.table_oid::int8, t.attnum::int,
       'partition key of ' || pt.partrelid::regclass::text
FROM target AS t
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = t.table_oid AND a.attnum = t.attnum
CROSS JOIN LATERAL pg_catalog.pg_partition_tree(t.table_oid) AS tree
JOIN pg_catalog.pg_partitioned_table AS pt ON pt.partrelid = tree.relid
JOIN pg_catalog.pg_attribute AS key
  ON key.attrelid = pt.partrelid AND key.attnum = ANY (pt.partattrs::int2[])
WHERE key.attname = a.attname
UNION ALL
-- A partition's column belongs to its partitioned table, which must be altered instead.
SELECT 'blocker', NULL, NULL, NULL, NULL, 0, t.table_oid::int8, t.attnum::int,
       'the column belongs to a partition of ' || i.inhparent::regclass::text
FROM target AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.table_oid AND c.relispartition
JOIN pg_catalog.pg_inherits AS i ON i.inhrelid = c.oid
UNION ALL
SELECT 'inherited', NULL, NULL, NULL, NULL, 0, t.table_oid::int8, t.attnum::int, NULL
FROM target AS t
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = t.table_oid AND a.attnum = t.attnum
JOIN pg_catalog.pg_class AS c ON c.oid = t.table_oid AND NOT c.relispartition
WHERE a.attinhcount > 0
UNION ALL
-- Objects depending on a view we would drop, other than what goes with it
-- (its rules, triggers, indexes, column defaults, row type): DROP VIEW refuses.
SELECT 'blocker', NULL, NULL, NULL, NULL, 0, NULL, NULL,
       pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
       || ' depends on ' || rel.oid::regclass::text
FROM relation AS rel
JOIN pg_catalog.pg_class AS v ON v.oid = rel.oid
JOIN pg_catalog.pg_depend AS d
  ON d.deptype = 'n'
 AND ((d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = v.oid)
      OR (d.refclassid = 'pg_catalog.pg_type'::regclass AND d.refobjid = v.reltype))
WHERE d.classid NOT IN ('pg_catalog.pg_rewrite'::regclass, 'pg_catalog.pg_trigger'::regclass)
ORDER BY 1, 6, 3, 4, 5, 9
