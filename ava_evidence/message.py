"""The message a support agent reads: built from plain values, laid out by templates.

Its one job is to get the generation reviewed for a credit or a re-run, so it
holds, in order: the ask; the facts an agent asks first (each the user's value
or a visible ``[placeholder]``); what goes wrong, one line per moment; what is
attached; one sentence that the decision is theirs. Nothing else: no policy
quoted back, no third-party link, no severity, no definition, no hash, no
footer. The wording lives here; ``ticket.txt.j2`` and ``ticket.md.j2`` only lay
it out, so both files always say the same thing::

    ticket = build_message(MessageInput(...))
    fitted, cuts = fit_message(ticket, limit=2000, render=lambda t: ...)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .catalog import Channel, Failure, Platform, Usage, looks_like_link
from .facts import TicketFacts
from .route import Route

PLACEHOLDERS = {
    "generated": "[date and time]",
    "model": "[model]",
    "settings": "[mode, length, resolution]",
    "credits": "[credits used]",
    "prompt": "[your prompt]",
    "use": "[what the clip was for]",
    "reference": "[input image, if image-to-video]",
    "what": "[what is visible here]",
}
MISSING_NAMES = {
    "generated": "generation date", "model": "model", "settings": "settings",
    "credits": "credits used", "prompt": "prompt", "use": "what the clip was for",
    "reference": "reference image (image-to-video only)",
}
"""How each missing fact is named in 'Fill in before sending: ...'."""
OPTIONAL = ("use", "reference")
"""Placeholder lines a message may leave out when nothing else fits the channel."""
BLANK_ROOM = {
    "[date and time]": 20, "[model]": 16, "[your prompt]": 150, "[what the clip was for]": 30,
    "[what is visible here]": 60,
}
"""Characters a blank typically takes once written in, where that is more than its
brackets: a message that fits a channel's limit only while its blanks are empty does not
fit once they are filled. A prompt is the longest (one over 200 characters is cut to
200 when it is given)."""
OTHER_BLANK_ROOM = 30
"""The same for any other blank (an account email, a plan, a catalog's own ask)."""


@dataclass(frozen=True)
class Line:
    """One line of the facts block."""

    label: str
    value: str
    given: bool
    """False: ``value`` is a placeholder the user must replace."""
    key: str = ""
    quoted: bool = False
    """Shown in quotes (the prompt)."""
    code: bool = False
    """Shown as code in Markdown (the ID)."""


@dataclass(frozen=True)
class Moment:
    """One line of 'What goes wrong': a frame and what is visible there."""

    label: str
    """start, mark or end."""
    index: int
    time_s: float
    clock: str
    """The time as the message shows it (0:01.625)."""
    what: str
    given: bool
    """False: ``what`` is a placeholder."""
    last: bool = False
    measured: bool = False


@dataclass(frozen=True)
class Attached:
    name: str
    """The file's own name (what the agent sees in the email)."""
    file: str
    """Its path in the bundle's data folder."""
    description: str
    role: str
    """pair, still or reference."""
    frame: int | None = None
    """A still's frame number."""


@dataclass(frozen=True)
class Ticket:
    """Everything the message templates show, already worded and checked."""

    kind: str
    """The channel kind the message is shaped for: email, web-form, chat, in-app,
    discord, web, or none (no channel documented; shaped like an email)."""
    subject: str | None
    """The subject line (email, web form, none), or None."""
    greeting: str
    ask: str
    """The first paragraph: what happened and the request."""
    private_note: str | None
    """On a public channel: that account details follow by direct message."""
    facts: tuple[Line, ...]
    heading: str
    """'What goes wrong (<technical term>):'."""
    moments: tuple[Moment, ...]
    note: str | None
    """The user's own words (--note), as given."""
    ends_early: str | None
    """For a file that stops before its full length: a sentence that says so."""
    attachments: tuple[Attached, ...]
    stills_listed: bool
    """False: full-size stills are only mentioned, not named (to fit the channel)."""
    descriptions: bool
    """False: attachments are named without descriptions (to fit the channel)."""
    labelled: bool
    """False: the sentence saying images are labelled is left out (to fit the channel)."""
    aligned: bool
    """False: the facts' values are not lined up in a column (to fit the channel)."""
    counted: bool
    """True: attachments are counted, not named (to fit the channel)."""
    closing: str
    missing: tuple[str, ...]
    """Facts still to fill in, by name ('account email', 'credits used')."""
    term: str
    generation_id: str
    limit: int | None
    """The channel's message limit in characters, or None."""


@dataclass(frozen=True)
class MessageInput:
    platform: Platform
    failure: Failure
    route: Route
    generation_id: str
    link: str | None
    plan_name: str | None
    facts: TicketFacts
    moments: Sequence[Moment]
    attachments: Sequence[Attached]
    stops_early: tuple[float, float | None] | None = None
    """(where the file stops, seconds missing or None) for a truncated download."""


def build_message(m: MessageInput) -> Ticket:
    """The full message for ``m`` (fit it to a channel with :func:`fit_message`)."""
    channel = m.route.writes_for
    kind = m.route.kind
    public = channel is not None and channel.public
    facts, missing = _facts(m, channel, public)
    moments = tuple(m.moments)
    missing += [f"what is visible at {x.clock}" for x in moments if not x.given]
    carries_files = channel is None or channel.carries_files
    # The reference image may be a client's picture: never posted where everyone reads.
    attached = tuple(a for a in m.attachments if not (public and a.role == "reference"))
    return Ticket(
        kind=kind,
        subject=_subject(m) if kind in ("email", "web-form", "none") else None,
        greeting=_greeting(m.platform, kind, channel),
        ask=_ask(m.failure, m.facts, m.platform, public),
        private_note="I'll send my account details by direct message." if public else None,
        facts=tuple(facts), heading=_heading(m.failure.term), moments=moments,
        note=m.facts.note, ends_early=_ends_early(m.stops_early),
        attachments=attached if carries_files else (),
        stills_listed=True, descriptions=True, labelled=True, aligned=True, counted=False,
        closing="I understand credits for completed generations are at your discretion. "
                "Thank you for looking.",
        missing=tuple(missing), term=m.failure.term, generation_id=m.generation_id,
        limit=channel.message_limit if channel else None)


DASH = "\u2013"
"""The en dash of the subject line ("Credit request \u2013 <term> \u2013 <ID>")."""


def _subject(m: MessageInput) -> str:
    if looks_like_link(m.generation_id):  # a link is too long for a subject: it is below
        return f"Credit request {DASH} {m.failure.term} {DASH} {m.platform.short_name} generation"
    return f"Credit request {DASH} {m.failure.term} {DASH} {_id_label(m)} {m.generation_id}"


def _id_label(m: MessageInput) -> str:
    """What the ID line is called: the platform's name for its ID, or 'Generation link'
    when what the user has is a link."""
    if looks_like_link(m.generation_id):
        return "Generation link"
    name = m.platform.id.name
    return f"{name[:1].upper()}{name[1:]}"


def _ends_early(stops: tuple[float, float | None] | None) -> str | None:
    if stops is None:
        return None
    from .timecode import format_short

    end, missing = stops
    short = f", about {missing:.1f} s before its full length" if missing else \
        " before its full length"
    return (f"The file I downloaded stops at {format_short(end)}{short}; its last frame "
            f"above is where it stops.")


def _heading(term: str) -> str:
    """'What goes wrong (<term>):', without doubled parentheses for a term that has some."""
    return f"What goes wrong {DASH} {term}:" if "(" in term else f"What goes wrong ({term}):"


def _greeting(platform: Platform, kind: str, channel: Channel | None) -> str:
    if kind == "discord":
        return f"Hi {channel.mention}," if channel and channel.mention else "Hi,"
    if kind in ("email", "web-form", "none"):
        return f"Hello {platform.short_name} support,"
    return "Hi,"


def _ask(failure: Failure, facts: TicketFacts, platform: Platform, public: bool) -> str:
    use = f" for {facts.use}" if facts.use else ""
    who = f"someone from the {platform.short_name} team " if public else "you "
    if platform.refund_policy.covers_quality and platform.refund_policy.status == "official":
        request = f"Could {who}review it and return the credits it used?"
    else:
        request = f"Could {who}review it for a credit or a free re-run?"
    return (f"A generation on my account finished, but {failure.plain}, so I can't use "
            f"it{use}. {request}")


def _facts(m: MessageInput, channel: Channel | None,
           public: bool) -> tuple[list[Line], list[str]]:
    f = m.facts
    lines: list[Line] = []
    missing: list[str] = []

    def add(key: str, label: str, value: str | None, placeholder: str, **kw: bool) -> None:
        lines.append(Line(label, value if value else placeholder, bool(value), key, **kw))
        if not value:
            missing.append(MISSING_NAMES.get(key, _lower(label)))

    account = m.platform.account
    if not public:
        add("account", account.label, f.account, account.placeholder)
    if m.plan_name and m.route.plan_given:
        lines.append(Line("Plan", m.plan_name, True, "plan"))
    id_value = m.generation_id + (f" ({m.link})" if m.link else "")
    lines.append(Line(_id_label(m), id_value, True, "id", code=True))
    generated = f"{f.generated} (from the clip's metadata)" if (
        f.generated and f.generated_from_clip) else f.generated
    add("generated", "Generated", generated, PLACEHOLDERS["generated"])
    model_settings = ", ".join(v if v else PLACEHOLDERS[k]
                               for k, v in (("model", f.model), ("settings", f.settings)))
    lines.append(Line("Model/settings", model_settings, bool(f.model and f.settings),
                      "model_settings"))
    missing += [MISSING_NAMES[k] for k, v in (("model", f.model), ("settings", f.settings))
                if not v]
    usage = m.platform.usage
    if usage is not None:
        lines.append(Line(usage.label, _with_unit(f.credits, usage) or usage.placeholder,
                          bool(f.credits), "credits"))
        if not f.credits:
            missing.append(_lower(usage.label))
    add("prompt", "Prompt", f.prompt, PLACEHOLDERS["prompt"], quoted=bool(f.prompt))
    if not f.use:  # once given, it is in the first sentence ("... for a client portrait")
        add("use", "Used for", None, PLACEHOLDERS["use"])
    reference = (f"I can send it by direct message ({f.reference})" if public else
                 f"attached ({f.reference})") if f.reference else None
    add("reference", "Reference image", reference, PLACEHOLDERS["reference"])
    for ask in channel.asks_for if channel else ():
        if public and ask.private:
            continue
        value = f.detail(ask.label)
        lines.append(Line(ask.label, value or ask.placeholder, value is not None, "ask"))
        if value is None:
            missing.append(ask.label)
    return lines, missing


def _with_unit(value: str | None, usage: Usage) -> str | None:
    """A bare number given for usage, with the unit its blank names where the label does
    not ('GPU time used: 20 GPU minutes'; 'Credits used: 12' as it is)."""
    if not value or not re.fullmatch(r"\d+(?:[.,]\d+)?", value.strip()):
        return value
    unit = usage.placeholder.strip("[]").removesuffix(" used").strip()
    return value if not unit or unit.lower() in usage.label.lower() else f"{value} {unit}"


def _lower(label: str) -> str:
    """'Account email' -> 'account email'; a name ('Pika User ID') keeps its capitals."""
    first = label.split(" ", 1)[0]
    return label[:1].lower() + label[1:] if first in (
        "Account", "Email", "Invoice", "Payment", "Sign-up", "Credits", "Computing") else label


def frame_words(label: str, failure: Failure, one_shot: bool = True) -> str:
    """What the first and last frames' lines say when no mark speaks for them: the end's
    asks for the comparison the failure's start|end pair shows only where the two frames
    are one shot (not where a cut, a fade or a blank frame lies between or on them)."""
    if label == "start":
        return "start of the clip"
    compare = failure.evidence.compare if one_shot else None
    return "end of the clip" + (f"; {compare}" if compare else "")


def attached_text(t: Ticket) -> str:
    """The 'Attached:' sentence: pairs by name with what they show, then the stills by
    the frames they are (their names hold the frame numbers)."""
    if t.counted:
        return _counted(t)
    pairs = [f"{a.name} ({a.description})" if t.descriptions else a.name
             for a in t.attachments if a.role == "pair"]
    parts = [", ".join(pairs)] if pairs else []
    frames = list(dict.fromkeys(a.frame for a in t.attachments
                                if a.role == "still" and a.frame is not None))
    if any(a.role == "still" for a in t.attachments):
        parts.append(f"the full-size still{'s' if len(frames) > 1 else ''} of "
                     f"frame{'s' if len(frames) > 1 else ''} {_and([str(f) for f in frames])}"
                     if t.stills_listed and frames else "the full-size stills")
    parts += [f"the reference image {a.name}" for a in t.attachments if a.role == "reference"]
    labelled = (" Each image is labelled with its time and frame number."
                if t.labelled and any(a.role != "reference" for a in t.attachments) else "")
    return f"{'; '.join(parts)}.{labelled}"


def _counted(t: Ticket) -> str:
    pairs = sum(1 for a in t.attachments if a.role == "pair")
    stills = sum(1 for a in t.attachments if a.role == "still")
    parts = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in
             ((pairs, "side-by-side pair"), (stills, "full-size still")) if n]
    parts += [f"the reference image {a.name}" for a in t.attachments if a.role == "reference"]
    return f"{_and(parts)}, each labelled with its time and frame number."


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True)
class Cut:
    """One way of shortening a message, and how to say it was done."""

    said: str
    apply: Callable[[Ticket], Ticket]


def _shorten(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def _cuts() -> list[Cut]:
    def note(limit: int) -> Callable[[Ticket], Ticket]:
        return lambda t: replace(t, note=_shorten(t.note, limit))

    def prompt(t: Ticket) -> Ticket:
        return replace(t, facts=tuple(
            replace(x, value=_shorten(x.value, 200) or "") if x.key == "prompt" and x.given
            else x for x in t.facts))

    def words(t: Ticket) -> Ticket:
        return replace(t, moments=tuple(replace(x, what=_shorten(x.what, 80) or "")
                                        for x in t.moments))

    def optional(t: Ticket) -> Ticket:
        dropped = [x for x in t.facts if not x.given and x.key in OPTIONAL]
        names = {MISSING_NAMES[x.key] for x in dropped}
        return replace(t, facts=tuple(x for x in t.facts if x not in dropped),
                       missing=tuple(n for n in t.missing if n not in names))

    def plain_ends(t: Ticket) -> Ticket:
        """The start and end lines, when they say no more than 'start/end of the clip' (the
        pairs and stills still show those frames)."""
        return replace(t, moments=tuple(
            x for x in t.moments if x.label == "mark" or not x.what.startswith(
                ("start of the clip", "end of the clip")) or x.what.startswith(
                "end of the clip;")))

    def shorter_facts(t: Ticket) -> Ticket:
        return replace(t, facts=tuple(
            replace(x, value=_shorten(x.value, 60) or "")
            if x.given and x.key in ("prompt", "model_settings", "generated") else x
            for x in t.facts))

    def reference_line(t: Ticket) -> Ticket:  # the attachment list names it too
        return replace(t, facts=tuple(x for x in t.facts
                                      if not (x.key == "reference" and x.given)))

    return [
        Cut("the names of the full-size stills", lambda t: replace(t, stills_listed=False)),
        Cut("the attachments' descriptions", lambda t: replace(t, descriptions=False)),
        Cut("the sentence saying the images are labelled",
            lambda t: replace(t, labelled=False)),
        *(Cut("the end of the note", note(n)) for n in (1500, 800, 400)),
        Cut("the end of the prompt", prompt),
        Cut("the column alignment of the facts", lambda t: replace(t, aligned=False)),
        Cut("the attachments' names (they are counted instead)",
            lambda t: replace(t, counted=True)),
        Cut("the end of the note", note(200)),
        Cut("the end of long descriptions of moments", words),
        Cut("the end of the note", note(80)),
        Cut("the placeholder lines for what the clip was for and the reference image",
            optional),
        Cut("the note", lambda t: replace(t, note=None)),
        Cut("the reference image's line (the attachments name it)", reference_line),
        Cut("the lines for the first and last frames (the pairs show them)", plain_ends),
        Cut("the end of long facts", shorter_facts),
        Cut("the end of descriptions of moments", lambda t: replace(t, moments=tuple(
            replace(x, what=_shorten(x.what, 40) or "") for x in t.moments))),
    ]


def blanks(t: Ticket) -> list[str]:
    """The [bracketed] parts the user still has to write in, in order."""
    values = [x.value for x in t.facts if not x.given] + [x.what for x in t.moments
                                                         if not x.given]
    return [b for v in values for b in re.findall(r"\[[^\[\]]+\]", v)]


def filled_length(t: Ticket, text: str) -> int:
    """The length of ``text`` (``t`` rendered) once its blanks are typically written in."""
    return len(text) + sum(max(0, BLANK_ROOM.get(b, OTHER_BLANK_ROOM) - len(b))
                           for b in blanks(t))


def blank_room(t: Ticket, text: str) -> int | None:
    """Characters left, within the channel's limit, for what replaces the blanks of
    ``text`` (``t`` rendered); None without a limit or blanks."""
    found = blanks(t)
    if t.limit is None or not found:
        return None
    return t.limit - len(text) + sum(len(b) for b in found)


def fit_message(ticket: Ticket, render: Callable[[Ticket], str]) -> tuple[Ticket, str,
                                                                         list[str]]:
    """The message within its channel's limit once its blanks are filled in: (ticket,
    rendered text, what was cut).

    Cuts go from the least to the most useful to an agent; the ID, the term, the ask
    and every moment's time and frame are never cut. If the blanks cannot be given
    their usual room, the shortest message is kept (the notes say how much room they
    have); if even it does not fit as it is, that is a usage error naming the limit."""
    from .errors import UsageError

    text = render(ticket)
    limit = ticket.limit
    if limit is None or filled_length(ticket, text) <= limit:
        return ticket, text, []
    said: list[str] = []
    for cut in _cuts():
        shorter = cut.apply(ticket)
        if shorter == ticket:
            continue
        ticket = shorter
        if cut.said not in said:
            said.append(cut.said)
        text = render(ticket)
        if filled_length(ticket, text) <= limit:
            return ticket, text, said
    if len(text) <= limit:
        return ticket, text, said
    n = len(ticket.moments)
    raise UsageError(f"the message's essentials (the ask, the facts and {n} "
                     f"moment{'s' if n != 1 else ''}) do not fit the channel's {limit}-character "
                     f"limit: shorten "
                     f"--prompt or --settings, describe each --mark in fewer words, or use "
                     f"fewer marks.")


@dataclass(frozen=True)
class Rendered:
    """The message as written to the bundle."""

    ticket: Ticket
    """As fitted to the channel (what both files show)."""
    text: str
    """ticket.txt"""
    markdown: str
    """ticket.md"""
    shortened: list[str]
    """What was left out to fit the channel, in words."""


def render_message(ticket: Ticket, *, platform_key: str, kind: str,
                   template_dir: str | os.PathLike[str] | None = None) -> Rendered:
    """ticket.txt fitted to the channel's limit, and ticket.md saying the same."""
    from .tickets import render

    def text_of(t: Ticket) -> str:
        return render("ticket.txt.j2", {"ticket": t}, platform_key=platform_key, kind=kind,
                      template_dir=template_dir)

    fitted, text, shortened = fit_message(ticket, text_of)
    markdown = render("ticket.md.j2", {"ticket": fitted}, platform_key=platform_key, kind=kind,
                      template_dir=template_dir)
    return Rendered(fitted, text, markdown, shortened)
