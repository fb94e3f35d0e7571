"""Zero curves, price from spread and the z-spread (abs_engine.analytics.spread)."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from abs_engine.analytics import (
    SpreadResult,
    ZeroCurve,
    price_from_spread,
    price_from_yield,
    yield_from_price,
    z_spread,
)
from abs_engine.analytics import spread as spread_module
from abs_engine.errors import AbsError, SpecError

COMPOUNDINGS = [1, 2, 4, 12, 0]


@pytest.fixture
def curve() -> ZeroCurve:
    return ZeroCurve.from_pairs(
        [(0.5, 0.031), (2.0, 0.036), (5.0, 0.041), (10.0, 0.045)], "semiannual"
    )


def _amortising_batch(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> np.ndarray:
    flows = rng.uniform(0.5, 4.0, (*shape, n))
    flows[..., -1] += rng.uniform(10.0, 60.0, shape)
    return flows


def test_docstring_examples_run() -> None:
    result = doctest.testmod(spread_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------- the curve


def test_zero_rates_interpolate_linearly_and_extrapolate_flat(curve: ZeroCurve) -> None:
    assert_allclose(
        curve.zero_rates([0.5, 2.0, 5.0, 10.0]), [0.031, 0.036, 0.041, 0.045], rtol=0, atol=1e-15
    )
    assert_allclose(curve.zero_rates([1.25, 3.5, 7.5]), [0.0335, 0.0385, 0.043], rtol=0, atol=1e-15)
    assert_allclose(curve.zero_rates([0.0, 0.1, 30.0]), [0.031, 0.031, 0.045], rtol=0, atol=0)


@pytest.mark.parametrize("m", COMPOUNDINGS)
def test_discount_factors_formula(m: int) -> None:
    curve = ZeroCurve((1.0, 3.0), (0.02, 0.04), m)
    t = np.array([0.0, 0.5, 2.0, 4.0])
    z = np.array([0.02, 0.02, 0.03, 0.04]) + 0.005
    expected = np.exp(-z * t) if m == 0 else (1 + z / m) ** (-m * t)
    assert_allclose(curve.discount_factors(t, 0.005), expected, rtol=1e-14, atol=0)


def test_curve_is_a_frozen_validated_value_object(curve: ZeroCurve) -> None:
    assert curve.compounding == 2
    assert curve.periods_per_year == 2
    assert curve.tenors == (0.5, 2.0, 5.0, 10.0)
    assert curve == ZeroCurve((0.5, 2.0, 5.0, 10.0), (0.031, 0.036, 0.041, 0.045), 2)
    assert hash(curve) == hash(
        ZeroCurve(np.array([0.5, 2, 5, 10]), [0.031, 0.036, 0.041, 0.045], 2)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        curve.rates = (0.0,)  # type: ignore[misc]
    shifted = dataclasses.replace(curve, rates=tuple(r + 0.01 for r in curve.rates))
    assert_allclose(shifted.zero_rates([2.0]), [0.046], rtol=0, atol=1e-15)
    with pytest.raises(SpecError, match=r"tenors\[1\]"):
        dataclasses.replace(curve, tenors=(1.0, 1.0, 5.0, 10.0))


@pytest.mark.parametrize(
    ("tenors", "rates", "compounding", "path"),
    [
        ((1.0, 2.0, 2.0), (0.01, 0.02, 0.03), 2, r"tenors\[2\]: .*strictly increasing"),
        ((2.0, 1.0), (0.01, 0.02), 2, r"tenors\[1\]"),
        ((0.0, 1.0), (0.01, 0.02), 2, r"tenors\[0\]: .*positive"),
        ((-1.0, 1.0), (0.01, 0.02), 2, r"tenors\[0\]"),
        ((1.0, np.inf), (0.01, 0.02), 2, r"tenors\[1\]"),
        ((1.0, 2.0), (0.01, np.nan), 2, r"rates\[1\]: .*finite"),
        ((1.0, 2.0), (0.01,), 2, "one zero rate per tenor"),
        ((), (), 2, "non-empty"),
        ((1.0, 2.0), (0.01, -2.5), 2, r"rates\[1\]: .*below -2"),
        ((1.0, 2.0), (0.01, 0.02), 5, "compounding"),
        ((1.0, 2.0), (0.01, 0.02), "daily", "compounding"),
    ],
)
def test_invalid_curves_are_spec_errors(
    tenors: tuple[float, ...], rates: tuple[float, ...], compounding: int | str, path: str
) -> None:
    with pytest.raises(SpecError, match=path) as info:
        ZeroCurve(tenors, rates, compounding)
    assert isinstance(info.value, AbsError)


def test_from_pairs_rejects_malformed_pairs() -> None:
    with pytest.raises(SpecError, match="pairs"):
        ZeroCurve.from_pairs([])
    with pytest.raises(SpecError, match="pairs"):
        ZeroCurve.from_pairs([(1.0, 0.02, 0.0)])  # type: ignore[list-item]


# ------------------------------------------------------------------------ the spread


@pytest.mark.parametrize("m", COMPOUNDINGS)
def test_z_spread_over_a_flat_curve_is_yield_minus_rate(m: int) -> None:
    rng = np.random.default_rng(5)
    flows = _amortising_batch(rng, (6,), 24)
    times = (np.arange(1, 25) * 30 + 14) / 360
    prices = flows.sum(axis=1) * rng.uniform(0.75, 1.05, 6)
    flat = 0.0375
    z = z_spread(flows, times, prices, ZeroCurve.flat(flat, m))
    y = yield_from_price(flows, times, prices, m)
    assert_allclose(z, y - flat, rtol=0, atol=1e-12)


def test_price_from_spread_round_trips(curve: ZeroCurve) -> None:
    rng = np.random.default_rng(9)
    flows = _amortising_batch(rng, (3, 4), 20)
    times = np.arange(1, 21) / 2
    spreads = rng.uniform(-0.02, 0.08, (3, 4))
    prices = price_from_spread(flows, times, curve, spreads)
    res = z_spread(flows, times, prices, curve, full_output=True)
    assert isinstance(res, SpreadResult)
    assert res.spread.shape == (3, 4)
    assert res.converged.all()
    assert_allclose(res.spread, spreads, rtol=0, atol=1e-12)
    assert_allclose(price_from_spread(flows, times, curve, res.spread), prices, rtol=1e-13, atol=0)


def test_zero_spread_reprices_at_the_curve(curve: ZeroCurve) -> None:
    flows = np.array([4.0, 4.0, 4.0, 104.0])
    times = np.array([1.0, 2.0, 3.0, 4.0])
    price = float((flows * curve.discount_factors(times)).sum())
    assert_allclose(price_from_spread(flows, times, curve, 0.0), price, rtol=1e-15, atol=0)
    assert_allclose(z_spread(flows, times, price, curve), 0.0, rtol=0, atol=1e-13)


def test_z_spread_batch_equals_one_vector_at_a_time(curve: ZeroCurve) -> None:
    rng = np.random.default_rng(13)
    flows = _amortising_batch(rng, (2, 3), 16)
    times = np.arange(1, 17) / 4
    prices = flows.sum(axis=-1) * rng.uniform(0.8, 1.0, (2, 3))
    batch = z_spread(flows, times, prices, curve)
    single = np.array(
        [[z_spread(flows[i, j], times, prices[i, j], curve) for j in range(3)] for i in range(2)]
    )
    assert_allclose(batch, single, rtol=0, atol=1e-14)


def test_z_spread_failures_are_nan_with_a_reason(curve: ZeroCurve) -> None:
    flows = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    prices = np.array([1.0, -5.0, np.inf, 1.9])
    res = z_spread(flows, [1.0, 2.0], prices, curve, full_output=True)
    assert res.reason.tolist() == ["all cash flows zero", "no sign change", "price not finite", ""]
    assert_array_equal(res.converged, [False, False, False, True])
    assert np.isnan(res.spread[:3]).all()
    assert np.isfinite(res.spread[3])


def test_spread_below_the_domain_prices_to_nan() -> None:
    curve = ZeroCurve.flat(0.03, "annual")
    assert np.isnan(price_from_spread([1.0], [1.0], curve, -1.5))
    assert np.isfinite(price_from_spread([1.0], [1.0], curve, -0.5))


def test_spread_shape_mismatch_is_a_spec_error(curve: ZeroCurve) -> None:
    with pytest.raises(SpecError, match="spread"):
        price_from_spread(np.ones((2, 3)), [1.0, 2.0, 3.0], curve, [0.01, 0.02, 0.03])


def test_flat_curve_spread_pricing_matches_yield_pricing() -> None:
    flows, times = [3.0, 3.0, 103.0], [0.5, 1.0, 1.5]
    assert_allclose(
        price_from_spread(flows, times, ZeroCurve.flat(0.02, 4), 0.015),
        price_from_yield(flows, times, 0.035, 4),
        rtol=1e-15,
        atol=0,
    )


@settings(max_examples=100, deadline=None)
@given(
    flows=st.lists(st.floats(0.01, 1e3), min_size=1, max_size=40),
    s=st.floats(-0.03, 0.5),
    m=st.sampled_from(COMPOUNDINGS),
    rates=st.lists(st.floats(-0.01, 0.12), min_size=1, max_size=5),
)
def test_z_spread_round_trips(flows: list[float], s: float, m: int, rates: list[float]) -> None:
    curve = ZeroCurve(tuple(np.arange(1, len(rates) + 1) * 2.0), tuple(rates), m)
    times = np.arange(1, len(flows) + 1) / 4
    price = price_from_spread(flows, times, curve, s)
    res = z_spread(flows, times, price, curve, full_output=True)
    assert res.converged, res.reason
    assert_allclose(res.spread, s, rtol=0, atol=1e-9)
