"""A chart of the measured series over time with the chosen moments marked (Pillow).

Legible at ticket size: text at least 16 px, series normalised to one scale,
each candidate a labelled vertical line at its exact time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .compose import BACKGROUND, MUTED, TEXT, fit_text, font
from .timecode import format_seconds

if TYPE_CHECKING:
    from PIL import Image

    from .analysis import Candidate

WIDTH, HEIGHT = 1200, 420
COLOURS = [(255, 196, 0), (90, 200, 250), (255, 110, 110), (140, 230, 140)]
MARK = (255, 80, 80)
LABELS = {
    "eye_spacing_change": "eye spacing vs first second",
    "face_similarity": "face similarity to first second",
    "frame_change": "frame-to-frame change",
    "optical_flow": "optical flow",
    "change_ratio": "regional change / usual",
    "brightness": "brightness",
    "brightness_jump": "brightness jump",
    "region_change": "largest regional change",
}


def plot_area(width: int = WIDTH, height: int = HEIGHT) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the plotting area inside the image."""
    return 70, 56, width - 24, height - 56


def x_of(time_s: float, duration: float, width: int = WIDTH) -> int:
    """Horizontal pixel of a time on the chart (the same mapping the marks use)."""
    left, _, right, _ = plot_area(width)
    return left + round((right - left) * (time_s / duration if duration > 0 else 0))


def render_chart(times: Sequence[float], series: dict[str, Sequence[float | None]],
                 candidates: Sequence[Candidate], duration: float, title: str) -> Image.Image:
    """Plot up to four series (each scaled to its own range) and mark the candidates."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = plot_area()
    size = 18
    draw.text((left, 14), fit_text(title, right - left, size + 2), font=font(size + 2), fill=TEXT)
    draw.rectangle((left, top, right, bottom), outline=(70, 70, 80))
    for s in range(0, int(duration) + 1):
        x = x_of(s, duration)
        draw.line((x, bottom, x, bottom + 6), fill=MUTED)
        draw.text((x - 6, bottom + 10), f"{s}s", font=font(16), fill=MUTED)
    names = [k for k in series if k != "time_s" and any(v is not None for v in series[k])][:4]
    legend_x = left
    for colour, name in zip(COLOURS, names, strict=False):
        values = series[name]
        known = [v for v in values if v is not None]
        lo, hi = min(known), max(known)
        span = (hi - lo) or 1.0
        points = [(x_of(t, duration), bottom - round((v - lo) / span * (bottom - top - 8)) - 4)
                  for t, v in zip(times, values, strict=False) if v is not None]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        label = LABELS.get(name, name.replace("_", " "))
        draw.text((legend_x, HEIGHT - 26), label, font=font(16), fill=colour)
        legend_x += round(font(16).getlength(label)) + 24
    for n, c in enumerate(candidates, 1):
        x = x_of(float(c.time), duration)
        draw.line((x, top, x, bottom), fill=MARK, width=2)
        draw.text((x + 4, top + 4 + 22 * (n - 1)), f"#{n} {format_seconds(c.time)} s",
                  font=font(17), fill=MARK)
    return img


def chart_for(suggestion: Any, duration: float, title: str) -> Image.Image:
    """The chart of a :class:`~ava_evidence.analysis.Suggestion`."""
    series = dict(suggestion.series)
    times = series.pop("time_s", [])
    return render_chart(times, series, suggestion.candidates, duration, title)
