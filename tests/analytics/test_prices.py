"""Clean and full prices at any settlement date, against published worked examples.

The analytics layer is fed a run whose senior class pays exactly like a plain
fixed-coupon bond (the arrays are written by hand, no engine), so the deal-level
pricing -- flows after settlement, times from settlement by the day count,
accrued interest from the last payment date, clean = full - accrued -- can be
checked against bond examples.

Sources
-------
* SIFMA (formerly SIA) *Standard Securities Calculation Methods*: the price of
  a periodic-coupon bond is ``sum CF / (1 + y/f)^(DSC/E + k - 1) - (c/f) A/E``,
  30/360 for corporates.  Microsoft documents this formula for Excel's PRICE and
  YIELD functions with two worked examples (support.microsoft.com, "PRICE
  function" and "YIELD function", Example sections):

  - PRICE(2008-02-15, 2017-11-15, 5.75%, 6.50%, 100, 2, basis 0) = 94.63436;
  - YIELD(2008-02-15, 2016-11-15, 5.75%, 95.04287, 100, 2, basis 0) = 6.50%.

  Under 30/360 with coupons on the 15th, ``DSC/E + k - 1`` is exactly twice the
  30/360 years from settlement, which is how the deal layer measures time.
* CFA Institute, Adams & Smith (2019), *Introduction to Fixed-Income
  Valuation*, the 30/360 accrued-interest example: a 4.375% semiannual
  corporate bond paying on 15 May and 15 November, settled on 27 June, has
  accrued 42 of 180 days: ``2.1875 x 42/180 = 0.510417`` per 100.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine.analytics import AnalysedRun
from abs_engine.daycount import add_months, year_fraction
from abs_engine.deal import Coupon, Deal, DealDates, PoolSpec, Tranche
from abs_engine.deal.results import ACCOUNT_FIELDS, POOL_FIELDS, TRANCHE_FIELDS, Ledger, RunResult
from abs_engine.errors import SpecError


def bond_run(
    coupon: float, closing: dt.date, maturity: dt.date, day_count: str = "30/360"
) -> AnalysedRun:
    """A run whose ``bond`` class is a 100-face semiannual bond; ``equity`` gets nothing."""
    first = add_months(np.datetime64(closing), 6).astype(dt.date)
    dates = DealDates(
        cutoff=closing - dt.timedelta(days=1),
        closing=closing,
        first_payment=first,
        legal_final=maturity,
        frequency=6,
        day_count=day_count,
    )
    deal = Deal(
        name="bond",
        dates=dates,
        pool=PoolSpec(None, ae.Assumptions()),
        tranches=(
            Tranche("bond", "senior", size=0.5, coupon=Coupon(coupon)),
            Tranche("equity", "equity"),
        ),
    )
    n = 0
    while add_months(np.datetime64(closing), 6 * (n + 1)) <= np.datetime64(maturity):
        n += 1
    pay = np.array([add_months(np.datetime64(closing), 6 * (k + 1)) for k in range(n)])
    start = np.concatenate([[np.datetime64(closing)], pay[:-1]])
    yf = year_fraction(start, pay, day_count)
    T = n
    tr = {f: np.zeros((1, 2, T)) for f in TRANCHE_FIELDS}
    tr["begin_balance"][0, 0] = 100.0
    tr["end_balance"][0, 0] = 100.0
    tr["end_balance"][0, 0, -1] = 0.0
    tr["interest_due"][0, 0] = 100.0 * coupon * yf
    tr["interest_paid"][0, 0] = 100.0 * coupon * yf
    tr["principal_paid"][0, 0, -1] = 100.0
    po = {f: np.zeros((1, T)) for f in POOL_FIELDS}
    po["begin_balance"][:] = 200.0
    po["end_balance"][:] = 200.0
    po["end_balance"][0, -1] = 0.0
    ac = {f: np.zeros((1, T)) for f in ACCOUNT_FIELDS}
    result = RunResult(
        deal=deal,
        scenario_names=np.array(["base"]),
        dates=pay.astype("datetime64[D]"),
        accrual_start=start.astype("datetime64[D]"),
        collection_end=(pay - np.timedelta64(1, "D")).astype("datetime64[D]"),
        year_fractions=np.asarray(yf, dtype=np.float64),
        tranche_names=("bond", "equity"),
        fee_names=(),
        trigger_names=(),
        tranche=tr,
        fee={},
        pool=po,
        account=ac,
        trigger=np.zeros((1, 0, T), dtype=bool),
        ledger_data=Ledger((), np.zeros((0, 1, T))),
        original_balances={"bond": 100.0, "equity": 100.0},
        pool_balance=200.0,
    )
    return AnalysedRun.of(result)


@pytest.mark.parametrize("closing", [dt.date(2007, 11, 15), dt.date(2005, 5, 15)])
def test_clean_price_matches_the_sifma_formula_example(closing: dt.date) -> None:
    """Excel PRICE example (SSCM formula): 94.63436 clean at 6.5%; accrued 90/180 x 2.875.

    With closing in 2005 the settlement falls after five payment dates: their flows
    are dropped and the price is the same.
    """
    r = bond_run(0.0575, closing, dt.date(2017, 11, 15))
    p = r.prices_from_yields({"bond": 0.065}, compounding=2, settlement=dt.date(2008, 2, 15))
    row = p.iloc[0]
    np.testing.assert_allclose(row["price"], 94.63436, atol=5e-6, rtol=0)
    np.testing.assert_allclose(row["accrued_interest"], 2.875 * 90 / 180, atol=1e-12, rtol=0)
    np.testing.assert_allclose(row["full_price"], 94.63436 + 1.4375, atol=5e-6, rtol=0)


def test_yield_from_clean_price_matches_the_sifma_yield_example() -> None:
    """Excel YIELD example (SSCM formula): clean 95.04287 -> 6.50% semiannual."""
    r = bond_run(0.0575, dt.date(2007, 11, 15), dt.date(2016, 11, 15))
    s = r.summary({"bond": 95.04287}, compounding=2, settlement=dt.date(2008, 2, 15))
    row = s.set_index("tranche").loc["bond"]
    np.testing.assert_allclose(row["yield"], 0.065, atol=5e-8, rtol=0)
    np.testing.assert_allclose(row["effective_yield"], 1.0325**2 - 1, atol=1e-7, rtol=0)
    np.testing.assert_allclose(row["accrued_interest"], 1.4375, atol=1e-12, rtol=0)
    np.testing.assert_allclose(row["full_price"], 95.04287 + 1.4375, atol=1e-12, rtol=0)
    assert row["balance"] == 100.0
    assert "compounded semiannually" in s.attrs["conventions"]["yield"]
    assert "30/360" in s.attrs["conventions"]["yield"]
    assert "2008-02-15" in s.attrs["conventions"]["yield"]


def test_accrued_interest_after_the_first_payment_date_cfa_example() -> None:
    """Adams & Smith (2019): 4.375% semiannual, 30/360, 15 May -> 27 June = 42/180 of 2.1875."""
    r = bond_run(0.04375, dt.date(2014, 11, 15), dt.date(2024, 11, 15))
    st = r.settle(dt.date(2015, 6, 27))
    assert st.first == 1  # the 15 May 2015 payment belongs to the seller
    assert st.accrual_start == dt.date(2015, 5, 15)
    np.testing.assert_allclose(st.accrued_pct[0], 0.510417, atol=5e-7, rtol=0)
    np.testing.assert_allclose(st.times[0], 138 / 360, rtol=1e-15)  # 27 June -> 15 Nov, 30/360


def test_settlement_on_a_payment_date_drops_it_and_accrues_nothing() -> None:
    r = bond_run(0.06, dt.date(2010, 1, 15), dt.date(2012, 1, 15))
    st = r.settle(dt.date(2010, 7, 15))
    assert st.first == 1 and st.accrued_pct[0] == 0.0
    np.testing.assert_allclose(st.times, [0.5, 1.0, 1.5], rtol=1e-15)
    # At its own coupon, semiannually, a bullet bond is at par on a coupon date.
    p = r.prices_from_yields({"bond": 0.06}, compounding=2, settlement=dt.date(2010, 7, 15))
    np.testing.assert_allclose(p["price"].iloc[0], 100.0, atol=1e-10)


def test_price_and_yield_are_inverse_at_any_settlement() -> None:
    r = bond_run(0.05, dt.date(2010, 3, 1), dt.date(2015, 3, 1), day_count="ACT/365F")
    for day in (dt.date(2010, 3, 1), dt.date(2011, 6, 17), dt.date(2014, 12, 31)):
        p = r.prices_from_yields({"bond": 0.071}, compounding=12, settlement=day)
        clean = float(p["price"].iloc[0])
        y = r.yields({"bond": clean}, compounding=12, settlement=day)["bond"].yield_
        np.testing.assert_allclose(y, [0.071], atol=1e-11, rtol=0)


def test_settlement_errors_and_nothing_left() -> None:
    r = bond_run(0.05, dt.date(2010, 3, 1), dt.date(2012, 3, 1))
    with pytest.raises(SpecError, match="before closing"):
        r.summary(settlement=dt.date(2010, 2, 1))
    with pytest.raises(SpecError, match="delay_days"):
        r.summary(delay_days=-1)
    s = r.summary(settlement=dt.date(2012, 3, 1))
    assert s["yield"].isna().all()
    assert (s["yield_reason"] == "no payment after settlement").all()


_BOND = bond_run(0.05, dt.date(2010, 3, 1), dt.date(2015, 3, 1), day_count="ACT/365F")


@settings(max_examples=40, deadline=None)
@given(
    day=st.dates(min_value=dt.date(2010, 3, 1), max_value=dt.date(2015, 2, 27)),
    y=st.floats(min_value=-0.05, max_value=0.4),
    m=st.sampled_from([1, 2, 4, 12, 0]),
)
def test_price_yield_round_trip_property(day: dt.date, y: float, m: int) -> None:
    """At any settlement, yield -> clean price -> yield returns the yield, and full price is
    clean price plus accrued interest by ACT/365F from the last coupon date."""
    p = _BOND.prices_from_yields({"bond": y}, compounding=m, settlement=day).iloc[0]
    st_ = _BOND.settle(day)
    last = st_.accrual_start
    np.testing.assert_allclose(
        p["accrued_interest"], 100 * 0.05 * (day - last).days / 365, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(p["full_price"], p["price"] + p["accrued_interest"], rtol=1e-14)
    back = _BOND.yields({"bond": float(p["price"])}, compounding=m, settlement=day)["bond"]
    np.testing.assert_allclose(back.yield_, [y], atol=1e-9, rtol=0)
