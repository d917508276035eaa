"""Physics kinds on small synthetic clips: what a person would report is found, the
natural look-alike beside it is left alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ava_evidence.analysis import suggest
from ava_evidence.clip import index_clip
from ava_evidence.demo import encode_frames

from . import motionclips
from .motionclips import FPS, H, W


def _ball(path: Path, speed: list[float]) -> Path:
    """The moving-background clip of motionclips with a ball moving right at ``speed[i]``
    pixels in frame i."""
    frames, x = [], 30.0
    yy, xx = np.ogrid[:H, :W]
    for i, v in enumerate(speed):
        img = motionclips._background(i)
        x += v
        img[(yy - 70) ** 2 + (xx - int(x)) ** 2 <= 14 ** 2] = (240, 120, 40)
        frames.append(img)
    return encode_frames(path, np.stack(frames), FPS)


@pytest.fixture(scope="module")
def balls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("physics")
    n, at = 4 * FPS, int(1.5 * FPS)
    # from 1.5 s: slowing to a stop over a quarter second, or stopping dead
    ease = [3.0 if i < at else max(0.0, 3.0 * (1 - 4 * (i - at) / FPS)) for i in range(n)]
    dead = [3.0 if i < at else 0.0 for i in range(n)]
    return {"ease": _ball(d / "ease.mp4", ease), "dead": _ball(d / "dead.mp4", dead)}


def test_a_ball_stopping_dead_is_found(balls: dict[str, Path]) -> None:
    found = [c for c in suggest(index_clip(balls["dead"]), "physics").candidates
             if c.kind == "stop"]
    assert found and abs(float(found[0].time) - 1.5) <= 0.25


def test_a_ball_easing_to_a_stop_is_not_a_stop(balls: dict[str, Path]) -> None:
    found = suggest(index_clip(balls["ease"]), "physics").candidates
    assert [c for c in found if c.kind == "stop"] == []
