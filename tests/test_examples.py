"""The scripts in examples/ run (the README points users at them)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))
#: Examples run a second time in the same directory (the quick ones that write files).
RERUN = ("01_pool_and_strats.py", "04_report.py")


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(
    script: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip()
    # Everything it wrote is under the directory it was given.
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["out"])
    if script.name in RERUN:
        runpy.run_path(str(script), run_name="__main__")  # re-runnable as it is
        assert capsys.readouterr().out.strip()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4
