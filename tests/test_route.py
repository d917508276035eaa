"""Which route a ticket goes to: documented routes first, never one resting on a seed page."""

from __future__ import annotations

import pytest

from ava_evidence.catalog import Channel, load_catalog
from ava_evidence.route import ranked, route_for

CATALOG = load_catalog(use_user_file=False)


def _channel(key: str, purpose: str, status: str) -> Channel:
    return Channel(source=None if status == "unverified" else "https://help.example.com/x",
                   checked="2026-11-01", status=status, key=key, kind="email",
                   where=f"{key}@example.com", purpose=purpose,
                   basis="a note" if status == "unverified" else None)


def test_an_unverified_route_never_outranks_a_verified_one() -> None:
    """Review: an unverified support route (Runway's help widget, from a seed page) was
    chosen ahead of routes the platform documents. Purpose orders routes of the same trust
    only."""
    guess = _channel("guess", "support", "unverified")
    community = _channel("community", "community", "official")
    feedback = _channel("feedback", "feedback", "third-party")
    desk = _channel("desk", "support", "official")
    assert [c.key for c in ranked([guess, community])] == ["community", "guess"]
    assert [c.key for c in ranked([guess, feedback, community])] == [
        "community", "feedback", "guess"]
    assert [c.key for c in ranked([community, guess, desk])] == ["desk", "community", "guess"]
    other = _channel("other", "billing", "unverified")
    assert [c.key for c in ranked([other, guess])] == ["guess", "other"]  # same trust: purpose


def _plans(key: str) -> list[str | None]:
    plans = CATALOG.platforms[key].plans
    return [None, *(plans.tiers if plans else ())]


@pytest.mark.parametrize("key", sorted(CATALOG.platforms))
def test_every_shipped_route_is_a_documented_one_where_there_is_one(key: str) -> None:
    platform = CATALOG.platforms[key]
    for plan in _plans(key):
        route = route_for(platform, plan, plan_given=plan is not None)
        usable = [route.channel, *route.others] if route.channel else []
        if any(not c.unverified for c in usable):
            assert route.channel is not None and not route.channel.unverified, (key, plan)


@pytest.mark.parametrize("plan", ["pro", "unlimited", "free", "standard", None])
def test_runway_paid_plans_get_a_route_runway_documents(plan: str | None) -> None:
    """Runway documents no help widget and no plan split (facts-2026-11.md, Runway): every
    plan's route is one of Runway's own pages."""
    runway = CATALOG.platform("runway")
    route = route_for(runway, plan, plan_given=plan is not None)
    assert route.channel is not None and route.channel.status == "official"
    assert route.channel.source and route.channel.source.startswith("https://help.runwayml.com/")
    assert route.plan_note is None  # no route depends on the plan
    assert all(c.key != "help-widget" for c in runway.channels)


def test_no_route_or_note_rests_on_a_seed_page() -> None:
    """The seed pages (AVA's failure guides) print Runway's channel on Kling pages: they are
    no source for any platform's channel, plan split or step."""
    for p in CATALOG.platforms.values():
        for item in (*p.channels, *p.notes):
            words = " ".join([item.basis or "", *getattr(item, "steps", ()),
                              getattr(item, "text", "")]).lower()
            for seed in ("failure reference page", "face-distortion guide", "reference page",
                         "#community-help", "on call - moderators", "help widget"):
                assert seed not in words, (p.key, seed, words)
