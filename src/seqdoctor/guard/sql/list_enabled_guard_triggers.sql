-- The guard's triggers that fire now, partitions' clones included: what
-- allow_explicit_ids (guard/explicit.py) turns off for one transaction.
-- Minimum server version: 13.
--
-- A guard trigger is one named like the guard's whose function is a guard()
-- (list_guard_triggers.sql reads them all, and judges them). 'O' is the
-- default ENABLE: a trigger already disabled, or set to fire in replica or
-- always mode by someone, is not ours to switch, and is left as it is.
-- Clones are listed beside their parent so that ALTER TABLE ONLY switches
-- each one whatever the server's recursion rules for partitioned tables.
-- Run with the search path pinned.
SELECT
    n.nspname AS schema,
    c.relname AS table,
    t.tgname AS name
FROM pg_catalog.pg_trigger AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc AS p ON p.oid = t.tgfoid
WHERE t.tgname ~ '^seqdoctor_guard_(insert|update)_[0-9]+$'
  AND p.proname = 'guard'
  AND t.tgenabled = 'O'
ORDER BY t.tgrelid, t.tgname
