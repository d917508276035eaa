"""A clip path is always a file: never an FFmpeg URL or protocol (issue 14, F7)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli, run_json


@pytest.mark.parametrize("name", ["clip12:30.mp4", "2026-01-05T12:30:00.mp4", "concat:a.mp4",
                                  "http:x.mp4", "pipe:0.mp4", "subfile,,start,0,end,1,,:x.mp4"])
def test_a_name_with_a_colon_is_a_file(clips: ClipStore, in_tmp: Path, name: str) -> None:
    shutil.copyfile(clips.path("h264_bframes"), in_tmp / name)
    for given in (name, f"./{name}", in_tmp / name):
        doc = run_json("probe", given)
        assert (doc["file_name"], doc["frame_count"]) == (name, 60)


def test_the_bytes_hashed_are_the_bytes_decoded(clips: ClipStore, in_tmp: Path) -> None:
    """'file:other.mp4' (a copy of clip A) beside 'other.mp4' (clip B): everything comes
    from 'file:other.mp4'; before, its hash went in the manifest beside B's frames."""
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "color=red:size=320x240:rate=24:duration=5", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "other.mp4"], check=True)
    shutil.copyfile(clips.path("h264_bframes"), in_tmp / "file:other.mp4")
    doc = run_json("build", "file:other.mp4", "--platform", "kling", "--id", "abc123",
                   "--failure", "identity", "-o", "mixed.zip", "--quiet")
    clip = doc["manifest"]["clip"]
    assert clip["sha256"] == hashlib.sha256((in_tmp / "file:other.mp4").read_bytes()).hexdigest()
    assert (clip["frame_count"], clip["width"], clip["height"]) == (60, 320, 180)
    frames = run_json("frames", "file:other.mp4", "f59", "-o", "stills")["frames"]
    import numpy as np
    from PIL import Image

    with Image.open(frames[0]["file"]) as img:
        assert clipgen.read_barcode(np.asarray(img)) == 59
    assert run_cli("verify", "mixed.zip").stdout.startswith("OK: ")
