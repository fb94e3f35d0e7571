"""``abs-engine servicer-history`` and ``abs-engine surveil`` (issue 14)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import samples
from abs_engine.cli import main
from abs_engine.pool.sample import write_tape
from abs_engine.surveillance.report import FILES

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "waterfalls" / "baitiao_2015.toml"


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tape(
        ae.sample_pool(2000, seed=3), tmp_path_factory.mktemp("tape") / "pool.parquet"
    )


def test_a_generated_history_surveilled(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "servicer.csv"
    args = ["servicer-history", str(DEAL), "--pool", str(tape), "--months", "6", "--seed", "3"]
    args += ["--deteriorate-from", "3", "--default-mult", "3", "--out", str(history)]
    assert main(args) == 0
    assert "6 months x 3 grades" in capsys.readouterr().out
    out = tmp_path / "trustee"
    args = ["surveil", str(DEAL), "--servicer", str(history), "--pool", str(tape)]
    args += ["--tape", str(tape), "--mc-paths", "20", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "6 payment dates to 2016-04-26 (collections to 2016-03-31)" in printed
    assert "== triggers ==" in printed and "early_amortisation" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    seasoned = ae.load_deal(out / "state.toml")
    assert seasoned.state is not None and seasoned.state.as_of == dt.date(2016, 3, 31)
    # The same output again: refused, unless --overwrite.
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_a_bad_servicer_report_is_one_line_and_writes_nothing(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "servicer.csv"
    assert (
        main(
            [
                "servicer-history",
                str(DEAL),
                "--pool",
                str(tape),
                "--months",
                "3",
                "--out",
                str(history),
            ]
        )
        == 0
    )
    frame = pd.read_csv(history)
    frame.loc[4, "end_balance"] += 10.0  # November 2015, grade B
    frame.to_csv(history, index=False)
    capsys.readouterr()
    out = tmp_path / "trustee"
    code = main(
        ["surveil", str(DEAL), "--servicer", str(history), "--pool", str(tape), "--out", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "period 2015-11-30, grade 'B', column 'end_balance'" in err
    assert not out.exists()


def test_a_history_that_stops_inside_a_period_is_named(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quarterly deal collects three months per payment date: two months are not a period."""
    source = samples.resolve(DEAL)
    spec = source.read_text(encoding="utf-8").replace(
        'frequency = "monthly"', 'frequency = "quarterly"'
    )
    spec = spec.replace("first_payment = 2015-11-26", "first_payment = 2016-01-26")
    spec = spec.replace('"../pools/', f'"{source.parent.parent / "pools"}/')
    quarterly = tmp_path / "quarterly.toml"
    quarterly.write_text(spec, encoding="utf-8")
    monthly = tmp_path / "servicer.csv"
    assert (
        main(
            [
                "servicer-history",
                str(DEAL),
                "--pool",
                str(tape),
                "--months",
                "2",
                "--out",
                str(monthly),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = main(
        [
            "surveil",
            str(quarterly),
            "--servicer",
            str(monthly),
            "--pool",
            str(tape),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "ends on 2015-11-30, inside the collection period of the payment date 2016-01-26" in err
    assert "end it on 2015-12-31" in err
