"""Decrement, price/yield and scenario-comparison tables, worked on the tiny deal.

Tiny deal (tests/support/deals.py): 1,000 repaid 250 a month over four months at 12%;
senior 600 at 6%, mezzanine 200 at 12%, equity 200; 30/360 monthly from a 25 Feb
2020 closing.  The senior's balance after each payment: 350, 100, 0 (of 600); the
mezzanine's: 200, 200, 50, 0 (of 200).
"""

from __future__ import annotations

import numpy as np
import pytest
from support.deals import tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine.analytics import decrement_table, price_yield, scenario_comparison, yield_price
from abs_engine.errors import SpecError


def test_monthly_decrement_table_by_hand() -> None:
    dec = decrement_table(tiny_deal(), tiny_pool(), prepay_mults=(1.0,), step="monthly")
    senior = dec["senior"]["100% of base"]
    assert list(dec["senior"].index) == [
        "Closing",
        "2020-03-25",
        "2020-04-25",
        "2020-05-25",
        "2020-06-25",
        "WAL (years)",
    ]
    np.testing.assert_allclose(senior.iloc[:5], [100, 350 / 6, 100 / 6, 0, 0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        dec["mezzanine"]["100% of base"].iloc[:5], [100, 100, 100, 25, 0], atol=1e-6
    )
    np.testing.assert_allclose(senior.loc["WAL (years)"], 1050 / 600 / 12, rtol=1e-12)
    quarterly = decrement_table(tiny_deal(), tiny_pool(), prepay_mults=(1.0,), step="quarterly")
    assert list(quarterly["senior"].index) == ["Closing", "2020-05-25", "2020-08-25", "WAL (years)"]
    with pytest.raises(SpecError, match="step"):
        decrement_table(tiny_deal(), tiny_pool(), step="weekly")  # type: ignore[arg-type]


def test_price_yield_both_ways_for_every_class() -> None:
    r = ae.run(tiny_deal(), tiny_pool())
    py = price_yield(r, prices=(99.0, 100.0))
    assert set(py["tranche"]) == {"senior", "mezzanine", "equity"}
    at_par = py[(py["price"] == 100.0)].set_index("tranche")
    np.testing.assert_allclose(at_par.loc["senior", "yield"], 0.06, atol=1e-12)
    np.testing.assert_allclose(at_par.loc["mezzanine", "yield"], 0.12, atol=1e-12)
    assert "compounded monthly" in py.attrs["conventions"]["yield"]
    back = yield_price(r, yields=(0.06, 0.12)).set_index(["tranche", "yield"])
    np.testing.assert_allclose(back.loc[("senior", 0.06), "price"], 100.0, atol=1e-10)
    np.testing.assert_allclose(back.loc[("mezzanine", 0.12), "price"], 100.0, atol=1e-10)
    # Round trip at a price off par, for every class and scenario.
    cheap = price_yield(r, prices=(97.5,))
    for row in cheap.to_dict("records"):
        p = r.prices_from_yields({row["tranche"]: row["yield"]}).iloc[0]
        np.testing.assert_allclose(p["price"], 97.5, atol=1e-9)


def test_scenario_comparison_is_tidy() -> None:
    r = ae.run(tiny_deal(), tiny_pool(), ae.ScenarioSet.grid(default_mult=[0.0, 2.0]))
    other = ae.run(tiny_deal(), tiny_pool())
    frame = scenario_comparison({"grid": r, "base": other}, measures=("yield", "wal"))
    assert list(frame.columns) == ["run", "scenario", "tranche", "measure", "value", "units"]
    assert len(frame) == (2 + 1) * 3 * 2
    assert frame["units"].notna().all()
    summ = r.summary().set_index(["scenario", "tranche"])
    got = frame[(frame["run"] == "grid") & (frame["measure"] == "wal")]
    for row in got.itertuples():
        np.testing.assert_allclose(row.value, summ.loc[(row.scenario, row.tranche), "wal"])
    with pytest.raises(SpecError, match="unknown measure"):
        scenario_comparison(r, measures=("irr",))
