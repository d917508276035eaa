"""The face's shape read from its aligned image: each failure moves its own measure, and
what moves the whole face (a zoom, a landmark's slip) moves none."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ava_evidence.faceshape import CHIP, ShapeMeter

YY, XX = np.mgrid[0:CHIP, 0:CHIP].astype(np.float32)


def _face() -> np.ndarray:
    """A drawn face placed as dlib's chip places one (eyes at (40, 40) and (88, 40)),
    with skin texture for the flow to follow."""
    import cv2

    from ava_evidence.demo import draw_face

    rng = np.random.default_rng(5)
    texture = cv2.GaussianBlur(rng.normal(0, 14, (CHIP, CHIP)).astype(np.float32), (0, 0), 1.0)
    return np.clip(draw_face(CHIP, CHIP, 64, 57, scale=0.92) + texture, 0, 255).astype(np.uint8)


def _bump(cx: float, cy: float, sigma: float) -> np.ndarray:
    return np.exp(-((XX - cx) ** 2 + (YY - cy) ** 2) / (2 * sigma ** 2))


def _warped(face: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    import cv2

    return np.asarray(cv2.remap(face, XX - dx, YY - dy, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT))


ZERO = np.zeros_like(XX)
EYES = (40.0, 88.0)
MOVES: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "jaw": lambda: ((XX - 64) * 0.15 * np.exp(-((YY - 104) ** 2) / (2 * 18 ** 2)), ZERO),
    "eyes": lambda: (sum((XX - c) * 0.4 * _bump(c, 40, 9) for c in EYES) + ZERO,
                     sum((YY - 40) * 0.4 * _bump(c, 40, 9) for c in EYES) + ZERO),
    "apart": lambda: (5 * (_bump(88, 40, 9) - _bump(40, 40, 9)), ZERO),
}


@pytest.mark.parametrize("failure", sorted(MOVES))
def test_each_failure_moves_its_own_measure(failure: str) -> None:
    face = _face()
    shape = ShapeMeter().change(face, _warped(face, *MOVES[failure]()))._asdict()
    assert shape.pop(failure) > 0.06, shape  # the least change that counts (SHAPE_FLOOR)
    if failure != "apart":  # eyes moved apart leave a narrower gap between them
        assert all(abs(v) < 0.02 for v in shape.values()), shape


@pytest.mark.parametrize("dx, dy", [((XX - 64) * 0.05 + 1.5, (YY - 64) * 0.05 - 1.0),
                                    (ZERO + 2.0, ZERO + 1.0)], ids=["zoom", "slip"])
def test_what_moves_the_whole_face_moves_no_measure(dx: np.ndarray, dy: np.ndarray) -> None:
    face = _face()
    shape = ShapeMeter().change(face, _warped(face, dx, dy))
    assert all(abs(v) < 0.015 for v in shape), shape


def test_the_baseline_is_the_median_look_so_one_blink_is_outvoted() -> None:
    face = _face()
    blink = face.copy()
    blink[35:45] = 60
    base = ShapeMeter.baseline([face, blink, face])
    assert np.array_equal(base, face)
