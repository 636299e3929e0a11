"""The sample suite's tests (test_frobs.py when pytester runs it): the flaky pattern.

From "That Postgres sequences aren't restored after a transaction rollback":
``test_create_frobs`` inserts a row with a generated id, then one with the id
hard-coded to 3. On a fresh database, after ``test_list_frobs``, which rolled
back but burnt ids 1 and 2, the generated id is 3 and the hard-coded insert
fails with a duplicate key; run alone, or once more ids have been burnt, it
passes: the outcome depends on what ran before. With seqdoctor's plugin
(--seqdoctor-ids=restart and --seqdoctor-guard=raise) every test starts from
the same ids, and the hard-coded 3, ahead of the sequence, fails every run,
naming itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg


def test_list_frobs(make_frob: Callable[..., int]) -> None:
    made = [make_frob(name="first"), make_frob(name="second")]
    assert len(set(made)) == 2


def test_no_frobs_left_behind(db: psycopg.Connection[Any]) -> None:
    assert db.execute("SELECT count(*) FROM frobs").fetchone() == (0,)  # rolled back


def test_create_frobs(make_frob: Callable[..., int]) -> None:
    make_frob()  # a generated id
    assert make_frob(id=3) == 3  # a hard-coded id
