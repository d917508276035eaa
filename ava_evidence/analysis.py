"""Measure where a clip broke: candidate failure moments with numbers behind them.

One sequential decode gives every frame as a small luma image; the measures
below run on those. Each failure mode gets the signals that are cheap and
meaningful for it:

- identity coherence: faces (OpenCV's Haar cascades) tracked per shot; eye
  spacing relative to face width, face box aspect, and appearance similarity of
  the face crop to a baseline from the shot's first stable second. The onset is
  where the deviation leaves the baseline's noise band, not where it peaks.
- physics: frame-to-frame change and optical flow against their local median
  (things that jump), and regions that stop while the rest moves.
- flicker: frame-to-frame brightness oscillation; motion freeze: runs of
  near-identical frames.

Hard cuts split the clip into shots; nothing is compared across a cut::

    result = suggest(index, "identity-coherence")
    result.candidates[0].time, result.candidates[0].reason
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .timecode import format_clock, format_seconds, format_short

if TYPE_CHECKING:
    import numpy as np

    from .clip import ClipIndex, Progress

ANALYSIS_WIDTH = 480
MOTION_WIDTH = 160
FACE_SAMPLES_PER_SECOND = 8
GRID = 4
"""Regions per side for the freeze measure."""


@dataclass(frozen=True)
class Candidate:
    """A moment where the failure is measured to show."""

    index: int
    time: Fraction
    score: float
    reason: str
    kind: str
    values: dict[str, float] = field(default_factory=dict)
    words: str = ""
    """What a person sees at this moment, in words fit for the ticket's message (no score,
    no jargon): "her eyes are about 30% farther apart than at the start of the shot"."""
    baseline: int | None = None
    """The frame this moment is best compared with: for a gradual change, the start of
    its shot (next to the frame before, a slow drift looks the same); None: the frame
    before."""

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

    def to_dict(self) -> dict[str, Any]:
        return {"failure": self.failure, "candidates": [c.to_dict() for c in self.candidates],
                "series": self.series, "notes": self.notes}


MEASURED = {"identity-coherence": "faces", "physics": "motion", "object-permanence": "motion",
            "temporal-flicker": "flicker", "motion-freeze": "freeze",
            "visual-artifacts": "motion"}
"""Which measure each failure mode uses; others have no cheap signal."""


def suggest(index: ClipIndex, failure: str, *, top: int = 3,
            on_progress: Progress | None = None) -> Suggestion:
    """Measure the clip for ``failure`` (a catalog key) and rank candidate moments."""

    from .decode import iter_luma

    measure = MEASURED.get(failure)
    if measure is None:
        return Suggestion(failure, [], {}, [f"no automatic measure exists for {failure}: "
                                            f"mark the moment yourself with --mark"])
    # Faces need detail but only a few frames a second; motion needs every frame but
    # little detail. Keep only that, so a long clip does not fill memory.
    step = face_step(index)
    faces: dict[int, np.ndarray] = {}
    small: list[np.ndarray] = []
    for i, luma in iter_luma(index, ANALYSIS_WIDTH, on_progress=on_progress):
        if measure == "faces" and i % step == 0:
            faces[i] = luma
        small.append(_shrink(luma, MOTION_WIDTH))
    times = [float(t) for t in index.frame_times]
    cuts = detect_cuts(small)
    notes = [f"hard cut at {format_seconds(index.time_of(c))} s (frame {c}); shots are "
             f"measured separately" for c in cuts]
    if measure == "faces":
        candidates, series = _faces(index, faces, len(small), cuts, notes)
    elif measure == "motion":
        candidates, series = _motion(index, small, cuts)
    elif measure == "flicker":
        candidates, series = _flicker(index, small, cuts)
    else:
        candidates, series = _freeze(index, small, cuts)
    series["time_s"] = [round(t, 4) for t in times]
    ranked = _suppress(sorted(candidates, key=lambda c: -c.score))[:max(0, top)]
    if not ranked:
        notes.append("nothing stands out from the clip's own variation")
    return Suggestion(failure, ranked, series, notes)


def _shrink(frame: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h = max(1, round(frame.shape[0] * width / frame.shape[1]))
    return cv2.resize(frame, (width, h), interpolation=cv2.INTER_AREA)


def _suppress(ranked: list[Candidate]) -> list[Candidate]:
    """Keep the best candidate within any half second."""
    kept: list[Candidate] = []
    for c in ranked:
        if all(abs(float(c.time - k.time)) >= 0.5 for k in kept):
            kept.append(c)
    return kept


def _local_median(values: Sequence[float], i: int, radius: int) -> float:
    import numpy as np

    lo, hi = max(0, i - radius), min(len(values), i + radius + 1)
    window = [v for j, v in enumerate(values[lo:hi], lo) if j != i]
    return float(np.median(window)) if window else 0.0


def detect_cuts(frames: Sequence[np.ndarray]) -> list[int]:
    """Frames that start a new shot: the picture's structure changes almost entirely at
    once. Brightness alone (flicker) does not count: frames are compared after removing
    their mean and contrast."""
    import numpy as np

    cuts = []
    norm = []
    for f in frames:
        x = f.astype(np.float32)
        x -= x.mean()
        norm.append(x / (float(np.sqrt((x * x).mean())) or 1.0))
    for i in range(1, len(frames)):
        if float((norm[i] * norm[i - 1]).mean()) < 0.5:
            cuts.append(i)
    return cuts


def _cell_changes(frames: Sequence[np.ndarray]) -> list[list[float]]:
    """Mean absolute change of each region of a GRID x GRID split, frame to frame."""
    import cv2

    out = [[0.0] * (GRID * GRID)]
    for i in range(1, len(frames)):
        d = cv2.absdiff(frames[i], frames[i - 1])
        h, w = d.shape
        out.append([float(d[r * h // GRID:(r + 1) * h // GRID,
                             c * w // GRID:(c + 1) * w // GRID].mean())
                    for r in range(GRID) for c in range(GRID)])
    return out


def _shots(count: int, cuts: Sequence[int]) -> list[tuple[int, int]]:
    bounds = [0, *cuts, count]
    return [(a, b) for a, b in pairwise(bounds) if b > a]


# -- identity coherence --------------------------------------------------------------------

@dataclass
class _Track:
    """One face followed through a shot."""

    side: str
    box: tuple[int, int, int, int]
    crops: list[np.ndarray] = field(default_factory=list)
    eyes: tuple[float, float] | None = None
    samples: list[tuple[int, float | None, float | None, float | None, bool]] = \
        field(default_factory=list)
    """(frame, eye ratio, aspect, similarity, detected)."""


def _detector() -> Any:
    import cv2

    # The cascades ship inside opencv-python-headless 4.x (pinned below 5, which dropped them).
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined,unused-ignore]
    return cv2.CascadeClassifier(path)  # type: ignore[attr-defined,unused-ignore]


def _crop(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    import cv2

    x, y, w, h = box
    region = frame[max(0, y):y + h, max(0, x):x + w]
    if region.size == 0:
        region = frame
    return cv2.equalizeHist(cv2.resize(region, (64, 64), interpolation=cv2.INTER_AREA))


def _eyes(crop: np.ndarray, previous: tuple[float, float] | None) -> tuple[float, float] | None:
    """Horizontal positions of the two eyes in an equalised 64x64 face crop: dark blobs in
    the eye band, each the one nearest where that eye was before (the largest at first)."""
    import cv2

    band = crop[14:36, 4:60]
    _, mask = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(mask)
    blobs = [(int(stats[i, cv2.CC_STAT_AREA]), float(centroids[i][0]) + 4)
             for i in range(1, count) if 4 <= stats[i, cv2.CC_STAT_AREA] <= 200]
    left = [b for b in blobs if b[1] < 32]
    right = [b for b in blobs if b[1] >= 32]
    if not left or not right:
        return None
    if previous is None:
        previous = (21.0, 43.0)  # where eyes sit in a face box: about a third in from each side
    lx = min(left, key=lambda b: abs(b[1] - previous[0]))[1]
    rx = min(right, key=lambda b: abs(b[1] - previous[1]))[1]
    return lx, rx


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    fa = a.astype(np.float32) - a.mean()
    fb = b.astype(np.float32) - b.mean()
    denom = float(np.sqrt((fa * fa).sum() * (fb * fb).sum())) or 1.0
    return float((fa * fb).sum() / denom)


def face_step(index: ClipIndex) -> int:
    """Every how many frames faces are measured (about FACE_SAMPLES_PER_SECOND a second)."""
    return max(1, round(max(index.fps, 1.0) / FACE_SAMPLES_PER_SECOND))


def _faces(index: ClipIndex, frames: dict[int, np.ndarray], count: int, cuts: Sequence[int],
           notes: list[str]) -> tuple[list[Candidate], dict[str, list[float | None]]]:
    import numpy as np

    detector = _detector()
    fps = max(index.fps, 1.0)
    step = face_step(index)
    eye_series: list[float | None] = [None] * count
    sim_series: list[float | None] = [None] * count
    candidates: list[Candidate] = []
    found_any = False
    for start, end in _shots(count, cuts):
        detections: dict[int, list[tuple[int, int, int, int]]] = {}
        for i in range(start, end):
            if i not in frames:
                continue
            h = frames[i].shape[0]
            found = detector.detectMultiScale(frames[i], 1.1, 4, minSize=(h // 8, h // 8))
            detections[i] = sorted(((int(b[0]), int(b[1]), int(b[2]), int(b[3]))
                                    for b in found), key=lambda b: b[0])
        base_end = start + max(step, round(fps))
        people = _people([d for i, d in detections.items() if i < base_end])
        if not people:
            continue
        found_any = True
        sides = (["only"] if len(people) == 1 else
                 ["left", "right"] if len(people) == 2 else
                 [f"face {k + 1} from the left" for k in range(len(people))])
        tracks = [_Track(side, box) for side, box in zip(sides, people, strict=True)]
        for i in sorted(detections):
            for track in tracks:
                match = _nearest(detections[i], track.box)
                detected = match is not None
                if match is not None:
                    # Follow the face's centre but keep the baseline's box size: detector
                    # boxes jitter in scale, and the measures are relative to the box.
                    _, _, w, h = track.box
                    mx, my = match[0] + match[2] / 2, match[1] + match[3] / 2
                    size = w if i >= base_end else match[2]
                    track.box = (round(mx - size / 2), round(my - size * h / w / 2), size,
                                 round(size * h / w) if i >= base_end else match[3])
                crop = _crop(frames[i], track.box)
                track.crops.append(crop)
                eyes = _eyes(crop, track.eyes)
                if eyes is not None:
                    track.eyes = eyes
                eye = (eyes[1] - eyes[0]) / 64.0 if eyes is not None else None
                aspect = match[3] / match[2] if match is not None else None
                track.samples.append((i, eye, aspect, None, detected))
        for track in tracks:
            # The face's look in the shot's first second: the per-pixel median of its crops.
            base = [c for (i, *_), c in zip(track.samples, track.crops, strict=True)
                    if i < base_end]
            reference = np.median(np.stack(base), axis=0) if base else None
            track.samples = [(i, eye, aspect,
                              _similarity(crop, reference) if reference is not None else None,
                              detected)
                             for (i, eye, aspect, _, detected), crop
                             in zip(track.samples, track.crops, strict=True)]
            c = _track_onset(index, track, start, base_end, step)
            if c is not None:
                candidates.append(c)
            if track is tracks[0]:
                for i, eye, _, sim, _ in track.samples:
                    eye_series[i] = eye
                    sim_series[i] = sim
    if not found_any:
        notes.append("no face was found steadily enough in the first second of a shot to "
                     "measure identity")
    base_eyes = [v for v in eye_series if v is not None]
    ref = float(np.median(base_eyes[:4])) if base_eyes else None
    eye_change = [None if v is None or not ref else round(v / ref - 1, 4) for v in eye_series]
    return candidates, {"eye_spacing_change": eye_change,
                        "face_similarity": [None if v is None else round(v, 4)
                                            for v in sim_series]}


def _people(samples: list[list[tuple[int, int, int, int]]]) -> list[tuple[int, int, int, int]]:
    """The faces present through a shot's first second, left to right: detections grouped
    by position, kept when seen in at least a third of the samples (a face the detector
    misses now and then still counts; a one-off false detection does not)."""
    import numpy as np

    groups: list[list[tuple[int, int, int, int]]] = []
    for boxes in samples:
        for box in boxes:
            cx = box[0] + box[2] / 2
            for g in groups:
                ref = g[0]
                if abs(ref[0] + ref[2] / 2 - cx) < 0.5 * ref[2] and \
                        0.75 <= box[2] / ref[2] <= 1.33:
                    g.append(box)
                    break
            else:
                groups.append([box])
    need = max(2, len(samples) / 3)
    people = [tuple(int(v) for v in np.median(np.array(g), axis=0)) for g in groups
              if len(g) >= need]
    return sorted(people, key=lambda b: b[0])  # type: ignore[arg-type,unused-ignore]


def _nearest(boxes: Sequence[tuple[int, int, int, int]],
             box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    best, best_d = None, 0.6 * box[2]
    for b in boxes:
        if not 0.75 <= b[2] / box[2] <= 1.33:
            continue  # a box of another size is another thing, not this face
        d = abs(b[0] + b[2] / 2 - cx) + abs(b[1] + b[3] / 2 - cy)
        if d < best_d:
            best, best_d = b, d
    return best


def _track_onset(index: ClipIndex, track: _Track, shot_start: int, base_end: int,
                 step: int) -> Candidate | None:
    """Where this face's measures first leave their baseline noise band for good."""
    import numpy as np

    base = [s for s in track.samples if s[0] < base_end]
    after = [s for s in track.samples if s[0] >= base_end]
    if not after:
        return None

    def band(k: int, floor: float) -> tuple[float, float] | None:
        """Centre and spread of a measure in the first second (median and MAD: one bad
        sample must not widen the band)."""
        values = [float(v) for s in base if (v := s[k]) is not None]
        if len(values) < 2:
            return None
        centre = float(np.median(values))
        spread = 1.4826 * float(np.median([abs(v - centre) for v in values]))
        return centre, max(spread, floor)

    eye_band, sim_band = band(1, 0.015), band(3, 0.06)
    rows = []  # (frame, eye/sim deviation that counts, eye/sim raw deviation, eye change,
    #           similarity, detected)
    for i, eye, _, sim, detected in after:
        eye_dev = (abs(eye - eye_band[0]) / eye_band[1]
                   if eye is not None and eye_band else 0.0)
        sim_dev = ((sim_band[0] - sim) / sim_band[1] if sim is not None and sim_band else 0.0)
        eye_change = (eye / eye_band[0] - 1) if eye is not None and eye_band else 0.0
        sim_value = sim if sim is not None else 1.0
        # Only a change large enough to see counts: 8% in eye spacing, 0.12 in similarity.
        eye_counted = eye_dev if abs(eye_change) >= 0.08 else 0.0
        sim_counted = sim_dev if sim_band and sim_band[0] - sim_value >= 0.12 else 0.0
        rows.append((i, eye_counted, sim_counted, eye_dev, sim_dev, eye_change, sim_value,
                     detected))
    # Onset, per measure: the first sample from which it is above 3 noise bands and stays
    # above 2 for most of what follows (a drift persists; a glitch does not); then step
    # back to where that measure first left the baseline's noise band.
    onsets = []
    for counted, raw in ((1, 3), (2, 4)):
        for k in range(len(rows) - 1):
            rest = rows[k:]
            if rows[k][counted] > 3 and rows[k + 1][counted] > 3 and \
                    sum(1 for r in rest if r[counted] > 2) >= 0.7 * len(rest):
                j = k
                while j > 0 and rows[j - 1][raw] > 1.0:
                    j -= 1
                onsets.append((j, k))
                break
    if not onsets:
        return None
    j, k = min(onsets)
    onset = rows[j][0]
    peak_row = max(rows[k:], key=lambda r: abs(r[5]))
    peak_change = peak_row[5]
    peak_eye = abs(peak_change)
    low_sim = min((r[6] for r in rows[k:]), default=1.0)
    lost = sum(1 for r in rows[k:] if not r[7]) / max(1, len(rows[k:]))
    sim_drop = max(0.0, sim_band[0] - low_sim) if sim_band else 0.0
    score = min(1.0, 0.45 * min(1.0, peak_eye / 0.25) + 0.45 * min(1.0, sim_drop / 0.4)
                + 0.1 * lost)
    who = "" if track.side == "only" else f" ({track.side} face)"
    eyes = ""
    if peak_eye >= 0.08:  # the smallest change in eye spacing that is plain to see
        eyes = (f"eyes up to {peak_eye * 100:.0f}% "
                f"{'farther apart' if peak_change > 0 else 'closer together'} than in the "
                f"shot's first second; ")
    reason = f"{eyes}face appearance similarity down to {low_sim:.2f}{who}"
    face = "the face" if track.side == "only" else f"the {track.side.removesuffix(' face')} face"
    peak = peak_row[0]
    by = f"by {format_short(index.time_of(peak))} (frame {peak})"
    later = (f"; {by} its eyes are about {peak_eye * 100:.0f}% "
             f"{'farther apart' if peak_change > 0 else 'closer together'} than at the start "
             f"of the shot" if peak_eye >= 0.08 else
             f"; {by} it no longer looks like the face at the start of the shot")
    return Candidate(onset, index.time_of(onset), score, reason, "identity",
                     {"eye_spacing_change": peak_eye, "face_similarity": low_sim},
                     words=f"{face} starts to change{later}", baseline=shot_start)


# -- motion: jumps and frozen regions ------------------------------------------------------

def _diffs(frames: Sequence[np.ndarray]) -> list[float]:
    import cv2
    import numpy as np

    return [0.0] + [float(np.mean(cv2.absdiff(frames[i], frames[i - 1])))
                    for i in range(1, len(frames))]


def _motion(index: ClipIndex, frames: list[np.ndarray],
            cuts: Sequence[int]) -> tuple[list[Candidate], dict[str, list[float | None]]]:
    import numpy as np

    count = len(frames)
    diff = _diffs(frames)
    cells = _cell_changes(frames)
    for i in cuts:
        cells[i] = [0.0] * (GRID * GRID)
    fps = max(index.fps, 1.0)
    radius = max(3, round(fps / 2))
    candidates = []
    jump: list[float | None] = [None] * count
    # The strongest change in any region: a small object that jumps stands out there,
    # where over the whole frame it would be diluted.
    local = [max(c) for c in cells]
    for start, end in _shots(count, cuts):
        for i in range(start + 1, end):
            med = _local_median(local[start + 1:end], i - start - 1, radius)
            ratio = local[i] / max(med, 1.0)
            jump[i] = round(ratio, 3)
            if ratio >= 4 and local[i] >= 4:
                # Optical flow only where it is needed: at the jump and around it.
                around = [j for j in range(max(start + 1, i - radius), min(end, i + radius + 1),
                                           2) if j != i]
                usual = float(np.median([_flow(frames, j) for j in around])) if around else 0.0
                fratio = _flow(frames, i) / max(usual, 0.05)
                score = min(1.0, (ratio - 3) / 5)
                r, c = divmod(int(np.argmax(cells[i])), GRID)
                candidates.append(Candidate(
                    i, index.time_of(i), score,
                    f"change in one region {ratio:.1f}x its usual level, optical flow "
                    f"{fratio:.1f}x: something jumps between frames {i - 1} and {i}",
                    "jump", {"change_ratio": ratio, "flow_ratio": fratio},
                    words=f"something in the {_region_name(r, c)} of the picture jumps "
                          f"between frames {i - 1} and {i}"))
        candidates += _frozen_regions(index, cells, start, end, fps)
    return candidates, {"frame_change": [round(v, 3) for v in diff], "change_ratio": jump}


def _flow(frames: Sequence[np.ndarray], i: int) -> float:
    """Mean optical-flow magnitude (Farneback) between frames i-1 and i."""
    import cv2
    import numpy as np

    f = cv2.calcOpticalFlowFarneback(frames[i - 1], frames[i], None,  # type: ignore[call-overload,unused-ignore]
                                     0.5, 2, 9, 2, 5, 1.1, 0)
    return float(np.hypot(f[..., 0], f[..., 1]).mean())


_REGION_NAMES = ["top", "upper middle", "lower middle", "bottom"]


def _region_name(row: int, col: int) -> str:
    return f"{_REGION_NAMES[row]} {['left', 'centre-left', 'centre-right', 'right'][col]}"


def _frozen_regions(index: ClipIndex, cells: list[list[float]], start: int, end: int,
                    fps: float) -> list[Candidate]:
    """Regions that kept moving for half a second, then stop at once while something else
    in the clip moves on, and whose motion does not pass to a neighbouring region (the
    thing stopped; it did not just move elsewhere)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    win = max(3, round(fps / 2))
    arr = np.asarray(cells[start:end], dtype=np.float64)
    n = len(arr)
    if n < 2 * win + 1:
        return []
    windows = sliding_window_view(arr, win, axis=0)  # (n - win + 1, cells, win)
    mean_w, min_w, max_w = windows.mean(-1), windows.min(-1), windows.max(-1)
    order = np.sort(arr, axis=1)
    top1, top2 = order[:, -1], order[:, -2]
    argmax = arr.argmax(axis=1)
    out = []
    for k in range(GRID * GRID):
        r, c = divmod(k, GRID)
        neighbours = [(r + dr) * GRID + c + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1)
                      if (dr or dc) and 0 <= r + dr < GRID and 0 <= c + dc < GRID]
        elsewhere = np.where(argmax == k, top2, top1)
        for j in range(win, n - win + 1):
            level = mean_w[j - win, k]  # the window before j
            if level < 1.0 or min_w[j - win, k] < 0.3 * level or max_w[j, k] > 0.2 * level:
                continue
            if float(elsewhere[j:j + win].mean()) < 0.5 * level:
                continue
            lo, hi = max(0, j - 2), min(n, j + 4)
            if (arr[lo:hi, neighbours] >= 0.5 * level).any():
                continue
            i = start + j
            after = float(mean_w[j, k])
            where = _region_name(r, c)
            score = min(1.0, 0.4 + 0.6 * min(1.0, level / 4))
            out.append(Candidate(i, index.time_of(i), score,
                                 f"the {where} region stops moving at once (change {level:.1f} "
                                 f"-> {after:.1f}) while the rest keeps moving",
                                 "freeze-region", {"before": float(level), "after": after},
                                 words=f"the {where} of the picture stops moving at once "
                                       f"while the rest keeps moving"))
            break
    return out


def _flicker(index: ClipIndex, frames: list[np.ndarray],
             cuts: Sequence[int]) -> tuple[list[Candidate], dict[str, list[float | None]]]:
    import numpy as np

    luma = [float(f.mean()) for f in frames]
    osc: list[float | None] = [None] * len(frames)
    candidates = []
    fps = max(index.fps, 1.0)
    for start, end in _shots(len(frames), cuts):
        values = [abs(luma[i] - (luma[i - 1] + luma[i + 1]) / 2)
                  for i in range(start + 1, end - 1)]
        for n, i in enumerate(range(start + 1, end - 1)):
            osc[i] = round(values[n], 3)
        if not values:
            continue
        floor = max(float(np.median(values)) * 4, 1.5)
        hot = [start + 1 + n for n, v in enumerate(values) if v > floor]
        window = max(2, round(fps))
        for n, i in enumerate(hot):
            burst = [j for j in hot[n:] if j - i <= window]
            if len(burst) >= 3:
                amp = max(values[j - start - 1] for j in burst)
                # The oscillation measure also fires on the last normal frame; the
                # evidence is the first frame whose brightness has jumped.
                steps = {j: abs(luma[j] - luma[j - 1]) for j in range(i, min(end, burst[-1] + 2))}
                top = max(steps.values())
                first = next(j for j in sorted(steps) if steps[j] >= top / 3)
                candidates.append(Candidate(
                    first, index.time_of(first), min(1.0, amp / 12),
                    f"brightness jumps up to {amp:.1f} levels between neighbouring frames, "
                    f"{len(burst)} times within a second", "flicker", {"amplitude": amp},
                    words=f"the brightness jumps up and down {len(burst)} times within a "
                          f"second"))
                break
    return candidates, {"brightness": [round(v, 3) for v in luma], "brightness_jump": osc}


def _freeze(index: ClipIndex, frames: list[np.ndarray],
            cuts: Sequence[int]) -> tuple[list[Candidate], dict[str, list[float | None]]]:
    """Runs of frames in which no region changes: the picture has stopped."""
    import numpy as np

    local = [max(c) for c in _cell_changes(frames)]
    fps = max(index.fps, 1.0)
    moving = float(np.median(local[1:])) if len(local) > 1 else 0.0
    candidates = []
    run_start = None
    for i in range(1, len(local) + 1):
        still = i < len(local) and local[i] < max(0.5, 0.15 * moving) and i not in cuts
        if still and run_start is None:
            run_start = i
        elif not still and run_start is not None:
            length = i - run_start
            seconds = length / fps
            if seconds >= 0.3 and moving >= 0.6:
                candidates.append(Candidate(
                    run_start, index.time_of(run_start), min(1.0, seconds / 1.5),
                    f"frames {run_start - 1}-{i - 1} are nearly identical "
                    f"({seconds:.2f} s without motion)", "freeze", {"seconds": seconds},
                    words=f"the picture stops moving for {seconds:.1f} s (frames "
                          f"{run_start - 1} to {i - 1} are nearly identical)"))
            run_start = None
    return candidates, {"region_change": [round(v, 3) for v in local]}
