-- The function of every guard trigger: its slow path. Minimum server version: 13.
--
-- A guard trigger is AFTER INSERT (or UPDATE) FOR EACH ROW, and its WHEN
-- condition does the per-row work, with builtins only (see guard/plan.py):
--     (NEW.id > pg_catalog.pg_sequence_last_value('seq'::regclass)) IS NOT FALSE
-- That is false for every value at or behind the sequence's last_value (every
-- generated one among them), and then nothing else happens: no function call,
-- no event queued. It is true for a value past last_value, or when last_value
-- is NULL (the sequence was never called, or, from PostgreSQL 18, the role may
-- not read it): then PostgreSQL queues an event, and this function decides
-- exactly, at the end of the statement, with the sequence's definition:
--   * the next value nextval() returns (last_value + increment once called);
--   * a value is ahead when nextval() will reach it: from the next value to
--     the sequence's limit, in its direction, on its step. Values past MAXVALUE
--     (MINVALUE descending), or off the step of an increment of 10, never
--     collide, as the audit's SEQ001 judges them.
-- Then, by mode (the trigger's argument): raise fails the statement with
-- SQLSTATE SD001; warn sends a WARNING (once per statement); heal moves the
-- sequence past the value, forward only, with an advisory lock on the sequence
-- so that concurrent heals take turns and re-read the position.
--
-- Which column and which sequence: those the trigger's WHEN condition names,
-- which PostgreSQL records as the trigger's dependencies in pg_depend (for
-- the clones it keeps on partitions, as the dependencies of the partitioned
-- table's trigger they come from). They follow renames and pg_dump, unlike
-- names or oids written into the trigger's arguments. They are read once per
-- transaction, with the sequence's definition, and kept in a
-- transaction-local setting (seqdoctor.t<table oid>_<trigger name>).
--
-- SECURITY INVOKER, deliberately: it reads and moves the sequence with the
-- privileges of the role writing the row, so the guard lends no one a
-- privilege; a role that may not read the sequence, or (to heal) move it,
-- gets SQLSTATE 42501 and the GRANT to run (a WARNING in warn mode).
-- Every function is qualified: the body runs with the writer's search_path.
-- {schema} is the guard's schema, composed in by seqdoctor (psycopg.sql).
CREATE OR REPLACE FUNCTION {schema}.guard() RETURNS trigger
LANGUAGE plpgsql
AS $seqdoctor$
DECLARE
    mode text := TG_ARGV[0];
    warned_key text;
    root oid;  -- the table the guard was installed on: TG_RELID, or a partitioned table
    readable boolean;
    cache_key text;
    cached text;
    facts text[];
    seq regclass;
    attribute name;
    value numeric;
    step bigint;
    low bigint;
    high bigint;
    cycles boolean;
    first bigint;
    last bigint;
    following numeric;
    table_schema name;
    table_name name;
    column_name text;  -- qualified, for messages
    sequence_name text;
    role_name text := pg_catalog.quote_ident(current_user::text);
    problem text;
BEGIN
    IF mode = 'warn' THEN
        -- One warning per statement and trigger: a bulk load ahead of the
        -- sequence would otherwise send one per row.
        warned_key := pg_catalog.concat_ws('/', pg_catalog.statement_timestamp(), TG_RELID, TG_NAME);
        IF pg_catalog.current_setting('seqdoctor.warned', true) = warned_key THEN
            RETURN NULL;
        END IF;
    END IF;

    -- Read once per transaction and kept in a transaction-local setting: a
    -- bulk load ahead of the sequence sends every row here.
    cache_key := pg_catalog.format('seqdoctor.t%s_%s', TG_RELID, TG_NAME);
    cached := pg_catalog.current_setting(cache_key, true);
    IF coalesce(cached, '') = '' THEN
        WITH RECURSIVE chain AS (
            SELECT t.oid, t.tgparentid, t.tgrelid
            FROM pg_catalog.pg_trigger AS t
            WHERE t.tgrelid = TG_RELID AND t.tgname = TG_NAME
            UNION ALL
            SELECT t.oid, t.tgparentid, t.tgrelid
            FROM pg_catalog.pg_trigger AS t
            JOIN chain ON t.oid = chain.tgparentid
        )
        SELECT ARRAY[chain.tgrelid::text, a.attname::text, s.seqrelid::text, s.seqincrement::text,
                     s.seqmin::text, s.seqmax::text, s.seqcycle::text, s.seqstart::text]::text
        INTO cached
        FROM chain
        JOIN pg_catalog.pg_depend AS dc
          ON dc.classid = 'pg_catalog.pg_trigger'::regclass AND dc.objid = chain.oid
         AND dc.refclassid = 'pg_catalog.pg_class'::regclass AND dc.refobjid = chain.tgrelid
         AND dc.refobjsubid > 0
        -- A partition's column has the name of its partitioned table's.
        JOIN pg_catalog.pg_attribute AS a
          ON a.attrelid = chain.tgrelid AND a.attnum = dc.refobjsubid
        JOIN pg_catalog.pg_depend AS ds
          ON ds.classid = 'pg_catalog.pg_trigger'::regclass AND ds.objid = chain.oid
         AND ds.refclassid = 'pg_catalog.pg_class'::regclass
        JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = ds.refobjid
        WHERE chain.tgparentid = 0;
        IF cached IS NULL THEN
            RETURN NULL;  -- not a trigger the guard made: nothing to check against
        END IF;
        PERFORM pg_catalog.set_config(cache_key, cached, true);
    END IF;
    facts := cached::text[];
    root := facts[1]::oid;
    attribute := facts[2];
    seq := facts[3]::oid;
    step := facts[4]::int8;
    low := facts[5]::int8;
    high := facts[6]::int8;
    cycles := facts[7]::boolean;
    first := facts[8]::int8;
    -- to_jsonb() rather than EXECUTE: no statement to parse and plan for each row.
    value := (pg_catalog.to_jsonb(NEW) ->> attribute)::numeric;
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF mode = 'heal' THEN
        -- Heals of one sequence take turns, and read the position after the
        -- lock: one heal never moves the sequence back past another. The key
        -- shows in pg_locks as classid 1935933441 ('sd'), objid = the sequence.
        PERFORM pg_catalog.pg_advisory_xact_lock((1935933441::int8 << 32) | seq::oid::int8);
    END IF;

    readable := pg_catalog.has_sequence_privilege(seq, 'SELECT,USAGE');
    IF readable THEN
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
                RETURN NULL;  -- nextval() fails before it could hand the value out
            END IF;
            following := CASE WHEN step > 0 THEN low ELSE high END;
        END IF;
        IF (value - following) * pg_catalog.sign(step) < 0
           OR value NOT BETWEEN low AND high
           OR (value - following) % step <> 0 THEN
            RETURN NULL;
        END IF;
        IF mode = 'heal' AND pg_catalog.has_sequence_privilege(seq, 'UPDATE') THEN
            PERFORM pg_catalog.setval(seq, value::int8, true);
            RETURN NULL;
        END IF;
    END IF;

    -- Something to say. Named through the partitioned table, as the audit names them.
    SELECT n.nspname, c.relname, pg_catalog.format('%I.%I.%I', n.nspname, c.relname, attribute)
    INTO table_schema, table_name, column_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = root;
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO sequence_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = seq;

    IF NOT readable THEN
        problem := pg_catalog.format(
            'seqdoctor guard cannot check %s = %s: role %s may not read sequence %s',
            column_name, value, role_name, sequence_name);
        IF mode = 'warn' THEN
            RAISE WARNING USING ERRCODE = '42501', MESSAGE = problem,
                HINT = pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %s;', sequence_name, role_name);
            PERFORM pg_catalog.set_config('seqdoctor.warned', warned_key, true);
            RETURN NULL;
        END IF;
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = problem,
            HINT = pg_catalog.format(
                'GRANT SELECT ON SEQUENCE %s TO %s; or take the guard off the table: '
                'seqdoctor guard remove --table %s', sequence_name, role_name,
                pg_catalog.format('%I.%I', table_schema, table_name)),
            SCHEMA = table_schema, TABLE = table_name;
    END IF;
    IF mode = 'heal' THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format(
                'seqdoctor guard cannot move sequence %s past %s = %s: role %s may not update it',
                sequence_name, column_name, value, role_name),
            HINT = pg_catalog.format('GRANT UPDATE ON SEQUENCE %s TO %s;', sequence_name, role_name),
            SCHEMA = table_schema, TABLE = table_name;
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
        RETURN NULL;
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
