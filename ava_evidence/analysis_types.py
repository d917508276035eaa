"""What the finder returns: candidate moments and the measured series behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .timecode import format_clock, format_seconds

SEEN = 0.5
"""From this score on, a person comparing the frames would see the failure."""


@dataclass(frozen=True)
class Candidate:
    """A moment where the failure is measured to show."""

    index: int
    time: Fraction
    score: float
    """0..1; 0.5 or more: a person comparing the frames would see it."""
    reason: str
    """What changed, how much, where, against what baseline (with the numbers)."""
    kind: str
    values: dict[str, float] = field(default_factory=dict)
    words: str = ""
    """What a person sees at this moment, in words fit for the ticket's message (no score,
    no jargon): "her eyes are about 30% farther apart than at the start of the shot"."""
    baseline: int | None = None
    """The frame this moment is best compared with: for a gradual change, the start of
    its shot (next to the frame before, a slow drift looks the same); None: the frame
    before."""
    stages: tuple[tuple[int, str], ...] = ()
    """Where a ticket marks this moment in more than one frame, each with what it shows:
    a gradual change where it starts and where it shows as ``words`` say, so that every
    frame a line names is attached (empty: the moment's own frame and ``words``)."""

    def marked(self) -> tuple[tuple[int, str], ...]:
        """The frames a ticket marks for this moment, each with its words."""
        return self.stages or ((self.index, self.words),)

    def to_dict(self) -> dict[str, Any]:
        return {"time_s": float(self.time), "time": format_clock(self.time),
                "seconds": format_seconds(self.time), "index": self.index,
                "score": round(self.score, 3), "reason": self.reason, "kind": self.kind,
                "words": self.words or self.reason, "baseline": self.baseline,
                "values": {k: round(v, 4) for k, v in self.values.items()}}


@dataclass
class Suggestion:
    failure: str
    candidates: list[Candidate]
    series: dict[str, list[float | None]]
    notes: list[str]
    cuts: list[float] = field(default_factory=list)
    """Times (s) where a new shot starts after a hard cut."""
    transitions: list[tuple[float, float, str]] = field(default_factory=list)
    """What lies between shots, which no measure looks at: (start, end) in seconds and
    what it is ("blank": black or one-colour frames; "fade": blank frames and the frames
    fading around them; "dissolve")."""
    unmeasured: str | None = None
    """Why the measure could not look at the clip at all (no face to follow, too few
    frames), so that no candidate is not read as "nothing stands out"."""
    charted: str | None = None
    """Whose measures ``series`` holds where that needs saying (a face seen beside others:
    "the face on the right in the shot from 0:00"); the chart's title says it."""

    def plain(self) -> list[Candidate]:
        """The moments a person comparing the frames would see (SEEN): those offered to
        build from."""
        return [c for c in self.candidates if c.score >= SEEN]

    def to_dict(self) -> dict[str, Any]:
        return {"failure": self.failure, "candidates": [c.to_dict() for c in self.candidates],
                "series": self.series, "notes": self.notes, "cuts": self.cuts,
                "transitions": [{"start_s": a, "end_s": b, "kind": k}
                                for a, b, k in self.transitions],
                "unmeasured": self.unmeasured, "charted": self.charted}




def region_name(row: int, col: int, rows: int, cols: int) -> str:
    """Where a grid cell is, in words: "upper left", "centre", "lower right"."""
    v = ["top", "middle", "bottom"][min(2, row * 3 // rows)]
    h = ["left", "centre", "right"][min(2, col * 3 // cols)]
    if v == "middle" and h == "centre":
        return "centre"
    if v == "middle":
        return f"middle {h}"
    return f"{v} {h}" if h != "centre" else f"{v} centre"
