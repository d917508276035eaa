"""Dissolves: one shot blended into the next is a transition between shots, never a
failure, and nothing is compared across it (the benchmark's dissolves into a still shot
read as a region stopping dead, and into another face as that face changing)."""

from __future__ import annotations

import numpy as np
import pytest

from ava_evidence.features import Features
from ava_evidence.shots import _dissolves, cross_fade, find_shots

H, W = 90, 160


def _wall(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.repeat(np.repeat(rng.integers(20, 235, (H // 5, W // 5)), 5, 0), 5, 1
                     ).astype(np.float32)


def _stack(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.clip(f, 0, 255).astype(np.uint8) for f in frames])


A, B = _wall(1), _wall(2)
_yy, _xx = np.ogrid[:H, :W]
_THING = ((_yy - 45) / 48) ** 2 + ((_xx - 80) / 62) ** 2 <= 1
"""An ellipse over two thirds of the picture (a face close up), the rest a background."""


def test_two_pictures_blended_more_of_the_later_each_frame_are_a_dissolve() -> None:
    assert cross_fade(_stack([A * (1 - k) + B * k for k in np.linspace(0, 1, 11)]))


@pytest.mark.parametrize("later_first", [False, True])
@pytest.mark.parametrize("spread", [28, 0], ids=["gradient", "grey"])
def test_a_dissolve_into_or_out_of_a_plain_picture_is_one(later_first: bool,
                                                            spread: int) -> None:
    """Into a smooth gradient (fog, a wall) or one grey, either way round."""
    plain = np.tile(np.linspace(150 - spread / 2, 150 + spread / 2, W), (H, 1)
                    ).astype(np.float32)
    a, b = (plain, A) if later_first else (A, plain)
    assert cross_fade(_stack([a * (1 - k) + b * k for k in np.linspace(0, 1, 11)]))


def test_a_dissolve_between_moving_shots_is_still_one() -> None:
    """Something small moving in either shot leaves the frames a blend of the ends."""
    frames = []
    for j, k in enumerate(np.linspace(0, 1, 11)):
        a, b = A.copy(), B.copy()
        a[30:45, 10 + 3 * j:25 + 3 * j] = 250
        frames.append(a * (1 - k) + b * k)
    assert cross_fade(_stack(frames))


@pytest.mark.parametrize("frames", [
    [A] * 5 + [B] * 6,                                          # a hard cut
    [A * g for g in np.linspace(1.0, 0.4, 11)],                 # the light dims
    [np.roll(A, 2 * j, axis=1) for j in range(11)],             # a pan
    [np.where(np.arange(W) < 12, A * (1 - k) + B * k, A)        # a detail changes
     for k in np.linspace(0, 1, 11)],
    [A * (1 - k) + B * k for k in [0, .1, .2, .6, .3, .5, .6, .7, .8, .9, 1]],  # back and forth
    [np.where(_THING, A * (1 - k) + B * k, A)                 # a thing blends into another
     for k in np.linspace(0, 1, 11)],
    [A, B],                                                     # nothing between
], ids=["cut", "light", "pan", "detail", "back-and-forth", "thing", "two"])
def test_what_is_not_a_dissolve(frames: list[np.ndarray]) -> None:
    assert not cross_fade(_stack(frames))


def test_a_run_of_dissolve_middles_spans_the_frames_between_its_ends() -> None:
    """Middles 10-14 with a reach of 3: frames 8 (after the first window's start, 7) to
    17 (the last window's end); runs that overlap are one."""
    marks = [False] * 40
    for i in (10, 11, 12, 13, 14, 19, 20):
        marks[i] = True
    assert _dissolves(marks, 3) == [(8, 24)]
    marks[19] = marks[20] = False
    assert _dissolves(marks, 3) == [(8, 18)]


def test_a_dissolve_splits_the_shots_and_a_fade_out_of_black_stays_a_fade() -> None:
    n = 60
    f = Features(luma=[100.0] * n, contrast=[40.0] * n, change=[1.0] * n,
                 raw_change=[2.0] * n, tones=[0.01] * n, error=[0.0] * n,
                 camera=[(0.0, 0.0, 0.0)] * n,
                 cells=[np.zeros((8, 6, 8), np.float32) for _ in range(n)],
                 blended=[20 <= i <= 24 for i in range(n)])
    shots = find_shots(f, 15.0)
    assert shots.dissolves == [(18, 28)]
    assert shots.spans == [(0, 18), (28, 60)]
    assert shots.cuts == []
    f.contrast[15:18] = [2.0] * 3  # black just before: the blend is the fade's way back in
    shots = find_shots(f, 15.0)
    assert shots.blanks == [(15, 18)] and shots.dissolves == []
    assert shots.spans == [(0, 15), (28, 60)]
