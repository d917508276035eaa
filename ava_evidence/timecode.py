"""Parse the times users type and turn them into frame indices.

A user pastes what their player showed ("0:02", "1.2s") or a frame number
("f60"). :func:`parse_time` turns the text into a :class:`TimeSpec` without
knowing the clip; :func:`resolve` maps it to a frame of a clip's frame table
using the rule "the frame on screen at t": the last frame whose time is <= t.

Times are kept as exact fractions so that typed decimals never pick a
neighbouring frame through float rounding::

    >>> spec = parse_time("0:02.5")
    >>> spec.seconds
    Fraction(5, 2)
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from .errors import TimeError

TOLERANCE = Fraction(1, 1_000_000)
"""Slack added to a requested time, so a frame time printed as a float and
typed back (round-trip through ``time_s``) selects the same frame."""

TIME_FORMS = "2.5, 2.5s, 2500ms, 0:02.5, 00:00:02.500, f60, SMPTE 00:00:02:12, start or end"
"""The accepted forms, as error messages list them."""

Kind = Literal["seconds", "frame", "smpte", "start", "end"]

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_SECONDS_RE = re.compile(rf"^(?P<num>{_NUMBER})\s*(?P<unit>s|sec|secs|ms|us|µs)?$")
_CLOCK_RE = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d*)?)$")
_SMPTE_RE = re.compile(r"^(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2})(?P<sep>[:;.])(?P<f>\d{1,3})$")
_FRAME_RE = re.compile(r"^(?:f|frame\s*|#)(?P<n>\d+)$")
_UNITS = {None: Fraction(1), "s": Fraction(1), "sec": Fraction(1), "secs": Fraction(1),
          "ms": Fraction(1, 1000), "us": Fraction(1, 1_000_000), "µs": Fraction(1, 1_000_000)}


@dataclass(frozen=True)
class TimeSpec:
    """A parsed TIME argument, not yet tied to a clip."""

    text: str
    kind: Kind
    seconds: Fraction | None = None
    frame: int | None = None
    smpte: tuple[int, int, int, int, bool] | None = None
    """(hours, minutes, seconds, frames, drop_frame) for SMPTE input."""


@dataclass(frozen=True)
class ClipTiming:
    """What :func:`resolve` needs to know of a clip (see ``ClipIndex.timing``)."""

    name: str
    frame_times: Sequence[Fraction]
    """Presentation time of each frame relative to frame 0, ascending."""
    duration: Fraction
    """End of the last frame (its time plus its duration)."""
    nominal_rate: Fraction | None
    """The stream's nominal frame rate, used only for SMPTE input."""
    sound_end: Fraction | None = None
    """Where the sound ends, where it runs on past the picture (ClipIndex.sound_end)."""


class TimeSyntaxError(ValueError):
    """Raised by :func:`parse_time`; :func:`resolve_text` adds the clip's facts."""


def parse_time(text: str) -> TimeSpec:
    """Parse one TIME argument; raise :class:`TimeSyntaxError` if it is not one."""
    raw = text
    s = text.strip().lower()
    if not s:
        raise TimeSyntaxError("empty")
    if s in ("start", "begin", "first"):
        return TimeSpec(raw, "start", frame=0)
    if s in ("end", "last"):
        return TimeSpec(raw, "end")
    if s.startswith(("-", "\u2212")):  # ASCII hyphen or the Unicode minus sign
        raise TimeSyntaxError("negative")
    if s.lstrip("+") in ("nan", "inf", "infinity") or s.lstrip("+").rstrip("s") in ("nan", "inf"):
        raise TimeSyntaxError("not finite")
    m = _FRAME_RE.match(s)
    if m:
        return TimeSpec(raw, "frame", frame=int(m["n"]))
    m = _SMPTE_RE.match(s)
    if m:
        h, mi, se, ff = int(m["h"]), int(m["m"]), int(m["s"]), int(m["f"])
        if mi >= 60 or se >= 60:
            raise TimeSyntaxError("field")
        # "00:00:02.12" is a clock time with centiseconds, not SMPTE.
        if m["sep"] != ".":
            return TimeSpec(raw, "smpte", smpte=(h, mi, se, ff, m["sep"] == ";"))
    m = _CLOCK_RE.match(s)
    if m:
        h = int(m["h"]) if m["h"] is not None else 0
        mi = int(m["m"])
        sec = Fraction(m["s"])
        if sec >= 60 or (m["h"] is not None and mi >= 60):
            raise TimeSyntaxError("field")
        return TimeSpec(raw, "seconds", seconds=(h * 60 + mi) * 60 + sec)
    m = _SECONDS_RE.match(s)
    if m:
        return TimeSpec(raw, "seconds", seconds=Fraction(m["num"]) * _UNITS[m["unit"]])
    if re.fullmatch(r"\d+,\d+\s*s?", s):
        raise TimeSyntaxError("comma")
    raise TimeSyntaxError("syntax")


def smpte_frame(h: int, m: int, s: int, ff: int, drop: bool, rate: Fraction) -> int:
    """Frame index of an SMPTE timecode at a nominal rate, counted directly
    (never through a rounded time)."""
    base = round(rate)
    if not drop:
        return ((h * 60 + m) * 60 + s) * base + ff
    # Drop-frame: frame numbers 0 and 1 (2 and 3 at 59.94) are skipped at the
    # start of every minute except each tenth minute.
    dropped = 2 * max(1, base // 30)
    total_minutes = h * 60 + m
    nominal = ((h * 60 + m) * 60 + s) * base + ff
    return nominal - dropped * (total_minutes - total_minutes // 10)


def frame_at(timing: ClipTiming, seconds: Fraction) -> int:
    """Index of the frame on screen at ``seconds``: the last frame whose time is <= it."""
    return max(0, bisect_right(timing.frame_times, seconds + TOLERANCE) - 1)


def resolve(spec: TimeSpec, timing: ClipTiming) -> int:
    """Map a parsed time to a frame index of the clip, or raise :class:`TimeError`."""
    count = len(timing.frame_times)
    if spec.kind == "start":
        return 0
    if spec.kind == "end":
        return count - 1
    if spec.kind == "frame":
        assert spec.frame is not None
        if spec.frame >= count:
            raise TimeError(f"frame '{spec.text}' does not exist: {clip_summary(timing)}.")
        return spec.frame
    if spec.kind == "smpte":
        assert spec.smpte is not None
        h, m, s, ff, drop = spec.smpte
        rate = timing.nominal_rate
        if not rate:
            raise TimeError(
                f"SMPTE time '{spec.text}' needs a nominal frame rate, and {timing.name} "
                f"declares none: give seconds or a frame (f60) instead.")
        base = round(rate)
        if ff >= base:
            raise TimeError(
                f"SMPTE time '{spec.text}' has frame {ff}, but {timing.name} runs at "
                f"{_rate_text(rate)} fps (frames 00-{base - 1:02d} each second).")
        if drop and base not in (30, 60):
            raise TimeError(
                f"drop-frame SMPTE time '{spec.text}' only applies to 29.97 or 59.94 fps; "
                f"{timing.name} runs at {_rate_text(rate)} fps: write it with ':' instead of ';'.")
        skipped = 2 * max(1, base // 30)
        if drop and s == 0 and ff < skipped and m % 10:
            raise TimeError(
                f"drop-frame SMPTE time '{spec.text}' does not exist: drop-frame numbering skips "
                f"frames 00-{skipped - 1:02d} at the start of every minute but each tenth; "
                f"the next label is {h:02d}:{m:02d}:00;{skipped:02d}.")
        index = smpte_frame(h, m, s, ff, drop, rate)
        if index >= count:
            raise TimeError(
                f"SMPTE time '{spec.text}' is frame {index}, past the end: "
                f"{clip_summary(timing)}; use 'end' for the last frame.")
        return index
    assert spec.seconds is not None
    if spec.seconds > timing.duration + TOLERANCE:
        raise TimeError(
            f"time '{spec.text}' is past the end: {clip_summary(timing)}; "
            f"use 'end' for the last frame.")
    return frame_at(timing, spec.seconds)


def resolve_text(text: str, timing: ClipTiming) -> tuple[TimeSpec, int]:
    """Parse and resolve in one step, with error messages that name the clip."""
    try:
        spec = parse_time(text)
    except TimeSyntaxError as e:
        reason = str(e)
        if reason == "negative":
            lead = f"time '{text}' is negative: times count from the clip's first frame (0)"
        elif reason == "not finite":
            lead = f"time '{text}' is not a finite number"
        elif reason == "field":
            lead = (f"time '{text}' has 60 or more minutes or seconds in one field: carry them "
                    f"over (write 1:00, not 0:60)")
        elif reason == "comma":
            lead = f"time '{text}' uses a decimal comma: write {text.strip().replace(',', '.')}"
        else:
            lead = f"'{text}' is not a time: use {TIME_FORMS}"
        raise TimeError(f"{lead}; {clip_summary(timing)}.") from None
    return spec, resolve(spec, timing)


def clip_summary(timing: ClipTiming) -> str:
    """'clip.mp4 lasts 10.000 s (00:10.000), 240 frames (f0-f239)': the facts a
    time error must state."""
    n = len(timing.frame_times)
    sound = (f" of picture (its sound runs on to {format_seconds(timing.sound_end)} s over "
             f"the last frame: the failure's frames are within the picture)"
             if timing.sound_end is not None else "")
    return (f"{timing.name} lasts {format_seconds(timing.duration)} s "
            f"({format_clock(timing.duration)}){sound}, {n} frame{'s' if n != 1 else ''} "
            f"(f0-f{n - 1})")


def _ceil_ms(t: Fraction | float) -> int:
    return math.ceil(Fraction(t) * 1000)


def format_seconds(t: Fraction | float) -> str:
    """Seconds with three decimals, rounded *up* to the millisecond, so that
    typing the printed value back selects the same frame."""
    ms = _ceil_ms(t)
    return f"{ms // 1000}.{ms % 1000:03d}"


def format_clock(t: Fraction | float) -> str:
    """``mm:ss.mmm`` (``h:mm:ss.mmm`` past an hour), rounded up like :func:`format_seconds`."""
    ms = _ceil_ms(t)
    total_s, milli = divmod(ms, 1000)
    h, rest = divmod(total_s, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}:{m:02d}:{s:02d}.{milli:03d}"
    return f"{m:02d}:{s:02d}.{milli:03d}"


def format_short(t: Fraction | float) -> str:
    """``m:ss`` with only the decimals it needs (``0:02``, ``0:01.5``, ``0:01.625``,
    ``1:02:03.5`` past an hour), rounded up like :func:`format_seconds`: the time as a
    message to a person shows it, still typed back to the same frame."""
    ms = _ceil_ms(t)
    total_s, milli = divmod(ms, 1000)
    h, rest = divmod(total_s, 3600)
    m, s = divmod(rest, 60)
    frac = f".{milli:03d}".rstrip("0") if milli else ""
    return f"{h}:{m:02d}:{s:02d}{frac}" if h else f"{m}:{s:02d}{frac}"


def _rate_text(rate: Fraction) -> str:
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")
