"""Phase 1: the plan of an online widening, from a key family read from the catalog. Pure.

It names every column widened, everything attached to them and how it is
carried over, and every reason the online method cannot be made safe here
(refusals): a plan with refusals is printed, never run. Nothing attached to a
column is dropped silently: what cannot be carried over is a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from psycopg import sql

from seqdoctor.catalog.dependents import ColumnDependents
from seqdoctor.catalog.family import ColumnAttachment, FamilyTable, KeyFamily
from seqdoctor.catalog.model import qualify
from seqdoctor.guard.model import TRIGGER_PREFIX  # the guard's triggers: not user triggers
from seqdoctor.repairs.model import Statement, dollar_quoted, size
from seqdoctor.repairs.online import backfill, names, rebuild, shadow, swap
from seqdoctor.repairs.online.model import (
    Carried,
    OnlineOptions,
    OnlinePlan,
    Phase,
    Refusal,
    Step,
    TablePlan,
)
from seqdoctor.repairs.online.state import OURS, SwappedTable, detect, swapped_tables
from seqdoctor.repairs.widen import (
    REWRITE_BYTES_PER_SECOND,
    duration,
)

NARROW = ("int2", "int4")
MAX_COLUMNS = 1600  # MaxHeapAttributeNumber: dropped columns count
# pg_trigger.tgtype bits (catalog/pg_trigger.h)
ROW, BEFORE, INSERT, UPDATE = 1, 2, 4, 16
# Verification reads what the backfill wrote: a fraction of its time.
VERIFY_SHARE = 0.25
CIC_BROKEN = (140000, 140004)  # CREATE INDEX CONCURRENTLY could corrupt indexes (14.4 notes)


def build(
    family: KeyFamily,
    options: OnlineOptions,
    dependents: ColumnDependents | None = None,
) -> OnlinePlan:
    """The plan for *family*: refusals first, then the steps of phases 2-7 and their revert.

    *dependents*: the views and rules over the family's columns, which the
    swap drops and creates again.
    """
    dependents = dependents or ColumnDependents()
    tables = _tables(family)
    refusals = list(_refusals(family, tables, options))
    # What depends on a view the swap drops and creates again (the blockers on the
    # columns themselves are the attachments' refusals).
    refusals += [
        Refusal(b.description, "the swap drops and creates that view again; DROP VIEW refuses")
        for b in dependents.blockers
        if b.column is None
    ]
    refusals += [
        Refusal(
            v.qualified,
            "a materialized view over the key: filling it again would hold the swap's lock "
            "for as long as its query runs; drop it and create it again after the widening",
        )
        for v in dependents.views
        if v.relkind == "m"
    ]
    swapped, foreign = swapped_tables(family.tables, family.objects)
    # Deepest first: the family is found through the old columns of the tables
    # above (list_key_family.sql), so a table is cleaned up only after every
    # table below it, and a cleanup stopped midway is found whole again.
    deepest = {c.table_oid: c.depth for c in sorted(family.columns, key=lambda c: -c.depth)}
    swapped = tuple(
        sorted(
            swapped,
            key=lambda t: (-deepest.get(t.table.table_oid, 0), t.table.schema, t.table.table),
        )
    )
    refusals += foreign
    status = detect(tables, family.objects, swapped=swapped)
    refusals += status.conflicts
    carried = tuple(_carried(family))
    steps: list[Step] = []
    revert: list[Step] = []
    for table in tables:
        steps.append(
            Step(
                Phase.SHADOWED,
                table.qualified,
                f"Shadow columns and sync trigger on {table.qualified}",
                f"ACCESS EXCLUSIVE on {table.qualified}, taken under a "
                f"{options.lock_timeout:g} s lock_timeout and retried for up to "
                f"{options.lock_deadline:g} s",
                "milliseconds once the lock is granted (catalog only)",
                shadow.shadow_statements(table, options.lock_timeout),
            )
        )
    for table in tables:
        rows = table.table.rows_estimate
        rate = options.rows_per_second
        steps.append(
            Step(
                Phase.BACKFILLED,
                table.qualified,
                f"Backfill of {table.qualified} by "
                + (f"ranges of {table.batch_key}" if table.batch_key else "ctid page ranges"),
                "ROW EXCLUSIVE, and row locks on each range for one short transaction",
                f"about {duration(rows / rate)} for ~{rows:,} rows "
                f"(at {rate:,.0f} rows/s), up to {size(table.table.bytes)} more on disk, "
                f"about {size(round(rows * options.wal_per_row))} of WAL "
                f"(at {options.wal_per_row:,.0f} bytes/row)",
                (backfill.backfill_script(table, options.first_batch),),
                transaction=False,
            )
        )
    for table in tables:
        steps.append(
            Step(
                Phase.VERIFIED,
                table.qualified,
                f"Verification of {table.qualified} by value",
                "ACCESS SHARE",
                f"one read of {size(table.table.bytes)} (seqdoctor reads it in ranges)",
                # The mark first: rows past it are checked again inside the swap.
                (swap.MARKS_TABLE, swap.save_mark(table), _verification(table)),
            )
        )
    steps += _build_steps(family, tables, options)
    # Only the keys phase 5 makes for this family: a constraint merely named
    # like ours is left alone.
    old_keys = {names.replacement(k.oid): k for k in family.foreign_keys}
    for found in family.tables:
        constraints = [
            o.name
            for o in family.objects
            if o.kind == "constraint" and o.table_oid == found.table_oid and o.name in old_keys
        ]
        if constraints:
            # The referenced tables first, then this one: the writers' order (see rebuild).
            referenced = sorted(
                {
                    (k.referenced_schema, k.referenced_table)
                    for name in constraints
                    if (k := old_keys.get(name)) is not None
                    and k.referenced_table_oid != found.table_oid
                }
            )
            revert.append(
                Step(
                    Phase.BUILT,
                    found.qualified,
                    f"Revert of phase 5's foreign keys on {found.qualified}",
                    f"ACCESS EXCLUSIVE on {found.qualified} and the tables they reference, "
                    "under a lock_timeout, retried",
                    "milliseconds once the locks are granted",
                    (
                        shadow.lock_timeout_statement(options.lock_timeout),
                        *(
                            sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
                                sql.Identifier(*name)
                            )
                            for name in referenced
                        ),
                        *(
                            sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
                                sql.Identifier(found.schema, found.table), sql.Identifier(name)
                            )
                            for name in constraints
                        ),
                    ),
                )
            )
    for table_status in reversed(status.tables):
        table = table_status.table
        if table_status.state not in OURS:
            continue
        revert.append(
            Step(
                Phase.PLANNED,
                table.qualified,
                f"Revert of phases 2-5 on {table.qualified} (its indexes go with the columns)",
                f"ACCESS EXCLUSIVE on {table.qualified}, under a lock_timeout, retried",
                "milliseconds once the lock is granted (the columns' bytes stay until rows "
                "are rewritten)",
                shadow.revert_statements(
                    table, table_status.shadows, table_status.functions, options.lock_timeout
                ),
            )
        )
    if tables:
        steps.append(
            Step(
                Phase.SWAPPED,
                ", ".join(t.qualified for t in tables),
                "Swap: the bigint columns take the names, keys, indexes, defaults, sequences, "
                "grants and views; the old columns are kept under new names by a reverse trigger",
                f"ACCESS EXCLUSIVE on {', '.join(t.qualified for t in tables)}, all taken in one "
                f"statement bounded by {options.lock_timeout:g} s, retried with jitter for up to "
                f"{options.lock_deadline:g} s",
                "milliseconds once the locks are granted: catalog changes and an index range "
                "scan of the rows written since the verification",
                (
                    swap.MARKS_TABLE,
                    *swap.swap_statements(
                        family,
                        tables,
                        dependents,
                        {t.table.table_oid: swap.script_mark(t) for t in tables},
                        options.lock_timeout,
                        options.statement_timeout,
                    ),
                ),
            )
        )
        steps += [
            Step(
                Phase.SWAPPED,
                subject,
                f"After the swap: {subject}",
                "SHARE UPDATE EXCLUSIVE: reads and writes go on",
                "one read of the table",
                statements,
            )
            for subject, statements in swap.post_swap_statements(
                family, tables, options.build_timeout
            )
        ]
    elif not swapped:
        sequences = tuple(swap.sequence_only(family))
        if sequences:
            steps.append(
                Step(
                    Phase.SWAPPED,
                    ", ".join(s.qualified for s in family.sequences),
                    "The sequence AS bigint: its column is bigint already",
                    "SHARE ROW EXCLUSIVE on the sequence: nextval() waits for milliseconds",
                    "milliseconds",
                    (shadow.lock_timeout_statement(options.lock_timeout), *sequences),
                )
            )
    # Constraints a revert left half built on the old columns go first: a child's
    # foreign key to a parent's old column would keep that column from going.
    ours = [
        (table, o.name)
        for table in swapped
        for o in family.objects
        if o.kind == "constraint" and o.table_oid == table.table.table_oid
    ]
    cleanup = tuple(
        Step(
            Phase.CLEANED,
            table.qualified,
            f"Cleanup of {table.qualified}: constraints a revert began dropped",
            f"ACCESS EXCLUSIVE on {table.qualified} and the tables they reference, "
            "under a lock_timeout, retried",
            "milliseconds once the locks are granted",
            (
                shadow.lock_timeout_statement(options.lock_timeout),
                *(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
                        sql.Identifier(table.table.schema, table.table.table),
                        sql.Identifier(name),
                    )
                    for t, name in ours
                    if t is table
                ),
            ),
        )
        for table in swapped
        if any(t is table for t, _ in ours)
    ) + tuple(
        Step(
            Phase.CLEANED,
            table.qualified,
            f"Cleanup of {table.qualified}: the reverse trigger and the old columns dropped",
            f"ACCESS EXCLUSIVE on {table.qualified}, under a lock_timeout, retried",
            "milliseconds once the lock is granted (the old columns' bytes stay in the rows "
            "until they are rewritten)",
            (
                shadow.lock_timeout_statement(options.lock_timeout),
                *swap.cleanup_statements(
                    table.table.schema, table.table.table, table.olds, table.functions
                ),
            ),
        )
        for table in swapped
    )
    seconds = _estimate(family, tables, options)
    in_time = None if options.runway is None else seconds < options.runway
    notes = list(_notes(family, tables))
    if in_time is not None:
        notes.insert(
            0,
            f"phases 3-5 take about {duration(seconds)} at {options.rows_per_second:,.0f} "
            f"rows/s; the key runs out in about {duration(options.runway or 0)}: "
            + (
                "the online widening finishes first"
                if in_time
                else "it would run out first: widen offline in a maintenance window, "
                "or buy time first (see docs/online-widening.md)"
            ),
        )
    return OnlinePlan(
        family=family,
        tables=tables,
        refusals=tuple(refusals),
        carried=carried,
        steps=tuple(steps),
        revert_steps=tuple(revert),
        notes=tuple(notes),
        dependents=dependents,
        cleanup_steps=cleanup,
        mirror=mirror_tables(family, swapped),
        options=options,
        seconds=seconds,
        in_time=in_time,
    )


def _estimate(family: KeyFamily, tables: Iterable[TablePlan], options: OnlineOptions) -> float:
    """Seconds for phases 3-5: rows backfilled and read again, each index built.

    Rough, and said so: row estimates come from the last ANALYZE, index builds
    at the rewrite speed the offline plan assumes (each reads its table once).
    """
    seconds = 0.0
    for table in tables:
        seconds += table.table.rows_estimate / options.rows_per_second * (1 + VERIFY_SHARE)
        builds = len(rebuild.index_builds(table, family.attachments))
        seconds += builds * table.table.bytes / REWRITE_BYTES_PER_SECOND
    return seconds


def _verification(table: TablePlan) -> Statement:
    """Phase 4 for psql: stop the script (ON_ERROR_STOP) if any row differs from its shadow."""
    check = sql.SQL(
        "\nBEGIN\n"
        "    IF EXISTS (SELECT FROM {table} WHERE {differs}) THEN\n"
        "        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',\n"
        "            MESSAGE = {message};\n"
        "    END IF;\n"
        "END\n"
    ).format(
        table=shadow.table_identifier(table),
        differs=shadow.differs(table),
        message=sql.Literal(
            f"rows of {table.qualified} differ from their shadows: run its backfill again"
        ),
    )
    return sql.SQL("DO {}").format(dollar_quoted(check.as_string()))


def _build_steps(
    family: KeyFamily, tables: Iterable[TablePlan], options: OnlineOptions
) -> Iterator[Step]:
    """Phase 5 as psql would run it: each index CONCURRENTLY, then each foreign key."""
    for table in tables:
        for index in rebuild.index_builds(table, family.attachments):
            yield Step(
                Phase.BUILT,
                table.qualified,
                f"Index {index.name} on {table.qualified} in place of {index.old.name}",
                f"SHARE UPDATE EXCLUSIVE on {table.qualified}: reads and writes go on; "
                f"waits up to {options.lock_deadline:g} s for older transactions",
                f"one read of {size(table.table.bytes)} and the index written "
                "(an INVALID leftover is dropped CONCURRENTLY first)",
                (
                    sql.SQL("SET lock_timeout = {}").format(
                        sql.Literal(f"{round(options.lock_deadline * 1000)}ms")
                    ),
                    sql.SQL("SET statement_timeout = {}").format(
                        sql.Literal(f"{round(options.build_timeout * 1000)}ms")
                    ),
                    index.statement(table),
                ),
                transaction=False,
            )
    for key in rebuild.foreign_key_builds(tables, family.foreign_keys):
        where = qualify(key.old.schema, key.old.table)
        referenced = qualify(key.old.referenced_schema, key.old.referenced_table)
        yield Step(
            Phase.BUILT,
            where,
            f"Foreign key {key.name} on {where} in place of {key.old.name}",
            f"SHARE ROW EXCLUSIVE on {where} and {referenced} (writes wait), under a "
            f"{options.lock_timeout:g} s lock_timeout, retried",
            "milliseconds once the locks are granted",
            (shadow.lock_timeout_statement(options.lock_timeout), *key.add()),
        )
        if key.validate:
            yield Step(
                Phase.BUILT,
                where,
                f"Validation of {key.name}",
                f"SHARE UPDATE EXCLUSIVE on {where}, ROW SHARE on {referenced}: writes go on",
                f"one read of {where}",
                (
                    shadow.lock_timeout_statement(options.lock_timeout),
                    shadow.set_statement_timeout(options.build_timeout),
                    *key.validation(),
                ),
            )


def mirror_tables(family: KeyFamily, swapped: Iterable[SwappedTable]) -> tuple[TablePlan, ...]:
    """The swap undone, as a widening the other way: each new column's "shadow" is the old
    column the reverse trigger kept, and the new column, renamed, is dropped at the end."""
    columns = {(c.table_oid, c.column): c for c in family.columns}
    found = []
    for table in swapped:
        pairs = [
            (old, columns.get((table.table.table_oid, new)), kind) for old, new, kind in table.pairs
        ]
        kept = [(old, column, kind) for old, column, kind in pairs if column is not None]
        if not kept:
            continue
        found.append(
            TablePlan(
                table.table,
                tuple(column for _, column, _ in kept),
                table.table.batch_key,
                shadows=tuple(old for old, _, _ in kept),
                parked=tuple(
                    names.shadow_column(names.parse_old_column(old) or 0) for old, _, _ in kept
                ),
                into=kept[0][2],
                mirror=True,
            )
        )
    depth = {c.table_oid: c.depth for c in sorted(family.columns, key=lambda c: -c.depth)}
    return tuple(
        sorted(found, key=lambda t: (depth[t.table.table_oid], t.table.schema, t.table.table))
    )


def _tables(family: KeyFamily) -> tuple[TablePlan, ...]:
    """The tables with narrow family columns: the key's table first, then by depth and name."""
    depth: dict[int, int] = {}
    for column in family.columns:
        depth[column.table_oid] = min(depth.get(column.table_oid, column.depth), column.depth)
    found = []
    for table in family.tables:
        columns = tuple(
            sorted(
                (
                    c
                    for c in family.columns
                    if c.table_oid == table.table_oid and c.type_name in NARROW and not c.domain
                ),
                key=lambda c: c.attnum,
            )
        )
        if columns:
            found.append(TablePlan(table, columns, table.batch_key))
    return tuple(
        sorted(found, key=lambda t: (depth[t.table.table_oid], t.table.schema, t.table.table))
    )


def _refusals(
    family: KeyFamily, tables: Iterable[TablePlan], options: OnlineOptions
) -> Iterator[Refusal]:
    version = family.server.server_version_num
    if CIC_BROKEN[0] <= version < CIC_BROKEN[1]:
        yield Refusal(
            "server",
            f"PostgreSQL {family.server.server_version}: CREATE INDEX CONCURRENTLY could "
            "corrupt indexes before 14.4; upgrade to the latest 14.x first",
        )
    for column in family.columns:
        if column.domain:
            yield Refusal(
                column.qualified,
                f"its type is the domain {column.column_type}: the online widening changes "
                "plain integer columns only",
            )
        if column.generated:
            yield Refusal(column.qualified, "it is a generated column")
    for table in tables:
        yield from _table_refusals(table.table, version, options)
        if table.table.columns + len(table.columns) > MAX_COLUMNS:
            yield Refusal(
                table.qualified,
                f"{len(table.columns)} more columns would pass PostgreSQL's limit of "
                f"{MAX_COLUMNS} (dropped columns count)",
            )
    yield from _attachment_refusals(family, options)


def _table_refusals(table: FamilyTable, version: int, options: OnlineOptions) -> Iterator[Refusal]:
    name = table.qualified
    if table.relkind == "p" or table.partition:
        yield Refusal(
            name,
            "partitioned tables are not widened online yet (PRIMARY KEY USING INDEX and "
            "CREATE INDEX CONCURRENTLY do not work on a partitioned table)",
        )
    if table.inheritance:
        yield Refusal(name, "tables in an inheritance tree are not widened online")
    if table.row_type_users:
        yield Refusal(
            name,
            f"its row type is the type of {', '.join(table.row_type_users)}: stored values "
            "of that type would change meaning when its columns change",
        )
    if table.persistence == "t":
        yield Refusal(name, "a temporary table")
    if not table.owned:
        yield Refusal(name, "only its owner can add the shadow columns: run as the owner")
    if not table.can_create:
        yield Refusal(
            name,
            f"CREATE on schema {qualify(table.schema)} is needed for the sync trigger's function",
        )
    if table.batch_key is None and version < 140000:
        yield Refusal(
            name,
            "no unique NOT NULL integer column to backfill by, and ctid ranges need PostgreSQL 14",
        )
    if not options.allow_replication:
        if table.publications:
            yield Refusal(
                name,
                f"published ({', '.join(table.publications)}): the shadow columns must exist "
                "on every subscriber first, and the backfill replicates every row; confirm "
                "that you handle the subscribers to go ahead",
            )
        if table.subscribed:
            yield Refusal(
                name,
                "a logical replication target: its publisher's table must be widened in step; "
                "confirm that you handle it to go ahead",
            )


def _attachment_refusals(family: KeyFamily, options: OnlineOptions) -> Iterator[Refusal]:
    columns = {c.key: c for c in family.columns}
    tables = {t.table_oid: t for t in family.tables}
    for item in family.attachments:
        where = (
            columns[(item.table_oid, item.attnum)].qualified
            if item.attnum is not None and (item.table_oid, item.attnum) in columns
            else tables[item.table_oid].qualified
            if item.table_oid in tables
            else str(item.table_oid)
        )
        if item.kind == "generated":
            yield Refusal(
                where,
                f"{item.name} is computed from it: a generated column's expression cannot "
                "move to the new column without a rewrite",
            )
        elif item.kind == "function":
            yield Refusal(
                where,
                f"{item.name} (a SQL-standard function body) reads it by column number: "
                "recreate it by hand after the widening, or drop it first",
            )
        elif item.kind == "index" and item.operator_class:
            yield Refusal(
                where,
                f"index {item.name} uses the operator class {item.operator_class} on it, "
                "not the default: seqdoctor cannot tell which class does the same for bigint",
            )
        elif item.kind == "constraint" and item.constraint_type == "x":
            yield Refusal(
                where,
                f"exclusion constraint {item.name}: it cannot be attached from an index "
                "built concurrently",
            )
        elif item.kind == "trigger":
            yield from _trigger_refusals(item, where, options)
        elif item.kind == "publication":
            yield Refusal(
                where,
                f"{item.name} reads it: the swap does not create a {item.kind} again yet; "
                "drop it first and create it again after the widening",
            )


def _trigger_refusals(
    item: ColumnAttachment, where: str, options: OnlineOptions
) -> Iterator[Refusal]:
    if item.name.startswith(TRIGGER_PREFIX) or item.name in {
        names.SYNC_TRIGGER,
        names.BACK_TRIGGER,
    }:
        return
    fires_on_update = bool(item.trigger_type & UPDATE) and item.enabled != "D"
    if fires_on_update and not item.column_list and not options.allow_user_triggers:
        yield Refusal(
            where,
            f"trigger {item.name} fires on every UPDATE, so on every backfilled row: "
            "allow user triggers to go ahead",
        )
    before_row = item.trigger_type & (ROW | BEFORE) == ROW | BEFORE
    writes = bool(item.trigger_type & (INSERT | UPDATE))
    if (
        before_row
        and writes
        and item.enabled != "D"
        and item.name.encode() > names.SYNC_TRIGGER.encode()
    ):
        yield Refusal(
            where,
            f"BEFORE trigger {item.name} fires after {names.SYNC_TRIGGER} (triggers fire in "
            "name order) and could change the key after it was copied: rename it",
        )


def _carried(family: KeyFamily) -> Iterator[Carried]:
    """What moves to the new columns, and in which phase: the plan's promise, shown in full."""
    columns = {c.key: c for c in family.columns}
    for column in family.columns:
        if column.type_name not in NARROW:
            continue
        if column.acl:
            yield Carried(
                "column-grant", column.qualified, "granted again on the new column", Phase.SWAPPED
            )
        if column.comment is not None:
            yield Carried("comment", column.qualified, "set on the new column", Phase.SWAPPED)
        if column.identity:
            yield Carried(
                "identity",
                column.qualified,
                "identity dropped and added again on the new column with the same next "
                "value and options",
                Phase.SWAPPED,
            )
        elif column.default_expression is not None:
            yield Carried(
                "default",
                column.qualified,
                f"DEFAULT {column.default_expression} moved to the new column",
                Phase.SWAPPED,
            )
    for sequence in family.sequences:
        if sequence.type_name in NARROW and sequence.how != "default":
            yield Carried(
                "sequence",
                sequence.qualified,
                "AS bigint (MAXVALUE raised only where it was the old type's bound)",
                Phase.SWAPPED,
            )
    for key in family.foreign_keys:
        yield Carried(
            "foreign-key",
            f"{key.name} on {qualify(key.schema, key.table)}",
            "added NOT VALID on the new columns with the same options, then validated",
            Phase.BUILT,
        )
    for item in family.attachments:
        owner = columns.get((item.table_oid, item.attnum or 0))
        subject = f"{item.name} ({owner.qualified})" if owner else item.name
        how = _how(item)
        if how is not None:
            yield Carried(item.kind, subject, how[0], how[1])


def _how(item: ColumnAttachment) -> tuple[str, Phase] | None:
    if item.kind == "index":
        if item.constraint_type in {"p", "u"}:
            return (
                "unique index built CONCURRENTLY on the new columns, attached with "
                "ADD CONSTRAINT ... USING INDEX in the swap",
                Phase.BUILT,
            )
        if item.constraint_type == "x":
            return None
        rewritten = item.partial or item.expressions
        return (
            "built CONCURRENTLY on the new columns"
            + (" (predicate and expressions rewritten, checked by round trip)" if rewritten else "")
            + (", made the replica identity in the swap" if item.replica_identity else "")
            + (", marked for CLUSTER in the swap" if item.clustered else ""),
            Phase.BUILT,
        )
    if item.kind == "constraint":
        if item.constraint_type == "c":
            return ("added NOT VALID in the swap, validated after it", Phase.SWAPPED)
        if item.constraint_type == "n":
            return ("the new column is NOT NULL from phase 2", Phase.SHADOWED)
        return None  # p, u: their index carries them; x: refused
    if item.kind == "trigger" and item.column_bound and not item.name.startswith("zz_seqdoctor"):
        return ("created again in the swap from its definition (UPDATE OF, WHEN)", Phase.SWAPPED)
    if item.kind in {"view", "rule", "policy", "statistics"}:
        return ("dropped and created again in the swap transaction", Phase.SWAPPED)
    return None


def _notes(family: KeyFamily, tables: Iterable[TablePlan]) -> Iterator[str]:
    if any(item.name.startswith(TRIGGER_PREFIX) for item in family.attachments):
        yield (
            "seqdoctor guard triggers are installed on this family: they keep guarding "
            "the key through every phase (the swap creates them again on the new column)"
        )
    for table in tables:
        if table.batch_key is None:
            yield (
                f"{table.qualified} has no single integer key: its backfill walks ctid page ranges"
            )
    skipped = [c.qualified for c in family.columns if c.type_name not in NARROW and not c.domain]
    if skipped:
        yield f"already wide, left as they are: {', '.join(skipped)}"
