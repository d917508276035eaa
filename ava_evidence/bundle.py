"""Build the evidence bundle: from a clip and a Generation ID to one verified zip.

Everything the user asked for is checked before any decoding (platform,
failure, plan, ID, the facts, the failure's required evidence, the output path,
every time). Then four steps, each in its own module: plan the frames
(:mod:`.frameplan`); decode and compose (:mod:`.staging`); write the ticket
files (:mod:`.ticketfiles`); pack them as a BagIt bag into a temporary zip
renamed into place (here), so a bundle is either complete or absent::

    result = build(BuildRequest(Path("clip.mp4"), platform="kling", generation_id="abc",
                                failure="identity", marks=(MarkSpec("0:02", "eyes apart"),)))
    result.path, result.manifest, result.missing
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, frameplan, staging, ticketfiles
from .errors import OutputError, UsageError
from .facts import MarkSpec, TicketFacts
from .message import Attached
from .ticketfiles import safe_name

if TYPE_CHECKING:

    from .analysis import Candidate, Ranking, Suggestion
    from .catalog import Catalog, Channel, Failure, Platform
    from .clip import ClipIndex, Progress, Truncation
    from .route import Route

MAX_REFERENCE_BYTES = 50_000_000
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
class Job:
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
    own = _own_marks(request, index)  # a bad time is refused before anything is measured
    ranked: Suggestion | None = None
    if measured_failure:
        request, ranked, chosen = _measured_failure(request, index, catalog, on_progress, own)
        job = _check(request, catalog, day)
        job = replace(job, warnings=(*job.warnings, chosen))
    job = _with_clip_facts(job, index)
    marks, suggestion = _marks(job, index, own, on_progress, ranked)
    if own and suggestion is not None and (off := _off_the_moment(job, own, suggestion, index)):
        job = replace(job, warnings=(*job.warnings, off))
    if not marks and suggestion is not None and (unmarked := _unmarked(job, suggestion)):
        job = replace(job, warnings=(*job.warnings, unmarked))
    if faint := _faint(marks):
        job = replace(job, warnings=(*job.warnings, faint))
    plan = frameplan.plan_frames(index, marks, job.failure)
    when = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    parent = job.target.parent
    folder: Path | None = None
    try:
        with deferred_interrupt():  # made and remembered together, so always removed
            folder = Path(tempfile.mkdtemp(prefix=f".ava-evidence-{os.getpid()}-", dir=parent))
        channel = job.route.channel
        footer = (f"{job.platform.name}  |  {ticketfiles.id_label(job.platform)} "
                  f"{job.generation_id}  |  {job.failure.term}")
        staged = staging.decode_and_compose(index, plan, folder, footer, suggestion, job,
                                            on_progress)
        manifest, ticket = ticketfiles.write_ticket(job, index, plan, staged, suggestion, when)
        _pack(job, index, staged, when, on_progress)
    except OSError as e:
        raise OutputError(f"cannot write the bundle in {parent} ({e.strerror or e}): check free "
                          f"space and permissions, or choose another -o.") from e
    finally:
        with deferred_interrupt():  # a second Ctrl-C must not leave the staging folder behind
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    return BuildResult(job.target, job.target.stat().st_size, manifest, channel,
                       tuple(manifest["warnings"]), ticket.missing, job.name, job.profile_used,
                       index.truncation)


# -- before any decoding: check the request --------------------------------------------

def _check(request: BuildRequest, catalog: Catalog | None, day: dt.date, *,
           output: bool = True) -> Job:
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
    facts, plan_text, used = _with_profile(request, plat.key, plat.plans is not None)
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
    return Job(request, cat, plat, fail, plan_key, plan_name,
                route_for(plat, plan_key, plan_given=plan_name is not None), gid, link, facts,
                name, _output_path(request.output, name, request.force) if output
                else Path(f"{name}.zip"), tuple(warnings), used, day)


def _with_profile(request: BuildRequest, platform_key: str, has_plans: bool
                  ) -> tuple[TicketFacts, str | None, tuple[str, ...]]:
    """The request's account and plan, filled from the profile where not given (a plan
    saved for a platform without plans, before plans were checked, is left unused)."""
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
    if not plan and entry.plan and has_plans:
        plan = entry.plan
        used.append("plan")
    return facts, plan, tuple(used)


def _check_evidence(request: BuildRequest, fail: Failure, facts: TicketFacts) -> None:
    ev = fail.evidence
    if len(request.marks) < ev.min_marks and not request.auto:
        raise UsageError(_needs_marks(fail))
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


def _with_clip_facts(job: Job, index: ClipIndex) -> Job:
    """The clip's own creation time stands in for --generated when none was given."""
    from dataclasses import replace

    from .facts import from_clip_metadata

    if job.facts.generated:
        return job
    created = from_clip_metadata(index.created)
    if created is None:
        return job
    return replace(job, facts=replace(job.facts, generated=created, generated_from_clip=True))


def _needs_marks(fail: Failure) -> str:
    import shlex

    count = fail.evidence.min_marks
    return (f"{fail.term} needs at least {count} marked moment{'s' if count > 1 else ''}: add "
            f"--mark TIME=WHAT (for example --mark {shlex.quote('0:02=' + fail.evidence.example)}"
            f") where the failure is visible.")


def _output_path(output: Path | None, name: str, force: bool) -> Path:
    target = output if output is not None else Path.cwd() / f"{name}.zip"
    if target.is_dir():
        target = target / f"{name}.zip"
    if target.suffix.lower() != ".zip":
        raise UsageError(f"the bundle is a zip file: give -o a name ending in .zip, or a "
                         f"folder that exists (got {target.name}).")
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


def _measured_failure(request: BuildRequest, index: ClipIndex, catalog: Catalog | None,
                      on_progress: Progress | None, own: list[frameplan.Mark]
                      ) -> tuple[BuildRequest, Suggestion, str]:
    """--auto without --failure: the failure the clip most plainly shows, measured; where
    the user marked moments, the one most plainly seen at them (MARK_NEAR)."""
    from dataclasses import replace

    from .analysis import rank_failures
    from .catalog import load_catalog

    cat = catalog if catalog is not None else load_catalog(request.channels_file)
    ranking = rank_failures(index, top=3, on_progress=on_progress)
    terms = {k: cat.failure(k).term for k in ranking.results}
    best = ranking.top()
    key = _seen_at(ranking, own, index) if own else best[0] if best else None
    if key is None:
        raise UsageError(_not_at_marks(ranking, terms, own) if own else
                         _nothing_plain(ranking, terms))
    said = (f"no --failure given: measured {ranking.summary(terms)}; so the ticket is about "
            f"the {terms[key]}{' you marked' if own else ''} (give --failure to choose "
            f"another).")
    return replace(request, failure=key), ranking.results[key], said


MARK_NEAR = 1.0
"""Seconds from a mark of the user's within which a measured moment is the one marked."""


def _seen_at(ranking: Ranking, own: list[frameplan.Mark], index: ClipIndex) -> str | None:
    """The failure most plainly seen within MARK_NEAR of every one of the user's marks (at
    any frame a ticket marks for its moments), if any: a ticket names one failure, which
    each mark must show."""
    def near(key: str, mark: frameplan.Mark) -> bool:
        t = index.time_of(mark.index)
        return any(abs(float(index.time_of(frame) - t)) <= MARK_NEAR
                   for c in ranking.results[key].plain() for frame, _ in c.marked())

    return next((k for k in ranking.order if all(near(k, m) for m in own)), None)


def _off_the_moment(job: Job, own: list[frameplan.Mark], suggestion: Suggestion,
                    index: ClipIndex) -> str | None:
    """The warning for --auto where the user's marks miss the moments measured that a
    person would see: the ticket shows the marks only. A sudden change shows in the pair
    of its own frame and the one before, so a mark a frame off shows neither side of it
    (a clip that repeats frames may even pair two of the same picture); a gradual one is
    shown beside the start of its shot, so a mark before it shows no change yet; a moment
    far from every mark is not in the ticket at all. Each moment is weighed, best first."""
    from .timecode import format_seconds

    plain = suggestion.plain()
    if not plain:
        return None

    def apart(m: frameplan.Mark, c: Candidate) -> float:
        return abs(float(index.time_of(m.index) - c.time))

    def instead(m: frameplan.Mark, at: str) -> str:
        return shlex.quote(f"{at}={m.what or 'WHAT'}")

    gradual = job.failure.evidence.change == "gradual"
    for c in plain:
        frames = [frame for frame, _ in c.marked()]
        near = [m for m in own if apart(m, c) <= MARK_NEAR]
        if not near or any(m.index in frames for m in own):
            continue
        m = min(near, key=lambda k: apart(k, c))
        at = format_seconds(index.time_of(frames[0]) if gradual else c.time)
        if gradual:
            if m.index >= frames[0]:
                continue  # shown beside the start of its shot, the change already there
            return (f"your mark {m.requested} is before the change measured from {at} s "
                    f"(score {c.score:.2f}): its pair, beside the start of the shot, may show "
                    f"no change yet. Mark {at} s or later instead (--mark "
                    f"{instead(m, at)}), or leave out --mark to build from the measured "
                    f"moment.")
        off = m.index - c.index
        pair = sorted({m.index, m.index - 1 if m.index else 1})
        return (f"your mark {m.requested} is frame {m.index}, {abs(off)} frame"
                f"{'s' if abs(off) > 1 else ''} {'before' if off < 0 else 'after'} the change "
                f"measured between frames {c.index - 1} and {c.index} ({at} s, score "
                f"{c.score:.2f}): its pair shows frames {pair[0]} and {pair[-1]}, which may "
                f"not show it. Mark {at} s instead (--mark {instead(m, at)}), or leave out "
                f"--mark to build from the measured moment.")
    if any(apart(m, c) <= MARK_NEAR for m in own for c in plain):
        return None
    c, many = plain[0], "s" if len(own) > 1 else ""
    at = format_seconds(c.time)
    return (f"the measurement found the {job.failure.term} at {at} s (score {c.score:.2f}), "
            f"away from your mark{many} ({', '.join(k.requested for k in own)}): the ticket "
            f"shows your mark{many} only. Look at {at} s; where you see it there too, add "
            f"--mark {at}=WHAT.")


def _not_at_marks(ranking: Ranking, terms: dict[str, str], own: list[frameplan.Mark]) -> str:
    """--auto's refusal when the user marked moments at which no one failure is plainly
    measured: the ticket would name one the marks do not show."""
    marked = ", ".join(m.requested for m in own)
    where = f"your mark ({marked})" if len(own) == 1 else f"all of your marks ({marked})"
    instead = (", or leave out --mark to build from the measured moment"
               if ranking.top() is not None else "")
    return (f"no failure was measured at {where}: {ranking.summary(terms)}. Give --failure "
            f"to say what you marked ('ava-evidence failures' lists them){instead}.")


def _nothing_plain(ranking: Ranking, terms: dict[str, str]) -> str:
    """--auto's refusal when no failure is plainly seen: where to look first, if anywhere."""
    from .timecode import format_seconds

    said = f"the measurement found no failure that stands out: {ranking.summary(terms)}"
    if not ranking.order:
        return f"{said}. Give --failure and --mark TIME=WHAT where you see it."
    key = ranking.order[0]
    at = format_seconds(ranking.results[key].candidates[0].time)
    return (f"{said}. Look at {at} s first: if you see the {terms[key]} there, give "
            f"--failure {key} and that moment is marked; otherwise give --failure and "
            f"--mark TIME=WHAT where you see it.")


def _to_mark(suggestion: Suggestion) -> list[Candidate]:
    """The measured moments a ticket marks: those a person would see where there are any,
    as `suggest` offers them (Suggestion.plain); else the faint ones the user asked for
    by naming the failure."""
    return suggestion.plain() or suggestion.candidates


def _own_marks(request: BuildRequest, index: ClipIndex) -> list[frameplan.Mark]:
    """The user's marks resolved to frames (a bad time raises UsageError)."""
    from .timecode import resolve_text

    return [frameplan.Mark(m.time, resolve_text(m.time, index.timing)[1], m.what)
            for m in request.marks]


def _marks(job: Job, index: ClipIndex, own: list[frameplan.Mark],
           on_progress: Progress | None, measured: Suggestion | None = None
           ) -> tuple[list[frameplan.Mark], Suggestion | None]:
    """The user's marks (``own``); with --auto and no marks, the measured ones
    (``measured``: already measured, when the failure itself was)."""
    from .timecode import format_seconds

    request = job.request
    marks = list(own)
    suggestion = None
    if request.auto:
        from .analysis import suggest

        suggestion = measured or suggest(index, job.failure.key, top=3,
                                         on_progress=on_progress)
        if not marks:  # the user's own marks always win
            marks = [frameplan.Mark(f"measured {format_seconds(index.time_of(frame))}", frame,
                                    words or None, c)
                     for c in _to_mark(suggestion) for frame, words in c.marked()]
    if len(marks) < job.failure.evidence.min_marks:
        needs = _needs_marks(job.failure)
        if suggestion is None:
            raise UsageError(needs)
        raise UsageError(f"the measurement {_why_none(suggestion)}, so {needs}")
    return marks, suggestion


def _faint(marks: list[frameplan.Mark]) -> str | None:
    """The warning for measured marks none of which a person would surely see (scores
    under SEEN, marked because the user named the failure): the ticket states them as
    measured, so the user should look before sending."""
    from .analysis_types import SEEN
    from .timecode import format_seconds

    measured = list({id(m.measured): m.measured for m in marks if m.measured is not None}
                    .values())  # a moment marked in two frames is one moment
    if not measured or any(c.score >= SEEN for c in measured):
        return None
    said = ", ".join(f"{format_seconds(c.time)} s (score {c.score:.2f})" for c in measured)
    return (f"the measured moment{'s' if len(measured) > 1 else ''} marked, {said}, "
            f"{'score' if len(measured) > 1 else 'scores'} under 0.5: a person comparing "
            f"the frames may not see it. Look at the pairs before sending; where you do not "
            f"see the failure, give --mark TIME=WHAT where you do.")


def _why_none(suggestion: Suggestion) -> str:
    """Why the measurement gave no moment to mark, after "the measurement"."""
    return f"could not look ({suggestion.unmeasured})" if suggestion.unmeasured else \
        "found no moment that stands out"


def _unmarked(job: Job, suggestion: Suggestion) -> str | None:
    """The warning for --auto that marked nothing (a clip too short to measure, no face to
    follow, nothing standing out), as build gives without --auto: the ticket then says only
    what the user wrote."""
    why = _why_none(suggestion)
    if job.failure.evidence.change == "gradual":
        return (f"the measurement {why}, so the message does not say when the "
                f"{job.failure.term} first appears, which support asks: add --mark TIME=WHAT "
                f"at the moment it first shows.")
    if not job.facts.note:
        return (f"the measurement {why}, so the message does not say what goes wrong: add "
                f"--mark TIME=WHAT where it shows, or describe it with --note.")
    return None


def preview(request: BuildRequest, index: ClipIndex, *, catalog: Catalog | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """What build would write as the message and the notes, without decoding a frame or
    writing a file: for a page that shows the message while it is being written."""
    from dataclasses import replace

    from .catalog_rules import today

    request = replace(request, auto=False)  # measuring decodes the clip: not for a preview
    job = _with_clip_facts(_check(request, catalog, now.date() if now else today(),
                                  output=False), index)
    marks, _ = _marks(job, index, _own_marks(request, index), None)
    plan = frameplan.plan_frames(index, marks, job.failure)
    attached = [Attached(Path(p.file).name, p.file, p.description(), "pair")
                for p in plan.pairs]
    attached += [Attached(s.name, f"frames/{s.name}", f"{s.label} still", "still", s.index)
                 for s in plan.shots if s.label != "mark" or s.index not in (
                     0, plan.shots[-1].index)]
    reference = ticketfiles.reference_name(request)
    if reference is not None:
        attached.append(Attached(reference, f"reference/{reference}", "reference image",
                                 "reference"))
    w = ticketfiles.words(job, index, plan, attached, [], None, reference)
    return {"text": w.message.text, "markdown": w.message.markdown, "kind": job.route.kind,
            "subject": w.message.ticket.subject, "limit": w.message.ticket.limit,
            "shortened": w.message.shortened, "missing": list(w.message.ticket.missing),
            "warnings": w.warnings, "send": asdict(w.notes), "bag": job.name,
            "frames": [s.to_dict() for s in plan.shots]}


# -- step 4: pack ----------------------------------------------------------------------

def _pack(job: Job, index: ClipIndex, staged: staging.Staged, when: dt.datetime,
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
