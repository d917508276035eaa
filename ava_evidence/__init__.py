"""ava-evidence: frame-exact evidence bundles for failed AI video generations.

The library is usable without the CLI::

    from ava_evidence import index_clip, extract_stills, Request
    index = index_clip("clip.mp4")
    stills = extract_stills(index, [Request("mark", "0:02")], "out")

Names are imported lazily so that ``ava-evidence --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AvaError": "errors", "UsageError": "errors", "TimeError": "errors",
    "ClipError": "errors", "OutputError": "errors",
    "ClipIndex": "clip", "index_clip": "clip",
    "decode_frames": "decode",
    "Still": "stills", "Request": "stills", "extract_stills": "stills",
    "TimeSpec": "timecode", "parse_time": "timecode", "resolve": "timecode",
    "format_seconds": "timecode", "format_clock": "timecode",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .clip import ClipIndex as ClipIndex
    from .clip import index_clip as index_clip
    from .decode import decode_frames as decode_frames
    from .errors import AvaError as AvaError
    from .errors import ClipError as ClipError
    from .errors import OutputError as OutputError
    from .errors import TimeError as TimeError
    from .errors import UsageError as UsageError
    from .stills import Request as Request
    from .stills import Still as Still
    from .stills import extract_stills as extract_stills
    from .timecode import TimeSpec as TimeSpec
    from .timecode import format_clock as format_clock
    from .timecode import format_seconds as format_seconds
    from .timecode import parse_time as parse_time
    from .timecode import resolve as resolve


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ava_evidence' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
