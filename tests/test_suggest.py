"""The failure finder: injected failures at known times are found; clean twins are not."""

from __future__ import annotations

import json
import math
import re
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ava_evidence.analysis import suggest
from ava_evidence.analysis_types import Candidate
from ava_evidence.chart import MARK, plot_area, x_of
from ava_evidence.clip import index_clip

from . import motionclips
from .helpers import run_cli, run_json


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("suggest")
    return {
        "drift": motionclips.face_clip(d / "drift.mp4", 1.5),
        "drift_late": motionclips.face_clip(d / "drift_late.mp4", 2.5),
        "steady": motionclips.face_clip(d / "steady.mp4", None),
        "cut": motionclips.face_cut_clip(d / "cut.mp4"),
        "teleport": motionclips.ball_clip(d / "teleport.mp4", teleport_at=2.0),
        "freeze": motionclips.ball_clip(d / "freeze.mp4", freeze_at=1.5),
        "smooth": motionclips.ball_clip(d / "smooth.mp4"),
        "flicker": motionclips.flicker_clip(d / "flicker.mp4", start=1.5),
        "flash": motionclips.flash_clip(d / "flash.mp4", first=40),
        "stall": motionclips.stall_clip(d / "stall.mp4", start=1.5),
        "two": motionclips.two_faces_clip(d / "two.mp4", 1.5),
    }


@pytest.mark.parametrize(("name", "t0"), [("drift", 1.5), ("drift_late", 2.5)])
def test_identity_drift_found_near_its_onset(made: dict[str, Path], name: str, t0: float) -> None:
    result = suggest(index_clip(made[name]), "identity-coherence")
    assert result.candidates, result.notes
    best = result.candidates[0]
    assert abs(float(best.time) - t0) <= 0.5
    assert re.match(r"the face: eyes up to \d+% farther apart \(for the size of the face\) than "
                    r"in the shot's first second", best.reason), best.reason
    assert best.baseline == 0


def test_two_people_names_the_face_that_drifted(made: dict[str, Path]) -> None:
    """Two faces side by side, the right one drifting: its moment names it, and the chart
    shows its measures alone (two faces' values in one line would mix them), saying so."""
    result = suggest(index_clip(made["two"]), "identity-coherence")
    assert len(result.candidates) == 1
    best = result.candidates[0]
    assert best.reason.startswith("the face on the right: ")
    assert abs(float(best.time) - 1.5) <= 0.5
    assert result.charted == "the face on the right in the shot from 0:00"
    assert not any("chart" in n for n in result.notes)  # the chart's own title says it
    spacing = result.series["eye_spacing_change"]
    # after the drift, the right face's eyes read far apart at every sample charted (the
    # left face's, unchanged, would read about 0)
    late = [v for v in spacing[round(2.5 * motionclips.FPS):] if v is not None]
    assert late and min(late) > 0.1


def test_steady_twin_scores_lower(made: dict[str, Path]) -> None:
    drifted = suggest(index_clip(made["drift"]), "identity-coherence").candidates
    twin = suggest(index_clip(made["steady"]), "identity-coherence").candidates
    assert drifted and (not twin or twin[0].score < drifted[0].score - 0.3)


def test_hard_cut_is_not_identity_drift(made: dict[str, Path]) -> None:
    result = suggest(index_clip(made["cut"]), "identity-coherence")
    assert result.candidates == []
    assert result.notes[0] == "hard cut at 2.000 s (frame 48); shots are measured separately"


def test_teleport_found_within_a_fifth_of_a_second(made: dict[str, Path]) -> None:
    result = suggest(index_clip(made["teleport"]), "physics")
    assert result.candidates
    assert abs(float(result.candidates[0].time) - 2.0) <= 0.2
    assert "jumps between frames" in result.candidates[0].words
    assert suggest(index_clip(made["smooth"]), "physics").candidates == []


def test_frozen_region_found(made: dict[str, Path]) -> None:
    result = suggest(index_clip(made["freeze"]), "physics")
    assert result.candidates
    c = result.candidates[0]
    assert abs(float(c.time) - 1.5) <= 0.25
    assert "stops dead" in c.reason and "while the rest keeps moving" in c.reason


def test_flicker_and_stall(made: dict[str, Path]) -> None:
    flicker = suggest(index_clip(made["flicker"]), "temporal-flicker").candidates
    assert flicker and flicker[0].index == math.ceil(1.5 * motionclips.FPS)  # first pumped frame
    flash = suggest(index_clip(made["flash"]), "temporal-flicker").candidates
    assert flash and flash[0].index == 40  # the first bright frame, not the one before it
    assert suggest(index_clip(made["smooth"]), "temporal-flicker").candidates == []
    stall = suggest(index_clip(made["stall"]), "motion-freeze").candidates
    assert stall and abs(float(stall[0].time) - 1.5) <= 0.25
    assert suggest(index_clip(made["smooth"]), "motion-freeze").candidates == []


def test_the_suggested_command_can_be_pasted(made: dict[str, Path], tmp_path: Path) -> None:
    clip = tmp_path / "my clip.mp4"
    clip.write_bytes(made["flash"].read_bytes())
    out = run_cli("suggest", clip, "--failure", "flicker").stdout
    assert f"Use it: ava-evidence build '{clip}' --platform PLATFORM --id GENERATION_ID " \
           f"--failure temporal-flicker --mark 1.667" in out
    assert "faint" not in out


def test_the_ranking_names_each_failure_once_and_offers_auto_too(
        made: dict[str, Path]) -> None:
    """Without --failure, each failure's heading gives its key in brackets (a term such as
    "Temporal Consistency Failure (Flicker)" has parentheses of its own), and the line to
    build from offers --auto, as with --failure."""
    out = run_cli("suggest", made["flash"]).stdout.splitlines()
    assert "Temporal Consistency Failure (Flicker) [temporal-flicker]:" in out
    assert not any("((" in line or ") (" in line for line in out if line.endswith(":"))
    assert out[-1].startswith("Use it: ava-evidence build ")
    assert out[-1].endswith("--failure temporal-flicker --mark 1.667  (or build --auto)")


def test_json_contract_and_nothing_found(made: dict[str, Path]) -> None:
    doc = run_json("suggest", made["drift"], "--failure", "identity")
    assert set(doc) >= {"failure", "candidates", "series"}
    assert doc["failure"] == "identity-coherence"
    c = doc["candidates"][0]
    assert set(c) >= {"time_s", "index", "score", "reason"}
    assert 0 <= c["score"] <= 1
    assert len(doc["series"]["time_s"]) == len(doc["series"]["eye_spacing_change"]) == \
        len(doc["series"]["face_shape_change"])
    assert any(v is not None for v in doc["series"]["face_shape_change"])
    doc = run_json("suggest", made["steady"], "--failure", "identity")
    assert doc["candidates"] == []
    out = run_cli("suggest", made["steady"], "--failure", "identity").stdout.splitlines()
    assert out == ["Identity Coherence Failure in steady.mp4: nothing stands out",
                   "  note: nothing stands out from the clip's own variation"]
    doc = run_json("suggest", made["steady"], "--failure", "text-rendering")
    assert doc["candidates"] == [] and "no automatic measure exists" in doc["notes"][0]


def test_json_of_a_stop_is_written(made: dict[str, Path]) -> None:
    doc = run_json("suggest", made["freeze"], "--failure", "physics")
    assert "stops dead" in doc["candidates"][0]["reason"]
    assert abs(doc["candidates"][0]["time_s"] - 1.5) <= 0.25


def test_chart_marks_the_candidates(made: dict[str, Path], tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    doc = run_json("suggest", made["teleport"], "--failure", "physics", "--chart", chart)
    with Image.open(chart) as img:
        assert img.size == (1200, 420)
        rgb = np.asarray(img.convert("RGB"))
    duration = index_clip(made["teleport"]).duration
    _, top, _, bottom = plot_area()
    for c in doc["candidates"]:
        x = x_of(c["time_s"], float(duration))
        column = rgb[top + 60:bottom - 10, x]
        assert (column == MARK).all(axis=1).mean() > 0.9, c


def test_build_auto_uses_measured_moments(made: dict[str, Path], tmp_path: Path) -> None:
    doc = run_json("build", made["teleport"], "--platform", "runway", "--id", "auto1",
                   "--failure", "physics", "--auto", "-o", tmp_path / "a.zip")
    m = doc["manifest"]
    marks = [f for f in m["frames"] if f["label"] == "mark"]
    assert marks and abs(marks[0]["time_s"] - 2.0) <= 0.2
    assert marks[0]["requested"].startswith("measured ") and "measured" in marks[0]
    assert m["chart"] == "chart.png" and m["measured"]["candidates"]
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        bag = "runway_auto1_physics"
        assert f"{bag}/data/chart.png" in z.namelist()
        txt = z.read(f"{bag}/data/ticket.txt").decode()
        send = z.read(f"{bag}/data/send.md").decode()
    # The moment is a line in words, once: no score, no "measured onset" beside "first visible".
    first = marks[0]
    line = (f"- {first['clock']} (frame {first['index']}): something in the ")
    assert line in txt and f"jumps between frames {first['index'] - 1} and " \
        f"{first['index']}" in txt
    assert "score" not in txt and "onset" not in txt.lower() and "first visible" not in txt
    assert len(txt) <= 2000
    assert f"(frame {first['index']}): score " in send  # the numbers are for the user
    assert "chart.png" not in m["attachments"]  # the chart is for the user too


def test_build_auto_compares_a_drift_with_the_start_of_its_shot(made: dict[str, Path],
                                                                tmp_path: Path) -> None:
    from .test_bundle import _halves, _members, _png

    doc = run_json("build", made["drift"], "--platform", "kling", "--id", "d1",
                   "--failure", "identity", "--auto", "-o", tmp_path / "d.zip")
    m = doc["manifest"]
    # where the drift starts, and where it shows as much as the words say: each frame a
    # line names is marked, attached and paired with the start of the shot
    began, shown = (f for f in m["frames"] if f["label"] == "mark")
    assert abs(began["time_s"] - 1.5) <= 0.5 and shown["index"] > began["index"]
    assert began["what"] == "the face starts to change"
    assert re.fullmatch(r"the face has changed: its eyes are about \d+% farther apart than at "
                        r"the start of the shot", shown["what"]), shown["what"]
    top = m["measured"]["candidates"][0]
    assert top["index"] == began["index"]
    assert top["words"] == (f"the face starts to change; by {shown['clock']} (frame "
                            f"{shown['index']}) {shown['what'].split(': ', 1)[1]}")
    members = _members(tmp_path / "d.zip")
    text = members["kling_d1_identity-coherence/data/ticket.txt"].decode()
    for n, mark in enumerate((began, shown), 1):
        pair = m["pairs"][n]
        assert (pair["kind"], pair["left"], pair["right"]) == ("base-mark", 0, mark["index"])
        assert f"- {mark['clock']} (frame {mark['index']}): {mark['what']}\n" in text
        assert f"(the first frame and frame {mark['index']} side by side)" in text
    mark, pair = shown, m["pairs"][2]
    assert "(frame 95, last frame): end of the clip; compare the face with the first " \
        "frame\n" in text
    left, right = _halves(_png(members[f"kling_d1_identity-coherence/data/{pair['file']}"]),
                          640, 360)
    # Beside the start of the shot, the drifted face differs visibly; beside the frame
    # before it would not.
    assert np.abs(left.astype(int) - right.astype(int)).mean() > 1


@pytest.mark.parametrize("between", ["hard cut", "fade"])
def test_the_end_is_not_compared_with_the_start_across_a_cut(
        made: dict[str, Path], tmp_path: Path, between: str) -> None:
    """Where the measurement found the clip to hold more than one shot (a cut, a fade, a
    blank frame), its first and last frames need not show the same face: the last frame's
    line does not ask support to compare them (a trailer's black first frame stood beside
    another person three cuts later)."""
    from .test_bundle import _members

    clip = made["cut"] if between == "hard cut" else \
        motionclips.faded_face_clip(tmp_path / "faded.mp4")
    doc = run_json("build", clip, "--platform", "kling", "--id", "c1",
                   "--failure", "identity", "--auto", "--mark", "1", "-o", tmp_path / "c.zip")
    assert any(n.startswith(between) for n in doc["manifest"]["measured"]["notes"])
    text = _members(tmp_path / "c.zip")["kling_c1_identity-coherence/data/ticket.txt"].decode()
    last = doc["manifest"]["frames"][-1]["index"]
    assert f"(frame {last}, last frame): end of the clip\n" in text
    assert "compare the face" not in text


def test_user_marks_win_over_measurement(made: dict[str, Path], tmp_path: Path) -> None:
    doc = run_json("build", made["teleport"], "--platform", "pika", "--id", "auto2",
                   "--failure", "physics", "--auto", "--mark", "1.0", "-o", tmp_path / "b.zip")
    m = doc["manifest"]
    assert [f["requested"] for f in m["frames"] if f["label"] == "mark"] == ["1.0"]
    assert m["measured"]["candidates"]  # still reported, and charted


def test_auto_with_nothing_measured_asks_for_a_mark(made: dict[str, Path],
                                                    tmp_path: Path) -> None:
    result = run_cli("build", made["smooth"], "--platform", "pika", "--id", "auto3",
                     "--failure", "physics", "--auto", "-o", tmp_path / "c.zip", expect=2)
    assert result.stderr == ("Error: the measurement found no moment that stands out, so "
                             "Physics Prior Degeneration needs at least 1 marked moment: add "
                             "--mark TIME=WHAT (for example --mark '0:02=the ball passes "
                             "through the rim') where the failure is visible.\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("clip", "why"), [
    ("smooth", "could not look (no face seen from the front)"),
    ("short", "could not look (the clip is too short)")])
def test_auto_that_marks_nothing_where_no_mark_is_needed_warns(
        made: dict[str, Path], tmp_path: Path, clip: str, why: str) -> None:
    """An identity ticket may go without a mark, but not silently: where --auto marked
    nothing (no face to follow, or a clip shorter than a face's first second), the
    user is told, as without --auto, and the manifest keeps the warning."""
    path = made[clip] if clip in made else motionclips.ball_clip(
        tmp_path / "short.mp4", seconds=5 / motionclips.FPS)
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("build", path, "--platform", "kling", "--id", "auto5", "--failure",
                     "identity", "--auto", "-o", out / "e.zip")
    warning = (f"the measurement {why}, so the message does not say when the Identity "
               "Coherence Failure first appears, which support asks: add --mark TIME=WHAT at "
               "the moment it first shows.")
    assert result.stderr == f"Warning: {warning}\n"
    doc = run_json("build", path, "--platform", "kling", "--id", "auto5", "--failure",
                   "identity", "--auto", "-o", out / "f.zip")
    assert warning in doc["manifest"]["warnings"]
    assert [f["label"] for f in doc["manifest"]["frames"]] == ["start", "end"]


def test_auto_that_marks_nothing_says_so_unless_a_note_says_what_goes_wrong(
        made: dict[str, Path], tmp_path: Path) -> None:
    """Prompt adherence needs no mark, and no measure looks for it: --auto then warns as
    build does without it, that the message does not say what goes wrong, unless --note
    does."""
    args = ("build", made["smooth"], "--platform", "kling", "--id", "auto6", "--failure",
            "prompt-adherence", "--prompt", "a red ball", "--auto")
    result = run_cli(*args, "-o", tmp_path / "g.zip")
    assert result.stderr == ("Warning: the measurement could not look (no automatic measure "
                             "exists for it), so the message does not say what goes wrong: "
                             "add --mark TIME=WHAT where it shows, or describe it with "
                             "--note.\n")
    assert run_cli(*args, "--note", "the ball is blue", "-o", tmp_path / "h.zip").stderr == ""


def test_a_failure_no_measure_looks_for_is_not_measured_and_says_what_shows_it(
        made: dict[str, Path], tmp_path: Path) -> None:
    """Not "nothing stands out": nothing looked. The catalog says what shows that failure
    (the prompt, for prompt adherence, not a mark), and --auto says why it has no mark."""
    out = run_cli("suggest", made["smooth"], "--failure", "prompt-adherence").stdout
    assert out.splitlines() == [
        "Prompt Adherence Failure in smooth.mp4: not measured (no automatic measure exists "
        "for it)",
        "  note: no automatic measure exists for prompt-adherence: what shows it is yours "
        "to give",
        "  Give the prompt you used with --prompt so support can compare it with the stills."]
    assert run_json("suggest", made["smooth"], "--failure", "anatomy")["unmeasured"] == \
        "no automatic measure exists for it"
    result = run_cli("build", made["smooth"], "--platform", "pika", "--id", "auto4",
                     "--failure", "anatomy", "--auto", "-o", tmp_path / "d.zip", expect=2)
    assert result.stderr.startswith("Error: the measurement could not look (no automatic "
                                    "measure exists for it), so Anatomical Structure Failure "
                                    "needs at least 1 marked moment: add --mark TIME=WHAT")
    assert list(tmp_path.iterdir()) == []


def test_build_auto_without_a_failure_measures_which_one(made: dict[str, Path],
                                                         tmp_path: Path) -> None:
    result = run_cli("build", made["drift"], "--platform", "kling", "--id", "a1", "--auto",
                     "-o", tmp_path / "a.zip", "--json")
    doc = json.loads(result.stdout)
    assert doc["manifest"]["failure"] == "identity-coherence"
    assert result.stderr.startswith("Warning: no --failure given: measured Identity Coherence "
                                    "Failure at ")
    assert "so the ticket is about the Identity Coherence Failure (give --failure to choose " \
        "another)." in result.stderr
    marks = [f for f in doc["manifest"]["frames"] if f["label"] == "mark"]
    assert marks and abs(marks[0]["time_s"] - 1.5) <= 0.5
    result = run_cli("build", made["drift"], "--platform", "kling", "--id", "a1",
                     "-o", tmp_path / "b.zip", expect=2)
    assert result.stderr == ("Error: Missing option '--failure'. 'ava-evidence failures' lists "
                             "them; or add --auto to measure which one the clip shows.\n")
    result = run_cli("build", made["smooth"], "--platform", "kling", "--id", "a1", "--auto",
                     "-o", tmp_path / "c.zip", expect=2)
    assert result.stderr.startswith("Error: the measurement found no failure that stands out: ")
    assert list(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_auto_without_a_failure_takes_the_one_measured_at_the_users_marks(
        made: dict[str, Path], tmp_path: Path) -> None:
    """The user marked a moment and left the failure to the measurement: the ticket is
    about the failure plainly measured at that mark (within a second), with the user's
    words; where none is, it names none the marks do not show but asks for --failure,
    saying what was measured. A bad time is refused before anything is measured, with the
    error build gives with --failure."""
    result = run_cli("build", made["stall"], "--platform", "kling", "--id", "m1", "--auto",
                     "--mark", "2=the hand stops", "-o", tmp_path / "a.zip", "--json")
    doc = json.loads(result.stdout)
    assert doc["manifest"]["failure"] == "motion-freeze"
    assert "so the ticket is about the Motion Stall (Frozen Frames) you marked (give " \
        "--failure to choose another)." in result.stderr
    assert [(f["index"], f["what"]) for f in doc["manifest"]["frames"]
            if f["label"] == "mark"] == [(48, "the hand stops")]
    result = run_cli("build", made["stall"], "--platform", "kling", "--id", "m1", "--auto",
                     "--mark", "0:00.2=the hand morphs", "-o", tmp_path / "b.zip", expect=2)
    assert result.stderr.startswith(
        "Error: no failure was measured at your mark (0:00.2): Motion Stall (Frozen Frames) "
        "at 1.542 s, score ")
    assert result.stderr.endswith(
        ". Give --failure to say what you marked ('ava-evidence failures' lists them), or "
        "leave out --mark to build from the measured moment.\n")
    # every mark must show the failure named: one mark off it is refused, naming them all
    result = run_cli("build", made["stall"], "--platform", "kling", "--id", "m1", "--auto",
                     "--mark", "2=the hand stops", "--mark", "0:00.2=the hand morphs",
                     "-o", tmp_path / "b.zip", expect=2)
    assert result.stderr.startswith("Error: no failure was measured at all of your marks "
                                    "(2, 0:00.2): Motion Stall (Frozen Frames) at 1.542 s, ")
    # within a second of the measured moment (1.542 s) a mark shows it; not beyond (the
    # clip's other plain moment, physics at 2.250 s, is farther from both)
    doc = run_json("build", made["stall"], "--platform", "kling", "--id", "m1", "--auto",
                   "--mark", "0.55", "-o", tmp_path / "d.zip")
    assert doc["manifest"]["failure"] == "motion-freeze"
    run_cli("build", made["stall"], "--platform", "kling", "--id", "m1", "--auto", "--mark",
            "0.5", "-o", tmp_path / "b.zip", expect=2)
    (tmp_path / "d.zip").unlink()
    for bad in ("abc", "99"):
        auto = run_cli("build", made["stall"], "--platform", "kling", "--id", "m1", "--auto",
                       "--mark", bad, "-o", tmp_path / "c.zip", expect=2).stderr
        named = run_cli("build", made["stall"], "--platform", "kling", "--id", "m1",
                        "--failure", "stall", "--mark", bad, "-o", tmp_path / "c.zip",
                        expect=2).stderr
        assert auto == named and auto.startswith("Error: ") and "measure" not in auto
    assert [p.name for p in tmp_path.iterdir()] == ["a.zip"]


@pytest.mark.parametrize(("drifts", "charted"), [((1.5, 1.5), (True, True)),
                                                  ((None, 1.5), (False, True)),
                                                  ((None, None), (True, False))])
def test_the_identity_chart_shows_the_face_of_each_shot_with_a_moment(
        tmp_path: Path, drifts: tuple[float | None, float | None],
        charted: tuple[bool, bool]) -> None:
    """Two 3 s shots, a different face in each, either drifting from 1.5 s into its shot:
    the chart follows the face of every shot that has a moment; where none has, the first
    face measured (a chart of nothing would show no baseline either)."""
    from ava_evidence.demo import encode_frames, face_frame

    fps = 24
    first = [face_frame(i / fps, drifts[0]) for i in range(3 * fps)]
    second = []
    for i in range(3 * fps):
        img = face_frame(i / fps, drifts[1], shift=-120).copy()
        img[..., 0] = 255 - img[..., 0]  # another shot: other colours, another place
        second.append(img)
    clip = encode_frames(tmp_path / "two_shots.mp4", np.stack(first + second), fps)
    result = suggest(index_clip(clip), "identity-coherence")
    assert result.cuts == [3.0]
    assert [round(float(c.time)) for c in result.candidates] == \
        [t for t, d in ((2, drifts[0]), (5, drifts[1])) if d is not None]
    spacing = result.series["eye_spacing_change"]
    shown = (any(v is not None for v in spacing[:72]), any(v is not None for v in spacing[72:]))
    assert shown == charted


def test_auto_takes_a_failure_at_the_marks_only_where_a_person_would_see_it() -> None:
    """--auto with marks and no --failure: a faint moment (a lead, under 0.5) at the mark
    does not name the ticket's failure, even where no other is there; the same moment
    plain does, at any frame its ticket marks (a gradual change's stages), not only its
    onset; and each mark must be within MARK_NEAR of it."""
    from types import SimpleNamespace

    from ava_evidence.analysis import Ranking
    from ava_evidence.analysis_types import Suggestion
    from ava_evidence.bundle import _seen_at
    from ava_evidence.frameplan import Mark

    index: Any = SimpleNamespace(time_of=lambda i: Fraction(i, 24))

    def ranking(identity_score: float) -> Ranking:
        face = Candidate(48, Fraction(2), identity_score, "the face: ...", "identity",
                         stages=((48, "starts"), (96, "has changed")))
        stall = Candidate(200, Fraction(200, 24), 0.9, "the picture stops", "stall")
        results = {"identity-coherence": Suggestion("identity-coherence", [face], {}, []),
                   "motion-freeze": Suggestion("motion-freeze", [stall], {}, [])}
        return Ranking(results, sorted(results, key=lambda k: -results[k].candidates[0].score),
                       [])

    def marks(*frames: int) -> list[Mark]:
        return [Mark(str(f), f, None) for f in frames]

    assert _seen_at(ranking(0.45), marks(96), index) is None
    assert _seen_at(ranking(0.55), marks(96), index) == "identity-coherence"
    assert _seen_at(ranking(0.55), marks(96 + 24), index) == "identity-coherence"
    assert _seen_at(ranking(0.55), marks(96 + 25), index) is None
    assert _seen_at(ranking(0.55), marks(48 - 24, 96), index) == "identity-coherence"
    assert _seen_at(ranking(0.55), marks(96, 200), index) is None
    assert _seen_at(ranking(0.45), marks(190), index) == "motion-freeze"


def test_a_measure_that_could_not_look_is_not_measured_not_quiet(made: dict[str, Path]) -> None:
    """No face to follow is no evidence that identity held: the summary says which measure
    did not run and why, instead of "nothing stands out"."""
    out = run_cli("suggest", made["smooth"]).stdout.splitlines()
    assert out[0] == ("Measured in smooth.mp4: nothing stands out for physics, flicker or a "
                      "stall; not measured for identity (no face seen from the front)")
    assert "Identity Coherence Failure: not measured (no face seen from the front)" in out
    doc = run_json("suggest", made["smooth"])
    assert doc["failures"]["identity-coherence"]["unmeasured"] == "no face seen from the front"
    assert doc["failures"]["physics"]["unmeasured"] is None


def test_a_clip_too_short_to_measure_says_so(tmp_path: Path) -> None:
    path = motionclips.ball_clip(tmp_path / "two.mp4", seconds=2 / motionclips.FPS)
    out = run_cli("suggest", path).stdout.splitlines()
    assert out[0] == ("Measured in two.mp4: not measured for identity, physics, flicker or "
                      "a stall (the clip is too short)")
    doc = run_json("suggest", path, "--failure", "physics")
    assert doc["unmeasured"] == "the clip is too short"
    assert doc["notes"] == ["too short to measure: fewer than 3 frames"]
    five = motionclips.ball_clip(tmp_path / "five.mp4", seconds=5 / motionclips.FPS)
    # identity compares a face with its shot's first second: shorter, the length is why,
    # whatever faces it shows, and its notes say only that
    assert run_cli("suggest", five).stdout.splitlines()[0] == (
        "Measured in five.mp4: not measured for identity, physics, flicker or a stall (the "
        "clip is too short)")
    doc = run_json("suggest", five, "--failure", "identity")
    assert (doc["unmeasured"], doc["notes"]) == (
        "the clip is too short", [f"too short to measure: fewer than {motionclips.FPS + 1} "
                                  "frames"])
    out = run_cli("suggest", five, "--failure", "physics").stdout.splitlines()
    assert out == ["Physics Prior Degeneration in five.mp4: not measured (the clip is too short)",
                   "  note: too short to measure: fewer than 24 frames"]


def test_finding_nothing_in_under_a_second_is_no_verdict(tmp_path: Path) -> None:
    """What a moment is compared with lasts about a second: where no shot lasts one,
    finding nothing is "not measured", never "nothing stands out"; a second is enough."""
    short = motionclips.ball_clip(tmp_path / "short.mp4", seconds=23 / motionclips.FPS)
    doc = run_json("suggest", short, "--failure", "physics")
    assert doc["candidates"] == [] and doc["unmeasured"] == "the clip is too short"
    second = motionclips.ball_clip(tmp_path / "second.mp4", seconds=1)
    doc = run_json("suggest", second, "--failure", "physics")
    assert doc["candidates"] == [] and doc["unmeasured"] is None
    assert doc["notes"] == ["nothing stands out from the clip's own variation"]


def test_a_change_early_in_a_shot_says_what_its_baseline_covers(
        made: dict[str, Path], tmp_path: Path) -> None:
    """Half a second into a shot there is no second before to compare with: the reason
    says how long its baseline is; a second in, it is the second before."""
    early = motionclips.ball_clip(tmp_path / "early.mp4", teleport_at=0.5)
    found = suggest(index_clip(early), "physics").candidates[0]
    assert found.index == 12
    assert re.search(r"prediction error \d+ against \d+ over the 11 frames \(0\.46 s\) since "
                     r"the shot began at frame 0;", found.reason), found.reason
    later = suggest(index_clip(made["teleport"]), "physics").candidates[0]
    assert " in the second before" in later.reason and "since the shot" not in later.reason


def test_with_a_plain_moment_and_faint_ones_only_the_plain_is_offered_and_marked(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`suggest` offers to build from what a person would see, and says the rest are
    faint; `build --auto` marks the same moments."""
    from ava_evidence.analysis_types import Suggestion
    from ava_evidence.bundle import _to_mark
    from ava_evidence.catalog import load_catalog
    from ava_evidence.cli import _print_suggestion

    plain, faint = (Candidate(48, Fraction(2), 0.9, "plain", "jump"),
                    Candidate(72, Fraction(3), 0.3, "faint", "jump"))
    result = Suggestion("physics", [plain, faint], {}, [])
    _print_suggestion(Path("c.mp4"), "c.mp4", result, load_catalog().failure("physics"))
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "  scores under 0.5 are faint signs (a person may not see them): look at the frames "
        "before you mark one",
        "Use it: ava-evidence build c.mp4 --platform PLATFORM --id GENERATION_ID --failure "
        "physics --mark 2.000  (or build --auto)"]
    assert _to_mark(result) == [plain]
    assert _to_mark(Suggestion("physics", [faint], {}, [])) == [faint]


def test_faint_signs_get_no_build_line(tmp_path: Path) -> None:
    """Under 0.5 a person may not see it: listed, said to be faint, and not offered to
    build from (as `suggest` without --failure does)."""
    from ava_evidence.analysis import SEEN

    jaw = motionclips.face_look_clip(tmp_path / "jaw.mp4", jaw=1.3)
    assert 0 < suggest(index_clip(jaw), "identity-coherence").candidates[0].score < SEEN
    out = run_cli("suggest", jaw, "--failure", "identity").stdout
    assert "  scores under 0.5 are faint signs (a person may not see them): look at the " \
           "frames before you mark one\n" in out
    assert "Use it" not in out and "Use them" not in out
    # build --auto, told the failure, marks the faint sign, and warns that it is one
    result = run_cli("build", jaw, "--platform", "kling", "--id", "j1", "--failure", "identity",
                     "--auto", "-o", tmp_path / "j.zip", "--json")
    doc = json.loads(result.stdout)
    mark = next(f for f in doc["manifest"]["frames"] if f["label"] == "mark")
    top = doc["manifest"]["measured"]["candidates"][0]
    assert top["index"] == mark["index"]
    warning = (f"Warning: the measured moment marked, {top['seconds']} s (score "
               f"{top['score']:.2f}), scores under "
               f"0.5: a person comparing the frames may not see it. Look at the pairs before "
               f"sending; where you do not see the failure, give --mark TIME=WHAT where you "
               f"do.\n")
    assert warning in result.stderr
    assert warning[len("Warning: "):-1] in doc["manifest"]["warnings"]


def test_a_blank_clip_has_nothing_to_measure(tmp_path: Path) -> None:
    from ava_evidence.demo import encode_frames

    black = encode_frames(tmp_path / "black.mp4", np.zeros((72, 180, 320, 3), np.uint8), 24)
    out = run_cli("suggest", black).stdout.splitlines()
    assert out[0] == ("Measured in black.mp4: not measured for identity, physics, flicker or "
                      "a stall (only blank frames)")
    doc = run_json("suggest", black, "--failure", "flicker")
    assert "only blank frames or transitions: no picture to measure" in doc["notes"]


def test_auto_without_a_plain_failure_points_at_the_faint_sign() -> None:
    from fractions import Fraction

    from ava_evidence.analysis import RANKED, Candidate, Ranking, Suggestion
    from ava_evidence.bundle import _nothing_plain

    faint = Candidate(84, Fraction(7, 2), 0.47, "a region jumps back", "time-jump")
    quiet = {k: Suggestion(k, [], {}, []) for k in RANKED}
    terms = {k: k.title() for k in RANKED}
    assert _nothing_plain(Ranking({**quiet, "physics": Suggestion("physics", [faint], {}, [])},
                                  ["physics"]), terms) == (
        "the measurement found no failure that stands out: faint signs of physics, worth a "
        "look (scores under 0.5: a person may not see it); nothing stands out for identity, "
        "flicker or a stall. Look at 3.500 s first: if you see the Physics there, give "
        "--failure physics and that moment is marked; otherwise give --failure and "
        "--mark TIME=WHAT where you see it.")
    assert _nothing_plain(Ranking(quiet, []), terms) == (
        "the measurement found no failure that stands out: nothing stands out for identity, "
        "physics, flicker or a stall. Give --failure and --mark TIME=WHAT where you see it.")
    # a ranking made by hand without every measure still reads
    assert Ranking({"physics": quiet["physics"]}, []).summary() == \
        "nothing stands out for identity, physics, flicker or a stall"


@pytest.mark.parametrize(("a", "b", "words"), [(0, 1, "frame 0"), (3, 10, "frames 3-9")])
def test_blank_frames_are_named_as_one_or_a_run(a: int, b: int, words: str) -> None:
    from ava_evidence.analysis import _frames

    assert _frames(a, b) == words


def test_light_stepping_one_way_is_not_a_flicker(made: dict[str, Path], tmp_path: Path) -> None:
    """An exposure settling in four steps down makes as many brightness jumps in a second as
    a flicker (the code before took it for one), but the brightness never comes back: not
    pumping, so no flicker at all."""
    steps = motionclips.exposure_steps_clip(tmp_path / "steps.mp4")
    result = suggest(index_clip(steps), "temporal-flicker")
    assert result.candidates == [], [c.reason for c in result.candidates]
    jumps = [v for v in result.series["brightness_jump"] if v is not None]
    assert sum(v > 2 for v in jumps) >= 4  # as many jumps as a flicker makes
    assert suggest(index_clip(made["flicker"]), "temporal-flicker").candidates


def test_a_change_measured_at_its_onset_is_not_said_twice() -> None:
    from ava_evidence.faces import _change_words

    what = "its eyes are about 15% closer together than at the start of the shot"
    words, stages = _change_words("the face", 228, 228, "0:09.51", what)
    assert words == \
        "the face has changed: its eyes are about 15% closer together than at the start of " \
        "the shot"
    assert stages == ()
    words, stages = _change_words("the face", 60, 68, "0:02.8", what)
    assert words == \
        "the face starts to change; by 0:02.8 (frame 68) its eyes are about 15% closer " \
        "together than at the start of the shot"
    assert stages == ((60, "the face starts to change"), (68, f"the face has changed: {what}"))


@pytest.mark.parametrize(("mark", "warning"), [
    ("2", None),
    ("1.959", "your mark 1.959 is frame 47, 1 frame before the change measured between "
              "frames 47 and 48 (2.000 s, score 0.95): its pair shows frames 46 and 47, which "
              "may not show it. Mark 2.000 s instead (--mark '2.000=the ball jumps ahead'), "
              "or leave out --mark to build from the measured moment."),
    ("2.09", "your mark 2.09 is frame 50, 2 frames after the change measured between frames "
             "47 and 48 (2.000 s, score 0.95): its pair shows frames 49 and 50, which may not "
             "show it. Mark 2.000 s instead (--mark '2.000=the ball jumps ahead'), or leave "
             "out --mark to build from the measured moment."),
    ("0.5", "the measurement found the Physics Prior Degeneration at 2.000 s (score 0.95), "
            "away from your mark (0.5): the ticket shows your mark only. Look at 2.000 s; "
            "where you see it there too, add --mark 2.000=WHAT."),
])
def test_auto_warns_where_the_users_mark_misses_the_measured_moment(
        made: dict[str, Path], tmp_path: Path, mark: str, warning: str | None) -> None:
    """The ball jumps ahead between frames 47 and 48. The user's marks win, so a mark a
    frame or two off it gets a pair (the frame before and the mark) that shows neither side
    of the jump, and one far from it leaves the measured moment out of the ticket: said,
    with the time to mark. At the moment itself, nothing is said."""
    result = run_cli("build", made["teleport"], "--platform", "kling", "--id", "a1", "--auto",
                     "--failure", "physics", "--mark", f"{mark}=the ball jumps ahead",
                     "-o", tmp_path / "b.zip", "--json")
    warnings = json.loads(result.stdout)["manifest"]["warnings"]
    assert [w for w in warnings if "your mark" in w] == ([warning] if warning else [])


def test_a_mark_near_a_gradual_change_needs_no_warning(made: dict[str, Path],
                                                       tmp_path: Path) -> None:
    """A drifting face is shown beside the start of its shot, wherever the mark falls
    within a second of the measured moment: no warning about the mark's frame."""
    found = suggest(index_clip(made["drift"]), "identity-coherence").candidates[0]
    near = float(found.time) + 0.3
    result = run_cli("build", made["drift"], "--platform", "kling", "--id", "a1", "--auto",
                     "--failure", "identity-coherence", "--mark", f"{near:.3f}=her eyes",
                     "-o", tmp_path / "b.zip", "--json")
    warnings = json.loads(result.stdout)["manifest"]["warnings"]
    assert [w for w in warnings if "your mark" in w] == []
    assert math.floor(float(f"{near:.3f}") * 24) not in {f for f, _ in found.marked()}


def test_each_measured_moment_is_weighed_against_the_marks() -> None:
    """Two sudden moments a person would see: a mark on the first says nothing of a mark
    one frame before the second, which is warned about; a mark before a gradual change
    (shown beside the start of its shot) is, and one at or after its onset is not."""
    from types import SimpleNamespace

    from ava_evidence.analysis_types import Suggestion
    from ava_evidence.bundle import _off_the_moment
    from ava_evidence.frameplan import Mark

    index = SimpleNamespace(time_of=lambda i: Fraction(i, 24))

    def moment(frame: int, **kw: Any) -> Candidate:
        return Candidate(frame, Fraction(frame, 24), 0.9, "r", "unexplained", **kw)

    def job(change: str) -> Any:
        return SimpleNamespace(failure=SimpleNamespace(
            term="Physics Prior Degeneration", evidence=SimpleNamespace(change=change)))

    two = Suggestion("physics", [moment(30), moment(75)], {}, [])
    marks = [Mark("1.25", 30, "it jumps"), Mark("3.1", 74, "again")]
    said = _off_the_moment(job("sudden"), marks, two, index)  # type: ignore[arg-type]
    assert said is not None and said.startswith(
        "your mark 3.1 is frame 74, 1 frame before the change measured between frames 74 "
        "and 75 (3.125 s, score 0.90)")
    assert said.endswith("(--mark 3.125=again), or leave out --mark to build from the "
                         "measured moment.")
    drift = Suggestion("identity-coherence",
                       [moment(60, stages=((48, "starts"), (60, "shows")))], {}, [])
    early, late = Mark("1.5", 36, None), Mark("2.2", 52, None)
    said = _off_the_moment(job("gradual"), [early], drift, index)  # type: ignore[arg-type]
    assert said == ("your mark 1.5 is before the change measured from 2.000 s (score 0.90): "
                    "its pair, beside the start of the shot, may show no change yet. Mark "
                    "2.000 s or later instead (--mark 2.000=WHAT), or leave out --mark to "
                    "build from the measured moment.")
    assert _off_the_moment(job("gradual"), [late], drift, index) is None  # type: ignore[arg-type]
