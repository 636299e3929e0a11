"""Sequences moved many at a time: the same rules as one at a time, and the same outcomes.

``fix --apply`` moves the sequences of its SEQ001 repairs together
(repairs.apply.BATCH at a time): first each to the next value its plan worked
out, or, where the plan has none or the sequence changed since, with one
statement that reads where it must go and sets it; then reading whether rows
landed past them. Whatever goes wrong in a batch ends as it does for one
sequence on its own: at a lock not granted, the plans whose sequence moved
before it say so, and the plans run one by one with their retries; a sequence
the batch may not move (its limit, a privilege) fails alone, in its turn,
after those before it moved and before those after it are run; a value handed
out between the read and the setval() is never taken back. The re-check after
reads again the tables written since the plan, and only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from seqdoctor.auditing import KeptConnections
from seqdoctor.catalog import probes
from seqdoctor.catalog.model import ColumnUse, SequenceState
from seqdoctor.catalog.reading import owner
from seqdoctor.repairs import Outcome, Retries, apply, apply_fix, plan_fix
from seqdoctor.repairs.advance import first_statements, move_statements
from seqdoctor.repairs.apply import Step
from seqdoctor.repairs.model import Advance, Deferred, Plan

Connection = psycopg.Connection[tuple[Any, ...]]
FAST = Retries(retries=1, backoff=0.05)
TABLES = [f"t{i}" for i in range(6)]


def behind(conn: Connection, *, maxvalue: dict[str, int] | None = None) -> None:
    """Six tables t0..t5, each sequence (never called: next value 1) behind rows 1..10."""
    for table in TABLES:
        conn.execute(
            sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY); INSERT INTO {} SELECT 1").format(
                sql.Identifier(table), sql.Identifier(table)
            )
        )
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT generate_series(2, 10)").format(sql.Identifier(table))
        )
        if maxvalue and table in maxvalue:
            conn.execute(
                sql.SQL("ALTER SEQUENCE {} MAXVALUE {}").format(
                    sql.Identifier(f"{table}_id_seq"), sql.Literal(maxvalue[table])
                )
            )


def next_values(conn: Connection) -> list[int]:
    values = []
    for table in TABLES:
        row = conn.execute(
            sql.SQL(
                "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {}"
            ).format(sql.Identifier(f"{table}_id_seq"))
        ).fetchone()
        assert row is not None
        values.append(int(row[0]))
    return values


def test_a_batch_moves_every_sequence_and_logs_each(conn: Connection, dsn: str) -> None:
    behind(conn)
    fix = plan_fix(dsn, codes=["SEQ001"])
    steps: list[str] = []

    result = apply_fix(dsn, fix, log=lambda step: steps.append(f"[{step.plan}] {step.result}"))

    assert [r.outcome for r in result.results] == [Outcome.APPLIED] * 6
    assert {r.detail for r in result.results} == {"next value 1 → 11"}
    assert next_values(conn) == [11] * 6
    # Round 1 moved each, round 2 found nothing more to move: one line each.
    assert steps == [f"[{n}] next value 1 → 11" for n in range(1, 7)] + [
        f"[{n}] no rows" for n in range(1, 7)
    ]
    assert int(result.exit_status) == 0


def test_a_batch_is_sent_in_the_connections_encoding(conn: Connection, dsn: str) -> None:
    # A client in LATIN1 (PGCLIENTENCODING, or a database made in it): names sent as
    # UTF-8 named no such sequence, and every batch fell back to one plan at a time.
    for table in ("café", "thé"):
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (id serial PRIMARY KEY); INSERT INTO {} VALUES (1), (2)"
            ).format(sql.Identifier(table), sql.Identifier(table))
        )
    latin = make_conninfo(dsn, client_encoding="LATIN1")
    fix = plan_fix(latin, codes=["SEQ001"])
    steps: list[str] = []

    result = apply_fix(latin, fix, log=lambda step: steps.append(f"[{step.plan}] {step.what}"))

    assert [r.detail for r in result.results] == ["next value 1 → 3"] * 2
    together = "setval() to the value planned in one transaction with 1 other sequences"
    assert steps[:2] == [f"[1] {together}", f"[2] {together}"]
    assert int(result.exit_status) == 0


def test_a_locked_table_stops_its_batch_where_its_data_is_read_again(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    fix = plan_fix(dsn, codes=["SEQ001"], lock_timeout=0.1)

    with psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE t3 IN ACCESS EXCLUSIVE MODE")  # a migration, say
        result = apply_fix(dsn, fix, retries=FAST)

    # Round 1 set every sequence to its planned value, reading no table; round 2's
    # read of t3 waited for the lock: the batch ran one by one, and stopped at t3.
    outcomes = [r.outcome for r in result.results]
    assert outcomes == [Outcome.APPLIED] * 3 + [Outcome.FAILED] + [Outcome.APPLIED] * 2
    assert result.results[3].detail == (
        "next value 1 → 11; then its locks were not granted in 2 attempts of 0.1 s: another "
        "session holds them"
    )
    assert [r.detail for r in result.results[:3]] == ["next value 1 → 11"] * 3
    # Moved, not checked again: said so, not "not run".
    assert [r.detail for r in result.results[4:]] == [
        "next value 1 → 11; its data not read again for rows landing past it: an earlier plan "
        "failed"
    ] * 2
    assert next_values(conn) == [11] * 6
    assert int(result.exit_status) == 2
    assert plan_fix(dsn, codes=["SEQ001"]).plans == ()


def test_a_sequence_at_its_limit_fails_alone_in_its_turn(conn: Connection, dsn: str) -> None:
    behind(conn, maxvalue={"t3": 5})
    fix = plan_fix(dsn, codes=["SEQ001"])
    assert len(fix.plans) == 6

    result = apply_fix(dsn, fix)

    outcomes = [r.outcome for r in result.results]
    assert outcomes == [Outcome.APPLIED] * 3 + [Outcome.FAILED] + [Outcome.NOT_RUN] * 2
    assert "the data reaches the sequence's limit" in result.results[3].detail
    assert [r.detail for r in result.results[:3]] == ["next value 1 → 11"] * 3
    assert next_values(conn) == [11, 11, 11, 1, 1, 1]


def test_a_sequence_the_role_may_not_set_fails_alone_in_its_turn(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    conn.execute("DROP ROLE IF EXISTS batch_mover")
    conn.execute("CREATE ROLE batch_mover LOGIN")
    try:
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO batch_mover")
        conn.execute("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO batch_mover")
        conn.execute("GRANT UPDATE ON t0_id_seq, t1_id_seq TO batch_mover")
        as_mover = f"{dsn} user=batch_mover"
        fix = plan_fix(as_mover, codes=["SEQ001"])

        result = apply_fix(as_mover, fix)

        outcomes = [r.outcome for r in result.results]
        assert outcomes == [Outcome.APPLIED] * 2 + [Outcome.FAILED] + [Outcome.NOT_RUN] * 3
        assert result.results[2].detail.startswith("permission denied for sequence t2_id_seq")
        assert next_values(conn) == [11, 11, 1, 1, 1, 1]
    finally:
        conn.execute("DROP OWNED BY batch_mover")
        conn.execute("DROP ROLE batch_mover")


def test_values_handed_out_between_the_read_and_the_setval_are_never_taken_back(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    (plan, *_) = plan_fix(dsn, codes=["SEQ001"]).plans
    assert plan.advance is not None
    assert plan.advance.sequence.name == "t0_id_seq"
    with psycopg.connect(dsn, autocommit=True) as writer:  # the application, meanwhile
        writer.execute("SELECT nextval('t0_id_seq') FROM generate_series(1, 100)")
    # The statement's own read, as it was an instant before the writer: next value 1.
    stale = sql.SQL(
        "SELECT 't0_id_seq'::regclass AS seq, 1::int8 AS step, 1::int8 AS low,"
        " 9223372036854775807::int8 AS high, 1::numeric AS next_value, 10::numeric AS edge"
    )
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(move_statements([stale]))
        ((oid, before, step, set_to),) = cursor.fetchall()

    assert (oid, before, step) == (plan.advance.sequence.oid, 1, 1)
    assert set_to == 100  # the writer's last value, not 10
    assert next_values(conn) == [101] + [1] * 5


def test_the_recheck_reads_again_only_the_tables_written_since_the_plan(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    fix = plan_fix(dsn, codes=["SEQ001"])

    def meanwhile(step: Step) -> None:
        if step.plan == 6 and step.result == "no rows":  # the last round found nothing to move
            with psycopg.connect(dsn, autocommit=True) as writer:  # an explicit id, past it
                writer.execute("INSERT INTO t5 VALUES (500)")
                writer.execute("SELECT pg_stat_force_next_flush()")  # counted now, not later

    result = apply_fix(dsn, fix, log=meanwhile)

    assert result.after is not None
    carried = {result.after.snapshot.use(key).table for key in result.after.snapshot.carried}
    assert carried == {"t0", "t1", "t2", "t3", "t4"}  # their maxima, as read when planning
    # No collision carried from before the move; the row written meanwhile is seen.
    assert [str(f.column) for f in result.still_found] == ["public.t5.id"]
    assert int(result.exit_status) == 2


def test_a_row_landing_past_a_moved_sequence_moves_it_again_past_every_column_it_feeds(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    # t0's sequence feeds a second table too: the row lands there.
    conn.execute("CREATE TABLE t0_more (id int4 PRIMARY KEY DEFAULT nextval('t0_id_seq'))")
    fix = plan_fix(dsn, codes=["SEQ001"])
    steps: list[str] = []

    def meanwhile(step: Step) -> None:
        steps.append(f"[{step.plan}] {step.what}: {step.result}")
        if step.plan == 6 and step.what.startswith("setval()"):  # round 1 committed
            with psycopg.connect(dsn, autocommit=True) as writer:  # explicit ids, past them
                writer.execute("INSERT INTO t0_more VALUES (500)")
                writer.execute("INSERT INTO t3 VALUES (11), (12)")

    result = apply_fix(dsn, fix, log=meanwhile)

    assert [r.outcome for r in result.results] == [Outcome.APPLIED] * 6
    details = [r.detail for r in result.results]
    assert (
        details
        == ["next value 1 → 501"]
        + ["next value 1 → 11"] * 2
        + ["next value 1 → 13"]
        + ["next value 1 → 11"] * 2
    )
    assert next_values(conn) == [501, 11, 11, 13, 11, 11]
    # Round 2 read the data again, and moved only the two sequences a row landed past.
    assert steps[6:] == [
        f"[{n}] round 2: data read again in one transaction with 5 other sequences: no rows"
        for n in (2, 3, 5, 6)
    ] + [
        "[1] round 2: setval() in one transaction with 5 other sequences: next value 11 → 501",
        "[4] round 2: setval() in one transaction with 5 other sequences: next value 11 → 13",
        "[1] round 3: data read again in one transaction with 5 other sequences: no rows",
        "[4] round 3: data read again in one transaction with 5 other sequences: no rows",
    ]
    assert int(result.exit_status) == 0


def test_ids_kept_past_a_sequences_maxvalue_end_the_rounds_after_one_look(
    conn: Connection, dsn: str
) -> None:
    behind(conn, maxvalue={"t2": 100})
    conn.execute("INSERT INTO t2 VALUES (1000)")  # above MAXVALUE on purpose: never handed out
    fix = plan_fix(dsn, codes=["SEQ001"])
    steps: list[str] = []

    result = apply_fix(dsn, fix, log=lambda step: steps.append(f"[{step.plan}] {step.result}"))

    assert [r.detail for r in result.results] == ["next value 1 → 11"] * 6
    assert next_values(conn) == [11] * 6
    # Its probe counts 1,000; the moving statement, run again, leaves it where it is.
    assert steps[6:] == [f"[{n}] no rows" for n in (1, 2, 4, 5, 6)] + ["[3] no rows"]
    assert int(result.exit_status) == 0


def test_the_recheck_after_moves_alone_keeps_the_catalog_read_when_planning(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    conn.execute("SELECT pg_stat_force_next_flush()")  # the tables' creation counted now
    fix = plan_fix(dsn, codes=["SEQ001"])

    result = apply_fix(dsn, fix)

    # setval() changes no catalog row: the catalog's mark has not moved, nothing is read again.
    assert result.after is not None
    assert result.after.snapshot.inventory_carried
    assert next_values(conn) == [11] * 6
    assert int(result.exit_status) == 0


def test_a_sequence_changed_since_the_plan_is_not_set_to_the_value_planned(
    conn: Connection, dsn: str
) -> None:
    behind(conn)
    fix = plan_fix(dsn, codes=["SEQ001"])
    assert [p.advance.planned for p in fix.plans if p.advance] == [11] * 6
    # Between the plan and --apply: the application took ids, a migration restarted a
    # sequence further on, another changed an increment, and a row landed past the plan.
    conn.execute("SELECT nextval('t0_id_seq') FROM generate_series(1, 100)")
    conn.execute("ALTER SEQUENCE t1_id_seq RESTART WITH 500")  # not called: next value 500
    conn.execute("ALTER SEQUENCE t2_id_seq INCREMENT BY 4")
    conn.execute("INSERT INTO t4 VALUES (30)")
    # Counted now: the re-check keeps the planning's catalog until the counters move.
    conn.execute("SELECT pg_stat_force_next_flush()")
    steps: list[str] = []

    result = apply_fix(dsn, fix, log=lambda step: steps.append(f"[{step.plan}] {step.what}"))

    # Never back: t0 and t1 stay where they went. t2 on its own new progression
    # (1, 5, 9, 13: last value 9), read again rather than set to 11; t4 past the row.
    values = next_values(conn)  # as if each still counted by 1
    assert values[:2] + values[3:] == [101, 500, 11, 31, 11]
    assert conn.execute("SELECT last_value FROM t2_id_seq").fetchone() == (9,)
    assert [r.detail for r in result.results] == [
        "nothing to do: the sequence is already past the data",
        "nothing to do: the sequence is already past the data",
        "next value 1 → 13",
        "next value 1 → 11",
        "next value 1 → 31",
        "next value 1 → 11",
    ]
    planned = "setval() to the value planned in one transaction with 5 other sequences"
    assert [s for s in steps if s.endswith(planned)] == [f"[{n}] {planned}" for n in range(1, 7)]
    assert [f.message for f in result.still_found] == []
    assert int(result.exit_status) == 0


def test_batches_on_two_connections_move_each_sequence_where_its_column_was_read(
    conn: Connection, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sequence is moved over the connection whose server process read its column in
    the audit (and has its table, index and sequence open); the results in plan order."""
    behind(conn)
    monkeypatch.setattr(apply, "BATCH", 2)  # batches of two, over the two connections
    read_on: dict[int, int] = {}  # sequence oid: the server process that read its column
    moved_on: dict[int, int] = {}  # sequence oid: the server process that moved it
    read_batch, apply_alone = probes._read_batch, apply._apply

    def reading(on: Connection, batch: Sequence[ColumnUse], *args: Any) -> probes.Probed:
        read_on.update((use.sequence_oid, on.info.backend_pid) for use in batch)
        return read_batch(on, batch, *args)

    def moving(on: Connection, number: int, plan: Plan, **kwargs: Any) -> apply.PlanResult:
        assert plan.advance is not None
        moved_on[plan.advance.sequence.oid] = on.info.backend_pid
        return apply_alone(on, number, plan, **kwargs)

    class Watched(apply._Batch):
        def run(self) -> list[apply.PlanResult]:
            for plan in self.plans:
                assert plan.advance is not None
                moved_on[plan.advance.sequence.oid] = self.conn.info.backend_pid
            return super().run()

    monkeypatch.setattr(probes, "_read_batch", reading)
    monkeypatch.setattr(apply, "_apply", moving)
    monkeypatch.setattr(apply, "_Batch", Watched)
    with closing(KeptConnections()) as kept:
        fix = plan_fix(dsn, codes=["SEQ001"], kept=kept)
        audited = [c.info.backend_pid for c in kept.take(dsn, 2)]
        steps: list[Step] = []

        result = apply_fix(dsn, fix, log=steps.append, kept=kept)

    assert len(moved_on) == 6
    assert moved_on == {oid: read_on[oid] for oid in moved_on}
    assert {audited[owner(oid, 2)] for oid in moved_on} == set(moved_on.values())
    assert [r.plan for r in result.results] == list(fix.plans)
    assert [r.detail for r in result.results] == ["next value 1 → 11"] * 6
    assert next_values(conn) == [11] * 6
    assert {s.plan for s in steps} == set(range(1, 7))
    assert result.after is not None
    assert int(result.exit_status) == 0


def test_a_failed_batch_on_two_connections_stops_those_not_started_and_says_what_moved(
    conn: Connection, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    behind(conn)
    # The sequences one connection moves, in order, two a batch: the first of the larger
    # share (three at least of six) cannot move, so that a batch after its own is left.
    shares: dict[int, list[int]] = {}
    for at, table in enumerate(TABLES):
        row = conn.execute("SELECT %s::regclass::oid::int8", [f"{table}_id_seq"]).fetchone()
        assert row is not None
        shares.setdefault(owner(row[0], 2), []).append(at)
    share = max(shares.values(), key=len)
    failing = share[0]
    conn.execute(
        sql.SQL("ALTER SEQUENCE {} MAXVALUE 5").format(sql.Identifier(f"{TABLES[failing]}_id_seq"))
    )
    monkeypatch.setattr(apply, "BATCH", 2)
    with closing(KeptConnections()) as kept:
        fix = plan_fix(dsn, codes=["SEQ001"], kept=kept)

        result = apply_fix(dsn, fix, kept=kept)

    outcomes = [r.outcome for r in result.results]
    assert outcomes[failing] is Outcome.FAILED
    others = outcomes[:failing] + outcomes[failing + 1 :]
    assert set(others) <= {Outcome.APPLIED, Outcome.NOT_RUN}
    # On its connection, the batches after its own did not start; the other connection's
    # ran beside it or did not start: either way, said as it is.
    assert [outcomes[i] for i in share[2:]] == [Outcome.NOT_RUN] * len(share[2:])
    moved = [11 if outcome is Outcome.APPLIED else 1 for outcome in outcomes]
    assert next_values(conn) == moved
    assert int(result.exit_status) == 2


def test_an_interrupted_apply_starts_no_batch_after_it(
    conn: Connection, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    behind(conn)
    monkeypatch.setattr(apply, "BATCH", 2)  # three batches
    fix = plan_fix(dsn, codes=["SEQ001"])

    def interrupted(step: Step) -> None:  # Ctrl-C, as the first batch logs its first step
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_fix(dsn, fix, log=interrupted)

    assert next_values(conn) == [11, 11, 1, 1, 1, 1]  # the first batch's round 1 only


# The setting statement of a batch's first round, against the rule it follows: the
# sequence is set to the value planned only while it is defined as audited, still before
# that value and on the same progression. (increment, what happens between plan and apply)
CHANGES = [
    (increment, change)
    for increment in (1, 3, -1, -3)
    for change in (
        "",
        "SELECT nextval('s')",
        "SELECT nextval('s') FROM generate_series(1, 4)",  # to the value just before planned
        "SELECT nextval('s') FROM generate_series(1, 5)",  # handed out the value planned
        "SELECT nextval('s') FROM generate_series(1, 9)",
        "SELECT setval('s', 2 * {step} + 1)",  # off the progression (3 and -3), before planned
        "SELECT setval('s', {start}, false)",
        "ALTER SEQUENCE s INCREMENT BY {twice}",
        "ALTER SEQUENCE s MAXVALUE 999",
    )
]


def sequence_state(conn: Connection) -> SequenceState:
    row = conn.execute(
        "SELECT 's'::regclass::oid, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,"
        " d.last_value, d.is_called FROM s AS d, pg_sequence AS s WHERE s.seqrelid = 's'::regclass"
    ).fetchone()
    assert row is not None
    oid, start, step, low, high, last, called = row
    return SequenceState(
        oid, "public", "s", "int8", start, step, low, high, False, 1, True, last, called
    )


@pytest.mark.parametrize(("increment", "change"), CHANGES)
def test_a_first_round_sets_the_value_planned_only_on_a_sequence_as_audited(
    conn: Connection, increment: int, change: str
) -> None:
    start = 10 * increment
    conn.execute(
        sql.SQL("CREATE SEQUENCE s INCREMENT BY {} MINVALUE -1000 MAXVALUE 1000 START {}").format(
            increment, start
        )
    )
    audited = sequence_state(conn)
    planned = start + 5 * increment  # five values on, on its progression
    if change:
        conn.execute(change.format(step=increment, start=start, twice=2 * increment).encode())
    now = sequence_state(conn)
    assert now.next_value is not None
    unchanged = (now.increment_by, now.min_value, now.max_value) == (
        audited.increment_by,
        audited.min_value,
        audited.max_value,
    )
    before = (planned - now.next_value) * increment > 0
    on_progression = (planned - now.next_value) % increment == 0
    advance = Advance(audited, (), None, Deferred(lambda: sql.SQL("")), planned)

    with conn.transaction(), psycopg.ClientCursor(conn) as cursor:
        cursor.execute(first_statements([advance]))
        rows = cursor.fetchall()

    after = sequence_state(conn)
    if unchanged and before and on_progression:
        assert rows == [(audited.oid, now.next_value, increment, planned - increment)]
        assert after.next_value == planned
    else:
        assert rows == []
        assert after.next_value == now.next_value
