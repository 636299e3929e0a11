-- One role, by name: whether it exists, and what it may read already.
-- Minimum server version: 10.
--
-- A superuser reads everything; BYPASSRLS reads rows that row-level
-- security would hide. pg_read_all_data (14+) reads every table and
-- sequence: its members need no grant either.
SELECT
    r.rolname AS name,
    r.rolsuper AS superuser,
    r.rolbypassrls AS bypass_rls,
    -- Looked up by name, not cast: before 14 the role does not exist.
    EXISTS (
        SELECT FROM pg_catalog.pg_roles AS g
        WHERE g.rolname = 'pg_read_all_data' AND pg_catalog.pg_has_role(r.oid, g.oid, 'USAGE')
    ) AS reads_all_data
FROM pg_catalog.pg_roles AS r
WHERE r.rolname = %(role)s
