"""The calibration report: one self-contained HTML page (plotly.js embedded, opens offline).

Aggregates only: rates and amounts by grade, vintage and age; no receivable
appears.  Amounts of cells with fewer than :data:`MIN_CELL_LOANS` receivables
are withheld from the tables (their rates still enter the charts).
"""

from __future__ import annotations

import html
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from abs_engine.curves.assumptions import DELINQUENCY_STATES
from abs_engine.io import atomic_path

if TYPE_CHECKING:
    from abs_engine.calibrate.calibration import Calibration

__all__ = ["MIN_CELL_LOANS", "REPORT_NAME", "write_report"]

log = logging.getLogger(__name__)

REPORT_NAME = "calibration.html"
#: Table cells built from fewer receivables than this show no amounts.
MIN_CELL_LOANS = 5

_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em;
       color: #222; max-width: 1300px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } p.note { color: #555; font-size: 0.9em; }
details { margin: 0.5em 0 1.5em 0; } summary { cursor: pointer; color: #1f4e79; }
"""


def _version() -> str:
    try:
        return version("abs_engine")
    except PackageNotFoundError:  # pragma: no cover
        return "0.0.0+unknown"


def _pct(v: Any, digits: int = 3) -> str:
    return "" if pd.isna(v) else f"{100.0 * float(v):.{digits}f}%"


def _money(v: Any) -> str:
    return "" if pd.isna(v) else f"{float(v):,.0f}"


def _table(frame: pd.DataFrame, formats: dict[str, Any]) -> str:
    view = frame.copy()
    for col, fmt in formats.items():
        if col in view:
            view[col] = view[col].map(fmt)
    return view.to_html(index=False, escape=True, border=0)


def _static_pool_figure(cal: Calibration) -> go.Figure:
    sp = cal.static_pool
    grades = list(cal.grades)
    titles = [
        t for g in grades for t in (f"{g}: cumulative default", f"{g}: cumulative prepayment")
    ]
    fig = make_subplots(rows=len(grades), cols=2, subplot_titles=titles, vertical_spacing=0.08)
    for r, g in enumerate(grades, start=1):
        sub = sp[sp["grade"] == g]
        for v, frame in sub.groupby("vintage", observed=True):
            for c, col in enumerate(("cum_default", "cum_prepay"), start=1):
                fig.add_trace(
                    go.Scatter(
                        x=frame["age"],
                        y=100.0 * frame[col],
                        mode="lines",
                        name=str(v),
                        legendgroup=str(v),
                        showlegend=(r == 1 and c == 1),
                        hovertemplate=f"vintage {v}<br>age %{{x}}<br>%{{y:.2f}}%<extra>{g}</extra>",
                    ),
                    row=r,
                    col=c,
                )
        fig.update_yaxes(title_text="% of vintage balance", row=r, col=1)
    fig.update_xaxes(title_text="loan age (months)")
    fig.update_layout(
        height=330 * len(grades),
        title="Static pools: cumulative default and prepayment by vintage",
        legend_title_text="vintage",
    )
    return fig


def _curve_figure(cal: Calibration) -> go.Figure:
    c = cal.curves
    grades = list(cal.grades)
    titles = [t for g in grades for t in (f"{g}: monthly default rate (MDR)", f"{g}: SMM")]
    fig = make_subplots(rows=len(grades), cols=2, subplot_titles=titles, vertical_spacing=0.08)
    for r, g in enumerate(grades, start=1):
        sub = c[c["grade"] == g]
        for col, (raw, se, smooth) in enumerate(
            (("mdr", "mdr_se", "mdr_smooth"), ("smm", "smm_se", "smm_smooth")), start=1
        ):
            fig.add_trace(
                go.Scatter(
                    x=sub["age"],
                    y=100.0 * sub[raw],
                    mode="markers",
                    name="raw +/- 2 SE",
                    legendgroup="raw",
                    showlegend=(r == 1 and col == 1),
                    marker={"color": "#1f77b4", "size": 6},
                    error_y={"type": "data", "array": 200.0 * sub[se], "visible": True},
                ),
                row=r,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=sub["age"],
                    y=100.0 * sub[smooth],
                    mode="lines",
                    name="smoothed (assumption)",
                    legendgroup="smooth",
                    showlegend=(r == 1 and col == 1),
                    line={"color": "#d62728"},
                ),
                row=r,
                col=col,
            )
        fig.update_yaxes(title_text="% a month", row=r, col=1)
    fig.update_xaxes(title_text="loan age (months)")
    fig.update_layout(height=330 * len(grades), title="Calibrated curves by age")
    return fig


def _curves_table(cal: Calibration) -> str:
    c = cal.curves.copy()
    few = c["loans"] < MIN_CELL_LOANS
    for col in ("exposure", "defaulted_amount", "prepaid_amount"):
        c[col] = c[col].astype(object).where(~few, "withheld")
    cols = [
        "grade", "age", "loans", "exposure", "mdr", "mdr_se", "mdr_smooth",
        "smm", "smm_se", "smm_smooth", "reliable",
    ]  # fmt: skip
    fmt: dict[str, Any] = dict.fromkeys(
        ("mdr", "mdr_se", "mdr_smooth", "smm", "smm_se", "smm_smooth"), _pct
    )
    fmt["exposure"] = lambda v: v if isinstance(v, str) else _money(v)
    return _table(c[cols], fmt)


def _recovery_table(cal: Calibration) -> str:
    r = cal.recovery.copy()
    return _table(
        r[
            [
                "grade",
                "defaults",
                "defaults_used",
                "recovery_rate",
                "recovery_rate_se",
                "severity",
                "lag_mean",
                "lag_mean_se",
                "recovery_lag",
            ]
        ],
        {
            "recovery_rate": lambda v: _pct(v, 2),
            "recovery_rate_se": lambda v: _pct(v, 2),
            "severity": lambda v: _pct(v, 2),
            "lag_mean": lambda v: "" if pd.isna(v) else f"{v:.2f}",
            "lag_mean_se": lambda v: "" if pd.isna(v) else f"{v:.2f}",
        },
    )


def _roll_tables(cal: Calibration) -> str:
    parts = []
    t = cal.roll_rate_table
    for g in cal.grades:
        sub = t[t["grade"] == g]
        rows = list(DELINQUENCY_STATES[:4])
        cols = list(DELINQUENCY_STATES)
        # The table lists each grade's entries row by row (from-state, then to-state).
        cells = sub["rate"].to_numpy().reshape(len(rows), len(cols))
        errs = sub["se"].to_numpy().reshape(len(rows), len(cols))
        text = np.vectorize(
            lambda p, s: f"{100 * p:.2f}% ({'' if np.isnan(s) else f'{100 * s:.2f}'})"
        )(cells, errs)
        frame = pd.DataFrame(text, index=rows, columns=cols).reset_index(names="from \\ to")
        parts.append(f"<h3>Grade {html.escape(g)}</h3>" + frame.to_html(index=False, border=0))
    return "\n".join(parts)


def write_report(cal: Calibration, out_dir: Path) -> Path:
    """Write ``calibration.html`` into ``out_dir`` (created if needed) atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / REPORT_NAME
    s = cal.settings
    summary = cal.summary().reset_index()
    summary_html = _table(
        summary,
        {
            "exposure": _money,
            "defaulted_amount": _money,
            "prepaid_amount": _money,
            "pooled_cdr": lambda v: _pct(v, 2),
            "pooled_cpr": lambda v: _pct(v, 2),
            "recovery_rate": lambda v: _pct(v, 2),
        },
    )
    fig_static = _static_pool_figure(cal).to_html(full_html=False, include_plotlyjs=True)
    fig_curves = _curve_figure(cal).to_html(full_html=False, include_plotlyjs=False)
    source = html.escape(cal.source or "in-memory history")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Static-pool calibration</title><style>{_CSS}</style></head>
<body>
<h1>Static-pool calibration</h1>
<p class="note">abs_engine {html.escape(_version())} &middot; source: {source} &middot;
{cal.n_rows:,} loan-months of {cal.n_loans:,} receivables &middot; grades
{html.escape(", ".join(cal.grades))} &middot; smoothing {html.escape(s.smoothing)}
(bandwidth {s.bandwidth:g} months) &middot; min_exposure
{"auto" if s.min_exposure is None else f"{s.min_exposure:,.0f}"}.</p>
<h2>Summary by grade</h2>
{summary_html}
<p class="note">Pooled CDR/CPR annualise the balance-weighted monthly rates over all ages.
Curves are monthly rates by loan age (age 1 is the first month).</p>
<h2>Static pools</h2>
<p class="note">Cumulative defaulted and prepaid amounts to each age, as a share of the
vintage's balance at entry.</p>
{fig_static}
<h2>Default and prepayment curves</h2>
<p class="note">Raw balance-weighted estimates with two standard errors, and the smoothed
curve written into the assumptions.  MDR = defaults / begin balance; SMM = prepayments /
(begin balance - contractual amortisation).</p>
{fig_curves}
<details><summary>Curve table</summary>
<p class="note">Amounts of ages with fewer than {MIN_CELL_LOANS} receivables are withheld.</p>
{_curves_table(cal)}
</details>
<h2>Recoveries</h2>
{_recovery_table(cal)}
<p class="note">Recovery rate = recovered / defaulted; lag = recovery-weighted months from
default to recovery (the engine uses it rounded).  Standard errors by the delta method with
the receivable as the unit.</p>
<h2>Roll rates</h2>
<p class="note">Monthly balance-weighted transitions, rate (standard error).  Not part of the
assumptions unless calibrated with include_roll_rates.</p>
{_roll_tables(cal)}
</body></html>
"""
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote the calibration report %s", target)
    return target
