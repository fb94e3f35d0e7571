"""Random small deals (hypothesis strategies) and the invariants every run must keep.

A deal here is a :class:`reference.cases.Case`: 1-2 cohorts of any payment type, constant
or vector (by age or by period) default and prepayment rates, severity and lag; 2-5
classes (a senior, maybe pari-passu seniors or mezzanines given by ``rank``, an equity
note or a residual-only equity); any ``loss_allocation``, ``recoveries_to``, reserve,
fees, junior-interest option, deferred-interest option, clean-up call, revolving period
and trigger.  The waterfall is the usual one (fees, interest by rank with ``interest:X,Y``
for a pari-passu rank, reserve, cover_defaults, residual; principal by rank with
``pro_rata`` for a pari-passu rank, or pro rata across the rated classes).

Purchases may be above or below par and the clean-up call below par: value moved without a
default (so not in the PDL) must still be reinstated before the residual is paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from reference import pool as rp
from reference.cases import Case
from reference.spec import (
    DATES,
    Call,
    Fee,
    Line,
    Note,
    Reserve,
    Revolving,
    Spec,
    Trigger,
)
from reference.waterfall import Result

ACT_DATES = replace(
    DATES,
    closing=dt.date(2020, 2, 20),
    first_payment=dt.date(2020, 3, 20),
    legal_final=dt.date(2022, 3, 20),
    day_count="ACT/365F",
)


def _money(draw: Any, lo: float, hi: float) -> float:
    """A number in [lo, hi] to 4 decimals (no 1e-200 rates: those test float underflow, not
    the waterfall, and make "is there any cash left?" a question of tolerance)."""
    return round(draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False)), 4)


def _rate(draw: Any, hi: float) -> float:
    """An annual rate: zero, or at least 0.1%."""
    return draw(st.one_of(st.just(0.0), st.floats(0.001, hi).map(lambda x: round(x, 4))))


def _curve(draw: Any, hi: float) -> rp.Curve:
    if draw(st.booleans()):
        return rp.flat(_money(draw, 0.0, hi))
    values = draw(st.lists(st.floats(0.0, hi).map(lambda x: round(x, 4)), min_size=1, max_size=6))
    return rp.Curve(tuple(values), by=draw(st.sampled_from(["age", "period"])))


@st.composite
def cases(draw: Any) -> Case:
    """A random small deal."""
    cohorts = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(rp.KINDS))
        balance = _money(draw, 100.0, 1000.0)
        fee = balance * _money(draw, 0.0, 0.02) if kind == rp.FLAT_FEE else 0.0
        cohorts.append(
            rp.Cohort(
                balance=balance,
                term=draw(st.integers(1, 8)),
                kind=kind,
                rate=_rate(draw, 0.3),
                fee=fee,
                age=draw(st.integers(0, 3)),
            )
        )
    collateral = rp.Collateral(
        mdr=_curve(draw, 0.15),
        smm=_curve(draw, 0.1),
        severity=_money(draw, 0.0, 1.0),
        lag=draw(st.integers(0, 3)),
    )

    # Classes: senior(s), mezzanine(s), equity; pari-passu pairs share a rank.
    layout = draw(st.sampled_from(["S", "SM", "AAM", "SBB"]))
    senior = _money(draw, 0.4, 0.85)
    rated = min(senior + (_money(draw, 0.02, 0.3) if layout != "S" else 0.0), 1.0)
    if draw(st.integers(0, 5)) == 0:
        rated = 1.0  # a residual-only equity: no equity note
    mezz = rated - senior
    split = _money(draw, 0.2, 0.8)

    def coupon() -> float:
        return _money(draw, 0.0, 0.2)

    def accrues() -> bool:
        return bool(draw(st.booleans()))

    if layout == "S":
        notes = [Note("senior", "senior", size=rated, coupon=coupon())]
    elif layout == "SM":
        notes = [
            Note("senior", "senior", size=senior, coupon=coupon()),
            Note(
                "mezz", "mezzanine", size=mezz, coupon=coupon(), deferred_interest_accrues=accrues()
            ),
        ]
    elif layout == "AAM":
        notes = [
            Note("A1", "senior", size=senior * split, coupon=coupon(), rank=1),
            Note("A2", "senior", size=senior * (1 - split), coupon=coupon(), rank=1),
            Note("mezz", "mezzanine", size=mezz, coupon=coupon(), rank=2),
        ]
    else:
        notes = [
            Note("senior", "senior", size=senior, coupon=coupon(), rank=1),
            Note("B1", "mezzanine", size=mezz * split, coupon=coupon(), rank=2),
            Note(
                "B2",
                "mezzanine",
                size=mezz * (1 - split),
                coupon=coupon(),
                rank=2,
                deferred_interest_accrues=accrues(),
            ),
        ]
    ranked = any(n.rank is not None for n in notes)
    notes.append(Note("equity", "equity", rank=3 if ranked else None))
    notes = [n for n in notes if n.size is None or n.size > 0]

    # Fees.
    fees = []
    if draw(st.booleans()):
        fees.append(Fee("tax", "tax", rate=_money(draw, 0.01, 0.07)))
    if draw(st.booleans()):
        fees.append(
            Fee(
                "trustee",
                "fixed",
                amount=_money(draw, 1.0, 20.0),
                accrue_from=draw(st.sampled_from(["closing", "cutoff"])),
            )
        )
    if draw(st.booleans()):
        fees.append(
            Fee(
                "servicer",
                "pool_pct",
                rate=_money(draw, 0.005, 0.03),
                accrue_from=draw(st.sampled_from(["closing", "cutoff"])),
            )
        )

    reserve = None
    if draw(st.booleans()):
        reserve = Reserve(
            initial=_money(draw, 0.0, 0.05),
            target=_money(draw, 0.0, 0.05),
            basis=draw(st.sampled_from(["notes", "pool"])),
            floor=draw(st.sampled_from([0.0, 5.0])),
            release_excess=draw(st.booleans()),
        )

    # The waterfall.
    groups: list[list[Note]] = []
    for n in notes:
        rank = n.rank
        if groups and rank is not None and groups[-1][0].rank == rank:
            groups[-1].append(n)
        else:
            groups.append([n])
    rated_groups = [g for g in groups if g[0].kind != "equity"]
    interest = [f"fee:{f.name}" for f in fees]
    interest += [f"interest:{','.join(n.name for n in g)}" for g in rated_groups]
    if reserve is not None:
        interest.append("reserve")
    interest += ["cover_defaults", "residual"]
    revolving = None
    if draw(st.integers(0, 3)) == 0:
        revolving = Revolving(
            draw(st.integers(1, 3)),
            (
                Line(
                    draw(st.sampled_from(rp.KINDS)),
                    draw(st.integers(1, 6)),
                    rate=_rate(draw, 0.3),
                    fee_rate=_money(draw, 0.0, 0.01),
                ),
            ),
            price=draw(st.sampled_from([1.0, 0.98, 1.02])),
        )
    principal = ["reinvest"] if revolving is not None else []
    if draw(st.booleans()) and len(rated_groups) > 1:
        principal.append(f"pro_rata:{','.join(n.name for g in rated_groups for n in g)}")
    else:
        for g in rated_groups:
            names = ",".join(n.name for n in g)
            principal.append(f"pro_rata:{names}" if len(g) > 1 else f"principal:{names}")
    principal += ["principal:equity", "residual"]

    call = None
    if draw(st.integers(0, 2)) == 0:
        defaulted = draw(st.one_of(st.none(), st.floats(0.0, 1.0).map(lambda x: round(x, 4))))
        call = Call(
            threshold=_money(draw, 0.05, 0.4),
            price=draw(st.sampled_from([1.0, 0.97])),
            accrued_interest=draw(st.booleans()),
            defaulted_price=defaulted,
        )

    triggers: list[Trigger] = []
    choice = draw(
        st.sampled_from(
            ["none", "cumulative_default", "oc", "ic", "excess_spread", "interest_shortfall"]
        )
    )
    effects = ["sequential", "divert_excess_spread"]
    if revolving is not None:
        effects.append("end_revolving")
    effect = (draw(st.sampled_from(effects)),)
    curable = draw(st.booleans())
    if choice == "cumulative_default":
        triggers.append(
            Trigger("cd", "cumulative_default", effect, _money(draw, 0.01, 0.1), curable=curable)
        )
    elif choice == "oc":
        triggers.append(
            Trigger("oc", "oc", effect, _money(draw, 1.01, 1.5), notes[0].name, curable=curable)
        )
    elif choice == "ic":
        target = draw(st.sampled_from([n.name for n in notes if n.kind != "equity"]))
        triggers.append(
            Trigger("ic", "ic", effect, _money(draw, 1.01, 3.0), target, curable=curable)
        )
    elif choice == "excess_spread":
        periods = draw(st.integers(1, 3))
        level = _money(draw, 0.005, 0.1)
        triggers.append(Trigger("xs", "excess_spread", effect, level, None, periods, curable))
    elif choice == "interest_shortfall":
        target = draw(st.sampled_from([None, *(n.name for n in notes if n.kind != "equity")]))
        triggers.append(Trigger("short", "interest_shortfall", effect, 0.0, target, 1, curable))

    spec = Spec(
        notes=tuple(notes),
        interest=tuple(interest),
        principal=tuple(principal),
        dates=draw(st.sampled_from([DATES, ACT_DATES])),
        fees=tuple(fees),
        reserve=reserve,
        revolving=revolving,
        triggers=tuple(triggers),
        clean_up_call=call,
        loss_allocation=draw(st.sampled_from(["writedown", "pdl", "none"])),
        recoveries_to=draw(st.sampled_from(["principal", "interest"])),
        junior_interest_after_pdl=draw(st.booleans()),
    )
    return Case(spec, tuple(cohorts), collateral)


# --- invariants ----------------------------------------------------------------------------------


def invariant_problems(
    tranche: dict[str, Any], names: list[str], ranks: list[int], faces: list[float], eps: float
) -> list[str]:
    """The issue-10 properties of one scenario's tranche arrays (``[class][period]``).

    * no class receives principal or residual while a more senior class carries an
      unreimbursed write-down (after the period's reinstatement) or a PDL (at the period's
      end);
    * the equity receives nothing on the final date while a rated class is short
      (a principal loss);
    * pari-passu classes end with equal loss percentages;
    * ``end = begin - principal_paid - writedown + reinstatement``, the next period
      begins where this one ended, ``face = sum(principal_paid) + sum(principal_loss)``
      and ``sum(writedown) - sum(reinstatement) = unreimbursed_writedown[-1]``.
    """
    out = []
    n = len(names)
    T = len(tranche["begin_balance"][0])
    eq = n - 1
    for t in range(T):
        for j in range(n):
            got = tranche["principal_paid"][j][t] + tranche["residual"][j][t]
            if got <= eps:
                continue
            for i in range(n):
                if ranks[i] >= ranks[j]:
                    continue
                before = tranche["unreimbursed_writedown"][i][t - 1] if t else 0.0
                carried = before - tranche["reinstatement"][i][t]
                if carried > eps:
                    out.append(
                        f"period {t + 1}: {names[j]} receives {got:.6g} while {names[i]} "
                        f"carries a write-down of {carried:.6g}"
                    )
                if tranche["pdl"][i][t] > eps:
                    out.append(
                        f"period {t + 1}: {names[j]} receives {got:.6g} while {names[i]} "
                        f"carries a PDL of {tranche['pdl'][i][t]:.6g}"
                    )
    short = [names[i] for i in range(n - 1) if tranche["principal_loss"][i][T - 1] > eps]
    final = tranche["principal_paid"][eq][T - 1] + tranche["residual"][eq][T - 1]
    if short and final > eps:
        out.append(f"final date: the equity receives {final:.6g} while {short} are short")
    for r in set(ranks):
        group = [i for i in range(n) if ranks[i] == r and faces[i] > eps]
        shares = [sum(tranche["principal_loss"][i]) / faces[i] for i in group]
        if shares and max(shares) - min(shares) > eps / min(faces[i] for i in group):
            out.append(f"rank {r}: loss shares {shares} differ")
    for i in range(n):
        for t in range(T):
            moved = (
                tranche["begin_balance"][i][t]
                - tranche["principal_paid"][i][t]
                - tranche["writedown"][i][t]
                + tranche["reinstatement"][i][t]
            )
            if abs(moved - tranche["end_balance"][i][t]) > eps:
                out.append(f"period {t + 1}: {names[i]} end != begin - paid - written + reinstated")
            if t and abs(tranche["begin_balance"][i][t] - tranche["end_balance"][i][t - 1]) > eps:
                out.append(f"period {t + 1}: {names[i]} begins off the last period's end")
        repaid = sum(tranche["principal_paid"][i]) + sum(tranche["principal_loss"][i])
        if abs(repaid - faces[i]) > eps * T:
            out.append(f"{names[i]}: paid + lost = {repaid:.10g}, face {faces[i]:.10g}")
        net = sum(tranche["writedown"][i]) - sum(tranche["reinstatement"][i])
        if abs(net - tranche["unreimbursed_writedown"][i][T - 1]) > eps * T:
            out.append(
                f"{names[i]}: write-downs net {net:.10g} != W {tranche['unreimbursed_writedown'][i][T - 1]:.10g}"
            )
    return out


def reference_invariants(r: Result, case: Case) -> list[str]:
    from reference.waterfall import notes_from

    pool0 = sum(c.balance for c in case.cohorts)
    notes = notes_from(case.spec, pool0)
    return invariant_problems(
        r.tranche, r.names, [c.rank for c in notes], [c.face for c in notes], 1e-9 * pool0
    )
