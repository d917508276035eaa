"""Everything for the user and nothing for the agent: where and how to send the message.

These notes become ``data/send.md``, the report's "How to send" panel and the
lines ``build`` prints. They carry what must never be in the message: the
platform's documented policy with its source and status, unverified warnings,
which file to paste, what to fill in::

    notes = send_notes(SendInput(...))
    notes.where, notes.paste, notes.fill_in
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from .catalog import Channel, Fact, Platform
from .message import Ticket
from .route import Route, describe


@dataclass(frozen=True)
class SendNotes:
    where: str
    """The route in plain words: 'Email support@...', 'Discord: #help on ...'."""
    trust: str
    """How sure the route is, with its source and date, and what to check."""
    purpose: str | None
    """What the route is for, when it is not a support desk."""
    paste: str
    """Which file to paste, and where each part goes."""
    steps: tuple[str, ...]
    """The platform's own steps for this route."""
    attach: tuple[str, ...]
    """Files to attach, as paths inside the bundle's data folder."""
    attach_note: str | None
    fill_in: tuple[str, ...]
    private: str | None
    """On a public channel: what to send by direct message instead."""
    others: tuple[str, ...]
    plan_note: str | None
    plan_routes: str | None
    """The plan note without its command-line advice."""
    policy: str
    """The documented policy in one line, with its status, source and date."""
    id_where: str
    notes: tuple[str, ...]
    measured: tuple[str, ...]
    warnings: tuple[str, ...]
    checks: tuple[str, ...]
    """What to check before sending: facts the tool took from elsewhere (the clip's own
    date), then catalog facts last checked over 180 days ago, the route's and the
    policy's first."""


@dataclass(frozen=True)
class SendInput:
    platform: Platform
    route: Route
    ticket: Ticket
    failure_key: str
    plan_key: str | None
    attachments: Sequence[str]
    attachment_notes: Sequence[str]
    measured: Sequence[str]
    warnings: Sequence[str]
    day: dt.date
    checks: Sequence[str] = ()
    room: int | None = None
    """Characters left within the channel's limit for what replaces the message's
    blanks (message.blank_room), or None."""


def send_notes(s: SendInput) -> SendNotes:
    p, route = s.platform, s.route
    channel = route.channel
    return SendNotes(
        where=_where(channel, p) if channel else _no_route(p),
        trust=_trust(channel, p) if channel else "",
        purpose=_PURPOSE_NOTES.get(channel.purpose) if channel else None,
        paste=_paste(route, s.ticket, s.room),
        steps=tuple(channel.steps) if channel else (),
        attach=(tuple(s.attachments) if s.ticket.attachments
                and (channel is None or channel.carries_files) else ()),
        attach_note=_attach_note(route, s.attachment_notes),
        fill_in=s.ticket.missing,
        private=(f"Others can read this route: do not post your {p.account.label.lower()} "
                 f"there; send it privately to the person from {p.short_name} who answers."
                 if route.writes_for and route.writes_for.public else None),
        others=tuple(f"{_where(c, p)}{_tag(c)}" for c in route.others),
        plan_note=route.plan_note,
        plan_routes=route.plan_routes,
        policy=f"{p.refund_policy.summary} ({_provenance(p.refund_policy)})",
        id_where=f"Your {p.id.name}: {p.id.where}",
        notes=tuple(f"{n.text} ({_provenance(n)})"
                    for n in p.notes_for(s.plan_key, s.failure_key)),
        measured=tuple(s.measured),
        warnings=tuple(s.warnings),
        checks=(*s.checks, *_stale(p, route, s.day)),
    )


def _stale(p: Platform, route: Route, day: dt.date) -> tuple[str, ...]:
    from .catalog_rules import stale_facts, stale_line

    first = {id(route.channel), id(p.refund_policy)}
    old = sorted(stale_facts(p, when=day), key=lambda n: id(n.fact) not in first)
    return tuple(stale_line(n) for n in old)


def _where(c: Channel, p: Platform) -> str:
    """The route in words; a form or a site with no address of its own gets the help page."""
    where = describe(c)
    if c.kind == "web-form" and "http" not in c.where and "." not in c.where \
            and p.help_centre:
        where += f" ({p.help_centre})"
    return where


def _no_route(p: Platform) -> str:
    start = p.help_centre or (f"https://{p.domains[0]}" if p.domains else None)
    where = f"; start at {start} and look for a help or contact link" if start else ""
    return f"No support route for {p.name} is documented in the sources this tool relies on{where}."


_PURPOSE_NOTES = {
    "community": "This is a community channel, not a support desk: other users and "
                 "moderators answer, and no one there is documented to grant credits.",
    "feedback": "This is a feedback route: it reaches the product team, and no one there is "
                "documented to answer or to grant credits.",
    "billing": "This route is documented for billing questions; a credit request is one.",
}


def _trust(c: Channel, p: Platform) -> str:
    name = p.short_name
    if c.status == "official":
        return f"From {name}'s own page ({c.source}, checked {c.checked})."
    if c.status == "third-party":
        return (f"From a third-party page, not {name}'s ({c.source}, checked {c.checked}): "
                f"check it on {name}'s own site before sending.")
    why = (c.basis or (f"only a weak source says so: {c.source}" if c.source
                       else "no public source")).rstrip(".")
    look = f" on {p.help_centre}" if p.help_centre else f" on {p.short_name}'s own site"
    return f"Unverified: {why} (checked {c.checked}). Check it{look} before sending."


def _tag(c: Channel) -> str:
    bits = [] if c.purpose == "support" else [f"{c.purpose} route"]
    if c.status == "third-party":
        bits.append("from a third-party page")
    elif c.unverified:
        bits.append("unverified")
    return f" ({', '.join(bits)})" if bits else ""


def _paste(route: Route, t: Ticket, room: int | None = None) -> str:
    channel, writes = route.channel, route.writes_for
    if channel is None:
        return ("No address or form is documented. If you find one: in an email or a form, "
                "the first line of ticket.txt, after 'Subject: ', is the subject and the rest "
                "the message. " + _REPLACE)
    if not channel.carries_text:
        alt = (f" The message in ticket.txt is written for the next route, "
               f"{describe(writes)}." if writes else
               " ticket.txt holds the message for any other route you find.")
        return f"This route takes no text and no files.{alt}"
    kind = t.kind
    if kind in ("email", "none"):
        return ("Open a new email. Copy the first line of ticket.txt, after 'Subject: ', into "
                "the subject; paste the rest into the body. " + _REPLACE)
    if kind == "web-form":
        pick = f" Pick the category '{writes.category}'." if writes and writes.category else ""
        return ("In the form, copy the first line of ticket.txt, after 'Subject: ', into the "
                f"subject field and the rest into the description.{pick} " + _REPLACE)
    limit = "" if not t.limit else f" It fits the {t.limit:,}-character limit." \
        if room is None else f" The box takes {t.limit:,} characters: what you write in " \
        f"place of the [bracketed] parts has {max(0, room):,} between them (shorten the " \
        "prompt first, or give the facts to build and it fits them for you)."
    if kind == "discord":
        where = f" in {writes.post_in}" if writes and writes.post_in else ""
        return f"Paste ticket.txt as one message{where}.{limit} " + _REPLACE
    return f"Paste ticket.txt into the message box.{limit} " + _REPLACE


_REPLACE = ("Replace every [bracketed] part first, or delete its line where it does not apply "
            "(a reference image, for a text-to-video job).")


def _attach_note(route: Route, notes: Sequence[str]) -> str | None:
    channel = route.channel
    if channel is not None and not channel.carries_files:
        return "This route takes no files; keep the bundle in case support asks for it."
    return " ".join(notes) or None


def _provenance(f: Fact) -> str:
    where = (f.source or f.basis or "no public source").rstrip(".")
    word = {"official": "the platform's own page", "third-party": "third-party page, not the "
            "platform's"}.get(f.status, "unverified")
    return f"{word}: {where}, checked {f.checked}"
