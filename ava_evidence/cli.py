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
EXIT_TERMINATED = 143
"""SIGTERM (timeout, kill, systemd, CI cancelling): cleaned up as for Ctrl-C."""
EXIT_HANGUP = 129
"""SIGHUP (the terminal or SSH session closed): cleaned up as for Ctrl-C."""

DEBUG_ENV = "AVA_EVIDENCE_DEBUG"


def _debug_requested(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _echo(text: object = "", err: bool = False) -> None:
    """Print one line; control and text-direction characters in it (from a file name, a
    bundle, the user) are shown as escapes, never obeyed by the terminal."""
    from .text import printable

    click.echo(printable(text), err=err)


def _fail(message: str, code: int) -> NoReturn:
    _echo(f"Error: {message}", err=True)
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
        from . import signals

        signals.reset()
        argv = list(sys.argv[1:] if args is None else args)
        debug = _debug_requested(argv)
        argv = [a for a in argv if a != "--debug"]
        try:
            rv = super().main(argv, prog_name or "ava-evidence", complete_var,
                              standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.format_message(), err=True)  # the help as laid out, not one line
            sys.exit(EXIT_USAGE)
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
        except (KeyboardInterrupt, click.Abort, _Interrupted) as e:
            if debug:
                raise
            _stopped(e)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code)
        except Exception as e:
            if debug:
                raise
            if _caused_by_interrupt(e):  # e.g. Ctrl-C during a lazy import, wrapped by Python
                _stopped(e)
            _fail(f"unexpected {type(e).__name__}: {e}. Run again with --debug to see "
                  f"where, and please report it.", EXIT_FAILED)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _stopped(error: BaseException, then: str | None = None) -> NoReturn:
    """Ctrl-C, SIGTERM or SIGHUP: one line (and ``then``, what to do next), and 130, 143
    or 129."""
    from . import signals

    _echo(f"Error: {signals.describe(error)}; nothing was left half-written.", err=True)
    if then:
        _echo(then, err=True)
    sys.exit(signals.exit_code(error))


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
    from .text import json_safe

    click.echo(json_safe(json.dumps(doc, indent=2, ensure_ascii=False)))


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
    """Turn a failed AI video generation into a credit request support can check.

    Frame-exact stills of the moments you point at, a short message for the
    platform's real support route, and notes on how to send it, in one bundle.
    Add --debug (or AVA_EVIDENCE_DEBUG=1) to any command to see tracebacks.

    \b
    Examples:
      ava-evidence demo                  see it done on a sample clip
      ava-evidence mark clip.mp4         point at the frame in a local page
      ava-evidence build clip.mp4 --platform kling --id 868126... \\
          --failure physics --mark '0:02=the ball drops through the rim'
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
            _echo(line)


# A TIME such as "-2" must reach the time parser (and its clear error) instead
# of being rejected as an unknown option.
@cli.command(context_settings={"ignore_unknown_options": True})
@CLIP
@click.argument("times", nargs=-1, required=True, metavar="TIME...")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the PNG stills [default: <clip name>_frames].")
@click.option("--force", is_flag=True, help="Replace stills of the same names.")
@JSON
@QUIET
def frames(clip: Path, times: tuple[str, ...], out_dir: Path | None, force: bool,
           as_json: bool, quiet: bool) -> None:
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
        return index, extract_stills(index, requests, target, force=force,
                                     on_progress=progress)

    index, stills = _with_progress(quiet or as_json, work)
    if as_json:
        _emit_json({"frames": [s.to_dict() for s in stills]})
    else:
        for s in stills:
            _echo(f"{s.file}  {s.describe()}")
    if index.truncation is not None:
        t = index.truncation
        _echo(f"Warning: {index.file_name} is truncated ({t.reason}, so "
                   f"{t.missing_text()}): 'end' is where the file stops.", err=True)


CHANNELS = click.option("--channels", "channels_file", type=click.Path(path_type=Path),
                        default=None, help="Extra catalog file that adds or overrides platforms.")


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _status_tag(status: str) -> str:
    return {"official": "", "third-party": " [third-party]"}.get(status, " [UNVERIFIED]")


@cli.command()
@click.argument("name", required=False)
@click.option("--check", "check", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Check the catalog's rules (public https sources, no reseller as a policy, "
                   "real dates...) on FILE, or on the built-in and your own catalog.")
@CHANNELS
@JSON
def platforms(name: str | None, check: str | None, channels_file: Path | None,
              as_json: bool) -> None:
    """List the platforms: support routes per plan, policy on credits, what the ID is called.

    Every fact shows where it comes from; third-party and unverified facts are
    marked, and so is any fact last checked over 180 days ago. Discontinued
    platforms are listed apart. Give NAME (a key or alias) to see one in full.
    """
    from .catalog import load_catalog

    if check is not None:
        _check_catalog(Path(check) if check else channels_file, as_json)
        return
    catalog = load_catalog(channels_file)
    chosen = [catalog.platform(name)] if name else list(catalog.platforms.values())
    if as_json:
        _emit_json({"platforms": [p.to_dict() for p in chosen]})
        return
    active = [p for p in chosen if p.discontinued is None]
    ended = [p for p in chosen if p.discontinued is not None]
    for i, p in enumerate(active):
        if i:
            _echo("")
        _print_platform(p, full=bool(name))
    if ended:
        if active:
            _echo("")
        _echo("Discontinued (build refuses them):")
        for p in ended:
            d = p.discontinued
            assert d is not None
            _echo(f"{p.key:<12}{p.name}: ended {d.date}{_status_tag(d.status)}")
            if name:
                _echo(f"  {d.summary}")
                _echo(f"  What remains: {d.remaining}")
                _echo(f"  source: {d.source or d.basis} (checked {d.checked})")


def _print_platform(p: Any, full: bool) -> None:
    from .catalog_rules import stale_facts

    stale = {id(n.fact) for n in stale_facts(p)}

    def tag(fact: Any) -> str:
        old = f" [checked {fact.checked}: over 180 days ago]" if id(fact) in stale else ""
        return f"{_status_tag(fact.status)}{old}"

    _echo(f"{p.key:<12}{p.name}"
          + (f", by {p.vendor}" if p.vendor and p.vendor not in p.name else ""))
    if full:
        _echo(f"  aliases   {', '.join(p.aliases) or '-'}")
        _echo(f"  help      {p.help_centre or 'no help or contact page documented'}")
    _echo(f"  ID        {p.id.name}{tag(p.id)}" + (f": {p.id.where}" if full else ""))
    if p.plans:
        tiers = ", ".join(f"{k} ({v})" for k, v in p.plans.tiers.items())
        _echo(f"  plans     {tiers}{tag(p.plans)}")
    if not p.channels:
        _echo("  route     none documented")
    for c in p.channels:
        plans = f" [plans: {', '.join(c.plans)}]" if c.plans else ""
        purpose = f" ({c.purpose})" if c.purpose != "support" else ""
        _echo(f"  route     {c.kind_name}: {c.where}{purpose}{plans}{tag(c)}")
        if full:
            for step in c.steps:
                _echo(f"              - {step}")
            _echo(f"              source: {c.source or c.basis} (checked {c.checked})")
    policy = p.refund_policy
    _echo(f"  policy    {policy.summary}{tag(policy)}")
    _echo(f"            source: {policy.source or policy.basis} (checked {policy.checked})")
    if full:
        for note in p.notes:
            _echo(f"  note      {note.text}{tag(note)}")


def _check_catalog(file: Path | None, as_json: bool) -> None:
    """``platforms --check``: every catalog rule, exit 1 when one is broken."""
    from .catalog import load_catalog
    from .catalog_rules import check_catalog

    catalog = load_catalog(file, checked=False)
    problems = check_catalog(catalog, only=file)
    if as_json:
        _emit_json({"ok": not problems, "problems": [
            {"file": str(p.file) if p.file else None, "key_path": p.key_path,
             "problem": p.problem} for p in problems]})
    else:
        for problem in problems:
            _echo(str(problem))
        if not problems:
            checked = str(file) if file else ", ".join(str(f) for f in catalog.files)
            _echo(f"OK: {checked} keeps every catalog rule.")
    if problems:
        if not as_json:
            _echo(f"Error: {len(problems)} catalog rule{'s' if len(problems) != 1 else ''} "
                       f"broken (listed above): fix the file, or mark an unsourced fact "
                       f"'unverified'.", err=True)
        sys.exit(EXIT_FAILED)


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
            need += " + words (--mark TIME=WHAT or --note)"
        _echo(f"{f.key:<20}{f.term:<42}{f.severity:<10}{need}")
        if name:
            _echo("")
            _echo(f.definition)
            _echo("")
            _echo("Symptoms:")
            for s in f.symptoms:
                _echo(f"  - {s}")
            _echo(f"Evidence: {f.evidence.advice}")
            for platform, rating in f.strength.items():
                _echo(f"Documentation strength on {platform}: {rating.rating} "
                           f"({rating.status}: {rating.basis})")
            if f.prevention:
                _echo("Prevention:")
                for tip in f.prevention:
                    _echo(f"  - {tip}")


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
    from .tickets import TEMPLATE_NAMES, template_variables

    folder = data_path("ticket_templates")
    known = template_variables()
    if as_json:
        _emit_json({"folder": str(folder), "templates": list(TEMPLATE_NAMES),
                    "variables": {k: {"description": d, "example": e}
                                  for k, (d, e) in known.items()}})
        return
    if variables:
        for key, (description, example) in known.items():
            _echo(f"{key:<22}{description}")
            _echo(f"{'':<22}e.g. {example}")
        return
    _echo(f"built-in templates in {folder}:")
    for name in TEMPLATE_NAMES:
        _echo(f"  {name}")
    _echo("List their variables with: ava-evidence templates --variables")


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


@cli.command(context_settings={"ignore_unknown_options": False})
@CLIP
@click.option("--platform", "platform", required=True, metavar="P",
              help="Platform key or alias (see 'ava-evidence platforms').")
@click.option("--id", "generation_id", required=True, metavar="GENERATION_ID",
              help="The platform's Generation ID, or its share/result URL.")
@click.option("--failure", "failure", default="", metavar="F",
              help="Failure key or alias (see 'ava-evidence failures'); with --auto it may be "
                   "left out, and the one the clip most plainly shows is used.")
@click.option("--mark", "marks", multiple=True, metavar="TIME[=WHAT]",
              help="A moment where the failure shows, and what is visible there "
                   "(repeatable): --mark '0:02=her eyes begin to move apart'. TIME: "
                   "seconds (2.5), a clock (0:02.5), a frame (f60), start or end; all forms "
                   "in 'ava-evidence frames --help'.")
@click.option("--plan", default=None, metavar="TIER",
              help="Your plan on the platform (never assumed; see 'profile set').")
@click.option("--account", default=None, metavar="TEXT",
              help="Your account email (or the ID the platform asks for).")
@click.option("--prompt", default=None, metavar="TEXT", help="The prompt you used.")
@click.option("--generated", default=None, metavar="DATETIME",
              help="When it was generated: 2026-11-28 or '2026-11-28 14:05' [default: the "
                   "clip's own creation time, when it has one].")
@click.option("--credits", default=None, metavar="N", help="Credits the generation used.")
@click.option("--model", default=None, help="The model used (e.g. 'Gen-4 Turbo').")
@click.option("--settings", default=None, metavar="TEXT",
              help="Mode, length, resolution... (e.g. 'Professional mode, 10 s, 1080p').")
@click.option("--use", default=None, metavar="TEXT",
              help="What the clip was for (e.g. 'a client portrait').")
@click.option("--reference", type=click.Path(path_type=Path), default=None, metavar="IMAGE",
              help="The input image of an image-to-video job (attached).")
@click.option("--detail", "details", multiple=True, metavar="LABEL=VALUE",
              help="A line the platform's route asks for (repeatable): --detail 'Pika User "
                   "ID=12345'.")
@click.option("--note", default=None,
              help="More in your own words, shown after the moments.")
@click.option("-o", "--output", type=click.Path(path_type=str), default=None,
              help="Bundle path (.zip) or folder [default: <platform>_<id>_<failure>.zip here].")
@click.option("--force", is_flag=True, help="Replace an existing bundle.")
@click.option("--include-clip", is_flag=True, help="Put the clip itself in the bundle too.")
@click.option("--allow-truncated", is_flag=True,
              help="Build even when the clip ends before its declared end (a download that "
                   "stopped); the manifest records what is missing.")
@click.option("--auto", is_flag=True,
              help="Measure the clip (as 'suggest' does): use the top moments as marks when "
                   "none are given, and add the chart.")
@click.option("--templates", "template_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of your own ticket templates (rendered in a sandbox).")
@CHANNELS
@JSON
@QUIET
def build(clip: Path, platform: str, generation_id: str, failure: str, marks: tuple[str, ...],
          plan: str | None, account: str | None, prompt: str | None, generated: str | None,
          credits: str | None, model: str | None, settings: str | None, use: str | None,
          reference: Path | None, details: tuple[str, ...], note: str | None,
          output: str | None, force: bool,
          include_clip: bool, allow_truncated: bool, auto: bool, template_dir: Path | None,
          channels_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Build the evidence bundle for one failed generation.

    Stills of the first and last frame and of every --mark, captioned pairs
    (start|end, and each mark beside the frame to compare it with), a contact
    strip, the message for the platform's support channel (ticket.txt, and
    ticket.md in Markdown), how to send it (send.md), a self-contained
    report.html and a manifest, in one BagIt zip. What you do not give shows as
    a [placeholder] to fill in before sending.

    \b
    Example:
      ava-evidence build clip.mp4 --platform kling --id 8f2c... \\
          --failure physics --mark '0:02=the ball passes through the rim' \\
          --account me@example.com --credits 35
    """
    from .bundle import build_bundle

    def work(progress: ProgressLine) -> Any:
        return build_bundle(clip, platform=platform, generation_id=generation_id,
                            failure=failure, marks=list(marks), plan=plan, note=note,
                            model=model, account=account, prompt=prompt, generated=generated,
                            credits=credits, settings=settings, use=use, reference=reference,
                            details=details,
                            output=output, force=force, include_clip=include_clip,
                            auto=auto, channels_file=channels_file, template_dir=template_dir,
                            on_progress=progress, allow_truncated=allow_truncated)

    result = _with_progress(quiet or as_json, work)
    if as_json:
        _emit_json({"bundle": str(result.path), "manifest": result.manifest,
                    "missing": list(result.missing)})
    else:
        _print_build(_shown(result))
    for warning in result.warnings:  # with --json too: they are also in the manifest
        _echo(f"Warning: {warning}", err=True)


def _print_build(result: Any) -> None:
    """What a person reads after ``build``: the frames, how to open the bundle (first: the
    files to attach are in it), then where and how to send."""
    m = result.manifest
    send = m["send"]
    unzipped = result.path.parent / result.bag / "data"
    click.echo(f"Bundle: {result.path} ({_mb(result.bytes)})")
    click.echo(f"  {m['term']} on {m['platform_name']}, {m['generation_id']}")
    for f in m["frames"]:
        said = f" \"{f['what']}\"" if f.get("what") else (
            " [say what is visible: --mark TIME=WHAT]" if f["label"] == "mark" else "")
        measured = " (measured)" if f.get("measured") else ""
        click.echo(f"  {f['label']:<5} {f['clock']:>9}  frame {f['index']}{measured}{said}")
    if result.profile_used:
        click.echo(f"From your profile: {' and '.join(result.profile_used)} "
                   f"(change it with 'ava-evidence profile set {m['platform']}').")
    earlier = result.path.parent / result.bag
    if earlier.exists():  # unzipped over, its old stills would stay beside the new ones
        click.echo(f"The folder {earlier} is from an earlier bundle: move it away or delete "
                   f"it before you unzip this one, or the two would mix.")
    click.echo(f"Unzip it where it is: unzip -d {shlex.quote(str(result.path.parent))} "
               f"{shlex.quote(str(result.path))}")
    click.echo(f"  then open {unzipped / 'report.html'} (how to send, in full: send.md there)")
    click.echo(f"Send: {send['where']}")
    for line in (send["trust"] if send["trust"] and not send["trust"].startswith("From ")
                 else None, send["purpose"], send["plan_note"]):
        if line:
            click.echo(f"  {line}")
    click.echo(f"Paste: {send['paste']}")
    if send["private"]:
        click.echo(f"  {send['private']}")
    if send["attach"]:
        click.echo(f"Attach, from {unzipped}{os.sep}:")
        click.echo(f"  {', '.join(send['attach'])}")
    if send["attach_note"]:
        click.echo(f"  {send['attach_note']}")
    ticket = m["ticket"]
    if ticket["shortened"]:
        click.echo(f"Shortened to fit the {ticket['limit']}-character limit: left out "
                   f"{_and_list(ticket['shortened'])}.")
    click.echo(f"Policy: {send['policy']}")
    for line in send["checks"][:2]:
        click.echo(f"Check: {line}")
    if len(send["checks"]) > 2:
        click.echo(f"  ({len(send['checks']) - 2} more to check: see send.md.)")
    if result.missing:
        click.echo(f"Fill in before sending: {', '.join(result.missing)}")


@cli.command()
@CLIP
@click.option("--failure", "failure", default=None, metavar="F",
              help="Failure key or alias (see 'ava-evidence failures'); without it, every "
                   "measure runs and the failures are ranked.")
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 20),
              help="How many candidate moments to list.")
@click.option("--chart", "chart_path", type=click.Path(path_type=Path), default=None,
              help="Also save a PNG chart of the measured series with the moments marked.")
@click.option("--force", is_flag=True, help="Replace an existing --chart file.")
@CHANNELS
@JSON
@QUIET
def suggest(clip: Path, failure: str | None, top: int, chart_path: Path | None,
            force: bool,
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
    if chart_path is not None:  # before measuring: a chart that cannot be written costs nothing
        from .errors import UsageError
        from .writing import check_new_file

        if chart_path.suffix.lower() != ".png":
            raise UsageError(f"the chart is a PNG image: give --chart a name ending in .png "
                             f"(got {chart_path.name}).")
        check_new_file(chart_path, force=force)

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

        img = chart_for(picked, float(index.duration), _chart_title(picked, term, index.file_name))
        write_png(np.asarray(img), chart_path, force=force)
    if as_json:
        _emit_json(result.to_dict() if fail is not None else
                   {"summary": result.summary(terms), **result.to_dict()})
        return
    if fail is None:
        _print_ranking(clip, index.file_name, result, terms)
    else:
        _print_suggestion(clip, index.file_name, result, fail)
    if chart_path is not None:
        _echo(f"Chart: {chart_path}")


def _chart_title(picked: Any, term: str, name: str) -> str:
    """A chart with no moment on it says so, so that its title is never read as a finding."""
    if picked.candidates:
        return f"{term}: {name}"
    why = f"not measured, {picked.unmeasured}" if picked.unmeasured else "nothing stands out"
    return f"{term}: {name} ({why})"


def _print_suggestion(clip: Path, name: str, result: Any, fail: Any) -> None:
    """As `suggest` without --failure says it: what was found, or that nothing stands out,
    or why the measure could not look; a build line only for what a person would see.
    A failure no measure looks for gets the catalog's word on what shows it."""
    from .analysis import MEASURED

    key, term = fail.key, fail.term

    count = len(result.candidates)
    head = f"{count} candidate moment{'s' if count != 1 else ''}" if count else _quiet(result)
    _echo(f"{term} in {name}: {head}")
    _print_candidates(result.candidates)
    for note in result.notes:
        _echo(f"  note: {note}")
    if key not in MEASURED:
        _echo(f"  {fail.evidence.advice}")
    seen = result.plain()
    if len(seen) < count:
        _echo("  scores under 0.5 are faint signs (a person may not see them): look at the "
              "frames before you mark one")
    if seen:
        marks = " ".join(f"--mark {c.to_dict()['seconds']}" for c in seen[:2])
        _echo(f"Use {'it' if len(seen) == 1 else 'them'}: ava-evidence build "
              f"{shlex.quote(str(clip))} --platform PLATFORM --id GENERATION_ID "
              f"--failure {key} {marks}  (or build --auto)")


def _quiet(result: Any) -> str:
    """A measure with no moment: whether it looked and found nothing, or why it could
    not look (never read as "nothing stands out")."""
    return f"not measured ({result.unmeasured})" if result.unmeasured else "nothing stands out"


def _print_candidates(candidates: list[Any]) -> None:
    for n, c in enumerate(candidates, 1):
        d = c.to_dict()
        _echo(f"  #{n}  {d['seconds']} s ({d['time']})  frame {c.index}  "
              f"score {c.score:.2f}  {c.reason}")


def _print_ranking(clip: Path, name: str, ranking: Any, terms: dict[str, str]) -> None:
    _echo(f"Measured in {name}: {ranking.summary(terms)}")
    for key in [*ranking.order, *(k for k in ranking.results if k not in ranking.order)]:
        result = ranking.results[key]
        if not result.candidates:
            _echo(f"{terms[key]}: {_quiet(result)}")
            continue
        _echo(f"{terms[key]} [{key}]:")  # brackets: a term may end in its own parentheses
        _print_candidates(result.candidates)
    for note in ranking.notes:
        _echo(f"  note: {note}")
    best = ranking.top()
    if best is not None:
        key, c = best
        _echo(f"Use it: ava-evidence build {shlex.quote(str(clip))} --platform PLATFORM "
              f"--id GENERATION_ID --failure {key} --mark {c.to_dict()['seconds']}  "
              f"(or build --auto)")


@cli.command()
@click.argument("bundle", type=click.Path(path_type=Path, readable=False))
@JSON
def verify(bundle: Path, as_json: bool) -> None:
    """Re-hash every file in a bundle and name each missing, changed or unexpected one.

    BUNDLE is the .zip, or the folder unzipping it made. Exits 0 only when the
    bag is complete and every checksum matches.
    """
    from .bagit import verify_bag

    try:
        result = verify_bag(bundle)
    except AvaError as e:
        if as_json:  # the one document, then the error line
            _emit_json({"ok": False, "bag": None, "files": 0, "problems": [
                {"kind": "invalid", "file": str(bundle), "detail": str(e)}], "ignored": []})
        raise
    if as_json:
        _emit_json(result.to_dict())
    elif result.ok:
        _echo(f"OK: {bundle} is a valid bag ({result.files} payload files, "
                   f"every checksum matches).")
    else:
        for problem in result.problems:
            _echo(str(problem))
    for note in result.ignored if not as_json else ():
        _echo(str(note))
    if not result.ok:
        if not as_json:
            _echo(f"Error: {bundle} failed verification: {len(result.problems)} "
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
@click.option("--skip-existing", is_flag=True,
              help="Skip rows whose bundle is already there and verifies (to finish a "
                   "stopped batch); one that does not verify is reported (built again "
                   "with --force).")
@CHANNELS
@JSON
@QUIET
def batch(jobs: Path, out_dir: Path, workers: int | None, force: bool, skip_existing: bool,
          channels_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Build many bundles from a CSV or JSON Lines file, in parallel.

    One row per clip with the columns clip, platform, id, failure and
    optionally marks (times separated by ';' or spaces), plan, note, model,
    auto (true/false) and output (bundle name). Clip paths are relative to the
    jobs file. A row that fails does not stop the others. Each row's result is
    printed as it finishes (with --json, one document at the end); a batch
    stopped by Ctrl-C or SIGTERM lists what was built and how to build the
    rest. Exit status 0 when all rows built, 1 when any failed.

    \b
    Example jobs.csv:
      clip,platform,id,failure,marks,note
      a.mp4,kling,8f2c41d0,physics,0:02;0:03.5,ball goes through the rim
      b.mp4,runway,4d1e...,identity,,
    """
    from .batch import BatchStopped, load_jobs, run_batch

    rows = load_jobs(jobs)
    shown: set[int] = set()  # lines of the rows already printed

    def work(progress: ProgressLine) -> Any:
        def show(outcome: Any) -> None:
            progress.close()  # the row's line goes where the progress line was
            _batch_row(outcome)
            shown.add(outcome.job.line)

        return run_batch(rows, out_dir, workers=workers, force=force,
                         skip_existing=skip_existing, channels_file=channels_file,
                         on_progress=progress, on_result=None if as_json else show)

    try:
        outcomes = _with_progress(quiet or as_json, work)
    except BatchStopped as stop:
        left = _batch_summary(stop.outcomes, shown, as_json, stopped=True)
        again = ["ava-evidence", "batch", str(jobs), "-o", str(out_dir),
                 *(["--workers", str(workers)] if workers else []),
                 *(["--channels", str(channels_file)] if channels_file else []),
                 *(["--json"] if as_json else []), *(["--quiet"] if quiet else []),
                 "--skip-existing"]
        _stopped(stop, f"To build the other {left}: {shlex.join(again)}" if left else None)
    _batch_summary(outcomes, shown, as_json, stopped=False)
    if any(o.status == "failed" for o in outcomes):
        sys.exit(EXIT_FAILED)


def _batch_row(o: Any) -> None:
    status = {"built": f"built  {o.bundle}", "already built": f"already built  {o.bundle}",
              "failed": f"failed Error: {o.error}",
              "stopped": "stopped (it was being built: nothing of it was kept)"}
    _echo(f"line {o.job.line:<4} {o.job.clip.name:<24} {status.get(o.status, o.status)}")
    for warning in o.warnings:
        _echo(f"          Warning: {warning}")


def _batch_summary(outcomes: list[Any], shown: set[int], as_json: bool, stopped: bool) -> int:
    """The rows not printed yet (in job order) and the counts; returns how many rows were
    not built (stopped or not started)."""
    count = {s: sum(1 for o in outcomes if o.status == s)
             for s in ("built", "already built", "failed", "stopped", "not started")}
    left = count["stopped"] + count["not started"]
    if as_json:
        _emit_json({"results": [o.to_dict() for o in outcomes], "built": count["built"],
                    "failed": count["failed"], "already_built": count["already built"],
                    "not_built": left, "interrupted": stopped})
        return left
    for o in outcomes:
        if o.job.line not in shown:
            _batch_row(o)
    _echo(f"{count['built']} built, "
          + (f"{count['already built']} already built, " if count["already built"] else "")
          + f"{count['failed']} failed" + (f", {left} not built" if stopped else ""))
    return left


@cli.command()
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the sample clip and its bundle [default: ./ava-evidence-demo].")
@click.option("--force", is_flag=True, help="Replace the files of an earlier demo there.")
@QUIET
def demo(out_dir: Path | None, force: bool, quiet: bool) -> None:
    """Make a sample failed clip (a face whose eyes drift apart) and build its bundle.

    Shows the whole job on a clip made on the spot, with nothing to download.
    """
    from .demo import run_demo

    target = out_dir if out_dir is not None else Path("ava-evidence-demo")
    result = _with_progress(quiet, lambda progress: run_demo(target, on_progress=progress,
                                                             force=force))
    _echo(f"Sample clip: {result.clip}")
    _echo(f"Bundle:      {result.bundle.path} ({_mb(result.bundle.bytes)})")
    _echo(f"Report:      {result.report}  (open it in a browser)")
    _echo(f"Check it:    ava-evidence verify {shlex.quote(str(result.bundle.path))}")


def _shown(result: Any) -> Any:
    """A build result whose texts print safely: every string of its manifest and its path
    with control and text-direction characters escaped (see ``text.printable``)."""
    import dataclasses

    from .text import printable

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return printable(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return dataclasses.replace(result, path=Path(printable(result.path)),
                               manifest=clean(result.manifest))


@cli.command()
@CLIP
@click.option("--platform", "platform", default=None, metavar="P",
              help="Platform key or alias, to fill in the form.")
@click.option("--id", "generation_id", default=None, metavar="GENERATION_ID",
              help="The Generation ID or its link, to fill in the form.")
@click.option("--failure", "failure", default=None, metavar="F",
              help="Failure key or alias, to fill in the form.")
@click.option("--plan", default=None, metavar="TIER", help="Your plan, to fill in the form.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--no-browser", is_flag=True, help="Only print the page's address.")
@click.option("--allow-truncated", is_flag=True,
              help="Work on a clip that stops before its full length (a broken download).")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the bundles the page builds [default: here].")
@click.option("--templates", "template_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of your own ticket templates (rendered in a sandbox).")
@CHANNELS
@JSON
@QUIET
def mark(clip: Path, platform: str | None, generation_id: str | None, failure: str | None,
         plan: str | None, port: int, no_browser: bool, allow_truncated: bool,
         out_dir: Path | None,
         template_dir: Path | None, channels_file: Path | None, as_json: bool,
         quiet: bool) -> None:
    """Open a local page to find the failure frame by frame, describe it and build.

    The page shows the exact frame the bundle will hold (the tool decodes it,
    not the browser), steps one frame or one second with the arrow keys, marks
    the current frame with M and asks what is visible there, finds candidate
    moments, fills the ticket's fields (from these options and your profile),
    shows the message as it will be sent, and builds the same bundle as build.
    It listens on this computer only (127.0.0.1), behind a random token.
    Ctrl-C stops it.
    """
    from .markserver import MarkSession, start

    session = _with_progress(quiet or as_json, lambda progress: MarkSession.open(
        clip, defaults={"platform": platform} if platform else {},
        out_dir=out_dir or Path.cwd(), channels_file=channels_file,
        template_dir=template_dir, allow_truncated=allow_truncated, on_progress=progress))
    plat = session.catalog.platform(platform) if platform else None
    key = plat.key if plat else None
    entry = session.profiles.get(key) if key else None
    saved_plan = entry.plan if entry and plat and plat.plans is not None else None
    session.defaults = {k: v for k, v in {
        "platform": key, "id": generation_id,
        "failure": session.catalog.failure(failure).key if failure else None,
        "plan": plan or saved_plan,
        "account": entry.account if entry else None}.items() if v}
    server = start(session, port)
    try:
        if as_json:
            _echo(json.dumps({"url": server.url}))
        else:
            _echo(f"Open {server.url}")
            _echo("Ctrl-C to stop.")
        sys.stdout.flush()
        if not no_browser:
            import threading
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt as e:  # the way to stop it: not an error
        from . import signals

        server.server_close()
        _echo("Stopped.", err=True)
        sys.exit(signals.exit_code(e))  # 130 for Ctrl-C, 143 for SIGTERM, as documented
    finally:
        server.server_close()


@cli.group()
def profile() -> None:
    """Your account and plan per platform, typed once and used by build.

    Stored in your config folder (profile.yaml). Nothing secret belongs there:
    an account email or user ID and a plan. A flag given to build always wins.
    """


@profile.command("set")
@click.argument("platform")
@click.option("--account", default=None, metavar="TEXT",
              help="Your account email (or the ID the platform asks for); '' removes it.")
@click.option("--plan", default=None, metavar="TIER", help="Your plan; '' removes it.")
@CHANNELS
def profile_set(platform: str, account: str | None, plan: str | None,
                channels_file: Path | None) -> None:
    """Set the account and/or plan used for PLATFORM."""
    from .catalog import load_catalog
    from .facts import clean_line
    from .profile import profile_file, save_entry

    if account is None and plan is None:
        raise click.UsageError("give --account, --plan or both")
    plat = load_catalog(channels_file).platform(platform)
    if plat.discontinued is not None:
        raise click.UsageError(f"{plat.name} is discontinued (since {plat.discontinued.date}): "
                               f"there is nothing to keep a profile for")
    if plan:
        key, _ = plat.resolve_plan(plan)
        plan = key or clean_line(plan, "--plan")
    entry = save_entry(plat.key, account=clean_line(account, "--account")
                       if account is not None else None, plan=plan)
    shown = ", ".join(f"{k} {v}" for k, v in entry.to_dict().items()) or "nothing"
    _echo(f"{plat.name}: {shown} (saved in {profile_file()})")


@profile.command("show")
@JSON
def profile_show(as_json: bool) -> None:
    """Show what the profile holds for each platform."""
    from .profile import load_profile, profile_file

    entries = load_profile()
    if as_json:
        _emit_json({"file": str(profile_file()),
                    "platforms": {k: e.to_dict() for k, e in entries.items()}})
        return
    if not entries:
        _echo(f"No profile yet ({profile_file()}): ava-evidence profile set PLATFORM "
                   f"--account EMAIL --plan TIER")
        return
    for key, entry in sorted(entries.items()):
        _echo(f"{key:<12}" + "  ".join(f"{k}: {v}" for k, v in entry.to_dict().items()))
    _echo(f"({profile_file()})")


def main() -> None:
    """Console-script entry point."""
    import signal

    from . import signals

    # numpy's OpenBLAS starts a spinning thread per core when imported; its only matrix
    # products here are the face network's (facenet.py), small enough that one thread
    # does them about as fast (20 ms a face against 16), and the other threads would take
    # CPU from the decoder and the faces' own thread on a small machine.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    signals.install()  # SIGTERM and SIGHUP clean up as Ctrl-C does
    try:
        cli.main(prog_name="ava-evidence")
    finally:
        # The work is done (or reported): a signal now would only interrupt the
        # interpreter's shutdown and print noise.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signals.uninstall()
