"""Messages made from plain values (no clip), as build makes them: for lint and goldens."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ava_evidence.catalog import Failure, Platform, load_catalog
from ava_evidence.compose import Caption
from ava_evidence.facts import TicketFacts
from ava_evidence.frameplan import PairPlan
from ava_evidence.message import (
    PLACEHOLDERS,
    Attached,
    MessageInput,
    Moment,
    Rendered,
    build_message,
    frame_words,
    render_message,
)
from ava_evidence.route import Route, route_for
from ava_evidence.timecode import format_short

ALL_FIELDS = TicketFacts(account="maya@example.com", generated="2026-11-28 14:05 UTC",
                         model="Kling 2.1 Master", settings="Professional mode, 5 s, 1080p",
                         credits="35", prompt="Woman in a red dress smiling at the camera",
                         use="a client portrait", reference="portrait.png",
                         details=(("Pika User ID", "pk-7731"), ("Account ID", "pv-1"),
                                  ("Ai-trace-id", "tr-99")))
WHAT = "her eyes begin to move apart"


@dataclass(frozen=True)
class Made:
    rendered: Rendered
    platform: Platform
    route: Route
    facts: TicketFacts

    @property
    def ticket(self):  # type: ignore[no-untyped-def]
        return self.rendered.ticket


def moments(failure: Failure, what: str | None = WHAT, marks: int = 1) -> list[Moment]:
    out = [Moment("start", 0, 0.0, "0:00", frame_words("start", failure), True)]
    for n in range(marks):
        index = 39 + n * 5
        out.append(Moment("mark", index, index / 24, format_short(index / 24),
                          what or PLACEHOLDERS["what"], what is not None))
    out.append(Moment("end", 95, 95 / 24, "0:03.959", frame_words("end", failure), True,
                      last=True))
    return out


def attachments(failure: Failure, reference: bool) -> list[Attached]:
    """What build attaches for one mark at frame 39, described by build's own words."""
    def cap(label: str, i: int) -> Caption:
        return Caption(label, i, Fraction(i, 24))

    gradual = failure.evidence.change == "gradual"
    pairs = [PairPlan("pairs/01_start-end.png", "start-end", cap("START", 0), cap("END", 95)),
             PairPlan("pairs/02_mark1_f000039.png", "base-mark" if gradual else "before-mark",
                      cap("START OF SHOT" if gradual else "BEFORE", 0 if gradual else 38),
                      cap("MARK 1", 39))]
    out = [Attached(Path(p.file).name, p.file, p.description(), "pair") for p in pairs]
    out += [Attached(name, f"frames/{name}", "still", "still", frame)
            for name, frame in (("start_f000000_0.000s.png", 0),
                                ("mark1_f000039_1.625s.png", 39),
                                ("end_f000095_3.959s.png", 95))]
    if reference:
        out.append(Attached("portrait.png", "reference/portrait.png", "reference image",
                            "reference"))
    return out


def message_for(platform: str = "kling", failure: str = "physics", *, plan: str | None = None,
                facts: TicketFacts | None = None, what: str | None = WHAT, marks: int = 1,
                generation_id: str = "gen-123", link: str | None = None,
                note: str | None = None, template_dir: object = None) -> Made:
    catalog = load_catalog(use_user_file=False)
    p = catalog.platform(platform)
    fail = catalog.failure(failure)
    plan_key, plan_name = p.resolve_plan(plan)
    route = route_for(p, plan_key, plan_given=plan_name is not None)
    given = facts or TicketFacts()
    if note is not None:
        given = TicketFacts(**{**given.__dict__, "note": note})
    ticket = build_message(MessageInput(p, fail, route, generation_id, link, plan_name, given,
                                        moments(fail, what, marks),
                                        attachments(fail, given.reference is not None)))
    return Made(render_message(ticket, platform_key=p.key, kind=route.kind,
                               template_dir=template_dir),  # type: ignore[arg-type]
                p, route, given)
