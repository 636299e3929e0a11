-- The key family of some integer columns: the columns themselves and every
-- foreign-key column that references one of them, recursively (a foreign-key
-- column that is itself referenced brings its own referencing columns).
-- Minimum server version: 12.
--
-- Rows: one per column, the seeds at depth 0. Foreign keys are followed from
-- pg_constraint (contype 'f'), position by position (conkey[i] references
-- confkey[i]), so composite keys bring only the positions that reference a
-- family column, self-references and other schemas come as any other table,
-- and only top-level constraints count (conparentid = 0: PostgreSQL clones a
-- foreign key of a partitioned table into each partition). Recursion stops at
-- columns already bigint (nothing to widen beyond them: a bigint column
-- referencing an integer one is no problem, the reverse is its own finding),
-- unless their table still has a column seqdoctor_old_<n>: an online widening
-- past its swap, whose family is followed whole so that it can be cleaned up
-- or reverted
-- and at a column already on the path (two unique columns referencing each
-- other would otherwise loop).
WITH RECURSIVE member AS (
    SELECT s.table_oid, s.attnum, 0 AS depth,
           ARRAY[s.table_oid::text || ':' || s.attnum::text] AS path
    FROM unnest(%(tables)s::oid[], %(attnums)s::int2[]) AS s(table_oid, attnum)
    UNION ALL
    SELECT con.conrelid, k.attnum, m.depth + 1,
           m.path || (con.conrelid::text || ':' || k.attnum::text)
    FROM member AS m
    JOIN pg_catalog.pg_attribute AS ma ON ma.attrelid = m.table_oid AND ma.attnum = m.attnum
    JOIN pg_catalog.pg_type AS mt ON mt.oid = ma.atttypid
    JOIN pg_catalog.pg_constraint AS con
      ON con.contype = 'f' AND con.conparentid = 0 AND con.confrelid = m.table_oid
    CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(attnum, refattnum)
    WHERE k.refattnum = m.attnum
      AND (mt.typname IN ('int2', 'int4')
           OR EXISTS (SELECT FROM pg_catalog.pg_attribute AS o
                      WHERE o.attrelid = m.table_oid AND NOT o.attisdropped
                        AND o.attname ~ '^seqdoctor_old_[1-9][0-9]*$'))
      AND NOT (con.conrelid::text || ':' || k.attnum::text) = ANY (m.path)
),
found AS (
    SELECT table_oid, attnum, min(depth) AS depth FROM member GROUP BY table_oid, attnum
)
SELECT
    f.table_oid::int8 AS table_oid,
    n.nspname AS schema,
    c.relname AS table,
    a.attname AS column,
    f.attnum::int AS attnum,
    f.depth,
    t.typname AS type_name,
    pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
    t.typtype = 'd' AS domain,
    a.attnotnull AS not_null,
    a.attidentity::text AS identity,
    a.attgenerated::text AS generated,
    pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default_expression,
    a.attinhcount > 0 AS inherited,
    a.attacl::text[] AS acl,
    pg_catalog.col_description(f.table_oid, f.attnum) AS comment,
    -- -1 before 17, NULL since: the default target
    CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::int END AS statistics_target,
    a.attoptions::text[] AS options
FROM found AS f
JOIN pg_catalog.pg_class AS c ON c.oid = f.table_oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = f.table_oid AND a.attnum = f.attnum
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE NOT a.attisdropped
ORDER BY f.depth, n.nspname, c.relname, f.attnum
