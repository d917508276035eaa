"""SIGTERM and SIGHUP are handled like Ctrl-C; batch passes them on and survives a killed
worker (issue 14: F8, F9, F10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ava_evidence import signals

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli
from .test_batch import in_job_order


def _signal_self(sig: int) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(1)  # the handler runs at once; the sleep is never finished


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"),
                                                   (signal.SIGHUP, 129, "SIGHUP")])
@pytest.mark.parametrize("when", ["staging", "zipping"])
def test_build_stopped_by_a_signal_leaves_nothing(clips: ClipStore, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  handled: None, sig: int, code: int,
                                                  name: str, when: str) -> None:
    """F10: SIGTERM/SIGHUP left .ava-evidence-* staging folders and .zip.part files."""
    import ava_evidence.bagit
    import ava_evidence.stills

    if when == "staging":
        real = ava_evidence.stills._write

        def write(path: Path, data: bytes) -> None:
            real(path, data)
            _signal_self(sig)

        monkeypatch.setattr(ava_evidence.stills, "_write", write)
    else:
        real_zip = ava_evidence.bagit.write_bag_zip

        def zipping(zip_path: Path, *args: Any, **kw: Any) -> None:
            real_zip(zip_path, *args, **kw)
            assert zip_path.name.endswith(".zip.part") and zip_path.exists()
            _signal_self(sig)

        monkeypatch.setattr(ava_evidence.bagit, "write_bag_zip", zipping)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "s1",
                     "--failure", "physics", "--mark", "1", "-o", tmp_path / "b.zip",
                     expect=code)
    assert result.stderr == f"Error: stopped by {name}; nothing was left half-written.\n"
    assert list(tmp_path.iterdir()) == []


def test_frames_stopped_by_sigterm_leaves_no_temporary_still(clips: ClipStore, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             handled: None) -> None:
    import ava_evidence.stills

    real = ava_evidence.stills._write

    def write(path: Path, data: bytes) -> None:
        real(path, data)
        _signal_self(signal.SIGTERM)

    monkeypatch.setattr(ava_evidence.stills, "_write", write)
    out = tmp_path / "stills"
    result = run_cli("frames", clips.path("h264_bframes"), "start", "1", "end", "-o", out,
                     expect=143)
    assert result.stderr == "Error: stopped by SIGTERM; nothing was left half-written.\n"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_still_exits_130(clips: ClipStore, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch, handled: None) -> None:
    """A SIGTERM of an earlier command does not colour a later Ctrl-C."""
    import ava_evidence.bagit

    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    signals._received.append(signal.SIGTERM)
    monkeypatch.setattr(ava_evidence.bagit, "write_bag_zip", interrupted)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "s1",
                     "--failure", "identity", "-o", tmp_path / "b.zip", expect=130)
    assert result.stderr == "Error: interrupted; nothing was left half-written.\n"


def _jobs(tmp_path: Path, clip: Path, ids: list[str]) -> Path:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("clip,platform,id,failure,marks\n"
                    + "".join(f"{clip},kling,{i},physics,1\n" for i in ids))
    return jobs


def test_a_killed_worker_fails_only_its_own_row(clips: ClipStore, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """F8: one worker killed (as the OOM killer does) ended the whole batch with 'unexpected
    BrokenProcessPool', no per-row report, and staging folders left behind."""
    import ava_evidence.staging

    real = ava_evidence.staging.decode_and_compose

    def stage(index: Any, plan: Any, staging: Path, *args: Any) -> Any:
        job = args[2]
        if job.generation_id == "die":
            assert staging.is_dir() and staging.name.startswith(f".ava-evidence-{os.getpid()}-")
            os.kill(os.getpid(), signal.SIGKILL)  # the workers are forked: this is one
        return real(index, plan, staging, *args)

    monkeypatch.setattr(ava_evidence.staging, "decode_and_compose", stage)
    out = tmp_path / "out"
    result = run_cli("batch", _jobs(tmp_path, clips.path("h264_bframes"),
                                    ["a1", "die", "a3", "a4", "a5"]),
                     "-o", out, "--workers", "2", expect=1)
    lines = in_job_order(result.stdout)  # rows print as they finish
    assert lines[1].startswith("line 3") and lines[1].endswith(
        "failed Error: its build process was killed (as the system does when memory runs "
        "out), so this row was not built: build this clip alone, or the batch with fewer "
        "--workers.")
    assert [line.split()[3] for line in lines[:5]] == ["built", "failed", "built", "built",
                                                       "built"]
    assert lines[-1] == "4 built, 1 failed"
    assert sorted(p.name for p in out.iterdir()) == [
        "kling_a1_physics.zip", "kling_a3_physics.zip", "kling_a4_physics.zip",
        "kling_a5_physics.zip"]  # no staging folder, no .zip.part


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slowbatch") / "slow.mp4"
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=24:duration=6", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_batch_passes_a_signal_to_its_workers(slow_clip: Path, tmp_path: Path, sig: int,
                                              code: int) -> None:
    """F9: after SIGTERM the workers lived on as orphans, built the remaining rows, then
    blocked forever (a CI runner waiting on the pipes hung)."""
    out = tmp_path / "out"
    out.mkdir()
    jobs = _jobs(tmp_path, slow_clip, [f"j{i}" for i in range(6)])
    proc = subprocess.Popen([sys.executable, "-m", "ava_evidence", "batch", str(jobs), "-o",
                             str(out), "--workers", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not [p for p in out.iterdir() if p.name.startswith(".ava-evidence-")]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    workers = _children(proc.pid)
    assert workers
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)  # no orphan holds the pipes open
    assert proc.returncode == code, stderr
    assert stderr.startswith(f"Error: stopped by {signal.Signals(sig).name}; nothing was "
                             f"left half-written.\nTo build the other ")
    time.sleep(0.5)
    assert [w for w in workers if _alive(w)] == []
    leftovers = [p.name for p in out.iterdir() if not p.name.endswith("_physics.zip")]
    assert leftovers == []
    assert len(list(out.iterdir())) < 6  # the work stopped


def test_a_sigterm_during_the_rename_waits_for_it(clips: ClipStore, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  handled: None) -> None:
    """The rename into place and forgetting the temporary name go together: the signal is
    held, then stops the command, and the bundle is complete."""
    import ava_evidence.bundle

    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("b.zip"):  # the bundle's rename, not another file's
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # held: nothing interrupts the rename
        real(src, dst)

    monkeypatch.setattr(ava_evidence.bundle.os, "replace", replace)
    out = tmp_path / "b.zip"
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "s1",
                     "--failure", "identity", "-o", out, expect=143)
    assert result.stderr == "Error: stopped by SIGTERM; nothing was left half-written.\n"
    assert [p.name for p in tmp_path.iterdir()] == ["b.zip"]
    monkeypatch.undo()
    assert run_cli("verify", out).stdout.startswith("OK: ")
