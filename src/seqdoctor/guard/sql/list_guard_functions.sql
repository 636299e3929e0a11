-- Guard trigger functions as pg_proc records what they run: the one named
-- <schema>.guard() (%(name)s; NULL for none), and those of the given oids
-- (%(oids)s: what the audit's guard triggers call). For each: a hash of its
-- body, the settings it runs with, whether it runs as its owner (SECURITY
-- DEFINER), its language, and who owns it (and so may replace it).
-- Minimum server version: 11 (sha256()).
--
-- Install, status and the audit compare these with what this seqdoctor
-- creates (plan.expected_function()), never with the comment on the function,
-- which its owner can keep while replacing the body.
SELECT
    p.oid::int8 AS oid,
    n.nspname AS schema,
    pg_catalog.pg_get_userbyid(p.proowner) AS owner,
    r.rolsuper AS owner_superuser,
    pg_catalog.encode(
        pg_catalog.sha256(pg_catalog.convert_to(p.prosrc, 'UTF8')), 'hex'
    ) AS source_hash,
    coalesce(p.proconfig, '{}') AS config,
    p.prosecdef AS security_definer,
    l.lanname AS language
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
JOIN pg_catalog.pg_roles AS r ON r.oid = p.proowner
WHERE (n.nspname = %(name)s AND p.proname = 'guard' AND p.pronargs = 0)
   OR p.oid = ANY (%(oids)s::pg_catalog.oid[])
