"""Catalog files (--channels): keys that are not text, NaN/inf limits, alias amplification
and catastrophic regexes are refused with the file and key path (issue 14, F13)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import ClipStore
from .helpers import run_cli

FIX = " (fix the file or remove it).\n"
PLATFORM = """\
    name: Acme Video
    help_centre: https://help.acme-video.com
    id: {{name: job ID, where: Job page, source: https://help.acme-video.com/id, checked: 2026-10-01, status: official{extra}}}
    channels: []
    refund_policy: {{summary: s, covers_quality: false, source: https://help.acme-video.com/r, checked: 2026-10-01, status: official}}
"""  # noqa: E501


def _platform(key: str, extra: str = "") -> str:
    return f"platforms:\n  {key}:\n" + PLATFORM.format(extra=extra)


def _build(clips: ClipStore, tmp_path: Path, catalog: str, *extra: str, platform: str = "kling",
           expect: int = 2) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(catalog)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", platform, "--id",
                     "abc123", "--failure", "physics", "--mark", "0.5", "--channels", path,
                     "-o", tmp_path / "b.zip", "--quiet", *extra, expect=expect)
    return str(result.stderr)


@pytest.mark.parametrize(("key", "shown", "kind"), [
    ("1", "1", "a number"),
    ("2.5", "2.5", "a number"),
    ("yes", "True", "true/false (YAML reads yes, no, on and off as true/false)"),
    ("null", "None", "empty"),
    ("2026-01-01", "2026-01-01", "a date"),
])
def test_a_key_that_is_not_text(clips: ClipStore, tmp_path: Path, key: str, shown: str,
                                kind: str) -> None:
    """r13: 'unexpected AttributeError: 'int' object has no attribute 'strip'' (and every
    build broke, whatever the platform)."""
    stderr = _build(clips, tmp_path, _platform(key))
    assert stderr == (f"Error: {tmp_path / 'c.yaml'}: platforms.{shown}: the key must be text, "
                      f"not {kind}: put it in quotes{FIX}")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("field", ["attachment_limit_mb", "message_limit_chars"])
def test_nan_and_infinite_limits(clips: ClipStore, tmp_path: Path, value: str,
                                 field: str) -> None:
    """r13: 'unexpected ValueError: cannot convert float NaN to integer' / OverflowError."""
    stderr = _build(clips, tmp_path, f"limits:\n  email:\n    {field}: {value}\n")
    assert stderr == (f"Error: {tmp_path / 'c.yaml'}: limits.email.{field}: must be a positive "
                      f"number (not .nan or .inf){FIX}")
    path = tmp_path / "c.yaml"
    assert run_cli("platforms", "--channels", path, expect=2).stderr == stderr


def test_alias_amplification_is_refused(clips: ClipStore, tmp_path: Path) -> None:
    """r18: a 1 MB file whose 1 MB string is referenced 2000 times printed 2 GB in 59 s, and
    build ended in MemoryError at 4 GB."""
    text = 'schema: &a "' + "lol " * 250000 + '"\n' + _platform("acme").replace(
        "channels: []", "channels:\n      - {key: email, kind: email, where: help@acme-video.com, "
        "source: https://help.acme-video.com/c, checked: 2026-10-01, status: official, steps: ["
        + ", ".join(["*a"] * 2000) + "]}")
    started = time.monotonic()
    stderr = _build(clips, tmp_path, text, platform="acme")
    assert time.monotonic() - started < 10
    assert stderr == (f"Error: {tmp_path / 'c.yaml'}: its YAML aliases ('*name') repeat more "
                      f"than 8 MB of text: write the values out, or remove the file.\n")


def test_a_few_aliases_are_fine(clips: ClipStore, tmp_path: Path) -> None:
    text = "schema: &s [Open the app, Go to Help]\n" + _platform("acme").replace(
        "channels: []", "channels:\n      - {key: email, kind: email, where: help@acme-video.com, "
        "source: https://help.acme-video.com/c, checked: 2026-10-01, status: official, "
        "steps: *s}")
    _build(clips, tmp_path, text, platform="acme", expect=0)


@pytest.mark.parametrize("pattern", ["(a+)+$", "(\\\\w+\\\\s?)*$", "([a-z]*)*x"])
def test_a_regex_that_can_backtrack_forever(clips: ClipStore, tmp_path: Path,
                                            pattern: str) -> None:
    """F13: with pattern (a+)+$, each more 'a' in --id doubled the time (26: 6 s)."""
    stderr = _build(clips, tmp_path, _platform("acme", f", pattern: '{pattern}'"),
                    platform="acme")
    assert stderr == (f"Error: {tmp_path / 'c.yaml'}: platforms.acme.id.pattern: repeats a part "
                      f"that itself repeats (like (a+)+ or (\\w+\\s?)*), which can take "
                      f"exponential time on a long ID: write it without the nested repeat{FIX}")


def test_a_huge_catalog_file_is_refused_unread(clips: ClipStore, tmp_path: Path) -> None:
    """F13: a 50 MB catalog took 95 s and 858 MB."""
    text = _platform("acme") + "# " + "x" * (5 << 20) + "\n"
    stderr = _build(clips, tmp_path, text, platform="acme")
    assert stderr.startswith(f"Error: {tmp_path / 'c.yaml'}: the file is 5.2 MB; a catalog is "
                             f"a few kB")
