-- Every online widening under way in the database, by its triggers: the sync
-- trigger (before the swap) and the reverse trigger (after it, until the
-- cleanup), with their functions' bodies, which name the columns. The command
-- line finds widenings to resume, revert or clean up here once the audit no
-- longer reports their columns (they are bigint after the swap).
-- Minimum server version: 12.
SELECT n.nspname AS schema, c.relname AS table, tg.tgname AS trigger, p.prosrc AS body
FROM pg_catalog.pg_trigger AS tg
JOIN pg_catalog.pg_class AS c ON c.oid = tg.tgrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc AS p ON p.oid = tg.tgfoid
WHERE tg.tgname IN ('zz_seqdoctor_sync', 'zz_seqdoctor_back')
ORDER BY 1, 2, 3
