"""Small deals worked period by period by hand.

Pool (unless stated): 1,000 equal-principal at 12% over four months — principal 250 a
month, interest 10, 7.5, 5, 2.5.  Notes: senior 600 at 6% (0.5% a month), mezzanine
200 at 12% (1% a month), equity the remaining 200.  30/360, monthly: every accrual
period is exactly 1/12 of a year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from support.deals import BULLET, tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine import curves
from abs_engine.deal import Coupon, Reserve, Tranche, run

SEN, MEZ, EQ = 0, 1, 2


def close(a: object, b: object) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=0, atol=1e-9
    )


def test_sequential(pool4: ae.Cohorts) -> None:
    """Interest: senior 600x0.5% = 3, mezzanine 200x1% = 2, residual 10-5 = 5; principal 250 to the
    senior (350 left).  Period 2: 1.75 + 2, residual 3.75, senior 100 left.  Period 3: senior 0.5,
    mezzanine 2, residual 2.5; principal pays the senior's 100 and 150 of the mezzanine.
    Period 4: mezzanine 0.5, residual 2; principal 50 to the mezzanine, 200 to equity."""
    r = run(tiny_deal(), pool4)
    t = r.tranche
    close(t["interest_paid"][0, SEN], [3, 1.75, 0.5, 0])
    close(t["interest_paid"][0, MEZ], [2, 2, 2, 0.5])
    close(t["residual"][0, EQ], [5, 3.75, 2.5, 2])
    close(t["principal_paid"][0, SEN], [250, 250, 100, 0])
    close(t["principal_paid"][0, MEZ], [0, 0, 150, 50])
    close(t["principal_paid"][0, EQ], [0, 0, 0, 200])
    close(t["end_balance"][0, :, -1], [0, 0, 0])
    r.check_conservation(tol=1e-12)


def test_pro_rata(pool4: ae.Cohorts) -> None:
    """Principal 250 split 600:200 = 187.5 and 62.5 each period until the last 50."""
    r = run(
        tiny_deal(principal=["pro_rata:senior,mezzanine", "principal:equity", "residual"]), pool4
    )
    t = r.tranche
    close(t["principal_paid"][0, SEN], [187.5, 187.5, 187.5, 37.5])
    close(t["principal_paid"][0, MEZ], [62.5, 62.5, 62.5, 12.5])
    # Period 2 interest: senior 412.5 x 0.5% = 2.0625, mezzanine 137.5 x 1% = 1.375.
    close(t["interest_paid"][0, :2, 1], [2.0625, 1.375])
    close(t["residual"][0, EQ], [5, 4.0625, 3.125, 2.1875])


def test_interest_shortfall_carried() -> None:
    """Pool at 6% (interest 5, 3.75, 2.5, 1.25); mezzanine coupon 30% (2.5% a month, deferrable).
    P1: senior 3, mezzanine due 5 gets 2, 3 carried.  P2: senior 1.75, mezzanine owes 5+3 = 8,
    gets 2, 6 carried.  P3: senior 0.5, owes 5+6 = 11, gets 2, 9 carried.  P4: owes 50x2.5% + 9 =
    10.25, gets 1.25 from revenue; the principal waterfall then pays its 50, its 9 of deferred
    interest, and 191 to equity."""
    tranches = (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.06)),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.30)),
        Tranche("equity", "equity"),
    )
    deal = tiny_deal(
        tranches,
        principal=[
            "principal:senior",
            "principal:mezzanine",
            "interest:mezzanine",
            "principal:equity",
            "residual",
        ],
    )
    r = run(deal, tiny_pool(rate=0.06))
    t = r.tranche
    close(t["interest_due"][0, MEZ], [5, 5, 5, 1.25])
    close(t["interest_paid"][0, MEZ], [2, 2, 2, 1.25 + 9])
    close(t["interest_shortfall"][0, MEZ], [3, 6, 9, 0])
    close(t["principal_paid"][0, EQ], [0, 0, 0, 191])
    close(t["residual"][0, EQ], [0, 0, 0, 0])
    r.check_conservation(tol=1e-12)


def test_reserve_draw_and_replenish() -> None:
    """Six-month bullet of 1,000 at 12% (interest 10 a month, principal at month 6).  Senior coupon
    30% (15 a month) for two periods, then 6% from the accrual period starting 25 April (3 a
    month); mezzanine 6% (1 a month).  Reserve:
    initial 16 = target 2% of the rated notes (800); it covers senior interest.
    P1: senior gets 10 + a draw of 5 (reserve 11); mezzanine 1 deferred.  P2: 10 + 5 (reserve 6);
    mezzanine owes 2.  P3: senior 3, mezzanine 3, 4 tops up the reserve (10).  P4: senior 3,
    mezzanine 1, 6 tops up (16).  P5: senior 3, mezzanine 1, residual 6.  P6: the same, principal
    repays the notes, and the reserve's 16 goes to equity."""
    tranches = (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.30, ((dt.date(2020, 4, 25), 0.06),))),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.06)),
        Tranche("equity", "equity"),
    )
    deal = tiny_deal(
        tranches,
        interest=["interest:senior", "interest:mezzanine", "reserve", "residual"],
        reserve=Reserve(initial=0.016, target=0.02, basis="notes", covers=("interest:senior",)),
    )
    r = run(deal, tiny_pool(kind=BULLET, term=6))
    a = r.account
    close(a["reserve_draw"][0], [5, 5, 0, 0, 0, 0])
    close(a["reserve_deposit"][0], [0, 0, 4, 6, 0, 0])
    close(a["reserve_end"][0], [11, 6, 10, 16, 16, 0])
    close(r.tranche["interest_paid"][0, SEN], [15, 15, 3, 3, 3, 3])
    close(r.tranche["interest_paid"][0, MEZ], [0, 0, 3, 1, 1, 1])
    close(r.tranche["residual"][0, EQ], [0, 0, 0, 0, 6, 6 + 16])
    r.check_conservation(tol=1e-12)


def test_writedown_in_reverse_seniority() -> None:
    """Three-month bullet of 1,000 at 12%, 10% MDR, severity 100%, no lag, and no excess spread
    covering defaults.  P1: 100 defaults, 900 performing pays 9 of interest; notes 1,000 exceed the collateral
    by 100, written off the equity.  P2: 90 default (810 left), equity written down 90 more
    (10 left); the equity's own write-down is not reimbursed from spread, so the residual is
    8.1 - 5 = 3.1.  P3 is the last payment date: 81 default; the spread 7.29 - 3 - 2 = 2.29
    joins the principal funds (rated notes come before the residual holder), so 731.29 repays
    the senior 600 and 131.29 of the mezzanine; the mezzanine's 68.71 and the equity's 10 are
    written down."""
    deal = tiny_deal(
        assumptions=ae.Assumptions(default=curves.mdr(0.1), severity=1.0, recovery_lag=0),
        interest=["interest:senior", "interest:mezzanine", "residual"],
    )
    r = run(deal, tiny_pool(kind=BULLET, term=3))
    t = r.tranche
    close(r.pool["default"][0], [100, 90, 81])
    close(t["writedown"][0, EQ], [100, 90, 10])
    close(t["writedown"][0, MEZ], [0, 0, 68.71])
    close(t["writedown"][0, SEN], [0, 0, 0])
    close(t["principal_paid"][0, SEN], [0, 0, 600])
    close(t["principal_paid"][0, MEZ], [0, 0, 131.29])
    close(t["residual"][0, EQ], [4, 3.1, 0])
    close(t["principal_loss"][0, :, -1], [0, 68.71, 200])
    r.check_conservation(tol=1e-12)


def test_pass_through_returns_the_pool() -> None:
    """One senior tranche of 100% at the pool's rate, no fees: it receives exactly the pool's
    principal and interest; with defaults, notes plus residual still add up to the collections."""
    tranches = (
        Tranche("notes", "senior", size=1.0, coupon=Coupon(0.12)),
        Tranche("equity", "equity"),
    )
    pool = tiny_pool(kind=0, term=12, rate=0.12)  # annuity
    r = run(tiny_deal(tranches), pool)
    close(r.tranche["principal_paid"][0, 0], r.pool["scheduled_principal"][0])
    close(r.tranche["interest_paid"][0, 0], r.pool["interest"][0])
    assert r.tranche["residual"].sum() < 1e-9
    stressed = ae.Assumptions(
        default=curves.cdr(0.3), prepay=curves.cpr(0.2), severity=0.5, recovery_lag=2
    )
    r = run(tiny_deal(tranches, assumptions=stressed), pool)
    paid = (
        r.tranche["principal_paid"].sum(axis=1)
        + r.tranche["interest_paid"].sum(axis=1)
        + r.tranche["residual"].sum(axis=1)
    )
    collections = r.account["revenue"] + r.account["principal_collections"]
    close(paid, collections)


def test_equity_only_deal_returns_everything(pool4: ae.Cohorts) -> None:
    r = run(tiny_deal((Tranche("equity", "equity", size=1.0),)), pool4)
    paid = r.tranche["principal_paid"][0, 0] + r.tranche["residual"][0, 0]
    close(paid, [260, 257.5, 255, 252.5])


def test_excess_spread_covers_defaults() -> None:
    """The same pool with the standard waterfall: what would have been residual covers the
    defaults and pays the senior down.  P1: 9 - 3 - 2 = 4 to the senior (596 left), so the
    notes (996) exceed the collateral (900) by 96.  P2: senior interest 596 x 0.5% = 2.98,
    mezzanine 2, so 8.1 - 4.98 = 3.12 pays the senior down."""
    deal = tiny_deal(
        assumptions=ae.Assumptions(default=curves.mdr(0.1), severity=1.0, recovery_lag=0)
    )
    r = run(deal, tiny_pool(kind=BULLET, term=3))
    t = r.tranche
    close(t["principal_paid"][0, SEN, :2], [4, 8.1 - 2.98 - 2])
    close(t["writedown"][0, EQ, 0], 96)
    assert t["residual"][0, EQ, :2].sum() == 0
    r.check_conservation(tol=1e-12)


def test_reserve_covers_non_deferrable_interest_by_default() -> None:
    """A mezzanine made non-deferrable is covered by the reserve like the senior: 1,000 of
    bullets at 12% pay 10 a month; senior 15 and mezzanine 1 a month are due; the reserve of
    20 covers the 6 short in period 1 (5 senior + 1 mezzanine)."""
    tranches = (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.30)),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.06), deferrable=False),
        Tranche("equity", "equity"),
    )
    deal = tiny_deal(
        tranches,
        interest=["interest:senior", "interest:mezzanine", "residual"],
        reserve=Reserve(initial=0.02, target=0.0, release_excess=False),
    )
    r = run(deal, tiny_pool(kind=BULLET, term=3))
    close(r.account["reserve_draw"][0, 0], 6.0)
    close(r.tranche["interest_shortfall"][0, MEZ, 0], 0.0)
