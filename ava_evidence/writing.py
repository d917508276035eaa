"""Writing a result where the user asked: never replacing what is there without --force,
never through a symbolic link, never into a FIFO or a device, always by renaming a
complete temporary file into place::

    check_new_file(path, force=False)                  # before any work
    write_atomically(path, lambda tmp: tmp.write_bytes(data), force=False)
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import OutputError


def _kind(mode: int) -> str | None:
    """What a non-file is, in words; None for a regular file or a symbolic link."""
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_new_file(path: Path, *, force: bool) -> None:
    """Refuse a path that may not be written: an existing one without ``force``, one that
    is not a file (a folder, FIFO or device) even with it, or one whose folder is missing.
    A symbolic link is replaced itself (with ``force``), never written through."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            raise OutputError(f"folder {parent} does not exist: create it (mkdir -p {parent}) "
                              f"or choose another path.") from None
        return
    except OSError as e:
        raise OutputError(f"cannot use {path} ({e.strerror}): choose another path.") from e
    kind = _kind(st.st_mode)
    if kind:
        raise OutputError(f"{path} is {kind}, not a file: choose another path.")
    if not force:
        raise OutputError(f"{path} already exists: use --force to replace it, or choose "
                          f"another name.")


def shared_mode() -> int:
    """Permissions an ordinary new file gets here (0o666 less the umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: Path, write: Callable[[Path], Any], *, force: bool) -> None:
    """Write ``path`` through a temporary file beside it, renamed into place only when
    complete. Without ``force`` a path that appeared meanwhile is left untouched."""
    check_new_file(path, force=force)
    fd, name = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=path.suffix,
                                dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, shared_mode())  # mkstemp makes it private; results are for sharing
        write(tmp)
        place(tmp, path, force=force)
    except OSError as e:
        raise OutputError(f"cannot write {path} ({e.strerror or e}): check free space and "
                          f"permissions of {path.parent}.") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def place(tmp: Path, path: Path, *, force: bool) -> None:
    """Rename a complete temporary file to ``path``: replacing (a link itself, never its
    target) only with ``force``; otherwise a file that appeared meanwhile wins."""
    if force:
        check_new_file(path, force=True)
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if the name exists: nothing is replaced
    except FileExistsError:
        raise OutputError(f"{path} appeared while writing; it was left untouched. Use "
                          f"--force to replace it, or choose another name.") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV):
            raise
        check_new_file(path, force=False)  # no hard links here: check, then rename
        os.replace(tmp, path)
        return
    tmp.unlink()
