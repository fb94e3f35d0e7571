"""One cohort per receivable where grouping cannot pay (issue 15).

On a continuous-rate tape nearly every annuity is its own exact cohort, so
``project(pool)`` (by pool or grade) skips the grouping and projects each receivable
as a cohort of its own.  The cash flows must be those of the exact cohorts: the
projection is linear in the receivables of a cohort, so only the order of summation
differs (held here to 1e-9 of each field's scale).  The per-receivable cohorts share
the pool's arrays and must stay read-only.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine.pool import cohorts as cohorts_module
from abs_engine.pool.cohorts import grouping_pays

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def continuous_tapes(draw: st.DrawFn) -> pd.DataFrame:
    """64-400 sample receivables, annuities with 6-decimal rates, some late or repeated."""
    n = draw(st.integers(64, 400))
    seed = draw(st.integers(0, 2**31 - 1))
    frame = ae.sample_pool(n, seed=seed % 1000)
    rng = np.random.default_rng(seed)
    rate = np.round(rng.uniform(0.0, 0.36, n), 6)
    rate[rng.random(n) < draw(st.floats(0.0, 0.3))] = rate[0]  # some share a cohort
    rate[rng.random(n) < 0.03] = 0.0  # zero-rate annuities
    rate[rng.random(n) < 0.03] = 0.0004  # below the geometric schedules' floor
    frame["rate"] = rate
    frame["payment_type"] = "annuity"
    frame["fee_rate"] = 0.0
    late = rng.random(n) < draw(st.floats(0.0, 0.2))
    frame["dpd"] = np.where(late, rng.integers(1, 120, n), 0).astype(np.int32)
    return frame


def _project(pool: ae.Pool | ae.Cohorts, by: str) -> ae.PoolCashflows:
    a = ae.load_assumptions("pools/sample_assumptions.toml")
    return ae.project(pool, a, by=by)  # type: ignore[arg-type]


@SETTINGS
@given(continuous_tapes(), st.sampled_from(["pool", "grade"]))
def test_per_receivable_cohorts_project_like_exact_cohorts(frame: pd.DataFrame, by: str) -> None:
    pool = ae.Pool.from_frame(frame)
    with mock.patch.object(cohorts_module, "GROUPING_MIN_ROWS", 0):
        assert not grouping_pays(pool.arrays["type_code"], pool.arrays["rate"])
        assert len(pool.cohorts(loan_level="auto")) == len(pool)  # the path under test
        fast = _project(pool, by)
    exact = pool.cohorts()
    ref = _project(exact, by)
    assert fast.groups == ref.groups
    np.testing.assert_allclose(fast.initial_balance, ref.initial_balance, rtol=1e-12)
    for f in ae.projection.FIELDS:
        scale = max(float(np.abs(ref.data[f]).max()), 1e-300)
        np.testing.assert_allclose(
            fast.data[f] / scale, ref.data[f] / scale, rtol=1e-9, atol=1e-12, err_msg=f
        )


def test_grouping_pays_decides_on_a_sample() -> None:
    n = 1 << 17
    annuity = np.zeros(n, dtype=np.int8)
    continuous = np.round(np.random.default_rng(1).uniform(0.05, 0.3, n), 6)
    grid = np.repeat(np.arange(0.05, 0.30, 0.01), n // 25 + 1)[:n]
    assert not grouping_pays(annuity, continuous)  # the realistic tape: one cohort each
    assert grouping_pays(annuity, grid)  # a rate grid groups well
    assert grouping_pays(annuity[: n // 4], continuous[: n // 4])  # small tapes: always
    assert grouping_pays(annuity, continuous, default_mult=np.ones(n))  # overlays: grouped
    mixed = annuity.copy()
    mixed[::10] = 1  # 10% equal-principal receivables group without their rate
    assert grouping_pays(mixed, continuous)


def test_per_receivable_cohorts_share_the_pools_arrays_read_only() -> None:
    pool = ae.Pool.from_frame(ae.sample_pool(200, seed=3))
    c = pool.cohorts(loan_level=True)
    assert len(c) == len(pool)
    for field, column in (("balance", "balance"), ("rate", "rate"), ("grade", "grade_code"),
                          ("remaining_term", "remaining_term"), ("age", "age")):  # fmt: skip
        assert np.shares_memory(getattr(c, field), pool.arrays[column]), field
    for field in ("balance", "rate", "fee", "count", "default_mult", "dpd_bucket", "grade"):
        arr = getattr(c, field)
        assert not arr.flags.writeable, field
        with pytest.raises(ValueError):
            arr[0] = arr[0]
    # Constants take no memory but read as full arrays.
    assert c.count.strides == (0,) and int(c.count.sum()) == len(pool)
    assert c.default_mult.strides == (0,) and np.all(c.default_mult == 1.0)
    np.testing.assert_allclose(c.fee, pool.arrays["fee_rate"] * pool.arrays["original_balance"])


def test_a_callers_broadcast_of_a_writable_array_is_copied() -> None:
    """Only broadcasts of read-only one-element arrays are kept as they are."""
    one = np.array(2.0)
    c = ae.Cohorts(("A",), [0, 0], [0, 0], [3, 4], [0, 0], [0, 0], [1.0, 2.0], [0.1, 0.2],
                   [0.0, 0.0], [3.0, 3.0], [1, 1], np.broadcast_to(one, (2,)))  # fmt: skip
    one[()] = 5.0
    assert np.all(c.default_mult == 2.0)
    scalar = ae.Cohorts(("A",), [0, 0], [0, 0], [3, 4], [0, 0], [0, 0], [1.0, 2.0], 0.1,
                        0.0, [3.0, 3.0], 1)  # fmt: skip
    assert scalar.rate.shape == (2,) and scalar.count.strides == (0,)
    assert not scalar.rate.flags.writeable


def test_dpd_buckets_at_their_boundaries() -> None:
    from abs_engine.pool.validate import dpd_bucket

    days = np.array([0, 1, 30, 31, 60, 61, 90, 91, 36_500], dtype=np.int32)
    np.testing.assert_array_equal(dpd_bucket(days), [0, 1, 1, 2, 2, 3, 3, 4, 4])
    assert dpd_bucket(days).dtype == np.int8
