"""The tables an analyst puts in a prospectus or a pitch: decrement, price/yield, scenarios.

* :func:`decrement_table` -- percent of each class's original balance still
  outstanding at monthly, quarterly or annual dates from closing, one column
  per prepayment speed, the WAL in the last row;
* :func:`price_yield` / :func:`yield_price` -- yield from clean price and clean
  price from yield for every class of a run, in every scenario (tidy);
* :func:`price_yield_table` -- one class, prices down, scenarios across;
* :func:`scenario_comparison` -- the measures of one or several runs, one row
  per run, scenario, class and measure (tidy), each with its units.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from abs_engine.analytics.conventions import effective_annual
from abs_engine.analytics.deal import AnalysedRun
from abs_engine.analytics.measures import Compounding, wal
from abs_engine.curves.assumptions import Assumptions, map_assumptions
from abs_engine.curves.curve import Constant
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.daycount import add_months, year_fraction
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.spec import Deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool

__all__ = [
    "COMPARISON_MEASURES",
    "decrement_table",
    "price_yield",
    "price_yield_table",
    "scenario_comparison",
    "yield_price",
]

Step = Literal["monthly", "quarterly", "annual"]
_STEP_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}

#: Measures of :func:`scenario_comparison` and their units.
COMPARISON_MEASURES: Mapping[str, str] = {
    "yield": "nominal annual rate (decimal), compounded at the deal's payment frequency",
    "effective_yield": "annual effective rate (decimal)",
    "cash_multiple": "cash received / paid (multiple)",
    "wal": "years from settlement",
    "modified_duration": "years",
    "principal_loss_share": "share of the original balance (decimal)",
    "interest_shortfall_share": "share of the original balance (decimal)",
    "min_oc": "ratio (collateral / notes at or above the class)",
    "min_ic": "ratio (interest after fees / interest due at or above the class)",
    "min_credit_enhancement": "share of the pool (decimal)",
}


def _pool_of(deal: Deal, pool: Pool | Cohorts | None) -> Pool | Cohorts:
    if pool is not None:
        return pool
    if deal.pool.tape is None:
        raise SpecError("the deal names no tape; pass pool=", "pool.tape")
    return load_pool(deal.pool.tape, grades=deal.pool.grades)


def _with_cpr_base(deal: Deal) -> Deal:
    """Every grade's prepayment curve replaced by a constant 1% CPR (so prepay_mult = CPR / 1%)."""

    def swap(a: Assumptions) -> Assumptions:
        return dataclasses.replace(a, prepay=Constant(0.01, "cpr"))

    return deal.with_assumptions(map_assumptions(deal.assumptions, swap))


def decrement_table(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    *,
    prepay_mults: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    cpr: Sequence[float] | None = None,
    tranches: Sequence[str] | None = None,
    step: Step = "quarterly",
) -> dict[str, pd.DataFrame]:
    """Percent of each class's original balance outstanding, every ``step`` from closing.

    Rows are the dates closing + k x (1, 3 or 12 months) until every class
    is repaid in every column, the balance after the last payment on or
    before each date; columns are prepayment speeds -- multiples of the base
    prepayment curve, or constant CPRs when ``cpr`` is given.  The last row
    is the WAL at each speed, in years from closing by the deal's day count.
    """
    if step not in _STEP_MONTHS:
        raise SpecError(f"step must be one of {', '.join(_STEP_MONTHS)}; got {step!r}", "step")
    pool = _pool_of(deal, pool)
    if cpr is not None:
        engine_deal = _with_cpr_base(deal)
        mults = np.asarray(cpr, dtype=float) / 0.01
        labels = [f"{c:.0%} CPR" for c in cpr]
    else:
        engine_deal = deal
        mults = np.asarray(prepay_mults, dtype=float)
        labels = [f"{m:.0%} of base" for m in prepay_mults]
    res = AnalysedRun.of(
        run_deal(engine_deal, pool, ScenarioSet.from_arrays(labels, prepay_mult=mults))
    )
    closing = np.datetime64(deal.dates.closing, "D")
    months = _STEP_MONTHS[step]
    end = res.dates[-1] if res.n_periods else closing
    count = 0
    while add_months(closing, months * count) < end:
        count += 1
    marks = np.array([add_months(closing, months * k) for k in range(count + 1)])
    t = np.asarray(year_fraction(closing, res.dates, deal.dates.day_count), dtype=np.float64)
    out: dict[str, pd.DataFrame] = {}
    for name in tranches or res.tranche_names:
        i = res.tranche_index(name)
        face = float(res.original_balances[name])
        table = {}
        for k, d in enumerate(marks):
            past = np.flatnonzero(res.dates <= d)
            bal = (
                res.tranche["begin_balance"][:, i, 0]
                if past.size == 0
                else res.tranche["end_balance"][:, i, past[-1]]
            )
            key = "Closing" if k == 0 else str(d)
            table[key] = 100.0 * bal / face if face > 0 else np.full(res.n_scenarios, np.nan)
        frame = pd.DataFrame(table, index=labels).T
        wal_row = pd.DataFrame(
            [wal(res.tranche["principal_paid"][:, i], t)], index=["WAL (years)"], columns=labels
        )
        table_out = pd.concat([frame.round(6), wal_row])
        table_out.attrs["units"] = (
            f"percent of the original balance outstanding, {step} from closing; "
            f"WAL in years from closing by {deal.dates.day_count}"
        )
        out[name] = table_out
    return out


def price_yield(
    result: AnalysedRun,
    prices: Sequence[float] = (98.0, 99.0, 100.0, 101.0, 102.0),
    *,
    tranches: Sequence[str] | None = None,
    compounding: Compounding | None = None,
    settlement: dt.date | None = None,
    delay_days: int = 0,
) -> pd.DataFrame:
    """Yield of every class at each clean price, in every scenario (tidy).

    Columns ``scenario, tranche, price, accrued_interest, full_price, yield,
    effective_yield, yield_reason``; an equity class priced here is priced as
    a note (its clean price times its balance), not on the residual holder's
    outlay.  ``attrs["conventions"]`` says how each figure is quoted.
    """
    names = list(tranches) if tranches is not None else list(result.tranche_names)
    conv = result.convention(compounding, settlement, delay_days)
    frames = []
    for px in prices:
        ys = result.yields(
            dict.fromkeys(names, float(px)),
            compounding=compounding,
            settlement=settlement,
            delay_days=delay_days,
        )
        st = result.settle(settlement, delay_days)
        for name in names:
            i = result.tranche_index(name)
            y = ys[name].yield_
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": result.scenario_names,
                        "tranche": name,
                        "price": float(px),
                        "accrued_interest": st.accrued_pct[i],
                        "full_price": float(px) + st.accrued_pct[i],
                        "yield": y,
                        "effective_yield": effective_annual(y, conv.compounding),
                        "yield_reason": ys[name].reason,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out.attrs["conventions"] = conv.columns()
    return out


def yield_price(
    result: AnalysedRun,
    yields: Sequence[float] = (0.04, 0.05, 0.06, 0.07, 0.08),
    *,
    tranches: Sequence[str] | None = None,
    compounding: Compounding | None = None,
    settlement: dt.date | None = None,
    delay_days: int = 0,
) -> pd.DataFrame:
    """Clean price, accrued interest and full price of every class at each yield (tidy).

    See :meth:`AnalysedRun.prices_from_yields`; the residual holder's row
    values everything paid to the equity classes.
    """
    names = list(tranches) if tranches is not None else list(result.tranche_names)
    frames = [
        result.prices_from_yields(
            dict.fromkeys(names, float(y)),
            compounding=compounding,
            settlement=settlement,
            delay_days=delay_days,
        )
        for y in yields
    ]
    out = pd.concat(frames, ignore_index=True)
    out.attrs["conventions"] = frames[0].attrs.get("conventions", {}) if frames else {}
    return out


def price_yield_table(
    result: AnalysedRun,
    tranche: str,
    prices: Sequence[float] = (98.0, 99.0, 100.0, 101.0, 102.0),
    *,
    compounding: Compounding | None = None,
    settlement: dt.date | None = None,
) -> pd.DataFrame:
    """Yield of one class at several clean prices (rows) in each scenario (columns)."""
    tidy = price_yield(
        result, prices, tranches=[tranche], compounding=compounding, settlement=settlement
    )
    values = tidy["yield"].to_numpy(dtype=np.float64).reshape(len(prices), result.n_scenarios)
    frame = pd.DataFrame(
        values,
        index=pd.Index([f"{float(p):g}" for p in prices], name="price"),
        columns=list(result.scenario_names),
    )
    frame.attrs["conventions"] = tidy.attrs["conventions"]
    return frame


def scenario_comparison(
    results: AnalysedRun | Mapping[str, AnalysedRun],
    measures: Sequence[str] = tuple(COMPARISON_MEASURES),
    *,
    prices: Mapping[str, float] | float | None = None,
) -> pd.DataFrame:
    """The measures of one or several runs side by side, tidy.

    One row per run, scenario, class and measure: ``run, scenario, tranche,
    measure, value, units``.  Several runs (different structures or
    assumption sets) are keyed by name; each run's summary is computed at
    ``prices`` (default par, the residual holder on its outlay).
    """
    runs = {"run": results} if isinstance(results, AnalysedRun) else dict(results)
    unknown = [m for m in measures if m not in COMPARISON_MEASURES]
    if unknown:
        raise SpecError(
            f"unknown measure(s) {unknown}; choose from {', '.join(COMPARISON_MEASURES)}",
            "measures",
        )
    frames = []
    for key, res in runs.items():
        summ = AnalysedRun.of(res).summary(prices)
        long = summ.melt(
            id_vars=["scenario", "tranche"],
            value_vars=list(measures),
            var_name="measure",
            value_name="value",
        )
        long.insert(0, "run", key)
        long["units"] = long["measure"].map(COMPARISON_MEASURES)
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype(np.float64)
    return out
