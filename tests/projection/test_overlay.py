"""Default overlay: a multiplier per receivable (e.g. on early-warning flags)."""

from __future__ import annotations

import numpy as np
import pytest

import abs_engine as ae
from abs_engine import ScenarioSet
from abs_engine.grading import default_multipliers, early_warning

FLOWS = (
    "default",
    "prepayment",
    "scheduled_principal",
    "interest",
    "fee",
    "recovery",
    "loss",
    "end_balance",
)


def test_overlay_of_ones_changes_nothing(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    plain = ae.project(sample_pool, graded_assumptions)
    ones = ae.project(
        sample_pool.with_default_overlay(np.ones(len(sample_pool))), graded_assumptions
    )
    for f in FLOWS:
        np.testing.assert_allclose(ones[f], plain[f], rtol=1e-12, err_msg=f)


def test_uniform_overlay_equals_the_scenario_lever(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    overlaid = ae.project(
        sample_pool.with_default_overlay(np.full(len(sample_pool), 2.5)), graded_assumptions
    )
    lever = ae.project(sample_pool, graded_assumptions, ae.Scenario("x", default_mult=2.5))
    for f in FLOWS:
        np.testing.assert_allclose(overlaid[f], lever[f], rtol=1e-12, atol=1e-8, err_msg=f)


def test_partial_overlay_is_the_sum_of_its_parts(
    sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    flagged = np.zeros(len(sample_pool), dtype=bool)
    flagged[::7] = True
    mult = np.where(flagged, 3.0, 1.0)
    scen = ScenarioSet.grid(default_mult=[1.0, 2.0])
    whole = ae.project(sample_pool.with_default_overlay(mult), graded_assumptions, scen)
    part_a = ae.project(
        sample_pool.select(flagged), graded_assumptions, ScenarioSet.grid(default_mult=[3.0, 6.0])
    )
    part_b = ae.project(sample_pool.select(~flagged), graded_assumptions, scen)
    for f in FLOWS:
        n = min(whole.n_periods, part_a.n_periods, part_b.n_periods)
        np.testing.assert_allclose(
            whole[f][:, :n], part_a[f][:, :n] + part_b[f][:, :n], rtol=1e-10, atol=1e-7, err_msg=f
        )


def test_overlay_from_early_warning_flags_raises_defaults(
    sample_frame, graded_assumptions: ae.GradedAssumptions
) -> None:  # type: ignore[no-untyped-def]
    pool = ae.Pool.from_frame(sample_frame)
    flags = early_warning(sample_frame)
    mult = default_multipliers(flags, 1.5)
    assert (mult > 1).any() and (mult == 1).any()
    base = ae.project(pool, graded_assumptions).totals()
    over = ae.project(pool.with_default_overlay(mult), graded_assumptions).totals()
    assert over["default"].iloc[0] > base["default"].iloc[0]
    run = ae.run(ae.load_deal("waterfalls/static_sequential.toml"), pool.with_default_overlay(mult))
    run.check_conservation()


def test_bad_overlays(sample_pool: ae.Pool) -> None:
    with pytest.raises(ae.TapeError, match="one multiplier per receivable"):
        sample_pool.with_default_overlay(np.ones(3))
    with pytest.raises(ae.TapeError, match="finite and >= 0"):
        sample_pool.with_default_overlay(np.full(len(sample_pool), -1.0))
