-- The schema and owner of relations, by oid: for seqdoctor grants, the
-- sequences and sequence-fed tables the audit reads.
-- Minimum server version: 10.
--
-- The owner is the role that created the relation, or was given it since:
-- default privileges (ALTER DEFAULT PRIVILEGES FOR ROLE) apply to objects a
-- given role creates, and the owners of today's objects are the best guess
-- at who creates tomorrow's. relrowsecurity: row-level security is enabled,
-- and may hide rows from a role without BYPASSRLS (the owner's role is the
-- monitor's only if it owns the table, which it should not).
SELECT
    c.oid::int8 AS oid,
    n.nspname AS schema,
    pg_catalog.pg_get_userbyid(c.relowner) AS owner,
    c.relrowsecurity AS row_security
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = ANY (%(oids)s::pg_catalog.oid[])
