"""The workbook writer: formats, frozen headers, round trips, metadata, atomic writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

from abs_engine import reports
from abs_engine.errors import SpecError
from abs_engine.reports import excel
from abs_engine.reports import pool_sections as ps


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tranche": ["A", "B", "Total"],
            "balance": [600_000_000.123, 120_000_000.0, 720_000_000.123],
            "coupon": [0.051, 0.073, np.nan],
            "count": [1, 2, 3],
            "wal": [1.2345, 2.5, np.nan],
            "first_payment": pd.to_datetime(["2015-10-26", "2015-10-26", None]),
            "formula_like": ["=1+1", "+cmd", "@x"],
        }
    )


def test_sheet_formats_freeze_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    frame = _frame()
    reports.write_workbook(path, {"summary": frame})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["summary"]
    ws = wb["summary"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:G4"
    header = [c.value for c in ws[1]]
    assert header == list(frame.columns)
    assert all(c.font.bold for c in ws[1])
    assert ws["B2"].number_format == "#,##0.00"
    assert ws["C2"].number_format == "0.00%"
    assert ws["D2"].number_format == "#,##0"
    assert ws["E2"].number_format == "0.00"
    assert ws["F2"].number_format == "yyyy-mm-dd"
    assert ws["B2"].value == pytest.approx(600_000_000.123)  # full precision, display rounded
    assert ws["C4"].value is None  # NaN is a blank cell
    assert ws["A4"].font.bold and not ws["A3"].font.bold  # the Total row
    assert ws["G2"].value == "=1+1" and ws["G2"].data_type == "s"  # data never a formula
    assert ws.column_dimensions["B"].width >= len("600,000,000.12")
    back = pd.read_excel(path, sheet_name="summary")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_index_columns_are_written_and_frozen(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"balance": [1.0, 2.0, 3.0]},
        index=pd.MultiIndex.from_tuples(
            [("grade", "A"), ("grade", "Total"), ("term", "6")], names=["strat", "bucket"]
        ),
    )
    path = reports.write_workbook(tmp_path / "b.xlsx", [reports.Sheet("strats", frame)])
    ws = openpyxl.load_workbook(path)["strats"]
    assert ws.freeze_panes == "C2"
    assert [c.value for c in ws[1]] == ["strat", "bucket", "balance"]
    assert ws["B3"].font.bold  # Total found in an index column
    assert ws["C3"].font.bold


def test_labels_and_bp_headers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"spread": [0.0125], "balance": [1.0]})
    path = reports.write_workbook(
        tmp_path / "b.xlsx",
        [reports.Sheet("s", frame, {"spread": "bp"}, labels={"balance": "Balance (CNY)"})],
    )
    ws = openpyxl.load_workbook(path)["s"]
    assert [c.value for c in ws[1]] == ["spread (bp)", "Balance (CNY)"]
    assert ws["A2"].value == pytest.approx(125.0)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("a/b", "forbids"),
        ("x" * 32, "31"),
        ("", "non-empty"),
        ("History", "does not accept"),
    ],
)
def test_bad_sheet_names(tmp_path: Path, name: str, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        reports.write_workbook(tmp_path / "b.xlsx", {name: pd.DataFrame({"x": [1]})})
    assert not (tmp_path / "b.xlsx").exists()


def test_duplicate_sheets_and_columns_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="ignores case"):
        reports.write_workbook(
            tmp_path / "b.xlsx",
            [reports.Sheet("Summary", pd.DataFrame()), reports.Sheet("summary", pd.DataFrame())],
        )
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(SpecError, match="duplicate columns"):
        reports.Sheet("s", dup)
    with pytest.raises(SpecError, match="at least one sheet"):
        reports.write_workbook(tmp_path / "b.xlsx", [])


def test_too_many_rows_is_refused() -> None:
    big = pd.DataFrame({"x": np.zeros(excel.MAX_ROWS)})
    with pytest.raises(SpecError, match="parquet"):
        reports.Sheet("s", big)


def test_metadata_sheet_and_properties(tmp_path: Path) -> None:
    when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    meta = reports.run_metadata({"deal": {"name": "x"}}, seed=5, created=when)
    path = reports.write_workbook(
        tmp_path / "b.xlsx", {"summary": _frame()}, metadata=meta, currency="CNY", title="T"
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["summary", "metadata"]
    rows = {r[0]: r[1] for r in wb["metadata"].iter_rows(min_row=2, values_only=True)}
    assert rows["currency"] == "CNY"
    assert rows["seed"] == "5"
    assert rows["spec_hash"] == meta.spec_hash
    assert rows["spec.deal.name"] == "x"
    assert rows["created"] == "2026-01-02T00:00:00Z"
    assert wb.properties.title == "T"
    custom = {p.name: p.value for p in wb.custom_doc_props.props}
    assert custom["seed"] == "5" and custom["currency"] == "CNY"


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "b.xlsx"
    reports.write_workbook(target, {"s": pd.DataFrame({"x": [1.0]})})
    before = target.read_bytes()

    def boom(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(excel, "_write_sheet", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        reports.write_workbook(target, {"s": pd.DataFrame({"x": [2.0]})})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b.xlsx"]


# --- the sample workbook --------------------------------------------------------------------------


def test_sample_workbook_sheets_and_frozen_headers(sample_outputs: Any) -> None:
    wb = openpyxl.load_workbook(sample_outputs.xlsx, read_only=False)
    assert wb.sheetnames == [
        "pool_summary",
        "strats",
        "pool_cashflows",
        "scenarios",
        "assumptions",
        "scenario_levers",
        "metadata",
    ]
    for ws in wb.worksheets:
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2"), ws.title
        assert all(c.font.bold for c in ws[1] if c.value is not None), ws.title


def test_sample_workbook_summary_equals_summary_csv(sample_outputs: Any) -> None:
    from_xlsx = pd.read_excel(sample_outputs.xlsx, sheet_name="pool_summary")
    from_csv = pd.read_csv(sample_outputs.summary_csv)
    pd.testing.assert_frame_equal(from_xlsx, from_csv, check_exact=False, rtol=1e-12)


def test_sample_workbook_values(sample_outputs: Any) -> None:
    pool, cf = sample_outputs.pool, sample_outputs.cf
    strats = pd.read_excel(sample_outputs.xlsx, sheet_name="strats")
    expected = ps.strats_frame(pool).reset_index()
    assert len(strats) == len(expected)
    assert strats["strat"].tolist() == expected["strat"].tolist()
    assert strats["bucket"].astype(str).tolist() == expected["bucket"].tolist()
    totals = strats[strats["bucket"] == "Total"]
    assert len(totals) == len(pool.strats())
    np.testing.assert_allclose(totals["balance"], pool.balance, rtol=1e-12)
    flows = pd.read_excel(sample_outputs.xlsx, sheet_name="pool_cashflows")
    tidy = cf.to_frame()
    assert len(flows) == len(tidy)
    np.testing.assert_allclose(flows["loss"], tidy["loss"], rtol=1e-12, atol=1e-9)
    scen = pd.read_excel(sample_outputs.xlsx, sheet_name="scenarios", index_col=0)
    np.testing.assert_allclose(
        scen["cumulative_net_loss"], cf.totals()["cumulative_net_loss"], rtol=1e-12
    )
    ws = openpyxl.load_workbook(sample_outputs.xlsx)["strats"]
    header = [c.value for c in ws[1]]
    col = header.index("pct_balance") + 1
    assert ws.cell(row=2, column=col).number_format == "0.00%"


def test_loan_level_cashflows_are_refused(sample_outputs: Any) -> None:
    import abs_engine as ae

    small = sample_outputs.pool.select(np.arange(len(sample_outputs.pool)) < 50)
    cf = ae.project(small, sample_outputs.assumptions, by="loan")
    with pytest.raises(SpecError, match="loan-level"):
        ps.pool_sheets(small, cf, by_group=True)


def test_pool_sheets_cap_the_cashflow_scenarios(
    sample_outputs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cf = sample_outputs.cf
    with caplog.at_level("WARNING", logger="abs_engine.reports.pool_sections"):
        sheets = {s.name: s for s in ps.pool_sheets(sample_outputs.pool, cf, max_scenarios=2)}
    flows = sheets["pool_cashflows"].frame
    assert flows["scenario"].unique().tolist() == cf.scenario_names[:2].tolist()
    assert len(sheets["scenarios"].frame) == cf.n_scenarios
    assert "2 of 9 scenarios" in caplog.text
