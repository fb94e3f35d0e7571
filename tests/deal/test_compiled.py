"""The deal is compiled once per Deal and the plan is shared by every run (issue 15)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import abs_engine as ae
from abs_engine.deal import engine


@pytest.fixture(scope="module")
def small_pool() -> ae.Pool:
    return ae.Pool.from_frame(ae.sample_pool(n=300, seed=7))


def test_compiled_once_per_deal_and_afresh_for_a_stress() -> None:
    deal = ae.load_deal(ae.samples.path("static_sequential"))
    plan = engine._compiled(deal)
    assert engine._compiled(deal) is plan
    stressed = replace(deal, loss_allocation="pdl")
    assert engine._compiled(stressed) is not plan  # a new deal compiles its own plan
    for a in (plan.coupons, plan.sched.dates, plan.sched.year_fractions, plan.rated):
        assert not a.flags.writeable  # shared by every run: never written


def test_runs_sharing_a_plan_are_identical(small_pool: ae.Pool) -> None:
    deal = ae.load_deal(ae.samples.path("baitiao_2015"))
    scen = ae.ScenarioSet.from_arrays(default_mult=[1.0, 4.0, 12.0])
    first = ae.deal.run(deal, small_pool, scen)
    again = ae.deal.run(deal, small_pool, scen)  # the compiled plan is reused
    fresh = ae.deal.run(ae.load_deal(ae.samples.path("baitiao_2015")), small_pool, scen)
    for other in (again, fresh):
        for group in ("tranche", "fee", "pool", "account"):
            a, b = getattr(first, group), getattr(other, group)
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{group}.{k}")
        np.testing.assert_array_equal(first.ledger_data.amounts, other.ledger_data.amounts)
