-- What it takes to create views and materialized views again as they are.
-- Minimum server version: 10.
--
-- pg_get_viewdef() prints the query as PostgreSQL stored it (names qualified
-- where the search path needs it); reloptions hold security_barrier,
-- security_invoker and check_option. Neither function locks the view.
SELECT
    c.oid::int8 AS oid,
    n.nspname AS schema,
    c.relname AS name,
    c.relkind::text AS relkind,
    pg_catalog.pg_get_viewdef(c.oid) AS definition,
    coalesce(c.reloptions, '{}'::text[]) AS options,
    ts.spcname AS tablespace,
    pg_catalog.pg_get_userbyid(c.relowner) AS owner,
    c.relacl::text AS acl,
    c.relispopulated AS populated,
    pg_catalog.obj_description(c.oid, 'pg_class') AS comment
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_tablespace AS ts ON ts.oid = c.reltablespace
WHERE c.oid = ANY (%(oids)s::oid[])
