-- The guard's fast path, called by the WHEN condition of every guard trigger
-- with the value written. Minimum server version: 13; 18 and later use
-- fast_path_post_180000.sql.
--
-- Per row it checks the role may read the sequence and compares the value
-- with the sequence's last_value (pg_sequence_last_value() reads one buffer):
-- a value at or behind it, every generated one among them, ends here. The
-- rest goes to enforce() (enforce.sql), which decides exactly. It returns
-- false or raises, so the trigger's function never runs and no event is
-- queued.
--
-- PL/pgSQL rather than an inlined SQL function: PostgreSQL prepares a
-- trigger's WHEN condition for every statement, and inlining a SQL function
-- parses its body each time, which costs a one-row INSERT more than the
-- checks themselves (docs/guard.md has the measurements). A PL/pgSQL
-- function is compiled once per session.
--
-- pg_sequence_last_value() is NULL until the sequence is first called, and
-- before PostgreSQL 18 raises for a role without SELECT or USAGE on it, so the
-- privilege is checked first. Every function is qualified: the body runs with
-- the search_path of whoever writes the row.
CREATE OR REPLACE FUNCTION {schema}.guard_ascending(
    value anyelement, seq regclass, tab regclass, attnum integer, mode text
) RETURNS boolean
LANGUAGE plpgsql
AS $seqdoctor$
BEGIN
    IF value IS NULL THEN
        RETURN false;
    END IF;
    IF pg_catalog.has_sequence_privilege(seq, 'SELECT,USAGE')
       AND value <= pg_catalog.pg_sequence_last_value(seq) THEN
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
    IF value IS NULL THEN
        RETURN false;
    END IF;
    IF pg_catalog.has_sequence_privilege(seq, 'SELECT,USAGE')
       AND value >= pg_catalog.pg_sequence_last_value(seq) THEN
        RETURN false;
    END IF;
    RETURN {schema}.enforce(value::numeric, seq, tab, attnum, mode);
END
$seqdoctor$
