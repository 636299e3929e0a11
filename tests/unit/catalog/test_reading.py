"""Reading spread over connections: each sequence's objects always on the same one."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

import pytest

from seqdoctor.catalog.reading import Connection, owner, spread_owned


def test_a_sequence_has_one_owner_and_the_oids_of_a_run_of_tables_are_shared_out() -> None:
    # Tables made one after another take oids at a stride (a table, its type, its
    # sequence, its index...): whatever the stride, each connection gets its share.
    for stride in (1, 2, 4, 6, 8):
        oids = range(16384, 16384 + 1000 * stride, stride)
        for count in (2, 3):
            shares = [sum(owner(oid, count) == at for oid in oids) for at in range(count)]
            assert min(shares) > 1000 / count * 0.9
    assert {owner(16390, 2) for _ in range(3)} == {owner(16390, 2)}
    assert {owner(oid, 1) for oid in range(16384, 17384)} == {0}


def connections(count: int) -> list[Connection]:
    return [cast(Connection, f"conn{i}") for i in range(count)]


def test_each_item_is_read_on_its_owner_and_the_results_come_in_turns() -> None:
    conns = connections(2)
    items = list(range(16384, 16484))
    read_on: dict[int, Connection] = {}
    threads: dict[Connection, set[int]] = {}

    def read(conn: Connection, batch: Sequence[int]) -> list[int]:
        read_on.update((item, conn) for item in batch)
        threads.setdefault(conn, set()).add(threading.get_ident())
        return [item * 2 for item in batch]

    done = list(spread_owned(conns, items, lambda oid: oid, 10, read))

    assert read_on == {oid: conns[owner(oid, 2)] for oid in items}
    assert all(len(batch) <= 10 for batch, _ in done)
    assert [r for _, result in done for r in result] == [2 * i for b, _ in done for i in b]
    assert sorted(i for batch, _ in done for i in batch) == items
    # Taking turns: the first two batches are one from each connection.
    assert {owner(done[0][0][0], 2), owner(done[1][0][0], 2)} == {0, 1}
    assert all(len(idents) == 1 for idents in threads.values())


def test_an_error_is_raised_and_the_batches_not_started_are_not_read() -> None:
    conns = connections(1)
    read: list[Sequence[int]] = []

    def failing(conn: Any, batch: Sequence[int]) -> None:
        read.append(batch)
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        list(spread_owned(conns, list(range(100)), lambda oid: oid, 10, failing))

    assert len(read) == 1


def test_the_error_raised_is_the_failed_batchs_not_a_batch_left_unread_for_it() -> None:
    """A batch later in turn fails while another connection's earlier batch is still being
    read: that connection's next batch is not read, and the error is the failure's."""
    first = [oid for oid in range(16384, 16484) if owner(oid, 2) == 0][:3]
    second = [oid for oid in range(16384, 16484) if owner(oid, 2) == 1][:2]
    failed = threading.Event()
    read_items: list[int] = []

    def read(conn: Any, batch: Sequence[int]) -> list[int]:
        (oid,) = batch
        if oid == first[2]:  # the last in turn
            failed.set()
            raise RuntimeError("the failure")
        if oid == second[0]:
            assert failed.wait(5)
        read_items.append(oid)
        return [oid]

    with pytest.raises(RuntimeError, match="the failure"):
        list(spread_owned(connections(2), [*first, *second], lambda oid: oid, 1, read))

    assert second[1] not in read_items
