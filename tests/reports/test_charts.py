"""Charts that read right (issue 14, item 5): coverage while rated notes are outstanding,
over-collateralisation as the first loss, log axes with readable ticks."""

from __future__ import annotations

import numpy as np
import pytest
from support.deals import tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine.deal import Trigger
from abs_engine.reports.deal_sections import (
    capital_stack_section,
    coverage_range,
    coverage_section,
    rated_life,
)
from abs_engine.reports.format import log_axis
from abs_engine.reports.html import Figure


def _figures(section: ae.reports.Section) -> list[Figure]:
    return [b for b in section.blocks if isinstance(b, Figure)]


@pytest.fixture(scope="module")
def tiny() -> ae.AnalysedRun:
    """1,000 repaid 250 a month over four months; senior 600, mezzanine 200, equity 200:
    the senior is repaid in periods 1-3 (250, 250, 100), the mezzanine in period 3 (150)
    and 4 (50).  The last rated class is repaid in period 4."""
    deal = tiny_deal(triggers=(Trigger("oc", "oc", ("sequential",), level=1.1, tranche="senior"),))
    return ae.run(deal, tiny_pool())


def test_coverage_stops_when_the_last_rated_class_is_repaid(tiny: ae.AnalysedRun) -> None:
    np.testing.assert_allclose(tiny.tranche["principal_paid"][0, 1], [0, 0, 150, 50], atol=1e-9)
    assert rated_life(tiny) == 4
    oc, ic = _figures(coverage_section(tiny))[:2]
    for fig in (oc, ic):
        names = [t.name for t in fig.figure.data]
        assert names == ["senior", "mezzanine"]  # rated classes only
        for t in fig.figure.data:
            assert len(t.x) == 4


def test_coverage_axis_keeps_the_range_that_matters() -> None:
    """Ratios 1.4, 1.4, 1.6, 26.5 (the last one as the class is nearly repaid) and a
    1.1 trigger: the axis runs to max(2, 1.5 x 1.1, 1.25 x 1.4) = 2.0 and from 0.8 less
    5% of the span (0.74); with an IC of -16 it starts at -1 less 5% (-1.15)."""
    lo, hi = coverage_range(np.array([[1.4, 1.4, 1.6, 26.5]]), [1.1])
    np.testing.assert_allclose([lo, hi], [0.8 - 0.06, 2.0])
    lo, hi = coverage_range(np.array([[2.2, 1.8, -16.0, np.nan]]), [])
    np.testing.assert_allclose([lo, hi], [-1.0 - 0.05 * 3.75, 2.75])


def test_over_collateralisation_is_the_first_loss_below_the_equity() -> None:
    deal = tiny_deal(
        tranches=(
            ae.deal.Tranche("senior", "senior", size=0.6, coupon=ae.deal.Coupon(0.06)),
            ae.deal.Tranche("mezzanine", "mezzanine", size=0.2, coupon=ae.deal.Coupon(0.12)),
            ae.deal.Tranche("equity", "equity", size=0.15),
        )
    )
    fig = _figures(capital_stack_section(ae.run(deal, tiny_pool())))[0].figure
    # Plotly stacks bars in trace order, bottom up.
    assert [t.name for t in fig.data] == ["over-collateralisation", "equity", "mezzanine", "senior"]
    np.testing.assert_allclose([t.y[0] for t in fig.data], [0.05, 0.15, 0.2, 0.6])
    assert fig.layout.legend.traceorder == "reversed"  # the legend reads top-down like the bars


def test_log_axes_label_decades_in_words_a_reader_uses() -> None:
    axis = log_axis(1 / 2000, 0.4)
    assert axis["ticktext"] == ["0.01%", "0.1%", "1%", "10%", "100%"]
    np.testing.assert_allclose(axis["tickvals"], [1e-4, 1e-3, 1e-2, 0.1, 1.0])
    narrow = log_axis(0.02, 0.3)
    assert narrow["ticktext"] == ["1%", "2%", "5%", "10%", "20%", "50%", "100%"]
    assert log_axis(3.0, 4000.0, percent=False)["ticktext"] == ["1", "10", "100", "1,000", "10,000"]
    with pytest.raises(ae.SpecError):
        log_axis(0.0, 1.0)
