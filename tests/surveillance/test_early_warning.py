"""Deal-level early warning: trigger headroom and projected breach, roll rates, mix, flags."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support.deals import EQUAL_PRINCIPAL, tiny_deal
from support.servicer import servicer_frame

import abs_engine as ae
from abs_engine import curves
from abs_engine.deal import Trigger
from abs_engine.pool import Cohorts
from abs_engine.surveillance import ServicerHistory, projected_history, surveil
from abs_engine.surveillance.early_warning import MIN_CELL, grade_mix


def _deal_and_pool() -> tuple[ae.Deal, Cohorts]:
    deal = tiny_deal(
        assumptions=ae.Assumptions(
            default=curves.cdr(0.3), prepay=curves.cpr(0.05), severity=0.7, recovery_lag=1
        ),
        triggers=(Trigger("cdr", "cumulative_default", ("sequential",), level=0.06),),
    )
    pool = Cohorts.from_loans(
        ("A",), [0], [EQUAL_PRINCIPAL], [12], [0], [0], [1000.0], [0.2], [0.0], [1000.0]
    )
    return deal, pool


def test_the_breach_projected_from_today_is_the_base_case_breach() -> None:
    """The base case crosses the 6% cumulative default level on payment date P; a
    surveillance of the first k < P months sees headroom now and projects the breach on
    that date; after P it reports the breach that happened."""
    deal, pool = _deal_and_pool()
    full = ae.run(deal, pool)
    P = int(np.argmax(full.trigger[0, 0])) + 1
    assert 2 < P < full.n_periods
    before = surveil(deal, projected_history(deal, pool, months=P - 2), pool=pool, mc_paths=0)
    h = before.tables["headroom"].iloc[0]
    assert not h["breached"] and h["headroom"] > 0
    assert h["projected_breach"] == full.dates[P - 1]
    after = surveil(deal, projected_history(deal, pool, months=P + 1), pool=pool, mc_paths=0)
    h = after.tables["headroom"].iloc[0]
    assert h["breached"] and h["headroom"] < 0
    assert h["first_breach"] == full.dates[P - 1]
    assert pd.isna(h["projected_breach"])


def test_rising_roll_rates_are_flagged() -> None:
    """1-30 stays at 100; 31-60 goes 30, 30, 30, 45, 45, 45: the 1-30 -> 31-60 roll is 0.3
    in months 2-3, then 0.45: the last three months average 0.45 against 0.3, up 50%."""
    months = [{"scheduled_principal": 10.0, "interest": 10.0} for _ in range(6)]
    frame = servicer_frame(
        dt.date(2020, 2, 1),
        1000.0,
        months,
        dpd_1_30=[100.0] * 6,
        dpd_31_60=[30.0, 30.0, 30.0, 45.0, 45.0, 45.0],
        dpd_61_90=[0.0] * 6,
        dpd_90_plus=[0.0] * 6,
    )
    s = surveil(tiny_deal(), frame, mc_paths=0)
    trend = s.tables["roll_trend"].set_index(["group", "roll"])
    row = trend.loc[("A", "roll_1_30_31_60")]
    np.testing.assert_allclose([row["recent_average"], row["earlier_average"]], [0.45, 0.3])
    np.testing.assert_allclose(row["change"], 0.5)
    assert row["rising"]
    assert not trend.loc[("A", "roll_31_60_61_90")]["rising"]


def test_grade_mix_psi_by_hand() -> None:
    """Start 50/50; at the end of month 1 A is 60% and B 40%:
    PSI = 0.1 ln(0.6/0.5) - 0.1 ln(0.4/0.5) = 0.040547 (stable, < 0.10)."""
    a = servicer_frame(dt.date(2020, 2, 1), 500.0, [{"scheduled_principal": 200.0}], "A")
    b = servicer_frame(dt.date(2020, 2, 1), 500.0, [{"scheduled_principal": 300.0}], "B")
    mix = grade_mix(ServicerHistory.from_frame(pd.concat([a, b], ignore_index=True)))
    np.testing.assert_allclose(mix["share"], [0.6, 0.4])
    np.testing.assert_allclose(mix["psi"], 0.1 * np.log(1.2) - 0.1 * np.log(0.8))
    assert (mix["status"] == "stable").all()


@pytest.fixture(scope="module")
def sample() -> tuple[ae.Deal, ae.Pool]:
    deal = ae.load_deal("waterfalls/static_sequential.toml")
    return deal, ae.Pool.from_frame(ae.sample_pool(n=400, seed=5))


def test_flag_counts_of_the_current_tape_withhold_small_cells(
    sample: tuple[ae.Deal, ae.Pool],
) -> None:
    deal, pool = sample
    s = surveil(deal, projected_history(deal, pool, months=3), pool=pool, tape=pool, mc_paths=0)
    flags = s.tables["flags"]
    body = flags[flags["grade"] != "Total"]
    counts = body.drop(columns=["grade"]).select_dtypes("number")
    count_cols = [c for c in counts.columns if c == "count" or c.startswith("ew_")]
    small = (counts[count_cols] > 0) & (counts[count_cols] < MIN_CELL)
    assert not small.to_numpy().any()
    total = flags[flags["grade"] == "Total"].iloc[0]
    assert total["count"] == len(pool)
    assert body["count"].sum() == len(pool)  # grades of 400 receivables are all large
    # Aggregates only: no loan id anywhere in the table.
    ids = set(pool.table.column("loan_id").to_pylist())
    assert not ids & set(flags.astype(str).to_numpy().ravel())
