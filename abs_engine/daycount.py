"""Day counts and payment schedules on ``numpy.datetime64[D]`` arrays.

Every function is vectorised: dates may be one date or an array of dates
(``datetime.date``, ``'YYYY-MM-DD'`` strings, ``numpy.datetime64`` values or
arrays of any of these) and arguments broadcast against each other with the
usual NumPy rules.

There are no business-day calendars here: dates are never moved off weekends
or holidays.  Schedules roll on calendar months with end-of-month clamping
only.

>>> import numpy as np
>>> from abs_engine.daycount import add_months, payment_dates, year_fraction
>>> float(year_fraction("2015-01-31", "2015-03-31", "30/360 US"))
0.16666666666666666
>>> canonical_basis("Actual/Actual")
'ACT/ACT ISDA'
>>> str(add_months(np.datetime64("2024-01-31"), 1))
'2024-02-29'
>>> payment_dates("2024-01-31", 3).astype(str).tolist()
['2024-01-31', '2024-02-29', '2024-03-31']
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abs_engine.errors import SpecError

__all__ = [
    "ALIASES",
    "BASES",
    "DayCount",
    "add_months",
    "canonical_basis",
    "payment_dates",
    "year_fraction",
]

DayCount: TypeAlias = Literal[
    "ACT/365F", "ACT/360", "30/360 US", "30/360 Bond Basis", "30E/360", "ACT/ACT ISDA"
]
#: The day-count bases :func:`year_fraction` knows, by their unambiguous names.
BASES: tuple[DayCount, ...] = (
    "ACT/365F",
    "ACT/360",
    "30/360 US",
    "30/360 Bond Basis",
    "30E/360",
    "ACT/ACT ISDA",
)
#: Other spellings accepted for each basis (compared without case and spaces).  The
#: bare ``"30/360"`` is the ISDA 2006 definition of that name (section 4.16(f),
#: "30/360", "360/360", "Bond Basis"), which earlier versions implemented under it;
#: ``"ACT/ACT"`` was ISDA's.  ``"ACT/365"`` is refused: it means ACT/365F to some and
#: Actual/Actual to ISDA 2000 (section 4.16(b)).
ALIASES: dict[str, DayCount] = {
    "ACT/365 FIXED": "ACT/365F",
    "ACTUAL/365 (FIXED)": "ACT/365F",
    "ACTUAL/365F": "ACT/365F",
    "A/365F": "ACT/365F",
    "ACTUAL/360": "ACT/360",
    "A/360": "ACT/360",
    "30U/360": "30/360 US",
    "30/360 SIA": "30/360 US",
    "30/360": "30/360 Bond Basis",
    "360/360": "30/360 Bond Basis",
    "BOND BASIS": "30/360 Bond Basis",
    "EUROBOND BASIS": "30E/360",
    "30/360 ICMA": "30E/360",
    "ACT/ACT": "ACT/ACT ISDA",
    "ACTUAL/ACTUAL": "ACT/ACT ISDA",
    "ACTUAL/ACTUAL (ISDA)": "ACT/ACT ISDA",
}

DateArray: TypeAlias = NDArray[np.datetime64]
IntArray: TypeAlias = NDArray[np.int64]


def _dates(x: Any, name: str) -> DateArray:
    """``x`` as a ``datetime64[D]`` array; a clear error when it is not a date."""
    try:
        out = np.asarray(x, dtype="datetime64[D]")
    except (ValueError, TypeError) as exc:
        raise SpecError(
            f"could not read {x!r} as dates ({exc}); give datetime.date objects, "
            "'YYYY-MM-DD' strings or numpy datetime64 values",
            name,
        ) from None
    if np.isnat(out).any():
        raise SpecError("dates must not be missing (NaT); remove or fill them first", name)
    return out


def _ints(x: ArrayLike, name: str) -> IntArray:
    """``x`` as an int64 array; whole-valued floats are accepted, others rejected."""
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise SpecError(f"must be whole numbers; got {x!r}", name)
    if np.issubdtype(arr.dtype, np.floating) and not (
        np.all(np.isfinite(arr)) and np.array_equal(np.rint(arr), arr)
    ):
        raise SpecError(f"must be whole numbers; got {x!r}", name)
    return arr.astype(np.int64)


def _ymd(d: DateArray) -> tuple[IntArray, IntArray, IntArray]:
    """Calendar year, month (1-12) and day of month (1-31) of each date."""
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _year_start(year: IntArray) -> DateArray:
    return (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")


def _days_in_year(year: IntArray) -> IntArray:
    return (_year_start(year + 1) - _year_start(year)).astype(np.int64)


def _key(name: str) -> str:
    return "".join(str(name).upper().split())


_LOOKUP: dict[str, DayCount] = {
    **{_key(a): b for a, b in ALIASES.items()},
    **{_key(b): b for b in BASES},
}


def canonical_basis(basis: str, where: str = "basis") -> DayCount:
    """The unambiguous name of a day-count basis given by any accepted spelling.

    Case and spaces do not matter; :data:`ALIASES` lists the other spellings.

    Raises
    ------
    SpecError
        Unknown name; the message lists the names and the key path ``where``.

    Examples
    --------
    >>> canonical_basis("act/365f"), canonical_basis("30/360"), canonical_basis("30E/360")
    ('ACT/365F', '30/360 Bond Basis', '30E/360')
    """
    found = _LOOKUP.get(_key(basis)) if isinstance(basis, str) else None
    if found is None:
        raise SpecError(
            f"unknown day-count basis {basis!r}; use one of "
            f"{', '.join(repr(b) for b in BASES)} (or a spelling in abs_engine.daycount.ALIASES)",
            where,
        )
    return found


def _check_basis(basis: str) -> DayCount:
    return canonical_basis(basis)


def _last_of_february(year: IntArray, month: IntArray, day: IntArray) -> NDArray[np.bool_]:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    out: NDArray[np.bool_] = (month == 2) & (day == np.where(leap, 29, 28))
    return out


def year_fraction(start: Any, end: Any, basis: DayCount | str = "ACT/365F") -> NDArray[np.float64]:
    r"""Year fraction between two dates (or arrays of dates) under a day-count basis.

    With ``(Y1, M1, D1)`` and ``(Y2, M2, D2)`` the calendar parts of ``start``
    and ``end`` and ``days = end - start`` in calendar days:

    ``"ACT/365F"``
        :math:`\mathrm{days} / 365`.
    ``"ACT/360"``
        :math:`\mathrm{days} / 360`.
    ``"30/360 US"``, ``"30/360 Bond Basis"``, ``"30E/360"``
        Twelve months of 30 days,

        .. math:: \frac{360 (Y_2 - Y_1) + 30 (M_2 - M_1) + (D_2 - D_1)}{360},

        after moving the days of month ``D1``, ``D2`` by the basis's rules,
        in this order:

        *30/360 US* (the SIA rule of US bonds, with the end-of-month rules for
        February; QuantLib's ``Thirty360(USA)``): if ``D1`` and ``D2`` are both
        the last day of February set ``D2 = 30``; if ``D1`` is the last day of
        February set ``D1 = 30``; if ``D2 = 31`` and ``D1 >= 30`` set
        ``D2 = 30``; if ``D1 = 31`` set ``D1 = 30``.

        *30/360 Bond Basis* (ISDA 2006 Definitions, section 4.16(f), "30/360",
        "360/360", "Bond Basis"; the bare name ``"30/360"``): if ``D1 = 31``
        set ``D1 = 30``; if ``D2 = 31`` and ``D1`` is then 30 set ``D2 = 30``.
        No rule for February.

        *30E/360* (ISDA 2006 section 4.16(g), "30E/360", "Eurobond Basis"): a
        31st becomes the 30th, for either date.  No rule for February.
    ``"ACT/ACT ISDA"``
        ISDA 2006 section 4.16(b): days falling in a leap year count 1/366, others 1/365,

        .. math::

            Y_2 - Y_1 + \frac{d_2}{N(Y_2)} - \frac{d_1}{N(Y_1)},

        with :math:`d_i` the days from 1 January of :math:`Y_i` to the date
        and :math:`N(Y)` the days in year :math:`Y` (365 or 366).

    The fraction is negative when ``end`` is before ``start``.

    Parameters
    ----------
    start, end : date, str, numpy.datetime64 or array_like of those
        Dates, broadcast against each other.
    basis : str
        Day-count basis: one of :data:`BASES` or a spelling in :data:`ALIASES`
        (case and spaces ignored).

    Returns
    -------
    numpy.ndarray
        float64 year fractions of the broadcast shape (0-d for two dates).

    Raises
    ------
    SpecError
        Unknown basis, or dates that cannot be read or are missing.

    Examples
    --------
    >>> float(year_fraction("2020-01-01", "2021-01-01"))  # 366 days / 365
    1.0027397260273974
    >>> float(year_fraction("2015-01-01", "2015-04-01", "ACT/360"))
    0.25
    >>> round(float(year_fraction("2003-11-01", "2004-05-01", "ACT/ACT")), 10)
    0.4977243806
    >>> year_fraction("2024-01-15", ["2024-02-15", "2024-07-15"], "30/360 US")
    array([0.08333333, 0.5       ])
    >>> [round(float(year_fraction("2015-02-28", "2015-03-31", b)) * 360) for b in
    ...  ("30/360 US", "30/360 Bond Basis", "30E/360")]
    [30, 33, 32]
    """
    b = _check_basis(basis)
    d1 = _dates(start, "start")
    d2 = _dates(end, "end")
    if b in ("ACT/365F", "ACT/360"):
        days = (d2 - d1).astype(np.float64)
        return days / (365.0 if b == "ACT/365F" else 360.0)
    y1, m1, dd1 = _ymd(d1)
    y2, m2, dd2 = _ymd(d2)
    if b == "30/360 US":
        feb1 = _last_of_february(y1, m1, dd1)
        feb2 = _last_of_february(y2, m2, dd2)
        dd2 = np.where(feb1 & feb2, 30, dd2)
        dd1 = np.where(feb1, 30, dd1)
        dd2 = np.where((dd2 == 31) & (dd1 >= 30), 30, dd2)
        dd1 = np.minimum(dd1, 30)
    elif b == "30/360 Bond Basis":
        dd1 = np.minimum(dd1, 30)
        dd2 = np.where((dd2 == 31) & (dd1 == 30), 30, dd2)
    elif b == "30E/360":
        dd1 = np.minimum(dd1, 30)
        dd2 = np.minimum(dd2, 30)
    if b != "ACT/ACT ISDA":
        num = 360 * (y2 - y1) + 30 * (m2 - m1) + (dd2 - dd1)
        thirty: NDArray[np.float64] = num.astype(np.float64) / 360.0
        return thirty
    # ACT/ACT (ISDA)
    doy1 = (d1 - _year_start(y1)).astype(np.float64)
    doy2 = (d2 - _year_start(y2)).astype(np.float64)
    out: NDArray[np.float64] = (y2 - y1) + doy2 / _days_in_year(y2) - doy1 / _days_in_year(y1)
    return out


def add_months(dates: Any, n: ArrayLike, day: ArrayLike | None = None) -> DateArray:
    """Move dates by whole calendar months, clamping at the end of the month.

    The result is in calendar month ``month(date) + n`` on day
    ``min(day, days_in_that_month)``, where ``day`` defaults to the day of
    month of ``date``: 31 January plus one month is 28 (or 29) February, and
    31 January plus two months is 31 March.

    Parameters
    ----------
    dates : date, str, numpy.datetime64 or array_like of those
        Start dates.
    n : int or array_like of int
        Months to add (negative moves back); broadcast against ``dates``.
    day : int or array_like of int, optional
        Day of month (1-31) of the result, clamped to the month's length;
        by default each date's own day of month.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` of the broadcast shape (0-d for one date and one ``n``).

    Raises
    ------
    SpecError
        Non-integer ``n`` or ``day``, or ``day`` outside 1-31.

    Examples
    --------
    >>> str(add_months(np.datetime64("2023-01-31"), 1))
    '2023-02-28'
    >>> add_months("2024-01-31", [1, 2, -2]).astype(str).tolist()
    ['2024-02-29', '2024-03-31', '2023-11-30']
    >>> str(add_months("2024-02-29", 12, day=31))
    '2025-02-28'
    """
    d = _dates(dates, "dates")
    k = _ints(n, "n")
    if day is None:
        target = _ymd(d)[2]
    else:
        target = _ints(day, "day")
        if target.size and (target.min() < 1 or target.max() > 31):
            raise SpecError(f"day of month must be between 1 and 31; got {day!r}", "day")
    month = d.astype("datetime64[M]") + k
    first = month.astype("datetime64[D]")
    length = ((month + 1).astype("datetime64[D]") - first).astype(np.int64)
    out: DateArray = first + (np.minimum(target, length) - 1)
    return out


def payment_dates(
    first: Any, count: int, months: int = 1, day: int | None = None
) -> NDArray[np.datetime64]:
    """A schedule of ``count`` payment dates, one every ``months`` months.

    Date ``k`` (``k = 0, ..., count - 1``) is ``add_months(first, k x months,
    day)``: in the calendar month ``k x months`` after ``first``'s, on day
    ``day`` clamped to the month's length.  ``day`` defaults to ``first``'s
    day of month, so a schedule starting on 31 January pays on the last day
    of every month.  Each date is computed from ``first`` (not from the
    previous date), so a short month does not pull later dates earlier.

    No business-day calendar is applied: dates falling on weekends or
    holidays are not adjusted.

    Parameters
    ----------
    first : date, str, numpy.datetime64 or array_like of those
        First payment date; an array of first dates gives one schedule each.
    count : int
        Number of dates (>= 0).
    months : int
        Months between payments: 1 monthly, 3 quarterly, 6 semiannual, 12
        annual.
    day : int, optional
        Payment day of month (1-31), clamped at month end.  ``first`` must
        itself fall on that day (clamped), so the schedule is unambiguous.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` of shape ``first.shape + (count,)``.

    Raises
    ------
    SpecError
        ``count < 0``, ``months < 1``, ``day`` outside 1-31, or ``first`` not
        on the payment day.

    Examples
    --------
    >>> payment_dates("2024-11-30", 4, months=3, day=31).astype(str).tolist()
    ['2024-11-30', '2025-02-28', '2025-05-31', '2025-08-31']
    """
    d = _dates(first, "first")
    n = int(_ints(count, "count"))
    step = int(_ints(months, "months"))
    if n < 0:
        raise SpecError(f"count must be >= 0; got {count!r}", "count")
    if step < 1:
        raise SpecError(
            f"months between payments must be >= 1 (1 monthly, 3 quarterly); got {months!r}",
            "months",
        )
    if day is not None:
        on_day = add_months(d, 0, day)
        if np.any(on_day != d):
            raise SpecError(
                f"first payment date {first!r} is not on payment day {day} of its month; "
                f"move the first date to that day or leave day unset",
                "first",
            )
    offsets = step * np.arange(n, dtype=np.int64)
    return add_months(d[..., None], offsets, day)
