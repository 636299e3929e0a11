"""audit() on what applications hold: SQLAlchemy engines, connections and URLs, psycopg 2
connections, a connection inside a transaction, and an Alembic migration that checks."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import psycopg
import psycopg2
import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from psycopg.conninfo import conninfo_to_dict

import seqdoctor
from seqdoctor.errors import SeqdoctorError, UsageError
from seqdoctor.render.json import render

Connection = psycopg.Connection[tuple[Any, ...]]
BEHIND = "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t (id) VALUES (5)"


def url(dsn: str, driver: str) -> str:
    """The SQLAlchemy URL of *dsn*, with a password, so that it shows if anything prints it."""
    params = conninfo_to_dict(dsn)
    host = params.get("host", "")
    return (
        f"postgresql+{driver}://{params.get('user', '')}:Q7secret@/{params['dbname']}"
        f"?host={host}&port={params.get('port', 5432)}"
    )


def behind(report: seqdoctor.Report) -> list[str]:
    return [str(f.column) for f in report.findings if f.code == "SEQ001"]


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_sqlalchemy_engine_url_and_connection(conn: Connection, dsn: str, driver: str) -> None:
    conn.execute(BEHIND)
    engine = sqlalchemy.create_engine(url(dsn, driver))
    try:
        assert behind(seqdoctor.audit(engine)) == ["public.t.id"]
        assert behind(seqdoctor.audit(engine.url)) == ["public.t.id"]
        assert behind(seqdoctor.audit(url(dsn, driver))) == ["public.t.id"]
        with engine.connect() as connection:
            assert behind(seqdoctor.audit(connection)) == ["public.t.id"]
    finally:
        engine.dispose()


def test_a_psycopg_connection_in_a_transaction_is_read_in_it_and_left_as_it_was(
    dsn: str,
) -> None:
    with psycopg.connect(dsn) as conn:  # not autocommit: a transaction, as Alembic's
        conn.execute(BEHIND)  # uncommitted: only this transaction sees it
        conn.execute("SET LOCAL lock_timeout = '7s'")
        assert behind(seqdoctor.audit(conn)) == ["public.t.id"]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SHOW lock_timeout").fetchone() == ("7s",)
        assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        conn.rollback()


def test_a_psycopg2_connection(conn: Connection, dsn: str) -> None:
    conn.execute(BEHIND)
    other = psycopg2.connect(dsn)
    try:
        assert behind(seqdoctor.audit(other)) == ["public.t.id"]
        with other.cursor() as cursor:
            cursor.execute("SELECT 1")  # psycopg2 opens a transaction
        with pytest.raises(UsageError, match="inside a transaction"):
            seqdoctor.audit(other)
    finally:
        other.close()


def test_other_objects_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="not dict"):
        seqdoctor.audit({"dbname": "shop"})
    with pytest.raises(TypeError, match="PostgreSQL"):
        seqdoctor.audit(sqlalchemy.engine.make_url("sqlite:///x.db"))


def test_as_dict_is_the_json_document(conn: Connection, dsn: str) -> None:
    conn.execute(BEHIND)
    report = seqdoctor.audit(dsn)
    written = io.StringIO()
    render(report, written)
    assert report.as_dict() == json.loads(written.getvalue())
    assert report.as_dict()["findings"][0]["code"] == "SEQ001"


ENV_PY = '''
from alembic import context
from sqlalchemy import create_engine, pool

import seqdoctor


def check_sequences(connection):
    """Fail the upgrade, in its transaction, on a sequence behind its data or a full column."""
    report = seqdoctor.audit(connection, select=["SEQ001", "SEQ002"])
    if report.findings:
        raise RuntimeError(
            "seqdoctor: " + "; ".join(f"{f.code} {f.message}" for f in report.findings)
        )


engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
        check_sequences(connection)
'''

MIGRATION = """
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    op.execute({insert!r})
"""


@pytest.mark.parametrize(
    ("insert", "fails"),
    [("INSERT INTO t (id) VALUES (5)", True), ("INSERT INTO t DEFAULT VALUES", False)],
    ids=["behind", "healthy"],
)
def test_an_alembic_upgrade_fails_on_a_sequence_behind_its_data(
    tmp_path: Path, dsn: str, conn: Connection, insert: str, fails: bool
) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(ENV_PY)
    (tmp_path / "versions" / "0001_t.py").write_text(
        textwrap.dedent(MIGRATION).format(insert=insert)
    )
    config = Config()
    config.set_main_option("script_location", str(tmp_path))
    config.set_main_option("sqlalchemy.url", url(dsn, "psycopg").replace("%", "%%"))
    if fails:
        with pytest.raises(RuntimeError, match=r"SEQ001 .*public\.t\.id") as failed:
            command.upgrade(config, "head")
        assert "Q7secret" not in str(failed.value)
        # The migration's transaction was rolled back: nothing of it is left.
        assert conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)
    else:
        command.upgrade(config, "head")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


IN_MIGRATION = """
from alembic import op

import seqdoctor

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE t (id serial PRIMARY KEY)")
    op.execute("INSERT INTO t (id) VALUES (5)")
    report = seqdoctor.audit(op.get_bind(), select="SEQ001")
    assert [f.code for f in report.findings] == ["SEQ001"], report.findings
    op.execute("SELECT setval('t_id_seq', 5)")
    assert seqdoctor.audit(op.get_bind(), select="SEQ001").findings == ()
"""


def test_a_migration_checks_its_own_step_through_op_get_bind(
    tmp_path: Path, dsn: str, conn: Connection
) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(ENV_PY)
    (tmp_path / "versions" / "0001_t.py").write_text(IN_MIGRATION)
    config = Config()
    config.set_main_option("script_location", str(tmp_path))
    config.set_main_option("sqlalchemy.url", url(dsn, "psycopg").replace("%", "%%"))
    command.upgrade(config, "head")
    assert conn.execute("SELECT last_value FROM t_id_seq").fetchone() == (5,)


def test_a_password_is_never_shown(dsn: str) -> None:
    params = conninfo_to_dict(dsn)
    wrong = (
        f"postgresql+psycopg://nobody_q7:Q7secret@/{params['dbname']}"
        f"?host={params.get('host', '')}&port={params.get('port', 5432)}"
    )
    with pytest.raises(SeqdoctorError) as failed:
        seqdoctor.audit(sqlalchemy.create_engine(wrong))
    assert "Q7secret" not in str(failed.value)
