"""read_ahead: items made on a thread of their own, errors and closing handed across."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ava_evidence.decode import read_ahead


def test_every_item_in_order() -> None:
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))


def test_items_are_made_on_another_thread_ahead_of_the_reader() -> None:
    made: list[int] = []
    ready = threading.Event()

    def items() -> Iterator[int]:
        for k in range(5):
            made.append(k)
            if k == 3:
                ready.set()
            yield k

    reader = read_ahead(items(), depth=8)
    assert next(reader) == 0
    assert ready.wait(5)  # made while the reader holds only the first
    assert made[:4] == [0, 1, 2, 3]
    assert list(reader) == [1, 2, 3, 4]


def test_an_error_reaches_the_reader_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("damaged at 3")

    got: list[int] = []
    with pytest.raises(ValueError, match="damaged at 3"):
        for k in read_ahead(items()):
            got.append(k)
    assert got == [1, 2]


def test_closing_the_reader_stops_the_thread_and_closes_the_items() -> None:
    closed = threading.Event()
    made: list[int] = []

    def items() -> Iterator[int]:
        try:
            k = 0
            while True:  # endless: only closing stops it
                made.append(k)
                yield k
                k += 1
        finally:
            closed.set()

    before = threading.active_count()
    reader = read_ahead(items(), depth=2)
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert closed.is_set()  # closed before close() returned: the file is shut
    assert threading.active_count() == before
    assert len(made) <= 3 + 2 + 2  # read, waiting in the queue, one being put


def test_an_error_in_the_reader_stops_the_thread() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(10 ** 9)
        finally:
            closed.set()

    before = threading.active_count()
    with pytest.raises(KeyError):
        for k in read_ahead(items(), depth=2):  # the thread waits to put: the queue is full
            if k == 5:
                raise KeyError(k)
    assert closed.is_set()
    assert threading.active_count() == before
