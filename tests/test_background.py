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
    started, gate = threading.Event(), threading.Event()
    ran: list[int] = []

    def step(n: int) -> None:
        started.set()
        gate.wait(5)
        ran.append(n)

    with pytest.raises(KeyError), InOrder(depth=10) as behind:
        for i in range(5):
            behind.call(step, i)
        assert started.wait(5)  # call 0 is running
        threading.Timer(0.3, gate.set).start()  # after the caller has left
        raise KeyError("the decode failed")
    assert ran == [0]  # only the call already running when the caller left


def test_calls_queued_behind_a_failing_one_never_run() -> None:
    gate = threading.Event()
    ran: list[int] = []

    def step(n: int) -> None:
        if n == 0:
            gate.wait(5)
            raise ValueError("no face model")
        ran.append(n)

    with pytest.raises(ValueError, match="no face model"), InOrder(depth=10) as behind:
        for i in range(6):
            behind.call(step, i)  # all queued while call 0 waits
        gate.set()
    assert ran == []


def test_the_last_calls_error_is_raised_on_leaving() -> None:
    with pytest.raises(ValueError, match="the last one"), InOrder() as behind:
        behind.call(time.sleep, 0.2)
        behind.call(lambda: (_ for _ in ()).throw(ValueError("the last one")))


def test_leaving_waits_for_every_call() -> None:
    ran: list[int] = []
    with InOrder() as behind:
        behind.call(time.sleep, 0.3)
        behind.call(ran.append, 1)
    assert ran == [1]


def test_nothing_runs_after_the_error_even_if_the_caller_goes_on() -> None:
    ran: list[int] = []
    behind = InOrder()
    behind.call(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        for _ in range(500):
            behind.call(time.sleep, 0.01)
    behind.call(ran.append, 1)
    behind.join()
    assert ran == []


def test_ctrl_c_while_leaving_drops_what_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []
    gate = threading.Event()
    behind = InOrder(depth=10)
    thread = behind._thread
    wait = thread.join
    behind.call(gate.wait, 5)
    for i in range(3):
        behind.call(ran.append, i)

    def interrupted(timeout: float | None = None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(thread, "join", interrupted)
    with pytest.raises(KeyboardInterrupt), behind:
        pass
    gate.set()
    wait(5)
    assert ran == []
