"""Build the evidence bundle: from a clip and a Generation ID to one verified zip.

Everything the user asked for is checked before any decoding (platform,
failure, plan, ID, the failure's required evidence, the output path, every
time). Then the clip is indexed once, every needed frame is decoded once,
stills, pairs, the strip, the tickets, the report and the manifest are staged
in a temporary folder beside the output, zipped as a BagIt bag into a
temporary file, and renamed into place: a bundle is either complete or absent::

    result = build_bundle("clip.mp4", platform="kling", generation_id="abc",
                          failure="identity", marks=["0:02"])
    result.path, result.manifest
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import OutputError, UsageError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .analysis import Suggestion
    from .catalog import Catalog, Channel
    from .clip import ClipIndex, Progress, Truncation

SCHEMA = "ava-evidence/1"
MAX_PAIR_HEIGHT = 720
"""Pairs show each half at most this tall: legible in a ticket, quick to attach; the
lossless stills keep the full size."""
STRIP_TILE_WIDTH = 320
DEFAULT_ATTACHMENT_MB = 10.0
"""Per-file budget when a channel documents no limit: small enough for common mail."""
_PAIR_DESCRIPTIONS = {
    "start-end": "first and last frame side by side",
    "before-mark": "the frame before the marked moment, and the moment itself",
    "mark-after": "the marked moment (the clip's first frame), and the frame after it",
}
_PAIR_CAPTIONS = {
    "start-end": "Start and end of the clip",
    "before-mark": "Before and at the mark (frame {mark})",
    "mark-after": "At the mark (frame {mark}) and just after",
}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, limit: int = 64) -> str:
    """A file-name-safe form of ``text``: ASCII letters, digits, '.', '_' and '-' only."""
    name = _SAFE.sub("-", text).strip("-._")
    name = re.sub(r"-{2,}", "-", name)[:limit].strip("-._")
    return name or "id"


@dataclass(frozen=True)
class BuildResult:
    path: Path
    bytes: int
    manifest: dict[str, Any]
    channel: Channel | None
    warnings: tuple[str, ...] = ()
    """Doubts worth a look that did not stop the build (an ID of an unusual form)."""
    truncation: Truncation | None = None
    """Set when the clip ends before its declared end and was built with allow_truncated;
    the manifest's clip object says so too (``truncated``, ``missing_s``)."""


@dataclass(frozen=True)
class _Shot:
    """A frame placed in the bundle."""

    label: str
    requested: str
    index: int
    time: Fraction
    name: str
    measured: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"label": self.label, "requested": self.requested, "index": self.index,
             "time_s": float(self.time), "file": f"frames/{self.name}"}
        if self.measured:
            d["measured"] = self.measured
        return d


def build_bundle(clip: str | os.PathLike[str], *, platform: str, generation_id: str,
                 failure: str, marks: Sequence[str] = (), plan: str | None = None,
                 note: str | None = None, model: str | None = None,
                 output: str | os.PathLike[str] | None = None, force: bool = False,
                 include_clip: bool = False, auto: bool = False,
                 channels_file: str | os.PathLike[str] | None = None,
                 template_dir: str | os.PathLike[str] | None = None,
                 catalog: Catalog | None = None, on_progress: Progress | None = None,
                 now: dt.datetime | None = None, allow_truncated: bool = False) -> BuildResult:
    """Make the bundle for one failed generation; see the module docstring.

    A clip that ends before its own declared end (a download that stopped) is
    refused unless ``allow_truncated``."""
    from .catalog import load_catalog
    from .clip import check_readable
    from .stills import shared_mode
    from .tickets import check_generation_id, check_template_dir

    cat = catalog if catalog is not None else load_catalog(channels_file)
    plat = cat.platform(platform)
    fail = cat.failure(failure)
    plan_key, plan_name = plat.resolve_plan(plan)
    gid = check_generation_id(plat.id_from(_no_controls(check_generation_id(generation_id))))
    note = note.strip() if note and note.strip() else None
    model = " ".join(model.split()) if model and model.strip() else None
    ev = fail.evidence
    if len(marks) < ev.min_marks and not auto:
        raise UsageError(_needs_marks(fail.term, ev.min_marks))
    if ev.needs_note and not note:
        raise UsageError(f"{fail.term} needs a --note: {ev.advice}")
    check_readable(Path(clip))
    check_template_dir(template_dir)
    name = f"{plat.key}_{safe_name(gid)}_{fail.key}"
    target = _output_path(output, name, force)

    from .clip import index_clip
    from .timecode import resolve_text

    index = index_clip(clip, on_progress=on_progress, allow_truncated=allow_truncated)
    if index.truncation is not None and not allow_truncated:
        raise index.truncation.error(index.file_name)
    resolved = [(text, resolve_text(text, index.timing)[1]) for text in marks]
    suggestion = None
    if auto:
        from .analysis import suggest

        suggestion = suggest(index, fail.key, top=3, on_progress=on_progress)
        if not marks:  # the user's own marks always win
            resolved = [(f"measured {c.to_dict()['seconds']}", c.index)
                        for c in suggestion.candidates]
    if len(resolved) < ev.min_marks:
        raise UsageError(f"the measurement found no moment that stands out, so "
                         f"{_needs_marks(fail.term, ev.min_marks)}")
    when = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    parent = target.parent
    staging: Path | None = None
    tmp_zip = None
    try:
        with deferred_interrupt():  # made and remembered together, so always removed
            staging = Path(tempfile.mkdtemp(prefix=f".ava-evidence-{os.getpid()}-", dir=parent))
        manifest, payload, channel, digests = _stage(
            index, staging, plat_key=plat.key, catalog=cat, gid=gid, gid_input=generation_id,
            fail_key=fail.key, plan_key=plan_key, plan_name=plan_name, note=note, model=model,
            resolved=resolved, include_clip=include_clip, template_dir=template_dir, when=when,
            suggestion=suggestion, warnings=[d for d in [plat.id_doubt(gid),
                                                         _truncation_warning(index)] if d],
            on_progress=on_progress)
        from .bagit import write_bag_zip

        info = {
            "Source-Organization": plat.name,
            "External-Identifier": gid,
            "External-Description": f"{fail.term} in a {plat.name} generation: clip "
                                    f"{index.file_name} (sha256 {index.sha256})",
            "Bagging-Date": when.date().isoformat(),
            "Bag-Software-Agent": f"ava-evidence {__version__}",
        }
        with deferred_interrupt():
            fd, tmp_name = tempfile.mkstemp(prefix=f".ava-evidence-{os.getpid()}-",
                                            suffix=".zip.part", dir=parent)
            os.close(fd)
            tmp_zip = Path(tmp_name)
        os.chmod(tmp_zip, shared_mode())  # mkstemp makes it private; a bundle is for sharing
        if on_progress:
            on_progress("write", 0, 1)
        write_bag_zip(tmp_zip, name, payload, info, when, digests)
        if target.exists() and not force:
            raise OutputError(f"{target} appeared while building; it was left untouched. "
                              f"Use --force to replace it or -o for another name.")
        with deferred_interrupt():  # rename and forget the temporary name together
            os.replace(tmp_zip, target)
            tmp_zip = None
        if on_progress:
            on_progress("write", 1, 1)
    except OSError as e:
        raise OutputError(f"cannot write the bundle in {parent} ({e.strerror or e}): check free "
                          f"space and permissions, or choose another -o.") from e
    finally:
        with deferred_interrupt():  # a second Ctrl-C must not leave the staging folder behind
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if tmp_zip is not None:
                with contextlib.suppress(OSError):
                    tmp_zip.unlink()
    return BuildResult(target, target.stat().st_size, manifest, channel,
                       tuple(manifest["warnings"]), index.truncation)


def _truncation_warning(index: ClipIndex) -> str | None:
    t = index.truncation
    if t is None:
        return None
    return (f"{index.file_name} is truncated ({t.reason}, so {t.missing_text()}): the bundle "
            f"shows the frames that are there, and its 'end' is where the file stops, not "
            f"where the generation ends.")


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block is done (main thread only), then
    raise what arrived."""
    import signal
    import threading

    from .signals import HANDLED

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, *HANDLED)
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:  # as if it arrived now: raised by its handler, or the default action
            signal.raise_signal(received[0])


class _Inline:
    """The part of an executor `_stage` uses, running each call at once."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as e:
            future.set_exception(e)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def _prepare(template_dir: str | os.PathLike[str] | None, platform_key: str,
             channel_kind: str | None) -> None:
    import cv2  # noqa: F401
    import PIL.Image
    import PIL.ImageDraw  # noqa: F401

    from .tickets import precompile

    with contextlib.suppress(Exception):  # render() reports any problem properly later
        precompile(template_dir, platform_key, channel_kind)


def _no_controls(gid: str) -> str:
    """Refuse an ID holding C1 controls or text-direction (bidi) characters: they change
    how the ticket reads wherever it is shown (C0 controls are refused before)."""
    from .text import control_characters

    found = control_characters(gid)
    if found:
        raise UsageError(f"the Generation ID contains {', '.join(found)}, a control or "
                         f"text-direction character that changes how the ticket reads: pass "
                         f"the ID exactly as the platform shows it, with --id.")
    return gid


def _needs_marks(term: str, count: int) -> str:
    return (f"{term} needs at least {count} marked moment{'s' if count > 1 else ''}: add "
            f"--mark TIME (for example --mark 0:02) where the failure is visible.")


def _output_path(output: str | os.PathLike[str] | None, name: str, force: bool) -> Path:
    given = os.fspath(output) if output is not None else ""
    if given.endswith(("/", os.sep)) and not Path(given).is_dir():
        raise OutputError(f"folder {given} does not exist: create it (mkdir -p {given}) or "
                          f"choose another -o.")  # not a file named like the folder
    target = Path(output) if output is not None else Path.cwd() / f"{name}.zip"
    if target.is_dir():
        target = target / f"{name}.zip"
    if target.suffix.lower() != ".zip":
        raise UsageError(f"the bundle is a zip file: give -o a name ending in .zip "
                         f"(got {target.name}).")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"folder {parent} does not exist: create it (mkdir -p {parent}) "
                          f"or choose another -o.")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"folder {parent} is not writable: choose another -o.")
    if target.exists() and not force:
        raise OutputError(f"{target} already exists: use --force to replace it, or -o to "
                          f"choose another name.")
    from .writing import check_new_file

    check_new_file(target, force=True)  # never a FIFO, device or folder, even with --force
    return target


def _stage(index: ClipIndex, staging: Path, *, plat_key: str, catalog: Catalog, gid: str,
           gid_input: str, fail_key: str, plan_key: str | None, plan_name: str | None,
           note: str | None, model: str | None, resolved: list[tuple[str, int]],
           include_clip: bool, template_dir: str | os.PathLike[str] | None, when: dt.datetime,
           suggestion: Suggestion | None, warnings: list[str],
           on_progress: Progress | None
           ) -> tuple[dict[str, Any], list[tuple[str, Path]], Channel | None,
                      dict[str, dict[str, str]]]:
    """Write every file of the bag into ``staging``; return the manifest, the
    payload, the channel and the digests taken of images as they were written."""
    from . import decode
    from .bagit import digests_of
    from .compose import Caption, compose_pair, compose_strip, downscale, strip_indices
    from .decode import map_frames
    from .stills import save_png, still_name
    from .tickets import fit_plain_text, left_out, render, ticket_context

    plat = catalog.platforms[plat_key]
    fail = catalog.failures[fail_key]
    last = index.frame_count - 1
    shots = [_Shot("start", "start", 0, index.time_of(0), still_name(index, 0, "start"))]
    mark_shots: list[_Shot] = []
    unique = {frame: text for text, frame in reversed(resolved)}  # one mark per frame: the first
    for n, (frame, text) in enumerate(sorted(unique.items()), 1):
        measured = next(({"score": round(c.score, 3), "reason": c.reason}
                         for c in (suggestion.candidates if suggestion else [])
                         if c.index == frame and text.startswith("measured")), None)
        mark_shots.append(_Shot("mark", text, frame, index.time_of(frame),
                                still_name(index, frame, f"mark{n}"), measured))
    shots += mark_shots
    shots.append(_Shot("end", "end", last, index.time_of(last), still_name(index, last, "end")))
    # Each mark is paired with the frame before it; a mark on the first frame, with the one after.
    neighbours = {shot.index: (shot.index - 1, "before") if shot.index > 0
                  else (min(1, last), "after") for shot in mark_shots}
    window = ((max(0, mark_shots[0].index - round(index.fps)),
               min(last, mark_shots[-1].index + round(index.fps))) if mark_shots else (0, last))
    strip = strip_indices(index.frame_count, window, 8)
    needed = {s.index for s in shots} | {b for b, _ in neighbours.values()} | set(strip)

    (staging / "frames").mkdir()
    (staging / "pairs").mkdir()
    from concurrent.futures import ThreadPoolExecutor

    # Every file name is fixed before decoding, so what the bag holds never depends
    # on thread timing.
    context_names = {(b, label): f"frames/{still_name(index, b, label)}"
                     for b, label in neighbours.values()}
    stills: dict[int, list[str]] = {}
    for shot in shots:
        stills.setdefault(shot.index, []).append(f"frames/{shot.name}")
    for (b, _), context_name in context_names.items():
        if context_name not in stills.setdefault(b, []):
            stills[b].append(context_name)
    payload: list[tuple[str, Path]] = [(n, staging / n) for names in stills.values()
                                       for n in names]
    shot_frames = {s.index for s in shots}
    context_frames = [{"label": label, "for_index": mark_index, "index": b,
                       "time_s": float(index.time_of(b)), "file": context_names[(b, label)]}
                      for mark_index, (b, label) in sorted(neighbours.items())]

    footer = f"{plat.name}  |  Generation ID {gid}  |  {fail.term}"

    def cap(label: str, i: int) -> Caption:
        return Caption(label, i, index.time_of(i))

    pair_specs = [("01_start-end.png", cap("START", 0), cap("END", last), "start-end")]
    for n, shot in enumerate(mark_shots, 1):
        b, label = neighbours[shot.index]
        left, right, kind = ((cap("BEFORE", b), cap(f"MARK {n}", shot.index), "before-mark")
                             if label == "before"
                             else (cap(f"MARK {n}", shot.index), cap("AFTER", b), "mark-after"))
        pair_specs.append((f"{n + 1:02d}_mark{n}_f{shot.index:06d}.png", left, right, kind))
    pairs: list[dict[str, Any]] = [
        {"file": f"pairs/{file_name}", "kind": kind, "left": left.index, "right": right.index}
        for file_name, left, right, kind in pair_specs]
    pair_frames = {p["left"] for p in pairs} | {p["right"] for p in pairs}
    labels = {s.index: s.label for s in shots}

    # Composites are made as soon as their frames are decoded, beside the decoding:
    # (name, the small copies it needs, how to make it).
    small: dict[tuple[str, int], np.ndarray] = {}

    def pair_image(left: Caption, right: Caption) -> Image.Image:
        return compose_pair(small[("pair", left.index)], small[("pair", right.index)],
                            left, right, footer)

    def strip_image() -> Image.Image:
        return compose_strip([(small[("strip", i)], Caption(labels.get(i, "strip"), i,
                                                            index.time_of(i))) for i in strip],
                             footer, tile_width=STRIP_TILE_WIDTH)

    waiting: list[tuple[str, set[tuple[str, int]], Callable[[], Image.Image]]] = [
        (f"pairs/{file_name}", {("pair", left.index), ("pair", right.index)},
         functools.partial(pair_image, left, right))
        for file_name, left, right, _ in pair_specs]
    waiting.append(("strip.png", {("strip", i) for i in strip}, strip_image))
    payload += [(name, staging / name) for name, _, _ in waiting]
    lock = threading.Lock()
    # Drawing and encoding mostly release the GIL, so composites run in threads, except
    # where each process has only its one core (batch workers).
    pool: Any = ThreadPoolExecutor(max_workers=2) if decode.WORKER_THREADS != 0 else _Inline()
    jobs: dict[str, Future[str]] = {}
    digests: dict[str, dict[str, str]] = {}  # written by worker threads, one key each

    def save(name: str, make: Callable[[], Image.Image]) -> str:
        """Make and write a composite; return its report preview."""
        import numpy as np

        rgb = np.asarray(make())
        digests[name] = digests_of(save_png(rgb, staging / name))
        return _data_uri(rgb, 1600)

    def use(i: int, bgr: np.ndarray) -> str | None:
        """Keep the small copies composites need and start those now complete; save
        frame ``i``'s full-size stills (only small copies are kept: a 4K frame is 25 MB).

        Frames arrive in BGR, which OpenCV encodes without another full-size copy."""
        import cv2

        copies = {}
        if i in pair_frames:
            copies[("pair", i)] = cv2.cvtColor(downscale(bgr, height=MAX_PAIR_HEIGHT),
                                               cv2.COLOR_BGR2RGB)
        if i in strip:
            copies[("strip", i)] = cv2.cvtColor(downscale(bgr, width=STRIP_TILE_WIDTH),
                                                cv2.COLOR_BGR2RGB)
        with lock:
            small.update(copies)
            for item in [w for w in waiting if w[1] <= small.keys()]:
                waiting.remove(item)
                jobs[item[0]] = pool.submit(save, item[0], item[2])
        if i in stills:  # one encoding, however many names the frame has
            frame_digests = digests_of(save_png(bgr, *(staging / n for n in stills[i]), bgr=True))
            digests.update((n, frame_digests) for n in stills[i])
        return _data_uri(bgr, 480, bgr=True) if i in shot_frames else None

    channels = plat.channels_for(plan_key)
    channel = channels[0] if channels else None
    # Imports and template compiling for the steps after decoding run beside it: the
    # decoder works in FFmpeg's threads with the GIL released.
    preparing = threading.Thread(target=_prepare, daemon=True,
                                 args=(template_dir, plat.key, channel.kind if channel else None))
    preparing.start()
    try:
        uris = map_frames(index, needed, use, bgr=True, on_progress=on_progress)
        previews = {f"frames/{s.name}": uris[s.index] or "" for s in shots}
        if suggestion is not None:
            from .chart import chart_for

            payload.append(("chart.png", staging / "chart.png"))
            jobs["chart.png"] = pool.submit(save, "chart.png", functools.partial(
                chart_for, suggestion, float(index.duration),
                f"{fail.term}, measured: {index.file_name}"))
        previews.update((name, job.result()) for name, job in jobs.items())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    preparing.join()
    if on_progress:
        on_progress("compose", 1, 1)

    budget_mb = (channel.limit.attachment_limit_mb if channel and channel.limit
                 and channel.limit.attachment_limit_mb else DEFAULT_ATTACHMENT_MB)
    candidates = [(p["file"], staging / p["file"], _PAIR_DESCRIPTIONS[p["kind"]])
                  for p in pairs]
    if suggestion is not None:
        candidates.append(("chart.png", staging / "chart.png",
                           "chart of the measured signals with the moments marked"))
    candidates += [(f"frames/{s.name}", staging / "frames" / s.name,
                    f"{s.label} still, frame {s.index} (lossless)") for s in shots]
    attach_views, attachment_notes = _attachments(candidates, budget_mb, staging, payload)
    attachments = [a["file"] for a in attach_views]

    clip_name = None
    if include_clip:
        clip_name = f"clip/{safe_name(index.file_name, 120)}"
        (staging / "clip").mkdir()
        clip_copy = staging / clip_name
        shutil.copyfile(index.source or index.path, clip_copy)
        payload.append((clip_name, clip_copy))

    clip_facts = index.to_dict()
    frame_dicts = [s.to_dict() for s in shots]
    ctx = ticket_context(platform=plat, failure=fail, generation_id=gid, plan_key=plan_key,
                         plan_name=plan_name, clip=clip_facts, frames=frame_dicts,
                         attachments=attach_views, note=note, model=model, version=__version__,
                         measured=[c.to_dict() for c in suggestion.candidates]
                         if suggestion else [])
    limit = channel.limit.message_limit_chars if channel and channel.limit else None
    ticket_md = render("ticket.md.j2", ctx, template_dir=template_dir)
    ticket_txt, detail = fit_plain_text(ctx, limit, template_dir=template_dir)
    (staging / "ticket.md").write_text(ticket_md, encoding="utf-8")
    (staging / "ticket.txt").write_text(ticket_txt, encoding="utf-8")
    payload += [("ticket.md", staging / "ticket.md"), ("ticket.txt", staging / "ticket.txt")]

    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "ava-evidence", "version": __version__},
        "created_utc": when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generation_id": gid,
        "generation_id_input": gid_input.strip() if gid_input.strip() != gid else None,
        "platform": plat.key,
        "platform_name": plat.name,
        "plan": plan_key,
        "plan_name": plan_name,
        "model": model,
        "failure": fail.key,
        "term": fail.term,
        "severity": fail.severity,
        "channel": ({**channel.to_dict(), "unverified": channel.unverified} if channel
                    else {"kind": None, "where": None,
                          "help_centre": plat.help_centre,
                          "summary": "no support channel documented in the sources"}),
        "refund_policy": plat.refund_policy.to_dict(),
        "clip": clip_facts,
        "frames": frame_dicts,
        "context_frames": context_frames,
        "pairs": pairs,
        "strip": {"file": "strip.png", "indices": strip},
        "attachments": attachments,
        "attachment_notes": attachment_notes,
        "attachment_limit_mb": budget_mb,
        "note": note,
        "measured": ({"candidates": [c.to_dict() for c in suggestion.candidates],
                      "notes": suggestion.notes} if suggestion else None),
        "chart": "chart.png" if suggestion is not None else None,
        "ticket": {"markdown": "ticket.md", "text": "ticket.txt", "text_chars": len(ticket_txt),
                   "text_limit": limit, "text_detail": detail,
                   "text_left_out": left_out(detail, note, ticket_txt)},
        "clip_included": clip_name,
        "report": "report.html",
        "warnings": warnings,
    }
    report = _report(ctx, manifest, previews, ticket_md, template_dir)
    (staging / "report.html").write_text(report, encoding="utf-8")
    payload.append(("report.html", staging / "report.html"))
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                           + "\n", encoding="utf-8")
    payload.append(("manifest.json", staging / "manifest.json"))
    return manifest, payload, channel, digests


def _attachments(candidates: list[tuple[str, Path, str]], budget_mb: float, staging: Path,
                 payload: list[tuple[str, Path]]) -> tuple[list[dict[str, str]], list[str]]:
    """The files to attach, in order, each within the channel's per-file limit.

    A file over the limit is replaced in the list by a JPEG copy (downscaled if
    needed) under attach/; the lossless original stays in the bag.
    """
    import cv2

    from .stills import encode_jpeg

    limit = int(budget_mb * 1_000_000)
    chosen: list[dict[str, str]] = []
    notes: list[str] = []
    for name, path, description in candidates:
        if any(c["original"] == name for c in chosen):
            continue
        size = path.stat().st_size
        if size <= limit:
            chosen.append({"file": name, "description": description, "original": name})
            continue
        (staging / "attach").mkdir(exist_ok=True)
        small_name = "attach/" + Path(name).stem + ".jpg"
        # OpenCV reads any size (Pillow refuses frames over 179 Mpx) and 16-bit PNGs as 8-bit.
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot read {name} back to make its JPEG copy")
        scale, quality = 1.0, 90
        while True:
            candidate = bgr if scale == 1.0 else cv2.resize(
                bgr, (max(1, int(bgr.shape[1] * scale)), max(1, int(bgr.shape[0] * scale))),
                interpolation=cv2.INTER_AREA)
            data = encode_jpeg(candidate, quality, bgr=True)
            if len(data) <= limit or candidate.shape[1] <= 64:
                break
            scale, quality = scale * 0.8, max(75, quality - 5)
        (staging / small_name).write_bytes(data)
        payload.append((small_name, staging / small_name))
        chosen.append({"file": small_name, "description": f"{description}; JPEG copy",
                       "original": name})
        notes.append(f"{name} is {size / 1e6:.1f} MB, over the channel's {budget_mb:g} MB "
                     f"limit: attach {small_name} (JPEG{', downscaled' if scale < 1 else ''}) "
                     f"instead; the lossless original stays in the bundle.")
    return [{"file": c["file"], "description": c["description"]} for c in chosen], notes


def _data_uri(rgb: np.ndarray, max_width: int, *, bgr: bool = False) -> str:
    """A JPEG preview of an image as a data: URI for the report (lossless files are in the bag)."""
    from .compose import downscale
    from .stills import encode_jpeg

    return "data:image/jpeg;base64," + base64.b64encode(
        encode_jpeg(downscale(rgb, width=max_width), 88, bgr=bgr)).decode()


def _report(ctx: dict[str, Any], manifest: dict[str, Any], previews: dict[str, str],
            ticket_md: str, template_dir: str | os.PathLike[str] | None) -> str:
    from .tickets import render
    from .timecode import format_seconds

    images = {
        "pairs": [{"src": previews[p["file"]], "file": p["file"],
                   "caption": _PAIR_CAPTIONS[p["kind"]].format(
                       mark=p["left"] if p["kind"] == "mark-after" else p["right"])}
                  for p in manifest["pairs"]],
        "strip": {"src": previews["strip.png"], "file": "strip.png"},
        "chart": ({"src": previews["chart.png"], "file": "chart.png"}
                  if "chart.png" in previews else None),
        "stills": [{"src": previews[f["file"]], "file": f["file"],
                    "caption": f"{f['label']}: frame {f['index']} at "
                               f"{format_seconds(f['time_s'])} s"}
                   for f in manifest["frames"]],
    }
    return render("report.html.j2", {**ctx, "report_images": images,
                                     "ticket_markdown": ticket_md, "manifest": manifest},
                  template_dir=template_dir)
