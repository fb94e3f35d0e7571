"""Day counts, month arithmetic and payment schedules (abs_engine.daycount)."""

from __future__ import annotations

import calendar
import datetime as dt
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from abs_engine import daycount
from abs_engine.daycount import BASES, add_months, payment_dates, year_fraction
from abs_engine.errors import AbsError, SpecError

dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2150, 12, 31))


def _d(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(daycount, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------------- known values


@pytest.mark.parametrize(
    ("start", "end", "basis", "expected"),
    [
        ("2020-01-01", "2021-01-01", "ACT/365F", 366 / 365),
        ("2015-01-01", "2015-04-01", "ACT/365F", 90 / 365),
        ("2015-01-01", "2015-04-01", "ACT/360", 90 / 360),
        ("2024-02-01", "2024-03-01", "ACT/360", 29 / 360),
        # 30/360 (ISDA "Bond Basis"): D1 31 -> 30; D2 31 -> 30 only when D1 is 30 or 31
        ("2015-01-31", "2015-03-31", "30/360", 60 / 360),
        ("2015-01-30", "2015-03-31", "30/360", 60 / 360),
        ("2015-01-15", "2015-03-31", "30/360", 76 / 360),
        ("2015-02-28", "2015-03-31", "30/360", 33 / 360),  # no end-of-February rule
        ("2015-01-31", "2015-02-28", "30/360", 28 / 360),
        ("2014-12-31", "2016-12-31", "30/360", 2.0),
        # ACT/ACT (ISDA): days in a leap year count 1/366
        ("2003-11-01", "2004-05-01", "ACT/ACT", 61 / 365 + 121 / 366),  # ISDA EMU example
        ("2019-07-01", "2020-07-01", "ACT/ACT", 184 / 365 + 182 / 366),
        ("2020-01-01", "2021-01-01", "ACT/ACT", 1.0),
        ("2023-12-31", "2025-01-01", "ACT/ACT", 1 / 365 + 1.0 + 0 / 365),
        ("2024-03-01", "2024-03-01", "ACT/ACT", 0.0),
    ],
)
def test_known_year_fractions(start: str, end: str, basis: str, expected: float) -> None:
    assert_allclose(year_fraction(start, end, basis), expected, rtol=0, atol=1e-15)


# ------------------------------------------------------------- the 30/360 family by name


def _reference_30_360(start: dt.date, end: dt.date, basis: str) -> float:
    """Days of 30/360 by the rules as the conventions state them, one date at a time.

    30/360 US (SIA, end-of-month rules): (1) if both dates are the last day of February,
    D2 = 30; (2) if the start is the last day of February, D1 = 30; (3) if D2 = 31 and
    D1 >= 30, D2 = 30; (4) if D1 = 31, D1 = 30.  Bond Basis (ISDA 2006 4.16(f)): D1 31 -> 30;
    D2 31 -> 30 if D1 is then 30.  30E/360 (ISDA 2006 4.16(g)): any 31st -> 30th.
    """

    def last_of_feb(d: dt.date) -> bool:
        return d.month == 2 and d.day == calendar.monthrange(d.year, 2)[1]

    d1, d2 = start.day, end.day
    if basis == "30/360 US":
        if last_of_feb(start) and last_of_feb(end):
            d2 = 30
        if last_of_feb(start):
            d1 = 30
        if d2 == 31 and d1 >= 30:
            d2 = 30
        if d1 == 31:
            d1 = 30
    elif basis == "30/360 Bond Basis":
        if d1 == 31:
            d1 = 30
        if d2 == 31 and d1 == 30:
            d2 = 30
    else:  # 30E/360
        d1, d2 = min(d1, 30), min(d2, 30)
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1
    return days / 360


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        # start, end: days under 30/360 US, Bond Basis, 30E/360 (worked by hand from the rules)
        ("2015-02-28", "2015-03-31", (30, 33, 32)),  # US: D1 last of Feb -> 30, then D2 31 -> 30
        ("2024-02-29", "2025-02-28", (360, 359, 359)),  # US: both last of Feb -> D2 = 30
        ("2015-01-31", "2015-02-28", (28, 28, 28)),
        ("2015-01-31", "2015-03-31", (60, 60, 60)),
        ("2015-03-15", "2015-03-31", (16, 16, 15)),  # D2 31 kept unless D1 >= 30, except 30E
        ("2024-02-28", "2024-03-31", (33, 33, 32)),  # 28 Feb 2024 is not the last day
    ],
)
def test_30_360_family_by_hand(start: str, end: str, days: tuple[int, int, int]) -> None:
    for basis, n in zip(("30/360 US", "30/360 Bond Basis", "30E/360"), days, strict=True):
        assert_allclose(year_fraction(start, end, basis), n / 360, rtol=0, atol=1e-15)
        assert _reference_30_360(
            dt.date.fromisoformat(start), dt.date.fromisoformat(end), basis
        ) == pytest.approx(n / 360, abs=1e-15)


@settings(max_examples=400, deadline=None)
@given(a=dates, b=dates, basis=st.sampled_from(["30/360 US", "30/360 Bond Basis", "30E/360"]))
def test_30_360_family_matches_the_reference(a: dt.date, b: dt.date, basis: str) -> None:
    start, end = min(a, b), max(a, b)
    assert float(year_fraction(start, end, basis)) == pytest.approx(
        _reference_30_360(start, end, basis), abs=1e-15
    )


def test_names_and_aliases() -> None:
    assert BASES == (
        "ACT/365F",
        "ACT/360",
        "30/360 US",
        "30/360 Bond Basis",
        "30E/360",
        "ACT/ACT ISDA",
    )
    # Old names keep loading, with the numbers they always had.
    assert daycount.canonical_basis("30/360") == "30/360 Bond Basis"
    assert daycount.canonical_basis("ACT/ACT") == "ACT/ACT ISDA"
    assert daycount.canonical_basis(" actual/360 ") == "ACT/360"
    assert daycount.canonical_basis("30u/360") == "30/360 US"
    assert daycount.canonical_basis("Eurobond basis") == "30E/360"
    for alias, name in daycount.ALIASES.items():
        assert name in BASES
        assert_allclose(
            year_fraction("2024-02-29", "2025-08-31", alias),
            year_fraction("2024-02-29", "2025-08-31", name),
            rtol=0,
            atol=0,
        )


def test_deal_day_count_accepts_aliases_and_stores_the_name() -> None:
    import dataclasses

    import abs_engine as ae

    deal = ae.load_deal(ae.samples.path("static_sequential"))
    for name, stored in (("30/360", "30/360 Bond Basis"), ("act/act", "ACT/ACT ISDA")):
        dates = dataclasses.replace(deal.dates, day_count=name)
        assert dates.day_count == stored
    with pytest.raises(SpecError, match=r"dates\.day_count|unknown day-count basis 'ACT/365'"):
        dataclasses.replace(deal.dates, day_count="ACT/365")


def test_year_fraction_is_negative_backwards() -> None:
    for basis in ("ACT/365F", "ACT/360", "ACT/ACT"):
        assert_allclose(
            year_fraction("2024-05-01", "2023-11-01", basis),
            -year_fraction("2023-11-01", "2024-05-01", basis),
            rtol=0,
            atol=1e-15,
        )


def test_year_fraction_accepts_every_date_form_and_broadcasts() -> None:
    starts = [dt.date(2024, 1, 15), "2024-01-15", np.datetime64("2024-01-15")]
    for start in starts:
        assert_allclose(year_fraction(start, "2024-07-15", "30/360"), 0.5, rtol=0, atol=0)
    grid = year_fraction(
        _d("2024-01-01", "2025-01-01")[:, None], _d("2026-01-01", "2027-01-01", "2028-01-01")
    )
    assert grid.shape == (2, 3)
    assert_allclose(
        year_fraction(dt.datetime(2024, 1, 1, 15, 30), "2024-01-02", "ACT/360"), 1 / 360
    )


def test_basis_is_case_insensitive() -> None:
    assert_allclose(year_fraction("2024-01-01", "2024-04-01", "act/360"), 91 / 360, rtol=0, atol=0)


@pytest.mark.parametrize("basis", ["ACT/365", "30/365", "ACT/ACT ICMA", ""])
def test_unknown_basis_names_the_allowed_values(basis: str) -> None:
    with pytest.raises(SpecError, match="basis") as info:
        year_fraction("2024-01-01", "2025-01-01", basis)
    assert isinstance(info.value, AbsError)
    assert isinstance(info.value, ValueError)
    for allowed in BASES:
        assert allowed in str(info.value)


def test_unreadable_or_missing_dates_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="start: could not read"):
        year_fraction("31/01/2024", "2024-02-01")
    with pytest.raises(SpecError, match="NaT"):
        year_fraction(np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"), "2024-02-01")


# ------------------------------------------------------------------ month arithmetic


def test_add_months_clamps_at_month_end() -> None:
    assert str(add_months("2023-01-31", 1)) == "2023-02-28"
    assert str(add_months("2024-01-31", 1)) == "2024-02-29"
    assert str(add_months("2024-01-31", 2)) == "2024-03-31"
    assert str(add_months("2024-03-31", -1)) == "2024-02-29"
    assert str(add_months("2024-05-31", 1)) == "2024-06-30"
    assert str(add_months("2024-02-29", 12)) == "2025-02-28"
    assert str(add_months("2024-12-15", 1)) == "2025-01-15"
    assert str(add_months("2024-01-15", -13)) == "2022-12-15"


def test_add_months_with_a_payment_day_and_broadcasting() -> None:
    out = add_months(_d("2024-01-10", "2024-01-31")[:, None], np.array([1, 2]), day=31)
    assert out.dtype == np.dtype("datetime64[D]")
    assert out.astype(str).tolist() == [["2024-02-29", "2024-03-31"], ["2024-02-29", "2024-03-31"]]
    assert str(add_months("2024-01-31", 1, day=15)) == "2024-02-15"


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"n": 1.5}, "n: "), ({"day": 0}, "day"), ({"day": 32}, "day")]
)
def test_add_months_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"n": 1, "day": None}
    args.update(kwargs)
    with pytest.raises(SpecError, match=match):
        add_months("2024-01-31", args["n"], args["day"])  # type: ignore[arg-type]


def _reference_add_months(d: dt.date, n: int, day: int | None) -> dt.date:
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day or d.day, last))


@settings(max_examples=300, deadline=None)
@given(d=dates, n=st.integers(-600, 600), day=st.none() | st.integers(1, 31))
def test_add_months_matches_calendar_reference(d: dt.date, n: int, day: int | None) -> None:
    assert add_months(d, n, day).item() == _reference_add_months(d, n, day)


# --------------------------------------------------------------------------- schedules


def test_monthly_schedule_from_month_end() -> None:
    out = payment_dates("2024-01-31", 5)
    assert out.dtype == np.dtype("datetime64[D]")
    assert out.astype(str).tolist() == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
    ]


def test_quarterly_schedule_on_a_given_day() -> None:
    out = payment_dates(dt.date(2023, 11, 30), 5, months=3, day=31)
    assert out.astype(str).tolist() == [
        "2023-11-30",
        "2024-02-29",
        "2024-05-31",
        "2024-08-31",
        "2024-11-30",
    ]


def test_schedules_for_several_first_dates() -> None:
    out = payment_dates(_d("2024-01-15", "2024-03-31"), 3, months=1)
    assert out.shape == (2, 3)
    assert out.astype(str).tolist() == [
        ["2024-01-15", "2024-02-15", "2024-03-15"],
        ["2024-03-31", "2024-04-30", "2024-05-31"],
    ]


def test_empty_schedule() -> None:
    assert payment_dates("2024-01-15", 0).shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"count": -1}, "count"),
        ({"months": 0}, "months"),
        ({"months": 1.5}, "months"),
        ({"day": 20}, "first: .*payment day 20"),
        ({"day": 40}, "day"),
    ],
)
def test_payment_dates_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"count": 3, "months": 1, "day": None}
    args.update(kwargs)
    with pytest.raises(SpecError, match=match):
        payment_dates("2024-01-15", args["count"], args["months"], args["day"])  # type: ignore[arg-type]


def test_schedule_feeds_year_fractions() -> None:
    """Times of a 30/360 monthly schedule are k/12 years, the convention of the yield tests.

    Month-end schedules are not: without an end-of-February rule 31 Dec to
    29 Feb is 59/360, not 60/360.
    """
    schedule = payment_dates("2024-01-15", 12)
    times = year_fraction("2023-12-15", schedule, "30/360")
    assert_allclose(times, np.arange(1, 13) / 12, rtol=0, atol=1e-15)
    month_end = year_fraction("2023-12-31", payment_dates("2024-01-31", 3), "30/360")
    assert_allclose(month_end, [30 / 360, 59 / 360, 90 / 360], rtol=0, atol=1e-15)


# -------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(a=dates, b=dates, c=dates, basis=st.sampled_from(["ACT/365F", "ACT/360", "ACT/ACT"]))
def test_actual_bases_are_additive(a: dt.date, b: dt.date, c: dt.date, basis: str) -> None:
    whole = year_fraction(a, c, basis)
    parts = year_fraction(a, b, basis) + year_fraction(b, c, basis)
    assert_allclose(whole, parts, rtol=0, atol=1e-12)


def _reference_act_act(a: dt.date, b: dt.date) -> float:
    total = 0.0
    day = a
    while day < b:
        total += 1 / (366 if calendar.isleap(day.year) else 365)
        day += dt.timedelta(days=1)
    return total


@settings(max_examples=100, deadline=None)
@given(a=dates, span=st.integers(0, 1500))
def test_act_act_counts_each_day_in_its_year(a: dt.date, span: int) -> None:
    b = a + dt.timedelta(days=span)
    assert_allclose(year_fraction(a, b, "ACT/ACT"), _reference_act_act(a, b), rtol=0, atol=1e-11)


@settings(max_examples=200, deadline=None)
@given(a=dates, b=dates)
def test_thirty_360_matches_the_isda_rule(a: dt.date, b: dt.date) -> None:
    d1 = min(a.day, 30)
    d2 = 30 if (b.day == 31 and d1 == 30) else b.day
    expected = (360 * (b.year - a.year) + 30 * (b.month - a.month) + d2 - d1) / 360
    assert_allclose(year_fraction(a, b, "30/360"), expected, rtol=0, atol=1e-15)
    assert_array_equal(year_fraction([a, a], [b, b], "30/360"), [expected, expected])
