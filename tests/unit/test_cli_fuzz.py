"""Bad input, by hand and by hypothesis: one line on stderr, exit 3, never a traceback.

Every option of every command, and every key of a targets file, gets values a
person could type by mistake (nan, inf, huge numbers, text where a number
goes, bytes that are not UTF-8). The conninfo points at a closed port, so a
value that is accepted fails anyway, on the connection, with one line too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqdoctor.cli import cli, main
from seqdoctor.exporter import Exporter
from seqdoctor.fleet import TARGET_OPTIONS

UNREACHABLE = "host=127.0.0.1 port=1 connect_timeout=3"
FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No server the environment points at, no history file outside tmp_path, no serving."""
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", "1")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    # serve goes as far as listening, and stops there: no audit round, no waiting.
    monkeypatch.setattr(Exporter, "start", lambda self: self)
    monkeypatch.setattr(Exporter, "wait", lambda self: None)
    monkeypatch.setattr(Exporter, "close", lambda self: self._server.server_close())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line(status: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert status == 3, err
    assert err.count("\n") == 1, err
    assert err.startswith("seqdoctor: "), err


def toml_value(value: object) -> str:
    """*value* as TOML writes it (strings as JSON's, which TOML reads, DEL escaped)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value).replace("\x7f", "\\u007f")
    return repr(value)


def targets_file(path: Path, **entry: object) -> Path:
    entry = {"conninfo": UNREACHABLE, **entry}
    lines = ["[[target]]", *(f"{key} = {toml_value(value)}" for key, value in entry.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "entry",
    [
        {"warning": "abc"},
        {"warning": [1, 2]},
        {"critical": True},
        {"warning": float("nan")},
        {"lock_timeout": "soon"},
        {"statement_timeout": float("inf")},
        {"warning_days": -1},
        {"schemas": 5},
        {"select": [1]},
        {"allow_seqscan": "yes"},
        {"name": ["a"]},
    ],
)
def test_a_targets_file_with_a_bad_value_gets_one_line(
    entry: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = targets_file(tmp_path / "targets.toml", **entry)

    status, out, err = run(capsys, "check", "--targets", str(path))

    assert_one_line(status, err)
    assert out == ""
    assert str(path) in err
    assert next(iter(entry)) in err


def test_a_targets_file_that_is_not_utf8_gets_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "targets.toml"
    path.write_bytes(b'[[target]]\nname = "caf\xe9"\nconninfo = "dbname=x"\n')

    status, _, err = run(capsys, "check", "--targets", str(path))

    assert_one_line(status, err)
    assert "not UTF-8" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--lock-timeout", "nan"],
        ["check", "--statement-timeout", "inf"],
        ["fix", "--lock-timeout", "nan"],
        ["fix", "--statement-timeout", "inf"],
        ["fix", "--rewrite-threshold", "9" * 400],
        ["check", "--window", "1e300"],
        ["forecast", "--warning-days", "nan"],
        ["serve", "--interval", "nan"],
        ["serve", "--interval", "inf"],
    ],
)
def test_a_number_that_is_no_number_gets_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, *argv, *arguments((argv[0],)))

    assert_one_line(status, err)
    assert argv[1] in err


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        elif name != "demo":  # starts a server of its own
            yield (*path, name)


def command_of(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


OPTIONS = [
    (path, option.opts[0])
    for path in commands()
    for option in command_of(path).params
    if isinstance(option, click.Option) and not option.is_flag
]
TYPED = st.one_of(
    st.sampled_from(
        ["nan", "inf", "-inf", "1e309", "1e300", "-1", "0", "1e-9", "", " ", "9" * 400, "\x7f"]
    ),
    # What a shell can pass: no NUL (argv is C strings), no lone surrogates.
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
    st.integers().map(str),
    st.floats().map(str),
)


def arguments(path: tuple[str, ...]) -> list[str]:
    """Where each command connects: nowhere (serve listens on a free port of its own)."""
    if path == ("sync",):
        return [UNREACHABLE, UNREACHABLE]
    if path == ("serve",):
        return ["--listen", "127.0.0.1:0", UNREACHABLE]
    if path == ("explain",):
        return []
    return [UNREACHABLE]


@pytest.mark.parametrize(
    ("path", "option"), OPTIONS, ids=[f"{' '.join(p)} {o}" for p, o in OPTIONS]
)
@FUZZ
@given(value=TYPED)
def test_every_option_takes_any_value_without_a_traceback(
    path: tuple[str, ...], option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, *path, *arguments(path), option, value)

    if path == ("serve",) and status == 0:  # accepted, served, and stopped: see nowhere()
        assert "Traceback" not in err
        return
    assert_one_line(status, err)


TOML_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.lists(st.one_of(st.text(max_size=5), st.integers(-5, 5)), max_size=3),
)


@pytest.mark.parametrize("key", sorted(TARGET_OPTIONS | {"name", "conninfo"}))
@FUZZ
@given(value=TOML_VALUES)
def test_every_targets_file_key_takes_any_value_without_a_traceback(
    key: str, value: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = targets_file(tmp_path / "targets.toml", **{key: value})

    status, out, err = run(capsys, "check", "--quiet", "--targets", str(path))

    assert "Traceback" not in err, err
    assert status == 3, err
    # -q is for a monitor: what stderr says, stdout says as a status line too.
    assert out.startswith("SEQDOCTOR UNKNOWN: "), out
    if err:  # refused; or accepted, and the target could not be reached: unknown
        assert_one_line(status, err)
        assert out.count("\n") == 1, out
    else:
        assert "; 1 databases (1 unknown) | " in out, out
