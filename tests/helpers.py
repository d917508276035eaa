"""Run the CLI in-process and fail loudly, with its stderr, on a surprise exit code."""

from __future__ import annotations

import contextlib
import json
import signal
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from ava_evidence.cli import cli


def run_cli(*args: str | Path, expect: int = 0, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    if result.exit_code != expect:
        exc = ""
        if result.exc_info and not isinstance(result.exception, SystemExit):
            exc = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(
            f"ava-evidence {' '.join(map(str, args))}: exit {result.exit_code}, expected {expect}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n{exc}")
    return result


def run_json(*args: str | Path, expect: int = 0) -> Any:
    result = run_cli(*args, "--json", expect=expect)
    return json.loads(result.stdout)


@contextlib.contextmanager
def ctrl_c_reaches_children() -> Iterator[None]:
    """Children started inside get Ctrl-C as from a terminal. A test run started where
    SIGINT is ignored (a background job of a shell script) would pass that on to them (exec
    keeps an ignored signal), and a Ctrl-C sent to them would do nothing: the server would
    run on, a build would finish."""
    was = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if was is not None:
            signal.signal(signal.SIGINT, was)
