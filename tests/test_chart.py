"""The chart: axis values a person reads at a glance, lines that never join what was measured
apart, names and moment labels that never cover each other, a title that never claims a
finding the chart does not show."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ava_evidence.analysis_types import Candidate, Suggestion
from ava_evidence.chart import (
    LEGEND,
    MARK,
    SHADE,
    _number,
    _percent,
    _runs,
    _span,
    _tick,
    plot_area,
    render_chart,
    x_of,
)
from ava_evidence.cli import _chart_title


@pytest.mark.parametrize(("value", "span", "shown"), [
    (160.4, 48.0, "160"), (112.0, 48.0, "112"), (8.24, 8.2, "8.2"), (0.001, 8.2, "0.0"),
    (0.41, 0.38, "0.41"), (0.03, 0.38, "0.03"), (0.0123, 0.004, "0.0123"), (5.0, 0.0, "5.0000"),
    (-0.001, 8.2, "0.0"), (0.0001, 0.0001, "0.0001"), (0.0002, 0.0001, "0.0002"),
])
def test_axis_values_are_plain_numbers_with_the_decimals_the_span_needs(
        value: float, span: float, shown: str) -> None:
    assert _number(value, span) == shown


def test_a_line_breaks_at_a_cut_and_where_values_are_missing() -> None:
    times = [i / 6 for i in range(30)]  # six samples a second, as faces are sampled
    values: list[float | None] = [float(i) for i in range(30)]
    for i in range(12, 17):
        values[i] = None  # the face lost for 5/6 s
    runs = _runs(times, values, cuts=[4.05])
    assert [(r[0][0], r[-1][0]) for r in runs] == [(0.0, 11 / 6), (17 / 6, 4.0), (25 / 6, 29 / 6)]
    assert len(_runs(times, [1.0 if i % 3 else None for i in range(30)], cuts=[])) == 1
    slow = [float(i) for i in range(40)]  # one value a second: one line, not forty dots
    assert len(_runs(slow, slow, cuts=[])) == 1


def test_a_moment_at_the_start_never_covers_a_panel_name() -> None:
    times = [i / 24 for i in range(96)]
    series: dict[str, list[float | None]] = {"brightness": [100.0 + i for i in range(96)],
                                              "brightness_jump": [1.0] * 96}
    moments = [Candidate(3, Fraction(1, 8), 0.9, "x", "flicker"),
               Candidate(94, Fraction(94, 24), 0.8, "y", "flicker")]
    rgb = np.asarray(render_chart(times, series, moments, 4.0, "t").convert("RGB"))
    left, top, right, _ = plot_area()
    band = rgb[top + 3:top + LEGEND - 3, left + 4:left + 150]
    assert not (band == MARK).all(axis=2).any()  # the name's plate is drawn over the line
    assert (rgb[top + LEGEND:top + LEGEND + 18, x_of(0.125, 4.0) + 5:x_of(0.125, 4.0) + 60]
            == MARK).all(axis=2).any()  # the label sits below the name, right of its line
    near_end = rgb[top + LEGEND + 20:top + LEGEND + 38]
    assert not (near_end[:, right + 1:] == MARK).all(axis=2).any()  # kept inside the plot
    assert (near_end[:, x_of(94 / 24, 4.0) - 80:x_of(94 / 24, 4.0) - 4] == MARK).all(axis=2).any()


def test_a_chart_without_a_moment_says_why_in_its_title() -> None:
    found = Suggestion("physics", [Candidate(3, Fraction(1, 8), 0.9, "x", "jump")], {}, [])
    quiet = Suggestion("physics", [], {}, [])
    faceless = Suggestion("identity-coherence", [], {}, [],
                          unmeasured="no face seen from the front")
    assert _chart_title(found, "Physics Prior Degeneration", "a.mp4") == \
        "Physics Prior Degeneration: a.mp4"
    assert _chart_title(quiet, "Physics Prior Degeneration", "a.mp4") == \
        "Physics Prior Degeneration: a.mp4 (nothing stands out)"
    assert _chart_title(faceless, "Identity Coherence Failure", "a.mp4") == \
        "Identity Coherence Failure: a.mp4 (not measured, no face seen from the front)"


def test_many_moments_label_inside_the_first_panel() -> None:
    """With three panels and eight moments, the labels wrap within the first panel instead
    of running down under the next panels' names."""
    times = [i / 24 for i in range(240)]
    series: dict[str, list[float | None]] = {k: [float(i % 7) for i in range(240)] for k in
                                              ("brightness", "brightness_jump", "region_change")}
    moments = [Candidate(round((0.2 + 0.3 * n) * 24), Fraction(round((0.2 + 0.3 * n) * 24), 24),
                         0.9, "x", "flicker") for n in range(8)]
    rgb = np.asarray(render_chart(times, series, moments, 10.0, "t").convert("RGB"))
    _, top, _, bottom = plot_area()
    red = (rgb == MARK).all(axis=2)
    for c in moments:  # the lines themselves run the whole height
        x = x_of(float(c.time), 10.0)
        red[:, x - 2:x + 3] = False
    rows = np.flatnonzero(red.any(axis=1))
    first_panel_bottom = top + (bottom - top - 16) // 3
    assert len(rows) and rows.max() < first_panel_bottom


def test_percent_and_time_labels_are_never_odd() -> None:
    assert [_percent(v) for v in (-0.004, 0.0, 0.116, -0.02)] == ["0%", "0%", "12%", "-2%"]
    assert [_tick(d) for d in (0.3, 1.5, 4.0, 10.0, 600.0)] == [0.1, 0.2, 0.5, 1, 60]


def test_the_embedding_axis_reaches_the_level_of_another_person() -> None:
    """A face's embedding distance is read against 0.6 (another person): its axis reaches
    that line even when the face stays far below it, so a reader sees how far."""
    assert _span("face_distance", [0.1, 0.3]) == (0.1, 0.6)
    assert _span("face_distance", [0.2, 0.8]) == (0.2, 0.8)
    assert _span("face_distance", [0.7, 0.9]) == (0.6, 0.9)  # its line stays in the panel
    assert _span("motion_surprise", [3.0, 3.0]) == (2.0, 4.0)
    assert _span("motion_surprise", [0.0, 0.0]) == (0.0, 1.0)  # no level below nothing


def test_fades_and_dissolves_are_shaded_and_named() -> None:
    times = [i / 24 for i in range(96)]
    series: dict[str, list[float | None]] = {"brightness": [100.0] * 40 + [None] * 16 +
                                              [100.0] * 40}
    plain = np.asarray(render_chart(times, series, [], 4.0, "t").convert("RGB"))
    shaded = np.asarray(render_chart(times, series, [], 4.0, "t",
                                     transitions=[(40 / 24, 56 / 24, "dissolve")])
                        .convert("RGB"))
    _, top, _, bottom = plot_area()
    inside = shaded[top + LEGEND + 10:bottom - 30, x_of(1.8, 4.0):x_of(2.2, 4.0)]
    assert (inside == SHADE).all()
    assert not (plain[top + LEGEND + 10:bottom - 30, x_of(1.8, 4.0):x_of(2.2, 4.0)]
                == SHADE).all(axis=2).any()
    outside = shaded[top + LEGEND + 10:bottom - 30, x_of(0.5, 4.0):x_of(1.5, 4.0)]
    assert not (outside == SHADE).all(axis=2).any()


def _dashes(rgb: np.ndarray, colour: tuple[int, int, int]) -> list[int]:
    """Rows of the plot where ``colour`` is drawn across most of its width, in dashes."""
    left, _, right, _ = plot_area()
    hits = (rgb[:, left + 1:right - 1] == colour).all(axis=2).sum(axis=1)
    return [int(y) for y in np.flatnonzero(hits >= 0.4 * (right - left))]


def test_zero_and_the_level_of_another_person_are_drawn_across_their_panels() -> None:
    from ava_evidence.compose import MUTED

    times = [i / 24 for i in range(96)]
    crossing = render_chart(times, {"eye_spacing_change": [0.1 * (-1) ** (i // 24)
                                                            for i in range(96)]}, [], 4.0, "t")
    assert _dashes(np.asarray(crossing.convert("RGB")), (60, 60, 70))  # zero
    above = render_chart(times, {"eye_spacing_change": [0.1 + 0.01 * (i % 3)
                                                         for i in range(96)]}, [], 4.0, "t")
    assert not _dashes(np.asarray(above.convert("RGB")), (60, 60, 70))
    who = render_chart(times, {"face_distance": [0.2] * 96}, [], 4.0, "t")
    assert _dashes(np.asarray(who.convert("RGB")), MUTED)  # 0.6, another person
    assert not _dashes(np.asarray(render_chart(times, {"brightness": [0.2] * 96}, [], 4.0,
                                               "t").convert("RGB")), MUTED)


def test_a_transition_of_one_frame_still_shows() -> None:
    times = [i / 24 for i in range(96)]
    rgb = np.asarray(render_chart(times, {"brightness": [1.0] * 96}, [], 4.0, "t",
                                  transitions=[(2.0, 2.0, "blank")]).convert("RGB"))
    _, top, _, bottom = plot_area()
    stripe = rgb[top + LEGEND + 10:bottom - 30, x_of(2.0, 4.0):x_of(2.0, 4.0) + 3]
    assert (stripe == SHADE).all(axis=2).sum() >= 2 * (bottom - top - LEGEND - 60)


def test_a_chart_of_one_face_among_others_says_whose_measures_it_shows() -> None:
    """Identity charts one face a shot; where it was seen beside others, the chart's title
    names it (Suggestion.charted), and nothing else about the chart changes."""
    from ava_evidence.analysis_types import Suggestion
    from ava_evidence.chart import chart_for

    series: dict[str, list[float | None]] = {"time_s": [i / 24 for i in range(48)],
                                             "eye_spacing_change": [0.01 * i for i in range(48)]}
    plain = np.asarray(chart_for(Suggestion("identity-coherence", [], series, []), 2.0, "t"))
    named = np.asarray(chart_for(Suggestion("identity-coherence", [], series, [],
                                            charted="the face on the right"), 2.0, "t"))
    differs = np.flatnonzero(np.abs(plain.astype(int) - named).sum(axis=(1, 2)))
    assert len(differs) and differs.max() < 48  # the title's band only (the plot starts at 48)


@pytest.mark.parametrize(("lo", "hi", "labelled"), [
    (0.0, 0.4, [0.0, 0.4]),  # no crossing: its ends
    (-0.2, 0.2, [-0.2, 0.2, 0.0]),  # zero far from both ends: labelled too
    (-0.01, 0.4, [0.0, 0.4]),  # zero too near the lowest: its label in the lowest's place
    (-0.4, 0.01, [-0.4, 0.0]),  # too near the highest
])
def test_zero_is_labelled_where_a_panel_crosses_it(lo: float, hi: float,
                                                   labelled: list[float]) -> None:
    """Zero is the level a change is measured from: where the values cross it, its label
    shows, in place of the nearer end's where both would not be read."""
    from ava_evidence.chart import _ticks

    assert _ticks(lo, hi, lambda v: round(200 - 400 * (v - lo) / (hi - lo))) == labelled
