"""The investor report of a deal run: every file, a real browser, the workbook, privacy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.deal import DealState
from abs_engine.reports import FILES
from abs_engine.reports.privacy import assert_no_identifiers

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"


@pytest.fixture(scope="module")
def pool() -> ae.Pool:
    return ae.Pool.from_frame(ae.sample_pool(n=3_000, seed=5))


@pytest.fixture(scope="module")
def deal() -> ae.Deal:
    return ae.load_deal(WATERFALLS / "baitiao_2015.toml")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, deal: ae.Deal, pool: ae.Pool) -> Path:
    grid = ae.ScenarioSet.grid(default_mult=[1, 4, 12])
    result = ae.run(deal, pool, grid)
    out = tmp_path_factory.mktemp("run") / "baitiao"
    return ae.report.write(
        result, out, pool=pool, scenarios=grid, created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )


def test_every_file_is_written(outputs: Path) -> None:
    assert sorted(p.name for p in outputs.iterdir()) == sorted(FILES)
    meta = json.loads((outputs / "run.json").read_text())
    for key in ("package_version", "git_commit", "spec_hash", "seed", "created", "spec"):
        assert key in meta
    assert meta["spec"]["deal"]["name"] == "Baitiao 2015 (sample)"
    cf = pd.read_parquet(outputs / "cashflows.parquet")
    assert {"scenario", "period", "tranche", "principal_paid", "pool_default"} <= set(cf.columns)
    ledger = pd.read_parquet(outputs / "ledger.parquet")
    assert {"scenario", "period", "step", "from", "to", "amount"} <= set(ledger.columns)


def test_report_opens_in_a_browser(
    outputs: Path, deal: ae.Deal, open_page: Callable[[Path], Any]
) -> None:
    opened = open_page(outputs / "report.html")
    assert opened.console_errors == [] and opened.page_errors == []
    assert all(u.startswith("file:") for u in opened.requests), "the report fetched something"
    page = opened.page
    figures = page.locator("div.plot[data-figure]").count()
    assert figures >= 10
    assert page.locator("div.plot[data-rendered]").count() == figures
    assert page.locator("div.plot .main-svg").count() >= figures
    assert page.locator("#tranche-table tbody tr").count() == len(deal.tranches)
    for title in (
        "Deal summary and capital stack",
        "Pool stratification",
        "Notes",
        "Coverage and triggers",
        "Prospectus tables",
        "Break-even and loss coverage",
        "Run metadata",
    ):
        assert page.get_by_role("heading", name=title).count() >= 1, (
            title
        )  # "N. Title", substring match
    opened.screenshot("deal_report.png")


def test_workbook_summary_equals_summary_csv(outputs: Path) -> None:
    book = openpyxl.load_workbook(outputs / "report.xlsx", read_only=True)
    assert {
        "summary",
        "tranche_cashflows",
        "deal_pool_cashflows",
        "strats",
        "assumptions",
        "breakeven",
    } <= set(book.sheetnames)
    book.close()
    xlsx = pd.read_excel(outputs / "report.xlsx", sheet_name="summary")
    csv = pd.read_csv(outputs / "summary.csv")
    assert list(xlsx.columns) == list(csv.columns)
    for col in csv.columns:
        a, b = xlsx[col], csv[col]
        if col in ("first_principal", "last_principal", "expected_final"):
            a = pd.to_datetime(a).dt.strftime("%Y-%m-%d")
            b = pd.to_datetime(b).dt.strftime("%Y-%m-%d")
        if pd.api.types.is_numeric_dtype(b):
            np.testing.assert_allclose(  # summary.csv holds 12 significant digits
                a.to_numpy(float), b.to_numpy(float), rtol=1e-11, equal_nan=True, err_msg=col
            )
        else:
            assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), col


def test_no_loan_id_in_any_output(outputs: Path, pool: ae.Pool) -> None:
    assert_no_identifiers(outputs, pool)


def test_failed_write_leaves_no_directory(tmp_path: Path, deal: ae.Deal, pool: ae.Pool) -> None:
    result = ae.run(deal, pool)
    target = tmp_path / "out"
    with pytest.raises(ae.SpecError):
        ae.report.write(result, target, pool=pool, prices={"senior": "par"})  # type: ignore[dict-item]
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_surveillance_report(
    tmp_path: Path, deal: ae.Deal, pool: ae.Pool, open_page: Callable[[Path], Any]
) -> None:
    full = ae.run(deal, pool)
    k = 6
    state = DealState(
        as_of=dt.date(2016, 4, 30),
        balances={
            n: float(full.tranche["end_balance"][0, i, k - 1])
            for i, n in enumerate(full.tranche_names)
        },
        reserve=float(full.account["reserve_end"][0, k - 1]),
        cumulative_default=float(full.account["cumulative_default"][0, k - 1]),
        original_pool_balance=full.pool_balance,
    )
    seasoned = dataclasses.replace(deal, state=state)
    result = ae.run(seasoned, pool)
    out = ae.report.write(result, tmp_path / "surveillance", pool=pool, breakeven=False)
    html = (out / "report.html").read_text()
    assert "Surveillance report" in html and "2016-04-30" in html
    opened = open_page(out / "report.html")
    assert opened.console_errors == []
    assert opened.page.get_by_role("heading", name="1. Surveillance", exact=True).count() == 1


def test_graded_tape_shows_early_warning_counts(tmp_path: Path, deal: ae.Deal) -> None:
    from abs_engine.grading import early_warning

    frame = ae.sample_pool(n=2_000, seed=9)
    pool = ae.Pool.from_frame(pd.concat([frame, early_warning(frame)], axis=1))
    out = ae.report.write(ae.run(deal, pool), tmp_path / "graded", pool=pool, breakeven=False)
    html = (out / "report.html").read_text()
    assert "Early-warning flags" in html and "ew_status_changes" in html
    assert_no_identifiers(out, pool)


def test_workbook_and_report_state_the_conventions(outputs: Path) -> None:
    """The workbook's conventions sheet says how the summary's yields are quoted; the report's
    tranche table says it in the header and footnote, and shows sources and uses."""
    conv = pd.read_excel(outputs / "report.xlsx", sheet_name="conventions").set_index(
        ["sheet", "column"]
    )
    assert "compounded monthly" in conv.loc[("summary", "yield"), "convention"]
    assert "ACT/365F" in conv.loc[("summary", "yield"), "convention"]
    assert "annual effective" in conv.loc[("summary", "effective_yield"), "convention"]
    assert conv.loc[("breakeven", "loss_coverage_multiple"), "units"] == "multiple (x)"
    html = (outputs / "report.html").read_text()
    assert "Yield (nominal annual, compounded monthly, ACT/365F)" in html
    assert "Sources and uses at closing" in html
    assert "residual holder" in html
