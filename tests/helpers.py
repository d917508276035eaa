"""Run the CLI in-process and fail loudly, with its stderr, on a surprise exit code."""

from __future__ import annotations

import json
import traceback
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
