"""A chart of the measured series over time with the chosen moments marked (Pillow).

Readable at ticket size (600 px wide and up): one panel per series (at most three), each
with its own y axis labelled with values and units, a legend line naming it, the shot
boundaries (dashed grey) and each candidate as a labelled red line at its exact time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .compose import BACKGROUND, MUTED, TEXT, fit_text, font
from .timecode import format_seconds

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

    from .analysis import Candidate

WIDTH, HEIGHT = 1200, 420
COLOURS = [(255, 196, 0), (90, 200, 250), (140, 230, 140)]
MARK = (255, 80, 80)
CUT = (150, 150, 160)
LABELS = {
    "eye_spacing_change": ("eye spacing vs first second", "%"),
    "face_distance": ("face embedding distance (0.6 = another person)", ""),
    "face_shape_change": ("face shape vs first second (from its image)", "%"),
    "motion_surprise": ("change no motion explains", "levels"),
    "brightness": ("brightness", "levels"),
    "brightness_jump": ("brightness jump", "levels"),
    "region_change": ("largest regional change", "levels"),
}
"""Series name: (what it is, unit); values in "%" are fractions shown as percent."""
SIZE = 16


def plot_area(width: int = WIDTH, height: int = HEIGHT) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the plotting area inside the image."""
    return 78, 48, width - 20, height - 40


def x_of(time_s: float, duration: float, width: int = WIDTH) -> int:
    """Horizontal pixel of a time on the chart (the same mapping the marks use)."""
    left, _, right, _ = plot_area(width)
    return left + round((right - left) * (time_s / duration if duration > 0 else 0))


def render_chart(times: Sequence[float], series: dict[str, Sequence[float | None]],
                 candidates: Sequence[Candidate], duration: float, title: str,
                 cuts: Sequence[float] = ()) -> Image.Image:
    """Plot up to three series in stacked panels and mark the cuts and candidates."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = plot_area()
    draw.text((left, 12), fit_text(title, right - left, SIZE + 2), font=font(SIZE + 2),
              fill=TEXT)
    names = [k for k in series if k != "time_s" and any(v is not None for v in series[k])][:3]
    gap = 8
    panel = (bottom - top - gap * max(0, len(names) - 1)) // max(1, len(names))
    for n, (colour, name) in enumerate(zip(COLOURS, names, strict=False)):
        y0 = top + n * (panel + gap)
        _panel(draw, times, series[name], name, colour, duration, (left, y0, right, y0 + panel))
    step = _tick(duration)
    s = 0.0
    while s <= duration + 1e-9:
        x = x_of(s, duration)
        draw.line((x, bottom, x, bottom + 5), fill=MUTED)
        draw.text((x - 8, bottom + 8), f"{s:g} s", font=font(SIZE), fill=MUTED)
        s += step
    for t in cuts:
        x = x_of(t, duration)
        for y in range(top, bottom, 10):
            draw.line((x, y, x, min(bottom, y + 5)), fill=CUT, width=2)
        draw.text((x + 3, bottom - 20), "cut", font=font(SIZE), fill=CUT)
    for n, c in enumerate(candidates, 1):
        x = x_of(float(c.time), duration)
        draw.line((x, top, x, bottom), fill=MARK, width=2)
        draw.text((x + 4, top + 2 + 20 * (n - 1)), f"#{n} {format_seconds(c.time)} s",
                  font=font(SIZE + 1), fill=MARK)
    return img


def _panel(draw: ImageDraw.ImageDraw, times: Sequence[float],
           values: Sequence[float | None], name: str, colour: tuple[int, int, int],
           duration: float, box: tuple[int, int, int, int]) -> None:
    """One series in its own box: a y axis with its lowest and highest value (and unit),
    the line, and its name in the box's top-left corner."""
    left, top, right, bottom = box
    label, unit = LABELS.get(name, (name.replace("_", " "), ""))
    known = [v for v in values if v is not None]
    lo, hi = min(known), max(known)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    draw.rectangle(box, outline=(70, 70, 80))

    def y_of(v: float) -> int:
        return bottom - 4 - round((v - lo) / (hi - lo) * (bottom - top - 8))

    for v in (lo, hi):
        text = f"{v * 100:.0f}%" if unit == "%" else f"{v:.2g}"
        draw.text((left - 6 - round(font(SIZE).getlength(text)), y_of(v) - 9), text,
                  font=font(SIZE), fill=MUTED)
        draw.line((left - 4, y_of(v), left, y_of(v)), fill=MUTED)
    points = [(x_of(t, duration), y_of(v)) for t, v in zip(times, values, strict=False)
              if v is not None]
    if len(points) > 1:
        draw.line(points, fill=colour, width=2)
    for p in points if len(points) < 40 else []:
        draw.ellipse((p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3), fill=colour)
    shown = f"{label} ({unit})" if unit and unit != "%" else label
    draw.text((left + 6, top + 2), fit_text(shown, right - left - 200, SIZE), font=font(SIZE),
              fill=colour)


def _tick(duration: float) -> float:
    """Seconds between time labels: about ten labels whatever the length."""
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if duration / step <= 10:
            return step
    return 1200.0


def chart_for(suggestion: Any, duration: float, title: str) -> Image.Image:
    """The chart of a :class:`~ava_evidence.analysis.Suggestion`."""
    series = dict(suggestion.series)
    times = series.pop("time_s", [])
    return render_chart(times, series, suggestion.candidates, duration, title,
                        getattr(suggestion, "cuts", []))
