"""Recoveries still due on receivables that defaulted before a seasoned deal's ``as_of``.

A current tape holds performing receivables only; ``run(..., pending=...)`` adds the
recoveries and realised losses of the defaulted ones, by pool month after ``as_of``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support.deals import EQUAL_PRINCIPAL, tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine import curves
from abs_engine.deal import DealState, run
from abs_engine.errors import SpecError
from abs_engine.pool import Cohorts

LAG = 2
SEVERITY = 0.6
ASSUMPTIONS = ae.Assumptions(
    default=curves.mdr(0.03), prepay=curves.smm(0.02), severity=SEVERITY, recovery_lag=LAG
)


def _close(a: object, b: object) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=1e-9)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_pending_recoveries_continue_the_run(k: int) -> None:
    """State after period ``k`` + the performing pool + the recoveries of the defaults of
    months ``k-1`` and ``k`` (lag 2: each default recovers 40% two months later, the rest is
    lost): the re-projection equals the tail, the recovery pipeline included."""
    deal = tiny_deal(assumptions=ASSUMPTIONS)
    term = 8
    full = run(deal, tiny_pool(EQUAL_PRINCIPAL, term=term))
    state = full.state_after(k - 1)
    survived = float(full.pool["end_balance"][0, k - 1])
    seasoned = Cohorts.from_loans(
        ("A",), [0], [EQUAL_PRINCIPAL], [term - k], [k], [0], [survived], [0.12], [0.0], [1000.0]
    )
    defaults = full.pool["default"][0, :k]
    # Month j after as_of recovers the default of month k + j - LAG.
    recovery = np.zeros(LAG)
    loss = np.zeros(LAG)
    for j in range(1, LAG + 1):
        src = k + j - LAG  # 1-based month of the default
        if src >= 1:
            recovery[j - 1] = (1 - SEVERITY) * defaults[src - 1]
            loss[j - 1] = SEVERITY * defaults[src - 1]
    assert state.defaulted_pending == pytest.approx(recovery.sum() + loss.sum(), abs=1e-9)
    rest = run(
        dataclasses.replace(deal, state=state),
        seasoned,
        pending={"recovery": recovery, "loss": loss},
    )
    n = rest.n_periods
    assert full.n_periods == k + n
    for f in ("interest_paid", "principal_paid", "end_balance", "residual", "principal_loss"):
        _close(rest.tranche[f], full.tranche[f][:, :, k:])
    for f in ("recovery", "loss"):
        _close(rest.pool[f], full.pool[f][:, k:])
    for f in ("pdl", "defaulted_pending", "cumulative_default"):
        _close(rest.account[f], full.account[f][:, k:])
    rest.check_conservation(tol=1e-12)


def test_pending_recovery_arrives_in_its_month_and_reduces_the_pdl() -> None:
    """By hand: a seasoned deal with a PDL of 100 and 100 defaulted, of which 30 is recovered
    in the second month after as_of (70 lost).  Monthly periods: period 2 collects 30 more
    principal, its PDL is 30 lower than without the recovery, and the pipeline closes at 0."""
    deal = tiny_deal(assumptions=ae.Assumptions(recovery_lag=0))
    pool = tiny_pool(EQUAL_PRINCIPAL, term=4, balance=900.0)
    state = DealState(
        as_of=deal.dates.cutoff,
        balances={"senior": 600.0, "mezzanine": 200.0, "equity": 100.0},
        pdl=100.0,
        cumulative_default=100.0,
        original_pool_balance=1000.0,
        defaulted_pending=100.0,
    )
    seasoned = dataclasses.replace(deal, state=state)
    without = run(seasoned, pool)
    with_ = run(seasoned, pool, pending={"recovery": [0.0, 30.0], "loss": [0.0, 70.0]})
    np.testing.assert_allclose(with_.pool["recovery"][0, :2], [0.0, 30.0], atol=1e-12)
    np.testing.assert_allclose(
        with_.account["principal_collections"][0] - without.account["principal_collections"][0],
        [0.0, 30.0, 0.0, 0.0],
        atol=1e-9,
    )
    np.testing.assert_allclose(with_.account["defaulted_pending"][0, :2], [100.0, 0.0], atol=1e-12)
    # Whatever excess spread covers is the same in both runs: the PDL falls by the recovery.
    np.testing.assert_allclose(
        without.account["pdl"][0, 1] - with_.account["pdl"][0, 1], 30.0, atol=1e-9
    )


def test_bad_pending_is_named() -> None:
    deal = tiny_deal(assumptions=ASSUMPTIONS)
    pool = tiny_pool()
    with pytest.raises(SpecError, match=r"pending: .*seasoned deal"):
        run(deal, pool, pending={"recovery": [1.0]})
    state = DealState(as_of=deal.dates.cutoff, balances={"senior": 1.0})
    seasoned = dataclasses.replace(deal, state=state)
    with pytest.raises(SpecError, match="unknown pending field 'recoveries'"):
        run(seasoned, pool, pending={"recoveries": [1.0]})
    with pytest.raises(SpecError, match=r"pending\.loss"):
        run(seasoned, pool, pending={"loss": [-1.0]})


def test_state_keeps_every_excess_spread_period_when_fewer_than_the_window() -> None:
    """A 3-period excess-spread test handed over after 2 periods needs both of them."""
    deal = tiny_deal(
        assumptions=ASSUMPTIONS,
        triggers=(
            ae.deal.Trigger(
                "es", "excess_spread", ("divert_excess_spread",), level=0.05, periods=3
            ),
        ),
    )
    full = run(deal, tiny_pool(EQUAL_PRINCIPAL, term=8))
    for k in (1, 2, 3, 5):
        state = full.state_after(k - 1)
        expected = full.account["excess_spread"][0, max(k - 3, 0) : k]
        np.testing.assert_allclose(state.excess_spread_history, expected, rtol=0, atol=0)
