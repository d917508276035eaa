"""Fuzz ``verify``: 1,000 random single-bit flips of a real bundle.

Builds one bundle from a 3 s 320x240 clip, then verifies 1,000 copies of it, each
with one random bit flipped anywhere in the file (member data, local headers, the
central directory). Every outcome must be named problems, or a clean one-line
error (a zip whose directory no longer reads); an internal error (any other
exception) fails the run. Prints the outcome counts, the slowest verify and the
peak memory of the process (ru_maxrss) and of one verify (tracemalloc).

    nice -n 10 python bench/verify_fuzz.py [--flips 1000] [--seed 14]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_clip import make_clip  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    from ava_evidence.bagit import verify_bag
    from ava_evidence.bundle import build_bundle
    from ava_evidence.errors import AvaError

    with tempfile.TemporaryDirectory(prefix="ava-fuzz-") as tmp:
        folder = Path(tmp)
        clip = make_clip(folder / "base.mp4", seconds=3, size="320x240")
        bundle = build_bundle(clip, platform="kling", generation_id="abc123",
                              failure="physics", marks=["0.5"], output=folder / "base.zip")
        data = bundle.path.read_bytes()
        assert verify_bag(bundle.path).ok
        rng = random.Random(args.seed)
        outcomes: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        failures: list[str] = []
        slowest = 0.0
        peak_one = 0
        flipped = folder / "flipped.zip"
        started = time.monotonic()
        for n in range(args.flips):
            raw = bytearray(data)
            at = rng.randrange(len(raw))
            raw[at] ^= 1 << rng.randrange(8)
            flipped.write_bytes(bytes(raw))
            tracemalloc.start()
            t0 = time.perf_counter()
            try:
                v = verify_bag(flipped)
            except AvaError:
                outcomes["clean error (zip directory unreadable)"] += 1
            except Exception:  # the failure this benchmark exists to catch
                outcomes["INTERNAL ERROR"] += 1
                failures.append(f"flip {n} at byte {at}:\n{traceback.format_exc()}")
            else:
                outcomes["named problems" if v.problems else "no problem (flip unnoticed)"] += 1
                kinds.update(p.kind for p in v.problems)
            finally:
                slowest = max(slowest, time.perf_counter() - t0)
                peak_one = max(peak_one, tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
        elapsed = time.monotonic() - started
    print(f"verify fuzz: {args.flips} single-bit flips of a {len(data) / 1e6:.2f} MB bundle "
          f"(seed {args.seed}), {elapsed:.1f} s")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:<42} {count}")
    print(f"  problem kinds: {dict(kinds.most_common())}")
    print(f"  slowest verify {slowest * 1000:.0f} ms; peak Python memory of one verify "
          f"{peak_one / 1e6:.1f} MB; process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for failure in failures[:5]:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
