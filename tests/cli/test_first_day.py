"""What a new analyst meets first does what it says (issue 13): run, project, levers, help,
overwrite, progress, break-even n/a, stress tables, CSV without float noise."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine._progress import LOGGER, Progress
from abs_engine.cli import build_parser, main
from abs_engine.cli.commands import LEVER_FLAGS
from abs_engine.curves.scenarios import LEVERS

DEAL = str(ae.samples.path("baitiao_2015"))


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tape") / "tape.parquet"
    ae.pool.write_tape(ae.sample_pool(n=2_000, seed=3), path)
    return path


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


# --- run ---------------------------------------------------------------------------------------


def test_run_prints_every_scenario_and_class(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", DEAL, "--pool", str(tape), "--out", str(tmp_path), "--no-breakeven"]
    assert main([*argv, "--default-mult", "1,2", "--prepay-mult", "0.5,1.5", "--name", "a"]) == 0
    text = capsys.readouterr().out
    names = [f"default_mult={d},prepay_mult={p}" for d in (1, 2) for p in (0.5, 1.5)]
    for name in names:
        assert text.count(name) == 1, name  # printed once, above its block of classes
    rows = [ln for ln in text.splitlines() if re.search(r"\d\.\d{3}%\s", ln)]
    assert len(rows) == 4 * 3  # every scenario x every class
    assert "more scenario" not in text
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert summary["scenario"].drop_duplicates().tolist() == names

    assert main([*argv, "--default-mult", "1,2,4", "--show", "2", "--name", "b"]) == 0
    text = capsys.readouterr().out
    assert "default_mult=2" in text and "default_mult=4" not in text
    assert "... 1 more scenario(s): see summary.csv" in text


def test_lever_flags_are_the_same_on_every_command_and_in_the_api() -> None:
    subs = _subparsers()
    for name in ("run", "project", "stress"):
        flags = {s for a in subs[name]._actions for s in a.option_strings}
        assert set(LEVER_FLAGS) <= flags, name
    # Each flag is the API's keyword with dashes: ScenarioSet.grid and stress.grid take them.
    assert set(LEVER_FLAGS.values()) <= set(LEVERS)
    for flag, lever in LEVER_FLAGS.items():
        assert flag == "--" + lever.replace("_", "-")
    args = subs["run"].parse_args([DEAL, "--default-mult", "1:2:0.5", "--severity-mult", "1.2"])
    from abs_engine.cli.commands import scenario_grid

    api = ae.ScenarioSet.grid(default_mult=[1, 1.5, 2], severity_mult=[1.2])
    assert scenario_grid(args).to_frame().equals(api.to_frame())


def test_stress_lever_flags_and_grid_cannot_both_set_a_lever(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s"
    argv = ["stress", DEAL, "--pool", str(tape), "--executor", "serial", "--out", str(out)]
    assert main([*argv, "--default-mult", "1,2", "--grid", "default=3"]) == 2
    assert "default_mult is given by --default-mult and by --grid" in capsys.readouterr().err
    assert not out.exists()
    assert main([*argv, "--default-mult", "1,2", "--grid", "haircut=0,0.5"]) == 0
    assert "4 scenarios (grid 4)" in capsys.readouterr().out


def test_run_overwrite(tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", DEAL, "--pool", str(tape), "--out", str(tmp_path), "--name", "r"]
    argv += ["--no-breakeven"]
    assert main(argv) == 0
    first = (tmp_path / "r" / "run.json").read_text()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists; pass --overwrite" in err and len(err.strip().splitlines()) == 1
    assert main([*argv, "--overwrite"]) == 0
    assert (tmp_path / "r" / "run.json").read_text() != first  # a new run (new timestamp)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temporary left behind
    # --overwrite never replaces a directory that is not a run's.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main([*argv[:-3], "--name", "mine", "--no-breakeven", "--overwrite"]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"


def test_report_write_overwrite_runs_twice(tmp_path: Path) -> None:
    deal = ae.load_deal(DEAL)
    pool = ae.Pool.from_frame(ae.sample_pool(n=1_000, seed=5))
    result = ae.run(deal, pool)
    out = tmp_path / "run"
    ae.report.write(result, out, pool=pool, breakeven=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ae.report.write(result, out, pool=pool, breakeven=False)
    ae.report.write(result, out, pool=pool, breakeven=False, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(ae.reports.FILES)


# --- project -----------------------------------------------------------------------------------


def test_project_shows_dates_pool_factor_and_realised_rates(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cf.csv"
    argv = ["project", str(tape), "--default-mult", "1,2", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    header = next(ln for ln in text.splitlines() if "begin_balance" in ln)
    for col in ("date", "pool_factor", "smm", "cpr", "cdr"):
        assert col in header
    assert "2015-10-31" in text  # cut-off inferred from origination_date + age: 2015-09-30
    assert "life totals by scenario" in text and "life totals by grade" not in text
    frame = pd.read_csv(out)
    assert "grade" not in frame
    assert frame["scenario"].unique().tolist() == ["default_mult=1", "default_mult=2"]
    first = frame[frame["scenario"] == "default_mult=1"]
    assert first["date"].iloc[:3].tolist() == ["2015-10-31", "2015-11-30", "2015-12-31"]
    b0 = first["begin_balance"].iloc[0]
    np.testing.assert_allclose(first["pool_factor"], first["end_balance"] / b0, rtol=1e-11)

    assert main([*argv, "--by-grade", "--cutoff", "2016-01-15"]) == 0
    text = capsys.readouterr().out
    assert "life totals by grade" in text and "2016-02-15" in text
    by_grade = pd.read_csv(out)
    assert sorted(by_grade["grade"].unique()) == ["A", "B", "C"]
    # The grades add up to the pool.
    pool = by_grade.groupby(["scenario", "period"])["default"].sum().loc["default_mult=1"]
    np.testing.assert_allclose(pool.to_numpy()[: len(first)], first["default"], rtol=1e-9)


def test_realised_rates_return_the_input_rates() -> None:
    """A constant 12% CPR with no defaults is realised as 12% CPR in every month with a
    balance to prepay; a constant 1% MDR (SIFMA Cash Flow A, Standard Formulas 1999, p. SF-22)
    is realised as 1% MDR.  Reference: SMM = P / (B - S), MDR = D / B (hand formulas)."""
    from abs_engine.curves.rates import realised_rates

    pool = ae.Pool.from_frame(ae.sample_pool(n=500, seed=2))
    pool = pool.select(pool.column("dpd") == 0)  # delinquent ones roll to default, no prepaying
    cf = ae.project(pool, ae.Assumptions(default=ae.curves.cdr(0.0), prepay=ae.curves.cpr(0.12)))
    r = realised_rates(cf["begin_balance"], cf["scheduled_principal"], cf["prepayment"], 0.0)
    exposed = (cf["begin_balance"] - cf["scheduled_principal"]) > 1e-6
    np.testing.assert_allclose(r["cpr"][exposed], 0.12, rtol=1e-10)
    assert np.isnan(r["cpr"][~exposed & (cf["begin_balance"] <= 0)]).all()

    from abs_engine.pool import Cohorts

    sifma = Cohorts.from_loans(
        ("A",), [0], [0], [360], [0], [0], [100_000_000.0], [0.08], [0.0], [100_000_000.0]
    )
    a = ae.Assumptions(
        default=ae.curves.mdr(0.01), prepay=ae.curves.smm(0.01), severity=0.2, recovery_lag=12
    )
    cf = ae.project(sifma, a)
    r = realised_rates(
        cf["begin_balance"], cf["scheduled_principal"], cf["prepayment"], cf["default"]
    )
    np.testing.assert_allclose(r["mdr"][0, :340], 0.01, rtol=1e-10)
    np.testing.assert_allclose(r["cdr"][0, :340], 1 - 0.99**12, rtol=1e-10)
    # Hand figures: B 1000, S 100, P 18, D 10 -> MDR 1%, SMM 18/900 = 2%, CPR 1 - 0.98^12.
    h = realised_rates(1000.0, 100.0, 18.0, 10.0)
    assert (float(h["mdr"]), float(h["smm"])) == (0.01, 0.02)
    np.testing.assert_allclose(float(h["cpr"]), 1 - 0.98**12, rtol=1e-14)


# --- help, progress, break-even ----------------------------------------------------------------


def test_every_option_has_help_and_shows_its_default() -> None:
    for name, sub in _subparsers().items():
        text = sub.format_help()
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}"
            shown = action.default not in (None, False, argparse.SUPPRESS)
            if action.option_strings and shown and not isinstance(action.default, list):
                assert "default" in sub._get_formatter()._expand_help(action) or (
                    str(action.default) in text
                ), f"{name} {action.option_strings}"


def test_strats_help_lists_the_tables() -> None:
    from abs_engine.pool.strats import STANDARD_STRATS

    text = " ".join(_subparsers()["strats"].format_help().split())
    for name in (*STANDARD_STRATS, "age", "early_warning"):
        assert name in text


def test_progress_lines_without_a_terminal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with Progress(3, "job", "chunk", show=None, interval=0.0) as p:  # pytest: not a terminal
        for _ in range(3):
            p.update(1)
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines[0].startswith("job: 1/3 chunks (33%)")
    assert lines[-1].startswith("job: 3/3 chunks (100%)") and len(lines) == 3


def test_run_reports_progress_on_stderr_without_a_terminal(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", DEAL, "--pool", str(tape), "--out", str(tmp_path), "--no-breakeven"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "abs-engine run: 7/7 stages (100%)" in err and "\r" not in err


def test_breakeven_says_na_for_interest_on_a_class_without_coupon(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "be.csv"
    argv = ["breakeven", DEAL, "--pool", str(tape), "--on", "interest", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    line = next(ln for ln in text.splitlines() if "subordinated" in ln)
    assert "n/a (no coupon: there is no interest to miss)" in line
    table = pd.read_csv(out).set_index("tranche")
    assert np.isnan(table.loc["subordinated", "breakeven"])
    assert table.loc["senior", "reason"] != table.loc["senior", "reason"]  # empty -> NaN in CSV
    assert not np.isnan(table.loc["mezzanine", "breakeven"])


# --- units and CSV -----------------------------------------------------------------------------


def test_csv_has_no_float_noise_and_parquet_keeps_full_precision(
    tape: Path, tmp_path: Path
) -> None:
    argv = ["run", DEAL, "--pool", str(tape), "--out", str(tmp_path), "--name", "r"]
    assert main([*argv, "--no-breakeven"]) == 0
    text = (tmp_path / "r" / "summary.csv").read_text()
    numbers = re.findall(r"(?<![\w.])-?\d+\.\d+(?:e[-+]\d+)?", text)
    assert numbers
    for number in numbers:
        mantissa = number.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        assert len(mantissa) <= 12, number
    assert ",0.051," in text  # the senior coupon, not 0.051000000000000004
    deal = ae.load_deal(DEAL)
    result = ae.run(deal, ae.load_pool(tape))
    stored = pd.read_parquet(tmp_path / "r" / "cashflows.parquet")
    mine = result.tranche_cashflows
    cols = [c for c in mine.columns if mine[c].dtype == np.float64]
    np.testing.assert_array_equal(stored[cols].to_numpy(), mine[cols].to_numpy())


# --- grade -------------------------------------------------------------------------------------


def test_grade_keeps_the_tapes_grade_and_reports_the_migration(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from collections import Counter

    from abs_engine.cli.grade import migration

    out = tmp_path / "graded.parquet"
    assert main(["grade", str(tape), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    original = pd.read_parquet(tape)
    graded = pd.read_parquet(out)
    assert list(graded.columns).index("grade_tape") == list(graded.columns).index("grade") + 1
    assert graded["grade_tape"].astype(str).tolist() == original["grade"].astype(str).tolist()
    assert "grade migration, tape grade (rows) to scorecard grade" in text
    # The matrix against a plain count of (tape grade, new grade) pairs.
    pairs = Counter(zip(graded["grade_tape"].astype(str), graded["grade"].astype(str), strict=True))
    table = migration(graded["grade_tape"], graded["grade"])
    for (before, after), n in pairs.items():
        assert table.loc[before, after] == n
    assert table.loc["Total", "Total"] == len(graded)
    kept = sum(n for (b, a), n in pairs.items() if b == a) / len(graded)
    assert f"{kept:.1%} keep their grade" in text
    # Columns the sample tape lacks: said, not silently ignored.
    assert "note: flag ew_spend_spike cannot fire" in text
    assert "note: factor 'repayment_history' is skipped" in text


def test_grade_notes_only_what_cannot_act(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_parquet(tape)
    frame["spend_last_month"] = 100.0
    frame["spend_avg_6m"] = 100.0
    with_spend = tmp_path / "spend.parquet"
    frame.to_parquet(with_spend)
    assert main(["grade", str(with_spend), "--out", str(tmp_path / "g.parquet")]) == 0
    text = capsys.readouterr().out
    assert "ew_spend_spike cannot fire" not in text
    assert "factor 'platform_spend' is skipped" not in text


def test_min_oc_includes_the_closing_date() -> None:
    """Baitiao sample: notes 72% / 14.4% / 9.6% of the cut-off pool, reserve 0.5% of it funded
    at closing (abs_engine/data/waterfalls/baitiao_2015.toml), so OC at closing is
    (1 + 0.005) / 0.72 = 1.395833 senior, / 0.864 = 1.163194 mezzanine, / 0.96 = 1.046875."""
    deal = ae.load_deal(DEAL)
    result = ae.run(deal, ae.Pool.from_frame(ae.sample_pool(n=2_000, seed=3)))
    closing = np.array([1.005 / 0.72, 1.005 / 0.864, 1.005 / 0.96])
    np.testing.assert_allclose(result.oc_at_start()[0], closing, rtol=1e-12)
    after = result.coverage().groupby("tranche", sort=False)["oc"].min()
    summary = result.summary().set_index("tranche")["min_oc"]
    for i, name in enumerate(result.tranche_names):
        np.testing.assert_allclose(summary[name], min(closing[i], after[name]), rtol=1e-14)
