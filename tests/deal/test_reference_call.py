"""The clean-up call, engine against the independent reference (issue 10, item 6).

See ``tests/deal/test_reference_losses.py`` for how the comparison works; the figures are
worked by hand in ``tests/reference/test_waterfall.py``.
"""

from __future__ import annotations

import pytest
from reference import cases
from reference.compare import check, run_both


def test_call_price_has_accrued_interest_and_the_reserve_joins() -> None:
    """Called when the pool falls to 35%: proceeds are the performing balance plus the next
    month's interest for the 25 days to the payment date (2.5); the call date is the last
    payment date, so the reserve joins the revenue; nothing follows the call."""
    eng, ref = run_both(cases.call_with_reserve())
    check(eng, ref)
    eng.check_conservation(tol=1e-12)


@pytest.mark.parametrize("defaulted_price", [None, 0.4])
def test_defaulted_receivables_after_the_call(defaulted_price: float | None) -> None:
    """Without ``defaulted_price`` the trust keeps the defaulted receivables and their recovery
    (25, three months later) still arrives and reaches the equity; with it they are sold
    with the pool (0.4 x 50) and nothing arrives later."""
    eng, ref = run_both(cases.call_with_recoveries(defaulted_price))
    check(eng, ref)
    eng.check_conservation(tol=1e-12)
