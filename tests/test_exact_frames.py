"""Frame exactness on every supported clip kind, checked against the pixels.

Each test clip's frames carry their source index in a barcode; the oracle is
the ffmpeg command-line tool decoding the whole clip sequentially. The library
must agree with it on frame count, frame times and the content of every still,
and must decode each needed frame once, from its nearest keyframe.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ava_evidence.clip import ClipIndex, index_clip
from ava_evidence.decode import DecodeStats, decode_frames, plan
from ava_evidence.stills import Request, extract_stills
from ava_evidence.timecode import format_clock, format_seconds

from . import clipgen
from .conftest import CLIPS, ClipStore
from .helpers import run_json

ALL = list(CLIPS)


@pytest.mark.parametrize("name", ALL)
def test_index_matches_oracle(clips: ClipStore, name: str) -> None:
    index = index_clip(clips.path(name))
    oracle = clips.oracle(name)
    assert index.frame_count == len(oracle.times)
    assert index.frame_times[0] == 0
    for ours, theirs in zip(index.frame_times, oracle.times, strict=True):
        assert abs(float(ours) - theirs) < 1e-5
    assert all(code is not None for code in oracle.codes), "test clip barcodes must be readable"
    assert index.keyframes and index.seek_points[0][0] == 0


@pytest.mark.parametrize("name", ALL)
def test_stills_show_the_frame_on_screen(clips: ClipStore, name: str, tmp_path: Path) -> None:
    """Start, end, middle, keyframes and the frames around them; each at its exact
    time, 1 ms before it (the previous frame), and half-way to the next frame."""
    index = index_clip(clips.path(name))
    oracle = clips.oracle(name)
    n = index.frame_count
    picks = {0, 1, n // 2, n - 2, n - 1}
    for k in index.keyframes:
        picks |= {k - 1, k, k + 1}
    picks = sorted(i for i in picks if 0 <= i < n)
    requests: list[Request] = []
    expected: list[int] = []
    for i in picks:
        t = index.frame_times[i]
        requests.append(Request("mark", f"{float(t)!r}"))
        expected.append(i)
        requests.append(Request("mark", f"{format_seconds(t)}s"))
        expected.append(i)
        if i > 0:
            requests.append(Request("mark", f"{float(t - Fraction(1, 1000)):.6f}"))
            expected.append(i - 1)
        if i < n - 1:
            mid = (t + index.frame_times[i + 1]) / 2
            requests.append(Request("mark", f"{float(mid):.6f}"))
            expected.append(i)
    requests += [Request("start", "start"), Request("end", "end"), Request("mark", f"f{n // 3}")]
    expected += [0, n - 1, n // 3]

    stills = extract_stills(index, requests, tmp_path)
    assert [s.index for s in stills] == expected
    for still in stills:
        rgb = _load(still.file)
        assert clipgen.read_barcode(rgb) == oracle.codes[still.index], still
        assert rgb.shape == oracle.frames[still.index].shape
        # Same colour conversion and orientation as a player (ffmpeg) shows.
        assert np.abs(rgb.astype(int) - oracle.frames[still.index]).mean() < 1.0


@pytest.mark.parametrize("name", ["h264_longgop", "h264_2997", "h264_vfr", "h264_editlist"])
def test_every_time_syntax(clips: ClipStore, name: str, tmp_path: Path) -> None:
    index = index_clip(clips.path(name))
    oracle = clips.oracle(name)
    i = index.frame_count // 2 + 1
    t = index.frame_times[i]
    ms = -(-t.numerator * 1000 // t.denominator)  # ceil
    forms = [format_seconds(t), f"{format_seconds(t)}s", f"{ms}ms", format_clock(t),
             f"00:{format_clock(t)}", f"f{i}", repr(float(t))]
    if not index.variable_rate:
        base = round(index.nominal_rate)
        forms.append(f"00:00:{i // base:02d}:{i % base:02d}")
    stills = extract_stills(index, [Request("mark", f) for f in forms], tmp_path)
    for form, still in zip(forms, stills, strict=True):
        assert still.index == i, form
        assert clipgen.read_barcode(_load(still.file)) == oracle.codes[i], form


def test_vfr_times_come_from_timestamps(clips: ClipStore) -> None:
    index = index_clip(clips.path("h264_vfr"))
    assert index.variable_rate
    assert index.frame_times[24] == 1
    assert index.frame_times[25] == Fraction(1) + Fraction(2, 24)
    assert index.duration == Fraction(60 + 12, 24)


def test_start_offset_and_edit_list(clips: ClipStore) -> None:
    shifted = index_clip(clips.path("h264_start05"))
    assert shifted.frame_times[0] == 0
    assert abs(float(shifted.start_time) - 0.5) < 0.01
    edited = index_clip(clips.path("h264_editlist"))
    oracle = clips.oracle("h264_editlist")
    assert edited.frame_count == len(oracle.times) < 60
    assert oracle.codes[0] != 0  # the edit list hides the first frames
    assert 0 not in edited.keyframes  # frame 0 is not a keyframe: decoding starts earlier


def test_rotation_is_applied(clips: ClipStore, tmp_path: Path) -> None:
    for name, rotation in (("h264_rot90", 90), ("h264_rot270", 270)):
        index = index_clip(clips.path(name))
        assert index.rotation == rotation
        assert (index.width, index.height) == (320, 180)
        assert index.display_size == (180, 320)
        (still,) = extract_stills(index, [Request("mark", "f5")], tmp_path / name)
        rgb = _load(still.file)
        assert rgb.shape[:2] == (320, 180)
        assert clipgen.read_barcode(rgb) == 5


def test_colour_matrix_and_range(clips: ClipStore, tmp_path: Path) -> None:
    for name in ("h264_bt709_full", "h264_longgop", "mjpeg_avi", "prores", "hevc", "vp9"):
        index = index_clip(clips.path(name))
        (still,) = extract_stills(index, [Request("mark", "f3")], tmp_path / name)
        patches = clipgen.patch_colours(_load(still.file))
        for got, want in zip(patches, clipgen.PATCHES, strict=True):
            assert max(abs(g - w) for g, w in zip(got, want, strict=True)) < 12, (name, got, want)
    tagged = index_clip(clips.path("h264_bt709_full"))
    assert (tagged.color_space, tagged.color_range) == ("bt709", "pc")


def test_decode_cost(clips: ClipStore) -> None:
    """Each frame decoded at most once, from the nearest keyframe, nothing past the last."""
    index = index_clip(clips.path("h264_bframes"))  # keyframes every 12 frames
    wanted = [3, 5, 30, 59]
    stats = DecodeStats()
    got = [i for i, _ in decode_frames(index, wanted, stats=stats)]
    assert got == wanted
    assert len(stats.decoded) == len(set(stats.decoded))
    assert max(stats.decoded) == 59
    # Runs: 0..5 from keyframe 0, 24..30 from keyframe 24, 48..59 from keyframe 48;
    # frames no other frame refers to are skipped unless wanted.
    assert set(wanted) <= set(stats.decoded)
    assert set(stats.decoded) <= {*range(0, 6), *range(24, 31), *range(48, 60)}
    assert {0, 24, 48} <= set(stats.decoded)
    assert stats.seeks == 2 and stats.fallbacks == 0
    assert [r.targets for r in plan(index, wanted)] == [[3, 5], [30], [59]]


@pytest.mark.parametrize("threads", [1, 3, 8])
def test_exact_whatever_the_decoder_threads(clips: ClipStore, monkeypatch: pytest.MonkeyPatch,
                                            threads: int) -> None:
    """Frame threading keeps several frames in flight: frames are told apart by their
    timestamps, so the count must not change which frame comes out."""
    from ava_evidence import decode

    monkeypatch.setattr(decode, "DECODER_THREADS", threads)
    index = index_clip(clips.path("h264_bframes"))
    wanted = [0, 5, 11, 12, 30, 59]
    assert [(i, clipgen.read_barcode(rgb)) for i, rgb in decode_frames(index, wanted)] == [
        (i, i) for i in wanted]


def test_decoder_threads_by_cores_and_frame_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from ava_evidence import decode

    monkeypatch.setattr(decode, "DECODER_THREADS", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert decode.decoder_threads(1920, 1080) == 4  # FFmpeg's choice (3) plus one
    assert decode.decoder_threads(3840, 2160) == 0  # 4K: FFmpeg's own choice
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(32)))
    assert decode.decoder_threads(1920, 1080) == 16
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert decode.decoder_threads(1920, 1080) == 0
    monkeypatch.setattr(decode, "DECODER_THREADS", 1)  # batch workers
    assert decode.decoder_threads(1920, 1080) == 1


def test_measure_threads_one_up_to_720p(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from ava_evidence import decode

    monkeypatch.setattr(decode, "DECODER_THREADS", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert decode.measure_threads(1280, 720) == 1
    assert decode.measure_threads(720, 1280) == 1  # portrait
    assert decode.measure_threads(1281, 720) == 4  # larger: as any decode
    assert decode.measure_threads(1920, 1080) == 4
    monkeypatch.setattr(decode, "DECODER_THREADS", 2)
    assert decode.measure_threads(640, 360) == 2  # a set count wins


def test_iter_luma_decodes_on_measure_threads(clips: ClipStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ava_evidence import decode

    opened: list[int] = []
    real = decode._open

    def spy(index: ClipIndex, threads: int | None = None) -> object:
        container = real(index, threads)
        opened.append(container.streams[index.stream_index].codec_context.thread_count)
        return container

    monkeypatch.setattr(decode, "_open", spy)
    monkeypatch.setattr(decode, "DECODER_THREADS", None)
    index = index_clip(clips.path("h264_bframes"))
    assert sum(1 for _ in decode.iter_luma(index, 64)) == index.frame_count
    assert opened == [1]


@pytest.mark.parametrize(("height", "width", "to"), [
    (1080, 1920, 640), (1920, 1080, 640), (2160, 3840, 1280), (1800, 3200, 640),
    (720, 1280, 640), (1440, 2560, 640), (2160, 3840, 640), (1088, 1920, 640),
    (1083, 1920, 640), (360, 640, 640), (9, 15, 5)])
def test_shrink_gives_opencvs_area_pixels(height: int, width: int, to: int) -> None:
    """The analysis frames are the same pixels whichever way they are shrunk (a box filter
    read every k pixels for a whole odd factor, INTER_AREA otherwise), noise and steps
    alike."""
    import cv2

    from ava_evidence.decode import shrink

    rng = np.random.default_rng(height + width)
    y = rng.integers(0, 256, (height, width), dtype=np.uint8)
    y[height // 3:, : width // 2] = 255  # a hard edge, and a run of full white
    h = round(to * height / width)
    want = cv2.resize(y, (to, h), interpolation=cv2.INTER_AREA)
    got = shrink(y, to, h)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


def test_single_late_frame_seeks_directly(clips: ClipStore) -> None:
    index = index_clip(clips.path("h264_bframes"))
    stats = DecodeStats()
    assert [i for i, _ in decode_frames(index, [50], stats=stats)] == [50]
    assert stats.seeks == 1
    assert 48 in stats.decoded and set(stats.decoded) <= set(range(48, 51))


def test_long_gop_decodes_up_to_the_target_only(clips: ClipStore) -> None:
    index = index_clip(clips.path("h264_longgop"))
    assert index.keyframes == (0,)
    stats = DecodeStats()
    assert [i for i, _ in decode_frames(index, [10, 20], stats=stats)] == [10, 20]
    assert stats.decoded == sorted(stats.decoded)
    assert {0, 10, 20} <= set(stats.decoded) <= set(range(0, 21))
    assert stats.seeks == 0


def test_frames_json_contract(clips: ClipStore, tmp_path: Path) -> None:
    doc = run_json("frames", clips.path("h264_2997"), "start", "1.2", "end", "-o", tmp_path)
    assert list(doc) == ["frames"]
    start, mark, end = doc["frames"]
    assert (start["label"], mark["label"], end["label"]) == ("start", "mark", "end")
    assert mark["requested"] == "1.2"
    assert mark["index"] == 35  # 35 * 1001/30000 = 1.1678 s <= 1.2 < 1.2012 s
    assert mark["time_s"] == pytest.approx(35 * 1001 / 30000)
    assert end["index"] == 59
    for frame in doc["frames"]:
        assert Path(frame["file"]).parent == tmp_path
        assert clipgen.read_barcode(_load(Path(frame["file"]))) == frame["index"]


def _load(path: Path | None) -> np.ndarray:
    from PIL import Image

    assert path is not None and path.exists()
    with Image.open(path) as img:
        assert img.format == "PNG" and img.mode == "RGB"
        return np.asarray(img)
