"""Break-even multiples and sizing on the sample deal: re-run the engine either side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.analytics import breakeven, decrement_table, price_yield_table, stress_table

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"


@pytest.fixture(scope="module")
def pool() -> ae.Pool:
    return ae.Pool.from_frame(ae.sample_pool(n=5_000, seed=7))


@pytest.fixture(scope="module")
def deal() -> ae.Deal:
    return ae.load_deal(WATERFALLS / "baitiao_2015.toml")


@pytest.fixture(scope="module")
def be(deal: ae.Deal, pool: ae.Pool) -> pd.DataFrame:
    return breakeven(deal, pool)


def writedowns(deal: ae.Deal, pool: ae.Pool, mults: list[float]) -> np.ndarray:
    r = ae.run(deal, pool, ae.ScenarioSet.from_arrays(default_mult=mults))
    return r.tranche["principal_loss"].sum(axis=2)  # (scenario, tranche): the final loss


def test_breakeven_is_the_edge_of_loss(deal: ae.Deal, pool: ae.Pool, be: pd.DataFrame) -> None:
    for i, row in be.iterrows():
        below, at = row["breakeven"] - row["tolerance"], row["breakeven"]
        wd = writedowns(deal, pool, [below, at])
        assert wd[0, i] == 0, (row["tranche"], "loses below the break-even")
        assert wd[1, i] > 0, (row["tranche"], "does not lose at the break-even")
    assert (be["tolerance"] <= 0.01).all()
    assert set(be.columns) >= {
        "tranche",
        "lever",
        "breakeven",
        "cumulative_net_loss",
        "loss_coverage_multiple",
        "tolerance",
    }


def test_breakeven_ordered_by_seniority(be: pd.DataFrame) -> None:
    b = be.set_index("tranche")["breakeven"]
    assert b["senior"] >= b["mezzanine"] >= b["subordinated"] > 1.0
    cov = be.set_index("tranche")["loss_coverage_multiple"]
    assert cov["senior"] >= cov["mezzanine"] >= cov["subordinated"]


def test_cdr_lever_and_interest(deal: ae.Deal, pool: ae.Pool) -> None:
    cdr = breakeven(deal, pool, ["senior", "mezzanine"], lever="cdr")
    assert (cdr["breakeven"] > 0).all() and (cdr["breakeven"] <= 1).all()
    assert cdr.loc[0, "breakeven"] > cdr.loc[1, "breakeven"]
    interest = breakeven(deal, pool, ["mezzanine"], lever="cdr", on="interest")
    level, tol = interest.loc[0, "breakeven"], interest.loc[0, "tolerance"]
    r = ae.run(
        ae.analytics.cdr_deal(deal),
        pool,
        ae.ScenarioSet.from_arrays(default_mult=[(level - tol) / 0.01, level / 0.01]),
    )
    short = r.tranche["interest_shortfall"][:, 1].max(axis=1)
    assert short[0] <= 1e-6 < short[1]


def test_tranche_that_never_breaks_is_infinite(deal: ae.Deal, pool: ae.Pool) -> None:
    out = breakeven(deal, pool, ["senior"], upper=2.0)
    assert np.isinf(out.loc[0, "breakeven"])


def test_stress_table(deal: ae.Deal, pool: ae.Pool) -> None:
    table = stress_table(
        deal,
        pool,
        default_multiples=(1, 4, 10, 25),
        recovery_haircuts=(0.0, 0.5),
        prepay_multiples=(1.0,),
    )
    assert list(table.columns) == ["1x", "4x", "10x", "25x"]
    assert table.loc["senior"].iloc[:, 0].all()
    assert not table.loc["subordinated"]["25x"].any()
    # A pass at a higher multiple implies a pass at every lower one.
    values = table.to_numpy()
    assert np.all(values[:, 1:] <= values[:, :-1])


def test_decrement_and_price_yield_tables(pool: ae.Pool) -> None:
    deal = ae.load_deal(WATERFALLS / "static_sequential.toml")
    dec = decrement_table(deal, pool, prepay_mults=(0.0, 1.0, 3.0))
    a = dec["class_a"]
    assert (a.loc["Closing"] == 100).all()
    wal = a.loc["WAL (years)"].to_numpy()
    assert wal[0] >= wal[1] >= wal[2] > 0  # faster prepayment, shorter life
    cpr = decrement_table(deal, pool, cpr=(0.0, 0.2))
    assert list(cpr["sub"].columns) == ["0% CPR", "20% CPR"]
    r = ae.run(deal, pool, ae.ScenarioSet.grid(default_mult=[1, 3]))
    py = price_yield_table(r, "class_b", prices=(99, 100, 101))
    assert py.shape == (3, 2)
    assert (py.loc["99"] > py.loc["101"]).all()
