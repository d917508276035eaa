"""Failures injected into real footage, and controls made from it, for bench/finder.py.

Every injection starts at a known onset and persists or recurs as the failure would;
every control is something natural that a finder must leave alone. All edits work on
RGB frames (N, H, W, 3) and return new frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

# -- faces (dlib's frontal HOG detector and 5-point model, as the finder's own) ----------

def _models() -> tuple[object, object]:
    import dlib

    from ava_evidence.faces import FIVE_POINTS, model_file

    return (dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(model_file(FIVE_POINTS))))


def landmarks(frames: np.ndarray) -> list[np.ndarray | None]:
    """Per frame: the largest face's 5 points (x, y) as a (5, 2) array, or None."""
    det, sp = _models()
    out: list[np.ndarray | None] = []
    up = 1 if frames.shape[2] < 300 else 0
    for f in frames:
        gray = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
        found = det(gray, up)  # type: ignore[operator]
        if not found:
            out.append(None)
            continue
        box = max(found, key=lambda r: r.width())
        shape = sp(gray, box)  # type: ignore[operator]
        out.append(np.array([(p.x, p.y) for p in shape.parts()], np.float32))
    return out


def face_fraction(frames: np.ndarray, seconds: float, rate: Fraction) -> float:
    """Share of the first ``seconds`` in which a frontal face is found."""
    n = max(1, round(seconds * rate))
    marks = landmarks(frames[:n:2])
    return sum(m is not None for m in marks) / len(marks)


def _filled(marks: list[np.ndarray | None]) -> list[np.ndarray]:
    """Carry the last known landmarks over frames where none were found."""
    first = next(m for m in marks if m is not None)
    out, last = [], first
    for m in marks:
        last = m if m is not None else last
        out.append(last)
    # smooth the points a little over time (detector jitter is not the injection)
    arr = np.stack(out)
    k = np.array([1, 2, 3, 2, 1], np.float32) / 9
    pad = np.concatenate([arr[:1].repeat(2, 0), arr, arr[-1:].repeat(2, 0)])
    return list(sum(k[j] * pad[j:j + len(arr)] for j in range(5)))


def _eyes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres of the two eyes and the nose point."""
    return (p[0] + p[1]) / 2, (p[2] + p[3]) / 2, p[4]


def _ramp(i: int, onset: int, length: int) -> float:
    return 0.0 if i < onset else min(1.0, (i - onset + 1) / max(1, length))


def _warp(frame: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(frame, xx - dx, yy - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _gauss(h: int, w: int, c: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2 * sigma ** 2))
    return g, xx - c[0], yy - c[1]


def _warp_eyes(frames: np.ndarray, onset: int, rate: Fraction,
               push: Callable[[np.ndarray, np.ndarray, float, float, int, int],
                              tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each frame from the onset moved around both eyes by ``push(eye, midpoint, eye
    distance, ramp, h, w)``, which gives that eye's share of the displacement (dx, dy)."""
    marks = _filled(landmarks(frames))
    out = frames.copy()
    for i in range(onset, len(frames)):
        a = _ramp(i, onset, round(rate))
        r, l_, _ = _eyes(marks[i])
        d = float(np.linalg.norm(r - l_))
        h, w = frames.shape[1:3]
        dx = np.zeros((h, w), np.float32)
        dy = np.zeros((h, w), np.float32)
        for e in (r, l_):
            ex, ey = push(e, (r + l_) / 2, d, a, h, w)
            dx += ex
            dy += ey
        out[i] = _warp(frames[i], dx, dy)
    return out


def eye_spacing(frames: np.ndarray, onset: int, rate: Fraction, amount: float = 0.3
                ) -> np.ndarray:
    """The eyes move apart by ``amount`` of their distance over one second."""
    def push(e: np.ndarray, mid: np.ndarray, d: float, a: float, h: int, w: int
             ) -> tuple[np.ndarray, np.ndarray]:
        v = (e - mid) * amount * a
        g, _, _ = _gauss(h, w, e + v, 0.5 * d)
        return g * v[0], g * v[1]

    return _warp_eyes(frames, onset, rate, push)


def eye_size(frames: np.ndarray, onset: int, rate: Fraction, amount: float = 0.45
             ) -> np.ndarray:
    """Both eyes grow by ``amount`` over one second."""
    def push(e: np.ndarray, mid: np.ndarray, d: float, a: float, h: int, w: int
             ) -> tuple[np.ndarray, np.ndarray]:
        g, ox, oy = _gauss(h, w, e, 0.22 * d)
        k = 1 - 1 / (1 + amount * a * g)
        return ox * k, oy * k

    return _warp_eyes(frames, onset, rate, push)


def jaw_shape(frames: np.ndarray, onset: int, rate: Fraction, amount: float = 0.3
              ) -> np.ndarray:
    """The lower face widens by ``amount`` over one second."""
    marks = _filled(landmarks(frames))
    out = frames.copy()
    h, w = frames.shape[1:3]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(onset, len(frames)):
        a = _ramp(i, onset, round(rate))
        r, l_, nose = _eyes(marks[i])
        d = float(np.linalg.norm(r - l_))
        cx = float((r[0] + l_[0]) / 2)
        chin_y = float(nose[1] + 1.3 * d)
        gate_y = np.exp(-((yy - chin_y + 0.2 * d) ** 2) / (2 * (0.55 * d) ** 2))
        gate_x = np.exp(-((xx - cx) ** 2) / (2 * (1.1 * d) ** 2))
        k = 1 - 1 / (1 + amount * a * gate_y * gate_x)
        out[i] = _warp(frames[i], (xx - cx) * k, np.zeros_like(xx))
    return out


def face_swap(frames: np.ndarray, onset: int, rate: Fraction, other: np.ndarray,
              seconds: float = 2.0) -> np.ndarray:
    """A slow cross-fade (``seconds``) to another person's face, aligned on the eyes and nose."""
    marks = _filled(landmarks(frames))
    theirs = next(m for m in landmarks(other[:20]) if m is not None)
    src = other[next(k for k, m in enumerate(landmarks(other[:20])) if m is not None)]
    out = frames.copy()
    h, w = frames.shape[1:3]
    for i in range(onset, len(frames)):
        a = _ramp(i, onset, round(seconds * rate))
        m, _ = cv2.estimateAffinePartial2D(theirs, marks[i])
        warped = cv2.warpAffine(src, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        r, l_, nose = _eyes(marks[i])
        d = float(np.linalg.norm(r - l_))
        centre = (r + l_) / 2 * 0.4 + nose * 0.6
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(1.25 * d), int(1.7 * d)), 0,
                    0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.2 * d)[..., None] * a
        out[i] = (frames[i] * (1 - mask) + warped * mask).astype(np.uint8)
    return out


# -- physics --------------------------------------------------------------------------

def busy_box(frames: np.ndarray, size: float = 0.28) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the box, away from the edges, where the picture changes most."""
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]).astype(np.float32)
    energy = np.abs(np.diff(gray, axis=0)).mean(0)
    h, w = energy.shape
    bw, bh = int(w * size), int(h * size)
    integral = cv2.integral(energy)
    best, where = -1.0, (0, 0)
    for y in range(int(h * 0.1), int(h * 0.9) - bh, 4):
        for x in range(int(w * 0.1), int(w * 0.9) - bw, 4):
            s = integral[y + bh, x + bw] - integral[y, x + bw] - integral[y + bh, x] + \
                integral[y, x]
            if s > best:
                best, where = s, (x, y)
    return where[0], where[1], bw, bh


def _feather(h: int, w: int, box: tuple[int, int, int, int], soft: float = 3) -> np.ndarray:
    x, y, bw, bh = box
    m = np.zeros((h, w), np.float32)
    m[y:y + bh, x:x + bw] = 1
    return cv2.GaussianBlur(m, (0, 0), soft)[..., None]


def _paste(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (dst * (1 - mask) + src * mask).astype(np.uint8)


def time_jump(frames: np.ndarray, onset: int, rate: Fraction) -> np.ndarray:
    """From the onset, one region shows the picture from 0.6 s earlier, for 0.8 s."""
    box = busy_box(frames)
    lag = round(0.6 * rate)
    mask = _feather(*frames.shape[1:3], box)
    out = frames.copy()
    for i in range(onset, min(len(frames), onset + round(0.8 * rate))):
        out[i] = _paste(frames[i], frames[max(0, i - lag)], mask)
    return out


def vanish(frames: np.ndarray, onset: int, rate: Fraction) -> np.ndarray:
    """From the onset, what was in the busiest region is gone (filled from around it)."""
    x, y, bw, bh = busy_box(frames, 0.2)
    out = frames.copy()
    mask = np.zeros(frames.shape[1:3], np.uint8)
    mask[y:y + bh, x:x + bw] = 255
    for i in range(onset, len(frames)):
        out[i] = cv2.inpaint(frames[i], mask, 7, cv2.INPAINT_TELEA)
    return out


def appear(frames: np.ndarray, onset: int, rate: Fraction, thing: np.ndarray) -> np.ndarray:
    """From the onset, an object (``thing``, RGB) is there, out of nothing."""
    h, w = frames.shape[1:3]
    th, tw = thing.shape[:2]
    x, y = int(w * 0.55), int(h * 0.3)
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (x + tw // 2, y + th // 2), (tw // 2 - 2, th // 2 - 2), 0, 0, 360, 1, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 2)[..., None]
    layer = np.zeros_like(frames[0])
    layer[y:y + th, x:x + tw] = thing
    out = frames.copy()
    for i in range(onset, len(frames)):
        out[i] = _paste(frames[i], layer, mask)
    return out


def stop_dead(frames: np.ndarray, onset: int, rate: Fraction) -> np.ndarray:
    """From the onset, the busiest region stops dead (holds the onset's picture)."""
    box = busy_box(frames)
    mask = _feather(*frames.shape[1:3], box, 2)
    out = frames.copy()
    for i in range(onset, len(frames)):
        out[i] = _paste(frames[i], frames[onset], mask)
    return out


def sprites(frames: np.ndarray, rate: Fraction, mover: np.ndarray, still: np.ndarray,
            ghost: bool, meet: int) -> tuple[np.ndarray, int]:
    """``mover`` slides steadily across ``still`` (entering from the left where it must),
    reaching it at frame ``meet``; where they overlap it is drawn in front (ghost=False: a
    natural occlusion) or both show through each other at half strength (ghost=True: one
    passes through the other). Returns the frames and the frame where the overlap starts."""
    n, h, w = frames.shape[:3]
    sh, sw = still.shape[:2]
    mh, mw = mover.shape[:2]
    sx, sy = w // 2 - sw // 2, h // 2 - sh // 2
    my = h // 2 - mh // 2

    def mask_of(hh: int, ww: int) -> np.ndarray:
        m = np.zeros((hh, ww), np.float32)
        cv2.ellipse(m, (ww // 2, hh // 2), (ww // 2 - 2, hh // 2 - 2), 0, 0, 360, 1, -1)
        return cv2.GaussianBlur(m, (0, 0), 1.5)[..., None]

    smask, mmask = mask_of(sh, sw), mask_of(mh, mw)
    speed = (int(w * 0.9) - mw) / max(1, n - 1)  # across most of the picture in the clip
    first_x = sx + 5 - mw - speed * meet
    out = frames.copy()
    overlap_at = n
    for i in range(n):
        f = out[i].astype(np.float32)
        f[sy:sy + sh, sx:sx + sw] = f[sy:sy + sh, sx:sx + sw] * (1 - smask) + still * smask
        mx = round(first_x + speed * i)
        overlaps = mx + mw > sx + 4 and mx < sx + sw - 4
        if overlaps and overlap_at == n:
            overlap_at = i
        a, b = max(0, mx), min(w, mx + mw)  # what of it is in the picture
        if a < b:
            region = f[my:my + mh, a:b]
            m, thing = mmask[:, a - mx:b - mx], mover[:, a - mx:b - mx]
            strength = 0.5 if ghost and overlaps else 1.0
            region[:] = region * (1 - strength * m) + thing * strength * m
        out[i] = np.clip(f, 0, 255).astype(np.uint8)
    return out, overlap_at


def flicker(frames: np.ndarray, onset: int, rate: Fraction, amount: float = 0.12
            ) -> np.ndarray:
    """Brightness pumps up and down each frame for 0.6 s from the onset."""
    out = frames.copy()
    for k, i in enumerate(range(onset, min(len(frames), onset + round(0.6 * rate)))):
        gain = 1 + amount if k % 2 == 0 else 1 - amount
        out[i] = np.clip(frames[i].astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return out


def stall(frames: np.ndarray, onset: int, rate: Fraction, seconds: float = 0.5) -> np.ndarray:
    """The picture stops for ``seconds`` from the onset, then goes on where it would be."""
    out = frames.copy()
    for i in range(onset + 1, min(len(frames), onset + round(seconds * rate) + 1)):
        out[i] = frames[onset]
    return out


# -- controls -------------------------------------------------------------------------

def pan(frames: np.ndarray, rate: Fraction) -> np.ndarray:
    """A camera pan: a 75% window sliding across the picture, scaled back up."""
    n, h, w = frames.shape[:3]
    cw, ch = int(w * 0.75), int(h * 0.75)
    out = []
    for i, f in enumerate(frames):
        x = round((w - cw) * i / max(1, n - 1))
        out.append(cv2.resize(f[(h - ch) // 2:(h - ch) // 2 + ch, x:x + cw], (w, h),
                              interpolation=cv2.INTER_CUBIC))
    return np.stack(out)


def zoom(frames: np.ndarray, rate: Fraction) -> np.ndarray:
    """A camera zoom-in from the whole picture to its central 65%."""
    n, h, w = frames.shape[:3]
    out = []
    for i, f in enumerate(frames):
        s = 1 - 0.35 * i / max(1, n - 1)
        cw, ch = int(w * s), int(h * s)
        x, y = (w - cw) // 2, (h - ch) // 2
        out.append(cv2.resize(f[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_CUBIC))
    return np.stack(out)


def _fit(b: np.ndarray, like: np.ndarray) -> np.ndarray:
    h, w = like.shape[1:3]
    return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in b])


def hard_cut(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The first half of ``a``, then the second half of ``b``."""
    b = _fit(b, a)
    return np.concatenate([a[: len(a) // 2], b[len(b) // 2:]])


def similar_cut(a: np.ndarray) -> np.ndarray:
    """A cut between two similar shots: the same scene, re-framed 1.3x closer."""
    half = len(a) // 2
    h, w = a.shape[1:3]
    cw, ch = int(w / 1.3), int(h / 1.3)
    x, y = (w - cw) // 2, (h - ch) // 3
    closer = np.stack([cv2.resize(f[y:y + ch, x:x + cw], (w, h),
                                  interpolation=cv2.INTER_CUBIC) for f in a[half:]])
    return np.concatenate([a[:half], closer])


def fade_through_black(a: np.ndarray, b: np.ndarray, rate: Fraction) -> np.ndarray:
    """``a`` fades to black over 0.4 s, two black frames, ``b`` fades in over 0.4 s."""
    b = _fit(b, a)
    k = max(2, round(0.4 * rate))
    out = list(a[: len(a) // 2])
    tail = out[-k:]
    out[-k:] = [(f * (1 - (j + 1) / k)).astype(np.uint8) for j, f in enumerate(tail)]
    out += [np.zeros_like(a[0])] * 2
    rest = list(b[len(b) // 2:])
    rest[:k] = [(f * ((j + 1) / (k + 1))).astype(np.uint8) for j, f in enumerate(rest[:k])]
    return np.stack(out + rest)


def dissolve(a: np.ndarray, b: np.ndarray, rate: Fraction) -> np.ndarray:
    """``a`` dissolves into ``b`` over 0.6 s: the first half of ``a``, then the second half
    of ``b`` (as a hard cut joins them), the two blended over its first 0.6 s."""
    b = _fit(b, a)
    k = max(2, round(0.6 * rate))
    half, then = len(a) // 2, len(b) // 2
    out = list(a[:half])
    for j in range(k):
        t = (j + 1) / (k + 1)
        out.append((a[min(len(a) - 1, half + j)] * (1 - t) + b[min(len(b) - 1, then + j)] * t
                    ).astype(np.uint8))
    out += list(b[then + k:])
    return np.stack(out)


@dataclass
class Case:
    name: str
    source: str
    kind: str
    """For an injection, the failure key it should be found as; "control" otherwise."""
    onset: float | None
    make: Callable[[], tuple[np.ndarray, Fraction]]
    tag: str = ""
    """Marks the cached file's name where the recipe changed, so an old copy is not reused."""
