"""Streaming class schedules and the engine on them equal the per-receivable computation.

The reference is :func:`projection.reference_collateral.contract`, the contract amortised
by hand in plain Python one receivable at a time (written from the documented rules, not
from the engine); its balances, interest and fees are summed by rate class (grade, age).
Continuous rates, zero-rate and near-zero-rate annuities, one-month terms and seasoned
receivables are drawn; the recursion's chunk is made small so that runs are cut at chunk
boundaries inside these small pools.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection import reference_collateral as ref
from projection.test_properties import assumption_sets

import abs_engine as ae
from abs_engine.pool import Cohorts
from abs_engine.projection import FIELDS, schedule

RATES = st.one_of(
    st.floats(0.0, 0.36).map(lambda r: round(r, 6)),  # continuous, 6 decimals
    st.sampled_from([0.0, 1e-9, 0.000001, 0.12]),  # zero and near-zero rates
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def receivables(draw: st.DrawFn, *, delinquent: bool = False) -> Cohorts:
    n = draw(st.integers(1, 40))

    def column(strategy: st.SearchStrategy[object]) -> list[object]:
        return draw(st.lists(strategy, min_size=n, max_size=n))

    kinds = column(st.sampled_from([0, 0, 0, 1, 2, 3]))  # mostly annuities
    bal = column(st.floats(1.0, 1e6))
    return Cohorts.from_loans(
        ("A", "B", "C"),
        column(st.integers(0, 2)),
        kinds,
        column(st.one_of(st.just(1), st.integers(1, 60))),  # one-month terms
        column(st.integers(0, 30)),  # seasoned
        column(st.integers(0, 4)) if delinquent else [0] * n,
        bal,
        column(RATES),
        [draw(st.sampled_from([0.005, 0.01])) if k == 2 else 0.0 for k in kinds],
        [b * 1.5 for b in bal],
    )


def reference_class_schedules(c: Cohorts, cls: np.ndarray, R: int, H: int) -> schedule.Schedules:
    """Sums by class of each receivable's hand-amortised contract."""
    SB, SI, SF = np.zeros((R, H + 1)), np.zeros((R, H + 1)), np.zeros((R, H + 1))
    for j in range(len(c)):
        r = int(cls[j])
        n = int(c.remaining_term[j])
        # Non-annuity cohorts carry sum(rate x balance) in rate: their interest is linear.
        plan = ref.contract(
            int(c.payment_type[j]), float(c.balance[j]), float(c.rate[j]), n, float(c.fee[j])
        )
        SB[r, 0] += c.balance[j]
        for k, inst in enumerate(plan, start=1):
            SB[r, k] += inst.balance_after
            SI[r, k] += inst.interest
            SF[r, k] += inst.fee
    return schedule.Schedules(SB, SI, SF)


def _classes(c: Cohorts) -> tuple[np.ndarray, int]:
    key = c.grade.astype(np.int64) * 100 + c.age
    ids, cls = np.unique(key, return_inverse=True)
    return cls.astype(np.int64), ids.size


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    """1e-9 relative to each row's scale (a row's late months may be exactly zero)."""
    scale = np.maximum(np.abs(expected).max(axis=1, keepdims=True), 1e-300)
    np.testing.assert_allclose(actual / scale, expected / scale, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(receivables(), st.sampled_from([1, 2, 3, 7, 1 << 14]))
def test_class_schedules_equal_the_contract_summed_by_class(c: Cohorts, chunk: int) -> None:
    cls, R = _classes(c)
    H = int(c.remaining_term.max()) + 2
    idx = np.arange(len(c))
    expected = reference_class_schedules(c, cls, R, H)
    with mock.patch.object(schedule, "_CHUNK", chunk):
        for method in ("streaming", "dense"):
            got = schedule.class_schedules(c, idx, cls, R, H, method=method)  # type: ignore[arg-type]
            _close(got.balance, expected.balance)
            _close(got.interest, expected.interest)
            _close(got.fee, expected.fee)


@SETTINGS
@given(
    receivables(delinquent=True),
    assumption_sets(),
    st.lists(st.floats(0.0, 4.0), min_size=1, max_size=3),
    st.sampled_from([1, 3, 1 << 14]),
)
def test_projection_on_streaming_schedules_equals_dense(
    c: Cohorts, a: ae.GradedAssumptions, mults: list[float], chunk: int
) -> None:
    """Every flow of every scenario and grade, with delinquency at cut-off and roll rates."""
    scen = ae.ScenarioSet.from_arrays(default_mult=np.asarray(mults))
    dense = ae.project(c, a, scen, by="grade", schedules="dense")
    with mock.patch.object(schedule, "_CHUNK", chunk):
        streaming = ae.project(c, a, scen, by="grade", schedules="streaming")
    for f in FIELDS:
        x, y = dense[f], streaming[f]
        scale = max(float(np.abs(x).max()), 1e-300)
        np.testing.assert_allclose(y / scale, x / scale, rtol=1e-9, atol=1e-9, err_msg=f)


def test_both_annuity_kernels_equal_the_contract_on_long_terms() -> None:
    """Rates either side of GEOMETRIC_MIN_RATE (interest as payment less principal above it,
    ``i B`` below), over 1 to 360 months: every class sum within 1e-9 of its row's scale."""
    floor = schedule.GEOMETRIC_MIN_RATE
    rates = [1e-9, 0.5 * floor, floor * (1 - 1e-9), floor, 2 * floor, 0.05, 0.36]
    terms = [1, 2, 59, 360]
    grid = [(r, n) for r in rates for n in terms]
    m = len(grid)
    c = Cohorts.from_loans(
        ("A", "B"), [j % 2 for j in range(m)], [0] * m, [n for _, n in grid], [j % 3 for j in range(m)],
        [0] * m, [1000.0 + j for j in range(m)], [r for r, _ in grid], [0.0] * m, [5000.0] * m,
        loan_level=True,
    )  # fmt: skip
    cls, R = _classes(c)
    H = 362
    expected = reference_class_schedules(c, cls, R, H)
    got = schedule.class_schedules(c, np.arange(m), cls, R, H, method="streaming")
    _close(got.balance, expected.balance)
    _close(got.interest, expected.interest)


@SETTINGS
@given(
    st.integers(1, 300),
    st.integers(1, 5000),
    st.data(),
)
def test_sort_keys_give_the_stable_argsort_both_ways(
    n: int, span: int, data: st.DataObject
) -> None:
    """Packed words (key << 32 | position, one in-place sort) and the argsort fallback both
    give the positions and keys of a stable sort, cohorts without a key last."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    has_key = rng.random(n) < data.draw(st.floats(0.0, 1.0))
    pos = np.flatnonzero(has_key)
    key = rng.integers(0, span, pos.size).astype(np.int32)  # many ties
    full = np.full(n, span, dtype=np.int64)
    full[pos] = key
    order = np.argsort(full, kind="stable")
    for packed in (True, False):
        keys = schedule._SortKeys(n, span, packed=packed)
        keys.set(pos, key)
        n_ann = keys.sort()
        assert n_ann == pos.size
        chunk = data.draw(st.integers(1, n))
        for lo in range(0, n_ann, chunk):
            hi = min(n_ann, lo + chunk)
            o, k = keys.block(lo, hi, np.int32)
            np.testing.assert_array_equal(o, order[lo:hi])
            np.testing.assert_array_equal(k, full[order[lo:hi]])
            assert k.dtype == np.int32
