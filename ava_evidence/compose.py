"""Captioned evidence images: side-by-side pairs and a contact strip (Pillow).

Captions must stay legible when a support agent sees the image scaled down,
so text is at least 2.5% of the image height and never under 16 px. The font
is bundled with this package, so output is the same on every machine::

    img = compose_pair(left_rgb, right_rgb, Caption("START", 0, Fraction(0)),
                       Caption("END", 239, Fraction(239, 24)), footer="Kling AI - ...")

The font is Noto Sans Regular 2.015 (SIL Open Font License 1.1, ``fonts/OFL.txt``),
cut down to the scripts it draws: Latin (Latin-1, Extended-A and -B, Vietnamese),
Greek, Cyrillic, general punctuation, currency signs and number forms (200 kB)::

    fonttools varLib.instancer 'NotoSans[wdth,wght].ttf' wght=400 wdth=100 --static \\
        --update-name-table -o NotoSans-Regular-static.ttf
    pyftsubset NotoSans-Regular-static.ttf --notdef-outline \\
        --name-IDs=0,1,2,3,4,5,6,7,11,13,14 --output-file=NotoSans-Regular.ttf \\
        --unicodes=U+0020-007E,U+00A0-024F,U+02B0-02FF,U+0300-036F,U+0370-03FF,\\
    U+0400-052F,U+1E00-1EFF,U+2000-206F,U+20A0-20CF,U+2100-218F,U+2212,U+25CC,\\
    U+FB00-FB06,U+FFFD

Pillow's own ``load_default(size)`` is a cut-down Aileron: ASCII and a few quotes,
so every accent and dash came out as a box. A script the font has no letters for
(Chinese, Japanese, Korean, Arabic, emoji...) is not drawn as boxes either: each run
of it is replaced by :data:`NOT_SHOWN` (:func:`shown`), as the ticket and report carry
the user's words exactly. A CJK font is 10-20 MB, and a system font would make the
images differ between machines.
"""

from __future__ import annotations

import functools
import math
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .timecode import format_clock, format_seconds

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

BACKGROUND = (18, 18, 22)
TEXT = (245, 245, 245)
ACCENT = (255, 196, 0)
MUTED = (170, 170, 180)
GAP = 8
MIN_FONT_PX = 16
FONT_SHARE = 0.032
"""Caption size as a share of the frame height: keeps text >= 2.5% of the whole image."""
MAX_PAIR_HEIGHT = 1080
"""Taller frames (4K) are scaled down in pairs; the lossless stills keep full size."""


@dataclass(frozen=True)
class Caption:
    """What a frame in a composite is: a label, its frame number and its time."""

    label: str
    index: int
    time: Fraction

    def text(self) -> str:
        return " ".join(self.halves())

    def halves(self) -> tuple[str, str]:
        """The caption in two parts, for a frame too narrow for it on one line (the label
        as the font can draw it: :func:`shown`)."""
        return (f"{shown(self.label)}  {format_seconds(self.time)} s",
                f"({format_clock(self.time)})  frame {self.index}")

    def lines(self, width: int, size: int) -> list[str]:
        """The caption on one line of ``width`` pixels at ``size``, or on two."""
        if font(size).getlength(self.text()) <= width:
            return [self.text()]
        return [fit_text(half, width, size) for half in self.halves()]


FONT_FILE = "NotoSans-Regular.ttf"
NOT_SHOWN = "[text not shown: see ticket]"
"""What a caption says in place of words in a script the font cannot draw."""
PLAIN = {"→": "->", "←": "<-", "↔": "<->", "⇒": "=>", "⇐": "<=", "≈": "~", "≤": "<=",
         "≥": ">=", "≠": "!=", "✓": "ok", "✔": "ok"}
"""Signs the font has none of, said with ones it has."""
_fonts = threading.local()  # a FreeType face is not to be used by two threads at once


@functools.cache
def font_bytes() -> bytes:
    """The bundled font file, read once."""
    from importlib.resources import files

    return (files(__package__ or "ava_evidence") / "fonts" / FONT_FILE).read_bytes()


def font(size: int) -> Any:
    """The bundled font at ``size`` pixels (identical on every machine), loaded once per
    size in each thread."""
    cache: dict[int, Any] = _fonts.__dict__.setdefault("by_size", {})
    if size not in cache:
        from io import BytesIO

        from PIL import ImageFont

        cache[size] = ImageFont.truetype(BytesIO(font_bytes()), size)
    return cache[size]


@functools.cache
def covered() -> frozenset[int]:
    """The code points the bundled font has a glyph for (its cmap: format 4 or 12)."""
    data = font_bytes()
    u16, u32 = struct.Struct(">H"), struct.Struct(">I")
    tables = {data[12 + 16 * i:16 + 16 * i]: u32.unpack_from(data, 20 + 16 * i)[0]
              for i in range(u16.unpack_from(data, 4)[0])}
    cmap = tables[b"cmap"]
    subtables = {u16.unpack_from(data, cmap + 4 + 8 * i)[0] << 16 |
                 u16.unpack_from(data, cmap + 6 + 8 * i)[0]:
                 cmap + u32.unpack_from(data, cmap + 8 + 8 * i)[0]
                 for i in range(u16.unpack_from(data, cmap + 2)[0])}
    # Windows full Unicode, else Windows BMP, else any Unicode one
    at = next(subtables[k] for k in sorted(subtables, key=lambda k: (
        k != (3 << 16 | 10), k != (3 << 16 | 1), k >> 16 != 0)))
    points: set[int] = set()
    if u16.unpack_from(data, at)[0] == 12:
        for g in range(u32.unpack_from(data, at + 12)[0]):
            first, last, glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
            points.update(range(first, last + 1))
        return frozenset(points)
    segments = u16.unpack_from(data, at + 6)[0] // 2
    ends = at + 14
    starts, deltas, offsets = (ends + 2 * segments + 2 + 2 * segments * n for n in range(3))
    for n in range(segments):
        first, last = (u16.unpack_from(data, starts + 2 * n)[0],
                       u16.unpack_from(data, ends + 2 * n)[0])
        delta = u16.unpack_from(data, deltas + 2 * n)[0]
        offset = u16.unpack_from(data, offsets + 2 * n)[0]
        for c in range(first, min(last, 0xFFFE) + 1):
            if offset:
                glyph = u16.unpack_from(data, offsets + 2 * n + offset + 2 * (c - first))[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            else:
                glyph = (c + delta) & 0xFFFF
            if glyph:
                points.add(c)
    return frozenset(points)


def shown(text: str) -> str:
    """``text`` as the font can draw it: composed (NFC), a few signs it lacks said plainly
    (``→`` as ``->``), invisible format characters dropped, other spaces as spaces, and
    each run of what it has no glyph for (a CJK word, an emoji; runs apart only by spaces
    and punctuation count as one) as :data:`NOT_SHOWN`, never as boxes."""
    import unicodedata

    have = covered()
    out: list[str | None] = []  # None: a character the font cannot draw
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) in have:
            out.append(ch)
        elif ch in PLAIN:
            out.append(PLAIN[ch])
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F:
            continue  # zero-width joiners, direction marks, emoji variation selectors
        else:
            out.append(None)
    said: list[str] = []
    i = 0
    while i < len(out):
        if (drawn := out[i]) is not None:
            said.append(drawn)
            i += 1
            continue
        end = j = i + 1
        while j < len(out) and ((c := out[j]) is None or c.isspace()
                                or unicodedata.category(c[0]).startswith("P")):
            if c is None:
                end = j + 1
            j += 1
        said.append(NOT_SHOWN)
        i = end
    return "".join(said)


def _text_top(y0: int, y1: int, lines: int, size: int) -> int:
    """Where the first of ``lines`` lines goes (the top of its ascent) for the block to sit
    in the middle of ``y0``-``y1``: accents and descenders included (font metrics)."""
    ascent, descent = font(size).getmetrics()
    return int(y0 + (y1 - y0 - ascent - descent - round(size * 1.3) * (lines - 1)) // 2)


def font_px(frame_height: int) -> int:
    return max(MIN_FONT_PX, math.ceil(FONT_SHARE * frame_height))


def fit_text(text: str, width: int, size: int) -> str:
    """``text`` (as the font can draw it: :func:`shown`) shortened in the middle with an
    ellipsis until it fits ``width`` pixels."""
    text = shown(text)
    f = font(size)
    if f.getlength(text) <= width:
        return text
    keep = len(text)
    while keep > 4:
        keep -= max(1, keep // 20)
        head = text[: keep // 2]
        tail = text[len(text) - keep // 2:]
        candidate = f"{head}…{tail}"
        if f.getlength(candidate) <= width:
            return candidate
    return "…"


def wrap_text(text: str, width: int, size: int, max_lines: int = 3) -> list[str]:
    """``text`` in lines that fit ``width`` pixels, broken between words; past
    ``max_lines``, the last line is shortened in the middle (fit_text). The text is
    first made drawable (:func:`shown`)."""
    f = font(size)
    text = shown(text)
    lines: list[str] = []
    for word in text.split():
        if lines and f.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = [*lines[:max_lines - 1], " ".join(lines[max_lines - 1:])]
    return [fit_text(line, width, size) for line in lines] or [""]


def as_8bit(pixels: np.ndarray) -> np.ndarray:
    """8-bit pixels of an image that may be 16-bit (a 10- or 12-bit clip's still)."""
    import cv2
    import numpy as np

    if pixels.dtype == np.uint8:
        return pixels
    return cv2.convertScaleAbs(pixels, alpha=255 / 65535)


def downscale(rgb: np.ndarray, *, width: int | None = None,
              height: int | None = None) -> np.ndarray:
    """An 8-bit copy no wider than ``width`` and no taller than ``height``, never enlarged.

    Shrinking by 2x or more averages areas (OpenCV's INTER_AREA), the right filter
    there. A gentler shrink, such as 1080p to 720p, is bicubic: 3-5x faster than
    INTER_AREA at a fractional factor (measured for issue 7) and as sharp, though
    one-pixel stripes can alias where area averaging would blur them. Only the
    pairs and previews are scaled; the stills keep every pixel.
    """
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, (width / w) if width else 1.0, (height / h) if height else 1.0)
    if scale >= 1.0:
        return as_8bit(rgb)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    filter_ = cv2.INTER_AREA if scale <= 0.5 else cv2.INTER_CUBIC
    return as_8bit(cv2.resize(rgb, size, interpolation=filter_))


def _pair_height(height: int, frames: Sequence[tuple[np.ndarray, Caption]], footer: str
                 ) -> int:
    """The height the pair shows its frames at: ``height``, or a small clip's frames
    enlarged a whole number of times (up to MAX_PAIR_HEIGHT) until each caption fits above
    its frame whole, and the footer below them, on two lines at most (a 176 x 144 clip's
    time would be cut short)."""
    def fits(times: int) -> bool:
        size = font_px(times * height)
        widths = [rgb.shape[1] * times * height / rgb.shape[0] for rgb, _ in frames]
        return all(max(font(size).getlength(half) for half in caption.halves()) + size
                   <= w for w, (_, caption) in zip(widths, frames, strict=True)) and \
            len(wrap_text(footer, int(sum(widths)) + GAP - size, size, 99)) <= 2

    times = 1
    while (times + 1) * height <= MAX_PAIR_HEIGHT and not fits(times):
        times += 1
    return times * height


def _to_image(rgb: np.ndarray, height: int) -> Image.Image:
    from PIL import Image

    if rgb.shape[0] > height:
        rgb = downscale(rgb, height=height)
    img = Image.fromarray(rgb, "RGB")
    if img.height != height:  # enlarged: beside a larger frame, or a small clip's
        width = max(1, round(img.width * height / img.height))
        # a whole number of times: each pixel a block, nothing made up between them
        whole = height % img.height == 0 and width % img.width == 0
        img = img.resize((width, height), Image.Resampling.NEAREST if whole
                         else Image.Resampling.LANCZOS)
    return img


def _band(draw: Any, box: tuple[int, int, int, int], text: str | list[str], size: int,
          colour: tuple[int, int, int] = TEXT) -> None:
    """A band of BACKGROUND with ``text`` (a line, or lines one under another) in it."""
    x0, y0, x1, y1 = box
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=BACKGROUND)  # PIL's includes its end: the
    # frame's first row below a caption would be painted over
    pad = size // 2
    lines = [fit_text(text, x1 - x0 - 2 * pad, size)] if isinstance(text, str) else text
    step = round(size * 1.3)
    top = _text_top(y0, y1, len(lines), size)
    for n, line in enumerate(lines):
        draw.text((x0 + pad, top + n * step), line, font=font(size), fill=colour)


def compose_pair(left: np.ndarray, right: np.ndarray, left_caption: Caption,
                 right_caption: Caption, footer: str, note: str | None = None) -> Image.Image:
    """Two frames side by side at the same height, each captioned, then a band saying
    what is visible (``note``, when given) and a footer band."""
    from PIL import Image, ImageDraw

    footer, note = shown(footer), shown(note) if note else note
    height = _pair_height(min(max(left.shape[0], right.shape[0]), MAX_PAIR_HEIGHT),
                          [(left, left_caption), (right, right_caption)], footer)
    a, b = _to_image(left, height), _to_image(right, height)
    size = font_px(height)
    band = round(size * 1.8)
    line = round(size * 1.3)
    width = a.width + GAP + b.width
    # each caption whole, on two lines over a narrow frame (a portrait clip's)
    captions = [c.lines(img.width - size, size) for c, img in ((left_caption, a),
                                                              (right_caption, b))]
    top = band + line * (max(len(c) for c in captions) - 1)
    # what is visible is said whole, on as many lines as it takes (up to three)
    lines = wrap_text(note, width - size, size) if note else []
    told = len(lines) * line + band - line if lines else 0
    # and the footer (platform, ID, failure): on two lines where one is too narrow
    foot = [footer] if font(size).getlength(footer) <= width - size else \
        wrap_text(footer, width - size, size, max_lines=2)
    bottom = band + line * (len(foot) - 1)
    canvas = Image.new("RGB", (width, top + height + told + bottom), BACKGROUND)
    canvas.paste(a, (0, top))
    canvas.paste(b, (a.width + GAP, top))
    draw = ImageDraw.Draw(canvas)
    _band(draw, (0, 0, a.width, top), captions[0], size, ACCENT)
    _band(draw, (a.width + GAP, 0, width, top), captions[1], size, ACCENT)
    y = top + height
    first = _text_top(y, y + told, len(lines), size)
    for n, text in enumerate(lines):
        draw.text((size // 2, first + n * line), text, font=font(size), fill=ACCENT)
    y += told
    _band(draw, (0, y, width, y + bottom), foot, size)
    return canvas


def strip_indices(frame_count: int, window: tuple[int, int], count: int = 8) -> list[int]:
    """Frames spread evenly over ``window`` (inclusive), 6 to 12 of them when the clip has
    that many, always including both ends of the window."""
    lo, hi = max(0, window[0]), min(frame_count - 1, window[1])
    if hi < lo:
        lo, hi = 0, frame_count - 1
    if hi - lo + 1 < 6:  # too narrow: widen to at least 6 frames where the clip allows
        lo, hi = max(0, min(lo, frame_count - 6)), min(frame_count - 1, max(hi, lo + 5))
    n = min(max(6, min(12, count)), hi - lo + 1)
    if n <= 1:
        return [lo]
    picks = sorted({lo + round(i * (hi - lo) / (n - 1)) for i in range(n)})
    return picks


def compose_strip(frames: Sequence[tuple[np.ndarray, Caption]], footer: str,
                  tile_width: int = 320) -> Image.Image:
    """A contact strip: small frames in time order, each labelled with its time."""
    from PIL import Image, ImageDraw

    if not frames:
        raise ValueError("a strip needs at least one frame")
    first = frames[0][0]
    tile_h = max(1, round(tile_width * first.shape[0] / first.shape[1]))
    rows = math.ceil(len(frames) / 6)
    columns = math.ceil(len(frames) / rows)
    size = max(MIN_FONT_PX, math.ceil(0.03 * (rows * (tile_h + 2 * GAP) + 60)))
    label_h = round(size * 1.6)
    cell_h = tile_h + label_h
    footer_h = round(size * 1.8)
    width = columns * tile_width + (columns + 1) * GAP
    height = rows * (cell_h + GAP) + GAP + footer_h
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    f = font(size)
    for i, (rgb, caption) in enumerate(frames):
        r, c = divmod(i, columns)
        x = GAP + c * (tile_width + GAP)
        y = GAP + r * (cell_h + GAP)
        tile = Image.fromarray(downscale(rgb, width=tile_width), "RGB")
        if tile.size != (tile_width, tile_h):
            tile = tile.resize((tile_width, tile_h), Image.Resampling.BILINEAR)
        canvas.paste(tile, (x, y))
        label = fit_text(f"{format_seconds(caption.time)} s  f{caption.index}", tile_width, size)
        colour = ACCENT if caption.label != "strip" else TEXT
        draw.text((x, _text_top(y + tile_h, y + cell_h, 1, size)), label, font=f, fill=colour)
    _band(draw, (0, height - footer_h, width, height), footer, size, MUTED)
    return canvas
