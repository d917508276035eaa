"""Index a clip once: its frame table, keyframes and facts, from packets only.

Header fields (frame count, frame rate, duration) are guesses that are often
wrong for AI-generated and re-muxed clips, so everything here is derived from
the demuxed packets of the video stream. No frame is decoded except the first,
which tells the display rotation and colour tags the way a player sees them::

    index = index_clip("clip.mp4")
    index.frame_count, index.duration, index.keyframes
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
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
_GUESSED_PTS_FORMATS = ("avi", "m4v", "h264", "hevc", "mpegvideo", "h263", "cavsvideo", "vc1")
"""Containers that store no presentation times: FFmpeg guesses them from the frame
types, and with packed B-frames (DivX, Xvid) it guesses wrong."""
_TEXT_CODECS = ("ansi", "bintext", "xbin", "idf")
"""FFmpeg plays .txt/.nfo/.ans files as animated text art: never a clip."""


@dataclass(frozen=True)
class Truncation:
    """How a clip that ends before its own declared end was found out, and what is missing."""

    end_s: float
    """Where the clip's decodable frames end, relative to frame 0."""
    missing_s: float | None
    """Seconds missing from the end; None when the container cannot tell (MPEG-TS)."""
    declared_s: float | None = None
    """The duration the file declares (Matroska/WebM)."""
    listed_past_end: int = 0
    """Frames the file lists that lie past its end (fragmented MP4)."""
    declared_frames: int = 0
    """Frames an MP4 declares, where fewer can be read (``read_frames``)."""
    read_frames: int = 0
    at_least: bool = False
    """The file cannot tell how much follows what it lists (fragmented MP4)."""

    @property
    def reason(self) -> str:
        if self.declared_frames:
            return (f"it declares {self.declared_frames} frames but only {self.read_frames} "
                    f"can be read")
        if self.listed_past_end:
            n = self.listed_past_end
            verb = "lies" if n == 1 else "lie"
            return f"{n} of the frames it lists {verb} past the end of the file"
        if self.declared_s is not None:
            return (f"it declares {format_seconds(self.declared_s)} s but its frames end at "
                    f"{format_seconds(self.end_s)} s")
        return "it ends inside an MPEG-TS packet (the format declares no duration)"

    def ending_at(self, end: Fraction, old_end: Fraction, frames: int) -> Truncation:
        """The same truncation once the frames after ``end`` are left out too, ``frames``
        remaining."""
        import dataclasses

        dropped = float(old_end - end)
        return dataclasses.replace(
            self, end_s=round(float(end), 6), read_frames=frames if self.read_frames else 0,
            missing_s=None if self.missing_s is None else round(self.missing_s + dropped, 6))

    def missing_text(self) -> str:
        if self.missing_s is None:
            return "how much is missing cannot be told"
        least = "at least " if self.at_least else ""
        return f"{least}{self.missing_s:.3f} s is missing"

    def error(self, name: str) -> ClipError:
        return ClipError(f"{name} is truncated: {self.reason}, so {self.missing_text()}: "
                         f"download the clip again, or add --allow-truncated to build from the "
                         f"frames that are there.")

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "missing_s": self.missing_s,
                "missing_at_least": self.at_least}


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
    truncation: Truncation | None = None
    """Set when the file ends before its own declared end (a download that stopped)."""
    orientation: tuple[str, ...] = ()
    """How the stored frame is turned and flipped for display, as ffmpeg does from the
    display matrix: 'cclock', 'clock', 'cclock_flip', 'clock_flip' (transposes),
    'hflip', 'vflip'; applied in order."""
    sample_aspect: Fraction | None = None
    """The pixels' width-to-height ratio when it is not 1 (anamorphic video, DV at 10:11):
    stills are scaled in width to show what a player shows."""
    bit_depth: int = 8
    """Bits per colour component of the decoded frames: over 8, stills are 16-bit PNG."""
    video_streams: int = 1
    """How many video streams the file has (cover art left out); ``stream_index`` is the one
    used: the one flagged default, the largest of those."""
    source: Path | None = None
    """The file given, when PyAV's FFmpeg cannot decode it (an animated WebP): ``path`` is
    then a lossless copy of its frames that the ffmpeg program made, with their times."""
    decoder_order: bool = False
    """Frames are told apart by the order the decoder gives them, not by their
    timestamps: the clip has frames that share a timestamp, or timestamps FFmpeg
    had to guess (AVI with B-frames). Such a clip is always decoded from its
    start, as ffmpeg plays it."""
    created: str | None = None
    """The container's creation time tag (ISO 8601), as written; None when absent."""
    has_audio: bool = False
    sound_end: Fraction | None = None
    """Where the sound ends, relative to frame 0, where it runs on past the picture's end
    (a player holds the last frame until then); None otherwise."""

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
        """(width, height) as a viewer sees it: pixel aspect and rotation applied."""
        width = display_width(self.width, self.sample_aspect)
        if any(op.endswith(("clock", "clock_flip")) for op in self.orientation):
            return self.height, width
        return width, self.height

    @property
    def mirrored(self) -> bool:
        """The display matrix mirrors the picture (besides any rotation)."""
        return self.orientation in (("cclock_flip",), ("clock_flip",), ("hflip",), ("vflip",))

    @property
    def timing(self) -> ClipTiming:
        return ClipTiming(self.file_name, self.frame_times, self.duration, self.nominal_rate,
                          self.sound_end)

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
            "bit_depth": self.bit_depth,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "mirrored": self.mirrored,
            "sample_aspect_ratio": (f"{self.sample_aspect.numerator}:"
                                    f"{self.sample_aspect.denominator}"
                                    if self.sample_aspect else "1:1"),
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
            "stream_index": self.stream_index,
            "video_streams": self.video_streams,
            "truncated": self.truncation is not None,
            "missing_s": self.truncation.missing_s if self.truncation else None,
            "created": self.created,
            "has_audio": self.has_audio,
            "sound_end_s": None if self.sound_end is None else float(self.sound_end),
        }

    def describe(self) -> list[str]:
        """Short human-readable lines for ``probe``."""
        dw, dh = self.display_size
        size = f"{self.width}x{self.height}"
        shown = []
        if self.sample_aspect:
            shown.append(f"pixels {self.sample_aspect.numerator}:{self.sample_aspect.denominator}")
        if self.rotation:
            shown.append(f"rotated {self.rotation}°")
        if self.mirrored:
            shown.append("mirrored")
        if shown:
            size += f", {' and '.join(shown)} for display -> {dw}x{dh}"
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
            *([f"stream      video stream #{self.stream_index} of {self.video_streams} "
               f"(the one flagged default; the others are not used)"]
              if self.video_streams > 1 else []),
            f"frames      {self.frame_count} (f0-f{self.frame_count - 1}), "
            f"{len(self.keyframes)} keyframe{'s' if len(self.keyframes) != 1 else ''}",
            f"frame rate  {rate}",
            f"duration    {format_seconds(self.duration)} s ({format_clock(self.duration)})",
            *([f"sound       runs on to {format_seconds(self.sound_end)} s, past the "
               f"picture's end: a player holds the last frame until then"]
              if self.sound_end is not None else []),
            f"sha256      {self.sha256}",
        ] + ([f"truncated   {self.truncation.reason}, so {self.truncation.missing_text()}"]
             if self.truncation else [])


def interrupted(error: BaseException) -> None:
    """Re-raise Ctrl-C that FFmpeg turned into an 'exit requested' error while it read."""
    import av

    if isinstance(error, av.error.ExitError):
        raise KeyboardInterrupt from error


class _OtherDecoder(Exception):
    """PyAV's FFmpeg has no decoder for this video; the ffmpeg program may have one."""


def _animated_webp(path: Path) -> bool:
    """A WebP file with the animation flag (VP8X) or an ANIM chunk."""
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError:
        return False
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return False
    return (head[12:16] == b"VP8X" and bool(head[20] & 0x02)) or b"ANIM" in head


_DECODED_COPIES: list[str] = []


def _remove_decoded_copies() -> None:
    import shutil

    while _DECODED_COPIES:
        shutil.rmtree(_DECODED_COPIES.pop(), ignore_errors=True)


def _decoded_by_ffmpeg(p: Path) -> tuple[Path, str]:
    """Decode a clip with the ffmpeg program into a lossless FFV1 copy of its frames
    (times kept); return the copy and the codec's name. Raise ClipError naming the
    codec when the program cannot decode it either."""
    import atexit
    import re
    import subprocess
    import tempfile

    import imageio_ffmpeg

    folder = tempfile.mkdtemp(prefix="ava-evidence-decoded-")
    if not _DECODED_COPIES:
        atexit.register(_remove_decoded_copies)
    _DECODED_COPIES.append(folder)
    copy = Path(folder) / "frames.mkv"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", _url(p),
           "-map", "0:v:0", "-c:v", "ffv1", "-fps_mode", "passthrough", "-f", "matroska",
           str(copy)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ClipError(f"{p.name} could not be decoded with ffmpeg ({e}): "
                        f"convert it to MP4 and give that file.") from e
    m = re.search(r"Stream #0:\d+\S*: Video: ([^,\n]+)", proc.stderr)
    described = m[1].strip() if m else "none"
    codec = described.split()[0]
    if proc.returncode != 0 or not copy.is_file() or copy.stat().st_size == 0:
        if codec == "none":
            tag = re.search(r"\((\S{1,4}) / 0x", described)
            kind = (f"video in a format FFmpeg does not know (codec tag '{tag[1]}')" if tag
                    else "video in a format FFmpeg does not know")
            raise ClipError(f"{p.name} holds {kind}: convert it to MP4 (H.264) with the "
                            f"program that made it, and give that file.")
        raise ClipError(f"{p.name} holds {codec} video, which no decoder here can read: "
                        f"convert it to MP4 (H.264) with a program that reads {codec}, and "
                        f"give that file.")
    return copy, codec


def _url(path: Path) -> str:
    """What FFmpeg is given to open a clip: always the file itself. A bare path
    would be read as a URL when it looks like one ('clip12:30.mp4' names the
    protocol 'clip12', 'file:other.mp4' the file 'other.mp4')."""
    return "file:" + os.path.abspath(path)


clip_url = _url


def check_readable(path: Path) -> os.stat_result:
    """Fail early, with a useful message, on paths that cannot be a clip."""
    name = path.name or str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        if re.match(r"(https?|ftp)s?:/", str(path), re.IGNORECASE):  # a path folds its '//'
            raise ClipError(f"{str(path).replace(':/', '://', 1)} is a web address: download "
                            f"the clip first and give the file.") from None
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
        with contextlib.suppress(OSError), path.open("rb") as f:
            if f.read(1):  # /proc and /sys files say 0 bytes but are not empty
                raise ClipError(f"{name} is a special system file, not a video: give the "
                                f"path of a downloaded clip.")
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


def _sha256(path: Path, stop: threading.Event | None = None) -> str | None:
    """The file's SHA-256; None when ``stop`` is set first (the clip was refused)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if stop is not None and stop.is_set():
                return None
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


def index_clip(path: str | os.PathLike[str], *, on_progress: Progress | None = None,
               allow_truncated: bool = False) -> ClipIndex:
    """Demux the clip once (no decode beyond its first frame) and build its frame table.

    An MP4 whose sample table lists more frames than it holds is refused unless
    ``allow_truncated``; other truncation is recorded in ``ClipIndex.truncation``
    for the caller to act on."""
    import av

    p = Path(path)
    st = check_readable(p)
    stop = threading.Event()  # set when the clip is refused: a big file is not hashed for nothing
    hashing = _Beside(lambda: _sha256(p, stop))
    first_frame = _Beside(lambda: _first_frame_facts(p))
    try:
        try:
            container = av.open(_url(p), metadata_errors="ignore")
        except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
            interrupted(e)
            raise _unreadable(p) from e
        except OSError as e:
            raise ClipError(f"{p.name} cannot be opened ({e.strerror or e}): "
                            f"check the file.") from e
        try:
            index = _build_index(container, p, st, hashing, first_frame, on_progress,
                                 allow_truncated)
        except _OtherDecoder:
            return _index_decoded_copy(p, st, hashing, on_progress,
                                       container.format.long_name)
        finally:
            container.close()
        return _without_undecodable_end(index) if index.truncation else index
    except BaseException:
        stop.set()
        raise
    finally:
        hashing.join()
        first_frame.join()


def _index_decoded_copy(p: Path, st: os.stat_result, hashing: _Beside,
                        on_progress: Progress | None, container_long: str) -> ClipIndex:
    """Index a clip PyAV cannot decode through the ffmpeg program's lossless copy of it;
    the facts of the file itself (name, size, hash, codec) are kept."""
    import dataclasses

    copy, codec = _decoded_by_ffmpeg(p)
    index = index_clip(copy, on_progress=on_progress)
    try:
        sha256 = hashing.result()
    except OSError as e:
        raise ClipError(f"{p.name} could not be read to the end ({e.strerror}): "
                        f"check the file.") from e
    kind = _sniff(p)
    return dataclasses.replace(
        index, file_name=p.name, bytes=st.st_size, sha256=sha256, source=p, codec=codec,
        codec_long=f"{codec} (decoded by the ffmpeg program)",
        container=p.suffix.lower().lstrip(".") or (kind or "unknown").lower(),
        container_long=container_long)


def _without_undecodable_end(index: ClipIndex) -> ClipIndex:
    """A truncated clip without the frames at its end that cannot be decoded (the
    download stopped inside them): its last keyframe's run is decoded to see."""
    import dataclasses

    from .decode import decodable_end

    count = decodable_end(index)
    if count == index.frame_count:
        return index
    if count == 0:
        raise _unreadable(index.path, "none of its frames can be decoded")
    frame_pts = index.frame_pts[:count]
    gaps = sorted(b - a for a, b in pairwise(frame_pts))
    trimmed = dataclasses.replace(
        index, frame_pts=frame_pts,
        last_frame_duration=gaps[len(gaps) // 2] if gaps else index.last_frame_duration,
        keyframes=tuple(k for k in index.keyframes if k < count),
        seek_points=tuple(sp for sp in index.seek_points if sp[0] < count))
    assert index.truncation is not None
    return dataclasses.replace(trimmed, truncation=index.truncation.ending_at(
        trimmed.duration, index.duration, count))


def _before_the_cut(shown: list[tuple[int, int]], last: tuple[int, int] | None,
                    last_dts: int | None, lead: int) -> list[tuple[int, int]]:
    """The frames of a cut download (``shown``: (pts, duration) in presentation order)
    that can be numbered as the whole clip numbers them. The packet the download stopped
    in (``last``) may be cut short: it is never shown. Nor is a frame shown after a frame
    not read. Every frame not read is decoded after ``last_dts``, so shown after
    ``last_dts`` + ``lead`` (the least any frame is shown after it is decoded): frames shown
    by then are kept, and after them, at one frame rate, each next frame not a step later
    (no frame is missing before it). A B-frame is stored after the later frame it refers
    to: kept after a gap, that later frame would take the missing B-frame's number."""
    from itertools import pairwise

    kept = list(shown)
    if last in kept:
        kept.remove(last)
    if last_dts is None:
        return kept or shown[:1]
    safe = [s for s in kept if s[0] <= last_dts + lead]
    steps = [b[0] - a[0] for a, b in pairwise(safe)]
    # one frame rate: its steps differ by a tick at most (24 fps in milliseconds: 41, 42)
    if steps and max(steps) - min(steps) <= max(1, max(steps) // 50):
        for s in kept[len(safe):]:
            if not min(steps) <= s[0] - safe[-1][0] <= max(steps):
                break
            safe.append(s)
    return safe or shown[:1]


def _av_message(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).strip().rstrip(".")


def _build_index(container: Any, p: Path, st: os.stat_result, hashing: _Beside,
                 first_frame: _Beside, on_progress: Progress | None,
                 allow_truncated: bool = False) -> ClipIndex:
    import av

    fmt_name = container.format.name
    stream, count = choose_video_stream(container)
    if stream is None:
        if container.streams.audio:
            raise ClipError(f"{p.name} has no video, only audio"
                            f"{' and its cover picture' if container.streams.video else ''}: "
                            f"give the video file you downloaded, not its soundtrack.")
        raise _unreadable(p, "no video stream")
    codec = stream.codec_context
    if codec is None or (fmt_name == "webp_pipe" and _animated_webp(p)):
        raise _OtherDecoder
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
    last: tuple[int, int] | None = None  # the last packet read, when it becomes a frame
    last_dts: int | None = None  # and when it is decoded
    reordered = False  # some packet is shown at another time than it is decoded
    latest: int | None = None  # the latest pts read so far
    out_of_order = False  # some packet is shown before one read earlier (a B-frame)
    lead: int | None = None  # the least pts - dts read: how soon a frame is shown
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            read += 1
            ts = packet.pts if packet.pts is not None else packet.dts
            reordered = reordered or (packet.dts is not None and ts != packet.dts)
            if ts is None:
                raise _unreadable(p, "video packets carry no timestamps")
            out_of_order = out_of_order or (latest is not None and ts < latest)
            latest = ts if latest is None else max(latest, ts)
            if packet.dts is not None:
                lead = ts - packet.dts if lead is None else min(lead, ts - packet.dts)
            if packet.is_keyframe:
                keys.append((ts, packet.dts))
            last, last_dts = None, packet.dts
            if packet.is_discard:
                continue  # decoded as a reference only; an edit list hides it
            last = (ts, packet.duration or 0)
            shown.append(last)
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
    mp4_cut = "mp4" in fmt_name.split(",") and declared and read < declared

    shown.sort()
    last_duration = _last_duration(shown, stream, time_base)
    frame_end = (shown[-1][0] - shown[0][0] + last_duration) * time_base
    if mp4_cut:
        truncation: Truncation | None = Truncation(
            round(float(frame_end), 6), round(float((declared - read) * last_duration
                                                    * time_base), 6),
            declared_frames=declared, read_frames=len(shown))
    else:
        truncation = find_truncation(container, stream, fmt_name, st.st_size, frame_end,
                                     shown[0][0] * time_base, last_duration * time_base, read)
    if truncation is not None and len(shown) > 1:
        # no B-frame read yet: those to come may be shown sooner after decoding than any read
        shown = _before_the_cut(shown, last, last_dts,
                                max(0, lead or 0) if out_of_order else 0)
        last_duration = _last_duration(shown, stream, time_base)
    if mp4_cut and not allow_truncated:
        raise ClipError(f"{p.name} is incomplete: it declares {declared} frames but only "
                        f"{len(shown)} can be read: download the clip again.")
    frame_pts = tuple(t for t, _ in shown)
    decoder_order = (len(set(frame_pts)) != len(frame_pts)
                     or (reordered and fmt_name.split(",")[0] in _GUESSED_PTS_FORMATS))
    first_pts = first_frame.result()[-1]
    if not decoder_order and first_pts in frame_pts[1:]:
        # A file that starts mid-GOP (a cut MPEG-TS): the frames before the first one the
        # decoder gives have no reference to decode from; ffmpeg does not show them either.
        frame_pts = frame_pts[frame_pts.index(first_pts):]
    if decoder_order:
        frame_pts, keyframes = _decoder_order_table(p, stream.index, frame_pts)
        seek_points: tuple[tuple[int, int | None, int | None], ...] = ((0, None, None),)
    else:
        keyframes, seek_points = _seek_table(frame_pts, keys)
    if truncation is not None:
        truncation = truncation.ending_at((frame_pts[-1] - frame_pts[0] + last_duration)
                                          * time_base, frame_end, len(frame_pts))
    (rotation, color_space, color_range, pix_fmt, orientation, aspect, depth,
     first_pts) = first_frame.result()
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
        truncation=truncation,
        decoder_order=decoder_order,
        orientation=orientation,
        sample_aspect=aspect,
        bit_depth=depth,
        video_streams=count,
        created=dict(container.metadata).get("creation_time"),
        has_audio=bool(container.streams.audio),
        sound_end=_sound_end(container, frame_pts[0] * time_base,
                             (frame_pts[-1] - frame_pts[0] + last_duration) * time_base),
    )


SOUND_PAST = Fraction(1, 4)
"""Sound running on past the picture by more than this is said (a player shows the last
frame for that long); less is an encoder's usual padding."""


def _sound_end(container: Any, first: Fraction, picture_end: Fraction) -> Fraction | None:
    """Where the first sound stream ends, relative to the first frame (at ``first`` in the
    file's clock), when it runs on past the picture's end by more than SOUND_PAST."""
    if not container.streams.audio:
        return None
    a = container.streams.audio[0]
    if a.duration is None or a.time_base is None:
        return None
    end = ((a.start_time or 0) + a.duration) * Fraction(a.time_base) - first
    return end if end > picture_end + SOUND_PAST else None


_TS_PACKET_SIZES = (188, 192, 204)


def find_truncation(container: Any, stream: Any, fmt_name: str, size: int, frame_end: Fraction,
                    start: Fraction, frame_duration: Fraction, read: int = 0
                    ) -> Truncation | None:
    """Whether the file ends before its own declared end, as a download that stopped does.

    ``frame_end`` is where the frames end relative to frame 0, which is at ``start``
    in the file's clock. Matroska/WebM declare their duration (per track, or for
    the whole file); fragmented MP4 lists each fragment's frames, so frames
    listed past the end of the file are missing; MPEG-TS declares nothing, but is
    made of packets of a fixed size, and a file that ends inside one was cut.
    """
    names = fmt_name.split(",")
    end = round(float(frame_end), 6)
    if "matroska" in names:
        track = _clock_seconds(dict(stream.metadata).get("DURATION")
                               or dict(stream.metadata).get("duration"))
        if track is not None:
            declared, slack = track, frame_duration * 3 / 4
        elif container.duration:
            # The whole file's duration also covers its audio: allow for a longer soundtrack.
            declared = Fraction(container.duration, 1_000_000)
            slack = max(Fraction(1), 2 * frame_duration)
        else:
            return None  # a live recording declares no duration
        declared -= start  # Matroska clocks start at 0; frame times count from frame 0
        missing = declared - frame_end
        if missing > slack:
            return Truncation(end, round(float(missing), 6), declared_s=float(declared))
        return None
    if "mpegts" in names:
        if all(size % n for n in _TS_PACKET_SIZES):
            return Truncation(end, None)
        return None
    if "mp4" in names:
        entries = getattr(stream, "index_entries", None) or ()
        last = entries[max(0, len(entries) - 64):] if entries else []
        if len(entries) <= read and not any(e.pos + e.size > size for e in last):
            return None  # every frame it lists was read whole: no pass over all of them
        beyond = sum(1 for e in entries if e.pos + e.size > size)
        if beyond:
            fragmented = not stream.frames or stream.frames < len(entries)
            # one begun before the end was read in part: it is left out (_before_the_cut),
            # and counted then
            unread = sum(1 for e in entries if e.pos >= size)
            return Truncation(end, round(float(unread * frame_duration), 6),
                              listed_past_end=beyond, at_least=bool(fragmented))
    return None


def _clock_seconds(text: str | None) -> Fraction | None:
    """Seconds of a Matroska DURATION tag such as '00:00:04.000000000'."""
    import re

    m = re.fullmatch(r"\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)\s*", text or "")
    if not m:
        return None
    return (int(m[1]) * 60 + int(m[2])) * 60 + Fraction(m[3])


def _last_duration(shown: list[tuple[int, int]], stream: Any, time_base: Fraction) -> int:
    """Duration of the last frame (sorted ``shown``): its packet's, else the typical gap,
    else one frame at the stream's rate."""
    if len(shown) > 1:
        gaps = sorted(b[0] - a[0] for a, b in pairwise(shown))
        typical = gaps[len(gaps) // 2]
    else:
        typical = 0
    last_duration = shown[-1][1] or typical
    if not last_duration:
        rate = stream.average_rate or stream.guessed_rate
        per_frame = 1 / (Fraction(rate.numerator, rate.denominator) * time_base) if rate else 1
        last_duration = max(1, round(per_frame))
    return int(last_duration)


def _seek_table(frame_pts: tuple[int, ...], keys: list[tuple[int, int | None]]
                ) -> tuple[tuple[int, ...], tuple[tuple[int, int | None, int | None], ...]]:
    """Keyframe indices and seek points of a clip whose frames have unique timestamps."""
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
    return keyframes, seek_points


def _decoder_order_table(p: Path, stream_index: int, packet_pts: tuple[int, ...]
                         ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Frame times and keyframes of a clip whose frames are told apart by decoder order.

    The decoder's own output is the frame table, as ffmpeg shows it: one decode
    pass. When it gives one frame per packet, the frames take the packets' times
    in ascending order (the times are right, only their order was guessed);
    otherwise each frame takes FFmpeg's best-effort timestamp, never earlier
    than the frame before.
    """
    import av

    decoded: list[tuple[int | None, int | None, bool]] = []
    try:
        with av.open(_url(p), metadata_errors="ignore") as c:
            s = c.streams[stream_index]
            s.thread_type = "AUTO"
            for frame in c.decode(s):
                decoded.append((frame.pts, frame.dts, bool(frame.key_frame)))
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        interrupted(e)
        if not decoded:
            raise _unreadable(p, "its first frame cannot be decoded") from e
        raise _unreadable(p, f"stops after {len(decoded)} frames: {_av_message(e)}") from e
    if not decoded:
        raise _unreadable(p, "none of its frames can be decoded")
    keyframes = tuple(i for i, (_, _, key) in enumerate(decoded) if key) or (0,)
    if len(decoded) == len(packet_pts):
        return packet_pts, keyframes
    return _best_effort([(pts, dts) for pts, dts, _ in decoded]), keyframes


def _best_effort(stamps: list[tuple[int | None, int | None]]) -> tuple[int, ...]:
    """FFmpeg's best-effort timestamps of decoded frames (libavcodec's
    guess_correct_pts: pts unless it went backwards more often than dts), held
    non-decreasing, with a missing one extrapolated from the frame before."""
    faulty_pts = faulty_dts = 0
    last_pts = last_dts = None
    out: list[int] = []
    step = 1
    for pts, dts in stamps:
        if dts is not None:
            faulty_dts += last_dts is not None and dts <= last_dts
            last_dts = dts
        if pts is not None:
            faulty_pts += last_pts is not None and pts <= last_pts
            last_pts = pts
        ts = pts if pts is not None and (faulty_pts <= faulty_dts or dts is None) else dts
        if ts is None:
            ts = out[-1] + step if out else 0
        if out:
            ts = max(ts, out[-1])
            step = ts - out[-1] or step
        out.append(ts)
    return tuple(out)


def choose_video_stream(container: Any) -> tuple[Any, int]:
    """The video stream to use and how many there are: cover pictures left out, the one
    flagged default first, then the largest (as ffmpeg chooses), then the first."""
    import av

    attached = av.stream.Disposition.attached_pic
    default = av.stream.Disposition.default
    videos = [s for s in container.streams.video if not s.disposition & attached]
    if not videos:
        return None, 0

    def score(s: Any) -> tuple[bool, int, int]:
        area = (s.codec_context.width * s.codec_context.height) if s.codec_context else 0
        return bool(s.disposition & default), area, -s.index

    return max(videos, key=score), len(videos)


def display_width(width: int, aspect: Fraction | None) -> int:
    """A stored width as shown: scaled by the pixel aspect ratio, as players do."""
    return max(1, int(width * aspect + Fraction(1, 2))) if aspect else width


def orientation_of(matrix: tuple[int, ...] | None) -> tuple[str, ...]:
    """The turns and flips ffmpeg applies for a display matrix (its autorotate rules)."""
    import math

    if matrix is None:
        return ()
    m = matrix
    s0, s1 = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if s0 == 0 or s1 == 0:
        return ("vflip",) if m[4] < 0 else ()
    theta = float(round(math.degrees(math.atan2(m[1] / s1, m[0] / s0))))
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        return ("cclock_flip",) if m[3] > 0 else ("clock",)
    if abs(theta - 180) < 1:
        return tuple(op for op, on in (("hflip", m[0] < 0), ("vflip", m[4] < 0)) if on)
    if abs(theta - 270) < 1:
        return ("clock_flip",) if m[3] < 0 else ("cclock",)
    if abs(theta) > 1:
        return ()  # an angle that is not a quarter turn: shown as stored
    return ("vflip",) if m[4] < 0 else ()


def _display_matrix(frame: Any) -> tuple[int, ...] | None:
    import struct

    from av.sidedata.sidedata import Type

    for sd in frame.side_data:
        if sd.type == Type.DISPLAYMATRIX:
            data = bytes(sd)
            if len(data) >= 36:
                return struct.unpack("<9i", data[:36])
    return None


def _first_frame_facts(p: Path) -> tuple[int, str, str, str, tuple[str, ...], Fraction | None,
                                         int, int | None]:
    """Decode frames from the start until one comes out: rotation, flips and colour tags
    are only exposed on decoded frames."""
    import av

    try:
        with av.open(_url(p), metadata_errors="ignore") as c:
            s, _ = choose_video_stream(c)
            if s is None or s.codec_context is None:
                return 0, "unknown", "unknown", "unknown", (), None, 8, None
            aspect = s.sample_aspect_ratio or s.codec_context.sample_aspect_ratio
            aspect = Fraction(aspect) if aspect and aspect > 0 and aspect != 1 else None
            for frame in c.decode(s):
                return (_norm_rotation(getattr(frame, "rotation", 0) or 0),
                        _color_space_name(frame.colorspace), _color_range_name(frame.color_range),
                        frame.format.name, orientation_of(_display_matrix(frame)), aspect,
                        max((c.bits for c in frame.format.components), default=8), frame.pts)
    except (av.error.FFmpegError, *DAMAGE_ERRORS) as e:
        interrupted(e)
        raise _unreadable(p, "its first frame cannot be decoded") from e
    raise _unreadable(p, "none of its frames can be decoded")
