"""Calls run in order on a thread of their own, so two measures share the clip's one decode
on two cores (dlib's detector, OpenCV and numpy's matrix products release the GIL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

_DONE = None
"""Queued last: the thread ends when it takes it."""


class InOrder:
    """``call`` queues a call and returns, waiting only while ``depth`` calls already wait
    (so the caller runs at most that far ahead); the calls run in the order they were
    queued. The first error a call raises is raised again to the
    caller, by its next ``call`` or by ``join`` (leaving the ``with`` block joins); no call
    runs after it. Leaving the block by an error drops the calls still waiting."""

    def __init__(self, depth: int = 8) -> None:
        self._calls: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = \
            queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ava-in-order", daemon=True)
        self._thread.start()

    def __enter__(self) -> InOrder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            try:
                self.join()
            except BaseException:  # Ctrl-C while waiting: what waits is dropped
                self._stop.set()
                raise
            return
        self._stop.set()
        self._put(_DONE)
        self._thread.join()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self._raise()
        self._put((fn, args))

    def join(self) -> None:
        """Wait for every call queued, raising the first error one raised."""
        self._put(_DONE)
        self._thread.join()
        self._raise()

    def _put(self, entry: tuple[Callable[..., Any], tuple[Any, ...]] | None) -> None:
        """Queue ``entry``, unless the thread has ended (then nothing would take it)."""
        while self._thread.is_alive():
            try:
                self._calls.put(entry, timeout=0.1)
                return
            except queue.Full:
                continue

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._stop.set()
            raise error

    def _run(self) -> None:
        while (entry := self._calls.get()) is not _DONE:
            if self._stop.is_set() or self._error is not None:
                continue  # dropped: the caller is leaving, or a call failed
            fn, args = entry
            try:
                fn(*args)
            except BaseException as e:  # raised again to the caller
                self._error = e
