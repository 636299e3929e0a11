-- What exists of an online widening on some tables: the catalog is its only
-- state (docs/online-widening.md, "State"). Minimum server version: 12.
--
-- Rows, by kind:
--   column    a column named like seqdoctor's (seqdoctor_wide_<n>, seqdoctor_old_<n>)
--   trigger   a trigger named like seqdoctor's widening triggers, with its
--             function, that function's body and settings, and whether it
--             is SECURITY DEFINER
--   function  a function named like the ones seqdoctor would create for these
--             tables (seqdoctor_sync_<table oid>, seqdoctor_back_<table oid>),
--             wherever a trigger uses it or not
--   index     an index named like seqdoctor's (seqdoctor_wide_<n>), valid or not
--   constraint a constraint named like seqdoctor's (seqdoctor_wide_<n>), validated or not
-- Names are matched with LIKE on a literal prefix: the underscore is escaped.
WITH tables AS (
    SELECT s.table_oid FROM unnest(%(tables)s::oid[]) AS s(table_oid)
)
SELECT 'column' AS kind, a.attrelid::int8 AS table_oid, a.attname AS name,
       a.attnum::int AS attnum, t.typname AS type_name, a.attnotnull AS not_null,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS detail,
       NULL::int8 AS function_oid, NULL::text AS function_schema, NULL::text AS function_name,
       NULL::text[] AS settings, false AS security_definer, ''::text AS enabled,
       true AS valid
FROM tables
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = tables.table_oid
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE NOT a.attisdropped AND a.attname LIKE 'seqdoctor\_%%'
UNION ALL
SELECT 'trigger', tg.tgrelid::int8, tg.tgname, NULL, NULL, NULL,
       p.prosrc, p.oid::int8, pn.nspname, p.proname, p.proconfig, p.prosecdef,
       tg.tgenabled::text, true
FROM tables
JOIN pg_catalog.pg_trigger AS tg ON tg.tgrelid = tables.table_oid
JOIN pg_catalog.pg_proc AS p ON p.oid = tg.tgfoid
JOIN pg_catalog.pg_namespace AS pn ON pn.oid = p.pronamespace
WHERE tg.tgname LIKE 'zz\_seqdoctor\_%%'
UNION ALL
SELECT 'function', tables.table_oid::int8, p.proname, NULL, NULL, NULL,
       p.prosrc, p.oid::int8, pn.nspname, p.proname, p.proconfig, p.prosecdef, '', true
FROM tables
JOIN pg_catalog.pg_proc AS p
  ON p.proname IN ('seqdoctor_sync_' || tables.table_oid::text,
                   'seqdoctor_back_' || tables.table_oid::text)
JOIN pg_catalog.pg_namespace AS pn ON pn.oid = p.pronamespace
UNION ALL
SELECT 'index', i.indrelid::int8, ic.relname, NULL, NULL, NULL,
       pg_catalog.pg_get_indexdef(i.indexrelid), NULL, NULL, NULL, NULL, false, '',
       i.indisvalid
FROM tables
JOIN pg_catalog.pg_index AS i ON i.indrelid = tables.table_oid
JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
WHERE ic.relname LIKE 'seqdoctor\_%%'
UNION ALL
SELECT 'constraint', con.conrelid::int8, con.conname, NULL, NULL, NULL,
       pg_catalog.pg_get_constraintdef(con.oid), NULL, NULL, NULL, NULL, false, '',
       con.convalidated
FROM tables
JOIN pg_catalog.pg_constraint AS con ON con.conrelid = tables.table_oid
WHERE con.conname LIKE 'seqdoctor\_%%'
ORDER BY 1, 2, 3
