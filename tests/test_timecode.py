"""TIME parsing and resolution: every documented form, property tests, exact errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ava_evidence.errors import TimeError
from ava_evidence.timecode import (
    ClipTiming,
    TimeSyntaxError,
    format_clock,
    format_seconds,
    frame_at,
    parse_time,
    resolve,
    resolve_text,
    smpte_frame,
)

CFR24 = ClipTiming("clip.mp4", [Fraction(i, 24) for i in range(240)], Fraction(10), Fraction(24))


@pytest.mark.parametrize(("text", "seconds"), [
    ("2", Fraction(2)),
    ("2.5", Fraction(5, 2)),
    ("2.5s", Fraction(5, 2)),
    ("2.5 s", Fraction(5, 2)),
    ("2500ms", Fraction(5, 2)),
    ("2500000us", Fraction(5, 2)),
    ("0:02", Fraction(2)),
    ("0:02.5", Fraction(5, 2)),
    ("00:00:02.500", Fraction(5, 2)),
    ("1:02:03.5", Fraction(3723 * 2 + 1, 2)),
    ("00:00:02.12", Fraction(212, 100)),
    (" 1.2S ", Fraction(6, 5)),
    (".5", Fraction(1, 2)),
    ("90:00", Fraction(5400)),
])
def test_seconds_forms(text: str, seconds: Fraction) -> None:
    spec = parse_time(text)
    assert spec.kind == "seconds"
    assert spec.seconds == seconds


def test_other_forms() -> None:
    assert parse_time("f60").frame == 60
    assert parse_time("F0").frame == 0
    assert parse_time("start").kind == "start"
    assert parse_time("END").kind == "end"
    assert parse_time("00:00:02:12").smpte == (0, 0, 2, 12, False)
    assert parse_time("00:01:00;02").smpte == (0, 1, 0, 2, True)


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("abc", "syntax"), ("-1", "negative"), ("-0:01", "negative"),
    ("nan", "not finite"), ("inf", "not finite"), ("1e3", "syntax"), ("0:60", "field"),
    ("1:60:00", "field"), ("2.5.1", "syntax"), ("f-1", "syntax"), ("00:00:61:00", "field"),
    ("2,5", "comma"), ("1:2:3:4:5", "syntax"), ("2,5,1", "syntax"),
])
def test_bad_syntax(text: str, reason: str) -> None:
    with pytest.raises(TimeSyntaxError) as e:
        parse_time(text)
    assert str(e.value) == reason


def test_frame_on_screen_rule() -> None:
    # The frame at t is the last frame whose time is <= t.
    assert resolve(parse_time("2"), CFR24) == 48
    assert resolve(parse_time("1.999"), CFR24) == 47
    assert resolve(parse_time("2.04"), CFR24) == 48
    assert resolve(parse_time("2.042"), CFR24) == 49
    assert resolve(parse_time("start"), CFR24) == 0
    assert resolve(parse_time("end"), CFR24) == 239
    assert resolve(parse_time("10"), CFR24) == 239  # the clip's end belongs to the last frame
    assert resolve(parse_time("f60"), CFR24) == 60


def test_smpte_maps_to_frame_index_directly() -> None:
    assert resolve(parse_time("00:00:02:12"), CFR24) == 60
    ntsc = ClipTiming("ntsc.mp4", [Fraction(1001 * i, 30000) for i in range(2000)],
                      Fraction(1001 * 2000, 30000), Fraction(30000, 1001))
    # Non-drop SMPTE counts 30 frames a second at 29.97: 00:00:10:00 is frame 300,
    # although frame 300's time is 10.01 s.
    assert resolve(parse_time("00:00:10:00"), ntsc) == 300
    # Drop-frame: 00:01:00;02 follows 00:00:59;29 directly.
    assert resolve(parse_time("00:01:00;02"), ntsc) == resolve(parse_time("00:00:59;29"), ntsc) + 1
    assert smpte_frame(0, 10, 0, 0, True, Fraction(30000, 1001)) == 17982
    long = ClipTiming("long.mp4", [Fraction(1001 * i, 30000) for i in range(18000)],
                      Fraction(1001 * 18000, 30000), Fraction(30000, 1001))
    assert resolve(parse_time("00:10:00;00"), long) == 17982  # each tenth minute keeps ;00
    for label in ("00:01:00;00", "00:01:00;01"):  # these labels are skipped in drop-frame
        with pytest.raises(TimeError) as e:
            resolve(parse_time(label), ntsc)
        assert str(e.value) == (
            f"drop-frame SMPTE time '{label}' does not exist: drop-frame numbering skips frames "
            f"00-01 at the start of every minute but each tenth; the next label is 00:01:00;02.")


EXPECTED_SUMMARY = "clip.mp4 lasts 10.000 s (00:10.000), 240 frames (f0-f239)"


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "'abc' is not a time: use 2.5, 2.5s, 2500ms, 0:02.5, 00:00:02.500, f60, "
            f"SMPTE 00:00:02:12, start or end; {EXPECTED_SUMMARY}."),
    ("-1", "time '-1' is negative: times count from the clip's first frame (0); "
           f"{EXPECTED_SUMMARY}."),
    ("nan", f"time 'nan' is not a finite number; {EXPECTED_SUMMARY}."),
    ("inf", f"time 'inf' is not a finite number; {EXPECTED_SUMMARY}."),
    ("10.001", f"time '10.001' is past the end: {EXPECTED_SUMMARY}; use 'end' for the last frame."),
    ("f240", f"frame 'f240' does not exist: {EXPECTED_SUMMARY}."),
    ("00:00:02:24", "SMPTE time '00:00:02:24' has frame 24, but clip.mp4 runs at 24 fps "
                    "(frames 00-23 each second)."),
    ("00:00:10:00", "SMPTE time '00:00:10:00' is frame 240, past the end: "
                    f"{EXPECTED_SUMMARY}; use 'end' for the last frame."),
    ("00:00:01;00", "drop-frame SMPTE time '00:00:01;00' only applies to 29.97 or 59.94 fps; "
                    "clip.mp4 runs at 24 fps: write it with ':' instead of ';'."),
    ("0:60", "time '0:60' has 60 or more minutes or seconds in one field: carry them over "
             f"(write 1:00, not 0:60); {EXPECTED_SUMMARY}."),
    ("2,5", f"time '2,5' uses a decimal comma: write 2.5; {EXPECTED_SUMMARY}."),
])
def test_errors_name_the_clip(text: str, message: str) -> None:
    with pytest.raises(TimeError) as e:
        resolve_text(text, CFR24)
    assert str(e.value) == message
    assert e.value.exit_code == 2


def test_formatting() -> None:
    assert format_seconds(Fraction(2)) == "2.000"
    assert format_seconds(Fraction(1, 24)) == "0.042"
    assert format_seconds(Fraction(2, 24)) == "0.084"  # rounded up, never down
    assert format_clock(Fraction(125, 2)) == "01:02.500"
    assert format_clock(Fraction(3723)) == "1:02:03.000"


@given(st.integers(min_value=0, max_value=10 * 3600 * 1000))
def test_clock_round_trip(ms: int) -> None:
    t = Fraction(ms, 1000)
    assert parse_time(format_clock(t)).seconds == t
    assert parse_time(format_seconds(t)).seconds == t
    assert parse_time(f"{ms}ms").seconds == t


frame_tables = st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=60).map(
    lambda gaps: [Fraction(sum(gaps[:i]), 90000) * 100 for i in range(len(gaps) + 1)])


@given(frame_tables, st.data())
def test_printed_times_select_their_frame(times: list[Fraction], data: st.DataObject) -> None:
    """Typing back a time the tool printed (or its float) selects the same frame,
    and a time 1 ms earlier selects the frame before (frames are >= 1.1 ms apart)."""
    timing = ClipTiming("c.mp4", times, times[-1] + Fraction(1, 24), Fraction(24))
    i = data.draw(st.integers(min_value=0, max_value=len(times) - 1))
    t = times[i]
    assert resolve(parse_time(format_seconds(t)), timing) == i
    assert resolve(parse_time(repr(float(t))), timing) == i
    assert frame_at(timing, t) == i
    if i > 0:
        assert frame_at(timing, t - Fraction(1, 1000)) == i - 1


@given(frame_tables, st.fractions(min_value=0, max_value=1000))
def test_resolution_is_monotonic_and_in_range(times: list[Fraction], t: Fraction) -> None:
    timing = ClipTiming("c.mp4", times, times[-1] + Fraction(1, 24), Fraction(24))
    i = frame_at(timing, t)
    assert 0 <= i < len(times)
    assert frame_at(timing, t + Fraction(1, 10)) >= i
    assert times[i] <= t + Fraction(1, 1_000_000) or i == 0


@given(st.text(max_size=30))
def test_parser_never_crashes(text: str) -> None:
    try:
        spec = parse_time(text)
    except TimeSyntaxError:
        return
    assert spec.kind in ("seconds", "frame", "smpte", "start", "end")
    if spec.seconds is not None:
        assert spec.seconds >= 0
