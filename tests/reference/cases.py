"""The hand-worked deals of issue 10, written once in the reference's terms.

Each function returns a :class:`Case`: the deal (:class:`reference.spec.Spec`), the
pool (reference cohorts) and the collateral assumptions.  The worked figures are in
the docstrings of ``tests/reference/test_waterfall.py`` (reference == hand figures);
``tests/deal/test_reference_*.py`` runs the engine on the same cases
(engine == reference).

Unless a case says otherwise: dates :data:`reference.spec.DATES` (30/360, every
accrual period 1/12 of a year, pool month ``p`` collected on payment date ``p``);
severity 100% and no recovery lag; senior 6% (0.5% a month), mezzanine 12% (1% a
month), the equity a note taking the rest of the pool.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from reference import pool as rp
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


@dataclass(frozen=True)
class Case:
    spec: Spec
    cohorts: tuple[rp.Cohort, ...]
    collateral: rp.Collateral


SEN = Note("senior", "senior", size=0.7, coupon=0.06)
MEZ = Note("mezzanine", "mezzanine", size=0.2, coupon=0.12)
EQ = Note("equity", "equity")
STANDARD_INTEREST = ("interest:senior", "interest:mezzanine", "cover_defaults", "residual")
SEQUENTIAL = ("principal:senior", "principal:mezzanine", "principal:equity", "residual")


def by_period(*mdr: float) -> rp.Curve:
    """Monthly default rates by calendar month (the last held)."""
    return rp.Curve(tuple(mdr), by="period")


def bullet(term: int, rate: float, balance: float = 1000.0) -> tuple[rp.Cohort, ...]:
    return (rp.Cohort(balance, term, rp.BULLET, rate),)


def equal_principal(term: int, rate: float, balance: float = 1000.0) -> tuple[rp.Cohort, ...]:
    return (rp.Cohort(balance, term, rp.EQUAL_PRINCIPAL, rate),)


# --- item 1: write-downs are reimbursed --------------------------------------------------------


def reinstatement(loss_allocation: str = "writedown") -> Case:
    """Six-month bullet of 1,000 at 24%; 15% default in month 1 (severity 100%)."""
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        interest=STANDARD_INTEREST,
        principal=SEQUENTIAL,
        loss_allocation=loss_allocation,
    )
    return Case(spec, bullet(6, 0.24), rp.Collateral(mdr=by_period(0.15, 0.0)))


# --- item 4: the PDL nets recoveries; a transient write-down is not a final loss --------------


def pro_rata_with_a_pdl(loss_allocation: str = "writedown") -> Case:
    """A 1-month zero-rate annuity of 100; 12.5% default, severity 0 (recovered in full a
    month later); senior 50 and mezzanine 50 at 0% paid pro rata, no equity note."""
    spec = Spec(
        notes=(Note("senior", "senior", size=0.5), Note("mezzanine", "mezzanine", size=0.5), EQ),
        interest=STANDARD_INTEREST,
        principal=("pro_rata:senior,mezzanine", "principal:equity", "residual"),
        loss_allocation=loss_allocation,
    )
    cohorts = (rp.Cohort(100.0, 1, rp.ANNUITY, 0.0),)
    return Case(spec, cohorts, rp.Collateral(mdr=rp.flat(0.125), severity=0.0, lag=1))


def pdl_without_cover_defaults() -> Case:
    """A 2-month bullet of 1,000 at 12%; 20% default in month 1 (severity 100%); senior 900 at
    0% and an equity note of 100; ``pdl``; the interest waterfall has no ``cover_defaults``."""
    spec = Spec(
        notes=(Note("senior", "senior", size=0.9), EQ),
        interest=("interest:senior", "residual"),
        principal=("principal:senior", "principal:equity", "residual"),
        loss_allocation="pdl",
    )
    return Case(spec, bullet(2, 0.12), rp.Collateral(mdr=by_period(0.2, 0)))


def recoveries() -> Case:
    """Four-month bullet of 1,000 at 24%; 10% default in month 1, severity 50%, lag 2."""
    spec = Spec(notes=(SEN, MEZ, EQ), interest=STANDARD_INTEREST, principal=SEQUENTIAL)
    return Case(spec, bullet(4, 0.24), rp.Collateral(mdr=by_period(0.10, 0.0), severity=0.5, lag=2))


# --- item 2: the reserve serves the notes to the end --------------------------------------------


def reserve_at_the_end(with_cover_defaults: bool = True) -> Case:
    """Three-month bullet of 1,000 at 12%; 20% default in month 3.  Reserve 5% of the pool."""
    interest = (
        ("interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual")
        if with_cover_defaults
        else ("interest:senior", "interest:mezzanine", "residual")
    )
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        interest=interest,
        principal=SEQUENTIAL,
        reserve=Reserve(initial=0.05, target=0.05, basis="pool"),
    )
    return Case(spec, bullet(3, 0.12), rp.Collateral(mdr=by_period(0.0, 0.0, 0.2, 0.0)))


def full_redemption() -> Case:
    """Equal principal 1,000 at 12% over 5 months, recovery lag 2 (the horizon is 7 periods;
    with no default to recover the scenario ends on payment date 5).

    Notes senior 600, mezzanine 200, equity 200; reserve 2% of the rated notes, floor 5.
    """
    spec = Spec(
        notes=(
            Note("senior", "senior", size=0.6, coupon=0.06),
            Note("mezzanine", "mezzanine", size=0.2, coupon=0.12),
            EQ,
        ),
        interest=("interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual"),
        principal=SEQUENTIAL,
        reserve=Reserve(initial=0.02, target=0.02, basis="notes", floor=5.0),
    )
    return Case(spec, equal_principal(5, 0.12), rp.Collateral(lag=2))


# --- item 3: pari passu classes --------------------------------------------------------------


def pari_passu() -> Case:
    """Four-month bullet of 1,000 at 24%, 25% default in month 1.

    Senior A 600 at 6% (rank 1); B1 150 at 12% and B2 50 at 24%, pari passu (rank 2);
    equity 200 (rank 3).
    """
    spec = Spec(
        notes=(
            Note("A", "senior", size=0.6, coupon=0.06, rank=1),
            Note("B1", "mezzanine", size=0.15, coupon=0.12, rank=2),
            Note("B2", "mezzanine", size=0.05, coupon=0.24, rank=2),
            Note("equity", "equity", rank=3),
        ),
        interest=("interest:A", "interest:B1,B2", "cover_defaults", "residual"),
        principal=("principal:A", "pro_rata:B1,B2", "principal:equity", "residual"),
    )
    return Case(spec, bullet(4, 0.24), rp.Collateral(mdr=by_period(0.25, 0.0)))


def pari_passu_interest_short() -> Case:
    """Two-month bullet of 1,000 at 6% (5 a month): B1 and B2 share a revenue shortfall; the
    principal waterfall pays their arrears (pro rata) before the equity's principal."""
    spec = replace(
        pari_passu().spec,
        principal=(
            "principal:A",
            "pro_rata:B1,B2",
            "interest:B1,B2",
            "principal:equity",
            "residual",
        ),
    )
    return Case(spec, bullet(2, 0.06), rp.Collateral())


# --- item 5: IC excludes the reserve ---------------------------------------------------------


def ic_without_reserve() -> Case:
    """Equal principal 1,000 at 12% over 4 months; a 10% reserve released down to 2% of the notes.

    Notes senior 600, mezzanine 200, equity 200; principal pro rata until an IC trigger
    on the mezzanine (level 2.5) makes it sequential.
    """
    spec = Spec(
        notes=(
            Note("senior", "senior", size=0.6, coupon=0.06),
            Note("mezzanine", "mezzanine", size=0.2, coupon=0.12),
            EQ,
        ),
        interest=("interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual"),
        principal=("pro_rata:senior,mezzanine", "principal:equity", "residual"),
        reserve=Reserve(initial=0.10, target=0.02, basis="notes"),
        triggers=(Trigger("ic", "ic", ("sequential",), level=2.5, tranche="mezzanine"),),
    )
    return Case(spec, equal_principal(4, 0.12), rp.Collateral())


# --- item 6: clean-up call ----------------------------------------------------------------------


def call_with_reserve() -> Case:
    """Equal principal 1,000 at 12% over 10 months; call at 35%; reserve 1% of the pool kept."""
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        interest=("interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual"),
        principal=SEQUENTIAL,
        reserve=Reserve(initial=0.01, target=0.01, basis="pool", release_excess=False),
        clean_up_call=Call(0.35),
    )
    return Case(spec, equal_principal(10, 0.12), rp.Collateral())


def call_with_recoveries(
    defaulted_price: float | None = None,
    *,
    recoveries_to: str = "principal",
    later_default: bool = False,
) -> Case:
    """Equal principal 1,000 at 12% over 10 months; 10% default in month 6, severity 50%, lag 3.

    Call at 35% (exercised on payment date 7); the month-6 default (50) awaits its recovery
    (25, month 9): kept by the trust, or sold at ``defaulted_price``.  With
    ``later_default`` the curve also defaults 10% in month 8, after the call: receivables
    the trust has sold.
    """
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        interest=STANDARD_INTEREST,
        principal=SEQUENTIAL,
        clean_up_call=Call(0.35, defaulted_price=defaulted_price),
        recoveries_to=recoveries_to,
    )
    mdr = by_period(0, 0, 0, 0, 0, 0.1, 0, 0.1 if later_default else 0, 0)
    return Case(spec, equal_principal(10, 0.12), rp.Collateral(mdr=mdr, severity=0.5, lag=3))


def call_sells_everything() -> Case:
    """Equal principal 1,000 at 12% over 10 months; 10% default in month 6, severity 100%, no
    lag (nothing to recover); a trustee fee of 12 a year; call at 35% (payment date 7) while
    the equity is written down: the call sells the whole pool and ends the scenario."""
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        fees=(Fee("trustee", "fixed", amount=12.0),),
        interest=("fee:trustee", *STANDARD_INTEREST),
        principal=SEQUENTIAL,
        clean_up_call=Call(0.35),
    )
    mdr = by_period(0, 0, 0, 0, 0, 0.1, 0)
    return Case(spec, equal_principal(10, 0.12), rp.Collateral(mdr=mdr))


def call_leaves_recoveries() -> Case:
    """:func:`call_with_recoveries` (no ``defaulted_price``) with a reserve of 1% of the pool,
    kept (no release), topped up before ``cover_defaults``: the call on payment date 7 is the
    last payment date, the recovery of month 9 ends the scenario on payment date 9."""
    base = call_with_recoveries()
    spec = replace(
        base.spec,
        interest=("interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual"),
        reserve=Reserve(initial=0.01, target=0.01, basis="pool", release_excess=False),
    )
    return replace(base, spec=spec)


def pass_through_call() -> Case:
    """Equal principal 1,000 at 12% over 4 months, 8.35% SMM; one senior class of 100% at 0%
    (no equity note); call at 30%: the proceeds redeem the notes exactly."""
    spec = Spec(
        notes=(Note("senior", "senior", size=1.0), EQ),
        interest=("interest:senior", "cover_defaults", "residual"),
        principal=("principal:senior", "principal:equity", "residual"),
        clean_up_call=Call(0.3, accrued_interest=False),
    )
    return Case(spec, equal_principal(4, 0.12), rp.Collateral(smm=rp.flat(0.0835)))


def call_after_the_notes(turbo: bool = True) -> Case:
    """Equal principal 1,000 at 120% (10% a month) over 8 months; one senior class of 100% at
    0% (no equity note); call at 30% and 0.97: the pool falls to 250 in month 6.  With
    ``turbo`` the interest waterfall pays senior principal and the senior is repaid in month 5,
    before that."""
    turbo_steps = ("principal:senior",) if turbo else ()
    spec = Spec(
        notes=(Note("senior", "senior", size=1.0), EQ),
        interest=("interest:senior", *turbo_steps, "cover_defaults", "residual"),
        principal=("principal:senior", "principal:equity", "residual"),
        clean_up_call=Call(0.3, price=0.97),
    )
    return Case(spec, equal_principal(8, 1.2), rp.Collateral())


# --- item 7: revolving purchases see the calendar ------------------------------------------------


def revolving_shock() -> Case:
    """Equal principal 1,000 at 12% over 2 months; two periods of purchases of 6-month bullets
    at 12%; a calendar shock: 10% default in pool month 6 only (``by = "period"``)."""
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        interest=STANDARD_INTEREST,
        principal=("reinvest", *SEQUENTIAL),
        revolving=Revolving(2, (Line(rp.BULLET, 6, rate=0.12),)),
    )
    mdr = by_period(0, 0, 0, 0, 0, 0.1, 0)
    return Case(spec, equal_principal(2, 0.12), rp.Collateral(mdr=mdr))


def premium_purchase() -> Case:
    """Equal principal 1,000 at 12% over 2 months; period 1's principal (500) buys 2-month
    bullets at 12% for 1.02 per unit: a write-down without a default.  Notes 1,000 (100%),
    a residual-only equity."""
    spec = Spec(
        notes=(Note("senior", "senior", size=1.0), EQ),
        interest=STANDARD_INTEREST[:1] + STANDARD_INTEREST[2:],
        principal=("reinvest", "principal:senior", "principal:equity", "residual"),
        revolving=Revolving(1, (Line(rp.BULLET, 2, rate=0.12),), price=1.02),
    )
    return Case(spec, equal_principal(2, 0.12), rp.Collateral())


def premium_purchase_thin_spread() -> Case:
    """A flat-fee receivable of 100 over 2 months (fee 1.56 a month, no interest); two
    periods of purchases of 1-month zero-rate annuities at 1.02 per unit, so the spread
    cannot pay the whole premium.  Senior 100 (100%) at 0%, a residual-only equity."""
    spec = Spec(
        notes=(Note("senior", "senior", size=1.0), EQ),
        interest=STANDARD_INTEREST[:1] + STANDARD_INTEREST[2:],
        principal=("reinvest", "principal:senior", "principal:equity", "residual"),
        revolving=Revolving(2, (Line(rp.ANNUITY, 1, rate=0.0),), price=1.02),
    )
    cohorts = (rp.Cohort(100.0, 2, rp.FLAT_FEE, 0.0, fee=1.56),)
    return Case(spec, cohorts, rp.Collateral())


def repaid_before_the_horizon() -> Case:
    """A 6-month bullet of 100 at 12% (age 3), 2.4% SMM, recovery lag 1 (so the run's horizon is
    7 periods); senior 40 at 6%, mezzanine 8.92 at 4.04%, equity 51.08; a trustee fee of 1.2
    a year.  Everything is repaid on payment date 6 and no default can recover in month 7."""
    spec = Spec(
        notes=(
            Note("senior", "senior", size=0.4, coupon=0.06),
            Note("mezz", "mezzanine", size=0.0892, coupon=0.0404),
            EQ,
        ),
        fees=(Fee("trustee", "fixed", amount=1.2),),
        interest=("fee:trustee", "interest:senior", "interest:mezz", "cover_defaults", "residual"),
        principal=("principal:senior", "principal:mezz", "principal:equity", "residual"),
    )
    cohorts = (rp.Cohort(100.0, 6, rp.BULLET, 0.12, age=3),)
    return Case(spec, cohorts, rp.Collateral(smm=rp.flat(0.024), lag=1))


def repaid_and_recovered_early(loss_allocation: str = "pdl") -> Case:
    """A 3-month bullet of 1,000 at 12%; 20% default in month 1 (200), severity 50%, lag 1: 100
    recovered in month 2; the horizon is 4 periods (3 months + lag 1) but nothing can arrive
    in month 4.  Reserve 5% of the pool, kept (no release); the equity note is left short."""
    spec = Spec(
        notes=(SEN, MEZ, EQ),
        interest=("interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual"),
        principal=SEQUENTIAL,
        reserve=Reserve(initial=0.05, target=0.05, basis="pool", release_excess=False),
        loss_allocation=loss_allocation,
    )
    mdr = by_period(0.2, 0.0)
    return Case(spec, bullet(3, 0.12), rp.Collateral(mdr=mdr, severity=0.5, lag=1))


# --- item 12: options the market uses -----------------------------------------------------------


def deferred_interest(accrues: bool = True) -> Case:
    """Three-month bullet of 1,000 at 6% (5 a month); senior 600 at 6%, mezzanine 200 at 24%."""
    spec = Spec(
        notes=(
            Note("senior", "senior", size=0.6, coupon=0.06),
            Note(
                "mezzanine",
                "mezzanine",
                size=0.2,
                coupon=0.24,
                deferred_interest_accrues=accrues,
            ),
            EQ,
        ),
        interest=("interest:senior", "interest:mezzanine", "residual"),
        principal=SEQUENTIAL,
    )
    return Case(spec, bullet(3, 0.06), rp.Collateral())


def junior_interest_after_pdl(after: bool = True) -> Case:
    """PDL structure; three-month bullet of 1,000 at 12%; 5% default in month 1."""
    spec = Spec(
        notes=(
            Note("senior", "senior", size=0.6, coupon=0.06),
            Note("mezzanine", "mezzanine", size=0.2, coupon=0.12),
            EQ,
        ),
        interest=STANDARD_INTEREST,
        principal=SEQUENTIAL,
        loss_allocation="pdl",
        junior_interest_after_pdl=after,
    )
    return Case(spec, bullet(3, 0.12), rp.Collateral(mdr=by_period(0.05, 0.0)))


def fees_from_cutoff(accrue_from: str = "cutoff") -> Case:
    """Equal principal 1,000 at 12% over 4 months; a fixed fee of 12 a year and a 1.2% servicer
    fee accrue from the cut-off (31 Jan) rather than from closing (25 Feb)."""
    spec = Spec(
        notes=(
            Note("senior", "senior", size=0.6, coupon=0.06),
            Note("mezzanine", "mezzanine", size=0.2, coupon=0.12),
            EQ,
        ),
        fees=(
            Fee("trustee", "fixed", amount=12.0, accrue_from=accrue_from),
            Fee("servicer", "pool_pct", rate=0.012, accrue_from=accrue_from),
        ),
        interest=(
            "fee:trustee",
            "fee:servicer",
            "interest:senior",
            "interest:mezzanine",
            "residual",
        ),
        principal=SEQUENTIAL,
    )
    return Case(spec, equal_principal(4, 0.12), rp.Collateral())


# --- item 13: a cut-off that collects nothing -----------------------------------------------------


def with_dates(case: Case, cutoff: dt.date, first_payment: dt.date) -> Case:
    """The case with another cut-off and first payment date (closing = cut-off)."""
    dates = replace(
        case.spec.dates,
        cutoff=cutoff,
        closing=cutoff,
        first_payment=first_payment,
        legal_final=dt.date(2023, 1, 25),
    )
    return replace(case, spec=replace(case.spec, dates=dates))


__all__ = ["DATES", "Case"]
