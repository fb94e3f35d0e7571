"""The conventions a figure is quoted in, as words for column headers and footnotes.

Every yield, IRR, spread, duration and price column of the analytics carries
the convention it was computed in: the compounding, the day count and
settlement its times run from, and the price basis.  :class:`Convention`
holds them for one computation and renders the labels; frames carry them in
``frame.attrs["conventions"]`` (column -> text).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["COMPOUNDING_NAMES", "Convention", "effective_annual"]

#: Words for a compounding frequency (periods a year; 0 continuous).
COMPOUNDING_NAMES = {
    0: "continuously",
    1: "annually",
    2: "semiannually",
    3: "every four months",
    4: "quarterly",
    6: "every two months",
    12: "monthly",
}


def effective_annual(y: ArrayLike, m: int) -> NDArray[np.float64]:
    r"""Annual effective rate of a nominal rate ``y`` compounded ``m`` times a year.

    .. math::

        y_{\mathrm{eff}} = \left(1 + \frac{y}{m}\right)^m - 1
        \qquad (e^{y} - 1\ \text{continuous})

    NaN stays NaN.
    """
    v = np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if m == 0:
            return np.asarray(np.expm1(v), dtype=np.float64)
        return np.asarray(np.expm1(m * np.log1p(v / m)), dtype=np.float64)


@dataclass(frozen=True)
class Convention:
    """How the yields and durations of one computation are quoted.

    Parameters
    ----------
    compounding : int
        Periods a year of the nominal yield (0 continuous).
    day_count : str
        Day count of the times (the deal's).
    settlement : datetime.date
        Times run from here; flows on or before it are dropped.
    delay_days : int
        Days from a payment date to the cash reaching the holder.
    """

    compounding: int
    day_count: str
    settlement: dt.date
    delay_days: int = 0

    @property
    def compounded(self) -> str:
        """``"compounded monthly"``."""
        return (
            f"compounded {COMPOUNDING_NAMES.get(self.compounding, f'{self.compounding}x a year')}"
        )

    @property
    def times(self) -> str:
        """How times are measured."""
        delay = f" + {self.delay_days} days' delay" if self.delay_days else ""
        return f"years by {self.day_count} from settlement {self.settlement:%Y-%m-%d}{delay}"

    @property
    def yield_label(self) -> str:
        """``"nominal annual, compounded monthly, ACT/365F"``: for a column header."""
        return f"nominal annual, {self.compounded}, {self.day_count}"

    def columns(self) -> dict[str, str]:
        """The convention of each convention-bearing column of the summary and price tables."""
        on = f"{self.compounded}; times in {self.times}"
        return {
            "price": "clean, percent of the class balance at settlement (residual holder: "
            "outlay from sources and uses unless priced)",
            "accrued_interest": f"percent of the class balance at settlement; coupon accrued by "
            f"{self.day_count} from the last payment date (or closing) to settlement",
            "full_price": "clean price + accrued interest, percent of the class balance at settlement",
            "yield": f"nominal annual rate {on}; discounts the flows after settlement to the full price",
            "effective_yield": f"annual effective: (1 + yield/m)^m - 1 with m = {self.compounding} "
            "(exp(yield) - 1 when continuous)",
            "wal": f"principal-weighted mean time of the principal paid after settlement, {self.times}",
            "modified_duration": f"-(dP/dy)/P at the yield, {on}",
            "macaulay_duration": f"present-value-weighted mean time, {on}",
            "convexity": f"(d2P/dy2)/P at the yield, {on}; years squared",
            "z_spread": f"spread over the zero curve, {on}",
        }
