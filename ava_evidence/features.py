"""Small per-frame motion features, computed while the clip streams by.

Each frame, inside any bars (picture_area), is shrunk to MOTION_WIDTH pixels wide;
OpenCV's DIS optical flow links it to the frame before. From the flow:

- the camera's motion: an affine fit to the flow (least squares, outliers dropped once);
- each cell of a COLS x ROWS grid: its flow magnitude, its motion beyond the camera's,
  its motion-compensated prediction error in its busiest quarter (the frame before,
  moved along the flow, against this frame: what no motion explains: things appearing,
  vanishing, jumping), how much of its structure that prediction lost (a correlation,
  blind to light changes), its mean grey level and spread, and its fine detail (what a
  smeared or vanished thing loses, and a thing out of nothing brings);
- each region-sized window at half-region steps: its raw change and mean grey level
  (whether a thing the grid's own regions cut across repeats its picture);
- the whole frame: brightness, contrast, change from the frame before after matching
  brightness and contrast (a fade changes little from frame to frame; a cut changes all),
  and how much its distribution of grey levels changed.

Only these numbers and a 32 x 18 thumbnail are kept (about 3 KB a frame), so memory
does not grow with the picture size and stays small for long clips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MOTION_WIDTH = 160
COLS, ROWS = 8, 6
WINDOW_COLS, WINDOW_ROWS = 2 * COLS - 1, 2 * ROWS - 1
"""Region-sized windows at half-region steps across and down (see staggered)."""
LOWEST, HIGHEST = 32, 8 * MOTION_WIDTH
"""Least and most height of a frame at MOTION_WIDTH: OpenCV's DIS flow (4.14, its
ultrafast preset) crashes the process on a picture under 32 px high, so a panorama (over
5:1) is measured stretched to it; and its remap takes under 32,768 rows, so a picture over
eight times as high as wide is squeezed."""
THUMB_W, THUMB_H = 32, 18
"""Size of the tiny picture kept per frame (4 x 3 pixels per region)."""
FADE_REACH = 0.2
"""Seconds either side of a frame over which a cross-fade is told (shots.cross_fade): a
dissolve of about 0.3 to 0.8 s shows in the middle of it; a slower one changes too little
within it to be told from motion."""
BLANK_CONTRAST = 6.0
"""A frame whose luma standard deviation is below this is blank (black, white, one colour)."""
FLAT = 29.0
"""SSIM's stabiliser for the structure term ((0.03 * 255)^2 / 2): cells with less texture
than this (a standard deviation of about 5 levels) count as unchanged in structure."""
STRUCTURE = 4
"""Index of the structure-lost channel in :attr:`Features.cells`."""
LOOK = 5
"""Index of the cell mean channel in :attr:`Features.cells` (the spread follows)."""
DETAIL = 7
"""Index of the fine-detail channel in :attr:`Features.cells`."""
REPEAT = 1.0
"""Largest change of any region (grey levels) in a frame that repeats the one before it
exactly, as a clip made at a lower frame rate repeats frames: below a moving region's
change in any frame that shows something new. Looser than shots.FROZEN (0.5, a stall's
frames): a repeated frame re-encoded among moving ones changes up to about 0.6."""
NOISE = 8.0
"""Most that a repeated frame re-encoded at very low quality changes (crf 38: 1.2 to 6.1
grey levels in a region)."""
CADENCE = 3
"""Most frames in a row that repeat a picture of a clip made at a lower frame rate, or
as many as a twelfth of a second holds where that is more (12 fps shown at 60 repeats
each picture four times): more is the picture held."""
CONVERTED = 0.15
"""Share of a shot's frames, repeating the one before CADENCE times in a row or fewer,
from which it is a clip made at a lower frame rate (25 fps shown at 30 repeats 17%)."""


@dataclass
class Features:
    """Per-frame features; row i describes frame i (and its change from frame i - 1)."""

    luma: list[float] = field(default_factory=list)
    contrast: list[float] = field(default_factory=list)
    change: list[float] = field(default_factory=list)
    """Mean absolute change from the frame before, after matching its brightness levels."""
    raw_change: list[float] = field(default_factory=list)
    """Largest mean absolute change of any cell, as shown (for stalls)."""
    tones: list[float] = field(default_factory=list)
    """How much the distribution of grey levels changed from the frame before (half the
    L1 distance of 16-bin histograms: 0 the same tones, 1 none in common)."""
    error: list[float] = field(default_factory=list)
    """Mean motion-compensated prediction error over the frame."""
    camera: list[tuple[float, float, float]] = field(default_factory=list)
    """Camera motion: shift x, shift y (pixels at MOTION_WIDTH) and scale change."""
    blended: list[bool] = field(default_factory=list)
    """Whether the frame lies in the middle of a cross-fade: the frames around it are the
    picture FADE_REACH seconds before and the one as far after, blended (shots.cross_fade)."""
    thumbs: list[np.ndarray] = field(default_factory=list)
    """(THUMB_H, THUMB_W) uint8: the picture itself, tiny (to tell whether a region shows
    again what it showed a moment before)."""
    windows: list[np.ndarray] = field(default_factory=list)
    """(2, WINDOW_ROWS, WINDOW_COLS) float16: the raw change and mean grey level of every
    region-sized window at half-region steps (staggered). A thing that stops dead shows
    its picture repeating only in a region it fills, and a small thing rarely fills one
    of the grid's own."""
    cells: list[np.ndarray] = field(default_factory=list)
    """(8, ROWS, COLS) float32: flow magnitude, motion beyond the camera's, prediction
    error (busiest quarter), raw change, structure lost (STRUCTURE), the cell's mean grey
    level and its spread (LOOK, LOOK + 1: what the cell shows, to tell whether a change
    lasts) and its fine detail (DETAIL: the mean size of its grey-level curvature)."""

    def __len__(self) -> int:
        return len(self.luma)

    def repeats(self, start: int, end: int) -> np.ndarray:
        """Per frame of [start, end), whether it repeats the one before (the first never):
        no region changing over REPEAT; or, re-encoded at low quality, by NOISE at most and
        under a fifth of what the frames within three of it change (the second most of
        them: a conversion's repeat amid frames that show something new)."""
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view

        lo, hi = max(0, start - 3), min(len(self.raw_change), end + 3)
        raw = np.asarray(self.raw_change[lo:hi], np.float64)
        padded = np.pad(raw, 3, mode="edge") if len(raw) else raw
        near = np.partition(sliding_window_view(padded, 7), -2, axis=1)[:, -2] \
            if len(raw) else raw  # the second most: a cut's one frame is not the motion
        same = (raw <= REPEAT) | ((raw <= NOISE) & (raw <= 0.2 * near))
        out = np.zeros(max(0, end - start), bool)  # frames kept without it: none repeat
        part = same[start - lo:start - lo + end - start]
        out[1:len(part)] = part[1:]
        return out

    def pictures(self, start: int, end: int, fps: float) -> tuple[np.ndarray, float]:
        """The frames of [start, end) that show the shot's pictures (offsets from
        ``start``), and how many pictures it shows a frame (1 for most clips). A clip made
        at a lower frame rate and shown at this one repeats frames (every other one, say,
        or three in four), where nothing moves: how the shot usually moves, and how much
        time a number of frames is, are then told from the frames that show something new
        (the first always counts). Not where a shot repeats a picture only now and then,
        or holds one (a pause, a stall): those frames are its own."""
        return pictures_of(self.repeats(start, end), fps)


def pictures_of(repeat: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """Features.pictures, from its frames' flags of repeating the one before
    (Features.repeats)."""
    import numpy as np

    n, repeat = len(repeat), repeat[1:]
    edges = np.flatnonzero(np.diff(np.r_[0, repeat.astype(np.int8), 0]))
    runs = edges[1::2] - edges[::2]  # frames in a row that repeat the one before
    short = int(runs[runs <= max(CADENCE, round(fps / 12))].sum())
    if short < CONVERTED * n:
        return np.arange(n), 1.0
    kept = np.flatnonzero(np.r_[True, ~repeat])
    return kept, len(kept) / (len(kept) + short)


class MotionMeter:
    """Feed frames in order with :meth:`add`; read :attr:`features`."""

    def __init__(self, fps: float = 30.0) -> None:
        from collections import deque

        import cv2

        self.features = Features()
        self._reach = fade_reach(fps)
        self._recent: deque[np.ndarray] = deque(maxlen=2 * self._reach + 1)
        """The last frames at MOTION_WIDTH, to tell a cross-fade (0.4 s of them, five at
        least)."""
        self.faded_in = False
        """Whether the frame just added ends a cross-fade: the next shot starts here."""
        self._prev: np.ndarray | None = None
        self._dis = cv2.DISOpticalFlow_create(  # type: ignore[attr-defined,unused-ignore]
            cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """x and y of every pixel from the picture's centre, and the camera fit's sample
        points as rows (1, x, y): made once per picture size."""
        self._hist: np.ndarray | None = None
        self._area: tuple[slice, slice] | None = None
        """The picture inside bars (picture_area), told from the first frame bright enough
        to tell, and again when a picture comes into the bars."""

    @property
    def area(self) -> tuple[slice, slice] | None:
        """The picture inside any bars, as told at the last frame added (None until a
        frame was bright enough to tell)."""
        return self._area

    def add(self, luma: np.ndarray) -> None:
        import cv2
        import numpy as np

        if self._area is None or not still_bars(luma, self._area):
            self._area = picture_area(luma)
        if self._area is not None:
            luma = luma[self._area]
        h = min(HIGHEST, max(LOWEST, round(luma.shape[0] * MOTION_WIDTH / luma.shape[1])))
        small = cv2.resize(luma, (MOTION_WIDTH, h), interpolation=cv2.INTER_AREA)
        f = self.features
        mean, std = cv2.meanStdDev(small)
        m, s = float(mean[0, 0]), float(std[0, 0])
        f.luma.append(m)
        f.contrast.append(s)
        prev, self._prev = self._prev, small
        f.thumbs.append(cv2.resize(small, (THUMB_W, THUMB_H), interpolation=cv2.INTER_AREA))
        self._blend(small)
        hist = np.bincount(np.right_shift(small, 4).ravel(), minlength=16) / small.size
        last, self._hist = self._hist, hist
        f.tones.append(0.0 if last is None else float(np.abs(hist - last).sum() / 2))
        if prev is None or prev.shape != small.shape:
            f.change.append(0.0)
            f.raw_change.append(0.0)
            f.error.append(0.0)
            f.camera.append((0.0, 0.0, 0.0))
            first = small.astype(np.float32)
            mc, cc, detail = _pooled([first, first * first, _edges(first)], (COLS, ROWS))
            f.windows.append(np.stack([np.zeros((WINDOW_ROWS, WINDOW_COLS), np.float32),
                                       staggered(first)]).astype(np.float16))
            f.cells.append(np.concatenate([np.zeros((5, ROWS, COLS), np.float32),
                                           _spread(mc, cc), detail[None]]))
            return
        cur32 = small.astype(np.float32)
        prev32 = prev.astype(np.float32)
        raw = np.abs(cur32 - prev32)
        gain, offset = _levels(prev32, cur32)
        if s >= BLANK_CONTRAST and f.contrast[-2] >= BLANK_CONTRAST:
            f.change.append(float(np.abs(cur32 - (prev32 * gain + offset)).mean()))
        else:
            f.change.append(float(raw.mean()))
        flow = self._dis.calc(prev, small, None)
        camera, beyond = self._camera(flow)
        pred = self._warp(prev32, flow)
        # Brightness changes (fades, exposure) are not unexplained content: match them.
        err = np.abs(cur32 - (pred * gain + offset))
        mag = cv2.magnitude(flow[..., 0], flow[..., 1])
        # the pictures pooled together (the same means as one resize each, a third of them)
        motion, past, rawp, mc, cc, detail, mp, pp, pc = _pooled(
            [mag, beyond, raw, cur32, cur32 * cur32, _edges(cur32), pred, pred * pred,
             pred * cur32], (COLS, ROWS))
        fine_err, fine_raw, fine_cur = _pooled([err, raw, cur32], (2 * COLS, 2 * ROWS))
        cells = np.stack([motion, past, _busiest(fine_err), rawp,
                          _lost(mp, mc, pp, cc, pc), *_spread(mc, cc), detail])
        f.cells.append(cells.astype(np.float32))
        f.windows.append(np.stack([staggered(fine_raw), staggered(fine_cur)]).astype(np.float16))
        f.error.append(float(err.mean()))
        f.raw_change.append(float(cells[3].max()))
        f.camera.append(camera)

    def _blend(self, small: np.ndarray) -> None:
        """Mark the frame FADE_REACH seconds back if it lies in the middle of a cross-fade."""
        from .shots import cross_fade

        f = self.features
        f.blended.append(False)
        self.faded_in = False
        if self._recent and self._recent[-1].shape != small.shape:
            self._recent.clear()
        self._recent.append(small)
        if len(self._recent) == self._recent.maxlen:
            mid = len(f.blended) - 1 - self._reach
            f.blended[mid] = cross_fade(list(self._recent))
            self.faded_in = not f.blended[mid] and mid > 0 and f.blended[mid - 1]

    def _camera(self, flow: np.ndarray) -> tuple[tuple[float, float, float], np.ndarray]:
        """Affine fit of the flow (the camera), and each pixel's motion beyond it."""
        import cv2
        import numpy as np

        h, w = flow.shape[:2]
        if self._grid is None or self._grid[0].shape != (h, w):
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            xx, yy = xx - w / 2, yy - h / 2
            sx, sy = xx[::4, ::4].ravel(), yy[::4, ::4].ravel()
            self._grid = (xx, yy, np.stack([np.ones(sx.size), sx, sy], axis=1))
        xx, yy, a = self._grid
        uv = flow[::4, ::4].reshape(-1, 2).astype(np.float64)
        keep = np.ones(len(a), bool)
        for _ in range(2):
            # least squares by its normal equations (three unknowns per axis: a 3 x 3
            # solve, far quicker per frame than a general solver)
            ak = a[keep]
            coef = np.linalg.solve(ak.T @ ak, ak.T @ uv[keep])
            res = np.hypot(*(a @ coef - uv).T)
            keep = res <= max(0.5, float(np.partition(res, int(0.7 * len(res)))[
                int(0.7 * len(res))]))
        cu, cv = coef[:, 0], coef[:, 1]
        fu = np.float32(cu[0]) + np.float32(cu[1]) * xx + np.float32(cu[2]) * yy
        fv = np.float32(cv[0]) + np.float32(cv[1]) * xx + np.float32(cv[2]) * yy
        beyond = cv2.magnitude(flow[..., 0] - fu, flow[..., 1] - fv)
        return (float(cu[0]), float(cv[0]), float((cu[1] + cv[2]) / 2)), beyond

    def _warp(self, prev: np.ndarray, flow: np.ndarray) -> np.ndarray:
        import cv2

        assert self._grid is not None
        xx, yy, _ = self._grid
        h, w = flow.shape[:2]
        return cv2.remap(prev, xx + w / 2 - flow[..., 0], yy + h / 2 - flow[..., 1],
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _levels(prev: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Gain and offset taking ``prev``'s brightness levels to ``cur``'s: a least-squares
    fit over the picture, fitted again without the pixels it explains worst (a fade or an
    exposure change moves every pixel alike; one object that appears or moves does not)."""
    import numpy as np

    x = prev[::2, ::2].ravel().astype(np.float64)
    y = cur[::2, ::2].ravel().astype(np.float64)
    keep = np.ones(len(x), bool)
    gain, offset = 1.0, float(y.mean() - x.mean())
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        mx, my = float(xs.mean()), float(ys.mean())
        var = float(np.dot(xs, xs)) / len(xs) - mx * mx if len(xs) else 0.0
        if len(xs) < 16 or var < 4.0:
            break
        cov = float(np.dot(xs, ys)) / len(xs) - mx * my
        gain = min(4.0, max(0.25, cov / var))
        offset = my - gain * mx
        res = np.abs(y - (gain * x + offset))
        mid = len(res) // 2
        keep = res <= max(4.0, 2.5 * float(np.partition(res, mid)[mid]))
    return gain, offset


def _lost(mp: np.ndarray, mc: np.ndarray, pp: np.ndarray, cc: np.ndarray, pc: np.ndarray
          ) -> np.ndarray:
    """Per cell, 1 - the correlation of the motion-compensated prediction with the frame
    (SSIM's structure term), from the cells' means of the two, their squares and their
    product: 0 where the picture is the one before moved, whatever its light did (a flash,
    a shadow, a fade scale and shift the levels but keep the structure); near 1 where it
    shows something else (a cut, a thing replaced). Flat cells count as kept."""
    import numpy as np

    vp = np.maximum(pp - mp * mp, 0.0)
    vc = np.maximum(cc - mc * mc, 0.0)
    cov = pc - mp * mc
    return np.asarray(1 - (cov + FLAT) / (np.sqrt(vp * vc) + FLAT))


def _spread(mean: np.ndarray, square: np.ndarray) -> np.ndarray:
    """Per cell, its mean grey level and the spread around it, from the cells' means of a
    picture and of its square."""
    import numpy as np

    return np.stack([mean, np.sqrt(np.maximum(square - mean * mean, 0.0))])


def _edges(a: np.ndarray) -> np.ndarray:
    """The absolute Laplacian of a picture, per pixel: texture and edges, whose cells'
    means are the fine detail (DETAIL). An even shift of brightness leaves it; a change of
    contrast (a shadow falling) scales it."""
    import cv2
    import numpy as np

    return np.abs(cv2.Laplacian(a, cv2.CV_32F, ksize=3))


BAR = 48
"""Highest grey level of a bar's pixels: black (16 in video levels) or dark grey (RGB 20
is 33), give or take compression's ringing."""
FLAT = 8
"""Most a bar's line varies (grey levels): a bar is one flat colour."""


def picture_area(luma: np.ndarray) -> tuple[slice, slice] | None:
    """The picture inside bars, a letterbox above and below or a pillarbox either side (a
    vertical clip placed in a wide frame): rows or columns at both edges, each line one
    flat dark colour. Motion is measured inside them: with the bars, a picture a third of
    the frame's width moves a third as far at MOTION_WIDTH, and the still bars fill
    regions of the grid. None where the frame is too dark to tell (black, or a fade from
    black whose dim picture could read as bars): the next frame is asked."""
    import numpy as np

    if float(np.percentile(luma, 99)) < 2 * BAR or (luma <= BAR).mean() > 0.9:
        return None

    def inside(axis: int) -> slice:
        """Inside the runs of bar lines at both ends along ``axis`` (0: rows), less the
        line or two where the picture's edge blurs into the bar."""
        top, low = luma.max(axis=1 - axis), luma.min(axis=1 - axis)
        bar = np.asarray((top <= BAR) & (top.astype(np.int16) - low <= FLAT))
        n = len(bar)
        a, b = int(np.argmin(bar)), int(np.argmin(bar[::-1]))  # bar lines at each end
        if bar.all() or min(a, b) < 0.02 * n:  # bars on both sides
            return slice(0, n)
        blur = max(1, round(0.005 * n))
        return slice(a + blur, n - b - blur)

    return inside(0), inside(1)


def area_bounds(area: tuple[slice, slice]) -> tuple[tuple[int, int], tuple[int, int]]:
    """A picture area's (first row, row past it) and (first column, column past it)."""
    return (area[0].start, area[0].stop), (area[1].start, area[1].stop)


def still_bars(luma: np.ndarray, area: tuple[slice, slice]) -> bool:
    """Whether all of a frame outside ``area`` is still dark (BAR): where a picture comes
    into what were bars (an opening shot revealed, a letterbox that ends), the bars are
    told again."""
    import numpy as np

    h, w = luma.shape
    my, mx = max(1, round(0.005 * h)), max(1, round(0.005 * w))  # the blur left out
    (r0, r1), (c0, c1) = area_bounds(area)
    parts = [luma[:max(0, r0 - my)], luma[min(h, r1 + my):],
             luma[:, :max(0, c0 - mx)], luma[:, min(w, c1 + mx):]]
    return all(not p.size or int(np.max(p)) <= BAR + FLAT for p in parts)


def fade_reach(fps: float) -> int:
    """FADE_REACH in frames (two at least)."""
    return max(2, round(FADE_REACH * fps))


def pool(a: np.ndarray) -> np.ndarray:
    """The mean of each region (COLS x ROWS) of a picture."""
    import cv2

    return cv2.resize(a, (COLS, ROWS), interpolation=cv2.INTER_AREA)


def staggered(a: np.ndarray) -> np.ndarray:
    """The mean of every region-sized window at half-region steps (WINDOW_ROWS x
    WINDOW_COLS) of a picture, or of its quarter-regions' means (2 ROWS x 2 COLS)."""
    import cv2
    import numpy as np

    if a.shape != (2 * ROWS, 2 * COLS):
        a = cv2.resize(a, (2 * COLS, 2 * ROWS), interpolation=cv2.INTER_AREA)
    return np.asarray((a[:-1, :-1] + a[1:, :-1] + a[:-1, 1:] + a[1:, 1:]) / 4)


def _busiest(quarters: np.ndarray) -> np.ndarray:
    """Per cell, the mean of its busiest quarter (from the quarter-cells' means): a small
    thing that changes is not averaged away over the whole cell."""
    import numpy as np

    return np.asarray(quarters.reshape(ROWS, 2, COLS, 2).max(axis=(1, 3)))


def _pooled(planes: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    """Each picture's means over a (width, height) grid, pooled four at a time (as many
    channels as OpenCV's area resize takes in one pass)."""
    import cv2
    import numpy as np

    out: list[np.ndarray] = []
    for k in range(0, len(planes), 4):
        pooled = cv2.resize(np.dstack(planes[k:k + 4]), size, interpolation=cv2.INTER_AREA)
        out += list(np.moveaxis(pooled.reshape(size[1], size[0], -1), -1, 0))
    return out
