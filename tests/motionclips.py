"""Synthetic clips with a known failure at a known time, for the failure finder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ava_evidence.demo import encode_frames, face_frame

W, H, FPS = 320, 180, 24


def _background(i: int) -> np.ndarray:
    """A soft gradient with a second ball that keeps moving (the rest of the clip moves)."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([40 + xx * 60 // W, 50 + yy * 60 // H, 90 + 0 * xx], axis=-1).astype(np.uint8)
    span = W - 80
    cx = 40 + abs((i * 3) % (2 * span) - span)  # goes back and forth, never jumps
    img[((yy - 140) ** 2 + (xx - cx) ** 2) <= 12 ** 2] = (60, 200, 90)
    return img


def ball_clip(path: Path, *, seconds: float = 4, teleport_at: float | None = None,
              freeze_at: float | None = None, vanish_at: float | None = None,
              appear_at: float | None = None) -> Path:
    """A ball moving steadily right; it jumps ahead at ``teleport_at``, stops in mid-air
    at ``freeze_at`` while the background goes on, or vanishes at ``vanish_at``; with
    ``appear_at``, a still box appears out of nothing at that time."""
    frames = []
    x = 30.0
    for i in range(int(seconds * FPS)):
        t = i / FPS
        img = _background(i)
        if teleport_at is not None and abs(t - teleport_at) < 0.5 / FPS:
            x += 110
        if freeze_at is None or t < freeze_at:
            x += 2.0
        cx, cy = int(x), 70
        yy, xx = np.ogrid[:H, :W]
        if vanish_at is None or t < vanish_at:
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 14 ** 2] = (240, 120, 40)
        if appear_at is not None and t >= appear_at:
            img[20:50, 250:290] = (230, 230, 80)
        frames.append(img)
    return encode_frames(path, np.stack(frames), FPS)


def pan_clip(path: Path, *, seconds: float = 3) -> Path:
    """A camera pan across a textured scene with the moving ball: everything shifts
    steadily; nothing is a failure."""
    rng = np.random.default_rng(7)
    wide = np.repeat(np.repeat(rng.integers(40, 200, (H // 6, 2 * W // 6, 3)), 6, 0), 6, 1)
    wide = wide.astype(np.uint8)
    frames = []
    for i in range(int(seconds * FPS)):
        x = i * 3
        img = wide[:, x:x + W].copy()
        yy, xx = np.ogrid[:H, :W]
        img[(yy - 90) ** 2 + (xx - 60 - i * 2) ** 2 <= 14 ** 2] = (240, 120, 40)
        frames.append(img)
    return encode_frames(path, np.stack(frames), FPS)


def face_look_clip(path: Path, *, seconds: float = 4, change_at: float = 1.5,
                   ramp: float = 0.5, black: int = 0, **look: float) -> Path:
    """The sample face (no drift); from ``change_at`` its look moves to ``look`` over
    ``ramp`` seconds and stays: closed eyes (closed=1), a turn to profile (turn=1), eyes
    that grow (eye_size=1.4). ``black`` frames come first, in place of the face's."""
    frames = []
    for i in range(int(seconds * FPS)):
        if i < black:
            frames.append(np.zeros_like(face_frame(0, None)))
            continue
        t = i / FPS
        k = min(1.0, max(0.0, (t - change_at) / ramp))
        now: dict[str, float] = {}
        for name, value in look.items():
            if name == "closed":
                if k >= 1:
                    now["closed"] = True  # type: ignore[assignment]
            else:
                now[name] = (0.0 if name == "turn" else 1.0) * (1 - k) + value * k
        frames.append(face_frame(t, None, **now))
    return encode_frames(path, np.stack(frames), FPS)


def similar_cut_clip(path: Path) -> Path:
    """The same face, a hard cut at 2 s to a closer framing of it (a similar shot)."""
    from ava_evidence.demo import HEIGHT, WIDTH

    frames = []
    for i in range(4 * FPS):
        img = face_frame(i / FPS, None)
        if i >= 2 * FPS:
            ch, cw = int(HEIGHT / 1.3), int(WIDTH / 1.3)
            y, x = (HEIGHT - ch) // 2, (WIDTH - cw) // 2
            from PIL import Image

            img = np.asarray(Image.fromarray(img[y:y + ch, x:x + cw]).resize((WIDTH, HEIGHT)))
        frames.append(img)
    return encode_frames(path, np.stack(frames), FPS)


def _faded_out() -> list[np.ndarray]:
    """Two seconds of the face, fading to black over the last half second, then two black
    frames: the first half of a fade through black."""
    frames = []
    for i in range(2 * FPS):
        k = min(1.0, (2 * FPS - 1 - i) / (FPS / 2))
        frames.append((face_frame(i / FPS, None) * k).astype(np.uint8))
    return frames + [np.zeros_like(frames[0])] * 2


def _fading_in(i: int) -> float:
    """Brightness of frame i of a shot fading in from black over half a second."""
    return min(1.0, (i + 1) / (FPS / 2))


def fade_clip(path: Path) -> Path:
    """One face fades to black (0.5 s), two black frames, another shot fades in."""
    frames = _faded_out()
    for i in range(2 * FPS):
        img = face_frame(i / FPS, None, shift=-120).copy()
        img[..., 0] = 255 - img[..., 0]
        frames.append((img * _fading_in(i)).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FPS)


def faded_face_clip(path: Path, *, jaw_at: float = 1.5) -> Path:
    """The face, a fade through black (0.5 s out, two black frames, 0.5 s in) to the same
    face in the same place, whose lower face then widens from ``jaw_at`` (seconds into the
    second shot, over half a second) and stays wider."""
    frames = _faded_out()
    for i in range(4 * FPS):
        t = i / FPS
        jaw = 1 + 0.3 * min(1.0, max(0.0, (t - jaw_at) / 0.5))
        frames.append((face_frame(t, None, jaw=jaw) * _fading_in(i)).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FPS)


def face_cut_clip(path: Path) -> Path:
    """Two seconds of one face, a hard cut, two seconds of a different face; no drift."""
    first = [face_frame(i / FPS, None) for i in range(2 * FPS)]
    second = []
    for i in range(2 * FPS):
        img = face_frame(i / FPS, None, shift=-120).copy()
        img[..., 0] = 255 - img[..., 0]  # a different shot: other colours, other place
        second.append(img)
    return encode_frames(path, np.stack(first + second), FPS)


def face_clip(path: Path, drift_start: float | None) -> Path:
    from ava_evidence.demo import make_demo_clip

    return make_demo_clip(path, drift_start)


def flicker_clip(path: Path, *, start: float = 1.5, seconds: float = 3) -> Path:
    """The moving scene, with brightness pumping up and down each frame from ``start``."""
    frames = []
    for i in range(int(seconds * FPS)):
        img = _background(i).astype(np.int16)
        if i / FPS >= start and i / FPS < start + 1:
            img += 18 if i % 2 else -18
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FPS)


def exposure_steps_clip(path: Path, *, first: int = 30, steps: int = 4, size: int = 7,
                       seconds: float = 3) -> Path:
    """The moving scene growing darker by ``size`` levels every other frame, ``steps`` times
    from frame ``first``, as an exposure that settles in steps does."""
    frames = []
    for i in range(int(seconds * FPS)):
        img = _background(i).astype(np.int16)
        img -= size * min(steps, max(0, (i - first) // 2 + 1))
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FPS)


def flash_clip(path: Path, *, first: int = 40, length: int = 3, seconds: float = 3) -> Path:
    """The moving scene with ``length`` frames from frame ``first`` much brighter."""
    frames = []
    for i in range(int(seconds * FPS)):
        img = _background(i).astype(np.int16)
        if first <= i < first + length:
            img += 70
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FPS)


def stall_clip(path: Path, *, start: float = 1.5, length: float = 0.75,
               seconds: float = 3) -> Path:
    """The moving scene, with the same frame repeated for ``length`` seconds from ``start``."""
    frames = []
    held = None
    for i in range(int(seconds * FPS)):
        t = i / FPS
        if start <= t < start + length:
            held = held if held is not None else _background(i)
            frames.append(held)
        else:
            frames.append(_background(i))
    return encode_frames(path, np.stack(frames), FPS)


def paced_clip(path: Path, pace: list[float]) -> Path:
    """The moving scene played at ``pace`` (one entry per frame: how many frames' worth of
    motion it moves on; 0 repeats the picture exactly)."""
    position = 0.0
    frames = []
    for step in pace:
        position += step
        frames.append(_scene_at(position))
    return encode_frames(path, np.stack(frames), FPS)


def _scene_at(position: float) -> np.ndarray:
    """:func:`_background` at a fractional frame position."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([40 + xx * 60 // W, 50 + yy * 60 // H, 90 + 0 * xx], axis=-1).astype(np.uint8)
    span = W - 80
    cx = 40 + abs((position * 3) % (2 * span) - span)
    img[((yy - 140) ** 2 + (xx - cx) ** 2) <= 12 ** 2] = (60, 200, 90)
    return img


def two_faces_clip(path: Path, drift_start: float = 1.5) -> Path:
    """Two people side by side; only the one on the right drifts."""
    frames = []
    for i in range(4 * FPS):
        left = face_frame(i / FPS, None, shift=-160)
        right = face_frame(i / FPS, drift_start, shift=160)
        img = left.copy()
        img[:, 320:] = right[:, 320:]
        frames.append(img)
    return encode_frames(path, np.stack(frames), FPS)


def see_through_clip(path: Path, *, ghost: bool) -> tuple[Path, int]:
    """A textured square slides right at 2 px a frame over a still textured patch, on the
    background with grain (no region of it stands exactly still). From the frame they
    first overlap (returned), the square shows at half strength with what is behind it
    (``ghost``: one thing passes through the other) or covers it (a natural occlusion)."""
    tex = np.random.default_rng(5)

    def texture(n: int, lo: int, hi: int) -> np.ndarray:
        t = np.repeat(np.repeat(tex.integers(lo, hi, (n // 4, n // 4, 3)), 4, 0), 4, 1)
        return t.astype(np.float32)

    mover, still = texture(48, 30, 230), texture(64, 40, 220)
    grain = np.random.default_rng(6)
    sx, sy = W // 2 - 32, 40
    frames, overlap = [], None
    for i in range(4 * FPS):
        img = _background(i).astype(np.float32) + grain.normal(0, 6, (H, W, 1))
        img[sy:sy + 64, sx:sx + 64] = still
        mx = 20 + 2 * i
        overlaps = mx + 48 > sx + 2
        overlap = i if overlaps and overlap is None else overlap
        a = 0.5 if ghost and overlaps else 1.0
        img[sy + 8:sy + 56, mx:mx + 48] = img[sy + 8:sy + 56, mx:mx + 48] * (1 - a) + mover * a
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    assert overlap is not None
    return encode_frames(path, np.stack(frames), FPS), overlap




def dissolve_clip(path: Path, *, seconds: float = 4, start: float = 2.0,
                  length: float = 0.6) -> Path:
    """A ball rolling over one patterned wall dissolves (from ``start``, over ``length``
    seconds) into another wall where a ball rolls the other way: a change of shot, no
    failure."""
    rng = np.random.default_rng(11)
    walls = [np.repeat(np.repeat(rng.integers(20, 235, (H // 10 + 1, W // 10 + 1, 3)), 10, 0),
                       10, 1)[:H, :W].astype(np.float32) for _ in range(2)]
    yy, xx = np.ogrid[:H, :W]
    frames = []
    for i in range(int(seconds * FPS)):
        a, b = walls[0].copy(), walls[1].copy()
        a[(yy - 60) ** 2 + (xx - 30 - 2 * i) ** 2 <= 14 ** 2] = (240, 120, 40)
        b[(yy - 120) ** 2 + (xx - W + 30 + 2 * i) ** 2 <= 14 ** 2] = (60, 200, 90)
        k = min(1.0, max(0.0, (i / FPS - start) / length))
        frames.append((a * (1 - k) + b * k).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FPS)


def face_dissolve_clip(path: Path, *, seconds: float = 5, start: float = 2.0,
                       length: float = 0.6) -> Path:
    """One face dissolves (from ``start``, over ``length`` seconds) into a brighter shot
    of a face further left."""
    from ava_evidence.demo import FPS as FACE_FPS

    frames = []
    for i in range(int(seconds * FACE_FPS)):
        a = face_frame(i / FACE_FPS, None).astype(np.float32)
        b = face_frame(i / FACE_FPS, None, shift=-150).astype(np.float32)
        b = np.minimum(b + 90, 255)
        k = min(1.0, max(0.0, (i / FACE_FPS - start) / length))
        frames.append((a * (1 - k) + b * k).astype(np.uint8))
    return encode_frames(path, np.stack(frames), FACE_FPS)
