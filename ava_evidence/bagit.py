"""A zipped BagIt 1.0 bag (RFC 8493): write one, and verify one.

The zip holds one top-level folder, the bag: ``bagit.txt``, ``bag-info.txt``,
SHA-256 and SHA-512 payload manifests, a SHA-256 tag manifest and ``data/``.
Any BagIt validator can check it once unzipped; :func:`verify_bag` checks it
in place and names every missing, changed or unexpected file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import AvaError

ALGORITHMS = ("sha256", "sha512")
TAG_ALGORITHM = "sha256"
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".zip", ".mp4", ".mov", ".webm", ".gif")


def file_digests(path: Path) -> dict[str, str]:
    """SHA-256 and SHA-512 of a file in one read."""
    hashes = {alg: hashlib.new(alg) for alg in ALGORITHMS}
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            for h in hashes.values():
                h.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashes.items()}


def _tag_value(value: str) -> str:
    return " ".join(str(value).split())


def write_bag_zip(zip_path: Path, bag_name: str, payload: Sequence[tuple[str, Path]],
                  info: Mapping[str, str], when: dt.datetime) -> None:
    """Write ``payload`` ((path under data/, staged file) pairs) as a zipped bag at ``zip_path``.

    Members are in a fixed order with fixed timestamps, so the same inputs give
    the same zip. The caller writes to a temporary path and renames it.
    """
    entries = sorted(payload)
    digests = {name: file_digests(path) for name, path in entries}
    octets = sum(path.stat().st_size for _, path in entries)
    manifests = {
        alg: "".join(f"{digests[name][alg]}  data/{name}\n" for name, _ in entries).encode()
        for alg in ALGORITHMS
    }
    info_lines = dict(info)
    info_lines["Payload-Oxum"] = f"{octets}.{len(entries)}"
    bag_info = "".join(f"{k}: {_tag_value(v)}\n" for k, v in info_lines.items()).encode("utf-8")
    tags: dict[str, bytes] = {"bagit.txt": BAGIT_TXT, "bag-info.txt": bag_info}
    for alg in ALGORITHMS:
        tags[f"manifest-{alg}.txt"] = manifests[alg]
    tagmanifest = "".join(f"{hashlib.new(TAG_ALGORITHM, body).hexdigest()}  {name}\n"
                          for name, body in sorted(tags.items())).encode()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(zip_path, "w") as z:
        for name, body in [*sorted(tags.items()), (f"tagmanifest-{TAG_ALGORITHM}.txt",
                                                   tagmanifest)]:
            _add(z, f"{bag_name}/{name}", body, stamp)
        for name, path in entries:
            info_entry = zipfile.ZipInfo(f"{bag_name}/data/{name}", date_time=stamp)
            info_entry.compress_type = (zipfile.ZIP_STORED if name.lower().endswith(
                _STORED_SUFFIXES) else zipfile.ZIP_DEFLATED)
            info_entry.external_attr = 0o644 << 16
            with path.open("rb") as src, z.open(info_entry, "w", force_zip64=True) as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)


def _add(z: zipfile.ZipFile, name: str, body: bytes, stamp: tuple[int, ...]) -> None:
    entry = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    z.writestr(entry, body)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bag: its kind, the file it concerns, and why."""

    kind: str  # missing | changed | unexpected | invalid
    file: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "file": self.file, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.kind}: {self.file} ({self.detail})"


@dataclass
class Verification:
    bag: str
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "bag": self.bag, "files": self.files,
                "problems": [p.to_dict() for p in self.problems]}


def _parse_manifest(text: str, label: str, v: Verification) -> dict[str, str]:
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition(" ")
        name = name.strip()
        if not sep or not name:
            v.problems.append(Problem("invalid", label, f"line {n} is not '<checksum> <path>'"))
            continue
        entries[name] = digest.lower()
    return entries


def verify_bag(zip_path: str | os.PathLike[str]) -> Verification:
    """Re-hash every file of a zipped bag against its manifests."""
    path = Path(zip_path)
    if not path.is_file():
        raise AvaError(f"{path}: no such bundle: check the path of the .zip file.")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise AvaError(f"{path.name} is not a readable zip ({e}): "
                       f"get the bundle again from where it was made.") from e
    with z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        tops = {PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts}
        if len(tops) != 1:
            raise AvaError(f"{path.name} does not hold exactly one bag folder "
                           f"(found {len(tops)}): it is not an ava-evidence bundle.")
        bag = tops.pop()
        v = Verification(bag)
        files = {n[len(bag) + 1:]: n for n in names}
        for n in names:
            parts = PurePosixPath(n).parts
            if ".." in parts or n.startswith("/"):
                v.problems.append(Problem("invalid", n, "unsafe path in the zip"))
        if "bagit.txt" not in files:
            v.problems.append(Problem("missing", f"{bag}/bagit.txt", "required BagIt file"))
        elif not z.read(files["bagit.txt"]).startswith(b"BagIt-Version: 1.0"):
            v.problems.append(Problem("invalid", f"{bag}/bagit.txt", "not BagIt version 1.0"))
        listed: set[str] = set()
        for alg in ALGORITHMS:
            mname = f"manifest-{alg}.txt"
            if mname not in files:
                v.problems.append(Problem("missing", f"{bag}/{mname}", "payload manifest"))
                continue
            entries = _parse_manifest(z.read(files[mname]).decode("utf-8", "replace"),
                                      f"{bag}/{mname}", v)
            listed |= set(entries)
            for name, digest in entries.items():
                _check(z, files, bag, name, alg, digest, v)
        tname = f"tagmanifest-{TAG_ALGORITHM}.txt"
        tag_entries: dict[str, str] = {}
        if tname in files:
            tag_entries = _parse_manifest(z.read(files[tname]).decode("utf-8", "replace"),
                                          f"{bag}/{tname}", v)
            for name, digest in tag_entries.items():
                _check(z, files, bag, name, TAG_ALGORITHM, digest, v)
        else:
            v.problems.append(Problem("missing", f"{bag}/{tname}", "tag manifest"))
        known = listed | set(tag_entries) | {tname, "bagit.txt"}
        for name in sorted(files):
            if name not in known:
                v.problems.append(Problem("unexpected", f"{bag}/{name}",
                                          "not listed in any manifest"))
        v.files = len([n for n in files if n.startswith("data/")])
        if "bag-info.txt" in files:
            v.info = _parse_info(z.read(files["bag-info.txt"]).decode("utf-8", "replace"))
            oxum = v.info.get("Payload-Oxum")
            if oxum:
                size = sum(z.getinfo(files[n]).file_size for n in files if n.startswith("data/"))
                if oxum != f"{size}.{v.files}":
                    v.problems.append(Problem("invalid", f"{bag}/bag-info.txt",
                                              f"Payload-Oxum {oxum} does not match the payload "
                                              f"({size}.{v.files})"))
    # One problem per file and kind is enough to act on.
    seen: set[tuple[str, str]] = set()
    unique = []
    for p in v.problems:
        if (p.kind, p.file) not in seen:
            seen.add((p.kind, p.file))
            unique.append(p)
    v.problems = unique
    return v


def _check(z: zipfile.ZipFile, files: dict[str, str], bag: str, name: str, alg: str,
           digest: str, v: Verification) -> None:
    if name not in files:
        v.problems.append(Problem("missing", f"{bag}/{name}", f"listed in manifest-{alg}.txt"))
        return
    h = hashlib.new(alg)
    try:
        with z.open(files[name]) as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except (zipfile.BadZipFile, OSError) as e:
        v.problems.append(Problem("changed", f"{bag}/{name}", f"cannot be read: {e}"))
        return
    if h.hexdigest() != digest:
        v.problems.append(Problem("changed", f"{bag}/{name}", f"{alg} differs from the manifest"))


def _parse_info(text: str) -> dict[str, str]:
    info: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and last:
            info[last] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip()
            info[last] = value.strip()
    return info
