"""Analytics: price, yield, average life, duration, convexity, spreads, break-even, sizing.

The plain-array layer works on cash-flow vectors of shape ``(..., T)``
with payment times in years, vectorised over every leading (scenario,
tranche, ...) axis.  The deal layer (:class:`AnalysedRun`, returned by
:func:`run` and ``ae.run``) computes times from the deal's dates and day
count and adds coverage, the run summary, break-even multiples, sizing and
the prospectus tables.

>>> import numpy as np
>>> from abs_engine import analytics
>>> t = np.arange(1, 13) / 12
>>> round(float(analytics.yield_from_price(np.full(12, 1.0), t, 11.5, "monthly")), 6)
0.07931
"""

from abs_engine.analytics.breakeven import (
    BREAKEVEN_COLUMNS,
    breakeven,
    cdr_deal,
    collateral_cnl,
    stress_table,
)
from abs_engine.analytics.conventions import Convention, effective_annual
from abs_engine.analytics.deal import SUMMARY_COLUMNS, AnalysedRun, Priced, run
from abs_engine.analytics.measures import (
    COMPOUNDING,
    Compounding,
    YieldResult,
    convexity,
    macaulay_duration,
    modified_duration,
    price_from_yield,
    wal,
    yield_from_price,
)
from abs_engine.analytics.settlement import Settlement, settle
from abs_engine.analytics.sizing import SIZING_COLUMNS, Sizing, size
from abs_engine.analytics.spread import SpreadResult, ZeroCurve, price_from_spread, z_spread
from abs_engine.analytics.tables import (
    COMPARISON_MEASURES,
    decrement_table,
    price_yield,
    price_yield_table,
    scenario_comparison,
    yield_price,
)

__all__ = [
    "BREAKEVEN_COLUMNS",
    "COMPARISON_MEASURES",
    "COMPOUNDING",
    "SIZING_COLUMNS",
    "SUMMARY_COLUMNS",
    "AnalysedRun",
    "Compounding",
    "Convention",
    "Priced",
    "Settlement",
    "Sizing",
    "SpreadResult",
    "YieldResult",
    "ZeroCurve",
    "breakeven",
    "cdr_deal",
    "collateral_cnl",
    "convexity",
    "decrement_table",
    "effective_annual",
    "macaulay_duration",
    "modified_duration",
    "price_from_spread",
    "price_from_yield",
    "price_yield",
    "price_yield_table",
    "run",
    "scenario_comparison",
    "settle",
    "size",
    "stress_table",
    "wal",
    "yield_from_price",
    "yield_price",
    "z_spread",
]
