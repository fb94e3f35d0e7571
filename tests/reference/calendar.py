"""Payment dates, day counts and the pool months each payment date collects.

Written from ``docs/waterfall.md`` ("Calendar") and the deal-spec docstrings:

* payment dates start at ``first_payment`` and follow every ``frequency`` months
  on ``payment_day`` (default: the first payment date's day), clamped to the end
  of the month, up to the legal final;
* pool month ``k`` is the ``k``-th calendar month after the cut-off's month;
  payment date ``p`` collects the pool months that end before its own month and
  were not collected before;
* interest accrues from the previous payment date (the closing date for the
  first period) by the deal's day count: ``ACT/365F`` (days / 365), ``ACT/360``
  (days / 360) or ``30/360`` (US bond basis: ``D1 = 31 -> 30``; ``D2 = 31 -> 30``
  when ``D1`` is then 30).
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt


def add_months(d: dt.date, months: int, day: int) -> dt.date:
    """``months`` calendar months after ``d``'s month, on ``day`` clamped to the month end."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    last = _cal.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day, last))


def payment_dates(first: dt.date, legal_final: dt.date, frequency: int, day: int) -> list[dt.date]:
    """Every payment date from the first to the legal final (inclusive)."""
    out = []
    k = 0
    while True:
        d = add_months(first, k * frequency, day)
        if d > legal_final:
            return out
        out.append(d)
        k += 1


def year_fraction(start: dt.date, end: dt.date, basis: str) -> float:
    """Accrual year fraction from ``start`` to ``end``."""
    days = (end - start).days
    if basis == "ACT/365F":
        return days / 365.0
    if basis == "ACT/360":
        return days / 360.0
    if basis in ("30/360", "30/360 Bond Basis"):
        d1, d2 = start.day, end.day
        if d1 == 31:
            d1 = 30
        if d2 == 31 and d1 == 30:
            d2 = 30
        return (360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)) / 360.0
    raise NotImplementedError(f"the reference has no day count {basis!r}")


def months_after(base: dt.date, d: dt.date) -> int:
    """Calendar months from ``base``'s month to ``d``'s month."""
    return (d.year - base.year) * 12 + (d.month - base.month)


def collected_months(cutoff: dt.date, dates: list[dt.date]) -> list[list[int]]:
    """The pool months (1 = first calendar month after the cut-off) each payment date collects."""
    out = []
    done = 0
    for d in dates:
        last = months_after(cutoff, d) - 1  # months ending before the payment date's month
        out.append(list(range(done + 1, last + 1)))
        done = max(done, last)
    return out
