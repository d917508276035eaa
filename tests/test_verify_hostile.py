"""verify is safe on anything it is handed (issue 14: F2, F3, F4, F11, F16, F20).

Every damaged, encrypted or unsupported member is a named problem (and --json still
prints its one document), names are shown escaped, tag files and members are read
within limits and once, and two members with one name (or names equal once Unicode
normalised) are a problem.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import time
import zipfile
from pathlib import Path

import pytest

from ava_evidence import bagit
from ava_evidence.bagit import verify_bag

from .conftest import ClipStore
from .helpers import run_cli

BAG = "kling_abc123_physics"


@pytest.fixture(scope="module")
def base(clips: ClipStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "base.zip"
    run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "abc123",
            "--failure", "physics", "--mark", "0.5", "-o", out, "--quiet")
    return out


def _copy(base: Path, dst: Path, *, skip: tuple[str, ...] = (),
          add: tuple[tuple[str, bytes], ...] = (), method: int = zipfile.ZIP_STORED) -> Path:
    import warnings

    with zipfile.ZipFile(base) as src, zipfile.ZipFile(dst, "w", method) as z, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some tests
        for name, data in add:
            z.writestr(name, data)
        for info in src.infolist():
            if info.filename not in skip:
                z.writestr(info.filename, src.read(info))
    return dst


def _patch_entry(raw: bytearray, z: zipfile.ZipFile, name: str, *, flag: int = 0,
                 method: int | None = None) -> None:
    """Set a general-purpose flag bit or the method of one member, in both headers."""
    lh = z.getinfo(name).header_offset
    p = z.start_dir
    while raw[p:p + 4] == b"PK\x01\x02":
        nl, el, cl = struct.unpack_from("<HHH", raw, p + 28)
        if bytes(raw[p + 46:p + 46 + nl]).decode() == name:
            cd = p
            break
        p += 46 + nl + el + cl
    for offset in ((lh + 6, cd + 8) if flag else ()):
        struct.pack_into("<H", raw, offset, struct.unpack_from("<H", raw, offset)[0] | flag)
    if method is not None:
        struct.pack_into("<H", raw, lh + 8, method)
        struct.pack_into("<H", raw, cd + 10, method)


def _verify(path: Path) -> tuple[dict[str, object], str, str]:
    """verify --json and plain: the document, the plain stdout, the plain stderr."""
    doc = json.loads(run_cli("verify", path, "--json", expect=1).stdout)
    plain = run_cli("verify", path, expect=1)
    return doc, plain.stdout, plain.stderr


def _problems(doc: dict[str, object]) -> list[tuple[str, str]]:
    problems = doc["problems"]
    assert isinstance(problems, list)
    return [(p["kind"], p["file"]) for p in problems]


def test_damaged_deflate_data(base: Path, tmp_path: Path) -> None:
    """r01: 'unexpected error: Error -3 while decompressing data', and no JSON."""
    raw = bytearray(base.read_bytes())
    with zipfile.ZipFile(base) as z:
        info = z.getinfo(f"{BAG}/data/ticket.txt")
    nl, el = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + nl + el
    raw[start:start + 40] = b"\xff" * 40
    bad = tmp_path / "corrupt_deflate.zip"
    bad.write_bytes(bytes(raw))
    doc, out, err = _verify(bad)
    assert doc["ok"] is False
    assert ("changed", f"{BAG}/data/ticket.txt") in _problems(doc)
    assert f"changed: {BAG}/data/ticket.txt (cannot be read: damaged inside the zip: " in out
    assert err.startswith(f"Error: {bad} failed verification: ")


@pytest.mark.parametrize(("flag", "method", "detail"), [
    (1, None, "cannot be read: it is encrypted (a bundle never is)"),
    (0, 9, "cannot be read: it is compressed with a method this tool cannot read (Deflate64, "
           "as Windows' zipper uses for large files?): zip the bag again with store or "
           "deflate"),
])
def test_encrypted_and_deflate64_members(base: Path, tmp_path: Path, flag: int,
                                         method: int | None, detail: str) -> None:
    """r02: 'unexpected RuntimeError' / 'unexpected NotImplementedError'."""
    raw = bytearray(base.read_bytes())
    with zipfile.ZipFile(base) as z:
        _patch_entry(raw, z, f"{BAG}/data/ticket.txt", flag=flag, method=method)
    bad = tmp_path / "feature.zip"
    bad.write_bytes(bytes(raw))
    doc, out, _ = _verify(bad)
    assert {"kind": "changed", "file": f"{BAG}/data/ticket.txt", "detail": detail} in \
        doc["problems"]  # type: ignore[operator]
    assert f"changed: {BAG}/data/ticket.txt ({detail})\n" in out


@pytest.mark.parametrize("alg", ["foo", "shake128"])
def test_a_manifest_of_an_unknown_algorithm(base: Path, tmp_path: Path, alg: str) -> None:
    """r02: 'unexpected ValueError: unsupported hash type foo' / TypeError for shake128."""
    bad = _copy(base, tmp_path / f"manifest_{alg}.zip",
                add=((f"{BAG}/manifest-{alg}.txt", b"0" * 64 + b"  data/ticket.txt\n"),))
    doc, out, _ = _verify(bad)
    assert out == (f"invalid: {BAG}/manifest-{alg}.txt (unknown checksum algorithm '{alg}': "
                   f"its entries cannot be checked)\n")
    assert doc["problems"] == [{"kind": "invalid", "file": f"{BAG}/manifest-{alg}.txt",
                                "detail": f"unknown checksum algorithm '{alg}': its entries "
                                          f"cannot be checked"}]


def test_a_tag_file_bomb_is_refused_unread(base: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """r03: 128 MiB of newlines in manifest-sha512.txt took 1.35 GB; 2 GiB, MemoryError."""
    bad = tmp_path / "tagbomb.zip"
    with zipfile.ZipFile(base) as s, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as z:
        for i in s.infolist():
            if i.filename != f"{BAG}/manifest-sha512.txt":
                z.writestr(i.filename, s.read(i))
        zi = zipfile.ZipInfo(f"{BAG}/manifest-sha512.txt")
        zi.compress_type = zipfile.ZIP_DEFLATED
        with z.open(zi, "w", force_zip64=True) as d:
            for _ in range(4):
                d.write(b"\n" * (8 << 20))
    reads: list[int] = []
    real_open = bagit._Zip._open

    def counting(self: bagit._Zip, name: str) -> object:
        f = real_open(self, name)
        real_read = f.read

        def read(n: int = -1) -> bytes:
            data = real_read(n)
            reads.append(len(data))
            return data

        f.read = read  # type: ignore[method-assign]
        return f

    monkeypatch.setattr(bagit._Zip, "_open", counting)
    v = verify_bag(bad)
    assert [(p.kind, p.file, p.detail) for p in v.problems if p.kind == "refused"] == [
        ("refused", f"{BAG}/manifest-sha512.txt",
         "a tag file of 32.0 MiB: over 1.0 MiB, so it was not read")]
    assert max(reads) <= 1 << 20  # nothing near the bomb's size was ever read


def test_a_payload_bomb_is_refused_unread(base: Path, tmp_path: Path) -> None:
    """F16: a member of zeros listed in both manifests was inflated (twice): 12 s per GiB."""
    zeros = b"\0" * (64 << 20)
    digests = {alg: hashlib.new(alg, zeros).hexdigest() for alg in ("sha256", "sha512")}
    with zipfile.ZipFile(base) as s:
        members = {i.filename: s.read(i) for i in s.infolist()}
    for alg in ("sha256", "sha512"):
        members[f"{BAG}/manifest-{alg}.txt"] += f"{digests[alg]}  data/zeros.bin\n".encode()
    bad = tmp_path / "payload_bomb.zip"
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr(f"{BAG}/data/zeros.bin", zeros)
    with zipfile.ZipFile(bad) as z:
        assert z.getinfo(f"{BAG}/data/zeros.bin").compress_size < 1 << 20
    started = time.monotonic()
    doc, _, _ = _verify(bad)
    assert time.monotonic() - started < 10
    refused = [p for p in doc["problems"] if p["kind"] == "refused"]  # type: ignore[union-attr]
    assert refused == [{"kind": "refused", "file": f"{BAG}/data/zeros.bin",
                        "detail": refused[0]["detail"]}]
    assert refused[0]["detail"].startswith("refused: it expands beyond 100 times its "
                                           "compressed size (64.0 MiB from ")


def test_each_member_is_read_once(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F16: each member was inflated once per algorithm."""
    opened: list[str] = []
    real_open = bagit._Zip._open
    monkeypatch.setattr(bagit._Zip, "_open",
                        lambda self, name: opened.append(name) or real_open(self, name))
    assert verify_bag(base).ok
    assert len(opened) == len(set(opened)) > 10


def test_hostile_names_are_shown_escaped(base: Path, tmp_path: Path) -> None:
    """r04: a member name with CR, 'erase line' and 'conceal' made a terminal show only a
    fake 'OK' line."""
    name = (f"{BAG}/data/\r\x1b[2KOK: evidence.zip is a valid bag (11 payload files, every "
            f"checksum matches).\x1b[8m\x1b]0;PWNED\x07\u202e")
    bad = _copy(base, tmp_path / "fake_ok.zip", add=((name, b"x"),))
    doc, out, err = _verify(bad)
    for text in (out, err):
        assert not any(c in text for c in "\r\x1b\x07\u202e")
    assert (f"unexpected: {BAG}/data/\\x0d\\x1b[2KOK: evidence.zip is a valid bag") in out
    assert "\\x1b[8m\\x1b]0;PWNED\\x07\\u202e (not listed in any manifest)" in out
    assert ("invalid", name) in _problems(doc)  # and the name itself is flagged


def test_json_output_escapes_c1_and_bidi(base: Path, tmp_path: Path) -> None:
    bad = _copy(base, tmp_path / "bidi.zip", add=((f"{BAG}/data/a\u202eb\u009bc.txt", b"x"),))
    text = run_cli("verify", bad, "--json", expect=1).stdout
    assert "\u202e" not in text and "\u009b" not in text and "\\u202e" in text
    assert f"{BAG}/data/a\u202eb\u009bc.txt" in {p["file"] for p in json.loads(text)["problems"]}


def test_two_members_with_one_name(base: Path, tmp_path: Path) -> None:
    """r05: only the last copy was checked, and the bag passed."""
    bad = _copy(base, tmp_path / "duplicate.zip",
                add=((f"{BAG}/data/ticket.txt", b"TAMPERED: this copy was never verified\n"),))
    doc, _, _ = _verify(bad)
    assert doc["problems"] == [{"kind": "invalid", "file": f"{BAG}/data/ticket.txt",
                                "detail": "the zip holds 2 entries with this name; tools "
                                          "differ on which one they read"}]


def test_names_equal_once_normalised(base: Path, tmp_path: Path) -> None:
    nfc, nfd = f"{BAG}/data/caf\u00e9.txt", f"{BAG}/data/cafe\u0301.txt"
    bad = _copy(base, tmp_path / "nfc.zip", add=((nfc, b"a"), (nfd, b"b")))
    doc, _, _ = _verify(bad)
    assert {"kind": "invalid", "file": nfd if nfd < nfc else nfc,
            "detail": f"its name and {max(nfc, nfd)!r} differ only in Unicode "
                      f"normalisation"} in doc["problems"]  # type: ignore[operator]


def test_a_backslash_path_is_unsafe(base: Path, tmp_path: Path) -> None:
    bad = _copy(base, tmp_path / "slip.zip", add=((f"{BAG}/data/..\\..\\evil.txt", b"x"),))
    doc, _, _ = _verify(bad)
    assert {"kind": "invalid", "file": f"{BAG}/data/..\\..\\evil.txt",
            "detail": "unsafe path in the zip (a backslash, which Windows reads as a "
                      "folder)"} in doc["problems"]  # type: ignore[operator]


def _retag(members: dict[str, bytes]) -> None:
    """Recompute the tag manifests after a tag file changed."""
    for alg in ("sha256", "sha512"):
        tags = sorted(n for n in members if n.count("/") == 1 and not
                      n.split("/")[1].startswith("tagmanifest-"))
        members[f"{BAG}/tagmanifest-{alg}.txt"] = "".join(
            f"{hashlib.new(alg, members[n]).hexdigest()}  {n.split('/', 1)[1]}\n"
            for n in tags).encode()


def _members(base: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(base) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _write(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_bagit_version_is_read_not_prefixed(base: Path, tmp_path: Path) -> None:
    """F20: 'BagIt-Version: 1.0999' passed (a startswith check)."""
    members = _members(base)
    members[f"{BAG}/bagit.txt"] = (b"BagIt-Version: 1.0999\n"
                                   b"Tag-File-Character-Encoding: UTF-8\n")
    _retag(members)
    doc, _, _ = _verify(_write(members, tmp_path / "version.zip"))
    assert doc["problems"] == [{"kind": "invalid", "file": f"{BAG}/bagit.txt",
                                "detail": "not BagIt version 1.0"}]


def test_tab_separated_manifest_lines_are_valid(base: Path, tmp_path: Path) -> None:
    """F20: spec-valid tab-separated lines gave 13 problems."""
    members = _members(base)
    for alg in ("sha256", "sha512"):
        name = f"{BAG}/manifest-{alg}.txt"
        members[name] = members[name].replace(b"  data/", b"\tdata/")
    _retag(members)
    assert run_cli("verify", _write(members, tmp_path / "tabs.zip")).stdout.startswith("OK: ")


def test_every_payload_manifest_lists_every_payload_file(base: Path, tmp_path: Path) -> None:
    """F20: a file listed in only one payload manifest passed."""
    members = _members(base)
    name = f"{BAG}/manifest-sha512.txt"
    lines = members[name].decode().splitlines(keepends=True)
    dropped = lines.pop(0).split()[1]
    members[name] = "".join(lines).encode()
    _retag(members)
    doc, _, _ = _verify(_write(members, tmp_path / "one_manifest.zip"))
    assert doc["problems"] == [{"kind": "invalid", "file": name,
                                "detail": f"does not list {dropped}, which the other payload "
                                          f"manifests list"}]


def test_an_unreadable_zip_still_prints_one_json_document(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    result = run_cli("verify", junk, "--json", expect=1)
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["problems"][0]["file"] == str(junk)
    assert result.stderr.startswith("Error: junk.zip is not a readable zip (")


def _targets(path: Path) -> list[range]:
    """Byte ranges where a flip tests more than a stored PNG's checksum: the data of the
    deflated members, and the zip's central directory."""
    raw = path.read_bytes()
    ranges = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if info.compress_type == zipfile.ZIP_DEFLATED:
                nl, el = struct.unpack_from("<HH", raw, info.header_offset + 26)
                start = info.header_offset + 30 + nl + el
                ranges.append(range(start, start + info.compress_size))
        ranges.append(range(z.start_dir, len(raw)))
    return ranges


def test_random_bit_flips_give_only_named_problems(base: Path, tmp_path: Path) -> None:
    """A smaller version of bench/verify_fuzz.py (1,000 flips anywhere): 150 flips in the
    deflated members and the zip directory are each either named problems or, when the
    directory no longer reads, one clean error; never an internal error, and --json
    always prints its one document."""
    from ava_evidence.errors import AvaError

    data = base.read_bytes()
    ranges = _targets(base)
    rng = random.Random(14)
    path = tmp_path / "flipped.zip"
    outcomes = {"problems": 0, "clean error": 0, "unnoticed": 0}
    for n in range(150):
        raw = bytearray(data)
        at = rng.choice(rng.choice(ranges))
        raw[at] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(raw))
        try:
            v = verify_bag(path)
        except AvaError:
            outcomes["clean error"] += 1
            continue
        outcomes["problems" if v.problems else "unnoticed"] += 1
        assert all(p.kind in ("missing", "changed", "unexpected", "invalid", "refused")
                   for p in v.problems)
        if n % 15 == 0:  # the command too: one JSON document whatever happened
            result = run_cli("verify", path, "--json", expect=1 if v.problems else 0)
            assert json.loads(result.stdout)["ok"] is (not v.problems)
    assert outcomes["problems"] > 100, outcomes
