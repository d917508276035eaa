"""The message an agent reads: a lint over every platform, goldens per channel kind, fitting."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ava_evidence.catalog import CHANNEL_KINDS, load_catalog
from ava_evidence.errors import UsageError
from ava_evidence.facts import TicketFacts
from ava_evidence.message import PLACEHOLDERS, blank_room, blanks, filled_length

from .messages import ALL_FIELDS, WHAT, message_for

GOLDEN = Path(__file__).parent / "golden"
CATALOG = load_catalog(use_user_file=False)
ACTIVE = sorted(k for k, p in CATALOG.platforms.items() if p.discontinued is None)
FAILURE_KEYS = sorted(CATALOG.failures)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s)>\]]+|\b[\w-]+(?:\.[\w-]+)+/[^\s)>\]]*",
                  re.IGNORECASE)
_MD_ESCAPE = re.compile(r"\\[\\`*_{}\[\]()#+\-.!|<>~]")
ADDRESSED_TO_USER = ("unverified", "for you", "check it", "ava-evidence", "sha256", "sha-256",
                     "third-party", "fill in", "replace every")
NOT_FOR_AN_AGENT = ("policy", "severity", "critical", "minor", "non-refundable",
                    "frame numbers count", "the model has no")


def _plan_for(platform: str) -> str | None:
    """The first plan; None where the catalog has no plans (a plan there is refused)."""
    plans = CATALOG.platforms[platform].plans
    return next(iter(plans.tiers)) if plans else None


def _hosts(text: str) -> list[str]:
    hosts = []
    for url in _URL.findall(text):
        host = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE).split("/")[0]
        hosts.append(host.lower().removeprefix("www."))
    return hosts


@pytest.mark.parametrize("fields", ["all", "none"])
@pytest.mark.parametrize("plan_given", [True, False])
@pytest.mark.parametrize("failure", ["identity", "physics", "flicker"])
@pytest.mark.parametrize("platform", ACTIVE)
def test_message_lint(platform: str, failure: str, plan_given: bool, fields: str) -> None:
    facts = ALL_FIELDS if fields == "all" else TicketFacts()
    plan = _plan_for(platform) if plan_given else None
    made = message_for(platform, failure, plan=plan, facts=facts,
                       what=WHAT if fields == "all" else None)
    ticket, text, md = made.ticket, made.rendered.text, made.rendered.markdown
    public = bool(made.route.writes_for and made.route.writes_for.public)
    domains = made.platform.domains
    for body in (text, md):
        lowered = body.lower()
        for host in _hosts(body):
            assert any(host == d or host.endswith("." + d) for d in domains), host
        for word in ADDRESSED_TO_USER + NOT_FOR_AN_AGENT:
            assert word not in lowered, word
        assert made.platform.refund_policy.summary[:40] not in body
        assert not re.search(r"\)\s*\(|\(\(|\)\)", body), "doubled parentheses"
        for key in [k for k in CHANNEL_KINDS if "-" in k] + [k for k in CATALOG.failures]:
            assert key not in body, key
        assert not re.search(r"(?<![#./])\bdiscord\b", body), "a kind key used as a word"
        assert ticket.term in body and "gen-123" in body
        # The term is named in the subject and the heading, not five times.
        assert body.count(ticket.term) == (2 if ticket.subject else 1)
    assert not _MD_ESCAPE.search(text), _MD_ESCAPE.search(text)
    if ticket.kind in ("email", "web-form", "none"):
        assert len(text.split()) <= 260
        assert text.startswith("Subject: Credit request \u2013 ")
    if ticket.limit is not None:
        assert len(text) <= ticket.limit
    # Each given field verbatim; each missing one as its placeholder, and listed.
    shown = {"account": facts.account, "generated": facts.generated, "model": facts.model,
             "settings": facts.settings, "credits": facts.credits, "prompt": facts.prompt,
             "use": facts.use, "reference": facts.reference}
    usage = made.platform.usage
    for key, value in shown.items():
        if (key == "account" and public) or (key == "credits" and usage is None):
            continue
        if key == "credits" and value is None:
            assert f"{usage.label}:" in text and usage.placeholder in text
            continue
        if value is not None:
            assert value in text and value in md, key
        elif key == "account":
            assert made.platform.account.placeholder in text
            assert made.platform.account.label.lower() in [m.lower() for m in ticket.missing]
        elif not made.rendered.shortened or key not in ("use", "reference", "settings"):
            assert PLACEHOLDERS[key] in text, key
    assert bool(ticket.missing) == (fields == "none")
    if public:
        assert "maya@example.com" not in text + md
        assert "I'll send my account details by direct message." in text
    # A plan is stated only when the user gave it.
    if plan_given and made.platform.plans is not None:
        assert "Plan:" in text and made.platform.plans.tiers[plan] in text
    elif not plan_given:
        assert "Plan:" not in text
        for name in (made.platform.plans.tiers.values() if made.platform.plans else ()):
            assert f" {name} " not in text.replace("\n", " "), name


def test_every_platform_is_linted() -> None:
    assert len(ACTIVE) >= 16 and "sora" not in ACTIVE


def test_without_a_plan_states_none_and_says_which_plans_change_the_route() -> None:
    made = message_for("pixverse", "physics")
    assert "Plan" not in made.rendered.text and "API platform" not in made.rendered.text
    note = made.route.plan_note or ""
    assert note.startswith("The route depends on your plan: on API platform, Email "
                           "api@pixverse.ai.")
    assert "add --plan (for example --plan api)" in note
    api = message_for("pixverse", "physics", plan="api")
    assert api.route.channel is not None and api.route.channel.key == "api-email"
    assert api.route.plan_note is None and "Plan:" in api.rendered.text
    # Runway documents the same routes for every plan: the plan is stated, the route stays.
    pro = message_for("runway", "physics", plan="pro")
    assert pro.route.channel is not None and pro.route.channel.key == "discord"
    assert pro.route.plan_note is None and "Plan:" in pro.rendered.text
    assert message_for("runway", "physics").route.plan_note is None


def test_a_route_that_takes_no_text_sends_the_message_elsewhere_and_attaches_nothing() -> None:
    made = message_for("veo", "identity", plan="workspace")
    assert made.route.channel is not None and not made.route.channel.carries_text
    assert made.route.writes_for is None  # nothing else serves work accounts
    assert made.ticket.kind == "none" and made.ticket.attachments
    personal = message_for("veo", "identity", plan="personal")
    assert personal.route.channel is not None and personal.route.channel.carries_text


def test_ask_comes_first_and_the_decision_is_theirs() -> None:
    text = message_for("kling", "identity", facts=ALL_FIELDS).rendered.text
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("Subject: Credit request \u2013 Identity Coherence Failure "
                                    "\u2013 Task ID gen-123")
    assert paragraphs[1] == "Hello Kling AI support,"
    assert paragraphs[2].endswith("Could you review it for a credit or a free re-run?")
    assert "for a client portrait" in paragraphs[2]
    assert paragraphs[-1].strip() == ("I understand credits for completed generations are at "
                                      "your discretion. Thank you for looking.")


@pytest.mark.parametrize(("name", "platform", "failure", "plan", "facts"), [
    ("email", "kling", "identity", None, ALL_FIELDS),
    ("chat", "heygen", "physics", None, TicketFacts(account="maya@example.com", credits="12")),
    ("discord", "runway", "physics", None, ALL_FIELDS),
    ("web-form", "midjourney", "flicker", None, TicketFacts()),
])
def test_golden_messages(name: str, platform: str, failure: str, plan: str | None,
                         facts: TicketFacts) -> None:
    """One hand-checked message per channel kind: a wording change shows as a diff here.
    Set AVA_UPDATE_GOLDEN=1 to rewrite them (then read the diff before committing)."""
    made = message_for(platform, failure, plan=plan, facts=facts,
                       what=WHAT if failure == "identity" else "the ball passes through the rim")
    assert made.ticket.kind == name
    for suffix, body in (("txt", made.rendered.text), ("md", made.rendered.markdown)):
        golden = GOLDEN / f"{name}.{suffix}"
        if os.environ.get("AVA_UPDATE_GOLDEN"):
            golden.write_text(body, encoding="utf-8")
        assert body == golden.read_text(encoding="utf-8")


def test_chat_message_fits_1000_characters_once_its_blanks_are_filled() -> None:
    """Review (round 45): a chat message that fits 1000 characters only while its blanks
    are empty (990 with them) overflows once they are filled, so each blank counts for the
    room its value usually takes (a prompt 150). With nothing given, the optional lines
    are cut to make that room, and the rest of the blanks stay to fill."""
    made = message_for("heygen", "identity", what=None)
    ticket, text = made.rendered.ticket, made.rendered.text
    assert ticket.limit == 1000 and filled_length(ticket, text) <= 1000
    assert len(text) + 137 + 5 + 9 + 10 <= 1000  # the prompt's, date's, model's, email's room
    for key in ("generated", "credits", "prompt", "settings", "what"):
        assert PLACEHOLDERS[key] in text, key
    assert PLACEHOLDERS["use"] not in text and PLACEHOLDERS["reference"] not in text
    assert "the placeholder lines for what the clip was for and the reference image" in \
        made.rendered.shortened
    assert blank_room(ticket, text) == 1000 - len(text) + sum(len(b) for b in blanks(ticket))


def test_the_room_left_for_the_blanks_is_said_where_the_box_has_a_limit() -> None:
    from ava_evidence.send import _paste

    made = message_for("heygen", "identity", what=None)
    room = blank_room(made.rendered.ticket, made.rendered.text)
    assert room is not None and room >= 150 + 20 + 16 + 30
    said = _paste(made.route, made.rendered.ticket, room)
    assert f"The box takes 1,000 characters: what you write in place of the [bracketed] " \
        f"parts has {room:,} between them" in said
    full = message_for("heygen", "physics", facts=ALL_FIELDS, what="the ball passes through")
    assert blank_room(full.rendered.ticket, full.rendered.text) is None
    assert "It fits the 1,000-character limit." in _paste(full.route, full.rendered.ticket)


def test_blanks_that_cannot_get_their_room_keep_the_shortest_message() -> None:
    """Many marks without words: the blanks cannot all get their usual room, but the
    message as it is fits, so it is kept shortest (the notes say the room left), not
    refused."""
    made = message_for("heygen", "physics", marks=6, what=None)
    ticket, text = made.rendered.ticket, made.rendered.text
    assert len(text) <= 1000 < filled_length(ticket, text)
    assert "the lines for the first and last frames (the pairs show them)" in \
        made.rendered.shortened  # every cut that shortens it was made


def test_a_long_note_is_shortened_last_and_said() -> None:
    made = message_for("runway", "physics", note="The ball goes through the rim. " * 200)
    text = made.rendered.text
    assert len(text) <= 2000
    assert "The ball goes through the rim." in text and "…" in text
    assert made.rendered.shortened[-1] == "the end of the note"
    for essential in ("gen-123", "Physics Prior Degeneration", "- 0:00 (frame 0)",
                      "- 0:01.625 (frame 39)", "- 0:03.959 (frame 95, last frame)"):
        assert essential in text


@settings(max_examples=40, deadline=None)
@given(note=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=3000),
       gid=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                   max_size=200).filter(str.strip))
def test_discord_text_always_fits_and_keeps_the_essentials(note: str, gid: str) -> None:
    from ava_evidence.facts import clean_block

    try:
        cleaned = clean_block(note, "--note", 8000) or None
    except UsageError:
        return  # direction overrides are refused where they enter
    made = message_for("runway", "physics", generation_id=" ".join(gid.split()), note=cleaned)
    text = made.rendered.text
    assert len(text) <= 2000
    assert " ".join(gid.split()) in text and "Physics Prior Degeneration" in text
    assert "(frame 39)" in text and "(frame 95, last frame)" in text


def test_too_many_marks_for_the_limit_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="do not fit the channel's 1000-character limit"):
        message_for("heygen", "physics", marks=40, what="x" * 200)


@pytest.mark.parametrize("platform", ["veo", "heygen"])
def test_a_full_ticket_with_three_marks_fits_a_chat_box(platform: str) -> None:
    """Review 2: three short marks and every fact must still fit 1000 characters. (Runway's
    chat box, the help widget, came only from a seed page and is gone.)"""
    facts = TicketFacts(**{**ALL_FIELDS.__dict__,
                           "prompt": "A woman turns to the camera and smiles, soft window "
                                     "light, 35mm", "settings": "Professional mode, 10 s, 1080p"})
    made = message_for(platform, "identity", facts=facts, marks=3,
                       what="her face looks like a different person")
    text = made.rendered.text
    assert made.ticket.limit == 1000 and len(text) <= 1000
    assert text.count("her face looks like a different person") == 3
    assert "maya@example.com" in text and "Could you review it" in text


def test_hostile_text_stays_literal() -> None:
    hostile = "{{ 7*7 }} {% raw %}<script>alert('x')</script> `code` **bold** </td>"
    made = message_for("luma", "physics", generation_id="id<script>{{7*7}}</script>",
                       facts=TicketFacts(model="<img src=x onerror=alert(1)>", prompt=hostile),
                       note=hostile)
    text, md = made.rendered.text, made.rendered.markdown
    assert "49" not in text and "49" not in md
    assert hostile in text  # the plain text shows it exactly
    assert "`id<script>{{7*7}}</script>`" in md
    assert "<img" not in md.replace("\\<img", "")  # escaped in Markdown prose


def test_a_link_given_as_the_id_is_shown_beside_it() -> None:
    made = message_for("runway", "physics", generation_id="4d1e", link="https://app.runwayml.com/x")
    assert "Task ID:         4d1e (https://app.runwayml.com/x)" in made.rendered.text


def test_a_link_given_for_the_id_is_called_a_link() -> None:
    made = message_for("kling", "physics", generation_id="https://klingai.com/share/abc123")
    text = made.rendered.text
    assert text.startswith("Subject: Credit request \u2013 Physics Prior Degeneration \u2013 "
                           "Kling AI generation\n")
    assert "Generation link: https://klingai.com/share/abc123" in text
    assert "Task ID" not in text


def test_a_bare_usage_number_gets_the_unit_its_blank_names() -> None:
    """Review (round 45): Midjourney's '--credits 20' read 'GPU time used: 20', no unit."""
    def usage_line(platform: str, credits: str) -> str:
        text = message_for(platform, "physics", facts=TicketFacts(credits=credits)).rendered.text
        return next(line for line in text.splitlines() if " used:" in line)

    assert usage_line("midjourney", "20") == "GPU time used:   20 GPU minutes"
    assert usage_line("midjourney", "0.5 hours") == "GPU time used:   0.5 hours"
    assert usage_line("heygen", "12") == "Credits used:    12"  # the label names the unit
    assert usage_line("ltx", "40") == "Computing seconds used: 40"
