"""User templates (--templates): every mistake is one Error line naming the template and
line, rendering has a time and size limit, no file outside the folder is read (issue 14,
F12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ava_evidence import tickets

from .conftest import ClipStore
from .helpers import run_cli

FIX = "; fix the template or remove it from the template folder.\n"


def _build(clips: ClipStore, tmp_path: Path, templates: Path, expect: int) -> str:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    result = run_cli("build", clips.path("h264_bframes"), "--platform", "kling", "--id", "t1",
                     "--failure", "physics", "--mark", "1", "--templates", templates,
                     "-o", out / "b.zip", "--quiet", expect=expect)
    if expect:
        assert list(out.iterdir()) == []  # no staging folder, no partial zip
    return str(result.stderr)


def _folder(tmp_path: Path, text: str | bytes, name: str = "ticket.txt.j2") -> Path:
    folder = tmp_path / "templates"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize(("text", "message"), [
    ("Ticket\n{{ 1/0 }}", "failed (ticket.txt.j2, line 2): division by zero"),
    ("{{ '%s %s' % (1,) }}", "failed (ticket.txt.j2, line 1): not enough arguments for "
                             "format string"),
    ("{% for i in range(10**9) %}x{% endfor %}",
     "failed (ticket.txt.j2, line 1): Range too big. The sandbox blocks ranges larger than "
     "MAX_RANGE (100000)"),
    ("{% include 'ticket.txt.j2' %}", "failed (ticket.txt.j2, line 1): it includes or calls "
                                      "itself without end"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
     "failed (ticket.txt.j2, line 1): it includes or calls itself without end"),
    ("{{ 'x' * 400000000 }}", "failed (ticket.txt.j2, line 1): '*' would make more than 32 MB"),
    ("{{ 7 ** 1000000 }}", "failed (ticket.txt.j2, line 1): '**' would make a number of more "
                            "than 30,000 digits"),
])
def test_template_mistakes_are_one_named_error(clips: ClipStore, tmp_path: Path, text: str,
                                               message: str) -> None:
    """r14: each of these was 'unexpected ZeroDivisionError' (TypeError, OverflowError,
    RecursionError...), or built a 300 MB ticket."""
    stderr = _build(clips, tmp_path, _folder(tmp_path, text), expect=2)
    assert stderr == f"Error: ticket template ticket.txt.j2 {message}{FIX}"


def test_a_template_that_is_not_utf8(clips: ClipStore, tmp_path: Path) -> None:
    stderr = _build(clips, tmp_path, _folder(tmp_path, b"Ticket \xef\xff\n"), expect=2)
    assert stderr == "Error: ticket template ticket.txt.j2 is not UTF-8 text: save it as UTF-8.\n"


def test_rendering_has_a_time_limit(clips: ClipStore, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """r14: two nested range(100000) loops ran until killed (and left the staging folder)."""
    import time

    monkeypatch.setattr(tickets, "RENDER_SECONDS", 0.5)
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    stderr = _build(clips, tmp_path, _folder(tmp_path, loops), expect=2)
    assert time.monotonic() - started < 10
    assert stderr == (f"Error: ticket template ticket.txt.j2 failed (ticket.txt.j2, line 1): it "
                      f"took longer than 0.5 s{FIX}")


def test_rendering_has_a_size_limit(clips: ClipStore, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tickets, "MAX_RENDERED", 1 << 20)
    text = "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}"  # 10 MB in small pieces
    stderr = _build(clips, tmp_path, _folder(tmp_path, text), expect=2)
    assert stderr == f"Error: ticket template ticket.txt.j2 failed: it made more than 1 MB of " \
                     f"text{FIX}"


@pytest.mark.parametrize("how", ["template", "include"])
def test_no_link_out_of_the_template_folder_is_read(clips: ClipStore, tmp_path: Path,
                                                    how: str) -> None:
    """r14: ticket.txt.j2 -> /etc/passwd built a ticket beginning 'root:x:0:0'."""
    secret = tmp_path / "secret.txt"
    secret.write_text("my private key\n")
    folder = tmp_path / "templates"
    folder.mkdir()
    if how == "template":
        (folder / "ticket.txt.j2").symlink_to(secret)
        name = "ticket.txt.j2"
    else:
        (folder / "ticket.txt.j2").write_text("{% include 'notes.j2' %}")
        (folder / "notes.j2").symlink_to(secret)
        name = "notes.j2"
    stderr = _build(clips, tmp_path, folder, expect=2)
    assert stderr == (f"Error: ticket template {name} is a link to a file outside the template "
                      f"folder ({secret}): copy the file into the folder instead.\n")


def test_a_link_inside_the_folder_is_fine(clips: ClipStore, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "A custom ticket.\n", "mine.j2")
    (folder / "ticket.txt.j2").symlink_to("mine.j2")
    _build(clips, tmp_path, folder, expect=0)
