"""Issue 10, items 8-10: cures pay their arrears, CGL curves deliver their CGL,
delinquency at cut-off counts.  Each mechanic against the independent reference
in ``reference_collateral.py`` (plain Python, written from docs/collateral.md)
on hand-checkable cases, and on random cases with hypothesis."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection import reference_collateral as ref

import abs_engine as ae
from abs_engine import ScenarioSet, curves
from abs_engine.pool import Cohorts

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMPARED = ref.FLOWS  # every flow the reference model produces


def cohort(
    payment_type: int,
    balance: float,
    rate: float,
    rem: int,
    *,
    age: int = 0,
    bucket: int = 0,
    fee: float = 0.0,
    grade: int = 0,
) -> dict[str, float | int]:
    return {
        "payment_type": payment_type,
        "balance": balance,
        "rate": rate,
        "rem": rem,
        "age": age,
        "bucket": bucket,
        "fee": fee,
        "grade": grade,
    }


def cohorts_of(*rows: dict[str, float | int]) -> Cohorts:
    """Loan-level cohorts; ``fee`` is the monthly fee in currency (fee_rate on a unit balance)."""
    return Cohorts.from_loans(
        ("A", "B"),
        [r["grade"] for r in rows],
        [r["payment_type"] for r in rows],
        [r["rem"] for r in rows],
        [r["age"] for r in rows],
        [r["bucket"] for r in rows],
        [r["balance"] for r in rows],
        [r["rate"] for r in rows],
        [r["fee"] for r in rows],
        [1.0 for _ in rows],
        loan_level=True,
    )


def assert_matches(cf: ae.PoolCashflows, expected: dict[str, list[float]], scale: float) -> None:
    for f in COMPARED:
        n = min(cf.n_periods, len(expected[f]))
        np.testing.assert_allclose(
            cf[f][0, :n], expected[f][:n], rtol=1e-9, atol=1e-9 * scale, err_msg=f
        )
        assert np.all(np.abs(cf[f][0, n:]) <= 1e-9 * scale), f
        assert all(abs(x) <= 1e-9 * scale for x in expected[f][n:]), f


# --- item 8: cures pay their arrears ---------------------------------------------------------


def test_every_cure_pays_the_contract_by_hand() -> None:
    """A 3-month annuity of 1,000 at 12% (instalment 340.0221; interest 10.00, 6.6998, 3.3666,
    total 20.0663); each month 10% of the current balance misses its instalment and every
    1-30 days past due balance cures the month after, paying everything it missed.

    Month 1: 90% pay instalment 1 (principal 0.9 x 330.0221 = 297.0199, interest 9.00);
    100.00 is 1-30 days past due.
    Month 2: of the 90% current, 81% pay instalment 2 and 9% miss it (0.09 x 669.9779
    = 60.2980 past due); the 10% late cure with instalments 1 and 2: principal
    0.81 x 333.3223 + 0.1 x 663.3444 = 336.3255, interest 0.81 x 6.6998 + 0.1 x 16.6998
    = 7.0968.
    Month 3: 91% current, of which 81.9% pay instalment 3 and 9.1% miss it; the 9% cure
    with instalments 2 and 3: principal 0.819 x 336.6556 + 0.09 x 669.9779 = 336.0189,
    interest 3.6632; 30.6357 past due.
    Month 4 (after maturity): the 9.1% cure with instalment 3: 30.6357 and 0.3064.
    Life totals: principal 1,000, interest 20.0663 = the contract's; nothing lost.
    """
    rr = ae.RollRates(
        np.array([[0.9, 0.1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0]])
    )
    cf = ae.project(cohorts_of(cohort(0, 1000.0, 0.12, 3)), ae.Assumptions(roll_rates=rr))
    np.testing.assert_allclose(
        cf["scheduled_principal"][0, :5], [297.0199, 336.3255, 336.0189, 30.6357, 0], atol=1e-4
    )
    np.testing.assert_allclose(cf["interest"][0, :5], [9.0, 7.0968, 3.6632, 0.3064, 0], atol=1e-4)
    np.testing.assert_allclose(cf["dpd_1_30"][0, :4], [100.0, 60.2980, 30.6357, 0.0], atol=1e-4)
    np.testing.assert_allclose(cf["interest"].sum(), 20.066334444, rtol=1e-9)
    np.testing.assert_allclose(cf["scheduled_principal"].sum(), 1000.0, rtol=1e-12)
    assert cf["default"].sum() == 0
    m = [[0.9, 0.1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
    expected = ref.pipeline(0, 1000.0, 0.12, 3, 0, 0.0, m, [0.0] * cf.n_periods, cf.n_periods)
    assert_matches(cf, expected, 1000.0)


def test_a_pool_that_always_cures_collects_its_contractual_revenue() -> None:
    """Two cohorts (a 24-month annuity at 18% and a flat-fee plan of 12 months at 0.8% a month
    on 6,000), delinquency with stays, rolls to 61-90 and cures but no default (61-90 cures in
    full): interest and fees collected equal the contract's, principal the balance."""
    rr = ae.RollRates.from_rolls(0.08, 0.3, 0.3, 0.0, cure=[0.5, 0.4, 1.0])
    pool = cohorts_of(cohort(0, 12_000.0, 0.18, 24), cohort(2, 6_000.0, 0.0, 12, fee=48.0, grade=1))
    cf = ae.project(pool, ae.Assumptions(roll_rates=rr))
    annuity = ref.contract(0, 12_000.0, 0.18, 24, 0.0)
    assert cf["default"].sum() == 0
    np.testing.assert_allclose(cf["interest"].sum(), sum(x.interest for x in annuity), rtol=1e-12)
    np.testing.assert_allclose(cf["fee"].sum(), 12 * 48.0, rtol=1e-12)
    np.testing.assert_allclose(cf["scheduled_principal"].sum(), 18_000.0, rtol=1e-12)
    np.testing.assert_allclose(cf["end_balance"][0, -1], 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("row", "matrix"),
    [
        # stays, partial cures and forward jumps; delinquent at cut-off; prepayment
        (
            cohort(0, 5_000.0, 0.15, 9, bucket=2, age=3),
            [[0.85, 0.1, 0.03, 0.0, 0.02], [0.3, 0.3, 0.3, 0.1, 0.0],
             [0.2, 0.2, 0.2, 0.3, 0.1], [0.1, 0.1, 0.1, 0.2, 0.5]],
        ),
        (
            cohort(2, 3_000.0, 0.0, 6, fee=24.0, bucket=1),
            [[0.9, 0.05, 0.0, 0.05, 0.0], [0.5, 0.2, 0.3, 0.0, 0.0],
             [0.4, 0.0, 0.2, 0.4, 0.0], [0.3, 0.0, 0.0, 0.3, 0.4]],
        ),
        (
            cohort(3, 800.0, 0.06, 4, bucket=3),
            [[0.95, 0.05, 0, 0, 0], [0.6, 0.2, 0.2, 0, 0], [0.5, 0, 0.2, 0.3, 0],
             [0.4, 0, 0, 0.1, 0.5]],
        ),
        (
            cohort(1, 1_200.0, 0.12, 1),
            [[0.7, 0.3, 0, 0, 0], [0.5, 0.2, 0.3, 0, 0], [0.5, 0, 0.2, 0.3, 0],
             [0.4, 0, 0, 0.1, 0.5]],
        ),
    ],
)  # fmt: skip
def test_pipeline_matches_the_reference(row: dict[str, float | int], matrix: list) -> None:
    rr = ae.RollRates(np.array(matrix))
    a = ae.Assumptions(roll_rates=rr, prepay=curves.smm(0.02))
    cf = ae.project(cohorts_of(row), a)
    H = cf.n_periods
    expected = ref.pipeline(
        int(row["payment_type"]), float(row["balance"]), float(row["rate"]), int(row["rem"]),
        int(row["bucket"]), float(row["fee"]), matrix, [0.02] * H, H,
    )  # fmt: skip
    assert_matches(cf, expected, float(row["balance"]))


@st.composite
def roll_matrices(draw: st.DrawFn) -> list[list[float]]:
    rows = []
    for _ in range(4):
        w = draw(st.lists(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0, 2.0]), min_size=5, max_size=5))
        if sum(w) == 0:
            w[0] = 1.0
        rows.append([x / sum(w) for x in w])
    return rows


@SETTINGS
@given(
    st.integers(0, 3),
    st.floats(100.0, 1e5),
    st.sampled_from([0.0, 0.06, 0.24]),
    st.integers(1, 15),
    st.integers(0, 3),
    st.sampled_from([0.0, 10.0]),
    roll_matrices(),
    st.sampled_from([0.0, 0.01, 0.1]),
)
def test_pipeline_equals_the_reference_on_random_cases(
    pt: int,
    bal: float,
    rate: float,
    rem: int,
    bucket: int,
    fee: float,
    matrix: list[list[float]],
    smm: float,
) -> None:
    row = cohort(pt, bal, rate, rem, bucket=bucket, fee=fee if pt == 2 else 0.0)
    cf = ae.project(
        cohorts_of(row), ae.Assumptions(roll_rates=ae.RollRates(np.array(matrix)),
                                        prepay=curves.smm(smm)),
    )  # fmt: skip
    H = cf.n_periods
    expected = ref.pipeline(pt, bal, rate, rem, bucket, float(row["fee"]), matrix, [smm] * H, H)
    assert_matches(cf, expected, bal)


@SETTINGS
@given(roll_matrices(), st.integers(1, 24), st.sampled_from([0.0, 0.1, 0.3]), st.integers(0, 3))
def test_without_defaults_revenue_is_contractual(
    matrix: list[list[float]], rem: int, rate: float, bucket: int
) -> None:
    """Whatever the delinquency, a pipeline that never defaults collects the whole contract."""
    m = np.array(matrix)
    m[:, 0] += m[:, 4]
    m[:, 4] = 0.0
    m[3] = [1.0, 0, 0, 0, 0]  # 61-90 always cures, so nothing ever defaults
    cf = ae.project(cohorts_of(cohort(0, 1000.0, rate, rem, bucket=bucket)),
                    ae.Assumptions(roll_rates=ae.RollRates(m)))  # fmt: skip
    sched = ref.contract(0, 1000.0, rate, rem + bucket, 0.0)
    assert cf["default"].sum() == 0
    np.testing.assert_allclose(cf["interest"].sum(), sum(x.interest for x in sched), rtol=1e-10)
    np.testing.assert_allclose(cf["scheduled_principal"].sum(), 1000.0, rtol=1e-10)


# --- item 9: cumulative-default curves deliver their CGL ----------------------------------


CGL_TIMING = [1.0, 2.0, 3.0, 2.0, 1.0, 1.0]


def test_cgl_delivers_eight_percent_on_an_amortising_pool() -> None:
    """8% CGL over 6 months (weights 1,2,3,2,1,1 / 10) on 10,000 of new 24-month annuities at
    18% with 12% CPR: month-k defaults are 0.08 x w_k x 10,000 = 80, 160, 240, 160, 80, 80 —
    800 in all, 8% of the cut-off balance, although the pool amortises and prepays.
    Twice the stress (scenario or curve) gives 1,600 = 16%."""
    pool = cohorts_of(cohort(0, 6_000.0, 0.18, 24), cohort(0, 4_000.0, 0.18, 12))
    a = ae.Assumptions(default=curves.cumulative_default(0.08, CGL_TIMING), prepay=curves.cpr(0.12))
    cf = ae.project(pool, a, ScenarioSet.grid(default_mult=[1.0, 2.0]))
    np.testing.assert_allclose(
        cf["default"][0, :7], [80, 160, 240, 160, 80, 80, 0], rtol=1e-12, atol=1e-9
    )
    np.testing.assert_allclose(cf.totals()["cumulative_default_rate"], [0.08, 0.16], rtol=1e-12)
    scaled = ae.Assumptions(default=a.default.scaled(2.0), prepay=curves.cpr(0.12))
    np.testing.assert_allclose(ae.project(pool, scaled)["default"].sum(), 1_600.0, rtol=1e-12)
    # Same answer per cohort: one rate class (grade A, age 0), defaults pro rata to performing.
    by_cohort = ae.project(pool, a, by="cohort")
    np.testing.assert_allclose(by_cohort["default"].sum(), 800.0, rtol=1e-12)


def test_cgl_is_capped_by_what_still_performs() -> None:
    """60% CGL with all its weight in months 3 and 4 on 1,000 of 3-month equal-principal loans:
    month 3 asks 300 and finds 333.33 performing (after 2 x 333.33 paid); month 4 asks 300 and
    finds nothing left: 300 defaults in all, 30% instead of 60%."""
    pool = cohorts_of(cohort(1, 1000.0, 0.0, 3))
    a = ae.Assumptions(default=curves.cumulative_default(0.6, [0, 0, 1, 1]))
    cf = ae.project(pool, a)
    np.testing.assert_allclose(cf["default"][0], [0, 0, 300.0], atol=1e-9)  # 3 months projected
    np.testing.assert_allclose(
        cf["scheduled_principal"][0], [1000 / 3, 1000 / 3, 1000 / 3 - 300], rtol=1e-12
    )


@pytest.mark.parametrize("by", ["age", "period"])
def test_cgl_matches_the_reference(by: str) -> None:
    """Two cohorts in one rate class (grade A, age 2) and one in another (grade A, age 0)."""
    rows = [
        cohort(0, 5_000.0, 0.2, 10, age=2),
        cohort(2, 2_000.0, 0.0, 4, age=2, fee=20.0),
        cohort(3, 1_000.0, 0.05, 3),
    ]
    timing = [0.5, 1.0, 2.0, 3.0, 2.0, 1.0, 0.5]
    a = ae.Assumptions(
        default=curves.cumulative_default(0.3, timing, by=by),  # type: ignore[arg-type]
        prepay=curves.smm(0.03),
        severity=0.7,
        recovery_lag=2,
    )
    cf = ae.project(cohorts_of(*rows), a)
    H = cf.n_periods
    expected = {f: np.zeros(H) for f in COMPARED}
    for members, age in (([0, 1], 2), ([2], 0)):
        # By age, a receivable seasoned 2 months receives the curve from month 3 on.
        w = [x / sum(timing) for x in (timing[age:] if by == "age" else timing)]
        group = ref.cgl_group(
            [(int(rows[i]["payment_type"]), float(rows[i]["balance"]), float(rows[i]["rate"]),
              int(rows[i]["rem"]), float(rows[i]["fee"])) for i in members],
            0.3, w, [0.03] * H, H,
        )  # fmt: skip
        for f in COMPARED:
            if f in group:
                expected[f] += group[f]
    expected["current"] = expected["end_balance"]
    rec, loss = ref.liquidate(list(expected["default"]), 0.7, 2)
    assert_matches(cf, {f: list(v) for f, v in expected.items()}, 8_000.0)
    np.testing.assert_allclose(cf["recovery"][0], rec, atol=1e-9)
    np.testing.assert_allclose(cf["loss"][0], loss, atol=1e-9)


def test_cgl_curve_round_trips_its_stress() -> None:
    c = curves.cumulative_default(0.08, CGL_TIMING).scaled(2.0)
    assert c.cgl == pytest.approx(0.16) and c.total == 0.08
    back = ae.curves.curve_from_dict(c.to_dict())
    assert back == c
    np.testing.assert_allclose(c.default_shares(np.arange(1, 8)).sum(), 0.16, rtol=1e-12)
    with pytest.raises(ae.AssumptionError, match="advancing"):
        ae.Assumptions(default=c, advancing=True)


# --- item 10: delinquency at cut-off counts under every default model -----------------------


def late_pool() -> Cohorts:
    return cohorts_of(
        cohort(0, 10_000.0, 0.12, 12),
        cohort(0, 1_000.0, 0.12, 10, bucket=1, age=2),
        cohort(0, 2_000.0, 0.12, 10, bucket=2, age=2),
        cohort(0, 3_000.0, 0.12, 10, bucket=3, age=2),
        cohort(0, 4_000.0, 0.12, 10, bucket=4, age=2),
    )


def test_delinquent_at_cutoff_roll_to_default_under_curves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under a CDR curve: 61-90 (3,000) and 90+ (4,000) default in month 1, 31-60 (2,000) in
    month 2, 1-30 (1,000) in month 3, paying nothing; the current 10,000 follow the curve.
    Recovered 20% three months later."""
    a = ae.Assumptions(default=curves.cdr(0.05), severity=0.8, recovery_lag=3)
    with caplog.at_level(logging.INFO, logger="abs_engine.projection.engine"):
        cf = ae.project(late_pool(), a)
    current = ae.project(cohorts_of(cohort(0, 10_000.0, 0.12, 12)), a)
    H = current.n_periods
    late = np.zeros(cf.n_periods)
    late[:3] = [7_000.0, 2_000.0, 1_000.0]
    np.testing.assert_allclose(cf["default"][0, :H] - current["default"][0], late[:H], atol=1e-9)
    for f in ("interest", "scheduled_principal", "prepayment"):
        np.testing.assert_allclose(cf[f][0, :H], current[f][0], rtol=1e-12, err_msg=f)
    expected = {f: np.zeros(cf.n_periods) for f in COMPARED}
    for bal, b in ((1_000.0, 1), (2_000.0, 2), (3_000.0, 3), (4_000.0, 4)):
        one = ref.rolled_to_default(bal, b, cf.n_periods)
        for f in COMPARED:
            expected[f] += one[f]
    for f in ("dpd_1_30", "dpd_31_60", "dpd_61_90"):
        np.testing.assert_allclose(cf[f][0], expected[f], atol=1e-9, err_msg=f)
    rec, _ = ref.liquidate(list(late), 0.8, 3)
    np.testing.assert_allclose(cf["recovery"][0] - np.pad(current["recovery"][0], (0, cf.n_periods - H)),
                               rec, atol=1e-9)  # fmt: skip
    assert any(
        "rolled to default" in r.message and "3 receivables" in r.message for r in caplog.records
    )
    assert any("90+ days past due" in r.message for r in caplog.records)
    assert any("rolled to default" in n for n in cf.notes)


def test_delinquent_at_cutoff_excluded() -> None:
    """With exclude, the 1-90 days past due (6,000) are out: initial balance 14,000; the 90+
    (4,000) still default in month 1."""
    a = ae.Assumptions(default=curves.cdr(0.05), delinquent_at_cutoff="exclude")
    cf = ae.project(late_pool(), a)
    np.testing.assert_allclose(cf.initial_balance.sum(), 14_000.0)
    current = ae.project(cohorts_of(cohort(0, 10_000.0, 0.12, 12)), a)
    H = current.n_periods
    np.testing.assert_allclose(cf["default"][0, 0] - current["default"][0, 0], 4_000.0)
    np.testing.assert_allclose(cf["default"][0, 1:H], current["default"][0, 1:], rtol=1e-12)
    assert any("excluded as ineligible" in n for n in cf.notes)
    by_cohort = ae.project(late_pool(), a, by="cohort")
    assert by_cohort.array("begin_balance")[0, 1:4].sum() == 0  # excluded cohorts: nothing
    np.testing.assert_allclose(by_cohort.initial_balance, [10_000, 0, 0, 0, 4_000])


def test_delinquent_at_cutoff_under_advancing_and_cgl() -> None:
    """Every default model counts them: advancing (liquidated after the lag, no advances on
    them) and a cumulative-default curve (the CGL applies to the current receivables)."""
    adv = ae.Assumptions(default=curves.mdr(0.01), severity=0.5, recovery_lag=2, advancing=True)
    cf = ae.project(late_pool(), adv)
    current = ae.project(cohorts_of(cohort(0, 10_000.0, 0.12, 12)), adv)
    H = current.n_periods
    np.testing.assert_allclose(
        cf["default"][0, :3] - current["default"][0, :3], [7_000, 2_000, 1_000], atol=1e-9
    )
    np.testing.assert_allclose(
        cf["loss"][0, 2:5] - current["loss"][0, 2:5], [3_500, 1_000, 500], atol=1e-9
    )
    np.testing.assert_allclose(cf["advanced_interest"][0, :H], current["advanced_interest"][0])
    cgl = ae.Assumptions(default=curves.cumulative_default(0.1, [1, 1]))
    cf = ae.project(late_pool(), cgl)
    np.testing.assert_allclose(cf["default"][0, :3], [7_500, 2_500, 1_000], atol=1e-9)


def test_roll_rate_grades_start_in_their_bucket_and_90_plus_default_first() -> None:
    rr = ae.RollRates.from_rolls(0.0, 1.0, 1.0, 1.0)  # the late roll straight on, nobody new
    cf = ae.project(late_pool(), ae.Assumptions(roll_rates=rr))
    np.testing.assert_allclose(cf["default"][0, :3], [7_000, 2_000, 1_000], atol=1e-9)
    assert any("roll-rate pipeline" in n for n in cf.notes)


def test_toml_form_of_the_treatment() -> None:
    a = ae.curves.assumptions_from_dict({"delinquent_at_cutoff": "exclude"})
    assert isinstance(a, ae.Assumptions) and a.delinquent_at_cutoff == "exclude"
    assert a.to_dict()["delinquent_at_cutoff"] == "exclude"
    with pytest.raises(ae.SpecError, match="delinquent_at_cutoff"):
        ae.curves.assumptions_from_dict({"delinquent_at_cutoff": "drop"})
    with pytest.raises(ae.AssumptionError, match="roll"):
        ae.Assumptions(delinquent_at_cutoff="drop")  # type: ignore[arg-type]


def test_the_pool_report_says_which_treatment() -> None:
    from abs_engine.reports.html import Paragraph
    from abs_engine.reports.pool_sections import assumptions_frame, collateral_section

    a = ae.Assumptions(default=curves.cdr(0.05))
    section = collateral_section(ae.project(late_pool(), a, by="grade"))
    lines = [b.text for b in section.blocks if isinstance(b, Paragraph)]
    assert any(t.startswith("Delinquent at cut-off") and "rolled to default" in t for t in lines)
    assert assumptions_frame(a)["delinquent_at_cutoff"].iloc[0] == "rolled to default"
    excl = ae.Assumptions(delinquent_at_cutoff="exclude")
    assert assumptions_frame(excl)["delinquent_at_cutoff"].iloc[0] == "excluded (1-90 dpd)"
