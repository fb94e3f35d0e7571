"""``abs-engine calibrate`` and ``abs-engine synthetic-history``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import abs_engine.cli.calibrate  # noqa: F401 - registers the sub-commands
from abs_engine.calibrate import synthetic_history
from abs_engine.cli import main
from abs_engine.curves import GradedAssumptions, load_assumptions


def test_synthetic_history_then_calibrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hist = tmp_path / "history.parquet"
    assert main(["synthetic-history", "--loans", "3000", "--months", "18", "--seed", "4",
                 "--out", str(hist)]) == 0  # fmt: skip
    assert "3,000 receivables" in capsys.readouterr().out
    out, report = tmp_path / "assumptions.toml", tmp_path / "report"
    assert main(["calibrate", str(hist), "--out", str(out), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    loaded = load_assumptions(out)
    assert isinstance(loaded, GradedAssumptions)
    assert sorted(loaded) == ["A", "B", "C"]
    assert (report / "calibration.html").exists()
    assert "pooled CDR" in printed
    # Aggregates only: no receivable id on the terminal.
    ids = set(pd.read_parquet(hist, columns=["loan_id"])["loan_id"].astype(str).head(50))
    assert not any(f" {i} " in printed for i in ids if len(i) > 3)


def test_calibrate_options(tmp_path: Path) -> None:
    hist = tmp_path / "history.csv"
    synthetic_history(2000, seed=2).to_csv(hist, index=False)
    out = tmp_path / "a.toml"
    argv = ["calibrate", str(hist), "--out", str(out), "--smoothing", "none",
            "--min-exposure", "1000", "--include-roll-rates"]  # fmt: skip
    assert main(argv) == 0
    loaded = load_assumptions(out)
    assert isinstance(loaded, GradedAssumptions)
    assert all(a.roll_rates is not None for a in loaded.values())
    assert "smoothing = none" in out.read_text()


def test_bad_history_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = synthetic_history(500, seed=3)
    df["loan_id"] = "L" + df["loan_id"].astype(str)
    df = df.drop(index=df.index[(df["loan_id"] == "L7") & (df["age"] == 2)])  # a gap
    hist = tmp_path / "history.parquet"
    df.to_parquet(hist, index=False)
    out = tmp_path / "a.toml"
    assert main(["calibrate", str(hist), "--out", str(out), "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "loan 'L7'" in err
    assert "month (age) 2" in err
    assert not out.exists()
    assert not (tmp_path / "r").exists()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["calibrate", "{hist}", "--out", "{tmp}/a.txt"], "--out must be a .toml"),
        (["calibrate", "{tmp}/missing.parquet", "--out", "{tmp}/a.toml"], "not found"),
        (["calibrate", "{hist}", "--out", "{tmp}/a.toml", "--bandwidth", "-1"], "bandwidth"),
        (["synthetic-history", "--loans", "10", "--out", "{tmp}/h.json"], ".parquet or .csv"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    hist = tmp_path / "h.parquet"
    synthetic_history(200, seed=1).to_parquet(hist, index=False)
    filled = [a.format(hist=hist, tmp=tmp_path) for a in argv]
    assert main(filled) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "a.toml").exists()
