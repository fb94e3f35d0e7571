"""Analytics: price, yield, average life, duration, convexity and spreads.

The plain-array layer works on cash-flow vectors of shape ``(..., T)``
with payment times in years, vectorised over every leading (scenario,
tranche, ...) axis.

>>> import numpy as np
>>> from abs_engine import analytics
>>> t = np.arange(1, 13) / 12
>>> round(float(analytics.yield_from_price(np.full(12, 1.0), t, 11.5, "monthly")), 6)
0.07931
"""

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
from abs_engine.analytics.spread import SpreadResult, ZeroCurve, price_from_spread, z_spread

__all__ = [
    "COMPOUNDING",
    "Compounding",
    "SpreadResult",
    "YieldResult",
    "ZeroCurve",
    "convexity",
    "macaulay_duration",
    "modified_duration",
    "price_from_spread",
    "price_from_yield",
    "wal",
    "yield_from_price",
    "z_spread",
]
