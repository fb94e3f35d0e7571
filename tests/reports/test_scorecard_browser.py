"""The scorecard validation report in a headless browser: every chart drawn, offline, no errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import abs_engine as ae
from abs_engine.reports.scorecard import write_validation_report

pytestmark = pytest.mark.browser


def test_validation_report_renders_every_chart_offline(tmp_path: Path, open_page: Any) -> None:
    history = ae.scorecard.synthetic_applications(8_000, seed=3, drift=0.5)
    dev, test = ae.scorecard.split_sample(history, time_column="application_month")
    fitted = ae.scorecard.fit(dev, "default_flag")
    v = ae.scorecard.validate(fitted, test, "default_flag")
    s = ae.scorecard.stability(fitted.scorecard, fitted.baseline, test)
    page = write_validation_report(v, tmp_path, fit=fitted, stability=s, workbook=False)
    opened = open_page(page)
    assert opened.console_errors == []
    assert opened.page_errors == []
    assert [u for u in opened.requests if not u.startswith("file://")] == []
    n_plots = opened.page.eval_on_selector_all(
        "div.plot[data-figure]", "divs => divs.filter(d => d.querySelector('svg.main-svg')).length"
    )
    assert n_plots == 6  # ROC, KS, grades, calibration, IV, score PSI
    rows = opened.page.eval_on_selector_all("#grades-table tbody tr", "rs => rs.length")
    assert rows == 3
    opened.screenshot("scorecard_validation.png")
