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


def face_frame(t: float, drift_start: float | None = DRIFT_START,
               shift: int = 0) -> np.ndarray:
    """One frame of the sample: a face, its eyes drifting apart after ``drift_start``
    (never when it is None); ``shift`` moves the face sideways."""
    import numpy as np
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), (58, 74, 96))
    d = ImageDraw.Draw(img)
    cx, cy = WIDTH // 2 + shift + int(12 * np.sin(t * 1.3)), HEIGHT // 2 + 10
    d.ellipse((cx - 95, cy - 125, cx + 95, cy + 125), fill=(233, 196, 160))
    d.pieslice((cx - 100, cy - 140, cx + 100, cy + 10), 180, 360, fill=(60, 40, 30))
    since = 0.0 if drift_start is None else max(0.0, t - drift_start)
    drift = since * 26
    spacing = 38 + drift
    for side in (-1, 1):
        ex, ey = cx + side * spacing, cy - 20 - side * drift * 0.15
        d.ellipse((ex - 16, ey - 10, ex + 16, ey + 10), fill=(250, 250, 250))
        d.ellipse((ex - 6, ey - 6, ex + 6, ey + 6), fill=(40, 60, 90))
    jaw = 1.0 + since * 0.06
    d.arc((cx - 36, cy + 40, cx + 36, cy + 40 + 30 * jaw), 10, 170, fill=(150, 60, 60), width=4)
    d.polygon([(cx, cy - 5), (cx - 10, cy + 25), (cx + 10, cy + 25)], fill=(215, 170, 135))
    return np.asarray(img)


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
