"""Shots: where the clip cuts, where it passes through black, and where it dissolves.

A hard cut is a frame whose structure cannot be predicted from the frame before (moved
along the optical flow), over much of the picture at once, far beyond the share usual
around it (PySceneDetect's adaptive idea: compare with the neighbourhood, not with a fixed
level), and whose new content stays (a flash returns: it is not a cut). Structure is
compared as a correlation, so light changes (fades, lightning, exposure) keep it; blank
frames (black, white) are never compared: a run of them is a transition between shots,
not a cut. So is a dissolve: frames that are the picture before and the one after
blended, more of the later one each frame (cross_fade).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

from .features import BLANK_CONTRAST, MOTION_WIDTH, STRUCTURE, fade_reach, pictures_of, pool

if TYPE_CHECKING:
    import numpy as np

    from .features import Features

LOST = 0.5
"""A cell whose structure correlates less than this with its prediction is lost."""
CUT_SHARE = 0.35
"""A cut loses the structure of at least this share of the picture (a still logo or
letterbox may keep the rest)."""
SURE_SHARE = 0.6
"""From this share on, a cut needs no change of tones to be one (a cut between two
similar shots of one scene keeps its tones)."""
MIXED = 0.05
"""Most a cross-fade's frames may differ from the two ends blended (mean squared, as a
share of the ends' own squared difference): a dissolve between calm shots stays under it;
camera moves and things moving, which no blend of two frames makes, reach it (so a
dissolve between fast-moving shots is missed; none of the benchmark's 2,224 clips without
a dissolve came under it)."""
NEW_SHARE = 0.3
"""A dissolve's ends differ by more than 25 grey levels over at least this share of the
picture: a change of shot, not of a detail."""
SPREAD = 0.85
"""...and over at least this share of the picture's regions: a face or a thing blending
into another in front of a background that stays (a failure, not a change of shot)
leaves more of it as it was."""
SAME_PICTURE = 0.9
"""Ends whose grey levels correlate this much show one picture in two lights (a fade
to or from a colour, a light dimming), not two shots."""
FROZEN = 0.5
"""A frame whose regions change less than this (grey levels, at MOTION_WIDTH) repeats the
one before: the picture stands still (a stall), which says nothing about how the shot
usually moves."""
CATCH_UP = 3
"""Frozen frames (FROZEN) after which the picture jumping on is a stall's catch-up, not a
cut, unless nearly all of it is new (SURE_SHARE): a freeze of half a second in a moving
scene jumps by half a second of motion, which read as a hard cut at 0.2 to 0.5 of the
picture lost. Also the most frames a flash lasts (a picture unlike both neighbours: no
cut). Counted in pictures where a clip made at a lower frame rate repeats each picture
(Features.pictures): 15 fps shown at 60 repeats every picture three times."""


@dataclass(frozen=True)
class Shots:
    cuts: list[int]
    """Frames that start a new shot after a hard cut."""
    blanks: list[tuple[int, int]]
    """Runs [start, end) of blank frames (black, white, one colour)."""
    spans: list[tuple[int, int]]
    """The shots, [start, end), with blank runs and dissolves left out."""
    dissolves: list[tuple[int, int]] = field(default_factory=list)
    """Runs [start, end) of frames blending one shot into the next."""


def lost(cells: np.ndarray) -> float:
    """Share of the picture whose structure the frame before, moved along the flow, does
    not predict (light changes keep the structure; a cut loses it nearly everywhere)."""
    return float((cells[STRUCTURE] > LOST).mean())


def blank(contrast: float) -> bool:
    """Whether a frame of this contrast (luma standard deviation) is blank: black, white,
    one colour (a fade's low point, never a shot's picture)."""
    return contrast < BLANK_CONTRAST


def cross_fade(frames: Sequence[np.ndarray]) -> bool:
    """Whether the frames between the first and the last of ``frames`` (small grey
    pictures) are those two blended, more of the last each frame: a dissolve. Not where
    the two differ only in light (the same picture brighter or darker), nor in part (a
    detail, or a thing in front of a background that stays), nor at once (a cut: the
    frames between are one end or the other). The same either way round, and into or out
    of a plain picture too (one of a colour fades instead: blank frames)."""
    import numpy as np

    if len(frames) < 3:
        return False
    a, b = frames[0].astype(np.float32), frames[-1].astype(np.float32)
    d = b - a
    change = np.abs(d)
    # most of the picture new, and over most of its regions (mean change above 12)
    if float((change > 25).mean()) < NEW_SHARE or float((pool(change) > 12).mean()) < SPREAD:
        return False
    ca, cb = a - a.mean(), b - b.mean()
    na, nb = float(np.sqrt((ca * ca).sum())), float(np.sqrt((cb * cb).sum()))
    if min(na, nb) >= BLANK_CONTRAST * np.sqrt(a.size) and \
            float((ca * cb).sum()) / (na * nb) >= SAME_PICTURE:
        return False  # the same picture in another light (either end may be the darker)
    dd = float((d * d).sum())
    between = (np.stack(frames[1:-1]).astype(np.float32) - a).reshape(len(frames) - 2, -1)
    share = between @ d.ravel() / dd  # how much of the last frame each one shows
    left = float(((between - share[:, None] * d.ravel()) ** 2).sum(axis=1).mean())
    steps = np.diff(np.r_[0.0, share, 1.0])
    gradual = int(((share > 0.15) & (share < 0.85)).sum()) >= 2 and \
        float(steps.max()) <= 0.45 and float(steps.min()) > -0.05
    return gradual and left <= MIXED * dd


def find_shots(f: Features, fps: float) -> Shots:
    import numpy as np

    n = len(f)
    blank_at = [blank(c) for c in f.contrast]
    share = np.array([lost(c) for c in f.cells])
    radius = max(4, round(fps / 2))
    # a clip made at a lower frame rate shows each picture for 1 + ``again`` frames: a
    # stall, or a flash, lasts as many pictures as in the clip it was made from
    repeat = f.repeats(0, n)
    again = round(1 / pictures_of(repeat, fps)[1]) - 1 if n else 0
    held = (CATCH_UP + 1) * (again + 1) - 1
    cuts: list[int] = []
    for i in range(1, n):
        if blank_at[i] or blank_at[i - 1]:
            continue
        if share[i] < SURE_SHARE and i > held and \
                all(f.raw_change[j] < FROZEN for j in range(i - held, i)):
            continue  # the picture catching up after a stall, unless nearly all of it is new
        before = [j for j in range(max(1, i - radius), i - 1) if not blank_at[j]]
        after = [j for j in range(i + 2, min(n, i + radius + 1)) if not blank_at[j]]
        # Against the calmer side: a cut into (or out of) a busy shot is still a cut, and
        # fast action, where much of the picture is new every frame, is not one.
        sides = _sides(repeat, float(share[i]), before, after)

        def usual(values: Sequence[float] | np.ndarray, sides: list[list[int]] = sides
                  ) -> float:
            return min((float(np.median([values[j] for j in s])) for s in sides),
                       default=0.0)

        # Unless nearly all of it is new, the tones must change too: fast action in one
        # scene keeps its colours, a new shot rarely does.
        toned = f.tones[i] >= max(0.03, 3 * usual(f.tones))
        new = share[i] >= CUT_SHARE and share[i] >= 3 * usual(share) + 0.1 and \
            (share[i] >= SURE_SHARE or toned)
        # A cut to the same scene framed closer or wider keeps its structure (the flow
        # follows the jump) but the framing jumps at once, as no camera moves: a tenth
        # of the picture's width, or 5% closer or wider, in one frame.
        near = [j for s in sides for j in s]
        cam = np.asarray(f.camera[i]) - np.median([f.camera[j] for j in near], axis=0) \
            if near else np.asarray(f.camera[i])
        framed = float(np.hypot(cam[0], cam[1])) >= 0.1 * MOTION_WIDTH or abs(cam[2]) >= 0.05
        jump = toned and framed and f.change[i] >= max(8.0, 3 * usual(f.change))
        # Where the picture is flat, structure cannot tell; the tones can: most of the
        # grey levels replaced at once, over much of the picture, and not by a change of
        # light (a flash or a fade scales and shifts them all alike).
        retoned = f.tones[i] >= 0.5 and toned and \
            float((f.cells[i][3] > 8.0).mean()) >= CUT_SHARE and \
            f.change[i] >= max(5.0, 3 * usual(f.change))
        if new or jump or retoned:
            cuts.append(i)
    # A picture unlike both neighbours (a flash, one broken frame) is not two cuts, shown
    # once or repeated for a frame or two (a clip made at a lower frame rate).
    flashes = {k for c, d in pairwise(cuts) if d - c <= CATCH_UP * (again + 1) and
               bool(repeat[c + 1:d].all()) for k in (c, d)}
    cuts = [c for c in cuts if c not in flashes and
            (share[c] >= SURE_SHARE or _rises(f.raw_change, repeat, blank_at, c))]
    blanks = _runs(blank_at)
    mixed = _dissolves(f.blended, fade_reach(fps))
    # out of black or into it, a blend is the fade's own (said as such, with its black)
    dissolves = [(a, b) for a, b in mixed if not any(a <= hi and lo <= b for lo, hi in blanks)]
    return Shots(cuts, blanks, _spans(n, cuts, blanks + mixed), dissolves)


def _rises(raw_change: Sequence[float], repeat: np.ndarray, blank_at: list[bool], i: int
           ) -> bool:
    """Whether frame i changes the picture more than the last new picture before it did
    (grey levels): a new shot does, unless nearly all of it is new (SURE_SHARE). A fast
    camera move losing much of the structure as it peaks does not: a Vidu clip tilting up
    a colonnade lost 40% of it at a frame changing less than the one before (41 grey
    levels against 54), and the stall after it began a shot of its own."""
    prev = next((j for j in range(i - 1, 0, -1) if not repeat[j]), None)
    return prev is None or blank_at[prev] or raw_change[i] > raw_change[prev]


def _dissolves(blended: Sequence[bool], reach: int) -> list[tuple[int, int]]:
    """The frames each run of cross-fade middles spans: from the frame after the first
    one's start (``reach`` frames before it) to the last one's end, which is the frame
    the run is known to be over at as frames stream in (the next shot starts after it);
    joined where they overlap."""
    out: list[tuple[int, int]] = []
    for a, b in _runs(blended):
        lo, hi = max(0, a - reach + 1), min(len(blended), b + reach)
        if out and lo <= out[-1][1]:
            lo = out.pop()[0]
        out.append((lo, hi))
    return out


def _sides(repeat: np.ndarray, share: float, before: list[int], after: list[int]
           ) -> list[list[int]]:
    """The frames before and after a frame that tell how its shot usually changes: those
    that show something new (a clip made at a lower frame rate repeats frames as a matter
    of course, and they would make any motion read as a cut). Unless nearly all of the
    picture is new (``share``), not a side where the picture stands still while the other
    moves: the frames into or out of a stall would read as cuts and cut the stall off (a
    cut into or out of a still shot loses nearly all of the picture). ``repeat``: per
    frame, whether it repeats the one before (Features.repeats)."""
    sides = [s for s in (before, after) if s]
    new = [[j for j in s if not repeat[j]] for s in sides]
    if share >= SURE_SHARE:
        return [n or s for n, s in zip(new, sides, strict=True)]
    return [n for n in new if n] or sides


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, b in enumerate([*flags, False]):
        if b and start is None:
            start = i
        elif not b and start is not None:
            out.append((start, i))
            start = None
    return out


def _spans(n: int, cuts: Sequence[int], between: Sequence[tuple[int, int]]
           ) -> list[tuple[int, int]]:
    """The shots: the frames between cuts, with the runs ``between`` shots left out."""
    bounds = sorted({0, n, *cuts, *(b for run in between for b in run)})
    inside = [(a, b) for a, b in pairwise(bounds) if b > a]
    return [(a, b) for a, b in inside
            if not any(lo <= a and b <= hi for lo, hi in between)]
