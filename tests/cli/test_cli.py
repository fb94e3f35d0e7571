"""The command line: every bad input gives status 2, one line, and no output directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine._progress import is_progress_line
from abs_engine.cli import build_parser, main

ROOT = Path(__file__).parents[2]
DEAL = ae.samples.path("baitiao_2015")


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tape") / "tape.parquet"
    ae.pool.write_tape(ae.sample_pool(n=2_000, seed=3), path)
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "abs_engine", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_every_command_has_help_with_an_example() -> None:
    parser = build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    for name in (
        "validate",
        "strats",
        "sample-pool",
        "run",
        "breakeven",
        "size",
        "project",
        "grade",
        "calibrate",
        "demo",
    ):
        assert name in subs, name
        assert "example:" in subs[name].format_help(), name


def test_run_writes_every_file(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            str(DEAL),
            "--pool",
            str(tape),
            "--default-mult",
            "1,4",
            "--out",
            str(tmp_path),
            "--name",
            "r1",
        ]
    )
    assert code == 0
    out = tmp_path / "r1"
    assert sorted(p.name for p in out.iterdir()) == sorted(ae.reports.FILES)
    printed = capsys.readouterr().out
    assert "senior" in printed and "wrote" in printed


def _bad_tape(tmp_path: Path) -> Path:
    frame = ae.sample_pool(n=50, seed=1)
    frame.loc[3, "balance"] = -10.0
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def _bad_spec(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    text = DEAL.read_text().replace("../pools/", f"{ae.samples.DATA_DIR / 'pools'}/")
    path.write_text(
        text.replace('[[tranches]]\nname = "senior"', '[[tranches]]\nnme = "senior"', 1)
    )
    return path


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("broken tape", "balance must be > 0"),
        ("invalid spec", "unknown key 'nme'"),
        ("missing spec", "deal spec not found"),
        ("missing tape", "tape not found"),
        ("bad target", "--target takes name=value"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(
    case: str, fragment: str, tape: Path, tmp_path: Path
) -> None:
    out = tmp_path / "outputs"
    args = {
        "broken tape": ["run", str(DEAL), "--pool", str(_bad_tape(tmp_path)), "--out", str(out)],
        "invalid spec": ["run", str(_bad_spec(tmp_path)), "--pool", str(tape), "--out", str(out)],
        "missing spec": ["run", str(tmp_path / "nope.toml"), "--out", str(out)],
        "missing tape": [
            "run",
            str(DEAL),
            "--pool",
            str(tmp_path / "nope.parquet"),
            "--out",
            str(out),
        ],
        "bad target": ["size", str(DEAL), "--pool", str(tape), "--target", "senior"],
    }[case]
    res = cli(*args)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not is_progress_line(ln)]
    assert len(lines) == 1, res.stderr
    assert fragment in lines[0]
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    res = cli("--debug", "run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"))
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_validate_lists_problems_and_exits_1(tmp_path: Path) -> None:
    res = cli("validate", str(_bad_tape(tmp_path)))
    assert res.returncode == 1
    assert "balance must be > 0" in res.stdout


def test_strats_and_sample_pool(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    assert cli("sample-pool", "--n", "500", "--seed", "2", "--out", str(path)).returncode == 0
    res = cli("strats", str(path), "--by", "grade")
    assert res.returncode == 0 and "== by grade ==" in res.stdout
    pd.read_parquet(path)  # a real tape


def test_breakeven_command(tape: Path) -> None:
    res = cli("breakeven", str(DEAL), "--pool", str(tape))
    assert res.returncode == 0, res.stderr
    assert "senior" in res.stdout and "engine passes" in res.stdout
