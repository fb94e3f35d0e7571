"""Privacy: no loan id and no borrower-level provident-fund field in any output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import reports
from abs_engine.reports import pool_sections as ps
from abs_engine.reports.privacy import BORROWER_FIELDS, find_identifiers, loan_ids_of

IDS = ["R00000001", "R00000002", "JD-2015-0042"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("loan R00000001 paid", ["R00000001"]),
        ("loan r00000001, paid", ["R00000001"]),  # case-insensitive
        ('{"loan_id":"R00000002"}', ["R00000002"]),
        ("R000000012 and xR00000001", []),  # inside a longer token: not the id
        ("R00000001_x", ["R00000001"]),  # underscore is a boundary
        ("deal JD-2015-0042.", ["JD-2015-0042"]),  # ids with punctuation
        ("JD-2015-00421", []),
        ("grade A 1,234.00 CNY", []),
    ],
)
def test_ids_are_found_as_whole_tokens(text: str, found: list[str]) -> None:
    assert sorted(f.value for f in find_identifiers(text, IDS) if f.kind == "loan_id") == found


def test_borrower_level_field_names_are_found() -> None:
    assert set(BORROWER_FIELDS) == {"pf_monthly_contribution", "pf_years", "pf_status_changes_12m"}
    hits = find_identifiers("loan,pf_years,pf_monthly_contribution\n", IDS)
    assert {f.value for f in hits if f.kind == "field"} == {"pf_years", "pf_monthly_contribution"}
    # aggregates may carry such a word inside a longer name, and pf_status strata are allowed
    assert find_identifiers("wa_pf_years pf_status normal", IDS) == []


def _write_all_formats(folder: Path, leak: str) -> list[Path]:
    frame = pd.DataFrame({"loan_id": [leak, "other"], "balance": [1.0, 2.0]})
    paths = []
    p = folder / "a.csv"
    frame.to_csv(p, index=False)
    paths.append(p)
    p = folder / "a.json"
    p.write_text(json.dumps({"rows": [leak]}))
    paths.append(p)
    p = folder / "a.parquet"
    frame.to_parquet(p)
    paths.append(p)
    p = folder / "a.xlsx"
    reports.write_workbook(p, {"s": frame})
    paths.append(p)
    p = folder / "a.csv.gz"
    p.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    paths.append(p)
    p = folder / "a.html"
    p.write_text(f"<html><body><td>{leak}</td></body></html>")
    paths.append(p)
    # an integer id column in parquet is found too
    p = folder / "b.parquet"
    pd.DataFrame({"id": [int(leak[1:])]}).to_parquet(p)
    return paths


def test_every_output_format_is_scanned(tmp_path: Path) -> None:
    paths = _write_all_formats(tmp_path, "R00000001")
    for p in paths:
        hits = [f for f in find_identifiers(p, IDS) if f.kind == "loan_id"]
        assert [f.value for f in hits] == ["R00000001"], p
        assert hits[0].source.startswith(str(p))
    # an id that is a number cannot be told from figures: the id column's name is found
    found = find_identifiers(tmp_path / "b.parquet", ["1"])
    assert found == []
    pd.DataFrame({"loan_id": [1, 2]}).to_parquet(tmp_path / "c.parquet")
    found = find_identifiers(tmp_path / "c.parquet", ["1"])
    assert [(f.kind, f.value) for f in found] == [("field", "loan_id")]
    # a folder is scanned recursively
    folder_hits = find_identifiers(tmp_path, IDS)
    assert {Path(f.source.split("!")[0]).name for f in folder_hits} >= {p.name for p in paths}


def test_assert_no_identifiers_names_file_and_value(tmp_path: Path) -> None:
    p = tmp_path / "out.csv"
    p.write_text("loan_id\nR00000002\n")
    with pytest.raises(ae.PrivacyError, match=r"out\.csv: loan_id 'R00000002'"):
        reports.assert_no_identifiers(p, IDS)
    clean = tmp_path / "clean.csv"
    clean.write_text("grade,balance\nA,1.0\n")
    reports.assert_no_identifiers(clean, IDS)
    with pytest.raises(ae.PrivacyError, match="no loan ids"):
        reports.assert_no_identifiers(clean, [])
    with pytest.raises(FileNotFoundError):
        reports.assert_no_identifiers(tmp_path / "missing.html", IDS)


def test_the_embedded_plotly_bundle_is_not_data(tmp_path: Path) -> None:
    import plotly.graph_objects as go

    fig = reports.Figure(go.Figure(go.Bar(x=["A"], y=[1])))
    path = reports.Report("T", [reports.Section("S", [fig])]).write(tmp_path / "r.html")
    # pick tokens of plotly.js itself: as "ids" they must not be reported
    from abs_engine.reports.html import plotly_js

    tokens = sorted({t for t in plotly_js()[:5000].split() if t.isalnum() and len(t) > 6})[:20]
    assert tokens
    assert find_identifiers(path, tokens) == []


def test_loan_ids_of_a_pool_include_excluded_rows(sample_frame: pd.DataFrame) -> None:
    bad = sample_frame.head(20).copy()
    bad.loc[bad.index[0], "balance"] = -1.0
    pool = ae.Pool.from_frame(bad, on_error="exclude")
    ids = loan_ids_of(pool)
    assert len(ids) == 20 and set(ids) == set(bad["loan_id"])
    assert loan_ids_of(bad) == list(bad["loan_id"])


# --- the sample outputs ----------------------------------------------------------------------------


def test_sample_report_and_workbook_hold_no_loan_id(sample_outputs: Any) -> None:
    ids = loan_ids_of(sample_outputs.tape)
    assert len(ids) == 3000
    reports.assert_no_identifiers(sample_outputs.html, sample_outputs.pool)
    reports.assert_no_identifiers(sample_outputs.xlsx, sample_outputs.pool)
    reports.assert_no_identifiers(sample_outputs.summary_csv, sample_outputs.pool)
    reports.assert_no_identifiers(sample_outputs.html.parent, ids)


def test_the_check_catches_a_loan_level_leak(sample_outputs: Any, tmp_path: Path) -> None:
    pool = sample_outputs.pool
    small = pool.select(np.arange(len(pool)) < 40)
    cf = ae.project(small, sample_outputs.assumptions, by="loan")
    leak = tmp_path / "loan_flows.csv"
    cf.to_frame(by_group=True).to_csv(leak, index=False)
    with pytest.raises(ae.PrivacyError, match="loan_id"):
        reports.assert_no_identifiers(leak, pool)
    tape = tmp_path / "tape.csv"
    sample_outputs.tape.head(5).to_csv(tape, index=False)
    hits = find_identifiers(tape, pool)
    assert {f.kind for f in hits} == {"loan_id", "field"}


def test_a_collateral_section_of_loan_level_flows_names_no_loan(
    sample_outputs: Any, tmp_path: Path
) -> None:
    pool = sample_outputs.pool
    small = pool.select(np.arange(len(pool)) < 40)
    cf = ae.project(small, sample_outputs.assumptions, by="loan")
    section = ps.collateral_section(cf)
    path = reports.Report("T", [section]).write(tmp_path / "r.html")
    reports.assert_no_identifiers(path, small)


def test_plotly_typed_array_data_is_not_scanned_as_text(tmp_path: Path) -> None:
    """Base64 ``bdata`` of a chart's numbers can hold any letters ("+l5/"), never an id."""
    page = tmp_path / "r.html"
    page.write_text('<p>total</p><script>{"y":{"dtype":"f8","bdata":"kvi+l5\\u002fih"}}</script>')
    assert find_identifiers(page, ["L5"]) == []
    page.write_text("<p>loan L5 paid</p>")
    assert [f.value for f in find_identifiers(page, ["L5"])] == ["L5"]
