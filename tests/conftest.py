"""Shared fixtures: barcode clips of every supported kind, made once per run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ava_evidence import signals

from . import clipgen
from .clipgen import encode, remux

X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast"]
X265 = ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-preset", "ultrafast",
        "-x265-params", "log-level=error:keyint=12:min-keyint=12:bframes=3", "-tag:v", "hvc1"]


def _h264_longgop(d: Path) -> Path:
    return encode(d / "h264_longgop.mp4", 72, args=X264)


def _h264_bframes(d: Path) -> Path:
    return encode(d / "h264_bframes.mp4", 60, args=[*X264, "-g", "12", "-bf", "3",
                                                    "-sc_threshold", "0"])


def _h264_2997(d: Path) -> Path:
    return encode(d / "h264_2997.mp4", 60, rate="30000/1001", args=[*X264, "-g", "15"])


def _h264_vfr(d: Path) -> Path:
    # 1/24 s per frame, then 2/24 s for frames 24-35, then 1/24 s again.
    expr = "(N+gte(N,24)*(N-24)-gte(N,36)*(N-36))/24/TB"
    return encode(d / "h264_vfr.mp4", 60,
                  args=["-vf", f"setpts='{expr}'", "-fps_mode", "passthrough",
                        "-video_track_timescale", "24000", *X264, "-g", "20"])


def _h264_start05(d: Path) -> Path:
    src = encode(d / "start05_src.mp4", 48, args=[*X264, "-g", "12"])
    return remux(src, d / "h264_start05.mp4", after=("-output_ts_offset", "0.5"))


def _h264_editlist(d: Path) -> Path:
    src = _h264_bframes(d)
    return remux(src, d / "h264_editlist.mp4", "-ss", "0.9")


def _h264_ts(d: Path) -> Path:
    return encode(d / "h264.ts", 48, args=[*X264, "-g", "12", "-f", "mpegts"])


def _h264_rot90(d: Path) -> Path:
    src = encode(d / "rot_src.mp4", 36, width=180, height=320, rotate_stored=90,
                 args=[*X264, "-g", "12"])
    return remux(src, d / "h264_rot90.mp4", "-display_rotation", "90")


def _h264_rot270(d: Path) -> Path:
    src = encode(d / "rot270_src.mp4", 24, width=180, height=320, rotate_stored=270,
                 args=[*X264, "-g", "12"])
    return remux(src, d / "h264_rot270.mp4", "-display_rotation", "270")


def _h264_bt709_full(d: Path) -> Path:
    return encode(d / "h264_bt709_full.mp4", 24,
                  args=["-vf", "scale=out_color_matrix=bt709:out_range=full",
                        "-color_range", "pc", "-colorspace", "bt709", "-color_primaries", "bt709",
                        "-color_trc", "bt709", *X264])


def _hevc(d: Path) -> Path:
    return encode(d / "hevc.mp4", 48, args=X265)


def _vp9(d: Path) -> Path:
    return encode(d / "vp9.webm", 48, args=["-c:v", "libvpx-vp9", "-deadline", "realtime",
                                           "-cpu-used", "8", "-g", "12", "-b:v", "800k"])


def _av1(d: Path) -> Path:
    return encode(d / "av1.mkv", 36, args=["-c:v", "libsvtav1", "-preset", "12", "-g", "12",
                                          "-crf", "30", "-svtav1-params", "lp=2"])


def _prores(d: Path) -> Path:
    return encode(d / "prores.mov", 30, args=["-c:v", "prores_ks", "-profile:v", "0",
                                             "-pix_fmt", "yuv422p10le"])


def _mpeg4_avi(d: Path) -> Path:
    return encode(d / "mpeg4.avi", 48, args=["-c:v", "mpeg4", "-q:v", "3", "-g", "12", "-bf", "2"])


def _mjpeg_avi(d: Path) -> Path:
    return encode(d / "mjpeg.avi", 30, args=["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"])


def _gif(d: Path) -> Path:
    return encode(d / "anim.gif", 20, rate="10", args=["-f", "gif"])


CLIPS: dict[str, Callable[[Path], Path]] = {
    "h264_longgop": _h264_longgop,
    "h264_bframes": _h264_bframes,
    "h264_2997": _h264_2997,
    "h264_vfr": _h264_vfr,
    "h264_start05": _h264_start05,
    "h264_editlist": _h264_editlist,
    "h264_ts": _h264_ts,
    "h264_rot90": _h264_rot90,
    "h264_rot270": _h264_rot270,
    "h264_bt709_full": _h264_bt709_full,
    "hevc": _hevc,
    "vp9": _vp9,
    "av1": _av1,
    "prores": _prores,
    "mpeg4_avi": _mpeg4_avi,
    "mjpeg_avi": _mjpeg_avi,
    "gif": _gif,
}


class ClipStore:
    """Makes each clip (and its oracle) the first time a test asks for it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: dict[str, Path] = {}
        self._oracles: dict[str, clipgen.Oracle] = {}

    def path(self, name: str) -> Path:
        if name not in self._paths:
            d = self.root / name
            d.mkdir(exist_ok=True)
            self._paths[name] = CLIPS[name](d)
        return self._paths[name]

    def oracle(self, name: str) -> clipgen.Oracle:
        if name not in self._oracles:
            self._oracles[name] = clipgen.oracle(self.path(name))
        return self._oracles[name]


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> ClipStore:
    return ClipStore(tmp_path_factory.mktemp("clips"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch,
                  tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests see the user's view of errors unless they ask for --debug, and never
    touch the real user's config or cache folders."""
    monkeypatch.delenv("AVA_EVIDENCE_DEBUG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def in_tmp(tmp_path: Path) -> Path:
    """Run the test with the current directory set to a fresh temporary folder."""
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture
def handled() -> Iterator[None]:
    """The handlers main() installs (CliRunner does not call main())."""
    signals.install()
    try:
        yield
    finally:
        signals.uninstall()
