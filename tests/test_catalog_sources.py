"""Where each fact comes from, as a user is told it: the platform's own page is never called
third-party, a gateway's page is never called the platform's, and no link a user is shown
leads to a look-alike site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ava_evidence.catalog import load_catalog, user_catalog_file
from ava_evidence.catalog_rules import check_catalog, facts_of

from .conftest import ClipStore
from .helpers import run_cli, run_json
from .test_catalog import GOOD_PLATFORM

CATALOG = load_catalog(use_user_file=False)


def _host(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("/")[0].split(":")[0].lower()


def _on(host: str, domains: object) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", sorted(CATALOG.platforms))
def test_a_third_party_source_is_never_on_the_platforms_own_domains(key: str) -> None:
    """Review: PixVerse's policy was shown as '(third-party page, not the platform's:
    https://docs.platform.pixverse.ai/...)', a PixVerse page."""
    platform = CATALOG.platforms[key]
    for named in facts_of(platform):
        fact = named.fact
        if fact.status == "third-party" and fact.source:
            assert not _on(_host(fact.source), platform.domains), (named.key_path, fact.source)


def test_pixverse_docs_are_pixverses_own() -> None:
    pixverse = CATALOG.platform("pixverse")
    assert _on("docs.platform.pixverse.ai", pixverse.domains)
    assert pixverse.refund_policy.status == "official"
    assert pixverse.refund_policy.source == (
        "https://docs.platform.pixverse.ai/common-errors-and-solutions-882978m0")


@pytest.mark.parametrize("key", sorted(CATALOG.platforms))
def test_no_fact_on_a_non_vendor_site_is_labelled_the_platforms(key: str) -> None:
    """A gateway's, reseller's, summary's or fan site's page is third-party or unverified."""
    for named in facts_of(CATALOG.platforms[key]):
        fact = named.fact
        if fact.source and _on(_host(fact.source), CATALOG.sites):
            assert fact.status != "official", (named.key_path, fact.source)


def test_no_link_a_user_is_shown_is_on_a_look_alike_site() -> None:
    """Review: Kling's send.md linked docs.klingai2.org, which 'sites:' marks look-alike."""
    from ava_evidence.catalog_rules import hosts_shown

    look_alike = [d for d, kind in CATALOG.sites.items() if kind == "look-alike"]
    assert "klingai2.org" in look_alike
    shown = []
    for platform in CATALOG.platforms.values():
        for named in facts_of(platform):
            shown += [(named.key_path, h) for h in hosts_shown(named.fact)]
    assert ("platforms.kling.channels[0]", "klingai.com") in shown  # the e-mail's domain
    assert ("platforms.pika.channels[1]", "discord.gg") in shown  # a link in 'where'
    bad = [(kp, h) for kp, h in shown if _on(h, look_alike)]
    assert bad == []


def test_pika_discord_invite_is_unverified() -> None:
    """facts-2026-11.md, Pika: the invite is only on a gateway's page (useapi.net), and
    whether the server answers support questions was not found: unverifiable."""
    discord = next(c for c in CATALOG.platform("pika").channels if c.kind == "discord")
    assert discord.unverified and discord.basis and "gateway" in discord.basis


def test_kling_note_on_failed_api_tasks_cites_a_page_a_user_may_open() -> None:
    notes = CATALOG.platform("kling").notes
    assert notes and all("klingai2" not in (n.source or "") for n in notes)
    assert notes[0].status == "third-party" and "conductatlas.com" in (notes[0].source or "")


@pytest.mark.parametrize(("change", "key_path", "problem"), [
    (("source: https://help.example.com/contact", "source: https://docs.klingai2.org/x"),
     "platforms.acme.channels[0]",
     "'docs.klingai2.org' is a look-alike site (see 'sites:'), never shown to a user: cite "
     "the vendor's own page, or leave the fact out"),
    (("where: help@example.com", "where: help@kling-4.net"),
     "platforms.acme.channels[0]",
     "'kling-4.net' is a look-alike site (see 'sites:'), never shown to a user: cite "
     "the vendor's own page, or leave the fact out"),
    (("source: https://help.example.com/contact", "source: https://useapi.net/pika"),
     "platforms.acme.channels[0]",
     "'https://useapi.net/pika' is a gateway site's page, not Acme Video's: mark it "
     "third-party, or unverified"),
    (("status: official}\n    channels", "status: third-party}\n    channels"),
     "platforms.acme.id",
     "'https://help.example.com/id' is on Acme Video's own domain (example.com), not a "
     "third-party page: mark it official, or unverified if Acme Video does not say it there "
     "(a user's post, a page not read)"),
])
def test_source_rules_name_the_key_path(tmp_path: Path, change: tuple[str, str],
                                        key_path: str, problem: str) -> None:
    good = GOOD_PLATFORM.replace("    aliases: [acmevid]\n",
                                 "    aliases: [acmevid]\n    domains: [example.com]\n")
    assert change[0] in good
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.replace(change[0], change[1], 1))
    assert run_json("platforms", "--check", bad, expect=1)["problems"] == [
        {"file": str(bad), "key_path": key_path, "problem": problem}]
    ok = tmp_path / "good.yaml"
    ok.write_text(good)
    assert run_cli("platforms", "--check", ok).stdout == f"OK: {ok} keeps every catalog rule.\n"


def test_the_shipped_catalog_keeps_the_source_rules() -> None:
    assert check_catalog(CATALOG) == []


def _with_domains(text: str = GOOD_PLATFORM) -> str:
    return text.replace("    aliases: [acmevid]\n",
                        "    aliases: [acmevid]\n    domains: [example.com]\n")


def test_an_official_fact_is_read_on_the_vendors_own_pages(tmp_path: Path) -> None:
    """Review (round 45): a user file marked a route on an unknown domain (a look-alike
    not yet listed under 'sites:') 'official', and build showed it as the platform's own
    page. An official fact's page is on the platform's domains or under its own code-host
    account (repos); elsewhere it is a problem."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(_with_domains().replace("source: https://help.example.com/contact",
                                           "source: https://example-support.com/contact", 1))
    assert run_json("platforms", "--check", bad, expect=1)["problems"] == [{
        "file": str(bad), "key_path": "platforms.acme.channels[0]",
        "problem": "'https://example-support.com/contact' is not on Acme Video's own domains "
                   "(example.com): an official fact is read on the vendor's own page; mark it "
                   "third-party, or add the domain to 'domains' if Acme Video owns it"}]
    repo = tmp_path / "repo.yaml"
    repo.write_text(_with_domains().replace(
        "source: https://help.example.com/contact",
        "source: https://github.com/AcmeVideo/plugins/blob/main/SECURITY.md", 1).replace(
        "    domains: [example.com]\n",
        "    domains: [example.com]\n    repos: [github.com/AcmeVideo]\n"))
    assert run_json("platforms", "--check", repo)["ok"] is True
    other = tmp_path / "other.yaml"  # another account on the same code host is not theirs
    other.write_text(repo.read_text().replace("github.com/AcmeVideo/plugins",
                                              "github.com/AcmeVideoFans/plugins"))
    assert run_json("platforms", "--check", other, expect=1)["problems"][0]["key_path"] == \
        "platforms.acme.channels[0]"


@pytest.mark.parametrize("how", ["--channels", "config"])
def test_a_user_file_breaking_the_rules_is_not_used(clips: ClipStore, tmp_path: Path,
                                                     how: str) -> None:
    """Review (round 45): a user file whose Kling route linked an http:// page dated in
    the future, and whose policy called a chargeback site's page Kling's own, was used by
    build as it stood (only platforms --check named its faults). It is refused, with the
    first fault and the command that lists them all, and nothing is built."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("platforms:\n  kling:\n    refund_policy:\n"
                   "      summary: Kling refunds everything.\n"
                   "      source: https://www.joinchargeback.com/refunds/kling\n"
                   "      checked: 2026-11-01\n      status: official\n")
    args = ["build", clips.path("h264_bframes"), "--platform", "kling", "--id", "k1",
            "--failure", "physics", "--mark", "1=x", "-o", tmp_path / "k.zip"]
    if how == "config":
        user_catalog_file().parent.mkdir(parents=True, exist_ok=True)
        user_catalog_file().write_text(bad.read_text())
        err = run_cli(*args, expect=2).stderr
        user_catalog_file().unlink()
    else:
        err = run_cli(*args, "--channels", bad, expect=2).stderr
    where = user_catalog_file() if how == "config" else bad
    assert err == (f"Error: {where}: platforms.kling.refund_policy.source: 'https://www."
                   "joinchargeback.com/refunds/kling' is a chargeback site's page, never a "
                   "platform's policy: put it in a note as third-party, and say no policy was "
                   "found: this catalog file is not used until it keeps the catalog's rules; "
                   "see them all with 'ava-evidence platforms --check "
                   f"{where}', then fix the file or remove it.\n")
    assert not (tmp_path / "k.zip").exists()
    assert run_json("platforms", "--check", bad, expect=1)["problems"]


def test_lumas_refund_address_does_not_ask_for_card_details_for_one_generation() -> None:
    """Review (round 45): the route's steps told a user asking a credit for one clip to
    send the card's last digits, expiry and bank, which Luma asks for a subscription
    refund only."""
    steps = " ".join(CATALOG.platform("luma").channels[0].steps)
    assert "A credit for one generation is not a subscription refund" in steps
    assert "leave them out unless support asks" in steps
    assert not any(s.startswith("Include the invoice number")
                   for s in CATALOG.platform("luma").channels[0].steps)
