"""Policy what-if: implied curves against an independent projection, the book, the funding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import abs_engine as ae
from abs_engine import curves
from abs_engine.errors import GradingError, SpecError
from abs_engine.grading import CreditLimit, GradeLimit
from abs_engine.policy import CURRENT, Policy, implied_assumptions, policy_whatif

FEATURES = ["pf_monthly_contribution", "pf_status", "pf_years", "pf_status_changes_12m"]


@pytest.fixture(scope="module")
def fitted() -> ae.scorecard.ScorecardFit:
    history = ae.scorecard.synthetic_applications(30_000, seed=4)
    return ae.scorecard.fit(history, "default_flag", FEATURES)


@pytest.fixture(scope="module")
def tape() -> pd.DataFrame:
    return ae.sample_pool(n=4_000, seed=7)


@pytest.fixture(scope="module")
def deal() -> ae.Deal:
    return ae.load_deal(ae.samples.path("baitiao_2015"))


@pytest.fixture(scope="module")
def whatif(
    fitted: ae.scorecard.ScorecardFit, tape: pd.DataFrame, deal: ae.Deal
) -> ae.policy.PolicyWhatIf:
    a, c = fitted.scorecard.thresholds
    return policy_whatif(
        tape,
        fitted,
        {"tighter": (a + 10, c + 10), "decline_c": Policy("x", min_score=c)},
        deal,
        sizing=False,
    )


def _one_cohort(
    grade: str, n: int, *, term: int = 12, payment_type: str = "equal_principal"
) -> pd.DataFrame:
    """n identical new receivables (age 0) of one grade."""
    return pd.DataFrame(
        {
            "loan_id": [f"{grade}{i:05d}" for i in range(n)],
            "grade": grade,
            "balance": 1_000.0,
            "rate": 0.12,
            "original_term": term,
            "remaining_term": term,
            "payment_type": payment_type,
            "age": 0,
        }
    )


def test_mixed_curves_reproduce_the_slices_projected_separately() -> None:
    """Independent reference: the projection engine run on the slices themselves.

    Grade X (600 receivables) and Y (400) are new, identical equal-principal loans with
    their own default and prepayment curves; the slices default 1.3x and 0.6x as often as
    their grades.  One grade G with the implied curves must give the same defaults and
    prepayments, month by month, as the two slices projected with their scaled curves.
    """
    base = {
        "X": ae.Assumptions(
            default=curves.vector([0.02, 0.04, 0.06, 0.08], "cdr"),
            prepay=curves.cpr(0.15),
            severity=0.8,
            recovery_lag=2,
        ),
        "Y": ae.Assumptions(
            default=curves.cdr(0.20),
            prepay=curves.vector([0.05, 0.10], "cpr"),
            severity=0.9,
            recovery_lag=4,
        ),
    }
    m = {"X": 1.3, "Y": 0.6}
    implied, table = implied_assumptions(
        base, {"G": {"X": 600_000.0, "Y": 400_000.0}}, {"G": m}, months=13
    )
    ages = np.arange(1, 14)
    sliced = ae.Assumptions.by_grade(
        {
            h: dataclasses.replace(
                a,
                default=curves.vector(np.minimum(1, m[h] * a.default.monthly_rates(ages)), "mdr"),
            )
            for h, a in base.items()
        }
    )
    separate = ae.project(
        ae.Pool.from_frame(
            pd.concat([_one_cohort("X", 600), _one_cohort("Y", 400)]), grades=("X", "Y")
        ),
        sliced,
    )
    mixed = ae.project(
        ae.Pool.from_frame(
            pd.concat([_one_cohort("G", 600), _one_cohort("G", 400)]).assign(
                loan_id=lambda f: [f"G{i:05d}" for i in range(len(f))]
            ),
            grades=("G",),
        ),
        implied["G"],
    )
    for f in ("default", "prepayment", "scheduled_principal", "end_balance", "interest"):
        assert_allclose(mixed[f][:, :12], separate[f][:, :12], rtol=1e-10, atol=1e-6)
    # severity weighted by expected defaulted balance: the losses agree in total
    assert_allclose(mixed["loss"].sum(), separate["loss"].sum(), rtol=2e-2)
    # the table's measures are per unit of a non-amortising receivable over the 13 months:
    # bullets of 13 months in the engine
    bullets = ae.Pool.from_frame(
        pd.concat(
            [_one_cohort(h, k, term=13, payment_type="bullet") for h, k in (("X", 600), ("Y", 400))]
        ),
        grades=("X", "Y"),
    )
    stressed = ae.project(bullets, sliced)["default"].sum()
    assert table.loc[0, "lifetime_default"] == pytest.approx(stressed / bullets.balance, rel=1e-9)
    plain = ae.project(bullets, ae.Assumptions.by_grade(base))["default"].sum()
    assert table.loc[0, "default_multiple"] == pytest.approx(stressed / plain, rel=1e-9)


def test_identity_mixture_returns_the_grade_curves() -> None:
    a = ae.Assumptions(
        default=curves.vector([0.01, 0.03], "cdr"),
        prepay=curves.cpr(0.1),
        severity=0.85,
        recovery_lag=3,
    )
    implied, _ = implied_assumptions({"A": a}, {"A": {"A": 5.0}}, {"A": {"A": 1.0}}, months=24)
    ages = np.arange(1, 40)
    assert_allclose(
        implied["A"].default.monthly_rates(ages), a.default.monthly_rates(ages), rtol=1e-12
    )
    assert_allclose(
        implied["A"].prepay.monthly_rates(ages), a.prepay.monthly_rates(ages), rtol=1e-12
    )
    assert implied["A"].severity == 0.85 and implied["A"].recovery_lag == 3


def test_mix_and_migration_tables(whatif: ae.policy.PolicyWhatIf, tape: pd.DataFrame) -> None:
    assert [p.name for p in whatif.policies] == [CURRENT, "tighter", "decline_c"]
    mix = whatif.mix.set_index(["policy", "grade"])
    for p in ("current", "tighter", "decline_c"):
        kept = mix.loc[p].drop(index="declined")
        assert kept["share"].sum() == pytest.approx(1.0)
        assert kept["receivables"].sum() + mix.loc[(p, "declined"), "receivables"] == len(tape)
    assert mix.loc[("current", "declined"), "receivables"] == 0
    # raising both thresholds moves borrowers down, never up
    mig = whatif.migration.set_index(["policy", "from_grade", "to_grade"])["balance"]
    assert mig.loc[("tighter", "B", "A")] == 0 and mig.loc[("tighter", "C", "B")] == 0
    assert mig.loc[("tighter", "A", "B")] > 0
    shares = whatif.migration.groupby(["policy", "from_grade"])["share"].sum()
    assert_allclose(shares.to_numpy(), 1.0)
    # declining below C's threshold removes grade C entirely
    assert mix.loc[("decline_c", "C"), "receivables"] == 0
    assert (
        mix.loc[("decline_c", "declined"), "receivables"]
        == mix.loc[("current", "C"), "receivables"]
    )
    # mean PD rises from grade to grade under every policy
    for p in ("current", "tighter"):
        assert mix.loc[p].drop(index="declined")["mean_pd"].is_monotonic_increasing


def test_current_policy_keeps_the_deal_curves(
    whatif: ae.policy.PolicyWhatIf, deal: ae.Deal
) -> None:
    cur = whatif.assumptions[CURRENT]
    for g in ("A", "B", "C"):
        assert cur.for_grade(g) == deal.assumptions.for_grade(g)
    assert whatif.deals[CURRENT].revolving == deal.revolving
    c = whatif.curves.set_index(["policy", "grade"])
    assert_allclose(c.loc["current", "default_multiple"], 1.0)


def test_regrading_alone_keeps_the_book_s_expected_loss(whatif: ae.policy.PolicyWhatIf) -> None:
    """Moving thresholds changes labels, not borrowers: the same book's expected loss moves
    only by the approximation of mixing curves for seasoned receivables (a few percent)."""
    f = whatif.funding.set_index("policy")
    assert f.loc["tighter", "balance"] == pytest.approx(f.loc["current", "balance"])
    assert f.loc["tighter", "expected_cnl"] == pytest.approx(
        f.loc["current", "expected_cnl"], rel=0.05
    )
    # the better new A and the worse C: tighter A defaults less than current A
    c = whatif.curves.set_index(["policy", "grade"])
    assert c.loc[("tighter", "A"), "lifetime_default"] < c.loc[("current", "A"), "lifetime_default"]
    assert c.loc[("tighter", "C"), "lifetime_default"] < c.loc[("current", "C"), "lifetime_default"]


def test_declining_the_worst_grade_lowers_losses_and_raises_break_evens(
    whatif: ae.policy.PolicyWhatIf,
) -> None:
    f = whatif.funding.set_index("policy")
    assert f.loc["decline_c", "declined_share"] > 0.1
    assert f.loc["decline_c", "expected_cnl"] < 0.8 * f.loc["current", "expected_cnl"]
    assert f.loc["decline_c", "breakeven_senior"] > f.loc["current", "breakeven_senior"]
    # the template no longer buys grade C
    assert all(line.grade != "C" for line in whatif.deals["decline_c"].revolving.template)  # type: ignore[union-attr]


@pytest.mark.slow
def test_funding_figures_are_the_analytics_of_the_policy_deal(
    fitted: ae.scorecard.ScorecardFit, tape: pd.DataFrame, deal: ae.Deal
) -> None:
    """The funding row is what ae.size / ae.run / ae.breakeven say of the policy's deal and book."""
    card = fitted.scorecard
    small = tape.iloc[:1_000]
    cut = card.thresholds[1]
    w = policy_whatif(
        small, card, [Policy("no_c", min_score=cut)], deal, targets={"senior": 20.0}, tolerance=1e-3
    )
    f = w.funding.set_index("policy")
    graded = ae.grade(small, card)
    for name, keep in (
        ("current", np.ones(len(small), dtype=bool)),
        ("no_c", graded["score"].to_numpy() >= cut),
    ):
        sized = w.sizings[name]
        assert (
            f.loc[name, "advance_rate"],
            f.loc[name, "cost_of_funds"],
            f.loc[name, "equity_irr"],
        ) == (
            sized.advance_rate,
            sized.cost_of_debt,
            sized.equity_irr,
        )
        book = graded.loc[keep].drop(
            columns=["score", "credit_limit", "reason_1", "reason_2", "reason_3"]
        )
        pool = ae.Pool.from_frame(book)
        assert f.loc[name, "balance"] == pytest.approx(pool.balance)
        # the sized senior survives its target; as structured, the break-even is ae.breakeven's
        be_sized = ae.breakeven(sized.deal, pool, ["senior"]).set_index("tranche")
        assert be_sized.loc["senior", "breakeven"] >= 20.0 - 0.05
        be = ae.breakeven(w.deals[name], pool).set_index("tranche")
        assert f.loc[name, "breakeven_senior"] == be.loc["senior", "breakeven"]
        eq = ae.run(w.deals[name], pool).summary().query("`class` == 'equity'")
        assert f.loc[name, "equity_yield_as_structured"] == pytest.approx(
            float(eq["yield"].iloc[0]), nan_ok=True
        )
    # a better book funds at least as much senior debt
    assert f.loc["no_c", "advance_rate"] >= f.loc["current", "advance_rate"] - 1e-3
    table = w.comparison()
    assert list(table.columns) == ["current", "no_c"]
    assert {"advance_rate", "cost_of_funds", "equity_irr", "breakeven_senior"} <= set(table.index)


def test_credit_limits_cap_balances(
    fitted: ae.scorecard.ScorecardFit, tape: pd.DataFrame, deal: ae.Deal
) -> None:
    card = fitted.scorecard
    low = CreditLimit(
        tuple(GradeLimit(g, 1.0, 500.0, 2_000.0) for g in card.grades), card.credit_limit.column
    )
    w = policy_whatif(tape, card, [Policy("low_limits", credit_limit=low)], deal, sizing=False)
    f = w.funding.set_index("policy")
    assert f.loc["low_limits", "balance"] < 0.8 * f.loc["current", "balance"]
    assert f.loc["low_limits", "receivables"] == f.loc["current", "receivables"]


def test_card_without_scaling_uses_a_history(tape: pd.DataFrame, deal: ae.Deal) -> None:
    card = ae.load_scorecard(None)  # the hand-written default: no [scaling]
    with pytest.raises(GradingError, match="states no \\[scaling\\]"):
        policy_whatif(tape, card, {"t": (660, 590)}, deal, sizing=False)
    history = ae.scorecard.synthetic_applications(5_000, seed=2)
    w = policy_whatif(
        tape, card, {"t": (660, 590)}, deal, history=history, target="default_flag", sizing=False
    )
    mix = w.mix.set_index(["policy", "grade"])
    assert mix.loc[("t", "A"), "mean_pd"] < mix.loc[("t", "C"), "mean_pd"]


def test_bad_policies_are_errors(
    fitted: ae.scorecard.ScorecardFit, tape: pd.DataFrame, deal: ae.Deal
) -> None:
    card = fitted.scorecard
    with pytest.raises(SpecError, match="thresholds must decrease"):
        policy_whatif(tape, card, {"wrong": (500, 600)}, deal, sizing=False)
    with pytest.raises(SpecError, match="appears twice"):
        policy_whatif(tape, card, {"current": (600, 500)}, deal, sizing=False)
    with pytest.raises(SpecError, match="at least one alternative"):
        policy_whatif(tape, card, None, deal, sizing=False)
    with pytest.raises(GradingError, match="declines every receivable"):
        policy_whatif(tape, card, [Policy("none", min_score=10_000)], deal, sizing=False)
    other = dataclasses.replace(
        deal, pool=dataclasses.replace(deal.pool, grades=("A", "B")), spec=None
    )
    with pytest.raises(SpecError, match="pool grades"):
        policy_whatif(tape, card, {"t": (600, 500)}, other, sizing=False)


def test_policy_section_renders_aggregates(
    whatif: ae.policy.PolicyWhatIf, tape: pd.DataFrame
) -> None:
    from abs_engine.reports.html import Report
    from abs_engine.reports.policy import comparison_frame, policy_section

    table = comparison_frame(whatif)
    assert list(table.columns) == ["measure", "current", "tighter", "decline_c"]
    assert table["measure"].str.startswith("Break-even default multiple").any()
    html = Report("What-if", [policy_section(whatif)]).render(include_plotlyjs=False)
    assert 'id="policy-comparison"' in html
    ae.reports.assert_no_identifiers(html, tape["loan_id"], fields=())


def test_infeasible_sizing_is_reported_not_raised(
    fitted: ae.scorecard.ScorecardFit,
    tape: pd.DataFrame,
    deal: ae.Deal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from abs_engine.errors import SizingError
    from abs_engine.policy import whatif as module

    def no_room(*_: object, **__: object) -> None:
        raise SizingError("no room for mezzanine")

    monkeypatch.setattr(module, "size", no_room)
    w = policy_whatif(
        tape.iloc[:500], fitted, [Policy("p", min_score=fitted.scorecard.thresholds[1])], deal
    )
    f = w.funding.set_index("policy")
    assert f["advance_rate"].isna().all()
    assert f.loc["p", "sizing_note"] == "infeasible: no room for mezzanine"
    assert np.isfinite(f["breakeven_senior"]).all()
