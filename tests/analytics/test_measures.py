"""Price, yield, WAL, duration and convexity of cash-flow vectors (abs_engine.analytics.measures)."""

from __future__ import annotations

import doctest

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from abs_engine import analytics, curves
from abs_engine.analytics import (
    YieldResult,
    convexity,
    macaulay_duration,
    measures,
    modified_duration,
    price_from_yield,
    wal,
    yield_from_price,
)
from abs_engine.errors import AbsError, SpecError
from abs_engine.pool import Cohorts
from abs_engine.projection import project

COMPOUNDINGS = [1, 2, 4, 12, 0]


# ------------------------------------------------------------------------- public API


def test_public_api_names() -> None:
    assert sorted(analytics.__all__) == [
        "AnalysedRun",
        "BREAKEVEN_COLUMNS",
        "COMPARISON_MEASURES",
        "COMPOUNDING",
        "Compounding",
        "Convention",
        "Priced",
        "SIZING_COLUMNS",
        "SUMMARY_COLUMNS",
        "Settlement",
        "Sizing",
        "SpreadResult",
        "YieldResult",
        "ZeroCurve",
        "breakeven",
        "cdr_deal",
        "collateral_cnl",
        "convexity",
        "decrement_table",
        "effective_annual",
        "macaulay_duration",
        "modified_duration",
        "price_from_spread",
        "price_from_yield",
        "price_yield",
        "price_yield_table",
        "run",
        "scenario_comparison",
        "settle",
        "size",
        "stress_table",
        "wal",
        "yield_from_price",
        "yield_price",
        "z_spread",
    ]


@pytest.mark.parametrize("module", [measures, analytics], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


# ----------------------------------------------------------------------------- golden


@pytest.fixture(scope="module")
def sifma_pass_through() -> dict[str, np.ndarray]:
    """New 30-year 9.5% gross / 9.0% net pass-through at 150% PSA, from the project's engine."""
    cohorts = Cohorts.from_loans(
        ("A",), [0], [0], [360], [0], [0], [100.0], [0.095], [0.0], [100.0]
    )
    cf = project(cohorts, curves.Assumptions(prepay=curves.psa(150)))
    principal = cf["scheduled_principal"][0] + cf["prepayment"][0]
    net_interest = cf["interest"][0] * (9.0 / 9.5)
    # The servicing strip comes off the gross coupon: net interest is 9%/12 of the balance.
    assert_allclose(net_interest, 0.09 / 12 * cf["begin_balance"][0], rtol=1e-13, atol=0)
    k = np.arange(1, principal.size + 1)
    return {
        "principal": principal,
        "flows": principal + net_interest,
        "times": (30 * k + 14) / 360,  # 14-day delay, 30/360 months
        "undelayed": k / 12,
    }


def test_sifma_pass_through_yield_example(sifma_pass_through: dict[str, np.ndarray]) -> None:
    """SIFMA pass-through yield example, reproduced to every published decimal.

    Source: The Bond Market Association (now SIFMA), *Uniform Practices /
    Standard Formulas* (1999), Chapter SF "Standard Formulas for the Analysis
    of Mortgage-Backed Securities and Other Related Securities", section G
    "Yield and Yield-Related Measures" (G.1 General Rules, pp. SF-48 ff.):
    a new 30-year pass-through, 9.0% net / 9.5% gross coupon, 150% PSA,
    priced at par (100) with a 14-day delay, semiannual-equivalent yield
    ``P = sum CF_k / (1 + Y/2)^(2 T_k)`` with ``T_k = (30 k + 14) / 360``.
    Published: yield 9.10675%, average life 9.77844 years, Macaulay duration
    5.73147, modified duration 5.48186.

    Conventions that reproduce the figures (found by computation):

    * the collateral amortises at the 9.5% gross rate (the mortgage rate);
      the investor receives all principal (scheduled + prepaid) and interest
      at the 9.0% net coupon on the month's beginning balance;
    * PSA by loan age with the MONTH convention (month 1 is 0.2% CPR at 100%
      PSA), as the projection engine does;
    * every measure, the average life included, uses the *delayed* payment
      times ``(30 k + 14) / 360``: the average life with undelayed times
      ``k / 12`` is 9.73956, which the published 9.77844 rules out;
    * modified duration is Macaulay / (1 + Y/2).

    Tolerances are half a unit of the last published decimal, both ways
    (the published figures are rounded, not truncated).  Computed: yield
    9.1067482%, average life 9.7784442, Macaulay 5.7314692, modified
    5.4818596.
    """
    flows, times = sifma_pass_through["flows"], sifma_pass_through["times"]
    principal = sifma_pass_through["principal"]
    y = yield_from_price(flows, times, 100.0, compounding=2)
    assert_allclose(100 * y, 9.10675, rtol=0, atol=5e-6)
    assert_allclose(wal(principal, times), 9.77844, rtol=0, atol=5e-6)
    assert_allclose(macaulay_duration(flows, times, y, 2), 5.73147, rtol=0, atol=5e-6)
    assert_allclose(modified_duration(flows, times, y, "semiannual"), 5.48186, rtol=0, atol=5e-6)
    # the solved yield reprices the pass-through at par
    assert_allclose(price_from_yield(flows, times, y, 2), 100.0, rtol=0, atol=1e-9)


def test_sifma_average_life_needs_the_delay(sifma_pass_through: dict[str, np.ndarray]) -> None:
    principal = sifma_pass_through["principal"]
    assert_allclose(wal(principal, sifma_pass_through["undelayed"]), 9.73956, rtol=0, atol=5e-6)


# ---------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("m", COMPOUNDINGS)
def test_zero_coupon_yield_closed_form(m: int) -> None:
    face, price, maturity = 100.0, 80.0, 3.5
    expected = (
        np.log(face / price) / maturity
        if m == 0
        else m * ((face / price) ** (1 / (m * maturity)) - 1)
    )
    y = yield_from_price([face], [maturity], price, m)
    assert_allclose(y, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("coupon", [0.0, 0.035, 0.07, 0.18])
def test_level_annuity_priced_at_par_yields_its_rate(coupon: float) -> None:
    n = 360
    r = coupon / 12
    payment = 100 / n if r == 0 else 100 * r / (1 - (1 + r) ** -n)
    times = np.arange(1, n + 1) / 12
    y = yield_from_price(np.full(n, payment), times, 100.0, "monthly")
    assert_allclose(y, coupon, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("m", "coupon"), [(1, 0.05), (2, 0.06), (4, 0.021), (12, 0.11)])
def test_par_bond_yields_its_coupon(m: int, coupon: float) -> None:
    n = 10 * m
    flows = np.full(n, 100 * coupon / m)
    flows[-1] += 100
    y = yield_from_price(flows, np.arange(1, n + 1) / m, 100.0, m)
    assert_allclose(y, coupon, rtol=0, atol=1e-12)


@pytest.mark.parametrize("m", COMPOUNDINGS)
def test_bullet_duration_and_convexity(m: int) -> None:
    maturity, y = 7.25, 0.043
    growth = 1.0 if m == 0 else 1 + y / m
    second = maturity**2 if m == 0 else maturity * (maturity + 1 / m)
    assert_allclose(macaulay_duration([250.0], [maturity], y, m), maturity, rtol=1e-14, atol=0)
    assert_allclose(
        modified_duration([250.0], [maturity], y, m), maturity / growth, rtol=1e-14, atol=0
    )
    assert_allclose(convexity([250.0], [maturity], y, m), second / growth**2, rtol=1e-14, atol=0)


@pytest.mark.parametrize("m", COMPOUNDINGS)
def test_duration_and_convexity_are_price_derivatives(m: int) -> None:
    rng = np.random.default_rng(3)
    flows = rng.uniform(0.0, 10.0, 40)
    times = np.arange(1, 41) / 4
    y = 0.065

    def price(d: float) -> float:
        return float(price_from_yield(flows, times, y + d, m))

    # central differences: truncation O(h^2), rounding O(eps / h) and O(eps / h^2)
    h = 1e-5
    slope = -(price(h) - price(-h)) / (2 * h * price(0.0))
    assert_allclose(modified_duration(flows, times, y, m), slope, rtol=1e-8, atol=0)
    h = 1e-4
    curvature = (price(h) - 2 * price(0.0) + price(-h)) / (h * h * price(0.0))
    assert_allclose(convexity(flows, times, y, m), curvature, rtol=1e-5, atol=0)


def test_yields_match_numpy_financial_irr() -> None:
    """Monthly flows at times k/12: the m = 12 yield is 12 x the monthly IRR."""
    rng = np.random.default_rng(20240601)
    n_vec, n = 25, 48
    flows = rng.uniform(0.5, 5.0, (n_vec, n))
    flows[:, -1] += rng.uniform(0.0, 80.0, n_vec)
    prices = flows.sum(axis=1) * rng.uniform(0.6, 1.1, n_vec)
    times = np.arange(1, n + 1) / 12
    ours = yield_from_price(flows, times, prices, 12)
    reference = np.array([12 * npf.irr(np.r_[-p, f]) for p, f in zip(prices, flows, strict=True)])
    assert_allclose(ours, reference, rtol=0, atol=1e-10)


def test_wal_of_equal_principal_schedule() -> None:
    principal = np.full(24, 100 / 24)
    assert_allclose(wal(principal, np.arange(1, 25) / 12), 12.5 / 12, rtol=1e-14, atol=0)


# ---------------------------------------------------------------------- vectorisation


def test_batch_equals_one_vector_at_a_time() -> None:
    rng = np.random.default_rng(7)
    n = 30
    flows = rng.uniform(0.0, 3.0, (3, 4, n))
    flows[..., -1] += 50.0
    times = (np.arange(1, n + 1) * 30 + 14) / 360
    prices = flows.sum(axis=-1) * rng.uniform(0.7, 1.05, (3, 4))
    batch = yield_from_price(flows, times, prices, 2, full_output=True)
    assert batch.yield_.shape == (3, 4)
    assert batch.converged.all()
    one_by_one = np.array(
        [
            [yield_from_price(flows[i, j], times, prices[i, j], 2) for j in range(4)]
            for i in range(3)
        ]
    )
    assert_allclose(batch.yield_, one_by_one, rtol=0, atol=1e-14)
    for fn in (macaulay_duration, modified_duration, convexity):
        whole = fn(flows, times, batch.yield_, 2)
        single = np.array(
            [[fn(flows[i, j], times, batch.yield_[i, j], 2) for j in range(4)] for i in range(3)]
        )
        assert_allclose(whole, single, rtol=1e-14, atol=0)
    assert_allclose(
        wal(flows, times),
        np.array([[wal(flows[i, j], times) for j in range(4)] for i in range(3)]),
        rtol=1e-14,
        atol=0,
    )


def test_broadcasting_of_prices_yields_and_times() -> None:
    flows = np.array([5.0, 5.0, 105.0])
    times = np.array([[1.0, 2.0, 3.0], [0.5, 1.0, 1.5]])  # two schedules for one vector
    prices = np.array([[95.0], [100.0], [105.0]])  # (3, 1) x (2,) -> (3, 2)
    y = yield_from_price(flows, times, prices, 1)
    assert y.shape == (3, 2)
    assert_allclose(
        price_from_yield(flows, times, y, 1), np.broadcast_to(prices, (3, 2)), rtol=1e-13, atol=0
    )
    assert price_from_yield(flows, times[0], [0.01, 0.02, 0.03], 1).shape == (3,)


def test_fallback_agrees_with_newton() -> None:
    """The bracketed bisection alone (Newton switched off) finds the same yields."""
    rng = np.random.default_rng(11)
    flows = rng.uniform(0.0, 4.0, (200, 36))
    times = np.arange(1, 37)[None, :] / 12
    prices = flows.sum(axis=1) * rng.uniform(0.8, 1.2, 200)
    guess = measures._yield_guess(flows, times, prices, 12)
    newton = measures._solve(flows, times, None, prices, 12, guess)
    bisection = measures._solve(flows, times, None, prices, 12, guess, max_newton=0)
    assert newton.converged.all()
    assert bisection.converged.all()
    assert (bisection.iterations > newton.iterations).all()
    assert_allclose(bisection.rate, newton.rate, rtol=0, atol=1e-11)


def test_newton_failure_is_rescued_by_the_bracket() -> None:
    """Flows that change sign twice: Newton leaves the domain, bisection finds the root."""
    flows, times = [1.0, -3.0, 1.0], [0.5, 1.0, 2.0]
    res = yield_from_price(flows, times, 0.5, 2, full_output=True)
    assert res.converged
    assert res.reason == ""
    assert -2.0 < res.yield_ < 0.0
    assert_allclose(price_from_yield(flows, times, res.yield_, 2), 0.5, rtol=0, atol=1e-10)


def test_scan_finds_two_close_yields_the_expansion_steps_over() -> None:
    """Price 100 = a/(1+y) - b/(1+y)^2 has yields 12% and 13%; from 5% the bracket
    expansion (10%, 15%, 25%, ... and 0%, -5%, ...) sees the same sign everywhere."""
    u1, u2 = 1 / 1.12, 1 / 1.13
    b = 100 / (u1 * u2)
    flows, times = np.array([[b * (u1 + u2), -b]]), np.array([[1.0, 2.0]])
    price = np.array([100.0])
    solved = measures._solve(flows, times, None, price, 1, np.array([0.05]), max_newton=0)
    assert solved.converged.all()
    assert solved.reason.tolist() == [""]
    assert solved.iterations[0] > 1 + 2 * measures._MAX_EXPAND  # found by the scan
    assert min(abs(solved.rate[0] - 0.12), abs(solved.rate[0] - 0.13)) < 1e-12
    # and the public function (Newton first) lands on one of the two as well
    y = float(yield_from_price(flows[0], times[0], 100.0, 1))
    assert min(abs(y - 0.12), abs(y - 0.13)) < 1e-12


def test_price_far_above_the_flows_gives_a_yield_near_minus_m() -> None:
    # 1/(1+y) + 1/(1+y)^2 = 1000  =>  1/(1+y) = (sqrt(4001) - 1)/2
    y = yield_from_price([1.0, 1.0], [1.0, 2.0], 1000.0, "annual")
    assert_allclose(y, 2 / (np.sqrt(4001) - 1) - 1, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- failure modes


def test_unsolvable_vectors_give_nan_and_a_reason() -> None:
    flows = np.array(
        [
            [0.0, 0.0, 0.0],  # nothing to discount
            [1.0, 1.0, 1.0],  # positive flows, negative price
            [-1.0, -2.0, -1.0],  # negative flows, positive price
            [2.0, 1.0, 1.0],  # ok
            [1.0, 1.0, 1.0],  # price is NaN
            [3.0, 0.0, 0.0],  # everything paid at settlement
            [1.0, 1.0, 1.0],  # price = time-0 flow, the limit as y -> inf: never reached
        ]
    )
    times = np.array([[0.0, 1.0, 2.0]] * 5 + [[0.0, 1.0, 2.0]] + [[0.0, 1.0, 2.0]])
    prices = np.array([1.0, -1.0, 1.0, 3.5, np.nan, 3.0, 1.0])
    res = yield_from_price(flows, times, prices, 2, full_output=True)
    assert isinstance(res, YieldResult)
    assert res.reason.tolist() == [
        "all cash flows zero",
        "no sign change",
        "no sign change",
        "",
        "price not finite",
        "all cash flows at time 0",
        "price insensitive to rate",
    ]
    assert_array_equal(res.converged, [False, False, False, True, False, False, False])
    assert np.isnan(res.yield_[[0, 1, 2, 4, 5, 6]]).all()
    assert_allclose(price_from_yield(flows[3], times[3], res.yield_[3], 2), 3.5, rtol=0, atol=1e-12)
    plain = yield_from_price(flows, times, prices, 2)
    assert_array_equal(np.isnan(plain), ~res.converged)


def test_results_are_read_only() -> None:
    res = yield_from_price([[1.0, 1.0]], [1.0, 2.0], [1.9], 1, full_output=True)
    with pytest.raises(ValueError, match="read-only"):
        res.yield_[0] = 0.0


def test_wal_without_principal_is_nan() -> None:
    assert np.isnan(wal(np.zeros(5), np.arange(1, 6)))
    assert np.isnan(macaulay_duration(np.zeros(5), np.arange(1, 6), 0.05))


@pytest.mark.parametrize("bad", [5, 24, -1, 2.0, True, "weekly", "", None])
def test_bad_compounding_is_a_spec_error(bad: object) -> None:
    with pytest.raises(SpecError, match="compounding") as info:
        price_from_yield([1.0], [1.0], 0.05, bad)  # type: ignore[arg-type]
    assert isinstance(info.value, AbsError)
    assert isinstance(info.value, ValueError)
    assert "semiannual" in str(info.value)
    assert repr(bad) in str(info.value)
    with pytest.raises(SpecError, match="compounding"):
        yield_from_price([1.0], [1.0], 0.9, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("nan flow", {"cashflows": [[1.0, np.nan]]}, r"cashflows: .*element \(0, 1\)"),
        ("negative time", {"times": [-1.0, 1.0]}, r"times: .*>= 0"),
        ("shape", {"times": [1.0, 2.0, 3.0]}, "do not match"),
        ("scalar flows", {"cashflows": 5.0}, "time axis"),
        ("text", {"cashflows": ["a", "b"]}, "must be numbers"),
        ("price shape", {"price": [1.0, 2.0, 3.0]}, "does not broadcast"),
    ],
)
def test_malformed_inputs_are_spec_errors(name: str, kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "cashflows": [[1.0, 1.0], [2.0, 2.0]],
        "times": [1.0, 2.0],
        "price": 1.5,
    }
    args.update(kwargs)
    with pytest.raises(SpecError, match=match):
        yield_from_price(args["cashflows"], args["times"], args["price"])  # type: ignore[arg-type]


def test_yield_at_or_below_minus_m_prices_to_nan() -> None:
    assert np.isnan(price_from_yield([1.0], [1.0], -2.0, 2))
    assert np.isnan(price_from_yield([1.0], [1.0], -3.0, 2))
    assert np.isfinite(price_from_yield([1.0], [1.0], -3.0, "continuous"))


# ---------------------------------------------------------------------- properties

positive_flows = st.lists(st.floats(0.01, 1e4, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(
    flows=positive_flows,
    y1=st.floats(-0.5, 1.0),
    dy=st.floats(1e-4, 0.5),
    m=st.sampled_from(COMPOUNDINGS),
)
def test_price_decreases_in_yield_for_positive_flows(
    flows: list[float], y1: float, dy: float, m: int
) -> None:
    times = np.arange(1, len(flows) + 1) / 12
    assert price_from_yield(flows, times, y1, m) > price_from_yield(flows, times, y1 + dy, m)


@settings(max_examples=150, deadline=None)
@given(
    flows=positive_flows,
    y=st.floats(-0.5, 1.0),
    m=st.sampled_from(COMPOUNDINGS),
    step=st.sampled_from([1 / 12, 0.25, 0.5, 1.0]),
)
def test_yield_round_trips_through_price(flows: list[float], y: float, m: int, step: float) -> None:
    times = np.arange(1, len(flows) + 1) * step
    price = price_from_yield(flows, times, y, m)
    res = yield_from_price(flows, times, price, m, full_output=True)
    assert res.converged, res.reason
    assert_allclose(res.yield_, y, rtol=0, atol=1e-9)
