"""Contractual schedules: zero default and zero prepayment reproduce the loan contract."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf

import abs_engine as ae
from abs_engine.pool import Cohorts

ZERO = ae.Assumptions()


def one_loan(
    payment_type: int,
    rem: int,
    rate: float,
    balance: float,
    fee_rate: float = 0.0,
    ob: float | None = None,
) -> Cohorts:
    return Cohorts.from_loans(
        ("A",), [0], [payment_type], [rem], [0], [0], [balance], [rate], [fee_rate], [ob or balance]
    )


def test_annuity_matches_numpy_financial() -> None:
    """Level annuity (等额本息) against numpy_financial.ppmt/ipmt."""
    rate, n, pv = 0.18, 24, 12_000.0
    cf = ae.project(one_loan(0, n, rate, pv), ZERO)
    per = np.arange(1, n + 1)
    np.testing.assert_allclose(
        cf["scheduled_principal"][0, :n], -npf.ppmt(rate / 12, per, n, pv), rtol=1e-12
    )
    np.testing.assert_allclose(cf["interest"][0, :n], -npf.ipmt(rate / 12, per, n, pv), rtol=1e-12)
    np.testing.assert_allclose(cf["end_balance"][0, n - 1], 0.0, atol=1e-8)
    assert cf["prepayment"].sum() == 0 and cf["default"].sum() == 0


def test_seasoned_annuity_pays_off_over_remaining_term() -> None:
    rate, n, pv = 0.12, 7, 3_000.0
    cf = ae.project(one_loan(0, n, rate, pv), ZERO)
    pay = -npf.pmt(rate / 12, n, pv)
    np.testing.assert_allclose(
        cf["scheduled_principal"][0, :n] + cf["interest"][0, :n], pay, rtol=1e-12
    )


def test_flat_fee_by_hand() -> None:
    """等本等费: 6,000 originally over 12 months, 6 left (3,000), 0.8% a month on 6,000."""
    cf = ae.project(one_loan(2, 6, 0.0, 3_000.0, fee_rate=0.008, ob=6_000.0), ZERO)
    np.testing.assert_allclose(cf["scheduled_principal"][0, :6], 500.0, rtol=1e-14)
    np.testing.assert_allclose(cf["fee"][0, :6], 48.0, rtol=1e-14)
    np.testing.assert_allclose(
        cf["begin_balance"][0, :6], [3000, 2500, 2000, 1500, 1000, 500], rtol=1e-14
    )
    assert cf["interest"].sum() == 0
    assert np.all(cf["fee"][0, 6:] == 0)


def test_equal_principal_by_hand() -> None:
    """等额本金: 1,200 over 4 months at 12%: principal 300 a month, interest 1% of the balance."""
    cf = ae.project(one_loan(1, 4, 0.12, 1_200.0), ZERO)
    np.testing.assert_allclose(cf["scheduled_principal"][0, :4], 300.0, rtol=1e-14)
    np.testing.assert_allclose(cf["interest"][0, :4], [12.0, 9.0, 6.0, 3.0], rtol=1e-14)


def test_bullet_by_hand() -> None:
    """A 30-day interest-free bill pays its principal in month 1; a 3-month bullet at 6% pays interest monthly."""
    cf = ae.project(one_loan(3, 1, 0.0, 750.0), ZERO)
    np.testing.assert_allclose(cf["scheduled_principal"][0, 0], 750.0, rtol=1e-15)
    assert cf["interest"].sum() == 0
    cf3 = ae.project(one_loan(3, 3, 0.06, 1_000.0), ZERO)
    np.testing.assert_allclose(cf3["scheduled_principal"][0, :3], [0.0, 0.0, 1000.0], atol=1e-12)
    np.testing.assert_allclose(cf3["interest"][0, :3], 5.0, rtol=1e-14)
