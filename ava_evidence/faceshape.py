"""A face's shape against its own first second, read from the image rather than landmarks.

dlib's 5-point model follows the corners of the eyes and the base of the nose only: it
cannot see a jaw that widens, and on eyes that grow it puts the corners where an eye of
the old size would have them. Here the face's aligned image (dlib's face chip, CHIP
pixels, aligned on those five points) is compared with the shot's first second by
OpenCV's DIS optical flow, and the flow is read where each failure shows:

- ``jaw``: how much wider the sides of the lower face became;
- ``eyes``: how much each eye's image grew about its centre;
- ``apart``: how much farther apart the two eyes' images moved.

Each is taken against the sides of the face at eye height (the temples), which none of
these failures moves, so a landmark's slip or a small turn, which moves them too, cancels
out. Measured on the benchmark's untouched faces, talking and a jaw's own movement widen
the lower face by up to about 20%, so these measures point at a moment; alone they never
claim one (see faces.SHAPE_LEAD).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np

CHIP = 128
"""Width of the aligned face image the flow is read on (eyes about 48 pixels apart)."""
PADDING = 0.25
"""dlib's face chip padding: the chip reaches from the hairline to below the chin."""

# Where dlib's chip puts each part of a face (x0, x1, y0, y1 in CHIP pixels), read from
# the mean of the benchmark's frontal faces: eyes centred at (40, 40) and (88, 40), the
# nose's base at y 72, the mouth at y 88, the face's sides at x 16 and 112.
_EYES = ((24, 56, 30, 50), (72, 104, 30, 50))
_EYE_CENTRES = ((40.0, 40.0), (88.0, 40.0))
_TEMPLES = ((4, 28, 20, 60), (100, 124, 20, 60))
_LOWER_SIDES = ((8, 40, 78, 124), (88, 120, 78, 124))
_EYE_GAP = _EYE_CENTRES[1][0] - _EYE_CENTRES[0][0]
_TEMPLE_GAP = (_TEMPLES[1][0] + _TEMPLES[1][1] - _TEMPLES[0][0] - _TEMPLES[0][1]) / 2
"""Distances between the eyes' centres and between the temples' centres (pixels)."""


class Shape(NamedTuple):
    """Changes from the first second, as shares (0.1: 10% more), each against the
    temples' own change."""

    jaw: float
    eyes: float
    apart: float


class ShapeMeter:
    """Compares aligned face images (one DIS flow each); make one per clip."""

    def __init__(self) -> None:
        import cv2
        import numpy as np

        self._dis: Any = cv2.DISOpticalFlow_create(  # type: ignore[attr-defined,unused-ignore]
            cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        yy, xx = np.mgrid[0:CHIP, 0:CHIP].astype(np.float32)
        self._xx, self._yy = xx, yy

        def area(*boxes: tuple[int, int, int, int]) -> np.ndarray:
            m = np.zeros((CHIP, CHIP), bool)
            for x0, x1, y0, y1 in boxes:
                m[y0:y1, x0:x1] = True
            return m

        self._eyes = [area(b) for b in _EYES]
        self._temples = [area(b) for b in _TEMPLES]
        self._lower = area(*_LOWER_SIDES)
        self._temple_area = self._temples[0] | self._temples[1]

    @staticmethod
    def chip(luma: np.ndarray, landmarks: Any) -> np.ndarray:
        """The face aligned on dlib's five points, CHIP pixels wide."""
        import dlib
        import numpy as np

        return np.asarray(dlib.get_face_chip(luma, landmarks, CHIP, PADDING))

    @staticmethod
    def baseline(chips: list[np.ndarray]) -> np.ndarray:
        """The first second's look: the median of its chips (a blink is outvoted)."""
        import numpy as np

        return np.asarray(np.median(np.stack(chips), axis=0), np.uint8)

    def change(self, baseline: np.ndarray, chip: np.ndarray) -> Shape:
        """How ``chip`` differs in shape from ``baseline`` (both from :meth:`chip`)."""
        import numpy as np

        flow = self._dis.calc(baseline, chip, None)
        dx, dy = flow[..., 0], flow[..., 1]
        x = self._xx - CHIP / 2

        def widening(m: np.ndarray) -> float:  # horizontal stretch about the midline
            return float((x[m] * dx[m]).sum() / max(float((x[m] ** 2).sum()), 1.0))

        temples = widening(self._temple_area)
        growth = []
        for m, (cx, cy) in zip(self._eyes, _EYE_CENTRES, strict=True):
            ox, oy = self._xx[m] - cx, self._yy[m] - cy
            growth.append(float((ox * dx[m] + oy * dy[m]).sum() / (ox * ox + oy * oy).sum()))
        right, left = (float(dx[m].mean()) for m in self._eyes)
        sides = float(dx[self._temples[1]].mean() - dx[self._temples[0]].mean())
        return Shape(jaw=widening(self._lower) - temples,
                     eyes=float(np.mean(growth)) - temples,
                     apart=(left - right) / _EYE_GAP - sides / _TEMPLE_GAP)
