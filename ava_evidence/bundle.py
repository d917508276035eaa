"""Build the evidence bundle: from a clip and a Generation ID to one verified zip.

Everything the user asked for is checked before any decoding (platform,
failure, plan, ID, the facts, the failure's required evidence, the output path,
every time). Then four steps, each a function below: plan the frames; decode
and compose; write the ticket files; pack them as a BagIt bag into a temporary
zip renamed into place, so a bundle is either complete or absent::

    result = build(BuildRequest(Path("clip.mp4"), platform="kling", generation_id="abc",
                                failure="identity", marks=(MarkSpec("0:02", "eyes apart"),)))
    result.path, result.manifest, result.missing
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import functools
import io
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import OutputError, UsageError
from .facts import MarkSpec, TicketFacts
from .message import Attached

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .analysis import Candidate, Suggestion
    from .catalog import Catalog, Channel, Failure, Platform
    from .clip import ClipIndex, Progress, Truncation
    from .compose import Caption
    from .message import Moment, Rendered, Ticket
    from .route import Route
    from .send import SendNotes

SCHEMA = "ava-evidence/1"
MAX_PAIR_HEIGHT = 720
"""Pairs show each half at most this tall: legible in a ticket, quick to attach; the
lossless stills keep the full size."""
STRIP_TILE_WIDTH = 320
DEFAULT_ATTACHMENT_MB = 10.0
"""Per-file budget when a channel documents no limit: small enough for common mail."""
MAX_REFERENCE_BYTES = 50_000_000
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, limit: int = 64) -> str:
    """A file-name-safe form of ``text``: ASCII letters, digits, '.', '_' and '-' only."""
    name = _SAFE.sub("-", text).strip("-._")
    name = re.sub(r"-{2,}", "-", name)[:limit].strip("-._")
    return name or "id"


@dataclass(frozen=True)
class BuildRequest:
    """Everything a build needs from its caller (the CLI, batch, the mark page)."""

    clip: Path
    platform: str
    generation_id: str
    failure: str
    marks: tuple[MarkSpec, ...] = ()
    plan: str | None = None
    facts: TicketFacts = field(default_factory=TicketFacts)
    """Checked values (see :meth:`TicketFacts.from_user`)."""
    reference: Path | None = None
    """The input image of an image-to-video job, copied into the bundle."""
    reference_data: tuple[str, bytes] | None = None
    """The same, as (file name, bytes): sent by the mark page, never read from a path."""
    output: Path | None = None
    force: bool = False
    include_clip: bool = False
    auto: bool = False
    channels_file: Path | None = None
    template_dir: Path | None = None
    use_profile: bool = True
    """Fill the account and plan from the user's profile when not given."""
    allow_truncated: bool = False
    """Build from a clip that ends before its declared end (a download that stopped)."""


@dataclass(frozen=True)
class BuildResult:
    path: Path
    bytes: int
    manifest: dict[str, Any]
    channel: Channel | None
    warnings: tuple[str, ...] = ()
    """Doubts worth a look that did not stop the build (an ID of an unusual form)."""
    missing: tuple[str, ...] = ()
    """Facts the message still shows as [placeholders], by name."""
    bag: str = ""
    """The folder the zip unpacks to."""
    profile_used: tuple[str, ...] = ()
    """Which values came from the user's profile ('account', 'plan')."""
    truncation: Truncation | None = None
    """Set when the clip ends before its declared end and was built with allow_truncated;
    the manifest's clip object says so too (``truncated``, ``missing_s``)."""


def build_bundle(clip: str | os.PathLike[str], *, platform: str, generation_id: str,
                 failure: str, marks: Sequence[str | MarkSpec] = (), plan: str | None = None,
                 note: str | None = None, model: str | None = None,
                 account: str | None = None, prompt: str | None = None,
                 generated: str | None = None, credits: str | None = None,
                 settings: str | None = None, use: str | None = None,
                 details: Sequence[str] = (),
                 reference: str | os.PathLike[str] | None = None,
                 output: str | os.PathLike[str] | None = None, force: bool = False,
                 include_clip: bool = False, auto: bool = False,
                 channels_file: str | os.PathLike[str] | None = None,
                 template_dir: str | os.PathLike[str] | None = None,
                 use_profile: bool = True, catalog: Catalog | None = None,
                 on_progress: Progress | None = None,
                 now: dt.datetime | None = None, allow_truncated: bool = False) -> BuildResult:
    """:func:`build` from plain values, as typed (marks as ``TIME`` or ``TIME=WHAT``)."""
    from .facts import parse_mark

    given = os.fspath(output) if output is not None else ""
    if given.endswith(("/", os.sep)) and not Path(given).is_dir():
        raise OutputError(f"folder {given} does not exist: create it (mkdir -p {given}) or "
                          f"choose another -o.")  # not a file named like the folder

    facts = TicketFacts.from_user(account=account, generated=generated, model=model,
                                  settings=settings, credits=credits, prompt=prompt, use=use,
                                  note=note, details=tuple(details), now=now)
    request = BuildRequest(
        Path(clip), platform=platform, generation_id=generation_id, failure=failure,
        marks=tuple(parse_mark(m) for m in marks), plan=plan, facts=facts,
        reference=Path(reference) if reference is not None else None,
        output=Path(output) if output is not None else None, force=force,
        include_clip=include_clip, auto=auto,
        channels_file=Path(channels_file) if channels_file is not None else None,
        template_dir=Path(template_dir) if template_dir is not None else None,
        use_profile=use_profile, allow_truncated=allow_truncated)
    return build(request, catalog=catalog, on_progress=on_progress, now=now)


@dataclass(frozen=True)
class _Job:
    """A request checked against the catalog and the profile: ready to decode."""

    request: BuildRequest
    catalog: Catalog
    platform: Platform
    failure: Failure
    plan_key: str | None
    plan_name: str | None
    route: Route
    generation_id: str
    link: str | None
    facts: TicketFacts
    name: str
    target: Path
    warnings: tuple[str, ...]
    profile_used: tuple[str, ...]
    day: dt.date
    """The build's date: facts older than 180 days before it are flagged."""


def build(request: BuildRequest, *, catalog: Catalog | None = None,
          on_progress: Progress | None = None, now: dt.datetime | None = None) -> BuildResult:
    """Make the bundle for one failed generation; see the module docstring."""
    from dataclasses import replace

    from .catalog_rules import today
    from .clip import index_clip

    day = now.date() if now else today()
    measured_failure = not request.failure.strip()
    if measured_failure and not request.auto:
        raise UsageError("Missing option '--failure'. 'ava-evidence failures' lists them; "
                         "or add --auto to measure which one the clip shows.")
    # Everything is checked before the clip is decoded (all but the failure, when the
    # measurement is to choose it).
    if measured_failure:  # the bundle's default name holds the failure: known only later
        named = request.output is not None and request.output.suffix.lower() == ".zip"
        job = _check(replace(request, failure="identity-coherence"), catalog, day, output=named)
    else:
        job = _check(request, catalog, day)
    index = index_clip(request.clip, on_progress=on_progress,
                       allow_truncated=request.allow_truncated)
    if index.truncation is not None and not request.allow_truncated:
        raise index.truncation.error(index.file_name)
    ranked: Suggestion | None = None
    if measured_failure:
        request, ranked, chosen = _measured_failure(request, index, catalog, on_progress)
        job = _check(request, catalog, day)
        job = replace(job, warnings=(*job.warnings, chosen))
    job = _with_clip_facts(job, index)
    marks, suggestion = _marks(job, index, on_progress, ranked)
    plan = plan_frames(index, marks, job.failure)
    when = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    parent = job.target.parent
    staging: Path | None = None
    try:
        with deferred_interrupt():  # made and remembered together, so always removed
            staging = Path(tempfile.mkdtemp(prefix=f".ava-evidence-{os.getpid()}-", dir=parent))
        channel = job.route.channel
        footer = f"{job.platform.name}  |  {_id_label(job.platform)} {job.generation_id}  |  " \
                 f"{job.failure.term}"
        staged = _decode_and_compose(index, plan, staging, footer, suggestion, job,
                                     on_progress)
        manifest, ticket = _write_ticket(job, index, plan, staged, suggestion, when)
        _pack(job, index, staged, when, on_progress)
    except OSError as e:
        raise OutputError(f"cannot write the bundle in {parent} ({e.strerror or e}): check free "
                          f"space and permissions, or choose another -o.") from e
    finally:
        with deferred_interrupt():  # a second Ctrl-C must not leave the staging folder behind
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(job.target, job.target.stat().st_size, manifest, channel,
                       tuple(manifest["warnings"]), ticket.missing, job.name, job.profile_used,
                       index.truncation)


# -- before any decoding: check the request --------------------------------------------

def _check(request: BuildRequest, catalog: Catalog | None, day: dt.date, *,
           output: bool = True) -> _Job:
    """Resolve and check everything that needs no decoding; raise on the first problem."""
    from .catalog import load_catalog
    from .clip import check_readable
    from .route import route_for
    from .tickets import check_generation_id, check_template_dir

    cat = catalog if catalog is not None else load_catalog(request.channels_file)
    plat = cat.platform(request.platform)
    fail = cat.failure(request.failure)
    if plat.discontinued is not None:
        d = plat.discontinued
        raise UsageError(f"{plat.name} is discontinued (since {d.date}), so no credit request "
                         f"can be sent there. {d.remaining}")
    facts, plan_text, used = _with_profile(request, plat.key)
    plan_key, plan_name = plat.resolve_plan(plan_text)
    given_id = _no_controls(check_generation_id(request.generation_id))
    gid = check_generation_id(plat.id_from(given_id))
    link = given_id if gid != given_id else None
    _check_evidence(request, fail, facts)
    _check_details(facts, plat)
    if output:
        check_readable(request.clip)
    check_template_dir(request.template_dir)
    if request.reference is not None:
        _check_reference(request.reference)
    if request.reference_data is not None:
        _check_reference_bytes(*request.reference_data)
    name = f"{plat.key}_{safe_name(gid)}_{fail.key}"
    warnings = [d for d in [plat.id_doubt(gid)] if d]
    if fail.evidence.change == "gradual" and not request.marks and not request.auto:
        warnings.append(f"support asks when the {fail.term} first appears: add --mark "
                        f"TIME=WHAT at the moment it first shows (or --auto to measure it).")
    elif not request.marks and not request.auto and not facts.note:
        warnings.append("the message does not say what goes wrong: add --mark TIME=WHAT where "
                        "it shows, or describe it with --note.")
    return _Job(request, cat, plat, fail, plan_key, plan_name,
                route_for(plat, plan_key, plan_given=plan_name is not None), gid, link, facts,
                name, _output_path(request.output, name, request.force) if output
                else Path(f"{name}.zip"), tuple(warnings), used, day)


def _with_profile(request: BuildRequest, platform_key: str
                  ) -> tuple[TicketFacts, str | None, tuple[str, ...]]:
    """The request's account and plan, filled from the profile where not given."""
    facts, plan = request.facts, request.plan
    if not request.use_profile or (facts.account and plan):
        return facts, plan, ()
    from .facts import clean_line
    from .profile import load_profile

    entry = load_profile().get(platform_key)
    if entry is None:
        return facts, plan, ()
    used = []
    if not facts.account and entry.account:
        facts = TicketFacts(**{**asdict(facts), "account": clean_line(entry.account,
                                                                      "the profile's account")})
        used.append("account")
    if not plan and entry.plan:
        plan = entry.plan
        used.append("plan")
    return facts, plan, tuple(used)


def _check_evidence(request: BuildRequest, fail: Failure, facts: TicketFacts) -> None:
    ev = fail.evidence
    if len(request.marks) < ev.min_marks and not request.auto:
        raise UsageError(_needs_marks(fail.term, ev.min_marks))
    if ev.needs_prompt and not facts.prompt:
        raise UsageError(f"{fail.term} needs the prompt: {_lower_first(ev.advice)}")
    if ev.needs_note and not facts.note and not any(m.what for m in request.marks):
        raise UsageError(f"{fail.term} needs a description: {_lower_first(ev.advice)}")


def _check_details(facts: TicketFacts, plat: Platform) -> None:
    asked = [a.label for c in plat.channels for a in c.asks_for]
    for label, _ in facts.details:
        if label.casefold() not in {a.casefold() for a in asked}:
            known = ", ".join(f"'{a}'" for a in dict.fromkeys(asked))
            raise UsageError(f"--detail '{label}' is not a line {plat.name}'s routes ask for"
                             + (f": they ask for {known}." if known else
                                "; they ask for nothing more than the usual facts."))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _check_reference(path: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        st = path.stat()
    except OSError as e:
        raise UsageError(f"reference image {path} cannot be read ({e.strerror}): check the "
                         f"--reference path.") from e
    if not path.is_file():
        raise UsageError(f"reference image {path} is not a file: give the input image of the "
                         f"image-to-video job with --reference.")
    if st.st_size > MAX_REFERENCE_BYTES:
        raise UsageError(f"reference image {path} is {st.st_size / 1e6:.0f} MB; the limit is "
                         f"{MAX_REFERENCE_BYTES // 1_000_000} MB: give the image you uploaded, "
                         f"not a video or an archive.")
    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise UsageError(f"reference image {path} is not an image Pillow can read "
                         f"({type(e).__name__}): give the PNG, JPEG or WebP you uploaded.") from e


def _check_reference_bytes(name: str, data: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_REFERENCE_BYTES:
        raise UsageError(f"reference image {name} is {len(data) / 1e6:.0f} MB; the limit is "
                         f"{MAX_REFERENCE_BYTES // 1_000_000} MB: give the image you uploaded.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise UsageError(f"reference image {name} is not an image Pillow can read "
                         f"({type(e).__name__}): give the PNG, JPEG or WebP you uploaded.") from e


def _reference_name(request: BuildRequest) -> str | None:
    if request.reference is not None:
        return safe_name(request.reference.name, 120)
    if request.reference_data is not None:
        return safe_name(request.reference_data[0], 120)
    return None


def _with_clip_facts(job: _Job, index: ClipIndex) -> _Job:
    """The clip's own creation time stands in for --generated when none was given."""
    from dataclasses import replace

    from .facts import from_clip_metadata

    if job.facts.generated:
        return job
    created = from_clip_metadata(index.created)
    if created is None:
        return job
    return replace(job, facts=replace(job.facts, generated=created, generated_from_clip=True))


def _needs_marks(term: str, count: int) -> str:
    return (f"{term} needs at least {count} marked moment{'s' if count > 1 else ''}: add "
            f"--mark TIME=WHAT (for example --mark '0:02=the ball passes through the rim') "
            f"where the failure is visible.")


def _output_path(output: Path | None, name: str, force: bool) -> Path:
    target = output if output is not None else Path.cwd() / f"{name}.zip"
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


@dataclass(frozen=True)
class _Mark:
    """A mark resolved to its frame."""

    requested: str
    index: int
    what: str | None
    measured: Candidate | None = None


def _measured_failure(request: BuildRequest, index: ClipIndex, catalog: Catalog | None,
                      on_progress: Progress | None
                      ) -> tuple[BuildRequest, Suggestion, str]:
    """--auto without --failure: the failure the clip most plainly shows, measured."""
    from dataclasses import replace

    from .analysis import rank_failures
    from .catalog import load_catalog

    cat = catalog if catalog is not None else load_catalog(request.channels_file)
    ranking = rank_failures(index, top=3, on_progress=on_progress)
    terms = {k: cat.failure(k).term for k in ranking.results}
    best = ranking.top()
    if best is None:
        raise UsageError(f"the measurement found no failure that stands out "
                         f"({ranking.summary(terms)}): give --failure and --mark TIME=WHAT "
                         f"where you see it.")
    key = best[0]
    said = (f"no --failure given: measured {ranking.summary(terms)}; so the ticket is about "
            f"the {terms[key]} (give --failure to choose another).")
    return replace(request, failure=key), ranking.results[key], said


def _marks(job: _Job, index: ClipIndex, on_progress: Progress | None,
           measured: Suggestion | None = None) -> tuple[list[_Mark], Suggestion | None]:
    """The user's marks resolved to frames; with --auto and no marks, the measured ones
    (``measured``: already measured, when the failure itself was)."""
    from .timecode import resolve_text

    request = job.request
    marks = [_Mark(m.time, resolve_text(m.time, index.timing)[1], m.what)
             for m in request.marks]
    suggestion = None
    if request.auto:
        from .analysis import suggest

        suggestion = measured or suggest(index, job.failure.key, top=3,
                                         on_progress=on_progress)
        if not marks:  # the user's own marks always win
            marks = [_Mark(f"measured {c.to_dict()['seconds']}", c.index, c.words or None, c)
                     for c in suggestion.candidates]
    if len(marks) < job.failure.evidence.min_marks:
        raise UsageError(f"the measurement found no moment that stands out, so "
                         f"{_needs_marks(job.failure.term, job.failure.evidence.min_marks)}")
    return marks, suggestion


# -- step 1: plan the frames -----------------------------------------------------------

@dataclass(frozen=True)
class Shot:
    """A frame placed in the bundle as evidence."""

    label: str
    requested: str
    index: int
    time: Fraction
    name: str
    what: str | None = None
    measured: Candidate | None = None

    def to_dict(self) -> dict[str, Any]:
        from .timecode import format_short

        d: dict[str, Any] = {"label": self.label, "requested": self.requested,
                             "index": self.index, "time_s": float(self.time),
                             "clock": format_short(self.time), "file": f"frames/{self.name}"}
        if self.what:
            d["what"] = self.what
        if self.measured is not None:
            d["measured"] = {"score": round(self.measured.score, 3),
                             "reason": self.measured.reason}
        return d


@dataclass(frozen=True)
class PairPlan:
    file: str
    """pairs/NN_....png"""
    kind: str
    """start-end, before-mark, mark-after or base-mark."""
    left: Caption
    right: Caption
    what: str | None = None

    def description(self) -> str:
        """What the pair shows, for the message's 'Attached:' line."""
        if self.kind == "start-end":
            return "the first and last frames side by side"
        if self.kind == "base-mark":
            first = "the first frame" if self.left.index == 0 else \
                f"frame {self.left.index} (the start of the shot)"
            return f"{first} and frame {self.right.index} side by side"
        return f"frames {self.left.index} and {self.right.index} side by side"

    def caption(self) -> str:
        """What the pair shows, for the report (and the manifest)."""
        head = {"start-end": "Start and end of the clip",
                "before-mark": f"Before and at {self.right.label.lower()}",
                "mark-after": f"{self.left.label.capitalize()} and just after",
                "base-mark": f"Start of the shot and {self.right.label.lower()}"}[self.kind]
        return f"{head}: {self.what}" if self.what else head


@dataclass(frozen=True)
class FramePlan:
    """Which frames the bundle holds, under which names, and how they are paired."""

    shots: tuple[Shot, ...]
    """start, the marks in time order, end."""
    pairs: tuple[PairPlan, ...]
    context: tuple[tuple[int, int, str, str], ...]
    """(mark frame, other frame, role, still file) for each pair partner not itself a shot."""
    strip: tuple[int, ...]

    @property
    def marks(self) -> tuple[Shot, ...]:
        return tuple(s for s in self.shots if s.label == "mark")

    def stills(self) -> dict[int, list[str]]:
        """Every still file per frame (one encoding however many names a frame has)."""
        out: dict[int, list[str]] = {}
        for shot in self.shots:
            out.setdefault(shot.index, []).append(f"frames/{shot.name}")
        for _, other, _, name in self.context:
            if name not in out.setdefault(other, []):
                out[other].append(name)
        return out

    def needed(self) -> set[int]:
        return ({s.index for s in self.shots} | {c[1] for c in self.context} | set(self.strip))


def plan_frames(index: ClipIndex, marks: Sequence[_Mark], failure: Failure) -> FramePlan:
    """Name every still and pair before decoding, so what the bag holds never depends on
    thread timing. Repeated marks on one frame are merged (the first one's words win)."""
    from .compose import Caption, strip_indices
    from .stills import still_name

    last = index.frame_count - 1
    first_of: dict[int, _Mark] = {}
    for m in marks:
        first_of.setdefault(m.index, m)
    mark_shots = [Shot("mark", m.requested, frame, index.time_of(frame),
                       still_name(index, frame, f"mark{n}"), m.what, m.measured)
                  for n, (frame, m) in enumerate(sorted(first_of.items()), 1)]
    shots = (Shot("start", "start", 0, index.time_of(0), still_name(index, 0, "start")),
             *mark_shots,
             Shot("end", "end", last, index.time_of(last), still_name(index, last, "end")))

    def cap(label: str, i: int) -> Caption:
        return Caption(label, i, index.time_of(i))

    shot_frames = {s.index for s in shots}
    pairs = [PairPlan("pairs/01_start-end.png", "start-end", cap("START", 0), cap("END", last))]
    context = []
    for n, shot in enumerate(mark_shots, 1):
        other, role = _partner(shot, failure, last)
        label = f"MARK {n}"
        left, right, kind = ((cap(label, shot.index), cap("AFTER", other), "mark-after")
                             if role == "after" else
                             (cap("START OF SHOT" if role == "base" else "BEFORE", other),
                              cap(label, shot.index),
                              "base-mark" if role == "base" else "before-mark"))
        pairs.append(PairPlan(f"pairs/{n + 1:02d}_mark{n}_f{shot.index:06d}.png", kind, left,
                              right, shot.what))
        if other not in shot_frames:
            context.append((shot.index, other, role,
                            f"frames/{still_name(index, other, role)}"))
    window = ((max(0, mark_shots[0].index - round(index.fps)),
               min(last, mark_shots[-1].index + round(index.fps))) if mark_shots else (0, last))
    return FramePlan(shots, tuple(pairs), tuple(context),
                     tuple(strip_indices(index.frame_count, window, 8)))


def _partner(shot: Shot, failure: Failure, last: int) -> tuple[int, str]:
    """The frame a mark is shown beside: for a gradual failure the start of its shot (next
    to the frame before, a slow drift looks the same); else the frame before; for a mark
    on the first frame, the one after."""
    if failure.evidence.change == "gradual":
        base = shot.measured.baseline if shot.measured and shot.measured.baseline is not None \
            else 0
        if base < shot.index:
            return base, "base"
    if shot.index > 0:
        return shot.index - 1, "before"
    return min(1, last), "after"


# -- step 2: decode and compose ----------------------------------------------------------

@dataclass
class _Staged:
    """What the decode-and-compose step left in the staging folder."""

    folder: Path
    payload: list[tuple[str, Path]]
    digests: dict[str, dict[str, str]]
    previews: dict[str, str]
    """Report previews (JPEG data: URIs) by file."""


class _Inline:
    """The part of an executor the compose step uses, running each call at once."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as e:
            future.set_exception(e)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def _decode_and_compose(index: ClipIndex, plan: FramePlan, staging: Path, footer: str,
                        suggestion: Suggestion | None, job: _Job,
                        on_progress: Progress | None) -> _Staged:
    """Decode every needed frame once; save the stills; compose each pair and the strip as
    soon as its frames are in, beside the decoding."""
    from concurrent.futures import ThreadPoolExecutor

    from . import decode
    from .decode import map_frames

    (staging / "frames").mkdir()
    (staging / "pairs").mkdir()
    stills = plan.stills()
    staged = _Staged(staging, [(n, staging / n) for names in stills.values() for n in names],
                     {}, {})
    composer = _Composer(index, plan, footer, staged)
    # Drawing and encoding mostly release the GIL, so composites run in threads, except
    # where each process has only its one core (batch workers).
    pool: Any = ThreadPoolExecutor(max_workers=2) if decode.WORKER_THREADS != 0 else _Inline()
    channel = job.route.channel
    preparing = threading.Thread(target=_prepare, daemon=True, args=(
        job.request.template_dir, job.platform.key, channel.kind if channel else None))
    preparing.start()
    shot_frames = {s.index for s in plan.shots}
    try:
        def use(i: int, bgr: np.ndarray) -> str | None:
            composer.take(i, bgr, pool)
            if i in stills:  # one encoding, however many names the frame has
                composer.save_still(i, bgr, stills[i])
            return _data_uri(bgr, 480, bgr=True) if i in shot_frames else None

        uris = map_frames(index, plan.needed(), use, bgr=True, on_progress=on_progress)
        staged.previews.update({f"frames/{s.name}": uris[s.index] or "" for s in plan.shots})
        if suggestion is not None:
            from .chart import chart_for

            staged.payload.append(("chart.png", staging / "chart.png"))
            composer.jobs["chart.png"] = pool.submit(composer.save, "chart.png", functools.partial(
                chart_for, suggestion, float(index.duration),
                f"{job.failure.term}, measured: {index.file_name}"))
        staged.previews.update((name, j.result()) for name, j in composer.jobs.items())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    preparing.join()
    if on_progress:
        on_progress("compose", 1, 1)
    return staged


class _Composer:
    """Keeps the small copies composites need and makes each composite when complete
    (only small copies are kept: a 4K frame is 25 MB)."""

    def __init__(self, index: ClipIndex, plan: FramePlan, footer: str, staged: _Staged) -> None:
        self.index, self.staged, self.footer = index, staged, footer
        self.small: dict[tuple[str, int], np.ndarray] = {}
        self.pair_frames = {p.left.index for p in plan.pairs} | {p.right.index
                                                                 for p in plan.pairs}
        self.strip = plan.strip
        self.labels = {s.index: s.label for s in plan.shots}
        self.waiting: list[tuple[str, set[tuple[str, int]], Callable[[], Image.Image]]] = [
            (p.file, {("pair", p.left.index), ("pair", p.right.index)},
             functools.partial(self._pair, p)) for p in plan.pairs]
        self.waiting.append(("strip.png", {("strip", i) for i in plan.strip}, self._strip))
        staged.payload += [(name, staged.folder / name) for name, _, _ in self.waiting]
        self.jobs: dict[str, Future[str]] = {}
        self.lock = threading.Lock()

    def _pair(self, p: PairPlan) -> Image.Image:
        from .compose import compose_pair

        note = f"{p.right.label if p.kind != 'mark-after' else p.left.label}: {p.what}" \
            if p.what else None
        return compose_pair(self.small[("pair", p.left.index)], self.small[("pair",
                                                                            p.right.index)],
                            p.left, p.right, self.footer, note=note)

    def _strip(self) -> Image.Image:
        from .compose import Caption, compose_strip

        return compose_strip([(self.small[("strip", i)],
                               Caption(self.labels.get(i, "strip"), i, self.index.time_of(i)))
                              for i in self.strip], self.footer, tile_width=STRIP_TILE_WIDTH)

    def take(self, i: int, bgr: np.ndarray, pool: Any) -> None:
        """Keep frame ``i``'s small copies and start the composites now complete."""
        import cv2

        from .compose import downscale

        copies = {}
        if i in self.pair_frames:
            copies[("pair", i)] = cv2.cvtColor(downscale(bgr, height=MAX_PAIR_HEIGHT),
                                               cv2.COLOR_BGR2RGB)
        if i in self.strip:
            copies[("strip", i)] = cv2.cvtColor(downscale(bgr, width=STRIP_TILE_WIDTH),
                                                cv2.COLOR_BGR2RGB)
        with self.lock:
            self.small.update(copies)
            for item in [w for w in self.waiting if w[1] <= self.small.keys()]:
                self.waiting.remove(item)
                self.jobs[item[0]] = pool.submit(self.save, item[0], item[2])

    def save(self, name: str, make: Callable[[], Image.Image]) -> str:
        """Make and write a composite; return its report preview."""
        import numpy as np

        from .bagit import digests_of
        from .stills import save_png

        rgb = np.asarray(make())
        self.staged.digests[name] = digests_of(save_png(rgb, self.staged.folder / name))
        return _data_uri(rgb, 1600)

    def save_still(self, i: int, bgr: np.ndarray, names: list[str]) -> None:
        from .bagit import digests_of
        from .stills import save_png

        data = save_png(bgr, *(self.staged.folder / n for n in names), bgr=True)
        frame_digests = digests_of(data)
        self.staged.digests.update((n, frame_digests) for n in names)


def _prepare(template_dir: str | os.PathLike[str] | None, platform_key: str,
             channel_kind: str | None) -> None:
    """Imports and template compiling for the later steps, beside the decoding (the
    decoder works in FFmpeg's threads with the GIL released)."""
    import cv2  # noqa: F401
    import PIL.Image
    import PIL.ImageDraw  # noqa: F401

    from .tickets import precompile

    with contextlib.suppress(Exception):  # render() reports any problem properly later
        precompile(template_dir, platform_key, channel_kind)


# -- step 3: write the ticket files --------------------------------------------------------

@dataclass(frozen=True)
class _Words:
    """The message and the notes for the user, rendered."""

    message: Rendered
    notes: SendNotes
    facts: TicketFacts
    warnings: list[str]


def _words(job: _Job, index: ClipIndex, plan: FramePlan, attached: list[Attached],
           attachment_notes: list[str], suggestion: Suggestion | None,
           reference_name: str | None) -> _Words:
    """What build and preview both write: the message fitted to the channel, and the
    notes for the user."""
    from .message import MessageInput, build_message, render_message
    from .send import SendInput, send_notes

    route = job.route
    facts = job.facts if reference_name is None else \
        TicketFacts(**{**asdict(job.facts), "reference": reference_name})
    t = index.truncation
    full = build_message(MessageInput(job.platform, job.failure, route, job.generation_id,
                                      job.link, job.plan_name, facts,
                                      _moments(plan, job.failure, index), attached,
                                      (t.end_s, t.missing_s) if t is not None else None))
    message = render_message(full, platform_key=job.platform.key, kind=route.kind,
                             template_dir=job.request.template_dir)
    warnings = [*job.warnings, *_clip_warnings(job, index),
                *_length_warnings(message.ticket, message.text)]
    checks = (["The generation date is the clip's own creation time: if you exported the clip "
               "again after downloading it, give the real date with --generated."]
              if facts.generated_from_clip else [])
    notes = send_notes(SendInput(job.platform, route, message.ticket, job.failure.key,
                                 job.plan_key, [a.file for a in message.ticket.attachments],
                                 attachment_notes, _measured_lines(suggestion), warnings,
                                 job.day, checks))
    return _Words(message, notes, facts, warnings)


def _write_ticket(job: _Job, index: ClipIndex, plan: FramePlan, staged: _Staged,
                  suggestion: Suggestion | None, when: dt.datetime
                  ) -> tuple[dict[str, Any], Ticket]:
    """The message (ticket.txt, ticket.md), the notes for the user (send.md), the report
    and the manifest."""
    from .tickets import render

    channel = job.route.channel
    budget = (channel.limit.attachment_limit_mb if channel and channel.limit
              and channel.limit.attachment_limit_mb else DEFAULT_ATTACHMENT_MB)
    reference = _stage_reference(job, staged)
    attached, attachment_notes = _attachments(plan, staged, budget, reference)
    w = _words(job, index, plan, attached, attachment_notes, suggestion,
               Path(reference).name if reference else None)
    ticket, text = w.message.ticket, w.message.text
    extra = {"ticket": ticket, "send": w.notes, "text": text, "bag": job.name}
    send_md = render("send.md.j2", extra, platform_key=job.platform.key, kind=job.route.kind,
                     template_dir=job.request.template_dir)
    for name, body in (("ticket.txt", text), ("ticket.md", w.message.markdown),
                       ("send.md", send_md)):
        _write_text(staged, name, body)
    manifest = _manifest(job, index, plan, staged, suggestion, when, ticket, w.notes, text,
                         w.message.shortened, w.warnings, w.facts, reference)
    manifest["attachment_notes"] = attachment_notes
    manifest["attachment_limit_mb"] = budget
    _write_text(staged, "report.html", _report(extra, manifest, plan, staged, job))
    _write_text(staged, "manifest.json",
                json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest, ticket


def preview(request: BuildRequest, index: ClipIndex, *, catalog: Catalog | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """What build would write as the message and the notes, without decoding a frame or
    writing a file: for a page that shows the message while it is being written."""
    from dataclasses import replace

    from .catalog_rules import today

    request = replace(request, auto=False)  # measuring decodes the clip: not for a preview
    job = _with_clip_facts(_check(request, catalog, now.date() if now else today(),
                                  output=False), index)
    marks, _ = _marks(job, index, None)
    plan = plan_frames(index, marks, job.failure)
    attached = [Attached(Path(p.file).name, p.file, p.description(), "pair")
                for p in plan.pairs]
    attached += [Attached(s.name, f"frames/{s.name}", f"{s.label} still", "still", s.index)
                 for s in plan.shots if s.label != "mark" or s.index not in (
                     0, plan.shots[-1].index)]
    reference = _reference_name(request)
    if reference is not None:
        attached.append(Attached(reference, f"reference/{reference}", "reference image",
                                 "reference"))
    w = _words(job, index, plan, attached, [], None, reference)
    return {"text": w.message.text, "markdown": w.message.markdown, "kind": job.route.kind,
            "subject": w.message.ticket.subject, "limit": w.message.ticket.limit,
            "shortened": w.message.shortened, "missing": list(w.message.ticket.missing),
            "warnings": w.warnings, "send": asdict(w.notes), "bag": job.name,
            "frames": [s.to_dict() for s in plan.shots]}


def _write_text(staged: _Staged, name: str, body: str) -> None:
    (staged.folder / name).write_text(body, encoding="utf-8")
    staged.payload.append((name, staged.folder / name))


def _stage_reference(job: _Job, staged: _Staged) -> str | None:
    file_name = _reference_name(job.request)
    if file_name is None:
        return None
    name = f"reference/{file_name}"
    (staged.folder / "reference").mkdir()
    if job.request.reference is not None:
        shutil.copyfile(job.request.reference, staged.folder / name)
    elif job.request.reference_data is not None:
        (staged.folder / name).write_bytes(job.request.reference_data[1])
    staged.payload.append((name, staged.folder / name))
    return name


def _moments(plan: FramePlan, failure: Failure, index: ClipIndex) -> list[Moment]:
    """One line per moment: start, each mark in time order, end. A mark on the first or
    last frame speaks for that frame's line."""
    from .message import PLACEHOLDERS, Moment, frame_words
    from .timecode import format_short

    last = index.frame_count - 1
    words = {s.index: s.what for s in plan.marks if s.what}
    out = []
    for s in plan.shots:
        if s.label == "mark" and s.index in (0, last):
            continue
        if s.label == "mark":
            what, given = (s.what, True) if s.what else (PLACEHOLDERS["what"], False)
        else:
            what, given = words.get(s.index) or frame_words(s.label, failure), True
        out.append(Moment(s.label, s.index, float(s.time), format_short(s.time), what, given,
                          last=s.label == "end", measured=s.measured is not None))
    return out


def _attachments(plan: FramePlan, staged: _Staged, budget_mb: float,
                 reference: str | None) -> tuple[list[Attached], list[str]]:
    """The files to attach, in order, each within the channel's per-file limit.

    A file over the limit is replaced in the list by a JPEG copy (downscaled if
    needed) under attach/; the lossless original stays in the bag."""
    from .message import Attached

    items: list[tuple[str, str, str, int | None]] = [
        (p.file, p.description(), "pair", None) for p in plan.pairs]
    items += [(f"frames/{s.name}", f"{s.label} still", "still", s.index) for s in plan.shots
              if s.label != "mark" or s.index not in (0, plan.shots[-1].index)]
    if reference is not None:
        items.append((reference, "reference image", "reference", None))
    chosen: list[Attached] = []
    notes: list[str] = []
    seen: set[str] = set()
    for file, description, role, frame in items:
        if file in seen:
            continue
        seen.add(file)
        path = staged.folder / file
        size = path.stat().st_size
        if size > budget_mb * 1_000_000:
            file = _jpeg_copy(path, file, int(budget_mb * 1_000_000), staged)
            notes.append(f"{Path(path).name} is {size / 1e6:.1f} MB, over the channel's "
                         f"{budget_mb:g} MB limit: attach {file} instead; the lossless "
                         f"original stays in the bundle.")
        chosen.append(Attached(Path(file).name, file, description, role, frame))
    return chosen, notes


def _jpeg_copy(path: Path, name: str, limit: int, staged: _Staged) -> str:
    """A JPEG of ``path`` under ``limit`` bytes (smaller each try), in attach/."""
    import cv2

    from .stills import encode_jpeg

    (staged.folder / "attach").mkdir(exist_ok=True)
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
    (staged.folder / small_name).write_bytes(data)
    staged.payload.append((small_name, staged.folder / small_name))
    return small_name


def _clip_warnings(job: _Job, index: ClipIndex) -> list[str]:
    t = index.truncation
    if t is not None:
        return [f"{index.file_name} is truncated ({t.reason}, so {t.missing_text()}): the "
                f"bundle shows the frames that are there, and its 'end' is where the file "
                f"stops, not where the generation ends.",
                *_clip_warnings(job, dataclasses.replace(index, truncation=None))]
    if job.failure.key == "audio-desync" and not index.has_audio:
        return [f"{index.file_name} has no sound, so the bundle cannot show the "
                f"{job.failure.term}: download the clip again with its sound, and describe "
                f"what you heard with --note."]
    return []


EMAIL_WORDS = 260
"""Above this, an email is no longer one an agent reads at a glance."""


def _length_warnings(ticket: Ticket, text: str) -> list[str]:
    words = len(text.split())
    if ticket.kind in ("email", "web-form", "none") and words > EMAIL_WORDS:
        return [f"the message is {words} words long; agents answer short ones first: keep "
                f"--note to a few sentences (the stills show the rest)."]
    return []


def _measured_lines(suggestion: Suggestion | None) -> list[str]:
    if suggestion is None:
        return []
    from .timecode import format_short

    lines = [f"{format_short(c.time)} (frame {c.index}): score {c.score:.2f} of 1 — {c.reason}"
             for c in suggestion.candidates]
    return lines + list(suggestion.notes)


def _id_label(platform: Platform) -> str:
    name = platform.id.name
    return f"{name[:1].upper()}{name[1:]}"


def _manifest(job: _Job, index: ClipIndex, plan: FramePlan, staged: _Staged,
              suggestion: Suggestion | None, when: dt.datetime, ticket: Ticket,
              notes: SendNotes, text: str, shortened: list[str], warnings: list[str],
              facts: TicketFacts, reference: str | None) -> dict[str, Any]:
    plat, fail, route = job.platform, job.failure, job.route
    channel = route.channel
    frame_dicts = [s.to_dict() for s in plan.shots]
    gid_input = job.request.generation_id.strip()
    return {
        "schema": SCHEMA,
        "tool": {"name": "ava-evidence", "version": __version__},
        "created_utc": when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generation_id": job.generation_id,
        "generation_id_input": gid_input if gid_input != job.generation_id else None,
        "platform": plat.key,
        "platform_name": plat.name,
        "plan": job.plan_key,
        "plan_name": job.plan_name,
        "plan_from_profile": "plan" in job.profile_used,
        "model": facts.model,
        "failure": fail.key,
        "term": fail.term,
        "channel": ({**channel.to_dict(), "unverified": channel.unverified} if channel
                    else {"kind": None, "where": None, "help_centre": plat.help_centre,
                          "summary": "no support channel documented in the sources"}),
        "refund_policy": plat.refund_policy.to_dict(),
        "facts": {k: v for k, v in asdict(facts).items() if k != "note"},
        "clip": index.to_dict(),
        "frames": frame_dicts,
        "context_frames": [{"label": role, "for_index": mark, "index": other,
                            "time_s": float(index.time_of(other)), "file": name}
                           for mark, other, role, name in plan.context],
        "pairs": [{"file": p.file, "kind": p.kind, "left": p.left.index,
                   "right": p.right.index, "what": p.what, "caption": p.caption()}
                  for p in plan.pairs],
        "strip": {"file": "strip.png", "indices": list(plan.strip)},
        "attachments": [a.file for a in ticket.attachments],
        "attachment_notes": [],
        "attachment_limit_mb": None,
        "reference": reference,
        "note": facts.note,
        "measured": ({"candidates": [c.to_dict() for c in suggestion.candidates],
                      "notes": suggestion.notes} if suggestion else None),
        "chart": "chart.png" if suggestion is not None else None,
        "ticket": {"text": "ticket.txt", "markdown": "ticket.md", "send": "send.md",
                   "kind": route.kind, "subject": ticket.subject, "chars": len(text),
                   "limit": ticket.limit, "shortened": shortened,
                   "missing": list(ticket.missing)},
        "send": asdict(notes),
        "clip_included": _include_clip(job, index, staged),
        "report": "report.html",
        "warnings": warnings,
    }


def _include_clip(job: _Job, index: ClipIndex, staged: _Staged) -> str | None:
    if not job.request.include_clip:
        return None
    name = f"clip/{safe_name(index.file_name, 120)}"
    (staged.folder / "clip").mkdir()
    shutil.copyfile(index.source or index.path, staged.folder / name)
    staged.payload.append((name, staged.folder / name))
    return name


def _data_uri(rgb: np.ndarray, max_width: int, *, bgr: bool = False) -> str:
    """A JPEG preview of an image as a data: URI for the report (lossless files are in the bag)."""
    from .compose import downscale
    from .stills import encode_jpeg

    return "data:image/jpeg;base64," + base64.b64encode(
        encode_jpeg(downscale(rgb, width=max_width), 88, bgr=bgr)).decode()


def _report(extra: dict[str, Any], manifest: dict[str, Any], plan: FramePlan,
            staged: _Staged, job: _Job) -> str:
    from urllib.parse import quote

    from .tickets import render

    previews = staged.previews
    images = {
        "pairs": [{"src": previews[p.file], "file": p.file, "caption": p.caption()}
                  for p in plan.pairs],
        "strip": {"src": previews["strip.png"], "file": "strip.png"},
        "chart": ({"src": previews["chart.png"], "file": "chart.png"}
                  if "chart.png" in previews else None),
        "stills": [{"src": previews[f["file"]], "file": f["file"],
                    "caption": f"{f['label']}: frame {f['index']} at {f['clock']}"
                               + (f", {f['what']}" if f.get("what") else "")}
                   for f in manifest["frames"]],
    }
    ticket: Ticket = extra["ticket"]
    channel = job.route.writes_for
    mailto = None
    if channel is not None and channel.kind == "email" and ticket.subject:
        body = extra["text"].split("\n", 2)[2] if extra["text"].startswith("Subject:") \
            else extra["text"]
        mailto = (f"mailto:{quote(channel.where, safe='@')}?subject={quote(ticket.subject)}"
                  f"&body={quote(body)}")
    return render("report.html.j2", {**extra, "report_images": images, "mailto": mailto,
                                     "manifest": manifest},
                  platform_key=job.platform.key, kind=job.route.kind,
                  template_dir=job.request.template_dir)


# -- step 4: pack ----------------------------------------------------------------------

def _pack(job: _Job, index: ClipIndex, staged: _Staged, when: dt.datetime,
          on_progress: Progress | None) -> None:
    """Zip the staged files as a BagIt bag into a temporary file beside the target, and
    rename it into place."""
    from .bagit import write_bag_zip
    from .stills import shared_mode

    info = {
        "Source-Organization": job.platform.name,
        "External-Identifier": job.generation_id,
        "External-Description": f"{job.failure.term} in a {job.platform.name} generation: "
                                f"clip {index.file_name} (sha256 {index.sha256})",
        "Bagging-Date": when.date().isoformat(),
        "Bag-Software-Agent": f"ava-evidence {__version__}",
    }
    target = job.target
    with deferred_interrupt():  # made and remembered together, so always removed
        fd, tmp_name = tempfile.mkstemp(prefix=f".ava-evidence-{os.getpid()}-",
                                        suffix=".zip.part", dir=target.parent)
        os.close(fd)
        tmp_zip: Path | None = Path(tmp_name)
    try:
        assert tmp_zip is not None
        os.chmod(tmp_zip, shared_mode())  # mkstemp makes it private; a bundle is for sharing
        if on_progress:
            on_progress("write", 0, 1)
        write_bag_zip(tmp_zip, job.name, staged.payload, info, when, staged.digests)
        if target.exists() and not job.request.force:
            raise OutputError(f"{target} appeared while building; it was left untouched. "
                              f"Use --force to replace it or -o for another name.")
        with deferred_interrupt():  # rename and forget the temporary name together
            os.replace(tmp_zip, target)
            tmp_zip = None
        if on_progress:
            on_progress("write", 1, 1)
    finally:
        with deferred_interrupt():
            if tmp_zip is not None:
                with contextlib.suppress(OSError):
                    tmp_zip.unlink()


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block is done (main thread only), then
    raise what arrived."""
    import signal

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
