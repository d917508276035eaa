"""What the user tells the ticket: marks with words, dates, credits, the profile."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ava_evidence.errors import UsageError
from ava_evidence.facts import (
    MarkSpec,
    TicketFacts,
    from_clip_metadata,
    parse_credits,
    parse_generated,
    parse_mark,
)

from .conftest import ClipStore
from .helpers import run_cli, run_json

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("text", "mark"), [
    ("0:02", MarkSpec("0:02")),
    ("0:02=her eyes begin to move apart", MarkSpec("0:02", "her eyes begin to move apart")),
    ("  f48 =  the ball   drops ", MarkSpec("f48", "the ball drops")),
    ("00:00:02;12=a = b", MarkSpec("00:00:02;12", "a = b")),
    ("end=", MarkSpec("end")),
])
def test_marks_with_and_without_words(text: str, mark: MarkSpec) -> None:
    assert parse_mark(text) == mark


def test_a_mark_without_a_time_is_refused() -> None:
    with pytest.raises(UsageError) as e:
        parse_mark("=the ball")
    assert str(e.value) == ("--mark '=the ball' has no time before '=': write it as TIME=WHAT, "
                            "for example --mark '0:02=the ball passes through the rim'.")


@given(time=st.from_regex(r"[0-9:.fsm]{1,12}", fullmatch=True),
       what=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80))
def test_mark_parsing_keeps_time_and_words(time: str, what: str) -> None:
    words = " ".join(what.split())
    try:
        mark = parse_mark(f"{time}={what}")
    except UsageError:
        assert any(c in what for c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                   "\u2066\u2067\u2068\u2069")
        return
    assert mark.time == time and mark.what == (words or None)


@pytest.mark.parametrize(("text", "shown"), [
    ("2026-11-28", "2026-11-28"),
    ("2026-11-28 14:05", "2026-11-28 14:05"),
    ("2026-11-28T14:05Z", "2026-11-28 14:05 UTC"),
    ("2026-11-28 9:05 utc", "2026-11-28 09:05 UTC"),
    ("2026-11-28T14:05:59.5+01:00", "2026-11-28 14:05 +01:00"),
    ("2026-11-28 14:05 -0330", "2026-11-28 14:05 -03:30"),
])
def test_generated_dates(text: str, shown: str) -> None:
    assert parse_generated(text, now=NOW) == shown


@pytest.mark.parametrize(("text", "message"), [
    ("yesterday", "--generated takes a date, optionally with a time: 2026-11-28 or "
                  "'2026-11-28 14:05' or 2026-11-28T14:05Z (got 'yesterday')."),
    ("2026-02-30", "--generated 2026-02-30 is not a real date and time: check the numbers."),
    ("2026-11-28 25:00", "--generated 2026-11-28 25:00 is not a real date and time: check the "
                         "numbers."),
    ("2027-01-01", "--generated 2027-01-01 is in the future: give the date the clip was "
                   "generated."),
    ("2026-11-28 14:05 +19:00", "--generated has a time zone offset +19:00 that does not "
                                "exist: use an offset such as +01:00, or UTC."),
])
def test_bad_generated_dates(text: str, message: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_generated(text, now=NOW)
    assert str(e.value) == message


@settings(max_examples=200)
@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2026, 11, 29)))
def test_generated_round_trips(moment: dt.datetime) -> None:
    text = moment.strftime("%Y-%m-%d %H:%M")
    assert parse_generated(text, now=NOW) == text
    assert parse_generated(text + "Z", now=NOW) == f"{text} UTC"


def test_credits() -> None:
    assert parse_credits(" 35 ") == "35" and parse_credits("12,5") == "12.5"
    for bad in ("lots", "-3", "1e5", "35 credits"):
        with pytest.raises(UsageError, match="--credits takes the number of credits"):
            parse_credits(bad)


def test_clip_metadata_dates() -> None:
    assert from_clip_metadata("2026-11-28T14:05:00.000000Z") == "2026-11-28 14:05 UTC"
    assert from_clip_metadata("2026-11-28T15:05:00+01:00") == "2026-11-28 14:05 UTC"
    for unset in (None, "", "1970-01-01T00:00:00Z", "1904-01-01T00:00:00Z", "garbage"):
        assert from_clip_metadata(unset) is None


def test_user_text_is_tidied_and_checked() -> None:
    facts = TicketFacts.from_user(account="  me@example.com ", settings="Pro  mode,\n10 s",
                                  prompt="line one\r\nline two", use="", now=NOW)
    assert (facts.account, facts.settings, facts.prompt, facts.use) == (
        "me@example.com", "Pro mode, 10 s", "line one\nline two", None)
    with pytest.raises(UsageError, match="--account contains a control or text-direction"):
        TicketFacts.from_user(account="me\u202e@example.com")
    with pytest.raises(UsageError, match="--settings is 301 characters long; keep it under 300"):
        TicketFacts.from_user(settings="x" * 301)


# -- build with the facts ----------------------------------------------------------------

CLIP = "h264_bframes"


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_facts_and_mark_words_land_everywhere(clips: ClipStore, tmp_path: Path) -> None:
    ref = tmp_path / "portrait.png"
    from PIL import Image

    Image.new("RGB", (32, 24), (200, 30, 30)).save(ref)
    doc = run_json("build", clips.path(CLIP), "--platform", "kling", "--id", "868126542138",
                   "--failure", "physics", "--mark", "0:02=the ball drops through the rim",
                   "--account", "maya@example.com", "--prompt", "a dunk, slow motion",
                   "--generated", "2026-11-28 14:05Z", "--credits", "35", "--model", "Kling 2.1",
                   "--settings", "Professional mode, 5 s", "--use", "a sports ad",
                   "--reference", ref, "-o", tmp_path / "k.zip")
    m = doc["manifest"]
    assert doc["missing"] == [] and m["ticket"]["missing"] == []
    mark = m["frames"][1]
    assert (mark["index"], mark["what"]) == (48, "the ball drops through the rim")
    assert m["pairs"][1]["what"] == "the ball drops through the rim"
    assert m["pairs"][1]["caption"] == "Before and at mark 1: the ball drops through the rim"
    assert m["facts"] == {"account": "maya@example.com", "generated": "2026-11-28 14:05 UTC",
                          "generated_from_clip": False, "model": "Kling 2.1",
                          "settings": "Professional mode, 5 s", "credits": "35",
                          "prompt": "a dunk, slow motion", "use": "a sports ad",
                          "reference": "portrait.png", "details": []}
    members = _members(tmp_path / "k.zip")
    bag = "kling_868126542138_physics/data"
    text = members[f"{bag}/ticket.txt"].decode()
    for value in ("maya@example.com", "a dunk, slow motion", "2026-11-28 14:05 UTC", "35",
                  "Kling 2.1, Professional mode, 5 s", "for a sports ad",
                  "- 0:02 (frame 48): the ball drops through the rim", "portrait.png"):
        assert value in text, value
    assert members[f"{bag}/reference/portrait.png"] == ref.read_bytes()
    assert "reference/portrait.png" in m["attachments"]


def test_bad_reference_images_are_refused(clips: ClipStore, tmp_path: Path) -> None:
    args = ["build", clips.path(CLIP), "--platform", "kling", "--id", "x", "--failure",
            "identity", "-o", tmp_path / "x.zip"]
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    result = run_cli(*args, "--reference", not_image, expect=2)
    assert result.stderr == (f"Error: reference image {not_image} is not an image Pillow can "
                             f"read (UnidentifiedImageError): give the PNG, JPEG or WebP you "
                             f"uploaded.\n")
    result = run_cli(*args, "--reference", tmp_path / "none.png", expect=2)
    assert result.stderr == (f"Error: reference image {tmp_path / 'none.png'} cannot be read "
                             f"(No such file or directory): check the --reference path.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_bad_facts_are_refused_before_any_work(clips: ClipStore, tmp_path: Path) -> None:
    args = ["build", clips.path(CLIP), "--platform", "kling", "--id", "x", "--failure",
            "identity", "-o", tmp_path / "x.zip"]
    result = run_cli(*args, "--credits", "many", expect=2)
    assert result.stderr == ("Error: --credits takes the number of credits the generation used, "
                             "for example --credits 35 (got 'many').\n")
    result = run_cli(*args, "--generated", "2030-01-01", expect=2)
    assert result.stderr.startswith("Error: --generated 2030-01-01 is in the future")
    assert list(tmp_path.iterdir()) == []


def test_generated_comes_from_the_clip_when_not_given(clips: ClipStore, tmp_path: Path) -> None:
    from .clipgen import remux

    tagged = remux(clips.path(CLIP), tmp_path / "tagged.mp4",
                   after=("-metadata", "creation_time=2026-11-27T10:30:00Z"))
    doc = run_json("build", tagged, "--platform", "kling", "--id", "x", "--failure",
                   "identity", "--mark", "1=eyes", "-o", tmp_path / "x.zip")
    facts = doc["manifest"]["facts"]
    assert (facts["generated"], facts["generated_from_clip"]) == ("2026-11-27 10:30 UTC", True)
    text = _members(tmp_path / "x.zip")["kling_x_identity-coherence/data/ticket.txt"].decode()
    assert "Generated:       2026-11-27 10:30 UTC (from the clip's metadata)" in text
    given = run_json("build", tagged, "--platform", "kling", "--id", "x", "--failure",
                     "identity", "--mark", "1=eyes", "--generated", "2026-11-28",
                     "-o", tmp_path / "y.zip")
    assert given["manifest"]["facts"]["generated"] == "2026-11-28"  # the user's word wins


def test_profile_fills_account_and_plan_and_flags_win(clips: ClipStore, tmp_path: Path) -> None:
    assert run_cli("profile", "show").stdout.startswith("No profile yet")
    out = run_cli("profile", "set", "Runway ML", "--account", "maya@example.com", "--plan",
                  "PRO").stdout
    assert out.startswith("Runway: account maya@example.com, plan pro (saved in ")
    assert run_json("profile", "show")["platforms"] == {
        "runway": {"account": "maya@example.com", "plan": "pro"}}
    result = run_cli("build", clips.path(CLIP), "--platform", "runway", "--id", "r1",
                     "--failure", "physics", "--mark", "1=the ball jumps", "-o",
                     tmp_path / "a.zip")
    assert "From your profile: account and plan (change it with 'ava-evidence profile set " \
           "runway')." in result.stdout
    members = _members(tmp_path / "a.zip")
    text = members["runway_r1_physics/data/ticket.txt"].decode()
    manifest = json.loads(members["runway_r1_physics/data/manifest.json"])
    assert manifest["plan"] == "pro" and manifest["plan_from_profile"] is True
    assert manifest["facts"]["account"] == "maya@example.com"
    # Runway's route is its public Discord: the account goes by direct message, not there.
    assert "Plan:            Pro" in text and "maya@example.com" not in text
    # A flag beats the profile.
    doc = run_json("build", clips.path(CLIP), "--platform", "runway", "--id", "r1",
                   "--failure", "physics", "--mark", "1", "--account", "other@example.com",
                   "--plan", "standard", "-o", tmp_path / "b.zip")
    assert doc["manifest"]["plan"] == "standard"
    assert doc["manifest"]["facts"]["account"] == "other@example.com"
    # Unknown plans are refused when set; '' removes a field.
    result = run_cli("profile", "set", "runway", "--plan", "gold", expect=2)
    assert result.stderr == ("Error: unknown plan 'gold' for Runway: use one of free, "
                             "standard, pro, unlimited, enterprise.\n")
    run_cli("profile", "set", "runway", "--plan", "")
    assert run_json("profile", "show")["platforms"] == {
        "runway": {"account": "maya@example.com"}}
    result = run_cli("profile", "set", "runway", expect=2)
    assert result.stderr.startswith("Error: give --account, --plan or both.")


def test_a_broken_profile_names_itself(tmp_path: Path) -> None:
    from ava_evidence.profile import profile_file

    path = profile_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("platforms: [oops\n")
    result = run_cli("profile", "show", expect=2)
    assert result.stderr == (f"Error: {path}: not valid YAML: fix it or remove it "
                             f"(ava-evidence profile set writes a new one).\n")


def test_the_printed_report_path_exists_after_unzipping(clips: ClipStore,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "k.zip"
    lines = run_cli("build", clips.path(CLIP), "--platform", "kling", "--id", "868126",
                    "--failure", "physics", "--mark", "1=the ball jumps", "-o", out,
                    "--quiet").stdout.splitlines()
    unzip = next(line for line in lines if line.startswith("Unzip it where it is: "))
    assert unzip == f"Unzip it where it is: unzip -d {tmp_path} {out}"
    report = next(line for line in lines if line.startswith("  then open "))
    path = Path(report.removeprefix("  then open ").split(" (how to send")[0])
    with zipfile.ZipFile(out) as z:
        z.extractall(tmp_path)
    assert path.is_file() and path.name == "report.html"
    attach = lines[lines.index(f"Attach, from {path.parent}/:") + 1].strip().split(", ")
    assert all((path.parent / a).is_file() for a in attach)
    # read top to bottom: the folder the files come from is made before they are named
    assert lines.index(unzip) < lines.index(f"Attach, from {path.parent}/:")
    assert lines.index(unzip) < next(i for i, s in enumerate(lines) if s.startswith("Send: "))


def test_warnings_that_do_not_stop_the_build(clips: ClipStore, tmp_path: Path) -> None:
    args = ["build", clips.path(CLIP), "--platform", "kling", "--id", "x", "-o"]
    result = run_cli(*args, tmp_path / "a.zip", "--failure", "identity")
    assert result.stderr == ("Warning: support asks when the Identity Coherence Failure first "
                             "appears: add --mark TIME=WHAT at the moment it first shows (or "
                             "--auto to measure it).\n")
    result = run_cli(*args, tmp_path / "b.zip", "--failure", "audio", "--mark",
                     "1=her lips move, no sound")
    assert result.stderr == ("Warning: h264_bframes.mp4 has no sound, so the bundle cannot show "
                             "the Audio-Visual Desynchronisation: download the clip again with "
                             "its sound, and describe what you heard with --note.\n")


def test_a_discontinued_platform_is_refused_with_its_date_and_what_remains(
        clips: ClipStore, tmp_path: Path) -> None:
    result = run_cli("build", clips.path(CLIP), "--platform", "sora", "--id", "s_1",
                     "--failure", "identity", "-o", tmp_path / "s.zip", expect=2)
    assert result.stderr.startswith("Error: OpenAI Sora is discontinued (since 2026-09-24), so "
                                    "no credit request can be sent there. Only OpenAI's general "
                                    "support remains")
    assert "help.openai.com" in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_route_without_text_or_files_says_so_and_lists_nothing_to_attach(
        clips: ClipStore, tmp_path: Path) -> None:
    out = run_cli("build", clips.path(CLIP), "--platform", "veo", "--plan", "workspace",
                  "--id", "https://gemini.google.com/app/abc", "--failure", "identity",
                  "--mark", "1=her face changes", "-o", tmp_path / "v.zip").stdout
    assert "Send: In-app: Gemini app, thumbs down on the response" in out
    assert ("Paste: This route takes no text and no files. ticket.txt holds the message for "
            "any other route you find.") in out
    assert "Attach, from" not in out
    assert "  This route takes no files; keep the bundle in case support asks for it." in out


def test_report_opens_an_email_with_subject_and_body(clips: ClipStore, tmp_path: Path) -> None:
    from urllib.parse import parse_qs, unquote, urlsplit

    run_cli("build", clips.path(CLIP), "--platform", "kling", "--id", "k1", "--failure",
            "physics", "--mark", "1=the ball jumps", "-o", tmp_path / "k.zip")
    members = _members(tmp_path / "k.zip")
    html = members["kling_k1_physics/data/report.html"].decode()
    text = members["kling_k1_physics/data/ticket.txt"].decode()
    import html as html_lib

    href = html_lib.unescape(html.split('<a href="mailto:', 1)[1].split('"', 1)[0])
    parts = urlsplit("mailto:" + href)
    assert unquote(parts.path) == "support@klingai.com"
    query = parse_qs(parts.query)
    subject, body = text.split("\n\n", 1)
    assert query["subject"] == [subject.removeprefix("Subject: ")]
    assert query["body"] == [body]


def test_review_findings_stay_fixed(clips: ClipStore, tmp_path: Path) -> None:
    """What the second ticket review found, each checked where a user meets it."""
    base = ["build", clips.path(CLIP), "--id", "g1", "-o"]
    # A community forum is public too: no account email there.
    doc = run_json(*base, tmp_path / "f.zip", "--platform", "firefly", "--failure", "physics",
                   "--mark", "1=the cup floats", "--account", "maya@example.com")
    text = _members(tmp_path / "f.zip")["firefly_g1_physics/data/ticket.txt"].decode()
    assert doc["manifest"]["ticket"]["kind"] == "web" and "maya@example.com" not in text
    assert "Could someone from the Adobe Firefly team review it" in text
    # No documented route: no "open a new email" with nowhere to send it.
    out = run_cli(*base, tmp_path / "h.zip", "--platform", "hailuo", "--failure", "physics",
                  "--mark", "1=x").stdout
    assert "Paste: No address or form is documented. If you find one" in out
    assert "Hello Hailuo support," in _members(tmp_path / "h.zip")[
        "hailuo_g1_physics/data/ticket.txt"].decode()  # the short name, not "(MiniMax)"
    # A line the route asks for can be given; an unknown one is refused before any work.
    doc = run_json(*base, tmp_path / "p.zip", "--platform", "pika", "--failure", "physics",
                   "--mark", "1=x", "--detail", "pika user id=pk-7731")
    assert "Pika User ID" not in doc["missing"]
    assert "Pika User ID:    pk-7731" in _members(tmp_path / "p.zip")[
        "pika_g1_physics/data/ticket.txt"].decode()
    result = run_cli(*base, tmp_path / "q.zip", "--platform", "kling", "--failure", "physics",
                     "--mark", "1", "--detail", "Order=5", expect=2)
    assert result.stderr == ("Error: --detail 'Order' is not a line Kling AI's routes ask for; "
                             "they ask for nothing more than the usual facts.\n")
    # A prompt-adherence ticket that says nothing about what is wrong is flagged.
    result = run_cli(*base, tmp_path / "r.zip", "--platform", "kling", "--failure", "prompt",
                     "--prompt", "a red ball")
    assert result.stderr == ("Warning: the message does not say what goes wrong: add --mark "
                             "TIME=WHAT where it shows, or describe it with --note.\n")
    # An email that runs long is flagged, not sent silently.
    result = run_cli(*base, tmp_path / "s.zip", "--platform", "kling", "--failure", "physics",
                     "--mark", "1=x", "--note", "The ball goes through the rim again. " * 40)
    assert result.stderr.startswith("Warning: the message is ")
    assert "words long; agents answer short ones first" in result.stderr
    # A discontinued platform has nothing to keep a profile for.
    result = run_cli("profile", "set", "sora", "--account", "a@b.c", expect=2)
    assert result.stderr.startswith("Error: OpenAI Sora is discontinued (since 2026-09-24)")


def test_without_a_plan_the_summary_names_the_plans_that_change_the_route(
        clips: ClipStore, tmp_path: Path) -> None:
    result = run_cli("build", clips.path(CLIP), "--platform", "pixverse", "--id", "p1",
                     "--failure", "physics", "--mark", "1=the ball jumps", "-o",
                     tmp_path / "p.zip")
    out = result.stdout
    assert ("  The route depends on your plan: on API platform, Email api@pixverse.ai. No plan "
            "was given, so this bundle is written for Discord: https://discord.gg/pixverse; add "
            "--plan (for example --plan api) or set it once with 'ava-evidence profile set "
            "pixverse --plan api'.") in out.splitlines()
    text = _members(tmp_path / "p.zip")["pixverse_p1_physics/data/ticket.txt"].decode()
    import re

    assert not re.search(r"\b(Plan|API platform|Web or mobile app)\b", text)
    # Runway documents no route that depends on the plan: no plan note, no plan in the text.
    result = run_cli("build", clips.path(CLIP), "--platform", "runway", "--id", "r1",
                     "--failure", "physics", "--mark", "1=the ball jumps", "-o",
                     tmp_path / "r.zip")
    assert "The route depends on your plan" not in result.stdout
    text = _members(tmp_path / "r.zip")["runway_r1_physics/data/ticket.txt"].decode()
    assert not re.search(r"\b(Plan|Free|Standard|Pro|Unlimited|Enterprise)\b", text)
