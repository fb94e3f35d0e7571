"""Actual against projected: the measures by hand, the signals on known histories."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.servicer import servicer_frame

import abs_engine as ae
from abs_engine.deal import load_deal
from abs_engine.surveillance import (
    Deterioration,
    ServicerHistory,
    projected_history,
    surveil,
    synthetic_servicer_history,
)
from abs_engine.surveillance.performance import measures, with_pool

ROOT = Path(__file__).resolve().parents[2]


def test_measures_by_hand() -> None:
    """Two months of one grade, cut-off 1,000; the second month buys 100.

    Month 1: begin 1000, scheduled 100, prepaid 20, default 10: MDR 1%, CDR
    1 - 0.99^12; SMM = 20 x 0.99 / (1000 - 10 - 100) = 19.8 / 890.  End 870; delinquent
    1-30 30, 31-60 20, 61-90 10, 90+ 5: 30+ = 35 / 870.
    Month 2: opening 870 + 100 bought = 970, default 20, recovery 4, loss 6 on month 1's
    10: cumulative default 30 / (1000 + 100); net 26 / 1100; severity 6 / (6 + 4).
    End 970 - 50 - 0 - 20 = 900; 31-60 = 24 of last month's 30 in 1-30: roll 0.8;
    90+ -> default 20 / 5 = 4 (a roll above 1: more defaults than last month's 90+)."""
    frame = servicer_frame(
        dt.date(2020, 2, 1),
        1000.0,
        [
            {"scheduled_principal": 100, "prepayment": 20, "default": 10, "interest": 9},
            {"scheduled_principal": 50, "default": 20, "purchases": 100, "recovery": 4},
        ],
        dpd_1_30=[30.0, 12.0],
        dpd_31_60=[20.0, 24.0],
        dpd_61_90=[10.0, 8.0],
        dpd_90_plus=[5.0, 6.0],
    )
    frame["loss"] = [0.0, 6.0]
    h = ServicerHistory.from_frame(frame)
    data = {k: np.array(v) for k, v in h.data.items()}
    m = measures(data, np.array([1000.0]))
    np.testing.assert_allclose(m["cdr"][0], [1 - 0.99**12, 1 - (1 - 20 / 970) ** 12])
    np.testing.assert_allclose(m["cpr"][0, 0], 1 - (1 - 19.8 / 890) ** 12)
    np.testing.assert_allclose(m["cpr"][0, 1], 0.0)
    np.testing.assert_allclose(m["cumulative_default_rate"][0], [10 / 1000, 30 / 1100])
    np.testing.assert_allclose(m["cumulative_net_loss"][0], [10 / 1000, 26 / 1100])
    assert np.isnan(m["severity"][0, 0])
    np.testing.assert_allclose(m["severity"][0, 1], 0.6)
    np.testing.assert_allclose(m["pool_factor"][0], [0.87, 0.9])
    np.testing.assert_allclose(m["dq30"][0, 0], 35 / 870)
    np.testing.assert_allclose(m["dq60"][0, 1], 14 / 900)
    np.testing.assert_allclose(m["dq90"][0, 1], 6 / 900)
    np.testing.assert_allclose(m["roll_1_30_31_60"][0], [np.nan, 0.8])
    np.testing.assert_allclose(m["roll_current_1_30"][0, 1], 12 / (870 - 65))
    np.testing.assert_allclose(m["roll_90_plus_default"][0, 1], 4.0)
    pooled = with_pool({"x": np.array([[1.0, 2.0], [3.0, 4.0]])})["x"]
    np.testing.assert_allclose(pooled, [[1, 2], [3, 4], [4, 6]])


@pytest.fixture(scope="module")
def deal_pool() -> tuple[ae.Deal, ae.Pool]:
    deal = load_deal(ROOT / "waterfalls" / "baitiao_2015.toml")
    deal = dataclasses.replace(
        deal, triggers=tuple(t for t in deal.triggers if t.kind != "excess_spread")
    )
    return deal, ae.Pool.from_frame(ae.sample_pool(n=2000, seed=11))


def test_the_base_case_against_itself_raises_no_signal(deal_pool: tuple[ae.Deal, ae.Pool]) -> None:
    deal, pool = deal_pool
    s = surveil(deal, projected_history(deal, pool, months=9), pool=pool, mc_paths=40, seed=2)
    p = s.tables["performance"]
    both = p.dropna(subset=["actual", "projected"])
    assert len(both) > 0.8 * p["actual"].notna().sum()
    np.testing.assert_allclose(both["actual"], both["projected"], rtol=1e-9, atol=1e-12)
    assert (p["signal"] == "").all()
    # The band brackets the base case wherever it is defined.
    b = p.dropna(subset=["band_low", "band_high"])
    assert len(b) > 0
    assert ((b["band_low"] <= b["actual"] + 1e-12) & (b["actual"] <= b["band_high"] + 1e-12)).all()


def test_a_deteriorating_history_is_flagged_high(deal_pool: tuple[ae.Deal, ae.Pool]) -> None:
    deal, pool = deal_pool
    worse = synthetic_servicer_history(
        deal,
        pool,
        months=12,
        seed=3,
        noise=0.02,
        deterioration=Deterioration(start=3, default_mult=4.0, ramp=2),
    )
    s = surveil(deal, worse, pool=pool, mc_paths=40, seed=2)
    p = s.tables["performance"].set_index(["group", "measure", "month"])
    # Before the deterioration the defaults are within noise; from month 4 on, four times
    # the base case: beyond the Monte Carlo band and many standard errors up.
    early = p.loc[("pool", "cdr", 1)]
    assert early["signal"] == "" and abs(early["ratio"] - 1) < 0.1
    for month in range(5, 13):
        row = p.loc[("pool", "cdr", month)]
        assert row["ratio"] > 2.5
        assert row["signal"] == "high"
        assert row["z"] > 3
    cum = p.loc[("pool", "cumulative_default_rate", 12)]
    assert cum["actual"] > cum["band_high"] and cum["signal"] == "high"
    # Delinquency leads the defaults: 30+ already high in month 2 (it sees month 3's rise).
    assert p.loc[("pool", "dq30", 2)]["ratio"] > 1.2


def test_counts_give_z_scores_by_hand() -> None:
    """One grade, projected MDR p from the base case; z = (MDR - p) / sqrt(p (1 - p) / n)
    with n last month's receivables."""
    from abs_engine.surveillance.performance import actual_vs_projected

    months = np.array(["2020-02-29", "2020-03-31"], dtype="datetime64[D]")
    zero = np.zeros((1, 2))
    base = {
        "begin_balance": np.array([[1000.0, 900.0]]),
        "purchases": zero,
        "scheduled_principal": np.array([[90.0, 90.0]]),
        "prepayment": zero,
        "default": np.array([[10.0, 9.0]]),
        "recovery": zero,
        "loss": zero,
        "end_balance": np.array([[900.0, 801.0]]),
        **dict.fromkeys(("dpd_1_30", "dpd_31_60", "dpd_61_90", "dpd_90_plus"), zero),
    }
    actual = dict(base, default=np.array([[10.0, 18.0]]), end_balance=np.array([[900.0, 792.0]]))
    counts = np.array([[400.0, 390.0]])
    out = actual_vs_projected(
        actual, base, None, np.array([1000.0]), groups=["A"], months=months, counts=counts, k=3.0
    )
    cdr = out[out["measure"] == "cdr"].set_index("month")
    p, n = 9 / 900, 400
    z = (18 / 900 - p) / np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(cdr.loc[2, "z"], z)
    assert np.isnan(cdr.loc[1, "z"])  # no count at risk before the first month
    assert cdr.loc[2, "signal"] == ("high" if z > 3 else "")
    np.testing.assert_allclose(cdr.loc[2, "ratio"], (1 - (1 - 0.02) ** 12) / (1 - (1 - p) ** 12))
    assert isinstance(out, pd.DataFrame)
