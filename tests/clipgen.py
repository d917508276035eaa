"""Test clips whose every frame carries its own index, and an independent oracle.

Each frame has a barcode band across its top: a white start cell, 12 bits of
the frame's source index, 2 parity bits and a black end cell. Below it, a
moving pattern gives encoders real motion to predict, and four colour patches
(red, green, blue, grey) allow absolute colour checks.

The oracle decodes a clip with the ffmpeg command-line tool (sequentially, no
seeking, edit lists and rotation applied as ffmpeg does) and reads back each
frame's barcode and time. Tests compare the library against it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

CELLS = 16
BITS = 12
PATCHES = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128))


@cache
def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _bits(value: int) -> list[int]:
    data = [(value >> (BITS - 1 - i)) & 1 for i in range(BITS)]
    return [1, *data, sum(data[:6]) % 2, sum(data[6:]) % 2, 0]


def band_height(height: int) -> int:
    return max(16, height // 7)


def draw_frame(index: int, width: int, height: int) -> np.ndarray:
    """An upright RGB frame showing ``index`` in its barcode band."""
    img = np.zeros((height, width, 3), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    img[..., 0] = (xx * 3 + index * 5) % 256
    img[..., 1] = (yy * 2 + index * 3) % 256
    img[..., 2] = ((xx + yy + index * 7) % 64) * 2 + 60
    band = band_height(height)
    cell = width // CELLS
    for i, bit in enumerate(_bits(index)):
        img[:band, i * cell:(i + 1) * cell] = 255 if bit else 0
    img[:band, CELLS * cell:] = 0
    # A square that moves across the frame.
    size = max(8, height // 6)
    x0 = (index * 7) % max(1, width - size)
    y0 = band + (index * 3) % max(1, height - band - size * 3)
    img[y0:y0 + size, x0:x0 + size] = (250, 220, 30)
    # Fixed colour patches along the bottom.
    pw = width // 8
    for i, colour in enumerate(PATCHES):
        img[height - size * 2:height, i * pw * 2:i * pw * 2 + pw] = colour
    return img


def read_barcode(rgb: np.ndarray) -> int | None:
    """The index a frame's barcode shows, or None when it is unreadable."""
    height, width = rgb.shape[:2]
    band = band_height(height)
    cell = width // CELLS
    grey = rgb[:band].astype(np.float32).mean(axis=2)
    bits = []
    for i in range(CELLS):
        x0, x1 = i * cell + cell // 4, (i + 1) * cell - cell // 4
        y0, y1 = band // 4, band - band // 4
        bits.append(1 if grey[y0:y1, x0:x1].mean() > 128 else 0)
    data = bits[1:1 + BITS]
    parity_ok = bits[13] == sum(data[:6]) % 2 and bits[14] == sum(data[6:]) % 2
    if bits[0] != 1 or bits[-1] != 0 or not parity_ok:
        return None
    return int("".join(map(str, data)), 2)


def patch_colours(rgb: np.ndarray) -> list[tuple[float, float, float]]:
    """Mean colour inside each of the four patches (of an upright frame)."""
    height, width = rgb.shape[:2]
    size = max(8, height // 6)
    pw = width // 8
    out = []
    for i in range(len(PATCHES)):
        region = rgb[height - size * 2 + 3:height - 3, i * pw * 2 + 3:i * pw * 2 + pw - 3]
        out.append(tuple(float(v) for v in region.reshape(-1, 3).mean(axis=0)))
    return out


def encode(path: Path, frames: int, *, width: int = 320, height: int = 180, rate: str = "24",
           args: list[str] | None = None, input_args: list[str] | None = None,
           rotate_stored: int = 0) -> Path:
    """Encode ``frames`` barcode frames with ffmpeg.

    ``rotate_stored`` (degrees counter-clockwise a player must turn the stored
    frames) stores each upright frame turned the other way, as a phone does.
    """
    src = np.stack([draw_frame(i, width, height) for i in range(frames)])
    if rotate_stored:
        src = np.ascontiguousarray(np.rot90(src, k=-(rotate_stored // 90), axes=(1, 2)))
    h, w = src.shape[1:3]
    cmd = [ffmpeg(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-framerate", rate, *(input_args or []), "-i", "-", *(args or []), str(path)]
    subprocess.run(cmd, input=src.tobytes(), check=True, capture_output=True)
    return path


def remux(src: Path, dst: Path, *before: str, after: tuple[str, ...] = ()) -> Path:
    cmd = [ffmpeg(), "-y", "-v", "error", *before, "-i", str(src), "-c", "copy", *after, str(dst)]
    subprocess.run(cmd, check=True, capture_output=True)
    return dst


@dataclass(frozen=True)
class Oracle:
    """What the ffmpeg CLI decodes from a clip, frame by frame."""

    times: list[float]
    """Frame times relative to the first frame, seconds."""
    codes: list[int | None]
    """Barcode read from each frame."""
    frames: np.ndarray
    """All decoded frames, upright RGB."""


_SHOWINFO = re.compile(
    r"n:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(-?[\d.e+-]+).*?\ss:(\d+)x(\d+)")


def oracle(path: Path) -> Oracle:
    cmd = [ffmpeg(), "-v", "info", "-nostats", "-i", str(path), "-map", "0:v:0",
           "-vf", "showinfo", "-fps_mode", "passthrough",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=True)
    infos = _SHOWINFO.findall(proc.stderr.decode("utf-8", "replace"))
    if not infos:
        raise AssertionError(f"no showinfo lines for {path}")
    w, h = int(infos[0][3]), int(infos[0][4])
    frames = np.frombuffer(proc.stdout, np.uint8).reshape(-1, h, w, 3)
    assert len(frames) == len(infos), (len(frames), len(infos))
    t0 = float(infos[0][2])
    times = [float(i[2]) - t0 for i in infos]
    return Oracle(times, [read_barcode(f) for f in frames], frames)
