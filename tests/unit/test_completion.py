"""Shell completion: check codes and names for explain, --select, --ignore and fix --code."""

from __future__ import annotations

import pytest
from click.shell_completion import ShellComplete

from seqdoctor.checks import REGISTRY
from seqdoctor.cli import cli
from tests.fix_db import seqdoctor_cli


def completed(*words: str) -> list[tuple[str, str | None]]:
    """What the shell offers after *words*, the last one being typed."""
    *args, typed = words
    complete = ShellComplete(cli, {}, "seqdoctor", "_SEQDOCTOR_COMPLETE")
    return [(item.value, item.help) for item in complete.get_completions(args, typed)]


@pytest.mark.parametrize(
    "words",
    [
        ("explain", "SEQ00"),
        ("check", "--select", "SEQ00"),
        ("check", "--ignore", "seq00"),
        ("serve", "--select", "SEQ00"),
        ("fix", "--code", "SEQ00"),
    ],
)
def test_check_codes_are_completed_with_their_names(words: tuple[str, ...]) -> None:
    assert completed(*words) == [(c.code, c.name) for c in REGISTRY if c.code < "SEQ010"]


def test_a_name_being_typed_is_completed_as_a_name() -> None:
    assert completed("check", "--ignore", "seq00", "--ignore", "col") == [
        ("column-near-overflow", "SEQ002")
    ]
    assert completed("explain", "") == [(c.code, c.name) for c in REGISTRY]
    assert completed("explain", "nothing-like-it") == []


def test_the_documented_bash_script_is_printed() -> None:
    done = seqdoctor_cli(env={"_SEQDOCTOR_COMPLETE": "bash_source"})
    assert done.returncode == 0, done.stderr
    assert "_seqdoctor_completion()" in done.stdout
    assert "complete -o nosort -F _seqdoctor_completion seqdoctor" in done.stdout
