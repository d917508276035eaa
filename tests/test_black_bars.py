"""A clip inside black bars (a vertical clip placed in a wide frame, a wide one in a tall
frame) is measured as its picture: the bars are left out of the motion measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ava_evidence.analysis import _measure, suggest
from ava_evidence.clip import index_clip
from ava_evidence.demo import encode_frames
from ava_evidence.features import picture_area

from . import motionclips


def _frame(h: int, w: int, top: int = 0, side: int = 0, bar: int = 16) -> np.ndarray:
    """A textured grey picture with bars of ``top`` rows above and below and ``side``
    columns either side."""
    rng = np.random.default_rng(1)
    luma = rng.integers(40, 220, (h, w)).astype(np.uint8)
    luma[:top], luma[h - top:] = bar, bar
    luma[:, :side], luma[:, w - side:] = bar, bar
    return luma


@pytest.mark.parametrize(("luma", "area"), [
    (_frame(360, 640, side=140), (slice(0, 360), slice(143, 497))),  # pillarbox
    (_frame(360, 640, top=60), (slice(62, 298), slice(0, 640))),  # letterbox
    (_frame(360, 640), (slice(0, 360), slice(0, 640))),  # no bars
    (_frame(360, 640, side=4), (slice(0, 360), slice(0, 640))),  # a thin dark edge
])
def test_the_picture_inside_black_bars_is_told_from_one_frame(
        luma: np.ndarray, area: tuple[slice, slice]) -> None:
    """Bars at both edges, about as wide, every pixel near black: the picture inside
    them, less the line or two where it blurs into them. A dark edge on one side only, or
    one too thin to be a bar, is the picture's own."""
    assert picture_area(luma) == area


def test_a_dark_side_or_a_dark_frame_is_no_bar() -> None:
    one_side = _frame(360, 640)
    one_side[:, :140] = 16
    assert picture_area(one_side) == (slice(0, 360), slice(0, 640))
    assert picture_area(np.full((360, 640), 16, np.uint8)) is None  # the next frame tells
    dim = _frame(360, 640) // 6  # a fade from black: its dim picture's edges could read
    dim[:, :140] = dim[:, 500:] = 16  # as bars; the next frame tells
    assert picture_area(dim) is None


def _boxed(path: Path, frames: np.ndarray, side: int) -> Path:
    """The frames with black columns ``side`` wide either side."""
    bars = np.zeros((*frames.shape[:2], side, 3), np.uint8)
    return encode_frames(path, np.concatenate([bars, frames, bars], axis=2), motionclips.FPS)


def test_motion_inside_pillar_bars_is_measured_as_without_them(tmp_path: Path) -> None:
    """A pan 3 px a frame on a 320 px picture, boxed in bars as wide as it: measured on
    the whole frame, it moved half as far, and the still bars filled half of the grid's
    regions. Inside the bars the camera moves as in the picture alone."""
    import av

    plain = motionclips.pan_clip(tmp_path / "pan.mp4")
    with av.open(str(plain)) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    boxed = _boxed(tmp_path / "boxed.mp4", frames, 160)

    def shift(p: Path) -> float:
        camera = _measure(index_clip(p), faces=False, on_progress=None).features.camera
        return float(np.median([abs(c[0]) for c in camera[1:]]))

    assert shift(boxed) == pytest.approx(shift(plain), rel=0.1)
    assert suggest(index_clip(boxed), "physics").candidates == []


def test_a_panorama_is_measured(tmp_path: Path) -> None:
    """A picture over five times as wide as it is high (960 x 180) is under 32 px high at
    the motion width, where OpenCV's optical flow crashed the process: measured stretched
    to 32 px, a thing appearing in it is found."""
    rng = np.random.default_rng(4)
    scene = np.repeat(np.repeat(rng.integers(40, 200, (18, 96, 3)), 10, 0), 10, 1)
    frames = np.repeat(scene[None].astype(np.uint8), 96, axis=0)
    frames[48:, 60:120, 360:480] = np.repeat(np.repeat(
        rng.integers(0, 2, (6, 12, 1)) * 255, 10, 0), 10, 1)  # a patch out of nothing
    clip = encode_frames(tmp_path / "wide.mp4", frames, motionclips.FPS)
    found = suggest(index_clip(clip), "physics").candidates
    assert found and found[0].index == 48


@pytest.mark.parametrize(("bar", "left", "right"), [(16, 100, 200), (33, 140, 140)])
def test_uneven_or_dark_grey_bars_are_bars(bar: int, left: int, right: int) -> None:
    """A clip padded unevenly (100 columns left, 200 right), or with dark grey bars (RGB 20
    is 33 in video levels): bars all the same, each line one flat colour."""
    luma = _frame(360, 640)
    luma[:, :left], luma[:, 640 - right:] = bar, bar
    assert picture_area(luma) == (slice(0, 360), slice(left + 3, 640 - right - 3))


def test_bars_that_a_picture_comes_into_are_told_again() -> None:
    """An opening shot revealed from a band (the top and bottom two fifths black for the
    first frames): once the picture fills the frame, it is measured whole, not in the
    band the first frames showed."""
    from ava_evidence.features import MotionMeter, still_bars

    band = _frame(360, 640)
    band[:144], band[216:] = 16, 16
    whole = band.copy()
    whole[:144], whole[216:] = 220, 220  # the picture, bright, where the black was
    area = picture_area(band)
    assert area is not None and area[0] == slice(146, 214)
    assert still_bars(band, area) and not still_bars(whole, area)
    meter = MotionMeter(24.0)
    for luma in [band] * 3 + [whole] * 3:
        meter.add(luma)
    assert meter.features.luma[0] == pytest.approx(float(np.mean(band[146:214])), abs=1.0)
    assert meter.features.luma[-1] == pytest.approx(float(np.mean(whole)), abs=1.0)


def test_a_very_tall_clip_is_measured(tmp_path: Path) -> None:
    """A picture 256 times as high as wide (16 x 4096): at the motion width it would be
    40,960 rows, past what OpenCV's remap takes (it failed with an unexpected error)."""
    frames = np.zeros((12, 4096, 16, 3), np.uint8)
    frames[:, ::8] = 200
    clip = encode_frames(tmp_path / "tall.mp4", frames, motionclips.FPS)
    assert _measure(index_clip(clip), faces=False, on_progress=None).features.cells
