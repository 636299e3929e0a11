-- The guard's fast path, called by the WHEN condition of every guard trigger
-- with the value written. Minimum server version: 18; older servers use
-- fast_path.sql, which explains the design.
--
-- As fast_path.sql, without its privilege check: from PostgreSQL 18 on,
-- pg_sequence_last_value() answers NULL instead of raising for a role that
-- may not read the sequence, as it does for a sequence never called, and a
-- NULL comparison sends the row to enforce(), which tells the two apart.
-- That saves a catalog cache look-up per row.
CREATE OR REPLACE FUNCTION {schema}.guard_ascending(
    value anyelement, seq regclass, tab regclass, attnum integer, mode text
) RETURNS boolean
LANGUAGE plpgsql
AS $seqdoctor$
BEGIN
    IF value IS NULL OR value <= pg_catalog.pg_sequence_last_value(seq) THEN
        RETURN false;
    END IF;
    RETURN {schema}.enforce(value::numeric, seq, tab, attnum, mode);
END
$seqdoctor$;

CREATE OR REPLACE FUNCTION {schema}.guard_descending(
    value anyelement, seq regclass, tab regclass, attnum integer, mode text
) RETURNS boolean
LANGUAGE plpgsql
AS $seqdoctor$
BEGIN
    IF value IS NULL OR value >= pg_catalog.pg_sequence_last_value(seq) THEN
        RETURN false;
    END IF;
    RETURN {schema}.enforce(value::numeric, seq, tab, attnum, mode);
END
$seqdoctor$
