"""The tool's own folder in the user's cache (compiled templates, the face detector).

What is kept there is loaded and run again, so a folder is used only if it is this
user's own and no one else may write to it; otherwise nothing is cached.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_cache(*parts: str) -> Path | None:
    """The cache folder ``parts`` below the tool's, made if missing; None if it cannot be
    made or used safely (not ours, or writable by others)."""
    from platformdirs import user_cache_dir

    try:
        folder = Path(user_cache_dir("ava-evidence")).joinpath(*parts)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None
    return folder
