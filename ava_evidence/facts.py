"""What the user tells the ticket: marks with words, and the facts an agent asks first.

Every value is checked where it enters, so the message never carries a line
break, a control character or a date it cannot mean::

    mark = parse_mark("0:02=her eyes begin to move apart")
    facts = TicketFacts(account="me@example.com", credits=parse_credits("35"))
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, fields, replace

from .errors import UsageError

MAX_LINE = 300
"""Longest one-line value (account, settings, what is visible at a mark...)."""
MAX_PROMPT = 4000
MAX_NOTE = 8000
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class MarkSpec:
    """A moment the user points at: a TIME, and optionally what is visible there."""

    time: str
    what: str | None = None

    def __str__(self) -> str:
        return f"{self.time}={self.what}" if self.what else self.time


def parse_mark(text: str | MarkSpec) -> MarkSpec:
    """``TIME`` or ``TIME=WHAT`` (no TIME form contains '=')."""
    if isinstance(text, MarkSpec):
        return text
    time, sep, what = text.partition("=")
    if not time.strip():
        raise UsageError(f"--mark '{clean_line(text, '--mark')}' has no time before '=': "
                         f"write it as TIME=WHAT, for example --mark '0:02=the ball passes "
                         f"through the rim'.")
    words = clean_line(what, "--mark's description") if sep else None
    return MarkSpec(time.strip(), words or None)


def _controls(text: str, allow_newlines: bool) -> bool:
    for c in text:
        if allow_newlines and c in "\n\t":
            continue
        if unicodedata.category(c) == "Cc" or c in _BIDI:
            return True
    return False


def clean_line(text: str, name: str, limit: int = MAX_LINE) -> str:
    """One line of the user's text, spaces collapsed; control and direction-override
    characters refused (they would hide or reorder what the agent reads)."""
    value = " ".join(text.split())
    if _controls(value, allow_newlines=False):
        raise UsageError(f"{name} contains a control or text-direction character: type it "
                         f"again as plain text.")
    if len(value) > limit:
        raise UsageError(f"{name} is {len(value)} characters long; keep it under {limit} "
                         f"(put longer text in --note).")
    return value


def clean_block(text: str, name: str, limit: int) -> str:
    """Text that may span lines (a note, a prompt): line breaks kept, the rest as
    :func:`clean_line`."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    if _controls(value, allow_newlines=True):
        raise UsageError(f"{name} contains a control or text-direction character: type it "
                         f"again as plain text.")
    if len(value) > limit:
        raise UsageError(f"{name} is {len(value)} characters long; keep it under {limit}.")
    return value


def parse_detail(text: str) -> tuple[str, str]:
    """``LABEL=VALUE`` for a line a route asks for (``Pika User ID=12345``)."""
    label, sep, value = text.partition("=")
    label, value = clean_line(label, "--detail"), clean_line(value, "--detail")
    if not sep or not label or not value:
        raise UsageError(f"--detail takes LABEL=VALUE, for example --detail 'Pika User "
                         f"ID=12345' (got '{clean_line(text, '--detail')}').")
    return label, value


_CREDITS = re.compile(r"\d{1,7}(?:[.,]\d{1,2})?")


def parse_credits(text: str) -> str:
    """The credits a generation used, as typed ("35", "12.5")."""
    value = text.strip()
    if not _CREDITS.fullmatch(value):
        raise UsageError(f"--credits takes the number of credits the generation used, for "
                         f"example --credits 35 (got '{clean_line(value, '--credits')}').")
    return value.replace(",", ".")


_DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


def parse_generated(text: str, *, now: dt.datetime | None = None) -> str:
    """When the clip was generated, as the message shows it: ``2026-11-28``,
    ``2026-11-28 14:05`` or ``2026-11-28 14:05 UTC``.

    Accepts ISO dates with an optional time and zone (``2026-11-28T14:05Z``,
    ``2026-11-28 14:05 +01:00``). A time in the future is refused."""
    value = " ".join(text.split())
    m = _DATETIME.fullmatch(value)
    if not m:
        raise UsageError(f"--generated takes a date, optionally with a time: 2026-11-28 or "
                         f"'2026-11-28 14:05' or 2026-11-28T14:05Z (got "
                         f"'{clean_line(value, '--generated')}').")
    try:
        day = dt.date.fromisoformat(m["date"])
        clock = dt.time.fromisoformat(_two_digit_hour(m["time"])) if m["time"] else None
    except ValueError:
        raise UsageError(f"--generated {value} is not a real date and time: check the "
                         f"numbers.") from None
    zone = _zone(m["zone"])
    moment = dt.datetime.combine(day, clock or dt.time(0), tzinfo=zone or dt.timezone.utc)
    current = now or dt.datetime.now(dt.timezone.utc)
    if moment - current > dt.timedelta(days=1):
        raise UsageError(f"--generated {value} is in the future: give the date the clip was "
                         f"generated.")
    return _show(day, clock, zone)


def _two_digit_hour(clock: str) -> str:
    return clock if len(clock.split(":")[0]) == 2 else "0" + clock


def _zone(text: str | None) -> dt.timezone | None:
    if not text:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return dt.timezone.utc
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise UsageError(f"--generated has a time zone offset {text} that does not exist: "
                         f"use an offset such as +01:00, or UTC.")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _show(day: dt.date, clock: dt.time | None, zone: dt.timezone | None) -> str:
    if clock is None:
        return day.isoformat()
    shown = f"{day.isoformat()} {clock.strftime('%H:%M')}"
    if zone is None:
        return shown
    if zone == dt.timezone.utc:
        return f"{shown} UTC"
    offset = zone.utcoffset(None)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{shown} {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def from_clip_metadata(value: str | None) -> str | None:
    """The clip container's creation time (ISO 8601, UTC) as the message shows it, or
    None when it is missing or meaningless (encoders write 1970 or 1904 for 'unset')."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.year < 2020:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    return _show(moment.date(), moment.time(), dt.timezone.utc)


@dataclass(frozen=True)
class TicketFacts:
    """What every agent asks first, as the user gave it (None: not given)."""

    account: str | None = None
    generated: str | None = None
    generated_from_clip: bool = False
    """True when ``generated`` was read from the clip's metadata, not given."""
    model: str | None = None
    settings: str | None = None
    credits: str | None = None
    prompt: str | None = None
    use: str | None = None
    reference: str | None = None
    """File name of the reference image in the bundle (image-to-video)."""
    note: str | None = None
    details: tuple[tuple[str, str], ...] = ()
    """(label, value) for the lines a platform's route asks for (--detail 'Pika User ID=1')."""

    def detail(self, label: str) -> str | None:
        wanted = label.casefold()
        return next((v for k, v in self.details if k.casefold() == wanted), None)

    @classmethod
    def from_user(cls, *, account: str | None = None, generated: str | None = None,
                  model: str | None = None, settings: str | None = None,
                  credits: str | None = None, prompt: str | None = None,
                  use: str | None = None, note: str | None = None,
                  details: tuple[str, ...] = (),
                  now: dt.datetime | None = None) -> TicketFacts:
        """Check and tidy the values a user typed (empty text counts as not given)."""
        def line(value: str | None, name: str) -> str | None:
            return clean_line(value, name) or None if value is not None else None

        return cls(
            account=line(account, "--account"),
            generated=parse_generated(generated, now=now) if generated and generated.strip()
            else None,
            model=line(model, "--model"), settings=line(settings, "--settings"),
            credits=parse_credits(credits) if credits and credits.strip() else None,
            prompt=clean_block(prompt, "--prompt", MAX_PROMPT) or None if prompt else None,
            use=line(use, "--use"),
            note=clean_block(note, "--note", MAX_NOTE) or None if note else None,
            details=tuple(parse_detail(d) for d in details))

    def merged(self, defaults: TicketFacts) -> TicketFacts:
        """These facts, with ``defaults`` filling what is not given."""
        return replace(self, **{f.name: getattr(defaults, f.name) for f in fields(self)
                                if getattr(self, f.name) in (None, False)
                                and getattr(defaults, f.name) not in (None, False)})
