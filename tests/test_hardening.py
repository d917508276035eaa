"""Bad input never crashes, never leaves partial output, never yields a wrong frame."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ava_evidence.bundle import safe_name
from ava_evidence.catalog import load_catalog
from ava_evidence.clip import index_clip
from ava_evidence.errors import AvaError
from ava_evidence.stills import Request, extract_stills

from . import clipgen
from .conftest import ClipStore, encode
from .helpers import ctrl_c_reaches_children, run_cli

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, clips: ClipStore) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    ff = clipgen.ffmpeg()
    src = clips.path("h264_bframes").read_bytes()  # moov at the end
    fs = d / "faststart_src.mp4"
    subprocess.run([ff, "-v", "error", "-i", str(clips.path("h264_bframes")), "-c", "copy",
                    "-movflags", "+faststart", str(fs)], check=True)
    fsb = fs.read_bytes()
    fs.unlink()
    files = {
        "empty.mp4": b"",
        "random.mp4": random.Random(1).randbytes(20000),
        "text.mp4": b"<html><body>Video not found</body></html>\n",
        "cut_header.mp4": fsb[:600],
        "cut_half.mp4": src[: len(src) // 2],
        "cut_95.mp4": src[: len(src) * 95 // 100],
        "cut_95_faststart.mp4": fsb[: len(fsb) * 95 // 100],
    }
    zeroed = bytearray(fsb)
    zeroed[len(zeroed) // 2: len(zeroed) // 2 + 4000] = bytes(4000)
    files["zeroed.mp4"] = bytes(zeroed)
    mdat = fsb.find(b"mdat")
    files["no_decodable.mp4"] = fsb[: mdat + 4] + bytes(len(fsb) - mdat - 4)
    for name, data in files.items():
        (d / name).write_bytes(data)
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v",
                    "1", str(d / "image.png")], check=True)
    shutil.copyfile(d / "image.png", d / "image.mp4")
    (d / "image.png").unlink()
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac",
                    str(d / "audio.m4a")], check=True)
    (d / "folder.mp4").mkdir()
    encode(d / "single.mp4", 1, args=["-c:v", "libx264", "-pix_fmt", "yuv420p"])
    raw = d / "raw.avi"
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5",
                    "-frames:v", "3", "-c:v", "rawvideo", "-pix_fmt", "bgr24", str(raw)],
                   check=True)
    data = bytearray(raw.read_bytes())
    for tag, offset in ((b"strf", 12), (b"avih", 40)):
        at = data.find(tag) + offset
        data[at:at + 8] = struct.pack("<ii", 60000, 60000)
    (d / "absurd_size.avi").write_bytes(bytes(data))
    raw.unlink()
    return d


DAMAGED = "looks like MP4/MOV but is truncated or damaged: download the clip again."
NOT_VIDEO = "is not a video file that can be read: give the clip exactly as downloaded from " \
            "the platform."
CASES = {
    "missing.mp4": "{d}/missing.mp4: no such file: check the path of the downloaded clip.",
    "folder.mp4": "folder.mp4 is a folder, not a video file: give the path of the clip itself.",
    "empty.mp4": "empty.mp4 is empty (0 bytes): the download did not finish; download the clip "
                 "again.",
    "random.mp4": f"random.mp4 {NOT_VIDEO}",
    "text.mp4": f"text.mp4 {NOT_VIDEO}",
    "cut_header.mp4": f"cut_header.mp4 {DAMAGED}",
    "cut_half.mp4": f"cut_half.mp4 {DAMAGED}",
    "cut_95.mp4": f"cut_95.mp4 {DAMAGED}",
    # How many frames survive depends on where 95% falls; the test checks the rest.
    "cut_95_faststart.mp4": "",
    "image.mp4": "image.mp4 is a still image (png), not a video: give the clip itself.",
    "audio.m4a": "audio.m4a has no video, only audio: give the video file you downloaded, not "
                 "its soundtrack.",
    "no_decodable.mp4": "no_decodable.mp4 looks like MP4/MOV but is truncated or damaged (its "
                        "first frame cannot be decoded): download the clip again.",
    "absurd_size.avi": "absurd_size.avi looks like AVI but is truncated or damaged (its first "
                       "frame cannot be decoded): download the clip again.",
}


def _commands(clip: Path, out: Path) -> dict[str, list[str | Path]]:
    return {
        "probe": ["probe", clip],
        "frames": ["frames", clip, "start", "end", "-o", out / "stills", "--quiet"],
        "build": ["build", clip, "--platform", "kling", "--id", "g", "--failure", "identity",
                  "-o", out / "b.zip", "--quiet"],
    }


@pytest.mark.parametrize("command", ["probe", "frames", "build"])
@pytest.mark.parametrize("name", list(CASES))
def test_bad_clip(corpus: Path, tmp_path: Path, name: str, command: str) -> None:
    args = _commands(corpus / name, tmp_path)[command]
    result = run_cli(*args, expect=1)
    expected = f"Error: {CASES[name].format(d=corpus)}\n"
    if name == "cut_95_faststart.mp4":
        assert result.stderr.startswith(f"Error: {name} is incomplete: it declares 60 frames "
                                        f"but only ")
        assert result.stderr.endswith(" can be read: download the clip again.\n")
    else:
        assert result.stderr == expected
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_zeroed_middle_never_gives_a_wrong_frame(corpus: Path, tmp_path: Path) -> None:
    """The readable parts still give exact stills; the damaged part is refused by name."""
    index = index_clip(corpus / "zeroed.mp4")
    stills = extract_stills(index, [Request("start", "start"), Request("end", "end")], tmp_path)
    import numpy as np
    from PIL import Image

    for still in stills:
        with Image.open(still.file) as img:
            assert clipgen.read_barcode(np.asarray(img)) == still.index
    result = run_cli("build", corpus / "zeroed.mp4", "--platform", "kling", "--id", "g",
                     "--failure", "identity", "-o", tmp_path / "z.zip", expect=1)
    assert result.stderr.startswith("Error: zeroed.mp4 is damaged near frame ")
    assert result.stderr.endswith(": it cannot be decoded there. Download the clip again, or "
                                  "mark a time outside the damaged part.\n")
    assert not (tmp_path / "z.zip").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ava-evidence-")]


def test_single_frame_clip_builds(corpus: Path, tmp_path: Path) -> None:
    result = run_cli("build", corpus / "single.mp4", "--platform", "kling", "--id", "one",
                     "--failure", "identity", "-o", tmp_path / "s.zip", "--quiet")
    assert "  start      0:00  frame 0\n" in result.stdout
    assert "  end        0:00  frame 0\n" in result.stdout
    assert run_cli("verify", tmp_path / "s.zip").stdout.startswith("OK: ")
    result = run_cli("frames", corpus / "single.mp4", "0.5", expect=2)
    assert result.stderr == ("Error: time '0.5' is past the end: single.mp4 lasts 0.042 s "
                             "(00:00.042), 1 frame (f0-f0); use 'end' for the last frame.\n")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--id", "", "the Generation ID is empty: pass the ID (or the share link) with --id."),
    ("--id", "x" * 5000, "the Generation ID is 5000 characters long; IDs are at most 512: pass "
                         "the ID itself, not a whole page."),
    ("--id", "abc\ndef", "the Generation ID contains a line break or control character: pass it "
                         "on one line with --id."),
    ("--plan", "platinum", "unknown plan 'platinum' for Runway: use one of free, standard, pro, "
                           "unlimited, enterprise."),
    ("--mark", "nan", "time 'nan' is not a finite number; h264_bframes.mp4 lasts 2.500 s "
                      "(00:02.500), 60 frames (f0-f59)."),
    ("--mark", "-1", "time '-1' is negative: times count from the clip's first frame (0); "
                     "h264_bframes.mp4 lasts 2.500 s (00:02.500), 60 frames (f0-f59)."),
    ("--mark", "inf", "time 'inf' is not a finite number; h264_bframes.mp4 lasts 2.500 s "
                      "(00:02.500), 60 frames (f0-f59)."),
])
def test_hostile_arguments(clips: ClipStore, tmp_path: Path, option: str, value: str,
                           message: str) -> None:
    args = {"--id": "g1", "--plan": "free", "--mark": "1"}
    args[option] = value
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "runway", "--failure",
                     "physics", "-o", tmp_path / "h.zip",
                     *[x for k, v in args.items() for x in (k, v)], expect=2)
    assert result.stderr == f"Error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_long_odd_note_is_kept_literally(clips: ClipStore, tmp_path: Path) -> None:
    note = ("line one\nline two {{ x }} {% raw %} <script> " + "z" * 5000)
    args = ["build", clips.path("h264_bframes"), "--platform", "luma", "--id", "../../x",
            "--failure", "identity", "-o", tmp_path]
    result = run_cli(*args, "--note", note, "--json")
    import json

    doc = json.loads(result.stdout)
    assert Path(doc["bundle"]).parent == tmp_path
    assert doc["manifest"]["note"] == note.strip()
    # A direction override or a control character would hide or reorder what the agent reads.
    for hidden in ("\u202e", "\u0000", "\u2066", "\x1b[31m"):
        bad = run_cli(*args, "--note", f"ok{hidden}evil", expect=2)
        assert bad.stderr == ("Error: --note contains a control or text-direction character: "
                              "type it again as plain text.\n")
        bad = run_cli(*args, "--mark", f"1=ok{hidden}evil", expect=2)
        assert bad.stderr == ("Error: --mark's description contains a control or text-direction "
                              "character: type it again as plain text.\n")
    with zipfile.ZipFile(doc["bundle"]) as z:
        assert all(not n.startswith(("/", "..")) and "/../" not in n for n in z.namelist())


def test_unwritable_destination(clips: ClipStore, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    import ava_evidence.bundle

    real_access = os.access
    monkeypatch.setattr(ava_evidence.bundle.os, "access",
                        lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "luma", "--id", "g",
                     "--failure", "identity", "-o", tmp_path / "u.zip", expect=1)
    assert result.stderr == f"Error: folder {tmp_path} is not writable: choose another -o.\n"


def test_disk_full_while_writing_the_bundle(clips: ClipStore, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import ava_evidence.bagit

    real = ava_evidence.bagit.write_bag_zip

    def full(zip_path: Path, *args: object, **kw: object) -> None:
        zip_path.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ava_evidence.bagit, "write_bag_zip", full)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "luma", "--id", "g",
                     "--failure", "identity", "-o", tmp_path / "f.zip", expect=1)
    assert result.stderr == (f"Error: cannot write the bundle in {tmp_path} (No space left on "
                             f"device): check free space and permissions, or choose another -o.\n")
    assert list(tmp_path.iterdir()) == []
    assert real is not full


@pytest.mark.parametrize("threads", [None, 0])
@pytest.mark.parametrize("failing_write", [1, 4, 7])  # of 7: 4 stills, 2 pairs, strip
def test_disk_full_while_staging_stills_and_pairs(clips: ClipStore, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 failing_write: int, threads: int | None) -> None:
    """Stills and pairs are written by worker threads (or, in batch workers, on the one
    thread): the first failure ends the build with one clear line, nothing left behind."""
    import ava_evidence.decode
    import ava_evidence.stills

    monkeypatch.setattr(ava_evidence.decode, "WORKER_THREADS", threads)

    calls = []

    def full(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) >= failing_write:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        path.write_bytes(data)

    monkeypatch.setattr(ava_evidence.stills, "_write", full)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "luma", "--id", "g",
                     "--failure", "physics", "--mark", "1", "-o", tmp_path / "f.zip", expect=1)
    assert result.stderr == (f"Error: cannot write the bundle in {tmp_path} (No space left on "
                             f"device): check free space and permissions, or choose another -o.\n")
    assert list(tmp_path.iterdir()) == []
    assert len(calls) >= failing_write


def test_disk_full_while_writing_stills(clips: ClipStore, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import ava_evidence.stills

    calls = []

    def full(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        path.write_bytes(data)

    monkeypatch.setattr(ava_evidence.stills, "_write", full)
    out = tmp_path / "new" / "stills"
    result = run_cli("frames", clips.path("h264_bframes"), "start", "1", "end", "-o", out,
                     expect=1)
    assert result.stderr == (f"Error: cannot write stills in {out} (No space left on device): "
                             f"check free space and permissions, or choose another -o folder.\n")
    assert list(tmp_path.iterdir()) == []  # the folders it created are gone too


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip whose build takes long enough (about a second) to interrupt it mid-way."""
    path = tmp_path_factory.mktemp("slow") / "slow.mp4"
    subprocess.run([clipgen.ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=24:duration=6", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _start_build(clip: Path, out: Path) -> subprocess.Popen[str]:
    with ctrl_c_reaches_children():
        return subprocess.Popen(
            [sys.executable, "-m", "ava_evidence", "build", str(clip), "--platform", "kling",
             "--id", "sig", "--failure", "physics", "--mark", "3", "--mark", "5.5", "-o",
             str(out), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2, 0.35, 0.5, 0.7])
def test_ctrl_c(slow_clip: Path, tmp_path: Path, delay: float) -> None:
    out = tmp_path / "b.zip"
    proc = _start_build(slow_clip, out)
    # Wait until the build is under way (its staging folder exists), then interrupt: a
    # Ctrl-C while Python itself is still starting is Python's to report, not ours.
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".ava-evidence-") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    if stderr == "":
        # Finished first (a signal during interpreter shutdown may kill it silently):
        # then the bundle is complete.
        assert proc.returncode in (0, -signal.SIGINT)
        assert run_cli("verify", out).stdout.startswith("OK: ")
    else:
        # 130, or death by SIGINT itself, which a shell also reports as 130.
        assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, stderr)
        assert stderr == "Error: interrupted; nothing was left half-written.\n"
        if out.exists():  # interrupted just after the rename: complete, never partial
            assert run_cli("verify", out).stdout.startswith("OK: ")
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["b.zip"])


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.15, 0.3, 0.45, 0.6, 0.75, 0.9])
def test_sigkill_leaves_no_bundle_or_a_valid_one(slow_clip: Path, tmp_path: Path,
                                                 delay: float) -> None:
    out = tmp_path / "b.zip"
    proc = _start_build(slow_clip, out)
    time.sleep(delay)
    proc.kill()
    proc.communicate(timeout=60)
    if out.exists():
        assert run_cli("verify", out).stdout.startswith("OK: ")


def test_interrupt_in_process_cleans_up(clips: ClipStore, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import ava_evidence.bagit

    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ava_evidence.bagit, "write_bag_zip", interrupted)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "luma", "--id", "g",
                     "--failure", "identity", "-o", tmp_path / "i.zip", expect=130)
    assert result.stderr == "Error: interrupted; nothing was left half-written.\n"
    assert list(tmp_path.iterdir()) == []


@given(st.text(max_size=300))
def test_safe_names(text: str) -> None:
    name = safe_name(text)
    assert 1 <= len(name) <= 64
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert not name.startswith((".", "-", "_")) and not name.endswith((".", "-", "_"))
    assert "/" not in name and "\\" not in name


@given(st.text(max_size=200))
def test_share_url_parsing_never_fails(text: str) -> None:
    for platform in load_catalog().platforms.values():
        got = platform.id_from(text)
        assert got == text.strip() or got in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["h264_bframes", "vp9"])
def test_fuzzed_clips_give_clean_errors_or_right_frames(clips: ClipStore, tmp_path: Path,
                                                        name: str) -> None:
    import numpy as np
    from PIL import Image

    original = clips.path(name).read_bytes()
    rng = random.Random(name)
    for trial in range(24):
        data = bytearray(original)
        in_header = trial % 3 == 0
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(0, min(len(data), 400)) if in_header else \
                rng.randrange(len(data) // 10, len(data))
            data[at] = rng.randrange(256)
        clip = tmp_path / f"fuzz{trial}{clips.path(name).suffix}"
        clip.write_bytes(bytes(data))
        out = tmp_path / f"out{trial}"
        try:
            index = index_clip(clip)
            stills = extract_stills(index, [Request("start", "start"),
                                            Request("mark", f"f{index.frame_count // 2}"),
                                            Request("end", "end")], out)
        except AvaError:
            assert not out.exists() or list(out.iterdir()) == []
            continue
        if in_header:
            continue  # the file's own timestamps changed: only a clean outcome is required
        for still in stills:
            with Image.open(still.file) as img:
                code = clipgen.read_barcode(np.asarray(img))
            assert code in (still.index, None), (trial, still.index, code)


def test_readme_exit_codes_match_the_code() -> None:
    from ava_evidence import cli

    text = README.read_text()
    table = text[text.index("## Exit codes"):]
    codes = {int(line.split("|")[1]) for line in table.splitlines()[:12]
             if line.startswith("| ") and line.split("|")[1].strip().isdigit()}
    assert codes == {cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_INTERRUPTED,
                     cli.EXIT_TERMINATED, cli.EXIT_HANGUP}


@pytest.mark.parametrize("command", ["probe", "frames", "build"])
def test_unreadable_clip(clips: ClipStore, tmp_path: Path, command: str,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked.mp4"
    shutil.copyfile(clips.path("h264_bframes"), locked)
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the check see what a user would
        import ava_evidence.clip

        real_access = os.access
        monkeypatch.setattr(ava_evidence.clip.os, "access",
                            lambda path, mode: Path(path) != locked and real_access(path, mode))
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(*_commands(locked, out)[command], expect=1)
    assert result.stderr == ("Error: locked.mp4 cannot be read (permission denied): fix its "
                             "permissions or copy it somewhere readable.\n")
    assert list(out.iterdir()) == []
