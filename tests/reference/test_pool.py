"""The reference collateral model against published and hand-worked figures, then against
``abs_engine.project`` (not under test here: agreement confirms the model the waterfall
reference stands on)."""

from __future__ import annotations

import numpy as np
import pytest

import abs_engine as ae
from abs_engine import curves
from reference import pool as rp
from reference import spec as rs


def test_sifma_cash_flow_a_month_1() -> None:
    """SIFMA Standard Formulas (1999), Cash Flow A, as quoted in DESIGN.md ("Reference numbers"):
    new 30-year 8% pool of $100,000,000, 1% SMM, 1% MDR.  Month 1: new defaults 1,000,000,
    voluntary prepayments 999,329, actual interest 660,000, performing balance 97,934,244.

    By hand: defaults 1% x 100m = 1,000,000; the level payment of 100m over 360 months at
    8%/12 amortises 67,097.90 of it, so prepayments = 1% x (100m - 67,097.90) = 999,329.02;
    the 99m that did not default pays 660,000 of interest and amortises 66,426.92, so
    the performing balance is 100m - 1m - 66,426.92 - 999,329.02 = 97,934,244.06.
    (Cash Flow A advances principal and interest; advancing changes the cash from defaulted
    loans, not these four figures.)  Published figures are whole dollars: tolerance 0.5.
    """
    m = rp.project(
        [rp.Cohort(100_000_000.0, 360, rp.ANNUITY, 0.08)],
        rp.Collateral(rp.flat(0.01), rp.flat(0.01), severity=0.2, lag=12),
        1,
    )[0]
    np.testing.assert_allclose(
        [m["default"], m["prepayment"], m["interest"], m["end_balance"]],
        [1_000_000, 999_329, 660_000, 97_934_244],
        rtol=0,
        atol=0.5,
    )


def test_equal_principal_by_hand() -> None:
    """1,000 at 12% over 4 months, 2% MDR, 3% SMM, severity 60%, lag 2.
    Month 1: default 2% x 1,000 = 20; the 980 left pays interest 9.8 and amortises 980/4 =
    245; prepayments 3% x (1,000 - 1,000/4) = 22.5; end 980 - 245 - 22.5 = 712.5 (the
    contractual 750 x (1 - 2% - 3%)).  Month 2: default 14.25, interest 6.9825, scheduled
    (712.5 - 14.25)/3 = 232.75, prepaid 3% x (712.5 - 237.5) = 14.25, end 451.25.
    Month 3 recovers 40% of month 1's default (8) and loses 12."""
    months = rp.project(
        [rp.Cohort(1000.0, 4, rp.EQUAL_PRINCIPAL, 0.12)],
        rp.Collateral(rp.flat(0.02), rp.flat(0.03), severity=0.6, lag=2),
        6,
    )
    got = [
        [m[f] for m in months[:2]]
        for f in ("default", "interest", "scheduled_principal", "prepayment", "end_balance")
    ]
    np.testing.assert_allclose(
        got,
        [[20, 14.25], [9.8, 6.9825], [245, 232.75], [22.5, 14.25], [712.5, 451.25]],
        rtol=0,
        atol=1e-12,
    )
    np.testing.assert_allclose([months[2]["recovery"], months[2]["loss"]], [8, 12], atol=1e-12)


def test_flat_fee_is_paid_by_performing_loans() -> None:
    """A bullet of 1,000 with a fee of 10 a month, 10% MDR then 5% SMM: the fee follows the share
    of loans still performing: 10 x 0.9 = 9 in month 1; month 2: 10 x (1 - 0.1 - 0.05) x 0.9."""
    months = rp.project(
        [rp.Cohort(1000.0, 3, rp.BULLET, 0.0, fee=10.0)],
        rp.Collateral(rp.flat(0.1), rp.flat(0.05)),
        3,
    )
    np.testing.assert_allclose(
        [m["fee"] for m in months], [9.0, 10 * 0.85 * 0.9, 10 * 0.85**2 * 0.9], atol=1e-12
    )


def test_period_curve_read_from_the_offset() -> None:
    """A receivable bought after pool month 2 meets a period curve's month-3 rate first."""
    mdr = rp.Curve((0.0, 0.0, 0.5, 0.0), by="period")
    bought = rp.project([rp.Cohort(100.0, 2, rp.BULLET)], rp.Collateral(mdr), 2, offset=2)
    np.testing.assert_allclose([m["default"] for m in bought], [50.0, 0.0], atol=1e-12)
    fresh = rp.project([rp.Cohort(100.0, 4, rp.BULLET)], rp.Collateral(mdr), 4)
    np.testing.assert_allclose([m["default"] for m in fresh], [0, 0, 50, 0], atol=1e-12)


COHORTS = [
    rp.Cohort(1000.0, 12, rp.ANNUITY, 0.12, age=3),
    rp.Cohort(500.0, 7, rp.EQUAL_PRINCIPAL, 0.18),
    rp.Cohort(300.0, 9, rp.FLAT_FEE, 0.0, fee=4.0, age=2),
    rp.Cohort(200.0, 5, rp.BULLET, 0.06, age=1),
]
ASSUMPTIONS = [
    rp.Collateral(rp.flat(0.02), rp.flat(0.03), severity=0.6, lag=2),
    rp.Collateral(
        rp.Curve((0.01, 0.0, 0.05, 0.02), by="period"),
        rp.Curve((0.0, 0.1, 0.02), by="age"),
        severity=0.5,
        lag=3,
    ),
]


@pytest.mark.parametrize("offset", [0, 4])
@pytest.mark.parametrize("collateral", ASSUMPTIONS)
def test_agrees_with_the_projection_engine(collateral: rp.Collateral, offset: int) -> None:
    """Every flow of every month to 1e-9 (pool of 2,000): the engine's SIFMA projection and
    this model are the same mechanics, written apart."""
    pool = rs.to_cohorts(COHORTS)
    cf = ae.project(pool, rs.to_assumptions(collateral), period_offset=offset)
    mine = rp.project(rp.cohorts_from(pool), collateral, cf.n_periods, offset=offset)
    assert cf.n_periods == rp.last_month_with_cash(COHORTS, collateral)
    for f in rp.FLOWS:
        np.testing.assert_allclose(cf[f][0], [m[f] for m in mine], rtol=0, atol=1e-9, err_msg=f)


def test_reads_annual_curves() -> None:
    """CDR and CPR given annually become MDR and SMM by (1 - annual)^(1/12)."""
    a = ae.Assumptions(default=curves.cdr(0.2), prepay=curves.cpr(0.1), severity=0.3)
    c = rp.collateral_from(a)
    np.testing.assert_allclose(
        [c.mdr.values[0], c.smm.values[0]], [1 - 0.8 ** (1 / 12), 1 - 0.9 ** (1 / 12)]
    )
    pool = rs.to_cohorts(COHORTS)
    cf = ae.project(pool, a)
    mine = rp.project(rp.cohorts_from(pool), c, cf.n_periods)
    np.testing.assert_allclose(cf["end_balance"][0], [m["end_balance"] for m in mine], atol=1e-9)
