"""The reference's own view of a deal: plain frozen dataclasses, and the bridge to ``abs_engine``.

The reference model runs on :class:`Spec`.  :func:`from_deal` reads an
``abs_engine.deal.Deal`` field by field into a :class:`Spec` (so the reference
and the engine take the *same* deal object); :func:`to_deal`,
:func:`to_assumptions` and :func:`to_cohorts` build the engine's inputs from the
reference's (so each hand-worked case is written once).  Waterfall steps are the
spec's strings (``"interest:A1,A2"``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from reference import pool as rp


@dataclass(frozen=True)
class Dates:
    cutoff: dt.date
    closing: dt.date
    first_payment: dt.date
    legal_final: dt.date
    frequency: int = 1
    payment_day: int | None = None
    day_count: str = "30/360 Bond Basis"  # ISDA 2006 4.16(f), the engine's name for "30/360"


#: Cut-off 31 Jan 2020 (pool month 1 is February), closing 25 Feb, payments on the 25th
#: from March: 30/360 makes every accrual period exactly 1/12 of a year.
DATES = Dates(
    cutoff=dt.date(2020, 1, 31),
    closing=dt.date(2020, 2, 25),
    first_payment=dt.date(2020, 3, 25),
    legal_final=dt.date(2022, 3, 25),
)


@dataclass(frozen=True)
class Note:
    """A class of notes (``size`` a share of the cut-off pool, or ``amount``; equity: the rest)."""

    name: str
    kind: str
    size: float | None = None
    amount: float | None = None
    coupon: float = 0.0
    coupon_steps: tuple[tuple[dt.date, float], ...] = ()
    deferrable: bool | None = None
    rank: int | None = None
    deferred_interest_accrues: bool = False


@dataclass(frozen=True)
class Fee:
    name: str
    kind: str  # tax, fixed, pool_pct
    rate: float = 0.0
    amount: float = 0.0
    accrue_from: str = "closing"


@dataclass(frozen=True)
class Reserve:
    initial: float = 0.0
    target: float = 0.0
    basis: str = "notes"
    floor: float = 0.0
    covers: tuple[str, ...] = ()
    release_excess: bool = True


@dataclass(frozen=True)
class Trigger:
    name: str
    kind: str
    effects: tuple[str, ...]
    level: float = 0.0
    tranche: str | None = None
    periods: int = 1
    curable: bool = False


@dataclass(frozen=True)
class Call:
    threshold: float
    price: float = 1.0
    accrued_interest: bool = True
    defaulted_price: float | None = None


@dataclass(frozen=True)
class Line:
    """One product of the revolving purchases (``payment_type`` a :data:`reference.pool.KINDS`)."""

    payment_type: str
    term: int
    share: float = 1.0
    rate: float = 0.0
    fee_rate: float = 0.0
    grade: str = "A"


@dataclass(frozen=True)
class Revolving:
    periods: int
    template: tuple[Line, ...]
    price: float = 1.0


@dataclass(frozen=True)
class Spec:
    """A deal as the reference reads it."""

    notes: tuple[Note, ...]
    interest: tuple[str, ...]
    principal: tuple[str, ...]
    post_default: tuple[str, ...] = ()
    dates: Dates = DATES
    fees: tuple[Fee, ...] = ()
    reserve: Reserve | None = None
    revolving: Revolving | None = None
    triggers: tuple[Trigger, ...] = ()
    clean_up_call: Call | None = None
    loss_allocation: str = "writedown"
    recoveries_to: str = "principal"
    junior_interest_after_pdl: bool = False


def standard_post_default(notes: tuple[Note, ...], fees: tuple[Fee, ...]) -> tuple[str, ...]:
    """Fees, then each class's interest and principal in turn, residual (never used in force)."""
    out = [f"fee:{f.name}" for f in fees]
    for n in notes:
        if n.kind != "equity":
            out.append(f"interest:{n.name}")
        out.append(f"principal:{n.name}")
    return (*out, "residual")


# --- from the engine's Deal ------------------------------------------------------------------


def _step(step: Any) -> str:
    return f"{step.action}:{','.join(step.targets)}" if step.targets else str(step.action)


def from_deal(deal: Any) -> Spec:
    """Read an ``abs_engine.deal.Deal`` into the reference's :class:`Spec` (field by field)."""
    if deal.state is not None:
        raise NotImplementedError("the reference runs fresh deals only (no state)")
    d = deal.dates
    notes = tuple(
        Note(
            name=t.name,
            kind=t.kind,
            size=t.size,
            amount=t.amount,
            coupon=float(t.coupon.rate),
            coupon_steps=tuple(t.coupon.steps),
            deferrable=t.deferrable,
            rank=getattr(t, "rank", None),
            deferred_interest_accrues=bool(getattr(t, "deferred_interest_accrues", False)),
        )
        for t in deal.tranches
    )
    fees = tuple(
        Fee(f.name, f.kind, f.rate, f.amount, getattr(f, "accrue_from", "closing"))
        for f in deal.fees
    )
    r = deal.reserve
    reserve = (
        None
        if r is None
        else Reserve(r.initial, r.target, r.basis, r.floor, tuple(r.covers), r.release_excess)
    )
    rv = deal.revolving
    revolving = (
        None
        if rv is None
        else Revolving(
            rv.periods,
            tuple(
                Line(x.payment_type, x.term, x.share, x.rate, x.fee_rate, x.grade)
                for x in rv.template
            ),
            rv.price,
        )
    )
    triggers = tuple(
        Trigger(t.name, t.kind, tuple(t.effects), t.level, t.tranche, t.periods, t.curable)
        for t in deal.triggers
    )
    c = deal.clean_up_call
    call = (
        None
        if c is None
        else Call(
            c.threshold,
            c.price,
            bool(getattr(c, "accrued_interest", True)),
            getattr(c, "defaulted_price", None),
        )
    )
    w = deal.waterfall
    return Spec(
        notes=notes,
        interest=tuple(_step(s) for s in w.interest),
        principal=tuple(_step(s) for s in w.principal),
        post_default=tuple(_step(s) for s in w.post_default),
        dates=Dates(
            d.cutoff,
            d.closing,
            d.first_payment,
            d.legal_final,
            d.frequency,
            d.payment_day,
            d.day_count,
        ),
        fees=fees,
        reserve=reserve,
        revolving=revolving,
        triggers=triggers,
        clean_up_call=call,
        loss_allocation=deal.loss_allocation,
        recoveries_to=deal.recoveries_to,
        junior_interest_after_pdl=bool(getattr(deal, "junior_interest_after_pdl", False)),
    )


# --- to the engine's inputs ---------------------------------------------------------------------


def to_assumptions(c: rp.Collateral) -> Any:
    """``abs_engine.Assumptions`` with the same monthly vectors (MDR, SMM), severity and lag."""
    import abs_engine as ae
    from abs_engine import curves

    return ae.Assumptions(
        default=curves.vector(list(c.mdr.values), "mdr", by=c.mdr.by),  # type: ignore[arg-type]
        prepay=curves.vector(list(c.smm.values), "smm", by=c.smm.by),  # type: ignore[arg-type]
        severity=c.severity,
        recovery_lag=c.lag,
    )


def to_cohorts(cohorts: list[rp.Cohort]) -> Any:
    """``abs_engine.Cohorts``, one per reference cohort (loan level, grade "A")."""
    import abs_engine as ae

    return ae.Cohorts.from_loans(
        ("A",),
        [0] * len(cohorts),
        [rp.KINDS.index(c.kind) for c in cohorts],
        [c.term for c in cohorts],
        [c.age for c in cohorts],
        [0] * len(cohorts),
        [c.balance for c in cohorts],
        [c.rate for c in cohorts],
        [c.fee / c.balance for c in cohorts],  # fee rate on an original balance = balance
        [c.balance for c in cohorts],
        loan_level=True,
    )


def to_deal(spec: Spec, collateral: rp.Collateral, name: str = "reference") -> Any:
    """The engine's ``Deal`` for a :class:`Spec` (the issue-10 spec: ranks, options...)."""
    from abs_engine import deal as e

    defaults = {"rank": None, "deferred_interest_accrues": False, "accrue_from": "closing"}

    def new_fields(**kw: Any) -> dict[str, Any]:
        """Keyword arguments of issue 10, passed only when they differ from the default."""
        return {k: v for k, v in kw.items() if v != defaults[k]}

    d = spec.dates
    tranches = tuple(
        e.Tranche(
            n.name,
            n.kind,  # type: ignore[arg-type]
            size=n.size,
            amount=n.amount,
            coupon=e.Coupon(n.coupon, n.coupon_steps),
            deferrable=n.deferrable,
            **new_fields(rank=n.rank, deferred_interest_accrues=n.deferred_interest_accrues),
        )
        for n in spec.notes
    )
    fees = tuple(
        e.Fee(f.name, f.kind, rate=f.rate, amount=f.amount, **new_fields(accrue_from=f.accrue_from))  # type: ignore[arg-type]
        for f in spec.fees
    )
    r = spec.reserve
    reserve = (
        None
        if r is None
        else e.Reserve(r.initial, r.target, r.basis, r.floor, r.covers, r.release_excess)  # type: ignore[arg-type]
    )
    rv = spec.revolving
    revolving = (
        None
        if rv is None
        else e.Revolving(
            rv.periods,
            tuple(
                e.TemplateLine(x.grade, x.payment_type, x.term, x.share, x.rate, x.fee_rate)
                for x in rv.template
            ),
            rv.price,
        )
    )
    triggers = tuple(
        e.Trigger(t.name, t.kind, t.effects, t.level, t.tranche, t.periods, t.curable)  # type: ignore[arg-type]
        for t in spec.triggers
    )
    c = spec.clean_up_call
    call = None
    if c is not None:
        extra: dict[str, Any] = {}
        if not c.accrued_interest:
            extra["accrued_interest"] = False
        if c.defaulted_price is not None:
            extra["defaulted_price"] = c.defaulted_price
        call = e.CleanUpCall(c.threshold, c.price, **extra)

    def steps(texts: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(e.Step.parse(t, "reference") for t in texts)

    post = spec.post_default or standard_post_default(spec.notes, spec.fees)
    top: dict[str, Any] = {}
    if spec.loss_allocation != "writedown":
        top["loss_allocation"] = spec.loss_allocation
    if spec.recoveries_to != "principal":
        top["recoveries_to"] = spec.recoveries_to
    if spec.junior_interest_after_pdl:
        top["junior_interest_after_pdl"] = True
    return e.Deal(
        name=name,
        dates=e.DealDates(
            d.cutoff,
            d.closing,
            d.first_payment,
            d.legal_final,
            d.frequency,
            d.payment_day,
            d.day_count,
        ),
        pool=e.PoolSpec(None, to_assumptions(collateral)),
        tranches=tranches,
        fees=fees,
        reserve=reserve,
        revolving=revolving,
        triggers=triggers,
        clean_up_call=call,
        waterfall=e.Waterfall(steps(spec.interest), steps(spec.principal), steps(post)),
        **top,
    )
