"""PSI and CSI: self-comparison, formulas by hand, thresholds, baselines."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from abs_engine.errors import GradingError, SpecError
from abs_engine.grading import Factor, Rule, Scorecard, load_scorecard
from abs_engine.grading.fitting import fit
from abs_engine.grading.monitor import (
    Baseline,
    factor_bins,
    psi,
    psi_table,
    stability,
    stability_status,
)
from abs_engine.grading.synthetic import synthetic_applications


def test_psi_of_a_sample_against_itself_is_zero() -> None:
    assert psi([10, 20, 30, 40], [10, 20, 30, 40]) == 0.0
    assert psi([1, 2, 3], [100, 200, 300]) == pytest.approx(0.0, abs=1e-15)  # shares, not counts
    card = load_scorecard(None)
    tape = synthetic_applications(5_000, seed=1)
    s = stability(card, tape, tape)
    assert s.psi == 0.0
    values = s.summary.set_index("item")["value"]
    assert (values.drop("repayment_history") == 0.0).all()
    assert np.isnan(values["repayment_history"])  # no max_dpd_12m column: no CSI
    assert s.status == "stable" and s.warnings == ()


def test_psi_of_a_shifted_sample_matches_the_formula_by_hand() -> None:
    """Expected shares 25% each; actual 10/20/30/40%.

    PSI = sum (a - e) ln(a / e)
        = -0.15 ln 0.4 - 0.05 ln 0.8 + 0.05 ln 1.2 + 0.15 ln 1.6
        = 0.1374436 + 0.0111572 + 0.0091161 + 0.0705005 = 0.2282174
    """
    by_hand = (
        -0.15 * math.log(0.4) - 0.05 * math.log(0.8) + 0.05 * math.log(1.2) + 0.15 * math.log(1.6)
    )
    assert_allclose(by_hand, 0.2282174, atol=5e-8)
    assert_allclose(psi([25, 25, 25, 25], [10, 20, 30, 40]), by_hand, rtol=1e-12)
    t = psi_table([25, 25, 25, 25], [10, 20, 30, 40], ["a", "b", "c", "d"])
    assert_allclose(t["psi"], [0.1374436, 0.0111572, 0.0091161, 0.0705005], atol=5e-8)
    assert stability_status(by_hand) == "monitor"


def test_an_empty_bin_uses_the_floor() -> None:
    # e = (0.5, 0.5, 0), a = (0.5, 0.4, 0.1): the empty expected share becomes 0.0001
    expected = 0.1 * math.log(0.4 / 0.5) * -1 + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert_allclose(psi([50, 50, 0], [50, 40, 10]), expected, rtol=1e-12)


def _one_factor_card() -> Scorecard:
    base = load_scorecard(None)
    f = Factor(
        name="contribution",
        column="pf_monthly_contribution",
        points=(0.0, 20.0, 40.0),
        reason="PF_CONTRIBUTION_LOW",
        missing=Rule(0.0, "PF_CONTRIBUTION_MISSING"),
        edges=(500.0, 1000.0),
        min=0.0,
    )
    return Scorecard("one", (f,), base.grades, (40.0, 20.0), base.credit_limit)


def test_stability_of_a_one_factor_card_by_hand(caplog: pytest.LogCaptureFixture) -> None:
    """One factor, bins < 500 / [500, 1000) / >= 1000 scoring 0 / 20 / 40, grades C / B / A.

    Development: 100 rows in each bin.  Current: 50, 100, 150 and 20 empty cells (which
    score 0, like the first bin).  Score bands are the development's three distinct scores.
    Score PSI, expected 1/3 each, actual (50 + 20, 100, 150) / 320:
        (70/320 - 1/3) ln((70/320)/(1/3)) + (100/320 - 1/3) ln(...) + (150/320 - 1/3) ln(...)
    CSI: bins 1/3, 1/3, 1/3, 0 (missing, floored), 0 (invalid, dropped) against 50, 100, 150, 20
    of 320.
    """
    card = _one_factor_card()
    dev = pd.DataFrame({"pf_monthly_contribution": np.repeat([100.0, 700.0, 1500.0], 100)})
    cur = pd.DataFrame(
        {
            "pf_monthly_contribution": np.r_[
                np.repeat([100.0, 700.0, 1500.0], [50, 100, 150]), [np.nan] * 20
            ]
        }
    )
    with caplog.at_level(logging.WARNING):
        s = stability(card, dev, cur)
    e = 1 / 3
    a = np.array([70, 100, 150]) / 320
    score_psi = float(((a - e) * np.log(a / e)).sum())
    assert_allclose(s.psi, score_psi, rtol=1e-12)
    assert_allclose(s.summary.set_index("item").loc["grade", "value"], score_psi, rtol=1e-12)
    ac = np.array([50, 100, 150, 20]) / 320
    ec = np.array([e, e, e, 1e-4])
    csi = float(((ac - ec) * np.log(ac / ec)).sum())
    assert_allclose(s.csi()["contribution"], csi, rtol=1e-12)
    assert list(s.characteristics["bin"]) == ["< 500", "[500, 1000)", ">= 1000", "missing"]
    assert csi >= 0.1 and s.status in ("monitor", "shift")
    assert any("CSI of factor 'contribution'" in w for w in s.warnings)
    assert "CSI of factor 'contribution'" in caplog.text
    assert "pf_monthly_contribution" not in caplog.text


def test_factor_bins_follow_the_grading_convention() -> None:
    f = _one_factor_card().factors[0]
    idx = factor_bins(f, pd.Series([499.99, 500.0, 999.0, 1000.0, np.nan, -5.0, "x"], dtype=object))
    assert list(idx) == [0, 1, 1, 2, 3, 4, 4]  # on an edge: upper bin; empty 3; invalid 4


def test_drifting_population_raises_warnings_and_stable_one_does_not() -> None:
    dev = synthetic_applications(30_000, seed=4)
    f = fit(dev, "default_flag")
    same = synthetic_applications(10_000, seed=5)
    moved = synthetic_applications(10_000, seed=6, drift=1.2, months=2).query(
        "application_month == '2016-02'"
    )
    calm = stability(f.scorecard, f.baseline, same)
    assert calm.status == "stable"
    assert calm.psi < 0.02
    shifted = stability(f.scorecard, f.baseline, moved)
    assert shifted.psi >= 0.1
    csi = shifted.csi()
    assert csi["pf_monthly_contribution"] >= 0.25
    assert csi["pf_years"] < 0.1  # years do not drift
    assert shifted.status == "shift"
    assert shifted.warnings


def test_baseline_from_a_frame_equals_the_fit_baseline_and_round_trips() -> None:
    dev = synthetic_applications(8_000, seed=2)
    f = fit(dev, "default_flag")
    b = Baseline.from_frame(f.scorecard, dev)
    assert b.to_dict() == f.baseline.to_dict()
    again = Baseline.from_dict(json.loads(json.dumps(b.to_dict())))
    assert again.to_dict() == b.to_dict()
    cur = synthetic_applications(3_000, seed=3)
    pd.testing.assert_frame_equal(
        stability(f.scorecard, again, cur).summary, stability(f.scorecard, dev, cur).summary
    )
    assert sum(b.score_counts) == len(dev)
    with pytest.raises(SpecError, match="unknown key"):
        Baseline.from_dict({**b.to_dict(), "rows": 1})


def test_absent_optional_column_gives_no_csi() -> None:
    card = load_scorecard(None)  # platform factors are optional
    dev = synthetic_applications(3_000, seed=2)
    cur = dev.drop(columns=["spend_avg_6m", "spend_volatility"])
    s = stability(card, dev, cur)
    assert np.isnan(s.csi()["platform_spend"])
    assert s.summary.set_index("item").loc["platform_spend", "status"] == "n/a"


def test_stability_errors() -> None:
    card = load_scorecard(None)
    with pytest.raises(GradingError, match="non-empty"):
        stability(card, synthetic_applications(100, seed=1), pd.DataFrame())
    with pytest.raises(SpecError, match="bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(SpecError, match="empty"):
        psi([0, 0], [1, 1])
