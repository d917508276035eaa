"""The user's profile: the account and plan per platform, typed once and used by build.

Stored as YAML in the user config folder (``profile.yaml`` beside a user
``channels.yaml``). Nothing secret goes in it: an account email or user ID and a
plan name::

    save_entry("runway", account="me@example.com", plan="pro")
    load_profile().get("runway")   # ProfileEntry(account='me@example.com', plan='pro')
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import OutputError, UsageError

FILE_NAME = "profile.yaml"
SCHEMA = "ava-evidence/profile/1"


@dataclass(frozen=True)
class ProfileEntry:
    account: str | None = None
    plan: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("account", self.account), ("plan", self.plan)) if v}


def profile_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("ava-evidence")) / FILE_NAME


def load_profile(path: Path | None = None) -> dict[str, ProfileEntry]:
    """Every platform's entry; {} when there is no profile yet."""
    import yaml

    p = path or profile_file()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{p}: cannot be read ({getattr(e, 'strerror', None) or e}): fix it "
                         f"or remove it (ava-evidence profile set writes a new one).") from e
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise UsageError(f"{p}: not valid YAML: fix it or remove it (ava-evidence profile "
                         f"set writes a new one).") from None
    platforms = doc.get("platforms") if isinstance(doc, dict) else None
    if not isinstance(platforms, dict):
        raise UsageError(f"{p}: expected 'platforms:' with one entry per platform: fix it "
                         f"or remove it.")
    out = {}
    for key, entry in platforms.items():
        if not isinstance(entry, dict) or not all(
                k in ("account", "plan") and isinstance(v, str) for k, v in entry.items()):
            raise UsageError(f"{p}: platforms.{key} must hold only 'account' and 'plan' "
                             f"text: fix it or remove it.")
        out[str(key)] = ProfileEntry(entry.get("account"), entry.get("plan"))
    return out


def save_entry(platform: str, *, account: str | None = None, plan: str | None = None,
               path: Path | None = None) -> ProfileEntry:
    """Set the account and/or plan for ``platform`` (a catalog key); an empty value
    removes that field. Written atomically; returns the entry as stored."""
    import yaml

    p = path or profile_file()
    entries = load_profile(p)
    old = entries.get(platform, ProfileEntry())
    new = ProfileEntry(account=old.account if account is None else (account or None),
                       plan=old.plan if plan is None else (plan or None))
    if new.to_dict():
        entries[platform] = new
    else:
        entries.pop(platform, None)
    doc: dict[str, Any] = {"schema": SCHEMA,
                           "platforms": {k: e.to_dict() for k, e in sorted(entries.items())}}
    text = ("# ava-evidence profile: your account and plan per platform, used by build.\n"
            "# Nothing secret belongs here. Change it with 'ava-evidence profile set'.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".profile-", suffix=".part", dir=p.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, p)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise OutputError(f"cannot write {p} ({e.strerror or e}): check the permissions of "
                          f"that folder.") from e
    return new
