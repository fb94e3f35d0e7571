"""Revolving purchases under period-indexed curves, engine against the reference (issue 10,
item 7).

See ``tests/deal/test_reference_losses.py`` for how the comparison works; the figures are
worked by hand in ``tests/reference/test_waterfall.py``.
"""

from __future__ import annotations

import numpy as np
from reference import cases
from reference.compare import check, run_both


def test_purchases_meet_a_calendar_shock() -> None:
    """A 10% default in calendar month 6 (``by = "period"``) reaches the receivables bought in
    periods 1 and 2: they read the curve from calendar month 2 and 3, not from month 1."""
    eng, ref = run_both(cases.revolving_shock())
    np.testing.assert_allclose(eng.pool["default"][0, :8], [0, 0, 0, 0, 0, 100, 0, 0], atol=1e-9)
    check(eng, ref)


def test_a_writedown_without_a_default_is_reimbursed() -> None:
    """Receivables bought at 1.02 write the senior down with no default (the PDL cannot see
    it); the next period's revenue reinstates the senior before any residual is paid."""
    eng, ref = run_both(cases.premium_purchase())
    check(eng, ref)
