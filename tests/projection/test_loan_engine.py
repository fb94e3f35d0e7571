"""The loan-level engine agrees with the closed-form cohort engine, and the two modes agree.

* SIFMA conventions, no rounding: ``engine="loan"`` (one row per receivable, a month loop)
  equals the closed form to 1e-8 on the sample pool, on SIFMA Cash Flow A (advancing) and on
  random pools (hypothesis).
* Any other conventions without rounding: ``engine="cohort"`` (the month loop on exact
  cohorts) equals ``engine="loan"``: every step is linear in a receivable's balance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine import Scenario, ScenarioSet, curves
from abs_engine.projection import PoolConventions

ATOL = 1e-8  # currency units, on pools of a few million


def agree(got: ae.PoolCashflows, ref: ae.PoolCashflows, atol: float = ATOL) -> None:
    assert got.n_periods == ref.n_periods
    assert got.groups == ref.groups
    for f in ref.data:
        np.testing.assert_allclose(got.array(f), ref.array(f), rtol=1e-10, atol=atol, err_msg=f)


SCENARIOS = ScenarioSet(
    [
        Scenario("base"),
        Scenario(
            "stress", default_mult=3.0, prepay_mult=0.5, severity_mult=1.1, recovery_lag_shift=2
        ),
        Scenario("c-only", default_mult={"C": 4.0}),
    ]
)


@pytest.mark.parametrize("by", ["pool", "grade", "loan"])
def test_loan_engine_equals_the_closed_form_on_the_sample_pool(
    by: str, sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    ref = ae.project(sample_pool, graded_assumptions, SCENARIOS, by=by)  # type: ignore[arg-type]
    got = ae.project(sample_pool, graded_assumptions, SCENARIOS, by=by, engine="loan")  # type: ignore[arg-type]
    agree(got, ref)


def test_with_a_default_overlay_period_curves_and_an_offset(sample_pool: ae.Pool) -> None:
    flagged = np.where(np.arange(len(sample_pool)) % 7 == 0, 1.5, 1.0)
    pool = sample_pool.with_default_overlay(flagged)
    a = ae.Assumptions(
        default=curves.vector([0.02, 0.05, 0.08, 0.04], "cdr", by="period"),
        prepay=curves.psa(150),
        severity=0.7,
        recovery_lag=2,
    )
    ref = ae.project(pool, a, SCENARIOS[:2], by="grade", period_offset=3)
    got = ae.project(pool, a, SCENARIOS[:2], by="grade", period_offset=3, engine="loan")
    agree(got, ref)
    chunked = ae.project(pool, a, SCENARIOS[:2], by="grade", period_offset=3, engine="loan",
                         chunk_size=1)  # fmt: skip
    agree(chunked, got, atol=1e-9)


def test_sifma_cash_flow_a_through_the_loan_engine() -> None:
    """SIFMA Standard Formulas (1999), Cash Flow A (pp. SF-22 ff.; figures as quoted in
    DESIGN.md): $100m new 30-year 8% pool, 1% SMM, 1% MDR, 20% severity, 12-month lag,
    advancing.  Month 1: defaults 1,000,000, prepayments 999,329; life: defaults 47,576,640,
    prepayments 47,527,662, recoveries 37,446,547, losses 9,515,314 (to the dollar)."""
    frame = pd.DataFrame({"loan_id": ["pool"], "grade": ["A"], "balance": [1e8], "rate": [0.08],
                          "original_term": [360], "remaining_term": [360],
                          "payment_type": ["annuity"]})  # fmt: skip
    a = ae.Assumptions(default=curves.mdr(0.01), prepay=curves.smm(0.01), severity=0.2,
                       recovery_lag=12, advancing=True)  # fmt: skip
    cf = ae.project(ae.Pool.from_frame(frame), a, engine="loan")
    np.testing.assert_allclose(cf["default"][0, 0], 1_000_000, atol=0.5)
    np.testing.assert_allclose(cf["prepayment"][0, 0], 999_329, atol=0.5)
    totals = [cf[f].sum() for f in ("default", "prepayment", "recovery", "loss")]
    np.testing.assert_allclose(totals, [47_576_640, 47_527_662, 37_446_547, 9_515_314], atol=0.5)
    agree(cf, ae.project(ae.Pool.from_frame(frame), a), atol=1e-6)


CONVENTIONS = [
    PoolConventions(prepayment_timing="start"),
    PoolConventions(default_order="default_first"),
    PoolConventions(prepayment_timing="start", default_order="default_first"),
    PoolConventions(loss_timing="default"),
    PoolConventions(amortisation="reamortise", coupon_decimals=3),
    PoolConventions(flat_fee="survival"),
    PoolConventions(
        annual_to_periodic="act_365",
        cutoff=dt.date(2025, 8, 31),
        payment_day=15,
        business_days="china_interbank",
        roll="modified_following",
    ),
    PoolConventions(
        prepayment_timing="start",
        default_order="default_first",
        annual_to_periodic="act_360",
        cutoff=dt.date(2024, 12, 31),
        loss_timing="default",
        amortisation="reamortise",
        coupon_decimals=6,
        flat_fee="survival",
    ),
]


@pytest.mark.parametrize("conv", CONVENTIONS, ids=lambda c: ",".join(map(str, c.to_dict())))
def test_cohort_and_loan_modes_agree_under_any_conventions(
    conv: PoolConventions, sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    cohort = ae.project(sample_pool, graded_assumptions, SCENARIOS, by="grade", conventions=conv)
    loan = ae.project(
        sample_pool, graded_assumptions, SCENARIOS, by="grade", conventions=conv, engine="loan"
    )
    agree(cohort, loan)
    by_loan = ae.project(sample_pool, graded_assumptions, SCENARIOS[:1], by="loan",
                         conventions=conv)  # fmt: skip
    n = by_loan.n_periods  # one scenario: no lag shift, a shorter horizon
    np.testing.assert_allclose(by_loan["interest"], loan["interest"][:1, :n], rtol=1e-10, atol=ATOL)


def test_conventions_change_the_numbers(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    """A test that could not fail would prove nothing: each convention moves some flow."""
    ref = ae.project(sample_pool, graded_assumptions)
    for conv in CONVENTIONS:
        got = ae.project(sample_pool, graded_assumptions, conventions=conv)
        assert any(not np.allclose(got[f], ref[f], rtol=1e-12, atol=1e-9) for f in ref.data), conv


def test_rounded_projection_keeps_every_cent(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    """Half-up per receivable: every flow of every receivable is whole cents, the balance
    identity holds exactly in cents, and the rounded pool stays within a cent per receivable
    and month of the float projection."""
    conv = PoolConventions(rounding="half_up", prepayment_timing="start",
                           default_order="default_first", amortisation="reamortise")  # fmt: skip
    cf = ae.project(sample_pool, graded_assumptions, SCENARIOS, by="loan", conventions=conv,
                    engine="loan")  # fmt: skip
    for f in ("begin_balance", "scheduled_principal", "prepayment", "default", "interest", "fee",
              "recovery", "loss"):  # fmt: skip
        cents = cf.array(f) * 100
        np.testing.assert_allclose(cents, np.round(cents), rtol=0, atol=1e-6, err_msg=f)
    parts = sum(
        cf.array(f) for f in ("scheduled_principal", "prepayment", "default", "end_balance")
    )
    np.testing.assert_allclose(parts, cf.array("begin_balance"), rtol=0, atol=1e-9)
    np.testing.assert_allclose(cf.array("recovery").sum(axis=2) + cf.array("loss").sum(axis=2),
                               cf.array("default").sum(axis=2), rtol=0, atol=1e-9)  # fmt: skip
    exact = ae.project(sample_pool, graded_assumptions, SCENARIOS, conventions=dataclasses.replace(
        conv, rounding="none"))  # fmt: skip
    n = len(sample_pool)
    for f in ("interest", "default", "end_balance"):
        assert np.abs(cf[f] - exact[f]).max() < 0.01 * n * 3, f


def test_rounded_advancing_liquidates_what_is_left() -> None:
    """Advancing with rounding: each month's defaults pay (advanced) scheduled principal and
    interest rounded per receivable, and are liquidated at the lag."""
    frame = pd.DataFrame({"loan_id": ["a", "b"], "grade": ["A", "A"], "balance": [10_000.0, 5_000.55],
                          "rate": [0.08, 0.12], "original_term": [24, 36],
                          "remaining_term": [20, 36],
                          "payment_type": ["annuity", "equal_principal"]})  # fmt: skip
    a = ae.Assumptions(default=curves.cdr(0.2), prepay=curves.cpr(0.1), severity=0.3,
                       recovery_lag=3, advancing=True)  # fmt: skip
    pool = ae.Pool.from_frame(frame)
    conv = PoolConventions(rounding="floor")
    cf = ae.project(pool, a, conventions=conv, engine="loan")
    principal = sum(cf[f].sum() for f in ("scheduled_principal", "prepayment",
                                           "advanced_principal", "recovery", "loss"))  # fmt: skip
    np.testing.assert_allclose(principal, 15_000.55, rtol=0, atol=1e-8)
    float_cf = ae.project(pool, a, engine="loan")
    np.testing.assert_allclose(cf["default"].sum(), float_cf["default"].sum(), atol=1.0)


# --- random pools ---------------------------------------------------------------------------

KINDS = ("annuity", "equal_principal", "flat_fee", "bullet")


@st.composite
def pools(draw: Any) -> ae.Pool:
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        term = draw(st.integers(1, 36))
        rem = draw(st.integers(1, term))
        kind = draw(st.sampled_from(KINDS))
        ob = draw(st.integers(100, 500_000)) / 100
        on_schedule = round(ob * rem / term, 2)
        balance = draw(st.sampled_from([on_schedule, max(0.01, round(on_schedule * 0.8, 2))]))
        rows.append({
            "loan_id": f"r{i}", "grade": draw(st.sampled_from("ABC")), "balance": balance,
            "rate": draw(st.sampled_from([0.0, 0.06, 0.1234, 0.18, 0.36])),
            "original_term": term, "remaining_term": rem, "payment_type": kind,
            "fee_rate": draw(st.sampled_from([0.0, 0.005, 0.0075])) if kind == "flat_fee" else 0.0,
            "original_balance": ob,
        })  # fmt: skip
    return ae.Pool.from_frame(pd.DataFrame(rows))


@st.composite
def assumptions(draw: Any) -> ae.GradedAssumptions:
    def one() -> ae.Assumptions:
        return ae.Assumptions(
            default=curves.cdr(draw(st.floats(0.0, 0.6))),
            prepay=draw(st.sampled_from([curves.cpr(0.2), curves.abs_prepay(0.02),
                                         curves.smm(draw(st.floats(0.0, 0.5)))])),
            severity=draw(st.floats(0.0, 1.0)),
            recovery_lag=draw(st.integers(0, 4)),
        )  # fmt: skip

    return ae.Assumptions.by_grade({g: one() for g in "ABC"})


conventions = st.builds(
    PoolConventions,
    prepayment_timing=st.sampled_from(["end", "start"]),
    default_order=st.sampled_from(["sifma", "default_first"]),
    annual_to_periodic=st.sampled_from(["monthly", "act_365", "act_360"]),
    loss_timing=st.sampled_from(["liquidation", "default"]),
    amortisation=st.sampled_from(["schedule", "reamortise"]),
    coupon_decimals=st.sampled_from([None, 4, 6]),
    flat_fee=st.sampled_from(["schedule", "survival"]),
    cutoff=st.just(dt.date(2025, 6, 30)),
    payment_day=st.integers(1, 31),
    business_days=st.sampled_from(["none", "china_interbank"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=pools(), a=assumptions(), mult=st.floats(0.0, 5.0))
def test_random_pools_loan_engine_equals_the_closed_form(
    pool: ae.Pool, a: ae.GradedAssumptions, mult: float
) -> None:
    scen = ScenarioSet([Scenario("base"), Scenario("x", default_mult=mult, recovery_lag_shift=1)])
    agree(ae.project(pool, a, scen, by="loan", engine="loan"), ae.project(pool, a, scen, by="loan"))
    agree(ae.project(pool, a, scen, engine="loan"), ae.project(pool, a, scen))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=pools(), a=assumptions(), conv=conventions)
def test_random_pools_and_conventions_cohort_equals_loan(
    pool: ae.Pool, a: ae.GradedAssumptions, conv: PoolConventions
) -> None:
    agree(
        ae.project(pool, a, by="grade", conventions=conv),
        ae.project(pool, a, by="grade", conventions=conv, engine="loan"),
    )
