"""A zipped BagIt 1.0 bag (RFC 8493): write one, and verify one.

The zip holds one top-level folder, the bag: ``bagit.txt``, ``bag-info.txt``,
SHA-256 and SHA-512 payload manifests, a SHA-256 tag manifest and ``data/``.
Any BagIt validator can check it once unzipped; :func:`verify_bag` checks it
in place and names every missing, changed or unexpected file. Files an operating
system leaves in any folder it shows (``.DS_Store``, ``Thumbs.db``...) are noted, not
counted against the bag.
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
from .text import control_characters, printable

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
    """One thing wrong with a bag: its kind, the file it concerns, and why.

    Kinds: missing, changed (its bytes differ or are damaged), unexpected (not listed),
    invalid (breaks the BagIt or zip rules), refused (not read: a decompression bomb or
    an oversized tag file)."""

    kind: str
    file: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "file": self.file, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.kind}: {printable(self.file)} ({printable(self.detail)})"


@dataclass
class Verification:
    bag: str
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    ignored: list[Problem] = field(default_factory=list)
    """Operating-system clutter (kind "ignored"): shown, but no reason to fail the bag."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "bag": self.bag, "files": self.files,
                "problems": [p.to_dict() for p in self.problems],
                "ignored": [p.to_dict() for p in self.ignored]}


OS_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
"""Files macOS Finder and Windows Explorer write into folders they show (compared
lowercased: both systems' disks usually ignore case)."""
OS_FOLDER = "__MACOSX"
"""Where macOS's Archive Utility puts a zip's resource forks."""
_NOTE = "made by the operating system, not part of the bag"
_PAYLOAD_NOTE = (f"{_NOTE}; other BagIt tools count it as an unexpected payload file, so "
                 f"delete it before you send the folder")


def os_clutter(name: str) -> bool:
    """Whether a path is a file an operating system made (Finder's ``.DS_Store`` and
    ``._*`` AppleDouble files, Windows' ``Thumbs.db`` and ``desktop.ini``, a zip's
    ``__MACOSX/`` folder): a user who only opened the folder did not change the bag.

    bagit-python ignores nothing by name: it never looks at unlisted files outside
    ``data/`` (RFC 8493 allows extra tag files) and fails any unlisted file inside it."""
    parts = PurePosixPath(name).parts
    if not parts:
        return False
    base = parts[-1]
    return base.lower() in OS_FILES or base.startswith("._") or OS_FOLDER in parts[:-1]


def _ignore(v: Verification, file: str, in_payload: bool) -> None:
    v.ignored.append(Problem("ignored", file, _PAYLOAD_NOTE if in_payload else _NOTE))


TAG_FILE_LIMIT = 1 << 20
"""Largest tag file read (bagit.txt, bag-info.txt, the manifests): a real one is a few kB."""
RATIO_LIMIT = 100
"""A member that expands beyond this many times its compressed size is not read (once
over 1 MiB): a bundle's members compress at most a few times; a bomb, a thousand."""
_RATIO_FLOOR = 1 << 20
_CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b",
                        "blake2s")
"""The manifest algorithms verify can check (BagIt's registry, as hashlib names them)."""
_MANIFEST = re.compile(r"(tag)?manifest-([a-z0-9]+)\.txt")
_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError, RuntimeError,
                                                 NotImplementedError, zipfile.BadZipFile)
"""What reading a member may raise on damage (zlib.error and LZMAError are caught too)."""


def _read_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import struct
    import zlib

    return (*_READ_ERRORS, zlib.error, lzma.LZMAError, struct.error)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("kiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


class _Reader:
    """Reads the files of a bag; a file that cannot be read becomes a problem.

    Subclasses give ``files`` (name in the bag -> where it is), ``size``, ``_open`` and
    ``_refusal``. Each file is read once, for every algorithm it is checked with.
    """

    files: dict[str, str]

    def __init__(self, bag: str, v: Verification) -> None:
        self.bag, self.v = bag, v
        self._digests: dict[str, dict[str, str] | None] = {}
        self._tags: dict[str, bytes | None] = {}  # tag files, read once, kept (small)
        self.algorithms: dict[str, set[str]] = {}
        """Algorithms each file is checked with; set before the first digest."""

    def size(self, name: str) -> int:
        raise NotImplementedError

    def _open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def _refusal(self, name: str) -> str | None:
        """Why a file is not read at all, or None."""
        return None

    def _problem(self, name: str, error: BaseException) -> None:
        self.v.problems.append(Problem("changed", f"{self.bag}/{name}",
                                       f"cannot be read: {_reason(error)}"))

    def read_tag(self, name: str) -> bytes | None:
        """A tag file's bytes, at most TAG_FILE_LIMIT of them (read once, then kept)."""
        if name not in self._tags:
            self._tags[name] = self._read_tag(name)
        return self._tags[name]

    def _read_tag(self, name: str) -> bytes | None:
        if self.size(name) > TAG_FILE_LIMIT:
            self.v.problems.append(Problem(
                "refused", f"{self.bag}/{name}", f"a tag file of {_size(self.size(name))}: "
                f"over {_size(TAG_FILE_LIMIT)}, so it was not read"))
            return None
        refusal = self._refusal(name)
        if refusal:
            self.v.problems.append(Problem("refused", f"{self.bag}/{name}", refusal))
            return None
        try:
            with self._open(name) as f:
                data = f.read(TAG_FILE_LIMIT + 1)
        except _read_errors() as e:
            self._problem(name, e)
            return None
        if len(data) > TAG_FILE_LIMIT:
            self.v.problems.append(Problem("refused", f"{self.bag}/{name}",
                                           f"a tag file over {_size(TAG_FILE_LIMIT)}"))
            return None
        return data

    def digest(self, name: str, alg: str) -> str | None:
        if name not in self._digests:
            self._digests[name] = self._hash(name, self.algorithms.get(name, set()) | {alg})
        digests = self._digests[name]
        if digests is None:
            return None
        if alg not in digests:  # not announced: read again for it alone
            more = self._hash(name, {alg})
            if more is None:
                return None
            digests.update(more)
        return digests[alg]

    def _hash(self, name: str, algs: set[str]) -> dict[str, str] | None:
        if not name.startswith("data/"):  # a tag file: its bytes are read once and kept
            body = self.read_tag(name)
            return None if body is None else {alg: hashlib.new(alg, body).hexdigest()
                                               for alg in algs}
        refusal = self._refusal(name)
        if refusal:
            self.v.problems.append(Problem("refused", f"{self.bag}/{name}", refusal))
            return None
        hashes = {alg: hashlib.new(alg) for alg in sorted(algs)}
        try:
            with self._open(name) as f:
                while chunk := f.read(1 << 20):
                    for h in hashes.values():
                        h.update(chunk)
        except _read_errors() as e:
            self._problem(name, e)
            return None
        return {alg: h.hexdigest() for alg, h in hashes.items()}


def _reason(error: BaseException) -> str:
    """What a reading error means, in words."""
    text = str(getattr(error, "strerror", None) or error).strip().rstrip(".")
    if isinstance(error, RuntimeError) and "encrypted" in text:
        return "it is encrypted (a bundle never is)"
    if isinstance(error, NotImplementedError):
        return ("it is compressed with a method this tool cannot read (Deflate64, as "
                "Windows' zipper uses for large files?): zip the bag again with store or deflate")
    return f"damaged inside the zip: {text}" if text else "damaged inside the zip"


class _Zip(_Reader):
    """A zipped bag; damage the zip itself detects (CRC, bad data) becomes a problem."""

    def __init__(self, z: zipfile.ZipFile, bag: str, v: Verification) -> None:
        super().__init__(bag, v)
        self.z = z
        self.files = {n[len(bag) + 1:]: n for n in z.namelist()
                      if not n.endswith("/") and n.startswith(bag + "/")}

    def size(self, name: str) -> int:
        return self.z.getinfo(self.files[name]).file_size

    def _refusal(self, name: str) -> str | None:
        info = self.z.getinfo(self.files[name])
        if info.file_size > _RATIO_FLOOR and info.file_size > RATIO_LIMIT * max(
                1, info.compress_size):
            return (f"refused: it expands beyond {RATIO_LIMIT} times its compressed size "
                    f"({_size(info.file_size)} from {_size(info.compress_size)}), as a "
                    f"decompression bomb does, so it was not read")
        return None

    def _open(self, name: str) -> IO[bytes]:
        return self.z.open(self.files[name])


class _Folder(_Reader):
    """An unzipped bag. Symbolic links are not followed: a bag holds files."""

    def __init__(self, root: Path, v: Verification) -> None:
        super().__init__(root.name, v)
        self.root = root
        self.files = {}
        for p in sorted(root.rglob("*")):
            name = p.relative_to(root).as_posix()
            if p.is_symlink():
                v.problems.append(Problem("invalid", f"{root.name}/{name}",
                                          "a symbolic link: a bag holds files only"))
            elif p.is_file():
                self.files[name] = name

    def size(self, name: str) -> int:
        return (self.root / name).stat().st_size

    def _open(self, name: str) -> IO[bytes]:
        return (self.root / name).open("rb")

    def _problem(self, name: str, error: BaseException) -> None:
        reason = getattr(error, "strerror", None) or error
        self.v.problems.append(Problem("changed", f"{self.bag}/{name}",
                                       f"cannot be read: {reason}"))


def _parse_manifest(text: str, label: str, alg: str, v: Verification) -> dict[str, str]:
    """Entries of a manifest: '<checksum> <path>', separated by spaces or tabs (RFC 8493;
    CR, LF and % in paths are percent-encoded)."""
    width = hashlib.new(alg).digest_size * 2
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9A-Fa-f]+)[ \t]+(.+?)[ \t]*", line)
        if not m or len(m[1]) != width:
            v.problems.append(Problem("changed", label, f"line {n} is not '<{alg} checksum> "
                                                        f"<path>'"))
            continue
        name = re.sub(r"%0[Aa]", "\n", re.sub(r"%0[Dd]", "\r", m[2])).replace("%25", "%")
        entries[name] = m[1].lower()
    return entries


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
            got = zf.digest(name, _algorithm(m))
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


def _algorithm(manifest_name: str) -> str:
    m = _MANIFEST.fullmatch(manifest_name)
    assert m is not None
    return m[2]


def verify_bag(bundle: str | os.PathLike[str]) -> Verification:
    """Re-hash every file of a bag, zipped or unzipped, against its manifests.

    Safe on a hostile bundle: every member that cannot be read is a named problem,
    tag files are read only up to TAG_FILE_LIMIT, a member that inflates beyond
    RATIO_LIMIT times its size is not read, and each file is read once."""
    path = Path(bundle)
    if path.is_dir():
        return _verify_folder(path)
    if not path.is_file():
        raise AvaError(f"{path}: no such bundle: check the path of the .zip file.")
    errors: tuple[type[BaseException], ...] = (*_read_errors(), UnicodeDecodeError)
    try:
        z = zipfile.ZipFile(path)
    except errors as e:
        raise AvaError(f"{path.name} is not a readable zip ({printable(e)}): "
                       f"get the bundle again from where it was made.") from e
    with z:
        infos = z.infolist()
        names = [i.filename for i in infos if not i.filename.endswith("/")]
        tops = {PurePosixPath(n).parts[0] for n in names
                if PurePosixPath(n).parts and not _outside_clutter(n)}
        if len(tops) != 1:
            shown = ", ".join(printable(t) for t in sorted(tops)[:4]) + \
                (", ..." if len(tops) > 4 else "")
            raise AvaError(f"{path.name} does not hold exactly one bag folder "
                           f"(found {len(tops)} top-level entries{': ' + shown if tops else ''})"
                           f": give the .zip that 'ava-evidence build' made.")
        bag = tops.pop()
        v = Verification(bag)
        for n in names:
            if not n.startswith(bag + "/") and _outside_clutter(n) and not _unsafe(n):
                _ignore(v, n, in_payload=False)
            unsafe = _unsafe(n)
            if unsafe:
                v.problems.append(Problem("invalid", n, unsafe))
        _same_names(names, v)
        _check_bag(_Zip(z, bag, v), v)
    return _one_problem_each(v)


def _outside_clutter(name: str) -> bool:
    """Clutter beside the bag folder: a ``.DS_Store`` at the zip's top or anything in
    ``__MACOSX/`` (where macOS's Archive Utility keeps resource forks)."""
    parts = PurePosixPath(name).parts
    return os_clutter(name) and (len(parts) == 1 or parts[0] == OS_FOLDER)


def _unsafe(name: str) -> str | None:
    """Why a member name could write outside the folder it is unzipped into, or mislead."""
    parts = PurePosixPath(name).parts
    if ".." in parts or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "unsafe path in the zip"
    if "\\" in name:
        return "unsafe path in the zip (a backslash, which Windows reads as a folder)"
    controls = control_characters(name)
    if controls:
        return f"its name holds control or text-direction characters ({', '.join(controls)})"
    return None


def _same_names(names: list[str], v: Verification) -> None:
    """Two entries with one name (a reader may take either), or names equal once
    normalised (NFC/NFD: systems that normalise names see one file)."""
    import unicodedata
    from collections import Counter, defaultdict

    for name, count in Counter(names).items():
        if count > 1:
            v.problems.append(Problem("invalid", name, f"the zip holds {count} entries with "
                                                       f"this name; tools differ on which "
                                                       f"one they read"))
    forms: dict[str, set[str]] = defaultdict(set)
    for name in names:
        forms[unicodedata.normalize("NFC", name)].add(name)
    for group in forms.values():
        if len(group) > 1:
            first, *others = sorted(group)
            v.problems.append(Problem("invalid", first, f"its name and {others[0]!r} differ "
                                                        f"only in Unicode normalisation"))


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
    reader = _Folder(root, v)
    _same_names([f"{root.name}/{n}" for n in reader.files], v)
    _check_bag(reader, v)
    return _one_problem_each(v)


def _manifests(zf: _Reader, v: Verification
               ) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], set[str]]:
    """Payload and tag manifests that can be checked, and every manifest's listed names."""
    bag = zf.bag
    payload: dict[str, dict[str, str]] = {}
    tags: dict[str, dict[str, str]] = {}
    listed: set[str] = set()
    for name in sorted(zf.files):
        m = _MANIFEST.fullmatch(name)
        if not m:
            continue
        alg = m[2]
        if alg not in _CHECKSUM_ALGORITHMS:
            v.problems.append(Problem("invalid", f"{bag}/{name}",
                                      f"unknown checksum algorithm '{alg}': its entries "
                                      f"cannot be checked"))
            continue
        body = zf.read_tag(name)
        if body is None:
            continue
        entries = _parse_manifest(body.decode("utf-8", "replace"), f"{bag}/{name}", alg, v)
        listed.update(entries)
        (tags if m[1] else payload)[name] = entries
    return payload, tags, listed


def _check_bag(zf: _Reader, v: Verification) -> None:
    bag = zf.bag
    files = zf.files
    if "bagit.txt" not in files:
        v.problems.append(Problem("missing", f"{bag}/bagit.txt", "required BagIt file"))
    payload, tags, listed = _manifests(zf, v)
    for alg in ALGORITHMS:
        if f"manifest-{alg}.txt" not in files:
            v.problems.append(Problem("missing", f"{bag}/manifest-{alg}.txt",
                                      "payload manifest"))
    if not tags:
        v.problems.append(Problem("missing", f"{bag}/tagmanifest-{TAG_ALGORITHM}.txt",
                                  "tag manifest"))
    for group in (payload, tags):
        for manifest, entries in group.items():
            for name in entries:
                zf.algorithms.setdefault(name, set()).add(_algorithm(manifest))
    _check_manifests(zf, payload, v)
    _check_manifests(zf, tags, v)
    _check_payload_listing(zf, payload, v)
    known = listed | {n for n in files if _MANIFEST.fullmatch(n)} | {"bagit.txt"}
    clutter = {n for n in files if n not in known and os_clutter(n)}
    for name in sorted(files):
        if name in clutter:
            _ignore(v, f"{bag}/{name}", in_payload=name.startswith("data/"))
        elif name not in known:
            v.problems.append(Problem("unexpected", f"{bag}/{name}",
                                      "not listed in any manifest"))
    payload_files = [n for n in files if n.startswith("data/") and n not in clutter]
    v.files = len(payload_files)
    info = zf.read_tag("bag-info.txt") if "bag-info.txt" in files else None
    if info is not None:
        v.info = _parse_info(info.decode("utf-8", "replace"))
        oxum = v.info.get("Payload-Oxum")
        if oxum:
            size = sum(zf.size(n) for n in payload_files)
            if oxum != f"{size}.{v.files}":
                v.problems.append(Problem("invalid", f"{bag}/bag-info.txt",
                                          f"Payload-Oxum {oxum} does not match the payload "
                                          f"({size}.{v.files})"))
    bagit_txt = zf.read_tag("bagit.txt") if "bagit.txt" in files else None
    if bagit_txt is not None:
        declared = _parse_info(bagit_txt.decode("utf-8", "replace"))
        if declared.get("BagIt-Version") != "1.0":
            v.problems.append(Problem("invalid", f"{bag}/bagit.txt", "not BagIt version 1.0"))


def _check_payload_listing(zf: _Reader, payload: dict[str, dict[str, str]],
                           v: Verification) -> None:
    """Every payload file is listed in every payload manifest, and a payload manifest
    lists only payload files (RFC 8493, 3)."""
    bag = zf.bag
    data = sorted(n for n in zf.files if n.startswith("data/"))
    for manifest, entries in payload.items():
        for name in data:
            if name not in entries and any(name in e for e in payload.values()):
                v.problems.append(Problem("invalid", f"{bag}/{manifest}",
                                          f"does not list {name}, which the other payload "
                                          f"manifests list"))
        for name in entries:
            if not name.startswith("data/"):
                v.problems.append(Problem("invalid", f"{bag}/{manifest}",
                                          f"lists {name}, which is not a payload file: tag "
                                          f"files belong in tag manifests"))


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
