"""Index a clip once: its frame table, keyframes and facts, from packets only.

Header fields (frame count, frame rate, duration) are guesses that are often
wrong for AI-generated and re-muxed clips, so everything here is derived from
the demuxed packets of the video stream. No frame is decoded except the first,
which tells the display rotation and colour tags the way a player sees them::

    index = index_clip("clip.mp4")
    index.frame_count, index.duration, index.keyframes
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

from .errors import ClipError
from .timecode import ClipTiming, format_clock, format_seconds

DAMAGE_ERRORS = (ValueError, UnicodeError, OverflowError, IndexError, EOFError)
"""What PyAV may raise, besides its FFmpegError, on a damaged file."""

Progress = Callable[[str, int, int], None]
"""Progress callback: (stage, done, total)."""

_MAGIC_NAMES = (
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM"),
    (b"ftyp", 4, "MP4/MOV"),
    (b"moov", 4, "MP4/MOV"),
    (b"mdat", 4, "MP4/MOV"),
    (b"RIFF", 0, "AVI"),
    (b"GIF8", 0, "GIF"),
    (b"\x00\x00\x01\xba", 0, "MPEG"),
)
_IMAGE_DEMUXERS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe",
                   "jpegls_pipe", "gif_pipe", "svg_pipe", "pam_pipe", "ppm_pipe", "qoi_pipe")
_IMAGE_CODECS = ("png", "mjpeg", "webp", "bmp", "tiff", "jpeg2000", "jpegls", "svg", "qoi")
_TEXT_CODECS = ("ansi", "bintext", "xbin", "idf")
"""FFmpeg plays .txt/.nfo/.ans files as animated text art: never a clip."""


@dataclass(frozen=True)
class ClipIndex:
    """Everything known about a clip after one demux pass.

    Frames are numbered 0..N-1 in presentation order; ``frame_pts`` holds their
    presentation timestamps (stream time base) in that order.
    """

    path: Path
    file_name: str
    bytes: int
    sha256: str
    container: str
    container_long: str
    codec: str
    codec_long: str
    profile: str | None
    pix_fmt: str
    width: int
    height: int
    rotation: int
    """Degrees the frame is turned counter-clockwise for display (0, 90, 180, 270)."""
    color_space: str
    color_range: str
    time_base: Fraction
    frame_pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    """Indices of the frames that are keyframes, ascending."""
    seek_points: tuple[tuple[int, int | None, int | None], ...]
    """Where decoding can start: (first frame index it serves, keyframe packet pts,
    keyframe packet dts), ascending. Includes keyframes an edit list hides;
    (0, None, None) means "from the first packet"."""
    last_frame_duration: int
    nominal_rate: Fraction | None
    stream_index: int
    declared_frames: int
    created: str | None = None
    """The container's creation time tag (ISO 8601), as written; None when absent."""
    has_audio: bool = False

    @property
    def frame_count(self) -> int:
        return len(self.frame_pts)

    @cached_property
    def frame_times(self) -> tuple[Fraction, ...]:
        """Frame times in seconds relative to frame 0."""
        p0, tb = self.frame_pts[0], self.time_base
        return tuple((p - p0) * tb for p in self.frame_pts)

    @property
    def duration(self) -> Fraction:
        """End of the last frame, relative to frame 0."""
        return self.frame_times[-1] + self.last_frame_duration * self.time_base

    @property
    def start_time(self) -> Fraction:
        """Presentation time of frame 0 in the file's own clock."""
        return self.frame_pts[0] * self.time_base

    @property
    def fps(self) -> float:
        """Measured frame rate: frames per second of presentation time."""
        return float(self.frame_count / self.duration) if self.duration > 0 else 0.0

    @property
    def variable_rate(self) -> bool:
        """True when frame intervals differ by more than a timestamp tick."""
        pts = self.frame_pts
        gaps = {b - a for a, b in pairwise(pts)}
        return bool(gaps) and max(gaps) - min(gaps) > max(2, min(gaps) // 100)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a viewer sees it, rotation applied."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    @property
    def timing(self) -> ClipTiming:
        return ClipTiming(self.file_name, self.frame_times, self.duration, self.nominal_rate)

    def time_of(self, index: int) -> Fraction:
        return self.frame_times[index]

    def seek_point_for(self, index: int) -> int:
        """Position in :attr:`seek_points` of the nearest keyframe at or before frame ``index``."""
        from bisect import bisect_right

        return max(0, bisect_right([sp[0] for sp in self.seek_points], index) - 1)

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``clip`` object (plus a few extra facts)."""
        dw, dh = self.display_size
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "container": self.container,
            "codec": self.codec,
            "profile": self.profile,
            "pix_fmt": self.pix_fmt,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "display_width": dw,
            "display_height": dh,
            "fps": round(self.fps, 6),
            "nominal_fps": round(float(self.nominal_rate), 6) if self.nominal_rate else None,
            "variable_frame_rate": self.variable_rate,
            "duration_s": float(self.duration),
            "frame_count": self.frame_count,
            "keyframe_count": len(self.keyframes),
            "start_time_s": float(self.start_time),
            "color_space": self.color_space,
            "color_range": self.color_range,
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
            "created": self.created,
            "has_audio": self.has_audio,
        }

    def describe(self) -> list[str]:
        """Short human-readable lines for ``probe``."""
        dw, dh = self.display_size
        size = f"{self.width}x{self.height}"
        if self.rotation:
            size += f", rotated {self.rotation}° for display -> {dw}x{dh}"
        rate = f"{self.fps:.3f} fps " + ("(variable)" if self.variable_rate else "(constant)")
        if self.nominal_rate:
            rate += f", nominal {float(self.nominal_rate):.3f}"
        mib = self.bytes / (1024 * 1024)
        return [
            f"file        {self.file_name} ({mib:.2f} MiB)",
            f"container   {self.container} ({self.container_long})",
            f"video       {self.codec}" + (f" {self.profile}" if self.profile else "")
            + f", {self.pix_fmt}, {_colour_tags(self.color_space, self.color_range)}",
            f"size        {size}",
            f"frames      {self.frame_count} (f0-f{self.frame_count - 1}), "
            f"{len(self.keyframes)} keyframe{'s' if len(self.keyframes) != 1 else ''}",
            f"frame rate  {rate}",
            f"duration    {format_seconds(self.duration)} s ({format_clock(self.duration)})",
            f"sha256      {self.sha256}",
        ]


def interrupted(error: BaseException) -> None:
    """Re-raise Ctrl-C that FFmpeg turned into an 'exit requested' error while it read."""
    import av

    if isinstance(error, av.error.ExitError):
        raise KeyboardInterrupt from error


def check_readable(path: Path) -> os.stat_result:
    """Fail early, with a useful message, on paths that cannot be a clip."""
    name = path.name or str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ClipError(f"{path}: no such file: check the path of the downloaded clip.") from None
    except PermissionError:
        raise ClipError(f"{name} cannot be read (permission denied): "
                        f"fix its permissions or copy it somewhere readable.") from None
    except OSError as e:
        raise ClipError(f"{name} cannot be read ({e.strerror}): check the path.") from None
    if stat.S_ISDIR(st.st_mode):
        raise ClipError(f"{name} is a folder, not a video file: give the path of the clip itself.")
    if not stat.S_ISREG(st.st_mode):
        raise ClipError(f"{name} is not a regular file: give the path of a downloaded clip.")
    if not os.access(path, os.R_OK):
        raise ClipError(f"{name} cannot be read (permission denied): "
                        f"fix its permissions or copy it somewhere readable.")
    if st.st_size == 0:
        raise ClipError(f"{name} is empty (0 bytes): the download did not finish; "
                        f"download the clip again.")
    return st


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return None
    for magic, offset, kind in _MAGIC_NAMES:
        if head[offset:offset + len(magic)] == magic:
            return kind
    return None


def _unreadable(path: Path, detail: str = "") -> ClipError:
    """The error for a file the demuxer rejects; ``detail`` says what was seen, if useful."""
    kind = _sniff(path)
    more = f" ({detail})" if detail else ""
    if kind:
        return ClipError(f"{path.name} looks like {kind} but is truncated or damaged{more}: "
                         f"download the clip again.")
    return ClipError(f"{path.name} is not a video file that can be read{more}: "
                     f"give the clip exactly as downloaded from the platform.")


class _Beside(threading.Thread):
    """Runs ``fn`` beside the demux pass: hashing and decoding release the GIL."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:  # handed to the caller by result()
            self._error = e

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _colour_tags(space: str, rng: str) -> str:
    """How the colour tags read in ``probe``; untagged clips are shown as players treat them."""
    if space == "unknown" and rng == "unknown":
        return "colour untagged (shown as BT.709/BT.601 by size, limited range)"
    return f"{space}/{rng} range"


def _container_name(fmt_name: str, path: Path, metadata: dict[str, str]) -> str:
    names = fmt_name.split(",")
    if "mp4" in names:
        if metadata.get("major_brand", "").strip() == "qt":
            return "mov"
        return "mov" if path.suffix.lower() == ".mov" else "mp4"
    if "matroska" in names:
        return "webm" if path.suffix.lower() == ".webm" else "matroska"
    ext = path.suffix.lower().lstrip(".")
    return ext if ext in names else names[0]


def _norm_rotation(degrees: float) -> int:
    return round(degrees / 90.0) % 4 * 90


_COLOR_SPACES = {0: "rgb", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                 8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 14: "ictcp"}
_COLOR_RANGES = {1: "tv", 2: "pc"}


def _color_space_name(value: int | None) -> str:
    """ffmpeg's name for an AVColorSpace, 'unknown' when untagged."""
    return _COLOR_SPACES.get(int(value or 2), "unknown")


def _color_range_name(value: int | None) -> str:
    """'tv' (limited), 'pc' (full) or 'unknown' when untagged."""
    return _COLOR_RANGES.get(int(value or 0), "unknown")


def index_clip(path: str | os.PathLike[str], *, on_progress: Progress | None = None) -> ClipIndex:
    """Demux the clip once (no decode beyond its first frame) and build its frame table."""
    import av

    p = Path(path)
    st = check_readable(p)
    hashing = _Beside(lambda: _sha256(p))
    first_frame = _Beside(lambda: _first_frame_facts(p))
    try:
        try:
            container = av.open(str(p), metadata_errors="ignore")
        except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
            interrupted(e)
            raise _unreadable(p) from e
        except OSError as e:
            raise ClipError(f"{p.name} cannot be opened ({e.strerror or e}): "
                            f"check the file.") from e
        try:
            return _build_index(container, p, st, hashing, first_frame, on_progress)
        finally:
            container.close()
    finally:
        hashing.join()
        first_frame.join()


def _av_message(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).strip().rstrip(".")


def _build_index(container: Any, p: Path, st: os.stat_result, hashing: _Beside,
                 first_frame: _Beside, on_progress: Progress | None) -> ClipIndex:
    import av

    fmt_name = container.format.name
    if not container.streams.video:
        if container.streams.audio:
            raise ClipError(f"{p.name} has no video, only audio: give the video file "
                            f"you downloaded, not its soundtrack.")
        raise _unreadable(p, "no video stream")
    stream = container.streams.video[0]
    codec = stream.codec_context
    if codec.name in _TEXT_CODECS:
        raise ClipError(f"{p.name} is a text file, not a video: give the clip exactly as "
                        f"downloaded from the platform.")
    if fmt_name in _IMAGE_DEMUXERS or (codec.name in _IMAGE_CODECS and fmt_name.endswith("_pipe")):
        raise ClipError(f"{p.name} is a still image ({codec.name}), not a video: "
                        f"give the clip itself.")
    if stream.time_base is None:
        raise _unreadable(p, "video stream without a time base")
    time_base = Fraction(stream.time_base.numerator, stream.time_base.denominator)

    shown: list[tuple[int, int]] = []  # (pts, duration) of every packet that becomes a frame
    keys: list[tuple[int, int | None]] = []  # (pts, dts) of keyframe packets
    total = st.st_size
    step = max(total // 100, 1)
    next_report = 0
    read = 0  # non-empty packets, discarded ones included
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            read += 1
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                raise _unreadable(p, "video packets carry no timestamps")
            if packet.is_keyframe:
                keys.append((ts, packet.dts))
            if packet.is_discard:
                continue  # decoded as a reference only; an edit list hides it
            shown.append((ts, packet.duration or 0))
            if on_progress is not None and packet.pos is not None and packet.pos >= next_report:
                on_progress("index", min(packet.pos, total), total)
                next_report = packet.pos + step
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        interrupted(e)
        if not shown:
            raise _unreadable(p, _av_message(e)) from e
        raise _unreadable(p, f"stops after {len(shown)} frames: {_av_message(e)}") from e
    if not shown:
        raise _unreadable(p, "its video stream holds no frames")
    declared = stream.frames or 0
    if "mp4" in fmt_name.split(",") and declared and read < declared:
        raise ClipError(f"{p.name} is incomplete: it declares {declared} frames but only "
                        f"{len(shown)} can be read: download the clip again.")

    shown.sort()
    frame_pts = tuple(t for t, _ in shown)
    pts_set = {t: i for i, t in enumerate(frame_pts)}
    keyframes = tuple(sorted({pts_set[ts] for ts, _ in keys if ts in pts_set}))
    # A keyframe hidden by an edit list still serves the frames shown after it.
    seeks: dict[int, tuple[int, int | None]] = {}
    for ts, dts in sorted(keys):
        seeks[bisect_left(frame_pts, ts)] = (ts, dts)
    seek_points: tuple[tuple[int, int | None, int | None], ...] = tuple(
        (i, ts, dts) for i, (ts, dts) in sorted(seeks.items()) if i < len(frame_pts))
    if not seek_points or seek_points[0][0] != 0:
        # Frames before the first keyframe: only a decode from the very start can show them.
        seek_points = ((0, None, None), *seek_points)
    if len(frame_pts) > 1:
        gaps = sorted(b - a for a, b in pairwise(frame_pts))
        typical = gaps[len(gaps) // 2]
    else:
        typical = 0
    last_duration = shown[-1][1] or typical
    if not last_duration:
        rate = stream.average_rate or stream.guessed_rate
        per_frame = 1 / (Fraction(rate.numerator, rate.denominator) * time_base) if rate else 1
        last_duration = max(1, round(per_frame))

    rotation, color_space, color_range, pix_fmt = first_frame.result()
    try:
        sha256 = hashing.result()
    except OSError as e:
        raise ClipError(f"{p.name} could not be read to the end ({e.strerror}): "
                        f"check the file.") from e
    if on_progress is not None:
        on_progress("index", total, total)
    nominal = stream.guessed_rate or stream.average_rate or stream.base_rate
    return ClipIndex(
        path=p,
        file_name=p.name,
        bytes=st.st_size,
        sha256=sha256,
        container=_container_name(fmt_name, p, dict(container.metadata)),
        container_long=container.format.long_name,
        codec=getattr(codec.codec, "canonical_name", None) or codec.name,
        codec_long=codec.codec.long_name,
        profile=codec.profile or None,
        pix_fmt=pix_fmt or (codec.pix_fmt or "unknown"),
        width=codec.width,
        height=codec.height,
        rotation=rotation,
        color_space=color_space,
        color_range=color_range,
        time_base=time_base,
        frame_pts=frame_pts,
        keyframes=keyframes,
        seek_points=seek_points,
        last_frame_duration=last_duration,
        nominal_rate=Fraction(nominal.numerator, nominal.denominator) if nominal else None,
        stream_index=stream.index,
        declared_frames=declared,
        created=dict(container.metadata).get("creation_time"),
        has_audio=bool(container.streams.audio),
    )


def _first_frame_facts(p: Path) -> tuple[int, str, str, str]:
    """Decode frames from the start until one comes out: rotation and colour tags
    are only exposed on decoded frames."""
    import av

    try:
        with av.open(str(p), metadata_errors="ignore") as c:
            s = c.streams.video[0]
            for frame in c.decode(s):
                return (_norm_rotation(getattr(frame, "rotation", 0) or 0),
                        _color_space_name(frame.colorspace), _color_range_name(frame.color_range),
                        frame.format.name)
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        interrupted(e)
        raise _unreadable(p, "its first frame cannot be decoded") from e
    raise _unreadable(p, "none of its frames can be decoded")
