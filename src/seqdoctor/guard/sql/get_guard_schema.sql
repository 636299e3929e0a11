-- The guard's schema: whether it exists, the comment that marks it as the
-- guard's, how many objects in it are not the guard's functions, which body
-- its guard() function has, whether PUBLIC may use it (every writer runs the
-- functions), who owns it and who else may create objects in it, and whether
-- the current role is a superuser. Minimum server version: 11 (sha256()).
--
-- Every object in a schema depends on it in pg_depend (deptype 'n'): counting
-- those that are not our functions tells whether removing the guard may drop
-- the schema, without listing each kind of object.
--
-- The version is read from the function's body (the first 12 hex digits of
-- its sha256, as plan.functions_version() names the body it installs), not
-- from the comment on it, which its owner can keep while replacing the body.
--
-- Whoever may create objects in the schema could create the guard's function
-- before install does, and own it: the grantees of CREATE in its ACL
-- (aclexplode; grantee 0 is PUBLIC). A NULL ACL is the default: the owner only.
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
        SELECT %(marker)s || ' ' || pg_catalog.left(pg_catalog.encode(
            pg_catalog.sha256(pg_catalog.convert_to(p.prosrc, 'UTF8')), 'hex'
        ), 12)
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = n.oid AND p.proname = 'guard' AND p.pronargs = 0
    ) AS function_version,
    coalesce(pg_catalog.has_schema_privilege('public', n.oid, 'USAGE'), false) AS public_usage,
    pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
    coalesce(o.rolsuper, false) AS owner_superuser,
    ARRAY(
        SELECT DISTINCT coalesce(g.rolname, 'PUBLIC')
        FROM pg_catalog.aclexplode(n.nspacl) AS acl
        LEFT JOIN pg_catalog.pg_roles AS g ON g.oid = acl.grantee
        WHERE acl.privilege_type = 'CREATE'
          AND acl.grantee <> n.nspowner
          AND coalesce(g.rolname <> current_user AND NOT g.rolsuper, true)
        ORDER BY 1
    ) AS creators,
    (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
        AS current_user_superuser
FROM (SELECT) AS one
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = %(name)s
LEFT JOIN pg_catalog.pg_roles AS o ON o.oid = n.nspowner
