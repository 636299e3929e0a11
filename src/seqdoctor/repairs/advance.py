"""SEQ001: move a sequence past the data it feeds, in its own direction, never backwards.

One statement reads the sequence's position and definition, the furthest
value in every column it feeds, and sets the sequence, so that nothing
computed earlier can be stale by the time it is used:

- the data's edge is ``max()`` (``min()`` descending) of each fed column,
  counting only values within the sequence's MINVALUE..MAXVALUE: ids kept
  above MAXVALUE on purpose are not in its way;
- when the edge is at or past the next value, the new next value is the first
  one of the sequence's own progression (its current next value plus whole
  increments) past the edge; an increment of 10 keeps handing out 1, 11,
  21..., and two sequences interleaving odd and even ids stay apart;
- otherwise, empty tables included, nothing is set: the next value stays
  where it is, which for a fresh sequence is its START.

A *floor* (``seqdoctor sync``: another database's position) is one more
edge: the new next value is then also at or past it, on the sequence's own
progression, and the sequence still never moves backwards.

The sequence is set with ``setval(seq, new_next - increment)``, so that
``last_value`` reads as the last value handed out; when the new next value
would pass the sequence's limit, ``setval()`` is given that value instead and
refuses it with its own error: the sequence must be widened first.

``setval()`` takes no lock on the tables. Rows written with explicit ids
while the statement runs can land past it: without ``--lock`` the statement
is run again until it finds nothing to move (a few times at most); with
``--lock`` a SHARE ROW EXCLUSIVE lock on the fed tables keeps writers out
for the instant it takes. Neither stops another session calling ``nextval()``
between the read of the position and the ``setval()`` (microseconds) from
being undone; with ``--lock`` that can only be code calling ``nextval()``
outside an INSERT into those tables.

A finding judged from the planner's statistics (no index leads with the
column, and the audit did not scan) holds the plan back: its ``max()`` would
scan the table, which only ``--allow-seqscan`` allows; with it, the audit
reads the real maximum by that scan, bounded by the statement timeout, and
the plan applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from psycopg import sql

from seqdoctor.catalog.model import ColumnUse, SequenceState, by_sequence, qualify, quote_ident
from seqdoctor.catalog.probes import table_sql
from seqdoctor.checks import Finding
from seqdoctor.repairs.model import (
    SETTLE_ROUNDS,
    Advance,
    Deferred,
    Plan,
    RepairOptions,
    Safety,
    Statement,
    name_literal,
    sentences,
)

CODE = "SEQ001"


def plans(
    findings: Iterable[tuple[SequenceState, Finding]],
    uses: Sequence[ColumnUse],
    options: RepairOptions,
) -> Iterator[Plan]:
    """One plan per sequence behind its data, judged against every column in *uses* it feeds."""
    flagged: dict[int, tuple[SequenceState, list[Finding]]] = {}
    for sequence, finding in findings:
        if finding.code == CODE:
            flagged.setdefault(sequence.oid, (sequence, []))[1].append(finding)
    fed = by_sequence(uses)
    for sequence, found in flagged.values():
        yield plan(sequence, tuple(found), fed.get(sequence.oid, ()), options)


def plan(
    sequence: SequenceState,
    findings: tuple[Finding, ...],
    fed: Sequence[ColumnUse],
    options: RepairOptions,
    floor: int | None = None,
) -> Plan:
    """The plan moving *sequence* past the data in *fed* (and to *floor* at least, if given)."""
    judged = [u for u in fed if u.comparable and u.relkind != "f"]
    names = ", ".join(u.qualified for u in judged)
    direction = "forward" if sequence.ascending else "down (it descends)"
    tables = _distinct_tables(judged)
    locks = (
        "none on the tables beyond reading max() (ACCESS SHARE); setval() changes the "
        "sequence in place",
    )
    statements: list[Statement | Deferred] = []
    if options.lock and judged:
        named = ", ".join(qualify(u.schema, u.table) for u in tables)
        locks = (
            f"SHARE ROW EXCLUSIVE on {named} until it commits: inserts, updates and deletes "
            "wait for an instant, reads go on",
        )
        statements.append(
            sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
                sql.SQL(", ").join(table_sql(u) for u in tables)
            )
        )
    planned = planned_next(sequence, findings, judged) if floor is None else None
    advance = moving(sequence, judged, floor, planned)
    statements.append(_setval(advance))
    return Plan(
        kind="advance",
        title=f"Move {sequence.qualified} {direction} past the data in {names}",
        reason=sentences(
            *(f.message for f in findings),
            "Setting the sequence past the data in every column it feeds stops the duplicate "
            "keys; it only ever moves forward, and no row is touched.",
        ),
        safety=Safety.SAFE,
        statements=tuple(statements),
        locks=locks,
        findings=findings,
        tables=tuple((u.schema, u.table) for u in tables),
        notes=tuple(_notes(fed, options)),
        held_back=_held_back(findings, judged),
        moves=True,
        settle=not options.lock,
        advance=None if options.lock else advance,
    )


def _held_back(findings: Sequence[Finding], judged: Sequence[ColumnUse]) -> str | None:
    """Why a plan resting on the planner's statistics is not applied: its max() would scan."""
    if not any(f.details.get("evidence") == "statistics" for f in findings):
        return None
    unindexed = ", ".join(u.qualified for u in judged if not u.has_probe_index)
    return (
        f"judged from the planner's statistics: no index leads with {unindexed}, and reading "
        "the real max() scans the table; run fix with --allow-seqscan to read it and apply"
    )


def moving(
    sequence: SequenceState,
    columns: Sequence[ColumnUse],
    floor: int | None = None,
    planned: int | None = None,
) -> Advance:
    """*sequence* to move past the data in *columns* (and to *floor* at least, if given);
    *planned*: the next value the audit's reads put it at (see :func:`planned_next`)."""
    row = Deferred(lambda: sql.SQL(data_row(sequence, columns, floor)))
    return Advance(sequence, tuple(columns), floor, row, planned)


def planned_next(
    sequence: SequenceState, findings: Sequence[Finding], columns: Sequence[ColumnUse]
) -> int | None:
    """The first value of *sequence*'s progression past the data the audit read in every
    one of *columns*; None when the audit's reads alone do not say it.

    They say it when each column has a finding of this check read through an
    index or by a scan (not guessed from the planner's statistics), on a
    primary (a standby's position is a range), and the value is within the
    sequence's limits: past them, ``setval()``'s own error must say why, which
    the moving statement gives.

    >>> from seqdoctor.catalog.model import SequenceState
    >>> s = SequenceState(1, "public", "s", "int4", 1, 10, 1, 1000, False, 1, True, 1, False)
    >>> from seqdoctor.checks.base import ColumnRef, Finding, Severity
    >>> seen = Finding("SEQ001", "sequence-behind-data", Severity.CRITICAL, "",
    ...                column=ColumnRef("public", "t", "id"),
    ...                details={"column_max": 35, "column_min": 1, "evidence": "index"})
    >>> from types import SimpleNamespace as Use
    >>> planned_next(s, [seen], [Use(schema="public", table="t", column="id")])  # 1, 11, ...
    41
    """
    following = sequence.next_value
    if sequence.ahead_by or following is None or not columns:
        return None
    read = {
        (f.column.schema, f.column.table, f.column.column): f.details
        for f in findings
        if f.column is not None and f.details.get("evidence") in ("index", "scan")
    }
    edges: list[int] = []
    for use in columns:
        details = read.get((use.schema, use.table, use.column))
        edge = details and details.get("column_max" if sequence.ascending else "column_min")
        if not isinstance(edge, int):
            return None
        edges.append(edge)
    edge = max(edges) if sequence.ascending else min(edges)
    step = sequence.increment_by
    if (edge - following) * step < 0:
        return None
    planned = following + step * ((edge - following) // step + 1)
    return planned if sequence.min_value <= planned <= sequence.max_value else None


def first_statements(advances: Sequence[Advance]) -> str:
    """A batch's first round: statements, one a sequence, in order, each setting it to the
    next value its plan worked out (:attr:`Advance.planned`), reading no table, or,
    where the plan has none, reading where it must go (as :func:`move_statements`).

    A setting statement returns the same row as a moving one (the sequence's
    oid, next value before, the step, the value set) when it set the
    sequence, and none when the sequence is not as the audit read it: defined
    otherwise (increment, limits), already at or past that value, or off the
    progression it was on; the moving statement then reads where it must go.
    The value set is checked as every move is: the rounds after read whether a
    row holds it or a value past it, and move again those. As in every moving
    statement, the position is read again inside ``setval()``.
    """
    return ";\n".join(
        _MOVE_HEAD + advance.row.as_string() + _MOVE_TAIL
        if advance.planned is None
        else _planned(advance.sequence, advance.planned)
        for advance in advances
    )


def _planned(sequence: SequenceState, planned: int) -> str:
    step = sequence.increment_by
    return _PLANNED.format(
        oid=sequence.oid,
        relation=sql.Identifier(sequence.schema, sequence.name).as_string(),
        step=step,
        low=sequence.min_value,
        high=sequence.max_value,
        planned=planned,
        value=planned - step,
        furthest="greatest" if step > 0 else "least",
        before="<" if step > 0 else ">",
    )


# A first_statements() statement setting a sequence to its planned value; every name in
# it is quoted, every number an int. The sequence is still before that value: called, its
# last value is before the one just before it; not called, its last value is the next one.
# Its definition is compared in a subquery, its position in int8, not in numeric through a
# join: a quarter of the statement's time, which is most of a batch's first round.
_PLANNED = """SELECT {oid}::oid,
       CASE WHEN d.is_called THEN d.last_value::numeric + ({step}) ELSE d.last_value END,
       ({step})::int8,
       pg_catalog.setval({oid}::oid::regclass, {furthest}(({value})::int8,
           pg_catalog.pg_sequence_last_value({oid}::oid::regclass)))
FROM {relation} AS d
WHERE d.tableoid = {oid}::oid
  AND (SELECT (s.seqincrement, s.seqmin, s.seqmax) = (({step})::int8, ({low})::int8, ({high})::int8)
       FROM pg_catalog.pg_sequence AS s WHERE s.seqrelid = {oid}::oid)
  AND CASE WHEN d.is_called THEN d.last_value {before} ({value})
           ELSE d.last_value {before} ({planned}) END
  AND pg_catalog.mod(({planned})::numeric - d.last_value, ({step})::numeric) = 0"""


def setval_statement(
    sequence: SequenceState, columns: Sequence[ColumnUse], floor: int | None = None
) -> Deferred:
    """The statement that reads everything it needs and moves the sequence, in one go.

    It returns one row (sequence, next value before, next value after) when
    it moved the sequence, and no row when the sequence was already past the
    data (and at or past *floor*, the least next value it may keep).
    """
    return _setval(moving(sequence, columns, floor))


def _setval(advance: Advance) -> Deferred:
    """The plan's own statement, composed when printed or run (see :class:`Deferred`)."""

    def compose() -> sql.SQL:
        # Joined as text, as data_row(): one a sequence.
        name = name_literal(advance.sequence.schema, advance.sequence.name).as_string()
        row = advance.row.as_string()
        return sql.SQL(_SETVAL_HEAD + row + _SETVAL_TARGET + name + _SETVAL_TAIL)

    return Deferred(compose)


def move_statements(rows: Sequence[Deferred]) -> str:
    """Statements, one a sequence, each reading where its sequence must go and moving it.

    *rows* are the :attr:`Advance.row` of each sequence; the statements go to
    the server as one message (a UNION of them would cost the planner more
    than its arms). Each reads its sequence's position, its data's edge and
    sets it, all in one statement, and returns a row (the sequence's oid, next
    value before, the step, the value set) when it moved it, none when the
    sequence was already past its data. ``MATERIALIZED`` reads each column's
    extreme once.

    The sequence's position is read again inside ``setval()``'s argument: a
    value handed out since the statement read it is never taken back. A move
    the sequence cannot make (past its limit, or not the role's to set) is left
    to ``setval()``, whose error stops the message there: the sequences before
    it have moved, it and those after it have not.
    """
    # Joined as text, not composed: this runs for every sequence of every round.
    return ";\n".join(_MOVE_HEAD + row.as_string() + _MOVE_TAIL for row in rows)


def landed_statements(moved: Sequence[tuple[Advance, int]]) -> str:
    """Statements, one a sequence, each returning its oid when a row holds a value at or
    past the next value it was given (at or before, descending), in a column it feeds.

    The rounds after the first read this rather than running the moving
    statements again: a plain index probe per column, planned in a fraction
    of their time. It counts every value, not only those within the
    sequence's limits, and compares with the next value set, not the
    sequence's position now: it can only flag a sequence that needs no move
    (its moving statement then finds nothing), never pass one that does.
    *moved*: each sequence's advance and the next value it was given.
    """
    statements = []
    for advance, next_value in moved:
        reached = _AT_OR_PAST if advance.sequence.ascending else _AT_OR_BEFORE
        probes = [
            _EXISTS
            + table_sql(use).as_string()
            + _WHERE_TEXT
            + sql.Identifier(use.column).as_string()
            + reached
            + str(int(next_value))
            + ")"
            for use in advance.columns
        ]
        if probes:
            statements.append(
                f"SELECT {advance.sequence.oid}::oid WHERE " + "\n   OR ".join(probes)
            )
    return ";\n".join(statements)


# The text of landed_statements() around its names.
_EXISTS, _WHERE_TEXT = "EXISTS (SELECT FROM ", " WHERE "
_AT_OR_PAST, _AT_OR_BEFORE = " >= ", " <= "


# Where the next value goes: the first value of the sequence's own progression
# past the edge, for each sequence whose edge is at or past its next value.
_TARGET = sql.SQL(
    """target AS (
    SELECT data.*, next_value + step * (div(edge - next_value, step) + 1) AS next_after
    FROM data
    WHERE (edge - next_value) * sign(step) >= 0
)"""
)


# setval()'s argument in every statement that moves a sequence: the value
# before the next one, or the sequence's position read again now, whichever is
# further on; a value handed out since the statement read the sequence (while
# it read the data) is never taken back. Past the limits, the value itself, so
# that setval()'s error says why.
_FORWARD_ONLY = """(CASE
        WHEN next_after NOT BETWEEN low AND high THEN next_after
        WHEN step > 0 THEN greatest(next_after - step, pg_catalog.pg_sequence_last_value(seq))
        ELSE least(next_after - step, pg_catalog.pg_sequence_last_value(seq)) END)::int8"""

# The text of a plan's own statement (_setval()) around its names.
_SETVAL_HEAD = "WITH data AS MATERIALIZED (\n"
_SETVAL_TARGET = f"\n), {_TARGET.as_string()}\nSELECT "
_SETVAL_TAIL = (
    " AS sequence, next_value AS next_before, next_after,\n"
    f"       pg_catalog.setval(seq, {_FORWARD_ONLY})\nFROM target"
)

# The text around each sequence's row in move_statements().
_MOVE_HEAD = _SETVAL_HEAD
_MOVE_TAIL = f"""
), {_TARGET.as_string()}
SELECT seq::oid, next_value AS next_before, step, pg_catalog.setval(seq, {_FORWARD_ONLY})
FROM target"""


def data_row(sequence: SequenceState, columns: Sequence[ColumnUse], floor: int | None) -> str:
    """One sequence's row of the ``data`` CTE: its definition, its next value, its data's edge.

    Every name in it is quoted by ``psycopg.sql`` and every number is its literal.
    """
    # Joined as text rather than composed: this runs for every sequence behind,
    # 10,000 after a copy, and composing cost more than the rest of planning them.
    relation = sql.Identifier(sequence.schema, sequence.name).as_string()
    name = name_literal(sequence.schema, sequence.name).as_string()
    extreme = _MAX if sequence.ascending else _MIN
    edges: list[str] = []
    for use in columns:
        column = sql.Identifier(use.column).as_string()
        table = table_sql(use).as_string()
        edges.append(f"{extreme}{column}) FROM {table} WHERE {column}{_WITHIN_LIMITS}")
    if floor is not None:
        # The first value at or past the floor is the first one past the value
        # just before it: the edges are values the sequence must get past.
        before = floor - 1 if sequence.ascending else floor + 1
        edges.append(f"{sql.Literal(before).as_string()}::numeric")
    return "".join(
        [
            "    SELECT ",
            name,
            _ROW_DEFINITION,
            _GREATEST if sequence.ascending else _LEAST,
            _EDGES.join(edges) if edges else "NULL::numeric",
            _ROW_FROM,
            relation,
            _ROW_JOIN,
            name,
            "::regclass",
        ]
    )


# The text of data_row() around its names.
_MAX, _MIN = "(SELECT max(", "(SELECT min("
_WITHIN_LIMITS = " BETWEEN s.seqmin AND s.seqmax)"
_ROW_DEFINITION = """::regclass AS seq, s.seqincrement AS step,
           s.seqmin AS low, s.seqmax AS high,
           CASE WHEN d.is_called THEN d.last_value::numeric + s.seqincrement
                ELSE d.last_value END AS next_value,
           """
_GREATEST, _LEAST = "greatest(\n           ", "least(\n           "
_EDGES = ",\n           "
_ROW_FROM = ") AS edge\n    FROM "
_ROW_JOIN = " AS d, pg_catalog.pg_sequence AS s\n    WHERE s.seqrelid = "


def _distinct_tables(uses: Iterable[ColumnUse]) -> list[ColumnUse]:
    """One column per table, in the order tables are locked: by schema, then name."""
    seen: dict[int, ColumnUse] = {}
    for use in uses:
        seen.setdefault(use.table_oid, use)
    return sorted(seen.values(), key=lambda u: (u.schema, u.table))


def _notes(fed: Sequence[ColumnUse], options: RepairOptions) -> Iterator[str]:
    for use in fed:
        if use.relkind == "f":
            yield f"{use.qualified} is a foreign table: its rows live on another server, unread"
        elif not use.comparable:
            yield f"{use.qualified} is {use.column_type}: its values cannot be compared, unread"
        elif use.row_security:
            yield (
                f"row-level security hides rows of {qualify(use.schema, use.table)}: its max() "
                "may be too low unless the role applying this bypasses it"
            )
        elif not use.has_probe_index:
            yield f"no index leads with {use.qualified}: reading its max() scans the table"
        if use.unique_with is not None:
            yield (
                f"{use.qualified} is unique only together with {use.unique_with}: ids handed "
                "out while the sequence was behind may already repeat, which this does not "
                f"undo; find them with SELECT {quote_ident(use.column)}, count(*) FROM "
                f"{qualify(use.schema, use.table)} GROUP BY 1 HAVING count(*) > 1"
            )
    if not options.lock:
        yield (
            "without --lock, rows inserted with explicit ids while it runs can land past it: "
            f"--apply runs it again until it finds nothing to move ({SETTLE_ROUNDS} times at "
            "most); after the psql script, run seqdoctor check"
        )
