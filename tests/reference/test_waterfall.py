"""The reference waterfall against figures worked by hand from the rule book (docs/waterfall.md).

Every case is in :mod:`reference.cases`.  Unless stated: 30/360 with every accrual period
1/12 of a year; pool month ``p`` is collected on payment date ``p``; senior 6% (0.5% a
month), mezzanine 12% (1% a month); the equity is a note taking the rest of the pool;
severity 100% and no lag.  ``D`` is the deal's PDL, ``W`` a class's unreimbursed
write-down.  Amounts are exact decimals (the tests compare to 1e-9).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from reference import cases
from reference import waterfall as rw
from reference.spec import DATES

SEN, MEZ, EQ = 0, 1, 2


def close(a: object, b: object) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=1e-9)


def run(case: cases.Case) -> rw.Result:
    r = rw.run(case.spec, case.cohorts, case.collateral)
    assert rw.ledger_problems(r) == []
    return r


# --- item 1 ----------------------------------------------------------------------------------


def test_writedowns_are_reimbursed_senior_first() -> None:
    """Six-month bullet of 1,000 at 24%; 15% defaults in month 1, so 850 performs and pays 17 a
    month.  Senior 700, mezzanine 200, equity 100.  Standard waterfall (interest, interest,
    cover_defaults, residual; principal sequential).

    ====  =========  ==========  ======  ==================  ===============================
    P     senior     mezzanine   spread  D after cover       write-down / reinstatement
          interest   interest    (covers D)
    ====  =========  ==========  ======  ==================  ===============================
    1     3.5        2           11.5    150 - 11.5 = 138.5  senior 688.5; notes 988.5 vs
                                                             pool 850: equity -100, mezz
                                                             -38.5 (B 161.5, W 38.5)
    2     3.4425     1.615       11.9425 126.5575            surplus 850 + 11.9425 - 850:
                                                             mezz +11.9425 (W 26.5575);
                                                             senior pays 11.9425 -> 676.5575
    3     3.3827875  1.734425    11.8827875  114.6747125     mezz +11.8827875 (W 14.6747125)
    4     3.32337..  1.85325..   11.8233735625 102.85..      mezz +11.82.. (W 2.8513389375)
    5     3.26425..  1.97148..   11.7642566946875 91.08..    mezz +2.8513389375 (W 0, B 200),
                                                             equity +8.9129177571875
    6     3.20543..  2           11.7945645887859375         equity +11.79.. (B 20.707..);
                                                             pool pays 850: senior 641.087..,
                                                             mezzanine 200, equity 20.707..
    ====  =========  ==========  ======  ==================  ===============================

    The mezzanine is made whole (period 5) before the equity gets a cent, and the spread
    that cover_defaults traps for the absorbed losses goes to reinstating them.  The
    equity's final loss is 150 - all the spread (70.7074823459734375) = 79.2925176540265625,
    crystallised in period 6 (the final period of the run).
    """
    r = run(cases.reinstatement())
    t = r.tranche
    close(t["interest_paid"][MEZ], [2, 1.615, 1.734425, 1.853252875, 1.971486610625, 2])
    close(
        t["principal_paid"][SEN],
        [11.5, 11.9425, 11.8827875, 11.8233735625, 11.7642566946875, 641.0870822428125],
    )
    close(t["writedown"][MEZ], [38.5, 0, 0, 0, 0, 0])
    close(t["writedown"][EQ], [100, 0, 0, 0, 0, 0])
    close(t["reinstatement"][MEZ], [0, 11.9425, 11.8827875, 11.8233735625, 2.8513389375, 0])
    close(t["reinstatement"][EQ], [0, 0, 0, 0, 8.9129177571875, 11.7945645887859375])
    close(t["unreimbursed_writedown"][MEZ], [38.5, 26.5575, 14.6747125, 2.8513389375, 0, 0])
    close(t["principal_paid"][MEZ], [0, 0, 0, 0, 0, 200])
    close(t["principal_paid"][EQ], [0, 0, 0, 0, 0, 20.7074823459734375])
    close(t["residual"][EQ], [0] * 6)
    close([x[-1] for x in t["principal_loss"]], [0, 0, 79.2925176540265625])
    close(
        r.account["pdl"],
        [138.5, 126.5575, 114.6747125, 102.8513389375, 91.0870822428125, 79.2925176540265625],
    )
    # Identities of the rule book's output table.
    for i, face in enumerate([700, 200, 100]):
        close(sum(t["principal_paid"][i]) + sum(t["principal_loss"][i]), face)
        close(
            sum(t["writedown"][i]) - sum(t["reinstatement"][i]), t["unreimbursed_writedown"][i][-1]
        )


@pytest.mark.parametrize("loss_allocation", ["writedown", "pdl"])
def test_pro_rata_gives_way_to_rank_when_the_pdl_would_reach_the_senior(
    loss_allocation: str,
) -> None:
    """Rule book step 9: 100 over one month, 12.5 defaults (D = 12.5), 87.5 principal;
    senior 50 and mezzanine 50 pro rata.  Pro rata would pay 43.75 each and leave claims of
    6.25 + 6.25 against a PDL of 12.5: the senior would carry 6.25 of it while the mezzanine
    is paid.  So the step pays by rank: senior 50, mezzanine 37.5; the PDL (12.5) sits on
    the mezzanine alone (written down 12.5 with ``writedown``).  Month 2: the recovery of
    12.5 (severity 0) clears the PDL and repays the mezzanine (reinstated first with
    ``writedown``); no loss."""
    r = run(cases.pro_rata_with_a_pdl(loss_allocation))
    t = r.tranche
    close(t["principal_paid"][SEN], [50, 0])
    close(t["principal_paid"][MEZ], [37.5, 12.5])
    close([t["pdl"][SEN][0], t["pdl"][MEZ][0]], [0, 12.5])
    close(t["writedown"][SEN], [0, 0])
    close(t["writedown"][MEZ], [12.5 if loss_allocation == "writedown" else 0, 0])
    close(t["principal_loss"][MEZ], [0, 0])
    close(r.account["pdl"], [12.5, 0])


def test_spread_cures_the_pdl_of_a_rated_class_before_the_residual() -> None:
    """Rule book step 7 (``cure_pdl``): a 2-month bullet of 1,000 at 1% a month; 200 default
    in month 1 (D = 200); senior 900 at 0%, equity note 100, ``pdl``, no ``cover_defaults``.
    Month 1: interest 1% x 800 = 8; the PDL beyond the equity note (200 - 100 = 100) reaches
    the senior, so the 8 moves to the principal funds (D = 192) and repays the senior (892
    left): residual 0; PDL by class: equity 100, senior 92.  Month 2: interest 8 (need
    92) moves too (D = 184); the bullet's 800 + 8 repay the senior to 84, its loss; the
    equity note loses 100."""
    r = run(cases.pdl_without_cover_defaults())
    t = r.tranche
    close(t["principal_paid"][0], [8, 808])
    close(t["residual"][1], [0, 0])
    close(r.account["pdl"], [192, 184])
    close([t["pdl"][0][0], t["pdl"][1][0]], [92, 100])
    close([t["principal_loss"][0][1], t["principal_loss"][1][1]], [84, 100])


def test_no_loss_allocation_leaves_the_unpaid_balance_outstanding() -> None:
    """The same deal with ``loss_allocation = "none"``: no write-downs, the mezzanine pays
    interest on 200 throughout, so the spread is 17 - senior - 2 each period:
    11.5, 11.5575, 11.6152875, 11.6733639375, 11.7317307571875, 11.7903894109734375 (the
    senior's interest falls as the spread pays it down).  Period 6 pays senior 641.922..,
    mezzanine 200 and the equity 861.79.. - 841.92.. = 19.8682716056609375; the equity's
    80.1317283943390625 stays in end_balance and is its principal loss."""
    r = run(cases.reinstatement("none"))
    t = r.tranche
    close(np.sum(t["writedown"]), 0)
    close(t["principal_paid"][EQ], [0, 0, 0, 0, 0, 19.8682716056609375])
    close([x[-1] for x in t["end_balance"]], [0, 0, 80.1317283943390625])
    close([x[-1] for x in t["principal_loss"]], [0, 0, 80.1317283943390625])
    close(
        t["principal_paid"][SEN][:5],
        [11.5, 11.5575, 11.6152875, 11.6733639375, 11.7317307571875],
    )


# --- item 4 (and item 1: a transient write-down is not a final loss) ------------------------------


def test_pdl_nets_recoveries_and_a_transient_writedown_is_reinstated() -> None:
    """Four-month bullet of 1,000 at 24%; 10% defaults in month 1 (100), severity 50%, lag 2:
    50 is recovered in month 3.  900 performs and pays 18 a month.

    P1: spread 18 - 3.5 - 2 = 12.5 covers D (100 -> 87.5) and pays the senior (687.5);
    notes 987.5 vs pool 900: the equity is written down 87.5 (B 12.5).
    P2: spread 18 - 3.4375 - 2 = 12.5625: D 74.9375; the equity is reinstated 12.5625.
    P3: the recovery 50 is principal and credits the PDL: D = 74.9375 - 50 = 24.9375; the
    spread 18 - 3.3746875 - 2 = 12.6253125 covers D (12.3121875 left); principal funds
    62.6253125 reinstate the equity as much (W 12.3121875) and pay the senior (612.3121875).
    Notes = 612.31.. + 200 + 87.69.. = 900 = performing pool: never below it.
    P4: spread 18 - 3.0615609375 - 2 = 12.9384390625: D 12.3121875 is covered, 0.6262515625
    is residual; the pool's 900 + 12.3121875 reinstates the equity's last 12.3121875 and
    repays every class in full.  No principal loss: the period-1 write-down was transient.
    Periods 5-6 (lag 2) carry nothing, so the run ends after period 4.
    """
    r = run(cases.recoveries())
    t = r.tranche
    assert r.n_periods == 4
    close(r.account["pdl"], [87.5, 74.9375, 12.3121875, 0])
    close(t["writedown"][EQ], [87.5, 0, 0, 0])
    close(t["reinstatement"][EQ], [0, 12.5625, 62.6253125, 12.3121875])
    close(t["principal_paid"][SEN], [12.5, 12.5625, 62.6253125, 612.3121875])
    close(t["principal_paid"][EQ], [0, 0, 0, 100])
    close(t["residual"][EQ], [0, 0, 0, 0.6262515625])
    close(np.sum(t["principal_loss"]), 0)
    notes = np.sum(t["end_balance"], axis=0)
    assert np.all(notes[:3] >= np.array([900, 900, 900]) - 1e-9)


# --- item 2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("with_cover_defaults", [True, False])
def test_reserve_joins_revenue_on_the_last_payment_date(with_cover_defaults: bool) -> None:
    """Three-month bullet of 1,000 at 12%; 20% defaults in month 3 (200).  Reserve 50 (5% of the
    pool; target 5% of the pool: no release before the end).

    P1, P2: 10 - 3.5 - 2 = 4.5 residual.  P3, the last payment date: the reserve's 50 joins
    revenue (target 0): 8 + 50 - 3.5 - 2 = 52.5, which cover_defaults (or, without that step,
    the last-date diversion of the residual) moves to the principal funds: 800 + 52.5 pays
    the senior 700 and the mezzanine 152.5; the mezzanine loses 47.5, the equity 100, and the
    equity receives nothing in period 3."""
    r = run(cases.reserve_at_the_end(with_cover_defaults))
    t, a = r.tranche, r.account
    close(a["reserve_funding"], [50, 0, 0])
    close(a["reserve_release"], [0, 0, 50])
    close(a["reserve_target"], [50, 50, 0])
    close(a["reserve_end"], [50, 50, 0])
    close(t["residual"][EQ], [4.5, 4.5, 0])
    close(t["principal_paid"][MEZ], [0, 0, 152.5])
    close([x[-1] for x in t["principal_loss"]], [0, 47.5, 100])


def test_full_redemption_pays_the_reserve_to_the_residual_holder() -> None:
    """Equal principal 1,000 at 12% over 5 months (principal 200, interest 10, 8, 6, 4, 2);
    senior 600, mezzanine 200, equity 200; reserve 20, target 2% of the rated notes at the start
    of the period (floor 5).  The 2-month recovery lag makes the horizon 7 periods, but with
    nothing to recover the scenario ends on payment date 5 (pool repaid, no later collection).

    P1: target 16, release 4: 14 - 3 - 2 = 9 residual.  P2: target 12, release 4:
    12 - 2 - 2 = 8.  P3: target 8, release 4: 10 - 1 - 2 = 7 (the senior is repaid).  P4:
    target max(2% x 200, 5) = 5, release 3: 7 - 2 = 5 residual; principal repays the
    mezzanine's 200; no rated claim is left and P4 is not the last payment date, so the
    reserve's 5 goes to the residual holder (reported with the releases): residual 5 + 5 =
    10.  P5, the last payment date (the end): no reserve left (target 0); the revenue 2 is
    diverted while the equity note has a claim and paid as principal residual after its 200.
    """
    r = run(cases.full_redemption())
    a = r.account
    assert r.n_periods == 5
    close(a["reserve_target"], [16, 12, 8, 5, 0])
    close(a["reserve_release"], [4, 4, 4, 3 + 5, 0])
    close(a["reserve_end"], [16, 12, 8, 0, 0])
    close(r.tranche["residual"][EQ], [9, 8, 7, 10, 2])
    close(r.tranche["principal_paid"][EQ], [0, 0, 0, 0, 200])
    close(a["interest_after_fees"], [10, 8, 6, 4, 2])


# --- item 3 ----------------------------------------------------------------------------------


def test_pari_passu_classes_share_losses_pro_rata() -> None:
    """Four-month bullet of 1,000 at 24%, 25% defaults in month 1: 750 performs, paying 15 a month.
    A 600 at 6% (rank 1); B1 150 at 12% and B2 50 at 24% (rank 2, pari passu); equity 200.

    P1: interest A 3, B1 1.5, B2 1 -> spread 9.5 covers D (250 -> 240.5) and pays A (590.5).
    Notes 990.5 vs 750: the equity loses 200; rank 2 loses 40.5 pro rata to 150:50 -> B1
    30.375, B2 10.125.  Class PDL (junior first, on claims): equity 200, B1 30.375, B2 10.125.
    P2: interest 2.9525 + 1.19625 + 0.7975 = 4.94625; spread 10.05375 reinstates rank 2 pro
    rata to W (3:1): B1 7.5403125, B2 2.5134375.
    P3: interest 2.90223125 + 1.271653125 + 0.84776875; spread 9.978346875: B1 7.48376015625,
    B2 2.49458671875.
    P4: interest 2.852339515625 + 1.3464907265625 + 0.897660484375; spread 9.9035092734375:
    B1 7.427631955078125, B2 2.475877318359375; the pool's 750 + 9.90.. repays A and B1, B2.
    Final losses: B1 7.923295388671875 (5.2822% of 150), B2 2.641098462890625 (5.2822% of
    50): equal shares of their faces; equity 200."""
    r = run(cases.pari_passu())
    t = r.tranche
    A, B1, B2, E = 0, 1, 2, 3
    close(t["writedown"][B1], [30.375, 0, 0, 0])
    close(t["writedown"][B2], [10.125, 0, 0, 0])
    close(t["pdl"][B1][0], 30.375)
    close(t["pdl"][B2][0], 10.125)
    close(t["pdl"][E][0], 200)
    close(t["reinstatement"][B1], [0, 7.5403125, 7.48376015625, 7.427631955078125])
    close(t["reinstatement"][B2], [0, 2.5134375, 2.49458671875, 2.475877318359375])
    close(t["interest_paid"][B2], [1, 0.7975, 0.84776875, 0.897660484375])
    close(t["principal_paid"][A], [9.5, 10.05375, 9.978346875, 570.467903125])
    loss = [x[-1] for x in t["principal_loss"]]
    close(loss, [0, 7.923295388671875, 2.641098462890625, 200])
    close(loss[B1] / 150, loss[B2] / 50)


def test_pari_passu_interest_is_paid_pro_rata_to_what_is_owed() -> None:
    """Two-month bullet at 6%: 5 a month.  A takes 3; B1 (owed 1.5) and B2 (owed 1) share 2:
    1.2 and 0.8, short 0.3 and 0.2.  P2 (last): revenue pays 1.2 and 0.8 again (owed 1.8 and
    1.2); the principal waterfall repays A and B, then pays the arrears 0.6 and 0.4 pro rata,
    then the equity 200 - 1 = 199."""
    r = run(cases.pari_passu_interest_short())
    t = r.tranche
    close(t["interest_paid"][1], [1.2, 1.8])
    close(t["interest_paid"][2], [0.8, 1.2])
    close(t["interest_shortfall"][1], [0.3, 0])
    close(t["interest_shortfall"][2], [0.2, 0])
    close(t["principal_paid"][3], [0, 199])


# --- item 5 ----------------------------------------------------------------------------------


def test_ic_excludes_reserve_releases() -> None:
    """Equal principal 1,000 at 12% over 4 months; senior 600, mezzanine 200, equity 200; reserve
    100 released down to 2% of the rated notes; principal pro rata until the mezzanine's IC
    (level 2.5) fails.

    P1: IC = (10 collections - 0 fees) / (3 + 2) = 2.0 < 2.5: breached (the 84 released does
    not count; with it the ratio would be 18.8).  Principal pro rata: 187.5 / 62.5.  P2
    (sequential): the senior takes all 250 (162.5 left).  P3: 162.5 to the senior, 87.5 to the
    mezzanine.  P4 (last): the reserve's 6 joins revenue; 8.5 - 0.5 = 8 is diverted and paid
    out as principal residual.  Residuals 94 - 5 = 89, 12.5 - 3.4375 = 9.0625, 10 - 2.1875 =
    7.8125, 8."""
    r = run(cases.ic_without_reserve())
    close(r.account["interest_after_fees"], [10, 7.5, 5, 2.5])
    assert r.trigger[0][:3] == [True, True, True]
    close(r.tranche["principal_paid"][SEN], [187.5, 250, 162.5, 0])
    close(r.tranche["principal_paid"][MEZ], [62.5, 0, 87.5, 50])
    close(r.tranche["residual"][EQ], [89, 9.0625, 7.8125, 8])


# --- item 6 ----------------------------------------------------------------------------------


def test_clean_up_call_with_accrued_interest_and_the_reserve() -> None:
    """Equal principal 1,000 at 12% over 10 months (100 a month); call at 35% of the pool.
    Reserve 10, kept (no release).  P1..P6: senior repaid 100 a month; residual 4.5, 4, 3.5, 3,
    2.5, 2.  P7: the pool falls to 300 <= 350; proceeds 300 + accrued interest = September's
    interest 3 x 25 days (31 Aug -> 25 Sep) / 30 days = 2.5, so 302.5; with the period's 100
    and the reserve they cover the rated claims (100 + 200): called.  The reserve's 10 joins
    revenue: 4 + 10 - 0.5 - 2 = 11.5, diverted to principal funds (last payment date): 414 pays
    senior 100, mezzanine 200, equity 100 and 14 of residual.  Nothing follows."""
    r = run(cases.call_with_reserve())
    assert r.n_periods == 7
    close(r.pool["sale"], [0] * 6 + [302.5])
    close(r.tranche["residual"][EQ], [4.5, 4, 3.5, 3, 2.5, 2, 14])
    close(r.tranche["principal_paid"][EQ], [0] * 6 + [100])
    close(r.account["reserve_release"], [0] * 6 + [10])
    close(r.account["reserve_target"][-1], 0)


@pytest.mark.parametrize(
    ("defaulted_price", "equity_principal", "equity_loss", "pdl"),
    [
        (None, [54.8075, 0, 25.0], 20.1925, [47.4425, 47.4425, 22.4425]),
        (0.4, [74.8075], 25.1925, [27.4425]),
    ],
)
def test_clean_up_call_and_the_defaulted_receivables(
    defaulted_price: float | None,
    equity_principal: list[float],
    equity_loss: float,
    pdl: list[float],
) -> None:
    """Equal principal 1,000 at 12% over 10 months; 10% defaults in month 6 (50, severity 50%,
    lag 3: 25 recovered in month 9).  Call at 35%.

    P6: default 50: D 50; spread 4.5 - 1 - 2 = 1.5 covers it (D 48.5); principal 91.5 to the
    senior (108.5); notes 408.5 vs pool 360: the equity is written down 48.5.
    P7: pool 270 <= 350; accrued interest 2.7 x 25/30 = 2.25.
    Without defaulted_price: proceeds 272.25; the spread 3.6 - 0.5425 - 2 = 1.0575 covers D
    (47.4425); principal funds 90 + 272.25 + 1.0575 = 363.3075 reinstate the equity 3.3075
    (0 pool left after the sale) and pay 108.5, 200 and 54.8075.  P9: the recovery of 25
    still arrives (principal; D 22.4425), reinstates the equity and pays it 25.  Nothing can
    arrive after month 9: the scenario ends on P9 (not the horizon, 13 = 10 months + lag 3)
    and the loss 20.1925 crystallises there.
    With defaulted_price 0.4: proceeds + 0.4 x 50 = 292.25: the equity is paid 74.8075 on the
    call date and nothing arrives later, so the scenario ends on the call date; loss
    25.1925 crystallised on P7.  READING: what the defaulted
    receivables fetch (20) is their recovery and credits the PDL like one: 47.4425 - 20 =
    27.4425."""
    r = run(cases.call_with_recoveries(defaulted_price))
    t = r.tranche
    assert r.n_periods == (9 if defaulted_price is None else 7)
    close(t["writedown"][EQ][5], 48.5)
    close(t["principal_paid"][SEN][6], 108.5)
    close(t["principal_paid"][MEZ][6], 200)
    close(t["principal_paid"][EQ][6:9], equity_principal)
    close(r.pool["recovery"][6:], [0, 0, 25] if defaulted_price is None else [0])
    close(t["principal_loss"][EQ][-1], equity_loss)
    close(r.account["pdl"][6:9], pdl)


def test_after_the_call_the_trust_keeps_only_the_defaults_it_had() -> None:
    """The same deal with the curve defaulting 10% again in month 8, after the call: those are
    receivables the trust sold on payment date 7.  Its recoveries are the month-6 default's
    only (25 in month 9); nothing arrives in month 11.  The month-8 default does show in
    the call price: the accrued interest is month 8's projected interest, (270 - 27) x 1%
    x 25/30 = 2.025 (READING: "the next collection period's interest"), 0.225 less than
    without it, so the equity loses 20.1925 + 0.225 = 20.4175."""
    r = run(cases.call_with_recoveries(later_default=True))
    assert r.n_periods == 9  # the scenario ends with the last recovery of what it kept
    close(r.pool["recovery"][6:], [0, 0, 25])
    close(r.pool["default"][6:], [0] * 3)
    close(r.pool["sale"][6], 270 + 2.025)
    close(r.tranche["principal_loss"][EQ][-1], 20.4175)


def test_defaulted_sale_credits_the_pdl_whatever_the_recoveries_go_to() -> None:
    """With recoveries_to = "interest" the 20 the defaulted receivables fetch still reaches the
    principal funds with the call proceeds (rule book step 3), so it credits the PDL as a
    principal recovery would (READING): otherwise cover_defaults could trap revenue again
    for a loss already recovered.  Cash flows are those of the principal case."""
    r = run(cases.call_with_recoveries(0.4, recoveries_to="interest"))
    close(r.account["pdl"][6:], [27.4425])
    close(r.tranche["principal_paid"][EQ][6], 74.8075)


def test_a_call_that_sells_the_whole_pool_ends_the_scenario() -> None:
    """Rule book, "End of a scenario" and step 14.  Equal principal 1,000 at 12% over 10 months
    (100 a month); 10% defaults in month 6 (50, severity 100%, no lag: nothing to recover);
    trustee fee 12 a year (1 a period); senior 700, mezzanine 200, equity 100; call at 35%.

    P1..P5: revenue 10, 9, 8, 7, 6 pays the fee 1, the senior 3.5, 3, 2.5, 2, 1.5 and the
    mezzanine 2: residual 3.5, 3, 2.5, 2, 1.5; the senior is repaid to 200.
    P6: default 50 (D 50); revenue 1% x 450 = 4.5: fee 1, senior 1, mezzanine 2, spread 0.5
    covers D (49.5); principal 90 + 0.5 to the senior (109.5); notes 409.5 vs pool 360: the
    equity is written down 49.5 (B 50.5).
    P7: pool 270 <= 350: proceeds 270 + accrued interest 2.7 x 25/30 = 2.25, 272.25; called.
    The whole pool is sold and nothing can arrive later: the scenario ends here (the horizon
    is 10).  Revenue 3.6: fee 1, senior 0.5475, mezzanine 2, spread 0.0525 covers D
    (49.4475); principal funds 90 + 272.25 + 0.0525 = 362.3025 reinstate the equity 2.3025
    (B 52.8025, W 47.1975) and repay 109.5, 200 and 52.8025.  The equity's W, 47.1975,
    crystallises on P7 (face 100 = 52.8025 paid + 47.1975 lost), and the trustee fee falls
    due seven times: never after the end, although the equity's write-down is a claim.
    """
    r = run(cases.call_sells_everything())
    t = r.tranche
    assert r.n_periods == 7
    close(r.fee["due"][0], [1] * 7)
    close(r.fee["unpaid"][0], [0] * 7)
    close(r.pool["sale"], [0] * 6 + [272.25])
    close(t["residual"][EQ], [3.5, 3, 2.5, 2, 1.5, 0, 0])
    close(t["writedown"][EQ], [0] * 5 + [49.5, 0])
    close(t["reinstatement"][EQ], [0] * 6 + [2.3025])
    close(t["principal_paid"][SEN][5:], [90.5, 109.5])
    close(t["principal_paid"][EQ], [0] * 6 + [52.8025])
    close(t["principal_loss"][EQ], [0] * 6 + [47.1975])
    close(t["unreimbursed_writedown"][EQ][-1], 47.1975)
    close(r.account["pdl"][5:], [49.5, 49.4475])


def test_a_call_that_leaves_recoveries_is_the_last_payment_date() -> None:
    """Rule book step 4: the call date is the last payment date; the scenario ends after the last
    recovery of the defaulted receivables the trust keeps.  The deal of
    ``test_clean_up_call_and_the_defaulted_receivables`` (no defaulted_price) with a reserve of
    1% of the pool (10), kept, target 1% of the pool at the start of the collection period.

    P1..P6: target 10, 9, 8, 7, 6, 5; the reserve stays 10 (no release).  P6 as before: D
    48.5, the equity written down 48.5.  P7 (call, the last payment date): target 0, the
    reserve's 10 joins the revenue: 3.6 + 10 - 0.5425 - 2 = 11.0575 covers D (37.4425);
    principal funds 90 + 272.25 + 11.0575 = 373.3075 reinstate the equity 13.3075 (W 35.1925)
    and repay 108.5, 200 and 64.8075.  P8: nothing arrives, no reserve (target 0).  P9: the
    recovery 25 (principal) credits D (12.4425), reinstates the equity and pays it 25; nothing
    can arrive later, so the scenario ends on P9 (not on the horizon, 13): the equity's W,
    10.1925, crystallises there (100 = 64.8075 + 25 + 10.1925)."""
    r = run(cases.call_leaves_recoveries())
    t, a = r.tranche, r.account
    assert r.n_periods == 9
    close(a["reserve_target"], [10, 9, 8, 7, 6, 5, 0, 0, 0])
    close(a["reserve_release"], [0] * 6 + [10, 0, 0])
    close(a["reserve_end"], [10] * 6 + [0, 0, 0])
    close(a["pdl"][5:], [48.5, 37.4425, 37.4425, 12.4425])
    close(t["reinstatement"][EQ][6:], [13.3075, 0, 25])
    close(t["principal_paid"][EQ][6:], [64.8075, 0, 25])
    close(t["principal_loss"][EQ], [0] * 8 + [10.1925])


@pytest.mark.parametrize("loss_allocation", ["pdl", "none"])
def test_a_pool_repaid_and_recovered_before_the_horizon_ends_the_scenario(
    loss_allocation: str,
) -> None:
    """Rule book, "End of a scenario", steps 4 and 14.  A 3-month bullet of 1,000 at 12%; 20%
    defaults in month 1 (200), severity 50%, lag 1: 100 recovered in month 2; the horizon is 4
    (3 months + lag 1) but nothing can arrive in month 4.  Senior 700, mezzanine 200, equity
    100; reserve 50 (5% of the pool), kept until the last payment date.

    P1: D 200; revenue 1% x 800 = 8: senior 3.5, mezzanine 2, cover_defaults 2.5 (D 197.5)
    repays the senior (697.5).  P2: the recovery 100 credits D (97.5); revenue 8 - 3.4875 - 2
    = 2.5125 covers D (94.9875); 102.5125 repays the senior (594.9875).  P3: the bullet pays
    800, the pool is 0 and month 4 can bring nothing: the scenario ends, P3 is the last
    payment date and the reserve's 50 joins the revenue: 58 - 2.9749375 - 2 = 53.0250625
    covers D (41.9624375); 853.0250625 repays the senior, the mezzanine and 58.0375625 of the
    equity, whose 41.9624375 left is its loss on P3: written down with ``pdl``, left in
    end_balance with ``none``.  (Run to the horizon, P3 would not be the last payment date:
    full redemption would pay the reserve's 50 to the residual holder, and the equity would
    lose 91.9624375 on an empty P4.)"""
    r = run(cases.repaid_and_recovered_early(loss_allocation))
    t, a = r.tranche, r.account
    assert r.n_periods == 3
    close(a["reserve_release"], [0, 0, 50])
    close(a["reserve_end"], [50, 50, 0])
    close(a["pdl"], [197.5, 94.9875, 41.9624375])
    close(t["principal_paid"][SEN], [2.5, 102.5125, 594.9875])
    close(t["principal_paid"][MEZ], [0, 0, 200])
    close(t["principal_paid"][EQ], [0, 0, 58.0375625])
    close(t["principal_loss"][EQ], [0, 0, 41.9624375])
    pdl = loss_allocation == "pdl"
    close(t["writedown"][EQ], [0, 0, 41.9624375 if pdl else 0])
    close(t["end_balance"][EQ], [100, 100, 0 if pdl else 41.9624375])


def test_pass_through_call_with_an_exact_redemption() -> None:
    """Equal principal 1,000 over 4 months, 8.35% SMM: month 1 pays 250 + 8.35% x 750 =
    62.625 (687.375 left); month 2 687.375/3 = 229.125 + 8.35% x 458.25 = 38.263875
    (419.986125 left); month 3 419.986125/2 = 209.9930625 + 8.35% x 209.9930625 =
    17.53442071875 (192.45864178125 left <= 30% of 1,000).  The notes (100% of the pool, senior claim
    419.986125 at the start of period 3) are redeemed exactly by the proceeds 192.458.. and
    the period's 227.527..: the call is exercised (a redemption to the last cent is one,
    whatever the float rounding of the sum)."""
    r = run(cases.pass_through_call())
    assert r.n_periods == 3
    close(r.pool["sale"], [0, 0, 192.45864178125])
    close(r.tranche["principal_paid"][0], [312.625, 267.388875, 419.986125])


# --- item 7 ----------------------------------------------------------------------------------


def test_no_call_once_nothing_is_left_to_redeem() -> None:
    """Rule book step 3: the call needs a note or write-down outstanding.  Equal principal
    1,000 at 10% a month over 8 months (principal 125, interest 100, 87.5, ..., 12.5);
    senior 1,000 at 0%, no equity note; call at 30% (300) and price 0.97.
    Turbo (revenue pays senior principal): the senior is repaid 225, 212.5, 200, 187.5, 175
    in months 1-5 (100 + 125, 87.5 + 125, ...).  The pool is 375 after month 5 (no call) and
    250 after month 6, but nothing is outstanding: no call, no sale at 0.97; the residual
    holder collects 37.5 + 125, 25 + 125, 12.5 + 125 in months 6-8.
    Without turbo the senior still owes 375 at payment date 6: the call is exercised there,
    the pool is sold for 0.97 x 250 = 242.50 plus accrued interest, and the run ends."""
    r = run(cases.call_after_the_notes())
    t = r.tranche
    close(t["principal_paid"][0], [225, 212.5, 200, 187.5, 175, 0, 0, 0])
    close(t["residual"][1], [0, 0, 0, 0, 0, 162.5, 150, 137.5])
    close(r.pool["sale"], [0] * 8)
    called = run(cases.call_after_the_notes(turbo=False))
    assert len(called.dates) == 6
    close(called.tranche["principal_paid"][0][:5], [125] * 5)
    assert called.pool["sale"][5] >= 0.97 * 250


def test_revolving_purchases_meet_a_calendar_shock() -> None:
    """Equal principal 1,000 at 12% over 2 months; the principal of periods 1 and 2 (500 each)
    buys 6-month bullets at 12%; a period-indexed default curve: 10% in calendar month 6 only.

    The purchase of period 1 (months 2-7) meets month 6 in its own month 5, the purchase of
    period 2 (months 3-8) in its month 4: both lose 50 in month 6 (revenue 9, not 10).
    P6: spread 9 - 3.5 - 2 = 3.5 covers D (96.5 left) and pays the senior (696.5); notes
    996.5 vs pool 900: the equity is written down 96.5.  P7: the first purchase repays 450;
    spread 9 - 3.4825 - 2 = 3.5175 reinstates the equity (W 92.9825) and, with the 450, pays
    the senior (242.9825).  P8: 450 + 1.2850875 of spread repay the senior and the mezzanine
    and 8.3025875 of the equity; equity loss 91.6974125."""
    r = run(cases.revolving_shock())
    close(r.account["purchase_cash"], [500, 500, 0, 0, 0, 0, 0, 0])
    close(r.pool["default"], [0, 0, 0, 0, 0, 100, 0, 0])
    close(r.pool["interest"], [10, 10, 10, 10, 10, 9, 9, 4.5])
    close(r.tranche["writedown"][EQ], [0, 0, 0, 0, 0, 96.5, 0, 0])
    close(r.tranche["principal_paid"][SEN], [0, 0, 0, 0, 0, 3.5, 453.5175, 242.9825])
    close(r.tranche["principal_loss"][EQ][-1], 91.6974125)


def test_a_purchase_premium_is_paid_from_spread_before_the_residual() -> None:
    """Equal principal 1,000 at 12% over 2 months; senior 1,000 at 0%, no equity note.
    P1: the principal 500 would buy 500 / 1.02 = 490.19607843.. of bullets, leaving the
    collateral 500 + 490.196.. = 990.196.. below the senior's 1,000.  The rated claims come
    before the residual (READING of issue 10, item 1): the par need 1,000 - 990.196.. =
    9.80392.. costs 9.80392.. x 1.02 = 10.00 of cash at the purchase price, which is the
    whole revenue (interest 10): residual 0; the principal funds 510 buy exactly 500 of
    bullets; nothing is written down.
    P2 (revolving over): revenue 5 + 5 (1% of the bullets) = 10 and the collateral (500
    performing + 500 principal) covers the senior: residual 10; the senior is repaid 500.
    P3 (last): the bullets pay 500 and 5 of interest; on the last payment date the revenue
    is diverted while the senior has a claim, the senior is repaid and the 5 left is
    principal residual.  No write-down, no loss, the PDL stays 0."""
    r = run(cases.premium_purchase())
    t = r.tranche
    close(r.account["purchase_cash"], [510, 0, 0])
    close(r.pool["purchases"], [500, 0, 0])
    close(t["writedown"][0], [0, 0, 0])
    close(t["residual"][1], [0, 10, 5])
    close(t["principal_paid"][0], [0, 500, 500])
    close(t["principal_loss"][0], [0, 0, 0])
    close(r.account["pdl"], [0, 0, 0])


def test_a_purchase_premium_the_spread_cannot_pay_leaves_the_equity_nothing() -> None:
    """Flat fee 100 over 2 months (principal 50 and fee 1.56 a month); purchases of
    1-month zero-rate annuities at 1.02 in periods 1 and 2; senior 100 at 0%, residual-only
    equity.  Par need = rated B + W - (pool end + principal funds / 1.02); cash = need x 1.02.
    P1: need 100 - (50 + 50/1.02) = 0.98039.., cash 1.00; residual 1.56 - 1.00 = 0.56;
    the funds 51 buy 50; collateral 100 = senior: no write-down.
    P2: collections 50 + 50 = 100, revenue 1.56; need 100 - 100/1.02 = 1.96078.., cash
    2.00 > 1.56: the whole revenue moves, residual 0 (the equity receives nothing while the
    senior is short); the funds 101.56 buy 99.56862745..; the senior is written down
    100 - 99.5686.. = 0.43137254...
    P3 (last): the purchase pays 99.5686..; the senior is repaid that and loses 0.43137..."""
    r = run(cases.premium_purchase_thin_spread())
    t = r.tranche
    bought2 = 101.56 / 1.02
    close(r.account["purchase_cash"], [51, 101.56, 0])
    close(r.pool["purchases"], [50, bought2, 0])
    close(t["residual"][1], [0.56, 0, 0])
    close(t["writedown"][0], [0, 100 - bought2, 0])
    close(t["reinstatement"][0], [0, 0, 0])
    close(t["principal_paid"][0], [0, 0, bought2])
    close(t["principal_loss"][0], [0, 0, 100 - bought2])


def test_the_run_ends_when_nothing_is_left() -> None:
    """Bullet of 100 (age 3, 6 months left), 2.4% SMM: the pool pays 1% interest on 100,
    97.6, 95.2576.. and prepays 2.4% of it each month; month 6 pays the last 88.5623410917376.
    The senior is paid down by the prepayments (2.4, 2.3424, ...) and everything is repaid on
    payment date 6.  The horizon is 7 (6 months + lag 1), but period 7 has no balance, no
    claim, no reserve and no cash: the run ends after period 6, and the trustee fee (0.1 a
    month) is due six times, never for an empty period."""
    r = run(cases.repaid_before_the_horizon())
    assert r.n_periods == 6
    close(r.fee["due"][0], [0.1] * 6)
    close(r.tranche["principal_paid"][0][:2], [2.4, 2.3424])
    close([sum(x) for x in r.tranche["principal_paid"]], [40, 8.92, 51.08])
    close([x[-1] for x in r.tranche["principal_loss"]], [0, 0, 0])


# --- item 12 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accrues", "due", "short"),
    [(True, [4, 4.04, 4.0808], [2, 4.04, 6.1208]), (False, [4, 4, 4], [2, 4, 6])],
)
def test_deferred_interest_bears_interest(
    accrues: bool, due: list[float], short: list[float]
) -> None:
    """Three-month bullet at 6% (5 a month); senior 600 at 6% takes 3, the mezzanine (200 at
    24%, 4 a month) gets 2.  With deferred_interest_accrues the unpaid 2 bears 2% a month:
    P2 due 4 + 0.04, unpaid 2 + 4.04 - 2 = 4.04; P3 due 4 + 4.04 x 2% = 4.0808, unpaid
    6.1208, left in interest_shortfall at the end."""
    r = run(cases.deferred_interest(accrues))
    close(r.tranche["interest_due"][MEZ], due)
    close(r.tranche["interest_paid"][MEZ], [2, 2, 2])
    close(r.tranche["interest_shortfall"][MEZ], short)


@pytest.mark.parametrize(
    ("after", "mezz_interest", "covered", "equity_loss"),
    [
        (True, [0, 0, 0], [6.5, 6.5325, 6.5651625], 30.4023375),
        (False, [2, 2, 2], [4.5, 4.5225, 4.5451125], 36.4323875),
    ],
)
def test_junior_interest_after_the_pdl_cure(
    after: bool, mezz_interest: list[float], covered: list[float], equity_loss: float
) -> None:
    """PDL structure; three-month bullet at 12%; 5% defaults in month 1 (50): 950 pays 9.5.
    With junior_interest_after_pdl the mezzanine's interest comes after cover_defaults:
    P1: 9.5 - 3 = 6.5 covers D (43.5), nothing is left for the mezzanine (2 deferred).
    P2: 9.5 - 593.5 x 0.5% = 6.5325 (D 36.9675).  P3: 9.5 - 586.9675 x 0.5% = 6.5651625
    (D 30.4023375); the pool's 950 + 6.5651625 repay the senior and the mezzanine and
    169.5976625 of the equity, whose 30.4023375 left is crystallised.  Without the option the
    mezzanine is paid 2 a month first and cover_defaults gets 4.5, 4.5225, 4.5451125."""
    r = run(cases.junior_interest_after_pdl(after))
    close(r.tranche["interest_paid"][MEZ], mezz_interest)
    close(r.tranche["principal_paid"][SEN][:2], covered[:2])
    d = 50 - np.cumsum(covered)
    close(r.account["pdl"], d)
    close(r.tranche["principal_loss"][EQ][-1], equity_loss)
    close(np.sum(r.tranche["writedown"], axis=1), [0, 0, equity_loss])


@pytest.mark.parametrize(
    ("accrue_from", "first_fee"), [("cutoff", 12 * 55 / 360), ("closing", 1.0)]
)
def test_fee_accrues_from_the_cutoff(accrue_from: str, first_fee: float) -> None:
    """A fixed fee of 12 a year and a 1.2% servicer fee on 1,000.  From the cut-off (31 Jan) to the
    first payment date (25 Mar) is 55/360 by 30/360 (D1 = 31 -> 30; 2 x 30 - 5 = 55 days):
    12 x 55/360 = 1.8333.. each; from closing (25 Feb) 1/12: 1 each.  Later periods 1/12."""
    r = run(cases.fees_from_cutoff(accrue_from))
    close(r.fee["due"][0], [first_fee, 1, 1, 1])
    close(r.fee["due"][1], [first_fee, 0.75, 0.5, 0.25])
    close(r.account["interest_after_fees"][0], 10 - 2 * first_fee)


# --- item 13 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cutoff", "first_payment", "collects"),
    [
        (dt.date(2020, 1, 31), dt.date(2020, 3, 25), [1]),
        (dt.date(2020, 2, 29), dt.date(2020, 4, 25), [1]),
        (dt.date(2020, 1, 31), dt.date(2020, 2, 25), []),
        (dt.date(2020, 3, 1), dt.date(2020, 3, 25), []),
        (dt.date(2020, 3, 1), dt.date(2020, 4, 25), []),
    ],
)
def test_first_payment_date_collects(
    cutoff: dt.date, first_payment: dt.date, collects: list[int]
) -> None:
    """Pool month 1 is the calendar month after the cut-off's; a payment date collects the months
    that end before its own month.  A 1 March cut-off makes April pool month 1, which ends after
    25 April: the first payment date collects nothing."""
    from reference import calendar as rc

    dates = rc.payment_dates(first_payment, DATES.legal_final, 1, first_payment.day)
    assert rc.collected_months(cutoff, dates)[0] == collects
    case = cases.with_dates(cases.full_redemption(), cutoff, first_payment)
    if not collects:
        with pytest.raises(ValueError, match="collects no pool month"):
            run(case)
    else:
        close(run(case).account["revenue"][0], 10)
