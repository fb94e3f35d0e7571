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


def test_a_purchase_premium_is_paid_from_spread() -> None:
    """Receivables bought at 1.02: the spread pays the premium before the residual holder
    (nothing is written down when it can); the PDL cannot see it (no default)."""
    eng, ref = run_both(cases.premium_purchase())
    np.testing.assert_allclose(eng.tranche["writedown"][0, 0], 0.0, atol=1e-9)
    check(eng, ref)


def test_a_purchase_premium_beyond_the_spread() -> None:
    """The spread cannot pay the whole premium: the equity gets nothing in that period and
    the senior carries the rest as a write-down to its loss."""
    eng, ref = run_both(cases.premium_purchase_thin_spread())
    np.testing.assert_allclose(eng.tranche["residual"][0, 1, :3], [0.56, 0, 0], atol=1e-9)
    check(eng, ref)
