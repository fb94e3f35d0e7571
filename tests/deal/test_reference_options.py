"""Options of issue 10 (items 12 and 13), engine against the independent reference.

See ``tests/deal/test_reference_losses.py`` for how the comparison works; the figures are
worked by hand in ``tests/reference/test_waterfall.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from reference import cases
from reference.compare import check, engine_inputs, run_both

import abs_engine as ae


@pytest.mark.parametrize("accrues", [True, False])
def test_deferred_interest_accrues(accrues: bool) -> None:
    """``deferred_interest_accrues``: the mezzanine's unpaid interest bears its coupon."""
    eng, ref = run_both(cases.deferred_interest(accrues))
    check(eng, ref)


@pytest.mark.parametrize("after", [True, False])
def test_junior_interest_after_pdl(after: bool) -> None:
    """``junior_interest_after_pdl`` in a PDL structure: the mezzanine's interest comes after
    cover_defaults (the standard waterfall built by the spec)."""
    case = cases.junior_interest_after_pdl(after)
    eng, ref = run_both(case)
    check(eng, ref)


def test_junior_interest_after_pdl_in_the_standard_waterfall() -> None:
    """The same with the spec's own standard waterfall (no explicit steps)."""
    from dataclasses import replace

    from reference import spec as rs
    from reference import waterfall as rw
    from reference.compare import check as compare

    case = cases.junior_interest_after_pdl(True)
    deal, pool = engine_inputs(case)
    deal = replace(deal, waterfall=None, spec=None)
    ref = rw.run(rs.from_deal(deal), list(case.cohorts), case.collateral)
    compare(ae.deal.run(deal, pool), ref)
    assert rs.from_deal(deal).interest.index("cover_defaults") < rs.from_deal(deal).interest.index(
        "interest:mezzanine"
    )


@pytest.mark.parametrize("accrue_from", ["cutoff", "closing"])
def test_fee_accrual_from_the_cutoff(accrue_from: str) -> None:
    """A fee with ``accrue_from = "cutoff"`` accrues its first period from the cut-off."""
    eng, ref = run_both(cases.fees_from_cutoff(accrue_from))
    check(eng, ref)


@pytest.mark.parametrize(
    ("cutoff", "first_payment"),
    [
        (dt.date(2020, 3, 1), dt.date(2020, 3, 25)),
        (dt.date(2020, 3, 1), dt.date(2020, 4, 25)),
        (dt.date(2020, 1, 31), dt.date(2020, 2, 25)),
    ],
)
def test_a_first_payment_date_that_collects_nothing_is_an_error(
    cutoff: dt.date, first_payment: dt.date
) -> None:
    """Pool month 1 is the calendar month after the cut-off's and a payment date collects the
    months that end before its own: these first payment dates collect nothing.  The engine
    refuses the deal with a SpecError naming both dates."""
    case = cases.with_dates(cases.full_redemption(), cutoff, first_payment)

    def build_and_run() -> None:
        deal, pool = engine_inputs(case)  # the error may come from the spec or from the run
        ae.deal.run(deal, pool)

    with pytest.raises(ae.SpecError) as err:
        build_and_run()
    assert str(cutoff) in str(err.value) and str(first_payment) in str(err.value)


def test_a_month_end_cutoff_collects_its_next_month() -> None:
    """The fix the error suggests: a cut-off on the last day of the previous month (29 Feb) with
    the first payment in April: period 1 collects March."""
    case = cases.with_dates(cases.full_redemption(), dt.date(2020, 2, 29), dt.date(2020, 4, 25))
    eng, ref = run_both(case)
    check(eng, ref)
    assert eng.pool["interest"][0, 0] == pytest.approx(10.0, abs=1e-12)
