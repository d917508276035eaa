"""Text from users and files reaches the terminal escaped; IDs refuse invisible controls
(issue 14, F21)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ava_evidence.text import json_safe, printable

from .conftest import ClipStore
from .helpers import run_cli

EVIL = "\x1b]0;PWNED\x07\x1b[2J\x1b[31m\u202e\u009b"
SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31m\\u202e\\x9b"
RAW = ("\x1b", "\x07", "\u202e", "\u009b", "\r")


def _clean(*texts: str) -> None:
    for text in texts:
        assert not any(c in text for c in RAW), repr(text)


def test_printable() -> None:
    assert printable(f"a{EVIL}b\r\n\t") == f"a{SHOWN}b\\x0d\\x0a\\x09"
    assert printable("Library > Assets, café, 日本, C:\\clip") == \
        "Library > Assets, café, 日本, C:\\clip"


@given(st.text())
def test_printable_leaves_no_control_character(text: str) -> None:
    shown = printable(text)
    assert not any(c in shown for c in ("\x1b", "\r", "\n", "\u2028", "\u202e", "\x9b", "\0"))


@given(st.text())
def test_json_safe_keeps_the_meaning(text: str) -> None:
    import json

    doc = json.dumps({"k": text}, ensure_ascii=False)
    assert json.loads(json_safe(doc)) == {"k": text}
    assert "\u202e" not in json_safe(doc) and "\x9b" not in json_safe(doc)


@pytest.mark.parametrize(("args", "shown"), [
    (["build", "CLIP", "--platform", f"kl{EVIL}", "--id", "g", "--failure", "physics"],
     f"Error: unknown platform 'kl{SHOWN}'"),
    (["build", "CLIP", "--platform", "kling", "--id", "g", "--failure", f"x{EVIL}"],
     f"Error: unknown failure 'x{SHOWN}'"),
    (["build", "CLIP", "--platform", "runway", "--plan", f"p{EVIL}", "--id", "g",
      "--failure", "identity"], f"Error: unknown plan 'p{SHOWN}'"),
    (["frames", "CLIP", f"1{EVIL}"], f"Error: '1{SHOWN}' is not a time"),
    (["build", "CLIP", "--platform", "kling", "--id", "g", "--failure", "physics",
      "--mark", f"2{EVIL}"], f"Error: '2{SHOWN}' is not a time"),
])
def test_errors_show_user_text_escaped(clips: ClipStore, tmp_path: Path, args: list[str],
                                       shown: str) -> None:
    args = [str(clips.path("h264_bframes")) if a == "CLIP" else a for a in args]
    result = run_cli(*args, "-o", tmp_path / "o" if args[0] == "frames" else tmp_path / "b.zip",
                     expect=2)
    _clean(result.stderr)
    assert result.stderr.startswith(shown), result.stderr


def test_file_names_are_shown_escaped(clips: ClipStore, tmp_path: Path) -> None:
    clip = tmp_path / f"clip{EVIL}.mp4"
    shutil.copyfile(clips.path("h264_bframes"), clip)
    probe = run_cli("probe", clip).stdout
    _clean(probe)
    assert f"file        clip{SHOWN}.mp4 (" in probe
    frames = run_cli("frames", clip, "start", "-o", tmp_path / f"out{EVIL}").stdout
    _clean(frames)
    build = run_cli("build", clip, "--platform", "kling", "--id", "g1", "--failure",
                    "physics", "--mark", "1", "-o", tmp_path / f"b{EVIL}.zip", "--quiet").stdout
    _clean(build)
    assert f"Bundle: {tmp_path}/b{SHOWN}.zip (" in build
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"clip,platform,id,failure,marks\nclip{EVIL}.mp4,kling,j1,physics,1\n")
    batch = run_cli("batch", jobs, "-o", tmp_path / "bo", "--quiet")
    _clean(batch.stdout, batch.stderr)
    assert f"clip{SHOWN}.mp4" in batch.stdout


@pytest.mark.parametrize(("gid", "named"), [
    ("abc\u009b31m", "U+009B"),
    ("abc\u202edef", "U+202E"),
    ("\u2066abc\u2069", "U+2066, U+2069"),
    ("abc\u200fdef", "U+200F"),
])
def test_ids_refuse_c1_and_bidi_controls(clips: ClipStore, tmp_path: Path, gid: str,
                                         named: str) -> None:
    """F21: --id refused C0 controls, but C1 and bidi overrides reached the ticket."""
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", gid,
                     "--failure", "identity", "-o", tmp_path / "b.zip", expect=2)
    assert result.stderr == (
        f"Error: the Generation ID contains {named}, a control or text-direction character "
        f"that changes how the ticket reads: pass the ID exactly as the platform shows it, "
        f"with --id.\n")
    assert list(tmp_path.iterdir()) == []
