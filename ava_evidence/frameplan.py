"""Step 1 of a build: which frames the bundle holds, under which names, paired how.

Every file name is fixed before any decoding, so what a bag holds never depends
on thread timing::

    plan = plan_frames(index, [Mark("0:02", 48, "the ball drops")], failure)
    plan.shots, plan.pairs, plan.needed()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import Candidate
    from .catalog import Failure
    from .clip import ClipIndex
    from .compose import Caption


@dataclass(frozen=True)
class Mark:
    """A mark resolved to its frame."""

    requested: str
    index: int
    what: str | None
    measured: Candidate | None = None


@dataclass(frozen=True)
class Shot:
    """A frame placed in the bundle as evidence."""

    label: str
    requested: str
    index: int
    time: Fraction
    name: str
    what: str | None = None
    measured: Candidate | None = None

    def to_dict(self) -> dict[str, Any]:
        from .timecode import format_short

        d: dict[str, Any] = {"label": self.label, "requested": self.requested,
                             "index": self.index, "time_s": float(self.time),
                             "clock": format_short(self.time), "file": f"frames/{self.name}"}
        if self.what:
            d["what"] = self.what
        if self.measured is not None:
            d["measured"] = {"score": round(self.measured.score, 3),
                             "reason": self.measured.reason}
        return d


@dataclass(frozen=True)
class PairPlan:
    file: str
    """pairs/NN_....png"""
    kind: str
    """start-end, before-mark, mark-after or base-mark."""
    left: Caption
    right: Caption
    what: str | None = None

    def description(self) -> str:
        """What the pair shows, for the message's 'Attached:' line."""
        if self.left.index == self.right.index:  # a clip of one frame
            return f"frame {self.left.index}, the clip's only frame, twice"
        if self.kind == "start-end":
            return "the first and last frames side by side"
        if self.kind == "base-mark":
            first = "the first frame" if self.left.index == 0 else \
                f"frame {self.left.index} (the start of the shot)"
            return f"{first} and frame {self.right.index} side by side"
        return f"frames {self.left.index} and {self.right.index} side by side"

    def caption(self) -> str:
        """What the pair shows, for the report (and the manifest)."""
        head = {"start-end": "Start and end of the clip",
                "before-mark": f"Before and at {self.right.label.lower()}",
                "mark-after": f"{self.left.label.capitalize()} and just after",
                "base-mark": f"Start of the shot and {self.right.label.lower()}"}[self.kind]
        return f"{head}: {self.what}" if self.what else head


@dataclass(frozen=True)
class FramePlan:
    """Which frames the bundle holds, under which names, and how they are paired."""

    shots: tuple[Shot, ...]
    """start, the marks in time order, end."""
    pairs: tuple[PairPlan, ...]
    context: tuple[tuple[int, int, str, str], ...]
    """(mark frame, other frame, role, still file) for each pair partner not itself a shot."""
    strip: tuple[int, ...]

    @property
    def marks(self) -> tuple[Shot, ...]:
        return tuple(s for s in self.shots if s.label == "mark")

    def stills(self) -> dict[int, list[str]]:
        """Every still file per frame (one encoding however many names a frame has)."""
        out: dict[int, list[str]] = {}
        for shot in self.shots:
            out.setdefault(shot.index, []).append(f"frames/{shot.name}")
        for _, other, _, name in self.context:
            if name not in out.setdefault(other, []):
                out[other].append(name)
        return out

    def needed(self) -> set[int]:
        return ({s.index for s in self.shots} | {c[1] for c in self.context} | set(self.strip))


def plan_frames(index: ClipIndex, marks: Sequence[Mark], failure: Failure) -> FramePlan:
    """Name every still and pair before decoding, so what the bag holds never depends on
    thread timing. Repeated marks on one frame are merged (the first one's words win)."""
    from .compose import Caption, strip_indices
    from .stills import still_name

    last = index.frame_count - 1
    first_of: dict[int, Mark] = {}
    for m in marks:
        first_of.setdefault(m.index, m)
    mark_shots = [Shot("mark", m.requested, frame, index.time_of(frame),
                       still_name(index, frame, f"mark{n}"), m.what, m.measured)
                  for n, (frame, m) in enumerate(sorted(first_of.items()), 1)]
    shots = (Shot("start", "start", 0, index.time_of(0), still_name(index, 0, "start")),
             *mark_shots,
             Shot("end", "end", last, index.time_of(last), still_name(index, last, "end")))

    def cap(label: str, i: int) -> Caption:
        return Caption(label, i, index.time_of(i))

    shot_frames = {s.index for s in shots}
    pairs = [PairPlan("pairs/01_start-end.png", "start-end", cap("START", 0), cap("END", last))]
    context = []
    for n, shot in enumerate(mark_shots, 1):
        other, role = _partner(shot, failure, last)
        label = f"MARK {n}"
        left, right, kind = ((cap(label, shot.index), cap("AFTER", other), "mark-after")
                             if role == "after" else
                             (cap("START OF SHOT" if role == "base" else "BEFORE", other),
                              cap(label, shot.index),
                              "base-mark" if role == "base" else "before-mark"))
        pairs.append(PairPlan(f"pairs/{n + 1:02d}_mark{n}_f{shot.index:06d}.png", kind, left,
                              right, shot.what))
        if other not in shot_frames:
            context.append((shot.index, other, role,
                            f"frames/{still_name(index, other, role)}"))
    window = ((max(0, mark_shots[0].index - round(index.fps)),
               min(last, mark_shots[-1].index + round(index.fps))) if mark_shots else (0, last))
    return FramePlan(shots, tuple(pairs), tuple(context),
                     tuple(strip_indices(index.frame_count, window, 8)))


def _partner(shot: Shot, failure: Failure, last: int) -> tuple[int, str]:
    """The frame a mark is shown beside: for a gradual failure the start of its shot (next
    to the frame before, a slow drift looks the same); else the frame before; for a mark
    on the first frame, the one after."""
    if failure.evidence.change == "gradual":
        base = shot.measured.baseline if shot.measured and shot.measured.baseline is not None \
            else 0
        if base < shot.index:
            return base, "base"
    if shot.index > 0:
        return shot.index - 1, "before"
    return min(1, last), "after"
