"""A three-period surveillance worked by hand, to the cent.

The deal (``support.deals``: cut-off 31 Jan 2020, closing 25 Feb, payments on the
25th from March, 30/360, so every accrual period is exactly 1/12 of a year):
senior 600 at 6%, mezzanine 200 at 12%, equity 200 (a pool of 1,000), a servicer
fee of 1.2% a year on the pool at the start of each collection period, write-downs,
recoveries to principal.  Interest waterfall: servicer fee, senior interest,
mezzanine interest, cover defaults (PDL), residual; principal: senior, mezzanine,
equity, residual.

The servicer reports (grade A only)::

    month     begin  sched  prepay  default  interest  recovery  loss   end
    Feb 2020  1000    100     20      10       10         0        0    870
    Mar 2020   870    100     10      20        8.70      4        0    740
    Apr 2020   740    100      0       0        7.40      3        3    640

Period 1 (25 Mar, collects February).  Revenue 10; principal funds 120.  PDL 10.
Fee 0.012 x 1000 / 12 = 1.00; senior interest 600 x 6% / 12 = 3.00; mezzanine
200 x 12% / 12 = 2.00; 4.00 left covers the PDL (10 -> 6), principal funds 124.
Senior repaid 124 -> 476.  Notes 476 + 200 + 200 = 876 exceed the pool 870 by 6:
the equity is written down 6 -> 194.

Period 2 (25 Apr, collects March).  Revenue 8.70; principal funds 100 + 10 + 4
(recovery) = 114; PDL 6 + 20 - 4 = 22.  Fee 0.012 x 870 / 12 = 0.87; senior
476 x 0.5% = 2.38; mezzanine 2.00; 3.45 covers the PDL (22 -> 18.55), principal
funds 117.45, senior -> 358.55.  Notes 358.55 + 200 + 194 = 752.55 exceed the pool
740 by 12.55: equity -> 181.45 (written down 18.55 in all).

Period 3 (25 May, collects April).  Revenue 7.40; principal funds 103; PDL
18.55 - 3 = 15.55.  Fee 0.74; senior 358.55 x 0.5% = 1.79275; mezzanine 2.00;
2.86725 covers the PDL (-> 12.68275), principal funds 105.86725.  Before paying
principal the surplus 640 + 105.86725 - (358.55 + 200 + 181.45) = 5.86725
reinstates the equity's write-down (181.45 -> 187.31725; 12.68275 left written
down); senior -> 252.68275.  Notes then equal the pool (640): no write-down.

Defaulted balance awaiting recovery after April: 30 defaulted - 7 recovered - 3
lost = 20.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from support.deals import tiny_deal
from support.servicer import servicer_frame

import abs_engine as ae
from abs_engine.deal import Fee
from abs_engine.surveillance import surveil

MONTHS = [
    {"scheduled_principal": 100, "prepayment": 20, "default": 10, "interest": 10, "loss": 0},
    {
        "scheduled_principal": 100,
        "prepayment": 10,
        "default": 20,
        "interest": 8.7,
        "recovery": 4,
        "loss": 0,
    },
    {"scheduled_principal": 100, "interest": 7.4, "recovery": 3, "loss": 3},
]


def _deal() -> ae.Deal:
    return tiny_deal(
        fees=(Fee("servicer", "pool_pct", rate=0.012),),
        interest=[
            "fee:servicer",
            "interest:senior",
            "interest:mezzanine",
            "cover_defaults",
            "residual",
        ],
        principal=["principal:senior", "principal:mezzanine", "principal:equity", "residual"],
    )


def _close(actual: object, expected: object) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), atol=1e-9)


def test_three_periods_by_hand() -> None:
    history = servicer_frame(dt.date(2020, 2, 1), 1000.0, MONTHS)
    s = surveil(_deal(), history, mc_paths=0)
    r = s.result
    senior, mezz, equity = 0, 1, 2
    assert r.n_periods == 3
    assert [str(d)[:10] for d in r.dates] == ["2020-03-25", "2020-04-25", "2020-05-25"]
    _close(r.fee["paid"][0, 0], [1.00, 0.87, 0.74])
    _close(r.tranche["interest_paid"][0, senior], [3.00, 2.38, 1.79275])
    _close(r.tranche["interest_paid"][0, mezz], [2.00, 2.00, 2.00])
    _close(r.tranche["principal_paid"][0, senior], [124.0, 117.45, 105.86725])
    _close(r.tranche["principal_paid"][0, mezz], [0.0, 0.0, 0.0])
    _close(r.tranche["end_balance"][0, senior], [476.0, 358.55, 252.68275])
    _close(r.tranche["end_balance"][0, equity], [194.0, 181.45, 187.31725])
    _close(r.tranche["writedown"][0, equity], [6.0, 12.55, 0.0])
    _close(r.tranche["reinstatement"][0, equity], [0.0, 0.0, 5.86725])
    _close(r.tranche["unreimbursed_writedown"][0, equity], [6.0, 18.55, 12.68275])
    _close(r.account["pdl"][0], [6.0, 18.55, 12.68275])
    _close(r.account["residual"][0], [0.0, 0.0, 0.0])
    _close(r.account["defaulted_pending"][0], [10.0, 26.0, 20.0])
    r.check_conservation(tol=1e-12)
    # The hand-over: as of the end of April, what the next payment date needs.
    st = s.state
    assert st.as_of == dt.date(2020, 4, 30)
    _close(
        [st.balances[n] for n in ("senior", "mezzanine", "equity")], [252.68275, 200.0, 187.31725]
    )
    _close([st.writedowns["equity"], st.pdl, st.defaulted_pending], [12.68275, 12.68275, 20.0])
    _close(st.cumulative_default, 30.0)
    # The distributions table lists the same figures as line items, in waterfall order.
    d = s.tables["distributions"]
    p3 = d[d["period"] == 3].set_index("item")["amount"]
    _close(p3["collections: interest and fees"], 7.4)
    _close(p3["collections: principal"], 103.0)
    _close(p3["fee servicer"], 0.74)
    _close(p3["interest senior"], 1.79275)
    _close(p3["PDL cured from revenue"], 2.86725)
    _close(p3["principal senior"], 105.86725)
    assert list(p3.index[:2]) == ["collections: interest and fees", "collections: principal"]
    # Notes and factors, per period.
    notes = s.tables["notes"]
    sen = notes[notes["tranche"] == "senior"]
    _close(sen["factor"], [476 / 600, 358.55 / 600, 252.68275 / 600])


def test_loss_is_derived_from_the_recovery_lag_when_not_reported() -> None:
    """Without a loss column and a 1-month lag: the loss of month t is default[t-1] less
    the month's recoveries: March 10 - 4 = 6, April 20 - 3 = 17; pending after April
    30 - 7 - 23 = 0."""
    months = [{k: v for k, v in m.items() if k != "loss"} for m in MONTHS]
    history = servicer_frame(dt.date(2020, 2, 1), 1000.0, months)
    deal = _deal().with_assumptions(ae.Assumptions(recovery_lag=1))
    s = surveil(deal, history, mc_paths=0)
    c = s.tables["collateral"]
    _close(c[c["group"] == "A"]["loss"], [0.0, 6.0, 17.0])
    _close(s.state.defaulted_pending, 0.0)
    assert any("recovery lag" in n for n in s.notes)
