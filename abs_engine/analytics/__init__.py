"""Analytics: price, yield, average life, duration, convexity and spreads.

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

from abs_engine.analytics.breakeven import breakeven, cdr_deal, stress_table
from abs_engine.analytics.deal import SUMMARY_COLUMNS, AnalysedRun, run
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
from abs_engine.analytics.sizing import Sizing, decrement_table, price_yield_table, size
from abs_engine.analytics.spread import SpreadResult, ZeroCurve, price_from_spread, z_spread

__all__ = [
    "COMPOUNDING",
    "SUMMARY_COLUMNS",
    "AnalysedRun",
    "Compounding",
    "Sizing",
    "SpreadResult",
    "YieldResult",
    "ZeroCurve",
    "breakeven",
    "cdr_deal",
    "convexity",
    "decrement_table",
    "macaulay_duration",
    "modified_duration",
    "price_from_spread",
    "price_from_yield",
    "price_yield_table",
    "run",
    "size",
    "stress_table",
    "wal",
    "yield_from_price",
    "z_spread",
]
