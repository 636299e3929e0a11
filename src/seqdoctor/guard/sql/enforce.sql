-- The guard's slow path: is this value really ahead of the sequence, and if so
-- raise, warn or heal. Minimum server version: 13.
--
-- Called by the WHEN condition of a guard trigger (fast_path.sql) only for a
-- value that may be ahead: the fast path compares with last_value alone, and
-- sends here what it cannot clear (a value past last_value, a sequence never
-- called, a role that may not read it). This function decides exactly, with
-- the sequence's definition from pg_sequence:
--   * the next value nextval() returns (last_value + increment once called);
--   * a value is ahead when nextval() will reach it: from the next value to
--     the sequence's limit, in its direction, on its step. Values past MAXVALUE
--     (MINVALUE descending), or off the step of an increment of 10, never
--     collide, as the audit's SEQ001 judges them.
-- It returns false (so the trigger function never runs) or raises.
--
-- SECURITY INVOKER, deliberately: it reads and moves the sequence with the
-- privileges of the role writing the row, so the guard lends no one a
-- privilege, and a role that may not read the sequence gets SQLSTATE 42501
-- with the GRANT to run (a WARNING in warn mode).
-- {schema} is the guard's schema, composed in by seqdoctor (psycopg.sql).
CREATE OR REPLACE FUNCTION {schema}.enforce(
    value numeric, seq regclass, tab regclass, attnum integer, mode text
) RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $seqdoctor$
DECLARE
    warned_key text;
    step bigint;
    low bigint;
    high bigint;
    cycles boolean;
    first bigint;
    last bigint;
    following numeric;
    column_name text;  -- qualified, for messages
    attribute text;  -- raw, for the error's COLUMN field
    sequence_name text;
    table_schema text;
    table_name text;
    role_name text := pg_catalog.quote_ident(current_user::text);
    problem text;
BEGIN
    IF mode = 'warn' THEN
        -- One warning per statement and sequence: a bulk load ahead of the
        -- sequence would otherwise send one per row.
        warned_key := pg_catalog.statement_timestamp()::text || '/' || seq::oid::text;
        IF pg_catalog.current_setting('seqdoctor.warned', true) = warned_key THEN
            RETURN false;
        END IF;
    ELSIF mode = 'heal' THEN
        -- Healers of one sequence take turns, and read the position after the
        -- lock: one heal never moves the sequence back past another. The key
        -- shows in pg_locks as classid 1935933441 ('sd'), objid = the sequence.
        PERFORM pg_catalog.pg_advisory_xact_lock((1935933441::int8 << 32) | seq::oid::int8);
    END IF;

    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO sequence_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = seq;
    SELECT n.nspname, c.relname, a.attname,
           pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname)
    INTO table_schema, table_name, attribute, column_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = enforce.attnum
    WHERE c.oid = tab;

    IF NOT pg_catalog.has_sequence_privilege(seq, 'SELECT,USAGE') THEN
        problem := pg_catalog.format(
            'seqdoctor guard cannot check %s = %s: role %s may not read sequence %s',
            column_name, value, role_name, sequence_name);
        IF mode = 'warn' THEN
            RAISE WARNING USING ERRCODE = '42501', MESSAGE = problem,
                HINT = pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %s;', sequence_name, role_name);
            PERFORM pg_catalog.set_config('seqdoctor.warned', warned_key, true);
            RETURN false;
        END IF;
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = problem,
            HINT = pg_catalog.format(
                'GRANT SELECT ON SEQUENCE %s TO %s; or take the guard off the table: '
                'seqdoctor guard remove --table %s', sequence_name, role_name,
                pg_catalog.format('%I.%I', table_schema, table_name)),
            SCHEMA = table_schema, TABLE = table_name;
    END IF;

    SELECT s.seqincrement, s.seqmin, s.seqmax, s.seqcycle, s.seqstart
    INTO step, low, high, cycles, first
    FROM pg_catalog.pg_sequence AS s
    WHERE s.seqrelid = seq;
    -- NULL until the sequence is first called: then last_value is the next value.
    last := pg_catalog.pg_sequence_last_value(seq);
    IF last IS NOT NULL THEN
        following := last::numeric + step;
    ELSIF pg_catalog.has_sequence_privilege(seq, 'SELECT') THEN
        EXECUTE pg_catalog.format('SELECT last_value FROM %s', seq) INTO following;
    ELSE
        -- USAGE alone does not let a role read an uncalled sequence's
        -- last_value; its START is right unless setval(..., false) moved it.
        following := first;
    END IF;
    IF following NOT BETWEEN low AND high THEN
        IF NOT cycles THEN
            RETURN false;  -- nextval() fails before it could hand the value out
        END IF;
        following := CASE WHEN step > 0 THEN low ELSE high END;
    END IF;
    IF (value - following) * pg_catalog.sign(step) < 0
       OR value NOT BETWEEN low AND high
       OR (value - following) % step <> 0 THEN
        RETURN false;
    END IF;

    IF mode = 'heal' THEN
        IF NOT pg_catalog.has_sequence_privilege(seq, 'UPDATE') THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = pg_catalog.format(
                    'seqdoctor guard cannot move sequence %s past %s = %s: role %s may not update it',
                    sequence_name, column_name, value, role_name),
                HINT = pg_catalog.format('GRANT UPDATE ON SEQUENCE %s TO %s;', sequence_name, role_name),
                SCHEMA = table_schema, TABLE = table_name;
        END IF;
        PERFORM pg_catalog.setval(seq, value::int8, true);
        RETURN false;
    END IF;

    problem := pg_catalog.format(
        '%s = %s is ahead of its sequence %s (next value %s): nextval() would hand out %s again',
        column_name, value, sequence_name, following, value);
    IF mode = 'warn' THEN
        RAISE WARNING USING ERRCODE = 'SD001', MESSAGE = problem,
            DETAIL = 'The row went in (seqdoctor guard, warn mode). Further rows of this '
                'statement ahead of the sequence are not reported.',
            HINT = pg_catalog.format(
                'Move the sequence past it: SELECT setval(%L, %s);', sequence_name, value);
        PERFORM pg_catalog.set_config('seqdoctor.warned', warned_key, true);
        RETURN false;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'SD001', MESSAGE = problem,
        DETAIL = pg_catalog.format(
            'The value was written explicitly, and a sequence does not move when values are '
            'supplied. seqdoctor guard (raise mode) stops such writes to %s.', column_name),
        HINT = pg_catalog.format(
            'Leave the column out and let the sequence choose the value, or move the sequence '
            'past it first: SELECT setval(%L, %s);', sequence_name, value),
        SCHEMA = table_schema, TABLE = table_name, COLUMN = attribute;
END
$seqdoctor$
