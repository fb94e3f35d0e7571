"""Break-even as the first loss, also where losses are not monotone in the stress.

The deal (tests/support/switch_deal.py): classes A and B pro rata, by rank in a period
where pro rata would leave A with a PDL share.  A loses from about 2.63x the base default
curve, stops losing around 2.77x (the PDL reaches A a period earlier and A is paid first)
and loses again from about 2.84x.  A bisection that assumes monotone losses lands on the
second edge; the first loss is the first.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support.switch_deal import POOL, switch_deal

import abs_engine as ae
from abs_engine.analytics import breakeven
from abs_engine.deal import Coupon


def loses(deal: ae.Deal, levels: np.ndarray) -> np.ndarray:
    """Independent check: run the engine at each level, read the final principal loss of A."""
    r = ae.run(deal, POOL, ae.ScenarioSet.from_arrays(default_mult=levels))
    face = r.original_balances["A"]
    return r.tranche["principal_loss"][:, 0].sum(axis=1) > 1e-9 * face


def test_the_deal_is_not_monotone() -> None:
    flags = loses(switch_deal(), np.array([1.0, 2.7, 2.8, 5.0]))
    assert flags.tolist() == [False, True, False, True]


@pytest.mark.parametrize("scan_step", [None, 0.001])
def test_breakeven_is_the_first_failing_level_of_a_fine_scan(scan_step: float | None) -> None:
    deal = switch_deal()
    levels = np.round(np.arange(0, 6.0, 0.001), 6)
    flags = loses(deal, levels)
    first = levels[np.argmax(flags)]  # the true first loss lies in (first - 0.001, first]
    be = breakeven(deal, POOL, ["A"], tolerance=1e-4, scan_step=scan_step).iloc[0]
    assert be["monotone"] == False  # noqa: E712  (numpy bool)
    assert first - 0.001 < be["breakeven"] <= first + 1e-4
    assert be["tolerance"] <= 1e-4
    below, at = be["breakeven"] - be["tolerance"], be["breakeven"]
    assert loses(deal, np.array([below, at])).tolist() == [False, True]
    assert be["breakeven"] < 2.77  # not the second edge near 2.84x


def test_edges_zero_and_never() -> None:
    deal = switch_deal()
    out = breakeven(deal, POOL, ["A", "equity"], upper=1.0)
    a, eq = out.iloc[0], out.iloc[1]
    assert np.isinf(a["breakeven"]) and np.isnan(a["loss_coverage_multiple"])
    assert 0 < eq["breakeven"] < 1.0  # no recoveries: the equity loses at the first stress
    # B at a 50% coupon on a 12% pool misses interest unstressed: break-even 0.
    rich = tuple(
        dataclasses.replace(t, coupon=Coupon(0.5)) if t.name == "B" else t for t in deal.tranches
    )
    zero = breakeven(dataclasses.replace(deal, tranches=rich), POOL, ["B"], on="interest")
    assert zero["breakeven"].iloc[0] == 0.0 and zero["tolerance"].iloc[0] == 0.0


def test_loss_units_are_multiples_of_the_base_case_cnl() -> None:
    """CNL = (defaults - recoveries) / cut-off pool over the run; multiple = at BE / base."""
    deal = switch_deal()
    be = breakeven(deal, POOL, ["B"]).iloc[0]
    r = ae.run(deal, POOL, ae.ScenarioSet.from_arrays(default_mult=[be["breakeven"], 1.0]))
    cnl = (r.pool["default"] - r.pool["recovery"]).sum(axis=1) / 1000.0
    np.testing.assert_allclose(be["cumulative_net_loss"], cnl[0], rtol=1e-12)
    np.testing.assert_allclose(be["base_cumulative_net_loss"], cnl[1], rtol=1e-12)
    np.testing.assert_allclose(be["loss_coverage_multiple"], cnl[0] / cnl[1], rtol=1e-12)
    assert be["cnl_base"] == "cut-off pool"
