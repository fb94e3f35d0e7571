"""Deal-level analytics: yields, WAL, coverage and the summary, worked by hand on a tiny deal.

Tiny deal (tests/support/deals.py): 1,000 repaid 250 a month over four months at 12%;
senior 600 at 6%, mezzanine 200 at 12%, equity 200; 30/360 monthly from a 25 Feb closing,
so payment k falls exactly k/12 years after settlement.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.deals import tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine import analytics
from abs_engine.analytics import SUMMARY_COLUMNS, ZeroCurve


@pytest.fixture(scope="module")
def result() -> ae.AnalysedRun:
    return ae.run(tiny_deal(), tiny_pool())


def test_note_at_par_yields_its_coupon(result: ae.AnalysedRun) -> None:
    """No losses, accrual 1/12 a month, monthly compounding: yield = coupon exactly."""
    ys = result.yields()
    np.testing.assert_allclose(ys["senior"].yield_, [0.06], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ys["mezzanine"].yield_, [0.12], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.times(), np.arange(1, 5) / 12, rtol=1e-15)


def test_wal_and_window_by_hand(result: ae.AnalysedRun) -> None:
    """Senior principal 250, 250, 100 at 1, 2, 3 months: WAL (250 + 500 + 300)/600/12."""
    s = result.summary().set_index("tranche")
    np.testing.assert_allclose(s.loc["senior", "wal"], 1050 / 600 / 12, rtol=1e-14)
    np.testing.assert_allclose(s.loc["mezzanine", "wal"], (150 * 3 + 50 * 4) / 200 / 12, rtol=1e-14)
    assert str(s.loc["senior", "first_principal"])[:10] == "2020-03-25"
    assert str(s.loc["senior", "last_principal"])[:10] == "2020-05-25"
    assert str(s.loc["mezzanine", "expected_final"])[:10] == "2020-06-25"
    assert list(s.columns) == [c for c in SUMMARY_COLUMNS if c != "tranche"]
    assert len(result.summary()) == result.n_scenarios * 3


def test_durations_match_the_plain_layer(result: ae.AnalysedRun) -> None:
    s = result.summary().set_index("tranche")
    cf = result.tranche_cashflows_array("senior")
    t = result.times()
    y = s.loc["senior", "yield"]
    np.testing.assert_allclose(
        s.loc["senior", "macaulay_duration"],
        analytics.macaulay_duration(cf, t, y, 12)[0],
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        s.loc["senior", "modified_duration"],
        s.loc["senior", "macaulay_duration"] / (1 + y / 12),
        rtol=1e-14,
    )


def test_coverage_by_hand(result: ae.AnalysedRun) -> None:
    """After period 1: pool 750, senior 350 -> OC 750/350; senior + mezzanine 550 -> 750/550.
    IC of period 1: revenue 10 over interest due 3 (senior) and 3 + 2 (with mezzanine).
    Credit enhancement at closing: senior (1000 - 600)/1000, mezzanine (1000 - 800)/1000.
    OC at closing: 1000/600 senior, lower than after period 1, so it is the senior's min_oc."""
    cov = result.coverage_arrays()
    np.testing.assert_allclose(cov["oc"][0, :2, 0], [750 / 350, 750 / 550], rtol=1e-14)
    np.testing.assert_allclose(cov["ic"][0, :2, 0], [10 / 3, 10 / 5], rtol=1e-14)
    np.testing.assert_allclose(
        cov["credit_enhancement"][0, :2, 0], [(750 - 350) / 750, (750 - 550) / 750], rtol=1e-14
    )
    ce0 = result.credit_enhancement_at_closing()
    np.testing.assert_allclose(
        [ce0["senior"], ce0["mezzanine"], ce0["equity"]], [0.4, 0.2, 0.0], atol=1e-14
    )
    s = result.summary().set_index("tranche")
    np.testing.assert_allclose(result.oc_at_start()[0, :2], [1000 / 600, 1000 / 800], rtol=1e-14)
    np.testing.assert_allclose(s.loc["senior", "min_oc"], 1000 / 600, rtol=1e-14)
    assert np.nanmin(cov["oc"][0, 0]) > 1000 / 600
    frame = result.coverage()
    assert set(frame.columns) >= {
        "scenario",
        "period",
        "date",
        "tranche",
        "oc",
        "ic",
        "credit_enhancement",
        "excess_spread",
    }


def test_price_moves_the_yield(result: ae.AnalysedRun) -> None:
    cheap = result.yields({"senior": 99.0})["senior"].yield_[0]
    rich = result.yields({"senior": 101.0})["senior"].yield_[0]
    assert cheap > 0.06 > rich


def test_z_spread_over_a_flat_curve(result: ae.AnalysedRun) -> None:
    """Over a flat curve with the yield's compounding the z-spread is yield minus the rate."""
    curve = ZeroCurve.flat(0.02, compounding=12)
    z = result.z_spreads(curve).set_index("tranche")
    np.testing.assert_allclose(z.loc["senior", "z_spread"], 0.04, atol=1e-10)


def test_losses_and_shortfalls_show_in_the_summary() -> None:
    stressed = ae.Assumptions(default=ae.curves.mdr(0.1), severity=1.0)
    r = ae.run(
        tiny_deal(
            assumptions=stressed, interest=["interest:senior", "interest:mezzanine", "residual"]
        ),
        tiny_pool(kind=3, term=3),
    )
    s = r.summary().set_index("tranche")
    np.testing.assert_allclose(s.loc["mezzanine", "principal_loss_share"], 68.71 / 200, rtol=1e-12)
    np.testing.assert_allclose(s.loc["equity", "principal_loss_share"], 1.0, rtol=1e-12)
    assert s.loc["senior", "principal_loss_share"] == 0
    assert np.isnan(s.loc["mezzanine", "yield"])  # -143% nominal: a loss, not a rate
    assert "-100%" in s.loc["mezzanine", "yield_reason"]
    np.testing.assert_allclose(s.loc["mezzanine", "cash_multiple"], 137.29 / 200, rtol=1e-12)


def equity_deal() -> ae.Deal:
    """Pool 1,000 (equal principal, 4 months, 12%); senior 600 at 6%, mezzanine 200 at 12%,
    equity notes 150, so over-collateralisation 50; initial reserve 1% of the pool = 10, never
    topped up or released early (no reserve step, release_excess off)."""
    from abs_engine.deal import Coupon, Reserve, Tranche

    tranches = (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.06)),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.12)),
        Tranche("equity", "equity", size=0.15),
    )
    return tiny_deal(
        tranches,
        interest=["interest:senior", "interest:mezzanine", "residual"],
        principal=["principal:senior", "principal:mezzanine", "principal:equity", "residual"],
        reserve=Reserve(initial=0.01, target=0.01, basis="pool", release_excess=False),
    )


def test_equity_irr_on_sources_and_uses_worked_by_hand() -> None:
    """The residual holder's IRR, every figure worked by hand.

    Sources and uses at closing: uses = pool 1,000 + initial reserve 10 = 1,010; sources =
    senior 600 + mezzanine 200 (sold at par) + residual holder 210 (equity notes 150 +
    over-collateralisation 1,000 - 950 = 50 + reserve 10).

    Receipts (pool interest 1% a month on 1,000 / 750 / 500 / 250; principal 250 a month):
      period 1: revenue 10 - senior 3 - mezzanine 2 = 5 (senior repaid 250 -> 350)
      period 2: 7.5 - 1.75 - 2 = 3.75 (senior -> 100)
      period 3: 5 - 0.5 - 2 = 2.5 (senior repaid, mezzanine 150 -> 50)
      period 4: 2.5 - 0.5 = 2 of excess spread, the reserve 10 (rated notes repaid), the
                equity notes 150 and the over-collateralisation 50 back: 212.
    The IRR solves 210 = 5 v + 3.75 v^2 + 2.5 v^3 + 212 v^4 with v = 1 / (1 + r) a month
    (30/360: payment k is k/12 years after closing); r from numpy-financial, an independent
    solver; the nominal annual rate compounded monthly is 12 r.  On the equity notes' face (150)
    the same flows would show 28.5%: the outlay matters.
    """
    import numpy_financial as npf

    r = ae.run(equity_deal(), tiny_pool())
    np.testing.assert_allclose(r.residual_flows()[0], [5.0, 3.75, 2.5, 212.0], rtol=1e-14)
    su = r.sources_and_uses().set_index("item")["amount"]
    np.testing.assert_allclose(su["Total uses"], 1010.0, rtol=1e-14)
    np.testing.assert_allclose(su["Total sources"], 1010.0, rtol=1e-14)
    np.testing.assert_allclose(
        su["residual holder: over-collateralisation (pool less all notes)"], 50.0
    )
    np.testing.assert_allclose(su["residual holder: initial reserve"], 10.0)
    monthly = npf.irr([-210.0, 5.0, 3.75, 2.5, 212.0])
    s = r.summary().set_index("tranche")
    eq = s.loc["equity"]
    np.testing.assert_allclose(eq["yield"], 12 * monthly, rtol=1e-10)
    np.testing.assert_allclose(eq["effective_yield"], (1 + monthly) ** 12 - 1, rtol=1e-10)
    np.testing.assert_allclose(eq["price"], 210.0 / 150.0 * 100.0, rtol=1e-14)
    np.testing.assert_allclose(eq["cash_multiple"], 223.25 / 210.0, rtol=1e-14)
    assert eq["price_basis"].startswith("residual holder's outlay")
    on_face = 12 * npf.irr([-150.0, 5.0, 3.75, 2.5, 212.0])
    assert on_face > 0.28 > 0.2 > eq["yield"] > 0.19
    # Priced explicitly, the equity is a note again: its yield is on price x balance.
    noted = r.yields({"equity": 100.0})["equity"].yield_[0]
    np.testing.assert_allclose(noted, on_face, rtol=1e-10)


def test_yield_that_is_not_meaningful_is_nan_with_a_reason() -> None:
    stressed = ae.Assumptions(default=ae.curves.mdr(0.1), severity=1.0)
    r = ae.run(
        tiny_deal(
            assumptions=stressed, interest=["interest:senior", "interest:mezzanine", "residual"]
        ),
        tiny_pool(kind=3, term=3),
    )
    s = r.summary().set_index("tranche")
    assert np.isfinite(s.loc["senior", "yield"])
    assert np.isnan(s.loc["equity", "yield"]) and np.isnan(s.loc["equity", "effective_yield"])
    assert "-100%" in s.loc["equity", "yield_reason"]
    # Bought at 3,000% of its balance, the equity returns 0.12% of what was paid: NaN, said why.
    cheap = r.yields({"equity": 3000.0})["equity"]
    assert np.isnan(cheap.yield_[0]) and "not meaningful" in cheap.reason[0]


@settings(max_examples=25, deadline=None)
@given(
    senior=st.floats(min_value=0.3, max_value=0.7),
    mezz=st.floats(min_value=0.05, max_value=0.2),
    equity=st.floats(min_value=0.01, max_value=0.1),
    reserve=st.floats(min_value=0.0, max_value=0.05),
    px=st.floats(min_value=95.0, max_value=103.0),
)
def test_sources_equal_uses_and_the_outlay_property(
    senior: float, mezz: float, equity: float, reserve: float, px: float
) -> None:
    """Sources = uses; the residual holder's outlay = pool + reserve - rated proceeds
    = equity notes + OC + reserve + the rated notes' discount; its row prices it."""
    from abs_engine.deal import Coupon, Reserve, Tranche

    deal = tiny_deal(
        (
            Tranche("senior", "senior", size=senior, coupon=Coupon(0.06)),
            Tranche("mezzanine", "mezzanine", size=mezz, coupon=Coupon(0.12)),
            Tranche("equity", "equity", size=equity),
        ),
        reserve=Reserve(initial=reserve, target=reserve, basis="pool") if reserve > 0 else None,
    )
    r = ae.run(deal, tiny_pool())
    su = r.sources_and_uses({"senior": px})
    totals = su.set_index("item")["amount"]
    np.testing.assert_allclose(totals["Total sources"], totals["Total uses"], rtol=1e-12)
    outlay = 1000 * (1 + reserve) - 1000 * (senior * px / 100 + mezz)
    np.testing.assert_allclose(su.attrs["residual_outlay"], outlay, rtol=1e-12)
    row = r.summary({"senior": px}).set_index("tranche").loc["equity"]
    np.testing.assert_allclose(row["price"], 100 * outlay / (1000 * equity), rtol=1e-12)
