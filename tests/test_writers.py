"""Every writer: nothing replaced without --force, nothing written through a symbolic link,
no FIFO or device opened, whole files renamed into place (issue 14, F5; F20's messages)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import ClipStore
from .helpers import run_cli


@pytest.fixture
def targets(tmp_path: Path) -> Path:
    """notes.txt (someone's file), link.png -> notes.txt, fifo.png, chart.png (a file)."""
    (tmp_path / "notes.txt").write_text("important notes\n")
    (tmp_path / "link.png").symlink_to("notes.txt")
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "chart.png").write_bytes(b"an older chart")
    return tmp_path


def _suggest(clips: ClipStore, chart: Path, *extra: str, expect: int) -> str:
    result = run_cli("suggest", clips.path("h264_bframes"), "--failure", "physics",
                     "--chart", chart, "--quiet", *extra, expect=expect)
    return str(result.stderr)


def _untouched(targets: Path) -> None:
    assert (targets / "notes.txt").read_text() == "important notes\n"
    assert os.readlink(targets / "link.png") == "notes.txt"
    assert (targets / "fifo.png").is_fifo()


@pytest.mark.parametrize(("name", "message"), [
    ("chart.png", "{p} already exists: use --force to replace it, or choose another name."),
    ("link.png", "{p} already exists: use --force to replace it, or choose another name."),
    ("fifo.png", "{p} is a FIFO (named pipe), not a file: choose another path."),
])
def test_chart_never_replaces_without_force(clips: ClipStore, targets: Path, name: str,
                                            message: str) -> None:
    """r12: --chart replaced a file, a symlink's target and a FIFO (as root: /dev/null)."""
    path = targets / name
    assert _suggest(clips, path, expect=1) == f"Error: {message.format(p=path)}\n"
    _untouched(targets)
    assert (targets / "chart.png").read_bytes() == b"an older chart"


def test_chart_with_force_replaces_a_link_not_its_target(clips: ClipStore,
                                                         targets: Path) -> None:
    _suggest(clips, targets / "link.png", "--force", expect=0)
    assert (targets / "notes.txt").read_text() == "important notes\n"
    link = targets / "link.png"
    assert not link.is_symlink() and link.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fifo = targets / "fifo.png"
    assert _suggest(clips, fifo, "--force", expect=1) == (
        f"Error: {fifo} is a FIFO (named pipe), not a file: choose another path.\n")
    assert fifo.is_fifo()
    assert not [p for p in targets.iterdir() if p.name.startswith(".tmp-")]


def test_chart_path_mistakes(clips: ClipStore, tmp_path: Path) -> None:
    """F20: a missing folder gave 'unexpected FileNotFoundError'; 'chart.txt' was written
    as a PNG without a word."""
    assert _suggest(clips, tmp_path / "nodir" / "chart.png", expect=1) == (
        f"Error: folder {tmp_path / 'nodir'} does not exist: create it (mkdir -p "
        f"{tmp_path / 'nodir'}) or choose another path.\n")
    assert _suggest(clips, tmp_path / "chart.txt", expect=2) == (
        "Error: the chart is a PNG image: give --chart a name ending in .png (got "
        "chart.txt).\n")
    assert list(tmp_path.iterdir()) == []


def test_demo_never_writes_through_a_link(tmp_path: Path) -> None:
    """r12 (demo): 'demo -o d' wrote the report through d/report.html -> ../mynotes.txt."""
    d = tmp_path / "d"
    d.mkdir()
    (tmp_path / "mynotes.txt").write_text("notes\n")
    (d / "report.html").symlink_to("../mynotes.txt")
    result = run_cli("demo", "-o", d, "--quiet", expect=1)
    assert result.stderr == (f"Error: {d / 'report.html'} already exists: use --force to "
                             f"replace it, or choose another name.\n")
    assert sorted(p.name for p in d.iterdir()) == ["report.html"]  # nothing made
    run_cli("demo", "-o", d, "--quiet", "--force")
    assert (tmp_path / "mynotes.txt").read_text() == "notes\n"
    report = d / "report.html"
    assert not report.is_symlink() and report.read_text().lstrip().startswith("<!")
    assert sorted(p.name for p in d.iterdir()) == ["demo_bundle.zip", "demo_clip.mp4",
                                                   "report.html"]


def test_frames_replaces_a_still_only_with_force(clips: ClipStore, tmp_path: Path) -> None:
    out = tmp_path / "stills"
    first = run_cli("frames", clips.path("h264_bframes"), "f3", "-o", out).stdout.split()[0]
    still = Path(first)
    (tmp_path / "mine.png").write_bytes(b"mine")
    still.unlink()
    still.symlink_to(tmp_path / "mine.png")
    result = run_cli("frames", clips.path("h264_bframes"), "f3", "f4", "-o", out, expect=1)
    assert result.stderr == (f"Error: {still} already exists: use --force to replace it, or "
                             f"choose another name.\n")
    assert sorted(p.name for p in out.iterdir()) == [still.name]  # f4 not written either
    run_cli("frames", clips.path("h264_bframes"), "f3", "-o", out, "--force")
    assert (tmp_path / "mine.png").read_bytes() == b"mine"
    assert not still.is_symlink() and still.read_bytes()[:4] == b"\x89PNG"


def test_a_bundle_never_replaces_a_fifo(clips: ClipStore, tmp_path: Path) -> None:
    fifo = tmp_path / "b.zip"
    os.mkfifo(fifo)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "f1",
                     "--failure", "identity", "-o", fifo, "--force", expect=1)
    assert result.stderr == f"Error: {fifo} is a FIFO (named pipe), not a file: choose " \
                            f"another path.\n"
    assert fifo.is_fifo() and [p.name for p in tmp_path.iterdir()] == ["b.zip"]
