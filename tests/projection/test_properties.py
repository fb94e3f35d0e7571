"""Property tests (hypothesis) on random pools and assumptions."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine import ScenarioSet, curves
from abs_engine.pool import Cohorts

FLOWS = ("scheduled_principal", "prepayment", "default", "interest", "fee", "recovery", "loss")


@st.composite
def pools(draw: st.DrawFn) -> Cohorts:
    n = draw(st.integers(1, 6))
    kinds = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    rems = draw(st.lists(st.integers(1, 36), min_size=n, max_size=n))
    ages = draw(st.lists(st.integers(0, 24), min_size=n, max_size=n))
    grades = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    dpd = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    bal = draw(st.lists(st.floats(1.0, 1e6), min_size=n, max_size=n))
    rate = draw(st.lists(st.sampled_from([0.0, 0.05, 0.12, 0.24]), min_size=n, max_size=n))
    fee = [draw(st.sampled_from([0.005, 0.01])) if k == 2 else 0.0 for k in kinds]
    return Cohorts.from_loans(
        ("A", "B", "C"),
        grades,
        kinds,
        rems,
        ages,
        dpd,
        bal,
        rate,
        fee,
        [b * 1.5 for b in bal],
        loan_level=True,
    )


@st.composite
def assumption_sets(draw: st.DrawFn) -> ae.GradedAssumptions:
    def one() -> ae.Assumptions:
        default = draw(
            st.one_of(
                st.floats(0, 0.6).map(curves.cdr),
                st.lists(st.floats(0, 0.5), min_size=1, max_size=8).map(
                    lambda v: curves.vector(v, "cdr")
                ),
                st.floats(0, 300).map(curves.sda),
            )
        )
        prepay = draw(
            st.one_of(
                st.floats(0, 0.8).map(curves.cpr),
                st.floats(0, 0.05).map(curves.abs_prepay),
                st.floats(0, 500).map(curves.psa),
            )
        )
        roll = draw(st.booleans())
        return ae.Assumptions(
            default=default,
            prepay=prepay,
            severity=draw(st.floats(0, 1)),
            recovery_lag=draw(st.integers(0, 6)),
            roll_rates=ae.RollRates.from_rolls(draw(st.floats(0, 0.3)), 0.5, 0.6, 0.7, cure=0.2)
            if roll
            else None,
        )

    return ae.Assumptions.by_grade({"A": one(), "B": one(), "C": one()})


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(pools(), assumption_sets(), st.lists(st.floats(0, 5), min_size=1, max_size=4))
def test_balance_identity_and_no_negatives(
    pool: Cohorts, a: ae.GradedAssumptions, mults: list[float]
) -> None:
    scen = ScenarioSet.from_arrays(default_mult=np.array(mults), prepay_mult=np.array(mults[::-1]))
    cf = ae.project(pool, a, scen, by="cohort")
    scale = pool.balance.sum()
    ident = (
        cf["begin_balance"]
        - cf["scheduled_principal"]
        - cf["prepayment"]
        - cf["default"]
        - cf["end_balance"]
    )
    np.testing.assert_allclose(ident, 0.0, atol=1e-9 * scale)
    for f in (
        *FLOWS,
        "begin_balance",
        "end_balance",
        "current",
        "dpd_1_30",
        "dpd_31_60",
        "dpd_61_90",
    ):
        assert cf[f].min() >= -1e-9 * scale, f
    # Every unit of balance ends up paid, prepaid or defaulted; every default is liquidated.
    out = cf["scheduled_principal"] + cf["prepayment"] + cf["default"]
    np.testing.assert_allclose(out.sum(axis=1), scale, rtol=1e-9)
    np.testing.assert_allclose(
        (cf["recovery"] + cf["loss"]).sum(axis=1), cf["default"].sum(axis=1), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(cf["end_balance"][:, -1], 0.0, atol=1e-9 * scale)


@SETTINGS
@given(pools())
def test_zero_curves_reproduce_the_contract(pool: Cohorts) -> None:
    """Current receivables pay their contract; delinquent ones roll to default untouched."""
    cf = ae.project(pool, ae.Assumptions())
    current = pool.dpd_bucket == 0
    late = pool.balance[~current].sum()
    assert cf["prepayment"].sum() == 0
    np.testing.assert_allclose(cf["default"].sum(), late, rtol=1e-12)
    np.testing.assert_allclose(cf["loss"].sum(), late, rtol=1e-12)  # severity 1
    np.testing.assert_allclose(
        cf["scheduled_principal"].sum(), pool.balance[current].sum(), rtol=1e-12
    )
    np.testing.assert_allclose(
        cf["fee"].sum(), (pool.fee * pool.remaining_term)[current].sum(), rtol=1e-12
    )


@SETTINGS
@given(pools(), assumption_sets(), st.floats(0.0, 4.0), st.floats(0.0, 4.0))
def test_more_default_stress_never_lowers_cumulative_default(
    pool: Cohorts, a: ae.GradedAssumptions, m1: float, m2: float
) -> None:
    lo, hi = sorted((m1, m2))
    cf = ae.project(pool, a, ScenarioSet.from_arrays(default_mult=np.array([lo, hi])))
    total = cf["default"].sum(axis=1)
    assert total[1] >= total[0] - 1e-9 * pool.balance.sum()


@SETTINGS
@given(pools(), assumption_sets())
def test_cohort_aggregation_equals_loan_level(pool: Cohorts, a: ae.GradedAssumptions) -> None:
    aggregated = Cohorts.from_loans(
        pool.grades,
        pool.grade,
        pool.payment_type,
        pool.remaining_term,
        pool.age,
        pool.dpd_bucket,
        pool.balance,
        pool.rate,
        pool.fee / pool.original_balance,
        pool.original_balance,
    )
    scen = ScenarioSet.grid(default_mult=[1, 2.5], recovery_lag_shift=[0, 1])
    x = ae.project(pool, a, scen)
    y = ae.project(aggregated, a, scen)
    for f in (*FLOWS, "end_balance"):
        np.testing.assert_allclose(
            x[f], y[f], rtol=1e-10, atol=1e-8 * pool.balance.sum(), err_msg=f
        )
