"""A clip converted to a higher frame rate by repeating frames (a 24 fps clip saved at
60 fps shows each picture two or three times, as platforms and editors convert) is
measured as the clip it was made from: its repeats are no calm before a change, no cut,
and no stall, and what the clip shows is found at the same moment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from ava_evidence import physics
from ava_evidence.analysis import _measure, suggest
from ava_evidence.clip import index_clip
from ava_evidence.demo import encode_frames
from ava_evidence.features import Features
from ava_evidence.shots import Shots, find_shots

from . import motionclips
from .clipgen import ffmpeg
from .test_finder import BUSY, _cut_features
from .test_physics import _Clip, _still_scene, _windowed


def _at(rate: int, clip: Path) -> Path:
    """The clip saved at ``rate`` frames a second by ffmpeg's fps filter (pictures
    repeated by time, as a platform converting it does)."""
    out = clip.with_name(f"{clip.stem}_{rate}.mp4")
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-vf", f"fps={rate}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def test_a_shot_s_pictures_leave_out_a_conversion_s_repeats() -> None:
    """Frames repeating the one before (no region changing more than 1 grey level). A
    shot that repeats frames one to three in a row, in a share of 15% or more of its
    frames, is a clip made at a lower frame rate: its pictures are the frames that show
    something new, a held picture's frames left out too, and it shows as many pictures
    a frame as its new frames over those and its conversion's repeats."""
    cadence = [5.0, 0.6, 0.2] * 8 + [5.0, 0.3] * 8  # 24 frames shown at 60: 2 or 3 each
    f = Features(raw_change=[0.0, *cadence])
    shown, per_frame = f.pictures(0, 41, 60.0)
    assert shown.tolist() == [0, *range(1, 24, 3), *range(25, 41, 2)]
    assert per_frame == pytest.approx(17 / 41)
    held = Features(raw_change=[0.0, *cadence[:24], *[0.1] * 10, *cadence[24:]])
    shown, per_frame = held.pictures(0, 51, 60.0)  # a picture held from frame 22 to 34
    assert shown.tolist() == [0, *range(1, 24, 3), *range(35, 51, 2)]
    assert per_frame == pytest.approx(17 / 39)


def test_repeats_re_encoded_at_low_quality_are_told_by_the_frames_around_them() -> None:
    """Re-encoded at very low quality (crf 38), a conversion's repeated frames change 1.2
    to 3.3 grey levels, over the 1 of a clean repeat: under a fifth of what frames within
    three of them change, they repeat the one before. A slow frame among moving ones (half
    as much) does not, nor one that changes more than 8 levels."""
    f = Features(raw_change=[0.0, *[30.0, 2.5, 28.0, 3.2, 1.8] * 8, 30.0])
    assert f.repeats(0, 42).tolist() == [False, *[False, True, False, True, True] * 8, False]
    assert f.pictures(0, 42, 60.0)[0].tolist() == [0, *sorted({*range(1, 42, 5),
                                                               *range(3, 42, 5)})]
    assert not Features(raw_change=[0.0, *[6.0, 3.0] * 20]).repeats(0, 41).any()
    assert not Features(raw_change=[0.0, *[60.0, 9.0] * 20]).repeats(0, 41).any()


@pytest.mark.parametrize("raw", [
    [5.0] * 40,  # every frame new
    [*[5.0] * 20, *[0.1] * 10, *[5.0] * 10],  # a picture held: a pause, a stall
    [*[5.0, 5, 5, 5, 5, 5, 0.5] * 5, 5.0, 5, 5, 5, 5],  # a repeat now and then (14%)
])
def test_a_shot_that_repeats_a_picture_now_and_then_or_holds_one_keeps_every_frame(
        raw: list[float]) -> None:
    f = Features(raw_change=[0.0, *raw])
    shown, per_frame = f.pictures(0, len(raw) + 1, 24.0)
    assert shown.tolist() == list(range(len(raw) + 1)) and per_frame == 1.0


def _busy_scene(repeats: bool, appears: bool) -> Features:
    """A still scene but one region where things move fast (1.5 px a frame, the flow
    missing part of it: prediction error 30 every frame), two seconds at 24 frames a
    second; with ``repeats``, every other frame repeats the one before (no motion, no
    error, hardly any change). With ``appears``, at frame 24 (a frame that shows something
    new) a thing appears where all is still."""
    f = _still_scene(48)
    for i, cells in enumerate(f.cells):
        repeat = repeats and i % 2 == 1
        cells[3] = 0.3 if repeat else 6.0
        cells[2] = 0.5 if repeat else 2.0
        cells[2, 2, 5], cells[1, 2, 5], cells[0, 2, 5] = (0.5, 0.0, 0.0) if repeat else \
            (30.0, 1.5, 1.5)
        if appears and i >= 24:
            cells[2, 4, 2] = 90.0 if i == 24 else cells[2, 4, 2]
            cells[5, 4, 2] = 160.0  # its look: grey level 100 to 160
    return _windowed(f)


@pytest.mark.parametrize("repeats", [False, True])
@pytest.mark.parametrize("appears", [False, True])
def test_a_conversion_s_repeats_are_no_calm_before_a_change(repeats: bool, appears: bool
                                                            ) -> None:
    """Measured against frames that repeat the one before, every frame of moving things
    read as a change at once "with nothing moving there" (an untouched clip saved from 25
    to 60 fps scored 1.00, "prediction error 34 against 0"). The busy region is as busy
    either way, and only a thing that appears is found, against the same baseline."""
    f = _busy_scene(repeats, appears)
    found, _ = physics.physics(_Clip(), f, Shots([], [], [(0, 48)]))  # type: ignore[arg-type]
    unexplained = [c for c in found if c.kind == "unexplained"]
    assert [c.index for c in unexplained] == ([24] if appears else [])
    if appears:
        assert "prediction error 90 against 2 over the 23 frames (0.96 s) since the shot " \
            "began at frame 0" in unexplained[0].reason


def test_fast_action_whose_frames_repeat_has_no_cuts() -> None:
    """Fast action (up to two fifths of the picture new every frame) saved from 25 to 60
    frames a second: each picture is followed by one or two frames repeating it. Against
    the repeats (nothing lost, the tones the same), its frames read as cuts (an untouched
    clip so saved had four)."""
    rng = np.random.default_rng(3)
    share, raw = [0.0], [0.0]
    for k, s in enumerate(BUSY * 2):
        share += [s] + [0.0] * (1 + k % 2)
        raw += [float(rng.uniform(35, 75))] + [0.4] * (1 + k % 2)
    f = _cut_features(share, raw, [0.08 if r > 1 else 0.0 for r in raw])
    assert find_shots(f, 60.0).cuts == []


@pytest.mark.parametrize(("held", "cut"), [(0, True), (4, False)])
def test_a_cut_in_a_converted_clip_is_no_catch_up_unless_a_picture_was_held(
        held: int, cut: bool) -> None:
    """A calm shot at 15 fps shown at 60 (each picture then three frozen repeats), cut to
    another (half the picture lost, the tones changed): a cut. Against its three frozen
    frames it read as a stall's catch-up, and a real clip's cut was lost. Where the
    picture stood still for ``held`` more pictures before it (as long as a catch-up needs
    in a clip made at 60), it is one."""
    share, raw, tones = [0.0], [0.0], [0.0]

    def pictures(n: int, lost: float, change: float, tone: float) -> None:
        for _ in range(n):
            share.extend([lost, 0.0, 0.0, 0.0])
            raw.extend([change, 0.1, 0.1, 0.1])
            tones.extend([tone, 0.0, 0.0, 0.0])

    pictures(12, 0.02, 3.0, 0.002)
    pictures(held, 0.0, 0.1, 0.0)
    at = len(share)
    pictures(1, 0.48, 54.0, 0.08)
    pictures(8, 0.04, 25.0, 0.01)
    assert find_shots(_cut_features(share, raw, tones), 60.0).cuts == ([at] if cut else [])


@pytest.mark.parametrize("shown", [1, 2, 3])
def test_a_flash_repeated_for_a_frame_or_two_is_no_cut(shown: int) -> None:
    """A picture unlike both neighbours (a flash), shown for ``shown`` frames, the later
    ones repeating it: not two cuts. Four frames of it are a shot of their own."""
    share = [0.0, *[0.05] * 20, 0.9, *[0.0] * (shown - 1), 0.9, *[0.05] * 20]
    raw = [0.0, *[3.0] * 20, 70.0, *[0.3] * (shown - 1), 70.0, *[3.0] * 20]
    tones = [0.5 if s == 0.9 else 0.01 for s in share]
    assert find_shots(_cut_features(share, raw, tones), 24.0).cuts == []
    share[22:22] = [0.0] * (4 - shown)
    raw[22:22] = [0.3] * (4 - shown)
    tones[22:22] = [0.0] * (4 - shown)
    assert find_shots(_cut_features(share, raw, tones), 24.0).cuts == [21, 25]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("converted")
    return {"stall": _at(60, motionclips.stall_clip(d / "stall.mp4")),
            "vanish": _at(60, motionclips.ball_clip(d / "vanish.mp4", vanish_at=2.0))}


def test_a_stall_in_a_converted_clip_is_found(converted: dict[str, Path]) -> None:
    """The moving scene stands still for 0.75 s from 1.5 s: told from the repeats a
    conversion adds (against them the scene hardly moved, and no stall was found)."""
    index = index_clip(converted["stall"])
    found = suggest(index, "motion-freeze").candidates
    assert found and abs(float(found[0].time) - 1.5) <= 1 / 24
    assert "entered and left at speed" in found[0].reason
    assert _measure(index, faces=False, on_progress=None).shots.cuts == []


def test_a_thing_vanishing_in_a_converted_clip_is_found_at_its_moment(
        converted: dict[str, Path]) -> None:
    found = suggest(index_clip(converted["vanish"]), "physics").candidates
    assert found and abs(float(found[0].time) - 2.0) <= 1 / 24
    assert "with nothing moving there" in found[0].reason


def test_a_region_jumping_back_in_a_converted_clip_is_found(tmp_path: Path) -> None:
    """The scene pans; from 2 s a box shows it as it was 0.6 s before (as in
    test_physics). Saved at 60 fps, the jump back is judged on the pictures the clip
    shows, its times in the clip's own frames: found at its moment, as far back."""
    from .test_physics import _textured

    frames = _textured(4, 1)
    fps = motionclips.FPS
    lag, at = round(0.6 * fps), 2 * fps
    for i in range(at, at + round(0.8 * fps)):
        frames[i][50:130, 100:220] = frames[i - lag][50:130, 100:220]
    clip = _at(60, encode_frames(tmp_path / "jump.mp4", np.stack(frames), fps))
    found = [c for c in suggest(index_clip(clip), "physics").candidates
             if c.kind == "time-jump"]
    assert found and abs(float(found[0].time) - 2.0) <= 1 / 24
    assert "jumps back 0.6 s" in found[0].reason


@pytest.mark.parametrize("again", [0, 3])
def test_light_wandering_in_a_converted_clip_is_no_flicker(again: int) -> None:
    """The brightness rises and falls smoothly (20 levels either way, once a second),
    15 pictures a second, each shown 1 + ``again`` frames. Repeated, each smooth step
    stands between two still frames and read as a jump up or down every picture; told
    on the pictures, it is as smooth as it was."""
    luma, raw = [], []
    for k in range(45):
        level = 100 + 20 * float(np.sin(2 * np.pi * k / 15))
        luma += [level] * (again + 1)
        raw += [6.0] + [0.2] * again
    f = Features(luma=luma, raw_change=raw)
    index = _Clip()
    index.fps = 15.0 * (again + 1)
    found, _ = physics.flicker(index, f, Shots([], [], [(0, len(luma))]))  # type: ignore[arg-type]
    assert found == []
