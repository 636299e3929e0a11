-- The functions that guard triggers call, by oid, as pg_proc records what they
-- run: the schema they live in, a hash of the body, the settings they run with,
-- whether they run as their owner, their language. Minimum server version: 11
-- (sha256()).
--
-- The audit compares these with what this seqdoctor creates in that schema
-- (plan.expected_function()): a guard whose function differs is 'tampered'.
SELECT
    p.oid::int8 AS oid,
    n.nspname AS schema,
    pg_catalog.encode(
        pg_catalog.sha256(pg_catalog.convert_to(p.prosrc, 'UTF8')), 'hex'
    ) AS source_hash,
    coalesce(p.proconfig, '{}') AS config,
    p.prosecdef AS security_definer,
    l.lanname AS language
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
WHERE p.oid = ANY (%(oids)s::pg_catalog.oid[])
