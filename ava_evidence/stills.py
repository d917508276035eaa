"""Evidence stills: resolve the requested times, decode those frames, save PNGs.

Each still records what was asked for (``requested``), the frame it resolved
to (``index``) and that frame's own time (``time_s``), so a reader can check
the claim against the clip::

    stills = extract_stills(index, [("start", "start"), ("mark", "0:02")], out_dir)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import OutputError
from .timecode import format_clock, format_seconds, resolve_text

if TYPE_CHECKING:
    import numpy as np

    from .clip import ClipIndex, Progress

PNG_COMPRESS_LEVEL = 1
"""zlib level for evidence PNGs: lossless at any level; 1 is several times
faster than the default 6 for about 20% more bytes."""
_PNG_STRATEGY_RLE = 3
"""zlib's Z_RLE with the fixed "Up" row filter: 2-2.5x faster than adaptive
filtering at the default strategy, and no larger, on synthetic and on grainy
1080p frames alike (measured for issue 7)."""


@dataclass(frozen=True)
class Still:
    """One extracted frame and the request it answers."""

    label: str
    """start, end or mark."""
    requested: str
    index: int
    time: Fraction
    width: int
    height: int
    file: Path | None = None

    @property
    def time_s(self) -> float:
        return float(self.time)

    def to_dict(self, *, file: str | None = None) -> dict[str, Any]:
        return {
            "label": self.label,
            "requested": self.requested,
            "index": self.index,
            "time_s": self.time_s,
            "time": format_clock(self.time),
            "width": self.width,
            "height": self.height,
            "file": file if file is not None else (str(self.file) if self.file else None),
        }

    def describe(self) -> str:
        return (f"{self.label:<5} {self.requested!r:>14} -> frame {self.index} "
                f"at {format_seconds(self.time)} s ({format_clock(self.time)})")


@dataclass(frozen=True)
class Request:
    """A frame asked for: its label and the TIME text as the user typed it."""

    label: str
    text: str


def label_for(text: str) -> str:
    """The label a bare TIME gets: ``start``/``end`` for those words, else ``mark``."""
    t = text.strip().lower()
    return t if t in ("start", "end") else "mark"


def resolve_requests(index: ClipIndex, requests: Sequence[Request]) -> list[tuple[Request, int]]:
    """Resolve every request before any decoding, so a bad time costs nothing."""
    return [(r, resolve_text(r.text, index.timing)[1]) for r in requests]


def still_name(index: ClipIndex, frame: int, label: str | None = None) -> str:
    """File name of a still: sortable by frame, with the frame's time in it."""
    stem = f"f{frame:06d}_{format_seconds(index.time_of(frame))}s.png"
    return f"{label}_{stem}" if label else stem


def extract_stills(index: ClipIndex, requests: Sequence[Request], out_dir: str | os.PathLike[str],
                   *, labelled_names: bool = False, force: bool = False,
                   on_progress: Progress | None = None) -> list[Still]:
    """Decode each requested frame once and write it as a lossless PNG in ``out_dir``.

    Returns one :class:`Still` per request, in request order. Files are written
    atomically; a frame asked for twice is decoded and written once (unless
    ``labelled_names`` puts the label in the name). A still that exists already is
    replaced only with ``force`` (checked before decoding), a symbolic link never
    written through.
    """
    from .decode import map_frames
    from .writing import check_new_file, place

    resolved = resolve_requests(index, requests)
    out = Path(out_dir)
    created = _ensure_dir(out)
    names: dict[tuple[int, str | None], Path] = {}
    for req, frame in resolved:
        label = req.label if labelled_names else None
        names.setdefault((frame, label), out / still_name(index, frame, label))
    try:
        for path in names.values():
            check_new_file(path, force=force)
    except OutputError:
        _discard({}, created)
        raise
    # All or nothing: stills are written under temporary names and renamed only
    # once every one of them has been decoded and written.
    staged = {path: path.with_name(f".tmp-{os.getpid()}-{path.name}") for path in names.values()}

    def save(frame: int, bgr: np.ndarray) -> tuple[int, int]:
        save_png(bgr, *(staged[path] for (f, _), path in names.items() if f == frame), bgr=True)
        return bgr.shape[1], bgr.shape[0]

    try:
        sizes = map_frames(index, {f for f, _ in names}, save, bgr=True,
                           on_progress=on_progress)
        for final, tmp in staged.items():
            place(tmp, final, force=force)
    except OSError as e:
        _discard(staged, created)
        raise OutputError(f"cannot write stills in {out} ({e.strerror or e}): check free space "
                          f"and permissions, or choose another -o folder.") from e
    except BaseException:
        _discard(staged, created)
        raise
    return [
        Still(label=req.label, requested=req.text, index=frame, time=index.time_of(frame),
              width=sizes[frame][0], height=sizes[frame][1],
              file=names[(frame, req.label if labelled_names else None)])
        for req, frame in resolved
    ]


def _discard(staged: dict[Path, Path], created: list[Path]) -> None:
    for tmp in staged.values():
        _unlink_quietly(str(tmp))
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only succeeds when empty: never removes anything of the user's


def _ensure_dir(out: Path) -> list[Path]:
    """Create ``out`` (and missing parents); return the folders this call created."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder: choose another -o folder.")
    created = []
    for folder in [*reversed(out.parents), out]:
        if not folder.exists():
            created.append(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create folder {out} ({e.strerror}): "
                          f"choose a folder you can write to with -o.") from e
    return created


def encode_png(rgb: np.ndarray, *, bgr: bool = False) -> bytes:
    """Lossless RGB PNG bytes of an RGB (or, with ``bgr``, BGR) array: 8-bit, or 16-bit
    for a 16-bit array (a 10- or 12-bit clip's still).

    OpenCV releases the GIL while it encodes, so several can run in threads.
    """
    import cv2

    return _encode(".png", rgb, bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESS_LEVEL,
                                      cv2.IMWRITE_PNG_STRATEGY, _PNG_STRATEGY_RLE,
                                      cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP])


def encode_jpeg(rgb: np.ndarray, quality: int, *, bgr: bool = False) -> bytes:
    """8-bit JPEG bytes of an RGB (or BGR) array: for previews only, never for evidence."""
    import cv2

    from .compose import as_8bit

    return _encode(".jpg", as_8bit(rgb), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _encode(ext: str, pixels: np.ndarray, bgr: bool, params: list[int]) -> bytes:
    import cv2

    ok, data = cv2.imencode(ext, pixels if bgr else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR),
                            params)
    if not ok:  # pragma: no cover - OpenCV reports failure only for unsupported arrays
        raise OutputError(f"cannot encode a {pixels.shape} image as {ext[1:].upper()}.")
    return data.tobytes()


def save_png(rgb: np.ndarray, *paths: Path, bgr: bool = False) -> bytes:
    """Encode a PNG once and write it in place at every path, raising OSError: for
    files inside a staging folder. Returns the bytes, for hashing while at hand."""
    data = encode_png(rgb, bgr=bgr)
    for path in paths:
        _write(path, data)
    return data


def _write(path: Path, data: bytes) -> None:
    """Write a new file: never an existing one, never through a symbolic link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o666), "wb") as f:
        f.write(data)


def shared_mode() -> int:
    """Permissions an ordinary new file gets here (0o666 less the umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_png(rgb: np.ndarray, path: Path, *, bgr: bool = False, force: bool = False) -> None:
    """Write an RGB (or BGR) array as PNG via a temporary file renamed into place; an
    existing path is replaced only with ``force`` (see :mod:`ava_evidence.writing`)."""
    from .writing import write_atomically

    data = encode_png(rgb, bgr=bgr)
    write_atomically(path, lambda tmp: tmp.write_bytes(data), force=force)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
