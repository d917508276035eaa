"""A chart of the measured series over time with the chosen moments marked (Pillow).

Readable at ticket size (600 px wide and up): one panel per series (at most three), each
with its own y axis labelled with values and units (and zero, and a limit the series is
read against), a legend line naming it, the shot boundaries (cuts dashed grey, fades and
dissolves shaded) and each candidate as a labelled red line at its exact time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
SHADE = (44, 44, 54)
"""Behind a fade or a dissolve: no failure is looked for there."""
LABELS = {
    "eye_spacing_change": ("eye spacing vs first second", "%"),
    "face_distance": ("face embedding distance (0.6 = another person)", ""),
    "face_shape_change": ("face shape vs first second (from its image)", "%"),
    "motion_surprise": ("largest prediction error above its second before", "levels"),
    "brightness": ("brightness", "levels"),
    "brightness_jump": ("brightness jump", "levels"),
    "region_change": ("largest regional change", "levels"),
}
"""Series name: (what it is, unit); values in "%" are fractions shown as percent."""
LIMITS = {"face_distance": (0.6, "another person")}
"""A level a series is read against, drawn across its panel (its axis reaches it)."""
SIZE = 18
LEGEND = 24
"""Pixels at a panel's top kept for its name."""
GAP = 0.5
"""Seconds without a value after which a series' line breaks (a face lost, blank frames)."""


def plot_area(width: int = WIDTH, height: int = HEIGHT) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the plotting area inside the image."""
    return 78, 48, width - 20, height - 40


def x_of(time_s: float, duration: float, width: int = WIDTH) -> int:
    """Horizontal pixel of a time on the chart (the same mapping the marks use)."""
    left, _, right, _ = plot_area(width)
    return left + round((right - left) * (time_s / duration if duration > 0 else 0))


def render_chart(times: Sequence[float], series: dict[str, Sequence[float | None]],
                 candidates: Sequence[Candidate], duration: float, title: str,
                 cuts: Sequence[float] = (),
                 transitions: Sequence[tuple[float, float, str]] = ()) -> Image.Image:
    """Plot up to three series in stacked panels and mark the cuts, fades and dissolves
    and candidates."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = plot_area()
    _between_shots(draw, duration, transitions)
    draw.text((left, 12), fit_text(title, right - left, SIZE + 2), font=font(SIZE + 2),
              fill=TEXT)
    names = [k for k in series if k != "time_s" and any(v is not None for v in series[k])][:3]
    gap = 8
    panel = (bottom - top - gap * max(0, len(names) - 1)) // max(1, len(names))
    boxes = [(left, top + n * (panel + gap), right, top + n * (panel + gap) + panel)
             for n in range(len(names))]
    for colour, name, box in zip(COLOURS, names, boxes, strict=False):
        _panel(draw, times, series[name], name, colour, duration, box, cuts)
    _time_axis(draw, duration)
    for t in cuts:
        x = x_of(t, duration)
        for y in range(top, bottom, 10):
            draw.line((x, y, x, min(bottom, y + 5)), fill=CUT, width=2)
        draw.text((x + 3, bottom - 22), "cut", font=font(SIZE), fill=CUT)
    for c in candidates:
        x = x_of(float(c.time), duration)
        draw.line((x, top, x, bottom), fill=MARK, width=2)
    rows = max(1, ((boxes[0][3] if boxes else bottom) - top - LEGEND) // 20)
    for n, c in enumerate(candidates, 1):
        x = x_of(float(c.time), duration)
        text = f"#{n} {format_seconds(c.time)} s"
        w = round(font(SIZE + 1).getlength(text))
        tx = x + 5 if x + 5 + w <= right else x - 5 - w  # never past the plot's right edge
        ty = top + LEGEND + 20 * ((n - 1) % rows)  # in the first panel, below its name
        draw.text((tx, ty), text, font=font(SIZE + 1), fill=MARK)
    for colour, name, box in zip(COLOURS, names, boxes, strict=False):
        _name(draw, name, colour, box)
    return img


def _between_shots(draw: ImageDraw.ImageDraw, duration: float,
                   transitions: Sequence[tuple[float, float, str]]) -> None:
    """Fades, blank frames and dissolves, shaded and named under the lines: no measure
    looks there (two pixels wide at least, so one frame still shows)."""
    _, top, _, bottom = plot_area()
    for start, end, kind in transitions:
        x0 = x_of(start, duration)
        draw.rectangle((x0, top, max(x_of(end, duration), x0 + 2), bottom), fill=SHADE)
        draw.text((x0 + 3, bottom - 22), kind, font=font(SIZE), fill=CUT)


def _time_axis(draw: ImageDraw.ImageDraw, duration: float) -> None:
    """Seconds along the bottom, about ten labels whatever the length (_tick)."""
    _, _, _, bottom = plot_area()
    step = _tick(duration)
    for n in range(int(duration / step + 1e-9) + 1):
        x = x_of(n * step, duration)
        draw.line((x, bottom, x, bottom + 5), fill=MUTED)
        draw.text((x - 8, bottom + 8), f"{round(n * step, 3):g} s", font=font(SIZE),
                  fill=MUTED)


def _panel(draw: ImageDraw.ImageDraw, times: Sequence[float],
           values: Sequence[float | None], name: str, colour: tuple[int, int, int],
           duration: float, box: tuple[int, int, int, int], cuts: Sequence[float] = ()
           ) -> None:
    """One series in its own box: a y axis with its lowest and highest value (and unit),
    zero where the values cross it, its limit (LIMITS) as a dashed line the axis reaches,
    and the line, below a band at the top kept for its name (_name)."""
    left, top, right, bottom = box
    unit = LABELS.get(name, (name, ""))[1]
    limit = LIMITS.get(name)
    lo, hi = _span(name, [v for v in values if v is not None])
    draw.rectangle(box, outline=(70, 70, 80))

    def y_of(v: float) -> int:  # below the band kept for the panel's name
        return bottom - 4 - round((v - lo) / (hi - lo) * (bottom - top - 4 - LEGEND))

    if lo < 0 < hi:
        _dashed(draw, left, right, y_of(0), (60, 60, 70))
    if limit is not None:
        _dashed(draw, left, right, y_of(limit[0]), MUTED)
        draw.text((right - 6 - round(font(SIZE).getlength(limit[1])), y_of(limit[0]) + 2),
                  limit[1], font=font(SIZE), fill=MUTED)
    for v in _ticks(lo, hi, y_of):
        text = _percent(v) if unit == "%" else _number(v, hi - lo)
        draw.text((left - 6 - round(font(SIZE).getlength(text)), y_of(v) - 10), text,
                  font=font(SIZE), fill=MUTED)
        draw.line((left - 4, y_of(v), left, y_of(v)), fill=MUTED)
    runs = _runs(times, values, cuts)
    points = [(x_of(t, duration), y_of(v)) for run in runs for t, v in run]
    for run in runs:
        if len(run) > 1:
            draw.line([(x_of(t, duration), y_of(v)) for t, v in run], fill=colour, width=2)
    alone = [(x_of(r[0][0], duration), y_of(r[0][1])) for r in runs if len(r) == 1]
    for p in points if len(points) < 40 else alone:  # a value on its own still shows
        draw.ellipse((p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3), fill=colour)


def _name(draw: ImageDraw.ImageDraw, name: str, colour: tuple[int, int, int],
          box: tuple[int, int, int, int]) -> None:
    """The panel's name in its top-left corner, on a plate: drawn last, over the lines."""
    left, top, right, _ = box
    label, unit = LABELS.get(name, (name.replace("_", " "), ""))
    shown = fit_text(f"{label} ({unit})" if unit and unit != "%" else label,
                     right - left - 200, SIZE)
    draw.rectangle((left + 3, top + 2, left + 9 + round(font(SIZE).getlength(shown)),
                    top + LEGEND - 2), fill=BACKGROUND)
    draw.text((left + 6, top + 2), shown, font=font(SIZE), fill=colour)


def _runs(times: Sequence[float], values: Sequence[float | None], cuts: Sequence[float]
          ) -> list[list[tuple[float, float]]]:
    """The known values in runs a line may join: none across a cut (the shots are measured
    apart) or across a gap without a value longer than GAP seconds and than one and a half
    of the series' own usual spacing (a clip of one frame a second is one line)."""
    import statistics
    from itertools import pairwise

    known = [(t, v) for t, v in zip(times, values, strict=False) if v is not None]
    spacing = statistics.median(b[0] - a[0] for a, b in pairwise(known)) \
        if len(known) > 1 else 0.0
    gap = max(GAP, 1.5 * spacing)
    runs: list[list[tuple[float, float]]] = []
    for t, v in known:
        if runs and t - runs[-1][-1][0] <= gap and \
                not any(runs[-1][-1][0] < c <= t for c in cuts):
            runs[-1].append((t, v))
        else:
            runs.append([(t, v)])
    return runs


def _ticks(lo: float, hi: float, y_of: Callable[[float], int]) -> list[float]:
    """The values a panel's axis labels: its lowest and highest, and zero where the values
    cross it (the level a change is measured from). Where zero lies too near an end for
    both labels to be read, zero's label takes that end's place."""
    if not lo < 0 < hi:
        return [lo, hi]
    below, above = y_of(lo) - y_of(0), y_of(0) - y_of(hi)
    if min(below, above) >= SIZE + 8:
        return [lo, hi, 0.0]
    return [0.0, hi] if below < above else [lo, 0.0]


def _span(name: str, known: list[float]) -> tuple[float, float]:
    """A panel's axis: its values' lowest to highest, and the series' limit (LIMITS)."""
    limit = LIMITS.get(name)
    values = [*known, *(limit[:1] if limit else ())]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:  # flat: a unit either side, and never below zero from zero
        return (0.0, 1.0) if lo == 0 else (lo - 1, hi + 1)
    return lo, hi


def _dashed(draw: ImageDraw.ImageDraw, left: int, right: int, y: int,
            colour: tuple[int, int, int]) -> None:
    """A level across a panel, dashed so the series' own line stays the plainer."""
    for x in range(left + 1, right, 12):
        draw.line((x, y, min(right - 1, x + 6), y), fill=colour)


def _percent(v: float) -> str:
    """A fraction as a whole percent, never "-0%"."""
    text = f"{v * 100:.0f}%"
    return text[1:] if text == "-0%" else text


def _number(v: float, span: float) -> str:
    """An axis value with as many decimals as the axis' span needs (110, 8.2, 0.35)."""
    import math

    decimals = 0 if span >= 10 else min(4, 1 - math.floor(math.log10(max(span, 1e-4))))
    text = f"{v:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # never "-0.0"


def _tick(duration: float) -> float:
    """Seconds between time labels: about ten labels whatever the length."""
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if duration / step <= 10:
            return step
    return 1200.0


def chart_for(suggestion: Any, duration: float, title: str) -> Image.Image:
    """The chart of a :class:`~ava_evidence.analysis.Suggestion`."""
    series = dict(suggestion.series)
    times = series.pop("time_s", [])
    if charted := getattr(suggestion, "charted", None):
        title = f"{title}: {charted}"
    return render_chart(times, series, suggestion.candidates, duration, title,
                        getattr(suggestion, "cuts", []), getattr(suggestion, "transitions", []))
