"""The report in a real headless browser (Debian's Chromium driven by playwright).

Issue 5: the report opens offline with no console errors, every chart has
rendered (plotly's SVG is present), the tables have the expected rows; a
screenshot is kept under test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from abs_engine import reports

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_chromium_starts(browser: Any) -> None:
    page = browser.new_page()
    try:
        page.set_content("<p id='x'>1,234.00</p>")
        assert page.inner_text("#x") == "1,234.00"
        assert browser.version.split(".")[0].isdigit()
    finally:
        page.close()


def test_sample_report_renders_every_chart_offline(sample_outputs: Any, sample_page: Any) -> None:
    opened = sample_page
    page = opened.page
    assert opened.console_errors == []
    assert opened.page_errors == []
    # Self-contained: nothing fetched but the file itself (plotly.js is embedded).
    assert [u for u in opened.requests if not u.startswith("file://")] == []
    n_figures = len(sample_outputs.report.figures)
    assert n_figures >= 10
    svg_per_plot = page.eval_on_selector_all(
        "div.plot[data-figure]", "divs => divs.map(d => d.querySelectorAll('svg.main-svg').length)"
    )
    assert len(svg_per_plot) == n_figures
    assert all(n >= 1 for n in svg_per_plot), svg_per_plot
    # Traces were drawn, not just empty axes: every plot has at least one trace group.
    traces = page.eval_on_selector_all(
        "div.plot[data-figure]",
        "divs => divs.map(d => d.querySelectorAll('g.trace, g.barlayer g.point').length)",
    )
    assert all(n >= 1 for n in traces), traces
    shot = opened.screenshot("report.png")
    assert shot.stat().st_size > 50_000


def _table_after(page: Any, heading: str) -> list[list[str]]:
    """Body rows (first cell and values) of the first table after the h3 named ``heading``."""
    return page.evaluate(
        """(heading) => {
            const h = Array.from(document.querySelectorAll('h3')).find(e => e.textContent === heading);
            let el = h.nextElementSibling;
            while (el && !el.querySelector('table')) { el = el.nextElementSibling; }
            const rows = el.querySelectorAll('table tbody tr');
            return Array.from(rows).map(r => Array.from(r.children).map(c => c.textContent));
        }""",
        heading,
    )


def test_strats_tables_have_one_row_per_bucket_and_a_total(
    sample_outputs: Any, sample_page: Any
) -> None:
    page = sample_page.page
    strats = sample_outputs.pool.strats()
    for name, title in (
        ("grade", "By credit grade"),
        ("payment_type", "By product (payment type)"),
        ("pf_status", "By provident-fund status"),
        ("dpd", "By delinquency at cut-off (days past due)"),
    ):
        rows = _table_after(page, title)
        expected = strats[name]
        assert [r[0] for r in rows] == [str(k) for k in expected.index]
        assert rows[-1][0] == "Total"
        # count and balance as a finance reader expects them: thousands separators, 2 dp
        assert rows[-1][1] == f"{len(sample_outputs.pool):,}"
        assert rows[-1][2] == f"{sample_outputs.pool.balance:,.2f}"
        assert rows[-1][3] == "100.00%"
    grade_rows = _table_after(page, "By credit grade")
    assert [r[0] for r in grade_rows] == ["A", "B", "C", "Total"]
    total_class = page.eval_on_selector_all("tr.total", "rows => rows.length")
    assert total_class >= len(strats)


def test_toc_links_point_at_sections(sample_page: Any) -> None:
    page = sample_page.page
    missing = page.evaluate(
        """() => Array.from(document.querySelectorAll('nav.toc a'))
                .map(a => a.getAttribute('href').slice(1))
                .filter(id => !document.getElementById(id))"""
    )
    assert missing == []
    titles = page.eval_on_selector_all(
        "section.report-section > h2", "hs => hs.map(h => h.textContent)"
    )
    assert titles[0] == "1. Pool stratification"
    assert titles[-1].endswith("Run metadata")


def test_a_broken_figure_is_reported_as_a_console_error(tmp_path: Path, browser: Any) -> None:
    # The check has teeth: a figure plotly cannot draw shows up as a console error.
    report = reports.Report(
        "Broken", [reports.Section("S", [reports.Figure(go.Figure(go.Scatter(x=[1], y=[2])))])]
    )
    text = report.render().replace("Plotly.newPlot(div", "Plotly.newPlot(null")
    path = tmp_path / "broken.html"
    path.write_text(text, encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_timeout(500)
    finally:
        page.close()
    assert errors


def test_print_layout_starts_each_section_on_a_page(open_page: Any, sample_outputs: Any) -> None:
    page = open_page(sample_outputs.html).page
    page.emulate_media(media="print")
    breaks = page.eval_on_selector_all(
        "section.report-section", "ss => ss.map(s => getComputedStyle(s).breakBefore)"
    )
    assert set(breaks) == {"page"}
    # beforeprint opens the collapsed per-month tables so they are printed too
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    closed = page.eval_on_selector_all("details", "ds => ds.filter(d => !d.open).length")
    assert closed == 0
    page.emulate_media(media="screen")


def test_missing_browser_skips_unless_ci(tmp_path: Path) -> None:
    """Without Chromium the browser tests skip with the reason, but fail under CI=true."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["ABS_ENGINE_CHROMIUM"] = str(tmp_path / "nonexistent" / "chromium")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"{HERE / 'test_browser.py'}::test_chromium_starts",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
    ]
    local = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 skipped" in local.stdout
    assert "no Chromium executable at" in local.stdout
    ci = subprocess.run(
        cmd, cwd=ROOT, env=env | {"CI": "true"}, capture_output=True, text=True, timeout=120
    )
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "with CI=true the browser tests must run" in ci.stdout


def test_narrow_window_scrolls_wide_tables(sample_page: Any) -> None:
    page = sample_page.page
    page.set_viewport_size({"width": 700, "height": 800})
    try:
        # Charts follow the window (plotly redraws them on resize); tables scroll in their
        # own box: the page itself never gets wider than the window.
        page.wait_for_function(
            "document.documentElement.scrollWidth <= window.innerWidth + 1", timeout=10_000
        )
    finally:
        page.set_viewport_size({"width": 1300, "height": 900})
