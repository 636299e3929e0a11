-- Every trigger named like a guard's (seqdoctor_guard_<event>_<attnum>), with
-- its mode and what its WHEN condition checks. Minimum server version: 13
-- (tgparentid).
--
-- The mode is the trigger's first argument (tgargs, NUL-terminated, which
-- encode(..., 'escape') shows as \000). The column and the sequence are the
-- ones its WHEN condition names, which PostgreSQL records in pg_depend: a
-- column of its table (refobjsubid > 0) and a sequence. Everything comes from
-- the catalog's own columns: pg_get_triggerdef() would open the table and
-- wait behind any lock on it.
--
-- Whether the owner of its function may create triggers on the table (as its
-- owner, a superuser, or by the TRIGGER privilege): if not, that role decides
-- what the table's writers run, which it could not do otherwise.
--
-- What its WHEN condition calls besides PostgreSQL's own objects: the column
-- and the sequence are relations (pg_class) and the function is its own, while
-- built-in operators, functions and types are pinned and never recorded in
-- pg_depend. Anything else -- an operator planted in public that a trigger
-- created under a search_path listing public first bound to -- runs in every
-- write's WHEN condition, as the writer.
--
-- Clones PostgreSQL keeps on the partitions of a partitioned table
-- (tgparentid <> 0) come and go with their parent's trigger: left out.
SELECT
    t.tgrelid::int8 AS table_oid,
    n.nspname AS schema,
    c.relname AS table,
    t.tgname AS name,
    pn.nspname AS function_schema,
    p.proname AS function_name,
    pg_catalog.split_part(pg_catalog.encode(t.tgargs, 'escape'), '\000', 1) AS mode,
    (
        SELECT d.refobjid::int8
        FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = d.refobjid
        WHERE d.classid = 'pg_catalog.pg_trigger'::regclass AND d.objid = t.oid
          AND d.refclassid = 'pg_catalog.pg_class'::regclass
        LIMIT 1
    ) AS sequence_oid,
    (
        SELECT d.refobjsubid::int
        FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_trigger'::regclass AND d.objid = t.oid
          AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = t.tgrelid
          AND d.refobjsubid > 0
        LIMIT 1
    ) AS attnum,
    t.tgenabled <> 'D' AS enabled,
    coalesce(pg_catalog.has_table_privilege(p.proowner, t.tgrelid, 'TRIGGER'), false)
        AS function_owner_trusted,
    ARRAY(
        SELECT pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
        FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_trigger'::regclass AND d.objid = t.oid
          AND d.refclassid <> 'pg_catalog.pg_class'::regclass
          AND NOT (d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = t.tgfoid)
        ORDER BY 1
    ) AS condition_calls
FROM pg_catalog.pg_trigger AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc AS p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace AS pn ON pn.oid = p.pronamespace
WHERE t.tgname ~ '^seqdoctor_guard_(insert|update)_[0-9]+$'
  AND t.tgparentid = 0
ORDER BY n.nspname, c.relname, t.tgname
