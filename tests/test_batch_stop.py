"""A batch shows each row as it finishes; stopped, it lists what it built and how to
finish, and --skip-existing finishes it (review round 45, item 6: SIGTERM after 4 of 12
bundles printed nothing, and the re-run failed those 4 with 'already exists')."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ava_evidence.bagit import verify_bag

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli, run_json

STOPPED = "stopped (it was being built: nothing of it was kept)"


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stopbatch") / "slow.mp4"
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=24:duration=6", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _jobs(tmp_path: Path, clip: Path, count: int) -> Path:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("clip,platform,id,failure,marks\n"
                    + "".join(f"{clip},kling,s{i},physics,1\n" for i in range(count)))
    return jobs


def _start(jobs: Path, out: Path, *more: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ava_evidence", "batch", str(jobs), "-o",
                             str(out), "--workers", "2", "--quiet", *more],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _zips(out: Path) -> list[str]:
    names = sorted(p.name for p in out.iterdir())
    assert all(n.endswith("_physics.zip") for n in names), names  # nothing half-written
    assert all(verify_bag(out / n).ok for n in names)
    return names


def test_a_stopped_batch_lists_what_it_built(slow_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs = _jobs(tmp_path, slow_clip, 8)
    proc = _start(jobs, out)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed when the first row is built, not at the end
    proc.send_signal(signal.SIGTERM)
    rest, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    lines = (first + rest).splitlines()
    rows = {int(line.split()[1]): line.split(None, 3)[3] for line in lines[:-1]}
    assert sorted(rows) == list(range(2, 10))  # every row, once
    built = sorted(Path(s.removeprefix("built  ")).name for s in rows.values()
                   if s.startswith("built  "))
    assert built and built == _zips(out)
    others = [s for s in rows.values() if not s.startswith("built  ")]
    assert "not started" in others and set(others) <= {STOPPED, "not started"}
    assert lines[-1] == f"{len(built)} built, 0 failed, {len(others)} not built"
    assert stderr == (f"Error: stopped by SIGTERM; nothing was left half-written.\n"
                      f"To build the other {len(others)}: ava-evidence batch {jobs} -o {out} "
                      f"--workers 2 --quiet --skip-existing\n")
    # The command it gives finishes the job, without building anything twice.
    result = run_cli("batch", jobs, "-o", out, "--workers", "2", "--quiet", "--skip-existing")
    assert result.stdout.splitlines()[-1] == (f"{len(others)} built, {len(built)} already "
                                              f"built, 0 failed")
    assert len(_zips(out)) == 8


def test_a_stopped_batch_still_prints_its_json_document(slow_clip: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    jobs = _jobs(tmp_path, slow_clip, 8)
    proc = _start(jobs, out, "--json")
    deadline = time.monotonic() + 60
    while not [p for p in out.iterdir() if p.name.endswith("_physics.zip")]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    doc = json.loads(stdout)
    results = doc["results"]
    assert [r["line"] for r in results] == list(range(2, 10))
    built = sorted(Path(r["bundle"]).name for r in results if r["status"] == "built")
    assert built == _zips(out)
    assert {r["status"] for r in results} - {"built"} <= {"stopped", "not started"}
    left = len(results) - len(built)
    assert {k: v for k, v in doc.items() if k != "results"} == {
        "built": len(built), "failed": 0, "already_built": 0, "not_built": left,
        "interrupted": True}
    assert stderr.splitlines()[1] == (f"To build the other {left}: ava-evidence batch {jobs} "
                                      f"-o {out} --workers 2 --json --quiet --skip-existing")


def _edit(zip_path: Path, member: str) -> None:
    """Change one byte of a member and write the zip again: a whole zip whose bag no
    longer matches its manifests."""
    with zipfile.ZipFile(zip_path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    data = bytearray(members[member])
    data[-2] ^= 0x01
    members[member] = bytes(data)
    with zipfile.ZipFile(zip_path, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)


def test_skip_existing(clips: ClipStore, tmp_path: Path) -> None:
    """A bundle already there that verifies is skipped; one that does not is reported,
    not skipped, and --force builds it again."""
    clip = clips.path("h264_bframes")
    out = tmp_path / "out"
    run_cli("batch", _jobs(tmp_path, clip, 2), "-o", out, "--workers", "1", "--quiet")
    _edit(out / "kling_s1_physics.zip", "kling_s1_physics/data/ticket.txt")
    jobs = _jobs(tmp_path, clip, 3)
    result = run_cli("batch", jobs, "-o", out, "--workers", "1", "--quiet",
                     "--skip-existing", expect=1)
    assert result.stdout.splitlines() == [
        f"line 2    {clip.name:<24} already built  {out / 'kling_s0_physics.zip'}",
        f"line 3    {clip.name:<24} failed Error: {out / 'kling_s1_physics.zip'} already "
        f"exists but does not verify (changed: kling_s1_physics/data/ticket.txt (its "
        f"checksum differs from the manifest)): delete it, or add --force to build it again.",
        f"line 4    {clip.name:<24} built  {out / 'kling_s2_physics.zip'}",
        "1 built, 1 already built, 1 failed"]
    doc = run_json("batch", jobs, "-o", out, "--workers", "1", "--skip-existing", "--force")
    assert [r["status"] for r in doc["results"]] == ["already built", "built", "already built"]
    assert (doc["built"], doc["already_built"], doc["failed"]) == (1, 2, 0)
    assert verify_bag(out / "kling_s1_physics.zip").ok


def test_skip_existing_is_in_the_help() -> None:
    out = " ".join(run_cli("batch", "--help").stdout.split())
    assert ("--skip-existing Skip rows whose bundle is already there and verifies (to finish "
            "a stopped batch); one that does not verify is reported (built again with "
            "--force).") in out


def test_a_bundle_renamed_into_place_as_the_signal_came_is_listed_built(
        clips: ClipStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        handled: None) -> None:
    """The worker is stopped between its rename and its answer: the bundle is whole (the
    rename is held from signals) and is listed as built, not as stopped."""
    import ava_evidence.bundle

    batch_pid = os.getpid()
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        real(src, dst)
        if os.getpid() != batch_pid and str(dst).endswith("_physics.zip"):
            os.kill(batch_pid, signal.SIGTERM)  # the batch passes it on to this worker
            time.sleep(1)  # which holds it until the rename's block ends

    monkeypatch.setattr(ava_evidence.bundle.os, "replace", replace)
    out = tmp_path / "out"
    jobs = _jobs(tmp_path, clips.path("h264_bframes"), 2)
    result = run_cli("batch", jobs, "-o", out, "--workers", "1", "--quiet", expect=143)
    name = clips.path("h264_bframes").name
    assert result.stdout.splitlines() == [
        f"line 2    {name:<24} built  {out / 'kling_s0_physics.zip'}",
        f"line 3    {name:<24} not started",
        "1 built, 0 failed, 1 not built"]
    assert result.stderr.splitlines()[1].startswith("To build the other 1: ")
    monkeypatch.undo()
    assert _zips(out) == ["kling_s0_physics.zip"]
