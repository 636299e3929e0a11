-- Everything attached to the columns of a key family, and every trigger of
-- their tables: what the online widening must carry over to the new columns,
-- or refuse over. Minimum server version: 12.
--
-- Objects are bound to a column by its number, not its name (pg_depend
-- refobjsubid, pg_index.indkey, pg_constraint.conkey, pg_trigger.tgattr): after
-- the swap renames the columns they would still point at the old one, so each
-- must be rebuilt or created again. Rows, by kind:
--   index       an index on the column, as a key, in an expression or in its
--               predicate (indkey, or pg_depend for expressions and predicates);
--               flags say whether it backs a constraint, is partial, has
--               expressions, is the replica identity, the CLUSTER index, valid
--   constraint  a primary key, unique, exclusion, check or (18) not-null
--               constraint on the column (foreign keys: list_family_foreign_keys)
--   trigger     every user trigger of a family table (not internal: foreign
--               keys' RI triggers are); column_bound says the trigger names the
--               column (UPDATE OF or its WHEN condition), column_list that it
--               fires on UPDATE OF some columns only
--   view, rule, policy, statistics, function, generated, publication
--               an object of that kind depending on the column in pg_depend
-- detail is the server's own definition, read with search_path = pg_catalog
-- by the caller so that every name in it is qualified; comment is the object's
-- COMMENT, which goes with it when the swap drops it and sets on what replaces it.
WITH family AS (
    SELECT s.table_oid, s.attnum
    FROM unnest(%(tables)s::oid[], %(attnums)s::int2[]) AS s(table_oid, attnum)
),
depends AS (
    SELECT f.table_oid, f.attnum, d.classid, d.objid
    FROM family AS f
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.refobjid = f.table_oid AND d.refobjsubid = f.attnum
)
SELECT
    'index' AS kind,
    i.indexrelid::int8 AS oid,
    ic.relname AS name,
    f.table_oid::int8 AS table_oid,
    f.attnum::int AS attnum,
    pg_catalog.pg_get_indexdef(i.indexrelid) AS detail,
    con.conname AS constraint_name,
    con.contype::text AS constraint_type,
    i.indpred IS NOT NULL AS partial,
    i.indexprs IS NOT NULL AS expressions,
    i.indisreplident AS replica_identity,
    i.indisclustered AS clustered,
    i.indisvalid AS valid,
    false AS column_bound,
    0 AS trigger_type,
    ''::text AS enabled,
    false AS column_list,
    (
        SELECT pg_catalog.string_agg(oc.opcname::text, ', ')
        FROM pg_catalog.generate_series(0, i.indnkeyatts - 1) AS k(n)
        JOIN pg_catalog.pg_opclass AS oc ON oc.oid = i.indclass[k.n]
        WHERE i.indkey[k.n] = f.attnum AND NOT oc.opcdefault
    ) AS operator_class,
    NULL::text AS undo,
    (SELECT ds.description FROM pg_catalog.pg_description AS ds
        WHERE ds.objoid = i.indexrelid AND ds.classoid = 'pg_catalog.pg_class'::regclass AND ds.objsubid = 0) AS comment
FROM family AS f
JOIN pg_catalog.pg_index AS i ON i.indrelid = f.table_oid
JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint AS con
  ON con.conindid = i.indexrelid AND con.conrelid = f.table_oid AND con.contype IN ('p', 'u', 'x')
WHERE f.attnum = ANY (i.indkey::int2[])
   OR EXISTS (SELECT FROM depends AS d
              WHERE d.table_oid = f.table_oid AND d.attnum = f.attnum
                AND d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid)
UNION ALL
SELECT 'constraint', con.oid::int8, con.conname, f.table_oid::int8, f.attnum::int,
       pg_catalog.pg_get_constraintdef(con.oid), con.conname, con.contype::text,
       false, false, false, false, con.convalidated, false, 0, '', false, NULL, NULL,
       (SELECT ds.description FROM pg_catalog.pg_description AS ds
        WHERE ds.objoid = con.oid AND ds.classoid = 'pg_catalog.pg_constraint'::regclass AND ds.objsubid = 0)
FROM family AS f
JOIN pg_catalog.pg_constraint AS con
  ON con.conrelid = f.table_oid AND f.attnum = ANY (con.conkey) AND con.contype <> 'f'
UNION ALL
SELECT 'trigger', t.oid::int8, t.tgname, t.tgrelid::int8, NULL::int,
       pg_catalog.pg_get_triggerdef(t.oid), NULL, NULL,
       false, false, false, false, true,
       EXISTS (SELECT FROM family AS f
               WHERE f.table_oid = t.tgrelid
                 AND (f.attnum = ANY (t.tgattr::int2[])
                      OR EXISTS (SELECT FROM depends AS d
                                 WHERE d.table_oid = f.table_oid AND d.attnum = f.attnum
                                   AND d.classid = 'pg_catalog.pg_trigger'::regclass
                                   AND d.objid = t.oid))),
       t.tgtype::int, t.tgenabled::text, pg_catalog.cardinality(t.tgattr::int2[]) > 0, NULL,
       NULL,
       (SELECT ds.description FROM pg_catalog.pg_description AS ds
        WHERE ds.objoid = t.oid AND ds.classoid = 'pg_catalog.pg_trigger'::regclass AND ds.objsubid = 0)
FROM pg_catalog.pg_trigger AS t
WHERE t.tgrelid IN (SELECT table_oid FROM family) AND NOT t.tgisinternal
UNION ALL
SELECT CASE
           WHEN d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.rulename = '_RETURN'
               THEN 'view'
           WHEN d.classid = 'pg_catalog.pg_rewrite'::regclass THEN 'rule'
           WHEN d.classid = 'pg_catalog.pg_policy'::regclass THEN 'policy'
           WHEN d.classid = 'pg_catalog.pg_statistic_ext'::regclass THEN 'statistics'
           WHEN d.classid = 'pg_catalog.pg_proc'::regclass THEN 'function'
           WHEN d.classid = 'pg_catalog.pg_publication_rel'::regclass THEN 'publication'
           ELSE 'generated'
       END,
       d.objid::int8,
       CASE WHEN r.rulename = '_RETURN' THEN r.ev_class::regclass::text
            ELSE pg_catalog.pg_describe_object(d.classid, d.objid, 0) END,
       d.table_oid::int8, d.attnum::int,
       -- Policies and extended statistics: the statement that creates each again
       -- (names resolve to the new column when it runs after the swap's renames),
       -- and the one that drops it.
       CASE
           WHEN pol.oid IS NOT NULL THEN
               'CREATE POLICY ' || pg_catalog.quote_ident(pol.polname) || ' ON '
               || pol.polrelid::regclass::text || ' AS '
               || CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
               || ' FOR ' || CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                 WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
               || ' TO ' || (
                   SELECT pg_catalog.string_agg(
                              CASE WHEN g.role = 0 THEN 'PUBLIC'
                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.role))
                              END, ', ' ORDER BY g.n)
                   FROM unnest(pol.polroles) WITH ORDINALITY AS g(role, n))
               || COALESCE(' USING (' || pg_catalog.pg_get_expr(pol.polqual, pol.polrelid)
                           || ')', '')
               || COALESCE(' WITH CHECK ('
                           || pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', '')
           WHEN stx.oid IS NOT NULL THEN pg_catalog.pg_get_statisticsobjdef(stx.oid)
       END,
       NULL, NULL, false, false, false, false, true, true, 0, '', false, NULL,
       CASE
           WHEN pol.oid IS NOT NULL THEN
               'DROP POLICY ' || pg_catalog.quote_ident(pol.polname) || ' ON '
               || pol.polrelid::regclass::text
           WHEN stx.oid IS NOT NULL THEN
               'DROP STATISTICS ' || pg_catalog.quote_ident(sn.nspname) || '.'
               || pg_catalog.quote_ident(stx.stxname)
       END,
       (SELECT ds.description FROM pg_catalog.pg_description AS ds
        WHERE ds.objoid = d.objid AND ds.classoid = d.classid AND ds.objsubid = 0)
FROM depends AS d
LEFT JOIN pg_catalog.pg_policy AS pol
  ON d.classid = 'pg_catalog.pg_policy'::regclass AND pol.oid = d.objid
LEFT JOIN pg_catalog.pg_statistic_ext AS stx
  ON d.classid = 'pg_catalog.pg_statistic_ext'::regclass AND stx.oid = d.objid
LEFT JOIN pg_catalog.pg_namespace AS sn ON sn.oid = stx.stxnamespace
LEFT JOIN pg_catalog.pg_rewrite AS r
  ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid
LEFT JOIN pg_catalog.pg_attrdef AS ad
  ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND ad.oid = d.objid
LEFT JOIN pg_catalog.pg_attribute AS g
  ON g.attrelid = ad.adrelid AND g.attnum = ad.adnum
WHERE d.classid IN (
        'pg_catalog.pg_rewrite'::regclass, 'pg_catalog.pg_policy'::regclass,
        'pg_catalog.pg_statistic_ext'::regclass, 'pg_catalog.pg_proc'::regclass,
        'pg_catalog.pg_publication_rel'::regclass
      )
   OR g.attgenerated <> ''
ORDER BY 1, 4, 3
