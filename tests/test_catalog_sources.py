"""Where each fact comes from, as a user is told it: the platform's own page is never called
third-party, a gateway's page is never called the platform's, and no link a user is shown
leads to a look-alike site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ava_evidence.catalog import load_catalog
from ava_evidence.catalog_rules import check_catalog, facts_of

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
