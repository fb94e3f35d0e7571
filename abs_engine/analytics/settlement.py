r"""A deal run seen from a settlement date: what is left, what it is priced on.

Market convention for a note bought on settlement date :math:`s`:

* flows whose payment date is on or before :math:`s` belong to the seller and
  are dropped; times run from :math:`s` (the deal's day count, plus any
  payment delay);
* a price is **clean**, in percent of the class balance at :math:`s` (its
  factor applied: the balance after the last payment on or before
  :math:`s`);
* accrued interest is the coupon accrued on that balance from the start of
  the current accrual period (the last payment date, or the closing date) to
  :math:`s` by the deal's day count:

  .. math::

      AI = 100\, c_k\, \mathrm{yf}(A_k, s)\quad\text{(percent of the balance)}

  where :math:`A_k` is the accrual start of the first period paid after
  :math:`s` and :math:`c_k` the coupon of that period;
* full (dirty) price = clean + accrued; the yield discounts the remaining
  flows to the full price.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from abs_engine.daycount import year_fraction
from abs_engine.deal.results import RunResult
from abs_engine.errors import SpecError

__all__ = ["Settlement", "settle"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Settlement:
    """The state of a run at a settlement date.

    Attributes
    ----------
    date : datetime.date
        The settlement date.
    first : int
        Index of the first period whose payment date is after ``date``
        (``n_periods`` when nothing is left).
    accrual_start : datetime.date
        Start of the accrual period ``date`` falls in (last payment date or closing).
    times : numpy.ndarray, shape (n_periods - first,)
        Years from ``date`` to each remaining payment (day count, delay).
    balance : numpy.ndarray, shape (scenario, class)
        Interest-bearing balance of each class at ``date``.
    accrued_pct : numpy.ndarray, shape (class,)
        Accrued interest in percent of the balance.
    pool : numpy.ndarray, shape (scenario,)
        Performing pool balance at ``date``.
    reserve : numpy.ndarray, shape (scenario,)
        Reserve balance at ``date`` (at closing: what the residual holder funded).
    day_count : str
    delay_days : int
    """

    date: dt.date
    first: int
    accrual_start: dt.date
    times: F64
    balance: F64
    accrued_pct: F64
    pool: F64
    reserve: F64
    day_count: str
    delay_days: int

    @property
    def empty(self) -> bool:
        """Whether no payment date is left after settlement."""
        return self.times.size == 0

    @property
    def at_start(self) -> bool:
        """Whether settlement is before the run's first payment date."""
        return self.first == 0


def default_settlement(result: RunResult) -> dt.date:
    """Closing for a new deal; for a seasoned deal the state's date (not before the run starts)."""
    start = _date(result.accrual_start[0])
    if result.deal.state is None:
        return result.deal.dates.closing
    return max(result.deal.state.as_of, start)


def _date(x: np.datetime64) -> dt.date:
    out = x.astype("datetime64[D]").astype(dt.date)
    assert isinstance(out, dt.date)
    return out


def settle(result: RunResult, settlement: dt.date | None = None, delay_days: int = 0) -> Settlement:
    """The run seen from ``settlement`` (default :func:`default_settlement`).

    Raises
    ------
    SpecError
        A settlement before the run's start (closing, or the last payment date
        before a seasoned deal's first period), or a negative delay.
    """
    if isinstance(delay_days, bool) or not isinstance(delay_days, (int, np.integer)):
        raise SpecError(f"delay_days is a whole number of days; got {delay_days!r}", "delay_days")
    if delay_days < 0:
        raise SpecError(f"delay_days must be >= 0; got {delay_days}", "delay_days")
    s = settlement if settlement is not None else default_settlement(result)
    if isinstance(s, dt.datetime):
        s = s.date()
    if not isinstance(s, dt.date):
        raise SpecError(f"settlement is a date (YYYY-MM-DD); got {s!r}", "settlement")
    start = _date(result.accrual_start[0])
    if s < start:
        what = "closing" if result.deal.state is None else "the start of the run's first period"
        raise SpecError(
            f"settlement {s} is before {what} ({start}); the run has no state there. "
            "Settle on or after it",
            "settlement",
        )
    sd = np.datetime64(s, "D")
    first = int(np.searchsorted(result.dates, sd, side="right"))  # dates <= s are past
    T = result.n_periods
    tr, ac, po = result.tranche, result.account, result.pool
    if first == 0:
        balance = tr["begin_balance"][:, :, 0]
        pool = po["begin_balance"][:, 0]
        reserve = ac["reserve_begin"][:, 0]
    else:
        balance = tr["end_balance"][:, :, first - 1]
        pool = po["end_balance"][:, first - 1]
        reserve = ac["reserve_end"][:, first - 1]
    if first < T:
        acc_start = _date(result.accrual_start[first])
        yf = float(year_fraction(np.datetime64(acc_start), sd, result.deal.dates.day_count))
        rates = np.array([t.coupon.rate_from(acc_start) for t in result.deal.tranches])
        paid = result.dates[first:] + np.timedelta64(int(delay_days), "D")
        times = np.asarray(year_fraction(sd, paid, result.deal.dates.day_count), dtype=np.float64)
    else:
        acc_start = _date(result.dates[-1])
        yf = 0.0
        rates = np.zeros(len(result.deal.tranches))
        times = np.zeros(0)
    return Settlement(
        date=s,
        first=first,
        accrual_start=acc_start,
        times=times,
        balance=np.asarray(balance, dtype=np.float64),
        accrued_pct=100.0 * rates * yf,
        pool=np.asarray(pool, dtype=np.float64),
        reserve=np.asarray(reserve, dtype=np.float64),
        day_count=result.deal.dates.day_count,
        delay_days=int(delay_days),
    )
