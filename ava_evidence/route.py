"""Which support channel a ticket goes to, for a platform and the plan the user gave.

A plan is never assumed. Without one, the route that serves every plan is used
where the catalog has one; when every route depends on the plan, the first is
used and :attr:`Route.plan_note` says which plans change it and how to choose.
Documented routes always rank before unverified ones (:func:`ranked`)::

    route = route_for(catalog.platform("runway"), plan_key=None)
    route.channel, route.writes_for, route.plan_note
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import Channel, Platform


@dataclass(frozen=True)
class Route:
    channel: Channel | None
    """Where to send (None: no channel is documented)."""
    writes_for: Channel | None
    """The channel the message is shaped for: ``channel``, unless that route carries no
    text (a rating button), then the next one that does."""
    others: tuple[Channel, ...]
    """Other routes that apply to the plan."""
    plan_note: str | None
    """When no plan was given and the plan changes the route: which plans go where, and how
    to give the plan on the command line."""
    plan_given: bool
    plan_routes: str | None = None
    """The same without the command-line advice (for a page with a plan field)."""

    @property
    def kind(self) -> str:
        """The message's shape: the kind of ``writes_for``, or 'none'."""
        return self.writes_for.kind if self.writes_for else "none"


_PURPOSE_RANK = {"support": 0, "billing": 1, "community": 2, "feedback": 3}


def ranked(channels: list[Channel]) -> list[Channel]:
    """Channels in the order a credit request should try them.

    A route some source documents (official or third-party) always comes before an
    unverified one, whatever each is for: an unverified route is a guess, and a guess is
    never the recommended route while a documented one exists. Among routes equally sure,
    a support desk or billing comes before a community or a feedback button (only people
    there can grant credits); the catalog's order otherwise."""
    return sorted(channels, key=lambda c: (c.unverified, _PURPOSE_RANK.get(c.purpose, 2)))


def route_for(platform: Platform, plan_key: str | None, plan_given: bool) -> Route:
    """The route for ``plan_key`` (None: the user gave no plan the catalog knows)."""
    if plan_key is not None:
        usable = ranked([c for c in platform.channels if c.applies_to(plan_key)])
        note = None
    else:
        every_plan = [c for c in platform.channels if c.plans is None]
        usable = ranked(every_plan or list(platform.channels))
        note = _plan_note(platform, usable[0] if usable else None)
    channel = usable[0] if usable else None
    writes_for = next((c for c in usable if c.carries_text), None)
    return Route(channel, writes_for, tuple(c for c in usable[1:]),
                 f"{note[0]}; {note[1]}" if note else None, plan_given=plan_given,
                 plan_routes=f"{note[0]}." if note else None)


def _plan_note(platform: Platform, chosen: Channel | None) -> tuple[str, str] | None:
    """('The route depends on your plan: ...', how to give it) when the plan would change
    the route."""
    if platform.plans is None or not any(c.plans for c in platform.channels):
        return None
    by_route: dict[str, list[str]] = {}
    for key, name in platform.plans.tiers.items():
        first = next(iter(ranked([c for c in platform.channels if c.applies_to(key)])), None)
        if first is not None and first is not chosen:
            by_route.setdefault(describe(first), []).append(name)
    if not by_route:
        return None
    parts = "; ".join(f"on {_or_list(names)}, {where}" for where, names in by_route.items())
    example = next(k for k, name in platform.plans.tiers.items()
                   if any(name in names for names in by_route.values()))
    return (f"The route depends on your plan: {parts}. No plan was given, so "
            f"this bundle is written for "
            f"{describe(chosen) if chosen else 'no documented route'}",
            f"add --plan (for example --plan {example}) or set it once with 'ava-evidence "
            f"profile set {platform.key} --plan {example}'.")


def describe(channel: Channel) -> str:
    """The channel in plain words: 'Email support@...', 'Discord: #help on ...'."""
    if channel.kind == "email":
        return f"Email {channel.where}"
    if channel.kind == "discord" and channel.post_in:
        return f"Discord: {channel.post_in} on {channel.where}"
    if channel.kind == "web-form" and channel.category:
        return f"Web form: {channel.where} (category: {channel.category})"
    return f"{channel.kind_name}: {channel.where}"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
