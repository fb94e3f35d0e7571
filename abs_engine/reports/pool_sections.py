"""Report sections for the collateral: stratification, cash flows, scenarios, assumptions.

Each builder takes engine objects (:class:`~abs_engine.pool.Pool`,
:class:`~abs_engine.projection.PoolCashflows`, assumptions, a scenario set)
and returns a :class:`~abs_engine.reports.html.Section`; the matching
``*_frame`` functions give the same numbers as tidy DataFrames for the
workbook (:func:`pool_sheets`).  Only aggregates are shown: strata by grade,
product, term, rate, provident-fund status and delinquency, and cash flows
per month; strata keyed by a provident-fund field withhold cells of fewer than
``min_cell`` receivables, with complementary cells (``Pool.strats`` does it).

Rates shown on the charts are *observed* annualised rates of the projection,
``CDR = 1 - (1 - MDR)^12`` and ``CPR = 1 - (1 - SMM)^12``, with the SIFMA
conventions of the engine: ``MDR = default / begin_balance`` and the SMM
taken on the beginning balance after its scheduled amortisation,
``SMM = prepayment (1 - MDR) / (begin_balance - default -
scheduled_principal)`` (SIFMA Standard Formulas, Cash Flow A: month 1
prepays 1% of the amortised 99.93m, not of the 98.93m left after defaults).
With a delinquency pipeline the rates are approximate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.subplots import make_subplots

from abs_engine.curves import Assumptions, GradedAssumptions, ScenarioSet
from abs_engine.curves.curve import Curve
from abs_engine.errors import SpecError
from abs_engine.grading.monitor import Stability
from abs_engine.pool import STANDARD_STRATS, Pool
from abs_engine.projection import PoolCashflows
from abs_engine.reports.excel import Sheet
from abs_engine.reports.format import format_pct
from abs_engine.reports.html import (
    Block,
    Figure,
    Heading,
    KeyValue,
    Paragraph,
    Report,
    Section,
    Table,
)
from abs_engine.reports.metadata import RunMetadata, canonical_json
from abs_engine.reports.scorecard import stability_blocks

__all__ = [
    "STRAT_FORMATS",
    "STRAT_TITLES",
    "assumptions_frame",
    "assumptions_section",
    "cashflow_frame",
    "collateral_section",
    "describe_curve",
    "early_warning_section",
    "observed_rates",
    "pool_report",
    "pool_sheets",
    "scenario_frame",
    "scenario_section",
    "spec_of",
    "strats_frame",
    "strats_section",
    "wal_years",
]

log = logging.getLogger(__name__)

#: Table titles of the standard stratifications.
STRAT_TITLES: Mapping[str, str] = {
    "grade": "By credit grade",
    "payment_type": "By product (payment type)",
    "original_term": "By original term (months)",
    "remaining_term": "By remaining term (months)",
    "rate": "By APR",
    "pf_status": "By provident-fund status",
    "dpd": "By delinquency at cut-off (days past due)",
    "age": "By seasoning (months since origination)",
}

#: Formats of the columns of ``Pool.strats``.
STRAT_FORMATS: Mapping[str, str] = {
    "count": "int",
    "balance": "money",
    "pct_balance": "pct",
    "avg_balance": "money",
    "wa_apr": "pct",
    "wa_fee_rate": "pct",
    "wa_remaining_term": "months",
    "wa_original_term": "months",
    "wa_age": "months",
}

_SUMMARY_FORMATS = {
    "receivables": "int",
    "balance": "money",
    "original_balance": "money",
    "avg_balance": "money",
    "wa_apr": "pct",
    "wa_remaining_term": "months",
    "wa_original_term": "months",
    "wa_age": "months",
    "delinquent_pct": "pct",
    "excluded": "int",
}
_SUMMARY_LABELS = {
    "receivables": "Receivables",
    "balance": "Current balance",
    "original_balance": "Original balance",
    "avg_balance": "Average current balance",
    "wa_apr": "WA APR",
    "wa_remaining_term": "WA remaining term",
    "wa_original_term": "WA original term",
    "wa_age": "WA seasoning",
    "delinquent_pct": "Delinquent at cut-off (% of balance)",
    "excluded": "Receivables excluded by validation",
}
_CASHFLOW_COLUMNS = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "interest",
    "fee",
    "advanced_principal",
    "advanced_interest",
    "principal_collections",
    "interest_collections",
    "end_balance",
)
_X_TITLE = "Months after cut-off"
_EPS = 1e-9


# --- stratification ------------------------------------------------------------------------


def _strats(pool: Pool, by: Sequence[str], min_cell: int) -> dict[str, tuple[pd.DataFrame, int]]:
    """Stratification tables and how many cells each withholds (``Pool.strats`` does it)."""
    tables = pool.strats(list(by), min_cell=min_cell)
    assert isinstance(tables, dict)
    return {name: (t, int(t.attrs.get("withheld", 0))) for name, t in tables.items()}


def strats_frame(
    pool: Pool, by: Sequence[str] = STANDARD_STRATS, *, min_cell: int = 5
) -> pd.DataFrame:
    """All stratification tables stacked: index ``(strat, bucket)``, the strats' columns.

    The long form for a workbook sheet or a CSV (one header, filterable).
    """
    parts = []
    for name, (table, _) in _strats(pool, by, min_cell).items():
        t = table.copy()
        t.index = pd.MultiIndex.from_arrays(
            [[name] * len(t), t.index.astype(str)], names=["strat", "bucket"]
        )
        parts.append(t)
    return pd.concat(parts)


def _composition_figure(tables: Mapping[str, pd.DataFrame]) -> go.Figure | None:
    names = [n for n in ("grade", "payment_type", "remaining_term", "rate") if n in tables]
    if not names:
        return None
    cols = min(len(names), 2)
    rows = (len(names) + 1) // 2
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[STRAT_TITLES.get(n, n) for n in names],
        horizontal_spacing=0.1,
        vertical_spacing=0.22,
    )
    for i, name in enumerate(names):
        t = tables[name].drop(index="Total", errors="ignore")
        fig.add_trace(
            go.Bar(
                x=[str(k) for k in t.index],
                y=t["pct_balance"].to_numpy(),
                name=STRAT_TITLES.get(name, name),
                marker_color="#1f4e79",
                hovertemplate="%{x}: %{y:.2%} of balance<extra></extra>",
                showlegend=False,
            ),
            row=i // 2 + 1,
            col=i % 2 + 1,
        )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Composition of the pool (% of current balance)", hovermode="closest")
    return fig


def strats_section(
    pool: Pool,
    *,
    by: Sequence[str] = STANDARD_STRATS,
    title: str = "Pool stratification",
    min_cell: int = 5,
    chart: bool = True,
) -> Section:
    """Pool summary and stratification tables (one per ``by``), with a composition chart.

    Parameters
    ----------
    pool : Pool
    by : sequence of str
        Stratifications (``Pool.strats`` names), default the standard seven:
        grade, product, original and remaining term, APR, provident-fund
        status, delinquency.
    title : str
    min_cell : int
        In strata of a provident-fund field (status), buckets with fewer
        receivables are withheld, with complementary buckets (see
        :func:`abs_engine.pool.strats.suppressed_cells`).
    chart : bool
        Add the composition chart (share of balance by grade, product,
        remaining term and APR).
    """
    summary = pool.summary()
    blocks: list[Block] = [
        KeyValue(
            [
                (_SUMMARY_LABELS.get(str(k), str(k)), v, _SUMMARY_FORMATS.get(str(k), "float2"))
                for k, v in summary.items()
            ],
            caption="Pool at cut-off",
        ),
        Paragraph(
            "Weighted averages are by current balance. APR is the contract rate, or for "
            "flat-fee instalments (等本等费) the rate implied by their schedule; the monthly fee "
            "is averaged over flat-fee receivables only.",
            kind="note",
        ),
    ]
    strats = _strats(pool, by, min_cell)
    fig = _composition_figure({k: v for k, (v, _) in strats.items()}) if chart else None
    if fig is not None:
        blocks.append(Figure(fig, height=560))
    for name, (table, withheld) in strats.items():
        blocks.append(Heading(STRAT_TITLES.get(name, f"By {name}")))
        note = (
            f"{withheld} bucket(s) withheld: fewer than {min_cell} receivables, or withheld "
            "with them so the total cannot give them back."
            if withheld
            else None
        )
        blocks.append(Table(table, STRAT_FORMATS, note=note))
    return Section(title, blocks, id="pool-stratification")


# --- early warning ----------------------------------------------------------------------------


def early_warning_section(
    pool: Pool, *, stability: Stability | None = None, title: str = "Early warning"
) -> Section | None:
    """Early-warning flag counts (a graded tape's ``ew_*`` columns) and scorecard drift.

    ``stability`` (:func:`abs_engine.grading.stability`: the tape against the
    card's development sample) adds the PSI of the score and grade mix and the
    CSI of every attribute, with the 0.10 / 0.25 warnings.  ``None`` when the
    pool has no flags and no stability is given.
    """
    blocks: list[Block] = []
    if any(c.startswith("ew_") for c in pool.table.column_names):
        flags = pool.strats("early_warning")
        assert isinstance(flags, pd.DataFrame)
        blocks.append(
            Table(
                flags,
                {"count": "int", "balance": "money", "pct_balance": "pct"},
                caption="Early-warning flags (receivables may carry several)",
            )
        )
    if stability is not None:
        blocks.append(Heading("Scorecard drift"))
        blocks += stability_blocks(stability)
    if not blocks:
        return None
    return Section(title, blocks, id="early-warning")


# --- collateral cash flows --------------------------------------------------------------------


def _scenario_index(cf: PoolCashflows, scenario: str | int | None) -> int:
    if scenario is None:
        return 0
    if isinstance(scenario, int | np.integer):
        if not 0 <= int(scenario) < cf.n_scenarios:
            raise SpecError(
                f"scenario index {scenario} is out of range; there are {cf.n_scenarios}",
                "scenario",
            )
        return int(scenario)
    hits = np.flatnonzero(cf.scenario_names == scenario)
    if hits.size == 0:
        names = ", ".join(cf.scenario_names[:10].tolist())
        raise SpecError(f"no scenario {scenario!r}; scenarios are {names}", "scenario")
    return int(hits[0])


def _active_periods(cf: PoolCashflows) -> int:
    """Periods up to the last one with any balance or cash (trailing zeros trimmed)."""
    live = (cf["begin_balance"] > _EPS) | (cf["recovery"] > _EPS) | (cf["loss"] > _EPS)
    any_live = live.any(axis=0)
    return int(np.flatnonzero(any_live)[-1] + 1) if any_live.any() else cf.n_periods


def observed_rates(
    begin: NDArray[np.float64],
    scheduled: NDArray[np.float64],
    prepayment: NDArray[np.float64],
    default: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Observed annualised ``(cdr, cpr)`` per period (NaN where nothing is left).

    ``MDR = default / begin``; ``SMM = prepayment (1 - MDR) / (begin - default -
    scheduled)``: the engine's (SIFMA's) prepayment rate applies to the
    beginning balance after its scheduled amortisation.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        mdr = np.where(begin > _EPS, default / np.where(begin > _EPS, begin, 1.0), np.nan)
        base = (begin - default - scheduled) / (1.0 - np.where(np.isnan(mdr), 0.0, mdr))
        smm = np.where(base > _EPS, prepayment / np.where(base > _EPS, base, 1.0), np.nan)
    cdr = 1.0 - (1.0 - np.clip(mdr, 0.0, 1.0)) ** 12
    cpr = 1.0 - (1.0 - np.clip(smm, 0.0, 1.0)) ** 12
    return cdr, cpr


def wal_years(begin: NDArray[np.float64], end: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted-average life of the balance decline, in years, over the last axis.

    ``WAL = sum_t t (B_{t-1} - B_t) / sum_t (B_{t-1} - B_t) / 12`` (defaults
    count as paid down when they leave the performing balance).
    """
    decline = np.asarray(begin) - np.asarray(end)
    t = np.arange(1, decline.shape[-1] + 1, dtype=np.float64)
    total = decline.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(total > _EPS, (decline * t).sum(axis=-1) / total / 12.0, np.nan)
    return np.asarray(out, dtype=np.float64)


def cashflow_frame(cf: PoolCashflows, scenario: str | int | None = None) -> pd.DataFrame:
    """One scenario's pool cash flows per period, with observed CDR and CPR.

    Index ``period``; the columns of the collateral tables; periods after
    the pool has run off are dropped.
    """
    s = _scenario_index(cf, scenario)
    n = _active_periods(cf)
    data = {c: cf[c][s, :n] for c in _CASHFLOW_COLUMNS}
    frame = pd.DataFrame(data, index=pd.Index(cf.periods[:n], name="period"))
    frame["cdr"], frame["cpr"] = observed_rates(
        frame["begin_balance"].to_numpy(),
        frame["scheduled_principal"].to_numpy(),
        frame["prepayment"].to_numpy(),
        frame["default"].to_numpy(),
    )
    optional = ("advanced_principal", "advanced_interest")
    return frame.drop(columns=[c for c in optional if not (frame[c].abs() > _EPS).any()])


#: Most rows of a per-month table in a report; a longer one is shown per year.
MAX_PERIOD_ROWS = 600


def per_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Monthly pool cash flows summed per year (months 1-12 are year 1).

    Flows are summed, ``begin_balance`` is the year's first, ``end_balance``
    its last; the observed annual rates compound the months':
    ``CDR_year = 1 - prod(1 - MDR_m)`` with ``MDR_m = 1 - (1 - CDR_m)^(1/12)``
    (likewise CPR), months without a rate left out.
    """
    year = pd.Index((np.asarray(frame.index, dtype=np.int64) - 1) // 12 + 1, name="year")
    g = frame.groupby(year)
    out = g.sum(numeric_only=True)
    for col in ("begin_balance",):
        if col in frame:
            out[col] = g[col].first()
    for col in ("end_balance",):
        if col in frame:
            out[col] = g[col].last()
    for col in ("cdr", "cpr"):
        if col in frame:
            monthly = 1.0 - (1.0 - frame[col].to_numpy(dtype=np.float64)) ** (1.0 / 12.0)
            keep = pd.Series(np.log1p(-np.where(np.isnan(monthly), 0.0, monthly)), index=year)
            out[col] = 1.0 - np.exp(keep.groupby(level=0).sum())
    return out


def _fig(title: str, y_title: str, y_format: str = ",.0f") -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, barmode="stack")
    fig.update_xaxes(title_text=_X_TITLE)
    fig.update_yaxes(title_text=y_title, tickformat=y_format)
    return fig


def _money_axis(currency: str | None) -> str:
    return f"Amount ({currency})" if currency else "Amount"


def _balance_figure(frame: pd.DataFrame, cf: PoolCashflows, s: int, cur: str | None) -> go.Figure:
    n = len(frame)
    x = frame.index.to_numpy()
    fig = _fig("Pool balance at month end", _money_axis(cur))
    buckets = [("current", "Current"), ("dpd_1_30", "1-30 dpd"), ("dpd_31_60", "31-60 dpd")]
    buckets.append(("dpd_61_90", "61-90 dpd"))
    delinquent = any((cf[b][s, :n] > _EPS).any() for b, _ in buckets[1:])
    if delinquent:
        for key, name in buckets:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=cf[key][s, :n],
                    name=name,
                    stackgroup="balance",
                    mode="lines",
                    hovertemplate="%{y:,.0f}",
                )
            )
    else:  # from the cut-off (month 0) on
        fig.add_trace(
            go.Scatter(
                x=np.concatenate(([0], x)),
                y=np.concatenate(([frame["begin_balance"].iloc[0]], frame["end_balance"])),
                name="Performing balance",
                mode="lines",
                fill="tozeroy",
                hovertemplate="%{y:,.0f}",
            )
        )
    return fig


def _collections_figure(frame: pd.DataFrame, cur: str | None) -> go.Figure:
    x = frame.index.to_numpy()
    fig = _fig("Collections by source", _money_axis(cur))
    parts = [
        ("scheduled_principal", "Scheduled principal", "#1f4e79"),
        ("prepayment", "Prepayments", "#4f81bd"),
        ("recovery", "Recoveries", "#8d99ae"),
        ("advanced_principal", "Advanced principal", "#b8c4d6"),
        ("interest", "Interest", "#2a9d8f"),
        ("fee", "Fees", "#76c7b7"),
        ("advanced_interest", "Advanced interest", "#b7e0d8"),
    ]
    for key, name, color in parts:
        if key in frame and (frame[key].abs() > _EPS).any():
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=frame[key].to_numpy(),
                    name=name,
                    marker_color=color,
                    hovertemplate="%{y:,.0f}",
                )
            )
    return fig


def _rate_figure(
    frame: pd.DataFrame,
    amount: str,
    amount_name: str,
    rate: str,
    rate_name: str,
    title: str,
    cur: str | None,
    color: str,
) -> go.Figure:
    x = frame.index.to_numpy()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=x,
            y=frame[amount].to_numpy(),
            name=amount_name,
            marker_color=color,
            hovertemplate="%{y:,.0f}",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame[rate].to_numpy(),
            name=rate_name,
            mode="lines+markers",
            line={"color": "#222", "width": 2},
            marker={"size": 4},
            hovertemplate="%{y:.2%}",
        ),
        secondary_y=True,
    )
    fig.update_layout(title=title)
    fig.update_xaxes(title_text=_X_TITLE)
    fig.update_yaxes(title_text=_money_axis(cur), tickformat=",.0f", secondary_y=False)
    fig.update_yaxes(
        title_text=rate_name,
        tickformat=".1%",
        secondary_y=True,
        showgrid=False,
        rangemode="tozero",
    )
    return fig


def _loss_figure(frame: pd.DataFrame, b0: float, cur: str | None) -> go.Figure:
    x = frame.index.to_numpy()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=x,
            y=frame["loss"].to_numpy(),
            name="Net losses",
            marker_color="#c1121f",
            hovertemplate="%{y:,.0f}",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=np.cumsum(frame["default"].to_numpy()) / b0,
            name="Cumulative defaults",
            mode="lines",
            line={"color": "#e76f51", "dash": "dash"},
            hovertemplate="%{y:.2%}",
        ),
        secondary_y=True,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=np.cumsum(frame["loss"].to_numpy()) / b0,
            name="Cumulative net loss",
            mode="lines",
            line={"color": "#222", "width": 2},
            hovertemplate="%{y:.2%}",
        ),
        secondary_y=True,
    )
    fig.update_layout(title="Losses")
    fig.update_xaxes(title_text=_X_TITLE)
    fig.update_yaxes(title_text=_money_axis(cur), tickformat=",.0f", secondary_y=False)
    fig.update_yaxes(
        title_text="% of cut-off balance",
        tickformat=".1%",
        secondary_y=True,
        showgrid=False,
        rangemode="tozero",
    )
    return fig


def _by_group_frame(cf: PoolCashflows, s: int) -> pd.DataFrame:
    b0 = cf.initial_balance
    totals = {f: cf.array(f)[s].sum(axis=-1) for f in ("default", "recovery", "loss", "prepayment")}
    totals["principal_collections"] = cf.array("principal_collections")[s].sum(axis=-1)
    totals["interest_collections"] = cf.array("interest_collections")[s].sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame(
            {
                "initial_balance": b0,
                **totals,
                "cumulative_default_rate": np.where(b0 > 0, totals["default"] / b0, np.nan),
                "cumulative_net_loss": np.where(b0 > 0, totals["loss"] / b0, np.nan),
                "wal": wal_years(cf.array("begin_balance")[s], cf.array("end_balance")[s]),
            },
            index=pd.Index(list(cf.groups), name=cf.group_by),
        )
    total = frame.sum(numeric_only=True)
    b = float(b0.sum())
    total["cumulative_default_rate"] = total["default"] / b if b > 0 else np.nan
    total["cumulative_net_loss"] = total["loss"] / b if b > 0 else np.nan
    total["wal"] = float(wal_years(cf["begin_balance"][s], cf["end_balance"][s]))
    frame.loc["Total"] = total
    return frame


def _by_group_figures(cf: PoolCashflows, s: int, n: int, cur: str | None) -> list[Figure]:
    x = cf.periods[:n]
    x0 = np.concatenate(([0], x))
    bal = np.concatenate(
        (cf.array("begin_balance")[s, :, :1], cf.array("end_balance")[s, :, :n]), axis=-1
    )
    fig_b = _fig(f"Balance by {cf.group_by}", _money_axis(cur))
    fig_b.update_layout(barmode="group")
    fig_l = _fig(
        f"Cumulative defaults and net loss by {cf.group_by}",
        "% of the group's cut-off balance",
        ".1%",
    )
    b0 = cf.initial_balance
    default = np.cumsum(cf.array("default")[s, :, :n], axis=-1)
    loss = np.cumsum(cf.array("loss")[s, :, :n], axis=-1)
    colors = ["#1f4e79", "#2a9d8f", "#e76f51", "#8d99ae", "#c1121f", "#6a994e", "#7b2cbf"]
    for k, g in enumerate(cf.groups):
        color = colors[k % len(colors)]
        fig_b.add_trace(
            go.Scatter(
                x=x0,
                y=bal[k],
                name=str(g),
                mode="lines",
                line={"color": color},
                hovertemplate="%{y:,.0f}",
            )
        )
        if b0[k] > 0:
            fig_l.add_trace(
                go.Scatter(
                    x=x,
                    y=default[k] / b0[k],
                    name=f"{g} defaults",
                    mode="lines",
                    line={"color": color, "dash": "dash"},
                    hovertemplate="%{y:.2%}",
                )
            )
            fig_l.add_trace(
                go.Scatter(
                    x=x,
                    y=loss[k] / b0[k],
                    name=f"{g} net loss",
                    mode="lines",
                    line={"color": color},
                    hovertemplate="%{y:.2%}",
                )
            )
    return [
        Figure(fig_b, caption=f"Performing balance at month end, by {cf.group_by}."),
        Figure(fig_l, caption="Dashed: cumulative defaults; solid: cumulative net loss."),
    ]


_TOTAL_FORMATS = {
    "initial_balance": "money0",
    "default": "money0",
    "recovery": "money0",
    "loss": "money0",
    "prepayment": "money0",
    "principal_collections": "money0",
    "interest_collections": "money0",
    "cumulative_default_rate": "pct",
    "cumulative_net_loss": "pct",
    "wal": "years",
}


def collateral_section(
    cf: PoolCashflows,
    *,
    scenario: str | int | None = None,
    title: str = "Collateral cash flows",
    currency: str | None = None,
    period_table: bool = True,
) -> Section:
    """Charts and tables of one scenario's pool cash flows.

    Charts: balance (by delinquency state when there is a pipeline),
    collections by source, defaults with the observed CDR, prepayments with
    the observed CPR, losses with cumulative defaults and net loss, and, when
    ``cf`` is by grade, balance and cumulative loss by grade.  Tables: life
    totals, totals by grade, and (collapsed) every period.

    Parameters
    ----------
    cf : PoolCashflows
        Projected cash flows (any grouping; by grade adds the grade charts).
    scenario : str or int, optional
        Scenario name or index (default the first, normally the base case).
    title : str
    currency : str, optional
        Named on the chart axes (tables take it from the report).
    period_table : bool
        Add the per-period table (collapsed).
    """
    s = _scenario_index(cf, scenario)
    name = str(cf.scenario_names[s])
    frame = cashflow_frame(cf, s)
    n = len(frame)
    b0 = float(cf.initial_balance.sum())
    principal = float(frame["principal_collections"].sum())
    revenue = float(frame["interest_collections"].sum())
    wal = float(wal_years(cf["begin_balance"][s], cf["end_balance"][s]))
    kv = KeyValue(
        [
            ("Scenario", name, "text"),
            ("Cut-off balance", b0, "money"),
            ("Total collections", principal + revenue, "money"),
            ("Principal collections (incl. recoveries)", principal, "money"),
            ("Interest and fee collections", revenue, "money"),
            ("Defaults", float(frame["default"].sum()), "money"),
            ("Recoveries", float(frame["recovery"].sum()), "money"),
            ("Net losses", float(frame["loss"].sum()), "money"),
            (
                "Cumulative default rate",
                float(frame["default"].sum()) / b0 if b0 else np.nan,
                "pct",
            ),
            ("Cumulative net loss", float(frame["loss"].sum()) / b0 if b0 else np.nan, "pct"),
            ("Pool WAL (balance decline)", wal, "years"),
            ("Months to run off", n, "int"),
        ],
        caption=f"Life totals, scenario {name}",
    )
    blocks: list[Block] = [kv]
    if cf.notes:  # how receivables delinquent at cut-off were projected (issue 10, item 10)
        blocks.append(Paragraph("Delinquent at cut-off: " + "; ".join(cf.notes) + "."))
    blocks.append(Heading("Balance and collections"))
    blocks.append(Figure(_balance_figure(frame, cf, s, currency)))
    blocks.append(
        Figure(
            _collections_figure(frame, currency),
            caption="Principal (scheduled, prepaid, recovered) and revenue (interest, fees) "
            "collected each month.",
        )
    )
    blocks.append(Heading("Defaults, prepayments and losses"))
    blocks.append(
        Figure(
            _rate_figure(
                frame,
                "default",
                "Defaults",
                "cdr",
                "CDR (observed)",
                "Defaults and the observed CDR",
                currency,
                "#e76f51",
            )
        )
    )
    blocks.append(
        Figure(
            _rate_figure(
                frame,
                "prepayment",
                "Prepayments",
                "cpr",
                "CPR (observed)",
                "Prepayments and the observed CPR",
                currency,
                "#4f81bd",
            )
        )
    )
    blocks.append(
        Figure(
            _loss_figure(frame, b0, currency),
            caption="Losses are realised after the recovery lag; rates are shares of the "
            "cut-off balance.",
        )
    )
    if len(cf.groups) > 1 and cf.group_by != "loan":
        label = "grade" if cf.group_by == "grade" else cf.group_by
        blocks.append(Heading(f"By {label}"))
        if cf.group_by in ("grade", "pool"):
            blocks += _by_group_figures(cf, s, n, currency)
        blocks.append(
            Table(_by_group_frame(cf, s), _TOTAL_FORMATS, caption=f"Life totals by {label}")
        )
    if period_table:
        formats = dict.fromkeys(frame.columns, "money0") | {"cdr": "pct", "cpr": "pct"}
        per = "month"
        if len(frame) > MAX_PERIOD_ROWS:  # a long term: years, not thousands of rows
            frame, per = per_year(frame), "year"
        blocks.append(
            Table(
                frame,
                formats,
                caption=f"Pool cash flows per {per}, scenario {name}",
                collapsed=True,
            )
        )
    return Section(title, blocks, id="collateral-cash-flows")


# --- scenarios -----------------------------------------------------------------------------------


_SCENARIO_METRICS = (
    "principal_collections",
    "interest_collections",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "cumulative_default_rate",
    "cumulative_net_loss",
    "wal",
)
_PERCENTILES = (("min", 0), ("p5", 5), ("p25", 25), ("median", 50), ("p75", 75), ("p95", 95))


def scenario_frame(cf: PoolCashflows, scenarios: ScenarioSet | None = None) -> pd.DataFrame:
    """Pool life totals per scenario, with the scenario levers when ``scenarios`` is given.

    Index ``scenario``; columns: levers, then collections, defaults,
    recoveries, losses, cumulative default rate, cumulative net loss and WAL.
    """
    totals = cf.totals()
    frame = totals[[c for c in _SCENARIO_METRICS if c != "wal"]].copy()
    frame["wal"] = wal_years(cf["begin_balance"], cf["end_balance"])
    if scenarios is not None:
        levers = scenarios.to_frame().set_index("scenario")
        if list(levers.index.astype(str)) != [str(x) for x in frame.index]:
            raise SpecError(
                "the scenario set does not match the cash flows' scenarios (names or order); "
                "pass the set the cash flows were projected with",
                "scenarios",
            )
        levers.index = frame.index
        frame = pd.concat([levers, frame], axis=1)
    return frame


def _distribution(frame: pd.DataFrame) -> pd.DataFrame:
    values = frame[list(_SCENARIO_METRICS)]
    rows = {label: values.quantile(q / 100.0) for label, q in _PERCENTILES}
    rows["max"] = values.max()
    rows["mean"] = values.mean()
    out = pd.DataFrame(rows).T
    out.index.name = "statistic"
    return out


def _paths_figure(
    x: NDArray[np.int64],
    paths: NDArray[np.float64],
    names: Sequence[str],
    title: str,
    y_title: str,
    y_format: str,
    hover: str,
    max_lines: int,
) -> go.Figure:
    fig = _fig(title, y_title, y_format)
    fig.update_layout(barmode="group")
    if paths.shape[0] <= max_lines:
        for i, nm in enumerate(names):
            fig.add_trace(
                go.Scatter(x=x, y=paths[i], name=str(nm), mode="lines", hovertemplate=hover)
            )
        return fig
    q = np.nanpercentile(paths, [5, 25, 50, 75, 95], axis=0)
    band = "rgba(31, 78, 121, {})"
    for lo, hi, label, alpha in ((0, 4, "5th-95th percentile", 0.15), (1, 3, "25th-75th", 0.3)):
        fig.add_trace(
            go.Scatter(
                x=x, y=q[hi], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=q[lo],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=band.format(alpha),
                name=label,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=q[2],
            name="Median",
            mode="lines",
            line={"color": "#1f4e79", "width": 2},
            hovertemplate=hover,
        )
    )
    return fig


def scenario_section(
    cf: PoolCashflows,
    *,
    scenarios: ScenarioSet | None = None,
    title: str = "Scenario comparison",
    currency: str | None = None,
    max_lines: int = 12,
    max_rows: int = 50,
) -> Section | None:
    """Pool totals and paths across scenarios; ``None`` when there is only one scenario.

    Up to ``max_rows`` scenarios get one table row each (with their levers
    when ``scenarios`` is given), more get a distribution table (min,
    percentiles, max, mean); up to ``max_lines`` get one line each on the
    balance and cumulative-loss charts, more get percentile bands.
    """
    if cf.n_scenarios < 2:
        return None
    frame = scenario_frame(cf, scenarios)
    n = _active_periods(cf)
    x = cf.periods[:n]
    names = [str(v) for v in cf.scenario_names]
    b0 = float(cf.initial_balance.sum())
    formats: dict[str, str] = dict.fromkeys(_SCENARIO_METRICS, "money0")
    formats |= {"cumulative_default_rate": "pct", "cumulative_net_loss": "pct", "wal": "years"}
    lever_formats = {
        c: ("int" if c == "recovery_lag_shift" else "float2")
        for c in frame.columns
        if c not in _SCENARIO_METRICS
    }
    blocks: list[Block] = []
    if cf.n_scenarios <= max_rows:
        blocks.append(Table(frame, formats | lever_formats, caption="Pool life totals by scenario"))
    else:
        blocks.append(
            Table(
                _distribution(frame),
                formats,
                caption=f"Pool life totals: distribution over {cf.n_scenarios:,} scenarios",
            )
        )
    blocks.append(
        Figure(
            _paths_figure(
                np.concatenate(([0], x)),
                np.concatenate((cf["begin_balance"][:, :1], cf["end_balance"][:, :n]), axis=1),
                names,
                "Pool balance by scenario",
                _money_axis(currency),
                ",.0f",
                "%{y:,.0f}",
                max_lines,
            )
        )
    )
    cnl = np.cumsum(cf["loss"][:, :n], axis=1) / (b0 if b0 > 0 else 1.0)
    blocks.append(
        Figure(
            _paths_figure(
                x,
                cnl,
                names,
                "Cumulative net loss by scenario",
                "% of cut-off balance",
                ".1%",
                "%{y:.2%}",
                max_lines,
            )
        )
    )
    return Section(title, blocks, id="scenario-comparison")


# --- assumptions ---------------------------------------------------------------------------------


def describe_curve(curve: Curve) -> str:
    """A curve in words: ``CDR 2.00%``, ``150% PSA``, ``CDR vector by age: 0.40%, ... (6)``."""
    d = curve.to_dict()
    scale = d.pop("scale", None)
    if len(d) == 1:
        ((key, value),) = d.items()
        if key in ("cdr", "cpr", "smm", "mdr"):
            text = f"{key.upper()} {format_pct(value)}"
        elif key in ("psa", "sda"):
            text = f"{float(value):g}% {key.upper()}"
        elif key == "abs":
            text = f"ABS {format_pct(value)}"
        else:
            text = canonical_json(d)
    elif "vector" in d:
        values = [format_pct(v) for v in d["vector"]]
        shown = ", ".join(values[:6]) + (", ..." if len(values) > 6 else "")
        text = (
            f"{str(d.get('unit', '')).upper()} vector by {d.get('by', 'age')}: {shown} "
            f"({len(values)} months, last held)"
        )
    elif "cumulative_default" in d:
        text = (
            f"Cumulative default {format_pct(d['cumulative_default'])} over "
            f"{len(d.get('timing', []))} months by {d.get('by', 'age')}"
        )
    else:
        text = canonical_json(d)
    return f"{text} x {float(scale):.2f}" if scale is not None else text


def _per_grade(
    assumptions: Assumptions | GradedAssumptions, grades: Sequence[str] | None = None
) -> dict[str, Assumptions]:
    if isinstance(assumptions, GradedAssumptions):
        out = {str(g): assumptions[g] for g in assumptions}
        others = grades is None or any(str(g) not in out for g in grades)
        if assumptions.default is not None and others:
            out["other grades"] = assumptions.default
        return out
    return {"all grades": assumptions}


def assumptions_frame(
    assumptions: Assumptions | GradedAssumptions, grades: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per grade: default and prepayment curves, severity, recovery lag, advancing.

    With ``grades`` (the pool's), the row of the fallback set ("other grades")
    appears only when some of them are not named.
    """
    rows = []
    for grade, a in _per_grade(assumptions, grades).items():
        rows.append(
            {
                "grade": grade,
                "default_curve": "roll rates"
                if a.roll_rates is not None
                else describe_curve(a.default),
                "prepay_curve": describe_curve(a.prepay),
                "severity": a.severity,
                "recovery_lag": a.recovery_lag,
                "advancing": "yes" if a.advancing else "no",
                "delinquency_pipeline": "yes" if a.roll_rates is not None else "no",
                "delinquent_at_cutoff": "excluded (1-90 dpd)"
                if a.delinquent_at_cutoff == "exclude"
                else "roll-rate pipeline"
                if a.roll_rates is not None
                else "rolled to default",
            }
        )
    return pd.DataFrame(rows).set_index("grade")


_ASSUMPTION_FORMATS = {
    "default_curve": "text",
    "prepay_curve": "text",
    "severity": "pct",
    "recovery_lag": "int",
    "advancing": "text",
    "delinquency_pipeline": "text",
    "delinquent_at_cutoff": "text",
}


def _curves_figure(per_grade: Mapping[str, Assumptions], months: int) -> go.Figure:
    ages = np.arange(1, months + 1)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["Default (CDR)", "Prepayment (CPR)"],
        horizontal_spacing=0.12,
    )
    colors = ["#1f4e79", "#2a9d8f", "#e76f51", "#8d99ae", "#c1121f", "#6a994e"]
    for k, (grade, a) in enumerate(per_grade.items()):
        color = colors[k % len(colors)]
        if a.roll_rates is None:
            fig.add_trace(
                go.Scatter(
                    x=ages,
                    y=a.default.annual_rates(ages),
                    name=f"{grade}",
                    legendgroup=grade,
                    mode="lines",
                    line={"color": color},
                    hovertemplate="%{y:.2%}",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=ages,
                y=a.prepay.annual_rates(ages),
                name=f"{grade}",
                legendgroup=grade,
                showlegend=a.roll_rates is not None,
                mode="lines",
                line={"color": color},
                hovertemplate="%{y:.2%}",
            ),
            row=1,
            col=2,
        )
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(title_text="Loan age (months)")
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Base-case curves by grade (annualised)")
    return fig


def assumptions_section(
    assumptions: Assumptions | GradedAssumptions,
    *,
    scenarios: ScenarioSet | None = None,
    title: str = "Assumptions",
    months: int = 36,
    max_scenario_rows: int = 50,
    grades: Sequence[str] | None = None,
) -> Section:
    """The base-case assumptions per grade (table and curves) and the scenario levers.

    Parameters
    ----------
    assumptions : Assumptions or GradedAssumptions
    scenarios : ScenarioSet, optional
        Listed with their levers (up to ``max_scenario_rows``).
    title : str
    months : int
        Ages shown on the curve chart.
    max_scenario_rows : int
        More scenarios than this are not listed (the workbook has them).
    grades : sequence of str, optional
        The pool's grades: the fallback set is shown only if one is not named.
    """
    per_grade = _per_grade(assumptions, grades)
    blocks: list[Block] = [
        Table(
            assumptions_frame(assumptions, grades),
            _ASSUMPTION_FORMATS,
            caption="Collateral assumptions (base case)",
        ),
        Figure(_curves_figure(per_grade, months), height=360),
    ]
    if scenarios is not None:
        levers = scenarios.to_frame().set_index("scenario")
        lever_formats = {
            c: "int" if c == "recovery_lag_shift" else "float2" for c in levers.columns
        }
        if len(levers) <= max_scenario_rows:
            blocks.append(
                Table(levers, lever_formats, caption="Scenarios (multipliers on the base case)")
            )
        else:
            blocks.append(
                Paragraph(
                    f"{len(levers):,} scenarios; their levers are in the workbook's "
                    "assumptions sheet."
                )
            )
    return Section(title, blocks, id="assumptions")


# --- whole pool report and workbook ------------------------------------------------------------


def pool_report(
    pool: Pool,
    cf: PoolCashflows,
    *,
    assumptions: Assumptions | GradedAssumptions | None = None,
    scenarios: ScenarioSet | None = None,
    title: str = "Collateral report",
    subtitle: str | None = None,
    currency: str | None = None,
    metadata: RunMetadata | None = None,
    extra_sections: Sequence[Section] = (),
    stability: Stability | None = None,
) -> Report:
    """The collateral part of the investor report as a :class:`Report`.

    Sections: pool stratification, early warning (flags of a graded tape and,
    with ``stability``, the scorecard's PSI/CSI drift), collateral cash flows
    (first scenario), scenario comparison (when there are several),
    assumptions (when given), then ``extra_sections`` (e.g. the deal's), and
    the run metadata.
    """
    sections: list[Section] = [strats_section(pool)]
    warning = early_warning_section(pool, stability=stability)
    if warning is not None:
        sections.append(warning)
    sections.append(collateral_section(cf, currency=currency))
    comparison = scenario_section(cf, scenarios=scenarios, currency=currency)
    if comparison is not None:
        sections.append(comparison)
    sections += list(extra_sections)
    if assumptions is not None:
        sections.append(assumptions_section(assumptions, scenarios=scenarios, grades=pool.grades))
    return Report(title, sections, subtitle=subtitle, currency=currency, metadata=metadata)


def pool_sheets(
    pool: Pool,
    cf: PoolCashflows,
    *,
    assumptions: Assumptions | GradedAssumptions | None = None,
    scenarios: ScenarioSet | None = None,
    by_group: bool = False,
    max_scenarios: int = 100,
) -> list[Sheet]:
    """Workbook sheets for the collateral: pool summary, strats, pool cash flows, scenarios.

    ``pool_summary`` (item / value), ``strats`` (all tables stacked, index
    ``strat, bucket``), ``pool_cashflows`` (scenario and period, tidy; by
    group when ``by_group``), ``scenarios`` (life totals per scenario, when
    there are several), ``assumptions`` (when given) and ``scenario_levers``
    (when ``scenarios`` is given).

    A workbook is for reading: ``pool_cashflows`` holds the first
    ``max_scenarios`` scenarios only (a warning is logged; every scenario
    keeps its row in ``scenarios``).  Whole Monte Carlo batches belong in
    parquet (``cf.to_frame().to_parquet``); xlsxwriter writes about 100,000
    cells a second.
    """
    if by_group and cf.group_by == "loan":
        raise SpecError(
            "loan-level cash flows name receivables and cannot go into a report; project "
            "by='grade' or by='cohort', or write by_group=False",
            "by_group",
        )
    summary = pool.summary()
    summary_frame = pd.DataFrame(
        {"item": [str(k) for k in summary.index], "value": summary.to_numpy(dtype=np.float64)}
    )
    flows = cf.to_frame(by_group=by_group)
    if cf.n_scenarios > max_scenarios:
        log.warning(
            "pool_cashflows sheet: %d of %d scenarios written (max_scenarios); the scenarios "
            "sheet has the totals of all",
            max_scenarios,
            cf.n_scenarios,
        )
        flows = flows[flows["scenario"].isin(cf.scenario_names[:max_scenarios])]
    sheets = [
        Sheet("pool_summary", summary_frame, {"item": "text", "value": "float2"}),
        Sheet("strats", strats_frame(pool), STRAT_FORMATS),
        Sheet(
            "pool_cashflows",
            flows,
            {c: "float2" for c in flows.columns if c not in ("scenario", "period", cf.group_by)},
        ),
    ]
    if cf.n_scenarios > 1:
        frame = scenario_frame(cf, scenarios)
        sheets.append(Sheet("scenarios", frame))
    if assumptions is not None:
        frame = assumptions_frame(assumptions, pool.grades)
        sheets.append(Sheet("assumptions", frame, _ASSUMPTION_FORMATS))
    if scenarios is not None:
        sheets.append(Sheet("scenario_levers", scenarios.to_frame()))
    return sheets


def spec_of(
    assumptions: Assumptions | GradedAssumptions | None = None,
    scenarios: ScenarioSet | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An effective-spec dict for :func:`~abs_engine.reports.metadata.run_metadata`.

    Holds the assumptions' TOML form, the scenario levers (as lists) and
    any extra entries (tape file, options), all JSON-ready.
    """
    spec: dict[str, Any] = dict(extra)
    if assumptions is not None:
        spec["assumptions"] = assumptions.to_dict()
    if scenarios is not None:
        levers = scenarios.to_frame()
        spec["scenarios"] = {str(c): levers[c].tolist() for c in levers.columns}
    return spec
