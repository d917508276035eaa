"""Templates: Markdown escaping, user templates in a sandbox, the compiled-template cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ava_evidence.errors import UsageError
from ava_evidence.tickets import _cached_environment, render, template_variables

from .conftest import ClipStore
from .helpers import run_cli, run_json
from .messages import message_for


def context(platform: str = "kling", failure: str = "physics", **kw: Any) -> dict[str, Any]:
    """What the message templates receive for a typical ticket."""
    return {"ticket": message_for(platform, failure, **kw).ticket}


def md(ctx: dict[str, Any]) -> str:
    return render("ticket.md.j2", ctx, platform_key="kling", kind=ctx["ticket"].kind)


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
            # Text, line breaks, and autolinks (whose text is the address, exactly).
            assert all(c.type in ("text", "softbreak", "link_open", "link_close")
                       for c in children), (token, markdown)
            for c in children:
                if c.type == "link_open":
                    assert c.markup == "autolink", (token, markdown)
            shown.append("".join(c.content if c.type == "text" else
                                 "\n" if c.type == "softbreak" else "" for c in children))
    return shown


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1)
       | st.text(alphabet="#>+=-0123456789.)*_`~[]<|&;\\ !:/ax(é_", min_size=1)
       | st.lists(st.sampled_from(["https://a.b/c_d", "http://x.io/?_s=1&t=2", " ", "_x",
                                   "[y](", "*", "`", "see", "|", ":", ",", ".", ")", "]",
                                   "(", "https://"]),
                  min_size=1).map("".join))
def test_markdown_text_is_shown_exactly(text: str) -> None:
    from ava_evidence.tickets import _md_text

    value = " ".join(text.split())
    assume(value)
    escaped = _md_text(text)
    assert _shown(f"{escaped}\n") == [value]
    assert _shown(f"Before\n{escaped}\n") == [f"Before\n{value}"]  # no heading underline
    assert _shown(f"- {escaped}\n") == [value]
    from ava_evidence.tickets import _md_cell

    assert _shown(f"| a | b |\n| - | - |\n| {_md_cell(text)} | x |\n") == ["a", "b", value, "x"]


@pytest.mark.parametrize(("text", "escaped"), [
    ("Library > Assets", "Library > Assets"),
    ("Q&A {x} #1 wow!", "Q&A {x} #1 wow!"),
    ("snake_case *bold* `code` <b> a|b [l](u) ~~s~~ &amp;",
     "snake_case \\*bold\\* \\`code\\` \\<b> a|b \\[l\\](u) \\~\\~s\\~\\~ \\&amp;"),
    ("[your account email] and task_id", "[your account email] and task_id"),
    ("_lead, trail_ and a__b", "\\_lead, trail\\_ and a\\_\\_b"),
    ("see https://helpx.adobe.com/mena_en/x and https://grok.com/?_s=billing.",
     "see <https://helpx.adobe.com/mena_en/x> and <https://grok.com/?_s=billing>."),
    ("(its page: https://a.example/x-y, checked 2026-11-29)",
     "(its page: <https://a.example/x-y>, checked 2026-11-29)"),
    ("(https://a.example/x) and https://en.wikipedia.org/wiki/A_(b)!",
     "(<https://a.example/x>) and <https://en.wikipedia.org/wiki/A_(b)>!"),
    ("[https://a.example/x] and see https://.", "[<https://a.example/x>] and see https://."),
    ("attach the start|end pair", "attach the start|end pair"),
    ("[x]: http://evil", "\\[x\\]: <http://evil>"),
    ("# not a heading", "\\# not a heading"),
    ("1. not a list", "1\\. not a list"),
    ("- not a list\n  on two lines", "\\- not a list on two lines"),
])
def test_markdown_escapes_only_what_markdown_reads(text: str, escaped: str) -> None:
    from ava_evidence.tickets import _md_text

    assert _md_text(text) == escaped


def test_user_templates_override_and_run_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "platforms" / "luma").mkdir(parents=True)
    (tmp_path / "platforms" / "luma" / "ticket.md.j2").write_text(
        "LUMA {{ ticket.generation_id }} {{ ticket.term }}\n")
    ctx = context("luma")
    assert render("ticket.md.j2", ctx, platform_key="luma", kind="email",
                  template_dir=tmp_path) == "LUMA gen-123 Physics Prior Degeneration\n"
    # Other platforms still get the built-in template.
    assert render("ticket.md.j2", context("kling"), platform_key="kling", kind="email",
                  template_dir=tmp_path).startswith("**Subject:** Credit request")
    (tmp_path / "ticket.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(UsageError, match=r"ticket template ticket\.txt\.j2 failed"):
        render("ticket.txt.j2", ctx, platform_key="luma", template_dir=tmp_path)
    (tmp_path / "ticket.txt.j2").write_text("{{ no_such_variable }}")
    with pytest.raises(UsageError, match="'no_such_variable' is undefined"):
        render("ticket.txt.j2", ctx, platform_key="luma", template_dir=tmp_path)


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

    ctx = context()  # made (and its templates compiled) before the cache under test is set
    fresh_environment()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = md(ctx)
    assert len(_cached(tmp_path)) == 1
    assert _cached(tmp_path)[0].parent.stat().st_mode & 0o777 == 0o700
    fresh_environment()

    def no_compiling(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("compiled again instead of using the cache")

    # A new process (here: a new environment) loads the compiled template.
    with monkeypatch.context() as m:
        m.setattr(jinja2.Environment, "compile", no_compiling)
        assert md(ctx) == first
    # Another Jinja2 (or another ava-evidence) never reuses that code.
    monkeypatch.setattr(jinja2, "__version__", "0.0-other")
    fresh_environment()
    assert md(ctx) == first
    assert len({p.parent for p in _cached(tmp_path)}) == 2


@pytest.mark.parametrize("damage", [b"not bytecode", None])  # None: cut after the magic
def test_a_damaged_template_cache_is_compiled_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_environment: Any,
        damage: bytes | None) -> None:
    from jinja2.bccache import bc_magic

    ctx = context()  # made (and its templates compiled) before the cache under test is set
    fresh_environment()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = md(ctx)
    [kept] = _cached(tmp_path)
    kept.write_bytes(damage if damage is not None else bc_magic)
    for _ in range(2):  # and the next build finds a good entry again
        fresh_environment()
        assert md(ctx) == first
    assert kept.read_bytes().startswith(bc_magic) and len(kept.read_bytes()) > len(bc_magic)


def test_an_unusable_template_cache_folder_is_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_environment: Any) -> None:
    ctx = context()  # made (and its templates compiled) before the cache under test is set
    fresh_environment()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = md(ctx)
    [kept] = _cached(tmp_path)
    kept.unlink()
    kept.parent.chmod(0o777)  # others could plant code there: not used
    fresh_environment()
    assert md(ctx) == first
    assert _cached(tmp_path) == []
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # the folder cannot be made
    fresh_environment()
    assert md(ctx) == first


def test_every_variable_is_documented() -> None:
    known = template_variables()
    out = run_cli("templates", "--variables").stdout
    for name in known:
        assert f"\n{name} " in f"\n{out}"
    doc = run_json("templates")
    assert set(doc["variables"]) == set(known)
    assert {"ticket.md.j2", "ticket.txt.j2", "send.md.j2", "report.html.j2"} <= \
        set(doc["templates"])
    # Every field of the message object is listed, so a new one cannot go undocumented.
    from dataclasses import fields

    from ava_evidence.message import Ticket

    for f in fields(Ticket):
        assert f.name in known["ticket"][0], f.name


def test_note_paragraphs_show_as_typed_in_markdown() -> None:
    from markdown_it import MarkdownIt

    from ava_evidence.tickets import _md_paragraphs

    note = "First line *not bold*\nsecond <b>line</b>\n\n# not a heading\n1. not a list"
    html = MarkdownIt("commonmark").render(_md_paragraphs(note))
    assert html == ("<p>First line *not bold*<br />\nsecond &lt;b&gt;line&lt;/b&gt;</p>\n"
                    "<p># not a heading<br />\n1. not a list</p>\n")


def test_every_link_in_send_md_is_a_source_exactly(clips: ClipStore, tmp_path: Path) -> None:
    """A source cited in a sentence, "(its page: https://..., checked ...)", links to the
    address itself: the comma or full stop after it is not part of the link."""
    import re
    import zipfile

    from markdown_it import MarkdownIt

    from ava_evidence.resources import data_path

    known = set(re.findall(r"https?://[^\s\"']+", data_path("channels.yaml").read_text()))
    run_cli("build", clips.path("h264_bframes"), "--platform", "runway", "--id", "r",
            "--failure", "physics", "--mark", "1=x", "-o", tmp_path / "r.zip")
    with zipfile.ZipFile(tmp_path / "r.zip") as z:
        send = z.read("runway_r_physics/data/send.md").decode()
    hrefs = [str(t.attrs["href"]) for block in MarkdownIt("commonmark").parse(send)
             for t in block.children or [] if t.type == "link_open"]
    assert len(hrefs) >= 5
    assert set(hrefs) <= known, set(hrefs) - known
