"""--plan is checked against the catalog's plans, also for platforms that have none."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import yaml

from ava_evidence.catalog import load_catalog
from ava_evidence.errors import UsageError

from .conftest import ClipStore
from .helpers import run_cli
from .test_batch import in_job_order

CLIP = "h264_bframes"
CATALOG = load_catalog(use_user_file=False)
NO_PLANS = "Kling AI has no plans to choose from: leave out --plan."


def test_a_plan_for_a_platform_without_plans_is_refused() -> None:
    kling = CATALOG.platform("kling")
    assert kling.plans is None
    with pytest.raises(UsageError, match=re.escape(NO_PLANS)) as e:
        kling.resolve_plan("pro")
    assert e.value.exit_code == 2
    assert kling.resolve_plan(None) == (None, None) and kling.resolve_plan("  ") == (None, None)
    with pytest.raises(UsageError, match=re.escape(
            "Luma AI has no plans to choose from: leave out --plan.")):
        CATALOG.platform("luma").resolve_plan("Unlimited yearly")
    # Platforms with plans: as before.
    assert CATALOG.platform("runway").resolve_plan("PRO") == ("pro", "Pro")


def test_a_plan_from_the_profile_is_ignored_where_there_are_no_plans() -> None:
    """A profile saved before plans were checked may hold one for Kling: it must not break
    builds. One for a platform with plans is still checked."""
    assert CATALOG.platform("kling").resolve_plan("pro", from_profile=True) == (None, None)
    assert CATALOG.platform("runway").resolve_plan("pro", from_profile=True) == ("pro", "Pro")
    with pytest.raises(UsageError, match="unknown plan 'gold' for Runway"):
        CATALOG.platform("runway").resolve_plan("gold", from_profile=True)


def test_build_refuses_a_plan_kling_does_not_have(clips: ClipStore, tmp_path: Path) -> None:
    result = run_cli("build", clips.path(CLIP), "--platform", "kling", "--id", "k1",
                     "--failure", "physics", "--mark", "1=x", "--plan", "pro", "-o",
                     tmp_path / "k.zip", expect=2)
    assert result.stderr == f"Error: {NO_PLANS}\n"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []
    # As an unknown plan on Runway is refused:
    result = run_cli("build", clips.path(CLIP), "--platform", "runway", "--id", "r1",
                     "--failure", "physics", "--mark", "1=x", "--plan", "platinum", "-o",
                     tmp_path / "r.zip", expect=2)
    assert result.stderr.startswith("Error: unknown plan 'platinum' for Runway: ")


def test_profile_set_refuses_a_plan_kling_does_not_have() -> None:
    result = run_cli("profile", "set", "kling", "--account", "me@example.com", "--plan",
                     "pro", expect=2)
    assert result.stderr == f"Error: {NO_PLANS}\n"
    run_cli("profile", "set", "kling", "--account", "me@example.com")  # the account alone


def test_batch_refuses_the_row_not_the_batch(clips: ClipStore, tmp_path: Path) -> None:
    (tmp_path / "jobs.csv").write_text(
        "clip,platform,id,failure,marks,plan\n"
        f"{clips.path(CLIP)},kling,k-1,physics,1,pro\n"
        f"{clips.path(CLIP)},kling,k-2,physics,1,\n")
    lines = in_job_order(run_cli("batch", tmp_path / "jobs.csv", "-o", tmp_path / "out",
                                 expect=1).stdout)  # rows print as they finish
    assert lines[0].endswith("failed Error: Kling AI has no plans to choose from: leave out "
                             "the 'plan' column.")  # the file's column, not build's flag
    assert lines[1].split()[3] == "built"
    assert lines[-1] == "1 built, 1 failed"


def test_an_old_profile_plan_does_not_break_a_build(clips: ClipStore, tmp_path: Path) -> None:
    from ava_evidence.profile import profile_file

    path = profile_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"schema": "ava-evidence/profile/1", "platforms": {
        "kling": {"account": "me@example.com", "plan": "pro"}}}))
    try:
        result = run_cli("build", clips.path(CLIP), "--platform", "kling", "--id", "k1",
                         "--failure", "physics", "--mark", "1=x", "-o", tmp_path / "k.zip")
    finally:
        path.unlink()
    assert "From your profile: account (" in result.stdout  # the plan is not said to be used
    with zipfile.ZipFile(tmp_path / "k.zip") as z:
        ticket = next(z.read(n).decode() for n in z.namelist() if n.endswith("/ticket.txt"))
    assert "me@example.com" in ticket and "Plan" not in ticket
