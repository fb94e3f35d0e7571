"""A tiny collateral model: a few cohorts projected month by month (SIFMA order of events).

Written from the SIFMA Standard Formulas (1999) and ``/work/shared/DESIGN.md``, not
from ``abs_engine.projection``.  Every month ``t`` (1 = the first calendar month
after the cut-off, or after the purchase for a receivable bought later) and every
cohort, starting from the performing balance ``B``:

1. ``default = MDR_t x B``: new defaults come off the beginning balance first;
2. ``interest = (B - default) x rate / 12``: only the non-defaulted balance pays;
   a flat fee is paid by the loans still performing,
   ``fee = F x (share of the cohort's loans neither defaulted nor prepaid)``;
3. scheduled principal on the surviving balance, ``sched(S)`` with
   ``S = B - default``, where for a balance ``X`` with ``n`` months left
   (``n = remaining term - t + 1``):

   * equal principal (and the flat-fee plan, equal principal plus a fee): ``X / n``;
   * level annuity at ``r = rate / 12``: ``X x (r / (1 - (1 + r)^-n) - r)``
     (``X / n`` when ``r = 0``);
   * bullet: ``X`` in the last month, else 0;

4. ``prepayment = SMM_t x (B - sched(B))``: the SIFMA voluntary prepayment, on
   the beginning balance less *its* scheduled amortisation (SIFMA Cash Flow A,
   month 1: ``1% x (100,000,000 - 67,097.90) = 999,329``; see ``test_pool.py``);
5. ``end = S - sched(S) - prepayment``; the share of the cohort's loans still
   performing moves by ``(1 - MDR_t - SMM_t)`` (both are shares of the loans
   that began the month);
6. the defaulted balance is liquidated ``lag`` months later:
   ``recovery = (1 - severity) x default``, ``loss = severity x default``.

Rates are monthly (MDR, SMM); a curve is a vector whose last value is held, indexed
by loan age (``age at cut-off + t``) or by calendar period (``offset + t``: a
receivable bought in period ``p`` reads a period curve from month ``p + 1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FLOWS = (
    "begin_balance",
    "default",
    "scheduled_principal",
    "prepayment",
    "end_balance",
    "interest",
    "fee",
    "recovery",
    "loss",
)
ANNUITY, EQUAL_PRINCIPAL, FLAT_FEE, BULLET = "annuity", "equal_principal", "flat_fee", "bullet"
#: The order of payment types in the engine's cohort arrays (an input format).
KINDS = (ANNUITY, EQUAL_PRINCIPAL, FLAT_FEE, BULLET)


@dataclass(frozen=True)
class Cohort:
    """Receivables that amortise alike.

    ``fee`` is the flat fee the whole cohort pays a month while every loan performs
    (fee rate x original balance); ``age`` the months since origination at cut-off.
    """

    balance: float
    term: int
    kind: str = EQUAL_PRINCIPAL
    rate: float = 0.0
    fee: float = 0.0
    age: int = 0


@dataclass(frozen=True)
class Curve:
    """Monthly rates (MDR or SMM) for month 1, 2, ...; the last value is held."""

    values: tuple[float, ...]
    by: str = "age"  # or "period"

    def at(self, age: int, period: int) -> float:
        month = age if self.by == "age" else period
        return self.values[min(month, len(self.values)) - 1]


def flat(rate: float) -> Curve:
    """The same monthly rate every month."""
    return Curve((rate,))


@dataclass(frozen=True)
class Collateral:
    """Assumptions: monthly default and prepayment curves, severity, recovery lag (months)."""

    mdr: Curve = Curve((0.0,))
    smm: Curve = Curve((0.0,))
    severity: float = 1.0
    lag: int = 0


def empty_month() -> dict[str, float]:
    return dict.fromkeys(FLOWS, 0.0)


def project(
    cohorts: Sequence[Cohort], assumptions: Collateral, months: int, offset: int = 0
) -> list[dict[str, float]]:
    """Pool totals month by month: ``out[t - 1]`` is month ``t`` (``FLOWS`` keys).

    ``offset``: calendar months between the cut-off and this pool's first month
    (period-indexed curves are read at ``offset + t``).
    """
    out = [empty_month() for _ in range(months)]
    a = assumptions
    for c in cohorts:
        balance = c.balance
        performing = 1.0  # share of the cohort's loans neither defaulted nor prepaid
        for t in range(1, months + 1):
            n = c.term - t + 1  # months left, this one included
            if n < 1 or balance <= 0.0:
                break
            mdr = a.mdr.at(c.age + t, offset + t)
            smm = a.smm.at(c.age + t, offset + t)
            default = mdr * balance
            surviving = balance - default
            scheduled = _scheduled(c, surviving, n)
            prepayment = smm * (balance - _scheduled(c, balance, n))
            month = out[t - 1]
            month["begin_balance"] += balance
            month["default"] += default
            month["scheduled_principal"] += scheduled
            month["prepayment"] += prepayment
            month["interest"] += surviving * c.rate / 12.0
            month["fee"] += c.fee * performing * (1.0 - mdr)
            balance = surviving - scheduled - prepayment
            month["end_balance"] += balance
            performing *= 1.0 - mdr - smm
            if t + a.lag <= months:
                out[t + a.lag - 1]["recovery"] += (1.0 - a.severity) * default
                out[t + a.lag - 1]["loss"] += a.severity * default
    return out


def _scheduled(c: Cohort, balance: float, n: int) -> float:
    """Scheduled principal of ``balance`` with ``n`` months left (this one included)."""
    if c.kind in (EQUAL_PRINCIPAL, FLAT_FEE):
        return balance / n
    if c.kind == ANNUITY:
        r = c.rate / 12.0
        if r == 0:
            return balance / n
        # 1 - (1 + r)^-n without cancellation for small rates.
        return balance * (r / -math.expm1(-n * math.log1p(r)) - r)
    if c.kind == BULLET:
        return balance if n == 1 else 0.0
    raise ValueError(f"unknown payment type {c.kind!r}")


def last_month_with_cash(cohorts: Sequence[Cohort], assumptions: Collateral) -> int:
    """The last month in which a cohort can pay anything: longest term + recovery lag."""
    return max((c.term for c in cohorts), default=0) + assumptions.lag


# --- reading the engine's input objects (field by field, no engine code) -------------------------


def cohorts_from(pool: Any) -> list[Cohort]:
    """The cohorts of an ``abs_engine.Cohorts`` (current receivables only)."""
    out = []
    for i in range(len(pool.balance)):
        if int(pool.dpd_bucket[i]) != 0:
            raise NotImplementedError("the reference pool has no delinquency at cut-off")
        out.append(
            Cohort(
                balance=float(pool.balance[i]),
                term=int(pool.remaining_term[i]),
                kind=KINDS[int(pool.payment_type[i])],
                rate=float(pool.rate[i]),
                fee=float(pool.fee[i]),
                age=int(pool.age[i]),
            )
        )
    return out


def _monthly(value: float, unit: str) -> float:
    """An annual rate (CDR, CPR) as a monthly one: ``1 - (1 - annual)^(1/12)``."""
    return value if unit in ("mdr", "smm") else 1.0 - (1.0 - value) ** (1.0 / 12.0)


def _curve(curve: Any) -> Curve:
    name = type(curve).__name__
    if name == "Constant":
        return Curve((_monthly(curve.rate, curve.unit),), curve.by)
    if name == "Vector":
        return Curve(tuple(_monthly(v, curve.unit) for v in curve.values), curve.by)
    raise NotImplementedError(f"the reference pool reads constant and vector curves, not {name}")


def collateral_from(assumptions: Any) -> Collateral:
    """An ``abs_engine.Assumptions`` (constant or vector curves, no advancing, no roll rates)."""
    if getattr(assumptions, "advancing", False) or getattr(assumptions, "roll_rates", None):
        raise NotImplementedError("the reference pool has no advancing and no roll rates")
    return Collateral(
        mdr=_curve(assumptions.default),
        smm=_curve(assumptions.prepay),
        severity=float(assumptions.severity),
        lag=int(assumptions.recovery_lag),
    )
