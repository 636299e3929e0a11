-- The function every guard trigger names. Minimum server version: 13.
--
-- A trigger must name a function, but the guard does its work in the
-- trigger's WHEN condition (fast_path.sql), which returns false or raises:
-- this function never runs. Its arguments, which PostgreSQL stores in
-- pg_trigger.tgargs, record the mode, the sequence's oid and the column's
-- attnum, so that `seqdoctor guard status` and the audit read what a trigger
-- guards without opening the table (pg_get_triggerdef() would lock it).
CREATE OR REPLACE FUNCTION {schema}.guard() RETURNS trigger
LANGUAGE plpgsql
AS $seqdoctor$
BEGIN
    RETURN NULL;
END
$seqdoctor$
