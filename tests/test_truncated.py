"""A half-downloaded clip is reported as truncated, whatever its container (issue 14, F6).

MP4 declares its sample count (checked before); Matroska/WebM declare their duration;
fragmented MP4 lists the frames of each fragment; MPEG-TS declares nothing but is made of
fixed-size packets. build refuses a truncated clip with exit status 1 and says how much is
missing, unless --allow-truncated, which builds and records it in the manifest.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from ava_evidence.bundle import build_bundle
from ava_evidence.clip import index_clip

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli

X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "24"]
FULL = {
    "mkv": [*X264],
    "webm": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "24"],
    "ts": [*X264, "-f", "mpegts"],
    "mp4": [*X264, "-movflags", "+frag_keyframe+empty_moov"],  # fragmented
}


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each kind encoded whole (96 frames, 4 s), then cut in half as a stopped download is."""
    d = tmp_path_factory.mktemp("trunc")
    out = {}
    for ext, args in FULL.items():
        full = clipgen.encode(d / f"full.{ext}", 96, args=args)
        data = full.read_bytes()
        cut = len(data) // 2
        if ext == "ts" and cut % 188 == 0:
            cut += 1  # not on a packet boundary: a download stops anywhere
        (d / f"half.{ext}").write_bytes(data[:cut])
        out[ext] = d / f"half.{ext}"
        out[f"full.{ext}"] = full
    return out


def _build(clip: Path, out: Path, *extra: str, expect: int) -> str:
    result = run_cli("build", clip, "--platform", "kling", "--id", "cut1", "--failure",
                     "identity", "-o", out, "--quiet", *extra, expect=expect)
    return str(result.stderr)


@pytest.mark.parametrize("ext", list(FULL))
def test_complete_files_are_not_truncated(halves: dict[str, Path], ext: str) -> None:
    assert index_clip(halves[f"full.{ext}"]).truncation is None


def test_the_suites_clips_are_not_truncated(clips: ClipStore) -> None:
    for name in ("vp9", "av1", "h264_ts", "h264_editlist", "h264_start05", "mpeg4_avi"):
        assert index_clip(clips.path(name)).truncation is None, name


@pytest.mark.parametrize("ext", ["mkv", "webm"])
def test_half_a_matroska_file_says_how_much_is_missing(halves: dict[str, Path], tmp_path: Path,
                                                      ext: str) -> None:
    stderr = _build(halves[ext], tmp_path / "b.zip", expect=1)
    m = re.fullmatch(rf"Error: half\.{ext} is truncated: it declares 4\.000 s but its frames end "
                     r"at (\d\.\d{3}) s, so (\d\.\d{3}) s is missing: download the clip again, "
                     r"or add --allow-truncated to build from the frames that are there\.\n",
                     stderr)
    assert m, stderr
    end, missing = float(m[1]), float(m[2])
    assert 1.5 < end < 2.5 and abs(end + missing - 4.0) <= 0.002
    assert list(tmp_path.iterdir()) == []


def test_half_an_mpeg_ts_file(halves: dict[str, Path], tmp_path: Path) -> None:
    assert _build(halves["ts"], tmp_path / "b.zip", expect=1) == (
        "Error: half.ts is truncated: it ends inside an MPEG-TS packet (the format declares no "
        "duration), so how much is missing cannot be told: download the clip again, or add "
        "--allow-truncated to build from the frames that are there.\n")


def test_half_a_fragmented_mp4(halves: dict[str, Path], tmp_path: Path) -> None:
    stderr = _build(halves["mp4"], tmp_path / "b.zip", expect=1)
    m = re.fullmatch(r"Error: half\.mp4 is truncated: (\d+) of the frames it lists lie past the "
                     r"end of the file, so at least (\d\.\d{3}) s is missing: download the clip "
                     r"again, or add --allow-truncated to build from the frames that are "
                     r"there\.\n", stderr)
    assert m, stderr
    # The frames listed past the end, and any cut short before them, are missing.
    assert float(m[2]) >= int(m[1]) / 24 - 0.001


@pytest.mark.parametrize("ext", list(FULL))
def test_allow_truncated_builds_and_records_it(halves: dict[str, Path], tmp_path: Path,
                                               ext: str) -> None:
    out = tmp_path / "b.zip"
    result = run_cli("build", halves[ext], "--platform", "kling", "--id", "cut1", "--failure",
                     "identity", "-o", out, "--quiet", "--allow-truncated", "--json")
    clip = json.loads(result.stdout)["manifest"]["clip"]
    assert clip["truncated"] is True
    if ext == "ts":
        assert clip["missing_s"] is None
    else:  # half of 4 s; a fragmented MP4 only tells what its last fragment lists
        assert clip["missing_s"] > (1.5 if ext in ("mkv", "webm") else 0.04)
    assert any(line.startswith(f"Warning: half.{ext} is truncated (")
               for line in result.stderr.splitlines())
    with zipfile.ZipFile(out) as z:
        name = next(n for n in z.namelist() if n.endswith("data/manifest.json"))
        manifest = json.loads(z.read(name))
    assert manifest["clip"]["truncated"] is True
    assert any("is truncated" in w for w in manifest["warnings"])
    # The message says so too: the agent sees why the clip ends where it does.
    with zipfile.ZipFile(out) as z:
        text = z.read(name.replace("manifest.json", "ticket.txt")).decode()
    stops = re.search(r"The file I downloaded stops at (\S+?)(, about [\d.]+ s)? before its "
                      r"full length; its last frame above is where it stops\.", text)
    assert stops, text
    assert (stops.group(2) is None) == (ext == "ts")
    lib = build_bundle(halves[ext], platform="kling", generation_id="cut2", failure="identity",
                       output=tmp_path / "lib.zip", allow_truncated=True)
    assert lib.truncation is not None and lib.truncation.missing_s == clip["missing_s"]
    assert run_cli("verify", out).stdout.startswith("OK: ")


def test_probe_and_frames_say_it(halves: dict[str, Path], tmp_path: Path) -> None:
    probe = run_cli("probe", halves["webm"]).stdout
    assert re.search(r"^truncated   it declares 4\.000 s but its frames end at \d\.\d{3} s, so "
                     r"\d\.\d{3} s is missing$", probe, re.M), probe
    result = run_cli("frames", halves["webm"], "end", "-o", tmp_path, "--quiet")
    assert result.stderr.startswith("Warning: half.webm is truncated (it declares 4.000 s")
    assert result.stderr.endswith("): 'end' is where the file stops.\n")


def test_a_fragmented_mp4_cut_inside_its_last_frame(halves: dict[str, Path],
                                                    tmp_path: Path) -> None:
    """Every listed frame is read, but the last one only in part: it is left out, and it
    alone is missing (once: it lies past the end, and it is left out)."""
    import av

    full = halves["full.mp4"]
    with av.open(str(full)) as c:
        end = max(e.pos + e.size for e in c.streams.video[0].index_entries)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[:end - 10])
    truncation = index_clip(cut, allow_truncated=True).truncation
    assert truncation is not None and truncation.listed_past_end == 1
    assert _build(cut, tmp_path / "b.zip", expect=1).startswith(
        "Error: cut.mp4 is truncated: 1 of the frames it lists lies past the end of the file, "
        "so at least 0.042 s is missing")  # that one frame, counted once


def test_mark_refuses_a_truncated_clip_unless_allowed(halves: dict[str, Path]) -> None:
    from ava_evidence.markserver import MarkSession

    result = run_cli("mark", halves["webm"], "--no-browser", expect=1)
    assert result.stderr.startswith("Error: half.webm is truncated: it declares 4.000 s")
    session = MarkSession.open(halves["webm"], defaults={}, out_dir=halves["webm"].parent,
                               allow_truncated=True)
    assert session.index.truncation is not None and session.allow_truncated


@pytest.fixture(scope="module")
def bframes_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain (not fragmented) MP4 with B-frames and its index first, as platforms serve
    them: a download that stops leaves the index whole and the frames half."""
    d = tmp_path_factory.mktemp("bcut")
    return clipgen.encode(d / "full.mp4", 72, args=[*X264, "-bf", "3", "-movflags", "+faststart"])


@pytest.mark.parametrize("share", [0.35, 0.5, 0.62, 0.8])
def test_a_cut_mp4_numbers_the_frames_it_keeps_as_the_whole_clip_does(
        bframes_mp4: Path, tmp_path: Path, share: float) -> None:
    """B-frames are stored after the later frame they refer to: a download cut between
    the two has the later frame and not the B-frame. Kept, that later frame would take the
    missing one's number (a still labelled frame 40 showing frame 41). The frames kept are
    numbered as in the whole clip, each shows the frame its number says, and the refusal
    and the truncation count them alike."""
    from ava_evidence.decode import decode_frames, iter_luma

    data = bframes_mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:int(len(data) * share)])
    whole = index_clip(bframes_mp4)
    index = index_clip(cut, allow_truncated=True)
    assert index.truncation is not None and index.frame_count < whole.frame_count
    assert index.frame_pts == whole.frame_pts[:index.frame_count]
    shown = {i: clipgen.read_barcode(rgb)
             for i, rgb in decode_frames(index, range(index.frame_count))}
    assert shown == {i: i for i in range(index.frame_count)}
    # the measuring pass reads them all too, never feeding the packet the download cut
    assert [i for i, _ in iter_luma(index, 64)] == list(range(index.frame_count))
    assert index.truncation.read_frames == index.frame_count
    stderr = run_cli("frames", cut, "end", "-o", tmp_path / "f", expect=1).stderr
    assert stderr == (f"Error: cut.mp4 is incomplete: it declares {whole.frame_count} frames "
                      f"but only {index.frame_count} can be read: download the clip again.\n")


def test_the_measuring_pass_reads_past_a_damaged_packet_of_a_cut_download(
        tmp_path: Path) -> None:
    """A cut MPEG-TS with three packets lost in its middle: the index keeps the frames
    after the damage, and the measuring pass reads them all (it stopped at the damaged
    packet, and the motion features came out shorter than the clip)."""
    from ava_evidence.decode import iter_luma

    full = clipgen.encode(tmp_path / "full.ts", 72, args=[*X264, "-bf", "3", "-f", "mpegts"])
    data = full.read_bytes()
    mid = len(data) // 2 // 188 * 188
    data = data[:mid] + data[mid + 3 * 188:]
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[:len(data) * 9 // 10 // 188 * 188 + 100])
    index = index_clip(cut, allow_truncated=True)
    assert index.truncation is not None and index.frame_count > 40
    assert [i for i, _ in iter_luma(index, 64)] == list(range(index.frame_count))


def test_the_frames_before_the_cut_are_all_kept_and_none_after_a_missing_one() -> None:
    """(pts, duration) in presentation order; the packet read last (``last``, decoded at
    ``last_dts``) may be cut short. At one frame rate, every frame up to the first missing
    one is kept (a P-frame shown right after the last frame kept, though it is decoded
    before B-frames not read), and none after it."""
    from ava_evidence.clip import _before_the_cut

    def frames(*pts: int) -> list[tuple[int, int]]:
        return [(p, 512) for p in pts]

    # decoded: ... (6656, dts 4608), (5632), (6144), (8704, dts 6144: cut); 7168 never read
    read = frames(3584, 4096, 4608, 5120, 5632, 6144, 6656, 8704)
    assert _before_the_cut(read, (8704, 512), 6144, 0) == read[:-1]
    # the B-frame at 39424 was cut: the P-frame at 39936 would take its number
    read = frames(38400, 38912, 39424, 39936)
    assert _before_the_cut(read, (39424, 512), 39424, 0) == read[:2]
    # Matroska's milliseconds at 24 fps step 41 or 42: one frame rate all the same
    read = [(t, 42) for t in (0, 42, 83, 125, 167, 208)]
    assert _before_the_cut(read, (208, 42), 125, 0) == read[:5]
    read = [(t, 42) for t in (0, 42, 83, 125, 208, 250)]  # 167 not read
    assert _before_the_cut(read, (250, 42), 125, 0) == read[:4]
    # no decode times: only the cut packet goes
    assert _before_the_cut(frames(0, 512, 1536, 1024), (1024, 512), None, 0) == \
        frames(0, 512, 1536)
    # the same time twice (decoder order): one of them is the cut packet
    assert _before_the_cut([(0, 0)] * 3, (0, 0), None, 0) == [(0, 0)] * 2
