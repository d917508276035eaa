"""verify notes the files an operating system leaves in a bag and fails only on the rest
(review round 45, item 7: one `.DS_Store` from opening the folder in Finder failed it)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from .conftest import ClipStore
from .helpers import run_cli

BAG = "kling_os1_physics"
NOTE = "made by the operating system, not part of the bag"
PAYLOAD_NOTE = (f"{NOTE}; other BagIt tools count it as an unexpected payload file, so "
                f"delete it before you send the folder")


@pytest.fixture(scope="module")
def bundle(clips: ClipStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clutter") / "b.zip"
    run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "os1",
            "--failure", "physics", "--mark", "0.5", "-o", out, "--quiet")
    return out


def _copy_with(bundle: Path, dest: Path, extra: dict[str, bytes]) -> Path:
    """A copy of the bundle's zip with ``extra`` members (name: bytes) added at its end."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(dest, "w") as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        for name, data in extra.items():
            z.writestr(name, data)
    return dest


def _payload_count(bundle: Path) -> int:
    with zipfile.ZipFile(bundle) as z:
        return sum(1 for n in z.namelist() if n.startswith(f"{BAG}/data/"))


def test_finder_and_explorer_files_in_an_unzipped_bag(bundle: Path, tmp_path: Path) -> None:
    """`.DS_Store` beside bagit.txt and in data/frames/ (bagit-python fails the second
    one), `._*` and Thumbs.db: noted, and the bag is intact (rc 0)."""
    with zipfile.ZipFile(bundle) as z:
        z.extractall(tmp_path)
    bag = tmp_path / BAG
    for name in (".DS_Store", "data/frames/.DS_Store", "data/._ticket.txt", "Thumbs.db"):
        (bag / name).write_bytes(b"\x00\x05\x16\x07")
    result = run_cli("verify", bag)
    assert result.stdout.splitlines() == [
        f"OK: {bag} is a valid bag ({_payload_count(bundle)} payload files, every checksum "
        f"matches).",
        f"ignored: {BAG}/.DS_Store ({NOTE})",
        f"ignored: {BAG}/Thumbs.db ({NOTE})",
        f"ignored: {BAG}/data/._ticket.txt ({PAYLOAD_NOTE})",
        f"ignored: {BAG}/data/frames/.DS_Store ({PAYLOAD_NOTE})"]
    doc = json.loads(run_cli("verify", bag, "--json").stdout)
    assert (doc["ok"], doc["problems"], doc["files"]) == (True, [], _payload_count(bundle))
    assert doc["ignored"][0] == {"kind": "ignored", "file": f"{BAG}/.DS_Store", "detail": NOTE}


def test_a_zip_made_by_macos_archive_utility(bundle: Path, tmp_path: Path) -> None:
    """Compressing the folder on a Mac adds __MACOSX/ (was: 'does not hold exactly one
    bag folder (found 2)') and the .DS_Store files Finder made."""
    mac = _copy_with(bundle, tmp_path / "mac.zip", {
        f"__MACOSX/{BAG}/._bagit.txt": b"\x00\x05\x16\x07",
        f"{BAG}/.DS_Store": b"\x00\x00\x00\x01Bud1",
        f"{BAG}/data/desktop.ini": b"[.ShellClassInfo]\r\n"})
    doc = json.loads(run_cli("verify", mac, "--json").stdout)
    assert (doc["ok"], doc["problems"]) == (True, [])
    assert [(p["file"], p["detail"]) for p in doc["ignored"]] == [
        (f"__MACOSX/{BAG}/._bagit.txt", NOTE), (f"{BAG}/.DS_Store", NOTE),
        (f"{BAG}/data/desktop.ini", PAYLOAD_NOTE)]


def test_other_extra_files_still_fail(bundle: Path, tmp_path: Path) -> None:
    """Only the operating system's own names are let through: a look-alike, a hidden
    file of another name, or a listed `.DS_Store` that changed all fail."""
    bad = _copy_with(bundle, tmp_path / "bad.zip", {
        f"{BAG}/data/DS_Store.png": b"x", f"{BAG}/data/.hidden": b"x",
        f"{BAG}/.DS_Store": b"x"})
    result = run_cli("verify", bad, expect=1)
    assert result.stdout.splitlines() == [
        f"unexpected: {BAG}/data/.hidden (not listed in any manifest)",
        f"unexpected: {BAG}/data/DS_Store.png (not listed in any manifest)",
        f"invalid: {BAG}/bag-info.txt (Payload-Oxum "
        f"{_oxum(bundle)} does not match the payload ({_oxum(bundle, 2, 2)}))",
        f"ignored: {BAG}/.DS_Store ({NOTE})"]
    assert result.stderr == f"Error: {bad} failed verification: 3 problems (listed above).\n"


def _oxum(bundle: Path, extra_bytes: int = 0, extra_files: int = 0) -> str:
    with zipfile.ZipFile(bundle) as z:
        sizes = [i.file_size for i in z.infolist() if i.filename.startswith(f"{BAG}/data/")]
    return f"{sum(sizes) + extra_bytes}.{len(sizes) + extra_files}"


def test_a_listed_clutter_name_is_checked_like_any_file(bundle: Path, tmp_path: Path) -> None:
    """A bag that lists a `.DS_Store` keeps it as payload: changed, it is a problem."""
    import hashlib

    with zipfile.ZipFile(bundle) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    members[f"{BAG}/data/.DS_Store"] = b"kept on purpose"
    for alg in ("sha256", "sha512"):
        name = f"{BAG}/manifest-{alg}.txt"
        members[name] += (f"{hashlib.new(alg, b'kept on purpose').hexdigest()}  "
                          f"data/.DS_Store\n").encode()
    for alg in ("sha256", "sha512"):
        tags = sorted(n for n in members if n.count("/") == 1 and "tagmanifest" not in n)
        members[f"{BAG}/tagmanifest-{alg}.txt"] = "".join(
            f"{hashlib.new(alg, members[n]).hexdigest()}  {n.split('/', 1)[1]}\n"
            for n in tags).encode()
    members[f"{BAG}/data/.DS_Store"] = b"changed"
    bag = tmp_path / "listed.zip"
    with zipfile.ZipFile(bag, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    doc = json.loads(run_cli("verify", bag, "--json", expect=1).stdout)
    assert [(p["kind"], p["file"]) for p in doc["problems"]] == [
        ("changed", f"{BAG}/data/.DS_Store"), ("invalid", f"{BAG}/bag-info.txt")]
    assert doc["ignored"] == []


def test_a_zip_with_a_second_top_level_entry_names_it(bundle: Path, tmp_path: Path) -> None:
    """Review (round 45): a README.txt added beside the bag folder gave 'does not hold
    exactly one bag folder (found 2)', naming neither."""
    bad = tmp_path / "extra.zip"
    bad.write_bytes(bundle.read_bytes())
    with zipfile.ZipFile(bad, "a") as z:
        z.writestr("README.txt", "hello")
    err = run_cli("verify", bad, expect=1).stderr
    assert err == ("Error: extra.zip does not hold exactly one bag folder (found 2 top-level "
                   f"entries: README.txt, {BAG}): give the .zip that 'ava-evidence build' "
                   "made.\n")
