"""The small-run fixed cost (issue 15): what is kept between calls, and shortcuts that must not
change a figure.

* A projection keeps its scenario-free work (rate classes, schedules, curve tables) on the
  cohorts; a repeated call must give exactly the figures of a call on fresh cohorts, and a
  change of assumptions, horizon, offset or grouping must not reuse a stale entry.
* One-pass forms (late receivables in one ``bincount``, the three class schedules in one
  ``reduceat``, the deal's fields summed into periods in one pass) must equal the per-item
  forms bit for bit: the same sums in the same order.
* SIFMA advancing through the cohort engine equals the loan-by-loan engine on a real pool
  (it failed on shapes with more than one cohort before).
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

import abs_engine as ae
from abs_engine import Scenario, ScenarioSet, curves
from abs_engine.deal import engine as deal_engine
from abs_engine.pool import Cohorts
from abs_engine.projection import engine as proj
from abs_engine.projection.results import FIELDS, FLOW_FIELDS
from abs_engine.projection.schedule import _dense_class_schedules, _sum_rows, cohort_schedules


def _fresh(pool: ae.Pool) -> Cohorts:
    """Cohorts equal to the pool's but a new object (no memo)."""
    c = pool.cohorts()
    return dataclasses.replace(c)


def _same(a: ae.PoolCashflows, b: ae.PoolCashflows) -> None:
    assert a.groups == b.groups and a.notes == b.notes
    np.testing.assert_array_equal(a.initial_balance, b.initial_balance)
    for f in FIELDS:
        np.testing.assert_array_equal(a.array(f), b.array(f), err_msg=f)


@pytest.fixture(scope="module")
def pool() -> ae.Pool:
    return ae.Pool.from_frame(ae.sample_pool(n=400, seed=5))


@pytest.fixture(scope="module")
def graded() -> ae.GradedAssumptions:
    return ae.Assumptions.by_grade(
        {
            "A": ae.Assumptions(default=curves.vector([0.01, 0.02, 0.03], "cdr"), severity=0.8),
            "B": ae.Assumptions(default=curves.cdr(0.05), prepay=curves.psa(150), recovery_lag=4),
            "C": ae.Assumptions(
                default=curves.cumulative_default(0.1, [0.2, 0.3, 0.5]),
                delinquent_at_cutoff="exclude",
                recovery_lag=2,
            ),
        }
    )


SCENARIOS = [
    None,
    ScenarioSet.grid(default_mult=[0.5, 2.0], recovery_lag_shift=[0, 2]),  # a longer horizon
    [Scenario("c", default_mult={"C": 4.0}, recovery_lag_shift=5)],
]


@pytest.mark.parametrize("by", ["pool", "grade", "cohort"])
@pytest.mark.parametrize("offset", [0, 2])
def test_repeated_calls_equal_cold_calls(
    pool: ae.Pool, graded: ae.GradedAssumptions, by: proj.GroupBy, offset: int
) -> None:
    """Every call on the same cohorts equals a call on fresh cohorts, whatever came before."""
    kept = _fresh(pool)
    for _ in range(2):
        for scen in SCENARIOS:
            warm = ae.project(kept, graded, scen, by=by, period_offset=offset)
            cold = ae.project(_fresh(pool), graded, scen, by=by, period_offset=offset)
            _same(warm, cold)
    assert kept.__dict__.get(proj._MEMO)  # the entries are there


def test_other_assumptions_do_not_reuse_an_entry(
    pool: ae.Pool, graded: ae.GradedAssumptions
) -> None:
    """Entries are for the very same assumptions object: equal or changed ones recompute."""
    kept = _fresh(pool)
    ae.project(kept, graded, by="grade")
    worse = ae.Assumptions(default=curves.cdr(0.2), severity=0.5, recovery_lag=1)
    _same(ae.project(kept, worse, by="grade"), ae.project(_fresh(pool), worse, by="grade"))
    again = ae.Assumptions(default=curves.cdr(0.2), severity=0.5, recovery_lag=1)  # equal, new
    _same(ae.project(kept, again, by="grade"), ae.project(_fresh(pool), worse, by="grade"))
    # A stress made with replace is a new object: recomputed, and different.
    stressed = dataclasses.replace(worse, severity=0.9)
    hot = ae.project(kept, stressed, by="grade")
    _same(hot, ae.project(_fresh(pool), stressed, by="grade"))
    assert hot["loss"].sum() > ae.project(kept, worse, by="grade")["loss"].sum()


def test_the_memo_is_bounded_and_left_out_of_pickles(
    pool: ae.Pool, graded: ae.GradedAssumptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = _fresh(pool)
    for offset in range(2 * proj._MEMO_ENTRIES):
        ae.project(kept, graded, period_offset=offset)
    assert len(kept.__dict__[proj._MEMO]) == proj._MEMO_ENTRIES
    assert proj._MEMO not in pickle.loads(pickle.dumps(kept)).__dict__
    a = graded.for_grade("A")
    assert a.__dict__.get(proj._ROWS_MEMO)  # the curve tables kept on the grade's assumptions
    assert proj._ROWS_MEMO not in pickle.loads(pickle.dumps(a)).__dict__
    assert pickle.loads(pickle.dumps(a)) == a
    # The bytes kept are bounded in all: the oldest entries go first.
    largest = max(e[2] for e in kept.__dict__[proj._MEMO].values())
    monkeypatch.setattr(proj, "_MEMO_BYTES", int(2.5 * largest))
    for offset in range(6):
        ae.project(kept, graded, period_offset=offset)
        held = kept.__dict__[proj._MEMO].values()
        assert sum(e[2] for e in held) <= proj._MEMO_BYTES
    assert any(k[0] == "prepared" and k[5] == 5 for k in kept.__dict__[proj._MEMO])  # the newest
    # Above the byte budget nothing is kept (large pools keep no arrays alive).
    monkeypatch.setattr(proj, "_MEMO_BYTES", 0)
    other = _fresh(pool)
    _same(ae.project(other, graded), ae.project(kept, graded))
    assert not other.__dict__.get(proj._MEMO)


def test_kept_arrays_cannot_be_changed_through_a_result(
    pool: ae.Pool, graded: ae.GradedAssumptions
) -> None:
    kept = _fresh(pool)
    first = ae.project(kept, graded, by="grade")
    first.initial_balance[:] = 0.0  # the result's own copy
    _same(ae.project(kept, graded, by="grade"), ae.project(_fresh(pool), graded, by="grade"))
    _, default, prepay = proj._curve_rows(graded.for_grade("A"), 40)
    assert not default.flags.writeable and not prepay.flags.writeable


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_late_receivables_in_one_pass_equal_a_pass_per_month(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-bincount form of the late receivables' flows is the per-month form, exactly."""
    frame = ae.sample_pool(n=600, seed=seed)
    frame["dpd"] = np.random.default_rng(seed).choice([0, 0, 15, 45, 75, 120], len(frame))
    cohorts = ae.Pool.from_frame(frame).cohorts()
    paths = proj._paths(cohorts, np.zeros(3, bool), np.array([False, True, False]))
    assert paths.late.size > 50
    for identity in (False, True):
        group_c = np.arange(len(cohorts)) if identity else cohorts.grade.astype(np.int64)
        n = len(cohorts) if identity else 3
        one = proj._late_flows(cohorts, paths, group_c, n, 50)
        monkeypatch.setattr(proj, "_LATE_ONE_PASS", 0)
        per_month = proj._late_flows(cohorts, paths, group_c, n, 50)
        monkeypatch.undo()
        assert one is not None and per_month is not None and one.keys() == per_month.keys()
        for f in one:
            np.testing.assert_array_equal(one[f], per_month[f], err_msg=f)
            assert one[f].sum() > 0 or f == "dpd_31_60"


def test_class_schedules_in_one_reduceat_equal_one_per_schedule(pool: ae.Pool) -> None:
    cohorts = pool.cohorts()
    idx = np.arange(len(cohorts))
    cls = (cohorts.grade.astype(np.int64) * 7 + cohorts.age % 7).astype(np.int64)
    _, cls = np.unique(cls, return_inverse=True)
    R = int(cls.max()) + 1
    got = _dense_class_schedules(cohorts, idx, cls, R, 50)
    each = cohort_schedules(cohorts, idx, 50)
    for name in ("balance", "interest", "fee"):
        np.testing.assert_array_equal(
            getattr(got, name), _sum_rows(getattr(each, name), cls, R), err_msg=name
        )


@pytest.mark.parametrize("n_scenarios", [1, 2_500])  # one batch of fields, and several
def test_deal_collections_sum_each_field_into_periods(pool: ae.Pool, n_scenarios: int) -> None:
    """The deal's collections, fields batched, equal each field's pool total by period."""
    deal = ae.load_deal(ae.samples.path("static_sequential"))
    rng = np.random.default_rng(4)
    sset = ScenarioSet.from_arrays(
        default_mult=rng.uniform(0.5, 4.0, n_scenarios),
        recovery_lag_shift=rng.integers(0, 3, n_scenarios),
    )
    sched = deal_engine._compiled(deal).sched
    got = deal_engine._collections(deal, pool, sset, sched)
    cf = ae.project(pool, deal.assumptions, sset, by="grade")
    for k, f in enumerate(FLOW_FIELDS, start=1):
        want = deal_engine._by_period(cf[f], sched.months_end, got.T)
        np.testing.assert_array_equal(got.flows[k], want, err_msg=f)
    assert got.flows[1 + FLOW_FIELDS.index("default")].sum() > 0


def test_by_period_on_stacked_fields_equals_field_by_field() -> None:
    rng = np.random.default_rng(0)
    monthly = rng.normal(size=(4, 3, 30))
    months_end = np.array([3, 6, 9, 12, 18, 24, 36])
    stacked = deal_engine._by_period(monthly, months_end, 7)
    for i in range(4):
        np.testing.assert_array_equal(stacked[i], deal_engine._by_period(monthly[i], months_end, 7))
    # months 1-3 of the first row by hand; the last period stops at month 30
    np.testing.assert_array_equal(stacked[0, 0, 0], monthly[0, 0, :3].cumsum()[-1])
    np.testing.assert_allclose(stacked[0, 0, -1], monthly[0, 0, 24:30].sum(), rtol=1e-12)


def test_advancing_cohort_engine_equals_the_loan_engine_on_a_pool(pool: ae.Pool) -> None:
    """SIFMA advancing on many cohorts and scenarios: the closed form by cohort agrees with the
    loan-by-loan engine (held to the SIFMA tables in test_loan_engine) to 1e-9 relative."""
    a = ae.Assumptions(
        advancing=True, default=curves.cdr(0.06), prepay=curves.cpr(0.1), severity=0.6,
        recovery_lag=3,
    )  # fmt: skip
    scen = ScenarioSet.grid(default_mult=[0.5, 2.0], recovery_lag_shift=[0, 2])
    for by in ("grade", "loan"):
        fast = ae.project(pool, a, scen, by=by)
        loan = ae.project(pool, a, scen, by=by, engine="loan")
        for f in (*FIELDS, "advanced_principal", "advanced_interest"):
            x, y = fast.array(f), loan.array(f)
            n = min(x.shape[2], y.shape[2])
            np.testing.assert_allclose(
                x[..., :n], y[..., :n], rtol=1e-9, atol=1e-9 * pool.balance, err_msg=f
            )
        assert fast["advanced_interest"].sum() > 0
