"""Frames whose timestamps cannot tell them apart: each still is the picture ffmpeg shows.

Two ways real files break the "one timestamp, one frame" rule (issue 14, F1 and the
Megamind clip of opencv-doc): frames that share a timestamp (a remux that stamps frames
in pairs, a muxer that clamps timestamps going backwards), and AVI files with packed
B-frames (DivX/Xvid), whose presentation times FFmpeg has to guess and guesses in the
wrong order. In both, the decoder's output order is the truth, as ffmpeg plays it.
"""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from ava_evidence.clip import ClipIndex, index_clip
from ava_evidence.decode import DecodeStats, decode_frames

from . import clipgen
from .helpers import run_json


@pytest.fixture(scope="module")
def odd_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("order")
    ff = clipgen.ffmpeg()
    clips: dict[str, Path] = {}
    # r06: intra-only MJPEG remuxed so that frames come in pairs sharing one timestamp.
    src = clipgen.encode(d / "id.mkv", 48, args=["-c:v", "mjpeg", "-q:v", "3",
                                                 "-pix_fmt", "yuvj420p"])
    clips["pairs"] = clipgen.remux(src, d / "pairs.mkv",
                                   after=("-bsf:v", "setts=ts='trunc(N/2)*42'"))
    # Timestamps that jump back 0.5 s over frames 30-40 of an H.264 clip with B-frames:
    # the Matroska muxer clamps them, so frames in the middle share one timestamp.
    h264 = clipgen.encode(d / "h.mkv", 60, args=["-c:v", "libx264", "-pix_fmt", "yuv420p",
                                                "-bf", "2", "-g", "12"])
    clips["clamped"] = clipgen.remux(
        h264, d / "clamped.mkv",
        after=("-bsf:v", "setts=ts='if(between(N,30,40),TS-0.5/TB,TS)'"))
    # Megamind-style: MPEG-4 Part 2 with packed B-frames in AVI (Xvid writes DivX's
    # "packed" user data and a placeholder packet after each P+B pair).
    clips["packed"] = clipgen.encode(d / "packed.avi", 60,
                                     args=["-c:v", "libxvid", "-bf", "2", "-g", "12",
                                           "-q:v", "2"])
    for path in clips.values():
        subprocess.run([ff, "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    return clips


def _picture(rgb: np.ndarray) -> int | None:
    return clipgen.read_barcode(rgb)


def _same_as_ffmpeg(index: ClipIndex, oracle: clipgen.Oracle, i: int, rgb: np.ndarray) -> None:
    assert _picture(rgb) == oracle.codes[i], (i, _picture(rgb), oracle.codes[i])
    assert np.abs(rgb.astype(int) - oracle.frames[i]).mean() < 1.5, i


def test_the_packed_clip_is_megamind_style(odd_clips: dict[str, Path]) -> None:
    """The test clip really has what breaks timestamps: DivX's packed flag, and decoded
    frames whose timestamps go backwards."""
    import av

    path = odd_clips["packed"]
    assert b"DivX503b1393p" in path.read_bytes()
    with av.open(str(path)) as c:
        pts = [f.pts for f in c.decode(c.streams.video[0])]
    assert any(b < a for a, b in pairwise(pts) if a is not None and b is not None)


@pytest.mark.parametrize("name", ["pairs", "clamped", "packed"])
def test_every_frame_alone_is_the_picture_ffmpeg_shows(odd_clips: dict[str, Path],
                                                       name: str) -> None:
    """Each frame asked for on its own (so each decode starts afresh), and all at once."""
    index = index_clip(odd_clips[name])
    oracle = clipgen.oracle(odd_clips[name])
    assert index.frame_count == len(oracle.times)
    # ffmpeg shows every frame in order (a barcode the encoder blurred reads as None).
    assert all(code in (i, None) for i, code in enumerate(oracle.codes))
    assert oracle.codes.count(None) <= 2
    for i in range(index.frame_count):
        ((got, rgb),) = list(decode_frames(index, [i]))
        assert got == i
        _same_as_ffmpeg(index, oracle, i, rgb)
    stats = DecodeStats()
    everything = list(decode_frames(index, range(index.frame_count), stats=stats))
    assert [i for i, _ in everything] == list(range(index.frame_count))
    assert stats.decoded == list(range(index.frame_count))  # each frame decoded once
    for i, rgb in everything:
        _same_as_ffmpeg(index, oracle, i, rgb)


@pytest.mark.parametrize("name", ["pairs", "packed"])
def test_frame_times_are_ffmpegs(odd_clips: dict[str, Path], name: str) -> None:
    index = index_clip(odd_clips[name])
    oracle = clipgen.oracle(odd_clips[name])
    for ours, theirs in zip(index.frame_times, oracle.times, strict=True):
        assert abs(float(ours) - theirs) < 1e-3


def test_frames_command_on_shared_timestamps(odd_clips: dict[str, Path], tmp_path: Path) -> None:
    """r06: f22 was refused as damaged, f23/f31/f47 showed the frame before; every time
    typed gives the last frame on screen at it (the second of a pair)."""
    oracle = clipgen.oracle(odd_clips["pairs"])
    doc = run_json("frames", odd_clips["pairs"], "start", "f22", "f23", "f31", "end", "0.042",
                   "0.07", "-o", tmp_path)
    got = [(f["index"], f["time_s"]) for f in doc["frames"]]
    assert got == [(0, 0.0), (22, 0.462), (23, 0.462), (31, 0.63), (47, 0.966), (3, 0.042),
                   (3, 0.042)]
    from PIL import Image

    for f in doc["frames"]:
        with Image.open(f["file"]) as img:
            assert _picture(np.asarray(img)) == oracle.codes[f["index"]] == f["index"]


def test_frames_command_on_packed_bframes(odd_clips: dict[str, Path], tmp_path: Path) -> None:
    """Every frame of the Megamind-style clip through the command, by number and by time."""
    index = index_clip(odd_clips["packed"])
    oracle = clipgen.oracle(odd_clips["packed"])
    n = index.frame_count
    times = [f"{float(t):.6f}" for t in index.frame_times]
    doc = run_json("frames", odd_clips["packed"], *[f"f{i}" for i in range(n)], *times,
                   "-o", tmp_path)
    assert [f["index"] for f in doc["frames"]] == [*range(n), *range(n)]
    from PIL import Image

    for f in doc["frames"][:n]:
        with Image.open(f["file"]) as img:
            _same_as_ffmpeg(index, oracle, f["index"], np.asarray(img))


def test_build_on_shared_timestamps(odd_clips: dict[str, Path], tmp_path: Path) -> None:
    """F1: 'start' was refused, so every build failed with 'damaged near frame 0'."""
    doc = run_json("build", odd_clips["pairs"], "--platform", "kling", "--id", "dup1",
                   "--failure", "physics", "--mark", "f31", "-o", tmp_path / "b.zip", "--quiet")
    assert [(f["label"], f["index"]) for f in doc["manifest"]["frames"]] == [
        ("start", 0), ("mark", 31), ("end", 47)]
