"""The finder on small synthetic versions of each failure it looks for, and of the natural
things it must leave alone (bench/finder.py measures the same on real footage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ava_evidence.analysis import SEEN, rank_failures, suggest
from ava_evidence.clip import index_clip

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
    }


def _top(path: Path, failure: str) -> float:
    found = suggest(index_clip(path), failure).candidates
    return found[0].score if found else 0.0


@pytest.mark.parametrize("name", ["closed", "profile"])
def test_closed_eyes_and_a_profile_turn_are_not_identity_drift(clips: dict[str, Path],
                                                               name: str) -> None:
    assert _top(clips[name], "identity-coherence") < SEEN


def test_a_cut_between_similar_shots_is_a_cut_not_a_failure(clips: dict[str, Path]) -> None:
    ranking = rank_failures(index_clip(clips["similar_cut"]))
    assert ranking.notes[0] == "hard cut at 2.000 s (frame 48); shots are measured separately"
    assert ranking.results["physics"].cuts == [2.0]
    assert ranking.top() is None, ranking.summary()


def test_a_fade_through_black_is_neither_a_cut_nor_a_failure(clips: dict[str, Path]) -> None:
    ranking = rank_failures(index_clip(clips["fade"]))
    assert not any(n.startswith("hard cut") for n in ranking.notes), ranking.notes
    assert any(n.startswith("blank frames ") and n.endswith("a fade or black frames, not a "
                                                           "failure") for n in ranking.notes)
    assert ranking.top() is None, ranking.summary()


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
