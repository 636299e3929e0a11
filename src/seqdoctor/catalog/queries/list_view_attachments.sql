-- What a DROP VIEW takes with it and a CREATE VIEW does not bring back:
-- privileges, comments, column defaults, indexes (materialized views),
-- INSTEAD OF triggers and rules.
-- Minimum server version: 10.
--
-- Privileges come from aclexplode() of the relation's and its columns' ACLs;
-- the owner's own entries are left out (the owner gets them back by owning
-- it). grantee is NULL for PUBLIC.
SELECT c.oid::int8 AS view_oid, 'grant' AS kind, NULL::text AS column,
       CASE WHEN acl.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(acl.grantee) END
           AS grantee,
       acl.privilege_type AS privilege, acl.is_grantable AS grantable, NULL::text AS definition
FROM pg_catalog.pg_class AS c
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS acl
WHERE c.oid = ANY (%(oids)s::oid[]) AND acl.grantee <> c.relowner
UNION ALL
SELECT c.oid::int8, 'column-grant', a.attname,
       CASE WHEN acl.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(acl.grantee) END,
       acl.privilege_type, acl.is_grantable, NULL
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) AS acl
WHERE c.oid = ANY (%(oids)s::oid[]) AND acl.grantee <> c.relowner
UNION ALL
SELECT c.oid::int8, 'column-comment', a.attname, NULL, NULL, false,
       pg_catalog.col_description(c.oid, a.attnum)
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = ANY (%(oids)s::oid[]) AND pg_catalog.col_description(c.oid, a.attnum) IS NOT NULL
UNION ALL
SELECT ad.adrelid::int8, 'column-default', a.attname, NULL, NULL, false,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
FROM pg_catalog.pg_attrdef AS ad
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
WHERE ad.adrelid = ANY (%(oids)s::oid[])
UNION ALL
SELECT i.indrelid::int8, 'index', NULL, NULL, NULL, false,
       pg_catalog.pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index AS i
WHERE i.indrelid = ANY (%(oids)s::oid[])
UNION ALL
SELECT t.tgrelid::int8, 'trigger', NULL, NULL, NULL, false,
       pg_catalog.pg_get_triggerdef(t.oid)
FROM pg_catalog.pg_trigger AS t
WHERE t.tgrelid = ANY (%(oids)s::oid[]) AND NOT t.tgisinternal
UNION ALL
SELECT r.ev_class::int8, 'rule', NULL, NULL, NULL, false, pg_catalog.pg_get_ruledef(r.oid)
FROM pg_catalog.pg_rewrite AS r
WHERE r.ev_class = ANY (%(oids)s::oid[]) AND r.rulename <> '_RETURN'
ORDER BY 1, 2, 3, 4, 5, 7
