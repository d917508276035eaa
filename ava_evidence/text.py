"""Text that reaches a terminal: shown, never obeyed.

File names, bundle member names, IDs and anything else that comes from a user or a
bundle may hold control characters: a carriage return or an ANSI sequence can rewrite
what a terminal shows (a fake "OK" line), a bidi override can reverse it. Everything
printed goes through :func:`printable`, which shows such characters as escapes::

    >>> printable("a\\x1b[2Kb\\u202e")
    'a\\\\x1b[2Kb\\\\u202e'
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Characters that change the direction text is shown in (Unicode's bidi controls)."""

_SHOWN_ESCAPED = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "]")
"""C0 and C1 controls, DEL, the line and paragraph separators, and bidi controls."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control, separator and bidi character shown as an escape
    (``\\x1b``, ``\\u202e``): one line, shown exactly as it reads."""
    return _SHOWN_ESCAPED.sub(_escape, str(text))


def json_safe(document: str) -> str:
    """A JSON text with the C1 controls, separators and bidi controls it may hold raw
    (``json.dumps(..., ensure_ascii=False)`` escapes only C0) written as ``\\uXXXX``.

    Only characters that cannot occur outside a JSON string are replaced, so the
    document means the same."""
    return re.sub("[\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "]",
                  lambda m: f"\\u{ord(m.group()):04x}", document)


def control_characters(text: str) -> list[str]:
    """The control and bidi characters in ``text``, as U+XXXX, in order, each once."""
    found = dict.fromkeys(f"U+{ord(c):04X}" for c in _SHOWN_ESCAPED.findall(text))
    return list(found)
