"""Shots: where the clip cuts, and where it passes through black or fades.

A hard cut is a frame whose picture cannot be predicted from the frame before, over
most of the picture at once, far beyond the clip's usual change around it (PySceneDetect's
adaptive idea: compare with the neighbourhood, not with a fixed level), and whose new
content stays (a flash returns: it is not a cut). Brightness and contrast are matched
before comparing, so fades count as little change; blank frames (black, white) are never
compared: a run of them is a transition between shots, not a cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from .features import BLANK_CONTRAST

if TYPE_CHECKING:
    from .features import Features


@dataclass(frozen=True)
class Shots:
    cuts: list[int]
    """Frames that start a new shot after a hard cut."""
    blanks: list[tuple[int, int]]
    """Runs [start, end) of blank frames (black, white, one colour)."""
    spans: list[tuple[int, int]]
    """The shots, [start, end), with blank runs left out."""


def find_shots(f: Features, fps: float) -> Shots:
    import numpy as np

    n = len(f)
    blank = [c < BLANK_CONTRAST for c in f.contrast]
    error = np.asarray(f.error)
    change = np.asarray(f.change)
    radius = max(4, round(fps / 2))
    cuts: list[int] = []
    for i in range(1, n):
        if blank[i] or blank[i - 1]:
            continue
        before = [j for j in range(max(1, i - radius), i - 1) if not blank[j]]
        after = [j for j in range(i + 2, min(n, i + radius + 1)) if not blank[j]]
        # Against the calmer side: a cut into (or out of) a busy shot is still a cut.
        usual_err = min((float(np.median(error[s])) for s in (before, after) if s),
                        default=0.0)
        usual_chg = min((float(np.median(change[s])) for s in (before, after) if s),
                        default=0.0)
        cells = f.cells[i]
        # how much of the picture changed: unexplained, or (flat areas) just changed
        wide = max(float((cells[2] > max(8.0, 2 * usual_err)).mean()),
                   float((cells[3] > 8.0).mean()))
        if error[i] >= max(2.5, 3 * usual_err) and change[i] >= max(5.0, 3 * usual_chg) \
                and wide >= 0.35:
            cuts.append(i)
    # A frame unlike both neighbours (a flash, one broken frame) is not two cuts.
    single = {c for c in cuts if c + 1 in cuts}
    cuts = [c for c in cuts if c not in single and c - 1 not in single]
    blanks = _runs(blank)
    return Shots(cuts, blanks, _spans(n, cuts, blanks))


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, b in enumerate([*flags, False]):
        if b and start is None:
            start = i
        elif not b and start is not None:
            out.append((start, i))
            start = None
    return out


def _spans(n: int, cuts: Sequence[int], blanks: Sequence[tuple[int, int]]
           ) -> list[tuple[int, int]]:
    bounds = sorted({0, n, *cuts, *(b for run in blanks for b in run)})
    blank_starts = {a for a, _ in blanks}
    return [(a, b) for a, b in pairwise(bounds) if b > a and a not in blank_starts]
