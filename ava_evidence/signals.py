"""SIGTERM and SIGHUP handled like Ctrl-C: the work stops, cleans up, and exits 143 / 129.

``timeout``, ``kill``, systemd, Docker and CI cancellation send SIGTERM; closing a
terminal or an SSH session sends SIGHUP. By default either kills the process on the
spot, leaving staging folders and ``.part`` files behind. :func:`install` makes them
raise :class:`Terminated`, a ``KeyboardInterrupt``, so every clean-up that Ctrl-C runs
(``finally`` blocks, ``except BaseException``) runs for them too::

    signals.install()        # the CLI's main(), and each batch worker
    ...
    sys.exit(signals.exit_code())   # 130, 143 or 129
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: stop as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    """The handler: record the signal (for the exit code) and stop with Terminated."""
    _received.append(signum)
    if threading.current_thread() is threading.main_thread():
        # Already stopping: a second SIGTERM/SIGHUP (a batch worker gets one from the
        # batch and one from its pool) must not cut the clean-up short.
        for sig in HANDLED:
            signal.signal(sig, _record)
    raise Terminated(signum)


def _record(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)


def install() -> None:
    """Make SIGTERM and SIGHUP raise :class:`Terminated` (main thread only)."""
    for sig in HANDLED:
        signal.signal(sig, _raise)


def uninstall() -> None:
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_DFL)


def reset() -> None:
    """Forget signals received before (one CLI invocation starts)."""
    _received.clear()


def received() -> int | None:
    """The last SIGTERM/SIGHUP received, if any."""
    return _received[-1] if _received else None


def stopping_signal(error: BaseException | None = None) -> int:
    """The signal that stopped the work: a :class:`Terminated` in ``error``'s chain, else
    the last SIGTERM/SIGHUP received (FFmpeg may have turned it into another error), else
    SIGINT."""
    seen: set[int] = set()
    current = error
    while current is not None and id(current) not in seen:
        if isinstance(current, Terminated):
            return current.signum
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return received() or signal.SIGINT


def exit_code(error: BaseException | None = None) -> int:
    """128 + the signal that stopped the work: 130 for Ctrl-C, 143 SIGTERM, 129 SIGHUP."""
    return 128 + stopping_signal(error)


def describe(error: BaseException | None = None) -> str:
    """How the work was stopped, for the one error line."""
    sig = stopping_signal(error)
    if sig == signal.SIGINT:
        return "interrupted"
    return f"stopped by {signal.Signals(sig).name}"
