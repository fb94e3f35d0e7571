"""Surveillance of the base case reproduces the projection; the state continues it.

A history generated from the base-case projection without noise is the deal run's
own collections in the servicer's format: the trustee's waterfall on it must give
the projected waterfall period by period (1e-6), and the re-projection from the
returned state must give the rest of the original run — on a small static deal with
a recovery lag (recoveries still due at the hand-over) and on a revolving deal (the
receivables bought so far, and those bought on the last payment date, in the pool
the re-projection starts from).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from support.deals import EQUAL_PRINCIPAL, tiny_deal

import abs_engine as ae
from abs_engine import curves
from abs_engine.deal import Reserve, Trigger, load_deal, write_deal
from abs_engine.pool import Cohorts
from abs_engine.surveillance import (
    ServicerHistory,
    projected_history,
    surveil,
    synthetic_servicer_history,
)

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-6
TRANCHE = ("interest_paid", "principal_paid", "end_balance", "writedown", "residual")
ACCOUNT = ("reserve_end", "pdl", "excess_spread", "cumulative_default", "defaulted_pending")


def _static_deal() -> tuple[ae.Deal, Cohorts]:
    assumptions = ae.Assumptions(
        default=curves.cdr(0.2), prepay=curves.cpr(0.1), severity=0.6, recovery_lag=2
    )
    deal = tiny_deal(
        assumptions=assumptions,
        reserve=Reserve(initial=0.01, target=0.02),
        triggers=(Trigger("cdr", "cumulative_default", ("sequential",), level=0.5),),
    )
    pool = Cohorts.from_loans(
        ("A",),
        [0, 0],
        [EQUAL_PRINCIPAL, 0],
        [10, 8],
        [0, 2],
        [0, 0],
        [600.0, 400.0],
        [0.18, 0.24],
        [0.0, 0.0],
        [600.0, 500.0],
    )
    return deal, pool


@pytest.fixture(scope="module")
def revolving() -> tuple[ae.Deal, ae.Pool]:
    deal = load_deal(ROOT / "waterfalls" / "baitiao_2015.toml")
    # The sample pool is small for the deal's fixed trustee fee: without the excess-spread
    # trigger the revolving period runs its twelve months.
    deal = dataclasses.replace(
        deal, triggers=tuple(t for t in deal.triggers if t.kind != "excess_spread")
    )
    return deal, ae.Pool.from_frame(ae.sample_pool(n=2000, seed=11))


def _same(s: ae.surveillance.Surveillance, full: ae.RunResult, k: int) -> None:
    for f in TRANCHE:
        np.testing.assert_allclose(s.result.tranche[f], full.tranche[f][:, :, :k], atol=TOL, rtol=0)
    for f in ACCOUNT:
        np.testing.assert_allclose(s.result.account[f], full.account[f][:, :k], atol=TOL, rtol=0)
    np.testing.assert_array_equal(s.result.trigger, full.trigger[:, :, :k])


def _tail(s: ae.surveillance.Surveillance, full: ae.RunResult, k: int) -> None:
    r = s.reprojection
    assert r is not None
    assert r.n_periods == full.n_periods - k
    for f in (*TRANCHE, "principal_loss"):
        np.testing.assert_allclose(r.tranche[f], full.tranche[f][:, :, k:], atol=TOL, rtol=0)
    for f in ACCOUNT:
        np.testing.assert_allclose(r.account[f], full.account[f][:, k:], atol=TOL, rtol=0)
    for f in ("recovery", "interest", "end_balance"):
        np.testing.assert_allclose(r.pool[f], full.pool[f][:, k:], atol=TOL, rtol=0)
    np.testing.assert_array_equal(r.trigger, full.trigger[:, :, k:])


@pytest.mark.parametrize("k", [1, 3, 6])
def test_static_deal_with_recoveries_pending(k: int) -> None:
    deal, pool = _static_deal()
    full = ae.run(deal, pool)
    history = projected_history(deal, pool, months=k)
    s = surveil(deal, history, pool=pool, mc_paths=0)
    _same(s, full, k)
    assert s.state.defaulted_pending > 0  # two months of defaults still to recover
    _tail(s, full, k)


@pytest.mark.parametrize("k", [2, 7, 12, 14])
def test_revolving_deal(revolving: tuple[ae.Deal, ae.Pool], k: int) -> None:
    deal, pool = revolving
    full = ae.run(deal, pool)
    history = projected_history(deal, pool, months=k)
    s = surveil(deal, history, pool=pool, mc_paths=0)
    _same(s, full, k)
    # Within the revolving period the last payment date buys receivables.
    assert (s.result.pool["purchases"][0, -1] > 0) == (k <= 12)
    _tail(s, full, k)
    # What the waterfall bought is what the history reports the month after.
    rec = s.tables["reconciliation"].dropna()
    np.testing.assert_allclose(rec["difference"], 0.0, atol=TOL)


def test_the_state_written_as_toml_reprojects_the_same(
    revolving: tuple[ae.Deal, ae.Pool], tmp_path: Path
) -> None:
    deal, pool = revolving
    s = surveil(deal, projected_history(deal, pool, months=5), pool=pool, mc_paths=0)
    path = write_deal(s.seasoned_deal(), tmp_path / "seasoned.toml")
    again = load_deal(path)
    assert again.state == s.state
    assert dataclasses.replace(again, source=None, spec=None).state == s.state


def test_the_generator_without_noise_is_the_base_case(revolving: tuple[ae.Deal, ae.Pool]) -> None:
    deal, pool = revolving
    base = projected_history(deal, pool, months=12)
    drawn = synthetic_servicer_history(deal, pool, months=12, noise=0.0)
    cols = [c for c in base.columns if c not in ("period_end", "grade")]
    np.testing.assert_allclose(drawn[cols].to_numpy(float), base[cols].to_numpy(float), atol=1e-6)
    assert (drawn["period_end"] == base["period_end"]).all()
    ServicerHistory.from_frame(drawn)  # and it is a valid servicer report


def test_noise_is_seeded_and_deterioration_raises_defaults(
    revolving: tuple[ae.Deal, ae.Pool],
) -> None:
    deal, pool = revolving
    a = synthetic_servicer_history(deal, pool, months=12, seed=4, noise=0.05)
    b = synthetic_servicer_history(deal, pool, months=12, seed=4, noise=0.05)
    c = synthetic_servicer_history(deal, pool, months=12, seed=5, noise=0.05)
    assert a.equals(b)
    assert not a.equals(c)
    worse = synthetic_servicer_history(
        deal,
        pool,
        months=12,
        seed=4,
        noise=0.05,
        deterioration=ae.surveillance.Deterioration(start=4, default_mult=3.0, ramp=2),
    )
    by = lambda f: f.groupby("period_end")["default"].sum().to_numpy()  # noqa: E731
    np.testing.assert_allclose(by(worse)[:3], by(a)[:3], rtol=1e-12)
    assert (by(worse)[5:] > 1.5 * by(a)[5:]).all()
    ServicerHistory.from_frame(worse)
