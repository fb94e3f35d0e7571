"""Collection months and payment periods of a deal, and monthly flows summed into periods.

The rule is the deal engine's (``docs/waterfall.md``, *Calendar*): pool month 1
is the calendar month after the cut-off (or after a seasoned deal's
``state.as_of``), and a payment date collects the pool months that end before
its own month.  :func:`abs_engine.surveillance.surveil` checks the run's
``collection_end`` against this calendar, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from abs_engine.daycount import payment_dates
from abs_engine.deal.spec import Deal
from abs_engine.errors import ServicerError
from abs_engine.surveillance.servicer import _month_end, month_index

__all__ = ["Calendar", "deal_calendar", "period_collections"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Calendar:
    """The payment dates still ahead of a deal and the pool months each one collects.

    Attributes
    ----------
    start : int
        Calendar month number of the cut-off (or ``state.as_of``): pool month
        ``k`` is calendar month ``start + k``.
    dates : ndarray of datetime64[D]
        Payment dates, ``(T,)``.
    ends : ndarray of int64
        Pool months collected by the end of each payment period (cumulative), ``(T,)``.
    """

    start: int
    dates: NDArray[np.datetime64]
    ends: I64

    @property
    def first_month_end(self) -> dt.date:
        """Last day of pool month 1."""
        return _month_end(self.start + 1)

    def month_end(self, k: int) -> dt.date:
        """Last day of pool month ``k`` (1-based)."""
        return _month_end(self.start + k)

    def periods_for(self, n_months: int, what: str = "the servicer report") -> int:
        """How many payment periods ``n_months`` pool months complete (they must end one)."""
        hit = np.flatnonzero(self.ends == n_months)
        if hit.size:
            return int(hit[-1]) + 1
        if n_months > int(self.ends[-1]):
            raise ServicerError(
                f"{what} runs to {self.month_end(n_months)}, beyond the last collection month "
                f"{self.month_end(int(self.ends[-1]))} of the deal's payment dates (legal final)"
            )
        done = self.ends[self.ends < n_months]
        before = self.month_end(int(done[-1])) if done.size else None
        after = self.month_end(int(self.ends[self.ends > n_months][0]))
        pay = str(self.dates[int(np.flatnonzero(self.ends > n_months)[0])])
        fix = f"end it on {after}" + (f" or on {before}" if before is not None else "")
        raise ServicerError(
            f"{what} ends on {self.month_end(n_months)}, inside the collection period of the "
            f"payment date {pay} (which collects the months to {after}): a waterfall runs on "
            f"whole collection periods; {fix}"
        )


def deal_calendar(deal: Deal) -> Calendar:
    """The calendar of ``deal`` from its cut-off (or ``state.as_of``) to its legal final."""
    d = deal.dates
    months = month_index(d.legal_final) - month_index(d.first_payment)
    count = months // d.frequency + 1
    dates = payment_dates(d.first_payment, count, months=d.frequency, day=d.payment_day)
    dates = dates[dates <= np.datetime64(d.legal_final)]
    start = month_index(deal.state.as_of if deal.state is not None else d.cutoff)
    collect = np.array([month_index(x) - 1 for x in dates], dtype=np.int64)
    keep = collect > start if deal.state is not None else np.ones(dates.size, dtype=bool)
    ends = np.maximum(collect[keep] - start, 0).astype(np.int64)
    return Calendar(start, dates[keep].astype("datetime64[D]"), ends)


def period_collections(monthly: Mapping[str, F64], ends: I64) -> dict[str, F64]:
    """Sum monthly pool flows ``(..., M)`` into payment periods ``(..., T)``.

    Flows add up over a period's months; ``begin_balance`` is the first
    month's opening balance plus every purchase of the period (receivables
    bought on a payment date are in the pool for the whole collection month
    in which it falls, as the engine's convolution has them);
    ``end_balance`` is the last month's closing balance (before the period's
    own payment-date purchases).

    ``monthly`` has ``begin_balance`` (the opening balance), ``purchases``,
    ``end_balance`` and the flows of :data:`abs_engine.deal.COLLECTION_FIELDS`.
    """
    T = int(ends.shape[0])
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    out: dict[str, F64] = {}
    for f, a in monthly.items():
        if f in ("begin_balance", "end_balance", "purchases"):
            continue
        cum = np.concatenate([np.zeros((*a.shape[:-1], 1)), np.cumsum(a, axis=-1)], axis=-1)
        out[f] = cum[..., ends] - cum[..., starts]
    bought = monthly["purchases"]
    cum_b = np.concatenate([np.zeros((*bought.shape[:-1], 1)), np.cumsum(bought, axis=-1)], axis=-1)
    out["begin_balance"] = monthly["begin_balance"][..., starts] + (
        cum_b[..., ends] - cum_b[..., starts]
    )
    out["end_balance"] = monthly["end_balance"][..., ends - 1]
    assert all(v.shape[-1] == T for v in out.values())
    return out
