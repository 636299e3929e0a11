"""What a repair is: a plan of SQL statements, why, what it locks, and how safe it is.

A plan never runs by itself. It holds ``psycopg.sql`` statements built from
identifiers, which :mod:`.apply` executes in one transaction, and which the
SQL renderer prints as a psql script: the same statements either way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from psycopg import sql
from psycopg.abc import AdaptContext

from seqdoctor.catalog.connection import Timeouts, timeout_statements
from seqdoctor.catalog.dependents import ColumnDependents
from seqdoctor.catalog.model import ColumnUse, ForeignKeyColumn, SequenceState
from seqdoctor.checks import Finding
from seqdoctor.errors import UsageError

GIGABYTE = 1024**3


class Deferred(sql.Composable):
    """A statement composed the first time it is written out, then kept.

    fix plans thousands of sequence moves at once, and ``--apply`` sets most
    of them with a statement of their batch (see :attr:`Advance.planned`),
    never with their own: composing each plan's own statement, a third of
    planning it, waits until the statement is printed or run.
    """

    def __init__(self, compose: Callable[[], sql.Composable]) -> None:
        super().__init__(compose)

    @cached_property
    def composed(self) -> sql.Composable:
        composed: sql.Composable = self._obj()
        return composed

    def as_bytes(self, context: AdaptContext | None = None) -> bytes:
        return self.composed.as_bytes(context)

    def as_string(self, context: AdaptContext | None = None) -> str:
        return self.composed.as_string(context)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Deferred) and self.composed == other.composed

    __hash__ = None  # type: ignore[assignment]  # as every Composable's: equal by content


# What a plan executes: statements psycopg can run as they are.
Statement = sql.SQL | sql.Composed
# How many times a settling plan runs at most (see Plan.settle).
SETTLE_ROUNDS = 3


class Safety(StrEnum):
    """How much a plan can hurt, as ruff grades its fixes."""

    SAFE = "safe"  # forward-only setval, instant ALTER SEQUENCE: nothing waits for long
    UNSAFE = "unsafe"  # rewrites tables under an ACCESS EXCLUSIVE lock
    DISPLAY_ONLY = "display-only"  # a design decision: printed, never applied


@dataclass(frozen=True)
class Advance:
    """A sequence to move past the data in *columns* (and to *floor* at least, if given)."""

    sequence: SequenceState
    columns: tuple[ColumnUse, ...]
    floor: int | None
    # Its row of the statements that move it in a batch, composed once, when first
    # needed (see .advance): a batch sets most sequences with no row.
    row: Deferred
    # The next value the audit's reads put it at, when they alone say it (see
    # advance.planned_next()): a batch's first round sets that, reading no table.
    planned: int | None = None


@dataclass(frozen=True)
class Plan:
    """One repair: statements run in one transaction, and everything a person needs to judge it."""

    kind: str  # advance | widen | raise-limit | no-cycle | unique-index
    title: str
    reason: str
    safety: Safety
    statements: tuple[Statement | Deferred, ...]
    locks: tuple[str, ...]
    findings: tuple[Finding, ...]  # what it repairs
    tables: tuple[tuple[str, str], ...] = ()  # (schema, table) it reads or changes
    notes: tuple[str, ...] = ()
    held_back: str | None = None  # why --apply leaves it alone; None: --apply runs it
    # Its last statement returns (sequence, next value before, next value
    # after) when it moved a sequence, and no row when there was nothing to move.
    moves: bool = False
    # Run again while its last statement returns a row, at most a few times:
    # a forward-only setval without --lock repeats when data moved past it.
    settle: bool = False
    # What it moves, when it moves a sequence and nothing else (no lock to take):
    # --apply then reads and moves many such sequences together (see .apply).
    advance: Advance | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(sorted({f.code for f in self.findings}))

    @property
    def applies(self) -> bool:
        return self.held_back is None


@dataclass(frozen=True)
class RepairOptions:
    """Choices that change what is planned and how it runs."""

    lock: bool = False  # SHARE ROW EXCLUSIVE on fed tables while a sequence moves
    allow_rewrite: bool = False  # apply table rewrites over the threshold
    rewrite_threshold: int = GIGABYTE  # bytes rewritten by one plan before it needs allow_rewrite
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Codes asked for by name (--code): their repairs apply even when they would not by default.
    asked: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.rewrite_threshold < 0:
            raise UsageError("--rewrite-threshold cannot be negative")


@dataclass(frozen=True)
class RepairContext:
    """What planning reads beyond the audit's snapshot, unfiltered (see catalog.dependents)."""

    uses: tuple[ColumnUse, ...] = ()  # every column the sequences with findings feed
    foreign_keys: tuple[ForeignKeyColumn, ...] = ()
    sizes: Mapping[int, int] = field(default_factory=dict)  # bytes per table oid; absent: unknown
    # per sequence oid: what stands around the columns its widening changes
    dependents: Mapping[int, ColumnDependents] = field(default_factory=dict)


def transaction(plan: Plan, timeouts: Timeouts) -> tuple[Statement | Deferred, ...]:
    """The statements of *plan* as one transaction runs them, after BEGIN and before COMMIT."""
    # timeout_statements() pins the search path too: view and rule definitions
    # were read under it (every name qualified) and are created again under it,
    # so a search_path set in ~/.psqlrc or by ALTER ROLE cannot change what they mean.
    return (*timeout_statements(timeouts), *plan.statements)


def sentences(*parts: str) -> str:
    """Messages and remarks joined as sentences, each ending with a full stop.

    >>> sentences("sequence s is behind t.id: next value 1", "Moving it stops that.")
    'sequence s is behind t.id: next value 1. Moving it stops that.'
    """
    return " ".join(part if part.endswith(".") else part + "." for part in parts if part)


def name_literal(*names: str) -> sql.Composable:
    """A qualified name as a string literal, for ``regclass`` arguments such as setval()'s.

    >>> print(name_literal("public", 'Order "Lines"_seq').as_string())
    '"public"."Order ""Lines""_seq"'
    """
    return sql.Literal(sql.Identifier(*names).as_string())


def dollar_quoted(body: str) -> sql.Composed:
    """*body* as a dollar-quoted string constant, with a tag it does not contain.

    For DO blocks: their bodies hold composed SQL whose quotes a plain string
    literal would double, making the printed plan hard to read. The tag is
    ours, and lengthened until the body cannot end the constant early.

    >>> dollar_quoted("BEGIN NULL; END").as_string()
    '$seqdoctor$BEGIN NULL; END$seqdoctor$'
    >>> dollar_quoted('SELECT 1 AS "$seqdoctor$"').as_string()
    '$seqdoctor_$SELECT 1 AS "$seqdoctor$"$seqdoctor_$'
    """
    tag = "$seqdoctor$"
    while tag in body:
        tag = tag[:-1] + "_$"
    return sql.SQL("{tag}{body}{tag}").format(tag=sql.SQL(tag), body=sql.SQL(body))


def size(value: int) -> str:
    """Bytes for a person to read.

    >>> size(0), size(8192), size(200_000_000), size(3 * 1024**3)
    ('0 bytes', '8.0 kB', '191 MB', '3.0 GB')
    """
    amount = float(value)
    for unit in ("bytes", "kB", "MB", "GB"):
        if amount < 1024:
            return (
                f"{amount:.0f} {unit}"
                if unit == "bytes" or amount >= 10
                else f"{amount:.1f} {unit}"
            )
        amount /= 1024
    return f"{amount:.1f} TB"


_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def parse_size(text: str) -> int:
    """A size as PostgreSQL settings write it (units of 1024), in bytes.

    >>> parse_size("1GB"), parse_size("500 MB"), parse_size("1.5gb"), parse_size("4096")
    (1073741824, 524288000, 1610612736, 4096)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"{text!r:.40} is not a size such as 500MB or 1GB")
    value = float(match.group(1)) * _UNITS[unit]
    if not math.isfinite(value):  # 400 digits: no disk holds that
        raise ValueError(f"{text!r:.40} is not a size a disk holds")
    return round(value)
