"""``seqdoctor serve``'s options, refused before anything is served: one line, exit status 3."""

from __future__ import annotations

import pytest

from seqdoctor.cli import main
from seqdoctor.errors import UsageError
from seqdoctor.exporter import DEFAULT_PORT, Exporter
from seqdoctor.fleet import Target


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metrics", "some"], "--metrics wants a number of columns or 'all', not 'some'"),
        (["--metrics", "-1"], "--metrics wants a number of columns or 'all', not '-1'"),
        # Digits to str.isdigit(), not to int(): the fuzz test's hypothesis found the first.
        (["--metrics", "\u00b9"], "--metrics wants a number of columns or 'all'"),
        (["--listen", ":\u00b9"], "--listen wants HOST:PORT"),
        (["--full-every", "-5"], "--full-every"),
        (["--full-every", "nan"], "--full-every"),
    ],
)
def test_bad_serve_options_are_one_line_and_exit_3(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["serve", "--listen", "127.0.0.1:0", *argv, "host=127.0.0.1 port=1"])
    err = capsys.readouterr().err

    assert status == 3
    assert message in err
    assert "Traceback" not in err


def test_the_exporter_listens_on_its_own_port_by_default() -> None:
    with pytest.raises(UsageError, match="--full-every"):
        Exporter([Target("x", "")], full_every=-1)
    assert Exporter.__dataclass_fields__["listen"].default == ("127.0.0.1", DEFAULT_PORT)
    assert DEFAULT_PORT != 9187  # postgres_exporter's


def test_serve_listens_on_the_exporters_default_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert f"127.0.0.1:{DEFAULT_PORT}" in capsys.readouterr().out
