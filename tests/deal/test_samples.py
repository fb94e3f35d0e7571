"""The sample deals in abs_engine/data/waterfalls/ run on the sample pool."""

from __future__ import annotations

import numpy as np
import pytest

import abs_engine as ae
from abs_engine.deal import load_deal, run

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"
GRID = ae.ScenarioSet.grid(default_mult=[1, 2, 8, 16, 32], prepay_mult=[0.5, 1.5])


@pytest.fixture(scope="module")
def pool() -> ae.Pool:
    return ae.Pool.from_frame(ae.sample_pool(n=5_000, seed=7))


@pytest.mark.parametrize("name", ["baitiao_2015", "static_sequential", "all_triggers"])
def test_sample_deal_runs_and_conserves_cash(name: str, pool: ae.Pool) -> None:
    deal = load_deal(WATERFALLS / f"{name}.toml")
    r = run(deal, pool, GRID)
    r.check_conservation(tol=1e-9)
    base = list(r.scenario_names).index("default_mult=1,prepay_mult=0.5")
    rated = [i for i, t in enumerate(deal.tranches) if t.kind != "equity"]
    assert (
        r.tranche["writedown"][base, rated].sum() == 0
    )  # the rated notes lose nothing in the base case
    assert not r.trigger[base].any()
    np.testing.assert_allclose(r.tranche["end_balance"][:, :, -1], 0.0, atol=1e-6)
    frame = r.tranche_cashflows
    assert set(frame["tranche"]) == {t.name for t in deal.tranches}
    assert len(r.ledger) > 0


def test_every_trigger_type_fires_somewhere(pool: ae.Pool) -> None:
    deal = load_deal(WATERFALLS / "all_triggers.toml")
    assert {t.kind for t in deal.triggers} == {
        "cumulative_default",
        "excess_spread",
        "oc",
        "ic",
        "interest_shortfall",
    }
    r = run(deal, pool, ae.ScenarioSet.grid(default_mult=[1, 4, 8, 16, 24, 32]))
    fired = r.trigger.any(axis=2)  # (scenario, trigger)
    assert not fired[:2].any()  # 1x and 4x trip nothing
    assert fired.any(axis=0).all(), dict(zip(r.trigger_names, fired.any(axis=0), strict=True))


def test_baitiao_revolving_then_amortising(pool: ae.Pool) -> None:
    r = run(load_deal(WATERFALLS / "baitiao_2015.toml"), pool)
    senior = r.tranche["principal_paid"][0, 0]
    assert senior[:12].sum() == 0 and senior[12] > 0  # 12 revolving periods, then amortisation
    assert np.all(r.pool["purchases"][0, :12] > 0) and np.all(r.pool["purchases"][0, 12:] == 0)
