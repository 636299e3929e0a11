"""Every option of the commands that read a database, any value, against a real one.

What the unit tier cannot reach: values accepted by the command line and used only once
connected (a schema name for the history, a check code, a filter). Whatever happens, no
traceback, and what is said on stderr is one line. Nothing is applied.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import given, settings

from seqdoctor.cli import main
from tests.db.test_fix_failures import SETUP
from tests.unit.test_cli_fuzz import FUZZ, OPTIONS, TYPED

Connection = psycopg.Connection[tuple[Any, ...]]
READERS = [(path, option) for path, option in OPTIONS if path[0] in ("check", "fix", "forecast")]
READERS += [(path, option) for path, option in OPTIONS if path == ("guard", "status")]


@pytest.mark.parametrize(
    ("path", "option"), READERS, ids=[f"{' '.join(p)} {o}" for p, o in READERS]
)
@settings(FUZZ, max_examples=4)
@given(value=TYPED)
def test_every_option_takes_any_value_on_a_real_database(
    *,
    path: tuple[str, ...],
    option: str,
    value: str,
    conn: Connection,
    dsn: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    if conn.execute("SELECT to_regclass('users')").fetchone() == (None,):  # the first example
        conn.execute(SETUP)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)

    status = main([*path, dsn, option, value])
    err = capsys.readouterr().err

    assert "Traceback" not in err, err
    assert status in {0, 1, 2, 3}
    said = [line for line in err.splitlines() if line]
    if said:
        assert len(said) == 1, err
        assert said[0].startswith("seqdoctor: "), err
        assert status == 3, err


def test_a_history_file_whose_name_is_too_long_gets_one_line(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by the test above: the forecast looks for the file once connected.
    status = main(["forecast", dsn, "--history", "9" * 400])
    err = capsys.readouterr().err

    assert status == 3
    assert err == f"seqdoctor: {'9' * 400}: File name too long\n"
