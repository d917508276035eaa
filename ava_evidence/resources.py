"""Where the shipped data lives: channels.yaml and ticket_templates/.

In an installed wheel they sit in ``ava_evidence/_data``; in a source
checkout (editable install, tests) they sit at the repository's top level.
"""

from __future__ import annotations

from pathlib import Path

from .errors import AvaError

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Path of a shipped data file or folder (``channels.yaml``, ``ticket_templates``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise AvaError(f"the installation is incomplete: {name} is missing; "
                   f"reinstall with 'pip install --force-reinstall ava-evidence'.")
