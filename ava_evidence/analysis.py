"""Measure where a clip broke: candidate failure moments with numbers behind them.

One sequential decode streams every frame by; per frame only small features are kept
(features.py: motion, prediction error, brightness; faces.py: each face's five landmarks,
a small aligned chip and now and then an embedding), so memory stays flat with length.
Then, shot by shot (shots.py: a cut is never a failure, nothing is compared across one):

- identity coherence: each face against its own first second (faces.py);
- physics: what no motion explains, and what stops dead (physics.py);
- flicker and stalls (physics.py).

Scores run 0..1; 0.5 or more means a person comparing the frames would see it::

    result = suggest(index, "identity-coherence")
    result.candidates[0].time, result.candidates[0].reason
    ranking = rank_failures(index)      # every measure, one decode; best failure first
    ranking.order[0], ranking.summary({"physics": "Physics Prior Degeneration"})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .analysis_types import SEEN, Candidate, Suggestion, region_name
from .timecode import format_seconds

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from fractions import Fraction

    from .clip import ClipIndex, Progress
    from .faces import FaceSample
    from .features import Features
    from .shots import Shots

__all__ = ["MEASURED", "RANKED", "Candidate", "Ranking", "Suggestion", "rank_failures",
           "region_name", "shot_cuts", "suggest"]

MEASURED = {"identity-coherence": "identity", "physics": "physics",
            "object-permanence": "physics", "visual-artifacts": "physics",
            "temporal-flicker": "flicker", "motion-freeze": "stall"}
"""Which measure each failure mode uses; others have no automatic signal."""
RANKED = ["identity-coherence", "physics", "temporal-flicker", "motion-freeze"]
"""The failures ``rank_failures`` measures (one per measure)."""
PLAIN = {"identity-coherence": "identity", "physics": "physics",
         "temporal-flicker": "flicker", "motion-freeze": "a stall"}
MIN_SCORE = 0.1
"""Below this a moment is not worth listing."""
DECODE_WIDTH = 640
"""Frames are decoded this wide for every measure (faces read them at this size; motion
shrinks them again). One size for all, so the motion features, and every score made
from them, are the same whether or not faces are measured. Decoding straight to the
motion width took every fourth or sixth pixel of a 720p or 1080p frame (iter_luma
decimates down to twice the width asked for), and the fine texture that aliased read as
change."""


@dataclass
class _Measured:
    features: Features
    shots: Shots
    faces: list[FaceSample] | None


@dataclass
class Ranking:
    """Every measured failure, best first: what `suggest` without --failure shows."""

    results: dict[str, Suggestion]
    """Per failure key (RANKED), its suggestion."""
    order: list[str]
    """Failure keys whose top moment scores MIN_SCORE or more, highest first."""
    notes: list[str] = field(default_factory=list)

    def top(self) -> tuple[str, Candidate] | None:
        """The failure most plainly seen and its moment, if any scores SEEN or more."""
        if self.order and self.results[self.order[0]].candidates[0].score >= SEEN:
            key = self.order[0]
            return key, self.results[key].candidates[0]
        return None

    def summary(self, terms: dict[str, str] | None = None) -> str:
        """One line: "Identity Coherence Failure at 1.600 s, score 0.80; nothing stands
        out for physics, flicker or a stall"."""
        terms = terms or {}
        seen = [k for k in self.order if self.results[k].candidates[0].score >= SEEN]
        faint = [k for k in self.order if k not in seen]
        quiet = [k for k in RANKED if k not in self.order]
        parts = [f"{terms.get(k, k)} at {format_seconds(c.time)} s, score {c.score:.2f}"
                 for k in seen for c in self.results[k].candidates[:1]]
        if faint:
            parts.append("faint signs of " + _or([PLAIN[k] for k in faint]) +
                         ", worth a look (scores under 0.5: a person may not see it)")
        def unmeasured(k: str) -> str | None:
            return self.results[k].unmeasured if k in self.results else None

        if measured := [k for k in quiet if not unmeasured(k)]:
            parts.append("nothing stands out for " + _or([PLAIN[k] for k in measured]))
        why: dict[str, list[str]] = {}
        for k in quiet:
            if reason := unmeasured(k):
                why.setdefault(reason, []).append(PLAIN[k])
        parts += [f"not measured for {_or(words)} ({reason})" for reason, words in why.items()]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {"order": self.order, "notes": self.notes,
                "failures": {k: v.to_dict() for k, v in self.results.items()}}


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def suggest(index: ClipIndex, failure: str, *, top: int = 3,
            on_progress: Progress | None = None) -> Suggestion:
    """Measure the clip for ``failure`` (a catalog key) and rank candidate moments."""
    measure = MEASURED.get(failure)
    if measure is None:
        return Suggestion(failure, [], {}, [f"no automatic measure exists for {failure}: "
                                            f"what shows it is yours to give"],
                          unmeasured=NO_MEASURE)
    m = _measure(index, faces=measure == "identity", on_progress=on_progress)
    return _suggestion(index, m, failure, top)


def rank_failures(index: ClipIndex, *, top: int = 3,
                  on_progress: Progress | None = None) -> Ranking:
    """Run every measure in one decode and rank the failures by their top moment."""
    results: dict[str, Suggestion] = {}

    def without_faces(m: _Measured) -> None:
        for key in RANKED:
            if MEASURED[key] != "identity":
                results[key] = _suggestion(index, m, key, top)

    m = _measure(index, faces=True, on_progress=on_progress, meanwhile=without_faces)
    return _ranked(index, m, top, results)


def _ranked(index: ClipIndex, m: _Measured, top: int,
            scored: dict[str, Suggestion] | None = None) -> Ranking:
    """Every failure's moments from the measured clip (those ``scored`` already taken as
    they are), the failures ordered by their top moment."""
    scored = scored or {}
    results = {key: scored[key] if key in scored else _suggestion(index, m, key, top)
               for key in RANKED}
    order = sorted((k for k in RANKED if results[k].candidates),
                   key=lambda k: -results[k].candidates[0].score)
    return Ranking(results, order, _shot_notes(index, m.shots))


def shot_cuts(index: ClipIndex, *, on_progress: Progress | None = None) -> list[int]:
    """Frames that start a new shot (one pass over the clip at motion size)."""
    return _measure(index, faces=False, on_progress=on_progress).shots.cuts


def _measure(index: ClipIndex, *, faces: bool, on_progress: Progress | None,
             meanwhile: Callable[[_Measured], None] | None = None) -> _Measured:
    """One decode at analysis size feeding every measure frame by frame (the motion
    features, and the faces where asked), then the shots: per-frame features only are
    kept, so memory follows the clip's length, not its pictures. ``meanwhile`` is given
    the motion's measures (no faces) while the faces' last samples are still measured:
    the decode ends some samples ahead of them, and what needs no face is scored in that
    time instead of after it."""
    from contextlib import closing, nullcontext

    from .background import InOrder
    from .decode import iter_luma_sharp, read_ahead
    from .faces import FaceMeter
    from .features import MotionMeter
    from .shots import CUT_SHARE, blank, find_shots, lost

    motion = MotionMeter(max(index.fps, 1.0))
    face = FaceMeter(max(index.fps, 1.0)) if faces else None
    # the frames faces are sampled at come sharp too: a picture boxed in a wide frame is
    # measured for faces at its own size, not shrunk with its bars
    sharp = face.wants if face is not None else None
    with closing(read_ahead(iter_luma_sharp(index, DECODE_WIDTH, sharp=sharp,
                                            on_progress=on_progress))) as frames, \
            (_one_blas_thread() if face is not None else nullcontext()), \
            (InOrder() if face is not None else nullcontext(None)) as faces_behind:
        # the faces are measured on a thread of their own, beside the motion
        for i, luma, big in frames:
            motion.add(luma)
            if face is not None and faces_behind is not None:
                # most likely a new shot (a cut, a blank frame in a fade through black,
                # the end of a dissolve): follow faces anew
                empty = blank(motion.features.contrast[-1])
                if empty or motion.faded_in or lost(motion.features.cells[-1]) >= CUT_SHARE:
                    faces_behind.call(face.cut, i)
                if not empty and face.wants(i):  # else the next frame is searched
                    faces_behind.call(face.add, i, luma, motion.area, big)
        if face is not None and faces_behind is not None:
            faces_behind.call(face.finish)
        shots = find_shots(motion.features, max(index.fps, 1.0))
        if meanwhile is not None:
            meanwhile(_Measured(motion.features, shots, None))
    return _Measured(motion.features, shots, face.samples if face is not None else None)


def _one_blas_thread() -> AbstractContextManager[object]:
    """numpy's matrix products (the face embedding network's) on one thread while the
    clip is measured. The faces' thread already runs beside the decoder, which keeps every
    core busy; OpenBLAS's own threads spin while they wait for the next product and took
    those cores from it: 0.3 to 0.6 s of processor time in 10 s of a 1080p clip with faces,
    each embedding 12 ms of it on two threads against 9 ms on one. The command line sets
    OPENBLAS_NUM_THREADS before numpy loads (cli.main); a program calling the library has
    usually loaded numpy already."""
    from threadpoolctl import threadpool_limits

    limits: AbstractContextManager[object] = threadpool_limits(1, user_api="blas")
    return limits


def _suggestion(index: ClipIndex, m: _Measured, failure: str, top: int) -> Suggestion:
    """One failure's moments from the measured clip, ranked, with the notes that say what
    its shots were and why nothing was found or measured, where so."""
    from . import physics

    notes = _shot_notes(index, m.shots)
    measure = MEASURED[failure]
    unmeasured = None
    charted = None
    # identity compares each face with its shot's first second: it needs a shot longer
    # than that (else the clip's length, not its faces, is why it found nothing)
    shortest = math.ceil(BASELINE_SECONDS * index.fps) + 1 if measure == "identity" else \
        physics.MIN_FRAMES.get(measure, physics.MIN_FRAMES["physics"])
    if measure == "identity":
        from .faces import NO_FACE, NO_LATER, identity

        candidates, series, more, charted = identity(index, m.faces or [], m.shots)
        if _too_short(index, m.shots, shortest) is None:
            notes += more
            unmeasured = "no face seen from the front" if NO_FACE in more else \
                "no face followed past its first second" if NO_LATER in more else None
    elif measure == "physics":
        candidates, series = physics.physics(index, m.features, m.shots)
    elif measure == "flicker":
        candidates, series = physics.flicker(index, m.features, m.shots)
    else:
        candidates, series = physics.stall(index, m.features, m.shots)
    series["time_s"] = [round(float(t), 4) for t in index.frame_times]
    kept = [c for c in candidates if c.score >= MIN_SCORE]
    ranked = _suppress(sorted(kept, key=lambda c: -c.score))[:max(0, top)]
    short = _too_short(index, m.shots, shortest)
    if short is None and not ranked and unmeasured is None:
        # nothing found is no verdict where no shot lasts what a moment is compared with
        short = _too_short(index, m.shots, math.ceil(BASELINE_SECONDS * index.fps))
    if short is not None:
        unmeasured, note = short
        notes.append(note)
    elif not ranked and unmeasured is None:
        notes.append("nothing stands out from the clip's own variation")
    return Suggestion(failure, ranked, series, notes,
                      cuts=[float(index.time_of(c)) for c in m.shots.cuts],
                      transitions=_transitions(index, m.shots),
                      unmeasured=unmeasured, charted=charted)


def _too_short(index: ClipIndex, shots: Shots, frames: int) -> tuple[str, str] | None:
    """Why a measure needing shots of ``frames`` frames could not look at the clip (for the
    summary, and for the notes), or None if it could."""
    if any(b - a >= frames for a, b in shots.spans):
        return None
    if not shots.spans:
        return "only blank frames", "only blank frames or transitions: no picture to measure"
    if index.frame_count < frames:
        return "the clip is too short", f"too short to measure: fewer than {frames} frames"
    return "no shot long enough", f"no shot has {frames} frames or more between its cuts"


NO_MEASURE = "no automatic measure exists for it"
"""Why a failure without a measure (MEASURED) is not measured."""
BASELINE_SECONDS = 1.0
"""What each measure compares a moment with lasts about a second (a face's first second,
the motion of the second before): in shorter shots, finding nothing says nothing."""


def _transitions(index: ClipIndex, shots: Shots) -> list[tuple[float, float, str]]:
    """What lies between the shots, measured by no measure, as (start, end) seconds for
    the chart and --json: "dissolve", "blank" (black or one-colour frames only) or "fade"
    (blank frames and the fading frames around them)."""
    out: list[tuple[float, float, str]] = []
    for at, a in _gaps(index, shots):
        kind = "dissolve" if any(at < hi and lo < a for lo, hi in shots.dissolves) else \
            "blank" if any(lo <= at and a <= hi for lo, hi in shots.blanks) else "fade"
        out.append((float(index.time_of(at)), float(_end(index, a)), kind))
    return out


def _gaps(index: ClipIndex, shots: Shots) -> list[tuple[int, int]]:
    """The frames [a, b) between the shots (and before the first, after the last)."""
    out = []
    at = 0
    for a, b in [*shots.spans, (index.frame_count, index.frame_count)]:
        if a > at:
            out.append((at, a))
        at = max(at, b)
    return out


def _end(index: ClipIndex, frame: int) -> Fraction:
    """Where frames up to ``frame`` (not included) end (exact: a float of 2.2 s is a hair
    over it, and times are printed rounded up)."""
    return index.time_of(frame) if frame < index.frame_count else index.duration


def _shot_notes(index: ClipIndex, shots: Shots) -> list[str]:
    """Cuts, blank runs and dissolves in words, in the clip's order: why a moment there is
    no failure, and where the shots each measure ran on begin."""
    def when(a: int, b: int) -> str:
        return f"{_frames(a, b)}, {format_seconds(index.time_of(a))} s to " \
               f"{format_seconds(_end(index, b))} s"

    notes = [(c, f"hard cut at {format_seconds(index.time_of(c))} s (frame {c}); shots are "
                 f"measured separately") for c in shots.cuts]
    notes += _blank_notes(index, shots, when)
    notes += [(a, f"dissolve over {when(a, b)}: one shot blending into the next, not a "
                  f"failure; shots are measured separately") for a, b in shots.dissolves]
    return [text for _, text in sorted(notes, key=lambda n: n[0])]  # in the clip's order


def _blank_notes(index: ClipIndex, shots: Shots, when: Callable[[int, int], str]
                 ) -> list[tuple[int, str]]:
    """Blank frames in words, once for each stretch between shots that holds some: the
    fading frames around them belong to no shot either, and are said with them."""
    out = []
    for lo, hi in _gaps(index, shots):
        runs = [(a, b) for a, b in shots.blanks if lo <= a and b <= hi]
        if not runs:
            continue
        if runs == [(lo, hi)]:
            out.append((lo, f"blank {when(lo, hi)}: a fade or black frames, not a failure"))
            continue
        between = any(b <= lo for _, b in shots.spans) and any(a >= hi for a, _ in shots.spans)
        out.append((lo, f"fade through blank {' and '.join(_frames(a, b) for a, b in runs)} "
                        f"over {when(lo, hi)}: not a failure"
                        + ("; shots are measured separately" if between else "")))
    return out


def _frames(a: int, b: int) -> str:
    """Frames [a, b) in words: "frame 0", "frames 3-9"."""
    return f"frame {a}" if b - a == 1 else f"frames {a}-{b - 1}"


def _suppress(ranked: list[Candidate]) -> list[Candidate]:
    """Keep the best candidate within any half second."""
    kept: list[Candidate] = []
    for c in ranked:
        if all(abs(float(c.time - k.time)) >= 0.5 for k in kept):
            kept.append(c)
    return kept
