"""Tickets: the message a support agent reads, rendered from Jinja2 templates.

The context is built from plain values (the catalog's platform and failure,
the clip facts, the stills) by :func:`ticket_context`. Templates load with
``StrictUndefined``; a user template folder is searched first and rendered in
Jinja2's sandbox; HTML templates are autoescaped. User text (ID, note) is
data and never evaluated. The plain-text ticket is fitted to the channel's
message limit by dropping the least important sections first, never the ID,
the technical term or the times::

    ctx = ticket_context(platform=..., failure=..., generation_id=..., ...)
    markdown = render("ticket.md.j2", ctx)
    text = fit_plain_text(ctx, limit=2000)
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .catalog import Channel, Failure, Platform
from .errors import UsageError
from .timecode import format_clock, format_seconds

TEMPLATE_NAMES = ("ticket.md.j2", "ticket.txt.j2", "report.html.j2")
MAX_DETAIL = 4
"""Detail levels of the plain-text ticket: 4 is everything, 0 the essentials."""

TEMPLATE_VARIABLES: dict[str, tuple[str, str]] = {
    "subject": ("Subject line: technical term and Generation ID",
                "Identity Coherence Failure - Generation ID 3f2a..."),
    "generation_id": ("The Generation ID exactly as given (or as taken from a share URL)",
                      "3f2a9c1e-..."),
    "platform": ("Platform: key, name, vendor, id_name, id_where, help_centre",
                 "{'key': 'kling', 'name': 'Kling AI', ...}"),
    "plan": ("The plan's display name, or None", "Pro"),
    "plan_key": ("The plan's catalog key, or None", "pro"),
    "model": ("The model the user named (--model), or None", "Kling 2.1"),
    "failure": ("Failure: key, term, severity, definition, symptoms, advice",
                "{'term': 'Physics Prior Degeneration', 'severity': 'major', ...}"),
    "clip": ("The manifest's clip object (file_name, sha256, codec, width, height, fps, "
             "duration_s, frame_count, ...)", "{'file_name': 'clip.mp4', ...}"),
    "frames": ("Every still: label, requested, index, time_s, seconds, clock, file",
               "[{'label': 'start', 'index': 0, 'seconds': '0.000', ...}]"),
    "start": ("The start still (frame 0)", "{'index': 0, 'seconds': '0.000', ...}"),
    "end": ("The end still (last frame)", "{'index': 239, 'seconds': '9.959', ...}"),
    "marks": ("The marked stills in time order", "[{'index': 48, 'requested': '0:02', ...}]"),
    "first_visible": ("The earliest mark (where the failure is first visible), or None",
                      "{'index': 48, 'seconds': '2.000', 'clock': '00:02.000'}"),
    "note": ("The user's note, or None", "Prompt: a woman in a red dress..."),
    "attachments": ("Files to attach, in order: file, description",
                    "[{'file': 'pairs/01_start-end.png', 'description': ...}]"),
    "channel": ("The support channel for this platform and plan, or None: key, kind, where, "
                "steps, status, unverified, source, attachment_limit_mb, message_limit_chars",
                "{'kind': 'email', 'where': 'support+web@lumalabs.ai', ...}"),
    "other_channels": ("Other channels that apply to the plan", "[]"),
    "policy": ("Documented refund policy: summary, covers_quality, source, checked, status, "
               "unverified", "{'summary': 'Credits come back ...', 'status': 'official'}"),
    "platform_notes": ("Other sourced facts about the platform for this plan: text, source, "
                       "status", "[{'text': 'On the Unlimited plan ...'}]"),
    "goodwill": ("True when the policy does not cover quality failures (ask for a review)",
                 "True"),
    "measured": ("Measured failure moments (suggest / build --auto), or []", "[]"),
    "tool": ("The tool: name, version", "{'name': 'ava-evidence', 'version': '0.1.0'}"),
    "detail": ("Plain-text detail level (4 = everything ... 0 = essentials)", "4"),
    "note_limit": ("Longest note the plain text may show, in characters, or None", "None"),
}
"""Every variable a ticket template receives, with a description and an example."""

REPORT_VARIABLES: dict[str, tuple[str, str]] = {
    "report_images": ("report.html only: embedded images; pairs and stills are lists of "
                      "{src (data: URI), file, caption}, strip is {src, file}",
                      "{'pairs': [{'src': 'data:image/jpeg;base64,...', ...}], ...}"),
    "ticket_markdown": ("report.html only: the rendered Markdown ticket", "# Identity ..."),
    "manifest": ("report.html only: the evidence manifest (data/manifest.json)",
                 "{'schema': 'ava-evidence/1', ...}"),
}
"""The extra variables report.html.j2 receives."""

MAX_ID_LENGTH = 512


def check_generation_id(text: str) -> str:
    """The ID as given, or a usage error for one no ticket can carry."""
    value = text.strip()
    if not value:
        raise UsageError("the Generation ID is empty: pass the ID (or the share link) with --id.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise UsageError("the Generation ID contains a line break or control character: "
                         "pass it on one line with --id.")
    if len(value) > MAX_ID_LENGTH:
        raise UsageError(f"the Generation ID is {len(value)} characters long; IDs are at most "
                         f"{MAX_ID_LENGTH}: pass the ID itself, not a whole page.")
    return value


def _frame_view(frame: Mapping[str, Any]) -> dict[str, Any]:
    t = frame["time_s"]
    return {**frame, "seconds": format_seconds(t), "clock": format_clock(t)}


def ticket_context(*, platform: Platform, failure: Failure, generation_id: str,
                   plan_key: str | None, plan_name: str | None, clip: Mapping[str, Any],
                   frames: Sequence[Mapping[str, Any]],
                   attachments: Sequence[Mapping[str, Any]] = (), note: str | None = None,
                   model: str | None = None, measured: Sequence[Mapping[str, Any]] = (),
                   version: str = "") -> dict[str, Any]:
    """Everything a template may use (see :data:`TEMPLATE_VARIABLES`)."""
    check_generation_id(generation_id)
    views = [_frame_view(f) for f in frames]
    marks = sorted((f for f in views if f["label"] == "mark"), key=lambda f: f["index"])
    start = next((f for f in views if f["label"] == "start"), None)
    end = next((f for f in views if f["label"] == "end"), None)
    channels = platform.channels_for(plan_key)
    channel = channels[0] if channels else None
    policy = platform.refund_policy
    return {
        "subject": f"{failure.term} - Generation ID {generation_id}",
        "generation_id": generation_id,
        "platform": {"key": platform.key, "name": platform.name, "vendor": platform.vendor,
                     "id_name": platform.id.name, "id_where": platform.id.where,
                     "help_centre": platform.help_centre},
        "plan": plan_name,
        "plan_key": plan_key,
        "model": model,
        "failure": {"key": failure.key, "term": failure.term, "severity": failure.severity,
                    "definition": failure.definition, "symptoms": list(failure.symptoms),
                    "advice": failure.evidence.advice},
        "clip": dict(clip),
        "frames": views,
        "start": start,
        "end": end,
        "marks": marks,
        "first_visible": marks[0] if marks else None,
        "note": note,
        "attachments": [dict(a) for a in attachments],
        "channel": _channel_view(channel) if channel else None,
        "other_channels": [_channel_view(c) for c in channels[1:]],
        "policy": {**policy.to_dict(), "unverified": policy.unverified},
        "platform_notes": [{"text": n.text, **n.provenance()}
                           for n in platform.notes_for(plan_key)],
        "goodwill": policy.covers_quality is not True,
        "measured": [dict(m) for m in measured],
        "tool": {"name": "ava-evidence", "version": version},
        "detail": MAX_DETAIL,
        "note_limit": None,
    }


def _channel_view(channel: Channel) -> dict[str, Any]:
    return {**channel.to_dict(), "unverified": channel.unverified}


def _md_code(text: Any) -> str:
    """Inline Markdown code that shows ``text`` literally, whatever backticks it holds."""
    s = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _md_cell_code(text: Any) -> str:
    """:func:`_md_code` for a table cell, where a '|' ends the cell even inside code
    unless escaped (the escape is not shown there; outside a table it would be)."""
    return _md_code(text).replace("|", "\\|")


def _md_block(text: Any) -> str:
    """A fenced Markdown block that shows ``text`` literally (no HTML, no formatting)."""
    s = str(text).replace("\r\n", "\n").strip("\n")
    longest = max((len(m) for m in re.findall(r"`{3,}", s)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}text\n{s}\n{fence}"


_MD_INLINE = re.compile(r"[\\`*_~\[\]<|]|&(?=#?\w+;)")
"""Characters that start Markdown inside a line: code, emphasis, strikethrough, links,
HTML and autolinks, table cells, and '&' where it would read as an entity."""
_MD_LINE_START = re.compile(r"^(?:[#>+=-]|\d+(?=[.)]))")
"""What turns a line into a heading, quote, list or heading underline."""


def _md_text(text: Any) -> str:
    """Plain text safe inside Markdown prose: shown exactly as given, on one line.

    Only what Markdown would act on is escaped, so text stays readable when the
    Markdown is read as it is ("Library > Assets", not "Library \\> Assets").
    """
    s = _MD_INLINE.sub(lambda m: "\\" + m.group(), " ".join(str(text).split()))
    return _MD_LINE_START.sub(lambda m: m.group() + "\\" if m.group().isdigit()
                              else "\\" + m.group(), s)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _environment(template_dir: str | os.PathLike[str] | None) -> Any:
    """The Jinja environment for a template folder (cached: templates compile once)."""
    return _cached_environment(None if template_dir is None else str(Path(template_dir)))


@functools.lru_cache(maxsize=8)
def _cached_environment(template_dir: str | None) -> Any:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from .resources import data_path

    builtin = FileSystemLoader(str(data_path("ticket_templates")))
    kwargs: dict[str, Any] = {
        "undefined": StrictUndefined,
        "autoescape": lambda name: bool(name) and (name.endswith(".html")
                                                   or name.endswith(".html.j2")),
        "keep_trailing_newline": True,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    env: Any
    if template_dir is not None:
        folder = Path(template_dir)
        if not folder.is_dir():
            raise UsageError(f"template folder {folder} does not exist: check --templates.")
        env = _limited_sandbox(SandboxedEnvironment)(
            loader=ChoiceLoader([_confined_loader(FileSystemLoader)(str(folder)), builtin]),
            **kwargs)
    else:
        env = Environment(loader=builtin, bytecode_cache=_bytecode_cache(), **kwargs)
    env.filters.update(md_code=_md_code, md_cell_code=_md_cell_code, md_block=_md_block,
                       md_text=_md_text, one_line=_one_line, truncate_to=truncate)
    return env


RENDER_SECONDS = 10.0
"""Longest a user template may take to render."""
MAX_RENDERED = 32 << 20
"""Most text a user template may make (report.html, with its images, is a few MB)."""


class _TemplateLimit(Exception):
    """A user template went past a time or size limit."""


def _limited_sandbox(base: Any) -> Any:
    """Jinja's sandbox, with no operation in a user template making text or lists beyond
    MAX_RENDERED, nor a power beyond a few thousand digits ('x' * 10**9, 10**10**6)."""
    from jinja2.exceptions import SecurityError

    def check(operator: str, left: Any, right: Any) -> None:
        sized = (str, bytes, list, tuple)
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, sized) and isinstance(count, int) and \
                        len(seq) * count > MAX_RENDERED:
                    raise SecurityError(f"'*' would make more than {MAX_RENDERED >> 20} MB")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and \
                    right * max(1, abs(left).bit_length()) > 100_000:
                raise SecurityError("'**' would make a number of more than 30,000 digits")
        elif operator == "+" and isinstance(left, sized) and isinstance(right, sized) and \
                len(left) + len(right) > MAX_RENDERED:
            raise SecurityError(f"'+' would make more than {MAX_RENDERED >> 20} MB")

    class LimitedSandbox(base):  # type: ignore[misc]
        intercepted_binops = frozenset({"*", "**", "+"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            check(operator, left, right)
            return super().call_binop(context, operator, left, right)

    return LimitedSandbox


def _confined_loader(base: Any) -> Any:
    """A FileSystemLoader that reads no file outside its folder (a symbolic link out of it is
    refused, by name) and names a template that is not UTF-8."""

    class ConfinedLoader(base):  # type: ignore[misc]
        def get_source(self, environment: Any, template: str) -> Any:
            source, filename, uptodate = None, None, None
            root = os.path.realpath(self.searchpath[0])
            candidate = os.path.join(self.searchpath[0], *template.split("/"))
            if os.path.isfile(candidate):
                real = os.path.realpath(candidate)
                if os.path.commonpath([root, real]) != root:
                    raise UsageError(f"ticket template {template} is a link to a file outside "
                                     f"the template folder ({real}): copy the file into the "
                                     f"folder instead.")
            try:
                source, filename, uptodate = super().get_source(environment, template)
            except UnicodeDecodeError:
                raise UsageError(f"ticket template {template} is not UTF-8 text: save it as "
                                 f"UTF-8.") from None
            return source, filename, uptodate

    return ConfinedLoader


def _render_limited(template: Any, context: Mapping[str, Any]) -> str:
    """Render a user template within RENDER_SECONDS and MAX_RENDERED characters. Its
    code is Python: a trace function checks the clock on every line it runs."""
    import sys
    import time

    deadline = time.monotonic() + RENDER_SECONDS

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _TemplateLimit(f"it took longer than {RENDER_SECONDS:g} s")
        return tracer

    parts: list[str] = []
    size = 0
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_RENDERED:
                raise _TemplateLimit(f"it made more than {MAX_RENDERED >> 20} MB of text")
            parts.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(parts)


def _template_line(error: BaseException, template_dir: str | os.PathLike[str]) -> str:
    """' (name, line N)' for the innermost line of a user template in the error's traceback."""
    import traceback

    root = os.path.realpath(template_dir)
    found = ""
    for entry in traceback.extract_tb(error.__traceback__):
        real = os.path.realpath(entry.filename)
        if entry.filename and os.path.commonpath([root, real]) == root:
            found = f" ({os.path.relpath(real, root)}, line {entry.lineno})"
    return found


def _bytecode_cache() -> Any:
    """The built-in templates, compiled, kept between runs in the user cache folder.

    Compiling them costs about 50 ms of CPU, a tenth of what a build adds to its
    decode. Jinja2 checks each entry against its template's source; the folder's
    name also fingerprints Jinja2's version and this module (which holds the
    environment's settings), so an upgrade never reuses code compiled otherwise.
    A damaged entry is compiled again; a folder that cannot be used safely (not
    ours, or writable by others: the cached code is executed) is not used.
    """
    import hashlib

    import jinja2
    from jinja2 import FileSystemBytecodeCache
    from platformdirs import user_cache_dir

    class QuietCache(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a cut or garbled file: compile again, and replace it
                bucket.reset()
                with contextlib.suppress(OSError):
                    os.unlink(self._get_cache_filename(bucket))

        def dump_bytecode(self, bucket: Any) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        fingerprint = hashlib.sha256(jinja2.__version__.encode() + Path(__file__).read_bytes())
        folder = Path(user_cache_dir("ava-evidence")) / "templates" / fingerprint.hexdigest()[:16]
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None
    return QuietCache(str(folder))


def check_template_dir(template_dir: str | os.PathLike[str] | None) -> None:
    """Refuse a template folder that does not exist, before any work is done."""
    if template_dir is not None:  # the built-in templates need no check (nor jinja2 yet)
        _environment(template_dir)


def precompile(template_dir: str | os.PathLike[str] | None, platform_key: str,
               channel_kind: str | None) -> None:
    """Compile the templates a build renders, so rendering later is quick.

    Meant for a helper thread while frames decode; a broken template is left
    for :func:`render` to report.
    """
    from jinja2 import TemplateError

    env = _environment(template_dir)
    for name in TEMPLATE_NAMES:
        with contextlib.suppress(TemplateError):
            env.select_template(_candidates(name, platform_key, channel_kind or "none"))


def _candidates(name: str, platform_key: str, channel_kind: str) -> list[str]:
    return [f"platforms/{platform_key}/{name}", f"channels/{channel_kind}/{name}", name]


def render(name: str, context: Mapping[str, Any], *,
           template_dir: str | os.PathLike[str] | None = None) -> str:
    """Render ``name`` for the context's platform and channel.

    Looks for ``platforms/<platform>/<name>``, then ``channels/<kind>/<name>``,
    then ``<name>``, in the user folder first, then the built-ins.
    """
    from jinja2 import TemplateError

    env = _environment(template_dir)
    kind = context["channel"]["kind"] if context.get("channel") else "none"
    try:
        template = env.select_template(_candidates(name, context["platform"]["key"], kind))
        if template_dir is None:
            return str(template.render(**context))
        return _render_limited(template, context)
    except UsageError:
        raise
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        where = f" ({getattr(e, 'filename', name)}, line {line})" if line else ""
        if not where and template_dir is not None:
            where = _template_line(e, template_dir)
        raise UsageError(f"ticket template {name} failed{where}: {e.message}; "
                         f"fix the template or remove it from the template folder.") from e
    except Exception as e:  # any mistake in a user's template is theirs to fix, and named
        if template_dir is None:
            raise
        where = _template_line(e, template_dir)
        reason = str(e).strip().rstrip(".") or type(e).__name__
        if isinstance(e, RecursionError):
            reason = "it includes or calls itself without end"
        raise UsageError(f"ticket template {name} failed{where}: {reason}; fix the template "
                         f"or remove it from the template folder.") from e


def fit_plain_text(context: Mapping[str, Any], limit: int | None, *,
                   template_dir: str | os.PathLike[str] | None = None) -> tuple[str, int]:
    """Render the plain-text ticket within ``limit`` characters.

    Returns (text, detail level used). Sections go in this order as room runs
    out: symptoms, clip facts, policy wording (its source stays), the
    attachment list, then the note is shortened. The subject, ID, term and
    every time are never dropped; if even they do not fit, that is an error.
    """
    ctx = dict(context)
    for detail in range(MAX_DETAIL, -1, -1):
        ctx["detail"] = detail
        text = render("ticket.txt.j2", ctx, template_dir=template_dir)
        if limit is None or len(text) <= limit:
            return text, detail
    note = ctx.get("note") or ""
    while note:
        over = len(text) - (limit or 0)
        keep = max(0, len(note) - over - 40)
        ctx["note_limit"] = keep
        text = render("ticket.txt.j2", ctx, template_dir=template_dir)
        if len(text) <= (limit or 0):
            return text, 0
        if keep == 0:
            break
        note = note[:keep]
    raise UsageError(f"the ticket's essentials (ID, term and {len(ctx['marks'])} marked times) "
                     f"do not fit the channel's {limit}-character limit: use fewer --mark times.")


LEFT_OUT = ((4, "the signs of the failure"), (3, "the clip facts"), (2, "the policy wording"),
            (1, "the attachment list"))
"""What ticket.txt leaves out below each detail level, in the order it goes."""


def left_out(detail: int, note: str | None, text: str) -> list[str]:
    """The parts a fitted plain-text ticket left out, for telling the user."""
    parts = [name for level, name in LEFT_OUT if detail < level]
    if note and note not in text:
        parts.append("the end of the note")
    return parts


def truncate(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (None: unchanged)."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"
