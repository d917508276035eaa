"""Many bundles at once: a CSV or JSON Lines file of jobs, built in parallel processes.

Each row is one clip (its path relative to the jobs file), platform, id, failure
and optional marks (``TIME`` or ``TIME=WHAT``), plan, note, model and the ticket's
facts (account, prompt, generated, credits, settings, use, reference). A malformed
file is refused before any work, with the line named; a row that fails to build does
not stop the others and ends with the same one-line error ``build`` would give::

    results = run_batch(load_jobs("jobs.csv"), "out", workers=2)
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AvaError, UsageError

REQUIRED = ("clip", "platform", "id", "failure")
OPTIONAL = ("marks", "plan", "note", "model", "auto", "output", "account", "prompt",
            "generated", "credits", "settings", "use", "reference")
FACTS = ("account", "prompt", "generated", "credits", "settings", "use")
"""Columns passed to build as they are (see ``build --help``)."""


@dataclass(frozen=True)
class Job:
    """One row of a jobs file."""

    line: int
    clip: Path
    platform: str
    generation_id: str
    failure: str
    marks: tuple[str, ...] = ()
    plan: str | None = None
    note: str | None = None
    model: str | None = None
    auto: bool = False
    output: str | None = None
    facts: tuple[tuple[str, str], ...] = ()
    """(column, value) for the ticket's facts given in the row (account, prompt...)."""
    reference: Path | None = None


@dataclass
class Outcome:
    """How one job ended: built (with its bundle) or failed (with its error line)."""

    job: Job
    ok: bool
    bundle: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.job.line, "clip": str(self.job.clip),
                "status": "built" if self.ok else "failed", "bundle": self.bundle,
                "error": self.error, "warnings": list(self.warnings),
                "missing": list(self.missing)}


class JobsError(UsageError):
    """A jobs file that cannot be used; names the file and line."""


def _split_marks(value: Any, where: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise JobsError(f"{where}: 'marks' must be a list of times.")
        return tuple(str(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (str(value),)
    if not isinstance(value, str):
        raise JobsError(f"{where}: 'marks' must be times separated by ';' or spaces.")
    if "=" in value:  # TIME=WHAT: the words may hold spaces, so only ';' separates
        return tuple(t.strip() for t in value.split(";") if t.strip())
    return tuple(t for t in re.split(r"[;\s]+", value.strip()) if t)


def _flag(value: Any, where: str) -> bool:
    if value in (None, "", False, 0):
        return False
    if value is True or value == 1:
        return True
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "y"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "n"):
        return False
    raise JobsError(f"{where}: 'auto' must be true or false.")


def _job(row: dict[str, Any], line: int, base: Path, name: str) -> Job:
    where = f"{name}, line {line}"
    unknown = sorted(k for k in row if k not in REQUIRED + OPTIONAL)
    if unknown:
        raise JobsError(f"{where}: unknown column '{unknown[0]}'; columns are "
                        f"{', '.join(REQUIRED + OPTIONAL)}.")
    for key in REQUIRED:
        value = row.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise JobsError(f"{where}: '{key}' is missing; every row needs "
                            f"{', '.join(REQUIRED)}.")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise JobsError(f"{where}: '{key}' must be text.")

    def text(key: str) -> str | None:
        value = row.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise JobsError(f"{where}: '{key}' must be text.")
        return str(value)

    clip = Path(str(row["clip"]).strip())
    reference = text("reference")
    ref_path = Path(reference.strip()) if reference else None
    facts = tuple((k, v) for k in FACTS if (v := text(k)) is not None)
    return Job(line=line, clip=clip if clip.is_absolute() else base / clip,
               facts=facts, reference=(ref_path if ref_path is None or ref_path.is_absolute()
                                       else base / ref_path),
               platform=str(row["platform"]).strip(), generation_id=str(row["id"]),
               failure=str(row["failure"]).strip(),
               marks=_split_marks(row.get("marks"), where), plan=text("plan"),
               note=text("note"), model=text("model"), auto=_flag(row.get("auto"), where),
               output=text("output"))


def load_jobs(path: str | os.PathLike[str]) -> list[Job]:
    """Read and check a CSV (with a header row) or JSON Lines jobs file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise JobsError(f"{p}: no such jobs file: check the path.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise JobsError(f"{p}: cannot be read ({getattr(e, 'strerror', None) or e}): "
                        f"save it as UTF-8 text.") from e
    base = p.resolve().parent
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        raise JobsError(f"{p}: the jobs file is empty: add a header and one row per clip.")
    jobs: list[Job] = []
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json") or first.startswith("{"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise JobsError(f"{p.name}, line {n}: not valid JSON ({e.msg}): write one JSON "
                                f"object per line.") from None
            if not isinstance(row, dict):
                raise JobsError(f"{p.name}, line {n}: must be a JSON object like "
                                f'{{"clip": "a.mp4", "platform": "kling", ...}}.')
            jobs.append(_job(row, n, base, p.name))
    else:
        reader = csv.reader(text.splitlines())
        header = [h.strip().lower() for h in next(reader)]
        if len(header) == 1 and ";" in header[0]:
            raise JobsError(f"{p.name}, line 1: columns are separated by ';': save the file as "
                            f"CSV with commas (clip,platform,id,failure,...).")
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise JobsError(f"{p.name}, line 1: unknown column '{unknown[0]}'; columns are "
                            f"{', '.join(REQUIRED + OPTIONAL)}.")
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise JobsError(f"{p.name}, line 1: the header has no '{missing[0]}' column; it "
                            f"needs {', '.join(REQUIRED)}.")
        for n, fields in enumerate(reader, 2):
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise JobsError(f"{p.name}, line {n}: {len(fields)} fields, but the header "
                                f"has {len(header)}: quote values that contain commas.")
            jobs.append(_job(dict(zip(header, fields, strict=True)), n, base, p.name))
    if not jobs:
        raise JobsError(f"{p}: no jobs in the file: add one row per clip.")
    return jobs


def _run_one(job: Job, out_dir: str, force: bool, catalog: Any, one_core: bool) -> Outcome:
    """Build one job; runs in a worker process, so it returns plain data.

    ``one_core``: this process is one of several that fill the cores, so it does
    its work on one thread; a lone worker keeps the threads a build normally uses.
    """
    from . import decode
    from .bundle import build_bundle

    if one_core:
        decode.DECODER_THREADS = 1
        decode.WORKER_THREADS = 0

    target = Path(out_dir) / job.output if job.output else Path(out_dir)
    facts = dict(job.facts)
    try:
        result = build_bundle(job.clip, platform=job.platform, generation_id=job.generation_id,
                              failure=job.failure, marks=list(job.marks), plan=job.plan,
                              note=job.note, model=job.model, output=target, force=force,
                              auto=job.auto, catalog=catalog, reference=job.reference,
                              account=facts.get("account"), prompt=facts.get("prompt"),
                              generated=facts.get("generated"), credits=facts.get("credits"),
                              settings=facts.get("settings"), use=facts.get("use"))
    except AvaError as e:
        return Outcome(job, False, error=str(e))
    except Exception as e:  # one bad clip must not take the batch down
        return Outcome(job, False, error=f"unexpected {type(e).__name__}: {e}")
    return Outcome(job, True, bundle=str(result.path), warnings=result.warnings,
                   missing=result.missing)


def run_batch(jobs: Sequence[Job], out_dir: str | os.PathLike[str], *, workers: int | None = None,
              force: bool = False, channels_file: str | os.PathLike[str] | None = None,
              on_progress: Callable[[str, int, int], None] | None = None) -> list[Outcome]:
    """Build every job, ``workers`` at a time in separate processes; results in job order."""
    import multiprocessing

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AvaError(f"cannot create folder {out} ({e.strerror}): choose another -o.") from e
    from .catalog import load_catalog

    count = workers or os.cpu_count() or 1
    outcomes: dict[int, Outcome] = {}
    catalog = load_catalog(channels_file)  # once, and a bad catalog stops the batch up front
    if on_progress:
        on_progress("batch", 0, len(jobs))
    # Where fork exists, import the heavy libraries once here and fork the workers with
    # them loaded (nothing is open and no thread runs yet); elsewhere, spawn.
    if "fork" in multiprocessing.get_all_start_methods():
        import threading

        import av  # noqa: F401
        import cv2  # noqa: F401
        import numpy  # noqa: F401
        import PIL.Image
        import PIL.ImageDraw  # noqa: F401

        from . import bundle, decode, stills  # noqa: F401
        from .tickets import precompile

        # Compiled once here, the templates are inherited by every worker.
        for platform in {job.platform for job in jobs}:
            with contextlib.suppress(AvaError):
                plat = catalog.platform(platform)
                for channel in plat.channels or [None]:
                    precompile(None, plat.key, channel.kind if channel else None)
        context = multiprocessing.get_context("fork" if threading.active_count() == 1
                                              else "spawn")
    else:
        context = multiprocessing.get_context("spawn")
    processes = min(count, len(jobs))
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = {pool.submit(_run_one, job, str(out), force, catalog, processes > 1): n
                   for n, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                outcomes[futures[future]] = future.result()
                if on_progress:
                    on_progress("batch", len(outcomes), len(jobs))
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return [outcomes[n] for n in range(len(jobs))]
