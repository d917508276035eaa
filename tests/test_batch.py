"""batch: many clips from a CSV or JSON Lines file; bad rows never stop the others."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from .conftest import ClipStore
from .helpers import run_cli, run_json


@pytest.fixture
def jobs_dir(tmp_path: Path, clips: ClipStore) -> Path:
    d = tmp_path / "jobs"
    (d / "clips").mkdir(parents=True)
    shutil.copyfile(clips.path("h264_bframes"), d / "clips" / "a.mp4")
    shutil.copyfile(clips.path("gif"), d / "clips" / "b.gif")
    (d / "clips" / "broken.mp4").write_bytes(b"not a video")
    return d


def in_job_order(stdout: str) -> list[str]:
    """batch's lines with each row (and the Warning lines under it) in job order: rows
    print as they finish."""
    lines = stdout.splitlines()
    rows: list[list[str]] = []
    for line in lines[:-1]:
        if line.startswith("line "):
            rows.append([line])
        else:
            rows[-1].append(line)
    rows.sort(key=lambda row: int(row[0].split()[1]))
    return [line for row in rows for line in row] + lines[-1:]


def test_mixed_rows_csv(jobs_dir: Path, tmp_path: Path) -> None:
    (jobs_dir / "jobs.csv").write_text(
        "clip,platform,id,failure,marks,plan,note\n"
        "clips/a.mp4,kling,k-1,physics,1.0;f40,,\"ball, then rim\"\n"
        "clips/b.gif,runway,r-1,identity,,pro,\n"
        "clips/broken.mp4,luma,l-1,identity,,,\n"
        "\n"
        "clips/a.mp4,kling,k-2,physics,,,\n"
        "clips/a.mp4,nowhere,n-1,identity,,,\n")
    out = tmp_path / "out"
    result = run_cli("batch", jobs_dir / "jobs.csv", "-o", out, "--workers", "2", expect=1)
    lines = in_job_order(result.stdout)
    assert lines[0] == f"line 2    a.mp4                    built  {out / 'kling_k-1_physics.zip'}"
    assert lines[1].startswith("line 3    b.gif                    built  ")
    # Runway task IDs are UUIDs: built, with a doubt under the row.
    assert lines[2].startswith("          Warning: \"r-1\" is not in the usual form of "
                               "Runway's task ID. The bundle was built with it as given; ")
    # An identity ticket with no moment builds, with the reminder that support will ask.
    # build's flags are said as the file's columns (review, round 45)
    assert lines[3] == ("          Warning: support asks when the Identity Coherence Failure "
                        "first appears: add the 'marks' column: TIME=WHAT at the moment it "
                        "first shows (or the 'auto' column to measure it).")
    assert lines[4] == ("line 4    broken.mp4               failed Error: broken.mp4 is not a "
                        "video file that can be read: give the clip exactly as downloaded from "
                        "the platform.")
    assert lines[5] == ("line 6    a.mp4                    failed Error: Physics Prior "
                        "Degeneration needs at least 1 marked moment: add the 'marks' column: "
                        "TIME=WHAT (for example the 'marks' column: '0:02=the ball passes "
                        "through the rim') where the failure is visible.")
    assert lines[6].startswith("line 7    a.mp4                    failed Error: unknown "
                               "platform 'nowhere': ")
    assert lines[-1] == "2 built, 3 failed"
    with zipfile.ZipFile(out / "kling_k-1_physics.zip") as z:
        manifest = json.loads(z.read("kling_k-1_physics/data/manifest.json"))
    assert [f["index"] for f in manifest["frames"]] == [0, 24, 40, 59]
    assert manifest["note"] == "ball, then rim"
    assert sorted(p.name for p in out.iterdir()) == ["kling_k-1_physics.zip",
                                                     "runway_r-1_identity-coherence.zip"]


def test_jsonl_all_built_and_json_output(jobs_dir: Path, tmp_path: Path) -> None:
    rows = [{"clip": "clips/a.mp4", "platform": "pika", "id": "p1", "failure": "physics",
             "marks": ["0:01=the ball jumps"], "account": "u-123", "credits": "35",
             "details": "Pika User ID=pk-1"},
            {"clip": str(jobs_dir / "clips" / "b.gif"), "platform": "runway", "id": "r1",
             "failure": "identity", "output": "named.zip", "marks": "0:01=eyes; 0:02"}]
    jobs = jobs_dir / "jobs.jsonl"
    jobs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    doc = run_json("batch", jobs, "-o", tmp_path / "o")
    assert (doc["built"], doc["failed"]) == (2, 0)
    assert [r["status"] for r in doc["results"]] == ["built", "built"]
    assert doc["results"][1]["bundle"] == str(tmp_path / "o" / "named.zip")
    # Runway task IDs are UUIDs: "r1" builds, with the doubt in the row.
    assert doc["results"][0]["warnings"] == []
    assert doc["results"][1]["warnings"][0].startswith('"r1" is not in the usual form of '
                                                       "Runway's task ID. ")
    # The row's facts fill the message; what is left is listed per row.
    assert "credits used" not in doc["results"][0]["missing"]
    assert "account email" not in doc["results"][0]["missing"]
    assert "Pika User ID" not in doc["results"][0]["missing"]  # given in the details column
    assert "generation date" in doc["results"][0]["missing"]
    with zipfile.ZipFile(tmp_path / "o" / "pika_p1_physics.zip") as z:
        text = z.read("pika_p1_physics/data/ticket.txt").decode()
        manifest = json.loads(z.read("pika_p1_physics/data/manifest.json"))
    assert "Account email:   u-123" in text and "Credits used:    35" in text
    assert "Pika User ID:    pk-1" in text
    assert manifest["frames"][1]["what"] == "the ball jumps"
    with zipfile.ZipFile(tmp_path / "o" / "named.zip") as z:
        manifest = json.loads(z.read("runway_r1_identity-coherence/data/manifest.json"))
    assert [f.get("what") for f in manifest["frames"]] == [None, "eyes", None, None]
    # Running again without --force: every row fails, nothing is replaced.
    doc = run_json("batch", jobs, "-o", tmp_path / "o", expect=1)
    assert doc["failed"] == 2 and "already exists" in doc["results"][0]["error"]
    assert run_json("batch", jobs, "-o", tmp_path / "o", "--force")["built"] == 2


@pytest.mark.parametrize(("name", "content", "message"), [
    ("j.csv", "clip,platform,failure\na.mp4,kling,physics\n",
     "j.csv, line 1: the header has no 'id' column; it needs clip, platform, id, failure."),
    ("j.csv", "clip,platform,id,failure\na.mp4,kling,x\n",
     "j.csv, line 2: 3 fields, but the header has 4: quote values that contain commas."),
    ("j.csv", "clip,platform,id,failure,colour\na.mp4,kling,x,physics,red\n",
     "j.csv, line 1: unknown column 'colour'; columns are clip, platform, id, failure, marks, "
     "plan, note, model, auto, output, account, prompt, generated, credits, settings, use, "
     "reference, details."),
    ("j.csv", "clip;platform;id;failure\na.mp4;kling;x;physics\n",
     "j.csv, line 1: columns are separated by ';': save the file as CSV with commas "
     "(clip,platform,id,failure,...)."),
    ("j.jsonl", '{"clip": "a.mp4", "platform": "kling", "id": "x", "failure": "p", '
                '"mark": "1"}\n',
     "j.jsonl, line 1: unknown column 'mark'; columns are clip, platform, id, failure, marks, "
     "plan, note, model, auto, output, account, prompt, generated, credits, settings, use, "
     "reference, details."),
    ("j.csv", "clip,platform,id,failure\n,kling,x,physics\n",
     "j.csv, line 2: 'clip' is missing; every row needs clip, platform, id, failure."),
    ("j.jsonl", '{"clip": "a.mp4", "platform": "kling", "id": "x", "failure": "physics"}\n'
                '{"clip": "b.mp4", "platform": \n',
     "j.jsonl, line 2: not valid JSON (Expecting value): write one JSON object per line."),
    ("j.jsonl", '["a.mp4"]\n',
     'j.jsonl, line 1: must be a JSON object like {"clip": "a.mp4", "platform": "kling", ...}.'),
    ("j.jsonl", '{"clip": "a.mp4", "platform": "kling", "id": "x", "failure": "p", '
                '"auto": "maybe"}\n', "j.jsonl, line 1: 'auto' must be true or false."),
])
def test_malformed_jobs_file(tmp_path: Path, name: str, content: str, message: str) -> None:
    jobs = tmp_path / name
    jobs.write_text(content)
    result = run_cli("batch", jobs, "-o", tmp_path / "out", expect=2)
    assert result.stderr == f"Error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_missing_and_empty_jobs_file(tmp_path: Path) -> None:
    result = run_cli("batch", tmp_path / "none.csv", expect=2)
    assert result.stderr == f"Error: {tmp_path / 'none.csv'}: no such jobs file: check the path.\n"
    (tmp_path / "empty.csv").write_text("\n\n")
    result = run_cli("batch", tmp_path / "empty.csv", expect=2)
    assert result.stderr == (f"Error: {tmp_path / 'empty.csv'}: the jobs file is empty: add a "
                             f"header and one row per clip.\n")


def test_a_row_with_auto_may_leave_the_failure_to_the_measurement(tmp_path: Path) -> None:
    """As build --auto without --failure: a row with auto true and no failure (here no
    failure column at all) is built for the failure measured; a row without either is
    refused before anything is built, saying how to give one."""
    from . import motionclips

    motionclips.ball_clip(tmp_path / "jump.mp4", teleport_at=2.0)
    (tmp_path / "jobs.csv").write_text("clip,platform,id,auto\njump.mp4,kling,k-1,true\n")
    doc = run_json("batch", tmp_path / "jobs.csv", "-o", tmp_path / "out")
    assert [r["bundle"] for r in doc["results"]] == [str(tmp_path / "out" /
                                                        "kling_k-1_physics.zip")]
    (tmp_path / "no.csv").write_text("clip,platform,id,auto\njump.mp4,kling,k-2,false\n")
    result = run_cli("batch", tmp_path / "no.csv", "-o", tmp_path / "out2", expect=2)
    assert result.stderr == ("Error: no.csv, line 2: 'failure' is missing: name it "
                             "('ava-evidence failures' lists them), or set 'auto' to true "
                             "to measure it.\n")
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize(("said", "as_row"), [
    ("leave out --plan.", "leave out the 'plan' column."),
    ("add --mark TIME=WHAT", "add the 'marks' column: TIME=WHAT"),
    ("give --prompt or --note", "give the 'prompt' column or the 'note' column"),
    ("add --force to replace it, or -o", "add --force to replace it, or -o"),  # no column
    ("--channels FILE", "--channels FILE"),
])
def test_builds_flags_are_said_as_the_files_columns(said: str, as_row: str) -> None:
    """Review (round 45): a row's error told a jobs file's author to 'leave out --plan';
    the file has a 'plan' column, not that flag."""
    from ava_evidence.batch import in_columns

    assert in_columns(said) == as_row
