"""Fitting a scorecard on a synthetic history with a known logistic default model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, special

import abs_engine as ae
from abs_engine.errors import GradingError, SpecError
from abs_engine.grading import Scaling, grade, load_scorecard
from abs_engine.grading.fitting import CutoffRule, cutoffs_for, fit, logistic_regression
from abs_engine.grading.synthetic import TRUE_MODEL, synthetic_applications
from abs_engine.grading.validation import auc, split_sample, validate

TARGET = "default_flag"


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return synthetic_applications(80_000, seed=17)


@pytest.fixture(scope="module")
def split(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_sample(history, test_share=0.4, seed=3)


@pytest.fixture(scope="module")
def fitted(split: tuple[pd.DataFrame, pd.DataFrame]) -> ae.scorecard.ScorecardFit:
    return fit(split[0], TARGET)


def _population_iv(fitted: ae.scorecard.ScorecardFit, sample: pd.DataFrame) -> dict[str, float]:
    """IV of each attribute on the fit's bins with the *true* PDs as expected goods and bads.

    goods_i = sum of (1 - PD) and bads_i = sum of PD over the bin: the IV the model would
    show on an infinite sample, free of the label noise of any one draw.
    """
    pd_true = TRUE_MODEL.pd(sample)
    out = {}
    for col, b in fitted.binnings.items():
        idx = b.assign(sample[col])
        idx = np.where(idx < 0, b.n_bins, idx)
        bads = np.bincount(idx, weights=pd_true, minlength=b.n_bins + 1)
        goods = np.bincount(idx, weights=1 - pd_true, minlength=b.n_bins + 1)
        keep = (bads > 0) & (goods > 0)
        g, bb = goods[keep] / goods.sum(), bads[keep] / bads.sum()
        out[col] = float(((g - bb) * np.log(g / bb)).sum())
    return out


def test_fit_recovers_the_ordering_of_attributes_by_information_value(
    fitted: ae.scorecard.ScorecardFit,
) -> None:
    truth = _population_iv(fitted, synthetic_applications(200_000, seed=99))
    informative = [c for c, v in sorted(truth.items(), key=lambda kv: -kv[1]) if v >= 0.02]
    assert informative == [
        "pf_monthly_contribution",
        "pf_status",
        "pf_years",
        "pf_status_changes_12m",
        "spend_volatility",
    ]
    fitted_order = list(fitted.information_value["feature"])
    assert fitted_order[: len(informative)] == informative
    # the attributes without effect in the true model are left out
    left_out = fitted.information_value.set_index("feature").loc[
        ["spend_avg_6m", "spend_last_month"]
    ]
    assert not left_out["selected"].any()
    assert (left_out["iv"] < 0.02).all()
    assert fitted.selected == tuple(informative)


def test_out_of_sample_auc_within_two_points_of_the_true_model(
    fitted: ae.scorecard.ScorecardFit, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    test = split[1]
    y = test[TARGET].to_numpy()
    true_auc = auc(-test["true_pd"].to_numpy(), y)  # higher score = safer
    card_auc = validate(fitted, test, TARGET).auc
    assert true_auc - 0.02 <= card_auc <= true_auc + 0.005
    assert 0.73 < true_auc < 0.78


def test_coefficients_match_an_independent_optimiser(
    fitted: ae.scorecard.ScorecardFit, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    dev = split[0]
    X = np.column_stack(
        [np.ones(len(dev))] + [fitted.binnings[c].transform(dev[c]) for c in fitted.selected]
    )
    y = dev[TARGET].to_numpy(dtype=float)

    def nll(beta: np.ndarray) -> float:
        eta = X @ beta
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta))

    def grad(beta: np.ndarray) -> np.ndarray:
        return X.T @ (special.expit(X @ beta) - y)

    ref = optimize.minimize(
        nll, np.zeros(X.shape[1]), jac=grad, method="BFGS", options={"gtol": 1e-8}
    )
    assert_allclose(fitted.coefficients["coefficient"].to_numpy(), ref.x, rtol=0, atol=1e-4)
    assert (fitted.coefficients["coefficient"].to_numpy()[1:] < 0).all()  # WoE is good-over-bad


def test_points_are_the_scaled_log_odds_of_the_model(
    fitted: ae.scorecard.ScorecardFit, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """score = offset + factor ln(odds): points = -factor b_j WoE_jk, base = offset - factor b_0."""
    card, s = fitted.scorecard, fitted.scaling
    assert s == Scaling(600, 50, 20)
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    coef = fitted.coefficients.set_index("feature")["coefficient"]
    # spend_volatility is a platform column, so optional: its points are centred on their
    # development average and the shift moves into the base points
    shift = {}
    for f in card.factors:
        b = fitted.binnings[f.column]
        expected = [round(-factor * coef[f.column] * w) for w in b.woe]
        got = (
            list(f.points)
            if f.kind == "numeric"
            else [f.points[f.categories.index(g[0])] for g in b.groups]
        )
        shift[f.column] = expected[0] - got[0]
        assert [e - shift[f.column] for e in expected] == got
        if f.required:
            assert shift[f.column] == 0
        else:
            counts = b.goods + b.bads
            assert abs(float(counts @ np.asarray(got)) / counts.sum()) <= 0.5 + 1e-9
    assert not {f.column: f for f in card.factors}["spend_volatility"].required
    assert card.base_points == round(offset - factor * coef["intercept"]) + sum(shift.values())
    test = split[1]
    eta = (
        np.column_stack(
            [np.ones(len(test))] + [fitted.binnings[c].transform(test[c]) for c in fitted.selected]
        )
        @ coef.to_numpy()
    )
    exact = offset - factor * eta
    score = grade(test, card)["score"].to_numpy()
    assert np.max(np.abs(score - exact)) <= 0.5 * (len(card.factors) + 1)


def test_fitted_card_round_trips_toml_and_grades_identically(
    fitted: ae.scorecard.ScorecardFit, tmp_path: Path
) -> None:
    path = fitted.to_toml(tmp_path / "card.toml")
    loaded = load_scorecard(path)
    assert loaded == fitted.scorecard
    assert ae.Scorecard.from_dict(loaded.to_dict()) == loaded
    assert path.read_text().startswith("# Scorecard fitted by abs_engine")
    tape = ae.sample_pool(n=3_000, seed=4)  # a real tape: PF columns, no platform columns
    assert grade(tape, loaded)["score"].notna().all()  # the optional factor scores 0
    tape["spend_volatility"] = np.round(np.random.default_rng(1).gamma(2.0, 0.3, len(tape)), 2)
    in_memory = grade(tape, fitted.scorecard)
    from_file = grade(tape, loaded)
    pd.testing.assert_frame_equal(in_memory, from_file)
    # ... and identically to the fit's own bins-and-points path
    assert_allclose(fitted.score(tape), in_memory["score"].to_numpy(), rtol=0, atol=0)
    assert in_memory["grade"].nunique() == 3


def test_cutoffs_by_population_share(
    fitted: ae.scorecard.ScorecardFit, split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    dev = split[0]
    share = (
        grade(dev, fitted.scorecard)["grade"].value_counts(normalize=True).reindex(["A", "B", "C"])
    )
    # scores are whole points, so the split lands within a score's worth of the target
    assert_allclose(share.to_numpy(), [0.5, 0.3, 0.2], atol=0.04)
    assert fitted.cutoff_rule == CutoffRule.shares(A=0.5, B=0.3, C=0.2)


def test_cutoffs_by_share_on_a_hand_example() -> None:
    scores = np.repeat([700.0, 650.0, 600.0, 550.0, 500.0], [10, 20, 30, 25, 15])
    # share at or above: 700 10%, 650 30%, 600 60%, 550 85%, 500 100%
    rule = CutoffRule.shares(A=0.3, B=0.5, C=0.2)
    assert cutoffs_for(scores, rule, ("A", "B", "C"), None) == (650.0, 550.0)


def test_cutoffs_by_target_default_rate_on_a_hand_example() -> None:
    """PD by scaling (600 at 50:1, 20 pdo): PD(640) = 1/201, PD(620) = 1/101, PD(600) = 1/51,
    PD(580) = 2/52 = 1/26, PD(560) = 1/13.5.

    100 rows at each score.  A at <= 1%: slices from the top have mean PD 0.4975%, then
    (1/201 + 1/101) / 2 = 0.7437%, then 1.1516% > 1%: A is 640 and 620, threshold 620.
    B at <= 3%: 600 alone 1.9608%, with 580 (1.9608 + 3.8462) / 2 = 2.9035%, with 560
    (1.9608 + 3.8462 + 7.4074) / 3 = 4.4048% > 3%: threshold 580.  C takes 560.
    """
    s = Scaling(600, 50, 20)
    scores = np.repeat([640.0, 620.0, 600.0, 580.0, 560.0], 100)
    assert_allclose(
        s.pd([640, 620, 600, 580, 560]), [1 / 201, 1 / 101, 1 / 51, 1 / 26, 1 / 13.5], rtol=1e-12
    )
    rule = CutoffRule.default_rates(A=0.01, B=0.03)
    assert cutoffs_for(scores, rule, ("A", "B", "C"), s) == (620.0, 580.0)
    with pytest.raises(GradingError, match="raise the target"):
        cutoffs_for(scores, CutoffRule.default_rates(A=0.004, B=0.03), ("A", "B", "C"), s)


def test_fit_with_a_default_rate_rule(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    dev = split[0]
    f = fit(dev, TARGET, cutoffs=CutoffRule.default_rates(A=0.03, B=0.08))
    g = grade(dev, f.scorecard)
    predicted = pd.Series(f.scaling.pd(g["score"].to_numpy())).groupby(g["grade"].to_numpy()).mean()
    assert predicted["A"] <= 0.03
    assert predicted["B"] <= 0.08


def test_scaling_formulas() -> None:
    s = Scaling(600, 50, 20)
    assert_allclose(s.factor, 20 / math.log(2))
    assert_allclose(s.odds([600, 620, 580]), [50, 100, 25], rtol=1e-12)
    assert_allclose(s.score(s.pd([123.0, 600.0, 777.0])), [123.0, 600.0, 777.0], rtol=1e-9)
    with pytest.raises(SpecError, match="pdo"):
        Scaling(600, 50, 0)


def test_scaling_round_trips_in_the_scorecard_toml() -> None:
    base = load_scorecard(None)
    assert base.scaling is None and "scaling" not in base.to_dict()
    data = base.to_dict() | {"scaling": {"base_score": 500, "base_odds": 20, "pdo": 40}}
    card = ae.Scorecard.from_dict(data)
    assert card.scaling == Scaling(500, 20, 40)
    with pytest.raises(SpecError, match=r"scaling\.pod"):
        ae.Scorecard.from_dict(
            base.to_dict() | {"scaling": {"base_score": 5, "base_odds": 2, "pod": 4}}
        )


def test_irls_on_a_hand_checkable_case() -> None:
    """Two groups without covariates: the MLE is the group log-odds exactly.

    Group 0: 20 defaults in 100; group 1: 5 in 100.  logit = b0 + b1 x, so
    b0 = ln(20/80) and b0 + b1 = ln(5/95).
    """
    x = np.repeat([0.0, 1.0], 100)
    y = np.concatenate([np.r_[np.ones(20), np.zeros(80)], np.r_[np.ones(5), np.zeros(95)]])
    res = logistic_regression(np.column_stack([np.ones(200), x]), y)
    assert_allclose(res.coef, [math.log(0.25), math.log(5 / 95) - math.log(0.25)], atol=1e-10)
    # SE of a log-odds ratio: sqrt(1/20 + 1/80 + 1/5 + 1/95)
    assert_allclose(res.std_error[1], math.sqrt(1 / 20 + 1 / 80 + 1 / 5 + 1 / 95), rtol=1e-8)


def test_fit_errors_name_the_problem(history: pd.DataFrame) -> None:
    small = history.iloc[:2_000]
    with pytest.raises(GradingError, match="did you mean 'default_flag'"):
        fit(small, "default_flg")
    with pytest.raises(GradingError, match=r"'pf_year' is not a column.*did you mean 'pf_years'"):
        fit(small, TARGET, ["pf_year"])
    bad = small.assign(default_flag=small[TARGET].replace(1, 2))
    with pytest.raises(GradingError, match="must be 0 \\(repaid\\) or 1"):
        fit(bad, TARGET)
    with pytest.raises(GradingError, match="holds only non-defaults"):
        fit(small.assign(default_flag=0), TARGET)
    with pytest.raises(GradingError, match="no attribute reaches"):
        fit(small, TARGET, ["spend_avg_6m"], min_iv=0.5)
    with pytest.raises(SpecError, match="sum to 1"):
        CutoffRule.shares(A=0.5, B=0.3, C=0.3)
    with pytest.raises(SpecError, match="must rise"):
        CutoffRule.default_rates(A=0.05, B=0.03)


def test_optional_and_categorical_features(history: pd.DataFrame) -> None:
    f = fit(
        history.iloc[:30_000],
        TARGET,
        ["pf_monthly_contribution", "pf_status", "pf_status_changes_12m", "spend_volatility"],
        categorical=["pf_status_changes_12m"],
        optional=["spend_volatility"],
        names={"pf_monthly_contribution": "pf_contribution"},
        reasons={"pf_status": "PF_STATUS_NOT_NORMAL"},
    )
    card = f.scorecard
    by_col = {x.column: x for x in card.factors}
    assert by_col["pf_status_changes_12m"].kind == "category"
    assert not by_col["spend_volatility"].required
    assert by_col["pf_monthly_contribution"].name == "pf_contribution"
    assert by_col["pf_status"].reason == "PF_STATUS_NOT_NORMAL"
    assert by_col["pf_status"].missing.reason == "PF_STATUS_NOT_NORMAL_MISSING"
    tape = ae.sample_pool(n=500, seed=2)  # no spend_volatility column: the factor scores 0
    assert grade(tape, card)["score"].notna().all()


def test_synthetic_history_is_reproducible() -> None:
    a = synthetic_applications(1_000, seed=8)
    b = synthetic_applications(1_000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(synthetic_applications(1_000, seed=9))
    assert_allclose(a["true_pd"], TRUE_MODEL.pd(a))
    none = a["pf_status"] == "none"
    assert (a.loc[none, "pf_monthly_contribution"] == 0).all()
