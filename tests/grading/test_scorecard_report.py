"""The scorecard validation report and the drift in the pool report's early-warning section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import abs_engine as ae
from abs_engine import reports
from abs_engine.grading import early_warning, grade
from abs_engine.reports import pool_sections as ps
from abs_engine.reports.scorecard import validation_report, withhold_small, write_validation_report

TARGET = "default_flag"


@pytest.fixture(scope="module")
def checked() -> tuple[
    ae.scorecard.ScorecardFit, ae.scorecard.Validation, ae.scorecard.Stability, pd.DataFrame
]:
    history = ae.scorecard.synthetic_applications(20_000, seed=12, drift=0.8)
    dev, test = ae.scorecard.split_sample(history, time_column="application_month")
    fitted = ae.scorecard.fit(dev, TARGET)
    return (
        fitted,
        ae.scorecard.validate(fitted, test, TARGET),
        ae.scorecard.stability(fitted.scorecard, fitted.baseline, test),
        history,
    )


def test_report_has_every_section_and_aggregates_only(checked: tuple, tmp_path: Path) -> None:
    fitted, v, s, history = checked
    page = write_validation_report(v, tmp_path / "out", fit=fitted, stability=s)
    assert page.name == "validation.html"
    html = page.read_text()
    for title in (
        "Discrimination",
        "Default rate by grade",
        "Calibration by score band",
        "Information value",
        "The card",
        "Scorecard stability",
    ):
        assert f"{title}</h2>" in html
    assert "Hanley-McNeil" in html and "Wilson" in html
    assert "revalidate" in html  # the drifting months raise a stability warning
    # aggregates only: no applicant id anywhere in the page or the workbook
    reports.assert_no_identifiers(tmp_path / "out", history["applicant_id"], fields=())
    report = validation_report(v, fit=fitted, stability=s)
    longest = max(len(t.frame) for sec in report.sections for t in sec.tables)
    assert longest <= 60  # bins, bands and grades, never rows of borrowers
    wb = load_workbook(tmp_path / "out" / "validation.xlsx", read_only=True)
    assert {"summary", "grades", "calibration", "information_value", "points", "stability"} <= set(
        wb.sheetnames
    )


def test_small_cells_show_their_count_only(checked: tuple) -> None:
    _, v, _, _ = checked
    grades, withheld = withhold_small(v.grades, min_cell=int(v.grades["count"].min()) + 1)
    assert withheld == 1
    small = grades["count"].idxmin()
    assert grades.loc[small, ["defaults", "default_rate", "ci_low", "ci_high"]].isna().all()
    assert grades.drop(index=small)["default_rate"].notna().all()
    report = validation_report(v, min_cell=int(v.grades["count"].min()) + 1)
    assert "1 grade(s) with fewer than" in report.render(include_plotlyjs=False)


def test_pool_report_early_warning_section_shows_drift(checked: tuple) -> None:
    fitted, _, _, _ = checked
    tape = ae.sample_pool(n=2_000, seed=5)
    tape["spend_volatility"] = np.round(np.random.default_rng(2).gamma(2.0, 0.3, len(tape)), 2)
    graded = grade(tape, fitted.scorecard)
    pool = ae.Pool.from_frame(pd.concat([graded, early_warning(graded, fitted.scorecard)], axis=1))
    drift = ae.scorecard.stability(fitted.scorecard, fitted.baseline, tape)
    section = ps.early_warning_section(pool, stability=drift)
    assert section is not None and section.id == "early-warning"
    captions = [t.caption for t in section.tables]
    assert captions == [
        "Early-warning flags (receivables may carry several)",
        "Score, grade-mix and attribute stability",
    ]
    assert ps.early_warning_section(ae.Pool.from_frame(tape)) is None
    cf = ae.project(pool, ae.Assumptions(default=ae.curves.cdr(0.05)))
    report = ps.pool_report(pool, cf, stability=drift)
    titles = [sec.title for sec in report.sections]
    assert titles[:2] == ["Pool stratification", "Early warning"]
    html = report.render(include_plotlyjs=False)
    assert 'id="stability-table"' in html
    reports.assert_no_identifiers(html, tape["loan_id"], fields=())
