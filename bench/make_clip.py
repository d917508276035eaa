"""Make a sample clip with the ffmpeg that imageio-ffmpeg ships (no system ffmpeg needed).

    python bench/make_clip.py sample.mp4                 # 5 s, 640x360, 24 fps, H.264
    python bench/make_clip.py big.mp4 --seconds 60 --size 1920x1080
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path


def make_clip(path: Path, *, seconds: float = 5, size: str = "640x360", rate: str = "24",
              preset: str | None = None) -> Path:
    """Encode ffmpeg's moving test pattern with x264 defaults (one long GOP)."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
           "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
           "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    if preset:
        cmd += ["-preset", preset]
    subprocess.run([*cmd, str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--rate", default="24")
    args = parser.parse_args()
    make_clip(args.path, seconds=args.seconds, size=args.size, rate=args.rate)
    print(args.path)


if __name__ == "__main__":
    main()
