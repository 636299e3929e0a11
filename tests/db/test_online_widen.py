"""Online widening, phases 1-4, on real servers: family, refusals, shadow, backfill, verify, revert.

The family: an integer key near 2^31 with a self-reference, two children, a
composite foreign key from a table in another schema with quoted names, and a
grandchild through it; a view over the key, a partial index and a column
grant. The widening must find all of it, copy every key while other sessions
insert, update and delete, resume after its session is killed, and leave the
schema exactly as it found it when reverted.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from seqdoctor import guard
from seqdoctor.repairs import online
from seqdoctor.repairs.online import OnlineError, OnlineOptions, Phase, TableState, run
from tests.db.test_fix_psql import psql
from tests.fix_db import Server

Connection = psycopg.Connection[tuple[Any, ...]]
KEY = ("shop", "orders", "id")
FAMILY = '''
    CREATE SCHEMA shop;
    CREATE SCHEMA "Other Schema";
    CREATE TABLE shop.orders (
        id serial PRIMARY KEY,
        parent_id integer REFERENCES shop.orders ON DELETE SET NULL,
        region int NOT NULL DEFAULT 1,
        note text,
        UNIQUE (region, id)
    );
    CREATE TABLE shop.invoices (
        id serial PRIMARY KEY,
        order_id integer NOT NULL REFERENCES shop.orders ON DELETE CASCADE,
        cents integer
    );
    CREATE TABLE shop.shipments (
        id bigserial PRIMARY KEY, order_id integer REFERENCES shop.orders ON DELETE CASCADE
    );
    CREATE TABLE "Other Schema"."Order ""Lines""" (
        line_no int NOT NULL, "Order Id" integer NOT NULL, region int NOT NULL,
        PRIMARY KEY ("Order Id", line_no),
        FOREIGN KEY (region, "Order Id") REFERENCES shop.orders (region, id)
            ON DELETE CASCADE DEFERRABLE
    );
    CREATE TABLE shop.notes (
        id bigserial PRIMARY KEY, line_order int, line_no int,
        FOREIGN KEY (line_order, line_no)
            REFERENCES "Other Schema"."Order ""Lines""" ("Order Id", line_no) ON DELETE CASCADE
    );
    CREATE INDEX orders_recent ON shop.orders (id) WHERE id > 2000000000;
    CREATE VIEW shop.order_ids AS SELECT id, region FROM shop.orders;
    DO $$BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'online_reader') THEN
            CREATE ROLE online_reader;
        END IF;
    END$$;
    GRANT SELECT (id) ON shop.orders TO online_reader;
    COMMENT ON COLUMN shop.orders.id IS 'the key';
    COMMENT ON INDEX shop.orders_recent IS 'recent orders';
    COMMENT ON INDEX shop.orders_pkey IS 'the key''s index';
    COMMENT ON CONSTRAINT orders_pkey ON shop.orders IS 'the key''s constraint';
    COMMENT ON CONSTRAINT invoices_order_id_fkey ON shop.invoices IS 'each invoice''s order';
    SELECT setval('shop.orders_id_seq', 2000000000);
    INSERT INTO shop.orders (region) SELECT i % 3 FROM generate_series(1, 400) AS i;
    UPDATE shop.orders SET parent_id = id - 1 WHERE id % 4 <> 1;
    INSERT INTO shop.invoices (order_id, cents)
        SELECT 2000000000 + i % 400 + 1, i FROM generate_series(1, 600) AS i;
    INSERT INTO shop.shipments (order_id)
        SELECT 2000000000 + i FROM generate_series(1, 400, 3) AS i;
    INSERT INTO "Other Schema"."Order ""Lines"""
        SELECT n, o.id, o.region FROM shop.orders AS o, generate_series(1, 2) AS n;
    INSERT INTO shop.notes (line_order, line_no)
        SELECT "Order Id", line_no FROM "Other Schema"."Order ""Lines""" WHERE line_no = 1;
'''
FAMILY_COLUMNS = {
    "shop.orders.id",
    "shop.orders.parent_id",
    "shop.invoices.order_id",
    "shop.shipments.order_id",
    '"Other Schema"."Order ""Lines"""."Order Id"',
    "shop.notes.line_order",
}
# Small batches and short timeouts: every test walks several ranges in seconds.
FAST = OnlineOptions(first_batch=50, max_batch=200, lock_deadline=5.0)
DIFFERING = '''
    SELECT (SELECT count(*) FROM shop.orders
            WHERE seqdoctor_wide_1 IS DISTINCT FROM id
               OR seqdoctor_wide_2 IS DISTINCT FROM parent_id)
         + (SELECT count(*) FROM shop.invoices WHERE seqdoctor_wide_2 IS DISTINCT FROM order_id)
         + (SELECT count(*) FROM shop.shipments WHERE seqdoctor_wide_2 IS DISTINCT FROM order_id)
         + (SELECT count(*) FROM "Other Schema"."Order ""Lines"""
            WHERE seqdoctor_wide_2 IS DISTINCT FROM "Order Id")
         + (SELECT count(*) FROM shop.notes WHERE seqdoctor_wide_2 IS DISTINCT FROM line_order)
'''


def differing(conn: Connection) -> int:
    row = conn.execute(DIFFERING).fetchone()
    assert row is not None
    return int(row[0])


def schema_dump(server: Server, dsn: str) -> str:
    if server.installation is None:
        pytest.skip("pg_dump of the server's own version is needed: no installation")
    dump = subprocess.run(
        [str(server.installation.bindir / "pg_dump"), "--schema-only", "--dbname", dsn],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    # \restrict and \unrestrict carry a random key, new in each dump (15.14, 16.10, 17.6, 18.0).
    return "\n".join(
        line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
    )


@dataclass
class Writers:
    """Sessions inserting, updating and deleting in the family while the widening runs."""

    dsn: str
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    statements: int = 0
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, which: int) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                n = 0
                while not self.stop.is_set():
                    n += 1
                    started = time.monotonic()
                    # A row another writer deleted: the application's own business.
                    with suppress(errors.IntegrityError):
                        self.write(conn, which, n)
                    elapsed = time.monotonic() - started
                    with self.lock:
                        self.statements += 1
                        self.slowest = max(self.slowest, elapsed)
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    @staticmethod
    def write(conn: Connection, which: int, n: int) -> None:
        if which == 0:  # new orders with children, through the sequence
            with conn.transaction():
                (order,) = conn.execute(
                    "INSERT INTO shop.orders (region, parent_id)"
                    " VALUES (%s, (SELECT max(id) FROM shop.orders)) RETURNING id",
                    [n % 3],
                ).fetchone() or (None,)
                conn.execute(
                    "INSERT INTO shop.invoices (order_id, cents) VALUES (%s, %s)", [order, n]
                )
                conn.execute(
                    'INSERT INTO "Other Schema"."Order ""Lines""" VALUES (1, %s, %s)',
                    [order, n % 3],
                )
        elif which == 1:  # updates of keys and of other columns, rows not yet copied among them
            conn.execute(
                "UPDATE shop.orders SET note = %s, parent_id = id - 2"
                " WHERE id = (SELECT id FROM shop.orders ORDER BY random() LIMIT 1)",
                [f"n{n}"],
            )
            conn.execute(
                "UPDATE shop.invoices SET order_id = (SELECT id FROM shop.orders"
                " ORDER BY random() LIMIT 1) WHERE id = (SELECT id FROM shop.invoices"
                " ORDER BY random() LIMIT 1)"
            )
            conn.execute("UPDATE shop.invoices SET cents = cents + 1 WHERE id = %s", [n % 600 + 1])
        else:  # deletes, cascading to the children
            conn.execute(
                "DELETE FROM shop.orders WHERE id = (SELECT id FROM shop.orders"
                " WHERE id < 2000000300 ORDER BY random() LIMIT 1)"
            )
            time.sleep(0.01)


@contextmanager
def writing(dsn: str) -> Iterator[Writers]:
    writers = Writers(dsn)
    threads = [threading.Thread(target=writers.run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        yield writers
    finally:
        writers.stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not writers.errors, writers.errors
    assert writers.statements > 20


def test_the_family_is_found_with_everything_attached(conn: Connection) -> None:
    conn.execute(FAMILY)

    built = online.plan(conn, [KEY])

    assert {c.qualified for c in built.columns} == FAMILY_COLUMNS
    assert built.tables[0].qualified == "shop.orders"  # the key's table first
    assert not built.refusals
    assert {fk.name for fk in built.family.foreign_keys} == {
        "orders_parent_id_fkey",
        "invoices_order_id_fkey",
        "shipments_order_id_fkey",
        'Order "Lines"_region_Order Id_fkey',
        "notes_line_order_line_no_fkey",
    }
    assert {(s.qualified, s.how) for s in built.family.sequences} >= {
        ("shop.orders_id_seq", "owned")
    }
    kinds = {(c.kind, c.subject.split(" ")[0]) for c in built.carried}
    assert {
        ("column-grant", "shop.orders.id"),
        ("comment", "shop.orders.id"),
        ("sequence", "shop.orders_id_seq"),
        ("index", "orders_recent"),
        ("index", "orders_pkey"),
        ("view", "shop.order_ids"),
    } <= kinds
    # The table without a single integer key is walked by pages, and says so.
    lines = next(t for t in built.tables if t.table.table == 'Order "Lines"')
    assert lines.batch_key is None
    # Already bigint: nothing to widen, and not a reason to stop.
    assert all(c.type_name in {"int2", "int4"} for c in built.columns)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            "CREATE TABLE p (id serial, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);"
            "CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)",
            "partitioned tables",
        ),
        (
            "CREATE TABLE p (id serial PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE p",
            "published (pub)",
        ),
        (
            "CREATE TABLE p (id serial PRIMARY KEY, at timestamptz);"
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql"
            " AS $$BEGIN NEW.at := now(); RETURN NEW; END$$;"
            "CREATE TRIGGER touch BEFORE UPDATE ON p FOR EACH ROW EXECUTE FUNCTION touch()",
            "trigger touch fires on every UPDATE",
        ),
        (
            "CREATE TABLE p (id serial PRIMARY KEY, twice int GENERATED ALWAYS AS (id * 2) STORED)",
            "computed from it",
        ),
        (
            "CREATE TABLE p (id serial PRIMARY KEY); CREATE TABLE q () INHERITS (p)",
            "inheritance tree",
        ),
        (
            "CREATE TABLE p (id serial PRIMARY KEY); CREATE TABLE q (copies p[])",
            "its row type is the type of public.q.copies",
        ),
        (
            "CREATE TABLE p (id serial PRIMARY KEY);"
            "CREATE OPERATOR CLASS backwards FOR TYPE int4 USING btree AS"
            " OPERATOR 1 >, OPERATOR 3 =, OPERATOR 5 <, FUNCTION 1 btint4cmp(int4, int4);"
            "CREATE INDEX p_backwards ON p (id backwards)",
            "index p_backwards uses the operator class backwards",
        ),
    ],
    ids=[
        "partitioned",
        "publication",
        "user-trigger",
        "generated",
        "inheritance",
        "row-type",
        "operator-class",
    ],
)
def test_what_cannot_be_made_safe_is_refused_with_its_reason(
    conn: Connection, setup: str, reason: str
) -> None:
    conn.execute(setup)

    built = online.plan(conn, [("public", "p", "id")])

    assert any(reason in r.reason for r in built.refusals), built.refusals
    with pytest.raises(OnlineError, match="cannot widen online"):
        online.advance(conn, [("public", "p", "id")], options=FAST)
    assert "seqdoctor_wide" not in str(conn.execute("SELECT * FROM p LIMIT 0").description)


def test_a_column_merely_named_like_a_shadow_is_refused_and_never_dropped(
    conn: Connection,
) -> None:
    conn.execute("CREATE TABLE p (id serial PRIMARY KEY, seqdoctor_wide_1 bigint)")
    columns = [("public", "p", "id")]

    assert any(
        "without seqdoctor's sync trigger" in r.reason for r in online.plan(conn, columns).refusals
    )
    with pytest.raises(OnlineError, match="cannot widen online"):
        online.advance(conn, columns, options=FAST)
    online.revert(conn, columns, options=FAST)

    assert conn.execute("SELECT seqdoctor_wide_1 FROM p").fetchall() == []


def test_user_triggers_are_allowed_when_asked_but_not_one_firing_after_the_sync(
    conn: Connection,
) -> None:
    conn.execute(
        "CREATE TABLE p (id serial PRIMARY KEY, at timestamptz);"
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN NEW.at := now(); RETURN NEW; END$$;"
        "CREATE TRIGGER touch BEFORE UPDATE ON p FOR EACH ROW EXECUTE FUNCTION touch();"
        "CREATE TRIGGER zzz_last BEFORE INSERT ON p FOR EACH ROW EXECUTE FUNCTION touch()"
    )
    allowed = OnlineOptions(allow_user_triggers=True)

    reasons = [r.reason for r in online.plan(conn, [("public", "p", "id")], allowed).refusals]

    assert len(reasons) == 1
    assert "zzz_last fires after zz_seqdoctor_sync" in reasons[0]


def test_a_writer_waits_for_a_slow_backfill_batch_at_most_its_statement_timeout(
    dsn: str,
) -> None:
    # A user's trigger makes each backfilled row take 100 ms: the first batch
    # (45 rows) would hold its rows' locks for 4.5 s, where the adaptive width
    # aims at 0.2 s. A writer updating one of them waits for that transaction.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE slow (id serial PRIMARY KEY, v int);"
            "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql"
            " AS $$BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END$$;"
            "CREATE TRIGGER slow_row BEFORE UPDATE ON slow FOR EACH ROW"
            " WHEN (OLD.v IS NOT DISTINCT FROM NEW.v) EXECUTE FUNCTION slow_row();"
            "INSERT INTO slow (v) SELECT i FROM generate_series(1, 45) AS i"
        )
    options = OnlineOptions(first_batch=45, allow_user_triggers=True)
    done: list[run.Advanced] = []
    walking = threading.Thread(
        target=lambda: done.append(
            online.advance(dsn, [("public", "slow", "id")], until=Phase.BACKFILLED, options=options)
        )
    )
    walking.start()
    try:
        with psycopg.connect(dsn, autocommit=True) as writer:
            deadline = time.monotonic() + 30
            while not writer.execute(  # until a batch is under way
                "SELECT 1 FROM pg_stat_activity WHERE state = 'active'"
                " AND query LIKE 'UPDATE %%slow%% SET %%'"
            ).fetchone():
                assert time.monotonic() < deadline, "no backfill batch seen"
                time.sleep(0.01)
            time.sleep(0.2)  # its first rows are locked
            started = time.monotonic()
            writer.execute("UPDATE slow SET v = -1 WHERE id = 1")
            waited = time.monotonic() - started
    finally:
        walking.join()

    assert [d.phase for d in done] == [Phase.BACKFILLED]
    # The batch was cancelled at its statement timeout (1 s by default), not let
    # run for 4.5 s; then ranges narrow until a batch fits it.
    assert waited < 2.0
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*) FROM slow WHERE seqdoctor_wide_1 IS DISTINCT FROM id"
        ).fetchone() == (0,)


def test_shadow_backfill_and_verification_under_concurrent_writers(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    with writing(dsn) as writers:
        result = online.advance(dsn, [KEY], until=Phase.BUILT, options=FAST)
        time.sleep(0.3)  # writes after the verification still go through the trigger

    assert result.phase is Phase.BUILT
    assert len(result.shadowed) == 5
    assert sum(w.rows_written for w in result.backfilled) > 1000
    assert result.rows_per_second is not None  # for the next plan's estimate
    assert result.wal_per_row is not None
    assert result.wal_per_row > 8  # at least the new bigint, and more
    # No writer waited longer than the lock timeout of phase 2, and some slack.
    assert writers.slowest < FAST.lock_timeout + 1.5
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert differing(conn) == 0
        assert online.status(conn, [KEY]).phase is Phase.BUILT
        # Rows not yet copied read 0 in a NOT NULL shadow: none is left.
        assert conn.execute(
            "SELECT count(*) FROM shop.orders WHERE seqdoctor_wide_1 = 0"
        ).fetchone() == (0,)

        # Every index on a family column, and every foreign key, again on the shadows.
        indexes = dict(
            conn.execute(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index AS i"
                " JOIN pg_class AS c ON c.oid = i.indexrelid"
                " WHERE c.relname LIKE 'seqdoctor%' AND i.indisvalid"
            ).fetchall()
        )
        keys = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname LIKE 'seqdoctor%' AND convalidated ORDER BY 1"
        ).fetchall()
    assert len(result.built) == len(indexes) + len(keys)
    assert any("WHERE (seqdoctor_wide_1 > 2000000000)" in d for d in indexes.values())
    assert any(
        d.startswith("CREATE UNIQUE") and "(seqdoctor_wide_1)" in d for d in indexes.values()
    )
    assert (
        "FOREIGN KEY (region, seqdoctor_wide_2) REFERENCES shop.orders(region, seqdoctor_wide_1)"
        " ON DELETE CASCADE DEFERRABLE",
    ) in keys
    assert (
        "FOREIGN KEY (seqdoctor_wide_2) REFERENCES shop.orders(seqdoctor_wide_1)"
        " ON DELETE SET NULL",
    ) in keys
    assert len(keys) == 5

    again = online.advance(dsn, [KEY], until=Phase.BUILT, options=FAST)

    assert again.shadowed == ()
    assert again.built == ()
    assert sum(w.rows_written for w in again.backfilled + again.verified) == 0


def test_an_index_build_stopped_by_an_old_snapshot_is_built_again_on_the_next_run(
    dsn: str,
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        online.advance(conn, [KEY], until=Phase.VERIFIED, options=FAST)
    hurried = OnlineOptions(first_batch=50, max_batch=200, lock_timeout=0.2, lock_deadline=1.0)
    # CREATE INDEX CONCURRENTLY waits for every older snapshot: this one, for longer
    # than its lock timeout. It stops, and leaves an INVALID index behind.
    with psycopg.connect(dsn) as old:
        old.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        old.execute("SELECT count(*) FROM shop.notes")
        with pytest.raises(OnlineError, match="building an index"):
            online.advance(dsn, [KEY], until=Phase.BUILT, options=hurried)
        old.rollback()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid"
            " WHERE c.relname LIKE 'seqdoctor%' AND NOT i.indisvalid"
        ).fetchone() == (1,)
        assert online.status(conn, [KEY]).phase is Phase.SHADOWED

        online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)

        assert online.status(conn, [KEY]).phase is Phase.BUILT
        assert conn.execute(
            "SELECT count(*) FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid"
            " WHERE c.relname LIKE 'seqdoctor%' AND NOT i.indisvalid"
        ).fetchone() == (0,)


def test_guard_triggers_are_no_reason_to_refuse_and_the_plan_says_what_to_do(
    conn: Connection,
) -> None:
    conn.execute(FAMILY)
    guard.install(conn, mode="raise", tables="shop.orders")

    built = online.plan(conn, [KEY])

    assert not built.refusals
    assert any("the swap creates them again on the new column" in note for note in built.notes)
    online.advance(conn, [KEY], options=FAST)
    with pytest.raises(psycopg.Error) as stopped:  # still guarding the key, through phase 4
        conn.execute("INSERT INTO shop.orders (id, region) VALUES (2100000000, 1)")
    assert stopped.value.sqlstate == guard.SQLSTATE


@pytest.mark.parametrize("stopped", [Phase.SHADOWED, Phase.BACKFILLED, Phase.VERIFIED])
def test_a_run_stopped_at_any_phase_boundary_goes_on_from_there(
    conn: Connection, stopped: Phase
) -> None:
    conn.execute(FAMILY)
    online.advance(conn, [KEY], until=stopped, options=FAST)
    conn.execute("INSERT INTO shop.orders (region) SELECT 2 FROM generate_series(1, 50)")

    result = online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)

    assert result.shadowed == ()
    assert differing(conn) == 0
    assert online.status(conn, [KEY]).phase is Phase.BUILT


def test_a_foreign_key_left_not_valid_is_validated_by_the_next_run(conn: Connection) -> None:
    conn.execute(FAMILY)
    online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)
    # As a run stopped between ADD ... NOT VALID and VALIDATE leaves it: the plan's own step.
    conn.execute(
        "DO $$DECLARE c name; BEGIN SELECT conname INTO c FROM pg_constraint"
        " WHERE conrelid = 'shop.shipments'::regclass AND conname LIKE 'seqdoctor%';"
        " EXECUTE format('ALTER TABLE shop.shipments DROP CONSTRAINT %I', c); END$$"
    )
    (add,) = [
        s
        for s in online.plan(conn, [KEY], FAST).steps
        if s.phase is Phase.BUILT
        and s.title.startswith("Foreign key")
        and s.subject == "shop.shipments"
    ]
    with conn.transaction():
        for statement in add.statements:
            conn.execute(statement)
    assert online.status(conn, [KEY]).phase is Phase.SHADOWED  # not validated: not built

    result = online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)

    assert result.built == ()  # nothing added again: validated where it stood
    assert conn.execute(
        "SELECT convalidated FROM pg_constraint"
        " WHERE conrelid = 'shop.shipments'::regclass AND conname LIKE 'seqdoctor%'"
    ).fetchall() == [(True,)]
    assert online.status(conn, [KEY]).phase is Phase.BUILT


def test_an_invalid_index_left_by_an_interrupted_build_is_built_again(conn: Connection) -> None:
    conn.execute(FAMILY)
    online.advance(conn, [KEY], until=Phase.SHADOWED, options=FAST)
    (pkey,) = conn.execute("SELECT 'shop.orders_pkey'::regclass::oid::int8").fetchone() or (0,)
    # Before the backfill every shadow reads 0: a unique build fails, and leaves an INVALID index.
    with pytest.raises(errors.UniqueViolation):
        conn.execute(
            sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY {} ON shop.orders (seqdoctor_wide_1)").format(
                sql.Identifier(f"seqdoctor_wide_{pkey}")
            )
        )

    online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)

    assert conn.execute(
        "SELECT indisvalid, indisunique FROM pg_index WHERE indexrelid = %s::regclass",
        [f"shop.seqdoctor_wide_{pkey}"],
    ).fetchone() == (True, True)


def test_a_backfill_killed_midway_converges_when_run_again(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        conn.execute("INSERT INTO shop.orders (region) SELECT 1 FROM generate_series(1, 3000)")
    slow = OnlineOptions(first_batch=20, max_batch=20, pause=0.01, lock_deadline=5.0)
    failure: list[BaseException] = []

    def widen() -> None:
        try:
            online.advance(dsn, [KEY], options=slow)
        except BaseException as error:  # checked below
            failure.append(error)

    worker = threading.Thread(target=widen)
    with psycopg.connect(dsn, autocommit=True) as conn:
        worker.start()
        deadline = time.monotonic() + 20
        copied = 0
        while time.monotonic() < deadline:
            try:
                row = conn.execute(
                    "SELECT count(*) FROM shop.orders WHERE seqdoctor_wide_1 = id"
                ).fetchone()
                copied = int(row[0]) if row else 0
            except errors.UndefinedColumn:
                copied = 0
            if copied > 200:
                break
            time.sleep(0.02)
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'seqdoctor' AND datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
        worker.join(timeout=30)
        assert killed
        assert copied > 200
        assert failure
        assert isinstance(failure[0], OnlineError)
        assert differing(conn) > 0  # stopped midway

        result = online.advance(dsn, [KEY], options=FAST)

        assert result.shadowed == ()  # phase 2 was complete: not run again
        assert differing(conn) == 0


@pytest.mark.parametrize("until", [Phase.SHADOWED, Phase.BACKFILLED, Phase.VERIFIED, Phase.BUILT])
def test_revert_leaves_the_schema_as_it_was(server: Server, dsn: str, until: Phase) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        checksums = {
            table: conn.execute(
                sql.SQL(
                    "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} AS t"
                ).format(sql.SQL(table))
            ).fetchone()
            for table in ("shop.orders", "shop.invoices", '"Other Schema"."Order ""Lines"""')
        }
    before = schema_dump(server, dsn)
    online.advance(dsn, [KEY], until=until, options=FAST)
    assert schema_dump(server, dsn) != before

    online.revert(dsn, [KEY], options=FAST)

    assert schema_dump(server, dsn) == before
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.PLANNED
        assert not online.status(conn, [KEY]).started
        for table, digest in checksums.items():
            assert (
                conn.execute(
                    sql.SQL(
                        "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} AS t"
                    ).format(sql.SQL(table))
                ).fetchone()
                == digest
            )
    online.revert(dsn, [KEY], options=FAST)  # nothing left to revert: no error


def run_psql(server: Server, dsn: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(psql(server)), "-X", "-q", "-d", dsn, "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_psql_script_does_what_advance_does_and_its_revert_undoes_it(
    server: Server, dsn: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    before = schema_dump(server, dsn)

    done = run_psql(server, dsn, online.script(online.plan(dsn, [KEY], FAST), until=Phase.BUILT))

    assert done.returncode == 0, done.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert differing(conn) == 0
        assert online.status(conn, [KEY]).phase is Phase.BUILT
    assert online.advance(dsn, [KEY], until=Phase.BUILT, options=FAST).built == ()

    undone = run_psql(server, dsn, online.script(online.plan(dsn, [KEY], FAST), revert=True))

    assert undone.returncode == 0, undone.stderr
    assert schema_dump(server, dsn) == before


def test_a_column_renamed_after_the_plan_stops_phase_2_before_it_creates_anything(
    server: Server, dsn: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        planned = online.plan(conn, [KEY], FAST)
        # The sync function and its trigger name the column: another column now
        # called id would be copied into the key's shadow.
        conn.execute(
            "ALTER TABLE shop.orders RENAME COLUMN id TO order_id;"
            "ALTER TABLE shop.orders RENAME COLUMN region TO id"
        )

        failed = run_psql(server, dsn, online.script(planned))

        assert failed.returncode != 0
        assert "shop.orders.id (integer, column 1) changed since the plan" in failed.stderr
        assert not online.status(conn, [("shop", "orders", "order_id")]).started
        conn.execute("INSERT INTO shop.orders (id) VALUES (1)")  # writes go on


def test_verification_finds_rows_written_behind_the_triggers_back_and_copies_them(
    conn: Connection,
) -> None:
    conn.execute(FAMILY)
    online.advance(conn, [KEY], options=FAST)
    conn.execute(
        "ALTER TABLE shop.invoices DISABLE TRIGGER zz_seqdoctor_sync;"
        "UPDATE shop.invoices SET seqdoctor_wide_2 = 7 WHERE id <= 3;"
        "ALTER TABLE shop.invoices ENABLE ALWAYS TRIGGER zz_seqdoctor_sync"
    )
    built = online.plan(conn, [KEY], FAST)
    *_, psql_check = next(
        s.statements
        for s in built.steps
        if s.phase is Phase.VERIFIED and s.subject == "shop.invoices"
    )
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="run its backfill again"):
        conn.execute(psql_check)

    result = online.advance(conn, [KEY], until=Phase.VERIFIED, options=FAST)

    # The backfill put them right (it writes what differs); the verification then agrees.
    invoices = next(w for w in result.backfilled if w.table == "shop.invoices")
    assert invoices.rows_written == 3
    assert differing(conn) == 0
    conn.execute(psql_check)


def test_a_held_lock_makes_phase_2_give_up_at_its_deadline_with_nothing_half_done(
    dsn: str,
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    hurried = OnlineOptions(lock_timeout=0.2, lock_deadline=1.5)
    with psycopg.connect(dsn) as idle:  # idle in transaction, holding a lock on a child
        idle.execute("SELECT count(*) FROM shop.invoices")
        started = time.monotonic()
        with pytest.raises(OnlineError, match=r"shop\.invoices: lock not granted"):
            online.advance(dsn, [KEY], options=hurried)
        assert time.monotonic() - started < 5
        idle.rollback()
    with psycopg.connect(dsn, autocommit=True) as conn:
        states = {t.table.qualified: t.state for t in online.status(conn, [KEY]).tables}
    assert states["shop.invoices"] is TableState.ABSENT
    assert states["shop.orders"] is TableState.SHADOWED  # done before it, and kept

    online.advance(dsn, [KEY], options=FAST)  # and it goes on from there


def test_the_backfill_pauses_while_a_slot_holds_back_wal_and_gives_up_at_its_deadline(
    conn: Connection,
) -> None:
    conn.execute(FAMILY)
    (database,) = conn.execute("SELECT current_database()").fetchone() or ("",)
    slot = f"online_{database}"[:63]  # slots belong to the cluster: one per test database
    conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", [slot])
    try:
        conn.execute("INSERT INTO shop.orders (region) SELECT 1 FROM generate_series(1, 2000)")
        held = OnlineOptions(first_batch=50, max_slot_lag=1, throttle_deadline=1.0)
        started = time.monotonic()
        with pytest.raises(OnlineError, match=r"a replication slot holds back .* run again later"):
            online.advance(conn, [KEY], options=held)
        assert 1.0 <= time.monotonic() - started < 10
        assert differing(conn) > 0  # paused before copying anything
    finally:
        conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])

    online.advance(conn, [KEY], options=replace(FAST, max_slot_lag=1))

    assert differing(conn) == 0


def test_the_backfill_keeps_the_wal_rate_under_its_limit(conn: Connection) -> None:
    conn.execute(FAMILY)
    limit = 300_000  # bytes a second: the family's backfill writes a few hundred kB
    started = time.monotonic()

    result = online.advance(conn, [KEY], options=replace(FAST, max_wal_rate=limit))

    elapsed = time.monotonic() - started
    wal = sum(w.wal_bytes or 0 for w in result.backfilled)
    assert wal > limit / 2  # enough to need pauses
    assert elapsed >= wal / limit * 0.9


def test_the_sync_trigger_ignores_the_writers_search_path(conn: Connection) -> None:
    conn.execute(
        "CREATE TABLE t (id serial PRIMARY KEY, v int);"
        "INSERT INTO t (v) SELECT generate_series(1, 10);"
        "CREATE SCHEMA evil;"
        "CREATE FUNCTION evil.ne(integer, bigint) RETURNS boolean LANGUAGE plpgsql"
        " AS $$BEGIN RAISE EXCEPTION 'evil operator ran'; END$$;"
        "CREATE OPERATOR evil.<> (LEFTARG = integer, RIGHTARG = bigint, FUNCTION = evil.ne)"
    )
    online.advance(conn, [("public", "t", "id")], options=FAST)
    function = conn.execute(
        "SELECT p.proconfig, p.prosecdef FROM pg_trigger AS t JOIN pg_proc AS p"
        " ON p.oid = t.tgfoid WHERE t.tgname = 'zz_seqdoctor_sync'"
    ).fetchone()
    assert function == (["search_path=pg_catalog, pg_temp"], False)

    conn.execute("SET search_path = evil, public, pg_catalog")
    conn.execute("INSERT INTO t (v) VALUES (11)")
    conn.execute("UPDATE t SET id = id + 100 WHERE v = 3")
    conn.execute("RESET search_path")

    assert conn.execute(
        "SELECT count(*) FROM t WHERE seqdoctor_wide_1 IS DISTINCT FROM id"
    ).fetchone() == (0,)


def test_a_foreign_key_column_narrower_than_its_key_is_widened_alone_and_reports_progress(
    conn: Connection,
) -> None:
    # SEQ005: the key is bigint already; only the referencing column runs out.
    conn.execute(
        "CREATE TABLE parent (id bigserial PRIMARY KEY);"
        "CREATE TABLE child (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES parent);"
        "INSERT INTO parent SELECT FROM generate_series(1, 300);"
        "INSERT INTO child (parent_id) SELECT i FROM generate_series(1, 300) AS i"
    )
    seen: list[tuple[str, str, int, int]] = []

    result = online.advance(
        conn,
        [("public", "child", "parent_id")],
        until=Phase.BUILT,
        options=FAST,
        progress=lambda *report: seen.append(report),
    )

    assert [c.qualified for c in result.plan.columns] == ["public.child.parent_id"]
    assert conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname LIKE 'seqdoctor%'"
    ).fetchall() == [("FOREIGN KEY (seqdoctor_wide_2) REFERENCES parent(id)",)]
    for phase in ("backfill", "verify"):
        done = [d for table, p, d, total in seen if p == phase and table == "public.child"]
        assert done == sorted(done)
        assert done[-1] == 300  # keys 1 to 300: all of them
    assert all(total == 300 for _, _, _, total in seen)


def test_writers_need_no_privilege_on_the_shadows_or_the_function(conn: Connection) -> None:
    (database,) = conn.execute("SELECT current_database()").fetchone() or ("",)
    writer = f"writer_{database}"[:63]
    conn.execute(
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;"
            "CREATE TABLE t (id serial PRIMARY KEY, v int);"
            "INSERT INTO t (v) SELECT generate_series(1, 10);"
            "CREATE ROLE {w} LOGIN;"
            "GRANT INSERT (v), UPDATE (id, v), SELECT (id, v) ON t TO {w};"
            "GRANT USAGE ON SEQUENCE t_id_seq TO {w}"
        ).format(w=sql.Identifier(writer))
    )
    try:
        online.advance(conn, [("public", "t", "id")], options=FAST)
        assert conn.execute(
            "SELECT proacl IS NOT NULL FROM pg_proc WHERE proname LIKE 'seqdoctor_sync%'"
        ).fetchone() == (True,)  # no EXECUTE for PUBLIC

        with psycopg.connect(conn.info.dsn, user=writer, autocommit=True) as other:
            other.execute("INSERT INTO t (v) VALUES (11)")
            other.execute("UPDATE t SET id = id + 100 WHERE v = 2")

        assert conn.execute(
            "SELECT count(*) FROM t WHERE seqdoctor_wide_1 IS DISTINCT FROM id"
        ).fetchone() == (0,)
    finally:
        conn.execute("DROP TABLE t")
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(writer)))


def test_rows_a_policy_hides_from_the_owner_stop_the_backfill_instead_of_being_skipped(
    conn: Connection,
) -> None:
    (database,) = conn.execute("SELECT current_database()").fetchone() or ("",)
    name = f"owner_{database}"[:63]
    owner = sql.Identifier(name)
    conn.execute(
        sql.SQL("CREATE ROLE {o} LOGIN; GRANT CREATE ON SCHEMA public TO {o}").format(o=owner)
    )
    try:
        with psycopg.connect(conn.info.dsn, user=name, autocommit=True) as mine:
            mine.execute(
                "CREATE TABLE t (id serial PRIMARY KEY, n int);"
                "INSERT INTO t (n) SELECT i FROM generate_series(1, 20) AS i;"
                "ALTER TABLE t ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;"
                "CREATE POLICY evens ON t USING (n % 2 = 0)"
            )
            with pytest.raises(OnlineError, match="row-level security"):
                online.advance(mine, [("public", "t", "id")], options=FAST)
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {o}; DROP ROLE {o}").format(o=owner))


@pytest.mark.parametrize("identity", ["ALWAYS", "BY DEFAULT"])
def test_identity_columns_and_long_quoted_names(conn: Connection, identity: str) -> None:
    name = "Ключ " + "k" * 50  # 63 bytes in UTF-8, with a space: quoted everywhere
    assert len(name.encode()) <= 63
    conn.execute(
        sql.SQL(
            "CREATE TABLE {t} ({c} int GENERATED " + identity + " AS IDENTITY PRIMARY KEY, v int);"
            "CREATE TABLE {child} (id serial PRIMARY KEY, ref int REFERENCES {t});"
            "INSERT INTO {t} (v) SELECT generate_series(1, 50);"
            "INSERT INTO {child} (ref) SELECT generate_series(1, 50)"
        ).format(t=sql.Identifier('Tab"le'), c=sql.Identifier(name), child=sql.Identifier("child"))
    )

    result = online.advance(conn, [("public", 'Tab"le', name)], options=FAST)

    assert [s.how for s in result.plan.family.sequences] == ["identity"]
    assert result.plan.family.sequences[0].type_name == "int4"
    conn.execute(sql.SQL("INSERT INTO {} (v) VALUES (51)").format(sql.Identifier('Tab"le')))
    assert conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {} IS DISTINCT FROM seqdoctor_wide_1").format(
            sql.Identifier('Tab"le'), sql.Identifier(name)
        )
    ).fetchone() == (0,)
    online.revert(conn, [("public", 'Tab"le', name)], options=FAST)
    assert not online.status(conn, [("public", 'Tab"le', name)]).started


def test_walks_in_several_sessions_cut_every_table_and_copy_every_row(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        rows = conn.execute(
            "SELECT (SELECT count(*) FROM shop.orders), (SELECT count(*) FROM shop.invoices)"
        ).fetchone()
    walkers: set[str] = set()
    seen: dict[str, tuple[int, int]] = {}

    def progress(table: str, _phase: str, done: int, total: int) -> None:
        walkers.add(threading.current_thread().name)
        seen[table] = (done, total)

    # Under writes: the slices' sessions share the tables with them.
    with writing(dsn):
        result = online.advance(
            dsn,
            [KEY],
            until=Phase.VERIFIED,
            options=replace(FAST, jobs=3, first_batch=20),
            progress=progress,
        )

    assert len({w for w in walkers if w.startswith("seqdoctor-walk")}) >= 2
    orders = next(w for w in result.backfilled if w.table == "shop.orders")
    invoices = next(w for w in result.backfilled if w.table == "shop.invoices")
    assert rows is not None
    # Every row there was, and the writers' since: each table on its own (a tuple's >= would
    # let a short count of invoices pass behind a long one of orders).
    assert orders.rows_written >= rows[0]
    assert invoices.rows_written >= rows[1]
    assert all(done == total for done, total in seen.values())  # each table's slices, summed
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert differing(conn) == 0
        # The walks' sessions are closed.
        assert conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'seqdoctor' AND pid <> pg_backend_pid()"
        ).fetchone() == (0,)


def test_a_slice_that_fails_stops_every_session_and_names_its_table(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        conn.execute(
            "CREATE FUNCTION shop.refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
            " IF OLD.id = 2000000390 THEN RAISE EXCEPTION 'row 390 refuses'; END IF;"
            " RETURN NEW; END$$;"
            "CREATE TRIGGER a_refuse BEFORE UPDATE ON shop.orders"
            " FOR EACH ROW EXECUTE FUNCTION shop.refuse()"
        )
    options = replace(FAST, jobs=2, first_batch=20, allow_user_triggers=True)

    with pytest.raises(OnlineError, match=r"^backfill of shop\.orders: row 390 refuses$"):
        online.advance(dsn, [KEY], until=Phase.VERIFIED, options=options)

    # Every session closed: a server process leaves pg_stat_activity an instant after
    # its client closed the connection, so the count is read until it is 0, for 5 s.
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 5
        while (left := sessions(conn)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == 0


def sessions(conn: Connection) -> int:
    """How many sessions of seqdoctor's, other than *conn*'s, the server has."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = 'seqdoctor' AND pid <> pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_run_resumed_after_the_build_verifies_again_without_a_backfill(
    conn: Connection,
) -> None:
    conn.execute(FAMILY)
    online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)
    conn.execute(
        "ALTER TABLE shop.invoices DISABLE TRIGGER zz_seqdoctor_sync;"
        # Another order that exists: the foreign keys on the shadows are built.
        "UPDATE shop.invoices SET seqdoctor_wide_2 = 2000000400 WHERE id <= 3;"
        "ALTER TABLE shop.invoices ENABLE ALWAYS TRIGGER zz_seqdoctor_sync"
    )

    result = online.advance(conn, [KEY], until=Phase.BUILT, options=FAST)

    # One walk of each table, not two: the verification finds what differs, and copies it.
    assert result.backfilled == ()
    invoices = next(w for w in result.verified if w.table == "shop.invoices")
    assert (invoices.differences, invoices.rows_written) == (3, 3)
    assert differing(conn) == 0


def test_the_marks_catch_up_before_the_swap_so_its_last_check_reads_only_seconds_of_writes(
    conn: Connection,
) -> None:
    conn.execute(FAMILY)
    verified = online.advance(conn, [KEY], until=Phase.VERIFIED, options=FAST)
    marks = {w.table: w.upper for w in verified.verified}
    # Written during the index builds: through the trigger, and one behind its back.
    conn.execute("INSERT INTO shop.orders (region) SELECT 1 FROM generate_series(1, 100)")
    conn.execute(
        "ALTER TABLE shop.orders DISABLE TRIGGER zz_seqdoctor_sync;"
        "UPDATE shop.orders SET seqdoctor_wide_1 = 7 WHERE id = (SELECT max(id) FROM shop.orders);"
        "ALTER TABLE shop.orders ENABLE ALWAYS TRIGGER zz_seqdoctor_sync"
    )
    built = online.plan(conn, [KEY], FAST)
    walks = run._Walks(conn, conn, Phase.VERIFIED, FAST, None, lambda: None)

    moved = walks.caught_up(built.tables, marks)

    (top,) = conn.execute("SELECT max(id) FROM shop.orders").fetchone() or (0,)
    assert moved["shop.orders"] == top > marks["shop.orders"]
    assert moved["shop.invoices"] == marks["shop.invoices"]  # nothing written there
    assert differing(conn) == 0  # the row behind the trigger's back, copied outside the lock
