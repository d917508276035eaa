"""The command line: output shapes, bad inputs and their exact errors, start-up cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli, run_json


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, clips: ClipStore) -> Path:
    d = tmp_path_factory.mktemp("bad")
    ff = clipgen.ffmpeg()
    (d / "folder.mp4").mkdir()
    (d / "text.mp4").write_text("this is a web page, not a video\n")
    (d / "notes.txt").write_text("Generation ID 4d1e9a77, clip looked wrong at 0:02\n" * 40)
    (d / "empty.mp4").write_bytes(b"")
    (d / "random.mp4").write_bytes(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac",
                    str(d / "audio.m4a")], check=True)
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1",
                    str(d / "image.png")], check=True)
    (d / "image.mp4").write_bytes((d / "image.png").read_bytes())
    clip = clips.path("h264_bframes").read_bytes()  # moov atom at the end
    (d / "half.mp4").write_bytes(clip[: len(clip) // 2])
    faststart = d / "faststart.mp4"
    subprocess.run([ff, "-v", "error", "-i", str(clips.path("h264_bframes")), "-c", "copy",
                    "-movflags", "+faststart", str(faststart)], check=True)
    data = faststart.read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) // 2])
    return d


@pytest.mark.parametrize(("name", "message"), [
    ("missing.mp4", "{d}/missing.mp4: no such file: check the path of the downloaded clip."),
    ("folder.mp4", "folder.mp4 is a folder, not a video file: give the path of the clip itself."),
    ("text.mp4", "text.mp4 is not a video file that can be read: "
                 "give the clip exactly as downloaded from the platform."),
    ("notes.txt", "notes.txt is a text file, not a video: give the clip exactly as "
                  "downloaded from the platform."),
    ("random.mp4", "random.mp4 is not a video file that can be read: "
                   "give the clip exactly as downloaded from the platform."),
    ("empty.mp4", "empty.mp4 is empty (0 bytes): the download did not finish; "
                  "download the clip again."),
    ("audio.m4a", "audio.m4a has no video, only audio: give the video file you downloaded, "
                  "not its soundtrack."),
    ("image.mp4", "image.mp4 is a still image (png), not a video: give the clip itself."),
    ("half.mp4", "half.mp4 looks like MP4/MOV but is truncated or damaged: "
                 "download the clip again."),
    # 29 frames are read: the last may be cut short, and one stored before it shows after it
    ("cut.mp4", "cut.mp4 is incomplete: it declares 60 frames but only 27 can be read: "
                "download the clip again."),
])
@pytest.mark.parametrize("command", [["probe"], ["frames", "--quiet"]])
def test_bad_clips(bad_inputs: Path, name: str, message: str, command: list[str],
                   in_tmp: Path) -> None:
    args = [*command, bad_inputs / name] + (["start"] if command[0] == "frames" else [])
    result = run_cli(*args, expect=1)
    assert result.stderr == f"Error: {message.format(d=bad_inputs)}\n"
    assert result.stdout == ""
    assert list(in_tmp.iterdir()) == []  # no partial output


def test_unreadable_file(tmp_path: Path, clips: ClipStore,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(clips.path("h264_bframes").read_bytes())
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the permission check see what a user would
        import ava_evidence.clip

        monkeypatch.setattr(ava_evidence.clip.os, "access", lambda path, mode: False)
    result = run_cli("probe", locked, expect=1)
    assert result.stderr == ("Error: locked.mp4 cannot be read (permission denied): "
                             "fix its permissions or copy it somewhere readable.\n")


def test_bad_times_are_usage_errors(clips: ClipStore, in_tmp: Path) -> None:
    clip = clips.path("h264_bframes")
    summary = "h264_bframes.mp4 lasts 2.500 s (00:02.500), 60 frames (f0-f59)"
    cases = {
        "soon": f"'soon' is not a time: use 2.5, 2.5s, 2500ms, 0:02.5, 00:00:02.500, f60, "
                f"SMPTE 00:00:02:12, start or end; {summary}.",
        "-2": f"time '-2' is negative: times count from the clip's first frame (0); {summary}.",
        "NaN": f"time 'NaN' is not a finite number; {summary}.",
        "3": f"time '3' is past the end: {summary}; use 'end' for the last frame.",
        "f60": f"frame 'f60' does not exist: {summary}.",
    }
    for text, message in cases.items():
        result = run_cli("frames", clip, "start", text, expect=2)
        assert result.stderr == f"Error: {message}\n"
    assert list(in_tmp.iterdir()) == []  # checked before anything is decoded or written


def test_usage_errors_are_one_line(clips: ClipStore) -> None:
    result = run_cli("frames", clips.path("h264_bframes"), expect=2)
    assert result.stderr == ("Error: Missing argument 'TIME...'. "
                             "See 'ava-evidence frames --help'.\n")
    # click words its own messages differently across versions: check the shape.
    result = run_cli("probe", "--frobnicate", "x.mp4", expect=2)
    assert result.stderr.startswith("Error: No such option")
    assert "--frobnicate" in result.stderr
    assert result.stderr.endswith(" See 'ava-evidence probe --help'.\n")
    assert result.stderr.count("\n") == 1
    result = run_cli("nonsense", expect=2)
    assert result.stderr.startswith("Error: No such command")
    assert result.stderr.endswith(" See 'ava-evidence --help'.\n")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("left_out", "hint"), [
    ("--id", "It is the ID the platform gave this generation: 'ava-evidence platforms NAME' "
             "says where that platform shows it."),
    ("--platform", "'ava-evidence platforms' lists them."),
    ("--failure", "'ava-evidence failures' lists them; or add --auto to measure which one the "
                  "clip shows."),
])
def test_a_missing_option_says_where_to_find_it(left_out: str, hint: str) -> None:
    given = {"--platform": "kling", "--id": "8f2c41d0", "--failure": "physics"}
    args = [a for k, v in given.items() if k != left_out for a in (k, v)]
    result = run_cli("build", "clip.mp4", *args, expect=2)
    assert result.stderr == f"Error: Missing option '{left_out}'. {hint}\n"


def test_debug_shows_traceback(bad_inputs: Path) -> None:
    with pytest.raises(Exception, match="no such file"):
        from click.testing import CliRunner

        from ava_evidence.cli import cli

        result = CliRunner().invoke(cli, ["probe", str(bad_inputs / "missing.mp4"), "--debug"])
        raise result.exception  # type: ignore[misc]


def test_probe_human(clips: ClipStore) -> None:
    out = run_cli("probe", clips.path("h264_rot90")).stdout
    assert "file        h264_rot90.mp4" in out
    assert "size        320x180, rotated 90° for display -> 180x320" in out
    assert "frames      36 (f0-f35), 3 keyframes" in out
    assert "frame rate  24.000 fps (constant), nominal 24.000" in out
    assert "duration    1.500 s (00:01.500)" in out


def test_probe_json(clips: ClipStore) -> None:
    doc = run_json("probe", clips.path("h264_2997"))
    for key in ("file_name", "sha256", "bytes", "container", "codec", "width", "height",
                "rotation", "fps", "duration_s", "frame_count", "keyframes"):
        assert key in doc
    assert doc["container"] == "mp4" and doc["codec"] == "h264"
    assert (doc["width"], doc["height"], doc["rotation"]) == (320, 180, 0)
    assert doc["frame_count"] == 60
    assert doc["fps"] == pytest.approx(30000 / 1001, abs=1e-3)
    assert doc["duration_s"] == pytest.approx(60 * 1001 / 30000)
    assert doc["keyframes"] == pytest.approx([0, 15 * 1001 / 30000, 30 * 1001 / 30000,
                                              45 * 1001 / 30000])
    import hashlib

    assert doc["sha256"] == hashlib.sha256(clips.path("h264_2997").read_bytes()).hexdigest()
    assert doc["bytes"] == clips.path("h264_2997").stat().st_size


@pytest.mark.parametrize(("name", "container", "codec"), [
    ("vp9", "webm", "vp9"), ("av1", "matroska", "av1"), ("prores", "mov", "prores"),
    ("mpeg4_avi", "avi", "mpeg4"), ("mjpeg_avi", "avi", "mjpeg"), ("gif", "gif", "gif"),
    ("hevc", "mp4", "hevc"), ("h264_ts", "mpegts", "h264"),
])
def test_probe_names(clips: ClipStore, name: str, container: str, codec: str) -> None:
    doc = run_json("probe", clips.path(name))
    assert (doc["container"], doc["codec"]) == (container, codec)


def test_frames_default_folder_and_human_output(clips: ClipStore, in_tmp: Path) -> None:
    out = run_cli("frames", clips.path("h264_bframes"), "0:01", "end", "--quiet").stdout
    lines = out.splitlines()
    assert lines == [
        "h264_bframes_frames/f000024_1.000s.png  mark          '0:01' -> frame 24 "
        "at 1.000 s (00:01.000)",
        "h264_bframes_frames/f000059_2.459s.png  end            'end' -> frame 59 "
        "at 2.459 s (00:02.459)",
    ]
    assert sorted(p.name for p in (in_tmp / "h264_bframes_frames").iterdir()) == [
        "f000024_1.000s.png", "f000059_2.459s.png"]


def test_frames_output_is_a_file(clips: ClipStore, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    result = run_cli("frames", clips.path("h264_bframes"), "start", "-o", target, expect=1)
    assert result.stderr == (f"Error: {target} exists and is not a folder: "
                             f"choose another -o folder.\n")
    assert target.read_text() == "keep me"


def test_json_is_one_document(clips: ClipStore, tmp_path: Path) -> None:
    result = run_cli("frames", clips.path("gif"), "start", "f3", "-o", tmp_path, "--json")
    doc = json.loads(result.stdout)
    assert [f["index"] for f in doc["frames"]] == [0, 3]
    assert result.stderr == ""


@pytest.mark.parametrize("args", [[], ["profile"]])
def test_a_command_given_nothing_shows_its_help_laid_out(args: list[str]) -> None:
    """The bare command, or a group without its subcommand, shows the help as --help lays
    it out (it was one 1,500-character 'Error:' line), and exits 2: nothing was done."""
    result = run_cli(*args, expect=2)
    name = " ".join(["ava-evidence", *args])
    assert result.stderr.startswith(f"Usage: {name} [OPTIONS] COMMAND [ARGS]...\n\n")
    assert "\nCommands:\n" in result.stderr and "Error:" not in result.stderr
    assert result.stdout == ""


def test_builds_help_says_how_a_time_is_written() -> None:
    """A creator reading build --help learns the time forms there (review, round 45)."""
    text = " ".join(run_cli("build", "--help").stdout.split())
    assert "TIME: seconds (2.5), a clock (0:02.5), a frame (f60), start or end; all forms " \
        "in 'ava-evidence frames --help'." in text


def test_help_is_light() -> None:
    """--help must not import the heavy video and image libraries."""
    code = ("import sys\nfrom ava_evidence.cli import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('av', 'numpy', 'cv2', 'PIL', 'jinja2', 'yaml')\n"
            "         if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    for command in ("probe", "frames"):
        assert command in out.stdout


def test_entry_point_keeps_numpy_to_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenBLAS's spinning threads took CPU from the decoder; a user's own setting wins."""
    import signal

    from ava_evidence.cli import main

    monkeypatch.setattr(sys, "argv", ["ava-evidence", "--version"])
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    handler = signal.getsignal(signal.SIGINT)  # main() ignores Ctrl-C once it is done
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
        assert exit_.value.code == 0
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
        with pytest.raises(SystemExit):
            main()
        assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
    finally:
        signal.signal(signal.SIGINT, handler)


def test_library_has_no_click() -> None:
    code = ("import sys\nimport ava_evidence.clip, ava_evidence.decode, ava_evidence.stills, "
            "ava_evidence.timecode\nprint('click' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_module_entry_point(clips: ClipStore) -> None:
    out = subprocess.run([sys.executable, "-m", "ava_evidence", "probe", "--json",
                          str(clips.path("gif"))], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["frame_count"] == 20


def test_written_files_are_not_private(clips: ClipStore, tmp_path: Path) -> None:
    import stat

    chart = tmp_path / "chart.png"
    run_cli("suggest", clips.path("h264_bframes"), "--failure", "physics", "--chart", chart)
    run_cli("build", clips.path("h264_bframes"), "--platform", "luma", "--id", "p",
            "--failure", "identity", "-o", tmp_path / "b.zip")
    mask = os.umask(0o022)
    os.umask(mask)
    for path in (chart, tmp_path / "b.zip"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path


def test_sound_running_past_the_picture_is_said(tmp_path: Path) -> None:
    """Review (round 45): a clip with 2 s of picture and 6 s of sound plays for 6 s, but
    probe said only 'duration 2.000 s' and a mark at 0:05 was 'past the end' without why."""
    from . import clipgen

    clip = tmp_path / "tail.mp4"
    subprocess.run([clipgen.ffmpeg(), "-loglevel", "error", "-f", "lavfi", "-t", "2", "-i",
                    "testsrc2=size=160x120:rate=24", "-f", "lavfi", "-t", "6", "-i",
                    "sine=frequency=440", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a",
                    "aac", str(clip)], check=True)
    out = run_cli("probe", clip).stdout
    assert "duration    2.000 s (00:02.000)\nsound       runs on to 6.0" in out
    err = run_cli("frames", clip, "0:05", "-o", tmp_path / "f", expect=2).stderr
    assert err.startswith("Error: time '0:05' is past the end: tail.mp4 lasts 2.000 s "
                          "(00:02.000) of picture (its sound runs on to 6.0")
    assert "over the last frame: the failure's frames are within the picture), 48 frames" in err
    assert run_json("probe", clip)["sound_end_s"] > 5.9
