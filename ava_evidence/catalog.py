"""The catalog: platforms, their support channels and policies, and the failure taxonomy.

Built-in data ships as ``channels.yaml`` and ``failures.yaml``; a user file
(``channels.yaml`` in the user config folder, or ``--channels FILE``) adds
platforms or replaces fields of built-in ones. Everything is validated on
load, and a bad file is reported by file, key path and problem::

    catalog = load_catalog()
    kling = catalog.platform("Kling")
    physics = catalog.failure("physics")
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .resources import data_path

STATUSES = ("official", "third-party", "unverified")
CHANNEL_KINDS = ("email", "web-form", "in-app", "chat", "discord", "web")
SEVERITIES = ("critical", "major", "minor")
CHAT_LIMIT = 1000
"""Characters a chat or in-app message box is assumed to hold when nothing is documented."""
SITE_KINDS = ("reseller", "gateway", "chargeback", "summary", "fan-site", "look-alike",
              "directory")
USER_FILE_NAME = "channels.yaml"
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_LINK = re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/", re.IGNORECASE)
"""A web address, with or without its scheme (sora.chatgpt.com/p/...)."""


def looks_like_link(text: str) -> bool:
    """A web address (with or without https://), not an ID."""
    return bool(_LINK.match(text.strip()))


class CatalogError(UsageError):
    """A catalog file that cannot be used: names the file, the key path and the problem."""


KIND_NAMES = {"email": "Email", "web-form": "Web form", "in-app": "In-app", "chat": "Chat",
              "discord": "Discord", "web": "Website"}
"""How each channel kind is named to a person (the keys are for files and code)."""
PURPOSES = ("support", "billing", "feedback", "community")


@dataclass(frozen=True)
class Fact:
    """Where a fact comes from and how sure it is.

    ``source`` is None only for an unverified claim that no public page makes;
    ``basis`` then says where the claim comes from."""

    source: str | None
    checked: str
    status: str
    basis: str | None = field(default=None, kw_only=True)

    @property
    def unverified(self) -> bool:
        return self.status == "unverified"

    def provenance(self) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source, "checked": self.checked,
                             "status": self.status}
        if self.basis:
            d["basis"] = self.basis
        return d


@dataclass(frozen=True)
class Limit(Fact):
    """Size limits of a kind of channel (Discord, Zendesk, email...)."""

    key: str
    summary: str
    attachment_limit_mb: float | None = None
    message_limit_chars: int | None = None


@dataclass(frozen=True)
class Ask:
    """Something a channel says it needs, shown as a line of the message."""

    label: str
    placeholder: str
    private: bool = False
    """Never posted in a public channel (sent by direct message instead)."""


@dataclass(frozen=True)
class Channel(Fact):
    """One way to reach a platform's support."""

    key: str
    kind: str
    where: str
    steps: tuple[str, ...] = ()
    plans: tuple[str, ...] | None = None
    limit: Limit | None = None
    purpose: str = "support"
    post_in: str | None = None
    """Discord: the channel to post in."""
    mention: str | None = None
    """Discord: who to tag (a role the server names for support questions)."""
    category: str | None = None
    """Web form: the category to pick."""
    carries_text: bool = True
    carries_files: bool = True
    max_files: int | None = None
    """How many files the route takes (a form with one screenshot), where it is limited."""
    asks_for: tuple[Ask, ...] = ()

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def public(self) -> bool:
        """Read by other users (a Discord server, a community forum): nothing private
        goes there."""
        return self.kind == "discord" or self.purpose == "community"

    @property
    def message_limit(self) -> int | None:
        """Characters a message may hold: the documented limit, else 1000 for a chat box."""
        if self.limit and self.limit.message_limit_chars:
            return self.limit.message_limit_chars
        return CHAT_LIMIT if self.kind in ("chat", "in-app") else None

    def applies_to(self, plan: str | None) -> bool:
        return self.plans is None or plan is None or plan in self.plans

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "kind": self.kind, "kind_name": self.kind_name,
            "where": self.where, "purpose": self.purpose, "steps": list(self.steps),
            "plans": list(self.plans) if self.plans is not None else None,
            "post_in": self.post_in, "mention": self.mention, "category": self.category,
            "carries_text": self.carries_text, "carries_files": self.carries_files,
            "max_files": self.max_files,
            "asks_for": [{"label": a.label, "placeholder": a.placeholder, "private": a.private}
                         for a in self.asks_for],
            "attachment_limit_mb": self.limit.attachment_limit_mb if self.limit else None,
            "message_limit_chars": self.message_limit,
            **self.provenance(),
        }


@dataclass(frozen=True)
class RefundPolicy(Fact):
    summary: str
    covers_quality: bool | None = None
    """False: documented, and it does not cover quality failures. None: nothing documented."""

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "covers_quality": self.covers_quality,
                **self.provenance()}


@dataclass(frozen=True)
class IdInfo(Fact):
    name: str
    where: str
    pattern: str | None = None
    url_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plans(Fact):
    tiers: Mapping[str, str]


@dataclass(frozen=True)
class Account(Fact):
    """How the platform identifies the account a ticket is about."""

    label: str
    placeholder: str
    where: str | None = None


DEFAULT_ACCOUNT = Account(source=None, checked="2026-11-30", status="unverified",
                          label="Account email", placeholder="[your account email]")


@dataclass(frozen=True)
class Usage:
    """What a generation costs on the platform, as its line in the message says it."""

    label: str
    placeholder: str


CREDITS = Usage("Credits used", "[credits used]")


@dataclass(frozen=True)
class Help(Fact):
    """The platform's help centre or contact page."""

    url: str


@dataclass(frozen=True)
class Discontinued(Fact):
    summary: str
    date: str
    remaining: str


@dataclass(frozen=True)
class Note(Fact):
    text: str
    plans: tuple[str, ...] | None = None
    failures: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Platform:
    key: str
    name: str
    vendor: str
    aliases: tuple[str, ...]
    help: Help | None
    id: IdInfo
    channels: tuple[Channel, ...]
    refund_policy: RefundPolicy
    plans: Plans | None = None
    notes: tuple[Note, ...] = ()
    domains: tuple[str, ...] = ()
    """The vendor's own web domains: the only ones a message may show a link to."""
    repos: tuple[str, ...] = ()
    """The vendor's own accounts on a code host ('github.com/PixVerseAI'): a page there is
    the vendor's own, as one on its domains is (never linked in a message)."""
    account: Account = DEFAULT_ACCOUNT
    discontinued: Discontinued | None = None
    usage: Usage | None = CREDITS
    """None: the platform does not charge per generation (a usage allowance)."""

    @property
    def help_centre(self) -> str | None:
        return self.help.url if self.help else None

    @property
    def short_name(self) -> str:
        """The name as a person says it: 'Luma AI', not 'Luma AI (Dream Machine, ...)'."""
        return self.name.split(" (", 1)[0]

    def resolve_plan(self, text: str | None, *, from_profile: bool = False
                     ) -> tuple[str | None, str | None]:
        """(plan key, plan display name) for a user's --plan; (None, None) when none is
        given: a plan is never assumed.

        A plan must be one of the catalog's tiers: a platform without documented tiers has
        none to choose from, so a plan for it is a usage error, as an unknown plan is. A
        plan taken from the user's profile (``from_profile``) for such a platform is
        ignored instead: a profile saved before plans were checked must not break builds.
        """
        if text is None or not text.strip():
            return None, None
        if self.plans is None:
            if from_profile:
                return None, None
            raise UsageError(f"{self.short_name} has no plans to choose from: leave out "
                             f"--plan.")
        wanted = normalise(text)
        for key, name in self.plans.tiers.items():
            if wanted in (normalise(key), normalise(name)):
                return key, name
        known = ", ".join(self.plans.tiers)
        raise UsageError(f"unknown plan '{text}' for {self.name}: use one of {known}.")

    def channels_for(self, plan: str | None) -> list[Channel]:
        return [c for c in self.channels if c.applies_to(plan)]

    def notes_for(self, plan: str | None, failure: str | None = None) -> list[Note]:
        return [n for n in self.notes
                if (n.plans is None or plan is None or plan in n.plans)
                and (n.failures is None or failure is None or failure in n.failures)]

    def id_from(self, text: str) -> str:
        """The Generation ID inside a share/result URL when its pattern is known, else ``text``.

        A link copied without its ``https://`` is recognised too."""
        value = text.strip()
        candidates = [value] if _SCHEME.match(value) else [value, f"https://{value}"]
        for pattern in self.id.url_patterns:
            for candidate in candidates:
                m = re.search(pattern, candidate, re.IGNORECASE)
                if m:
                    return m.group("id")
        return value

    def id_doubt(self, generation_id: str) -> str | None:
        """Why ``generation_id`` may not be this platform's ID, or None. A doubt, not an
        error: the documented form may be out of date."""
        shown = f'"{generation_id}"'
        if _LINK.match(generation_id):
            if not self.id.url_patterns:
                return None  # some platforms only give links
            return (f"{shown} is a link, but not one of {self.short_name}'s links the tool can "
                    f"read the ID from, so the whole link is used as the ID; check that it is "
                    f"the right link. {self.id.where}")
        if self.id.pattern is None or re.fullmatch(self.id.pattern, generation_id):
            return None
        return (f"{shown} is not in the usual form of {self.short_name}'s {self.id.name}. The "
                f"bundle was built with it as given; check that it is the whole ID. "
                f"{self.id.where}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "vendor": self.vendor,
            "aliases": list(self.aliases), "domains": list(self.domains),
            "status": "discontinued" if self.discontinued else "active",
            "discontinued": ({"summary": self.discontinued.summary,
                              "date": self.discontinued.date,
                              "remaining": self.discontinued.remaining,
                              **self.discontinued.provenance()}
                             if self.discontinued else None),
            "help_centre": self.help_centre,
            "help": {"url": self.help.url, **self.help.provenance()} if self.help else None,
            "id": {"name": self.id.name, "where": self.id.where, "pattern": self.id.pattern,
                   "url_patterns": list(self.id.url_patterns), **self.id.provenance()},
            "account": {"label": self.account.label, "placeholder": self.account.placeholder,
                        "where": self.account.where, **self.account.provenance()},
            "usage": ({"label": self.usage.label, "placeholder": self.usage.placeholder}
                      if self.usage else None),
            "plans": ({"tiers": dict(self.plans.tiers), **self.plans.provenance()}
                      if self.plans else None),
            "channels": [c.to_dict() for c in self.channels],
            "refund_policy": self.refund_policy.to_dict(),
            "notes": [{"text": n.text, "plans": list(n.plans) if n.plans else None,
                       "failures": list(n.failures) if n.failures else None,
                       **n.provenance()} for n in self.notes],
        }


@dataclass(frozen=True)
class Evidence:
    pair: str
    min_marks: int
    needs_note: bool
    advice: str
    needs_prompt: bool = False
    change: str = "sudden"
    """"gradual": the failure grows over time (a face drifting), so each moment is compared
    with the start of its shot; "sudden": with the frame just before it."""
    compare: str | None = None
    """What the last frame's line of the message says to look at ("compare the face with
    the first frame"), where the start|end pair is the evidence."""
    example: str = "the ball passes through the rim"
    """Words a mark might carry, for the example where a mark is asked for."""


@dataclass(frozen=True)
class Strength:
    rating: str
    basis: str
    """Where the rating comes from."""
    status: str


@dataclass(frozen=True)
class Failure:
    key: str
    term: str
    aliases: tuple[str, ...]
    severity: str
    definition: str
    symptoms: tuple[str, ...]
    evidence: Evidence
    plain: str = "the clip came out broken"
    """The failure in everyday words, for the message's first sentence."""
    prevention: tuple[str, ...] = ()
    strength: Mapping[str, Strength] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "term": self.term, "aliases": list(self.aliases),
            "severity": self.severity, "definition": self.definition,
            "symptoms": list(self.symptoms),
            "plain": self.plain,
            "evidence": {"pair": self.evidence.pair, "min_marks": self.evidence.min_marks,
                         "needs_note": self.evidence.needs_note,
                         "needs_prompt": self.evidence.needs_prompt,
                         "change": self.evidence.change, "compare": self.evidence.compare,
                         "advice": self.evidence.advice},
            "strength": {k: {"rating": s.rating, "basis": s.basis, "status": s.status}
                         for k, s in self.strength.items()},
            "prevention": list(self.prevention),
        }


@dataclass(frozen=True)
class Catalog:
    platforms: Mapping[str, Platform]
    failures: Mapping[str, Failure]
    limits: Mapping[str, Limit]
    files: tuple[Path, ...] = ()
    sites: Mapping[str, str] = field(default_factory=dict)
    """Domains that are not vendors (resellers, gateways, chargeback sites...) by kind."""
    origins: Mapping[str, Path] = field(default_factory=dict)
    """The file that last set each entry ('platforms.kling', 'limits.discord')."""

    def platform(self, name: str) -> Platform:
        found: Platform = _lookup(name, self.platforms, "platform", "ava-evidence platforms")
        return found

    def failure(self, name: str) -> Failure:
        found: Failure = _lookup(name, self.failures, "failure", "ava-evidence failures")
        return found


def normalise(name: str) -> str:
    """Case- and separator-insensitive form of a key, alias or name."""
    return re.sub(r"[\s_.]+", "-", name.strip().lower()).strip("-")


def _lookup(name: str, table: Mapping[str, Any], what: str, command: str) -> Any:
    wanted = normalise(name)
    names: dict[str, str] = {}
    for key, entry in table.items():
        for alias in (key, *entry.aliases, getattr(entry, "name", key),
                      getattr(entry, "term", key)):
            names.setdefault(normalise(alias), key)
    if wanted in names:
        return table[names[wanted]]
    close = []
    for match in difflib.get_close_matches(wanted, list(names), n=5, cutoff=0.7):
        if names[match] not in close:
            close.append(names[match])
    rest = sorted(k for k in table if k not in close)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(f"unknown {what} '{name}': {hint}known: {', '.join(close + rest)} "
                     f"(see '{command}').")


def user_catalog_file() -> Path:
    """Where a user's own catalog additions live (platformdirs' user config folder)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("ava-evidence")) / USER_FILE_NAME


def load_catalog(extra: str | os.PathLike[str] | None = None, *,
                 use_user_file: bool = True, checked: bool = True) -> Catalog:
    """Built-in catalog, then the user's config-folder file, then ``extra`` (--channels).

    A user's file must keep the catalog's rules (catalog_rules.check_catalog), as the
    built-in one does: an address or a source it gives is shown to the user with the
    status it claims, so a file that calls a look-alike site's page the platform's own
    is refused, not used (``checked=False``: only to list its problems)."""
    files = [data_path("channels.yaml")]
    failures_file = data_path("failures.yaml")
    if use_user_file:
        user = user_catalog_file()
        if user.is_file():
            files.append(user)
    if extra is not None:
        path = Path(extra)
        if not path.is_file():
            raise CatalogError(f"catalog file {path} does not exist or is not a file: "
                               f"check the --channels path.")
        files.append(path)

    raw_platforms: dict[str, Any] = {}
    raw_limits: dict[str, Any] = {}
    raw_failures: dict[str, Any] = {}
    sites: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for i, path in enumerate([failures_file, *files]):
        doc = _read_yaml(path, fast=i < 2)
        allowed = {"schema", "platforms", "limits", "failures", "sites"}
        for key in doc:
            if key not in allowed:
                raise _err(path, key, f"unknown key; expected one of {', '.join(sorted(allowed))}")
        for section, target in (("platforms", raw_platforms), ("limits", raw_limits),
                                ("failures", raw_failures)):
            entries = doc.get(section) or {}
            if not isinstance(entries, dict):
                raise _err(path, section, f"must be a mapping of keys to entries, "
                                          f"not {_type(entries)}")
            for key, entry in entries.items():
                _text_key(path, section, key)
                if not isinstance(entry, dict):
                    raise _err(path, f"{section}.{key}", f"must be a mapping, not {_type(entry)}")
                if i > 1 and key in target:
                    target[key] = {**target[key], **entry}  # user file: replace fields
                else:
                    target[key] = dict(entry)
                origin[f"{section}.{key}"] = path

        sites.update(_sites(doc.get("sites"), path))

    limits = {k: _limit(v, origin[f"limits.{k}"], f"limits.{k}", k) for k, v in raw_limits.items()}
    platforms = {k: _platform(v, origin[f"platforms.{k}"], f"platforms.{k}", k, limits)
                 for k, v in raw_platforms.items()}
    failures = {k: _failure(v, origin[f"failures.{k}"], f"failures.{k}", k)
                for k, v in raw_failures.items()}
    catalog = Catalog(platforms, failures, limits, tuple(files), sites, dict(origin))
    if checked:
        for path in files[1:]:
            _keeps_the_rules(catalog, path)
    return catalog


def _keeps_the_rules(catalog: Catalog, path: Path) -> None:
    from .catalog_rules import check_catalog

    problems = check_catalog(catalog, only=path)
    if problems:
        n = len(problems)
        raise CatalogError(f"{problems[0]}{f' (and {n - 1} more)' if n > 1 else ''}: this "
                           f"catalog file is not used until it keeps the catalog's rules; "
                           f"see them all with 'ava-evidence platforms --check {path}', then "
                           f"fix the file or remove it.")


def _sites(value: Any, path: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(path, "sites", f"must map domains to kinds, not {_type(value)}")
    for domain, kind in value.items():
        if not isinstance(domain, str) or not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
            raise _err(path, f"sites.{domain}", "must be a domain name like example.com")
        if kind not in SITE_KINDS:
            raise _err(path, f"sites.{domain}", f"must be one of {', '.join(SITE_KINDS)} "
                                                f"(got '{kind}')")
    return dict(value)


MAX_USER_FILE = 4 << 20
"""Largest user catalog read: the built-in one, with 13 platforms, is about 40 kB."""
MAX_EXPANDED = 8 << 20
"""Most text a user catalog's YAML aliases ('*name') may repeat: a few kB repeated a few
times is what aliases are for; a megabyte repeated a thousand times is an attack."""


class _Amplified(Exception):
    """A YAML document whose aliases repeat more than MAX_EXPANDED of text."""


def _bounded_loader() -> Any:
    """PyYAML's safe loader, counting the text each alias repeats."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.expanded = 0
            self.sizes: dict[int, int] = {}

        def size(self, node: Any) -> int:
            if id(node) not in self.sizes:
                if isinstance(node, yaml.ScalarNode):
                    total = len(node.value) + 1
                elif isinstance(node, yaml.MappingNode):
                    total = 1 + sum(self.size(k) + self.size(v) for k, v in node.value)
                else:
                    total = 1 + sum(self.size(item) for item in node.value)
                self.sizes[id(node)] = total
            return self.sizes[id(node)]

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.events.AliasEvent):
                node = self.anchors.get(self.peek_event().anchor)
                if node is not None:
                    self.expanded += self.size(node)
                    if self.expanded > MAX_EXPANDED:
                        raise _Amplified
            return super().compose_node(parent, index)

    return BoundedLoader


def _read_yaml(path: Path, *, fast: bool = False) -> dict[str, Any]:
    import yaml

    try:
        if not fast and path.stat().st_size > MAX_USER_FILE:
            raise CatalogError(f"{path}: the file is {path.stat().st_size / 1e6:.1f} MB; a "
                               f"catalog is a few kB (the built-in one, 40 kB): check that "
                               f"this is the right file, or remove it.")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e}): "
                           f"fix its permissions or encoding (UTF-8), or remove it.") from e
    try:
        # The C loader, where PyYAML has it, reads the shipped catalog several times faster;
        # user files get the pure-Python one, whose error messages are the same everywhere.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else _bounded_loader()
        doc = yaml.load(text, Loader=loader)
    except _Amplified:
        raise CatalogError(f"{path}: its YAML aliases ('*name') repeat more than "
                           f"{MAX_EXPANDED >> 20} MB of text: write the values out, or remove "
                           f"the file.") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise CatalogError(f"{path}: {where}YAML syntax error: {problem}; "
                           f"fix the file or remove it.") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise CatalogError(f"{path}: the top level must be a mapping with 'platforms:', "
                           f"not {_type(doc)} (fix the file or remove it).")
    return doc


def _err(path: Path, key_path: str, problem: str) -> CatalogError:
    return CatalogError(f"{path}: {key_path}: {problem} (fix the file or remove it).")


def _text_key(path: Path, key_path: str, key: Any) -> None:
    """Refuse a key that YAML did not read as text (1, 2.5, yes, null, 2026-01-01)."""
    if isinstance(key, str):
        return
    hint = " (YAML reads yes, no, on and off as true/false)" if isinstance(key, bool) else ""
    raise _err(path, f"{key_path}.{key}", f"the key must be text, not {_type(key)}{hint}: "
                                          f"put it in quotes")


def _type(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number",
            bool: "true/false", type(None): "empty", dt.date: "a date",
            dt.datetime: "a date and time"}.get(type(value), type(value).__name__)


class _Reader:
    """Typed access to one mapping of a catalog file, with errors naming the key path."""

    def __init__(self, data: dict[str, Any], path: Path, key_path: str, allowed: set[str]) -> None:
        self.data, self.path, self.key_path = data, path, key_path
        for key in data:
            if key not in allowed:
                raise _err(path, f"{key_path}.{key}",
                           f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def _missing(self, key: str) -> CatalogError:
        return _err(self.path, f"{self.key_path}.{key}", "required field is missing")

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self._missing(key)
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        if not isinstance(value, str) or not value.strip():
            raise _err(self.path, f"{self.key_path}.{key}",
                       f"must be non-empty text, not {_type(value)}")
        return " ".join(value.split()) if "\n" in value else value.strip()

    def req(self, key: str) -> str:
        value = self.text(key)
        assert value is not None
        return value

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...] | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self._missing(key)
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _err(self.path, f"{self.key_path}.{key}", "must be a list of text")
        return tuple(" ".join(v.split()) for v in value)

    def number(self, key: str, kind: type, *, minimum: float = 0) -> Any:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or value <= minimum:
            raise _err(self.path, f"{self.key_path}.{key}", "must be a positive number "
                                                            "(not .nan or .inf)")
        return kind(value)

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.req(key)
        if value not in choices:
            raise _err(self.path, f"{self.key_path}.{key}",
                       f"must be one of {', '.join(choices)} (got '{value}')")
        return value

    def mapping(self, key: str, *, required: bool = True) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self._missing(key)
            return None
        if not isinstance(value, dict):
            raise _err(self.path, f"{self.key_path}.{key}",
                       f"must be a mapping, not {_type(value)}")
        return value

    def fact(self) -> dict[str, Any]:
        status = self.choice("status", STATUSES)
        source = self.text("source", required=False)
        if source is None and status != "unverified":
            raise _err(self.path, f"{self.key_path}.source",
                       "required unless the status is 'unverified'")
        if source is not None and not re.match(r"^https?://\S+$", source):
            raise _err(self.path, f"{self.key_path}.source",
                       "must be a web address (https://...)")
        checked = self.req("checked")
        try:
            dt.date.fromisoformat(checked)
        except ValueError:
            raise _err(self.path, f"{self.key_path}.checked",
                       f"must be a date like 2026-11-01 (got '{checked}')") from None
        return {"source": source, "checked": checked, "status": status,
                "basis": self.text("basis", required=False)}

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise _err(self.path, f"{self.key_path}.{key}", "must be true or false")
        return value


_FACT_KEYS = {"source", "checked", "status", "basis"}


def _limit(data: dict[str, Any], path: Path, kp: str, key: str) -> Limit:
    r = _Reader(data, path, kp, {"summary", "attachment_limit_mb", "message_limit_chars",
                                 *_FACT_KEYS})
    return Limit(key=key, summary=r.req("summary"),
                 attachment_limit_mb=r.number("attachment_limit_mb", float),
                 message_limit_chars=r.number("message_limit_chars", int), **r.fact())


def _regex(pattern: str, path: Path, key_path: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as e:
        raise _err(path, key_path, f"not a valid regular expression ({e})") from None
    if _repeat_in_repeat(pattern):
        raise _err(path, key_path, "repeats a part that itself repeats (like (a+)+ or "
                                   "(\\w+\\s?)*), which can take exponential time on a "
                                   "long ID: write it without the nested repeat")
    return compiled


def _repeat_in_repeat(pattern: str) -> bool:
    """A repeat (+, *, {2,}) inside a repeat: the shape of catastrophic backtracking."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse as parser

    def children(name: str, arg: Any) -> list[Any]:
        if name == "SUBPATTERN":
            return [arg[-1]]
        if name == "BRANCH":
            return list(arg[1])
        if name in ("ASSERT", "ASSERT_NOT"):
            return [arg[1]]
        return []

    def nested(items: Any, inside: bool) -> bool:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT"):
                _, most, sub = arg
                repeats = most > 1
                if (repeats and inside) or nested(sub, inside or repeats):
                    return True
            elif any(nested(part, inside) for part in children(name, arg)):
                return True
        return False

    return nested(parser.parse(pattern), False)


def _platform(data: dict[str, Any], path: Path, kp: str, key: str,
              limits: Mapping[str, Limit]) -> Platform:
    r = _Reader(data, path, kp, {"name", "vendor", "aliases", "domains", "repos", "status",
                                 "discontinued", "help", "help_centre", "id", "account",
                                 "usage", "plans", "channels", "refund_policy", "notes"})
    plans = _plans(r.mapping("plans", required=False), path, f"{kp}.plans")
    tier_keys = set(plans.tiers) if plans else set()
    channels_data = data.get("channels")
    if channels_data is None:
        raise _err(path, f"{kp}.channels", "required field is missing (use [] when none is known)")
    if not isinstance(channels_data, list):
        raise _err(path, f"{kp}.channels", f"must be a list, not {_type(channels_data)}")
    channels = tuple(_channel(item, path, f"{kp}.channels[{i}]", tier_keys, limits)
                     for i, item in enumerate(channels_data))
    notes_data = data.get("notes") or []
    if not isinstance(notes_data, list):
        raise _err(path, f"{kp}.notes", f"must be a list, not {_type(notes_data)}")
    notes = tuple(_note(item, path, f"{kp}.notes[{i}]") for i, item in enumerate(notes_data))
    status = r.text("status", required=False) or "active"
    if status not in ("active", "discontinued"):
        raise _err(path, f"{kp}.status", f"must be active or discontinued (got '{status}')")
    discontinued = _discontinued(r.mapping("discontinued", required=status == "discontinued"),
                                 path, f"{kp}.discontinued")
    if discontinued is not None and status != "discontinued":
        raise _err(path, f"{kp}.discontinued", "is given, so status must be 'discontinued'")
    domains = r.texts("domains") or ()
    for d in domains:
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", d):
            raise _err(path, f"{kp}.domains", f"'{d}' is not a domain name like example.com")
    repos = r.texts("repos") or ()
    for account in repos:
        if not re.fullmatch(r"(github\.com|gitlab\.com)/[A-Za-z0-9_.-]+", account):
            raise _err(path, f"{kp}.repos", f"'{account}' is not a code host's account like "
                                            f"github.com/vendor")
    return Platform(key=key, name=r.req("name"), vendor=r.text("vendor", required=False) or "",
                    aliases=r.texts("aliases") or (), help=_help(r, path, kp),
                    id=_id_info(r.mapping("id"), path, f"{kp}.id"), channels=channels,
                    refund_policy=_policy(r.mapping("refund_policy"), path,
                                          f"{kp}.refund_policy"),
                    plans=plans, notes=notes, domains=domains, repos=repos,
                    account=_account(r.mapping("account", required=False), path,
                                     f"{kp}.account"),
                    discontinued=discontinued, usage=_usage(data.get("usage", ""), path,
                                                            f"{kp}.usage"))


def _usage(value: Any, path: Path, kp: str) -> Usage | None:
    """Absent: credits. 'none': nothing is charged per generation. A mapping: its own words."""
    if value == "":
        return CREDITS
    if value == "none":
        return None
    if not isinstance(value, dict):
        raise _err(path, kp, "must be 'none' or a mapping with label and placeholder")
    ur = _Reader(value, path, kp, {"label", "placeholder"})
    return Usage(ur.req("label"), ur.req("placeholder"))


def _help(r: _Reader, path: Path, kp: str) -> Help | None:
    data = r.mapping("help", required=False)
    if data is None:
        legacy = r.text("help_centre", required=False)  # schema 1 user files
        if legacy is None:
            return None
        if not legacy.startswith("https://"):
            raise _err(path, f"{kp}.help_centre", "must be a web address (https://...)")
        return Help(source=legacy, checked=dt.date.today().isoformat(), status="unverified",
                    url=legacy)
    hr = _Reader(data, path, f"{kp}.help", {"url", *_FACT_KEYS})
    url = hr.req("url")
    if not url.startswith("https://"):
        raise _err(path, f"{kp}.help.url", "must be a web address (https://...)")
    return Help(url=url, **hr.fact())


def _id_info(data: dict[str, Any] | None, path: Path, kp: str) -> IdInfo:
    assert data is not None
    ir = _Reader(data, path, kp, {"name", "where", "pattern", "url_patterns", *_FACT_KEYS})
    url_patterns = ir.texts("url_patterns") or ()
    for i, pattern in enumerate(url_patterns):
        if "id" not in _regex(pattern, path, f"{kp}.url_patterns[{i}]").groupindex:
            raise _err(path, f"{kp}.url_patterns[{i}]", "must capture the ID as (?P<id>...)")
    id_pattern = ir.text("pattern", required=False)
    if id_pattern is not None:
        _regex(id_pattern, path, f"{kp}.pattern")
    return IdInfo(name=ir.req("name"), where=ir.req("where"), pattern=id_pattern,
                  url_patterns=url_patterns, **ir.fact())


def _account(data: dict[str, Any] | None, path: Path, kp: str) -> Account:
    if data is None:
        return DEFAULT_ACCOUNT
    ar = _Reader(data, path, kp, {"label", "placeholder", "where", *_FACT_KEYS})
    label = ar.req("label")
    return Account(label=label, placeholder=ar.text("placeholder", required=False)
                   or f"[your {label[:1].lower()}{label[1:]}]",
                   where=ar.text("where", required=False), **ar.fact())


def _plans(data: dict[str, Any] | None, path: Path, kp: str) -> Plans | None:
    if data is None:
        return None
    # 'default' is read and ignored: files written before plans stopped being assumed.
    pr = _Reader(data, path, kp, {"tiers", "default", *_FACT_KEYS})
    tiers = pr.mapping("tiers")
    assert tiers is not None
    for tier in tiers:
        _text_key(path, f"{kp}.tiers", tier)
    if not tiers or not all(isinstance(v, str) for v in tiers.values()):
        raise _err(path, f"{kp}.tiers", "must map plan keys to plan names")
    return Plans(tiers={str(k): v for k, v in tiers.items()}, **pr.fact())


def _channel(item: Any, path: Path, kp: str, tier_keys: set[str],
             limits: Mapping[str, Limit]) -> Channel:
    if not isinstance(item, dict):
        raise _err(path, kp, f"must be a mapping, not {_type(item)}")
    cr = _Reader(item, path, kp, {"key", "kind", "where", "steps", "plans", "limits", "purpose",
                                  "post_in", "mention", "category", "carries", "asks_for",
                                  *_FACT_KEYS})
    ch_plans = cr.texts("plans")
    for p in ch_plans or ():
        if p not in tier_keys:
            raise _err(path, f"{kp}.plans", f"'{p}' is not one of the platform's plans "
                                            f"({', '.join(sorted(tier_keys)) or 'none'})")
    limit_key = cr.text("limits", required=False)
    if limit_key is not None and limit_key not in limits:
        raise _err(path, f"{kp}.limits", f"unknown limits '{limit_key}'; known: "
                                         f"{', '.join(sorted(limits))}")
    carries = cr.mapping("carries", required=False) or {}
    carr = _Reader(carries, path, f"{kp}.carries", {"text", "files", "max_files"})
    max_files = carries.get("max_files")
    if max_files is not None and (isinstance(max_files, bool) or not isinstance(max_files, int)
                                  or max_files < 1):
        raise _err(path, f"{kp}.carries.max_files", "must be a whole number of files, 1 or more")
    purpose = cr.text("purpose", required=False) or "support"
    if purpose not in PURPOSES:
        raise _err(path, f"{kp}.purpose", f"must be one of {', '.join(PURPOSES)} "
                                          f"(got '{purpose}')")
    return Channel(key=cr.req("key"), kind=cr.choice("kind", CHANNEL_KINDS),
                   where=cr.req("where"), steps=cr.texts("steps") or (), plans=ch_plans,
                   limit=limits[limit_key] if limit_key else None, purpose=purpose,
                   post_in=cr.text("post_in", required=False),
                   mention=cr.text("mention", required=False),
                   category=cr.text("category", required=False),
                   carries_text=carr.flag("text", True), carries_files=carr.flag("files", True),
                   max_files=max_files,
                   asks_for=_asks(item.get("asks_for"), path, f"{kp}.asks_for"), **cr.fact())


def _asks(value: Any, path: Path, kp: str) -> tuple[Ask, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _err(path, kp, f"must be a list, not {_type(value)}")
    asks = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _err(path, f"{kp}[{i}]", f"must be a mapping, not {_type(item)}")
        ar = _Reader(item, path, f"{kp}[{i}]", {"label", "placeholder", "private"})
        label = ar.req("label")
        asks.append(Ask(label=label, placeholder=ar.text("placeholder", required=False)
                        or f"[your {label}]", private=ar.flag("private", False)))
    return tuple(asks)


def _policy(data: dict[str, Any] | None, path: Path, kp: str) -> RefundPolicy:
    assert data is not None
    rr = _Reader(data, path, kp, {"summary", "covers_quality", *_FACT_KEYS})
    covers = data.get("covers_quality")
    if covers is not None and not isinstance(covers, bool):
        raise _err(path, f"{kp}.covers_quality", "must be true, false or empty")
    return RefundPolicy(summary=rr.req("summary"), covers_quality=covers, **rr.fact())


def _note(item: Any, path: Path, kp: str) -> Note:
    if not isinstance(item, dict):
        raise _err(path, kp, f"must be a mapping, not {_type(item)}")
    nr = _Reader(item, path, kp, {"text", "plans", "failures", *_FACT_KEYS})
    return Note(text=nr.req("text"), plans=nr.texts("plans"), failures=nr.texts("failures"),
                **nr.fact())


def _discontinued(data: dict[str, Any] | None, path: Path, kp: str) -> Discontinued | None:
    if data is None:
        return None
    dr = _Reader(data, path, kp, {"summary", "date", "remaining", *_FACT_KEYS})
    date = dr.req("date")
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise _err(path, f"{kp}.date", f"must be a date like 2026-09-24 (got '{date}')") from None
    return Discontinued(summary=dr.req("summary"), date=date, remaining=dr.req("remaining"),
                        **dr.fact())


def _failure(data: dict[str, Any], path: Path, kp: str, key: str) -> Failure:
    r = _Reader(data, path, kp, {"term", "aliases", "severity", "definition", "symptoms",
                                 "evidence", "strength", "prevention", "plain"})
    ev = r.mapping("evidence")
    assert ev is not None
    er = _Reader(ev, path, f"{kp}.evidence", {"pair", "min_marks", "needs_note", "needs_prompt",
                                              "change", "compare", "advice", "example"})
    min_marks = ev.get("min_marks", 0)
    if isinstance(min_marks, bool) or not isinstance(min_marks, int) or min_marks < 0:
        raise _err(path, f"{kp}.evidence.min_marks", "must be a whole number, 0 or more")
    evidence = Evidence(pair=er.choice("pair", ("start-end",)), min_marks=min_marks,
                        needs_note=er.flag("needs_note", False), advice=er.req("advice"),
                        needs_prompt=er.flag("needs_prompt", False),
                        change=er.choice("change", ("gradual", "sudden"))
                        if "change" in ev else "sudden",
                        compare=er.text("compare", required=False),
                        **({"example": er.req("example")} if "example" in ev else {}))
    strength = {}
    for pkey, item in (r.mapping("strength", required=False) or {}).items():
        _text_key(path, f"{kp}.strength", pkey)
        skp = f"{kp}.strength.{pkey}"
        if not isinstance(item, dict):
            raise _err(path, skp, f"must be a mapping, not {_type(item)}")
        sr = _Reader(item, path, skp, {"rating", "basis", "status"})
        strength[str(pkey)] = Strength(rating=sr.choice("rating", ("high", "moderate", "low")),
                                       basis=sr.req("basis"),
                                       status=sr.choice("status", STATUSES))
    symptoms = r.texts("symptoms", required=True)
    assert symptoms is not None
    return Failure(key=key, term=r.req("term"), aliases=r.texts("aliases") or (),
                   severity=r.choice("severity", SEVERITIES), definition=r.req("definition"),
                   symptoms=symptoms, evidence=evidence, prevention=r.texts("prevention") or (),
                   strength=strength, plain=r.text("plain", required=False)
                   or "the clip came out broken")
