"""The sample files ship with the package and work from any directory (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import abs_engine as ae
from abs_engine import samples

ROOT = Path(__file__).resolve().parents[1]


def test_every_data_file_is_package_data() -> None:
    """pyproject's package-data globs cover every file under abs_engine/data (a wheel ships them)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["abs_engine"]
    package = ROOT / "abs_engine"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    on_disk = {p for p in (package / "data").rglob("*") if p.is_file()}
    assert on_disk and on_disk <= shipped
    assert {samples.DATA_DIR / f for f in samples.SAMPLE_FILES} <= shipped


def test_clone_paths_read_the_packaged_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no waterfalls/ or pools/ here
    deal = ae.load_deal("waterfalls/baitiao_2015.toml")
    packaged = ae.load_deal(samples.path("baitiao_2015"))
    assert deal.name == packaged.name == "Baitiao 2015 (sample)"
    assert deal.tranches == packaged.tranches
    assert deal.assumptions == packaged.assumptions
    assert ae.load_assumptions("pools/sample_assumptions.toml") == packaged.assumptions
    # The deal names the sample tape where a clone keeps it.
    assert deal.pool.tape is not None and samples.is_sample_tape(deal.pool.tape)


def test_a_file_of_yours_at_a_clone_path_takes_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "waterfalls").mkdir()
    text = samples.path("baitiao_2015").read_text(encoding="utf-8")
    mine = text.replace('name = "Baitiao 2015 (sample)"', 'name = "Mine"')
    assert mine != text
    (tmp_path / "waterfalls" / "baitiao_2015.toml").write_text(mine, encoding="utf-8")
    assert ae.load_deal("waterfalls/baitiao_2015.toml").name == "Mine"


def test_a_missing_file_that_is_no_sample_is_still_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ae.SpecError, match=r"deal spec not found: waterfalls/mine\.toml"):
        ae.load_deal("waterfalls/mine.toml")
    with pytest.raises(ae.SpecError, match="did you mean 'baitiao_2015'"):
        samples.path("baitiao_2016")


def test_sample_names_and_tape() -> None:
    assert samples.names() == [
        "baitiao_2015",
        "static_sequential",
        "all_triggers",
        "sample_assumptions",
        "scorecard_default",
        "stress_sets",
    ]
    assert all(samples.path(n).is_file() for n in samples.names())
    assert samples.is_sample_tape("waterfalls/../pools/sample_pool.parquet")
    assert samples.is_sample_tape(Path("/x/pools/sample_pool.parquet"))
    assert not samples.is_sample_tape("pools/my_pool.parquet")
    # The Makefile's sample tape is this one.
    makefile = (ROOT / "Makefile").read_text()
    assert f"SAMPLE := {samples.SAMPLE_TAPE}" in makefile
    assert f"--n {samples.SAMPLE_TAPE_N} --seed {samples.SAMPLE_TAPE_SEED}" in makefile


@pytest.mark.slow
def test_demo_runs_outside_the_checkout(tmp_path: Path) -> None:
    """``abs-engine demo`` from a directory with no clone: packaged deal, tape in memory."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "abs_engine", "demo", "--out", "out"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sample tape generated in memory" in proc.stderr
    (run_dir,) = (cwd / "out").glob("demo-*")
    assert (run_dir / "report.html").is_file()
    # Everything it wrote is under --out: no pools/ or outputs/ appear in the working directory.
    assert sorted(p.name for p in cwd.iterdir()) == ["out"]
