"""Templates: the Jinja2 environment that lays out the message, the notes and the report.

The wording is built in :mod:`ava_evidence.message` and :mod:`ava_evidence.send`;
templates only lay it out. They receive typed objects (``ticket``, ``send``),
load with ``StrictUndefined``; a user template folder is searched first and
rendered in Jinja2's sandbox; HTML templates are autoescaped. User text (ID,
note) is data and never evaluated::

    text = render("ticket.txt.j2", {"ticket": ticket})
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import UsageError

TEMPLATE_NAMES = ("ticket.md.j2", "ticket.txt.j2", "send.md.j2", "report.html.j2")


def _fields(cls: type) -> str:
    import dataclasses

    return ", ".join(f.name for f in dataclasses.fields(cls))


def template_variables() -> dict[str, tuple[str, str]]:
    """Every variable a template receives, with a description and an example."""
    from .message import Attached, Line, Moment, Ticket
    from .send import SendNotes

    return {
        "ticket": (f"The message, already worded (every template): {_fields(Ticket)}",
                   "ticket.subject, ticket.facts, ticket.moments"),
        "ticket.facts[]": (f"A line of the facts block: {_fields(Line)}",
                           "{label: 'Account email', value: '[your account email]', "
                           "given: False}"),
        "ticket.moments[]": (f"A moment of 'What goes wrong': {_fields(Moment)}",
                             "{clock: '0:01.625', index: 39, what: 'her eyes begin to move "
                             "apart'}"),
        "ticket.attachments[]": (f"A file to attach: {_fields(Attached)}",
                                 "{name: '01_start-end.png', role: 'pair'}"),
        "send": (f"For the user only (send.md.j2, report.html.j2): {_fields(SendNotes)}",
                 "send.where, send.paste, send.fill_in"),
        "text": ("send.md.j2, report.html.j2: the message exactly as sent (ticket.txt)",
                 "Subject: Credit request - ..."),
        "bag": ("send.md.j2, report.html.j2: the bundle's folder name once unzipped",
                "kling_8f2c41d0_physics"),
        "report_images": ("report.html.j2 only: embedded images; pairs and stills are lists "
                          "of {src (data: URI), file, caption}, strip is {src, file}",
                          "{'pairs': [{'src': 'data:image/jpeg;base64,...', ...}], ...}"),
        "mailto": ("report.html.j2 only: a mailto: link with subject and body, or None",
                   "mailto:support@...?subject=..."),
        "manifest": ("report.html.j2 only: the evidence manifest (data/manifest.json)",
                     "{'schema': 'ava-evidence/1', ...}"),
    }


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


_MD_INLINE = re.compile(r"[\\`*~<]|&(?=#?\w+;)|(?<![^\W_])_|_(?![^\W_])")
"""Characters that start Markdown inside a line: code, emphasis, strikethrough, HTML and
autolinks, '&' where it would read as an entity, and '_' except between two letters or
digits (where it cannot start or end emphasis: task_id stays task_id)."""
_MD_LINK = re.compile(r"\][(\[:]")
"""Brackets make a link only as '](', '][' or a definition '[x]:'."""
_MD_LINE_START = re.compile(r"^(?:[#>+=-]|\d+(?=[.)]))")
"""What turns a line into a heading, quote, list or heading underline."""
_URL = re.compile(r"https?://[^\s<>|\\`]+")
"""A web address: shown as an autolink, so nothing in it is escaped (a copied link works)."""
_URL_END = ".,:;!?'\""
"""Closing punctuation of the sentence around an address, never part of it (as GitHub's
autolinks read it): "(see https://a.example/x, checked ...)" links to https://a.example/x."""


def _md_text(text: Any) -> str:
    """Plain text safe inside Markdown prose: shown exactly as given, on one line.

    Only what Markdown would act on is escaped, so text stays readable when the
    Markdown is read as it is ("Library > Assets", "[your account email]", "task_id");
    web addresses become autolinks, untouched. For a table cell, use md_cell.
    """
    s = " ".join(str(text).split())
    parts, links = _split_links(s)
    pattern = _MD_INLINE if not any(_MD_LINK.search(p) for p in parts) else re.compile(
        _MD_INLINE.pattern + r"|[\[\]]")
    out = [pattern.sub(lambda m: "\\" + m.group(), p) for p in parts]
    out[0] = _MD_LINE_START.sub(lambda m: m.group() + "\\" if m.group().isdigit()
                                else "\\" + m.group(), out[0])
    return "".join(chunk for pair in zip(out, [*(f"<{u}>" for u in links), ""], strict=True)
                   for chunk in pair)


def _split_links(s: str) -> tuple[list[str], list[str]]:
    """``s`` cut at its web addresses: the text around them (one more than the links) and
    the addresses, each without the punctuation that closes the sentence or the bracket
    it stands in."""
    parts, links, at = [], [], 0
    for m in _URL.finditer(s):
        url = m.group()
        while url[-1] in _URL_END or any(url[-1] == shut and url.count(op) < url.count(shut)
                                         for op, shut in ("()", "[]")):
            url = url[:-1]
        if url.endswith("//"):
            continue  # a scheme alone is no address: left as text
        parts.append(s[at:m.start()])
        links.append(url)
        at = m.start() + len(url)
    parts.append(s[at:])
    return parts, links


def _md_cell(text: Any) -> str:
    """:func:`_md_text` for a table cell, where '|' would end the cell."""
    return _md_text(text).replace("|", "\\|")


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _pad(text: Any, width: int) -> str:
    """``text`` padded to ``width``, and always followed by at least one space."""
    s = str(text)
    return s.ljust(width) if len(s) < width else s + " "


def _md_paragraphs(text: Any) -> str:
    """Text of several lines as Markdown that shows each line as typed (hard breaks
    inside a paragraph, a blank line between paragraphs)."""
    paragraphs = [p for p in str(text).replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "\n\n".join("\\\n".join(_md_text(line) for line in p.split("\n") if line.strip())
                       for p in paragraphs)


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
    from .message import attached_text

    env.filters.update(md_code=_md_code, md_cell_code=_md_cell_code, md_cell=_md_cell,
                       md_block=_md_block,
                       md_text=_md_text, md_paragraphs=_md_paragraphs, one_line=_one_line,
                       pad=_pad, attached_text=attached_text)
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

    from .cachedir import private_cache

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
    except OSError:
        return None
    folder = private_cache("templates", fingerprint.hexdigest()[:16])
    return QuietCache(str(folder)) if folder is not None else None


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


def render(name: str, context: Mapping[str, Any], *, platform_key: str = "", kind: str = "none",
           template_dir: str | os.PathLike[str] | None = None) -> str:
    """Render ``name`` for a platform and the channel kind the message is shaped for.

    Looks for ``platforms/<platform>/<name>``, then ``channels/<kind>/<name>``,
    then ``<name>``, in the user folder first, then the built-ins.
    """
    from jinja2 import TemplateError

    env = _environment(template_dir)
    try:
        template = env.select_template(_candidates(name, platform_key, kind))
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

