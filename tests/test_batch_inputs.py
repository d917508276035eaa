"""Batch input files read as written (issue 14, F14), and the misleading messages of F20."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli
from .test_batch import in_job_order


@pytest.fixture
def folder(tmp_path: Path, clips: ClipStore) -> Path:
    shutil.copyfile(clips.path("h264_bframes"), tmp_path / "base.mp4")
    return tmp_path


def _batch(folder: Path, name: str, text: str, expect: int) -> tuple[str, str]:
    (folder / name).write_text(text, encoding="utf-8")
    result = run_cli("batch", folder / name, "-o", folder / "out", "--quiet", expect=expect)
    return result.stdout, result.stderr


def test_a_huge_integer_is_an_id_not_a_crash(folder: Path) -> None:
    """r15: 'unexpected ValueError: Exceeds the limit (4300 digits) for integer string
    conversion'."""
    row = ('{"clip": "base.mp4", "platform": "kling", "failure": "physics", "marks": "0.5", '
           f'"id": {"9" * 5000}}}\n')
    out, _ = _batch(folder, "bigint.jsonl", row, expect=1)
    assert out.splitlines()[0].endswith(
        "failed Error: the Generation ID is 5000 characters long; IDs are at most 512: pass the "
        "ID itself, not a whole page.")


@pytest.mark.parametrize(("name", "text"), [
    ("big.csv", "clip,platform,id,failure,marks,note\nbase.mp4,kling,b1,physics,0.5,{note}\n"),
    ("big.jsonl", '{{"clip": "base.mp4", "platform": "kling", "id": "b1", "failure": "physics", '
                  '"marks": "0.5", "note": "{note}"}}\n'),
])
def test_a_field_over_128_kib(folder: Path, name: str, text: str) -> None:
    """r15: a 200 kB CSV note gave 'unexpected Error: field larger than field limit'."""
    _, err = _batch(folder, name, text.format(note="n" * 200_000), expect=2)
    assert err == (f"Error: {name}, line {2 if name.endswith('.csv') else 1}: 'note' is 200000 "
                   f"characters long; a field holds at most 131072 (128 KiB): shorten it.\n")


def test_u2028_inside_a_json_string(folder: Path) -> None:
    """r15: valid JSON Lines holding U+2028 (as json.dumps(ensure_ascii=False) writes it) was
    'not valid JSON (Unterminated string)': lines were split at U+2028 too."""
    row = json.dumps({"clip": "base.mp4", "platform": "kling", "id": "ls1", "failure": "physics",
                      "marks": "0.5", "note": "line\u2028sep\u2029and\x85more"},
                     ensure_ascii=False)
    out, _ = _batch(folder, "u2028.jsonl", row + "\n", expect=0)
    assert out.splitlines()[-1] == "1 built, 0 failed"


def test_csv_lines_are_counted_as_in_the_file(folder: Path) -> None:
    """r15: a quoted note over 3 lines, then a row without its mark on physical line 5,
    was reported as 'line 3'."""
    text = ('clip,platform,id,failure,marks,note\n'
            'base.mp4,kling,ml1,physics,0.5,"first\nsecond\nthird"\n'
            'base.mp4,kling,ml2,physics,,needs a mark\n'
            'base.mp4,kling,ml3,physics,0.5,"a\u2028b"\n')
    out, _ = _batch(folder, "multi.csv", text, expect=1)
    lines = in_job_order(out)
    assert [line.split()[1] for line in lines[:3]] == ["2", "5", "6"]
    assert lines[1].split()[3] == "failed" and lines[2].split()[3] == "built"


@pytest.mark.parametrize(("output", "message"), [
    ("../escaped.zip", "'output' must name a bundle inside the -o folder, like a.zip or "
                       "kling/a.zip (got ../escaped.zip)."),
    ("/tmp/abs.zip", "'output' must name a bundle inside the -o folder, like a.zip or "
                     "kling/a.zip (got /tmp/abs.zip)."),
    ("subdir/", "'output' is the bundle's file name: end it in .zip (got subdir/)."),
])
def test_output_stays_inside_o(folder: Path, output: str, message: str) -> None:
    """r15: 'output: ../escaped.zip' built outside -o; F20: 'output: subdir/' was blamed on
    -o ('give -o a name ending in .zip')."""
    row = json.dumps({"clip": "base.mp4", "platform": "kling", "id": "t1", "failure": "physics",
                      "marks": "0.5", "output": output})
    _, err = _batch(folder, "o.jsonl", row + "\n", expect=2)
    assert err == f"Error: o.jsonl, line 1: {message}\n"
    assert not (folder / "escaped.zip").exists()


def test_output_through_a_link_out_of_o(folder: Path) -> None:
    (folder / "out").mkdir()
    (folder / "elsewhere").mkdir()
    (folder / "out" / "sub").symlink_to(folder / "elsewhere")
    row = json.dumps({"clip": "base.mp4", "platform": "kling", "id": "t1", "failure": "physics",
                      "marks": "0.5", "output": "sub/x.zip"})
    out, _ = _batch(folder, "o.jsonl", row + "\n", expect=1)
    assert out.splitlines()[0].endswith("failed Error: 'output' sub/x.zip leads outside the -o "
                                        "folder (through a symbolic link): name a bundle inside "
                                        "it.")
    assert list((folder / "elsewhere").iterdir()) == []


def test_two_rows_with_one_bundle_name(folder: Path) -> None:
    """F20: the loser said its bundle 'appeared while building', and which row lost
    depended on timing."""
    text = ("clip,platform,id,failure,marks\n"
            "base.mp4,kling,same,physics,0.5\n"
            "base.mp4,Kling AI,same,physics,1\n")
    out, _ = _batch(folder, "dup.csv", text, expect=1)
    lines = in_job_order(out)
    assert lines[0].split()[3] == "built"
    assert lines[1].endswith("failed Error: its bundle kling_same_physics.zip is the one line 2 "
                             "makes: give one of them its own 'output' name.")


def test_o_with_a_trailing_slash_is_a_folder(clips: ClipStore, tmp_path: Path) -> None:
    """F20: 'build -o notyet.zip/' (no such folder) silently made the file notyet.zip."""
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "t",
                     "--failure", "identity", "-o", f"{tmp_path}/notyet.zip/", expect=1)
    assert result.stderr == (f"Error: folder {tmp_path}/notyet.zip/ does not exist: create it "
                             f"(mkdir -p {tmp_path}/notyet.zip/) or choose another -o.\n")
    assert list(tmp_path.iterdir()) == []


def test_an_mpeg_ts_cut_mid_gop_starts_at_its_first_decodable_frame(tmp_path: Path) -> None:
    """F20: a TS whose first frames cannot be decoded (its start cut mid-GOP) always failed
    with 'damaged near frame 0 ... or mark a time outside the damaged part'; ffmpeg shows
    it from its first keyframe on, and so does the index now."""
    full = clipgen.encode(tmp_path / "full.ts", 48, args=[
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "12", "-bf", "2", "-f", "mpegts"])
    data = full.read_bytes()
    mid = tmp_path / "mid.ts"
    mid.write_bytes(data[(len(data) * 3 // 10) // 188 * 188:])
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-i", str(mid), "-f", "null", "-"],
                   check=True)
    oracle = clipgen.oracle(mid)
    doc = json.loads(run_cli("probe", mid, "--json").stdout)
    assert doc["frame_count"] == len(oracle.times)
    frames = json.loads(run_cli("frames", mid, "start", "end", "-o", tmp_path / "s",
                                "--json").stdout)["frames"]
    import numpy as np
    from PIL import Image

    for f in frames:
        with Image.open(f["file"]) as img:
            assert clipgen.read_barcode(np.asarray(img)) == oracle.codes[f["index"]]
    run_cli("build", mid, "--platform", "kling", "--id", "ts1", "--failure", "identity",
            "-o", tmp_path / "b.zip", "--quiet")
