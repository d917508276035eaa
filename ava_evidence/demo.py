"""The embedded demo: a sample failed clip made on the spot, and its bundle.

The clip is a drawn face whose eyes start drifting apart at 1.5 s (an
identity coherence failure), encoded with the ffmpeg that imageio-ffmpeg
ships, so the demo works on a fresh install with nothing to download.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AvaError, OutputError

if TYPE_CHECKING:
    import numpy as np

    from .bundle import BuildResult
    from .clip import Progress

WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 24, 4
DRIFT_START = 1.5
"""Second at which the eyes start moving apart."""


def draw_face(height: int, width: int, cx: float, cy: float, *, scale: float = 1.0,
              eye_gap: float = 1.0, eye_size: float = 1.0, jaw: float = 1.0,
              closed: bool = False, turn: float = 0.0) -> np.ndarray:
    """A shaded face (brows, eye sockets, eyes, nose, mouth, hair) as a float luma image,
    drawn so that a face detector trained on photographs finds it. ``eye_gap`` and
    ``eye_size`` scale the eyes' spacing and size, ``jaw`` the lower face's width;
    ``turn`` (-1..1) turns the head sideways (1: profile)."""
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.full((height, width), 70, np.float32)
    fw, fh = 62 * scale * (1 - 0.45 * abs(turn)), 84 * scale
    img[((xx - cx) / (fw * 1.12)) ** 2 + ((yy - cy + 10 * scale) / (fh * 1.08)) ** 2 < 1] = 35
    wide = np.where(yy > cy, fw * jaw, fw)
    inside = ((xx - cx) / wide) ** 2 + ((yy - cy) / fh) ** 2 < 1
    shade = 190 - 40 * ((xx - cx) / fw) ** 2
    img[inside] = shade[inside]

    def blob(x: float, y: float, rx: float, ry: float) -> np.ndarray:
        return np.asarray(np.exp(-(((xx - x) / rx) ** 2 + ((yy - y) / ry) ** 2)) * inside)

    off = turn * fw * 0.3
    gap, ey, s = 26 * scale * eye_gap * (1 - 0.5 * abs(turn)), cy - 18 * scale, scale
    for side in (-1, 1):
        x = cx + side * gap + off
        img -= 60 * blob(x, ey - 14 * s, 16 * s, 4 * s)
        img -= 35 * blob(x, ey, 16 * s * eye_size, 9 * s * eye_size)
        if closed:
            img[(np.abs(yy - ey) < 1.2 * s) & (np.abs(xx - x) < 11 * s * eye_size)] = 60
            continue
        img[((xx - x) / (11 * s * eye_size)) ** 2 + ((yy - ey) / (5 * s * eye_size)) ** 2
            < 1] = 230
        img[(xx - x) ** 2 + (yy - ey) ** 2 < (4.5 * s * eye_size) ** 2] = 40
    img -= 30 * blob(cx + off * 3 - 6 * s, cy + 8 * s, 3 * s, 14 * s)
    img -= 45 * blob(cx + off * 3, cy + 22 * s, 9 * s, 4 * s)
    img -= 70 * blob(cx + off, cy + 45 * s, 16 * s * jaw, 3.5 * s)
    return np.asarray(np.clip(img, 0, 255))


def face_frame(t: float, drift_start: float | None = DRIFT_START,
               shift: int = 0, **look: float) -> np.ndarray:
    """One frame of the sample: a face, its eyes drifting apart after ``drift_start``
    (never when it is None); ``shift`` moves the face sideways; ``look`` goes to
    :func:`draw_face`."""
    import numpy as np

    since = 0.0 if drift_start is None else max(0.0, t - drift_start)
    cx = WIDTH / 2 + shift + 12 * np.sin(t * 1.3)
    luma = draw_face(HEIGHT, WIDTH, cx, HEIGHT / 2 + 6, scale=1.45,
                     eye_gap=look.pop("eye_gap", 1.0) + 0.2 * since, **look)  # type: ignore[arg-type]
    tint = np.array([1.0, 0.86, 0.72], np.float32)
    return np.clip(luma[..., None] * tint + np.array([10, 12, 20], np.float32), 0,
                   255).astype(np.uint8)


def make_demo_clip(path: Path, drift_start: float | None = DRIFT_START) -> Path:
    """Encode the sample clip (H.264, 640x360, 24 fps, 4 s) at ``path``."""
    import numpy as np

    return encode_frames(path, np.stack([face_frame(i / FPS, drift_start)
                                         for i in range(FPS * SECONDS)]))


def encode_frames(path: Path, frames: np.ndarray, fps: int = FPS) -> Path:
    """Encode RGB frames (N, H, W, 3) as H.264 with imageio-ffmpeg's ffmpeg."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-s", f"{frames.shape[2]}x{frames.shape[1]}",
           "-framerate", str(fps), "-i", "-",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "48", str(path)]
    try:
        subprocess.run(cmd, input=frames.tobytes(), check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", b"") or b""
        raise AvaError(f"could not encode a clip with ffmpeg "
                       f"({detail.decode(errors='replace').strip() or e}): "
                       f"reinstall imageio-ffmpeg.") from e
    return path


@dataclass(frozen=True)
class DemoResult:
    clip: Path
    bundle: BuildResult
    report: Path


def run_demo(out_dir: Path, *, on_progress: Progress | None = None,
             force: bool = False) -> DemoResult:
    """Make the sample clip in ``out_dir``, build its bundle there and extract its report.

    Its three files (demo_clip.mp4, demo_bundle.zip, report.html) replace existing ones
    only with ``force``, and never through a symbolic link."""
    import tempfile

    from .bundle import build_bundle
    from .writing import check_new_file, write_atomically

    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a folder: choose another -o folder.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create folder {out_dir} ({e.strerror}): "
                          f"choose a folder you can write to with -o.") from e
    clip, bundle, report = (out_dir / "demo_clip.mp4", out_dir / "demo_bundle.zip",
                            out_dir / "report.html")
    for path in (clip, bundle, report):
        check_new_file(path, force=force)
    with tempfile.TemporaryDirectory(prefix=".ava-evidence-demo-", dir=out_dir) as tmp:
        made = make_demo_clip(Path(tmp) / "demo_clip.mp4")
        write_atomically(clip, lambda path: os.replace(made, path), force=force)
    result = build_bundle(
        clip, platform="kling", generation_id="demo-0001", failure="identity-coherence",
        marks=[f"0:0{DRIFT_START}=the eyes begin to move apart",
               "0:03=the eyes are clearly farther apart; the face no longer looks like the "
               "same person"],
        model="sample clip made by ava-evidence demo", prompt="A drawn face looking at the "
        "camera, steady", output=bundle, force=force, use_profile=False,
        on_progress=on_progress)
    with zipfile.ZipFile(result.path) as z:
        name = next(n for n in z.namelist() if n.endswith("/data/report.html"))
        html = z.read(name)
    write_atomically(report, lambda path: path.write_bytes(html), force=force)
    return DemoResult(clip, result, report)
