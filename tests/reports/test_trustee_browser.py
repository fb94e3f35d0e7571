"""The trustee report (issue 14) in a headless Chromium: every chart draws, no console
errors, and the trigger table has one row per trigger and payment date, saying which
are breached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.trustee import trustee_cycle

from abs_engine.surveillance.report import build_report, report_tables, write

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def trustee(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    s, pool = trustee_cycle()
    out = write(s, tmp_path_factory.mktemp("trustee") / "out", tapes=[pool])
    return s, out


def test_every_chart_draws_without_errors(trustee: tuple[Any, Path], open_page: Any) -> None:
    s, out = trustee
    opened = open_page(out / "report.html")
    page = opened.page
    assert opened.console_errors == []
    assert opened.page_errors == []
    assert [u for u in opened.requests if not u.startswith("file://")] == []
    n = len(build_report(s).figures)
    assert n >= 15
    svgs = page.eval_on_selector_all(
        "div.plot[data-figure]", "ds => ds.map(d => d.querySelectorAll('svg.main-svg').length)"
    )
    assert len(svgs) == n and all(k >= 1 for k in svgs), svgs
    traces = page.eval_on_selector_all(
        "div.plot[data-figure]",
        "ds => ds.map(d => d.querySelectorAll('g.trace, g.barlayer g.point').length)",
    )
    assert all(k >= 1 for k in traces), traces
    opened.screenshot("trustee-report.png")


def test_the_trigger_table_has_a_row_per_trigger_and_period(
    trustee: tuple[Any, Path], open_page: Any
) -> None:
    s, out = trustee
    page = open_page(out / "report.html").page
    rows = page.eval_on_selector_all(
        "#trigger-table tbody tr",
        "rs => rs.map(r => Array.from(r.children).map(c => c.textContent))",
    )
    headers = page.eval_on_selector_all(
        "#trigger-table thead th", "hs => hs.map(h => h.textContent)"
    )
    t = report_tables(s)["triggers"]
    assert len(rows) == len(s.deal.triggers) * s.n_periods == len(t)
    col = {h: i for i, h in enumerate(headers)}
    assert [r[col["Trigger"]] for r in rows] == t["trigger"].tolist()
    assert [r[col["Period"]] for r in rows] == [str(p) for p in t["period"]]
    assert [r[col["Breached"]] for r in rows] == ["yes" if b else "no" for b in t["breached"]]
    # The excess-spread trigger (breach if below the level) shows "yes" from the first payment
    # date whose value is below its level (tested from the values, not the engine's flag), and
    # this history does cross it: "no" first, then "yes".
    es = [r for r in rows if r[col["Trigger"]] == "excess_spread"]
    te = t[t["trigger"] == "excess_spread"].reset_index(drop=True)
    first = int((te["value"] < te["level"]).to_numpy().argmax())
    assert first >= 1 and (te["value"] < te["level"]).any()
    assert [r[col["Breached"]] for r in es[: first + 1]] == ["no"] * first + ["yes"]
