"""Engine against reference: every period of every tranche, fee, account and pool field.

:func:`check` runs both on the same ``Deal`` and pool and raises one ``AssertionError``
listing *every* field that differs (first differing period, class, both values), so a
failing test reads as a bug list.  Tolerance: absolute, 1e-9 per 1,000 of cut-off pool
(at least 1e-9), relative 0: two exact computations of the same flows, in different
orders, differ by a few 1e-10 on pools of this size.  The shorter result is padded with zeros, so the
two must agree on every period either of them reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference import pool as rp
from reference import spec as rs
from reference import waterfall as rw

#: Pool flows compared period by period (balances are left out: whether a period's
#: purchases or a call's sale are in its end balance is presentation, not cash).
POOL_FLOWS = (
    "scheduled_principal",
    "prepayment",
    "default",
    "interest",
    "fee",
    "recovery",
    "purchases",
)


def normalised(spec: rs.Spec) -> rs.Spec:
    """The spec with the junior-interest reordering applied and no post-default steps."""
    from dataclasses import replace

    w = rw.Waterfall.__new__(rw.Waterfall)
    w.deal = spec
    w.notes = rw.notes_from(spec, 1.0)
    w.index = {c.name: i for i, c in enumerate(w.notes)}
    steps = w._junior_interest_after_pdl(rw._steps(spec.interest))
    interest = tuple(f"{a}:{','.join(t)}" if t else a for a, t in steps)
    return replace(spec, interest=interest, post_default=())


def engine_inputs(case: Any) -> tuple[Any, Any]:
    """The engine's ``Deal`` and ``Cohorts`` for a :class:`reference.cases.Case`."""
    deal = rs.to_deal(case.spec, case.collateral)
    pool = rs.to_cohorts(list(case.cohorts))
    # The Deal carries everything the reference reads, unchanged.
    assert normalised(rs.from_deal(deal)) == normalised(case.spec)
    return deal, pool


def run_both(case: Any) -> tuple[Any, rw.Result]:
    """Engine run and reference run of a case, both from the engine's input objects."""
    from abs_engine.deal import run

    deal, pool = engine_inputs(case)
    ref = rw.run(
        rs.from_deal(deal), rp.cohorts_from(pool), rp.collateral_from(deal.pool.assumptions)
    )
    return run(deal, pool), ref


def _pad(x: Any, n: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    out = np.zeros((*a.shape[:-1], n))
    out[..., : a.shape[-1]] = a
    return out


def differences(eng: Any, ref: rw.Result, scenario: int = 0, pool0: float = 1000.0) -> list[str]:
    """Every field where engine and reference differ by more than 1e-9 (per 1,000 of pool)."""
    atol = 1e-9 * max(1.0, pool0 / 1000.0)
    T = max(eng.n_periods, ref.n_periods)
    out = []
    # Periods beyond the shorter result are compared with zeros: a run cut one period later
    # only differs if that period carries something (a float residue of 1e-14 does not).
    if tuple(eng.tranche_names) != tuple(ref.names):
        out.append(f"classes: engine {eng.tranche_names}, reference {ref.names}")
        return out

    def compare(group: str, field: str, e: Any, r: Any, labels: list[str] | None) -> None:
        e, r = _pad(e, T), _pad(r, T)
        bad = np.abs(e - r) > atol
        if not bad.any():
            return
        where = np.argwhere(bad)[0]
        if labels is None:
            t = int(where[0])
            what = f"period {t + 1}"
            ev, rv = e[t], r[t]
        else:
            k, t = int(where[0]), int(where[1])
            what = f"{labels[k]}, period {t + 1}"
            ev, rv = e[k, t], r[k, t]
        out.append(
            f"{group}[{field!r}] {what}: engine {ev:.10g}, reference {rv:.10g} "
            f"({int(bad.sum())} values differ)"
        )

    for f in rw.TRANCHE_FIELDS:
        if f not in eng.tranche:
            out.append(f"tranche[{f!r}] missing from the engine's result")
            continue
        compare("tranche", f, eng.tranche[f][scenario], ref.tranche[f], ref.names)
    for f in rw.FEE_FIELDS:
        compare("fee", f, eng.fee[f][scenario], ref.fee[f], ref.fee_names)
    for f in rw.ACCOUNT_FIELDS:
        if f not in eng.account:
            out.append(f"account[{f!r}] missing from the engine's result")
            continue
        compare("account", f, eng.account[f][scenario], ref.account[f], None)
    for f in POOL_FLOWS:
        compare("pool", f, eng.pool[f][scenario], ref.pool[f], None)
    if ref.trigger_names:
        e = _pad(eng.trigger[scenario].astype(float), T)
        r = _pad(np.asarray(ref.trigger, dtype=float), T)
        if (e != r).any():
            k, t = (int(x) for x in np.argwhere(e != r)[0])
            out.append(
                f"trigger {ref.trigger_names[k]!r} period {t + 1}: engine {bool(e[k, t])}, "
                f"reference {bool(r[k, t])}"
            )
    return out


def check(eng: Any, ref: rw.Result, scenario: int = 0, pool0: float = 1000.0) -> None:
    """Raise ``AssertionError`` listing every difference between engine and reference."""
    diff = differences(eng, ref, scenario, pool0)
    assert not diff, "engine != reference:\n  " + "\n  ".join(diff)
