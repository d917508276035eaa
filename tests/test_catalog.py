"""The catalog: shipped data validates, lookups, user files, exact errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ava_evidence.catalog import STATUSES, CatalogError, load_catalog, user_catalog_file
from ava_evidence.errors import UsageError
from ava_evidence.resources import data_path

from .helpers import run_cli, run_json

REQUIRED = ("kling", "runway", "luma", "pika", "sora", "veo", "hailuo", "pixverse", "midjourney",
            "higgsfield", "ltx", "vidu", "firefly")


def _facts(node: object, path: str = ""):  # type: ignore[no-untyped-def]
    """Every mapping in the raw YAML that states a fact (has a checked date)."""
    if isinstance(node, dict):
        if "checked" in node:
            yield path, node
        for k, v in node.items():
            yield from _facts(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _facts(v, f"{path}[{i}]")


def test_shipped_catalog_is_complete() -> None:
    import datetime as dt

    catalog = load_catalog()
    assert set(REQUIRED) <= set(catalog.platforms)
    assert {"identity-coherence", "physics"} <= set(catalog.failures)
    assert len(catalog.failures) >= 9
    raw = yaml.safe_load(data_path("channels.yaml").read_text())
    facts = list(_facts(raw["platforms"])) + list(_facts(raw["limits"]))
    assert len(facts) > 100
    for path, fact in facts:
        assert fact["status"] in STATUSES, path
        if "source" in fact:
            assert re.match(r"^https://[a-z0-9.-]+\.[a-z]{2,}/?", fact["source"]), path
        else:
            assert fact["status"] == "unverified" and fact.get("basis"), path
        assert dt.date(2026, 1, 1) <= fact["checked"] <= dt.date(2026, 11, 30), path
    for key in REQUIRED:
        platform = catalog.platforms[key]
        assert platform.refund_policy.summary and platform.id.name and platform.domains


def test_traps_from_the_research() -> None:
    catalog = load_catalog()
    raw = yaml.safe_load(data_path("channels.yaml").read_text())
    shown = yaml.safe_dump(raw["platforms"])
    # Addresses of clone sites and unrelated companies never appear outside 'sites:'.
    for bad in ("support@runway.team", "hi@pika.style", "sora-support@openai.com",
                "service@hailuoai.com", "support@hailuoai.video", "kling-4.net", "klingo1"):
        assert bad not in shown
    assert catalog.sites["kling-4.net"] == "look-alike"
    kling_email = catalog.platform("kling").channels[0]
    assert kling_email.where == "support@klingai.com" and kling_email.unverified
    runway = catalog.platform("runway").refund_policy
    assert runway.covers_quality is False and runway.status == "official"
    assert "generation error" in runway.summary
    # A policy is never sourced from a reseller, gateway, chargeback or look-alike site.
    for p in catalog.platforms.values():
        source = p.refund_policy.source or ""
        host = re.sub(r"^https://([^/]+).*", r"\1", source)
        assert not any(host == d or host.endswith("." + d) for d in catalog.sites), p.key
    assert catalog.platform("sora").discontinued is not None


def test_seed_ratings_are_third_party() -> None:
    catalog = load_catalog()
    identity, physics = catalog.failure("identity"), catalog.failure("physics")
    assert identity.term == "Identity Coherence Failure" and identity.severity == "critical"
    assert physics.term == "Physics Prior Degeneration" and physics.severity == "major"
    assert identity.strength["kling"].rating == "high"
    assert physics.strength["kling"].rating == "moderate"
    assert {identity.strength["kling"].status, physics.strength["kling"].status} == {"unverified"}
    assert identity.evidence.min_marks == 0 and physics.evidence.min_marks == 1


@pytest.mark.parametrize(("text", "key"), [
    ("kling", "kling"), ("KLING", "kling"), ("Kling AI", "kling"), ("runwayml", "runway"),
    ("Gen-4", "runway"), ("dream machine", "luma"), ("MiniMax", "hailuo"), ("veo3", "veo"),
])
def test_platform_lookup(text: str, key: str) -> None:
    assert load_catalog().platform(text).key == key


@pytest.mark.parametrize(("text", "key"), [
    ("identity-coherence", "identity-coherence"), ("Identity", "identity-coherence"),
    ("physics", "physics"), ("Physics Prior Degeneration", "physics"), ("HANDS", "anatomy"),
])
def test_failure_lookup(text: str, key: str) -> None:
    assert load_catalog().failure(text).key == key


def test_unknown_names_list_closest_first() -> None:
    catalog = load_catalog()
    with pytest.raises(UsageError) as e:
        catalog.platform("klingg")
    assert str(e.value) == (
        "unknown platform 'klingg': did you mean kling? known: kling, dreamina, firefly, "
        "freepik, grok, hailuo, heygen, higgsfield, ltx, luma, midjourney, pika, pixverse, "
        "runway, sora, veo, vidu (see 'ava-evidence platforms').")
    with pytest.raises(UsageError) as e:
        catalog.failure("zzz")
    assert str(e.value).startswith("unknown failure 'zzz': known: anatomy, audio-desync, ")
    with pytest.raises(UsageError) as e:  # 'noise' (an alias) is not what 'nonsense' meant
        catalog.failure("nonsense")
    assert str(e.value).startswith("unknown failure 'nonsense': known: anatomy, ")
    with pytest.raises(UsageError) as e:
        catalog.failure("flicer")
    assert str(e.value).startswith("unknown failure 'flicer': did you mean temporal-flicker? ")
    assert e.value.exit_code == 2


def test_plans_and_channels_per_plan() -> None:
    runway = load_catalog().platform("runway")
    assert runway.resolve_plan(None) == (None, None)  # a plan is never assumed
    assert runway.resolve_plan("PRO") == ("pro", "Pro")
    # Runway documents no route that depends on the plan (its help widget came only from
    # a seed page and is gone): every plan has the same routes.
    for plan in ("free", "pro"):
        assert [c.key for c in runway.channels_for(plan)] == ["discord", "send-feedback"]
    pixverse = load_catalog().platform("pixverse")
    assert "api-email" in [c.key for c in pixverse.channels_for("api")]
    assert "api-email" not in [c.key for c in pixverse.channels_for("app")]
    with pytest.raises(UsageError, match=re.escape("unknown plan 'gold' for Runway: use one "
                                                   "of free, standard, pro, unlimited, "
                                                   "enterprise.")):
        runway.resolve_plan("gold")
    # A platform without documented tiers has none to choose from (test_catalog_plans.py).
    with pytest.raises(UsageError, match="has no plans to choose from"):
        load_catalog().platform("luma").resolve_plan("Unlimited yearly")


def test_share_url_gives_the_id() -> None:
    sora = load_catalog().platform("sora")
    assert sora.id_from("https://sora.chatgpt.com/p/s_68a1b2c3d4?ref=x") == "s_68a1b2c3d4"
    assert sora.id_from("  video_abc123  ") == "video_abc123"
    runway = load_catalog().platform("runway")
    assert runway.id_from("https://example.com/x") == "https://example.com/x"


def test_ids_of_an_unusual_form_raise_a_doubt() -> None:
    catalog = load_catalog()
    sora, runway, kling = (catalog.platform(k) for k in ("sora", "runway", "kling"))
    assert sora.id_doubt("s_68a1b2c3d4") is None and sora.id_doubt("video_x1") is None
    assert sora.id_doubt("68a1b2c3d4") is not None
    assert runway.id_doubt("3F2A9C1E-77B0-4C1D-9E2F-0123456789AB") is None
    assert runway.id_doubt("https://app.runwayml.com/x") is None  # a link, as its web app gives
    assert runway.id_doubt("3f2a9c1e") is not None
    assert kling.id_doubt("anything at all") is None  # no documented form
    # A link is read where the platform's link form is known, with or without https://.
    for link in ("sora.chatgpt.com/p/s_68a1b2c3", "HTTPS://Sora.ChatGPT.com/p/s_68a1b2c3?x=1"):
        assert sora.id_from(link) == "s_68a1b2c3"
    for other in ("https://sora.chatgpt.com/p/s_", "app.runwayml.com/assets/x"):
        assert sora.id_from(other) == other
        assert (sora.id_doubt(other) or "").startswith(
            f'"{other}" is a link, but not one of OpenAI Sora\'s links the tool can read the '
            f"ID from, so the whole link is used as the ID; ")


GOOD_PLATFORM = """
platforms:
  acme:
    name: Acme Video
    aliases: [acmevid]
    help_centre: https://help.example.com
    id: {name: job ID, where: Job page, source: https://help.example.com/id,
         checked: 2026-10-01, status: official}
    channels:
      - key: email
        kind: email
        where: help@example.com
        limits: email
        source: https://help.example.com/contact
        checked: 2026-10-01
        status: official
    refund_policy: {summary: Failed jobs are refunded., covers_quality: false,
                    source: https://help.example.com/refunds, checked: 2026-10-01,
                    status: official}
"""


def test_user_file_adds_a_platform(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(GOOD_PLATFORM)
    catalog = load_catalog(extra)
    assert catalog.platform("acmevid").name == "Acme Video"
    assert "kling" in catalog.platforms
    doc = run_json("platforms", "acme", "--channels", extra)
    assert doc["platforms"][0]["channels"][0]["where"] == "help@example.com"


def test_user_config_folder_file_overrides_fields() -> None:
    path = user_catalog_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("platforms:\n  kling:\n    name: Kling (my notes)\n")
    catalog = load_catalog()
    kling = catalog.platform("kling")
    assert kling.name == "Kling (my notes)"
    assert kling.channels[0].where == "support@klingai.com"  # the rest is kept
    assert load_catalog(use_user_file=False).platform("kling").name == "Kling AI"


@pytest.mark.parametrize(("content", "problem"), [
    ("platforms: [\n", "line 2, column 1: YAML syntax error: expected the node content, but "
                       "found '<stream end>'; fix the file or remove it."),
    ("- just a list\n", "the top level must be a mapping with 'platforms:', not a list."),
    ("platformz: {}\n", "platformz: unknown key; expected one of failures, limits, platforms, "
                        "schema, sites."),
    ("platforms: 3\n", "platforms: must be a mapping of keys to entries, not a number."),
    ("platforms:\n  acme: hello\n", "platforms.acme: must be a mapping, not text."),
    (GOOD_PLATFORM.replace("kind: email", "kind: fax"),
     "platforms.acme.channels[0].kind: must be one of email, web-form, in-app, chat, discord, "
     "web (got 'fax')."),
    (GOOD_PLATFORM.replace("    name: Acme Video\n", ""),
     "platforms.acme.name: required field is missing."),
    (GOOD_PLATFORM.replace("status: official}\n", "status: sure}\n", 1),
     "platforms.acme.id.status: must be one of official, third-party, unverified (got 'sure')."),
    (GOOD_PLATFORM.replace("checked: 2026-10-01\n        status", "checked: soon\n        status"),
     "platforms.acme.channels[0].checked: must be a date like 2026-11-01 (got 'soon')."),
    (GOOD_PLATFORM.replace("source: https://help.example.com/contact", "source: a friend"),
     "platforms.acme.channels[0].source: must be a web address (https://...)."),
    (GOOD_PLATFORM.replace("limits: email", "limits: pigeon"),
     "platforms.acme.channels[0].limits: unknown limits 'pigeon'; known: discord, email, "
     "intercom-email, intercom-messenger, zendesk-chat, zendesk-ticket."),
    (GOOD_PLATFORM.replace("    aliases: [acmevid]\n", "    aliases: [acmevid]\n    colour: red\n"),
     "platforms.acme.colour: unknown key; expected one of account, aliases, channels, "
     "discontinued, domains, help, help_centre, id, name, notes, plans, refund_policy, repos, "
     "status, usage, vendor."),
    (GOOD_PLATFORM.replace("        source: https://help.example.com/contact\n", ""),
     "platforms.acme.channels[0].source: required unless the status is 'unverified'."),
    (GOOD_PLATFORM.replace("covers_quality: false", "covers_quality: maybe"),
     "platforms.acme.refund_policy.covers_quality: must be true, false or empty."),
    (GOOD_PLATFORM.replace("where: Job page,", "where: Job page, pattern: '[0-9',"),
     "platforms.acme.id.pattern: not a valid regular expression (unterminated character set "
     "at position 0)."),
    (GOOD_PLATFORM.replace("        limits: email\n",
                           "        limits: email\n        carries: {max_files: 0}\n"),
     "platforms.acme.channels[0].carries.max_files: must be a whole number of files, 1 or "
     "more."),
    (GOOD_PLATFORM.replace("        limits: email\n",
                           "        limits: email\n        carries: {max_files: true}\n"),
     "platforms.acme.channels[0].carries.max_files: must be a whole number of files, 1 or "
     "more."),
])
def test_malformed_user_file(tmp_path: Path, content: str, problem: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    with pytest.raises(CatalogError) as e:
        load_catalog(bad)
    if not problem.endswith("remove it."):
        problem = f"{problem[:-1]} (fix the file or remove it)."
    assert str(e.value) == f"{bad}: {problem}"
    result = run_cli("platforms", "--channels", bad, expect=2)
    assert result.stderr == f"Error: {bad}: {problem}\n"


def test_missing_channels_file(tmp_path: Path) -> None:
    result = run_cli("failures", "--channels", tmp_path / "nope.yaml", expect=2)
    assert result.stderr == (f"Error: catalog file {tmp_path / 'nope.yaml'} does not exist or "
                             f"is not a file: check the --channels path.\n")


def test_platforms_and_failures_commands() -> None:
    out = run_cli("platforms").stdout
    assert "support@klingai.com [UNVERIFIED]" in out
    assert "kling " in out and "firefly " in out
    doc = run_json("platforms")
    assert {p["key"] for p in doc["platforms"]} >= set(REQUIRED)
    out = run_cli("failures").stdout
    assert "Identity Coherence Failure" in out and "Physics Prior Degeneration" in out
    # a mark's words are a description too (build takes them in place of --note)
    assert re.search(r"^audio-desync +Audio-Visual Desynchronisation +major +start\|end pair "
                     r"\+ 1 mark \+ words \(--mark TIME=WHAT or --note\)$", out, re.MULTILINE)
    out = run_cli("failures", "physics").stdout
    assert "Documentation strength on kling: moderate (unverified: AVA's Kling physics-collapse " \
        "reference page" in out
    doc = run_json("failures", "identity")
    assert doc["failures"][0]["evidence"]["pair"] == "start-end"
    result = run_cli("platforms", "nowhere", expect=2)
    assert result.stderr.startswith("Error: unknown platform 'nowhere': known: ")


def test_the_shipped_catalog_keeps_every_rule() -> None:
    from ava_evidence.catalog_rules import check_catalog

    assert check_catalog(load_catalog(use_user_file=False)) == []
    out = run_cli("platforms", "--check").stdout
    assert out == f"OK: {data_path('channels.yaml')} keeps every catalog rule.\n"
    assert run_json("platforms", "--check") == {"ok": True, "problems": []}


@pytest.mark.parametrize(("change", "key_path", "problem"), [
    (("source: https://help.example.com/contact", "source: http://help.example.com/contact"),
     "platforms.acme.channels[0]",
     "source must be a public https:// page (got 'http://help.example.com/contact')"),
    (("source: https://help.example.com/contact",
      "source: https://m-macmini.tail568a50.ts.net/notes.json"),
     "platforms.acme.channels[0]",
     "source 'https://m-macmini.tail568a50.ts.net/notes.json' is on a private or local host "
     "nobody else can open"),
    (("source: https://help.example.com/contact", "source: https://192.168.1.20/x"),
     "platforms.acme.channels[0]",
     "source 'https://192.168.1.20/x' is on a private or local host nobody else can open"),
    (("help_centre: https://help.example.com", "help_centre: https://example.com/terms"),
     "platforms.acme.help.url",
     "'https://example.com/terms' is a terms or policy page, not a help or contact page: give "
     "the help centre, or leave help out"),
    (("source: https://help.example.com/refunds", "source: https://piapi.ai/docs/acme"),
     "platforms.acme.refund_policy.source",
     "'https://piapi.ai/docs/acme' is a gateway site's page, never a platform's policy: put it "
     "in a note as third-party, and say no policy was found"),
    (("checked: 2026-10-01\n        status", "checked: 2030-01-01\n        status"),
     "platforms.acme.channels[0]", "checked 2030-01-01 is in the future"),
])
def test_catalog_rules_name_the_key_path(tmp_path: Path, change: tuple[str, str],
                                         key_path: str, problem: str) -> None:
    bad = tmp_path / "bad.yaml"
    assert change[0] in GOOD_PLATFORM
    bad.write_text(GOOD_PLATFORM.replace(change[0], change[1], 1))
    result = run_cli("platforms", "--check", bad, expect=1)
    assert result.stdout == f"{bad}: {key_path}: {problem}\n"
    assert result.stderr == ("Error: 1 catalog rule broken (listed above): fix the file, or "
                             "mark an unsourced fact 'unverified'.\n")
    doc = run_json("platforms", "--check", bad, expect=1)
    assert doc == {"ok": False, "problems": [{"file": str(bad), "key_path": key_path,
                                              "problem": problem}]}
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_PLATFORM)
    assert run_cli("platforms", "--check", good).stdout == f"OK: {good} keeps every catalog rule.\n"


def test_rules_the_reader_enforces_name_the_key_path_too(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_PLATFORM.replace("        source: https://help.example.com/contact\n", ""))
    result = run_cli("platforms", "--check", bad, expect=2)
    assert result.stderr == (f"Error: {bad}: platforms.acme.channels[0].source: required unless "
                             f"the status is 'unverified' (fix the file or remove it).\n")


def test_old_facts_are_flagged_from_their_own_date(monkeypatch: pytest.MonkeyPatch,
                                                   clips: object, tmp_path: Path) -> None:
    import datetime as dt
    import zipfile

    import ava_evidence.catalog_rules as rules

    out = run_cli("platforms", "kling").stdout
    assert "over 180 days ago" not in out
    monkeypatch.setattr(rules, "today", lambda: dt.date(2027, 6, 1))
    out = run_cli("platforms", "kling").stdout
    assert "route     Email: support@klingai.com [UNVERIFIED] [checked 2026-11-29: over 180 " \
           "days ago]" in out
    # 2026-11-29 + 180 days is 2027-05-28: a day later it is flagged, not before.
    monkeypatch.setattr(rules, "today", lambda: dt.date(2027, 5, 28))
    assert "over 180 days ago" not in run_cli("platforms", "kling").stdout
    monkeypatch.setattr(rules, "today", lambda: dt.date(2027, 6, 1))
    from .conftest import ClipStore

    assert isinstance(clips, ClipStore)
    lines = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "k",
                    "--failure", "physics", "--mark", "1=x", "-o",
                    tmp_path / "k.zip").stdout.splitlines()
    assert ("Check: Kling AI's address (support@klingai.com) was last checked 2026-11-29, over "
            "180 days ago: check it before sending.") in lines
    assert ("Check: Kling AI's policy on credits was last checked 2026-11-29, over 180 days "
            "ago: check it before sending.") in lines
    with zipfile.ZipFile(tmp_path / "k.zip") as z:
        send = z.read("kling_k_physics/data/send.md").decode()
    assert "Kling AI's address (support@klingai.com) was last checked 2026-11-29" in send


def test_no_value_in_the_catalog_is_cut_by_a_comment() -> None:
    """In YAML, ' #' ends an unquoted value: '... post in #community-help' would silently
    lose its end. Comments belong on their own lines, or after a value that cannot hold
    text."""
    for n, line in enumerate(data_path("channels.yaml").read_text().splitlines(), 1):
        body = line.strip()
        if body.startswith("#") or " #" not in body:
            continue
        before = body.split(" #", 1)[0]
        quoted = before.count('"') % 2 == 1 or before.count("'") % 2 == 1
        assert quoted or before.rstrip().endswith(("none", ":")), (n, line)


def test_discontinued_platforms_are_listed_apart_with_their_dates() -> None:
    out = run_cli("platforms").stdout
    active, ended = out.split("Discontinued (build refuses them):\n")
    assert "sora " not in active and ended.startswith("sora        OpenAI Sora: ended 2026-09-24")
    full = run_cli("platforms", "sora").stdout
    assert "the Sora Videos API shut down on 2026-09-24" in full
    assert "What remains: Only OpenAI's general support remains" in full
    doc = run_json("platforms", "sora")["platforms"][0]
    assert doc["status"] == "discontinued" and doc["discontinued"]["date"] == "2026-09-24"


def test_a_missing_mark_is_asked_for_with_an_example_of_that_failure(tmp_path: Path) -> None:
    """The error that asks for a mark shows one fit for the failure (a flicker is not a ball
    through a rim), quoted so it can be pasted into a shell as it is."""
    import shlex

    from . import clipgen

    clip = clipgen.encode(tmp_path / "c.mp4", 24)
    examples = set()
    for fail in load_catalog().failures.values():
        if fail.evidence.min_marks < 1:
            continue
        result = run_cli("build", clip, "--platform", "kling", "--id", "e1", "--failure",
                         fail.key, "--prompt", "p", "--note", "n", "-o", tmp_path / "e.zip",
                         expect=2)
        m = re.search(r"\(for example --mark (.+)\) where the failure is visible\.$",
                      result.stderr.strip())
        assert m, result.stderr
        assert shlex.split(m[1]) == [f"0:02={fail.evidence.example}"]
        examples.add(fail.evidence.example)
    assert len(examples) == 8  # one of its own for each failure that needs a mark
