"""The wheel carries its data: a non-editable install used from another folder
finds channels.yaml and the ticket templates, and its console script runs."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True)
    (whl,) = out.glob("ava_evidence-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("ava_evidence/py.typed", "ava_evidence/_data/channels.yaml",
                     "ava_evidence/_data/ticket_templates/README.md", "ava_evidence/cli.py"):
        assert required in names
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.slow
def test_installed_wheel_runs_from_elsewhere(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import ava_evidence, ava_evidence.resources as r\n"
            "print(ava_evidence.__file__)\n"
            "print(r.data_path('channels.yaml'))\nprint(r.data_path('ticket_templates'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert all(line.startswith(str(target)) for line in out), out
    script = target / "bin" / "ava-evidence"
    help_text = subprocess.run([sys.executable, str(script), "--help"], cwd=elsewhere, env=env,
                               capture_output=True, text=True, check=True).stdout
    assert "frames" in help_text and "probe" in help_text
