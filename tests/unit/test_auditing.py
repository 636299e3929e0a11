"""The audit's care for the process it runs in: the garbage collector, paused and given back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from seqdoctor.auditing import collector_paused


@pytest.fixture
def collector_state() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


@pytest.mark.usefixtures("collector_state")
def test_the_collector_resumes_when_the_last_of_overlapping_audits_ends() -> None:
    gc.enable()
    first, second = collector_paused(), collector_paused()  # two fleet threads
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other audit still runs
    second.__exit__(None, None, None)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_a_collector_the_caller_disabled_stays_disabled() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_the_collector_resumes_after_a_failed_audit() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError
    assert gc.isenabled()
