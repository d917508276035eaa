"""Caption text in the composites: the bundled font draws accents, dashes and other
punctuation (never a missing-glyph box), words in a script it lacks are said to be in
the ticket instead, and every line of text stays in its band with the new metrics."""

from __future__ import annotations

import itertools
import threading
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ava_evidence import compose
from ava_evidence.compose import Caption, compose_pair, compose_strip, font

MUST_DRAW = "é ü ñ ß — ½"
PUNCTUATION = ("\N{EN DASH}—\N{LEFT SINGLE QUOTATION MARK}\N{RIGHT SINGLE QUOTATION MARK}"
               "\N{SINGLE LOW-9 QUOTATION MARK}“”„…•\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}"
               "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}«»‰\N{PRIME}″€£¥"
               "\N{MULTIPLICATION SIGN}÷±½¼¾°·§¶©®™")
FRAME = (0, 0, 255)  # no text colour: where the frames are


def _missing_box(size: int) -> bytes:
    """The font's missing-glyph box at ``size`` (U+FFFF is never a character)."""
    return bytes(font(size).getmask("\uffff"))


def _is_drawn(ch: str, size: int) -> bool:
    mask = font(size).getmask(ch)
    return bool(mask.getbbox()) and bytes(mask) != _missing_box(size)


class _Texts:
    """Every ``draw.text`` call made while composing: where, what, and its ink box."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, Any, tuple[int, int, int, int]]] = []
        real = ImageDraw.ImageDraw.text

        def text(draw: ImageDraw.ImageDraw, xy: Any, text: Any, *args: Any, **kw: Any) -> None:
            box = draw.textbbox(xy, text, font=kw.get("font"))
            self.calls.append((text, kw.get("font"), tuple(map(round, box))))  # type: ignore[arg-type]
            real(draw, xy, text, *args, **kw)

        monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)

    def said(self) -> str:
        return " ".join(t for t, _, _ in self.calls)


def _pair(h: int, w: int, note: str, footer: str = "Kling AI  |  Task ID 8681  |  Physics",
          label: str = "MARK 1") -> Image.Image:
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:] = FRAME
    return compose_pair(frame, frame, Caption("BEFORE", 23, Fraction(23, 24)),
                        Caption(label, 24, Fraction(1)), footer, note=note)


def test_accents_and_dashes_are_drawn_not_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The defect: Pillow's load_default (a cut-down Aileron) drew every accent, ß, the
    dashes and ½ as its missing-glyph box. Each character of the note is drawn whole."""
    texts = _Texts(monkeypatch)
    _pair(360, 640, f"MARK 1: {MUST_DRAW}")
    note = next((t, f) for t, f, _ in texts.calls if t.startswith("MARK 1:"))
    assert MUST_DRAW in note[0]
    size = round(note[1].size)
    boxed = [ch for ch in MUST_DRAW if not ch.isspace() and not _is_drawn(ch, size)]
    assert not boxed, f"drawn as the missing-glyph box: {boxed}"


@pytest.mark.parametrize("size", [16, 24, 35])
def test_latin_and_common_punctuation_have_glyphs(size: int) -> None:
    """Latin-1, Latin Extended-A, Greek, Cyrillic, Vietnamese and the usual punctuation
    (dashes, quotes, ellipsis, the multiplication sign, ½) are in the font, and drawn as
    themselves."""
    wanted = [*range(0xA1, 0x100), *range(0x100, 0x180), *map(ord, PUNCTUATION),
              *map(ord, "ΑΩαωάПривітЁёЎўĂăẠạẾếỮữ")]
    have = compose.covered()
    assert [chr(c) for c in wanted if c not in have] == []
    assert [chr(c) for c in wanted if chr(c) != "\xad" and not _is_drawn(chr(c), size)] == []
    text = "".join(map(chr, wanted))
    assert compose.shown(text) == text


def test_a_script_the_font_lacks_is_said_to_be_in_the_ticket(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Chinese, Japanese or an emoji are not drawn as boxes: each run of them is replaced
    by a short note (the ticket has the words as typed); the rest is kept."""
    shown = compose.shown
    assert shown("café 日本") == f"café {compose.NOT_SHOWN}"
    assert shown("日本、東京 · 手") == compose.NOT_SHOWN  # one run across punctuation
    assert shown("手 (hand) 溶") == f"{compose.NOT_SHOWN} (hand) {compose.NOT_SHOWN}"
    assert shown("hand → melts 😱!") == f"hand -> melts {compose.NOT_SHOWN}!"
    assert shown("cafe\u0301\tok\ufe0f") == "café ok"  # composed; tab as a space
    texts = _Texts(monkeypatch)
    _pair(360, 640, "MARK 1: é ü ñ ß ç à ö — \N{EN DASH} \N{RIGHT SINGLE QUOTATION MARK} “ ” ½ "
          "\N{MULTIPLICATION SIGN} café 日本", label="MARK 日本")
    said = texts.said()
    assert "café" in said and compose.NOT_SHOWN in said and "日" not in said
    for text, f, _ in texts.calls:
        size = round(f.size)
        assert all(_is_drawn(ch, size) for ch in text if not ch.isspace()), text


@pytest.mark.parametrize(("h", "w"), [(360, 640), (144, 176), (640, 360), (1080, 1920)])
def test_every_line_of_text_stays_in_its_band(h: int, w: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With the new font's taller accents and deeper descenders, each line drawn (captions,
    the note on up to three lines, the footer on two) is inside the image, clear of the
    frames, and clear of the line under it."""
    texts = _Texts(monkeypatch)
    note = "MARK 1: ÉÅÇ Ǻ Ĳ ÿ gjpqy| — " + "Ţhe ñew ßkin ŝhows açcents, Ёё Ώώ " * 6
    footer = "Kling AI  |  Task ID Ǻgjpq-868126542138646573-ÿ  |  Identity Coherence Failure"
    pair = _pair(h, w, note, footer, label="ÉÅ Ǻ gjpq")
    rgb = np.asarray(pair)
    frame_rows = np.flatnonzero((rgb[:, 0] == FRAME).all(axis=1))
    frames = (frame_rows.min(), frame_rows.max() + 1)
    assert len(texts.calls) >= 4  # two captions, the note, the footer
    for text, _, (x0, y0, x1, y1) in texts.calls:
        assert x0 >= 0 and x1 <= pair.width and y0 >= 0 and y1 <= pair.height, text
        assert y1 <= frames[0] or y0 >= frames[1], text
    lines = sorted(texts.calls, key=lambda c: (c[2][0] > pair.width // 2, c[2][1]))
    for (t1, _, b1), (_, _, b2) in itertools.pairwise(lines):
        if (b1[0] > pair.width // 2) == (b2[0] > pair.width // 2):
            assert b1[3] <= b2[1] + 1, t1  # touching at most at one row of antialiasing


def test_strip_labels_and_footer_stay_in_their_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _Texts(monkeypatch)
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[:] = FRAME
    strip = compose_strip([(frame, Caption("strip", i, Fraction(i, 24))) for i in range(8)],
                          "Kling AI  |  Task ID Ǻgjpq  |  Physics — ½ café 日本")
    rgb = np.asarray(strip)
    tiles = (rgb == FRAME).all(axis=2)
    assert len(texts.calls) == 9
    for text, _, (x0, y0, x1, y1) in texts.calls:
        assert x0 >= 0 and x1 <= strip.width and y0 >= 0 and y1 <= strip.height, text
        assert not tiles[y0:y1, x0:x1].any(), text
    assert compose.NOT_SHOWN in texts.calls[-1][0] and "café" in texts.calls[-1][0]


def test_the_font_is_loaded_once_per_size_and_thread() -> None:
    assert font(20) is font(20) and font(20) is not font(21)
    assert font(20).getname() == ("Noto Sans", "Regular")
    other: list[Any] = []
    worker = threading.Thread(target=lambda: other.append(font(20)))
    worker.start()
    worker.join()
    assert other[0] is not font(20)  # a FreeType face is not shared between threads
