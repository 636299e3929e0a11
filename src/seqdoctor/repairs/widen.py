"""SEQ002-SEQ005: widen what is running out to bigint, sequence and columns together.

For each sequence with a finding, one plan and one transaction:

- the integer columns it feeds go to ``bigint`` when one of them is running
  out by its type (SEQ002) or is narrower than the sequence (SEQ004), with
  every foreign-key column referencing them (SEQ005 alone widens only those);
- the sequence goes ``AS bigint`` with its columns: a serial column widened
  alone keeps its sequence ``AS integer``, capped at 2,147,483,647;
- when the sequence's own limit is what runs out (SEQ003, or SEQ002 limited
  by the sequence), its MAXVALUE (MINVALUE descending) is raised to what every
  column it feeds can hold, and no further.

``ALTER TABLE ... ALTER COLUMN ... TYPE bigint`` rewrites each table and its
indexes under an ACCESS EXCLUSIVE lock: the plan is *unsafe*, shows the
sizes and a rough duration, and is held back over the rewrite threshold
unless rewrites are allowed. Views and rules reading the columns are dropped
and created again in the same transaction; anything else in the way
(triggers, policies, generated columns, partition keys, domains) holds the
plan back. Inside the transaction, after taking its locks, a check stops it
if the columns, the sequence or the views changed since the plan was made.
A sequence-only change is instant and *safe*.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from psycopg import sql

from seqdoctor.catalog.dependents import ColumnDependents, ViewDefinition
from seqdoctor.catalog.model import (
    TYPE_NAMES,
    TYPE_RANGES,
    ColumnUse,
    ForeignKeyColumn,
    SequenceState,
    by_sequence,
    qualify,
    quote_ident,
)
from seqdoctor.checks import Finding
from seqdoctor.checks.base import number, plural
from seqdoctor.repairs.model import (
    Plan,
    RepairContext,
    RepairOptions,
    Safety,
    Statement,
    dollar_quoted,
    name_literal,
    sentences,
    size,
)

CODES = ("SEQ002", "SEQ003", "SEQ004", "SEQ005")
NARROW = ("int2", "int4")
WIDE = "int8"
# A rough rewrite speed for the estimate, heap and indexes written again: a
# 232 MB table with two indexes went through ALTER COLUMN TYPE bigint at
# 59-76 MB/s on 2 cores (PostgreSQL 15-18, docs/fix.md); rounded down, since
# an estimate that errs should err long.
REWRITE_BYTES_PER_SECOND = 50 * 1024**2
PRIVILEGES = frozenset(
    ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")
)


@dataclass(frozen=True)
class Target:
    """What one plan changes: a sequence, the columns it feeds, and the keys pointing at them."""

    sequence: SequenceState
    findings: tuple[Finding, ...]
    fed: tuple[ColumnUse, ...]  # every column the sequence feeds
    columns: tuple[ColumnUse, ...]  # fed columns going to bigint
    references: tuple[ForeignKeyColumn, ...]  # foreign-key columns going to bigint
    raise_limit: bool  # the sequence's own limit is running out

    @property
    def altered(self) -> list[tuple[int, int]]:
        """(table oid, attnum) of every column whose type changes."""
        return [(u.table_oid, u.attnum) for u in self.columns] + [
            (k.table_oid, k.attnum) for k in self.references
        ]


def targets(
    findings: Iterable[tuple[SequenceState, Finding]],
    uses: Sequence[ColumnUse],
    foreign_keys: Sequence[ForeignKeyColumn],
) -> list[Target]:
    """What to widen for each sequence with a SEQ002-SEQ005 finding."""
    grouped: dict[int, tuple[SequenceState, list[Finding]]] = {}
    for sequence, finding in findings:
        if finding.code in CODES:
            grouped.setdefault(sequence.oid, (sequence, []))[1].append(finding)
    found = []
    fed_by = by_sequence(uses)
    for sequence, flagged in grouped.values():
        fed = fed_by.get(sequence.oid, ())
        widen_columns = any(
            f.code == "SEQ004" or (f.code == "SEQ002" and f.details["limited_by"] != "sequence")
            for f in flagged
        )
        columns = tuple(u for u in fed if u.type_name in NARROW) if widen_columns else ()
        fed_keys = {(u.table_oid, u.attnum) for u in fed}
        references = tuple(
            k
            for k in foreign_keys
            if (k.referenced_table_oid, k.referenced_attnum) in fed_keys and k.type_name in NARROW
        )
        if not widen_columns and not any(f.code == "SEQ005" for f in flagged):
            references = ()
        raise_limit = any(
            f.code == "SEQ003" or (f.code == "SEQ002" and "sequence" in f.details["limited_by"])
            for f in flagged
        )
        found.append(Target(sequence, tuple(flagged), fed, columns, references, raise_limit))
    return found


def plans(
    findings: Iterable[tuple[SequenceState, Finding]],
    context: RepairContext,
    options: RepairOptions,
) -> Iterator[Plan]:
    for target in targets(findings, context.uses, context.foreign_keys):
        dependents = context.dependents.get(target.sequence.oid, ColumnDependents())
        built = plan(target, dependents, context.sizes, options)
        if built is not None:
            yield built


def plan(
    target: Target,
    dependents: ColumnDependents,
    sizes: Mapping[int, int],
    options: RepairOptions,
) -> Plan | None:
    """The plan for one target; None when nothing needs to change after all."""
    sequence = target.sequence
    alter_sequence = _alter_sequence(target)
    inherited = dependents.inherited
    columns = [u for u in target.columns if (u.table_oid, u.attnum) not in inherited]
    references = [k for k in target.references if (k.table_oid, k.attnum) not in inherited]
    alterations = _alter_tables(columns, references)
    if alter_sequence is None and not alterations:
        return None
    rewritten = _rewritten_tables(columns, references)
    statements: list[Statement] = []
    if rewritten:
        statements.append(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                # In one order, by schema and name, as every lock fix takes (docs/fix.md).
                sql.SQL(", ").join(sql.Identifier(s, t) for _, s, t in sorted(rewritten, key=_name))
            )
        )
    statements.append(_precondition(target, dependents if rewritten else ColumnDependents()))
    if rewritten:
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
    if alter_sequence is not None:
        statements.append(alter_sequence)
    statements += alterations
    if rewritten:
        for view in dependents.views:
            statements += create_view(view)
        statements += [server_text(rule.definition) for rule in dependents.rules]

    changed = [u.qualified for u in target.columns] + [k.qualified for k in target.references]
    if changed:
        title = f"Widen {', '.join(changed)} to bigint"
        if alter_sequence is not None:
            title += f", and the sequence {sequence.qualified}"
    elif _changes_type(target):
        title = f"Widen the sequence {sequence.qualified} to bigint"
    else:
        bound = "MAXVALUE" if sequence.ascending else "MINVALUE"
        title = f"Raise the {bound} of {sequence.qualified}"

    total = sum(sizes[oid] for oid, _, _ in rewritten if oid in sizes)
    unknown = [qualify(s, t) for oid, s, t in rewritten if oid not in sizes]
    locks = []
    notes = []
    if rewritten:
        shown = ", ".join(
            f"{qualify(s, t)} ({size(sizes[oid]) if oid in sizes else 'size unknown'})"
            for oid, s, t in rewritten
        )
        locks.append(
            f"ACCESS EXCLUSIVE on {shown} until it commits: every read and write of "
            f"{'it' if len(rewritten) == 1 else 'them'} waits while the rewrite runs"
        )
        seconds = total / REWRITE_BYTES_PER_SECOND
        notes.append(
            f"rewrites {size(total)} of tables and indexes: roughly {duration(seconds)} "
            f"at {size(REWRITE_BYTES_PER_SECOND)}/s (a guess: disks and indexes vary)"
        )
        if seconds > options.timeouts.statement:
            notes.append(
                f"that may take longer than the statement timeout "
                f"({options.timeouts.statement:g} s): raise --statement-timeout"
            )
        if dependents.views:
            names = ", ".join(v.qualified for v in dependents.views)
            locks.append(f"ACCESS EXCLUSIVE on {names}: dropped and created again")
            notes += [
                f"materialized view {v.qualified} is filled again inside the transaction"
                for v in dependents.views
                if v.relkind == "m" and v.populated
            ]
    if alter_sequence is not None:
        locks.append(
            f"SHARE ROW EXCLUSIVE on the sequence {sequence.qualified} until it commits: "
            "nextval() waits"
        )

    return Plan(
        kind="widen" if rewritten else "raise-limit",
        title=title,
        reason=_reason(target, rewritten),
        safety=Safety.UNSAFE if rewritten else Safety.SAFE,
        statements=tuple(statements),
        locks=tuple(locks),
        findings=target.findings,
        tables=tuple(
            dict.fromkeys(
                [(s, t) for _, s, t in rewritten] + [(u.schema, u.table) for u in target.fed]
            )
        ),
        notes=tuple(notes),
        held_back=_held_back(
            target,
            dependents=dependents,
            total=total,
            unknown=unknown,
            rewrites=bool(rewritten),
            options=options,
        ),
    )


def _changes_type(target: Target) -> bool:
    return _new_type(target) != target.sequence.type_name


def _limit_of(type_name: str, ascending: bool) -> int:
    low, high = TYPE_RANGES[type_name]
    return high if ascending else low


def _beyond(value: int, limit: int, ascending: bool) -> bool:
    return value > limit if ascending else value < limit


def _wanted_limit(target: Target) -> int:
    """How far the sequence may go once the plan has run: as far as every fed column holds."""
    ascending = target.sequence.ascending
    limit = _limit_of(WIDE, ascending)
    widened = {(u.table_oid, u.attnum) for u in target.columns}
    for use in target.fed:
        if (use.table_oid, use.attnum) in widened or use.type_range is None:
            continue  # bigint now, or numeric/text: holds whatever the sequence hands out
        column_limit = _limit_of(use.type_name, ascending)
        if _beyond(limit, column_limit, ascending):
            limit = column_limit
    return limit


def _new_type(target: Target) -> str:
    """bigint with its columns, or when its limit must pass what its type holds."""
    sequence = target.sequence
    if target.columns or (
        target.raise_limit
        and _beyond(
            _wanted_limit(target),
            _limit_of(sequence.type_name, sequence.ascending),
            sequence.ascending,
        )
    ):
        return WIDE
    return sequence.type_name


def _alter_sequence(target: Target) -> Statement | None:
    """ALTER SEQUENCE ... AS bigint and/or a raised limit; None when it stays as it is.

    Changing AS moves MINVALUE and MAXVALUE along when they were the old
    type's own bounds (ALTER SEQUENCE documentation); a limit of its own is
    kept unless the limit is what runs out.
    """
    sequence = target.sequence
    ascending = sequence.ascending
    new_type = _new_type(target)
    clauses: list[sql.Composable] = []
    limit = sequence.limit
    if new_type != sequence.type_name:
        clauses.append(sql.SQL("AS {}").format(sql.SQL(TYPE_NAMES[new_type])))
        if limit == _limit_of(sequence.type_name, ascending):
            limit = _limit_of(new_type, ascending)
    wanted = _wanted_limit(target)
    if target.raise_limit and _beyond(wanted, limit, ascending):
        bound = sql.SQL("MAXVALUE" if ascending else "MINVALUE")
        if wanted == _limit_of(new_type, ascending):
            clauses.append(sql.SQL("NO {}").format(bound))
        else:
            clauses.append(sql.SQL("{} {}").format(bound, sql.Literal(wanted)))
    if not clauses:
        return None
    return sql.SQL("ALTER SEQUENCE {} {}").format(
        sql.Identifier(sequence.schema, sequence.name), sql.SQL(" ").join(clauses)
    )


def _chain(
    columns: Sequence[ColumnUse], references: Sequence[ForeignKeyColumn]
) -> list[ColumnUse | ForeignKeyColumn]:
    return [*columns, *references]


def _rewritten_tables(
    columns: Sequence[ColumnUse], references: Sequence[ForeignKeyColumn]
) -> list[tuple[int, str, str]]:
    """(oid, schema, table) of every table rewritten, the sequence's own first."""
    seen: dict[int, tuple[int, str, str]] = {}
    for item in _chain(columns, references):
        seen.setdefault(item.table_oid, (item.table_oid, item.schema, item.table))
    return list(seen.values())


def _name(table: tuple[int, str, str]) -> tuple[str, str]:
    return table[1], table[2]


def _alter_tables(
    columns: Sequence[ColumnUse], references: Sequence[ForeignKeyColumn]
) -> list[Statement]:
    """One ALTER TABLE per table, so that each table is rewritten once."""
    by_table: dict[int, tuple[str, str, list[str]]] = {}
    for item in _chain(columns, references):
        by_table.setdefault(item.table_oid, (item.schema, item.table, []))[2].append(item.column)
    return [
        sql.SQL("ALTER TABLE {} {}").format(
            sql.Identifier(schema, table),
            sql.SQL(", ").join(
                sql.SQL("ALTER COLUMN {} TYPE bigint").format(sql.Identifier(c)) for c in names
            ),
        )
        for schema, table, names in by_table.values()
    ]


def _precondition(target: Target, dependents: ColumnDependents) -> Statement:
    """A DO block that stops the transaction if what the plan relies on has changed.

    It runs after the locks are taken, so nothing it checks can change before
    the transaction ends.
    """
    checks: list[tuple[sql.Composable, str]] = []
    for item in _chain(target.columns, target.references):
        checks.append(
            (
                sql.SQL(
                    "(SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    " WHERE attrelid = {table}::regclass AND attname = {column}"
                    " AND NOT attisdropped) IS DISTINCT FROM {type}"
                ).format(
                    table=name_literal(item.schema, item.table),
                    column=sql.Literal(item.column),
                    type=sql.Literal(item.column_type),
                ),
                f"{item.qualified} is no longer {item.column_type}",
            )
        )
    sequence = target.sequence
    checks.append(
        (
            sql.SQL(
                "(SELECT (format_type(seqtypid, NULL), seqmin, seqmax) FROM pg_sequence"
                " WHERE seqrelid = {name}::regclass) IS DISTINCT FROM ({type}::text, {low}::int8,"
                " {high}::int8)"
            ).format(
                name=name_literal(sequence.schema, sequence.name),
                type=sql.Literal(sequence.data_type),
                low=sql.Literal(sequence.min_value),
                high=sql.Literal(sequence.max_value),
            ),
            f"sequence {sequence.qualified} is no longer {sequence.data_type} "
            f"{number(sequence.min_value)}..{number(sequence.max_value)}",
        )
    )
    for view in dependents.views:
        checks.append(
            (
                sql.SQL(
                    "(SELECT (pg_get_viewdef(oid), pg_get_userbyid(relowner), relacl::text)"
                    " FROM pg_class WHERE oid = {name}::regclass)"
                    " IS DISTINCT FROM ({definition}::text, {owner}::name, {acl}::text)"
                ).format(
                    name=name_literal(view.schema, view.name),
                    definition=sql.Literal(view.definition),
                    owner=sql.Literal(view.owner),
                    acl=sql.Literal(view.acl),
                ),
                f"{_view_label(view)} {view.qualified} changed",
            )
        )
    for rule in dependents.rules:
        checks.append(
            (
                sql.SQL(
                    "(SELECT pg_get_ruledef(oid) FROM pg_rewrite WHERE ev_class = {table}::regclass"
                    " AND rulename = {name}) IS DISTINCT FROM {definition}"
                ).format(
                    table=name_literal(rule.schema, rule.table),
                    name=sql.Literal(rule.name),
                    definition=sql.Literal(rule.definition),
                ),
                f"rule {quote_ident(rule.name)} on {qualify(rule.schema, rule.table)} changed",
            )
        )
    tests = sql.SQL("\n").join(
        sql.SQL("    IF {} THEN\n        changed := changed || {}::text;\n    END IF;").format(
            condition, sql.Literal(message)
        )
        for condition, message in checks
    )
    body = sql.SQL(
        """
DECLARE
    changed text[] := '{{}}';
BEGIN
{tests}
    IF cardinality(changed) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'the database changed since this plan was made: '
                || array_to_string(changed, '; '),
            HINT = 'Run seqdoctor fix again for a plan of the database as it is now.';
    END IF;
END
"""
    ).format(tests=tests)
    return sql.SQL("DO {}").format(dollar_quoted(body.as_string()))


def view_kind(view: ViewDefinition) -> sql.Composable:
    return sql.SQL("MATERIALIZED VIEW" if view.relkind == "m" else "VIEW")


def _view_label(view: ViewDefinition) -> str:
    return "materialized view" if view.relkind == "m" else "view"


def server_text(definition: str) -> sql.SQL:
    """A statement PostgreSQL printed itself (pg_get_*def()), without its final semicolon."""
    return sql.SQL(definition.strip().removesuffix(";"))


def create_view(view: ViewDefinition) -> list[Statement]:
    """The statements that create *view* again as it was: definition, options, owner,
    comments, privileges, and what hangs off it."""
    name = sql.Identifier(view.schema, view.name)
    kind = view_kind(view)
    options: sql.Composable = sql.SQL("")
    if view.options:
        options = sql.SQL(" WITH ({})").format(
            sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(key), sql.Literal(value))
                for key, _, value in (option.partition("=") for option in view.options)
            )
        )
    query = server_text(view.definition)
    if view.relkind == "m":
        tablespace: sql.Composable = sql.SQL("")
        if view.tablespace:
            tablespace = sql.SQL(" TABLESPACE {}").format(sql.Identifier(view.tablespace))
        create: Statement = sql.SQL(
            "CREATE MATERIALIZED VIEW {name}{options}{tablespace} AS\n{query}\nWITH {data}"
        ).format(
            name=name,
            options=options,
            tablespace=tablespace,
            query=query,
            data=sql.SQL("DATA" if view.populated else "NO DATA"),
        )
    else:
        create = sql.SQL("CREATE VIEW {name}{options} AS\n{query}").format(
            name=name, options=options, query=query
        )
    statements = [
        create,
        sql.SQL("ALTER {} {} OWNER TO {}").format(kind, name, sql.Identifier(view.owner)),
    ]
    if view.comment is not None:
        statements.append(
            sql.SQL("COMMENT ON {} {} IS {}").format(kind, name, sql.Literal(view.comment))
        )
    for item in view.attachments:
        column = sql.Identifier(item.column or "")
        if item.kind in ("grant", "column-grant"):
            privilege = item.privilege or ""
            if privilege not in PRIVILEGES:
                raise ValueError(f"unknown privilege {privilege!r} on {view.qualified}")
            statements.append(
                sql.SQL("GRANT {privilege}{columns} ON {name} TO {grantee}{option}").format(
                    privilege=sql.SQL(privilege),
                    columns=sql.SQL(" ({})").format(column)
                    if item.kind == "column-grant"
                    else sql.SQL(""),
                    name=name,
                    grantee=sql.Identifier(item.grantee) if item.grantee else sql.SQL("PUBLIC"),
                    option=sql.SQL(" WITH GRANT OPTION" if item.grantable else ""),
                )
            )
        elif item.kind == "column-comment":
            statements.append(
                sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                    sql.Identifier(view.schema, view.name, item.column or ""),
                    sql.Literal(item.definition),
                )
            )
        elif item.kind == "column-default":
            statements.append(
                sql.SQL("ALTER {} {} ALTER COLUMN {} SET DEFAULT {}").format(
                    kind, name, column, server_text(item.definition or "")
                )
            )
        else:  # index, trigger, rule: statements the server printed
            statements.append(server_text(item.definition or ""))
    return statements


def _reason(target: Target, rewrites: Sequence[object]) -> str:
    if rewrites:
        remark = (
            "Widening to bigint (up to 9,223,372,036,854,775,807) ends it for good; the "
            "sequence and every foreign key change with the column, in one transaction."
        )
    elif not target.fed:
        remark = "The sequence feeds no column seqdoctor can see."
    else:
        remark = "The columns it feeds hold more than its limit lets it hand out."
    return sentences(*(f.message for f in target.findings), remark)


def _held_back(
    target: Target,
    *,
    dependents: ColumnDependents,
    total: int,
    unknown: Sequence[str],
    rewrites: bool,
    options: RepairOptions,
) -> str | None:
    blockers = _blockers(target, dependents)
    blockers += [
        f"{item.qualified} is of the domain type {item.column_type}"
        for item in _chain(target.columns, target.references)
        if item.column_type not in ("smallint", "integer")
    ]
    blockers += [
        f"{use.qualified} is in a foreign table: widen the remote column, then the local one"
        for use in target.columns
        if use.relkind == "f"
    ]
    if blockers:
        return (
            f"display only: in the way of the type change, and not dropped by seqdoctor: "
            f"{'; '.join(blockers)}. Change them by hand, then run fix again"
        )
    if not target.fed and target.raise_limit:
        return (
            "display only: the sequence feeds no column seqdoctor can see, so nothing shows "
            "what holds its values; widen it once whatever stores them holds bigint"
        )
    if not rewrites or options.allow_rewrite:
        return None
    if unknown:
        return (
            f"the size of {', '.join(unknown)} could not be read: pass --allow-rewrite to "
            "rewrite it anyway"
        )
    if total > options.rewrite_threshold:
        return (
            f"rewrites {size(total)}, over the {size(options.rewrite_threshold)} "
            "--rewrite-threshold: pass --allow-rewrite to apply it anyway, or convert "
            "online (a new bigint column filled in batches, then swapped; a later release)"
        )
    return None


def _blockers(target: Target, dependents: ColumnDependents) -> list[str]:
    """What stands in the way, each said once, after the columns it blocks.

    The partitions of one table share its reason ("the column belongs to a
    partition of public.payment"): one line for all of them, naming them.
    """
    names = {
        (i.table_oid, i.attnum): i.qualified for i in _chain(target.columns, target.references)
    }
    blocked: dict[str, list[str]] = {}
    for blocker in dependents.blockers:
        columns = blocked.setdefault(blocker.description, [])
        name = names.get(blocker.column) if blocker.column else None
        if name is not None and name not in columns:
            columns.append(name)
    return [
        f"{', '.join(columns)}: {description}" if columns else description
        for description, columns in blocked.items()
    ]


def duration(seconds: float) -> str:
    """A rough duration in words.

    >>> duration(0.004), duration(42), duration(5400), duration(9000)
    ('under a second', '42 seconds', '90 minutes', '2.5 hours')
    """
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return plural(round(seconds), "second")
    if seconds < 7200:
        return plural(round(seconds / 60), "minute")
    return f"{seconds / 3600:.1f} hours"
