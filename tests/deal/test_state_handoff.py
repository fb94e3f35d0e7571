"""The trustee's calculation on given collections, and the hand-over of a deal's state.

A run on the pool's own projected collections, handed to :func:`run_on_collections`,
must distribute them exactly as :func:`run` did; and the state after period ``k``,
re-projected from the pool as it stands then, must continue the run exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support.deals import EQUAL_PRINCIPAL, tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine import curves
from abs_engine.deal import (
    COLLECTION_FIELDS,
    Reserve,
    Trigger,
    deal_from_dict,
    deal_to_dict,
    run,
    run_on_collections,
)
from abs_engine.errors import SpecError
from abs_engine.pool import Cohorts

STRESS = ae.Assumptions(
    default=curves.mdr(0.03), prepay=curves.smm(0.02), severity=0.6, recovery_lag=0
)


def _deal() -> ae.Deal:
    return tiny_deal(
        assumptions=STRESS,
        reserve=Reserve(initial=0.01, target=0.02, basis="notes"),
        triggers=(
            Trigger("es", "excess_spread", ("divert_excess_spread",), level=0.05, periods=2),
        ),
    )


def _close(a: object, b: object) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=1e-9)


def test_given_collections_are_distributed_like_projected_ones() -> None:
    deal = _deal()
    full = run(deal, tiny_pool(EQUAL_PRINCIPAL, term=8))
    k = 5
    given = {f: full.pool[f][:, :k] for f in COLLECTION_FIELDS}
    part = run_on_collections(deal, given, pool_balance=full.pool_balance)
    assert part.n_periods == k
    for f in ("interest_paid", "principal_paid", "end_balance", "writedown", "residual"):
        _close(part.tranche[f], full.tranche[f][:, :, :k])
    for f in ("reserve_end", "pdl", "excess_spread"):
        _close(part.account[f], full.account[f][:, :k])
    assert not part.tranche["principal_loss"].any()  # the deal goes on: nothing crystallises
    part.check_conservation(tol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_state_after_continues_the_run(k: int) -> None:
    """Re-project from the state after period ``k`` and the pool as it stands then (one
    equal-principal cohort re-aged by ``k`` months at its surviving balance): the tail is the
    same to 1e-9 — balances, interest, principal, reserve, PDL, triggers."""
    deal = _deal()
    term = 8
    full = run(deal, tiny_pool(EQUAL_PRINCIPAL, term=term))
    state = full.state_after(k - 1)
    survived = float(full.pool["end_balance"][0, k - 1])
    seasoned = Cohorts.from_loans(
        ("A",), [0], [EQUAL_PRINCIPAL], [term - k], [k], [0], [survived], [0.12], [0.0], [1000.0]
    )
    rest = run(dataclasses.replace(deal, state=state), seasoned)
    n = rest.n_periods
    assert full.n_periods == k + n
    for f in ("interest_paid", "principal_paid", "end_balance", "residual", "principal_loss"):
        _close(rest.tranche[f], full.tranche[f][:, :, k:])
    for f in ("reserve_end", "pdl", "cumulative_default"):
        _close(rest.account[f], full.account[f][:, k:])
    np.testing.assert_array_equal(rest.trigger, full.trigger[:, :, k:])
    # The state survives its TOML form.
    again = deal_from_dict(deal_to_dict(dataclasses.replace(deal, state=state)))
    assert again.state == state


def test_bad_collections_are_named() -> None:
    deal = _deal()
    with pytest.raises(SpecError, match="unknown collection field 'interst'"):
        run_on_collections(deal, {"begin_balance": [1.0], "end_balance": [1.0], "interst": [0]})
    with pytest.raises(SpecError, match=r"collections\.end_balance"):
        run_on_collections(deal, {"begin_balance": [1.0]})
    with pytest.raises(SpecError, match=r"collections\.interest"):
        run_on_collections(
            deal, {"begin_balance": [1.0, 1.0], "end_balance": [1.0, 1.0], "interest": [np.nan, 0]}
        )
    too_long = {"begin_balance": np.ones(30), "end_balance": np.ones(30)}
    with pytest.raises(SpecError, match="payment dates"):
        run_on_collections(deal, too_long)
