-- The guard's schema: whether it exists, the comment that marks it as the
-- guard's, how many objects in it are not the guard's functions, the comment
-- on its guard() function, which says which version of the functions is
-- installed, and whether PUBLIC may use it (every writer runs the functions).
-- Minimum server version: 10.
--
-- Every object in a schema depends on it in pg_depend (deptype 'n'): counting
-- those that are not our functions tells whether removing the guard may drop
-- the schema, without listing each kind of object.
SELECT
    %(name)s AS name,
    n.oid IS NOT NULL AS exists,
    pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment,
    (
        SELECT count(*)
        FROM pg_catalog.pg_depend AS d
        WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass
          AND d.refobjid = n.oid
          AND NOT (
              d.classid = 'pg_catalog.pg_proc'::regclass
              AND EXISTS (
                  SELECT FROM pg_catalog.pg_proc AS p
                  WHERE p.oid = d.objid AND p.proname = ANY (%(functions)s)
              )
          )
    )::int AS other_objects,
    (
        SELECT pg_catalog.obj_description(p.oid, 'pg_proc')
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = n.oid AND p.proname = 'guard' AND p.pronargs = 0
    ) AS function_version,
    coalesce(pg_catalog.has_schema_privilege('public', n.oid, 'USAGE'), false) AS public_usage
FROM (SELECT) AS one
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = %(name)s
