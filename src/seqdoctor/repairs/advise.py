"""SEQ006 and SEQ008: plans a person carries out, never applied by seqdoctor.

Whether a sequence should wrap around is a design decision (a ring buffer
wants it), and building a unique index takes time and I/O and fails on
existing duplicates: seqdoctor prints the statements with its reasoning and
leaves the decision and the timing to someone who knows the application.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from psycopg import sql

from seqdoctor.catalog.model import ColumnUse, SequenceState, Snapshot, qualify
from seqdoctor.checks import Finding
from seqdoctor.repairs.model import Plan, Safety, sentences

CODES = ("SEQ006", "SEQ008")


def plans(snapshot: Snapshot, findings: Iterable[tuple[SequenceState, Finding]]) -> Iterator[Plan]:
    for sequence, finding in findings:
        if finding.code == "SEQ006":
            yield _no_cycle(sequence, finding)
        elif finding.code == "SEQ008" and finding.column is not None:
            column = finding.column
            for use in snapshot.uses_of(sequence):
                if (use.schema, use.table, use.column) == (
                    column.schema,
                    column.table,
                    column.column,
                ):
                    yield (
                        _index(use, finding)
                        if use.relkind == "p" and use.unique_with is not None
                        else _unique_index(use, finding)
                    )


def _no_cycle(sequence: SequenceState, finding: Finding) -> Plan:
    return Plan(
        kind="no-cycle",
        title=f"Stop {sequence.qualified} cycling",
        reason=sentences(
            finding.message,
            "Unless wrapping around is intended (a ring buffer whose old rows are gone by "
            "then), NO CYCLE turns the silent wrap into a clear error at the limit.",
        ),
        safety=Safety.DISPLAY_ONLY,
        statements=(
            sql.SQL("ALTER SEQUENCE {} NO CYCLE").format(
                sql.Identifier(sequence.schema, sequence.name)
            ),
        ),
        locks=(f"SHARE ROW EXCLUSIVE on the sequence {sequence.qualified} for an instant",),
        findings=(finding,),
        held_back="display only: whether the sequence should wrap around is a design decision",
    )


def _index(use: ColumnUse, finding: Finding) -> Plan:
    """For a partitioned table already unique on the column with its partition key.

    No index can make the column unique alone there; one led by it lets the
    audit read its max(), and the guard stops explicit ids ahead of the sequence.
    """
    table = sql.Identifier(use.schema, use.table)
    column = sql.Identifier(use.column)
    return Plan(
        kind="unique-index",
        title=f"Add an index led by {use.qualified}",
        reason=sentences(
            finding.message,
            "A partitioned table cannot be unique on it alone: an index led by it lets "
            "seqdoctor check read its max() and see a sequence behind its data",
        ),
        safety=Safety.DISPLAY_ONLY,
        statements=(
            sql.SQL("SELECT {column}, count(*) FROM {table} GROUP BY 1 HAVING count(*) > 1").format(
                column=column, table=table
            ),
            sql.SQL("CREATE INDEX ON {table} ({column})").format(table=table, column=column),
        ),
        locks=(f"SHARE on {qualify(use.schema, use.table)} while the index builds",),
        findings=(finding,),
        tables=((use.schema, use.table),),
        notes=(
            "a partitioned table's index cannot be built CONCURRENTLY: build it on each "
            "partition first, then on the parent (CREATE INDEX ON ONLY, ALTER INDEX ... "
            "ATTACH PARTITION)",
            f"seqdoctor guard install --table {qualify(use.schema, use.table)} catches explicit "
            "ids ahead of the sequence as they are inserted",
        ),
        held_back="display only: building an index takes time and I/O",
    )


def _unique_index(use: ColumnUse, finding: Finding) -> Plan:
    table = sql.Identifier(use.schema, use.table)
    column = sql.Identifier(use.column)
    partitioned = use.relkind == "p"
    notes = ["look for duplicates first: the index cannot be built while they exist"]
    if partitioned:
        notes.append(
            "a unique index on a partitioned table must also hold its partition key columns, "
            "and cannot be built CONCURRENTLY: build it on each partition first, then on the "
            "parent (CREATE INDEX ON ONLY, ALTER INDEX ... ATTACH PARTITION)"
        )
    create = sql.SQL("CREATE UNIQUE INDEX {concurrently}ON {table} ({column})").format(
        concurrently=sql.SQL("" if partitioned else "CONCURRENTLY "), table=table, column=column
    )
    return Plan(
        kind="unique-index",
        title=f"Add a unique index on {use.qualified}",
        reason=sentences(
            finding.message,
            "A unique index turns a sequence behind its data into an error instead of "
            "duplicate rows.",
        ),
        safety=Safety.DISPLAY_ONLY,
        statements=(
            sql.SQL("SELECT {column}, count(*) FROM {table} GROUP BY 1 HAVING count(*) > 1").format(
                column=column, table=table
            ),
            create,
        ),
        locks=(
            f"SHARE on {qualify(use.schema, use.table)} while the index builds"
            if partitioned
            else f"SHARE UPDATE EXCLUSIVE on {qualify(use.schema, use.table)}: writes go on",
        ),
        findings=(finding,),
        tables=((use.schema, use.table),),
        notes=tuple(notes),
        held_back="display only: building an index takes time and I/O, and fails on duplicates",
    )
