"""Triggers fire in the right period, only in the scenarios whose condition holds,
and act from the next period; revolving keeps the pool at target until it stops."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from support.deals import BULLET, DATES, EQUAL_PRINCIPAL, tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine import ScenarioSet, curves
from abs_engine.deal import (
    Coupon,
    DealState,
    Reserve,
    Revolving,
    TemplateLine,
    Tranche,
    Trigger,
    run,
)

SCEN = ScenarioSet.from_arrays(["calm", "stress"], default_mult=[0.0, 1.0])
STRESSED = ae.Assumptions(default=curves.mdr(0.02), severity=1.0, recovery_lag=0)
POOL12 = tiny_pool(kind=EQUAL_PRINCIPAL, term=12)


def first_true(x: np.ndarray) -> int:
    hits = np.flatnonzero(x)
    return int(hits[0]) if hits.size else -1


def test_cumulative_default_trigger_switches_to_sequential() -> None:
    """2% MDR: cumulative defaults pass 5% of the pool in period 3 (20 + 17.97 + 15.97 of 1,000).
    Principal is pro rata 3:1 until then, sequential from period 4; the calm scenario never trips."""
    deal = tiny_deal(
        assumptions=STRESSED,
        principal=["pro_rata:senior,mezzanine", "principal:equity", "residual"],
        triggers=(Trigger("cdr", "cumulative_default", ("sequential",), level=0.05),),
    )
    r = run(deal, POOL12, SCEN)
    cum = np.cumsum(r.pool["default"][1]) / 1000.0
    assert first_true(cum > 0.05) == 2  # period 3
    np.testing.assert_array_equal(r.trigger[1, 0, :4], [False, False, True, True])
    assert not r.trigger[0].any()
    sen, mez = r.tranche["principal_paid"][1, 0], r.tranche["principal_paid"][1, 1]
    np.testing.assert_allclose(sen[:3] / mez[:3], 3.0, rtol=1e-12)
    assert np.all(mez[3:6] == 0) and np.all(sen[3:6] > 0)
    calm = r.tranche["principal_paid"][0]
    both = calm[1] > 0
    np.testing.assert_allclose(calm[0][both] / calm[1][both], 3.0, rtol=1e-12)
    r.check_conservation(tol=1e-12)


def test_oc_trigger() -> None:
    """OC of the senior = (pool + reserve) / senior.  A 12-month bullet pool: 2% MDR takes it to
    980 then 960.4 against a senior of 600 (1.633, then 1.601 < 1.62), breached in period 2."""
    deal = tiny_deal(
        assumptions=STRESSED,
        interest=["interest:senior", "interest:mezzanine", "residual"],
        triggers=(Trigger("oc", "oc", ("divert_excess_spread",), level=1.62, tranche="senior"),),
    )
    r = run(deal, tiny_pool(kind=BULLET, term=12), SCEN)
    senior = r.tranche["end_balance"][:, 0]
    oc = np.where(
        senior > 0, r.account["oc_collateral"] / np.where(senior > 0, senior, 1.0), np.inf
    )
    assert first_true(r.trigger[1, 0]) == 1
    for s in range(2):
        expect = first_true(oc[s] < 1.62)
        assert first_true(r.trigger[s, 0]) == expect
    assert first_true(r.trigger[1, 0]) >= 0 and not r.trigger[0].any()
    # From the period after the breach, the residual pays the notes down instead of equity.
    k = first_true(r.trigger[1, 0])
    assert r.tranche["residual"][1, 2, k + 1] == 0
    assert r.tranche["residual"][0, 2, k + 1] > 0


def test_ic_trigger() -> None:
    """IC of the mezzanine = (revenue - fees) / (senior + mezzanine interest due): about 2.0
    throughout when calm; with 8% MDR it is 9.2 / 5 = 1.84 in period 1 and 1.68 in period 2."""
    tranches = (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.06)),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.12)),
        Tranche("equity", "equity"),
    )
    deal = tiny_deal(
        tranches,
        assumptions=ae.Assumptions(default=curves.mdr(0.08), severity=1.0),
        triggers=(Trigger("ic", "ic", ("sequential",), level=1.7, tranche="mezzanine"),),
    )
    r = run(deal, POOL12, SCEN)
    due = r.tranche["interest_due"][:, :2].sum(axis=1)
    ic = np.where(due > 0, r.account["interest_after_fees"] / np.where(due > 0, due, 1.0), np.inf)
    for s in range(2):
        assert first_true(r.trigger[s, 0]) == first_true(ic[s] < 1.7)
    assert first_true(r.trigger[1, 0]) == 1
    assert r.trigger[1, 0].any() and not r.trigger[0].any()


def test_excess_spread_trigger_ends_revolving() -> None:
    """Excess spread = (revenue - fees - rated interest) / pool x 12: 12% - 6% = 6% when calm.
    With 5% MDR it is 5.40%, 5.11%, 4.81%...: the two-period average falls below 5% in period 3,
    so the revolving period ends there and nothing is bought from period 4."""
    template = (TemplateLine("A", "equal_principal", 12, 1.0, rate=0.12),)
    deal = tiny_deal(
        assumptions=ae.Assumptions(default=curves.mdr(0.05), severity=1.0),
        revolving=Revolving(6, template),
        triggers=(Trigger("xs", "excess_spread", ("end_revolving",), level=0.05, periods=2),),
    )
    r = run(deal, POOL12, SCEN)
    es = r.account["excess_spread"]
    avg = (es[:, 1:] + es[:, :-1]) / 2
    k = first_true(avg[1] < 0.05) + 1
    assert k == 2
    assert first_true(r.trigger[1, 0]) == k
    assert not r.trigger[0].any()
    bought = r.pool["purchases"]
    assert np.all(bought[1, k + 1 :] == 0) and bought[1, : k + 1].min() > 0
    assert np.all(bought[0, :6] > 0) and np.all(bought[0, 6:] == 0)


def test_senior_interest_shortfall_is_an_event_of_default() -> None:
    """Senior coupon 20% on a 12% pool: senior interest is short in period 1; from period 2 the
    post-default waterfall pays the senior everything (interest then principal) before anything
    reaches the mezzanine."""
    tranches = (
        Tranche("senior", "senior", size=0.8, coupon=Coupon(0.20)),
        Tranche("mezzanine", "mezzanine", size=0.1, coupon=Coupon(0.05)),
        Tranche("equity", "equity"),
    )
    deal = tiny_deal(
        tranches,
        assumptions=ae.Assumptions(default=curves.mdr(0.03), severity=1.0),
        principal=["pro_rata:senior,mezzanine", "principal:equity", "residual"],
        triggers=(Trigger("eod", "interest_shortfall", ("post_default",), tranche="senior"),),
    )
    r = run(deal, POOL12, ScenarioSet.base())
    assert r.trigger[0, 0, 0]
    assert r.tranche["principal_paid"][0, 1, 0] > 0  # pro rata in period 1
    senior_left = r.tranche["end_balance"][0, 0]
    paid_mezz = r.tranche["principal_paid"][0, 1] + r.tranche["interest_paid"][0, 1]
    assert np.all(paid_mezz[1:][senior_left[:-1] > 0] == 0)
    r.check_conservation(tol=1e-12)


def test_revolving_keeps_the_pool_at_target_until_it_stops() -> None:
    """No defaults or prepayments: every principal collection buys new receivables, so the pool
    starts each of the six periods after a purchase at 1,000; then it amortises."""
    template = (TemplateLine("A", "equal_principal", 4, 1.0, rate=0.12),)
    deal = tiny_deal(revolving=Revolving(6, template))
    r = run(deal, tiny_pool(), ScenarioSet.base())
    begin = r.pool["begin_balance"][0]
    np.testing.assert_allclose(begin[:7], 1000.0, rtol=1e-12)
    assert begin[7] < 1000.0
    np.testing.assert_allclose(
        r.pool["purchases"][0, :6], r.account["principal_collections"][0, :6], rtol=1e-12
    )
    assert r.tranche["principal_paid"][0, :, :6].sum() == 0
    r.check_conservation(tol=1e-12)


def test_mid_life_state_reproduces_the_rest_of_the_run() -> None:
    """Run a deal from closing; take its state after period 3 and the pool left then (a seasoned
    cohort); re-projecting from that state gives the same note cash flows for the rest."""
    reserve = Reserve(initial=0.01, target=0.01)
    deal = tiny_deal(assumptions=ae.Assumptions(), reserve=reserve)
    full = run(deal, POOL12, ScenarioSet.base())
    k = 3
    names = full.tranche_names
    state = DealState(
        as_of=dt.date(2020, 4, 30),  # tape after the collections paid on 25 May (period 3)
        balances={n: float(full.tranche["end_balance"][0, i, k - 1]) for i, n in enumerate(names)},
        reserve=float(full.account["reserve_end"][0, k - 1]),
        original_pool_balance=1000.0,
    )
    seasoned = ae.Cohorts.from_loans(
        ("A",),
        [0],
        [EQUAL_PRINCIPAL],
        [12 - k],
        [k],
        [0],
        [1000.0 * (12 - k) / 12],
        [0.12],
        [0.0],
        [1000.0],
    )
    later = run(dataclasses.replace(deal, state=state), seasoned, ScenarioSet.base())
    assert later.dates[0] == full.dates[k]
    for f in ("interest_paid", "principal_paid", "end_balance", "residual"):
        np.testing.assert_allclose(
            later.tranche[f][0], full.tranche[f][0, :, k:], rtol=1e-12, atol=1e-9, err_msg=f
        )


def test_state_must_name_every_tranche() -> None:
    deal = tiny_deal(state=DealState(as_of=dt.date(2020, 4, 30), balances={"senior": 1.0}))
    with pytest.raises(ae.SpecError, match=r"state\.balances lacks mezzanine, equity"):
        run(deal, POOL12)


def test_dates_are_validated() -> None:
    with pytest.raises(ae.SpecError, match=r"closing .* must come after cutoff"):
        dataclasses.replace(DATES, closing=dt.date(2019, 1, 1))
