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
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .errors import AvaError

ALGORITHMS = ("sha256", "sha512")
TAG_ALGORITHM = "sha256"
TAG_ALGORITHMS = ("sha256", "sha512")
"""Two tag manifests, so a damaged one can be told from a damaged tag file."""
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


def digests_of(data: bytes) -> dict[str, str]:
    """SHA-256 and SHA-512 of bytes about to be written: hashed where they are made,
    beside the decoding, instead of read back at the end."""
    return {alg: hashlib.new(alg, data).hexdigest() for alg in ALGORITHMS}


def _tag_value(value: str) -> str:
    return " ".join(str(value).split())


def write_bag_zip(zip_path: Path, bag_name: str, payload: Sequence[tuple[str, Path]],
                  info: Mapping[str, str], when: dt.datetime,
                  known: Mapping[str, dict[str, str]] | None = None) -> None:
    """Write ``payload`` ((path under data/, staged file) pairs) as a zipped bag at ``zip_path``.

    ``known`` holds digests already taken of files written from memory (see
    :func:`digests_of`); the others are read and hashed here. Members are in a
    fixed order with fixed timestamps, so the same inputs give the same zip. The
    caller writes to a temporary path and renames it.
    """
    entries = sorted(payload)
    known = known or {}
    digests = {name: known.get(name) or file_digests(path) for name, path in entries}
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
    tagmanifests = {
        f"tagmanifest-{alg}.txt": "".join(f"{hashlib.new(alg, body).hexdigest()}  {name}\n"
                                          for name, body in sorted(tags.items())).encode()
        for alg in TAG_ALGORITHMS
    }
    stamp = when.timetuple()[:6]
    # Level 1: the largest text member, report.html, is mostly base64 that deflates little.
    with zipfile.ZipFile(zip_path, "w", compresslevel=1) as z:
        for name, body in sorted({**tags, **tagmanifests}.items()):
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
            v.problems.append(Problem("changed", label, f"line {n} is not '<checksum> <path>'"))
            continue
        entries[name] = digest.lower()
    return entries


class _Reader:
    """Reads the files of a bag; a file that cannot be read becomes a problem.

    Subclasses give ``files`` (name in the bag -> where it is), ``size`` and ``_open``.
    """

    _errors: tuple[type[BaseException], ...] = (OSError,)
    files: dict[str, str]

    def __init__(self, bag: str, v: Verification) -> None:
        self.bag, self.v = bag, v
        self._digests: dict[tuple[str, str], str | None] = {}

    def size(self, name: str) -> int:
        raise NotImplementedError

    def _open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def _problem(self, name: str, error: BaseException) -> None:
        raise NotImplementedError

    def read(self, name: str) -> bytes | None:
        try:
            with self._open(name) as f:
                return f.read()
        except self._errors as e:
            self._problem(name, e)
            return None

    def digest(self, name: str, alg: str) -> str | None:
        key = (name, alg)
        if key not in self._digests:
            h = hashlib.new(alg)
            try:
                with self._open(name) as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                self._digests[key] = h.hexdigest()
            except self._errors as e:
                self._problem(name, e)
                self._digests[key] = None
        return self._digests[key]


class _Zip(_Reader):
    """A zipped bag; damage the zip itself detects (CRC) becomes a problem."""

    _errors = (zipfile.BadZipFile, OSError, EOFError)

    def __init__(self, z: zipfile.ZipFile, bag: str, v: Verification) -> None:
        super().__init__(bag, v)
        self.z = z
        self.files = {n[len(bag) + 1:]: n for n in z.namelist()
                      if not n.endswith("/") and n.startswith(bag + "/")}

    def size(self, name: str) -> int:
        return self.z.getinfo(self.files[name]).file_size

    def _open(self, name: str) -> IO[bytes]:
        return self.z.open(self.files[name])

    def _problem(self, name: str, error: BaseException) -> None:
        self.v.problems.append(Problem("changed", f"{self.bag}/{name}",
                                       f"damaged inside the zip: {error}"))


class _Folder(_Reader):
    """An unzipped bag."""

    def __init__(self, root: Path, v: Verification) -> None:
        super().__init__(root.name, v)
        self.root = root
        self.files = {p.relative_to(root).as_posix(): p.relative_to(root).as_posix()
                      for p in sorted(root.rglob("*")) if p.is_file()}

    def size(self, name: str) -> int:
        return (self.root / name).stat().st_size

    def _open(self, name: str) -> IO[bytes]:
        return (self.root / name).open("rb")

    def _problem(self, name: str, error: BaseException) -> None:
        reason = getattr(error, "strerror", None) or error
        self.v.problems.append(Problem("changed", f"{self.bag}/{name}",
                                       f"cannot be read: {reason}"))


def _check_manifests(zf: _Reader, manifests: dict[str, dict[str, str]],
                     v: Verification) -> None:
    """Check every entry of a group of manifests over the same files.

    A file that disagrees with every manifest listing it has changed; a
    manifest that disagrees where another agrees has changed itself.
    """
    bag = zf.bag
    names = sorted({n for entries in manifests.values() for n in entries})
    for name in names:
        listing = {m: entries[name] for m, entries in manifests.items() if name in entries}
        if name not in zf.files:
            for m in listing:
                if len(listing) < len(manifests):
                    v.problems.append(Problem("changed", f"{bag}/{m}",
                                              f"lists {name}, which no other manifest lists"))
            v.problems.append(Problem("missing", f"{bag}/{name}",
                                      f"listed in {', '.join(sorted(listing))}"))
            continue
        bad = []
        for m, want in listing.items():
            alg = m.rsplit("-", 1)[1].removesuffix(".txt")
            got = zf.digest(name, alg)
            if got is None:
                break
            if got != want:
                bad.append(m)
        else:
            if bad and len(bad) == len(listing):
                v.problems.append(Problem("changed", f"{bag}/{name}",
                                          "its checksum differs from the manifest"))
            for m in bad if len(bad) < len(listing) else ():
                v.problems.append(Problem("changed", f"{bag}/{m}",
                                          f"its entry for {name} does not match the file"))


def verify_bag(bundle: str | os.PathLike[str]) -> Verification:
    """Re-hash every file of a bag, zipped or unzipped, against its manifests."""
    path = Path(bundle)
    if path.is_dir():
        return _verify_folder(path)
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
                           f"(found {len(tops)}): give the .zip that 'ava-evidence build' made.")
        bag = tops.pop()
        v = Verification(bag)
        for n in names:
            parts = PurePosixPath(n).parts
            if ".." in parts or n.startswith("/"):
                v.problems.append(Problem("invalid", n, "unsafe path in the zip"))
        _check_bag(_Zip(z, bag, v), v)
    return _one_problem_each(v)


def _verify_folder(path: Path) -> Verification:
    """An unzipped bundle: the bag folder itself, or a folder holding just that one."""
    root = path
    if not (path / "bagit.txt").is_file():
        inner = [d for d in path.iterdir() if d.is_dir() and (d / "bagit.txt").is_file()]
        if len(inner) != 1:
            raise AvaError(f"{path} is not an unzipped bundle (it has no bagit.txt): give the "
                           f"bundle's .zip, or the folder unzipping it made.")
        root = inner[0]
    v = Verification(root.name)
    _check_bag(_Folder(root, v), v)
    return _one_problem_each(v)


def _check_bag(zf: _Reader, v: Verification) -> None:
    bag = zf.bag
    files = zf.files
    if "bagit.txt" not in files:
        v.problems.append(Problem("missing", f"{bag}/bagit.txt", "required BagIt file"))
    payload: dict[str, dict[str, str]] = {}
    tags: dict[str, dict[str, str]] = {}
    for name in sorted(files):
        if re.fullmatch(r"(tag)?manifest-[a-z0-9]+\.txt", name):
            body = zf.read(name)
            if body is None:
                continue
            entries = _parse_manifest(body.decode("utf-8", "replace"), f"{bag}/{name}", v)
            (tags if name.startswith("tag") else payload)[name] = entries
    for alg in ALGORITHMS:
        if f"manifest-{alg}.txt" not in files:
            v.problems.append(Problem("missing", f"{bag}/manifest-{alg}.txt",
                                      "payload manifest"))
    if not tags:
        v.problems.append(Problem("missing", f"{bag}/tagmanifest-{TAG_ALGORITHM}.txt",
                                  "tag manifest"))
    _check_manifests(zf, payload, v)
    _check_manifests(zf, tags, v)
    listed = {n for entries in (*payload.values(), *tags.values()) for n in entries}
    known = listed | set(tags) | {"bagit.txt"}
    for name in sorted(files):
        if name not in known:
            v.problems.append(Problem("unexpected", f"{bag}/{name}",
                                      "not listed in any manifest"))
    v.files = len([n for n in files if n.startswith("data/")])
    info = zf.read("bag-info.txt") if "bag-info.txt" in files else None
    if info is not None:
        v.info = _parse_info(info.decode("utf-8", "replace"))
        oxum = v.info.get("Payload-Oxum")
        if oxum:
            size = sum(zf.size(n) for n in files if n.startswith("data/"))
            if oxum != f"{size}.{v.files}":
                v.problems.append(Problem("invalid", f"{bag}/bag-info.txt",
                                          f"Payload-Oxum {oxum} does not match the payload "
                                          f"({size}.{v.files})"))
    bagit_txt = zf.read("bagit.txt") if "bagit.txt" in files else None
    if bagit_txt is not None and not bagit_txt.startswith(b"BagIt-Version: 1.0"):
        v.problems.append(Problem("invalid", f"{bag}/bagit.txt", "not BagIt version 1.0"))


def _one_problem_each(v: Verification) -> Verification:
    """One problem per file and kind is enough to act on."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for p in v.problems:
        if (p.kind, p.file) not in seen:
            seen.add((p.kind, p.file))
            unique.append(p)
    v.problems = unique
    return v


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
