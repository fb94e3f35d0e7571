"""Cent rounding in float lands where exact decimal arithmetic lands (issue 16 item 5).

The reference is Python's :mod:`decimal`: the amount in cents times the rate's decimal value
(``Decimal(repr(rate))``, the number the analyst wrote), rounded to a whole cent by the
rule.  The documented contract of :func:`round_cents`: the float result equals the decimal
one whenever the exact value is on a rounding boundary or farther than ``2^-46 |x|`` from it
-- in particular for every amount below 1,000,000.00 times a rate of at most six decimals.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abs_engine.projection.conventions import ROUND_EPS, monthly_coupon, round_cents

MODES = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def exact(x: Decimal, mode: str) -> int:
    return int(x.quantize(Decimal(1), rounding=MODES[mode]))


@pytest.mark.parametrize(
    ("cents", "rate", "want"),
    [
        # 0.29 x 100 is 28.999999999999996 in float: the decimal product is 29.
        (100, "0.29", {"floor": 29, "half_up": 29, "half_even": 29}),
        # 1.005 x 100 = 100.49999999999999 in float; decimally a tie, 100.5.
        (100, "1.005", {"floor": 100, "half_up": 101, "half_even": 100}),
        # 12,345 cents at 1.5% = 185.175 cents.
        (12_345, "0.015", {"floor": 185, "half_up": 185, "half_even": 185}),
        # 100,050 cents at 1% = 1,000.5; 100,150 at 1% = 1,001.5: ties.
        (100_050, "0.01", {"floor": 1000, "half_up": 1001, "half_even": 1000}),
        (100_150, "0.01", {"floor": 1001, "half_up": 1002, "half_even": 1002}),
        # 0.07 x 100 = 7.000000000000001 in float.
        (100, "0.07", {"floor": 7, "half_up": 7, "half_even": 7}),
    ],
)
def test_known_float_traps(cents: int, rate: str, want: dict[str, int]) -> None:
    for mode, value in want.items():
        assert float(round_cents(cents * float(rate), mode)) == value, mode  # type: ignore[arg-type]
        assert exact(Decimal(cents) * Decimal(rate), mode) == value, mode


@settings(max_examples=1000, deadline=None)
@given(
    cents=st.integers(0, 100_000_000),  # up to 1,000,000.00
    micro=st.integers(0, 1_000_000),  # a rate of at most six decimals, 0 to 1
    mode=st.sampled_from(sorted(MODES)),
)
def test_products_with_six_decimal_rates_match_decimal(cents: int, micro: int, mode: str) -> None:
    rate = Decimal(micro) / Decimal(1_000_000)
    got = float(round_cents(cents * float(rate), mode))  # type: ignore[arg-type]
    assert got == exact(Decimal(cents) * rate, mode)


@settings(max_examples=600, deadline=None)
@given(
    cents=st.integers(0, 100_000_000),
    months=st.integers(1, 480),
    mode=st.sampled_from(sorted(MODES)),
)
def test_divisions_match_decimal(cents: int, months: int, mode: str) -> None:
    """Equal principal ``R(B / m)``."""
    with localcontext() as ctx:
        ctx.prec = 50
        want = exact(Decimal(cents) / Decimal(months), mode)
    assert float(round_cents(cents / months, mode)) == want  # type: ignore[arg-type]


@settings(max_examples=1000, deadline=None)
@given(
    cents=st.integers(0, 10_000_000_000),
    rate=st.floats(0.0, 1.0, allow_nan=False),
    mode=st.sampled_from(sorted(MODES)),
)
def test_any_rate_matches_decimal_outside_the_documented_window(
    cents: int, rate: float, mode: str
) -> None:
    """Whatever the rate (e.g. an SMM from a power): the float result is the decimal one unless
    the exact product lies within ``2^-46 |x|`` of a rounding boundary without being on it."""
    with localcontext() as ctx:
        ctx.prec = 60
        x = Decimal(cents) * Decimal(repr(rate))
        got = float(round_cents(cents * rate, mode))  # type: ignore[arg-type]
        if got == exact(x, mode):
            return
        boundary = x.to_integral_value(ROUND_FLOOR) + (0 if mode == "floor" else Decimal("0.5"))
        nearest = min(abs(x - boundary), abs(x - boundary - 1), abs(x - boundary + 1))
        assert nearest != 0
        assert nearest <= abs(x) * Decimal(2 * ROUND_EPS)


def test_half_even_ties_go_to_the_even_cent() -> None:
    x = np.array([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 0.0])
    np.testing.assert_array_equal(round_cents(x, "half_even"), [0, 2, 2, 4, 2, 3, 0])
    np.testing.assert_array_equal(round_cents(x, "half_up"), [1, 2, 3, 4, 2, 3, 0])
    np.testing.assert_array_equal(round_cents(x, "floor"), [0, 1, 2, 3, 2, 2, 0])
    np.testing.assert_array_equal(round_cents(x, "none"), x)


@settings(max_examples=600, deadline=None)
@given(micro=st.integers(0, 360_000), decimals=st.integers(2, 8))
def test_truncated_monthly_coupon_matches_decimal(micro: int, decimals: int) -> None:
    """A yearly rate of at most six decimals (up to 36%) over 12, truncated to N decimals."""
    rate = Decimal(micro) / Decimal(1_000_000)
    with localcontext() as ctx:
        ctx.prec = 50
        want = (rate / 12).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_FLOOR)
    assert float(monthly_coupon(float(rate), decimals)) == float(want)
