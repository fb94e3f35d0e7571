"""An independent reference for three collateral mechanics, in plain Python.

Written from the rules as documented (``docs/collateral.md``), not from the
engine: no numpy, no ``abs_engine`` import, one receivable group at a time,
a loop over months.  Amounts are per group; lists are indexed by month - 1.

1. **Delinquency pipeline** (:func:`pipeline`).  A bucket counts unpaid
   instalments: after a month in bucket ``j`` the receivable has paid every
   instalment due except the ``j`` most recent — but never gives back what it
   has paid, so ``paid' = max(paid, due - j)`` (current is ``j = 0``, default
   takes the balance outstanding and pays nothing).  Instalments are paid
   oldest first, each with its own principal, interest and fee from the
   contract.  After maturity (no new instalment due) a delinquent receivable
   either cures, defaults, or rolls one bucket on (61-90 rolls to default).
   Current receivables prepay ``smm`` of their balance after the instalment.
   The state here is ``(bucket, instalments paid)`` — positions, kept
   explicitly.
2. **Cumulative default** (:func:`cgl_group`).  A group with balance ``B0`` at
   cut-off defaults ``min(cgl x w_k x B0, performing)`` in month ``k`` (SIFMA
   mechanics otherwise: scheduled principal on what did not default,
   prepayment ``smm x (P - f P)`` with ``f`` the contractual amortisation).
3. **Delinquent at cut-off without a pipeline** (:func:`rolled_to_default`):
   no payments, default in month 1 (61-90 and 90+ days), 2 (31-60) or 3 (1-30).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ANNUITY, EQUAL_PRINCIPAL, FLAT_FEE, BULLET = 0, 1, 2, 3


@dataclass(frozen=True)
class Instalment:
    """One contractual instalment: principal, interest and fee, and the balance after it."""

    principal: float
    interest: float
    fee: float
    balance_after: float


def contract(
    payment_type: int, balance: float, annual_rate: float, instalments: int, monthly_fee: float
) -> list[Instalment]:
    """The contract's instalments from ``balance`` today (amortisation by hand)."""
    i = annual_rate / 12.0
    n = instalments
    out = []
    bal = balance
    if payment_type == ANNUITY and i > 0:
        # balance x i / (1 - (1 + i)^-n), evaluated without cancellation for tiny rates
        payment = balance * i / -math.expm1(-n * math.log1p(i))
    for q in range(1, n + 1):
        interest = bal * i
        if payment_type == ANNUITY and i > 0:
            principal = payment - interest if q < n else bal
        elif payment_type == BULLET:
            principal = bal if q == n else 0.0
        else:  # equal principal, flat fee, zero-rate annuity
            principal = balance / n if q < n else bal
        bal = bal - principal
        out.append(Instalment(principal, interest, monthly_fee, bal))
    return out


def _balance(schedule: list[Instalment], start: float, paid: int) -> float:
    return start if paid == 0 else schedule[paid - 1].balance_after


FLOWS = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "interest",
    "fee",
    "end_balance",
    "current",
    "dpd_1_30",
    "dpd_31_60",
    "dpd_61_90",
)


def pipeline(
    payment_type: int,
    balance: float,
    annual_rate: float,
    months_left: int,
    bucket: int,
    monthly_fee: float,
    matrix: list[list[float]],
    smm: list[float],
    horizon: int,
) -> dict[str, list[float]]:
    """Monthly flows of one cohort through the delinquency pipeline.

    ``matrix[i][j]``: monthly share moving from bucket ``i`` (0 current, 1-3 the
    1-30, 31-60, 61-90 buckets) to ``j`` (same, 4 default).  A cohort ``bucket``
    instalments behind at cut-off owes ``months_left + bucket`` instalments.
    """
    schedule = contract(payment_type, balance, annual_rate, months_left + bucket, monthly_fee)
    owed_total = len(schedule)
    state: dict[tuple[int, int], float] = {(bucket, 0): 1.0}  # (bucket, paid) -> share
    out = {f: [0.0] * horizon for f in FLOWS}
    for k in range(1, horizon + 1):
        due = min(k, months_left) + bucket  # instalments due by the end of month k
        before_maturity = k <= months_left
        new: dict[tuple[int, int], float] = {}
        for (b, paid), share in state.items():
            if share == 0.0:
                continue
            bal = _balance(schedule, balance, paid)
            out["begin_balance"][k - 1] += share * bal
            if before_maturity or b == 0:
                moves = list(enumerate(matrix[b])) if before_maturity else [(0, 1.0)]
            else:
                cure, dflt = matrix[b][0], matrix[b][4]
                moves = [(0, cure), (4, dflt), (b + 1, 1.0 - cure - dflt)]
            for j, p in moves:
                if p == 0.0:
                    continue
                x = share * p
                if j == 4:
                    out["default"][k - 1] += x * bal
                    continue
                new_paid = min(max(paid, due - j), owed_total)
                for q in range(paid, new_paid):
                    out["scheduled_principal"][k - 1] += x * schedule[q].principal
                    out["interest"][k - 1] += x * schedule[q].interest
                    out["fee"][k - 1] += x * schedule[q].fee
                if new_paid == owed_total:  # nothing left: repaid
                    j = 0
                new[(j, new_paid)] = new.get((j, new_paid), 0.0) + x
        s = min(smm[k - 1], 1.0)
        for (b, paid), share in list(new.items()):
            if b == 0:
                bal = _balance(schedule, balance, paid)
                out["prepayment"][k - 1] += s * share * bal
                new[(b, paid)] = share * (1.0 - s)
        for (b, paid), share in new.items():
            bal = share * _balance(schedule, balance, paid)
            field = ("current", "dpd_1_30", "dpd_31_60", "dpd_61_90")[b]
            out[field][k - 1] += bal
            out["end_balance"][k - 1] += bal
        state = new
    return out


def cgl_group(
    cohorts: list[tuple[int, float, float, int, float]],
    cgl: float,
    weights: list[float],
    smm: list[float],
    horizon: int,
) -> dict[str, list[float]]:
    """Flows of a group of current receivables sharing grade and age under a CGL curve.

    ``cohorts``: ``(payment_type, balance, annual_rate, months_left, monthly_fee)``;
    ``weights[k-1]`` is the share of the curve falling in month ``k`` of the group
    (timing / sum of timing, shifted by the age if the curve is by age).
    """
    share = [cgl * w for w in weights] + [0.0] * horizon
    b0 = sum(c[1] for c in cohorts)
    schedules = [contract(pt, bal, r, n, fee) for pt, bal, r, n, fee in cohorts]
    perf = [c[1] for c in cohorts]  # performing balance of each cohort
    contractual = [c[1] for c in cohorts]  # contractual balance without default or prepayment
    out = {f: [0.0] * horizon for f in FLOWS}
    for k in range(1, horizon + 1):
        total_perf = sum(perf)
        amount = share[k - 1] * b0
        d = min(1.0, amount / total_perf) if total_perf > 0 else 0.0
        s = min(smm[k - 1], 1.0 - d)
        for c, sched in enumerate(schedules):
            p = perf[c]
            out["begin_balance"][k - 1] += p
            if p == 0.0 or k > len(sched):
                continue
            inst = sched[k - 1]
            f = inst.principal / contractual[c]  # contractual amortisation fraction
            survivors = (p - d * p) / contractual[c]  # performing per unit of contract
            out["default"][k - 1] += d * p
            out["scheduled_principal"][k - 1] += f * (p - d * p)
            out["interest"][k - 1] += survivors * inst.interest
            out["fee"][k - 1] += survivors * inst.fee
            prepaid = s * (p - f * p)
            out["prepayment"][k - 1] += prepaid
            perf[c] = p - d * p - f * (p - d * p) - prepaid
            contractual[c] = inst.balance_after
            out["end_balance"][k - 1] += perf[c]
    return out


def rolled_to_default(balance: float, bucket: int, horizon: int) -> dict[str, list[float]]:
    """A receivable ``bucket`` buckets late at cut-off (4 = 90+), no pipeline: it pays nothing."""
    month = {1: 3, 2: 2, 3: 1, 4: 1}[bucket]
    out = {f: [0.0] * horizon for f in FLOWS}
    for k in range(1, month + 1):
        out["begin_balance"][k - 1] = balance
    out["default"][month - 1] = balance
    for k in range(1, month):
        out["end_balance"][k - 1] = balance
        out[("current", "dpd_1_30", "dpd_31_60", "dpd_61_90")[bucket + k]][k - 1] = balance
    return out


def liquidate(defaults: list[float], severity: float, lag: int) -> tuple[list[float], list[float]]:
    """Recoveries and losses ``lag`` months after each default."""
    n = len(defaults)
    rec, loss = [0.0] * n, [0.0] * n
    for k, d in enumerate(defaults):
        if k + lag < n:
            loss[k + lag] += severity * d
            rec[k + lag] += d - severity * d
    return rec, loss
