"""The trustee / investor report of a surveillance cycle: HTML, Excel, the state and the tables.

Files (``out_dir``, written atomically: nothing appears unless everything was written):

``report.html``
    The trustee report, self-contained (plotly.js embedded): the deal's
    position; the period's distributions by waterfall line item; note
    interest (paid and short), principal, balances and factors; the reserve
    account and the PDL; the trigger table (value, level, breached: one row
    per trigger and period); delinquency 30/60/90+, cumulative gross and net
    loss against the trigger level, CDR/CPR, revolving purchases and the
    pool factor; actual against projected with the Monte Carlo band; the
    early warning; the base case re-projected from today.
``report.xlsx``
    One sheet per tidy table (:func:`report_tables`), the same figures.
``state.toml``
    The deal with its ``[state]`` after the last period: ``abs-engine run
    state.toml`` (or :func:`abs_engine.load_deal`) re-projects from it.
``tables/<name>.parquet``
    The tidy tables.
``run.json``
    Package version, git commit, spec hash, settings, files.

Privacy: everything is an aggregate (by grade, or the pool); by-grade cells of
fewer than :data:`~abs_engine.surveillance.early_warning.MIN_CELL`
receivables (when the servicer gives counts) are withheld, and the directory
is scanned for every loan id of the tapes given before it is put in place.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abs_engine.deal.spec import deal_to_dict, write_deal
from abs_engine.io import atomic_dir
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.reports.excel import Sheet, write_workbook
from abs_engine.reports.html import Block, Figure, KeyValue, Paragraph, Report, Section, Table
from abs_engine.reports.metadata import RunMetadata, run_metadata
from abs_engine.reports.privacy import assert_no_identifiers
from abs_engine.reports.run import _check_target as check_target
from abs_engine.surveillance.early_warning import MIN_CELL
from abs_engine.surveillance.surveil import Surveillance

__all__ = ["FILES", "TRIGGER_TABLE_ID", "build_report", "report_tables", "write"]

log = logging.getLogger(__name__)

FILES = ("report.html", "report.xlsx", "state.toml", "tables", "run.json")
TRIGGER_TABLE_ID = "trigger-table"
Progress = Callable[[str], None]

_MEASURE_LABELS = {
    "cdr": "CDR (annualised)",
    "cpr": "CPR (annualised)",
    "severity": "Loss severity (cumulative)",
    "cumulative_default_rate": "Cumulative gross loss (defaults)",
    "cumulative_net_loss": "Cumulative net loss",
    "pool_factor": "Pool factor",
    "dq30": "30+ days delinquent",
    "dq60": "60+ days delinquent",
    "dq90": "90+ days delinquent",
    "roll_current_1_30": "Roll current -> 1-30",
    "roll_1_30_31_60": "Roll 1-30 -> 31-60",
    "roll_31_60_61_90": "Roll 31-60 -> 61-90",
    "roll_61_90_90_plus": "Roll 61-90 -> 90+",
    "roll_90_plus_default": "Roll 90+ -> charge-off",
}


def _no_progress(_: str) -> None:
    return None


# --- the tables, privacy applied ---------------------------------------------------------------


def report_tables(s: Surveillance) -> dict[str, pd.DataFrame]:
    """The tidy tables as the report, workbook and ``tables/`` carry them.

    By-grade rows of months in which the grade had fewer than ``MIN_CELL``
    receivables (servicer counts) have their amounts and measures withheld.
    """
    out = {k: v.copy() for k, v in s.tables.items()}
    if not s.history.has_counts:
        return out
    counts = s.history["receivables"]
    small = {
        (g, pd.Timestamp(m))
        for gi, g in enumerate(s.history.grades)
        for m, c in zip(s.history.months, counts[gi], strict=True)
        if c < MIN_CELL
    }
    if not small:
        return out
    col = out["collateral"]
    hit = np.array(
        [
            (g, pd.Timestamp(m)) in small
            for g, m in zip(col["group"], col["period_end"], strict=True)
        ]
    )
    values = [c for c in col.columns if c not in ("period_end", "month", "group")]
    col.loc[hit, values] = np.nan
    perf = out["performance"]
    hit = np.array(
        [
            (g, pd.Timestamp(m)) in small
            for g, m in zip(perf["group"], perf["period_end"], strict=True)
        ]
    )
    perf.loc[hit, ["actual", "ratio", "z"]] = np.nan
    perf.loc[hit, "signal"] = ""
    return out


# --- charts -------------------------------------------------------------------------------------


def _fig(title: str, y_title: str, y_format: str = ",.0f") -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, yaxis_title=y_title, yaxis_tickformat=y_format)
    return fig


def _dates(frame: pd.DataFrame, column: str = "date") -> list[str]:
    return [str(d)[:10] for d in frame[column]]


def _pool_rows(collateral: pd.DataFrame) -> pd.DataFrame:
    return collateral[collateral["group"] == "pool"]


def _position_section(s: Surveillance) -> Section:
    r = s.result
    st = s.state
    hist = s.history
    pool_end = float(hist.total("end_balance")[-1])
    pool0 = float(r.pool_balance)
    notes = sum(st.balances.values())
    last = r.n_periods - 1
    next_date = s.reprojection.dates[0] if s.reprojection is not None else None
    facts: list[tuple[str, Any, str]] = [
        ("Deal", s.deal.name, "text"),
        ("Collections to", st.as_of, "date"),
        ("Payment date", r.dates[last], "date"),
        ("Next payment date", next_date if next_date is not None else "", "date"),
        ("Payment periods surveilled", r.n_periods, "int"),
        ("Performing pool", pool_end, "money"),
        ("Pool factor (of the cut-off balance)", pool_end / pool0 if pool0 else np.nan, "pct"),
        ("Notes outstanding", notes, "money"),
        (
            "Over-collateralisation (pool - notes) / pool",
            (pool_end - notes) / pool_end if pool_end else np.nan,
            "pct",
        ),
        ("Reserve account", st.reserve, "money"),
        ("Principal deficiency ledger", st.pdl, "money"),
        ("Cumulative defaults", st.cumulative_default, "money"),
        (
            "Cumulative default rate (of cut-off pool + purchases)",
            st.cumulative_default / (pool0 + st.purchased) if pool0 + st.purchased else np.nan,
            "pct",
        ),
        ("Defaulted balance awaiting recovery", st.defaulted_pending, "money"),
        ("Receivables bought (revolving)", st.purchased, "money"),
    ]
    rows = []
    for name in r.tranche_names:
        face = float(r.original_balances[name])
        bal = float(st.balances[name])
        rows.append(
            {
                "tranche": name,
                "original_balance": face,
                "balance": bal,
                "factor": bal / face if face else np.nan,
                "unpaid_interest": float(st.unpaid_interest.get(name, 0.0)),
                "unreimbursed_writedown": float(st.writedowns.get(name, 0.0)),
            }
        )
    trig = [f"{name}: {'BREACHED' if on else 'not breached'}" for name, on in st.triggers.items()]
    blocks: list[Block] = [
        KeyValue(facts, caption="Position after the last payment date"),
        Table(pd.DataFrame(rows), {"factor": "float6"}, caption="Notes: balances and factors"),
    ]
    if trig:
        blocks.append(Paragraph("Triggers in force: " + "; ".join(trig) + "."))
    return Section("Deal position", blocks, id="position")


_CATEGORY = (
    ("collections", "collections"),
    ("fee:", "fees"),
    ("interest:", "note interest"),
    ("principal:", "note principal"),
    ("pro_rata:", "note principal"),
    ("reinstated_principal", "note principal"),
    ("reinvest", "revolving purchases"),
    ("reserve", "reserve deposits"),
    ("residual", "residual to equity"),
)


def _category(step: str, dst: str) -> str | None:
    if (
        step == "collections"
        or step.startswith("post_default")
        or dst in ("principal_funds", "revenue")
    ):
        return None
    for prefix, name in _CATEGORY:
        if step.startswith(prefix):
            return name
    if step == "reserve_release" and dst == "equity":
        return "residual to equity"
    return None


def _distributions_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    d = tables["distributions"]
    last = int(d["period"].max())
    latest = d[d["period"] == last][["item", "from", "to", "amount"]]
    fig = _fig("Distributions by payment date", "amount")
    category = pd.Series(
        [_category(str(st), str(to)) for st, to in zip(d["step"], d["to"], strict=True)],
        index=d.index,
        dtype=object,
    )
    cats = d.assign(category=category)
    cats = cats.dropna(subset=["category"])
    dates = sorted(d["date"].unique())
    for name in dict.fromkeys(n for _, n in _CATEGORY):
        part = cats[cats["category"] == name].groupby("date")["amount"].sum()
        if part.abs().sum() > 0:
            fig.add_bar(
                x=[str(x)[:10] for x in dates],
                y=[float(part.get(x, 0.0)) for x in dates],
                name=name,
            )
    fig.update_layout(barmode="stack")
    return Section(
        "Distributions",
        [
            Table(
                latest,
                {"amount": "money", "item": "text", "from": "text", "to": "text"},
                caption=f"Payment date {str(d[d['period'] == last]['date'].iloc[0])[:10]}: "
                "every movement of cash in waterfall order",
                id="distributions-latest",
            ),
            Figure(
                fig,
                caption="Fees, note interest and principal, reserve deposits, purchases and residual",
            ),
            Table(
                d,
                {"period": "int", "amount": "money"},
                caption="Every payment date",
                collapsed=True,
            ),
        ],
        id="distributions",
    )


def _while_notes_live(notes: pd.DataFrame) -> pd.DataFrame:
    """The periods up to the one that repays the last note (later ones only stretch the axis)."""
    live = notes.groupby("period")["begin_balance"].sum()
    periods = live.index[live > 0]
    return notes[notes["period"] <= periods.max()] if len(periods) else notes.iloc[:0]


def _notes_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    notes = tables["notes"]
    fig = _fig("Note balances: actual, then the base case from today", "balance")
    fac = _fig("Note factors", "factor", ".2f")
    for name in s.result.tranche_names:
        part = notes[notes["tranche"] == name]
        fig.add_scatter(x=_dates(part), y=part["end_balance"], name=name, mode="lines+markers")
        fac.add_scatter(x=_dates(part), y=part["factor"], name=name, mode="lines+markers")
        if s.reprojection is not None:
            rp = _while_notes_live(tables["reprojection_notes"])
            rp = rp[rp["tranche"] == name]
            fig.add_scatter(
                x=_dates(rp),
                y=rp["end_balance"],
                name=f"{name} (projected)",
                mode="lines",
                line_dash="dot",
            )
    interest = notes.pivot_table(
        index="date", columns="tranche", values="interest_paid", sort=False
    )
    short = notes.pivot_table(
        index="date", columns="tranche", values="interest_shortfall", sort=False
    )
    paid = notes.pivot_table(index="date", columns="tranche", values="principal_paid", sort=False)
    per = pd.concat(
        {"interest paid": interest, "interest shortfall": short, "principal paid": paid}, axis=1
    )
    per.columns = pd.Index([f"{pair[0]}: {pair[1]}" for pair in per.columns.to_flat_index()])
    per.index = [str(x)[:10] for x in per.index]
    per.index.name = "date"
    return Section(
        "Notes",
        [
            Table(
                per,
                dict.fromkeys(per.columns, "money"),
                caption="Interest paid and unpaid, principal paid",
            ),
            Figure(fig),
            Figure(fac),
            Table(
                notes,
                {"factor": "float6", "period": "int"},
                caption="Notes by payment date",
                collapsed=True,
            ),
        ],
        id="notes",
    )


def _reserve_section(tables: Mapping[str, pd.DataFrame]) -> Section:
    a = tables["accounts"]
    fig = _fig("Reserve account and principal deficiency ledger", "amount")
    fig.add_scatter(x=_dates(a), y=a["reserve_end"], name="reserve", mode="lines+markers")
    fig.add_scatter(
        x=_dates(a), y=a["reserve_target"], name="reserve target", mode="lines", line_dash="dash"
    )
    fig.add_scatter(x=_dates(a), y=a["pdl"], name="PDL", mode="lines+markers")
    view = a[
        [
            "date",
            "reserve_begin",
            "reserve_release",
            "reserve_draw",
            "reserve_deposit",
            "reserve_end",
            "reserve_target",
            "pdl",
            "excess_spread",
        ]
    ]
    return Section(
        "Reserve account and PDL",
        [
            Figure(fig),
            Table(
                view, {"excess_spread": "pct"}, caption="Reserve account and PDL by payment date"
            ),
        ],
        id="reserve",
    )


def _trigger_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    t = tables["triggers"]
    if t.empty:
        return Section("Triggers", [Paragraph("The deal has no triggers.")], id="triggers")
    view = t[
        ["period", "date", "trigger", "type", "value", "level", "breach_if", "breached", "headroom"]
    ].copy()
    view["breached"] = np.where(view["breached"], "yes", "no")
    blocks: list[Block] = [
        Table(
            view,
            {
                "period": "int",
                "value": "float4",
                "level": "float4",
                "headroom": "float4",
                "breached": "text",
                "breach_if": "text",
            },
            caption="Trigger status: one row per trigger and payment date (value tested, level, breached)",
            note="Values: cumulative default and excess spread as decimals, OC and IC as ratios, "
            "interest shortfall in money. A breach acts from the next payment date; a non-curable "
            "trigger stays breached.",
            id=TRIGGER_TABLE_ID,
        )
    ]
    for name in dict.fromkeys(t["trigger"]):
        part = t[t["trigger"] == name]
        kind = str(part["type"].iloc[0])
        fmt = (
            ".2%"
            if kind in ("cumulative_default", "excess_spread")
            else ".2f"
            if kind in ("oc", "ic")
            else ",.2f"
        )
        fig = _fig(f"Trigger {name} ({kind}): value against level", "value", fmt)
        fig.add_scatter(x=_dates(part), y=part["value"], name=name, mode="lines+markers")
        fig.add_scatter(
            x=_dates(part),
            y=part["level"],
            name=f"level ({part['breach_if'].iloc[0]} breaches)",
            mode="lines",
            line_dash="dash",
        )
        blocks.append(Figure(fig, height=300))
    return Section("Triggers", blocks, id="triggers")


def _collateral_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    c = tables["collateral"]
    pool = _pool_rows(c)
    x = _dates(pool, "period_end")
    blocks: list[Block] = []
    if s.history.has_delinquency:
        fig = _fig("Delinquency (share of the performing balance)", "share", ".2%")
        for m, label in (("dq30", "30+ days"), ("dq60", "60+ days"), ("dq90", "90+ days")):
            fig.add_scatter(x=x, y=pool[m], name=label, mode="lines+markers")
        blocks.append(Figure(fig))
    fig = _fig("Cumulative gross and net loss (of cut-off pool + purchases)", "share", ".2%")
    fig.add_scatter(
        x=x,
        y=pool["cumulative_default_rate"],
        name="cumulative gross loss (defaults)",
        mode="lines+markers",
    )
    fig.add_scatter(
        x=x, y=pool["cumulative_net_loss"], name="cumulative net loss", mode="lines+markers"
    )
    for t in s.deal.triggers:
        if t.kind == "cumulative_default":
            fig.add_scatter(
                x=x, y=[t.level] * len(x), name=f"trigger {t.name}", mode="lines", line_dash="dash"
            )
    blocks.append(Figure(fig))
    fig = _fig("CDR and CPR (annualised)", "rate", ".1%")
    fig.add_scatter(x=x, y=pool["cdr"], name="CDR", mode="lines+markers")
    fig.add_scatter(x=x, y=pool["cpr"], name="CPR", mode="lines+markers")
    blocks.append(Figure(fig))
    fig = _fig("Pool balance, purchases and pool factor", "balance")
    fig.add_bar(x=x, y=pool["purchases"], name="receivables bought")
    fig.add_scatter(x=x, y=pool["end_balance"], name="performing balance", mode="lines+markers")
    fig.add_scatter(x=x, y=pool["pool_factor"], name="pool factor", mode="lines", yaxis="y2")
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "title": "pool factor",
            "rangemode": "tozero",
        }
    )
    blocks.append(Figure(fig))
    cols = [
        "period_end",
        "begin_balance",
        "purchases",
        "scheduled_principal",
        "prepayment",
        "default",
        "recovery",
        "loss",
        "end_balance",
        "cdr",
        "cpr",
        "dq30",
        "dq60",
        "dq90",
        "cumulative_default_rate",
        "cumulative_net_loss",
        "pool_factor",
    ]
    blocks.append(
        Table(pool[cols], {"period_end": "date"}, caption="The pool by month", collapsed=True)
    )
    by_grade = c[c["group"] != "pool"][["period_end", "group", *cols[1:]]]
    blocks.append(
        Table(
            by_grade,
            {"period_end": "date", "group": "text"},
            caption="By grade and month",
            collapsed=True,
        )
    )
    return Section("Collateral performance", blocks, id="collateral")


def _band_figure(perf: pd.DataFrame, measure: str) -> go.Figure | None:
    p = perf[(perf["group"] == "pool") & (perf["measure"] == measure)]
    if not p["actual"].notna().any():
        return None
    x = _dates(p, "period_end")
    fmt = ".2f" if measure.startswith("roll") else ".2%"
    fig = _fig(f"{_MEASURE_LABELS[measure]}: actual against the base case", measure, fmt)
    if p["band_high"].notna().any():
        fig.add_scatter(
            x=x,
            y=p["band_high"],
            name="Monte Carlo 95th percentile",
            mode="lines",
            line={"width": 0},
            showlegend=False,
        )
        fig.add_scatter(
            x=x,
            y=p["band_low"],
            name="Monte Carlo 5th-95th percentile",
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(42,157,143,0.18)",
        )
    if p["projected"].notna().any():
        fig.add_scatter(x=x, y=p["projected"], name="base case", mode="lines", line_dash="dash")
    fig.add_scatter(x=x, y=p["actual"], name="actual", mode="lines+markers")
    return fig


def _performance_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    perf = tables["performance"]
    blocks: list[Block] = []
    if s.base is None:
        blocks.append(Paragraph("No base case to compare with (see the notes at the end)."))
    for m in ("cdr", "cpr", "cumulative_default_rate", "cumulative_net_loss", "dq30", "severity"):
        fig = _band_figure(perf, m)
        if fig is not None:
            blocks.append(Figure(fig, height=320))
    last = perf[perf["month"] == perf["month"].max()].copy()
    last["measure"] = last["measure"].map(_MEASURE_LABELS)
    formats = {
        "actual": "float4",
        "projected": "float4",
        "ratio": "float2",
        "band_low": "float4",
        "band_high": "float4",
        "z": "float2",
        "signal": "text",
        "measure": "text",
        "group": "text",
    }
    blocks.append(
        Table(
            last[
                [
                    "group",
                    "measure",
                    "actual",
                    "projected",
                    "ratio",
                    "band_low",
                    "band_high",
                    "z",
                    "signal",
                ]
            ],
            formats,
            caption=f"Last month ({str(last['period_end'].iloc[0])[:10]}): actual, base case, ratio, "
            "Monte Carlo 5%-95% band, z-score, signal",
            note=f"Signal: beyond the band, or more than {s.settings.get('k', 3)} standard errors "
            "from the base case (z, with the servicer's receivable counts). Rates as decimals.",
        )
    )
    flagged = perf[perf["signal"] != ""].copy()
    if len(flagged):
        flagged["measure"] = flagged["measure"].map(_MEASURE_LABELS)
        cols = ["period_end", "group", "measure", "actual", "projected", "ratio", "z", "signal"]
        blocks.append(
            Table(
                flagged[cols],
                {c: f for c, f in {**formats, "period_end": "date"}.items() if c in cols},
                caption=f"Every flagged measure ({len(flagged):,})",
                collapsed=True,
                max_rows=5_000,
            )
        )
    return Section(
        "Actual against projected",
        blocks,
        id="actual-vs-projected",
        intro="Each measure from the servicer's figures, against the base case the deal was priced "
        "on computed the same way (the cut-off pool and its revolving purchases projected by grade) "
        "and the 5th to 95th percentile of a one-factor Monte Carlo of the base case.",
    )


def _early_warning_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    blocks: list[Block] = []
    h = tables["headroom"]
    if len(h):
        view = h.copy()
        view["breached"] = np.where(view["breached"], "yes", "no")
        blocks.append(
            Table(
                view,
                {
                    "value": "float4",
                    "level": "float4",
                    "headroom": "float4",
                    "breached": "text",
                    "first_breach": "date",
                    "projected_breach": "date",
                    "tranche": "text",
                    "breach_if": "text",
                },
                caption="Trigger headroom: distance to breach, and the payment date of a breach in the "
                "base case re-projected from today",
                id="headroom",
            )
        )
    trend = tables["roll_trend"]
    trend = trend.assign(
        roll=trend["roll"].map(_MEASURE_LABELS), rising=np.where(trend["rising"], "RISING", "")
    )
    blocks.append(
        Table(
            trend,
            {
                "latest": "float4",
                "recent_average": "float4",
                "earlier_average": "float4",
                "change": "pct",
                "rising": "text",
                "group": "text",
                "roll": "text",
            },
            caption="Roll rates: the last three months against the three before",
        )
    )
    mix = tables["grade_mix"]
    fig = _fig("Grade mix of the performing balance", "share", ".0%")
    for g in dict.fromkeys(mix["grade"]):
        part = mix[mix["grade"] == g]
        fig.add_scatter(
            x=_dates(part, "period_end"), y=part["share"], name=g, mode="lines", stackgroup="mix"
        )
    blocks.append(Figure(fig, height=320))
    psi = mix.drop_duplicates("period_end")[["period_end", "psi", "status"]]
    blocks.append(
        Table(
            psi.tail(12),
            {"period_end": "date", "psi": "float4", "status": "text"},
            caption="Population stability of the grade mix against the start (PSI: < 0.10 stable, "
            "0.10-0.25 monitor, > 0.25 shift)",
        )
    )
    if "flags" in tables:
        flags = tables["flags"]
        counted = [c for c in flags.columns if c == "count" or c.startswith("ew_")]
        blocks.append(
            Table(
                flags,
                {"grade": "text", **dict.fromkeys(counted, "int")},
                caption="Borrower early-warning flags in the current tape, by grade",
                note=f"Cells of fewer than {MIN_CELL} receivables are withheld.",
            )
        )
    return Section("Early warning", blocks, id="early-warning")


def _reprojection_section(s: Surveillance, tables: Mapping[str, pd.DataFrame]) -> Section:
    if s.reprojection is None:
        return Section(
            "Re-projection from today",
            [
                Paragraph(
                    "Not re-projected: " + (next((n for n in s.notes if "re-project" in n), ""))
                )
            ],
            id="reprojection",
        )
    rp = s.reprojection
    summ = tables["reprojection"]
    wanted = (
        "tranche",
        "class",
        "balance",
        "coupon",
        "yield",
        "yield_reason",
        "wal",
        "expected_final",
        "principal_loss_share",
        "interest_shortfall_share",
        "min_oc",
    )
    keep = [c for c in wanted if c in summ.columns]
    blocks: list[Block] = [
        Table(
            summ[keep],
            {c: "text" for c in ("tranche", "class", "yield_reason") if c in keep},
            caption=f"Base case from {s.as_of}: each class to the end of the deal (yield at par)",
        )
    ]
    fig = _fig("Pool collections re-projected from today", "amount")
    x = [str(d)[:10] for d in rp.dates]
    fig.add_scatter(x=x, y=rp.pool["end_balance"][0], name="performing pool", mode="lines")
    fig.add_bar(x=x, y=rp.account["principal_collections"][0], name="principal collections")
    fig.add_bar(x=x, y=rp.account["revenue"][0], name="interest and fee collections")
    blocks.append(Figure(fig))
    breaches = []
    for k, name in enumerate(rp.trigger_names):
        flag = rp.trigger[0, k]
        if flag.any() and not s.state.triggers.get(name, False):
            breaches.append(f"{name} on {str(rp.dates[int(np.argmax(flag))])[:10]}")
    blocks.append(
        Paragraph(
            "Triggers breached in the re-projection: "
            + ("; ".join(breaches) if breaches else "none")
            + "."
        )
    )
    return Section("Re-projection from today", blocks, id="reprojection")


def _notes_text(s: Surveillance) -> Section:
    conventions = (
        "Conventions. Amounts in the deal's currency, rounded for display only. Rates: CDR = 1 - (1 - "
        "MDR)^12 with MDR = defaults / balance in the month (opening + purchases); CPR from the SIFMA "
        "single monthly mortality on the balance after scheduled amortisation. Cumulative rates are "
        "shares of the cut-off pool plus the receivables bought. Delinquency: 30+ = 31-60 + 61-90 + "
        "90+ days past due, over the performing balance. Net loss = defaults - recoveries. Interest "
        "accrues by the deal's day count between payment dates."
    )
    blocks: list[Block] = [Paragraph(conventions)]
    blocks += [Paragraph(n, kind="note") for n in s.notes]
    return Section("Data and conventions", blocks, id="conventions")


def build_report(
    s: Surveillance,
    *,
    metadata: RunMetadata | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> Report:
    """The trustee report of a surveillance cycle (see the module notes)."""
    t = tables if tables is not None else report_tables(s)
    sections = [
        _position_section(s),
        _distributions_section(s, t),
        _notes_section(s, t),
        _reserve_section(t),
        _trigger_section(s, t),
        _collateral_section(s, t),
        _performance_section(s, t),
        _early_warning_section(s, t),
        _reprojection_section(s, t),
        _notes_text(s),
    ]
    last = s.result.dates[-1]
    return Report(
        f"{s.deal.name} — Trustee report",
        sections,
        subtitle=f"Payment date {str(last)[:10]} · collections to {s.as_of:%Y-%m-%d} · "
        f"{s.history.n_months} months surveilled",
        currency=s.deal.currency,
        metadata=metadata,
    )


def _sheets(tables: Mapping[str, pd.DataFrame]) -> list[Sheet]:
    return [Sheet(name, frame) for name, frame in tables.items()]


def _loan_ids(*tapes: Pool | str | os.PathLike[str] | None, grades: Sequence[str]) -> list[str]:
    ids: list[str] = []
    for tape in tapes:
        if tape is None:
            continue
        pool = tape if isinstance(tape, Pool) else load_pool(tape, grades=grades)
        ids += [str(x) for x in pool.table.column("loan_id").to_pylist()]
    return ids


def write(
    s: Surveillance,
    out_dir: str | os.PathLike[str],
    *,
    tapes: Sequence[Pool | str | os.PathLike[str] | None] = (),
    created: dt.datetime | None = None,
    progress: Progress = _no_progress,
    overwrite: bool = False,
) -> Path:
    """Write the trustee report and its files into ``out_dir`` (new; put in place atomically).

    Parameters
    ----------
    s : Surveillance
        The cycle (:func:`abs_engine.surveillance.surveil`).
    out_dir : path
        Must not exist.
    tapes : sequence of Pool or path
        Tapes whose loan ids must appear nowhere in the outputs (the cut-off
        pool, the current tape); the check is skipped when none is given.
    created : datetime, optional
        Timestamp recorded (default now).
    progress : callable, optional
        Called with the name of each stage.
    overwrite : bool
        Replace an existing ``out_dir`` holding a previous run (its
        ``run.json``); the old one goes only once the new one is complete.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    target = Path(out_dir)
    check_target(target, overwrite)
    tables = report_tables(s)
    spec = {"deal": deal_to_dict(s.deal), "settings": dict(s.settings)}
    meta = run_metadata(
        spec,
        seed=int(s.settings.get("seed", 0)) if s.settings.get("mc_paths") else None,
        created=created,
        extra={
            "deal": s.deal.name,
            "servicer report": s.history.source or "<in memory>",
            "months": f"{s.history.n_months}",
            "as of": f"{s.as_of}",
        },
    )
    progress("report")
    report = build_report(s, metadata=meta, tables=tables)
    with atomic_dir(target, replace=overwrite) as tmp:
        report.write(tmp / "report.html")
        progress("workbook")
        write_workbook(
            tmp / "report.xlsx",
            _sheets(tables),
            metadata=meta,
            title=report.title,
            currency=s.deal.currency,
        )
        progress("files")
        write_deal(s.seasoned_deal(), tmp / "state.toml")
        (tmp / "tables").mkdir()
        for name, frame in tables.items():
            frame.to_parquet(tmp / "tables" / f"{name}.parquet", index=False)
        run_json = {
            **meta.to_dict(),
            "files": list(FILES),
            "tables": list(tables),
            "notes": list(s.notes),
            "spec": json.loads(json.dumps(spec, default=str)),
        }
        (tmp / "run.json").write_text(json.dumps(run_json, indent=2, default=str))
        ids = _loan_ids(*tapes, grades=s.deal.pool.grades)
        if ids:
            progress("privacy check")
            assert_no_identifiers(tmp, ids)
    log.info("wrote the trustee report of %s to %s", s.deal.name, target)
    return target
