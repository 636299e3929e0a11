-- The function of every guard trigger: its slow path. Minimum server version: 13.
--
-- A guard trigger is AFTER INSERT (or UPDATE) FOR EACH ROW, and its WHEN
-- condition does the per-row work, with builtins only (see guard/plan.py):
--     (NEW.id OPERATOR(pg_catalog.>)
--      pg_catalog.pg_sequence_last_value('seq'::pg_catalog.regclass)) IS NOT FALSE
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
-- SQLSTATE SD001; warn sends a WARNING for the row; heal steps the sequence
-- with nextval() until it has handed the value out (see below).
--
-- Which column and which sequence: those the trigger's WHEN condition names,
-- which PostgreSQL records as the trigger's dependencies in pg_depend (for
-- the clones it keeps on partitions, as the dependencies of the partitioned
-- table's trigger they come from). They follow renames and pg_dump, unlike
-- names or oids written into the trigger's arguments. They are read from the
-- catalog on every call, never kept in a setting: any session may set any
-- custom setting, and a forged one would let values through.
--
-- Heal calls nextval(), not setval(): nextval() is the only way a writer has
-- to move a sequence that is atomic with respect to other sessions' nextval()
-- (setval() after a read overwrites what they handed out in between, and
-- moves the sequence back). Each value stepped over is handed out to this
-- function and burnt, so no value is handed out twice, the sequence only moves
-- forward, and no lock is held beyond nextval()'s own. Stepping costs under a
-- microsecond per value, so heal refuses (SD001) a value more than
-- 1,000,000 steps ahead rather than stall the writer, with the setval() to
-- run instead while nothing else calls nextval().
--
-- Safe to run as any writer, superusers included. SECURITY INVOKER: it reads
-- and moves the sequence with the privileges of the role writing the row, so
-- the guard lends no one a privilege; a role that may not read the sequence,
-- or (to heal) move it, gets SQLSTATE 42501 and the GRANT to run (a WARNING in
-- warn mode). search_path is pinned, and every operator, function and type is
-- written qualified besides: an object another role created in a schema on
-- the writer's search_path (public, before PostgreSQL 15) never runs here.
-- {schema} is the guard's schema, composed in by seqdoctor (psycopg.sql).
CREATE OR REPLACE FUNCTION {schema}.guard() RETURNS trigger
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $seqdoctor$
DECLARE
    mode pg_catalog.text := TG_ARGV[0];
    root pg_catalog.oid;  -- the table the guard was installed on: TG_RELID, or a partitioned table
    readable pg_catalog.bool;
    seq pg_catalog.regclass;
    attribute pg_catalog.text;
    value pg_catalog.numeric;
    step pg_catalog.numeric;
    low pg_catalog.numeric;
    high pg_catalog.numeric;
    cycles pg_catalog.bool;
    cache pg_catalog.int8;
    first pg_catalog.numeric;
    last pg_catalog.numeric;
    following pg_catalog.numeric;
    steps pg_catalog.numeric;  -- nextval() calls until it hands the value out
    ascending pg_catalog.bool;
    target pg_catalog.int8;  -- the value, once known to be one nextval() returns
    reached pg_catalog.int8;  -- the value nextval() last handed to heal
    previous pg_catalog.int8;
    table_schema pg_catalog.name;
    table_name pg_catalog.name;
    column_name pg_catalog.text;  -- qualified, for messages
    sequence_name pg_catalog.text;
    role_name pg_catalog.text := pg_catalog.quote_ident(current_user::pg_catalog.text);
    problem pg_catalog.text;
BEGIN
    WITH RECURSIVE chain AS (
        SELECT t.oid, t.tgparentid, t.tgrelid
        FROM pg_catalog.pg_trigger AS t
        WHERE t.tgrelid OPERATOR(pg_catalog.=) TG_RELID
          AND t.tgname OPERATOR(pg_catalog.=) TG_NAME
        UNION ALL
        SELECT t.oid, t.tgparentid, t.tgrelid
        FROM pg_catalog.pg_trigger AS t
        JOIN chain ON t.oid OPERATOR(pg_catalog.=) chain.tgparentid
    )
    SELECT chain.tgrelid, a.attname, s.seqrelid, s.seqincrement, s.seqmin, s.seqmax,
           s.seqcycle, s.seqstart, s.seqcache
    INTO root, attribute, seq, step, low, high, cycles, first, cache
    FROM chain
    JOIN pg_catalog.pg_depend AS dc
      ON dc.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
     AND dc.objid OPERATOR(pg_catalog.=) chain.oid
     AND dc.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
     AND dc.refobjid OPERATOR(pg_catalog.=) chain.tgrelid
     AND dc.refobjsubid OPERATOR(pg_catalog.>) 0
    -- A partition's column has the name of its partitioned table's.
    JOIN pg_catalog.pg_attribute AS a
      ON a.attrelid OPERATOR(pg_catalog.=) chain.tgrelid
     AND a.attnum OPERATOR(pg_catalog.=) dc.refobjsubid
    JOIN pg_catalog.pg_depend AS ds
      ON ds.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
     AND ds.objid OPERATOR(pg_catalog.=) chain.oid
     AND ds.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    JOIN pg_catalog.pg_sequence AS s ON s.seqrelid OPERATOR(pg_catalog.=) ds.refobjid
    WHERE chain.tgparentid OPERATOR(pg_catalog.=) 0;
    IF seq IS NULL THEN
        RETURN NULL;  -- not a trigger the guard made: nothing to check against
    END IF;
    -- to_jsonb() rather than EXECUTE: no statement to parse and plan for each row.
    value := (pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.->>) attribute)::pg_catalog.numeric;
    IF value IS NULL THEN
        RETURN NULL;
    END IF;

    readable := pg_catalog.has_sequence_privilege(seq, 'SELECT,USAGE');
    IF readable THEN
        -- NULL until the sequence is first called: then last_value is the next value.
        last := pg_catalog.pg_sequence_last_value(seq);
        IF last IS NOT NULL THEN
            following := last OPERATOR(pg_catalog.+) step;
        ELSIF pg_catalog.has_sequence_privilege(seq, 'SELECT') THEN
            -- regclass prints the sequence schema-qualified unless it is in
            -- pg_catalog or pg_temp, the pinned search_path: where it finds it.
            EXECUTE pg_catalog.format('SELECT last_value FROM %s', seq) INTO following;
        ELSE
            -- USAGE alone does not let a role read an uncalled sequence's
            -- last_value; its START is right unless setval(..., false) moved it.
            following := first;
        END IF;
        IF following OPERATOR(pg_catalog.<) low OR following OPERATOR(pg_catalog.>) high THEN
            IF NOT cycles THEN
                RETURN NULL;  -- nextval() fails before it could hand the value out
            END IF;
            following := CASE WHEN step OPERATOR(pg_catalog.>) 0 THEN low ELSE high END;
        END IF;
        IF (value OPERATOR(pg_catalog.-) following) OPERATOR(pg_catalog.*) pg_catalog.sign(step)
               OPERATOR(pg_catalog.<) 0
           OR value OPERATOR(pg_catalog.<) low OR value OPERATOR(pg_catalog.>) high
           OR (value OPERATOR(pg_catalog.-) following) OPERATOR(pg_catalog.%) step
               OPERATOR(pg_catalog.<>) 0 THEN
            RETURN NULL;
        END IF;
        steps := pg_catalog.div(value OPERATOR(pg_catalog.-) following, step)
            OPERATOR(pg_catalog.+) 1;
        IF mode OPERATOR(pg_catalog.=) 'heal'
           AND steps OPERATOR(pg_catalog.<=) 1000000
           AND pg_catalog.has_sequence_privilege(seq, 'USAGE,UPDATE') THEN
            -- One nextval() at a time: a PL/pgSQL loop steps faster than a query
            -- (about 0.25 to 1 microsecond a value), and stops as soon as other
            -- sessions' calls have brought the sequence to the value.
            target := value::pg_catalog.int8;  -- between MINVALUE and MAXVALUE: fits
            ascending := step OPERATOR(pg_catalog.>) 0;
            -- With CACHE, this session's nextval() first hands out what it had
            -- cached, behind the position read above: up to cache calls more
            -- (a cache of over a million values is not one to step through).
            FOR i IN 1..(steps OPERATOR(pg_catalog.+) LEAST(cache, 1000000))::pg_catalog.int4 LOOP
                reached := pg_catalog.nextval(seq);
                -- Handed out: by this call, or before it by another session's.
                EXIT WHEN CASE WHEN ascending THEN reached OPERATOR(pg_catalog.>=) target
                               ELSE reached OPERATOR(pg_catalog.<=) target END;
                -- Past its limit and round again (CYCLE): through the value on the way.
                EXIT WHEN cycles
                    AND CASE WHEN ascending THEN reached OPERATOR(pg_catalog.<) previous
                             ELSE reached OPERATOR(pg_catalog.>) previous END;
                previous := reached;
            END LOOP;
            RETURN NULL;
        END IF;
    END IF;

    -- Something to say. Named through the partitioned table, as the audit names them.
    SELECT n.nspname, c.relname, pg_catalog.format('%I.%I.%I', n.nspname, c.relname, attribute)
    INTO table_schema, table_name, column_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
    WHERE c.oid OPERATOR(pg_catalog.=) root;
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO sequence_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
    WHERE c.oid OPERATOR(pg_catalog.=) seq;

    IF NOT readable THEN
        problem := pg_catalog.format(
            'seqdoctor guard cannot check %s = %s: role %s may not read sequence %s',
            column_name, value, role_name, sequence_name);
        IF mode OPERATOR(pg_catalog.=) 'warn' THEN
            RAISE WARNING USING ERRCODE = '42501', MESSAGE = problem,
                HINT = pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %s;', sequence_name, role_name);
            RETURN NULL;
        END IF;
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = problem,
            HINT = pg_catalog.format(
                'GRANT SELECT ON SEQUENCE %s TO %s; or take the guard off the table: '
                'seqdoctor guard remove --table %s', sequence_name, role_name,
                pg_catalog.format('%I.%I', table_schema, table_name)),
            SCHEMA = table_schema, TABLE = table_name;
    END IF;
    IF mode OPERATOR(pg_catalog.=) 'heal' AND steps OPERATOR(pg_catalog.>) 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'SD001',
            MESSAGE = pg_catalog.format(
                '%s = %s is too far ahead of its sequence %s (next value %s) to heal safely: '
                'nextval() would have to step %s values',
                column_name, value, sequence_name, following, steps),
            DETAIL = 'seqdoctor guard (heal mode) moves a sequence with nextval(), which is '
                'safe while other sessions call nextval() too, up to 1,000,000 values at a time.',
            HINT = pg_catalog.format(
                'Move the sequence past it while nothing else calls nextval() on it, then write '
                'the row again: SELECT setval(%L, %s);', sequence_name, value),
            SCHEMA = table_schema, TABLE = table_name, COLUMN = attribute;
    END IF;
    IF mode OPERATOR(pg_catalog.=) 'heal' THEN
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
    IF mode OPERATOR(pg_catalog.=) 'warn' THEN
        -- One per row ahead: remembering which statement was already warned
        -- about would take a setting, which the writer could forge to stay silent.
        RAISE WARNING USING ERRCODE = 'SD001', MESSAGE = problem,
            DETAIL = 'The row went in (seqdoctor guard, warn mode).',
            HINT = pg_catalog.format(
                'Move the sequence past it: SELECT setval(%L, %s);', sequence_name, value);
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
