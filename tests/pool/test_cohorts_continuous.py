"""Cohorts of a continuous-rate tape (issue 15): grouped by sorting, the same as by hashing.

With nearly one annuity rate per receivable, :meth:`Cohorts.from_loans` sorts rows by
(grade, type, remaining term, age, dpd bucket, rate) instead of hashing a mixed-radix key.
Only the speed may differ: the cohorts (as a set of rows) and every projected flow must be
the same as the hashing path's, and every cohort must hold exactly the receivables that share
its key.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine.pool import Cohorts
from abs_engine.pool import cohorts as cohorts_module

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = ["grade", "payment_type", "remaining_term", "age", "dpd_bucket"]


@st.composite
def tapes(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """64-300 receivables, mostly annuities with 6-decimal rates, some repeated."""
    n = draw(st.integers(64, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rate = np.round(rng.uniform(0.0, 0.36, n), 6)
    repeat = rng.random(n) < draw(st.floats(0.0, 0.4))
    rate[repeat] = rate[0]  # shared rates: those receivables may share a cohort
    rate[rng.random(n) < 0.05] = 0.0  # zero-rate annuities
    kind = np.where(rng.random(n) < draw(st.floats(0.0, 0.3)), rng.integers(1, 4, n), 0)
    return {
        "grade": rng.integers(0, 3, n),
        "payment_type": kind,
        "remaining_term": rng.integers(1, draw(st.integers(2, 61)), n),
        "age": rng.integers(0, draw(st.integers(1, 25)), n),
        "dpd_bucket": np.where(rng.random(n) < 0.1, rng.integers(1, 5, n), 0),
        "balance": rng.uniform(1.0, 1e5, n),
        "rate": rate,
        "fee_rate": np.where(kind == 2, 0.01, 0.0),
        "original_balance": rng.uniform(1e5, 2e5, n),
    }


def _build(t: dict[str, np.ndarray]) -> Cohorts:
    return Cohorts.from_loans(("A", "B", "C"), *(t[k] for k in (*KEY, *list(t)[5:])))


def _rows(c: Cohorts) -> pd.DataFrame:
    frame = c.to_frame().sort_values([*KEY, "rate", "balance"], kind="stable")
    return frame.reset_index(drop=True)


@SETTINGS
@given(tapes())
def test_sorting_and_hashing_give_the_same_cohorts(t: dict[str, np.ndarray]) -> None:
    sorted_path = _build(t)
    with mock.patch.object(cohorts_module, "_continuous", return_value=False):
        hashed = _build(t)
    assert len(sorted_path) == len(hashed)
    a, b = _rows(sorted_path), _rows(hashed)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    # Every cohort holds exactly the receivables of its key (annuities also by rate).
    key = pd.DataFrame({k: t[k] for k in KEY})
    key["rate"] = np.where(t["payment_type"] == 0, t["rate"], -1.0)
    assert len(sorted_path) == len(key.drop_duplicates())
    assert int(sorted_path.count.sum()) == t["balance"].size
    np.testing.assert_allclose(sorted_path.balance.sum(), t["balance"].sum(), rtol=1e-12)


@SETTINGS
@given(tapes())
def test_sorting_path_projects_like_the_hashing_path(t: dict[str, np.ndarray]) -> None:
    a = ae.Assumptions(default=ae.curves.cdr(0.08), prepay=ae.curves.cpr(0.1), recovery_lag=2)
    fast = ae.project(_build(t), a, by="grade")
    with mock.patch.object(cohorts_module, "_continuous", return_value=False):
        ref = ae.project(_build(t), a, by="grade")
    for f in ae.projection.FIELDS:
        scale = max(float(np.abs(ref[f]).max()), 1e-300)
        np.testing.assert_allclose(fast[f] / scale, ref[f] / scale, rtol=1e-9, atol=1e-12)


def test_the_sorting_path_is_taken_on_continuous_rates() -> None:
    """The property tests above compare two different paths (the probe cannot be vacuous)."""
    assert cohorts_module._continuous(np.linspace(0.05, 0.3, 100))
    assert not cohorts_module._continuous(np.repeat([0.1, 0.2], 50))
    with mock.patch.object(cohorts_module, "_sorted_cohorts", side_effect=AssertionError):
        Cohorts.from_loans(("A",), [0] * 3, [0] * 3, [5] * 3, [0] * 3, [0] * 3,
                           [1.0] * 3, [0.1] * 3, [0.0] * 3, [1.0] * 3)  # fmt: skip


def test_cohort_arrays_stay_immutable_without_copies_of_their_own() -> None:
    """Fresh aggregates are frozen in place; a caller's writable array is still copied."""
    bal = np.array([100.0, 200.0])
    c = Cohorts(("A",), [0, 0], [0, 0], [3, 4], [0, 0], [0, 0], bal, [0.1, 0.2],
                [0.0, 0.0], [300.0, 300.0], [1, 1])  # fmt: skip
    bal[0] = -1.0
    assert c.balance[0] == 100.0 and not c.balance.flags.writeable
    agg = Cohorts.from_loans(("A",), [0] * 3, [1] * 3, [5] * 3, [0] * 3, [0] * 3,
                             [1.0, 2.0, 3.0], [0.1] * 3, [0.0] * 3, [9.0] * 3)  # fmt: skip
    assert agg.balance[0] == 6.0 and agg.count[0] == 3
    for name in ("balance", "rate", "fee", "original_balance", "count", "default_mult", "grade"):
        assert not getattr(agg, name).flags.writeable, name
