"""Calls run in order on a thread of their own: every call runs, in order; the first error
reaches the caller with its own type; nothing runs after it or after the caller leaves."""

from __future__ import annotations

import threading
import time

import pytest

from ava_evidence.background import InOrder
from ava_evidence.errors import AvaError


def test_every_call_runs_in_order_on_another_thread() -> None:
    seen: list[tuple[int, str]] = []
    with InOrder(depth=2) as behind:
        for i in range(50):
            behind.call(lambda n: seen.append((n, threading.current_thread().name)), i)
    assert [n for n, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"ava-in-order"}


def test_the_first_error_reaches_the_caller_and_nothing_runs_after_it() -> None:
    ran: list[int] = []
    failed = threading.Event()

    def step(n: int) -> None:
        if n == 3:
            failed.set()
            raise AvaError("the face model is broken")
        ran.append(n)

    with pytest.raises(AvaError, match=r"^the face model is broken$"), InOrder() as behind:
        for i in range(6):
            behind.call(step, i)
            if i == 3:
                failed.wait(5)
                time.sleep(0.05)
    assert ran == [0, 1, 2]


def test_an_error_raised_at_the_next_call() -> None:
    behind = InOrder()
    behind.call(lambda: 1 / 0)
    deadline = time.monotonic() + 5
    with pytest.raises(ZeroDivisionError):
        while time.monotonic() < deadline:
            behind.call(lambda: None)
            time.sleep(0.01)
    behind.join()  # raised once only


def test_leaving_by_an_error_drops_what_waits() -> None:
    gate = threading.Event()
    ran: list[int] = []

    def step(n: int) -> None:
        gate.wait(5)
        ran.append(n)

    with pytest.raises(KeyError), InOrder(depth=10) as behind:
        for i in range(5):
            behind.call(step, i)
        threading.Timer(0.3, gate.set).start()  # after the caller has left
        raise KeyError("the decode failed")
    assert ran == [0]  # only the call already running when the caller left
