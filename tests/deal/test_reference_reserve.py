"""The reserve account, engine against the independent reference (issue 10, items 2, 5, 11).

See ``tests/deal/test_reference_losses.py`` for how the comparison works; the figures are
worked by hand in ``tests/reference/test_waterfall.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import cases
from reference.compare import check, run_both


@pytest.mark.parametrize("with_cover_defaults", [True, False])
def test_reserve_serves_the_notes_on_the_last_payment_date(with_cover_defaults: bool) -> None:
    """On the final period of the run the reserve's target is zero and its whole balance joins
    the revenue before any payment: it pays the mezzanine down (through cover_defaults, or the
    last-date diversion of the residual) while the mezzanine is short; the equity gets
    nothing in that period."""
    eng, ref = run_both(cases.reserve_at_the_end(with_cover_defaults))
    check(eng, ref)
    assert eng.tranche["residual"][0, 2, -1] == 0


def test_full_redemption_releases_the_reserve_to_the_residual_holder() -> None:
    """Once no rated class has a claim or unpaid interest, the reserve left goes to the residual
    holder (before the final period of the run)."""
    eng, ref = run_both(cases.full_redemption())
    check(eng, ref)


def test_interest_coverage_excludes_reserve_releases() -> None:
    """The IC numerator (``interest_after_fees``) is collateral interest and fee collections less
    fees owed, without the 84 released from the reserve: the mezzanine's IC test (2.5) fails
    in period 1 and principal turns sequential from period 2."""
    eng, ref = run_both(cases.ic_without_reserve())
    check(eng, ref)


def test_reserve_funding_is_in_the_ledger() -> None:
    """The initial reserve (5% of 1,000) is funded by the residual holder: one ledger row in
    period 1, step ``reserve_funding`` from ``equity`` to ``reserve``; ``account
    ["reserve_funding"]`` shows it; conservation holds every period with it."""
    eng, ref = run_both(cases.reserve_at_the_end())
    ledger = eng.ledger
    rows = ledger[ledger["step"] == "reserve_funding"]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["period"], row["from"], row["to"]) == (1, "equity", "reserve")
    np.testing.assert_allclose(row["amount"], 50.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(eng.account["reserve_funding"][0], [50, 0, 0], rtol=0, atol=1e-12)
    eng.check_conservation(tol=1e-12)
    check(eng, ref)
