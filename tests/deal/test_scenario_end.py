"""Each scenario of a run ends on its own date (rule book docs/waterfall.md, "End of a scenario").

A run of several scenarios lasts until the last of them ends; a scenario that ended earlier
shows, in the later periods, no cash and nothing falling due, with its balances, write-downs
and unpaid amounts as they were.  So a scenario's figures do not depend on the batch it runs
in: the batch equals each scenario run alone, period by period.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import abs_engine as ae
from abs_engine.deal import run
from abs_engine.deal.spec import CleanUpCall

#: Cash and amounts falling due: nothing after a scenario's end.
MOVES = {
    "tranche": (
        "interest_due",
        "interest_paid",
        "principal_paid",
        "writedown",
        "reinstatement",
        "principal_loss",
        "residual",
    ),
    "fee": ("due", "paid"),
    "account": (
        "revenue",
        "principal_collections",
        "reserve_release",
        "reserve_draw",
        "reserve_deposit",
    ),
}
#: State carried: as it was at the end.
STATE = {
    "tranche": ("end_balance", "unreimbursed_writedown", "interest_shortfall"),
    "fee": ("unpaid",),
    "account": ("reserve_end", "pdl", "cumulative_default"),
}


def _all_triggers_with_a_call(loss_allocation: str) -> ae.Deal:
    """``all_triggers`` (five trigger kinds, a revolving period) with a clean-up call that
    sells the defaulted receivables too: scenarios called on date 17 end there, the
    heaviest one runs to the horizon with its triggers breached.  With ``none`` the notes
    keep their balances after the end, where a trigger tested again (excess spread over an
    empty pool) would breach: the ended scenario's triggers must stay as they were."""
    deal = ae.load_deal(ae.samples.path("all_triggers"))
    call = CleanUpCall(threshold=0.1, defaulted_price=0.3)
    return dataclasses.replace(deal, clean_up_call=call, loss_allocation=loss_allocation)


DEALS = {
    "static_sequential": lambda: ae.load_deal(ae.samples.path("static_sequential")),
    "all_triggers_call": lambda: _all_triggers_with_a_call("writedown"),
    "all_triggers_call_none": lambda: _all_triggers_with_a_call("none"),
}


@pytest.fixture(scope="module", params=sorted(DEALS))
def runs(request: pytest.FixtureRequest) -> tuple[ae.RunResult, list[ae.RunResult]]:
    pool = ae.Pool.from_frame(ae.sample_pool(n=300, seed=7))
    deal = DEALS[request.param]()
    scen = [
        ae.Scenario("base"),
        ae.Scenario("x6", default_mult=6.0),
        ae.Scenario("fast", prepay_mult=3.0),
        ae.Scenario("x15", default_mult=15.0, recovery_lag_shift=2),
    ]
    return run(deal, pool, scen), [run(deal, pool, s) for s in scen]


def _get(r: ae.RunResult, part: str, f: str) -> np.ndarray:
    return np.asarray(getattr(r, part)[f])


def test_the_scenarios_end_on_different_dates(
    runs: tuple[ae.RunResult, list[ae.RunResult]],
) -> None:
    batch, alone = runs
    ends = [r.n_periods for r in alone]
    assert len(set(ends)) > 1, ends  # otherwise this module tests nothing
    assert batch.n_periods == max(ends)


def test_a_batch_equals_its_scenarios_alone(runs: tuple[ae.RunResult, list[ae.RunResult]]) -> None:
    batch, alone = runs
    for s, one in enumerate(alone):
        T = one.n_periods
        for part, fields in MOVES.items():
            for f in (*fields, *STATE[part]):
                got, want = _get(batch, part, f)[s][..., :T], _get(one, part, f)[0]
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-6, err_msg=f"{s} {f}")
        for part, fields in MOVES.items():
            for f in fields:
                after = _get(batch, part, f)[s][..., T:]
                assert not np.abs(after).max(initial=0.0) > 1e-6, (s, part, f)
        for part, fields in STATE.items():
            for f in fields:
                a = _get(batch, part, f)[s]
                last = a[..., T - 1 : T]
                np.testing.assert_array_equal(a[..., T:], np.broadcast_to(last, a[..., T:].shape))
        # Triggers: as alone up to the end, then as they were at the end.
        trig = batch.trigger[s]
        np.testing.assert_array_equal(trig[:, :T], one.trigger[0])
        np.testing.assert_array_equal(
            trig[:, T:], np.broadcast_to(trig[:, T - 1 : T], trig[:, T:].shape)
        )
