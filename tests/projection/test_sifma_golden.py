"""Golden test: SIFMA Standard Formulas, Cash Flow A.

Source: The Bond Market Association, *Uniform Practices / Standard Formulas*
(02/01/99), Chapter SF, section C.6 "Numerical Examples of SDA", Cash Flow A
(pp. SF-22 ff.); reference figures as quoted in DESIGN.md.  Pool: new 30-year,
8% WAC, $100,000,000, 12-month liquidation lag, 20% severity, principal and
interest advanced; 1% SMM and 1% MDR.  The figures are published to the
dollar, so the tolerance is half a dollar either way.
"""

from __future__ import annotations

import numpy as np
import pytest

import abs_engine as ae
from abs_engine import curves
from abs_engine.pool import Cohorts

DOLLAR = 0.5


@pytest.fixture(scope="module")
def cash_flow_a() -> ae.PoolCashflows:
    pool = Cohorts.from_loans(
        ("A",), [0], [0], [360], [0], [0], [100_000_000.0], [0.08], [0.0], [100_000_000.0]
    )
    assumptions = ae.Assumptions(
        default=curves.mdr(0.01),
        prepay=curves.smm(0.01),
        severity=0.20,
        recovery_lag=12,
        advancing=True,
    )
    return ae.project(pool, assumptions)


def test_month_one(cash_flow_a: ae.PoolCashflows) -> None:
    cf = cash_flow_a
    np.testing.assert_allclose(cf["end_balance"][0, 0], 97_934_244, rtol=0, atol=DOLLAR)
    np.testing.assert_allclose(cf["default"][0, 0], 1_000_000, rtol=0, atol=DOLLAR)
    np.testing.assert_allclose(cf["prepayment"][0, 0], 999_329, rtol=0, atol=DOLLAR)
    np.testing.assert_allclose(cf["interest"][0, 0], 660_000, rtol=0, atol=DOLLAR)


def test_life_totals(cash_flow_a: ae.PoolCashflows) -> None:
    cf = cash_flow_a
    np.testing.assert_allclose(cf["default"].sum(), 47_576_640, rtol=0, atol=DOLLAR)
    np.testing.assert_allclose(cf["prepayment"].sum(), 47_527_662, rtol=0, atol=DOLLAR)
    np.testing.assert_allclose(cf["recovery"].sum(), 37_446_547, rtol=0, atol=DOLLAR)
    np.testing.assert_allclose(cf["loss"].sum(), 9_515_314, rtol=0, atol=DOLLAR)


def test_principal_is_all_accounted_for(cash_flow_a: ae.PoolCashflows) -> None:
    cf = cash_flow_a
    paid = sum(
        cf[f].sum() for f in ("scheduled_principal", "prepayment", "advanced_principal", "recovery")
    )
    np.testing.assert_allclose(paid + cf["loss"].sum(), 100_000_000, rtol=1e-13)
    # No new defaults in the final 12 months, so every default is liquidated by month 360.
    assert np.all(cf["default"][0, 348:] == 0)
    assert cf.n_periods >= 360


def test_advanced_interest_in_month_one(cash_flow_a: ae.PoolCashflows) -> None:
    """Advancing pays the defaulted loans' scheduled interest: borrower + advanced = 8%/12 of 100m."""
    cf = cash_flow_a
    np.testing.assert_allclose(
        cf["interest"][0, 0] + cf["advanced_interest"][0, 0], 666_666.67, atol=0.01
    )
