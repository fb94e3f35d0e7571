"""Business-day calendars and the rolling of payment dates.

Payment dates that fall on a non-business day move by a roll convention:

``following``
    the next business day;
``modified_following``
    the next business day, unless that is in the next calendar month, then the
    previous business day;
``preceding``
    the previous business day.

Calendars:

``none``
    every day is a business day (dates never move);
``weekends``
    Saturdays and Sundays are not business days;
``china_interbank``
    China's working days: weekends and public holidays are off, except the
    weekend days the State Council declares working days (调休); the interbank
    market settles on those;
``china_exchange``
    Shanghai/Shenzhen exchange days: weekdays that are not public holidays
    (exchanges stay closed on weekend working days).

The Chinese public holidays come from the maintained ``holidays`` package
(``holidays.China``): announced years carry the official dates and adjusted
working days; years not yet announced carry the statutory holidays it computes
(lunar festivals included) and no adjusted working days.

>>> import datetime as dt
>>> roll(dt.date(2025, 10, 1), "china_interbank", "following")  # National Day week
datetime.date(2025, 10, 9)
>>> roll(dt.date(2025, 1, 26), "china_interbank", "following")  # a Sunday working day
datetime.date(2025, 1, 26)
>>> roll(dt.date(2025, 1, 26), "china_exchange", "following")
datetime.date(2025, 1, 27)
>>> roll(dt.date(2025, 5, 31), "china_exchange", "modified_following")
datetime.date(2025, 5, 30)
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal, TypeAlias

from abs_engine.errors import SpecError

__all__ = ["CALENDARS", "ROLLS", "CalendarName", "Roll", "is_business_day", "roll"]

CalendarName: TypeAlias = Literal["none", "weekends", "china_interbank", "china_exchange"]
Roll: TypeAlias = Literal["following", "modified_following", "preceding"]
CALENDARS: tuple[CalendarName, ...] = ("none", "weekends", "china_interbank", "china_exchange")
ROLLS: tuple[Roll, ...] = ("following", "modified_following", "preceding")


@lru_cache(maxsize=256)
def _china_year(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """Public holidays and weekend working days of ``year`` (pure: cached, never mutated)."""
    import holidays

    cn = holidays.country_holidays("CN", years=year)
    off = frozenset(d for d in cn if d.year == year)
    on = frozenset(d for d in getattr(cn, "weekend_workdays", ()) if d.year == year)
    return off, on


def is_business_day(day: dt.date, calendar: CalendarName | str) -> bool:
    """Whether ``day`` is a business day of ``calendar``."""
    if calendar == "none":
        return True
    weekend = day.weekday() >= 5
    if calendar == "weekends":
        return not weekend
    if calendar in ("china_interbank", "china_exchange"):
        off, on = _china_year(day.year)
        if day in off:
            return False
        if weekend:
            return calendar == "china_interbank" and day in on
        return True
    raise SpecError(f"unknown calendar {calendar!r}; calendars are {', '.join(CALENDARS)}")


def roll(day: dt.date, calendar: CalendarName | str, convention: Roll | str) -> dt.date:
    """``day`` moved to a business day of ``calendar`` by ``convention``."""
    if convention not in ROLLS:
        raise SpecError(f"unknown roll {convention!r}; rolls are {', '.join(ROLLS)}")

    def step(d: dt.date, direction: int) -> dt.date:
        for _ in range(366):
            if is_business_day(d, calendar):
                return d
            d += dt.timedelta(days=direction)
        raise SpecError(f"no business day of {calendar!r} within a year of {day}")

    if convention == "preceding":
        return step(day, -1)
    out = step(day, 1)
    if convention == "modified_following" and out.month != day.month:
        return step(day, -1)
    return out
