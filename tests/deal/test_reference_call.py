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


def test_the_trust_keeps_only_the_defaults_it_had_at_the_call() -> None:
    """Receivables sold with the pool that would default after the call bring the trust no
    recovery; only the pipeline at the call does."""
    eng, ref = run_both(cases.call_with_recoveries(later_default=True))
    check(eng, ref)


def test_defaulted_sale_credits_the_pdl_with_recoveries_to_interest() -> None:
    """The price of the defaulted receivables is principal funds and credits the PDL even when
    recoveries are revenue."""
    eng, ref = run_both(cases.call_with_recoveries(0.4, recoveries_to="interest"))
    check(eng, ref)


def test_pass_through_call_with_an_exact_redemption() -> None:
    """Notes = 100% of the pool: the call proceeds and the period's principal redeem the notes
    exactly; a 1e-14 float shortfall must not block the call."""
    eng, ref = run_both(cases.pass_through_call())
    check(eng, ref)


@pytest.mark.parametrize("turbo", [True, False])
def test_no_call_once_nothing_is_left_to_redeem(turbo: bool) -> None:
    """The senior repaid before the pool reaches the threshold: no call, the residual holder
    keeps collecting (with turbo); otherwise the call at 0.97 on payment date 6."""
    eng, ref = run_both(cases.call_after_the_notes(turbo))
    sale = eng.pool["sale"][0]
    if turbo:
        assert len(eng.dates) == 8 and not sale.any()
    else:
        assert len(eng.dates) == 6 and sale[5] > 0.97 * 250
    check(eng, ref)


def test_a_call_that_sells_everything_ends_the_scenario() -> None:
    """Rule book, "End of a scenario": the call on payment date 7 sells the whole pool while
    the equity is written down; nothing can arrive later, so the run ends there, the equity's
    loss (47.1975, worked in tests/reference/test_waterfall.py) crystallises on date 7 and the
    trustee's fixed fee (12 a year) falls due on 7 dates only, not on the 3 after the call."""
    eng, ref = run_both(cases.call_sells_everything())
    check(eng, ref)
    assert eng.n_periods == 7
    assert eng.fee["due"][0, 0].tolist() == pytest.approx([1.0] * 7, rel=1e-12, abs=1e-12)
    loss = eng.tranche["principal_loss"][0, 2]
    assert loss[:-1].tolist() == [0.0] * 6
    assert loss[-1] == pytest.approx(47.1975, rel=1e-12, abs=1e-9)
    eng.check_conservation(tol=1e-12)


def test_a_call_that_leaves_recoveries_is_the_last_payment_date() -> None:
    """The call on date 7 releases the reserve (its last payment date); the recovery of month
    9 still arrives and the scenario ends on date 9, where the equity's loss crystallises."""
    eng, ref = run_both(cases.call_leaves_recoveries())
    check(eng, ref)
    assert eng.n_periods == 9
    release = eng.account["reserve_release"][0]
    assert release[6] == pytest.approx(10.0, rel=1e-12) and not release[7:].any()
    assert eng.tranche["principal_loss"][0, 2, 8] == pytest.approx(10.1925, rel=1e-12)
    eng.check_conservation(tol=1e-12)
