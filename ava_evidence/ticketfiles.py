"""Step 3 of a build: the message (ticket.txt, ticket.md), the notes for the user
(send.md), the report and the manifest, written into the staging folder.

The message and the notes are made by :func:`words`, which the mark page's
preview uses too, so what a page shows is what a bundle holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .facts import TicketFacts
from .message import Attached

if TYPE_CHECKING:
    from .analysis import Suggestion
    from .bundle import BuildRequest, Job
    from .catalog import Failure, Platform
    from .clip import ClipIndex
    from .frameplan import FramePlan
    from .message import Moment, Rendered, Ticket
    from .send import SendNotes
    from .staging import Staged

SCHEMA = "ava-evidence/1"
DEFAULT_ATTACHMENT_MB = 10.0
"""Per-file budget when a channel documents no limit: small enough for common mail."""
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, limit: int = 64) -> str:
    """A file-name-safe form of ``text``: ASCII letters, digits, '.', '_' and '-' only."""
    name = _SAFE.sub("-", text).strip("-._")
    name = re.sub(r"-{2,}", "-", name)[:limit].strip("-._")
    return name or "id"


def reference_name(request: BuildRequest) -> str | None:
    if request.reference is not None:
        return safe_name(request.reference.name, 120)
    if request.reference_data is not None:
        return safe_name(request.reference_data[0], 120)
    return None


@dataclass(frozen=True)
class Words:
    """The message and the notes for the user, rendered."""

    message: Rendered
    notes: SendNotes
    facts: TicketFacts
    warnings: list[str]


def words(job: Job, index: ClipIndex, plan: FramePlan, attached: list[Attached],
           attachment_notes: list[str], suggestion: Suggestion | None,
           reference_name: str | None) -> Words:
    """What build and preview both write: the message fitted to the channel, and the
    notes for the user."""
    from .message import MessageInput, blank_room, build_message, render_message
    from .send import SendInput, send_notes

    route = job.route
    facts = job.facts if reference_name is None else \
        TicketFacts(**{**asdict(job.facts), "reference": reference_name})
    t = index.truncation
    full = build_message(MessageInput(job.platform, job.failure, route, job.generation_id,
                                      job.link, job.plan_name, facts,
                                      _moments(plan, job.failure, index, suggestion),
                                      attached,
                                      (t.end_s, t.missing_s) if t is not None else None))
    message = render_message(full, platform_key=job.platform.key, kind=route.kind,
                             template_dir=job.request.template_dir)
    warnings = [*job.warnings, *_clip_warnings(job, index),
                *_length_warnings(message.ticket, message.text), *_unsaid(job, facts)]
    checks = (["The generation date is the clip's own creation time: if you exported the clip "
               "again after downloading it, give the real date with --generated."]
              if facts.generated_from_clip else [])
    notes = send_notes(SendInput(job.platform, route, message.ticket, job.failure.key,
                                 job.plan_key, [a.file for a in message.ticket.attachments],
                                 attachment_notes, _measured_lines(suggestion), warnings,
                                 job.day, checks, blank_room(message.ticket, message.text)))
    return Words(message, notes, facts, warnings)


def write_ticket(job: Job, index: ClipIndex, plan: FramePlan, staged: Staged,
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
    if channel is not None and channel.max_files and len(attached) > channel.max_files:
        attached, attachment_notes = _fewer(attached, attachment_notes, channel.max_files)
    w = words(job, index, plan, attached, attachment_notes, suggestion,
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


def _write_text(staged: Staged, name: str, body: str) -> None:
    (staged.folder / name).write_text(body, encoding="utf-8")
    staged.payload.append((name, staged.folder / name))


def _stage_reference(job: Job, staged: Staged) -> str | None:
    file_name = reference_name(job.request)
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


def _moments(plan: FramePlan, failure: Failure, index: ClipIndex,
             suggestion: Suggestion | None) -> list[Moment]:
    """One line per moment: start, each mark in time order, end. A mark on the first or
    last frame speaks for that frame's line, and one without words leaves it a blank to
    fill, as any mark does (the user marked it as where the failure shows). Where the
    clip was measured (--auto) and found to hold cuts or transitions, its first and last
    frames are not one shot."""
    from .message import PLACEHOLDERS, Moment, frame_words
    from .timecode import format_short

    one_shot = suggestion is None or not (suggestion.cuts or suggestion.transitions)
    last = index.frame_count - 1
    marked = {s.index for s in plan.marks}
    words = {s.index: s.what for s in plan.marks if s.what}  # a worded mark speaks first
    out = []
    for s in plan.shots:
        if (s.label == "mark" and s.index in (0, last)) or (s.label == "end" and last == 0):
            continue  # (a clip of one frame: its start line is its end's too)
        if s.label == "mark" or s.index in marked:
            what = s.what if s.label == "mark" else words.get(s.index)
            what, given = (what, True) if what else (PLACEHOLDERS["what"], False)
        else:
            what, given = frame_words(s.label, failure, one_shot), True
        out.append(Moment(s.label, s.index, float(s.time), format_short(s.time), what, given,
                          last=s.label == "end", measured=s.measured is not None))
    return out


def _fewer(attached: list[Attached], notes: list[str], most: int
           ) -> tuple[list[Attached], list[str]]:
    """The first ``most`` files (the start|end pair first) for a route that takes no more:
    the message then names only what can arrive; the rest stay in the bundle."""
    kept = attached[:most]
    names = ", ".join(a.file for a in kept)
    said = (f"This route takes {most} file{'s' if most != 1 else ''}: attach {names}; the "
            f"other images stay in the bundle, to send if support asks for them.")
    return kept, [*notes, said]


def _attachments(plan: FramePlan, staged: Staged, budget_mb: float,
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


def _jpeg_copy(path: Path, name: str, limit: int, staged: Staged) -> str:
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


def _clip_warnings(job: Job, index: ClipIndex) -> list[str]:
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


def _unsaid(job: Job, facts: TicketFacts) -> list[str]:
    """Values the user gave that the message has no line for: said, not dropped quietly."""
    if facts.credits and job.platform.usage is None:
        return [f"--credits {facts.credits} is not in the message: {job.platform.short_name} "
                f"has no credits line (it counts no credits per generation); if your plan "
                f"spends credits on it, say so with --note."]
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


def id_label(platform: Platform) -> str:
    name = platform.id.name
    return f"{name[:1].upper()}{name[1:]}"


def _manifest(job: Job, index: ClipIndex, plan: FramePlan, staged: Staged,
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


def _include_clip(job: Job, index: ClipIndex, staged: Staged) -> str | None:
    if not job.request.include_clip:
        return None
    name = f"clip/{safe_name(index.file_name, 120)}"
    (staged.folder / "clip").mkdir()
    shutil.copyfile(index.source or index.path, staged.folder / name)
    staged.payload.append((name, staged.folder / name))
    return name


def _report(extra: dict[str, Any], manifest: dict[str, Any], plan: FramePlan,
            staged: Staged, job: Job) -> str:
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
