"""Rules a catalog's facts must keep, and how old each fact is.

A user who relies on the catalog to reach a real person is the judge: every
source is a public web page, a claim without one is unverified, a help link is
a help or contact page, a policy is never a reseller's or chargeback site's
page, and dates are real and past. ``platforms --check`` and the tests apply
:func:`check_catalog`; :func:`stale_facts` says which facts are old enough to
check again before sending::

    problems = check_catalog(load_catalog(extra), only=Path(extra))
    for fact in stale_facts(catalog.platform("kling"), today=date.today()): ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, Fact, Platform

STALE_AFTER_DAYS = 180
_NOT_HELP = re.compile(r"terms|polic(y|ies)|privacy|legal|/tos\b|conditions|cookie|clause",
                       re.IGNORECASE)
_PRIVATE_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home", ".ts.net",
                     ".corp", ".example", ".invalid", ".test")
_POLICY_SOURCE_KINDS = ("reseller", "gateway", "chargeback", "summary", "fan-site",
                        "look-alike", "directory")


@dataclass(frozen=True)
class Problem:
    file: Path | None
    key_path: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.key_path}: {self.problem}"


@dataclass(frozen=True)
class NamedFact:
    """A fact with the words a person uses for it ("Kling AI's address")."""

    key_path: str
    what: str
    fact: Fact


def today() -> dt.date:
    """The date facts are measured against (tests replace this, nothing sleeps)."""
    return dt.date.today()


def facts_of(platform: Platform) -> Iterator[NamedFact]:
    kp, name = f"platforms.{platform.key}", platform.name
    yield NamedFact(f"{kp}.id", f"where {name} shows its {platform.id.name}", platform.id)
    if platform.account.source is not None or platform.account.basis:
        yield NamedFact(f"{kp}.account", f"{name}'s account name", platform.account)
    if platform.help is not None:
        yield NamedFact(f"{kp}.help", f"{name}'s help page", platform.help)
    if platform.plans is not None:
        yield NamedFact(f"{kp}.plans", f"{name}'s plans", platform.plans)
    if platform.discontinued is not None:
        yield NamedFact(f"{kp}.discontinued", f"{name}'s end of service", platform.discontinued)
    for i, c in enumerate(platform.channels):
        what = "address" if c.kind == "email" else "route"
        yield NamedFact(f"{kp}.channels[{i}]", f"{name}'s {what} ({c.where})", c)
    yield NamedFact(f"{kp}.refund_policy", f"{name}'s policy on credits", platform.refund_policy)
    for i, n in enumerate(platform.notes):
        yield NamedFact(f"{kp}.notes[{i}]", f"a note on {name}", n)


_FACT_FIELDS_NOT_SHOWN = frozenset({"checked", "status", "key", "kind", "purpose", "pattern",
                                    "url_patterns", "limit", "plans", "failures"})
"""Fields of a fact that are not text a person reads (keys, dates, regular expressions;
a channel's limit is a fact of its own, checked under 'limits')."""
_HOST_IN_TEXT = re.compile(r"(?<![\w./-])(?:[a-z][a-z0-9+.-]*://)?((?:[a-z0-9-]+\.)+[a-z]{2,})"
                           r"(?![\w-])", re.IGNORECASE)
"""A domain name in running text: in a link (with or without its scheme) or after the @
of an address; not a file name inside a link's path."""


def hosts_shown(fact: Fact) -> list[str]:
    """Every domain a person is shown with ``fact``: its source, and any link or address in
    its words (where, steps, text, summary, basis...), lower-case, in order, once each."""
    texts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, (type, Fact)):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))

    for f in dataclasses.fields(fact):
        if f.name not in _FACT_FIELDS_NOT_SHOWN:
            walk(getattr(fact, f.name))
    hosts = (m.group(1).lower() for text in texts for m in _HOST_IN_TEXT.finditer(text))
    return list(dict.fromkeys(hosts))


def _on(host: str, domains: Iterable[str]) -> str | None:
    """The domain of ``domains`` that ``host`` is, or is under."""
    return next((d for d in domains if host == d or host.endswith("." + d)), None)


def _url_path(url: str) -> str:
    """'https://github.com/Org/repo?x' -> 'github.com/Org/repo'."""
    return re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE).split("?")[0].split("#")[0]


def _host(url: str) -> str:
    return re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE).split("/")[0].split(":")[0].lower()


def _is_private(host: str) -> bool:
    if host in ("localhost", "") or "." not in host or host.endswith(_PRIVATE_SUFFIXES):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved


def _site_kind(catalog: Catalog, host: str) -> str | None:
    for domain, kind in catalog.sites.items():
        if host == domain or host.endswith("." + domain):
            return kind
    return None


def _fact_problems(named: NamedFact, when: dt.date) -> Iterator[str]:
    f = named.fact
    if f.source is not None:
        if not f.source.startswith("https://"):
            yield f"source must be a public https:// page (got '{f.source}')"
        elif _is_private(_host(f.source)):
            yield f"source '{f.source}' is on a private or local host nobody else can open"
    elif f.status != "unverified":
        yield "a fact without a source must be 'unverified'"
    checked = dt.date.fromisoformat(f.checked)
    if checked > when:
        yield f"checked {f.checked} is in the future"


def check_catalog(catalog: Catalog, *, only: Path | None = None,
                  when: dt.date | None = None) -> list[Problem]:
    """Every rule broken by the catalog's platforms and limits (those ``only`` set)."""
    day = when or today()
    problems: list[Problem] = []

    def ours(section_key: str) -> bool:
        return only is None or catalog.origins.get(section_key) == only

    for key, limit in catalog.limits.items():
        if ours(f"limits.{key}"):
            named = NamedFact(f"limits.{key}", f"the {key} limits", limit)
            problems += [Problem(catalog.origins.get(f"limits.{key}"), named.key_path, p)
                         for p in (*_fact_problems(named, day),
                                   *_source_problems(catalog, named, "the vendor"))]
    for key, platform in catalog.platforms.items():
        if not ours(f"platforms.{key}"):
            continue
        file = catalog.origins.get(f"platforms.{key}")
        for named in facts_of(platform):
            problems += [Problem(file, named.key_path, p) for p in _fact_problems(named, day)]
        problems += [Problem(file, kp, p) for kp, p in _platform_problems(catalog, platform)]
    return problems


def _source_problems(catalog: Catalog, named: NamedFact, owner: str,
                     own_domains: tuple[str, ...] = (), *, repos: tuple[str, ...] = (),
                     non_vendor: bool = True) -> Iterator[str]:
    """How a fact's source is labelled, as the user is told it: nothing shown links a
    look-alike site; a non-vendor site's page is never called the platform's own
    (``non_vendor``: a policy has its own, stricter rule); an official fact's page is on
    the platform's own domains, and a page there is never called a third party's."""
    f = named.fact
    for host in hosts_shown(f):
        if _site_kind(catalog, host) == "look-alike":
            yield (f"'{host}' is a look-alike site (see 'sites:'), never shown to a user: cite "
                   f"the vendor's own page, or leave the fact out")
    if f.source is None:
        return
    host = _host(f.source)
    kind = _site_kind(catalog, host)
    if non_vendor and f.status == "official" and kind is not None and kind != "look-alike":
        yield (f"'{f.source}' is a {kind} site's page, not {owner}'s: mark it third-party, or "
               f"unverified")
    own = _on(host, own_domains) or next(
        (r for r in repos if _url_path(f.source).lower().startswith(r.lower() + "/")), None)
    if f.status == "official" and own_domains and own is None and kind is None:
        yield (f"'{f.source}' is not on {owner}'s own domains ({', '.join(own_domains)}): "
               f"an official fact is read on the vendor's own page; mark it third-party, or "
               f"add the domain to 'domains' if {owner} owns it")
    if f.status == "third-party" and own is not None:
        yield (f"'{f.source}' is on {owner}'s own domain ({own}), not a third-party page: mark "
               f"it official, or unverified if {owner} does not say it there (a user's post, "
               f"a page not read)")


def _platform_problems(catalog: Catalog, p: Platform) -> Iterator[tuple[str, str]]:
    kp = f"platforms.{p.key}"
    for d in p.domains:
        kind = _site_kind(catalog, d)
        if kind is not None:
            yield (f"{kp}.domains", f"'{d}' is listed under 'sites:' as a {kind} site, so it "
                                    f"is not {p.name}'s own domain")
    for named in facts_of(p):
        yield from ((named.key_path, problem) for problem in _source_problems(
            catalog, named, p.name, p.domains, repos=p.repos,
            non_vendor=named.fact is not p.refund_policy))
    if p.help is not None and _NOT_HELP.search(p.help.url):
        yield (f"{kp}.help.url", f"'{p.help.url}' is a terms or policy page, not a help or "
                                 f"contact page: give the help centre, or leave help out")
    policy = p.refund_policy
    kind = _site_kind(catalog, _host(policy.source)) if policy.source else None
    if kind in _POLICY_SOURCE_KINDS:
        yield (f"{kp}.refund_policy.source", f"'{policy.source}' is a {kind} site's page, never "
                                             f"a platform's policy: put it in a note as "
                                             f"third-party, and say no policy was found")
    if p.discontinued is not None and dt.date.fromisoformat(p.discontinued.date) > today():
        yield (f"{kp}.discontinued.date", f"{p.discontinued.date} is in the future")


def stale_facts(platform: Platform, *, when: dt.date | None = None,
                days: int = STALE_AFTER_DAYS) -> list[NamedFact]:
    """The platform's facts last checked more than ``days`` before ``when``."""
    day = when or today()
    return [n for n in facts_of(platform)
            if (day - dt.date.fromisoformat(n.fact.checked)).days > days]


def stale_line(named: NamedFact) -> str:
    """'Kling AI's address (support@...) was last checked 2026-05-01, over 180 days ago:
    check it before sending.'"""
    what = named.what[:1].upper() + named.what[1:]
    return (f"{what} was last checked {named.fact.checked}, over {STALE_AFTER_DAYS} days ago: "
            f"check it before sending.")
