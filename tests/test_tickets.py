"""Ticket rendering: right channel per platform and plan, limits, hostile text, templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ava_evidence.catalog import load_catalog
from ava_evidence.errors import UsageError
from ava_evidence.tickets import (
    REPORT_VARIABLES,
    TEMPLATE_VARIABLES,
    _cached_environment,
    fit_plain_text,
    render,
    ticket_context,
)

from .helpers import run_cli, run_json

CLIP = {"file_name": "clip.mp4", "sha256": "ab" * 32, "bytes": 1000, "container": "mp4",
        "codec": "h264", "width": 1280, "height": 720, "rotation": 0, "fps": 24.0,
        "duration_s": 10.0, "frame_count": 240}
FRAMES = [
    {"label": "start", "requested": "start", "index": 0, "time_s": 0.0, "file": "frames/s.png"},
    {"label": "mark", "requested": "0:02", "index": 48, "time_s": 2.0, "file": "frames/m.png"},
    {"label": "end", "requested": "end", "index": 239, "time_s": 239 / 24, "file": "frames/e.png"},
]
ATTACH = [{"file": "pairs/01_start-end.png", "description": "first and last frame"}]


def context(platform: str = "kling", failure: str = "physics", plan: str | None = None,
            **kw: Any) -> dict[str, Any]:
    catalog = load_catalog()
    p = catalog.platform(platform)
    plan_key, plan_name = p.resolve_plan(plan)
    return ticket_context(platform=p, failure=catalog.failure(failure),
                          generation_id=kw.pop("generation_id", "gen-123"), plan_key=plan_key,
                          plan_name=plan_name, clip=CLIP, frames=FRAMES, attachments=ATTACH,
                          version="test", **kw)


def _other_channel_strings(key: str) -> list[str]:
    catalog = load_catalog()
    mine = {c.where for c in catalog.platforms[key].channels}
    return [c.where for k, p in catalog.platforms.items() if k != key
            for c in p.channels if c.where not in mine]


@pytest.mark.parametrize("platform", ["kling", "runway", "luma", "pika", "sora", "veo", "hailuo",
                                      "pixverse", "midjourney", "higgsfield", "ltx", "vidu",
                                      "firefly"])
def test_ticket_names_only_its_own_platform(platform: str) -> None:
    ctx = context(platform)
    md = render("ticket.md.j2", ctx)
    txt, _ = fit_plain_text(ctx, 2000)
    for other in _other_channel_strings(platform):
        assert other not in md and other not in txt
    for text in (md, txt):
        assert "gen-123" in text and "Physics Prior Degeneration" in text
        assert "2.000 s" in text and "frame 48" in text
    assert ctx["policy"]["source"] in md
    assert "guarantee" not in md.lower() and "guaranteed" not in txt.lower()


def test_kling_ticket_shows_the_email_as_unverified() -> None:
    md = render("ticket.md.j2", context("kling"))
    assert "support@klingai.com (**unverified**" in md


def test_runway_free_and_paid_plans_differ() -> None:
    free = render("ticket.md.j2", context("runway", plan="free"))
    pro = render("ticket.md.j2", context("runway", plan="pro"))
    assert "Send it via **discord**" in free and "Help widget" not in free
    assert "Send it via **in-app**" in pro and "Discord community" not in pro
    unlimited = render("ticket.md.j2", context("runway", plan="unlimited"))
    assert "Explore Mode" in unlimited and "Explore Mode" not in free


def test_request_follows_the_policy() -> None:
    runway = render("ticket.md.j2", context("runway"))
    assert "goodwill review" in runway and "does not cover quality failures" in runway
    vidu = render("ticket.md.j2", context("vidu"))
    assert "consider crediting it or re-running it" in vidu
    assert "No support channel for Vidu is documented" in vidu
    for md in (runway, vidu):
        assert "outcome is at your discretion" in md


def test_identity_without_marks_uses_start_and_end() -> None:
    catalog = load_catalog()
    p = catalog.platform("kling")
    ctx = ticket_context(platform=p, failure=catalog.failure("identity"), generation_id="x",
                         plan_key=None, plan_name=None, clip=CLIP,
                         frames=[FRAMES[0], FRAMES[2]], version="t")
    md = render("ticket.md.j2", ctx)
    assert "compared with the last (9.959 s, frame 239)" in md


def test_discord_text_fits_with_a_long_note() -> None:
    ctx = context("pika", note="The ball goes through the rim. " * 400)
    assert ctx["channel"]["kind"] == "discord"
    text, detail = fit_plain_text(ctx, ctx["channel"]["message_limit_chars"])
    assert len(text) <= 2000
    assert detail == 0
    for essential in ("gen-123", "Physics Prior Degeneration", "frame 48 at 2.000 s",
                      "frame 0 at 0.000 s", "frame 239 at 9.959 s", "requested 0:02"):
        assert essential in text
    assert "The ball goes through the rim." in text and "…" in text


@settings(max_examples=40, deadline=None)
@given(note=st.text(max_size=3000),
       gid=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1,
                   max_size=200).filter(str.strip),
       limit=st.integers(min_value=900, max_value=4000))
def test_plain_text_always_fits_and_keeps_essentials(note: str, gid: str, limit: int) -> None:
    ctx = context("runway", generation_id=gid, note=note or None)
    text, _ = fit_plain_text(ctx, limit)
    assert len(text) <= limit
    assert " ".join(gid.split()) in text
    assert "Physics Prior Degeneration" in text
    assert "2.000 s" in text and "9.959 s" in text


def test_too_many_marks_for_the_limit_is_a_usage_error() -> None:
    catalog = load_catalog()
    frames = FRAMES + [{"label": "mark", "requested": f"f{i}", "index": i, "time_s": i / 24,
                        "file": "x.png"} for i in range(1, 200)]
    ctx = ticket_context(platform=catalog.platform("pika"), failure=catalog.failure("physics"),
                         generation_id="g", plan_key=None, plan_name=None, clip=CLIP,
                         frames=frames, version="t")
    with pytest.raises(UsageError, match="do not fit the channel's 2000-character limit"):
        fit_plain_text(ctx, 2000)


HOSTILE = "{{ 7*7 }} {% raw %}<script>alert('x')</script> `code` **bold** </td>"


def test_hostile_text_stays_literal() -> None:
    ctx = context("luma", note=HOSTILE, generation_id="id<script>{{7*7}}</script>",
                  model="<img src=x onerror=alert(1)>")
    md = render("ticket.md.j2", ctx)
    assert "49" not in md
    assert HOSTILE in md  # inside a fenced block, shown exactly
    assert "``id<script>{{7*7}}</script>``" in md or "`id<script>{{7*7}}</script>`" in md
    assert "<img" not in md.replace("\\<img", "")  # escaped in prose
    txt, _ = fit_plain_text(ctx, None)
    assert "{{ 7*7 }}" in txt and "49" not in txt


def _shown(markdown: str) -> list[str]:
    """The text a CommonMark (+ tables, strikethrough) reader shows for ``markdown``, one
    entry per paragraph, list item or table cell; raises if anything else would show."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    plain = {"paragraph_open", "paragraph_close", "inline", "bullet_list_open",
             "bullet_list_close", "list_item_open", "list_item_close", "table_open",
             "table_close", "thead_open", "thead_close", "tbody_open", "tbody_close",
             "tr_open", "tr_close", "th_open", "th_close", "td_open", "td_close"}
    shown = []
    for token in parser.parse(markdown):
        assert token.type in plain, (token.type, markdown)
        if token.type == "inline":
            children = token.children or []
            assert all(c.type in ("text", "softbreak") for c in children), (token, markdown)
            shown.append("".join(c.content if c.type == "text" else "\n" for c in children))
    return shown


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1)
       | st.text(alphabet="#>+=-0123456789.)*_`~[]<|&;\\ !:/ax", min_size=1))
def test_markdown_text_is_shown_exactly(text: str) -> None:
    from ava_evidence.tickets import _md_text

    value = " ".join(text.split())
    assume(value)
    escaped = _md_text(text)
    assert _shown(f"{escaped}\n") == [value]
    assert _shown(f"Before\n{escaped}\n") == [f"Before\n{value}"]  # no heading underline
    assert _shown(f"- {escaped}\n") == [value]
    assert _shown(f"| a | b |\n| - | - |\n| {escaped} | x |\n") == ["a", "b", value, "x"]


@pytest.mark.parametrize(("text", "escaped"), [
    ("Library > Assets", "Library > Assets"),
    ("Q&A {x} #1 wow!", "Q&A {x} #1 wow!"),
    ("snake_case *bold* `code` <b> a|b [l](u) ~~s~~ &amp;",
     "snake\\_case \\*bold\\* \\`code\\` \\<b> a\\|b \\[l\\](u) \\~\\~s\\~\\~ \\&amp;"),
    ("# not a heading", "\\# not a heading"),
    ("1. not a list", "1\\. not a list"),
    ("- not a list\n  on two lines", "\\- not a list on two lines"),
])
def test_markdown_escapes_only_what_markdown_reads(text: str, escaped: str) -> None:
    from ava_evidence.tickets import _md_text

    assert _md_text(text) == escaped


def test_a_pipe_in_the_id_stays_in_its_table_cell() -> None:
    from markdown_it import MarkdownIt

    md = render("ticket.md.j2", context(generation_id="abc|def"))
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    cells = [[c.content for c in t.children or [] if c.type in ("text", "code_inline")]
             for t in tokens if t.type == "inline"]
    row = cells.index(["Generation ID"])
    assert cells[row + 1] == ["abc|def"]
    assert "Generation ID `abc|def`" in md  # the heading is no table: nothing to escape


def test_empty_and_huge_ids_are_refused() -> None:
    with pytest.raises(UsageError, match="the Generation ID is empty"):
        context(generation_id="   ")
    with pytest.raises(UsageError, match="the Generation ID is 5000 characters long"):
        context(generation_id="x" * 5000)


def test_user_templates_override_and_run_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "platforms" / "luma").mkdir(parents=True)
    (tmp_path / "platforms" / "luma" / "ticket.md.j2").write_text(
        "LUMA {{ generation_id }} {{ failure.term }}\n")
    ctx = context("luma")
    assert render("ticket.md.j2", ctx, template_dir=tmp_path) == "LUMA gen-123 Physics Prior " \
                                                                  "Degeneration\n"
    # Other platforms still get the built-in template.
    assert render("ticket.md.j2", context("kling"), template_dir=tmp_path).startswith("# ")
    (tmp_path / "ticket.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(UsageError, match=r"ticket template ticket\.txt\.j2 failed"):
        render("ticket.txt.j2", ctx, template_dir=tmp_path)
    (tmp_path / "ticket.txt.j2").write_text("{{ no_such_variable }}")
    with pytest.raises(UsageError, match="'no_such_variable' is undefined"):
        render("ticket.txt.j2", ctx, template_dir=tmp_path)


@pytest.fixture
def fresh_environment() -> Any:
    """Template environments are made once per process; these tests need new ones."""
    _cached_environment.cache_clear()
    yield _cached_environment.cache_clear
    _cached_environment.cache_clear()


def _cached(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "ava-evidence" / "templates").rglob("*.cache"))


def test_built_in_templates_are_compiled_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              fresh_environment: Any) -> None:
    import jinja2

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = render("ticket.md.j2", context())
    assert len(_cached(tmp_path)) == 1
    assert _cached(tmp_path)[0].parent.stat().st_mode & 0o777 == 0o700
    fresh_environment()

    def no_compiling(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("compiled again instead of using the cache")

    # A new process (here: a new environment) loads the compiled template.
    with monkeypatch.context() as m:
        m.setattr(jinja2.Environment, "compile", no_compiling)
        assert render("ticket.md.j2", context()) == first
    # Another Jinja2 (or another ava-evidence) never reuses that code.
    monkeypatch.setattr(jinja2, "__version__", "0.0-other")
    fresh_environment()
    assert render("ticket.md.j2", context()) == first
    assert len({p.parent for p in _cached(tmp_path)}) == 2


@pytest.mark.parametrize("damage", [b"not bytecode", None])  # None: cut after the magic
def test_a_damaged_template_cache_is_compiled_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_environment: Any,
        damage: bytes | None) -> None:
    from jinja2.bccache import bc_magic

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = render("ticket.md.j2", context())
    [kept] = _cached(tmp_path)
    kept.write_bytes(damage if damage is not None else bc_magic)
    for _ in range(2):  # and the next build finds a good entry again
        fresh_environment()
        assert render("ticket.md.j2", context()) == first
    assert kept.read_bytes().startswith(bc_magic) and len(kept.read_bytes()) > len(bc_magic)


def test_an_unusable_template_cache_folder_is_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_environment: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = render("ticket.md.j2", context())
    [kept] = _cached(tmp_path)
    kept.unlink()
    kept.parent.chmod(0o777)  # others could plant code there: not used
    fresh_environment()
    assert render("ticket.md.j2", context()) == first
    assert _cached(tmp_path) == []
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # the folder cannot be made
    fresh_environment()
    assert render("ticket.md.j2", context()) == first


def test_every_variable_is_documented_and_provided() -> None:
    ctx = context()
    assert set(ctx) == set(TEMPLATE_VARIABLES)
    out = run_cli("templates", "--variables").stdout
    for name in TEMPLATE_VARIABLES:
        assert f"\n{name} " in f"\n{out}"
    doc = run_json("templates")
    assert set(doc["variables"]) == set(TEMPLATE_VARIABLES) | set(REPORT_VARIABLES)
    assert "ticket.md.j2" in doc["templates"]


def test_a_third_party_policy_is_never_presented_as_the_platforms_own() -> None:
    kling = context("kling")
    assert kling["policy"]["status"] == "third-party"
    md = render("ticket.md.j2", kling)
    assert "The only description I found is on a third-party page, not one of yours:" in md
    txt, _ = fit_plain_text(kling, None)
    assert "Policy (third-party page, not yours): " in txt
    runway = context("runway")
    assert runway["policy"]["status"] == "official"
    assert "third-party" not in render("ticket.md.j2", runway)
    assert "third-party" not in fit_plain_text(runway, None)[0]
