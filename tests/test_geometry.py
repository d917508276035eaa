"""Stills show what a player shows: pixel aspect, display-matrix flips, the default stream
(issue 14, item 6 / F19)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from ava_evidence.clip import index_clip
from ava_evidence.stills import Request, extract_stills

from . import clipgen
from .helpers import run_cli, run_json

X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "12"]


def _ff(*args: str | Path) -> None:
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-y", *map(str, args)], check=True)


def _ffmpeg_frames(clip: Path, vf: str, width: int, height: int) -> np.ndarray:
    """Every frame as ffmpeg shows it through the filter ``vf`` (autorotate on)."""
    proc = subprocess.run([clipgen.ffmpeg(), "-v", "error", "-i", str(clip), "-vf", vf,
                           "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24",
                           "-"], capture_output=True, check=True)
    return np.frombuffer(proc.stdout, np.uint8).reshape(-1, height, width, 3)


def _load(path: Path | None) -> np.ndarray:
    from PIL import Image

    assert path is not None
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.fixture(scope="module")
def geo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("geo")
    # DV-like: 720x480 stored, pixels 10:11, so 655x480 on screen.
    clipgen.encode(d / "dv.mp4", 12, width=720, height=480,
                   args=["-vf", "setsar=10/11", *X264])
    # Turned 90 degrees and mirrored by the display matrix.
    src = clipgen.encode(d / "upright.mp4", 12, width=320, height=180, args=X264)
    _ff("-display_rotation", "90", "-display_hflip", "-i", src, "-c", "copy", d / "flip.mov")
    _ff("-display_vflip", "-i", src, "-c", "copy", d / "vflip.mov")
    # Two video streams: a cover picture first (not default), the clip second (default).
    _ff("-f", "lavfi", "-i", "color=red:size=320x320", "-frames:v", "1", d / "cover.png")
    _ff("-i", d / "cover.png", "-i", src, "-map", "0", "-map", "1", "-c:v:0", "mjpeg",
        "-c:v:1", "copy", "-disposition:v:0", "0", "-disposition:v:1", "default",
        d / "two.mkv")
    # A soundtrack with cover art (an attached picture): not a clip.
    _ff("-f", "lavfi", "-i", "sine=duration=0.5", "-i", d / "cover.png", "-map", "0", "-map",
        "1", "-c:a", "aac", "-c:v", "mjpeg", "-disposition:v", "attached_pic", d / "song.m4a")
    return d


def test_non_square_pixels_are_shown_at_their_width(geo: Path, tmp_path: Path) -> None:
    index = index_clip(geo / "dv.mp4")
    assert (index.width, index.height, index.display_size) == (720, 480, (655, 480))
    doc = run_json("probe", geo / "dv.mp4")
    assert (doc["sample_aspect_ratio"], doc["display_width"], doc["display_height"]) == (
        "10:11", 655, 480)
    ref = _ffmpeg_frames(geo / "dv.mp4", "scale=655:480:flags=bicubic,setsar=1", 655, 480)
    stills = extract_stills(index, [Request("mark", f"f{i}") for i in (0, 5, 11)], tmp_path)
    for still in stills:
        rgb = _load(still.file)
        assert rgb.shape == (480, 655, 3) and (still.width, still.height) == (655, 480)
        assert clipgen.read_barcode(rgb) == still.index
        assert np.abs(rgb.astype(int) - ref[still.index]).mean() < 2.0
    built = run_json("build", geo / "dv.mp4", "--platform", "kling", "--id", "dv1",
                     "--failure", "identity", "-o", tmp_path / "dv.zip", "--quiet")
    assert built["manifest"]["clip"]["display_width"] == 655


@pytest.mark.parametrize(("name", "mirrored", "size"), [("flip.mov", True, (180, 320)),
                                                        ("vflip.mov", True, (320, 180))])
def test_a_display_matrix_flip_is_applied(geo: Path, tmp_path: Path, name: str, mirrored: bool,
                                          size: tuple[int, int]) -> None:
    """r20: the still was the mirror image of what ffmpeg shows."""
    index = index_clip(geo / name)
    assert index.mirrored is mirrored and index.display_size == size
    ref = clipgen.oracle(geo / name)  # ffmpeg applies the display matrix itself
    stills = extract_stills(index, [Request("mark", f"f{i}") for i in (0, 7)], tmp_path)
    for still in stills:
        rgb = _load(still.file)
        assert rgb.shape == ref.frames[still.index].shape
        assert np.abs(rgb.astype(int) - ref.frames[still.index]).mean() < 1.0
        assert np.abs(rgb.astype(int) - ref.frames[still.index][:, ::-1]).mean() > 10
    assert "mirrored for display" in run_cli("probe", geo / name).stdout


def test_the_default_stream_is_used_and_named(geo: Path, tmp_path: Path) -> None:
    """r20: the 1-frame cover in stream 0 was indexed instead of the clip in stream 1."""
    doc = run_json("probe", geo / "two.mkv")
    assert (doc["stream_index"], doc["video_streams"], doc["frame_count"]) == (1, 2, 12)
    assert ("stream      video stream #1 of 2 (the one flagged default; the others are not "
            "used)") in run_cli("probe", geo / "two.mkv").stdout
    index = index_clip(geo / "two.mkv")
    (still,) = extract_stills(index, [Request("mark", "f7")], tmp_path)
    assert clipgen.read_barcode(_load(still.file)) == 7


def test_a_soundtrack_with_cover_art_is_called_a_soundtrack(geo: Path) -> None:
    """F20: it was 'truncated or damaged (video packets carry no timestamps)'."""
    assert run_cli("probe", geo / "song.m4a", expect=1).stderr == (
        "Error: song.m4a has no video, only audio and its cover picture: give the video file "
        "you downloaded, not its soundtrack.\n")


def _png_depth(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return data[24]


@pytest.mark.parametrize(("name", "args", "depth"), [
    ("x264_10bit.mkv", ["-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-g", "12"], 10),
    ("x265_12bit.mkv", ["-c:v", "libx265", "-pix_fmt", "yuv444p12le", "-x265-params",
                        "log-level=error:keyint=12"], 12),
])
def test_deep_colour_is_kept_in_16_bit_stills(tmp_path: Path, name: str, args: list[str],
                                              depth: int) -> None:
    """A 10- or 12-bit clip's still is a 16-bit PNG, close to ffmpeg's own 16-bit decode;
    pairs, the strip and previews stay 8-bit."""
    import cv2

    clip = clipgen.encode(tmp_path / name, 12, args=args)
    index = index_clip(clip)
    assert index.bit_depth == depth
    proc = subprocess.run([clipgen.ffmpeg(), "-v", "error", "-i", str(clip), "-f", "rawvideo",
                           "-pix_fmt", "rgb48le", "-"], capture_output=True, check=True)
    ref = np.frombuffer(proc.stdout, "<u2").reshape(-1, 180, 320, 3)
    stills = extract_stills(index, [Request("mark", "f3"), Request("end", "end")],
                            tmp_path / "s")
    for still in stills:
        assert still.file is not None and _png_depth(still.file) == 16
        bgr = cv2.imread(str(still.file), cv2.IMREAD_UNCHANGED)
        assert bgr.dtype == np.uint16
        rgb = bgr[..., ::-1].astype(int)
        # Within two 8-bit steps, as the 8-bit path is (chroma upsampling differs a little).
        assert np.abs(rgb - ref[still.index]).mean() < 2 * 257
        assert clipgen.read_barcode((rgb // 257).astype(np.uint8)) == still.index
        # Finer than 8 bits: the low byte carries information.
        assert len(np.unique(rgb % 257)) > 64
    doc = run_json("build", clip, "--platform", "kling", "--id", "deep1", "--failure",
                   "physics", "--mark", "f5", "-o", tmp_path / "b.zip", "--quiet")
    assert doc["manifest"]["clip"]["bit_depth"] == depth
    import zipfile

    with zipfile.ZipFile(tmp_path / "b.zip") as z:
        for member in z.namelist():
            if member.endswith(".png"):
                expected = 16 if "/data/frames/" in member else 8
                assert z.read(member)[24] == expected, member


def test_a_still_too_big_for_pillow_gets_its_jpeg_copy(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """F17: a frame over Pillow's 179-megapixel bomb limit whose PNG is over the
    attachment limit gave 'unexpected DecompressionBombError'. The same path is taken here
    with Pillow's limit lowered below this clip's frame size (a real 13500x13500 frame
    takes 1.3 GB and 13 s)."""
    import PIL.Image

    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 20_000)  # 320x180 is over twice it
    clip = clipgen.encode(tmp_path / "big.mp4", 12, args=X264)
    catalog = tmp_path / "tiny.yaml"
    catalog.write_text("limits:\n  email:\n    attachment_limit_mb: 0.02\n")
    doc = run_json("build", clip, "--platform", "luma", "--id", "big1", "--failure", "physics",
                   "--mark", "f5", "--channels", catalog, "-o", tmp_path / "b.zip", "--quiet")
    attach = [a for a in doc["manifest"]["attachments"] if a.startswith("attach/")]
    assert attach and all(a.endswith(".jpg") for a in attach)
    import zipfile

    import cv2

    with zipfile.ZipFile(tmp_path / "b.zip") as z:
        for a in attach:
            (member,) = [n for n in z.namelist() if n.endswith(f"/data/{a}")]
            data = z.read(member)
            assert len(data) <= 20_000
            jpg = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            assert jpg is not None and jpg.shape[2] == 3
