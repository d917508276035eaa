"""Physics, flicker and stall measures on the per-frame motion features, shot by shot.

- Something changes that no motion explains (appears, vanishes, jumps, passes through):
  a region's motion-compensated prediction error steps far above its own level in the
  second before. Against the second before, not the clip: fast action stays fast. A
  thing that turns faint at once (see-through, as one thing passing through another
  shows both) is a lead even while it moves on steadily.
- Something stops dead: a region moving steadily for half a second is still from one
  frame to the next while the rest of the picture goes on.
- Flicker: brightness jumping up and down between neighbouring frames.
- Stall: a run of frames in which nothing changes while the clip otherwise moves.

Scores: 0.5 is where a person comparing the two frames would see it; 1.0 is plain.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from .analysis_types import Candidate, region_name
from .features import COLS, DETAIL, LOOK, MOTION_WIDTH, ROWS, STRUCTURE, WINDOW_COLS, WINDOW_ROWS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import numpy as np

    from .clip import ClipIndex
    from .features import Features
    from .shots import Shots

Series = dict[str, list[float | None]]


def physics(index: ClipIndex, f: Features, shots: Shots) -> tuple[list[Candidate], Series]:
    fps = max(index.fps, 1.0)
    n = len(f)
    surprise: list[float | None] = [None] * n
    out: list[Candidate] = []
    for start, end in shots.spans:
        if end - start < MIN_FRAMES["physics"]:
            continue
        found, level = _unexplained(index, f, start, end, fps)
        out += found
        for k, v in enumerate(level):
            surprise[start + k] = None if v is None else round(v, 3)
        out += _stopped(index, f, start, end, fps)
        out += _jumped_back(index, f, start, end, fps)
    return out, {"motion_surprise": surprise}


LIT = 8.0
"""Rise or fall of a region's mean grey level (of 255) that shows as light falling on it
or leaving it."""
DETAIL_LEAD = 0.45
"""Highest score from a region's fine detail going or coming at once alone (a thing
smeared away or out of nothing that moves too little to raise the prediction error):
worth a look, never on its own what a person would surely see."""
MOTION_AROUND = 1.0
"""Motion (px a frame at MOTION_WIDTH, beyond the camera's) in and next to a region, over
the second before a change or the half second after it, from which that motion may be
what changed it: a thing the flow could not follow."""
PLAIN_ERROR, PLAIN_DETAIL = 40.0, 0.5
"""A change this far above the error before (grey levels) that also brings or takes at
once this share of the region's fine detail, and holds it, is a thing coming or going:
beside motion up to BESIDE it is not motion the flow missed, and it lasts whatever the
picture there does next."""
BESIDE = 2.0
"""Motion around a region (as MOTION_AROUND) up to which a plain change there counts."""
FAINT = 0.85
"""A region's contrast (the spread of its grey levels) dropping at once to this share of
what it was or less, and staying so, while its light does not dim as much, is a thing
turning faint: see-through, as when one thing passes through another and both show at
half strength, or smeared away."""
FAINT_LEAD = 0.35
"""Highest score from a region turning faint alone: worth a look, never on its own what
a person would surely see (light through haze or a shadow's edge can do it too)."""
STEADY = 3.0
"""Motion around a region (as MOTION_AROUND) up to which a thing moving on steadily
(as fast in the half second after as in the second before, within half) counts as
followed by the flow: its look changing at once there is not motion the flow missed."""
CARRIED = 0.3
"""Least motion around a region (as MOTION_AROUND) at which a thing that turns faint while
it moves on steadily is that thing, not light falling there."""
FAINT_SPREAD = 12.0
"""Least contrast (grey levels of spread) a region needs for turning faint to show."""
LIGHT_GAP = 0.15
"""How much further a region's contrast must drop than its mean grey level (as shares of
what they were) to be a thing turning faint: a shadow or dimming light lowers both
alike."""
STILL_AROUND = 0.5
"""Motion around a region below which detail gone or come with the error scores in full as
what a person would see; beside more, less and less, down to nothing at MOTION_AROUND (the
same change may be motion smeared or sharpened)."""


def _unexplained(index: ClipIndex, f: Features, start: int, end: int, fps: float
                 ) -> tuple[list[Candidate], list[float | None]]:
    """A region whose picture changes at once, by enough to see, where nothing moved
    before relative to the camera and nothing moves after (motion the flow cannot follow,
    a thing coming into view too fast for it, is not a failure), then settles (fast
    action keeps changing) and lasts. Beside some motion, and whatever the picture there
    does next, a change still counts if it plainly brings or takes fine detail (a thing
    came or went). Half a second must follow in the shot to tell: a change in its last
    half second is not judged. At the picture's edge a change must reach inside: things
    come into view there."""
    import numpy as np

    shown, per_frame = f.pictures(start, end, fps)  # a clip's repeats say nothing of its motion
    cells = np.stack([f.cells[start + k] for k in shown]).reshape(len(shown), -1, ROWS * COLS)
    err, flow = cells[:, 2], cells[:, 1]  # motion beyond the camera's
    look = cells[:, LOOK:LOOK + 2]
    lost = cells[:, STRUCTURE]
    detail = cells[:, DETAIL]
    grid = np.zeros((ROWS, COLS), bool)
    grid[1:-1, 1:-1] = True
    inner = grid.ravel()  # regions not at the picture's edge
    t = len(err)
    win = max(4, round(fps * per_frame))
    half = max(2, win // 2)
    quarter = max(2, win // 4)
    level: list[float | None] = [None] * (end - start)  # none in the last half second
    best: _Change | None = None
    around = _Around(err, flow, win, half)
    looks = _Rolling(look, np.median, (quarter, win, half))
    details = _Rolling(detail, np.median, (win, half))
    for i in range(2, t - half):  # what follows must show it lasts and settles
        base, after, moved, moves_on = around.at(i)
        excess = err[i] - base
        level[shown[i]] = max(0.0, float(excess.max()))  # charted everywhere, counted or not
        hot = excess >= 10
        if not hot.any():
            continue  # most frames: nothing to weigh
        if hot.mean() > 0.25:
            continue  # much of the picture at once: a cut or the light, left to others
        # a thing turning faint keeps its structure as light does, but loses contrast
        # that light would keep: judged over a quarter second either side, as a thing
        # moving on soon carries its contrast into the next region
        faded = _contrast_step(looks, i, quarter, quarter, half)
        faint = faded <= FAINT
        # nearby motion counts too: a thing moving in from the next region is motion
        near = _dilate(moved.reshape(ROWS, COLS)).ravel()
        # and motion that follows: a thing that came in too fast for the flow (a bird,
        # a leg stepping into view) moves on where the flow can follow it; what appears
        # out of nothing stays put
        then = _dilate(moves_on.reshape(ROWS, COLS)).ravel()
        motion = np.maximum(near, then)
        steady = (np.abs(near - then) <= 0.5 * motion) & (motion < STEADY)
        # Light does not turn a thing faint: a glow can dim a region's contrast for a few
        # frames, so light is told from that over the second before and the half second
        # after; nor does it follow a thing that moves on steadily.
        lit = (look[i, 0] - look[i - 1, 0]) * (lost[i] < 0.3)
        if _spreads(lit) and _spreads(lit * ~(faint & steady & (motion >= CARRIED)) *
                                      ~(_contrast_step(looks, i, win, half, half) <= FAINT)):
            continue  # light spreading or going out (a flash, lightning): regions brighten,
            # or darken, together, their picture the same
        # What appears, vanishes or jumps stays so: a flash, a spark or lightning, gone
        # again half a second later, is light, not a failure.
        later = look[min(t - 1, i + half):min(t, i + 2 * half)].mean(axis=0)
        step = np.abs(look[i] - look[i - 1]).sum(axis=0)
        kept = np.abs(later - look[i - 1]).sum(axis=0)
        lasts = (step < 4) | (kept >= 0.5 * step)
        # At the picture's edge things come into and leave the view, and a border or
        # crop shifts: a change there counts when it reaches inside too.
        inward = _dilate((hot & inner).reshape(ROWS, COLS)).ravel() > 0
        # Nor right after a change that the flow missed too, here or next door, that did
        # not last (the picture went back), half as large and past what a busy scene's
        # own noise leaves (25, where scores start): a thing too thin or too fast for the
        # flow leaves such changes on its way through. A thing coming over two or three
        # frames stays.
        came = _dilate(_passed(err, look, base, later, max(1, i - quarter), i)
                       .reshape(ROWS, COLS)).ravel()
        ok = hot & (after <= base + 6) & (inner | inward) & \
            (came < np.maximum(25, 0.5 * excess))
        if not (ok & ((motion < BESIDE) | faint)).any():
            continue  # a shortcut: nothing can count
        fine, grew, holds = _detail_step(details, i, win, half)
        plain = (excess >= PLAIN_ERROR) & (fine < PLAIN_DETAIL) & holds
        seen = ok & (lasts | plain) & (motion < np.where(plain, BESIDE, MOTION_AROUND))
        # turning faint alone lets a region count beside steady motion, as a lead only; so
        # does its fine detail plainly going or coming, and holding, beside some motion (a
        # thing smeared away where what moves around it is not fast)
        gone = ok & (fine < PLAIN_DETAIL) & holds & (motion < BESIDE)
        ok = np.flatnonzero(seen | gone | (ok & faint & ((motion < MOTION_AROUND) | steady)))
        if not len(ok):
            continue
        score = _unexplained_score(excess[ok], fine[ok], motion[ok], faded[ok])
        score = np.where(seen[ok], score, np.minimum(score, FAINT_LEAD))
        rank = score + 1e-6 * excess[ok]  # equal scores: the larger error
        n = int(np.argmax(rank))
        k = int(ok[n])
        if best is None or rank[n] > best.rank:
            at = int(shown[i])  # the frame, in the shot
            covered = i - around.start(i)  # pictures the error's baseline covers
            best = _Change(float(rank[n]), start + at, k, float(score[n]), float(excess[k]),
                           float(base[k]), float(motion[k]), float(fine[k]), bool(grew[k]),
                           float(faded[k]), not seen[k], None if covered >= win else at - 1)
    return ([] if best is None else [_unexplained_candidate(index, best)]), level


def _spreads(lit: np.ndarray) -> bool:
    """Whether four regions or more brighten, or darken, by LIT or more together."""
    return int((lit >= LIT).sum()) >= 4 or int((lit <= -LIT).sum()) >= 4


def _unexplained_score(excess: np.ndarray, fine: np.ndarray, motion: np.ndarray,
                       faded: np.ndarray) -> np.ndarray:
    """How plain changes are: natural footage (fast or new motion the flow misses, lights,
    sparks) reaches an error 60 or so above the second before, so half a score from 75
    keeps a moment a person would report, not a doubt. Fine detail gone or come at once
    (``fine``, kept over had) is a lead of its own; with the error up too (30 or more for
    the full score) and nothing moving around (less and less from STILL_AROUND on), a thing
    plainly came or went. Contrast dropping at once (``faded``, what is left of it) with
    the error up (20 or more for the full score) is a lead too: from FAINT down to 0.55 of
    it."""
    import numpy as np

    gone = np.clip((0.6 - fine) / 0.45, 0.0, 1.0)  # all of it from 0.15 kept
    still = np.clip((MOTION_AROUND - motion) / (MOTION_AROUND - STILL_AROUND), 0.0, 1.0)
    return np.asarray(np.max(np.stack([
        np.clip((excess - 25) / 100, 0.0, 1.0),
        DETAIL_LEAD * np.clip((0.6 - fine) / 0.6, 0.0, 1.0),
        gone * np.clip((excess - 5) / 25, 0.0, 1.0) * still,
        FAINT_LEAD * np.clip((FAINT - faded) / 0.3, 0.0, 1.0)
        * np.clip((excess - 8) / 12, 0.0, 1.0)]), axis=0))


def _contrast_step(looks: _Rolling, i: int, before: int, after: int, first: int
                   ) -> np.ndarray:
    """Per region, its contrast (spread) over the ``after`` frames from frame i over the
    ``before`` frames before it (1 where it did not turn faint): counted from frame
    ``first`` of the shot on (too little before it to judge by), where most of the drop
    happens between frames i - 1 and i, there was contrast to lose (FAINT_SPREAD), it holds
    past halfway over the ``after`` frames after those, and its mean grey level kept more
    of itself (LIGHT_GAP: a shadow or dimming light lowers both alike). ``looks``: the
    cells' looks (mean, spread) with their windowed medians; frame i + after must be in
    it."""
    import numpy as np

    spread = looks.a[:, 1]
    if i < max(first, 1):
        return np.ones(spread.shape[1])
    lit0, was = looks.over(max(1, i - before), i)
    lit1, now = looks.over(i, i + after)
    later = looks.over(i + after, i + 2 * after)[1]
    sudden = (now < was) & (spread[i - 1] - spread[i] >= 0.6 * (was - now)) \
        & (was >= FAINT_SPREAD)
    holds = later <= (was + now) / 2
    left = now / np.maximum(was, 1e-3)
    light = np.minimum(lit1, lit0) / np.maximum(np.maximum(lit1, lit0), 1e-3)
    return np.asarray(np.where(sudden & holds & (left < light - LIGHT_GAP), left, 1.0))


def _passed(err: np.ndarray, look: np.ndarray, base: np.ndarray, later: np.ndarray,
            first: int, i: int) -> np.ndarray:
    """Per region, the largest prediction error over ``base`` in frames first to i - 1,
    where what the region showed then did not last: its look ``later`` is back within
    half of the farthest it went from the frame before ``first`` (else 0)."""
    import numpy as np

    was = look[first - 1]
    went = np.abs(look[first:i] - was).sum(axis=1).max(axis=0)
    back = np.abs(later - was).sum(axis=0) < 0.5 * went
    return np.asarray(np.where(back, (err[first:i] - base).max(axis=0), 0.0))


class _Change(NamedTuple):
    """The most visible unexplained change of a shot, as measured."""

    rank: float
    frame: int
    region: int
    score: float
    excess: float
    base: float
    moving: float
    detail: float
    """The region's fine detail after over before, or before over after: the smaller."""
    grew: bool
    contrast: float
    """The region's contrast after over before, where it turned faint (else 1)."""
    faint_only: bool
    """It counts only as a lead (turning faint, or its detail going beside some motion),
    said as that."""
    before: int | None = None
    """Frames its baseline covers (from the shot's second frame), where the shot began less
    than a second before it."""


def _unexplained_candidate(index: ClipIndex, ch: _Change) -> Candidate:
    frame = ch.frame
    where = region_name(*divmod(ch.region, COLS), ROWS, COLS)
    return Candidate(
        frame, index.time_of(frame), ch.score,
        f"the {where} of the picture changes at once between frames {frame - 1} and "
        f"{frame} {_around_words(ch.moving)}: prediction error "
        f"{ch.excess + ch.base:.0f} against {ch.base:.0f} "
        f"{_baseline_words(index, frame, ch.before)}"
        f"{_fine_detail_words(ch.detail, ch.grew)}{_faint_words(ch.contrast)} (motion there "
        f"{ch.moving:.1f} px a frame at {MOTION_WIDTH} px wide)",
        "unexplained", {"excess": ch.excess, "baseline_error": ch.base,
                        "motion_around": ch.moving, "detail_ratio": ch.detail,
                        "detail_rose": float(ch.grew), "contrast_ratio": ch.contrast},
        words=f"something in the {where} of the picture turns faint at once between frames "
              f"{frame - 1} and {frame}" if _faint_led(ch) else
              f"something in the {where} of the picture appears, vanishes or jumps between "
              f"frames {frame - 1} and {frame}, {_around_words(ch.moving)}")


def _baseline_words(index: ClipIndex, frame: int, before: int | None) -> str:
    """What the error was compared with: the second before, or what there was of it (the
    frames from the shot's second one: the first has no error), said in frames as well as
    seconds, so it can be checked against the notes' shots."""
    if before is None:
        return "in the second before"
    began = frame - before - 1
    return (f"over the {before} frame{'s' if before != 1 else ''} "
            f"({float(index.time_of(frame - 1) - index.time_of(began)):.2f} s) since the "
            f"shot began at frame {began}")


def _faint_led(ch: _Change) -> bool:
    """Whether the change counts, or scores as it does, for turning faint (scored as if its
    contrast had held, it scores less): what the ticket then says is that, not a thing
    coming or going."""
    import numpy as np

    if ch.contrast > FAINT:
        return False  # it did not turn faint
    if ch.faint_only:
        return True
    held = _unexplained_score(np.asarray([ch.excess]), np.asarray([ch.detail]),
                              np.asarray([ch.moving]), np.ones(1))
    # the score was reckoned in float32: a held score equal to it may read a hair under
    return float(held[0]) < ch.score - 1e-6


def _faint_words(ratio: float) -> str:
    """How a region's contrast dropped, for the reason (nothing when it did not turn faint)."""
    if ratio > FAINT:
        return ""
    return f"; its contrast drops at once to {100 * ratio:.0f}% of what it was, its light " \
        "much less"


def _around_words(motion: float) -> str:
    """What moved around a change: nothing, or what cannot have made it (a change that
    plainly brought or took fine detail)."""
    return "with nothing moving there to explain it" if motion < MOTION_AROUND else \
        "beside motion that cannot explain it"


def _fine_detail_words(ratio: float, grew: bool) -> str:
    """How a region's fine detail changed, for the reason (nothing when it hardly did):
    ``ratio`` is the smaller of before and after over the larger."""
    if ratio > 0.6:
        return ""
    if ratio < 0.05:  # from (or to) a flat picture: no honest multiple to give
        return "; fine detail appears where there was almost none" if grew else \
            "; its fine detail is almost all gone"
    return f"; its fine detail rises to {1 / ratio:.1f} times what it was" if grew else \
        f"; its fine detail drops to {100 * ratio:.0f}% of what it was"


BLOCK = 1024
"""Frames a shot's measures take at once where they would otherwise hold the whole shot:
the windows' medians (_Rolling) and the thumbnails a jump back's search converts
(_Frames)."""


class _Rolling:
    """``reduce`` (np.median, np.mean) over a shot's rows lo to hi - 1 (cut short at the
    shot's end; lo from 0), for each of its other indices. Windows of the widths given are
    taken for BLOCK starts at a time: quick, and a long shot's windows are never all held
    at once. Windows of other widths (most of those cut short by the shot's start or end)
    are taken one at a time."""

    def __init__(self, a: np.ndarray, reduce: Callable[..., np.ndarray],
                 widths: Iterable[int]) -> None:
        self.a, self.reduce = a, reduce
        self._held: dict[int, tuple[int, np.ndarray]] = {w: (-1, a[:0]) for w in widths}

    def over(self, lo: int, hi: int) -> np.ndarray:
        """``reduce`` over rows lo to hi - 1: what ``reduce(a[lo:hi], axis=0)`` gives."""
        import numpy as np

        hi = min(hi, len(self.a))
        held = self._held.get(hi - lo)
        if held is None:  # a width seldom asked for
            return np.asarray(self.reduce(self.a[lo:hi], axis=0))
        first, windows = held
        w = hi - lo
        if not 0 <= lo - first < len(windows):
            first = max(0, lo - BLOCK // 4)  # callers look back from lo too
            windows = _windows(self.a[first:first + BLOCK + w - 1], w, self.reduce)
            self._held[w] = (first, windows)
        return np.asarray(windows[lo - first])


class _Around:
    """Per frame i of a shot: the prediction error's median and the motion's mean over the
    second before it (from the shot's second frame: the first has no error; near the
    shot's start, what there is of that second) and over the half second after it. The
    motion before is the larger of its mean over that second and over the quarter second
    just before: a thing that came moving into a still scene (a leg stepping in) moved
    there, though the second's mean is low."""

    def __init__(self, err: np.ndarray, flow: np.ndarray, win: int, half: int) -> None:
        import numpy as np

        self.win, self.half, self.quarter = win, half, max(2, win // 4)
        self.err = _Rolling(err, np.median, (win, half))
        self.flow = _Rolling(flow, np.mean, (win, half, self.quarter))

    def start(self, i: int) -> int:
        """Where the second before frame i begins: at most win frames back, never before
        the shot's second frame."""
        return max(1, i - self.win)

    def at(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Error before, error after, motion before, motion after frame i."""
        import numpy as np

        lo, hi = self.start(i), i + 1 + self.half
        moved = np.maximum(self.flow.over(lo, i), self.flow.over(max(lo, i - self.quarter), i))
        return self.err.over(lo, i), self.err.over(i + 1, hi), moved, self.flow.over(i + 1, hi)


def _windows(a: np.ndarray, w: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """Row s: ``reduce`` (np.median, np.mean) of rows s to s + w - 1 of ``a``, per column."""
    from numpy.lib.stride_tricks import sliding_window_view

    return a[:0] if len(a) < w else reduce(sliding_window_view(a, w, axis=0), axis=-1)


def _detail_step(details: _Rolling, i: int, win: int, half: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per region, its fine detail after frame i over before it (the smaller over the
    larger, 1 when unchanged), counted only where the step happens between frames i - 1 and
    i (a focus pull or a thing moving out changes it over many) and there is detail to
    see; whether it rose; and whether it holds in the half second after that (still past
    halfway from before: a glare or a puff of smoke comes and goes). ``details``: the
    cells' detail with its windowed medians; frame i + half must be in it."""
    import numpy as np

    detail = details.a
    before = details.over(max(0, i - win), i)
    after = details.over(i, i + half)
    later = details.over(i + half, i + 2 * half)
    lo, hi = np.minimum(before, after), np.maximum(before, after)
    rose = after > before
    step = (detail[i] - detail[i - 1]) * np.where(rose, 1.0, -1.0)
    sudden = (step >= 0.6 * (hi - lo)) & (hi >= 3.0)
    holds = (later - (before + after) / 2) * np.where(rose, 1.0, -1.0) > 0
    return np.where(sudden, lo / np.maximum(hi, 1e-3), 1.0), rose, holds


JUMP_STEP = 12.0
"""Change of a region between two frames (mean grey levels, in the thumbnail) from which a
jump back in time is looked for."""
SLOW_STEP = JUMP_STEP / 2
"""The same, in a frame where fewer than two regions change by JUMP_STEP: a jump back in a
slow scene (most AI clips) moves little between frames. Where two or more do, the smaller
steps are left out: they would water down how closely the large ones match."""
REPLAY = 0.25
"""Seconds over which a region that jumped back may show, as a whole, that it goes on as
it went on then (where one frame cannot: what it replays moves slowly); or twice that,
where the shot goes on so long (a turntable's slow turn moves a region's thumbnail by
under 3 grey levels in a quarter second)."""
JUMP_MATCH = 0.4
"""A region matches an earlier moment where it differs from it by at most this share of
its change from the frame before."""


def _jumped_back(index: ClipIndex, f: Features, start: int, end: int, fps: float
                 ) -> list[Candidate]:
    """Part of the picture that, from one frame to the next, shows again what it showed a
    moment before (a quarter of a second to two seconds earlier), far closer to that than
    to the frame before, and goes on from there, where the frame before did not match that
    moment (motion that repeats, a wheel, a walk, matches its past all along). Only with a
    quarter of a second of the shot after it (REPLAY; half a second where the shot has it,
    for a slow replay): one frame cannot tell a jump back from a fast motion that happens
    to repeat there."""
    import numpy as np

    shown, per_frame = f.pictures(start, end, fps)  # repeats never go on as their past did
    t = len(shown)
    rate = fps * per_frame  # pictures a second
    lo, hi = max(2, round(0.25 * rate)), max(3, round(2 * rate))
    if t < lo + 3 or len(f.thumbs) < end:
        return []  # too short to tell, or features kept without the pictures
    th, tw = f.thumbs[start].shape
    ch, cw = th // ROWS, tw // COLS

    def cells(m: int) -> np.ndarray:
        """The thumbnail of the shot's m-th frame that shows something new, as (regions,
        pixels), 8-bit."""
        a = f.thumbs[start + int(shown[m])][:ch * ROWS, :cw * COLS]
        return np.asarray(a.reshape(ROWS, ch, COLS, cw).transpose(0, 2, 1, 3)
                          .reshape(ROWS * COLS, -1))

    frames = _Frames(cells, t, hi)

    def diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Mean absolute difference over the last axis."""
        return np.asarray(np.abs(a.astype(np.float32) - b).mean(axis=-1))

    best: tuple[float, int, int, list[int], float, int] | None = None
    prev_cells = cells(lo)
    for i in range(lo + 1, t - 1):
        now_cells = cells(i)
        step = diff(now_cells, prev_cells)
        prev_cells = now_cells
        hot = np.flatnonzero(step >= JUMP_STEP)
        if len(hot) < 2:
            hot = np.flatnonzero(step >= SLOW_STEP)
        if len(hot) < 2 or len(hot) > 0.4 * ROWS * COLS:
            continue  # nothing, or much of the picture at once (a cut, the light)
        if _pumping(f.luma, start + int(shown[i])):
            continue  # the bright parts of a flickering picture match its last bright frame
        first = max(1, i - hi)
        past = diff(frames.span(first, i - lo + 1)[:, hot], now_cells[hot])
        k = _closest(past, step[hot], hot)
        j = first + k
        back = past[k]
        match = back <= JUMP_MATCH * step[hot]
        if int(match.sum()) + _partly(hot, back, step[hot]) < 2:
            continue
        regions = hot[match]
        next_now, next_old = cells(i + 1)[regions], cells(j + 1)[regions]
        then = float(diff(cells(i - 1)[regions], cells(j - 1)[regions]).mean())
        now = float(back[match].mean())
        goes_on = float(diff(next_now, next_old).mean())
        if then < max(2 * now, now + JUMP_STEP / 2) or goes_on > max(6.0, 0.5 * then):
            continue
        window = round(REPLAY * rate)
        if i + window >= t:
            continue  # a shot's last frames cannot show that it goes on as it went on
        spans = {min(w, max(1, i - j - 1)) for w in (window, 2 * window) if i + w < t}
        if not any(_replays(cells, regions, i, j, w) for w in sorted(spans)):
            continue
        size = float(step[regions].mean())
        if best is None or size > best[0]:
            top = int(regions[int(np.argmax(step[regions]))])
            best = (size, i, j, [int(r) for r in regions], now, top)
    if best is None:
        return []
    size, i, j, regions, now, top = best
    r, c = divmod(top, COLS)
    frame, earlier = start + int(shown[i]), start + int(shown[j])
    where = region_name(r, c, ROWS, COLS)
    seconds = (frame - earlier) / fps
    score = min(1.0, max(0.3, 0.5 + (size - 20) / 30))
    return [Candidate(
        frame, index.time_of(frame), score,
        f"the {where} of the picture jumps back {seconds:.1f} s between frames {frame - 1} "
        f"and {frame}: {_regions(len(regions), earlier)} (differing {now:.1f} grey levels "
        f"from it, against {size:.0f} from the frame before) and "
        f"{'goes' if len(regions) == 1 else 'go'} on from there",
        "time-jump", {"seconds": seconds, "change": size, "match": now},
        words=f"part of the picture in the {where} jumps back {seconds:.1f} s between "
              f"frames {frame - 1} and {frame}, showing again what it showed at frame "
              f"{earlier}")]


def _pumping(luma: list[float], i: int) -> bool:
    """Whether the whole picture's brightness steps at frame i by half of LIT or more and
    steps back by as much at the frame before or after it: a flicker, which a jump back in
    time, in part of the picture, does not make. (_jumped_back asks only for frames with
    two before them and one after them in the shot.)"""
    if i + 1 >= len(luma):
        return False  # features kept without the brightness
    step = luma[i] - luma[i - 1]
    return abs(step) >= LIT / 2 and any(o * step < 0 and abs(o) >= LIT / 2 for o in
                                        (luma[i - 1] - luma[i - 2], luma[i + 1] - luma[i]))


class _Frames:
    """A shot's frames as (frames, regions, pixels), for spans of up to ``reach`` frames
    that move on through the shot: converted a block of BLOCK frames (and one span) at a
    time, so a long clip's thumbnails are never all converted at once."""

    def __init__(self, cells: Callable[[int], np.ndarray], t: int, reach: int) -> None:
        self.cells, self.t, self.reach = cells, t, reach
        self.first = 0
        self.held: np.ndarray | None = None

    def span(self, a: int, b: int) -> np.ndarray:
        """Frames a to b - 1 (b - a at most ``reach``)."""
        import numpy as np

        held = self.held
        if held is None or not (self.first <= a and b <= self.first + len(held)):
            self.first = a
            held = self.held = np.stack([self.cells(m) for m in
                                         range(a, min(self.t, a + BLOCK + self.reach))])
        return np.asarray(held[a - self.first:b - self.first])


def _replays(cells: Callable[[int], np.ndarray], regions: np.ndarray, i: int, j: int,
             frames: int) -> bool:
    """Whether regions that show at frame i what they showed at frame j go on as they went
    on then, and what they went on with moved: over the next frame, or over the next
    ``frames`` (up to the frame before i) as a whole. A background that an occluder
    uncovers is still, and looks as it did before it, not a replay; a slow thing replayed
    moves too little in one frame to tell, but shows its motion over a few (the caller
    gives a quarter of a second, and half a second where the shot goes on so long, never
    fewer: over two or three frames a fast repeated motion, a boxer's next punch, can
    follow its last one as closely)."""
    import numpy as np

    longest = max(1, min(frames, i - j - 1))
    then = [cells(j + m)[regions].astype(np.float32) for m in range(longest + 1)]
    now = [cells(i + m)[regions] for m in range(1, longest + 1)]

    def diff(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).mean())

    moved = [diff(t, then[0]) for t in then[1:]]  # frame by frame, from frame j + 1
    stays = [diff(n, then[0]) for n in now]
    goes_on = [diff(n, t) for n, t in zip(now, then[1:], strict=True)]
    return any(max(moved[:span]) >= 3.0 and sum(goes_on[:span]) <= 0.5 * sum(stays[:span])
               for span in {1, longest})


def _closest(past: np.ndarray, step: np.ndarray, hot: np.ndarray) -> int:
    """Which earlier frame (a row of ``past``: the changed regions ``hot``'s differences
    from it) they match: the closest on average; but where that one would not do (fewer
    than two regions match it, counting those partly in a one-region jump, _partly), the
    one most regions match (two at least), of those the closest over the regions that do.
    A part that jumped back, among a picture that moved on as usual, matches its own past
    only, and the average of the rest would point elsewhere."""
    import numpy as np

    fits = past <= JUMP_MATCH * step
    k = int(np.argmin(past.mean(axis=1)))
    count = fits.sum(axis=1)
    if count[k] + _partly(hot, past[k], step) >= 2 or np.max(count) < 2:
        return k
    most = np.flatnonzero(count == np.max(count))
    return int(most[np.argmin((past[most] * fits[most]).sum(axis=1))])


def _regions(n: int, earlier: int) -> str:
    if n == 1:
        return f"1 region shows again what it showed at frame {earlier}"
    return f"{n} regions show again what they showed at frame {earlier}"


def _partly(hot: np.ndarray, back: np.ndarray, step: np.ndarray) -> int:
    """For a jump back shown in one region only, and as exactly as a repeated frame shows
    (a thing coming back to a place is never that close): how many regions next to it came
    close to that moment too (a small jumping part lies partly in them). They count toward
    its size, not toward how closely it matches."""
    match = back <= JUMP_MATCH * step
    exact = back <= 0.15 * step
    if int(match.sum()) != 1 or not bool(exact[match][0]):
        return 0
    r0, c0 = divmod(int(hot[match][0]), COLS)
    return sum(1 for h, b, s in zip(hot, back, step, strict=True)
               if 0.4 * s < b <= 0.7 * s and abs(int(h) // COLS - r0) <= 1
               and abs(int(h) % COLS - c0) <= 1)


def _dilate(a: np.ndarray) -> np.ndarray:
    import cv2
    import numpy as np

    return np.asarray(cv2.dilate(a.astype(np.float32), np.ones((3, 3), np.uint8)))


STILL = 0.25
"""Mean change of a region (grey levels, at MOTION_WIDTH) that shows the very same picture
frame after frame: below what a moving scene's own noise leaves in a region its motion
has left."""
MOVING = 0.05
"""Least flow (px a frame at MOTION_WIDTH) of a region that moves before it stops: a
thing turning slowly in place (a model on a turntable) moves about 0.07."""


def _stopped(index: ClipIndex, f: Features, start: int, end: int, fps: float
             ) -> list[Candidate]:
    """A region moving steadily for half a second, then still at once (its pixels repeat
    exactly, as no scene's noise does where its motion has gone on), while elsewhere the
    picture keeps moving: entered at speed and from motion the flow followed (a thing
    easing out of the region, or jumping or vanishing, is not a stop), and its motion has
    not passed to a neighbouring region. Not where more than a quarter of the picture
    settles at the same frame (a dissolve ending, the camera coming to rest). Regions are
    region-sized windows at half-region steps (Features.windows): a thing the grid's own
    regions cut across fills one of them. The rest of the picture is the grid's regions
    the window does not lie in."""
    import numpy as np

    stack = np.stack(f.cells[start:end]).reshape(end - start, len(f.cells[start]), -1)
    windows = np.stack(f.windows[start:end]).reshape(end - start, 2, -1)
    # where a clip made at a lower frame rate repeats frames, a moving region stands as
    # still as a stopped one: only its pictures are weighed, half a second counted in those
    shown, per_frame = f.pictures(start, end, fps)
    win = max(3, round(fps * per_frame / 2))
    seconds = win / (fps * per_frame)
    share, covers = _covers()
    # in single precision: a long clip's windows are many
    flow, err, change, detail = (stack[shown, ch] for ch in (0, 2, 3, DETAIL))
    flow = flow @ share.T.astype(np.float32)
    arr, mean = (windows[shown, ch].astype(np.float32) for ch in (0, 1))
    del stack, windows
    n = len(arr)
    if n < 2 * win + 1:
        return []
    out: list[Candidate] = []
    where_: list[int] = []  # the window of each stop
    moves, still = _moving_then_still(arr, flow, win)
    settled = _settling(arr, win)
    for k in range(WINDOW_ROWS * WINDOW_COLS):
        r, c = divmod(k, WINDOW_COLS)
        # the windows a region away (up to the picture's edge): what a thing moving on
        # enters next
        neighbours = sorted({min(max(r + dr, 0), WINDOW_ROWS - 1) * WINDOW_COLS +
                             min(max(c + dc, 0), WINDOW_COLS - 1)
                             for dr in (-2, 0, 2) for dc in (-2, 0, 2)} - {k})
        for j in (np.flatnonzero(moves[:, k] & still[:, k]) + win + 1).tolist():
            if settled[j - win] > SETTLES:
                continue  # more than a thing settling: a transition ending, or the camera
            before = arr[j - win:j, k]
            level = float(before.mean())
            steps = np.diff(mean[j - win - 1:j, k])
            if float(np.abs(steps).mean()) >= 0.6 * level:
                continue  # brighter or darker as a whole, by turns (a flicker, a pulsing
                # light) or steadily (a dissolve, a fade): moving things change a region's
                # pixels, hardly its mean
            after = arr[j:j + win, k]
            if float(detail[j:j + win, covers[k]].mean()) < \
                    KEEPS_DETAIL * float(detail[j - win:j, covers[k]].mean()):
                continue  # it shows something flat now (dark, a border): not a thing stopped
            elsewhere = np.delete(change[j:j + win], covers[k], axis=1).max(axis=1)
            if float(elsewhere.mean()) < max(2.0, 0.25 * level):
                continue  # the rest must visibly move on (the whole scene settling is no stop)
            # where did the motion go? A thing moving on into the next region leaves
            # its background still here and raises the change there; a region that
            # stops dead leaves its neighbours as they were.
            around = arr[j - win:j, neighbours].mean(axis=0)
            rise = arr[j:j + 3, neighbours].mean(axis=0) - around
            if float(rise.max()) > 0.5 * level:
                continue
            # and it stops at speed: a thing easing out of the region fades first
            if float(before[-2:].min()) < AT_SPEED * level:
                continue
            if _spiked(err, change, covers[k], j, win):
                continue
            i = start + int(shown[j])
            where = region_name(r + 1, c + 1, 2 * ROWS, 2 * COLS)
            after_level = float(after.mean())
            speed = float(flow[j - win:j, k].mean())
            score = min(1.0, 0.3 + 0.7 * min(1.0, (level - 2) / 6))
            out.append(Candidate(
                i, index.time_of(i), score,
                f"the {where} region stops dead at frame {i}: its picture changed "
                f"{level:.1f} grey levels a frame (moving {speed:.1f} px a frame at "
                f"{MOTION_WIDTH} px wide) in the {seconds:.1f} s before, then "
                f"{after_level:.2f} (the same picture repeated) for the next "
                f"{seconds:.1f} s, while the rest keeps moving (changing "
                f"{float(elsewhere.mean()):.1f} a frame)",
                "stop", {"before": level, "after": after_level, "speed": speed,
                         "elsewhere": float(elsewhere.mean())},
                words=f"something in the {where} of the picture stops dead between frames "
                      f"{i - 1} and {i} while the rest keeps moving"))
            where_.append(k)
            break
    return _one_thing(out, where_)


AT_SPEED = 0.6
"""Least change of a region, in each of the two frames before it goes still, as a share of
its change over the half second before, for it to stop at speed. A thing easing out of the
region changes it less and less first: a line in FFmpeg's testsrc2 leaving a region read
0.57 there (a 0.54 alarm on an untouched clip); the benchmark's stops keep more (none is
lost at 0.6; at 0.7, two are)."""
KEEPS_DETAIL = 1 / 3
"""A region that stops dead still shows the thing that stopped: the fine detail of the
grid regions it lies in keeps at least this share of what they had over the half second
before (injected stops on the benchmark keep 57% or more). A moving region that turns
flat and still (a dissolve ending on dark sky, a pan reaching a border) is a picture
gone, not a stop (0 to 12% there)."""


def _spiked(err: np.ndarray, change: np.ndarray, own: list[int], j: int, win: int) -> bool:
    """Whether the motion ended in something no flow followed: the prediction error of a
    grid region the window lies in, or of a neighbour that went still with it, spiked at
    frame j (a thing jumping or vanishing; the window may have seen only the edge of a
    thing that vanished next to it)."""
    import numpy as np

    near = sorted({q + dr * COLS + dc for q in own for dr in (-1, 0, 1) for dc in (-1, 0, 1)
                   if 0 <= q // COLS + dr < ROWS and 0 <= q % COLS + dc < COLS})
    usual = np.median(err[j - win:j - 1, near], axis=0)
    for m, u in zip(near, usual, strict=True):
        if float(err[j - 1, m]) > max(2 * float(u), float(u) + 10) and (
                m in own or float(change[j:j + win, m].mean()) <= max(
                    STILL, 0.15 * float(change[j - win:j, m].mean()))):
            return True
    return False


@cache
def _covers() -> tuple[np.ndarray, list[list[int]]]:
    """For each window (Features.windows), its share of each grid region's area it lies
    in (rows: windows; columns: regions; each row sums to one), and those regions."""
    import numpy as np

    share = np.zeros((WINDOW_ROWS * WINDOW_COLS, ROWS * COLS))
    covers = []
    for k in range(WINDOW_ROWS * WINDOW_COLS):
        r, c = divmod(k, WINDOW_COLS)
        own = sorted({(rr // 2) * COLS + cc // 2 for rr in (r, r + 1) for cc in (c, c + 1)})
        share[k, own] = 1 / len(own)
        covers.append(own)
    return share, covers


def _moving_then_still(arr: np.ndarray, flow: np.ndarray, win: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """For each frame j from win + 1 to len - win (rows) and region (columns): whether the
    region changed steadily in the ``win`` frames before j (at least 1 grey level a frame
    on average, never below 0.3 of that) with motion in it (the flow at least MOVING),
    and whether it then repeats its picture for ``win`` frames (its change at most
    0.15 of that level and STILL on average). All frames at once, a region at a time: a
    stop is looked for only where both hold."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    n, regions = arr.shape
    before, after = slice(1, n - 2 * win + 1), slice(win + 1, n - win + 1)
    moves = np.zeros((n - 2 * win, regions), bool)
    still = np.zeros((n - 2 * win, regions), bool)
    for k in range(regions):
        runs = sliding_window_view(arr[:, k], win)  # runs[s]: frames s to s + win - 1
        level, low, high = runs.mean(axis=-1), runs.min(axis=-1), runs.max(axis=-1)
        speed = sliding_window_view(flow[:, k], win).mean(axis=-1)
        moves[:, k] = (level[before] >= 1.0) & (low[before] >= 0.3 * level[before]) & \
            (speed[before] >= MOVING)
        still[:, k] = (high[after] <= 0.15 * level[before]) & (level[after] <= STILL)
    return moves, still


SETTLES = WINDOW_ROWS * WINDOW_COLS // 3
"""Most windows that may settle at the frame a region stops (_settling): more is a
transition ending or the camera coming to rest. A thing stopping settles what it covers
and some around it: a model on a turntable stopping settled 48 of the 165 windows (a
quarter, 41, missed it). The benchmark's transitions settle 49 to 75, but none of them
reads as a stop without this limit now (their brightness moves as a whole, or the rest of
the picture stops too), over five draws; it stays for what they do not show."""


def _settling(arr: np.ndarray, win: int) -> np.ndarray:
    """For each frame j from win to len - win: how many windows changed at least 1 grey
    level a frame in the ``win`` frames before it and at most 0.3 of that in the ``win``
    from it (see SETTLES)."""
    import numpy as np

    level = _windows(arr, win, np.mean)  # level[s]: frames s to s + win - 1
    before, after = level[:-win], level[win:]
    return np.asarray(((before >= 1.0) & (after <= 0.3 * before)).sum(axis=1))


def _one_thing(stops: list[Candidate], windows: list[int]) -> list[Candidate]:
    """Stops at one frame count only as one thing stopping (the window where it is
    plainest): windows in one patch, at most a quarter of the picture. The picture going
    still in separate places at once, or over most of it, is a transition ending (a
    dissolve into a still shot), not a thing."""
    at: dict[int, set[int]] = {}
    best: dict[int, Candidate] = {}
    for c, k in zip(stops, windows, strict=True):
        at.setdefault(c.index, set()).add(k)
        if c.index not in best or _plainness(c) > _plainness(best[c.index]):
            best[c.index] = c
    return [c for i, c in sorted(best.items())
            if len(at[i]) <= WINDOW_ROWS * WINDOW_COLS // 4 and _one_patch(at[i])]


def _plainness(stop: Candidate) -> tuple[float, float]:
    """How plainly a window shows a stop: its score, then how much it changed before
    (scores reach 1.0 well short of the most a window can change)."""
    return stop.score, stop.values.get("before", 0.0)


def _one_patch(windows: set[int]) -> bool:
    """Whether the windows form one patch: each within two regions (four half-region
    steps) of another (the middle of a thing, its hub or a plain part, may not show the
    stop itself)."""
    first = next(iter(windows))
    seen, todo = {first}, [first]
    while todo:
        r, c = divmod(todo.pop(), WINDOW_COLS)
        for k in windows - seen:
            if abs(k // WINDOW_COLS - r) <= 4 and abs(k % WINDOW_COLS - c) <= 4:
                seen.add(k)
                todo.append(k)
    return seen == windows


FLICKER_JUMPS = 4
"""Brightness jumps within a second from which the light may be flickering (a light
switched on, or off, makes one to three)."""
MIN_FRAMES = {"physics": 3, "flicker": FLICKER_JUMPS + 2, "stall": 4}
"""Frames a shot needs before each measure looks at it (flicker: FLICKER_JUMPS jumps,
each between a frame's two neighbours; a stall: three changes after the first frame)."""
FLICKER_SURE = 6
"""From this many jumps in a second (three times up and down), a flicker scores by its
size alone; fewer (a flash with its afterglow, lightning) score less."""
REPEATED = 2.5
"""Largest change of any region (grey levels, mean absolute) between two frames that still
shows the same picture: compression noise, not a slow movement."""


def flicker(index: ClipIndex, f: Features, shots: Shots) -> tuple[list[Candidate], Series]:
    import numpy as np

    luma = f.luma
    osc: list[float | None] = [None] * len(luma)
    out = []
    fps = max(index.fps, 1.0)
    for start, end in shots.spans:
        # the pictures the shot shows: where a clip repeats frames, a brightness that
        # rises steadily rises in steps, which read as jumps up and down
        pictures, per_frame = f.pictures(start, end, fps)
        shown = (start + pictures).tolist()
        lum = [luma[i] for i in shown]
        values = [abs(lum[k] - (lum[k - 1] + lum[k + 1]) / 2) for k in range(1, len(lum) - 1)]
        for k, v in enumerate(values):
            osc[shown[k + 1]] = round(v, 3)
        if not values:
            continue
        floor = max(float(np.median(values)) * 4, 1.5)
        hot = [k + 1 for k, v in enumerate(values) if v > floor]  # in shown pictures
        window = max(2, round(fps * per_frame))
        done = -1  # every burst counts, not only a shot's first (lightning, then a flicker)
        for n, k in enumerate(hot):
            burst = [j for j in hot[n:] if j - k <= window]
            if k <= done or len(burst) < FLICKER_JUMPS:
                continue  # within the last burst; or a light switched on and off, a flash
            amp = max(values[j - 1] for j in burst)
            steps = {j: abs(lum[j] - lum[j - 1]) for j in range(k, min(len(lum), burst[-1] + 2))}
            top = max(steps.values())
            signed = [lum[j] - lum[j - 1] for j in steps]
            if min(max(signed), -min(signed)) < floor:
                continue  # one way only: the light or the exposure stepping, not pumping
            first = shown[next(j for j in sorted(steps) if steps[j] >= top / 3)]
            out.append(Candidate(
                first, index.time_of(first),
                min(1.0, amp / 16) * min(1.0, len(burst) / FLICKER_SURE),
                f"brightness jumps up to {amp:.1f} levels (of 255) between neighbouring "
                f"frames, {len(burst)} times within a second, against {floor / 4:.1f} usually",
                "flicker", {"amplitude": amp},
                words=f"the brightness jumps up and down {len(burst)} times within a second"))
            done = burst[-1]
    return out, {"brightness": [round(v, 3) for v in luma], "brightness_jump": osc}


def stall(index: ClipIndex, f: Features, shots: Shots) -> tuple[list[Candidate], Series]:
    """Runs of repeated frames (no region changes beyond compression noise) inside a shot
    that moves, entered at speed or left with a catch-up jump: the picture stops and
    restarts, where a slowing movement (a sway at its turning point, a scene settling)
    eases in and out."""
    import numpy as np

    local = np.asarray(f.raw_change)
    fps = max(index.fps, 1.0)
    out = []
    for start, end in shots.spans:
        if end - start < MIN_FRAMES["stall"]:
            continue
        # how the shot moves, told from its pictures (a clip made at a lower frame rate
        # repeats frames as a matter of course)
        shown = start + f.pictures(start, end, fps)[0][1:]
        moving = float(np.median(local[shown])) if len(shown) else 0.0
        run: int | None = None
        for i in range(start + 1, end + 1):
            still = i < end and local[i] < max(0.25, min(REPEATED, 0.3 * moving))
            if still and run is None:
                run = i
            elif not still and run is not None:
                seconds = (i - run) / fps
                pace = _pace(local, shown, run, i, fps, moving)
                entered = float(np.mean(local[shown[shown < run][-2:]])) \
                    if (shown < run).any() else 0.0
                # After a stall the picture jumps to where it would be: that jump can read
                # as a cut, so a run may end on one.
                jumped = i == end and end in shots.cuts
                left = float(np.mean(local[shown[shown >= i][:2]])) if i < end else 0.0
                # or it restarts with a jump far beyond the motion that follows: the
                # picture catching up with the time it stood still (a movement that eases
                # to a stop and starts again has no such jump)
                after = local[shown[shown > i][:5]]
                caught_up = i < end and len(after) > 0 and \
                    float(local[i]) >= max(4 * REPEATED, 3 * float(np.median(after)))
                # the catch-up is the picture leaving the stall at speed, by all the
                # motion it missed, however slowly it then goes on
                if seconds >= 0.2 and moving >= 1.0 and run > start + 1 and \
                        (jumped or caught_up or (i < end and left >= 0.5 * pace)) and \
                        (entered >= 0.5 * pace or caught_up) and \
                        i - run < 0.8 * (end - start):
                    how = "entered and left at speed" if entered >= 0.5 * pace else \
                        f"then a jump of {local[i]:.1f} grey levels to catch up"
                    out.append(Candidate(
                        run, index.time_of(run), min(1.0, seconds / 0.6),
                        f"frames {run - 1}-{i - 1} repeat the same picture ({seconds:.2f} s "
                        f"without motion, {how}; the shot otherwise changes {moving:.1f} grey "
                        f"levels a frame)", "freeze", {"seconds": seconds},
                        words=f"the picture stops moving for {seconds:.1f} s (frames "
                              f"{run - 1} to {i - 1} are nearly identical)"))
                run = None
    return out, {"region_change": [round(v, 3) for v in f.raw_change]}


def _pace(local: np.ndarray, shown: np.ndarray, run: int, end: int, fps: float,
          moving: float) -> float:
    """How fast the picture changes around a still run (frames ``run`` to ``end`` - 1): the
    median change over the second before it and the second after, or the shot's own
    (``moving``) where that is less. A scene's pace varies (people walking in and out of
    view): a stall is entered and left at the speed of the moments around it."""
    import numpy as np

    reach = max(2, round(fps))
    near = np.concatenate([shown[shown < run][-reach:], shown[shown >= end][:reach]])
    return min(moving, float(np.median(local[near]))) if len(near) else moving
