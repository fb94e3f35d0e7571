"""Report sections for a deal run.

Capital stack, tranches, notes, coverage, scenarios, prospectus tables,
break-even, and the surveillance view of a seasoned deal.

Every builder takes engine results (an :class:`~abs_engine.analytics.AnalysedRun`)
and returns a :class:`~abs_engine.reports.html.Section`; numbers are rounded
for display only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abs_engine.analytics.deal import AnalysedRun
from abs_engine.analytics.glossary import TABLES
from abs_engine.deal.spec import Deal
from abs_engine.pool.pool import Pool
from abs_engine.reports.html import Block, Figure, KeyValue, Section, Table

__all__ = [
    "TRANCHE_TABLE_ID",
    "breakeven_section",
    "capital_stack_section",
    "conventions_frame",
    "coverage_range",
    "coverage_section",
    "notes_section",
    "prospectus_section",
    "rated_life",
    "scenario_comparison_section",
    "surveillance_section",
    "tranche_table",
]

TRANCHE_TABLE_ID = "tranche-table"
_BASE = 0  # the first scenario is shown in detail


def _fig(title: str, y_title: str, y_format: str = ",.0f") -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title, yaxis_title=y_title, yaxis_tickformat=y_format, hovermode="x unified"
    )
    return fig


def conventions_frame(summary: pd.DataFrame, breakevens: pd.DataFrame | None) -> pd.DataFrame:
    """The workbook's ``conventions`` sheet: units and convention of every column written.

    The run's own conventions (compounding, day count, settlement) come from
    ``summary.attrs``; the rest from the glossary of ``docs/outputs.md``.
    """
    run_conv = summary.attrs.get("conventions", {})
    rows = []
    for key, frame in (("summary", summary), ("breakeven", breakevens)):
        if frame is None:
            continue
        table = next(t for t in TABLES if t.key == key)
        for c in table.columns:
            if c.name not in frame.columns:
                continue
            conv = run_conv.get(c.name, c.convention) if key == "summary" else c.convention
            rows.append(
                {
                    "sheet": key,
                    "column": c.name,
                    "units": c.units,
                    "convention": conv,
                    "definition": c.definition,
                    "formula": c.formula,
                }
            )
    return pd.DataFrame(
        rows, columns=["sheet", "column", "units", "convention", "definition", "formula"]
    )


def capital_stack_section(result: AnalysedRun) -> Section:
    """Deal facts and the capital stack at settlement."""
    deal = result.deal
    d = deal.dates
    pool0 = float(result.pool["begin_balance"][_BASE, 0])
    faces = {n: float(result.face(n)[_BASE]) for n in result.tranche_names}
    notes = sum(faces.values())
    reserve0 = float(result.account["reserve_begin"][_BASE, 0])
    facts: list[tuple[str, object, str]] = [
        ("Deal", deal.name, "text"),
        ("Currency", deal.currency, "text"),
        ("Cut-off", d.cutoff, "date"),
        ("Closing", d.closing, "date"),
        ("First payment", d.first_payment, "date"),
        ("Legal final", d.legal_final, "date"),
        ("Payments a year", d.periods_per_year, "float0"),
        ("Day count", d.day_count, "text"),
        ("Pool balance", pool0, "money"),
        ("Notes", notes, "money"),
        ("Over-collateralisation", (pool0 - notes) / pool0 if pool0 else np.nan, "pct"),
        ("Reserve at closing", reserve0, "money"),
        ("Revolving periods", deal.revolving.periods if deal.revolving else 0, "int"),
        ("Loss allocation", deal.loss_allocation, "text"),
    ]
    if deal.state is not None:
        facts.insert(1, ("As of", deal.state.as_of, "date"))
    # Stacked bottom-up in order of loss: over-collateralisation takes the first loss,
    # then the equity, then each rated class up to the senior notes on top.
    fig = go.Figure()
    if pool0 > notes:
        fig.add_bar(name="over-collateralisation", x=["capital stack"], y=[(pool0 - notes) / pool0])
    for name in reversed(result.tranche_names):
        fig.add_bar(name=name, x=["capital stack"], y=[faces[name] / pool0 if pool0 else 0.0])
    fig.update_layout(
        barmode="stack",
        title="Capital stack (share of the pool; first loss at the bottom)",
        yaxis_tickformat=".0%",
        legend_traceorder="reversed",
    )
    return Section(
        "Deal summary and capital stack", [KeyValue(facts, caption="Deal"), Figure(fig, height=360)]
    )


def tranche_table(
    result: AnalysedRun,
    summary: pd.DataFrame,
    breakevens: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The tranche table of the first scenario: one row per tranche."""
    base = summary[summary["scenario"] == result.scenario_names[_BASE]].set_index("tranche")
    pool0 = float(result.pool["begin_balance"][_BASE, 0])
    rows = []
    for name in result.tranche_names:
        r = base.loc[name]
        rows.append(
            {
                "tranche": name,
                "class": r["class"],
                "balance": r["balance"],
                "pct_pool": r["balance"] / pool0 if pool0 else np.nan,
                "coupon": r["coupon"],
                "price": r["price"],
                "full_price": r["full_price"],
                "yield": r["yield"],
                "effective_yield": r["effective_yield"],
                "wal": r["wal"],
                "modified_duration": r["modified_duration"],
                "principal_window": _window(r["first_principal"], r["last_principal"]),
                "principal_loss_share": r["principal_loss_share"],
                "credit_enhancement": r["credit_enhancement"],
                "breakeven": np.nan,
            }
        )
    frame = pd.DataFrame(rows)
    if breakevens is not None:
        be = breakevens.set_index("tranche")["breakeven"]
        frame["breakeven"] = frame["tranche"].map(be).astype(float)
    return frame


def _window(first: Any, last: Any) -> str:
    if first is None or pd.isna(first):
        return ""
    return f"{str(first)[:7]} to {str(last)[:7]}"


TRANCHE_FORMATS = {
    "tranche": "text",
    "class": "text",
    "balance": "money",
    "pct_pool": "pct",
    "coupon": "pct",
    "price": "float3",
    "full_price": "float3",
    "yield": "pct",
    "effective_yield": "pct",
    "wal": "years",
    "modified_duration": "float2",
    "principal_window": "text",
    "principal_loss_share": "pct",
    "credit_enhancement": "pct",
    "breakeven": "multiple",
}
TRANCHE_LABELS = {
    "pct_pool": "% of pool",
    "price": "Clean price (% of balance)",
    "full_price": "Full price (% of balance)",
    "wal": "WAL (years)",
    "principal_loss_share": "Principal loss (share of original balance)",
    "breakeven": "Break-even default multiple",
}


def tranche_labels(summary: pd.DataFrame) -> dict[str, str]:
    """Tranche-table headers that say their convention (from ``summary.attrs``)."""
    labels = dict(TRANCHE_LABELS)
    label = summary.attrs.get("convention")
    if label:
        labels["yield"] = f"Yield ({label})"
        labels["effective_yield"] = "Yield (annual effective)"
    return labels


def tranche_note(result: AnalysedRun, summary: pd.DataFrame) -> str:
    """The tranche table's footnote: settlement, price basis, the residual holder, conventions."""
    conv = summary.attrs.get("conventions", {})
    holder = next(t.name for t in result.deal.tranches if t.kind == "equity")
    parts = [
        f"Yield: {conv['yield']}." if "yield" in conv else "",
        f"Effective yield: {conv['effective_yield']}." if "effective_yield" in conv else "",
        "Prices are clean, in percent of the class balance at settlement; full price adds "
        "accrued interest."
        + (f" Accrued interest: {conv['accrued_interest']}." if "accrued_interest" in conv else ""),
        f"The {holder} row is the residual holder's position: its price is its outlay from "
        "sources and uses (equity notes, over-collateralisation and initial reserve, see the "
        "table above) in percent of the class balance, and its yield is the equity IRR on that "
        "outlay, not on the notes' face.",
        f"Modified duration: {conv['modified_duration']}." if "modified_duration" in conv else "",
        "Break-even: the smallest multiple of the base default curve at which the class first "
        "loses principal.",
    ]
    return " ".join(p for p in parts if p)


SOURCES_USES_FORMATS = {
    "side": "text",
    "item": "text",
    "tranche": "text",
    "amount": "money",
    "share_of_pool": "pct",
}


def sources_and_uses_table(result: AnalysedRun, prices: Any = None) -> Table | None:
    """Sources and uses of funds at closing (a new deal only)."""
    if result.deal.state is not None:
        return None
    frame = result.sources_and_uses(prices)
    return Table(
        frame,
        SOURCES_USES_FORMATS,
        caption="Sources and uses at closing",
        labels={"share_of_pool": "Share of pool"},
        total_label="Total uses",
        note=(
            "The residual holder pays for what the rated notes do not fund: the equity notes, the "
            "over-collateralisation (pool less every note) and the initial reserve. Its total "
            f"({result.deal.currency} {frame.attrs['residual_outlay']:,.0f}) is the outlay the "
            "equity IRR is measured on."
        ),
        id="sources-and-uses",
    )


def notes_section(
    result: AnalysedRun,
    summary: pd.DataFrame,
    breakevens: pd.DataFrame | None,
    prices: Any = None,
) -> Section:
    """Sources and uses, tranche table and note balances of the first scenario."""
    table = tranche_table(result, summary, breakevens)
    fig = _fig(f"Note balances — scenario {result.scenario_names[_BASE]}", "balance")
    for i, name in enumerate(result.tranche_names):
        fig.add_scatter(
            x=result.dates, y=result.tranche["end_balance"][_BASE, i], name=name, mode="lines"
        )
    fig.add_scatter(
        x=result.dates,
        y=result.pool["end_balance"][_BASE],
        name="pool (performing)",
        mode="lines",
        line_dash="dot",
    )
    cash = pd.DataFrame(
        {
            "date": np.tile(result.dates, len(result.tranche_names)),
            "tranche": np.repeat(np.asarray(result.tranche_names, dtype=object), result.n_periods),
            "interest_paid": result.tranche["interest_paid"][_BASE].reshape(-1),
            "principal_paid": result.tranche["principal_paid"][_BASE].reshape(-1),
            "writedown": result.tranche["writedown"][_BASE].reshape(-1),
            "residual": result.tranche["residual"][_BASE].reshape(-1),
            "end_balance": result.tranche["end_balance"][_BASE].reshape(-1),
        }
    )
    blocks: list[Block] = []
    su = sources_and_uses_table(result, prices)
    if su is not None:
        blocks.append(su)
    blocks += [
        Table(
            table,
            TRANCHE_FORMATS,
            caption=f"Tranches — scenario {result.scenario_names[_BASE]}",
            labels=tranche_labels(summary),
            id=TRANCHE_TABLE_ID,
            note=tranche_note(result, summary),
        ),
        Figure(fig),
        Table(
            cash,
            {"date": "date", "tranche": "text"},
            caption="Note cash flows by period",
            collapsed=True,
        ),
    ]
    return Section("Notes", blocks)


def rated_life(result: AnalysedRun, scenario: int = _BASE) -> int:
    """Periods up to the one in which the last rated class is repaid (or the run's end)."""
    rated = np.array([t.kind != "equity" for t in result.deal.tranches])
    begin = result.tranche["begin_balance"][scenario][rated].sum(axis=0)
    live = np.flatnonzero(begin > 1e-9)
    return int(live[-1]) + 1 if live.size else result.n_periods


def coverage_range(values: Any, levels: Sequence[float]) -> tuple[float, float]:
    """The y-axis of a coverage chart: the range that decides anything.

    From ``min(0.8, lowest value, floored at -1)`` to the largest of 2.0, 1.5 x the
    highest trigger level and 1.25 x the highest ratio at the first payment date: a
    ratio whose denominator is vanishing as a class is repaid (OC of 26x, IC of -16)
    lies off the chart instead of flattening the 1.0-1.5 range (the hover shows it).
    """
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    first = np.asarray(values, dtype=np.float64)[..., :1]
    first = first[np.isfinite(first)]
    hi = max(2.0, 1.5 * max(levels, default=0.0), 1.25 * float(first.max()) if first.size else 0.0)
    lo = min(0.8, max(float(finite.min()), -1.0) if finite.size else 0.8)
    return (lo - 0.05 * (hi - lo), hi)


def coverage_section(result: AnalysedRun) -> Section:
    """OC and IC by tranche against their trigger levels, while rated notes are outstanding."""
    cov = result.coverage_arrays()
    blocks: list[Block] = []
    T = rated_life(result)
    dates = result.dates[:T]
    rated = [i for i, t in enumerate(result.deal.tranches) if t.kind != "equity"]
    for kind, label in (("oc", "OC ratio"), ("ic", "IC ratio")):
        fig = _fig(f"{label} by tranche — scenario {result.scenario_names[_BASE]}", label, ".2f")
        for i in rated:
            fig.add_scatter(
                x=dates, y=cov[kind][_BASE, i, :T], name=result.tranche_names[i], mode="lines"
            )
        levels = [t.level for t in result.deal.triggers if t.kind == kind]
        for trig in result.deal.triggers:
            if trig.kind == kind:
                fig.add_hline(
                    y=trig.level, line_dash="dash", annotation_text=f"{trig.name} ({trig.tranche})"
                )
        lo, hi = coverage_range(cov[kind][_BASE][rated, :T], levels)
        fig.update_yaxes(range=[lo, hi])
        blocks.append(
            Figure(
                fig,
                caption="Until the last rated class is repaid; a ratio above the axis (its class "
                "nearly repaid) is off the chart, the hover shows it.",
            )
        )
    fig = _fig("Excess spread (annualised)", "excess spread", ".1%")
    fig.add_scatter(
        x=result.dates, y=cov["excess_spread"][_BASE], name="excess spread", mode="lines"
    )
    for trig in result.deal.triggers:
        if trig.kind == "excess_spread":
            fig.add_hline(
                y=trig.level,
                line_dash="dash",
                annotation_text=f"{trig.name} ({trig.periods}-period average)",
            )
    blocks.append(Figure(fig))
    if result.deal.triggers:
        fired = result.trigger[_BASE].any(axis=1)
        first = [
            str(result.dates[int(np.argmax(result.trigger[_BASE, k]))])[:10] if fired[k] else ""
            for k in range(len(fired))
        ]
        trig_frame = pd.DataFrame(
            {
                "trigger": [t.name for t in result.deal.triggers],
                "type": [t.kind for t in result.deal.triggers],
                "level": [
                    t.level if t.kind != "interest_shortfall" else np.nan
                    for t in result.deal.triggers
                ],
                "effects": [", ".join(t.effects) for t in result.deal.triggers],
                "breached": fired,
                "first_breach": first,
            }
        )
        blocks.append(
            Table(
                trig_frame,
                {"level": "float4", "breached": "text"},
                caption="Triggers in this scenario",
            )
        )
    return Section("Coverage and triggers", blocks)


def _yield_labels(summary: pd.DataFrame) -> dict[str, str]:
    label = summary.attrs.get("convention")
    return {"yield": f"Yield ({label})"} if label else {}


def _yield_note(summary: pd.DataFrame) -> str | None:
    conv = summary.attrs.get("conventions", {})
    if "yield" not in conv:
        return None
    return (
        f"Yield: {conv['yield']}; the equity class's yield is the residual holder's IRR on its "
        "outlay (sources and uses). Losses are shares of the original balance."
    )


def scenario_comparison_section(
    result: AnalysedRun, summary: pd.DataFrame, max_rows: int = 60
) -> Section | None:
    """Per tranche and scenario: yield, WAL, principal loss; a distribution when there are many."""
    if result.n_scenarios < 2:
        return None
    cols = [
        "scenario",
        "tranche",
        "yield",
        "wal",
        "principal_loss_share",
        "interest_shortfall_share",
        "min_oc",
    ]
    frame = summary[cols]
    blocks: list[Block] = []
    if result.n_scenarios * len(result.tranche_names) <= max_rows:
        blocks.append(
            Table(
                frame,
                {
                    "yield": "pct",
                    "wal": "years",
                    "principal_loss_share": "pct",
                    "interest_shortfall_share": "pct",
                    "min_oc": "float2",
                },
                caption="Tranches by scenario",
                labels=_yield_labels(summary),
                note=_yield_note(summary),
            )
        )
    else:
        q = frame.groupby("tranche", sort=False)[["yield", "wal", "principal_loss_share"]].describe(
            percentiles=[0.01, 0.5, 0.99]
        )
        q.columns = ["_".join(map(str, col)) for col in q.columns.to_flat_index()]
        blocks.append(
            Table(
                q.reset_index(),
                caption=f"Distribution over {result.n_scenarios:,} scenarios",
                note=_yield_note(summary),
            )
        )
    fig = _fig("Principal loss by scenario", "loss (share of original balance)", ".1%")
    names = result.scenario_names[: min(result.n_scenarios, 40)]
    for name in result.tranche_names:
        part = frame[(frame["tranche"] == name) & frame["scenario"].isin(names)]
        fig.add_bar(name=name, x=part["scenario"], y=part["principal_loss_share"])
    fig.update_layout(barmode="group")
    blocks.append(Figure(fig))
    return Section("Notes across scenarios", blocks)


def prospectus_section(
    decrement: Mapping[str, pd.DataFrame], price_yield: Mapping[str, pd.DataFrame]
) -> Section:
    """Decrement tables (percent outstanding by date and prepayment speed) and price/yield tables."""
    blocks: list[Block] = []
    for name, table in decrement.items():
        body = table.copy()
        units = table.attrs.get("units", "% of original balance outstanding; last row WAL in years")
        blocks.append(
            Table(
                body.reset_index().rename(columns={"index": "date"}),
                dict.fromkeys(body.columns, "float2"),
                caption=f"Decrement table — {name}",
                note=f"{units[0].upper()}{units[1:]}.",
            )
        )
    for name, table in price_yield.items():
        conv = table.attrs.get("conventions", {})
        note = " ".join(
            f"{label}: {conv[key]}."
            for key, label in (("price", "Price"), ("yield", "Yield"))
            if key in conv
        )
        blocks.append(
            Table(
                table.reset_index(),
                dict.fromkeys(table.columns, "pct"),
                caption=f"Price / yield — {name} (clean price in % of the balance at settlement)",
                note=note or None,
            )
        )
    return Section("Prospectus tables", blocks)


def breakeven_section(breakevens: pd.DataFrame) -> Section:
    """Break-even default multiples and loss coverage (multiples of the base-case CNL)."""
    cols = [
        "tranche",
        "breakeven",
        "tolerance",
        "monotone",
        "cumulative_net_loss",
        "loss_coverage_multiple",
    ]
    frame = breakevens[[c for c in cols if c in breakevens.columns]].copy()
    frame["monotone"] = frame["monotone"].map({True: "yes", False: "no"})
    first = breakevens.iloc[0] if len(breakevens) else None
    lever = "" if first is None else str(first["lever"])
    unit = "constant CDR" if lever == "cdr" else "multiple of the base default curve"
    base = "" if first is None else str(first["cnl_base"])
    base_cnl = np.nan if first is None else float(first["base_cumulative_net_loss"])
    step = np.nan if first is None else float(first["scan_step"])
    return Section(
        "Break-even and loss coverage",
        [
            Table(
                frame,
                {
                    "breakeven": "pct" if lever == "cdr" else "multiple",
                    "tolerance": "float4",
                    "monotone": "text",
                    "cumulative_net_loss": "pct",
                    "loss_coverage_multiple": "multiple",
                },
                labels={
                    "breakeven": f"Break-even ({unit})",
                    "monotone": "Losses monotone in the stress",
                    "cumulative_net_loss": "Collateral CNL at the break-even",
                    "loss_coverage_multiple": "Multiple of base-case CNL",
                },
                caption="The smallest stress at which each tranche first loses principal",
                note=(
                    f"Found by scanning the stress from zero in steps of {step:g} and bisecting the "
                    "first failing step, so the first loss is found also where losses are not "
                    "monotone in the stress. Cumulative net loss (CNL) = defaults less recoveries "
                    f"of the deal's own collateral over the run, a share of the {base}; the "
                    f"multiple is CNL at the break-even over the base-case CNL ({base_cnl:.2%})."
                ),
            )
        ],
    )


def surveillance_section(result: AnalysedRun, pool: Pool | None) -> Section:
    """The periodic view of a seasoned deal: position as of the state's date and the next period."""
    deal: Deal = result.deal
    st = deal.state
    assert st is not None
    original = result.original_balances
    rows = []
    for name in result.tranche_names:
        bal = float(st.balances.get(name, 0.0))
        face = float(original.get(name, 0.0))
        rows.append(
            {
                "tranche": name,
                "original_balance": face,
                "balance": bal,
                "factor": bal / face if face else np.nan,
                "unpaid_interest": float(st.unpaid_interest.get(name, 0.0)),
            }
        )
    notes = pd.DataFrame(rows)
    pool0 = st.original_pool_balance or result.pool_balance
    trig_rows = []
    for t in deal.triggers:
        value = (
            st.cumulative_default / (pool0 + st.purchased)
            if t.kind == "cumulative_default"
            else np.nan
        )
        trig_rows.append(
            {
                "trigger": t.name,
                "type": t.kind,
                "level": t.level if t.kind != "interest_shortfall" else np.nan,
                "current": value,
                "breached": bool(st.triggers.get(t.name, False)),
            }
        )
    nxt = 0
    period = pd.DataFrame(
        {
            "item": [
                "interest collections",
                "principal collections",
                "defaults",
                "fees paid",
                "note interest paid",
                "note principal paid",
                "residual to equity",
            ],
            "amount": [
                result.account["revenue"][_BASE, nxt],
                result.account["principal_collections"][_BASE, nxt],
                result.pool["default"][_BASE, nxt],
                result.fee["paid"][_BASE, :, nxt].sum(),
                result.tranche["interest_paid"][_BASE, :, nxt].sum(),
                result.tranche["principal_paid"][_BASE, :, nxt].sum(),
                result.account["residual"][_BASE, nxt],
            ],
        }
    )
    blocks: list[Block] = [
        KeyValue(
            [
                ("As of", st.as_of, "date"),
                ("Next payment date", result.dates[0], "date"),
                ("Reserve balance", st.reserve, "money"),
                ("Cumulative defaults", st.cumulative_default, "money"),
                ("Cumulative default rate", st.cumulative_default / (pool0 + st.purchased), "pct"),
                ("Principal deficiency ledger", st.pdl, "money"),
                (
                    "Current pool balance",
                    result.pool_balance if pool is None else pool.balance,
                    "money",
                ),
            ],
            caption="Position",
        ),
        Table(notes, {"factor": "float4"}, caption="Notes: balances and factors"),
        Table(period, {"amount": "money"}, caption="Next period, projected (first scenario)"),
    ]
    if trig_rows:
        blocks.append(
            Table(
                pd.DataFrame(trig_rows),
                {"level": "float4", "current": "float4", "breached": "text"},
                caption="Cumulative default and triggers against their levels",
            )
        )
    if pool is not None:
        dpd = pool.strats("dpd")
        assert isinstance(dpd, pd.DataFrame)
        blocks.append(
            Table(
                dpd[["count", "balance", "pct_balance"]], caption="Delinquency of the current tape"
            )
        )
    return Section("Surveillance", blocks)


def pick_price_yield_tranches(result: AnalysedRun) -> Sequence[str]:
    """The rated tranches (price/yield tables are for notes with a coupon)."""
    return [t.name for t in result.deal.tranches if t.kind != "equity"]
