"""Many bundles at once: a CSV or JSON Lines file of jobs, built in parallel processes.

Each row is one clip (its path relative to the jobs file), platform, id, failure
and optional marks (``TIME`` or ``TIME=WHAT``), plan, note, model and the ticket's
facts (account, prompt, generated, credits, settings, use, reference). A malformed
file is refused before any work, with the line named; a row that fails to build does
not stop the others and ends with the same one-line error ``build`` would give.
Each row's outcome is handed to ``on_result`` as it finishes; a signal that stops the
batch raises :class:`BatchStopped`, which says row by row what was built and what was
not, and ``skip_existing`` lets the next run finish the job::

    results = run_batch(load_jobs("jobs.csv"), "out", workers=2, on_result=print)
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AvaError, UsageError

REQUIRED = ("clip", "platform", "id", "failure")
OPTIONAL = ("marks", "plan", "note", "model", "auto", "output", "account", "prompt",
            "generated", "credits", "settings", "use", "reference", "details")
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
    details: tuple[str, ...] = ()
    """LABEL=VALUE lines a route asks for (as build --detail)."""


BUILT, ALREADY_BUILT, FAILED = "built", "already built", "failed"
STOPPED, NOT_STARTED = "stopped", "not started"
"""A row is 'stopped' when a signal came while it was being built (its build cleaned up
after itself, so nothing of it is kept), 'not started' when it had not begun."""


@dataclass
class Outcome:
    """How one job ended: built or already built (with its bundle), failed (with its
    error line), or, in a batch a signal stopped, stopped or not started."""

    job: Job
    ok: bool
    bundle: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    status: str = ""
    """One of BUILT, ALREADY_BUILT, FAILED, STOPPED, NOT_STARTED; by default from ``ok``."""

    def __post_init__(self) -> None:
        if not self.status:
            self.status = BUILT if self.ok else FAILED

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.job.line, "clip": str(self.job.clip),
                "status": self.status, "bundle": self.bundle,
                "error": self.error, "warnings": list(self.warnings),
                "missing": list(self.missing)}


class BatchStopped(KeyboardInterrupt):
    """A signal (Ctrl-C, SIGTERM, SIGHUP) stopped the batch after the workers cleaned up.

    ``outcomes`` holds every row in job order, so what was built can still be listed.
    It is raised from the signal's own exception, so ``signals.exit_code`` reads it."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.outcomes = outcomes


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


_FLAG = re.compile(r"--([a-z]+)\b( (?=[A-Z0-9'\"\[]))?")
_AS_COLUMN = {"mark": "marks"}


def in_columns(message: str) -> str:
    """build's error as a jobs file's row needs it: '--plan' is the 'plan' column there
    ('--mark' the 'marks' one, '--mark TIME=WHAT' "the 'marks' column: TIME=WHAT"); a flag
    with no column (--force) stays as it is."""
    def column(m: re.Match[str]) -> str:
        name = _AS_COLUMN.get(m.group(1), m.group(1))
        if name not in REQUIRED + OPTIONAL:
            return m.group(0)
        return f"the '{name}' column" + (": " if m.group(2) else "")

    return _FLAG.sub(column, message)


def _job(row: dict[str, Any], line: int, base: Path, name: str) -> Job:
    where = f"{name}, line {line}"
    unknown = sorted(k for k in row if k not in REQUIRED + OPTIONAL)
    if unknown:
        raise JobsError(f"{where}: unknown column '{unknown[0]}'; columns are "
                        f"{', '.join(REQUIRED + OPTIONAL)}.")
    auto = _flag(row.get("auto"), where)
    for key in REQUIRED:
        value = row.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if key == "failure" and auto:
                continue  # measured, as build --auto without --failure measures it
            if key == "failure":
                raise JobsError(f"{where}: 'failure' is missing: name it ('ava-evidence "
                                f"failures' lists them), or set 'auto' to true to measure it.")
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
    output = text("output")
    if output is not None:
        _check_output(output.strip(), where)
    reference = text("reference")
    ref_path = Path(reference.strip()) if reference else None
    facts = tuple((k, v) for k in FACTS if (v := text(k)) is not None)
    return Job(line=line, clip=clip if clip.is_absolute() else base / clip,
               facts=facts, reference=(ref_path if ref_path is None or ref_path.is_absolute()
                                       else base / ref_path),
               platform=str(row["platform"]).strip(), generation_id=str(row["id"]),
               failure=str(row.get("failure") or "").strip(),
               marks=_split_marks(row.get("marks"), where), plan=text("plan"),
               note=text("note"), model=text("model"), auto=auto,
               output=output.strip() if output else None,
               details=tuple(d.strip() for d in (text("details") or "").split(";")
                             if d.strip()))


def _check_output(output: str, where: str) -> None:
    """The 'output' column names a bundle inside -o: relative, no '..', ending in .zip."""
    from pathlib import PurePosixPath, PureWindowsPath

    pure = PurePosixPath(output.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(output).drive or ".." in pure.parts:
        raise JobsError(f"{where}: 'output' must name a bundle inside the -o folder, like "
                        f"a.zip or kling/a.zip (got {output}).")
    if not output.lower().endswith(".zip"):
        raise JobsError(f"{where}: 'output' is the bundle's file name: end it in .zip "
                        f"(got {output}).")


MAX_FIELD = 128 << 10
"""Longest field of a jobs file (a note longer than 128 KiB fits no ticket)."""


def _check_fields(row: dict[str, Any], where: str) -> None:
    for key, value in row.items():
        if isinstance(value, str) and len(value) > MAX_FIELD:
            raise JobsError(f"{where}: '{key}' is {len(value)} characters long; a field holds "
                            f"at most {MAX_FIELD} (128 KiB): shorten it.")


def load_jobs(path: str | os.PathLike[str]) -> list[Job]:
    """Read and check a CSV (with a header row) or JSON Lines jobs file.

    Lines end at LF (or CRLF) only: U+2028 and the other Unicode line breaks are text
    inside a JSON string or a quoted CSV field; CSV lines are counted as in the file,
    however many lines a quoted field spans."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise JobsError(f"{p}: no such jobs file: check the path.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise JobsError(f"{p}: cannot be read ({getattr(e, 'strerror', None) or e}): "
                        f"save it as UTF-8 text.") from e
    base = p.resolve().parent
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first:
        raise JobsError(f"{p}: the jobs file is empty: add a header and one row per clip.")
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json") or first.startswith("{"):
        jobs = _json_lines(lines, p.name, base)
    else:
        jobs = _csv_rows(text, p.name, base)
    if not jobs:
        raise JobsError(f"{p}: no jobs in the file: add one row per clip.")
    return jobs


def _json_lines(lines: list[str], name: str, base: Path) -> list[Job]:
    jobs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            # Whole numbers stay text: an ID of 5,000 digits is an ID, not an error.
            row = json.loads(line, parse_int=str)
        except ValueError as e:
            reason = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
            raise JobsError(f"{name}, line {n}: not valid JSON ({reason}): write one JSON "
                            f"object per line.") from None
        if not isinstance(row, dict):
            raise JobsError(f"{name}, line {n}: must be a JSON object like "
                            f'{{"clip": "a.mp4", "platform": "kling", ...}}.')
        _check_fields(row, f"{name}, line {n}")
        jobs.append(_job(row, n, base, name))
    return jobs


def _csv_rows(text: str, name: str, base: Path) -> list[Job]:
    import io

    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, 64 * MAX_FIELD))  # long fields are named below
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [h.strip().lower() for h in next(reader)]
        except csv.Error as e:
            raise JobsError(f"{name}, line 1: not valid CSV ({e}).") from None
        if len(header) == 1 and ";" in header[0]:
            raise JobsError(f"{name}, line 1: columns are separated by ';': save the file as "
                            f"CSV with commas (clip,platform,id,failure,...).")
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise JobsError(f"{name}, line 1: unknown column '{unknown[0]}'; columns are "
                            f"{', '.join(REQUIRED + OPTIONAL)}.")
        # without a failure column, each row's failure is measured (auto)
        missing = [c for c in REQUIRED if c not in header
                   and not (c == "failure" and "auto" in header)]
        if missing:
            raise JobsError(f"{name}, line 1: the header has no '{missing[0]}' column; it "
                            f"needs {', '.join(REQUIRED)}.")
        jobs = []
        line = reader.line_num
        while True:
            start = line + 1  # the physical line this row starts on
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise JobsError(f"{name}, line {start}: not valid CSV ({e}).") from None
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise JobsError(f"{name}, line {start}: {len(fields)} fields, but the header "
                                f"has {len(header)}: quote values that contain commas.")
            row = dict(zip(header, fields, strict=True))
            _check_fields(row, f"{name}, line {start}")
            jobs.append(_job(row, start, base, name))
        return jobs
    finally:
        csv.field_size_limit(limit)


KILLED = ("its build process was killed (as the system does when memory runs out), so this "
          "row was not built: build this clip alone, or the batch with fewer --workers.")


def _worker_init(control: str) -> None:
    """In each worker process: SIGTERM/SIGHUP clean up as Ctrl-C does, and the process is
    listed, so that the batch can pass a signal on to it."""
    import signal

    from . import signals

    signals.install()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    Path(control, f"worker-{os.getpid()}").touch()


def _run_one(job: Job, n: int, control: str, out_dir: str, force: bool, catalog: Any,
             one_core: bool, skip_existing: bool = False) -> Outcome:
    """Build one job; runs in a worker process, so it returns plain data.

    ``one_core``: this process is one of several that fill the cores, so it does
    its work on one thread; a lone worker keeps the threads a build normally uses.
    A job records that it started (and, if a signal stops it, that it stopped after
    cleaning up) in ``control``: a started job that neither returned nor stopped was
    killed.
    """
    from . import decode, signals
    from .bundle import build_bundle

    if one_core:
        decode.DECODER_THREADS = 1
        decode.WORKER_THREADS = 0

    Path(control, f"job-{n}").write_text(str(os.getpid()))
    target = Path(out_dir) / job.output if job.output else Path(out_dir)
    if job.output and not target.resolve().is_relative_to(Path(out_dir).resolve()):
        return Outcome(job, False, error=f"'output' {job.output} leads outside the -o folder "
                                         f"(through a symbolic link): name a bundle inside it.")
    facts = dict(job.facts)
    try:
        if skip_existing:
            found = _existing(job, bundle_paths(job, catalog, Path(out_dir)), force)
            if found is not None:
                return found
        result = build_bundle(job.clip, platform=job.platform, generation_id=job.generation_id,
                              failure=job.failure, marks=list(job.marks), plan=job.plan,
                              note=job.note, model=job.model, output=target, force=force,
                              auto=job.auto, catalog=catalog, reference=job.reference,
                              account=facts.get("account"), prompt=facts.get("prompt"),
                              generated=facts.get("generated"), credits=facts.get("credits"),
                              settings=facts.get("settings"), use=facts.get("use"),
                              details=job.details)
    except AvaError as e:
        return Outcome(job, False, error=in_columns(str(e)))
    except KeyboardInterrupt as e:  # a signal: the build has cleaned up after itself
        Path(control, f"job-{n}.stopped").touch()
        os._exit(signals.exit_code(e))
    except Exception as e:  # one bad clip must not take the batch down
        return Outcome(job, False, error=f"unexpected {type(e).__name__}: {e}")
    return Outcome(job, True, bundle=str(result.path),
                   warnings=tuple(in_columns(w) for w in result.warnings), missing=result.missing)


def _existing(job: Job, paths: list[Path], force: bool) -> Outcome | None:
    """With skip_existing: a bundle of this row that is already there and verifies is
    skipped; one that does not verify is reported (a half-copied or edited zip must not
    pass for evidence), or built again with ``force``. None: build the row."""
    from .bagit import verify_bag

    for path in paths:
        if not path.is_file():
            continue
        try:
            v = verify_bag(path)
        except AvaError:
            reason = "it is not a zip verify can read"
        else:
            if v.ok:
                return Outcome(job, True, bundle=str(path), status=ALREADY_BUILT)
            more = len(v.problems) - 1
            reason = str(v.problems[0]) + (f", and {more} more" if more else "")
        if force:
            return None
        return Outcome(job, False, error=f"{path} already exists but does not verify "
                                         f"({reason}): delete it, or add --force to build "
                                         f"it again.")
    return None


def bundle_paths(job: Job, catalog: Any, out: Path) -> list[Path]:
    """Where a row's bundle goes: its 'output', else the default name, one per failure
    when the failure is to be measured; none when the row names an unknown platform or
    failure (it fails on its own, with build's error)."""
    from .ticketfiles import safe_name

    if job.output:
        return [out / job.output]
    try:
        plat = catalog.platform(job.platform)
        keys = ([catalog.failure(job.failure).key] if job.failure
                else list(dict.fromkeys(f.key for f in catalog.failures.values())))
    except AvaError:
        return []
    gid = safe_name(plat.id_from(job.generation_id.strip()))
    return [out / f"{plat.key}_{gid}_{key}.zip" for key in keys]


@dataclass
class _Results:
    """The rows settled so far, each passed on to the caller's callbacks as it comes."""

    total: int
    on_result: Callable[[Outcome], None] | None
    on_progress: Callable[[str, int, int], None] | None
    done: dict[int, Outcome] = field(default_factory=dict)
    stamps: dict[int, dict[Path, tuple[int, int] | None]] = field(default_factory=dict)
    """Each row's possible bundles as they were before the batch: one that changes while
    its row is being built was renamed into place just before a signal came."""

    def add(self, n: int, outcome: Outcome) -> None:
        self.done[n] = outcome
        if self.on_result:
            self.on_result(outcome)
        if self.on_progress:
            self.on_progress("batch", len(self.done), self.total)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def run_batch(jobs: Sequence[Job], out_dir: str | os.PathLike[str], *, workers: int | None = None,
              force: bool = False, skip_existing: bool = False,
              channels_file: str | os.PathLike[str] | None = None,
              on_progress: Callable[[str, int, int], None] | None = None,
              on_result: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Build every job, ``workers`` at a time in separate processes; results in job order.

    ``on_result`` gets each row's outcome as soon as it is known, in the order rows
    finish, so a long batch shows its results as it goes. ``skip_existing``: a row whose
    bundle is already there and verifies is not built again (see :func:`_existing`).
    A worker that dies (the OOM killer) fails its own row; the rows the others were
    building when the pool broke are built again. A signal that stops the batch is
    passed on to the workers, which clean up and exit; then :class:`BatchStopped` says
    which rows were built."""
    import shutil
    import tempfile

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AvaError(f"cannot create folder {out} ({e.strerror}): choose another -o.") from e
    results = _Results(len(jobs), on_result, on_progress)
    control = tempfile.mkdtemp(prefix="ava-evidence-batch-")
    try:
        _run(jobs, out, workers, force, skip_existing, channels_file, results, control)
    except KeyboardInterrupt as e:
        raise BatchStopped(_when_stopped(jobs, results, control)) from e
    finally:
        shutil.rmtree(control, ignore_errors=True)
    return [results.done[n] for n in range(len(jobs))]


def _when_stopped(jobs: Sequence[Job], results: _Results, control: str) -> list[Outcome]:
    """Every row once a signal stopped the batch: those settled as they were; a row being
    built is stopped (its build removed what it had made), or built if its bundle had just
    been renamed into place; the others not started."""
    rows = []
    for n, job in enumerate(jobs):
        if n in results.done:
            rows.append(results.done[n])
        elif Path(control, f"job-{n}").exists():
            made = [p for p, before in results.stamps.get(n, {}).items()
                    if _stamp(p) not in (None, before)]
            rows.append(Outcome(job, True, bundle=str(made[0]), status=BUILT) if made
                        else Outcome(job, False, status=STOPPED))
        else:
            rows.append(Outcome(job, False, status=NOT_STARTED))
    return rows


def _run(jobs: Sequence[Job], out: Path, workers: int | None, force: bool,
         skip_existing: bool, channels_file: str | os.PathLike[str] | None,
         results: _Results, control: str) -> None:
    """The batch itself, settling every row in ``results``."""
    import multiprocessing

    from .catalog import load_catalog

    count = workers or os.cpu_count() or 1
    catalog = load_catalog(channels_file)  # once, and a bad catalog stops the batch up front
    if results.on_progress:
        results.on_progress("batch", 0, len(jobs))
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
    for n, outcome in _same_bundle(jobs, catalog, out).items():
        results.add(n, outcome)
    pending = [n for n in range(len(jobs)) if n not in results.done]
    results.stamps = {n: {p: _stamp(p) for p in bundle_paths(jobs[n], catalog, out)}
                      for n in pending}
    for _ in range(len(jobs) + 1):
        if not pending:
            break
        pending = _round(jobs, pending, results, str(out), (force, skip_existing), catalog,
                         processes, context, control)
    for n in pending:  # the workers kept dying before these rows could start
        results.add(n, Outcome(jobs[n], False, error=KILLED))


def _same_bundle(jobs: Sequence[Job], catalog: Any, out: Path) -> dict[int, Outcome]:
    """Rows whose bundle an earlier row of the file makes too: failed, with the earlier
    row named (which one won depended on timing)."""
    first: dict[Path, Job] = {}
    failed: dict[int, Outcome] = {}
    for n, job in enumerate(jobs):
        paths = bundle_paths(job, catalog, out)
        if len(paths) != 1:
            continue  # the row fails on its own, or its failure is measured
        path = paths[0]
        key = Path(os.path.normcase(os.path.abspath(path)))
        if key in first:
            failed[n] = Outcome(job, False, error=(
                f"its bundle {path.name} is the one line {first[key].line} makes: give one of "
                f"them its own 'output' name."))
        else:
            first[key] = job
    return failed


def _round(jobs: Sequence[Job], pending: list[int], results: _Results, out: str,
           flags: tuple[bool, bool], catalog: Any, processes: int, context: Any,
           control: str) -> list[int]:
    """Run the pending jobs in one pool; return those to run again (the pool broke).
    ``flags``: force, skip_existing."""
    from concurrent.futures.process import BrokenProcessPool

    outcomes = results.done
    workers = min(processes, len(pending))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_worker_init, initargs=(control,))
    futures: dict[Any, int] = {}
    try:
        futures = {pool.submit(_run_one, jobs[n], n, control, out, flags[0], catalog,
                               processes > 1, flags[1]): n for n in pending}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                continue  # settled below, once every worker is gone
            results.add(futures[future], outcome)
    except BaseException as e:
        _signal_workers(control, e)
        pool.shutdown(wait=True, cancel_futures=True)
        _finished_meanwhile(futures, outcomes)
        raise
    pool.shutdown(wait=True)
    for marker in Path(control).glob("worker-*"):  # these processes are gone
        marker.unlink(missing_ok=True)
    again = []
    for n in pending:
        if n in outcomes:
            continue
        started = Path(control, f"job-{n}")
        stopped = Path(control, f"job-{n}.stopped")
        if started.exists() and not stopped.exists():
            _remove_leftovers(jobs[n], out, started.read_text().strip())
            results.add(n, Outcome(jobs[n], False, error=KILLED))
        else:
            again.append(n)
        started.unlink(missing_ok=True)
        stopped.unlink(missing_ok=True)
    return again


def _finished_meanwhile(futures: dict[Any, int], outcomes: dict[int, Outcome]) -> None:
    """Rows built while the workers were being stopped. A row that failed then is left
    out: the signal may be what failed it (FFmpeg killed mid-decode)."""
    for future, n in futures.items():
        if n in outcomes or not future.done() or future.cancelled():
            continue
        with contextlib.suppress(Exception):
            outcome = future.result()
            if outcome.ok:
                outcomes[n] = outcome


def _signal_workers(control: str, error: BaseException) -> None:
    """Pass the signal that stopped the batch (SIGTERM for Ctrl-C and anything else) on
    to every worker: each cleans up and exits, and none is left behind."""
    import signal

    from . import signals

    sig = signals.stopping_signal(error)
    sig = signal.SIGTERM if sig == signal.SIGINT else sig
    for marker in Path(control).glob("worker-*"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(marker.name.removeprefix("worker-")), sig)


def _remove_leftovers(job: Job, out: str, pid: str) -> None:
    """The staging folder and partial zip a killed worker left (their names carry its
    process ID)."""
    import shutil

    target = Path(out) / job.output if job.output else Path(out)
    for folder in {Path(out), target if target.is_dir() else target.parent}:
        for leftover in folder.glob(f".ava-evidence-{pid}-*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
