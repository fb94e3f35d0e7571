"""Random small deals: the engine equals the independent reference and keeps the issue-10
invariants (hypothesis).

Deals come from ``reference.random_deals.cases``: 1-2 cohorts of any payment type;
constant or vector default and prepayment rates by age or by period; severity and lag;
senior, pari-passu seniors or mezzanines (``rank``), an equity note or a residual-only
equity; any ``loss_allocation`` and ``recoveries_to``; reserve, fees (incl.
``accrue_from``), ``junior_interest_after_pdl``, ``deferred_interest_accrues``, clean-up
call (accrued interest, ``defaulted_price``), revolving period and one trigger.  The
reference projects the collateral with its own model.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from reference import random_deals as rd
from reference import waterfall as rw
from reference.cases import Case
from reference.compare import check, run_both

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("ABS_REF_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def pool0(case: Case) -> float:
    return sum(c.balance for c in case.cohorts)


@SETTINGS
@given(rd.cases())
def test_engine_equals_reference(case: Case) -> None:
    """Every period of every tranche, fee, account and pool-flow field, and the triggers."""
    eng, ref = run_both(case)
    check(eng, ref, pool0=pool0(case))


@SETTINGS
@given(rd.cases())
def test_engine_keeps_the_invariants(case: Case) -> None:
    """No class receives principal or residual while a more senior class carries a write-down
    (after the period's reinstatement); the equity receives nothing on the final date while a
    rated class loses principal; pari-passu classes end with equal loss shares; face =
    principal paid + principal lost; cash is conserved, the reserve's funding included."""
    eng, _ = run_both(case)
    names = list(eng.tranche_names)
    notes = rw.notes_from(case.spec, pool0(case))
    tranche = {f: eng.tranche[f][0] for f in rw.TRANCHE_FIELDS}
    problems = rd.invariant_problems(
        tranche, names, [c.rank for c in notes], [c.face for c in notes], 1e-9 * pool0(case)
    )
    assert problems == []
    eng.check_conservation(tol=1e-12)
    funding = eng.ledger[eng.ledger["step"] == "reserve_funding"]["amount"].sum()
    initial = case.spec.reserve.initial * pool0(case) if case.spec.reserve else 0.0
    np.testing.assert_allclose(funding, initial, rtol=0, atol=1e-9)
