"""Wrong input is not accepted silently (issue 12), and ``validate`` sees columns (issue 13).

* Every numeric tape column is finite and plausible: ``original_balance = inf`` or ``1e308``,
  ``age > original_term``, provident-fund fields ``inf`` are problems (PF values withheld).
* ``stress`` refuses what every chunk would refuse, before a batch exists.
* A term that ``validate`` accepts runs end to end, report included.
* A missing or renamed column is one problem with a did-you-mean, not one per row; problems
  are counted per column; unknown extra columns are noted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.pool.schema import MAX_TERM
from tests.reliability.conftest import Cli, deal_for


@pytest.fixture
def frame() -> pd.DataFrame:
    return ae.sample_pool(n=60, seed=12)


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("original_balance", np.inf, "original_balance must be a finite amount up to 1e+12"),
        ("original_balance", 1e308, "original_balance must be a finite amount up to 1e+12"),
        ("balance", np.inf, "balance must be a finite amount up to 1e+12"),
        ("balance", 1e308, "balance must be a finite amount up to 1e+12"),
        ("age", 50, "age is longer than original_term"),
        ("dpd", 10**8, "dpd must be between 0 and 36500 days"),
        ("fee_rate", np.inf, "fee_rate must be"),
        ("pf_monthly_contribution", np.inf, "pf_monthly_contribution must be a finite amount"),
        ("pf_years", np.inf, "pf_years must be a number of years between 0 and 80"),
        ("pf_years", 1e308, "pf_years must be a number of years between 0 and 80"),
        ("pf_status_changes_12m", 40, "pf_status_changes_12m must be a whole count"),
    ],
)
def test_numeric_columns_are_finite_and_plausible(
    column: str, value: float, fragment: str, frame: pd.DataFrame, cli: Cli, tmp_path: Path
) -> None:
    row = int(np.flatnonzero(frame["original_term"] < 50)[0])
    frame[column] = frame[column].astype("float64")
    frame.loc[row, column] = value
    if column == "fee_rate":  # a receivable that is not flat_fee: its fee is unused, still checked
        row = int(np.flatnonzero(frame["payment_type"] != "flat_fee")[0])
        frame.loc[row, column] = value
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(frame)
    probs = info.value.problems
    assert probs is not None
    hit = probs[probs["column"] == column]
    assert len(hit) >= 1 and fragment in hit["problem"].iloc[0], probs.to_dict("records")
    if column.startswith("pf_"):
        assert set(hit["value"]) == {"<withheld>"}
        assert "inf" not in str(info.value) and "1e+308" not in str(info.value)
    tape = tmp_path / "t.parquet"
    ae.pool.write_tape(frame, tape)
    res = cli("validate", tape)
    assert res.code == 1 and fragment in res.out
    cli("project", tape).assert_one_line_error("failed validation")


def test_a_sound_tape_still_passes(frame: pd.DataFrame) -> None:
    pool = ae.Pool.from_frame(frame)
    assert pool.report.ok and len(pool) == len(frame)


def test_stress_refuses_bad_scenarios_before_a_batch_exists(
    cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    scen = tmp_path / "s.csv"
    scen.write_text("scenario,default_mult[Z]\na,2\n", encoding="utf-8")
    out = tmp_path / "batch"
    res = cli(
        "stress",
        deal_for(tmp_path, small_tape),
        "--scenarios",
        scen,
        "--executor",
        "serial",
        "--out",
        out,
    )
    res.assert_one_line_error("scenarios name grade(s) ['Z']", "grades: A, B, C")
    assert not out.exists()
    deal = ae.load_deal(deal_for(tmp_path, small_tape))
    table = ae.stress.read_scenarios(scen)
    with pytest.raises(ae.ScenarioError, match="'Z'"):
        ae.stress.run_batch(deal, ae.load_pool(small_tape), table, out=out, executor="serial")
    assert not out.exists()


def test_a_term_validate_accepts_runs_end_to_end(
    cli: Cli, frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame.loc[0, ["original_term", "remaining_term", "age"]] = [MAX_TERM, MAX_TERM, 0]
    frame.loc[0, ["payment_type", "rate"]] = ["annuity", 0.1]
    tape = tmp_path / "long.parquet"
    ae.pool.write_tape(frame, tape)
    assert cli("validate", tape).code == 0
    res = cli(
        "run", deal_for(tmp_path, tape), "--out", tmp_path / "o", "--name", "r", "--no-breakeven"
    )
    assert res.code == 0, res.err
    html = (tmp_path / "o" / "r" / "report.html").read_text(encoding="utf-8")
    assert "Pool cash flows per year" in html  # thousands of months are shown per year


def test_per_year_table_adds_up() -> None:
    from abs_engine.reports.pool_sections import per_year

    months = pd.DataFrame(
        {
            "begin_balance": [100.0, 90.0, 80.0],
            "default": [1.0, 1.0, 1.0],
            "end_balance": [90.0, 80.0, 70.0],
            "cdr": [0.12, 0.12, np.nan],
        },
        index=pd.Index([1, 2, 13], name="period"),
    )
    years = per_year(months)
    assert list(years.index) == [1, 2]
    assert years.loc[1, "begin_balance"] == 100.0 and years.loc[1, "end_balance"] == 80.0
    assert years.loc[1, "default"] == 2.0
    mdr = 1 - (1 - 0.12) ** (1 / 12)
    np.testing.assert_allclose(years.loc[1, "cdr"], 1 - (1 - mdr) ** 2, rtol=1e-12)
    assert years.loc[2, "cdr"] == 0.0


# --- validate sees the column (issue 13) -----------------------------------------------------------


def test_a_renamed_column_is_one_problem_with_a_did_you_mean(
    cli: Cli, frame: pd.DataFrame, tmp_path: Path
) -> None:
    n_flat = int((frame["payment_type"] == "flat_fee").sum())
    assert n_flat > 5
    tape = tmp_path / "t.csv"
    frame.rename(columns={"fee_rate": "monthly_fee"}).to_csv(tape, index=False)
    report = ae.validate_pool(tape)
    assert report.n_problems == 1 and report.fatal
    problem = report.problems["problem"].iloc[0]
    assert (
        f"column 'fee_rate' is missing; the tape's {n_flat} flat_fee receivables need it" in problem
    )
    assert "unknown column 'monthly_fee' - did you mean 'fee_rate'?" in problem
    res = cli("validate", tape)
    assert res.code == 1
    assert res.out.count("fee_rate") <= 3  # the column, not a line per receivable
    assert "problems by column" in res.out


def test_a_missing_required_column_is_one_problem(frame: pd.DataFrame) -> None:
    report = ae.validate_pool(frame.rename(columns={"balance": "curr_bal"}))
    assert report.n_problems == 1
    assert "required column 'balance' is missing" in report.problems["problem"].iloc[0]
    report = ae.validate_pool(frame.rename(columns={"balance": "balanse"}))
    assert "did you mean 'balance'" in report.problems["problem"].iloc[0]


def test_problems_are_counted_by_column(cli: Cli, frame: pd.DataFrame, tmp_path: Path) -> None:
    frame["balance"] = frame["balance"].astype(float)
    frame.loc[:9, "balance"] = -1.0
    frame.loc[:2, "grade"] = "Z"
    report = ae.validate_pool(frame)
    counts = report.by_column()
    assert list(counts["column"]) == ["balance", "grade"]
    assert list(counts["rows"]) == [10, 3]
    tape = tmp_path / "t.parquet"
    ae.pool.write_tape(frame, tape)
    out = cli("validate", tape, "--max", "2").out
    table = out.split("problems by column:")[1].split("first")[0]
    assert "balance" in table and "10" in table and "grade" in table and "3" in table
    assert "... 11 more" in out


def test_unknown_extra_columns_are_noted(cli: Cli, frame: pd.DataFrame, tmp_path: Path) -> None:
    frame = frame.assign(branch="north", channel="app")
    report = ae.validate_pool(frame)
    assert report.ok
    assert any("'branch'" in n and "'channel'" in n for n in report.notes)
    tape = tmp_path / "t.parquet"
    ae.pool.write_tape(frame, tape)
    res = cli("validate", tape)
    assert res.code == 0 and "note: 2 columns the engine does not use" in res.out
