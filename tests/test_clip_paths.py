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


@pytest.fixture(scope="module")
def other_codecs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("codecs")
    clipgen.encode(d / "anim.webp", 12, rate="10",
                   args=["-c:v", "libwebp_anim", "-lossless", "1", "-loop", "0"])
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x200:rate=10:duration=0.5", "-c:v", "a64multi", "-f", "nut",
                    str(d / "c64.nut")], check=True)
    return d


def test_an_animated_webp_is_decoded_not_called_a_still(other_codecs: Path,
                                                        tmp_path: Path) -> None:
    """PyAV's FFmpeg has no animated-WebP decoder; the ffmpeg program has one, so the
    frames come from it, with their times, and every still is the frame ffmpeg shows."""
    clip = other_codecs / "anim.webp"
    doc = run_json("probe", clip)
    assert (doc["file_name"], doc["frame_count"], doc["codec"]) == ("anim.webp", 12, "webp_anim")
    assert doc["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert doc["duration_s"] == pytest.approx(1.2)
    oracle = clipgen.oracle(clip)
    frames = run_json("frames", clip, *[f"f{i}" for i in range(12)], "-o", tmp_path / "s")
    import numpy as np
    from PIL import Image

    for f in frames["frames"]:
        with Image.open(f["file"]) as img:
            rgb = np.asarray(img)
        assert clipgen.read_barcode(rgb) == f["index"] == oracle.codes[f["index"]]
        assert np.abs(rgb.astype(int) - oracle.frames[f["index"]]).mean() < 1.0
    built = run_json("build", clip, "--platform", "kling", "--id", "w1", "--failure",
                     "identity", "--include-clip", "-o", tmp_path / "w.zip", "--quiet")
    assert built["manifest"]["clip_included"] == "clip/anim.webp"
    import zipfile

    with zipfile.ZipFile(tmp_path / "w.zip") as z:
        (member,) = [n for n in z.namelist() if n.endswith("/data/clip/anim.webp")]
        assert z.read(member) == clip.read_bytes()


def test_a_codec_no_decoder_knows_is_named(other_codecs: Path) -> None:
    result = run_cli("probe", other_codecs / "c64.nut", expect=1)
    assert result.stderr == (
        "Error: c64.nut holds video in a format FFmpeg does not know (codec tag 'a64m'): "
        "convert it to MP4 (H.264) with the program that made it, and give that file.\n")


def test_a_big_non_video_is_refused_before_it_is_hashed(tmp_path: Path) -> None:
    """F18: an 8 GB file that is not a video was refused only after 22 s of hashing."""
    import time

    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.write(b"not a video at all")
        f.truncate(8 << 30)  # sparse: no disk space, but 8 GiB to hash
    started = time.monotonic()
    result = run_cli("probe", big, expect=1)
    assert time.monotonic() - started < 4
    assert result.stderr == ("Error: big.mp4 is not a video file that can be read: give the "
                             "clip exactly as downloaded from the platform.\n")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc")
def test_a_proc_file_is_not_called_an_empty_download() -> None:
    """F20: '/proc/self/status is empty (0 bytes): the download did not finish'."""
    assert run_cli("probe", "/proc/self/status", expect=1).stderr == (
        "Error: status is a special system file, not a video: give the path of a downloaded "
        "clip.\n")


@pytest.mark.parametrize("given", ["http://127.0.0.1:9/x.mp4", "https://klingai.com/v/a.mp4",
                                   "HTTPS://example.com//b.mp4"])
def test_a_web_address_is_asked_to_be_downloaded(in_tmp: Path, given: str) -> None:
    """A clip is given as the file downloaded: a web address is not fetched, and is said
    back as typed (a path folds its '//')."""
    for command in (["suggest", given], ["build", given, "--platform", "kling", "--id", "a1",
                                         "--failure", "identity"]):
        result = run_cli(*command, expect=1)
        assert result.stderr == (f"Error: {given.replace('//b', '/b')} is a web address: "
                                 "download the clip first and give the file.\n")
    assert list(in_tmp.iterdir()) == []
