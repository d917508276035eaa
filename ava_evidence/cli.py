"""The ``ava-evidence`` command line: parse, call the library, report.

Nothing here knows about video. Every library error is an ``AvaError``; it is
printed as one ``Error:`` line and mapped to its exit code in
:meth:`AvaGroup.main`, the single place errors are translated.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .errors import AvaError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEBUG_ENV = "AVA_EVIDENCE_DEBUG"


def _debug_requested(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past click (which would print a blank line)."""


class AvaGroup(click.Group):
    """Root group whose ``main`` turns every failure into one ``Error:`` line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise _Interrupted from e

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = _debug_requested(argv)
        argv = [a for a in argv if a != "--debug"]
        try:
            rv = super().main(argv, prog_name or "ava-evidence", complete_var,
                              standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.UsageError as e:
            cmd = e.ctx.command_path if e.ctx else "ava-evidence"
            hint = (_MISSING_HINTS.get(e.param.name or "")
                    if isinstance(e, click.MissingParameter) and e.param else None)
            if hint is None:
                hint = f"See '{cmd} --help'."
            _fail(f"{_sentence(e.format_message())} {hint}", EXIT_USAGE)
        except AvaError as e:
            if debug:
                raise
            _fail(str(e), e.exit_code)
        except (KeyboardInterrupt, click.Abort, _Interrupted):
            if debug:
                raise
            _fail("interrupted; nothing was left half-written.", EXIT_INTERRUPTED)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code)
        except Exception as e:
            if debug:
                raise
            if _caused_by_interrupt(e):  # e.g. Ctrl-C during a lazy import, wrapped by Python
                _fail("interrupted; nothing was left half-written.", EXIT_INTERRUPTED)
            _fail(f"unexpected {type(e).__name__}: {e}. Run again with --debug to see "
                  f"where, and please report it.", EXIT_FAILED)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


_MISSING_HINTS = {
    "generation_id": "It is the ID the platform gave this generation: 'ava-evidence platforms "
                     "NAME' says where that platform shows it.",
    "platform": "'ava-evidence platforms' lists them.",
    "failure": "'ava-evidence failures' lists them.",
}
"""What to do about a missing option, where click's own message says only that it is missing."""


def _caused_by_interrupt(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, (KeyboardInterrupt, _Interrupted)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith(".") else text + "."


class ProgressLine:
    """Draws library progress callbacks as one self-rewriting line on stderr,
    only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._last = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * min(done, total) / total)
        line = f"\r{stage:<8} [{'#' * filled}{' ' * (width - filled)}] {100 * done // total:3d}%"
        if line != self._last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self._last = line

    def close(self) -> None:
        if self.enabled and self._last:
            sys.stderr.write("\r" + " " * (len(self._last) - 1) + "\r")
            sys.stderr.flush()


def _emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _with_progress(quiet: bool, work: Callable[[ProgressLine], Any]) -> Any:
    progress = ProgressLine(not quiet)
    try:
        return work(progress)
    finally:
        progress.close()


# The library checks the path itself, with messages written for users.
CLIP = click.argument("clip", type=click.Path(path_type=Path, readable=False))
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")


@click.group("ava-evidence", cls=AvaGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ava-evidence")
def cli() -> None:
    """Turn a failed AI video generation into evidence support cannot brush off.

    Frame-exact stills of a downloaded clip, with the frame number and time of
    each. Add --debug (or AVA_EVIDENCE_DEBUG=1) to any command to see tracebacks.

    \b
    Examples:
      ava-evidence probe clip.mp4
      ava-evidence frames clip.mp4 start 0:02 end -o stills
    """


@cli.command()
@CLIP
@JSON
def probe(clip: Path, as_json: bool) -> None:
    """Show what a clip really holds: codec, size, rotation, frame rate, frames.

    Counts and times come from the clip's packets, not its header. The
    rotation is how many degrees a player turns each frame counter-clockwise.
    """
    from .clip import index_clip

    index = index_clip(clip)
    if as_json:
        doc = index.to_dict()
        doc["keyframes"] = [float(index.time_of(k)) for k in index.keyframes]
        _emit_json(doc)
    else:
        for line in index.describe():
            click.echo(line)


# A TIME such as "-2" must reach the time parser (and its clear error) instead
# of being rejected as an unknown option.
@cli.command(context_settings={"ignore_unknown_options": True})
@CLIP
@click.argument("times", nargs=-1, required=True, metavar="TIME...")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the PNG stills [default: <clip name>_frames].")
@JSON
@QUIET
def frames(clip: Path, times: tuple[str, ...], out_dir: Path | None, as_json: bool,
           quiet: bool) -> None:
    """Save the exact frames on screen at each TIME as lossless PNG stills.

    \b
    TIME is any of:
      2  2.5  2.5s  2500ms      seconds from the first frame
      0:02  0:02.5  00:00:02.500  1:02:03.5
      f60                       frame number (the first frame is f0)
      00:00:02:12               SMPTE: frame 12 of second 2 at the nominal rate
      start  end                the first and the last frame
    The frame at a time is the one a paused player shows: the last frame
    that starts at or before it.
    """
    from .clip import index_clip
    from .stills import Request, extract_stills, label_for

    def work(progress: ProgressLine) -> Any:
        index = index_clip(clip, on_progress=progress)
        target = out_dir if out_dir is not None else Path(f"{clip.stem}_frames")
        requests = [Request(label_for(t), t) for t in times]
        return extract_stills(index, requests, target, on_progress=progress)

    stills = _with_progress(quiet or as_json, work)
    if as_json:
        _emit_json({"frames": [s.to_dict() for s in stills]})
    else:
        for s in stills:
            click.echo(f"{s.file}  {s.describe()}")


CHANNELS = click.option("--channels", "channels_file", type=click.Path(path_type=Path),
                        default=None, help="Extra catalog file that adds or overrides platforms.")


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _status_tag(status: str) -> str:
    return {"official": "", "third-party": " [third-party]"}.get(status, " [UNVERIFIED]")


@cli.command()
@click.argument("name", required=False)
@CHANNELS
@JSON
def platforms(name: str | None, channels_file: Path | None, as_json: bool) -> None:
    """List the platforms: support channels per plan, refund policy, ID name.

    Every fact shows where it comes from; third-party and unverified facts are
    marked. Give NAME (a key or alias) to see one platform in full.
    """
    from .catalog import load_catalog

    catalog = load_catalog(channels_file)
    chosen = [catalog.platform(name)] if name else list(catalog.platforms.values())
    if as_json:
        _emit_json({"platforms": [p.to_dict() for p in chosen]})
        return
    for i, p in enumerate(chosen):
        if i:
            click.echo("")
        click.echo(f"{p.key:<12}{p.name}"
                   + (f" ({p.vendor})" if p.vendor and p.vendor not in p.name else ""))
        if name:
            click.echo(f"  aliases   {', '.join(p.aliases) or '-'}")
            click.echo(f"  help      {p.help_centre}")
        click.echo(f"  ID        {p.id.name}{_status_tag(p.id.status)}"
                   + (f": {p.id.where}" if name else ""))
        if p.plans:
            tiers = ", ".join(f"{k} ({v})" for k, v in p.plans.tiers.items())
            click.echo(f"  plans     {tiers}{_status_tag(p.plans.status)}")
        if not p.channels:
            click.echo(f"  channel   none documented: start at {p.help_centre}")
        for c in p.channels:
            plans = f" [plans: {', '.join(c.plans)}]" if c.plans else ""
            click.echo(f"  channel   {c.kind}: {c.where}{plans}{_status_tag(c.status)}")
            if name:
                for step in c.steps:
                    click.echo(f"              - {step}")
                click.echo(f"              source: {c.source} (checked {c.checked})")
        policy = p.refund_policy
        click.echo(f"  policy    {policy.summary}{_status_tag(policy.status)}")
        click.echo(f"            source: {policy.source} (checked {policy.checked})")
        if name:
            for note in p.notes:
                click.echo(f"  note      {note.text}{_status_tag(note.status)}")


@cli.command()
@click.argument("name", required=False)
@CHANNELS
@JSON
def failures(name: str | None, channels_file: Path | None, as_json: bool) -> None:
    """List the failure taxonomy: technical term, severity, evidence needed.

    Give NAME (a key or alias) to see its definition and symptoms checklist.
    """
    from .catalog import load_catalog

    catalog = load_catalog(channels_file)
    chosen = [catalog.failure(name)] if name else list(catalog.failures.values())
    if as_json:
        _emit_json({"failures": [f.to_dict() for f in chosen]})
        return
    for f in chosen:
        marks = f.evidence.min_marks
        need = "start|end pair" + (f" + {marks} mark{'s' if marks > 1 else ''}" if marks else "")
        if f.evidence.needs_note:
            need += " + --note"
        click.echo(f"{f.key:<20}{f.term:<42}{f.severity:<10}{need}")
        if name:
            click.echo("")
            click.echo(f.definition)
            click.echo("")
            click.echo("Symptoms:")
            for s in f.symptoms:
                click.echo(f"  - {s}")
            click.echo(f"Evidence: {f.evidence.advice}")
            for platform, rating in f.strength.items():
                click.echo(f"Documentation strength on {platform}: {rating.rating} "
                           f"({rating.status}, {rating.source})")
            if f.prevention:
                click.echo("Prevention:")
                for tip in f.prevention:
                    click.echo(f"  - {tip}")


@cli.command()
@click.option("--variables", is_flag=True, help="List every variable templates receive.")
@JSON
def templates(variables: bool, as_json: bool) -> None:
    """Show the ticket templates and the variables they receive.

    Copy a template into a folder of your own and pass it to build with
    --templates DIR; your files are rendered in a sandbox. A template named
    platforms/<platform>/<name> or channels/<kind>/<name> applies only there.
    """
    from .resources import data_path
    from .tickets import REPORT_VARIABLES, TEMPLATE_NAMES, TEMPLATE_VARIABLES

    folder = data_path("ticket_templates")
    if as_json:
        _emit_json({"folder": str(folder), "templates": list(TEMPLATE_NAMES),
                    "variables": {k: {"description": d, "example": e}
                                  for k, (d, e) in {**TEMPLATE_VARIABLES,
                                                    **REPORT_VARIABLES}.items()}})
        return
    if variables:
        for key, (description, example) in {**TEMPLATE_VARIABLES, **REPORT_VARIABLES}.items():
            click.echo(f"{key:<16}{description}")
            click.echo(f"{'':<16}e.g. {example}")
        return
    click.echo(f"built-in templates in {folder}:")
    for name in TEMPLATE_NAMES:
        click.echo(f"  {name}")
    click.echo("List their variables with: ava-evidence templates --variables")


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


@cli.command(context_settings={"ignore_unknown_options": False})
@CLIP
@click.option("--platform", "platform", required=True, metavar="P",
              help="Platform key or alias (see 'ava-evidence platforms').")
@click.option("--id", "generation_id", required=True, metavar="GENERATION_ID",
              help="The platform's Generation ID, or its share/result URL.")
@click.option("--failure", "failure", required=True, metavar="F",
              help="Failure key or alias (see 'ava-evidence failures').")
@click.option("--mark", "marks", multiple=True, metavar="TIME",
              help="A moment where the failure shows (repeatable); any TIME form.")
@click.option("--plan", default=None, metavar="TIER", help="Your plan on the platform.")
@click.option("--model", default=None, help="The model used (e.g. 'Gen-4 Turbo').")
@click.option("--note", default=None,
              help="Your own words for the ticket (the prompt, what you saw).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Bundle path (.zip) or folder [default: <platform>_<id>_<failure>.zip here].")
@click.option("--force", is_flag=True, help="Replace an existing bundle.")
@click.option("--include-clip", is_flag=True, help="Put the clip itself in the bundle too.")
@click.option("--auto", is_flag=True,
              help="Measure the clip (as 'suggest' does): use the top moments as marks when "
                   "none are given, and add the chart.")
@click.option("--templates", "template_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of your own ticket templates (rendered in a sandbox).")
@CHANNELS
@JSON
@QUIET
def build(clip: Path, platform: str, generation_id: str, failure: str, marks: tuple[str, ...],
          plan: str | None, model: str | None, note: str | None, output: Path | None,
          force: bool, include_clip: bool, auto: bool, template_dir: Path | None,
          channels_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Build the evidence bundle for one failed generation.

    Stills of the first and last frame and of every --mark, captioned pairs
    (start|end, before|at each mark), a contact strip, the ticket for the
    platform's support channel (Markdown and plain text), a self-contained
    report.html and a manifest, in one BagIt zip.

    \b
    Example:
      ava-evidence build clip.mp4 --platform kling --id 8f2c... \\
          --failure physics --mark 0:02 --note "ball passes through the rim"
    """
    from .bundle import build_bundle

    def work(progress: ProgressLine) -> Any:
        return build_bundle(clip, platform=platform, generation_id=generation_id,
                            failure=failure, marks=list(marks), plan=plan, note=note,
                            model=model, output=output, force=force, include_clip=include_clip,
                            auto=auto, channels_file=channels_file, template_dir=template_dir,
                            on_progress=progress)

    result = _with_progress(quiet or as_json, work)
    if as_json:
        _emit_json({"bundle": str(result.path), "manifest": result.manifest})
    else:
        _print_build(result)
    for warning in result.warnings:  # with --json too: they are also in the manifest
        click.echo(f"Warning: {warning}", err=True)


def _print_build(result: Any) -> None:
    """What a person reads after ``build``: the frames, where to send, what to attach."""
    from .timecode import format_clock, format_seconds

    m = result.manifest
    click.echo(f"Bundle: {result.path} ({_mb(result.bytes)})")
    click.echo(f"  {m['term']} on {m['platform_name']}, Generation ID {m['generation_id']}")
    for f in m["frames"]:
        asked = ""
        if f.get("measured"):
            asked = f" (measured: {f['measured']['reason']})"
        elif f["label"] == "mark":
            asked = f" (asked {f['requested']})"
        click.echo(f"  {f['label']:<5} frame {f['index']} at {format_seconds(f['time_s'])} s "
                   f"({format_clock(f['time_s'])}){asked}")
    ch = m["channel"]
    if ch.get("kind"):
        flag = " [UNVERIFIED: check it first]" if ch.get("unverified") else (
            " [third-party]" if ch.get("status") == "third-party" else "")
        click.echo(f"Send via {ch['kind']}: {ch['where']}{flag}")
    else:
        click.echo(f"Send via: no channel documented; start at {ch['help_centre']}")
    click.echo(f"Attach: {', '.join(m['attachments'])}")
    for n in m["attachment_notes"]:
        click.echo(f"  {n}")
    ticket = m["ticket"]
    if ticket["text_left_out"]:
        click.echo(f"Shortened: ticket.txt fits the channel's {ticket['text_limit']}-character "
                   f"limit by leaving out {_and_list(ticket['text_left_out'])}; ticket.md has "
                   f"everything.")
    policy = m["refund_policy"]
    click.echo(f"Policy: {policy['summary']}{_status_tag(policy['status'])}")
    click.echo(f"  source: {policy['source']}")
    click.echo(f"Open the report: unzip the bundle and open {result.path.stem}/data/report.html")


@cli.command()
@CLIP
@click.option("--failure", "failure", default=None, metavar="F",
              help="Failure key or alias (see 'ava-evidence failures'); without it, every "
                   "measure runs and the failures are ranked.")
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 20),
              help="How many candidate moments to list.")
@click.option("--chart", "chart_path", type=click.Path(path_type=Path), default=None,
              help="Also save a PNG chart of the measured series with the moments marked.")
@CHANNELS
@JSON
@QUIET
def suggest(clip: Path, failure: str | None, top: int, chart_path: Path | None,
            channels_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Measure the clip and propose where the failure is first visible.

    Shots are found first (a cut is never a failure). Faces are followed for
    identity coherence (eye spacing and size against the shot's first second, a
    face embedding for who it is); motion for physics (what no motion explains,
    what stops dead); brightness for flicker; repeated frames for a stall. Each
    candidate comes with its numbers; a score of 0.5 or more is plain to see.
    Without --failure, every measure runs and the failures are ranked.
    """
    from .catalog import load_catalog
    from .clip import index_clip

    catalog = load_catalog(channels_file)
    fail = catalog.failure(failure) if failure is not None else None

    def work(progress: ProgressLine) -> Any:
        from .analysis import rank_failures
        from .analysis import suggest as measure

        index = index_clip(clip, on_progress=progress)
        if fail is None:
            return index, rank_failures(index, top=top, on_progress=progress)
        return index, measure(index, fail.key, top=top, on_progress=progress)

    index, result = _with_progress(quiet or as_json, work)
    if fail is None:
        terms = {k: catalog.failure(k).term for k in result.results}
        shown = result.order[0] if result.order else "physics"
        picked, term = result.results[shown], terms[shown]
    else:
        picked, term, terms = result, fail.term, {}
    if chart_path is not None:
        import numpy as np

        from .chart import chart_for
        from .stills import write_png

        img = chart_for(picked, float(index.duration), f"{term}: {index.file_name}")
        write_png(np.asarray(img), chart_path)
    if as_json:
        _emit_json(result.to_dict() if fail is not None else
                   {"summary": result.summary(terms), **result.to_dict()})
        return
    if fail is None:
        _print_ranking(clip, index.file_name, result, terms)
    else:
        _print_suggestion(clip, index.file_name, result, fail.key, fail.term)
    if chart_path is not None:
        click.echo(f"Chart: {chart_path}")


def _print_suggestion(clip: Path, name: str, result: Any, key: str, term: str) -> None:
    count = len(result.candidates)
    click.echo(f"{term} in {name}: {count} candidate moment{'s' if count != 1 else ''}")
    _print_candidates(result.candidates)
    for note in result.notes:
        click.echo(f"  note: {note}")
    if result.candidates:
        marks = " ".join(f"--mark {c.to_dict()['seconds']}" for c in result.candidates[:2])
        click.echo(f"Use them: ava-evidence build {shlex.quote(str(clip))} --platform PLATFORM "
                   f"--id GENERATION_ID --failure {key} {marks}  (or build --auto)")


def _print_candidates(candidates: list[Any]) -> None:
    for n, c in enumerate(candidates, 1):
        d = c.to_dict()
        click.echo(f"  #{n}  {d['seconds']} s ({d['time']})  frame {c.index}  "
                   f"score {c.score:.2f}  {c.reason}")


def _print_ranking(clip: Path, name: str, ranking: Any, terms: dict[str, str]) -> None:
    click.echo(f"Measured in {name}: {ranking.summary(terms)}")
    for key in [*ranking.order, *(k for k in ranking.results if k not in ranking.order)]:
        result = ranking.results[key]
        if not result.candidates:
            click.echo(f"{terms[key]}: nothing stands out")
            continue
        click.echo(f"{terms[key]} ({key}):")
        _print_candidates(result.candidates)
    for note in ranking.notes:
        click.echo(f"  note: {note}")
    best = ranking.top()
    if best is not None:
        key, c = best
        click.echo(f"Use it: ava-evidence build {shlex.quote(str(clip))} --platform PLATFORM "
                   f"--id GENERATION_ID --failure {key} --mark {c.to_dict()['seconds']}")


@cli.command()
@click.argument("bundle", type=click.Path(path_type=Path, readable=False))
@JSON
def verify(bundle: Path, as_json: bool) -> None:
    """Re-hash every file in a bundle and name each missing, changed or unexpected one.

    BUNDLE is the .zip, or the folder unzipping it made. Exits 0 only when the
    bag is complete and every checksum matches.
    """
    from .bagit import verify_bag

    result = verify_bag(bundle)
    if as_json:
        _emit_json(result.to_dict())
    elif result.ok:
        click.echo(f"OK: {bundle} is a valid bag ({result.files} payload files, "
                   f"every checksum matches).")
    else:
        for problem in result.problems:
            click.echo(str(problem))
    if not result.ok:
        if not as_json:
            click.echo(f"Error: {bundle} failed verification: {len(result.problems)} "
                       f"problem{'s' if len(result.problems) != 1 else ''} (listed above).",
                       err=True)
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("jobs", type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("."),
              help="Folder for the bundles [default: here].")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Builds at once, each in its own process [default: number of cores].")
@click.option("--force", is_flag=True, help="Replace existing bundles.")
@CHANNELS
@JSON
@QUIET
def batch(jobs: Path, out_dir: Path, workers: int | None, force: bool,
          channels_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Build many bundles from a CSV or JSON Lines file, in parallel.

    One row per clip with the columns clip, platform, id, failure and
    optionally marks (times separated by ';' or spaces), plan, note, model,
    auto (true/false) and output (bundle name). Clip paths are relative to the
    jobs file. A row that fails does not stop the others; the summary lists
    every row. Exit status 0 when all rows built, 1 when any failed.

    \b
    Example jobs.csv:
      clip,platform,id,failure,marks,note
      a.mp4,kling,8f2c41d0,physics,0:02;0:03.5,ball goes through the rim
      b.mp4,runway,4d1e...,identity,,
    """
    from .batch import load_jobs, run_batch

    rows = load_jobs(jobs)
    outcomes = _with_progress(quiet or as_json, lambda progress: run_batch(
        rows, out_dir, workers=workers, force=force, channels_file=channels_file,
        on_progress=progress))
    built = sum(1 for o in outcomes if o.ok)
    failed = len(outcomes) - built
    if as_json:
        _emit_json({"results": [o.to_dict() for o in outcomes], "built": built,
                    "failed": failed})
    else:
        for o in outcomes:
            status = f"built  {o.bundle}" if o.ok else f"failed Error: {o.error}"
            click.echo(f"line {o.job.line:<4} {o.job.clip.name:<24} {status}")
            for warning in o.warnings:
                click.echo(f"          Warning: {warning}")
        click.echo(f"{built} built, {failed} failed")
    if failed:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the sample clip and its bundle [default: ./ava-evidence-demo].")
@QUIET
def demo(out_dir: Path | None, quiet: bool) -> None:
    """Make a sample failed clip (a face whose eyes drift apart) and build its bundle.

    Shows the whole job on a clip made on the spot, with nothing to download.
    """
    from .demo import run_demo

    target = out_dir if out_dir is not None else Path("ava-evidence-demo")
    result = _with_progress(quiet, lambda progress: run_demo(target, on_progress=progress))
    click.echo(f"Sample clip: {result.clip}")
    click.echo(f"Bundle:      {result.bundle.path} ({_mb(result.bundle.bytes)})")
    click.echo(f"Report:      {result.report}  (open it in a browser)")
    click.echo(f"Check it:    ava-evidence verify {shlex.quote(str(result.bundle.path))}")


def main() -> None:
    """Console-script entry point."""
    import signal

    # numpy's OpenBLAS starts a spinning thread per core when imported; nothing here
    # multiplies matrices, and on a small machine those threads take CPU from the decoder.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        cli.main(prog_name="ava-evidence")
    finally:
        # The work is done (or reported): a Ctrl-C now would only interrupt the
        # interpreter's shutdown and print noise.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
