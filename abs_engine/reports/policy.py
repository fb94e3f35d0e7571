"""Report section of a policy what-if: grade mix, implied curves and funding, side by side.

Aggregates only: balances and shares by policy and grade, per-grade curve
summaries, and one column of funding figures per policy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abs_engine.policy.whatif import PolicyWhatIf
from abs_engine.reports.html import Block, Figure, Heading, Paragraph, Section, Table

__all__ = ["comparison_frame", "policy_section"]

#: Display format of each funding measure.
_MEASURE_FORMATS = {
    "receivables": "int",
    "balance": "money0",
    "declined_share": "pct",
    "expected_cnl": "pct",
    "advance_rate": "pct",
    "cost_of_funds": "pct",
    "excess_spread": "pct",
    "equity_irr": "pct",
    "equity_yield_as_structured": "pct",
}
_MEASURE_LABELS = {
    "receivables": "Receivables kept",
    "balance": "Balance kept",
    "declined_share": "Declined (share of the tape's balance)",
    "expected_cnl": "Expected cumulative net loss (base case, share of the pool)",
    "advance_rate": "Advance rate (sized rated notes / pool)",
    "cost_of_funds": "Cost of funds (rated coupons, weights balance x WAL)",
    "excess_spread": "Excess spread (annualised, base case)",
    "equity_irr": "Equity IRR (sized deal, nominal at the payment frequency)",
    "equity_yield_as_structured": "Equity yield, deal as structured",
}


def comparison_frame(whatif: PolicyWhatIf) -> pd.DataFrame:
    """The funding comparison as display text: one row per measure, one column per policy."""
    table = whatif.comparison()
    rows = []
    for measure, values in table.iterrows():
        name = str(measure)
        if name.startswith("breakeven_"):
            label = f"Break-even default multiple, {name[len('breakeven_') :]}"
            text = [f"{float(v):.2f}x" if np.isfinite(float(v)) else "never" for v in values]
        elif name == "sizing_note":
            label = "Sizing note"
            text = ["" if pd.isna(v) else str(v) for v in values]
        elif name.startswith("cnl_at_breakeven_"):
            label = f"Pool net loss at break-even, {name[len('cnl_at_breakeven_') :]}"
            text = ["" if pd.isna(v) else f"{float(v):.2%}" for v in values]
        else:
            label = _MEASURE_LABELS.get(name, name)
            spec = _MEASURE_FORMATS.get(name, "float2")
            text = [_fmt(v, spec) for v in values]
        rows.append([label, *text])
    return pd.DataFrame(rows, columns=["measure", *[str(c) for c in table.columns]])


def _fmt(v: object, spec: str) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    x = float(v)  # type: ignore[arg-type]
    if spec == "pct":
        return f"{x:.2%}"
    if spec == "int":
        return f"{x:,.0f}"
    if spec == "money0":
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def _mix_figure(whatif: PolicyWhatIf) -> go.Figure:
    mix = whatif.mix[whatif.mix["grade"] != "declined"]
    fig = go.Figure()
    for g, part in mix.groupby("grade", sort=False):
        fig.add_trace(go.Bar(x=part["policy"], y=part["share"], name=str(g)))
    fig.update_layout(
        title="Grade mix of the kept balance by policy",
        barmode="stack",
        yaxis={"tickformat": ".0%"},
        xaxis={"type": "category"},
        hovermode="closest",
    )
    return fig


def policy_section(whatif: PolicyWhatIf, *, title: str = "Credit policy what-if") -> Section:
    """Funding side by side, the grade mix and the implied per-grade curves of each policy."""
    policies = ", ".join(
        f"{p.name}"
        + (f" (thresholds {', '.join(f'{t:g}' for t in p.thresholds)})" if p.thresholds else "")
        + (f" (declines below {p.min_score:g})" if p.min_score is not None else "")
        + (" (own credit limits)" if p.credit_limit is not None else "")
        for p in whatif.policies
    )
    blocks: list[Block] = [
        Paragraph(f"Policies compared: {policies}."),
        Table(
            comparison_frame(whatif),
            {"measure": "text"} | {str(c): "text" for c in whatif.comparison().columns},
            caption="Funding under each policy",
            id="policy-comparison",
        ),
        Paragraph(
            "Break-even multiples are multiples of each policy's own base default curves; the pool "
            "net loss at break-even compares across policies.",
            kind="note",
        ),
        Figure(_mix_figure(whatif)),
        Heading("Grade mix"),
        Table(
            whatif.mix,
            {
                "policy": "text",
                "grade": "text",
                "receivables": "int",
                "balance": "money0",
                "share": "pct",
                "mean_score": "float1",
                "mean_pd": "pct",
            },
        ),
        Heading("Implied curves by grade"),
        Table(
            whatif.curves,
            {
                "policy": "text",
                "grade": "text",
                "default_multiple": "float3",
                "cdr_12m": "pct",
                "lifetime_default": "pct",
                "severity": "pct",
                "recovery_lag": "int",
            },
            note="default multiple: the grade's expected defaults over those of its slices at their "
            "current grades' curves; lifetime default per unit originated, prepayments competing.",
        ),
    ]
    return Section(title, blocks, id="policy-whatif")
