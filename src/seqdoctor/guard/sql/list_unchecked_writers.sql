-- Roles that may write a table the guard watches but may not read its sequence
-- (or, to heal, move it with nextval(): USAGE or UPDATE): their writes fail,
-- or only warn, until granted.
-- Minimum server version: 10.
--
-- The writers are the grantees of INSERT or UPDATE in the table's ACL
-- (aclexplode; grantee 0 is PUBLIC), less its owner and superusers, who are
-- never refused. has_sequence_privilege() takes the role by name, which is
-- how PUBLIC can be asked. unnest() of several arrays is syntax, not a
-- function, and cannot be qualified.
SELECT DISTINCT
    g.table_oid::int8 AS table_oid,
    g.sequence_oid::int8 AS sequence_oid,
    coalesce(r.rolname, 'PUBLIC') AS role,
    %(privilege)s AS privilege
FROM unnest(%(tables)s::oid[], %(sequences)s::oid[]) AS g(table_oid, sequence_oid)
JOIN pg_catalog.pg_class AS c ON c.oid = g.table_oid
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS acl
LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = acl.grantee
WHERE acl.privilege_type IN ('INSERT', 'UPDATE')
  AND acl.grantee <> c.relowner
  AND NOT coalesce(r.rolsuper, false)
  AND NOT pg_catalog.has_sequence_privilege(
      coalesce(r.rolname, 'public'), g.sequence_oid,
      CASE %(privilege)s WHEN 'UPDATE' THEN 'USAGE,UPDATE' ELSE 'SELECT,USAGE' END)
ORDER BY 1, 2, 3
