"""Inputs and results pickle (Dask workers, multiprocessing, caching) and come back equal."""

from __future__ import annotations

import pickle

import numpy as np

import abs_engine as ae

DEAL = ae.samples.path("baitiao_2015")


def roundtrip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj))


def test_inputs_and_results_pickle(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    deal = ae.load_deal(DEAL)
    scen = ae.ScenarioSet([ae.Scenario("a"), ae.Scenario("b", default_mult={"C": 2.0})])
    assert roundtrip(scen).to_frame().equals(scen.to_frame())
    assert roundtrip(graded_assumptions) == graded_assumptions
    pool = roundtrip(sample_pool)
    assert isinstance(pool, ae.Pool)
    np.testing.assert_array_equal(pool.column("balance"), sample_pool.column("balance"))
    again = roundtrip(deal)
    assert isinstance(again, ae.Deal)
    result = ae.run(again, pool, scen)
    direct = ae.run(deal, sample_pool, scen)
    np.testing.assert_array_equal(
        result.tranche["principal_paid"], direct.tranche["principal_paid"]
    )
    back = roundtrip(result)
    assert isinstance(back, ae.AnalysedRun)
    back.check_conservation()
    cf = roundtrip(ae.project(sample_pool, graded_assumptions, scen))
    assert isinstance(cf, ae.PoolCashflows) and cf.n_scenarios == 2
