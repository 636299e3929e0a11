"""Phase 6: the swap, and phase 7: the cleanup (docs/online-widening.md, "Phase 6").

The whole key family swaps in **one** transaction, not one per table. The
parent's primary key moves to the new column, and the old key's index cannot
be dropped while the children's old foreign keys depend on it; dropping a
foreign key takes ACCESS EXCLUSIVE on both its tables. So the parent's swap
locks every child anyway: one transaction per table would hold the same locks
in several rounds, and leave int and bigint columns referencing each other in
between. One transaction locks every table, the key's table first, in two
steps: SHARE ROW EXCLUSIVE first, which stops writers but not readers nor the
foreign key checks of writers already under way (a writer holding a child and
checking its key against the parent would otherwise wait for the swap while
the swap waits for it, on every attempt while it loops), then ACCESS
EXCLUSIVE once no writer can hold any of them. The first wait is bounded by
the lock timeout, the others are brief: a writer waits at most about the lock
timeout, plus the milliseconds of catalog work the swap is (no statement in it
scans a table but the last check, an index range scan of the rows written
since the verification).

Inside it, per table: the last check, the sync trigger dropped, views and
rules over the columns dropped, the old foreign keys, constraints and indexes
dropped, defaults and identities moved, the columns renamed (the old one to
``seqdoctor_old_<n>``, the shadow to the old name), the new indexes attached
as the constraints (``USING INDEX``) or renamed, the new foreign keys renamed,
CHECK constraints added again ``NOT VALID`` (validated after the commit),
sequences ``AS bigint`` and owned by the new column, grants, comments,
statistics targets and options carried over, the views and rules created
again, and a **reverse trigger** that keeps the old column equal to the new
one while it fits: ``NULL`` beyond the old type's range (the old column's NOT
NULL is dropped), so that no write can ever fail because of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from psycopg import sql

from seqdoctor.catalog.connection import PINNED_SEARCH_PATH
from seqdoctor.catalog.dependents import ColumnDependents
from seqdoctor.catalog.family import ColumnAttachment, FamilyColumn, FamilySequence, KeyFamily
from seqdoctor.catalog.model import TYPE_RANGES
from seqdoctor.guard.model import TRIGGER_PREFIX
from seqdoctor.repairs.model import Statement, dollar_quoted, name_literal
from seqdoctor.repairs.online import backfill, names, rebuild
from seqdoctor.repairs.online.model import TablePlan
from seqdoctor.repairs.online.shadow import (
    drop_statements,
    lock_timeout_statement,
    set_statement_timeout,
    still_as_planned,
    table_identifier,
)
from seqdoctor.repairs.widen import create_view, server_text, view_kind

NARROW = ("int2", "int4")
WIDE = "int8"
MIN_CHILD_WAIT = 0.01  # s: the shortest wait for one of the other tables' locks
# Where the last check starts when no verification mark is known: every row.
NO_MARK = sql.SQL("NULL")
# The psql script's verification leaves its mark here (a temporary table: the
# session's own, never in the user's schemas); seqdoctor's runner passes it.
MARKS = sql.SQL("pg_temp.seqdoctor_marks")


def back_function(table_oid: int) -> str:
    """The reverse trigger's function for a table, in that table's schema."""
    return f"seqdoctor_back_{table_oid}"


def _table(table: TablePlan) -> sql.Identifier:
    return table_identifier(table)


def _after_mark(table: TablePlan, mark: sql.Composable) -> sql.Composable:
    """Rows the verification did not walk: the batch key (or page) from *mark* on."""
    if table.batch_key is not None:
        key = sql.Identifier(table.batch_key)
        return sql.SQL("({mark} IS NULL OR {k} >= {mark})").format(k=key, mark=mark)
    return sql.SQL(
        "({mark} IS NULL OR ctid >= pg_catalog.format('(%s,0)', {mark})::pg_catalog.tid)"
    ).format(mark=mark)


def last_check(table: TablePlan, mark: sql.Composable) -> sql.Composed:
    """Copy what still differs among the rows written since the verification (under the lock).

    The sync trigger copied every one of them; this is the proof, read where
    it is cheap: an index range scan over the rows past the verified mark.
    """
    return sql.SQL("UPDATE {} SET {} WHERE {} AND ({})").format(
        _table(table),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(table.shadow(c)), sql.Identifier(c.column))
            for c in table.columns
        ),
        _after_mark(table, mark),
        sql.SQL(" OR ").join(
            sql.SQL("{} IS DISTINCT FROM {}").format(
                sql.Identifier(table.shadow(c)), sql.Identifier(c.column)
            )
            for c in table.columns
        ),
    )


def _constraint_options(definition: str) -> str:
    """The DEFERRABLE clauses of a primary key or unique constraint's definition."""
    upper = definition.upper()
    if "INITIALLY DEFERRED" in upper:
        return " DEFERRABLE INITIALLY DEFERRED"
    if "DEFERRABLE" in upper and "NOT DEFERRABLE" not in upper:
        return " DEFERRABLE"
    return ""


def _sequences(family: KeyFamily, tables: Sequence[TablePlan]) -> list[FamilySequence]:
    """How sequences feed the columns widened here: a sequence both owned by and the
    default of a column comes twice."""
    widened = {c.key for t in tables for c in t.columns}
    return [s for s in family.sequences if (s.table_oid, s.attnum) in widened]


def _identity_block(
    table: TablePlan, column: FamilyColumn, sequence: FamilySequence
) -> sql.Composed:
    """Drop the identity on the old column, add it on the new one: same name, options, next value.

    ``AS`` follows the column's type; MINVALUE and MAXVALUE move to the new
    type's bounds where they were the old type's, as ``ALTER SEQUENCE ... AS``
    does.
    """
    low, high = TYPE_RANGES[sequence.type_name]
    wide_low, wide_high = TYPE_RANGES[table.into]
    options = [
        sql.SQL("SEQUENCE NAME {}").format(sql.Identifier(sequence.schema, sequence.name)),
        sql.SQL("INCREMENT BY {}").format(sql.Literal(sequence.increment)),
        sql.SQL("MINVALUE {}").format(
            sql.Literal(wide_low if sequence.min_value == low else sequence.min_value)
        ),
        sql.SQL("MAXVALUE {}").format(
            sql.Literal(wide_high if sequence.max_value == high else sequence.max_value)
        ),
        sql.SQL("START WITH {}").format(sql.Literal(sequence.start_value)),
        sql.SQL("CACHE {}").format(sql.Literal(sequence.cache)),
        sql.SQL("CYCLE" if sequence.cycle else "NO CYCLE"),
    ]
    # The new sequence gets the old one's grants and comment: dropping the
    # identity drops its sequence, and a monitoring role's SELECT with it.
    body = sql.SQL(
        "\nDECLARE\n    state record;\n    acl pg_catalog.aclitem[];\n    note text;\n"
        "    g record;\nBEGIN\n"
        "    SELECT last_value, is_called INTO state FROM {seq};\n"
        "    SELECT c.relacl, pg_catalog.obj_description(c.oid, 'pg_class') INTO acl, note\n"
        "        FROM pg_catalog.pg_class AS c WHERE c.oid = {name}::pg_catalog.regclass;\n"
        "    ALTER TABLE {t} ALTER COLUMN {old} DROP IDENTITY;\n"
        "    ALTER TABLE {t} ALTER COLUMN {new} ADD GENERATED {how} AS IDENTITY ({options});\n"
        "    PERFORM pg_catalog.setval({name}::pg_catalog.regclass, state.last_value,"
        " state.is_called);\n"
        "    FOR g IN SELECT a.grantee, a.privilege_type, a.is_grantable\n"
        "        FROM pg_catalog.aclexplode(acl) AS a\n"
        "    LOOP\n"
        "        EXECUTE pg_catalog.format('GRANT %s ON SEQUENCE %s TO %s%s', g.privilege_type,\n"
        "            {name},\n"
        "            CASE WHEN g.grantee = 0 THEN 'PUBLIC'\n"
        "                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END,\n"
        "            CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);\n"
        "    END LOOP;\n"
        "    IF note IS NOT NULL THEN\n"
        "        EXECUTE pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', {name}, note);\n"
        "    END IF;\nEND\n"
    ).format(
        seq=sql.Identifier(sequence.schema, sequence.name),
        t=_table(table),
        old=sql.Identifier(table.parking(column)),
        new=sql.Identifier(column.column),
        how=sql.SQL("ALWAYS" if column.identity == "a" else "BY DEFAULT"),
        options=sql.SQL(" ").join(options),
        name=name_literal(sequence.schema, sequence.name),
    )
    return sql.SQL("DO {}").format(dollar_quoted(body.as_string()))


def copy_grants(table: TablePlan, source: str, target: str) -> sql.Composed:
    """Grant on column *target* what column *source* has granted (a DO block: aclexplode)."""
    body = sql.SQL(
        "\nDECLARE\n    g record;\nBEGIN\n"
        "    FOR g IN SELECT a.grantee, a.privilege_type, a.is_grantable\n"
        "        FROM pg_catalog.pg_attribute AS c, pg_catalog.aclexplode(c.attacl) AS a\n"
        "        WHERE c.attrelid = {t}::pg_catalog.regclass AND c.attname = {source}\n"
        "    LOOP\n"
        "        EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s%s', g.privilege_type,\n"
        "            {target}, {t},\n"
        "            CASE WHEN g.grantee = 0 THEN 'PUBLIC'\n"
        "                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END,\n"
        "            CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);\n"
        "    END LOOP;\nEND\n"
    ).format(
        t=name_literal(table.table.schema, table.table.table),
        source=sql.Literal(source),
        target=sql.Literal(target),
    )
    return sql.SQL("DO {}").format(dollar_quoted(body.as_string()))


def _back_body(table: TablePlan) -> str:
    """The reverse trigger's body: the old column gets the new value while it fits, else NULL."""
    lines = []
    for column in table.columns:
        low, high = TYPE_RANGES[column.type_name]
        lines.append(
            sql.SQL(
                "    NEW.{old} := CASE WHEN NEW.{new} OPERATOR(pg_catalog.>=) {low}"
                " AND NEW.{new} OPERATOR(pg_catalog.<=) {high} THEN NEW.{new} END;"
            )
            .format(
                old=sql.Identifier(table.parking(column)),
                new=sql.Identifier(column.column),
                low=sql.Literal(low),
                high=sql.Literal(high),
            )
            .as_string()
        )
    return "\nBEGIN\n" + "\n".join(lines) + "\n    RETURN NEW;\nEND\n"


def _back_differs(table: TablePlan) -> sql.Composable:
    return sql.SQL(" OR ").join(
        sql.SQL(
            "((NEW.{o} OPERATOR(pg_catalog.=) NEW.{n}) IS NOT TRUE"
            " AND (NEW.{o} IS NOT NULL OR NEW.{n} IS NOT NULL))"
        ).format(o=sql.Identifier(table.parking(c)), n=sql.Identifier(c.column))
        for c in table.columns
    )


def back_trigger(table: TablePlan) -> list[Statement]:
    """The reverse trigger: SECURITY INVOKER, pinned search_path, ENABLE ALWAYS, as phase 2's."""
    function = sql.Identifier(table.table.schema, back_function(table.table.table_oid))
    trigger = sql.Identifier(names.BACK_TRIGGER)
    return [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS pg_catalog.trigger\n"
            "LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp\n"
            "AS {}"
        ).format(function, dollar_quoted(_back_body(table))),
        sql.SQL(
            "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW\n"
            "WHEN ({}) EXECUTE FUNCTION {}()"
        ).format(trigger, _table(table), _back_differs(table), function),
        sql.SQL("ALTER TABLE {} ENABLE ALWAYS TRIGGER {}").format(_table(table), trigger),
    ]


def swap_statements(  # noqa: PLR0917
    family: KeyFamily,
    tables: Sequence[TablePlan],
    dependents: ColumnDependents,
    marks: Mapping[int, sql.Composable],
    lock_timeout: float,
    statement_timeout: float,
) -> tuple[Statement, ...]:
    """The swap of a whole family: one transaction's statements, in the order they run."""
    brief = lock_timeout_statement(max(MIN_CHILD_WAIT, lock_timeout / 10))
    statements: list[Statement] = [
        # First every table against writes only (SHARE ROW EXCLUSIVE: readers and
        # foreign key checks go on), the key's table first, its wait bounded as a
        # whole by the lock timeout (statement_timeout: lock_timeout alone bounds
        # each lock, not the sum). A writer holding a child and checking its key
        # against the parent is not blocked by it, so cannot close a cycle with it.
        lock_timeout_statement(lock_timeout),
        set_statement_timeout(lock_timeout),
        sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(_table(tables[0])),
    ]
    if len(tables) > 1:
        # The others waited for briefly: a writer holding one of them that goes
        # on to write the key's table (in that order, in one transaction) waits
        # for us while we wait for it; giving up at once and trying again frees it.
        statements += [
            brief,
            sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
                sql.SQL(", ").join(_table(t) for t in tables[1:])
            ),
        ]
    # Then ACCESS EXCLUSIVE, once no writer can hold any of them: a brief wait for
    # the reads (and foreign key checks) under way, so that a writer queued since
    # the first lock waits little more than the lock timeout in all.
    statements += [
        *([] if len(tables) > 1 else [brief]),
        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(_table(t) for t in tables)
        ),
    ]
    statements += [set_statement_timeout(statement_timeout), PINNED_SEARCH_PATH]
    statements += [still_as_planned(t) for t in tables]
    statements += [last_check(t, marks.get(t.table.table_oid, NO_MARK)) for t in tables]
    for table in tables:
        oid = table.table.table_oid
        statements += [
            sql.SQL("DROP TRIGGER {} ON {}").format(
                sql.Identifier(names.BACK_TRIGGER if table.mirror else names.SYNC_TRIGGER),
                _table(table),
            ),
            sql.SQL("DROP FUNCTION {}()").format(
                sql.Identifier(
                    table.table.schema,
                    back_function(oid) if table.mirror else names.sync_function(oid),
                )
            ),
        ]
    statements += [
        sql.SQL("DROP RULE {} ON {}").format(
            sql.Identifier(rule.name), sql.Identifier(rule.schema, rule.table)
        )
        for rule in dependents.rules
    ]
    statements += [
        sql.SQL("DROP {} {}").format(view_kind(view), sql.Identifier(view.schema, view.name))
        for view in reversed(dependents.views)
    ]
    recreated = _recreated(family, tables)
    statements += [server_text(item.undo or "") for item in recreated]
    triggers = _bound_triggers(family, tables)
    statements += [
        sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(t.name), _table(table))
        for table, t in triggers
    ]
    keys = rebuild.foreign_key_builds(tables, family.foreign_keys)
    statements += [
        sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(key.table, sql.Identifier(key.old.name))
        for key in keys
    ]
    sequences = _sequences(family, tables)
    for table in tables:
        statements += list(_swap_table(family, table, sequences))
    statements += [
        sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
            key.table, sql.Identifier(key.name), sql.Identifier(key.old.name)
        )
        for key in keys
    ]
    statements += [
        _comment(
            sql.SQL("CONSTRAINT {} ON {}").format(sql.Identifier(key.old.name), key.table),
            key.old.comment,
        )
        for key in keys
        if key.old.comment is not None
    ]
    for sequence in sequences:
        if sequence.how == "identity":
            continue
        if sequence.how == "owned":
            column = next(
                c
                for t in tables
                for c in t.columns
                if c.key == (sequence.table_oid, sequence.attnum)
            )
            statements.append(
                sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                    sql.Identifier(sequence.schema, sequence.name),
                    sql.Identifier(column.schema, column.table, column.column),
                )
            )
    statements += _alter_sequences(sequences, tables[0].into if tables else WIDE)
    for view in dependents.views:
        statements += create_view(view)
    statements += [server_text(rule.definition) for rule in dependents.rules]
    statements += [server_text(item.detail or "") for item in recreated]
    statements += [
        # The object DROP named, commented on: DROP POLICY p ON t, DROP STATISTICS s.n.
        _comment(server_text((item.undo or "").removeprefix("DROP ")), item.comment)
        for item in recreated
        if item.comment is not None
    ]
    for table, trigger in triggers:
        # The server's own text (names qualified): its UPDATE OF list and WHEN
        # condition name the column, which is the new one now.
        statements.append(server_text(trigger.detail or ""))
        renamed = _guard_rename(table, trigger)
        if renamed is not None:
            statements.append(renamed)
        if trigger.comment is not None:
            statements.append(
                _comment(
                    sql.SQL("TRIGGER {} ON {}").format(sql.Identifier(trigger.name), _table(table)),
                    trigger.comment,
                )
            )
        if trigger.enabled in TRIGGER_STATES:
            statements.append(
                sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
                    _table(table),
                    sql.SQL(TRIGGER_STATES[trigger.enabled]),
                    sql.Identifier(trigger.name),
                )
            )
    for table in tables:
        if table.mirror:
            # Undone: the bigint columns go (their indexes and keys with them).
            statements += [
                sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                    _table(table), sql.Identifier(table.parking(c))
                )
                for c in table.columns
            ]
        else:
            statements += back_trigger(table)
    return tuple(statements)


GUARD_NAME = re.compile(rf"{TRIGGER_PREFIX}(insert|update)_([1-9][0-9]*)")
# pg_trigger.tgenabled other than O (the default, which CREATE TRIGGER makes).
TRIGGER_STATES = {"D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


def _guard_rename(table: TablePlan, trigger: ColumnAttachment) -> sql.Composed | None:
    """The guard names its triggers after the column's number (seqdoctor guard status finds
    them so): a guard trigger of a swapped column takes the new column's number, read under
    the swap's lock."""
    match = GUARD_NAME.fullmatch(trigger.name)
    column = next((c for c in table.columns if match and c.attnum == int(match.group(2))), None)
    if match is None or column is None:
        return None
    body = sql.SQL(
        "\nDECLARE\n    n pg_catalog.int2;\nBEGIN\n"
        "    SELECT attnum INTO n FROM pg_catalog.pg_attribute\n"
        "    WHERE attrelid = {t}::pg_catalog.regclass AND attname = {column};\n"
        "    EXECUTE pg_catalog.format('ALTER TRIGGER %I ON %s RENAME TO %I', {name}, {t},\n"
        "        {prefix} OPERATOR(pg_catalog.||) n::pg_catalog.text);\nEND\n"
    ).format(
        t=name_literal(table.table.schema, table.table.table),
        column=sql.Literal(column.column),
        name=sql.Literal(trigger.name),
        prefix=sql.Literal(f"{TRIGGER_PREFIX}{match.group(1)}_"),
    )
    return sql.SQL("DO {}").format(dollar_quoted(body.as_string()))


def _recreated(family: KeyFamily, tables: Sequence[TablePlan]) -> list[ColumnAttachment]:
    """Policies and extended statistics on a swapped column, once each: bound to it by
    number, they are dropped and created again from their definitions after the renames."""
    swapped = {c.key for t in tables for c in t.columns}
    found: dict[int, ColumnAttachment] = {}
    for item in family.attachments:
        if (
            item.kind in {"policy", "statistics"}
            and (item.table_oid, item.attnum or 0) in swapped
            and item.detail
            and item.undo
        ):
            found.setdefault(item.oid, item)
    return list(found.values())


def _bound_triggers(
    family: KeyFamily, tables: Sequence[TablePlan]
) -> list[tuple[TablePlan, ColumnAttachment]]:
    """Triggers naming a swapped column (UPDATE OF, WHEN), the guard's among them: bound to it
    by number, they are dropped and created again from their text after the renames."""
    ours = (names.SYNC_TRIGGER, names.BACK_TRIGGER)
    found: dict[int, tuple[TablePlan, ColumnAttachment]] = {}
    for table in tables:
        for item in family.attachments:
            if (
                item.kind == "trigger"
                and item.table_oid == table.table.table_oid
                and item.column_bound
                and item.name not in ours
            ):
                found.setdefault(item.oid, (table, item))
    return list(found.values())


def _alter_sequences(sequences: Iterable[FamilySequence], into: str = WIDE) -> list[Statement]:
    """``AS bigint`` for narrow sequences (``AS`` the old type when undone; not identities:
    theirs are made again): MINVALUE and MAXVALUE follow where they were the type's bounds."""
    done: set[int] = set()
    out: list[Statement] = []
    for sequence in sequences:
        wanted = sequence.type_name in NARROW if into == WIDE else sequence.type_name == WIDE
        if sequence.how == "identity" or not wanted or sequence.oid in done:
            continue
        done.add(sequence.oid)
        out.append(
            sql.SQL("ALTER SEQUENCE {} AS {}").format(
                sql.Identifier(sequence.schema, sequence.name),
                sql.Identifier("pg_catalog", into),
            )
        )
    return out


def sequence_only(family: KeyFamily) -> list[Statement]:
    """A family already bigint whose sequence is not (a serial widened by hand): AS bigint."""
    statements = _alter_sequences(family.sequences)
    return [PINNED_SEARCH_PATH, *statements] if statements else []


MARKS_TABLE = sql.SQL(
    "CREATE TEMPORARY TABLE IF NOT EXISTS seqdoctor_marks"
    " (table_oid pg_catalog.oid PRIMARY KEY, mark pg_catalog.int8)"
)


def script_mark(table: TablePlan) -> sql.Composed:
    """The psql script's mark: what its verification of *table* left in the session's temp table."""
    return sql.SQL("(SELECT mark FROM {} WHERE table_oid = {})").format(
        MARKS, sql.Literal(table.table.table_oid)
    )


def save_mark(table: TablePlan) -> sql.Composed:
    """The psql script's verification keeps its upper bound for the swap's last check."""
    return sql.SQL(
        "INSERT INTO {marks} SELECT {oid}, bounds.high FROM ({bounds}) AS bounds (low, high)\n"
        "ON CONFLICT (table_oid) DO UPDATE SET mark = excluded.mark"
    ).format(
        marks=MARKS, oid=sql.Literal(table.table.table_oid), bounds=backfill.bounds_query(table)
    )


def _swap_table(
    family: KeyFamily, table: TablePlan, sequences: Sequence[FamilySequence]
) -> Iterator[Statement]:
    target = _table(table)
    oid = table.table.table_oid
    builds = rebuild.index_builds(table, family.attachments)
    checks = [a for a in family.attachments if a.table_oid == oid and _user_check(a)]
    checks = list({a.oid: a for a in checks}.values())
    constraints = {
        a.constraint_name: a
        for a in family.attachments
        if a.kind == "constraint" and a.table_oid == oid and a.constraint_type in ("p", "u")
    }
    # The old constraints and indexes go (the old keys' indexes with them).
    for build in builds:
        if build.old.constraint_name and build.old.constraint_type in ("p", "u"):
            yield sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                target, sql.Identifier(build.old.constraint_name)
            )
        else:
            yield sql.SQL("DROP INDEX {}").format(
                sql.Identifier(table.table.schema, build.old.name)
            )
    for check in checks:
        yield sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            target, sql.Identifier(check.name)
        )
    identities = {(s.table_oid, s.attnum): s for s in sequences if s.how == "identity"}
    for column in table.columns:
        yield from _move_column(table, column, identities.get(column.key))
    yield from _not_null_names(family, table)
    for build in builds:
        name = sql.Identifier(table.table.schema, build.name)
        constraint = constraints.get(build.old.constraint_name or "")
        if constraint is not None and build.old.constraint_name:
            yield sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}{}").format(
                target,
                sql.Identifier(build.old.constraint_name),
                sql.SQL("PRIMARY KEY" if constraint.constraint_type == "p" else "UNIQUE"),
                sql.Identifier(build.name),
                sql.SQL(_constraint_options(constraint.detail or "")),
            )
        else:
            yield sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                name, sql.Identifier(build.old.name)
            )
        if build.old.comment is not None:  # USING INDEX names the index as its constraint
            index = build.old.constraint_name if constraint is not None else build.old.name
            yield _comment(
                sql.SQL("INDEX {}").format(sql.Identifier(table.table.schema, index or "")),
                build.old.comment,
            )
        if constraint is not None and constraint.comment is not None:
            yield _comment(
                sql.SQL("CONSTRAINT {} ON {}").format(sql.Identifier(constraint.name), target),
                constraint.comment,
            )
        if build.old.replica_identity:
            yield sql.SQL("ALTER TABLE {} REPLICA IDENTITY USING INDEX {}").format(
                target, sql.Identifier(build.old.name)
            )
        if build.old.clustered:
            yield sql.SQL("ALTER TABLE {} CLUSTER ON {}").format(
                target, sql.Identifier(build.old.name)
            )
    for check in checks:
        yield sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}{}").format(
            target,
            sql.Identifier(check.name),
            server_text((check.detail or "").removesuffix(" NOT VALID")),
            sql.SQL(" NOT VALID"),
        )
        if check.comment is not None:
            yield _comment(
                sql.SQL("CONSTRAINT {} ON {}").format(sql.Identifier(check.name), target),
                check.comment,
            )


def _comment(target: sql.Composable, text: str | None) -> sql.Composed:
    """COMMENT ON *target* (``INDEX s.i``, ``CONSTRAINT c ON s.t``, ...): an object the swap
    dropped and made again, or renamed from one of its own, keeps its comment."""
    return sql.SQL("COMMENT ON {} IS {}").format(target, sql.Literal(text))


def _user_check(item: ColumnAttachment) -> bool:
    """A CHECK constraint of the user's (the mirror's own ``seqdoctor_fits_*`` are not)."""
    return (
        item.kind == "constraint"
        and item.constraint_type == "c"
        and not item.name.startswith(names.PREFIX)
    )


def _move_column(
    table: TablePlan, column: FamilyColumn, identity: FamilySequence | None
) -> Iterator[Statement]:
    """One column's part of the swap: renames, default or identity, NOT NULL, grants, comment."""
    target = _table(table)
    shadow = sql.Identifier(table.shadow(column))
    if column.not_null and not table.mirror:  # phase 2's DEFAULT 0
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(target, shadow)
    if column.default_expression is not None and not column.identity:
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(
            target, sql.Identifier(column.column)
        )
    yield sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
        target, sql.Identifier(column.column), sql.Identifier(table.parking(column))
    )
    yield sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
        target, shadow, sql.Identifier(column.column)
    )
    new = sql.Identifier(column.column)
    old = sql.Identifier(table.parking(column))
    if column.not_null and table.mirror:
        # No scan: the validated CHECK (fits) proves it. Before the identity, which needs it.
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL").format(target, new)
    if column.identity and identity is not None:
        yield _identity_block(table, column, identity)
    elif column.default_expression is not None:
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
            target, new, server_text(column.default_expression)
        )
    if column.not_null:
        # The reverse trigger writes NULL where a value no longer fits.
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL").format(target, old)
    if table.mirror:  # its work is done
        yield sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            target, sql.Identifier(fits_constraint(table, column))
        )
    if column.acl:
        yield copy_grants(table, table.parking(column), column.column)
    if column.comment is not None:
        yield sql.SQL("COMMENT ON COLUMN {} IS {}").format(
            sql.Identifier(table.table.schema, table.table.table, column.column),
            sql.Literal(column.comment),
        )
    if column.statistics_target is not None:
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET STATISTICS {}").format(
            target, new, sql.Literal(column.statistics_target)
        )
    if column.options:
        yield sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET ({})").format(
            target,
            new,
            sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v))
                for k, _, v in (o.partition("=") for o in column.options)
            ),
        )


def _not_null_names(family: KeyFamily, table: TablePlan) -> Iterator[Statement]:
    """PostgreSQL 18 names NOT NULL constraints: the new column's takes the old one's name.

    The old column's constraint went with DROP NOT NULL; the shadow's was
    named after the shadow when phase 2 added it.
    """
    oid = table.table.table_oid
    for item in family.attachments:
        if item.kind != "constraint" or item.table_oid != oid or item.constraint_type != "n":
            continue
        column = next((c for c in table.columns if c.attnum == item.attnum), None)
        if column is None:
            continue
        body = sql.SQL(
            "\nDECLARE\n    found pg_catalog.name;\nBEGIN\n"
            "    SELECT con.conname INTO found FROM pg_catalog.pg_constraint AS con\n"
            "    JOIN pg_catalog.pg_attribute AS a\n"
            "      ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]\n"
            "    WHERE con.conrelid = {t}::pg_catalog.regclass AND con.contype = 'n'\n"
            "      AND a.attname = {column};\n"
            "    IF found IS DISTINCT FROM {name} THEN\n"
            "        EXECUTE pg_catalog.format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I',"
            " {t}, found, {name});\n"
            "    END IF;\nEND\n"
        ).format(
            t=name_literal(table.table.schema, table.table.table),
            column=sql.Literal(column.column),
            name=sql.Literal(item.name),
        )
        yield sql.SQL("DO {}").format(dollar_quoted(body.as_string()))


def fits_constraint(table: TablePlan, column: FamilyColumn) -> str:
    """The CHECK that proves, before the swap is undone, that the old column holds every value."""
    return "seqdoctor_fits_" + table.shadow(column).rsplit("_", 1)[-1]


def fits_statements(table: TablePlan) -> tuple[Statement, ...]:
    """Before the mirror swap: a CHECK, NOT VALID, that the old column is set wherever the new
    one is. Validated, it proves no value is beyond the old type (the reverse trigger wrote
    NULL there), keeps any such value from being written until the swap is undone, and lets
    SET NOT NULL skip its scan."""
    return tuple(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({}) NOT VALID").format(
            _table(table),
            sql.Identifier(fits_constraint(table, column)),
            sql.SQL("{} IS NOT NULL").format(sql.Identifier(table.shadow(column)))
            if column.not_null
            else sql.SQL("{} IS NOT NULL OR {} IS NULL").format(
                sql.Identifier(table.shadow(column)), sql.Identifier(column.column)
            ),
        )
        for column in table.columns
    )


def post_swap_statements(
    family: KeyFamily, tables: Sequence[TablePlan], statement_timeout: float
) -> list[tuple[str, tuple[Statement, ...]]]:
    """After the swap: CHECK constraints validated (writes go on), the new columns analyzed."""
    out: list[tuple[str, tuple[Statement, ...]]] = []
    for table in tables:
        target = _table(table)
        for item in family.attachments:
            if item.table_oid == table.table.table_oid and _user_check(item) and item.valid:
                out.append(
                    (
                        f"validation of {item.name} on {table.qualified}",
                        (
                            set_statement_timeout(statement_timeout),
                            sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                                target, sql.Identifier(item.name)
                            ),
                        ),
                    )
                )
        out.append(
            (
                f"statistics of {table.qualified}",
                (
                    set_statement_timeout(statement_timeout),
                    sql.SQL("ANALYZE {} ({})").format(
                        target, sql.SQL(", ").join(sql.Identifier(c.column) for c in table.columns)
                    ),
                ),
            )
        )
    return out


def cleanup_statements(
    schema: str, table: str, olds: Iterable[str], functions: Iterable[tuple[str, str]]
) -> tuple[Statement, ...]:
    """Phase 7 on one table: the reverse trigger, its function and the old columns dropped."""
    target = sql.Identifier(schema, table)
    return (PINNED_SEARCH_PATH, *drop_statements(target, names.BACK_TRIGGER, functions, olds))
