"""Benchmark: ava-evidence against one plain ffmpeg decode pass of the same clip.

Makes a 10 s and a 60 s 1080p24 H.264 clip (x264 defaults, so one long GOP;
cached in bench/out/), then times, side by side in this one run:

- ``ffmpeg -i clip -f null -`` (imageio-ffmpeg's binary): one full decode pass;
- ``ava-evidence frames clip start 0:02 0:05 end``: the frames step alone;
- ``ava-evidence build clip ... --mark 0:02 --mark 0:05``: the whole bundle;
- ``ava-evidence suggest clip --failure physics``: the failure finder;

each alternately with the decode pass (so both see the same machine load), and
prints the medians and their ratio. Targets: frames <= 1.4x at 10 s and <= 0.4x
at 60 s; build <= 1.4x at 10 s and <= 0.35x at 60 s (DESIGN's); suggest (a full measuring
pass) about 2x. Then: ``--help`` against ``import click``, a batch of eight
5 s 720p clips against eight builds one after another, and the peak memory of
a 4K build.

    python bench/bench.py [--runs 5] [--only 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_clip import make_clip  # noqa: E402


def _once(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def side_by_side(base: list[str], step: list[str], runs: int) -> tuple[float, float]:
    """Medians of ``base`` and ``step`` run alternately, so that both see the same
    machine load (a shared machine's speed drifts over a benchmark's minutes)."""
    pairs = [(_once(base), _once(step)) for _ in range(runs)]
    return statistics.median(b for b, _ in pairs), statistics.median(s for _, s in pairs)


def compile_package() -> None:
    """Write the package's bytecode, as pip does when it installs a package. A source
    checkout run under PYTHONDONTWRITEBYTECODE would otherwise compile every module
    again at each start: about 40 ms that no installed copy pays."""
    import compileall

    import ava_evidence

    compileall.compile_dir(str(Path(ava_evidence.__file__).parent), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description="ava-evidence benchmark")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["10", "60", "extra"], default=None)
    args = parser.parse_args()

    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    tool = [sys.executable, "-m", "ava_evidence"]
    compile_package()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
          f"ffmpeg {imageio_ffmpeg.get_ffmpeg_version()}; median of {args.runs} runs")
    print(f"{'clip':<22}{'step':<8}{'ffmpeg decode':>15}{'step':>10}{'ratio':>8}  target")
    for seconds, targets in ((10, (1.4, 1.4)), (60, (0.4, 0.35))):
        if args.only and args.only != str(seconds):
            continue
        clip = out / f"h264_1080p24_{seconds}s.mp4"
        if not clip.exists():
            print(f"(making {clip.name} ...)", file=sys.stderr)
            make_clip(clip, seconds=seconds, size="1920x1080")
        decode_cmd = [ffmpeg, "-v", "error", "-i", str(clip), "-f", "null", "-"]
        work = Path(tempfile.mkdtemp(prefix="bench-"))
        try:
            steps = {
                "frames": [*tool, "frames", str(clip), "start", "0:02", "0:05", "end",
                           "-o", str(work / "stills"), "--force", "--quiet"],
                "build": [*tool, "build", str(clip), "--platform", "kling", "--id", "bench",
                          "--failure", "physics", "--mark", "0:02", "--mark", "0:05",
                          "-o", str(work / "b.zip"), "--force", "--quiet"],
                "suggest": [*tool, "suggest", str(clip), "--failure", "physics", "--quiet"],
            }
            for (step, cmd), target in zip(steps.items(), (*targets, 2.0), strict=True):
                decode, took = side_by_side(decode_cmd, cmd, args.runs)
                ratio = took / decode
                verdict = "ok" if ratio <= target else "MISSED"
                print(f"{clip.name:<22}{step:<8}{decode:>14.3f}s{took:>9.3f}s{ratio:>7.2f}x"
                      f"  <= {target}x {verdict}")
        finally:
            shutil.rmtree(work, ignore_errors=True)


    if args.only in (None, "extra"):
        extras(tool, ffmpeg, out, args.runs)


def peak_rss_mb(cmd: list[str]) -> float:
    """Peak resident memory of a command, in MB (measured by a fresh helper process)."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    kb = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True,
                        text=True).stdout.strip()
    return int(kb) / 1024


def extras(tool: list[str], ffmpeg: str, out: Path, runs: int) -> None:
    """--help start-up, batch speed-up on the cores, and peak memory on 4K."""
    click_only, helped = side_by_side([sys.executable, "-c", "import click"], [*tool, "--help"],
                                      runs)
    ratio = helped / click_only
    print(f"{'--help':<30}{click_only:>9.3f}s (import click){helped:>9.3f}s{ratio:>7.2f}x"
          f"  <= 2x {'ok' if ratio <= 2 else 'MISSED'}")

    # Short generations as platforms deliver them: 5 s at 720p24.
    short = out / "h264_1280x720_5s.mp4"
    if not short.exists():
        make_clip(short, seconds=5, size="1280x720")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        jobs = work / "jobs.csv"
        jobs.write_text("clip,platform,id,failure,marks\n" + "".join(
            f"{short},kling,b{n},physics,2.5\n" for n in range(8)))
        cores = os.cpu_count() or 1
        batch = [*tool, "batch", str(jobs), "-o", str(work / "p"), "--workers", str(cores),
                 "--force", "--quiet"]
        one_by_one, parallel = side_by_side(["sh", "-c", " && ".join(
            " ".join([*tool, "build", str(short), "--platform", "kling", "--id", f"s{n}",
                      "--failure", "physics", "--mark", "2.5", "-o",
                      str(work / f"one{n}.zip"), "--force", "--quiet"]) + " >/dev/null"
            for n in range(8))], batch, runs)
        serial, parallel_again = side_by_side(
            [*tool, "batch", str(jobs), "-o", str(work / "s"), "--workers", "1", "--force",
             "--quiet"], batch, runs)
        speedup = one_by_one / parallel
        print(f"{'batch of 8 (5 s 720p) vs 8 builds one after another':<54}"
              f"{one_by_one:>8.3f}s{parallel:>9.3f}s{speedup:>7.2f}x faster  >= 1.6x "
              f"{'ok' if speedup >= 1.6 else 'MISSED'}")
        print(f"{'  batch --workers ' + str(cores) + ' vs --workers 1 (one process)':<54}"
              f"{serial:>8.3f}s{parallel_again:>9.3f}s{serial / parallel_again:>7.2f}x faster  "
              f"(a lone worker already uses every core through threads)")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    uhd = out / "h264_2160p24_5s.mp4"
    if not uhd.exists():
        print(f"(making {uhd.name} ...)", file=sys.stderr)
        make_clip(uhd, seconds=5, size="3840x2160")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        mb = peak_rss_mb([*tool, "build", str(uhd), "--platform", "kling", "--id", "uhd",
                          "--failure", "physics", "--mark", "0:02", "--mark", "0:04",
                          "-o", str(work / "u.zip"), "--quiet"])
        print(f"{'4K 5 s build, peak memory':<30}{mb:>9.0f} MB  <= 400 MB "
              f"{'ok' if mb <= 400 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
