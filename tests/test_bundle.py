"""build, verify and demo end to end, checked against the pixels and with bagit-python."""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ava_evidence.compose import (
    Caption,
    compose_pair,
    compose_strip,
    downscale,
    font,
    font_px,
    wrap_text,
)

from . import clipgen
from .conftest import ClipStore
from .helpers import run_cli, run_json

CLIP = "h264_bframes"  # 60 frames at 24 fps, keyframes every 12


def _build(clips: ClipStore, out: Path, *extra: str, failure: str = "physics",
           platform: str = "kling", expect: int = 0) -> Any:
    args = ["build", clips.path(CLIP), "--platform", platform, "--id", "gen-42",
            "--failure", failure, "-o", out, *extra]
    if expect:
        return run_cli(*args, expect=expect)
    return run_json(*args)


def _members(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))


def _halves(pair: np.ndarray, frame_w: int, frame_h: int) -> tuple[np.ndarray, np.ndarray]:
    band = (pair.shape[0] - frame_h) // 2
    left = pair[band:band + frame_h, :frame_w]
    right = pair[band:band + frame_h, pair.shape[1] - frame_w:]
    return left, right


@pytest.fixture(scope="module")
def bundle(clips: ClipStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bundle") / "evidence.zip"
    doc = _build(clips, out, "--mark", "1.0", "--mark", "f40", "--note", "ball <b>jumps</b>")
    return out, doc


def test_json_contract(bundle: tuple[Path, dict]) -> None:
    out, doc = bundle
    assert set(doc) == {"bundle", "manifest", "missing"}
    assert doc["bundle"] == str(out)
    m = doc["manifest"]
    for key in ("schema", "tool", "created_utc", "generation_id", "platform", "plan", "failure",
                "term", "channel", "refund_policy", "clip", "frames", "attachments"):
        assert key in m, key
    assert m["schema"] == "ava-evidence/1"
    assert (m["platform"], m["failure"], m["term"]) == ("kling", "physics",
                                                        "Physics Prior Degeneration")
    assert m["generation_id"] == "gen-42"
    assert set(m["tool"]) >= {"name", "version"}
    assert set(m["channel"]) >= {"kind", "where"}
    assert set(m["refund_policy"]) >= {"summary", "source", "checked"}
    for key in ("file_name", "sha256", "bytes", "container", "codec", "width", "height",
                "rotation", "fps", "duration_s", "frame_count"):
        assert key in m["clip"], key
    for frame in m["frames"]:
        assert set(frame) >= {"label", "requested", "index", "time_s", "file"}
    assert doc["missing"] == m["ticket"]["missing"]
    assert "account email" in doc["missing"]
    names = set(_members(out))
    bag = "kling_gen-42_physics"
    for f in m["attachments"]:
        assert f"{bag}/data/{f}" in names


def test_stills_pairs_and_manifest_show_the_right_frames(bundle: tuple[Path, dict],
                                                         clips: ClipStore) -> None:
    out, doc = bundle
    m = doc["manifest"]
    oracle = clips.oracle(CLIP)
    members = _members(out)
    bag = "kling_gen-42_physics"
    assert [(f["label"], f["index"]) for f in m["frames"]] == [
        ("start", 0), ("mark", 24), ("mark", 40), ("end", 59)]
    assert [f["requested"] for f in m["frames"]] == ["start", "1.0", "f40", "end"]
    for f in m["frames"]:
        rgb = _png(members[f"{bag}/data/{f['file']}"])
        assert rgb.shape == (180, 320, 3)
        assert clipgen.read_barcode(rgb) == oracle.codes[f["index"]] == f["index"]
        assert f["time_s"] == pytest.approx(oracle.times[f["index"]], abs=1e-5)
    expected_pairs = [(0, 59), (23, 24), (39, 40)]
    assert [(p["left"], p["right"]) for p in m["pairs"]] == expected_pairs
    stills = {f["index"]: _png(members[f"{bag}/data/{f['file']}"]) for f in m["frames"]}
    for p, (left_i, right_i) in zip(m["pairs"], expected_pairs, strict=True):
        left, right = _halves(_png(members[f"{bag}/data/{p['file']}"]), 320, 180)
        assert clipgen.read_barcode(left) == left_i
        assert clipgen.read_barcode(right) == right_i
        # Same pixels as the lossless still, colours included (frames pass through BGR).
        assert np.abs(right.astype(int) - stills[right_i].astype(int)).mean() < 1
    strip = _png(members[f"{bag}/data/strip.png"])
    assert 6 <= len(m["strip"]["indices"]) <= 12
    assert strip.shape[1] > 320


@pytest.mark.parametrize("threads", [0, 1])
def test_same_images_whatever_the_threading(bundle: tuple[Path, dict], clips: ClipStore,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            threads: int) -> None:
    """Batch workers do everything on one thread (0), 4K builds use one helper (1), others
    two: every still, pair and the strip must come out byte-identical either way."""
    from ava_evidence import decode

    monkeypatch.setattr(decode, "WORKER_THREADS", threads)
    monkeypatch.setattr(decode, "DECODER_THREADS", 1)
    out = tmp_path / "evidence.zip"
    _build(clips, out, "--mark", "1.0", "--mark", "f40", "--note", "ball <b>jumps</b>")
    images = {n: b for n, b in _members(out).items() if n.endswith(".png")}
    reference = {n: b for n, b in _members(bundle[0]).items() if n.endswith(".png")}
    assert len(images) == 10  # 4 stills, 2 frames before marks, 3 pairs, the strip
    assert images.keys() == reference.keys()
    assert [n for n in images if images[n] != reference[n]] == []


def test_mark_on_the_first_frame_and_repeated_marks(clips: ClipStore, tmp_path: Path) -> None:
    out = tmp_path / "m.zip"
    m = _build(clips, out, "--mark", "start", "--mark", "1", "--mark", "1.0")["manifest"]
    assert [(f["label"], f["index"], f["requested"]) for f in m["frames"]] == [
        ("start", 0, "start"), ("mark", 0, "start"), ("mark", 24, "1"), ("end", 59, "end")]
    assert [(p["kind"], p["left"], p["right"]) for p in m["pairs"]] == [
        ("start-end", 0, 59), ("mark-after", 0, 1), ("before-mark", 23, 24)]
    assert [(c["label"], c["for_index"], c["index"]) for c in m["context_frames"]] == [
        ("after", 0, 1), ("before", 24, 23)]
    members = _members(out)
    bag = "kling_gen-42_physics"
    after = _png(members[f"{bag}/data/{m['context_frames'][0]['file']}"])
    assert m["context_frames"][0]["file"].startswith("frames/after_f000001_")
    assert clipgen.read_barcode(after) == 1
    left, right = _halves(_png(members[f"{bag}/data/{m['pairs'][1]['file']}"]), 320, 180)
    assert (clipgen.read_barcode(left), clipgen.read_barcode(right)) == (0, 1)
    ticket = members[f"{bag}/data/ticket.txt"].decode()
    assert "02_mark1_f000000.png (frames 0 and 1 side by side)" in ticket
    assert "- 0:00 (frame 0): [what is visible here]\n- 0:01 (frame 24): [what is visible " \
        "here]" in ticket  # the mark on frame 0 speaks for the start's line: no line twice
    report = members[f"{bag}/data/report.html"].decode()
    assert "Mark 1 and just after" in report


def test_a_mark_on_the_last_frame_without_words_is_a_blank_to_fill(clips: ClipStore,
                                                                   tmp_path: Path) -> None:
    """A mark on the last frame speaks for the end's line: without words it is a blank to
    fill and is listed as one, not 'end of the clip' (the mark vanished from the ticket)."""
    out = tmp_path / "m.zip"
    result = _build(clips, out, "--mark", "end")
    assert [(f["label"], f["index"]) for f in result["manifest"]["frames"]] == [
        ("start", 0), ("mark", 59), ("end", 59)]
    ticket = _members(out)["kling_gen-42_physics/data/ticket.txt"].decode()
    assert "- 0:02.459 (frame 59, last frame): [what is visible here]\n" in ticket
    assert "end of the clip" not in ticket
    assert "what is visible at 0:02.459" in result["missing"]
    worded = _build(clips, tmp_path / "w.zip", "--mark", "end=the cup melts into the table")
    ticket = _members(tmp_path / "w.zip")["kling_gen-42_physics/data/ticket.txt"].decode()
    assert "- 0:02.459 (frame 59, last frame): the cup melts into the table\n" in ticket
    assert not any("0:02.459" in m for m in worded["missing"])


def test_a_frame_with_two_names_is_encoded_once(clips: ClipStore, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import ava_evidence.stills

    encoded: list[tuple[int, ...]] = []
    real = ava_evidence.stills.encode_png

    def counting(rgb: np.ndarray, *, bgr: bool = False) -> bytes:
        encoded.append(rgb.shape)
        return real(rgb, bgr=bgr)

    monkeypatch.setattr(ava_evidence.stills, "encode_png", counting)
    m = _build(clips, tmp_path / "m.zip", "--mark", "start", "--mark", "1")["manifest"]
    stills = {f["file"] for f in m["frames"]} | {c["file"] for c in m["context_frames"]}
    assert len(stills) == 6  # frame 0 is both the start and mark 1
    assert len(encoded) == 5 + len(m["pairs"]) + 1  # 5 frames, the pairs, the strip
    members = _members(tmp_path / "m.zip")
    bag = "kling_gen-42_physics"
    assert members[f"{bag}/data/{m['frames'][0]['file']}"] == \
        members[f"{bag}/data/{m['frames'][1]['file']}"]


def test_printed_times_select_their_frame_when_typed_back(clips: ClipStore,
                                                          tmp_path: Path) -> None:
    """59/24 s is 2.4583...: every caption says 2.459, which selects frame 59 again."""
    out = tmp_path / "t.zip"
    _build(clips, out, "--mark", "1")
    report = _members(out)["kling_gen-42_physics/data/report.html"].decode()
    assert "end: frame 59 at 0:02.459" in report and "2.458" not in report
    text = _members(out)["kling_gen-42_physics/data/ticket.txt"].decode()
    assert "- 0:02.459 (frame 59, last frame): end of the clip" in text


def test_bag_validates_with_bagit_python(bundle: tuple[Path, dict], tmp_path: Path) -> None:
    import bagit

    out, _ = bundle
    with zipfile.ZipFile(out) as z:
        z.extractall(tmp_path)
    (bag_dir,) = tmp_path.iterdir()
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # raises on any problem
    assert bag.info["External-Identifier"] == "gen-42"
    assert bag.info["Source-Organization"] == "Kling AI"
    assert "Bagging-Date" in bag.info and "Payload-Oxum" in bag.info
    assert "Physics Prior Degeneration" in bag.info["External-Description"]
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert (bag_dir / "tagmanifest-sha256.txt").is_file()
    names = sorted(p.relative_to(bag_dir).as_posix() for p in bag_dir.rglob("*") if p.is_file())
    for required in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
                     "tagmanifest-sha256.txt", "data/manifest.json", "data/ticket.md",
                     "data/ticket.txt", "data/report.html", "data/strip.png"):
        assert required in names
    assert any(n.startswith("data/frames/") for n in names)
    assert any(n.startswith("data/pairs/") for n in names)


def test_members_are_ordered_and_named_safely(bundle: tuple[Path, dict]) -> None:
    out, _ = bundle
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    assert all(n.startswith("kling_gen-42_physics/") for n in names)
    for n in names:
        assert ".." not in n and not n.startswith("/") and "\\" not in n
        assert all(c.isalnum() or c in "._-/" for c in n), n


def test_verify_passes(bundle: tuple[Path, dict]) -> None:
    out, _ = bundle
    result = run_cli("verify", out)
    assert result.stdout.startswith(f"OK: {out} is a valid bag (")
    assert run_json("verify", out) == {"ok": True, "bag": "kling_gen-42_physics",
                                       "files": len([n for n in _members(out) if "/data/" in n]),
                                       "problems": [], "ignored": []}


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None],
             add: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename in change:
                new = change[item.filename]
                if new is None:
                    continue
                data = new
            zout.writestr(item.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)


def test_verify_names_every_flipped_member(bundle: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = bundle
    members = _members(out)
    for name, data in members.items():
        if not data:
            continue
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x01
        bad = tmp_path / "bad.zip"
        _rewrite(out, bad, {name: bytes(flipped)})
        doc = run_json("verify", bad, expect=1)
        assert doc["ok"] is False
        files = {p["file"] for p in doc["problems"]}
        assert name in files, (name, doc["problems"])
        result = run_cli("verify", bad, expect=1)
        assert f"{name} (" in result.stdout
        assert result.stderr.startswith(f"Error: {bad} failed verification: ")


def test_verify_names_removed_and_added_files(bundle: tuple[Path, dict], tmp_path: Path) -> None:
    out, doc = bundle
    bag = "kling_gen-42_physics"
    removed = f"{bag}/data/{doc['manifest']['frames'][1]['file']}"
    bad = tmp_path / "removed.zip"
    _rewrite(out, bad, {removed: None})
    problems = run_json("verify", bad, expect=1)["problems"]
    assert {"kind": "missing", "file": removed} in [
        {"kind": p["kind"], "file": p["file"]} for p in problems]
    bad = tmp_path / "added.zip"
    _rewrite(out, bad, {}, add={f"{bag}/data/extra.txt": b"sneaky"})
    problems = run_json("verify", bad, expect=1)["problems"]
    assert [(p["kind"], p["file"]) for p in problems if p["kind"] == "unexpected"] == [
        ("unexpected", f"{bag}/data/extra.txt")]


def test_verify_bad_inputs(tmp_path: Path) -> None:
    result = run_cli("verify", tmp_path / "nope.zip", expect=1)
    assert result.stderr == f"Error: {tmp_path / 'nope.zip'}: no such bundle: check the path " \
                            f"of the .zip file.\n"
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    result = run_cli("verify", junk, expect=1)
    assert result.stderr.startswith("Error: junk.zip is not a readable zip (")


def test_verify_an_unzipped_bundle(bundle: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = bundle
    with zipfile.ZipFile(out) as z:
        z.extractall(tmp_path / "unzipped")
    bag = tmp_path / "unzipped" / "kling_gen-42_physics"
    files = len([n for n in _members(out) if "/data/" in n])
    for given in (bag, tmp_path / "unzipped"):  # the bag, or the folder holding it
        assert run_json("verify", given) == {"ok": True, "bag": "kling_gen-42_physics",
                                             "files": files, "problems": [], "ignored": []}
    (bag / "data" / "ticket.txt").write_text("edited")
    (bag / "data" / "extra.png").write_bytes(b"x")
    (bag / "data" / "strip.png").unlink()
    doc = run_json("verify", bag, expect=1)
    assert {(p["kind"], p["file"]) for p in doc["problems"]} == {
        ("changed", "kling_gen-42_physics/data/ticket.txt"),
        ("unexpected", "kling_gen-42_physics/data/extra.png"),
        ("missing", "kling_gen-42_physics/data/strip.png"),
        ("invalid", "kling_gen-42_physics/bag-info.txt")}  # Payload-Oxum no longer matches
    result = run_cli("verify", tmp_path, expect=1)
    assert result.stderr == (f"Error: {tmp_path} is not an unzipped bundle (it has no "
                             f"bagit.txt): give the bundle's .zip, or the folder unzipping it "
                             f"made.\n")


def test_physics_without_a_mark_is_a_usage_error(clips: ClipStore, tmp_path: Path) -> None:
    out = tmp_path / "x.zip"
    result = _build(clips, out, expect=2)
    assert result.stderr == ("Error: Physics Prior Degeneration needs at least 1 marked moment: "
                             "add --mark TIME=WHAT (for example --mark '0:02=the ball passes "
                             "through the rim') where the failure is visible.\n")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_prompt_adherence_needs_the_prompt(clips: ClipStore, tmp_path: Path) -> None:
    result = _build(clips, tmp_path / "x.zip", failure="prompt", expect=2)
    assert result.stderr == ("Error: Prompt Adherence Failure needs the prompt: give the prompt "
                             "you used with --prompt so support can compare it with the "
                             "stills.\n")
    result = _build(clips, tmp_path / "x.zip", "--mark", "1", failure="audio", expect=2)
    assert result.stderr == ("Error: Audio-Visual Desynchronisation needs a description: mark "
                             "where the sound and picture part with --mark TIME=WHAT, saying "
                             "what you hear there (or describe it with --note).\n")
    assert list(tmp_path.iterdir()) == []
    doc = _build(clips, tmp_path / "x.zip", "--prompt", "a red ball", failure="prompt")
    assert doc["manifest"]["facts"]["prompt"] == "a red ball"


def test_missing_template_folder_is_refused_before_decoding(
        clips: ClipStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ava_evidence.clip

    def no_indexing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the clip was read before the options were checked")

    monkeypatch.setattr(ava_evidence.clip, "index_clip", no_indexing)
    missing = tmp_path / "no-such-templates"
    result = _build(clips, tmp_path / "x.zip", "--mark", "1", "--templates", missing, expect=2)
    assert result.stderr == (f"Error: template folder {missing} does not exist: check "
                             f"--templates.\n")
    assert list(tmp_path.iterdir()) == []


def test_bad_mark_names_the_clip(clips: ClipStore, tmp_path: Path) -> None:
    result = _build(clips, tmp_path / "x.zip", "--mark", "9", expect=2)
    assert result.stderr == ("Error: time '9' is past the end: h264_bframes.mp4 lasts 2.500 s "
                             "(00:02.500), 60 frames (f0-f59); use 'end' for the last frame.\n")
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_neither_a_zip_nor_a_folder_says_both(clips: ClipStore,
                                                                  tmp_path: Path) -> None:
    """-o takes a bundle name (.zip) or a folder: a name that is neither is refused,
    saying both (it said only .zip, though the help names a folder too)."""
    result = _build(clips, tmp_path / "newdir", "--mark", "1", expect=2)
    assert result.stderr == ("Error: the bundle is a zip file: give -o a name ending in .zip, "
                             "or a folder that exists (got newdir).\n")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(clips: ClipStore, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    out.write_bytes(b"precious")
    result = _build(clips, out, "--mark", "1", expect=1)
    assert result.stderr == (f"Error: {out} already exists: use --force to replace it, or -o to "
                             f"choose another name.\n")
    assert out.read_bytes() == b"precious"
    doc = _build(clips, out, "--mark", "1", "--force")
    assert zipfile.is_zipfile(out) and doc["bundle"] == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.zip"]  # no temporary left over


def test_default_name_and_output_folder(clips: ClipStore, in_tmp: Path) -> None:
    doc = run_json("build", clips.path(CLIP), "--platform", "Runway", "--id", "a/b:c d",
                   "--failure", "identity")
    assert doc["bundle"] == str(in_tmp / "runway_a-b-c-d_identity-coherence.zip")
    assert doc["manifest"]["generation_id"] == "a/b:c d"  # kept exactly in the manifest
    sub = in_tmp / "out"
    sub.mkdir()
    doc = run_json("build", clips.path(CLIP), "--platform", "luma", "--id", "x",
                   "--failure", "identity", "-o", sub)
    assert doc["bundle"] == str(sub / "luma_x_identity-coherence.zip")
    result = run_cli("build", clips.path(CLIP), "--platform", "luma", "--id", "x",
                     "--failure", "identity", "-o", in_tmp / "missing" / "b.zip", expect=1)
    assert result.stderr.startswith(f"Error: folder {in_tmp / 'missing'} does not exist: "
                                    f"create it (mkdir -p ")


def test_discord_text_and_attachment_budget(clips: ClipStore, tmp_path: Path) -> None:
    doc = _build(clips, tmp_path / "p.zip", "--mark", "1=the ball jumps", "--note",
                 "long note " * 500, platform="runway")
    m = doc["manifest"]
    assert m["channel"]["kind"] == "discord"
    members = _members(tmp_path / "p.zip")
    text = members["runway_gen-42_physics/data/ticket.txt"].decode()
    assert len(text) <= 2000 == m["ticket"]["limit"]
    assert "gen-42" in text and "- 0:01 (frame 24): the ball jumps" in text
    for f in m["attachments"]:
        assert len(members[f"runway_gen-42_physics/data/{f}"]) <= 20_000_000
    assert m["ticket"]["shortened"] == ["the names of the full-size stills",
                                        "the attachments' descriptions",
                                        "the sentence saying the images are labelled",
                                        "the end of the note"]
    assert "long note long note" in text and "…" in text
    out = run_cli("build", clips.path(CLIP), "--platform", "runway", "--id", "gen-42",
                  "--failure", "physics", "--mark", "1", "--note", "long note " * 500, "-o",
                  tmp_path / "q.zip").stdout
    assert ("Shortened to fit the 2000-character limit: left out the names of the full-size "
            "stills, the attachments' descriptions, the sentence saying the images are labelled "
            "and the end of the note.") in out
    short = _build(clips, tmp_path / "r.zip", "--mark", "1", platform="runway")["manifest"]
    assert short["ticket"]["shortened"] == []


def test_attachments_over_the_limit_get_jpeg_copies(clips: ClipStore, tmp_path: Path) -> None:
    catalog = tmp_path / "tiny.yaml"
    catalog.write_text("limits:\n  email:\n    attachment_limit_mb: 0.02\n")
    doc = _build(clips, tmp_path / "t.zip", "--mark", "1", "--channels", catalog,
                 platform="luma")
    m = doc["manifest"]
    members = _members(tmp_path / "t.zip")
    bag = "luma_gen-42_physics"
    assert m["attachment_limit_mb"] == 0.02
    assert any(a.startswith("attach/") for a in m["attachments"])
    for a in m["attachments"]:
        assert len(members[f"{bag}/data/{a}"]) <= 20_000
    assert m["attachment_notes"] and "the lossless original stays in the bundle" in \
        m["attachment_notes"][0]
    # The lossless originals are still there.
    for p in m["pairs"]:
        assert f"{bag}/data/{p['file']}" in members


def test_share_url_and_include_clip(clips: ClipStore, tmp_path: Path) -> None:
    revived = tmp_path / "revived.yaml"  # Sora is discontinued; a user file can revive it
    revived.write_text("platforms:\n  sora:\n    status: active\n    discontinued: null\n")
    link = "https://sora.chatgpt.com/p/s_0123abcd?utm=x"
    doc = run_json("build", clips.path(CLIP), "--platform", "sora", "--id", link,
                   "--failure", "identity", "--include-clip", "-o", tmp_path / "s.zip",
                   "--channels", revived)
    m = doc["manifest"]
    assert m["generation_id"] == "s_0123abcd" and m["generation_id_input"] == link
    members = _members(tmp_path / "s.zip")
    text = members["sora_s_0123abcd_identity-coherence/data/ticket.txt"].decode()
    # a chat box: its blanks' room may have cost the facts' column alignment
    assert re.search(rf"Video ID: +s_0123abcd \({re.escape(link)}\)", text)
    clip_bytes = members[f"sora_s_0123abcd_identity-coherence/data/{m['clip_included']}"]
    import hashlib

    assert hashlib.sha256(clip_bytes).hexdigest() == m["clip"]["sha256"]


def test_an_id_of_an_unusual_form_is_built_with_a_warning(clips: ClipStore,
                                                          tmp_path: Path) -> None:
    """Runway task IDs are UUIDs: half an ID still builds (the documented form may be out
    of date), but the user is told, and the manifest keeps the doubt."""
    args = ["build", clips.path(CLIP), "--platform", "runway", "--failure", "identity",
            "--mark", "1=the eyes move apart"]
    result = run_cli(*args, "--id", "3f2a9c1e-77b0", "-o", tmp_path / "half.zip")
    assert result.stderr == ("Warning: \"3f2a9c1e-77b0\" is not in the usual form of Runway's "
                             "task ID. The bundle was built with it as given; check that it is "
                             "the whole ID. The web app shows no generation ID; find the clip "
                             "under Library > Assets and copy its link. API users have the task "
                             "id (a UUID) from GET /v1/tasks/{id}.\n")
    with zipfile.ZipFile(tmp_path / "half.zip") as z:
        m = json.loads(z.read("runway_3f2a9c1e-77b0_identity-coherence/data/manifest.json"))
    assert m["warnings"] == [result.stderr[len("Warning: "):-1]]
    uuid = "3f2a9c1e-77b0-4c1d-9e2f-0123456789ab"
    for given in (uuid, "https://app.runwayml.com/assets/abc"):  # the form, or a link
        ok = run_cli(*args, "--id", given, "-o", tmp_path / "ok.zip", "--force", "--json")
        assert json.loads(ok.stdout)["manifest"]["warnings"] == [] and ok.stderr == ""
    half = run_cli(*args, "--id", "3f2a9c1e-77b0", "-o", tmp_path / "j.zip", "--json")
    assert json.loads(half.stdout)["manifest"]["warnings"] == m["warnings"]
    assert half.stderr == result.stderr  # --json keeps stdout to the one document


def test_hostile_id_and_note(clips: ClipStore, tmp_path: Path) -> None:
    gid = "../../x<script>{{7*7}}</script>"
    # A rendered expression would show "injected": a word no hash or time can contain.
    note = "{{ 'inj' ~ 'ected' }} <img src=x onerror=alert(1)> {% if true %}"
    doc = run_json("build", clips.path(CLIP), "--platform", "luma", "--id", gid, "--failure",
                   "identity", "--note", note, "-o", tmp_path)
    out = Path(doc["bundle"])
    assert out.parent == tmp_path and out.name == "luma_x-script-7-7-script_identity-coherence.zip"
    members = _members(out)
    bag = out.stem
    html = members[f"{bag}/data/report.html"].decode()
    assert "x<script>" not in html and "onerror=alert(1)>" not in html
    assert html.count("<script>") == 1  # the report's own Copy button, nothing else
    assert "&lt;script&gt;{{7*7}}&lt;/script&gt;" in html
    md = members[f"{bag}/data/ticket.md"].decode()
    text = members[f"{bag}/data/ticket.txt"].decode()
    assert f"\n{note}\n" in text  # plain text shows it exactly as given
    assert "injected" not in md and "injected" not in html and "injected" not in text
    assert "\\<img src=x onerror=alert(1)>" in md  # Markdown shows it as text, not HTML
    assert json.loads(members[f"{bag}/data/manifest.json"])["note"] == note
    for bad in ("a\nb", "", "x" * 600):
        result = run_cli("build", clips.path(CLIP), "--platform", "luma", "--id", bad,
                         "--failure", "identity", "-o", tmp_path / "h.zip", expect=2)
        assert result.stderr.startswith("Error: the Generation ID ")


def test_nothing_private_in_the_bundle(clips: ClipStore, tmp_path: Path) -> None:
    deep = tmp_path / "Users" / "someone-private" / "Secret Projects" / "clips"
    deep.mkdir(parents=True)
    clip = deep / "my clip.mp4"
    shutil.copyfile(clips.path(CLIP), clip)
    doc = run_json("build", clip, "--platform", "kling", "--id", "g1", "--failure",
                   "identity", "-o", deep / "b.zip")
    assert doc["manifest"]["clip"]["file_name"] == "my clip.mp4"
    needles = {"someone-private", "Secret Projects", str(tmp_path), str(deep)}
    for word in (getpass.getuser(), socket.gethostname()):
        if len(word) >= 4:
            needles.add(word)
    for name, data in _members(deep / "b.zip").items():
        for needle in needles:
            assert needle.encode() not in data, (name, needle)
            assert needle not in name


@pytest.mark.parametrize(("kw", "size"), [({"height": 720}, (1280, 720)),  # bicubic
                                          ({"width": 320}, (320, 180)),  # area
                                          ({"width": 1600}, (1600, 900)),
                                          ({"height": 2160}, (1920, 1080))])  # never enlarged
def test_downscale_keeps_the_picture(kw: dict[str, int], size: tuple[int, int]) -> None:
    y, x = np.mgrid[0:1080, 0:1920]
    frame = np.stack([x * 255 // 1919, y * 255 // 1079, np.full_like(x, 128)], -1)
    frame = frame.astype(np.uint8)
    small = downscale(frame, **kw)
    assert (small.shape[1], small.shape[0]) == size
    assert np.abs(small.astype(float).mean(axis=(0, 1)) - frame.mean(axis=(0, 1))).max() < 1
    assert (small[..., 2] == 128).all()  # a flat channel stays flat: no ringing


@pytest.mark.parametrize(("h", "w"), [(180, 320), (1080, 1920), (1920, 1080), (2160, 3840)])
def test_captions_are_legible(h: int, w: int) -> None:
    frame = np.zeros((h, w, 3), np.uint8)
    pair = compose_pair(frame, frame, Caption("START", 0, 0), Caption("END", 9, 1), "footer")
    size = font_px(min(h, 1080))
    assert size >= 16 and size >= 0.025 * pair.height
    assert pair.width > pair.height or h > w  # side by side, portrait too
    strip = compose_strip([(frame, Caption("strip", i, i)) for i in range(8)], "footer")
    assert strip.height > 0 and strip.width >= 4 * 320


@pytest.mark.parametrize(("h", "w", "times", "lines"), [
    (144, 176, 2, 1), (96, 128, 2, 2), (256, 144, 2, 2), (360, 640, 1, 1), (1920, 1080, 1, 2),
    (1080, 1920, 1, 1)])
def test_every_pair_caption_is_shown_whole(h: int, w: int, times: int, lines: int) -> None:
    """A caption (the label, the time and the frame number) is shown whole above its frame:
    on one line, or on two over a narrow frame (a portrait clip's); a small clip's frames are
    enlarged a whole number of times until it fits, each pixel a block (nothing made up).
    Every row of the frame is shown, the first too (the caption band once covered it)."""
    from ava_evidence.compose import _pair_height

    rng = np.random.default_rng(h)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    captions = (Caption("START OF SHOT", 0, Fraction(0)),
                Caption("MARK 1", 90, Fraction(3003, 1000)))
    height = _pair_height(min(h, 1080), [(frame, captions[0]), (frame, captions[1])], "f")
    assert height == times * min(h, 1080)
    shown_w = round(w * height / h)
    size = font_px(height)
    said = [c.lines(shown_w - size, size) for c in captions]
    assert max(len(c) for c in said) == lines
    assert all(" ".join(c) == cap.text() and "…" not in "".join(c)
               for c, cap in zip(said, captions, strict=True))
    pair = np.asarray(compose_pair(frame, frame, *captions, "f").convert("RGB"))
    top = round(size * 1.8) + round(size * 1.3) * (lines - 1)
    if height % h == 0:
        np.testing.assert_array_equal(pair[top:top + height, :shown_w],
                                      frame.repeat(times, axis=0).repeat(times, axis=1))
    else:  # scaled down: the picture starts right under the captions all the same
        assert pair[top:top + height, :shown_w].std() > 20
        from ava_evidence.compose import BACKGROUND

        assert (pair[top - 2:top, :shown_w] == BACKGROUND).all()


def test_a_small_clip_s_pair_footer_is_shown_whole() -> None:
    """The footer (platform, ID, failure) goes on two lines where one is too narrow, and a
    small clip's frames are enlarged until it fits on two: a long ID is never cut."""
    from ava_evidence.compose import _pair_height

    frame = np.zeros((144, 176, 3), np.uint8)
    captions = Caption("START", 0, Fraction(0)), Caption("END", 5, Fraction(1, 6))
    footer = "Kling AI  |  Task ID auto-868126542138646573-xyz  |  Identity Coherence Failure"
    height = _pair_height(144, [(frame, c) for c in captions], footer)
    assert height == 288
    size = font_px(height)
    shown = wrap_text(footer, 2 * 352 + 8 - size, size, max_lines=2)
    assert " ".join(shown) == " ".join(footer.split()) and "…" not in "".join(shown)
    pair = compose_pair(frame, frame, *captions, footer)
    assert pair.size[1] >= height + 2 * round(size * 1.8)


def test_what_a_pair_shows_is_said_whole_on_a_narrow_pair() -> None:
    """A portrait clip's pair is narrow: the sentence saying what is visible wraps between
    words (three lines at most) instead of losing its middle, where the frame and the
    amount are."""
    said = ("MARK 1: the face starts to change; by 0:02.934 (frame 44) its eyes are about "
            "11% farther apart than at the start of the shot")
    lines = wrap_text(said, 400, 18)
    assert len(lines) > 1 and " ".join(lines) == said
    assert all(font(18).getlength(line) <= 400 for line in lines)
    assert len(wrap_text(said * 4, 400, 18)) == 3 and "…" in wrap_text(said * 4, 400, 18)[2]
    frame = np.zeros((640, 360, 3), np.uint8)
    short = compose_pair(frame, frame, Caption("START", 0, 0), Caption("END", 9, 1), "f",
                         note="MARK 1: the face has changed")
    long = compose_pair(frame, frame, Caption("START", 0, 0), Caption("END", 9, 1), "f",
                        note=said)
    assert long.height - short.height == (len(wrap_text(said, long.width - font_px(640),
                                                         font_px(640))) - 1) * round(
        font_px(640) * 1.3) > 0
    # each line on its own row of text: the note's rows of ACCENT are as many bands apart
    from ava_evidence.compose import ACCENT

    rgb = np.asarray(long.convert("RGB"))
    note = rgb[round(font_px(640) * 1.8) + 640:]
    rows = np.flatnonzero((note == ACCENT).all(axis=2).any(axis=1))
    assert rows.max() - rows.min() >= font_px(640) * 1.3


def test_demo_in_a_subprocess(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "ava-evidence"
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python "
                    "(run the README's install command)")
    proc = subprocess.run([str(script), "demo"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "ava-evidence-demo"
    assert (folder / "demo_clip.mp4").is_file() and (folder / "report.html").is_file()
    bundle = folder / "demo_bundle.zip"
    assert f"Bundle:      {Path('ava-evidence-demo') / 'demo_bundle.zip'}" in proc.stdout
    assert subprocess.run([str(script), "verify", str(bundle)], capture_output=True).returncode == 0
    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("kling_demo-0001_identity-coherence/data/manifest.json"))
    assert manifest["failure"] == "identity-coherence"
    assert [(f["index"], f.get("what")) for f in manifest["frames"]] == [
        (0, None), (36, "the eyes begin to move apart"),
        (72, "the eyes are clearly farther apart; the face no longer looks like the same "
             "person"), (95, None)]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _headless(browser: str, page: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic", f"--user-data-dir={profile}",
         "--virtual-time-budget=10000", "--enable-logging=stderr", "--v=0",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_report_renders_in_chromium(bundle: tuple[Path, dict], tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    out, doc = bundle
    html = _members(out)["kling_gen-42_physics/data/report.html"].decode()
    assert html.count("<script") == 1 and "<link" not in html and "url(" not in html
    assert "src=" not in html.split("<script>")[1]  # the Copy button's script loads nothing
    assert all(src.startswith("data:image/") for src in _srcs(html))
    expected = len(doc["manifest"]["pairs"]) + 1 + len(doc["manifest"]["frames"])
    probe = html.replace("</body>", (
        "<script>window.addEventListener('load', () => { const i = [...document.images];"
        " const ok = i.filter(x => x.complete && x.naturalWidth > 0).length;"
        " document.title = 'IMAGES ' + ok + '/' + i.length; });</script></body>"))
    page = tmp_path / "report.html"
    page.write_text(probe, encoding="utf-8")
    proc = _headless(browser, page, tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"<title>IMAGES {expected}/{expected}</title>" in proc.stdout, proc.stdout[:500]
    assert "Uncaught" not in proc.stderr and "Failed to load resource" not in proc.stderr


@pytest.mark.slow
def test_report_copy_button_copies_the_message_exactly(bundle: tuple[Path, dict],
                                                      tmp_path: Path) -> None:
    """The Copy button leaves ticket.txt on the clipboard or, where the browser refuses
    the clipboard (headless, no user gesture), selected for Ctrl+C."""
    import html as html_lib

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    out, _ = bundle
    members = _members(out)
    html = members["kling_gen-42_physics/data/report.html"].decode()
    expected = members["kling_gen-42_physics/data/ticket.txt"].decode()
    probe = html.replace("</body>", (
        "<pre id='probe'></pre><script>window.addEventListener('load', () => {"
        " document.getElementById('copy').click();"
        " setTimeout(() => { document.getElementById('probe').textContent ="
        " 'SELECTED:' + window.getSelection().toString() + ':TEXT:'"
        " + document.getElementById('message').textContent + ':END'; }, 200); });"
        "</script></body>"))
    page = tmp_path / "report.html"
    page.write_text(probe, encoding="utf-8")
    proc = _headless(browser, page, tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = proc.stdout.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]
    # What the button copies is the page's text of the message: ticket.txt exactly; the
    # selection a browser reports leaves out the final line break.
    assert html_lib.unescape(shown) == f"SELECTED:{expected.rstrip()}:TEXT:{expected}:END"
    status = proc.stdout.split('id="copied"', 1)[1].split("</span>", 1)[0]
    assert "Copied." in status or "press Ctrl+C" in status
    # The message and the how-to-send panel are apart: nothing for the user in the message.
    message = proc.stdout.split('<pre id="message">', 1)[1].split("</pre>", 1)[0]
    assert "How to send" not in message and "unverified" not in message.lower()


def _srcs(html: str) -> list[str]:
    import re

    return re.findall(r'<img src="([^"]*)"', html)


def test_build_human_output(clips: ClipStore, tmp_path: Path) -> None:
    out = run_cli("build", clips.path(CLIP), "--platform", "runway", "--plan", "pro", "--id",
                  "t1", "--failure", "physics", "--mark", "0:01", "-o", tmp_path / "r.zip",
                  "--quiet").stdout
    lines = out.splitlines()
    bag = tmp_path / "runway_t1_physics" / "data"
    assert lines[0].startswith(f"Bundle: {tmp_path / 'r.zip'} (")
    assert "  mark       0:01  frame 24 [say what is visible: --mark TIME=WHAT]" in lines
    # On Pro too, the route Runway documents (no page of Runway's gives Pro a route of its
    # own), said to be a community channel.
    assert lines[lines.index("Send: Discord: Runway's Discord community (linked from "
                             "help.runwayml.com)") + 1] == (
        "  This is a community channel, not a support desk: other users and moderators "
        "answer, and no one there is documented to grant credits.")
    assert any(line.startswith("Paste: Paste ticket.txt as one message.") for line in lines)
    assert lines[lines.index(f"Attach, from {bag}/:") + 1] == (
        "  pairs/01_start-end.png, pairs/02_mark1_f000024.png, "
        "frames/start_f000000_0.000s.png, frames/mark1_f000024_1.000s.png, "
        "frames/end_f000059_2.459s.png")
    assert any(line.startswith("Policy: Credits come back automatically only when")
               for line in lines)
    assert f"  then open {bag / 'report.html'} (how to send, in full: send.md there)" in lines
    assert lines[-1] == ("Fill in before sending: generation date, model, "
                         "settings, credits "
                         "used, prompt, what the clip was for, reference image (image-to-video "
                         "only), what is visible at 0:01")  # no account email on a public route
    assert os.environ.get("AVA_EVIDENCE_DEBUG") is None


def test_a_folder_from_an_earlier_bundle_is_named_before_unzipping(clips: ClipStore,
                                                                    tmp_path: Path) -> None:
    """Review (round 45): rebuilt with --force and unzipped as told, over the folder the
    first bundle was unzipped to, the old stills stayed beside the new ones. The folder
    is named, before the unzip command, to be moved or deleted first."""
    args = ["build", clips.path(CLIP), "--platform", "kling", "--id", "k1", "--failure",
            "physics", "--mark", "1", "-o", tmp_path / "k.zip", "--quiet"]
    first = run_cli(*args).stdout
    assert "earlier bundle" not in first
    with zipfile.ZipFile(tmp_path / "k.zip") as z:
        z.extractall(tmp_path)
    again = run_cli(*args, "--force").stdout.splitlines()
    told = again.index(f"The folder {tmp_path / 'kling_k1_physics'} is from an earlier "
                       "bundle: move it away or delete it before you unzip this one, or the "
                       "two would mix.")
    assert again[told + 1].startswith("Unzip it where it is: unzip -d ")


def test_verify_catches_damage_inside_the_zip(bundle: tuple[Path, dict], tmp_path: Path) -> None:
    """A flipped byte in the zip file itself (not a rewritten member) is found too."""
    out, doc = bundle
    target = f"kling_gen-42_physics/data/{doc['manifest']['frames'][0]['file']}"
    with zipfile.ZipFile(out) as z:
        info = z.getinfo(target)
    raw = bytearray(out.read_bytes())
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26:header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28:header + 30], "little")
    data_start = header + 30 + name_len + extra_len
    raw[data_start + info.compress_size // 2] ^= 0x40
    bad = tmp_path / "damaged.zip"
    bad.write_bytes(bytes(raw))
    doc2 = run_json("verify", bad, expect=1)
    assert [(p["kind"], p["file"]) for p in doc2["problems"]] == [("changed", target)]


def test_user_platform_end_to_end(clips: ClipStore, tmp_path: Path) -> None:
    from .test_catalog import GOOD_PLATFORM

    extra = tmp_path / "mine.yaml"
    extra.write_text(GOOD_PLATFORM)
    doc = _build(clips, tmp_path / "a.zip", "--channels", extra, "--mark", "1",
                 platform="acmevid")
    m = doc["manifest"]
    assert (m["platform"], m["channel"]["where"]) == ("acme", "help@example.com")
    members = _members(tmp_path / "a.zip")
    md = members["acme_gen-42_physics/data/ticket.md"].decode()
    assert "Hello Acme Video support," in md and "Job ID" in md
    send = members["acme_gen-42_physics/data/send.md"].decode()
    assert "Email help@example.com" in send and "Failed jobs are refunded." in send
    assert "Failed jobs are refunded." not in md  # the policy is for the user, not the agent


def test_credits_a_platform_has_no_line_for_are_said_not_dropped(clips: ClipStore,
                                                                  tmp_path: Path) -> None:
    """Review (round 45): Veo with --credits 20 left them out of the message without a
    word (its catalog counts no credits per generation)."""
    m = _build(clips, tmp_path / "v.zip", "--mark", "1=x", "--credits", "20",
               platform="veo")["manifest"]
    assert "--credits 20 is not in the message: Google Veo and Gemini Omni has no credits " \
        "line (it counts no credits per generation); if your plan spends credits on it, say " \
        "so with --note." in m["warnings"]
    kept = _build(clips, tmp_path / "k.zip", "--mark", "1=x", "--credits", "20")["manifest"]
    assert not any("--credits" in w for w in kept["warnings"])


def test_a_route_taking_one_file_is_told_of_one(clips: ClipStore, tmp_path: Path) -> None:
    """Review (round 45): the Gemini app's form takes one screenshot, yet the message told
    the agent of five attachments. It names only what can arrive; the rest stay in the
    bundle and the notes say so."""
    out = tmp_path / "v.zip"
    m = _build(clips, out, "--mark", "1=x", "--plan", "personal", platform="veo")["manifest"]
    assert m["attachments"] == ["pairs/01_start-end.png"]
    assert m["attachment_notes"][-1] == (
        "This route takes 1 file: attach pairs/01_start-end.png; the other images stay in the "
        "bundle, to send if support asks for them.")
    members = _members(out)
    ticket = next(v.decode() for k, v in members.items() if k.endswith("/data/ticket.txt"))
    assert "Attached: 01_start-end.png" in ticket and "02_mark1" not in ticket
    assert any(k.endswith("/data/pairs/02_mark1_f000024.png") for k in members)


def test_a_clip_of_one_frame_is_told_as_one(tmp_path: Path) -> None:
    """Review (round 45): a one-frame clip's ticket said its moment twice (once as the last
    frame), 'frames 0 and 0 side by side' and 'the full-size stills of frames 0 and 0'."""
    clip = clipgen.encode(tmp_path / "one.mp4", 1)
    out = tmp_path / "one.zip"
    run_json("build", clip, "--platform", "kling", "--id", "k1", "--failure", "physics",
             "--mark", "0=the ball vanishes", "-o", out)
    ticket = next(v.decode() for k, v in _members(out).items() if k.endswith("/ticket.txt"))
    assert "What goes wrong (Physics Prior Degeneration):\n- 0:00 (frame 0): the ball " \
        "vanishes\n\nAttached: 01_start-end.png (frame 0, the clip's only frame, twice), " \
        "02_mark1_f000000.png (frame 0, the clip's only frame, twice); the full-size still " \
        "of frame 0." in ticket
