"""A pool builds its exact cohorts once and keeps them (issue 15: no fixed cost per run)."""

from __future__ import annotations

import pickle

import numpy as np

import abs_engine as ae
from abs_engine.pool.cohorts import Cohorts

FIELDS = ("grade", "payment_type", "remaining_term", "age", "dpd_bucket", "balance", "rate")


def _same(a: Cohorts, b: Cohorts) -> None:
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_cohorts_are_built_once_and_equal_a_fresh_build(sample_pool: ae.Pool) -> None:
    first = sample_pool.cohorts()
    assert sample_pool.cohorts() is first  # kept on the pool
    _same(first, sample_pool._build_cohorts(loan_level=False))
    assert not first.balance.flags.writeable  # immutable, so sharing is safe


def test_loan_level_cohorts_are_not_kept(sample_pool: ae.Pool) -> None:
    a, b = sample_pool.cohorts(loan_level=True), sample_pool.cohorts(loan_level=True)
    assert a is not b and len(a) == len(sample_pool)
    assert sample_pool.cohorts() is not a


def test_a_pickled_pool_leaves_its_cohorts_behind(sample_pool: ae.Pool) -> None:
    kept = sample_pool.cohorts()
    assert "_cohorts" not in sample_pool.__getstate__()
    back = pickle.loads(pickle.dumps(sample_pool))
    assert isinstance(back, ae.Pool) and "_cohorts" not in back.__dict__
    _same(back.cohorts(), kept)
