"""Validation measures against published values and brute-force references."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abs_engine.errors import GradingError
from abs_engine.grading.fitting import fit
from abs_engine.grading.synthetic import synthetic_applications
from abs_engine.grading.validation import _auc_se, auc, ks, split_sample, validate, wilson_interval

TARGET = "default_flag"


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0000),
    ],
)
def test_wilson_interval_matches_newcombe_1998(x: int, n: int, low: float, high: float) -> None:
    """Newcombe RG, Two-sided confidence intervals for the single proportion: comparison of
    seven methods, Statistics in Medicine 17 (1998) 857-872, Table I, method 3 (score)."""
    lo, hi = wilson_interval(x, n, 0.95)
    assert_allclose([float(lo), float(hi)], [low, high], atol=5e-5)


def test_auc_standard_error_matches_the_spread_of_simulated_aucs() -> None:
    """Hanley & McNeil (Radiology 143, 1982, eq. 2) derive Q1 and Q2 for exponential
    scores, where the formula is exact: the SE must match the standard deviation of the
    AUC over repeated samples (300 non-defaults scoring Exp(mean 3) against 40 defaults
    scoring Exp(mean 1), true AUC 3/4).  The groups are unequal, so swapping their roles
    in the formula (SE 0.046) would fail."""
    rng = np.random.default_rng(0)
    ng, nb = 300, 40
    y = np.r_[np.zeros(ng), np.ones(nb)].astype(bool)
    draws = [
        auc(np.r_[3 * rng.exponential(size=ng), rng.exponential(size=nb)], y) for _ in range(3000)
    ]
    assert_allclose(np.mean(draws), 0.75, atol=0.003)
    assert_allclose(_auc_se(0.75, ng, nb), np.std(draws), rtol=0.05)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=30).filter(
        lambda r: any(b for _, b in r) and not all(b for _, b in r)
    )
)
def test_auc_and_ks_equal_brute_force(rows: list[tuple[int, bool]]) -> None:
    score = np.array([float(s) for s, _ in rows])
    bad = np.array([b for _, b in rows])
    pairs = [
        1.0 if g > b else 0.5 if g == b else 0.0
        for g, b in itertools.product(score[~bad], score[bad])
    ]
    assert_allclose(auc(score, bad), np.mean(pairs), rtol=1e-12)
    gaps = [abs((score[bad] <= t).mean() - (score[~bad] <= t).mean()) for t in np.unique(score)]
    stat, where = ks(score, bad)
    assert_allclose(stat, max(gaps), rtol=1e-12)
    assert abs((score[bad] <= where).mean() - (score[~bad] <= where).mean()) == pytest.approx(stat)


@pytest.fixture(scope="module")
def validation() -> tuple[object, pd.DataFrame]:
    history = synthetic_applications(60_000, seed=21)
    dev, test = split_sample(history, time_column="application_month", test_share=0.3)
    return validate(fit(dev, TARGET), test, TARGET), test


def test_time_split_holds_out_the_latest_months() -> None:
    history = synthetic_applications(12_000, seed=3, months=10)
    dev, test = split_sample(history, time_column="application_month", test_share=0.3)
    assert dev["application_month"].max() < test["application_month"].min()
    assert len(test) / len(history) == pytest.approx(0.3, abs=0.06)
    a, b = split_sample(history, test_share=0.25, seed=1)
    assert len(b) == 3_000 and len(a) == 9_000
    assert set(a["applicant_id"]).isdisjoint(b["applicant_id"])


@pytest.mark.parametrize(
    "as_periods",
    [
        pytest.param(lambda m: m, id="integers 1..12"),
        pytest.param(lambda m: m * 1.0, id="floats"),
        pytest.param(lambda m: 201600 + m, id="yyyymm"),
        pytest.param(
            lambda m: pd.Timestamp("2016-01-01") + pd.to_timedelta(31 * m, "D"), id="dates"
        ),
        pytest.param(lambda m: f"2016-{m:02d}", id="ISO text"),
    ],
)
def test_time_split_orders_periods_by_value(as_periods: object) -> None:
    """The held-out periods are the latest by value: with integer months 1..12 as text,
    "9" > "12" and months 7-9 were held out while 10-12 were developed on (the
    validation of an out-of-time sample was silently on a middle one)."""
    history = synthetic_applications(6_000, seed=5, months=12)
    month = history["application_month"].rank(method="dense").astype(int)  # 1..12
    history["period"] = month.map(as_periods)  # type: ignore[arg-type]
    dev, test = split_sample(history, time_column="period", test_share=0.3)
    held = sorted(set(month[history["applicant_id"].isin(test["applicant_id"])]))
    assert held == list(range(13 - len(held), 13))  # the last months, whole
    assert 2 <= len(held) <= 5
    assert dev["period"].max() < test["period"].min()


def test_validation_tables(validation: tuple[object, pd.DataFrame]) -> None:
    v, test = validation
    s = v.summary  # type: ignore[attr-defined]
    y = test[TARGET].to_numpy()
    assert s["rows"] == len(test) and s["defaults"] == y.sum()
    assert s["gini"] == pytest.approx(2 * s["auc"] - 1)
    assert s["auc_low"] < s["auc"] < s["auc_high"]
    grades = v.grades  # type: ignore[attr-defined]
    assert list(grades.index) == ["A", "B", "C"]
    assert grades["count"].sum() == len(test)
    assert v.monotone  # type: ignore[attr-defined]
    assert (np.diff(grades["default_rate"].to_numpy()) > 0).all()
    assert (grades["ci_low"] < grades["default_rate"]).all()
    assert (grades["default_rate"] < grades["ci_high"]).all()
    cal = v.calibration  # type: ignore[attr-defined]
    assert cal["count"].sum() == len(test)
    assert cal["defaults"].sum() == y.sum()
    # the predicted PD of a band is the mean of PD(score) over its rows
    card = v.scorecard  # type: ignore[attr-defined]
    from abs_engine.grading import grade

    score = grade(test, card)["score"].to_numpy()
    band0 = (score >= cal["score_low"].iloc[0]) & (score <= cal["score_high"].iloc[0])
    assert cal["predicted_pd"].iloc[0] == pytest.approx(card.scaling.pd(score[band0]).mean())
    assert cal["default_rate"].iloc[0] == pytest.approx(y[band0].mean())
    assert np.isfinite(s["hosmer_lemeshow"])
    iv = v.information_value  # type: ignore[attr-defined]
    assert list(iv["factor"])[:2] == ["pf_monthly_contribution", "pf_status"]
    assert (iv["development_iv"] > 0).all()
    chars = v.characteristics  # type: ignore[attr-defined]
    assert chars.groupby("factor")["count"].sum().eq(len(test)).all()
    roc = v.roc  # type: ignore[attr-defined]
    assert roc["false_positive_rate"].is_monotonic_increasing
    assert roc["true_positive_rate"].iloc[-1] == pytest.approx(1.0)


def test_a_calibrated_card_passes_the_calibration_checks(
    validation: tuple[object, pd.DataFrame],
) -> None:
    """Labels drawn from the card's own PD(score) are calibrated by construction: the
    Hosmer-Lemeshow test should not reject and most bands hold the prediction in their
    95% interval.  Labels drawn at twice the odds are not, and the test sees it."""
    v, test = validation
    from abs_engine.grading import grade

    card = v.scorecard  # type: ignore[attr-defined]
    p = card.scaling.pd(grade(test, card)["score"].to_numpy())
    rng = np.random.default_rng(5)
    fair = validate(card, test.assign(default_flag=(rng.random(len(test)) < p).astype(int)), TARGET)
    assert fair.summary["hosmer_lemeshow_p"] > 0.001
    assert fair.calibration["within_ci"].mean() >= 0.7
    worse = 2 * p / (1 + p)  # odds doubled
    off = validate(
        card, test.assign(default_flag=(rng.random(len(test)) < worse).astype(int)), TARGET
    )
    assert off.summary["hosmer_lemeshow_p"] < 1e-6
    assert (off.calibration["default_rate"] > off.calibration["predicted_pd"]).all()


def test_non_monotone_grades_are_reported(
    validation: tuple[object, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    v, test = validation
    import dataclasses

    card = v.scorecard  # type: ignore[attr-defined]
    # thresholds far apart leave B with a handful of top-scoring borrowers
    s_max = card.score_range[1]
    odd = dataclasses.replace(card, thresholds=(s_max + 1, card.thresholds[1]))
    w = validate(odd, test, TARGET)
    assert w.grades.loc["A", "count"] == 0
    assert not w.monotone
    assert "not monotone" in caplog.text


def test_validation_needs_labels_and_grades() -> None:
    h = synthetic_applications(3_000, seed=2)
    f = fit(h, TARGET)
    with pytest.raises(GradingError, match="non-empty"):
        validate(f, h.iloc[:0], TARGET)
    with pytest.raises(GradingError, match="no target column 'defaulted' in the validation sample"):
        validate(f, h, "defaulted")
    with pytest.raises(GradingError, match="needs both"):
        auc([1.0, 2.0], [0, 0])
