"""Names chosen by an attacker, through every command, every output format, and psql.

Anyone who may create a table chooses its name, and the name reaches every
script seqdoctor prints and every terminal that shows its output. A name may
hold a newline followed by a psql meta-command (``\\!`` runs a shell command),
``*/``, ``$$``, quotes, ``:var``, the escape sequences that make a terminal
rewrite its screen, or be 63 bytes long. Here such names are given to real
tables; each printed script must run through ``psql -X -v ON_ERROR_STOP=1``
without starting any command of theirs, and do what it says; each output must
hold no control character, show every name, and keep the exact names where
the format is for programs (JSON).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import unicodedata
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from seqdoctor import guard
from seqdoctor.catalog.display import script_sql
from seqdoctor.catalog.model import qualify, quote_ident
from seqdoctor.cli import main
from seqdoctor.exporter import Exporter
from seqdoctor.fleet import Target
from seqdoctor.guard.model import GuardState
from seqdoctor.repairs import plan_fix
from tests.fix_db import Server

Connection = psycopg.Connection[tuple[Any, ...]]

# Each runs "touch marker" if psql ever reads it as a command; the psql runs in
# a directory of its own, where the marker must never appear.
HOSTILE = (
    "t\n\\! touch marker\n",
    "\\! touch marker",
    "x\n\\i marker\n",
    "g\n\\gexec\n",
    "s\n\\set ON_ERROR_STOP off\n",
    "c */ \\! touch marker\n/*",
    "/* d \\! touch marker",
    "$$ $seqdoctor$ \\! touch marker",
    "-- e\n\\! touch marker",
    "f; \\! touch marker;",
    "q\"u'o\\te\\\\",
    "%s %(x)s {} %%",
    ":var :'var' :\"var\"",
    "esc\x1b[2J\x1b]0;title\x07\x1b[0m",
    "ünïcødé ✓ \u202elive\u2028",
    "select",
    "z" * 63,
)
# Where names go besides tables: a schema and columns of their own.
SCHEMA = "sch\n\\! touch marker\n\x1b[31m"


def psql_binary(server: Server) -> str:
    if server.installation is not None:
        return str(server.installation.bindir / "psql")
    return shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"


def run_psql(server: Server, dsn: str, script: str, where: Path) -> None:
    """Run *script* as a file with psql, in *where*; it must succeed and start no command."""
    path = where / "script.sql"
    path.write_text(script)
    done = subprocess.run(
        [psql_binary(server), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=where,
    )
    assert done.returncode == 0, done.stderr
    assert not (where / "marker").exists(), "psql ran a command smuggled in by a name"


def seqdoctor(*args: str) -> tuple[int, str, str]:
    """The command line in this process: its exit status, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def terminal_safe(text: str) -> bool:
    """No character a terminal acts on: every one printable, a space, or a line break."""
    return all(c.isprintable() or unicodedata.category(c) == "Zs" or c == "\n" for c in text)


def create_tables(conn: Connection, names: Sequence[str], schema: str = "public") -> None:
    """One table per name, with a serial column of the next name, in *schema*."""
    if schema != "public":
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    for number, name in enumerate(names):
        column = names[(number + 1) % len(names)]
        conn.execute(
            sql.SQL("CREATE TABLE {} ({} serial PRIMARY KEY, v int)").format(
                sql.Identifier(schema, name), sql.Identifier(column)
            )
        )


def tables(conn: Connection, schema: str) -> list[tuple[str, str, str]]:
    """(table, column, sequence) of each serial column in *schema*."""
    rows = conn.execute(
        """
        SELECT c.relname::text, a.attname::text,
               pg_get_serial_sequence(c.oid::regclass::text, a.attname)
        FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = 1
        WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'
        """,
        [sql.Identifier(schema).as_string()],
    ).fetchall()
    return [(str(t), str(c), str(s)) for t, c, s in rows]


def drift(conn: Connection, schema: str, ahead: int) -> None:
    """Rows written past each sequence (SEQ001)."""
    for table, column, _ in tables(conn, schema):
        conn.execute(
            # Literal, not a parameter: a name holding "%s" would be read as a placeholder.
            sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(schema, table), sql.Identifier(column), sql.Literal(ahead)
            )
        )


def next_values(conn: Connection, schema: str) -> dict[str, int]:
    return {
        table: int(conn.execute("SELECT nextval(%s)", [sequence]).fetchone()[0])  # type: ignore[index]
        for table, _, sequence in tables(conn, schema)
    }


def guard_states(dsn: str) -> set[GuardState]:
    return {column.state for column in guard.status(dsn).columns}


@pytest.fixture
def twin(server: Server, conn: Connection) -> Iterator[tuple[str, Connection]]:
    """A second database, the target of sync."""
    name = f"{conn.info.dbname}_twin"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(server.conninfo(name), autocommit=True) as other:
            yield server.conninfo(name), other
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_guard_scripts_run_through_psql_and_start_no_command(
    server: Server, dsn: str, conn: Connection, tmp_path: Path
) -> None:
    create_tables(conn, HOSTILE)
    create_tables(conn, HOSTILE[:3], schema=SCHEMA)

    status, script, err = seqdoctor("guard", "install", "--dry-run", dsn)
    assert status == 0, err
    assert terminal_safe(script)
    run_psql(server, dsn, script, tmp_path)
    assert guard_states(dsn) == {GuardState.GUARDED}

    status, script, err = seqdoctor("guard", "remove", "--dry-run", dsn)
    assert status == 0, err
    assert terminal_safe(script)
    run_psql(server, dsn, script, tmp_path)
    assert guard_states(dsn) == {GuardState.NOT_GUARDED}


def test_fix_scripts_move_sequences_and_widen_through_psql(
    server: Server, dsn: str, conn: Connection, tmp_path: Path
) -> None:
    create_tables(conn, HOSTILE)
    create_tables(conn, HOSTILE[:3], schema=SCHEMA)
    drift(conn, "public", 100)
    drift(conn, SCHEMA, 100)
    # One column near the end of integer: its plan widens it to bigint.
    widened = HOSTILE[0]
    conn.execute(
        "SELECT setval(pg_get_serial_sequence(%s, %s), 2000000000)",
        [sql.Identifier("public", widened).as_string(), HOSTILE[1]],
    )

    status, script, err = seqdoctor("fix", "--format", "sql", dsn)
    assert status == 1, err  # repairs to run
    assert terminal_safe(script)
    run_psql(server, dsn, script, tmp_path)

    assert min(next_values(conn, "public").values()) > 100
    assert min(next_values(conn, SCHEMA).values()) > 100
    column_type = conn.execute(
        "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attname = %s",
        [sql.Identifier("public", widened).as_string(), HOSTILE[1]],
    ).fetchone()
    assert column_type == ("bigint",)
    assert plan_fix(dsn, codes=["SEQ001", "SEQ002"]).plans == ()


def test_sync_script_moves_the_target_through_psql(
    server: Server, dsn: str, conn: Connection, twin: tuple[str, Connection], tmp_path: Path
) -> None:
    target, target_conn = twin
    for database in (conn, target_conn):
        create_tables(database, HOSTILE)
        create_tables(database, HOSTILE[:3], schema=SCHEMA)
    for _, _, sequence in tables(conn, "public") + tables(conn, SCHEMA):
        conn.execute("SELECT setval(%s, 500)", [sequence])

    status, script, err = seqdoctor("sync", "--format", "sql", dsn, target)
    assert status == 1, err
    assert terminal_safe(script)
    run_psql(server, target, script, tmp_path)

    assert set(next_values(target_conn, "public").values()) == {501}
    assert set(next_values(target_conn, SCHEMA).values()) == {501}


def test_every_output_shows_names_escaped_and_json_keeps_them_exact(
    dsn: str, conn: Connection
) -> None:
    create_tables(conn, HOSTILE)
    drift(conn, "public", 100)

    for args in (
        ("check", dsn),
        ("check", "--format", "html", dsn),
        ("forecast", dsn),
        ("fix", dsn),
        ("guard", "status", dsn),
        ("guard", "install", dsn),
        ("guard", "remove", dsn),
    ):
        status, out, err = seqdoctor(*args)
        assert status in (0, 1, 2), err
        assert terminal_safe(out), args
        assert terminal_safe(err), args
    status, out, _ = seqdoctor("check", "--format", "json", dsn)
    assert terminal_safe(out)
    found = {f["column"]["table"] for f in json.loads(out)["findings"] if f["column"]}
    assert found == set(HOSTILE)
    # The exposition format escapes only backslash, quote and newline: its
    # label values are the exact names, as a scraper reads them back.
    status, out, _ = seqdoctor("check", "--format", "prometheus", dsn)
    labels = {
        sample.labels["table"]
        for family in text_string_to_metric_families(out)
        for sample in family.samples
        if "table" in sample.labels
    }
    assert labels == set(HOSTILE)
    status, out, _ = seqdoctor("check", "--format", "table", dsn)
    # Every name is there in the form quote_ident() shows it, which no other name shares.
    unfolded = "".join(line.strip() for line in out.splitlines())
    for name in HOSTILE:
        assert qualify(name).replace(" ", "") in unfolded.replace(" ", ""), name


# --- property-based: names made up by hypothesis ---------------------------

FRAGMENTS = st.sampled_from(
    [
        "\n",
        "\r",
        "\t",
        "\\! touch marker",
        "\\i marker",
        "\\gexec",
        "\\set x",
        "\\q",
        "*/",
        "/*",
        "--",
        "$$",
        "$a$",
        ";",
        "'",
        '"',
        "\\",
        "%s",
        ":var",
        ":'v'",
        "\x1b[2J",
        "\x1b]0;t\x07",
        "\x9b1m",
        "\x7f",
        "\u202e",
        "\u2028",
        "é",
        "✓",
        "\U0001f600",
        "select",
        " ",
    ]
)
NAME = (
    st.lists(st.one_of(FRAGMENTS, st.text(min_size=1, max_size=3)), min_size=1, max_size=8)
    .map("".join)
    .map(lambda name: name.replace("\x00", "").encode()[:63].decode(errors="ignore"))
    .filter(bool)
)
# Names of their own: not the tables' other column (v), and the first one a schema the
# test may create (hypothesis also tries the strings it finds in this file, "v" among them).
TAKEN = {"v", "public", "seqdoctor", "information_schema"}
BATCH = st.lists(NAME, min_size=2, max_size=6, unique=True).filter(
    lambda names: not TAKEN.intersection(names) and not names[0].startswith("pg_")
)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(names=BATCH)
def test_generated_names_through_every_command_and_psql(
    server: Server,
    dsn: str,
    conn: Connection,
    *,
    twin: tuple[str, Connection],
    tmp_path_factory: pytest.TempPathFactory,
    names: list[str],
) -> None:
    where = tmp_path_factory.mktemp("psql")
    target, target_conn = twin
    schema = names[0]
    conn.execute("DROP SCHEMA IF EXISTS seqdoctor CASCADE")
    try:
        for database in (conn, target_conn):
            create_tables(database, names, schema=schema)
        drift(conn, schema, 100)
        for args in (
            ("check", dsn),
            ("check", "--format", "html", dsn),
            ("forecast", dsn),
            ("fix", dsn),
            ("guard", "status", dsn),
        ):
            status, out, err = seqdoctor(*args)
            assert status in (0, 1, 2), err
            assert terminal_safe(out), args
            assert terminal_safe(err), args
        status, out, _ = seqdoctor("check", "--format", "json", dsn)
        found = {f["column"]["table"] for f in json.loads(out)["findings"] if f.get("column")}
        assert found == set(names)

        for command in (("guard", "install", "--dry-run"), ("fix", "--format", "sql")):
            status, script, err = seqdoctor(*command, dsn)
            assert status in (0, 1), err
            assert terminal_safe(script)
            run_psql(server, dsn, script, where)
        assert guard_states(dsn) == {GuardState.GUARDED}
        assert min(next_values(conn, schema).values()) > 100
        status, script, err = seqdoctor("guard", "remove", "--dry-run", dsn)
        run_psql(server, dsn, script, where)
        assert guard_states(dsn) == {GuardState.NOT_GUARDED}

        # sync: the target's sequences follow the source's, which fix moved past 100.
        for output_format in ("table", "json"):
            status, out, err = seqdoctor("sync", "--format", output_format, dsn, target)
            assert status == 1, err
            assert terminal_safe(out)
        status, script, err = seqdoctor("sync", "--format", "sql", dsn, target)
        assert terminal_safe(script)
        run_psql(server, target, script, where)
        assert next_values(target_conn, schema) == next_values(conn, schema)
    finally:
        for database in (conn, target_conn):
            dropped = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            database.execute(dropped)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAME)
def test_shown_names_and_script_constants_read_back_as_the_same_name(
    conn: Connection, name: str
) -> None:
    # quote_ident() shows the name as SQL the server reads as that very name,
    # and script_sql() keeps string constants the same values.
    statement = sql.SQL("SELECT 1 AS {}, {}::text, {}::text").format(
        sql.SQL(quote_ident(name)), sql.Literal(name), sql.Literal(f"{name}\\")
    )
    cursor = conn.execute(script_sql(statement.as_string()).encode())
    assert cursor.description is not None
    assert cursor.description[0].name == name
    assert cursor.fetchone() == (1, name, f"{name}\\")


# --- passwords: never in any output, however the conninfo is written ---------

# Each piece starts with "Q7", so that none is a word the output holds anyway: hypothesis
# also tries strings it finds in the code under test ("status", "schema_version").
CHUNK = st.text(
    alphabet="abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789", min_size=4, max_size=6
).map(lambda text: "Q7" + text)
PASSWORD = st.lists(
    st.tuples(CHUNK, st.sampled_from(["", "@", ":", "/", "?", "#", "%", "'", '"', " ", "=", "\\"])),
    min_size=1,
    max_size=3,
).map(lambda parts: "Zq" + "".join(chunk + sep for chunk, sep in parts))


def conninfo_shapes(dsn: str, password: str) -> list[str]:
    """The same database, and broken conninfos, each holding *password* somewhere."""
    params = conninfo_to_dict(dsn)
    host, port, user, db = params["host"], params["port"], params["user"], params["dbname"]
    where = f"host={quote(str(host))}&port={port}"
    uri = f"postgresql://{user}:{quote(password, safe='')}@/{db}?{where}"
    value = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return [
        uri,
        f"postgresql://{user}@/{db}?{where}&password={quote(password, safe='')}",
        make_conninfo(dsn, password=password),
        f"{dsn} password={value}",
        f"host={host} port={port} dbname={uri}",
        # Broken: libpq's error names the token it stumbled on.
        f"host={host} password={password} x",
        f"host={host} password='{password}",
        # Unencoded: a "/" in the password ends the host, which is then an
        # address (no name to look up), and the password's piece a port.
        f"postgresql://127.0.0.1:{password}@[::1/{db}",
        f"postgresql://127.0.0.1:{password}%zz@/{db}",
        f"postgresql://127.0.0.1:{password}@/{db}?password",
        f"host={host} port=1 user={user} dbname={db} password={value}",
    ]


def chunks(password: str) -> list[str]:
    """The pieces of *password* long enough that finding one in the output is a leak."""
    return [c for c in re.split(r"[^A-Za-z0-9]", password) if len(c) >= 6]


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(password=PASSWORD)
def test_no_password_in_any_output_or_error(dsn: str, conn: Connection, password: str) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS t (id serial PRIMARY KEY)")
    shapes = conninfo_shapes(dsn, password)
    runs = [
        seqdoctor("check", "--format", output_format, shape)
        for shape in shapes
        for output_format in ("table", "json", "prometheus", "html")
    ]
    # Many at once: the fleet report names each target.
    runs += [
        seqdoctor("check", "--format", output_format, *shapes)
        for output_format in ("table", "json", "prometheus", "html")
    ]
    runs += [seqdoctor("forecast", shape) for shape in shapes]
    runs += [seqdoctor("guard", "status", shape) for shape in shapes]
    # serve: the labels of what it scrapes, and its log.
    logged: list[str] = []
    # One per name: several shapes reach the same database under the same name.
    targets = list({t.name: t for t in map(Target.of, shapes)}.values())
    with Exporter(targets, listen=("127.0.0.1", 0), interval=3600, log=logged.append) as exporter:
        assert exporter.wait_for_round(60)
        with urllib.request.urlopen(exporter.url, timeout=10) as response:
            runs.append((0, response.read().decode(), "\n".join(logged)))
    for _, out, err in runs:
        for chunk in chunks(password):
            assert chunk not in out
            assert chunk not in err
    assert any(status == 0 for status, _, _ in runs)
