"""The reference keeps the issue-10 invariants and its own cash conservation on random deals.

These are self-tests of the reference (no engine involved); ``tests/deal/
test_reference_properties.py`` holds the engine to the same properties and to the
reference itself.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from reference import random_deals as rd
from reference import waterfall as rw
from reference.cases import Case

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(rd.cases())
def test_cash_is_conserved(case: Case) -> None:
    """Every period the revenue and principal pockets end empty, the reserve moves only by its
    entries, and each class and fee received in the ledger what its fields say."""
    r = rw.run(case.spec, case.cohorts, case.collateral)
    assert rw.ledger_problems(r) == []


@SETTINGS
@given(rd.cases())
def test_issue_10_invariants(case: Case) -> None:
    """No class paid ahead of a more senior write-down; nothing to the equity on the final date
    while a rated class loses principal; pari-passu losses in equal shares; face identities."""
    r = rw.run(case.spec, case.cohorts, case.collateral)
    assert rd.reference_invariants(r, case) == []
