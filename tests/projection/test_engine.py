"""Engine behaviour: groups agree, scenarios vectorise, levers act as documented."""

from __future__ import annotations

import numpy as np
import pytest

import abs_engine as ae
from abs_engine import Scenario, ScenarioSet, curves
from abs_engine.pool import Cohorts

FIELDS = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "end_balance",
    "interest",
    "fee",
    "recovery",
    "loss",
)


def test_groupings_agree(sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions) -> None:
    scen = ScenarioSet.grid(default_mult=[0.5, 2.0], recovery_lag_shift=[0, 2])
    pool = ae.project(sample_pool, graded_assumptions, scen)
    for by in ("grade", "cohort", "loan"):
        other = ae.project(sample_pool, graded_assumptions, scen, by=by)  # type: ignore[arg-type]
        for f in FIELDS:
            np.testing.assert_allclose(
                other[f], pool[f], rtol=1e-11, atol=1e-7, err_msg=f"{by}:{f}"
            )
    by_grade = ae.project(sample_pool, graded_assumptions, by="grade")
    assert by_grade.groups == ("A", "B", "C")
    np.testing.assert_allclose(
        by_grade.initial_balance,
        sample_pool.strats("grade").loc[["A", "B", "C"], "balance"],
        rtol=1e-12,  # type: ignore[union-attr]
    )


def test_one_call_equals_one_call_per_scenario(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    scen = ScenarioSet(
        [
            Scenario("base"),
            Scenario(
                "stress", default_mult=3.0, prepay_mult=0.5, severity_mult=1.1, recovery_lag_shift=2
            ),
            Scenario("c-only", default_mult={"C": 4.0}),
        ]
    )
    together = ae.project(sample_pool, graded_assumptions, scen)
    chunked = ae.project(sample_pool, graded_assumptions, scen, chunk_size=1)
    for i, s in enumerate(scen):
        alone = ae.project(sample_pool, graded_assumptions, s)
        n = alone.n_periods  # the set's horizon covers its longest recovery lag
        for f in FIELDS:
            np.testing.assert_allclose(together[f][i, :n], alone[f][0], rtol=1e-12, atol=1e-9)
            np.testing.assert_array_equal(together[f][i, n:], 0.0)
            # SIMD paths of exp/log differ in the last bit with the array layout.
            np.testing.assert_allclose(together[f][i], chunked[f][i], rtol=1e-14, atol=1e-9)


def test_levers_move_the_right_quantities(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    scen = ScenarioSet(
        [
            Scenario("base"),
            Scenario("defaults", default_mult=2.0),
            Scenario("prepays", prepay_mult=2.0),
            Scenario("severity", severity_mult=1.1),
            Scenario("lag", recovery_lag_shift=3),
            Scenario("c-only", default_mult={"C": 2.0}),
        ]
    )
    t = ae.project(sample_pool, graded_assumptions, scen, by="grade").totals()
    assert t.loc["defaults", "default"] > t.loc["base", "default"]
    assert t.loc["prepays", "prepayment"] > t.loc["base", "prepayment"]
    np.testing.assert_allclose(t.loc["severity", "default"], t.loc["base", "default"], rtol=1e-12)
    assert t.loc["severity", "loss"] > t.loc["base", "loss"]
    np.testing.assert_allclose(t.loc["lag", "recovery"], t.loc["base", "recovery"], rtol=1e-12)
    cf = ae.project(sample_pool, graded_assumptions, scen, by="grade")
    lag_i = list(cf.scenario_names).index("lag")
    first_rec = lambda i: int(np.flatnonzero(cf["recovery"][i] > 0)[0])  # noqa: E731
    assert first_rec(lag_i) == first_rec(0) + 3
    c = cf.groups.index("C")
    ci = list(cf.scenario_names).index("c-only")
    np.testing.assert_allclose(
        cf.array("default")[ci, :c].sum(), cf.array("default")[0, :c].sum(), rtol=1e-12
    )
    assert cf.array("default")[ci, c].sum() > cf.array("default")[0, c].sum()


def test_period_curves_ignore_age() -> None:
    """A by-period vector applies the same rate to seasoned and new loans in the same month."""
    pool = Cohorts.from_loans(
        ("A",),
        [0, 0],
        [1, 1],
        [12, 12],
        [0, 6],
        [0, 0],
        [100.0, 100.0],
        [0.1, 0.1],
        [0, 0],
        [100, 100],
    )
    by_period = ae.Assumptions(default=curves.vector([0.01, 0.05], unit="mdr", by="period"))
    cf = ae.project(pool, by_period, by="cohort")
    np.testing.assert_allclose(
        cf.array("default")[0, 0, :3], cf.array("default")[0, 1, :3], rtol=1e-14
    )
    by_age = ae.Assumptions(default=curves.vector([0.01, 0.05], unit="mdr", by="age"))
    cf = ae.project(pool, by_age, by="cohort")
    np.testing.assert_allclose(cf.array("default")[0, :, 0], [1.0, 5.0], rtol=1e-14)


def test_delinquency_pipeline_by_hand() -> None:
    """A 3-month interest-free bullet of 1,000 through the roll-rate pipeline (worked by hand).

    Roll rates: current->1-30 10%; 1-30 and 31-60: cure 20%, roll 50%, stay 30%;
    61-90: all roll to default.  Past maturity nobody stays in a bucket.
    """
    pool = Cohorts.from_loans(("A",), [0], [3], [3], [0], [0], [1000.0], [0.0], [0.0], [1000.0])
    rr = ae.RollRates.from_rolls(0.10, 0.5, 0.5, 1.0, cure=[0.2, 0.2, 0.0])
    cf = ae.project(pool, ae.Assumptions(roll_rates=rr, severity=0.5, recovery_lag=1))
    np.testing.assert_allclose(cf["default"][0, :6], [0, 0, 0, 25, 60, 76.16], atol=1e-10)
    np.testing.assert_allclose(
        cf["scheduled_principal"][0, :6], [0, 0, 781, 38.8, 19.04, 0], atol=1e-10
    )
    np.testing.assert_allclose(cf["dpd_1_30"][0, :4], [100, 120, 119, 0], atol=1e-10)
    np.testing.assert_allclose(cf["dpd_31_60"][0, :5], [0, 50, 75, 95.2, 0], atol=1e-10)
    np.testing.assert_allclose(cf["dpd_61_90"][0, :6], [0, 0, 25, 60, 76.16, 0], atol=1e-10)
    np.testing.assert_allclose(cf["recovery"][0, :7], [0, 0, 0, 0, 12.5, 30, 38.08], atol=1e-10)
    np.testing.assert_allclose(cf["end_balance"][0, -1], 0.0, atol=1e-12)


def test_delinquent_at_cutoff_start_in_their_bucket(sample_pool: ae.Pool) -> None:
    rr = ae.RollRates.from_rolls(
        0.0, 1.0, 1.0, 1.0
    )  # nobody new goes late; the late roll straight on
    cf = ae.project(sample_pool, ae.Assumptions(roll_rates=rr), by="grade")
    frame = sample_pool.to_frame()
    late = frame.loc[frame["dpd"] > 0, "balance"].sum()
    np.testing.assert_allclose(cf["default"].sum(), late, rtol=1e-12)
    np.testing.assert_allclose(
        cf["dpd_1_30"][0, 0], frame.loc[frame["dpd"] > 90, "balance"].sum() * 0, atol=1e-9
    )


def test_errors_name_the_problem(sample_pool: ae.Pool) -> None:
    with pytest.raises(ae.AssumptionError, match="no assumptions for grade 'C'"):
        ae.project(
            sample_pool, ae.Assumptions.by_grade({"A": ae.Assumptions(), "B": ae.Assumptions()})
        )
    with pytest.raises(ae.ScenarioError, match=r"grade\(s\) \['Z'\]"):
        ae.project(sample_pool, ae.Assumptions(), Scenario("s", default_mult={"Z": 2.0}))
    with pytest.raises(ae.AssumptionError, match="cannot be combined"):
        ae.project(
            sample_pool,
            ae.Assumptions(advancing=True, roll_rates=ae.RollRates.from_rolls(0.1, 0.5, 0.5, 0.5)),
        )


def test_to_frame_columns(sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions) -> None:
    cf = ae.project(
        sample_pool, graded_assumptions, ScenarioSet.grid(default_mult=[1, 2]), by="grade"
    )
    frame = cf.to_frame()
    assert list(frame.columns[:3]) == ["scenario", "period", "begin_balance"]
    for col in (
        "scheduled_principal",
        "prepayment",
        "default",
        "interest",
        "recovery",
        "loss",
        "end_balance",
        "dpd_1_30",
    ):
        assert col in frame.columns
    assert len(frame) == 2 * cf.n_periods
    tidy = cf.to_frame(by_group=True)
    assert set(tidy["grade"]) == {"A", "B", "C"} and len(tidy) == 2 * 3 * cf.n_periods
    totals = cf.totals()
    np.testing.assert_allclose(
        totals["cumulative_net_loss"], totals["loss"] / sample_pool.balance, rtol=1e-14
    )
