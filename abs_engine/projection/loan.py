"""Receivable-by-receivable projection under any :class:`PoolConventions`.

Each row (a receivable with ``engine="loan"``, an exact cohort with
``engine="cohort"``) carries its own performing balance ``P``; the only Python
loop is over months, every step is vectorised over rows and scenarios.  Month
``k`` of a row with ``m = remaining_term - k + 1`` months left, monthly default
rate ``d``, single monthly mortality ``p`` and monthly coupon ``c``, with ``R``
the cent rounding of :func:`~abs_engine.projection.conventions.round_cents`
(the identity without rounding):

1. ``D = R(d P)``; with servicer advancing no new defaults in the last
   ``recovery_lag`` months of the term.
2. Prepayment at the *start* of the month: ``PP = R(p P)`` capped at ``P - D``
   (order ``sifma``) or ``PP = R(p (P - D))`` (``default_first``); the balance
   that pays is ``B = P - D - PP``.  At the *end* (SIFMA): ``B = P - D``.
3. Interest ``I = R(c B)``.
4. Scheduled principal ``SP = sched(B)``: the whole of ``B`` in the last month;
   otherwise ``R(B / m)`` (equal principal, flat fee), 0 (bullet), for an annuity
   ``R(B f)`` with ``f = c / ((1 + c)^m - 1)`` (``schedule``) or ``R(B c / (1 -
   (1 + c)^-m)) - I`` (``reamortise``), and for a flat fee with ``flat_fee =
   "survival"`` ``R(OB/OT x B / SB)`` with ``SB`` the original schedule's balance.
5. Prepayment at the end: ``PP = R(p (P - sched(P)))`` capped at ``B - SP``
   (``sifma``: the SIFMA base, the beginning balance less *its* amortisation) or
   ``PP = R(p (B - SP))`` (``default_first``).
6. Flat fee ``R(F x B / CB)``, ``CB`` the balance the contract expected at the
   start of the month (the cut-off balance amortised by the same rule, no default
   or prepayment), or ``R(OB fee_rate x B / SB)`` with ``flat_fee = "survival"``.
7. ``P' = B - SP - PP``; the default is liquidated ``L = recovery_lag`` months
   later: loss ``R(severity x D)`` and recovery ``D - loss`` (with advancing, the
   defaulted balance pays scheduled principal and interest as advances until
   then, and the loss is ``min(R(severity x D), balance left)``).  The loss is
   recognised at liquidation or, with ``loss_timing = "default"``, in month ``k``.

Without rounding every step is linear in the row's balance, so a cohort of
receivables projects exactly as the sum of its receivables: ``engine="cohort"``
runs this loop on cohort rows (with the per-receivable coupon truncation and
flat-fee factors folded into the cohorts), and only rounding needs one row per
receivable.  With SIFMA conventions the loop reproduces the closed-form cohort
engine (``tests/projection/test_loan_engine.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.curve import cumulative_default_shares
from abs_engine.curves.rates import scale_monthly
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.errors import AssumptionError, ScenarioError
from abs_engine.pool.cohorts import ANNUITY, BULLET, FLAT_FEE, Cohorts
from abs_engine.pool.pool import Pool
from abs_engine.pool.validate import dpd_bucket
from abs_engine.projection.conventions import (
    ENGINES,
    PoolConventions,
    monthly_coupon,
    periodic_rate,
    round_cents,
)
from abs_engine.projection.results import FIELDS, PoolCashflows

__all__ = ["project_rows"]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_CHUNK_BYTES = 96 * 2**20
#: Per-row flows summed into groups every month, in this order.
_MONTH_FIELDS = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "end_balance",
    "interest",
    "fee",
    "advanced_principal",
    "advanced_interest",
    "recovery",
    "loss",
)


@dataclass(frozen=True)
class _Rows:
    """What the month loop needs of each row; money in currency units, or cents when rounding."""

    grades: tuple[str, ...]
    grade: I64
    kind: I64
    remaining: I64
    age: I64
    balance: F64
    coupon: F64  # monthly, truncated as configured
    fee: F64  # flat fee a month at the start of the contract (F, or OB x fee_rate)
    overlay: F64
    survival: NDArray[np.bool_]  # flat-fee rows on the "survival" schedule
    instalment: F64  # survival rows: OB / OT (rounded); others 0
    schedule_balance: F64  # survival rows: the original schedule's balance at cut-off
    bucket: I64  # delinquency bucket at cut-off (0 current, 1-30, 31-60, 61-90, 90+)
    count: F64  # receivables in the row
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.balance.shape[0])

    def take(self, order: I64) -> _Rows:
        """The rows in ``order``."""
        return _Rows(
            self.grades,
            self.grade[order],
            self.kind[order],
            self.remaining[order],
            self.age[order],
            self.balance[order],
            self.coupon[order],
            self.fee[order],
            self.overlay[order],
            self.survival[order],
            self.instalment[order],
            self.schedule_balance[order],
            self.bucket[order],
            self.count[order],
            tuple(self.labels[i] for i in order) if self.labels else (),
        )


def project_rows(
    pool: Pool | Cohorts,
    assumptions: Assumptions | GradedAssumptions,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None,
    *,
    by: str,
    chunk_size: int | None,
    period_offset: int,
    conventions: PoolConventions | None,
    engine: str,
) -> PoolCashflows:
    """Project row by row under ``conventions`` (see the module docstring).

    The arguments are those of :func:`abs_engine.project`, which calls this for
    ``engine="loan"`` and for conventions other than SIFMA's.
    """
    from abs_engine.projection.engine import as_scenario_set

    conv = PoolConventions() if conventions is None else conventions
    if not isinstance(conv, PoolConventions):
        raise AssumptionError(f"conventions must be a PoolConventions; got {type(conv).__name__}")
    if engine not in ENGINES:
        raise AssumptionError(f"engine must be 'cohort' or 'loan'; got {engine!r}")
    if by not in ("pool", "grade", "cohort", "loan"):
        raise AssumptionError(f"by must be 'pool', 'grade', 'cohort' or 'loan'; got {by!r}")
    if period_offset < 0:
        raise AssumptionError(f"period_offset must be >= 0; got {period_offset}")
    if engine == "cohort" and conv.needs_loan_engine:
        raise AssumptionError(
            f"conventions.rounding = {conv.rounding!r} rounds every amount of each receivable to "
            "the cent, which cohort aggregation cannot reproduce; project with engine='loan' "
            '(in a deal spec: [conventions] engine = "loan")'
        )
    if engine == "loan" and by == "cohort":
        raise AssumptionError(
            "engine='loan' projects receivables, not cohorts: use by='loan', 'grade' or 'pool'"
        )
    per_loan = engine == "loan" or by == "loan"
    if per_loan and not isinstance(pool, Pool):
        raise AssumptionError(
            f"{'engine' if engine == 'loan' else 'by'}='loan' projects each receivable and needs "
            "a Pool (loan ids, original terms and balances), not Cohorts"
        )
    scale = 100.0 if conv.rounding != "none" else 1.0
    if isinstance(pool, Pool):
        rows = _loan_rows(pool, conv, scale) if per_loan else _pool_cohort_rows(pool, conv)
    else:
        rows = _cohort_rows(pool, conv)
    if len(rows) == 0:
        raise AssumptionError("the pool has no receivables to project")
    sset = as_scenario_set(scenarios)
    unknown = sset.grades_named() - set(rows.grades) - {"*"}
    if unknown:
        raise ScenarioError(
            f"scenarios name grade(s) {sorted(unknown)} that the pool does not have "
            f"(grades: {', '.join(rows.grades)})"
        )
    terms = _terms(rows, assumptions, conv)

    # Groups: receivables (by="loan"), cohorts, or grades ("pool" sums the grades at the end).
    identity = by in ("loan", "cohort")
    if identity:  # every row is a group, in the pool's (or the cohorts') order
        group = np.arange(len(rows))
        group_grade = rows.grade
        names = rows.labels if by == "loan" else tuple(f"cohort {i}" for i in range(len(rows)))
    else:
        group_grade = np.unique(rows.grade)
        group = np.searchsorted(group_grade, rows.grade)
        names = tuple(rows.grades[g] for g in group_grade)
    K = len(group_grade)
    # Delinquent at cut-off (as the cohort engine): 1-90 days past due are excluded as
    # ineligible or roll to default without paying; 90+ default in month 1.
    excluded = (rows.bucket >= 1) & (rows.bucket <= 3) & terms.exclude[rows.grade]
    late = (rows.bucket > 0) & ~excluded
    kept = np.where(excluded, 0.0, rows.balance)
    initial: F64 = np.bincount(group, weights=kept, minlength=K).astype(np.float64)
    notes = _cutoff_notes(rows, excluded, scale)
    for line in notes:
        log.info("%s", line)
    performing = np.flatnonzero(rows.bucket == 0)
    late_rows = np.flatnonzero(late)
    perf = rows.take(performing)
    perf_group = group[performing]
    order = np.lexsort((perf_group, -perf.remaining))  # longest remaining term first
    perf = perf.take(order)
    perf_group = perf_group[order]

    shift_all = sset.recovery_lag_shift
    present = np.unique(rows.grade)
    lags = np.maximum(terms.lag[present][None, :] + shift_all[:, None], 0)
    max_lag = int(lags.max())
    max_rem = int(rows.remaining.max())
    H = max_rem + max_lag + (4 if (rows.bucket > 0).any() else 0)
    months = int(rows.age.max()) + H + 1 + period_offset
    m_idx = np.arange(1, months + 1)
    G = len(rows.grades)
    default_tab = np.zeros((G, months))
    prepay_tab = np.zeros((G, months))
    for g in present:
        a = assumptions.for_grade(rows.grades[g])
        default_tab[g] = a.default.monthly_rates(m_idx)
        prepay_tab[g] = a.prepay.monthly_rates(m_idx)

    # A default overlay makes each (grade, multiplier) pair a virtual grade.
    ov_values, ov_code = np.unique(perf.overlay, return_inverse=True)
    n_ov = max(ov_values.size, 1)
    v_row = perf.grade * n_ov + ov_code
    grade_of_v = np.repeat(np.arange(G), n_ov)
    overlay_v = np.tile(ov_values if ov_values.size else np.ones(1), G)
    d_start = np.where(terms.default_by_age[perf.grade], perf.age, period_offset)
    p_start = np.where(terms.prepay_by_age[perf.grade], perf.age, period_offset)
    loop_months = int(perf.remaining.max()) if len(perf) else 0
    exponents = conv.period_exponents(loop_months, period_offset) if loop_months else None

    S = len(sset)
    width = max_lag + 1 if terms.advancing else 1
    per_scenario = len(rows) * 8 * (40 + 6 * width)
    chunk = chunk_size or max(1, min(S, _CHUNK_BYTES // max(per_scenario, 1)))
    dm_all = sset.multipliers("default_mult", rows.grades)
    pm_all = sset.multipliers("prepay_mult", rows.grades)
    sm_all = sset.multipliers("severity_mult", rows.grades)
    out = {f: np.zeros((S, K, H)) for f in FIELDS}
    loop = (
        _MonthLoop(perf, perf_group, K, identity, conv, terms.advancing, loop_months, exponents)
        if len(perf)
        else None
    )
    late_flows = _late_flows(rows, late_rows, group, K, H)
    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        sev = np.minimum(1.0, terms.severity[None, :] * sm_all[lo:hi])  # (s, G)
        lag = np.maximum(terms.lag[None, :] + shift_all[lo:hi, None], 0)  # (s, G)
        lag_g = lag[:, group_grade]
        if loop is not None:
            dm = dm_all[lo:hi][:, grade_of_v] * overlay_v[None, :]
            pm = pm_all[lo:hi][:, grade_of_v]
            mdr_tab = scale_monthly(default_tab[grade_of_v][None, :, :], dm[:, :, None])
            smm_tab = scale_monthly(prepay_tab[grade_of_v][None, :, :], pm[:, :, None])
            flows = loop.run(
                mdr_tab, smm_tab, v_row, d_start, p_start, sev[:, perf.grade], lag[:, perf.grade]
            )
            for f, arr in flows.items():
                out[f][lo:hi, :, : arr.shape[2]] = arr
            if not terms.advancing:
                out["recovery"][lo:hi] = _delay(out["recovery"][lo:hi], lag_g)
                if conv.loss_timing == "liquidation":
                    out["loss"][lo:hi] = _delay(out["loss"][lo:hi], lag_g)
        out["current"][lo:hi] = out["end_balance"][lo:hi]
        if late_flows is not None:
            for f, arr in late_flows.items():
                out[f][lo:hi] += arr[None]
            # Each late receivable's loss, rounded on its own, in its month of default.
            b0 = rows.balance[late_rows]
            lost = round_cents(sev[:, rows.grade[late_rows]] * b0[None, :], conv.rounding)
            at = np.zeros((hi - lo, K, H))
            loss = _to_groups(lost, group[late_rows], _late_month(rows.bucket[late_rows]), at)
            recovery = _to_groups(
                b0[None, :] - lost, group[late_rows], _late_month(rows.bucket[late_rows]), at
            )
            out["recovery"][lo:hi] += _delay(recovery, lag_g)
            out["loss"][lo:hi] += loss if conv.loss_timing == "default" else _delay(loss, lag_g)
    if scale != 1.0:
        for f in FIELDS:
            out[f] /= scale
        initial = initial / scale
    group_by = "grade" if by in ("pool", "grade") else by
    result = PoolCashflows(out, sset.names, names, group_by, initial, notes)
    return result.pool_total() if by == "pool" else result


def _late_month(bucket: I64) -> I64:
    """Month of default of a receivable delinquent at cut-off.

    61-90 and 90+ days past due default in month 1, 31-60 in month 2, 1-30 in month 3.
    """
    out: I64 = np.where(bucket >= 3, 1, 4 - bucket)
    return out


def _to_groups(amount: F64, group: I64, month: I64, zeros: F64) -> F64:
    """Per-row amounts ``(s, n)`` in month ``month`` (1-based) summed into ``(s, K, H)``."""
    out = np.zeros_like(zeros)
    for t in np.unique(month):
        sel = month == t
        K = out.shape[1]
        onehot = np.zeros((int(sel.sum()), K))
        onehot[np.arange(onehot.shape[0]), group[sel]] = 1.0
        out[:, :, t - 1] = amount[:, sel] @ onehot
    return out


def _late_flows(rows: _Rows, idx: I64, group: I64, K: int, H: int) -> dict[str, F64] | None:
    """Scenario-free flows of receivables delinquent at cut-off, by group ``(K, H)``.

    A receivable in bucket ``b`` moves one bucket a month and pays nothing; its
    whole balance is ``begin_balance`` in months ``1..m``, defaults in month
    ``m`` (:func:`_late_month`) and shows in bucket ``b + t`` at the end of
    months ``t < m``.
    """
    if idx.size == 0:
        return None
    b0 = rows.balance[idx]
    bucket = rows.bucket[idx]
    m = _late_month(bucket)
    grp = group[idx]
    flows = {
        f: np.zeros((K, H))
        for f in ("begin_balance", "default", "end_balance", "dpd_31_60", "dpd_61_90")
    }
    for t in range(1, 4):
        still = m > t
        for field, sel in (
            ("begin_balance", m >= t),
            ("default", m == t),
            ("end_balance", still),
            ("dpd_31_60", still & (bucket + t == 2)),
            ("dpd_61_90", still & (bucket + t == 3)),
        ):
            flows[field][:, t - 1] += np.bincount(grp[sel], weights=b0[sel], minlength=K)
    return flows


def _cutoff_notes(rows: _Rows, excluded: NDArray[np.bool_], scale: float) -> tuple[str, ...]:
    """Aggregate lines on receivables delinquent at cut-off (counts and balances only)."""
    bucket = rows.bucket

    def amount(mask: NDArray[np.bool_]) -> str:
        return (
            f"{int(rows.count[mask].sum()):,} receivables, "
            f"balance {rows.balance[mask].sum() / scale:,.2f}"
        )

    late_1_90 = (bucket >= 1) & (bucket <= 3)
    notes = []
    if excluded.any():
        notes.append(f"1-90 days past due at cut-off, excluded as ineligible: {amount(excluded)}")
    rolled = late_1_90 & ~excluded
    if rolled.any():
        notes.append(
            "1-90 days past due at cut-off, rolled to default without payments "
            f"(61-90 days in month 1, 31-60 in month 2, 1-30 in month 3): {amount(rolled)}"
        )
    if (bucket == 4).any():
        notes.append(f"90+ days past due at cut-off, defaulted in month 1: {amount(bucket == 4)}")
    return tuple(notes)


# --- rows -----------------------------------------------------------------------------------


def _loan_rows(pool: Pool, conv: PoolConventions, scale: float) -> _Rows:
    """One row per receivable; money in cents when rounding (``scale = 100``)."""
    a = pool.arrays
    mode = conv.rounding
    kind = a["type_code"].astype(np.int64)
    rem = a["remaining_term"].astype(np.int64)
    ot = a["original_term"].astype(np.int64)
    balance = np.rint(a["balance"] * scale) if scale != 1.0 else a["balance"].astype(np.float64)
    ob = a["original_balance"].astype(np.float64)
    if scale != 1.0:
        ob = np.rint(ob * scale)
    fee = round_cents(a["fee_rate"] * ob, mode)
    survival = (kind == FLAT_FEE) if conv.flat_fee == "survival" else np.zeros(kind.size, bool)
    instalment = np.where(survival, round_cents(ob / np.maximum(ot, 1), mode), 0.0)
    schedule_balance = np.where(survival, ob - (ot - rem) * instalment, 0.0)
    overlay = a.get("default_mult")
    ids = pool.table.column("loan_id").to_pylist()
    return _Rows(
        pool.grades,
        a["grade_code"].astype(np.int64),
        kind,
        rem,
        a["age"].astype(np.int64),
        balance,
        monthly_coupon(a["rate"], conv.coupon_decimals),
        fee,
        np.ones(kind.size) if overlay is None else np.asarray(overlay, dtype=np.float64),
        survival,
        instalment,
        schedule_balance,
        dpd_bucket(a["dpd"]).astype(np.int64),
        np.ones(kind.size),
        tuple(str(x) for x in ids),
    )


def _pool_cohort_rows(pool: Pool, conv: PoolConventions) -> _Rows:
    """Exact cohorts of the pool with the per-receivable conventions folded in.

    Coupon truncation acts on each receivable's rate (``rate' = 12 trunc(rate /
    12)``), so interest stays linear; with ``flat_fee = "survival"`` a flat-fee
    receivable's fee is its original fee times its factor at cut-off, ``balance /
    (OB x remaining / OT)``, and its principal (``OB/OT x B / SB = B / m``) is the
    even amortisation of the cut-off balance the cohort engine already uses.
    """
    a = pool.arrays
    rate = a["rate"]
    if conv.coupon_decimals is not None:
        rate = 12.0 * monthly_coupon(rate, conv.coupon_decimals)
    fee_rate = a["fee_rate"]
    if conv.flat_fee == "survival":
        on_schedule = a["original_balance"] * a["remaining_term"] / a["original_term"]
        factor = np.where(
            a["type_code"] == FLAT_FEE, a["balance"] / np.where(on_schedule > 0, on_schedule, 1), 1
        )
        fee_rate = fee_rate * factor
    cohorts = Cohorts.from_loans(
        pool.grades,
        a["grade_code"],
        a["type_code"],
        a["remaining_term"],
        a["age"],
        dpd_bucket(a["dpd"]),
        a["balance"],
        rate,
        fee_rate,
        a["original_balance"],
        default_mult=a.get("default_mult"),
    )
    return _rows_of(cohorts)


def _cohort_rows(cohorts: Cohorts, conv: PoolConventions) -> _Rows:
    """Cohorts given as such: exact where their aggregation allows, an error where not."""
    rate = cohorts.rate
    if conv.coupon_decimals is not None:
        mixed = (cohorts.payment_type != ANNUITY) & (cohorts.count > 1) & (cohorts.rate > 0)
        if mixed.any():
            raise AssumptionError(
                "conventions.coupon_decimals truncates each receivable's monthly coupon, but "
                f"{int(mixed.sum())} cohort(s) carry an average rate of several receivables; "
                "project the Pool itself (or use engine='loan')"
            )
        rate = 12.0 * monthly_coupon(rate, conv.coupon_decimals)
    if conv.flat_fee == "survival":
        flat = cohorts.payment_type == FLAT_FEE
        term = cohorts.age + cohorts.remaining_term
        on_schedule = cohorts.original_balance * cohorts.remaining_term / term
        off = flat & ~np.isclose(cohorts.balance, on_schedule, rtol=1e-9, atol=0.0)
        if off.any():
            raise AssumptionError(
                "conventions.flat_fee = 'survival' scales each receivable's fee by its own "
                f"factor at cut-off, and {int(off.sum())} flat-fee cohort(s) are off their "
                "original schedule; project the Pool itself (or use engine='loan')"
            )
    return _rows_of(
        Cohorts(
            cohorts.grades,
            cohorts.grade,
            cohorts.payment_type,
            cohorts.remaining_term,
            cohorts.age,
            cohorts.dpd_bucket,
            cohorts.balance,
            rate,
            cohorts.fee,
            cohorts.original_balance,
            cohorts.count,
            cohorts.default_mult,
        )
    )


def _rows_of(c: Cohorts) -> _Rows:
    n = len(c)
    return _Rows(
        c.grades,
        c.grade.astype(np.int64),
        c.payment_type.astype(np.int64),
        c.remaining_term.astype(np.int64),
        c.age.astype(np.int64),
        np.asarray(c.balance, dtype=np.float64),
        np.asarray(c.rate, dtype=np.float64) / 12.0,
        np.asarray(c.fee, dtype=np.float64),
        np.ones(n) if c.default_mult is None else np.asarray(c.default_mult, dtype=np.float64),
        np.zeros(n, dtype=bool),
        np.zeros(n),
        np.zeros(n),
        np.asarray(c.dpd_bucket, dtype=np.int64),
        np.asarray(c.count, dtype=np.float64),
        (),
    )


# --- assumptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Terms:
    default_by_age: NDArray[np.bool_]  # (G,)
    prepay_by_age: NDArray[np.bool_]
    severity: F64
    lag: I64
    advancing: bool
    exclude: NDArray[np.bool_]  # (G,) 1-90 days past due at cut-off are ineligible


def _terms(
    rows: _Rows, assumptions: Assumptions | GradedAssumptions, conv: PoolConventions
) -> _Terms:
    G = len(rows.grades)
    d_age = np.ones(G, dtype=bool)
    p_age = np.ones(G, dtype=bool)
    sev = np.ones(G)
    lag = np.zeros(G, dtype=np.int64)
    exclude = np.zeros(G, dtype=bool)
    adv: set[bool] = set()
    for g in np.unique(rows.grade):
        a = assumptions.for_grade(rows.grades[g])
        if cumulative_default_shares(a.default, np.arange(1, 2)) is not None:
            raise AssumptionError(
                f"grade {rows.grades[g]!r} has a cumulative-default (CGL) curve, whose amounts "
                "are shares of each rate class's cut-off balance, which only the cohort engine "
                "under the SIFMA conventions projects; give the default curve as rates (cdr, "
                "vector) or project with engine='cohort' and default conventions"
            )
        exclude[g] = a.delinquent_at_cutoff == "exclude"
        if a.roll_rates is not None:
            raise AssumptionError(
                f"grade {rows.grades[g]!r} uses a delinquency pipeline (roll_rates), which only "
                "the cohort engine under the SIFMA conventions projects; drop the roll rates or "
                "project with engine='cohort' and default conventions"
            )
        d_age[g] = a.default.by == "age"
        p_age[g] = a.prepay.by == "age"
        sev[g] = a.severity
        lag[g] = a.recovery_lag
        adv.add(a.advancing)
    if len(adv) > 1:
        raise AssumptionError("advancing must be the same for every grade of a pool")
    advancing = adv.pop() if adv else False
    if advancing and conv.loss_timing == "default":
        raise AssumptionError(
            "conventions.loss_timing = 'default' cannot be combined with servicer advancing: "
            "the loss is min(severity x default, balance left at liquidation), known only then"
        )
    return _Terms(d_age, p_age, sev, lag, advancing, exclude)


# --- the month loop ---------------------------------------------------------------------


class _MonthLoop:
    """The recurrence of the module docstring, vectorised over (scenario, row).

    Rows are ordered by remaining term, longest first, so the receivables still
    running in month ``k`` are a prefix and each month works on them alone; within
    a remaining term rows are ordered by output group, so a month's flows reduce
    to groups by one ``reduceat`` over (term, group) segments.
    """

    def __init__(
        self,
        rows: _Rows,
        group: I64,
        n_groups: int,
        identity: bool,
        conv: PoolConventions,
        advancing: bool,
        months: int,
        exponents: F64 | None,
    ) -> None:
        self.rows = rows
        self.group = group
        self.n_groups = n_groups
        self.identity = identity
        self.conv = conv
        self.advancing = advancing
        self.months = months
        self.exponents = exponents
        mode = conv.rounding
        self.R: Callable[[Any], Any] = (
            (lambda x: x) if mode == "none" else (lambda x: round_cents(x, mode))
        )
        k = rows.kind
        c = rows.coupon
        self.annuity = (k == ANNUITY) & (c > 0)
        self.bullet = k == BULLET
        self.even = ~self.annuity & ~self.bullet  # equal principal, flat fee, zero-rate annuity
        self.reamortise = self.annuity & (conv.amortisation == "reamortise")
        self.log1p_c = np.log1p(np.where(self.annuity, c, 0.0))
        rem = rows.remaining
        if rem.size > 1 and np.any(rem[1:] > rem[:-1]):
            raise AssertionError("rows must be ordered by remaining term, longest first")
        cut = np.r_[True, (rem[1:] != rem[:-1]) | (group[1:] != group[:-1])]
        self.seg_starts = np.flatnonzero(cut)
        seg_rem = rem[self.seg_starts]
        k_all = np.arange(1, months + 1)
        # Rows (and segments) with at least k months left, for k = 1 .. months.
        self.alive = np.searchsorted(-rem, -k_all, side="right")
        self.alive_segments = np.searchsorted(-seg_rem, -k_all, side="right")
        self.onehot = np.zeros((self.seg_starts.size, n_groups))
        self.onehot[np.arange(self.seg_starts.size), group[self.seg_starts]] = 1.0

    def _shares(self, m: I64, n: int) -> tuple[F64, F64]:
        """Principal share ``f`` of the balance and payment per unit ``q = f + c`` (annuities)."""
        mm = m.astype(np.float64)  # m >= 1 for the rows still running
        annuity = self.annuity[:n]
        growth = np.expm1(mm * self.log1p_c[:n])  # (1 + c)^m - 1
        c = self.rows.coupon[:n]
        f = np.where(annuity, c / np.where(annuity, growth, 1.0), 1.0 / mm)
        f = np.where(self.bullet[:n], 0.0, f)
        f = np.where(m == 1, 1.0, f)
        return f, f + c

    def _sched(self, X: F64, interest: F64, m: I64, f: F64, q: F64, sb: F64 | None, n: int) -> F64:
        """Scheduled principal of the balance ``X`` that pays this month (step 4)."""
        if self.conv.rounding == "none":
            out: F64 = X * f
            return out
        R = self.R
        rows = self.rows
        sp = np.where(self.even[:n], R(X / m), R(X * f))
        reamortise = self.reamortise[:n]
        if reamortise.any():
            paid = R(X * q) - interest
            sp = np.where(reamortise, np.clip(paid, 0.0, X), sp)
        survival = rows.survival[:n]
        if sb is not None and survival.any():
            ok = sb > 0
            by_factor = R(rows.instalment[:n] * X / np.where(ok, sb, 1.0))
            sp = np.where(survival, np.where(ok, by_factor, X), sp)
        sp = np.where(self.bullet[:n], 0.0, sp)
        sp = np.where(m == 1, X, sp)
        result: F64 = np.minimum(sp, X)
        return result

    def run(
        self,
        mdr_tab: F64,
        smm_tab: F64,
        v_row: I64,
        d_start: I64,
        p_start: I64,
        sev: F64,
        lag: I64,
    ) -> dict[str, F64]:
        """Flows per (scenario, group, month) for months ``1 .. months``.

        Recoveries and losses are returned in the month of default (to be delayed
        by the caller), or in the month of liquidation with advancing.
        """
        rows, conv, R = self.rows, self.conv, self.R
        s_n = mdr_tab.shape[0]
        H = self.months
        start = conv.prepayment_timing == "start"
        sifma = conv.default_order == "sifma"
        P = np.broadcast_to(rows.balance, (s_n, len(rows))).copy()
        CB = rows.balance.copy()  # the contract's balance, for the fee's paying share
        sb_all = rows.schedule_balance.copy() if rows.survival.any() else None
        has_fee = bool((rows.fee > 0).any())
        n_f = len(_MONTH_FIELDS)
        K = len(rows) if self.identity else self.n_groups
        out = np.zeros((n_f, s_n, K, H))
        buffer = np.empty((n_f, s_n, len(rows)))
        if self.advancing:
            W = int(lag.max()) + 1
            Q = np.zeros((W, s_n, len(rows)))
            Q0 = np.zeros((W, s_n, len(rows)))
        for k in range(1, H + 1):
            n = int(self.alive[k - 1])
            if n == 0:
                break
            m = rows.remaining[:n] - k + 1
            f, q = self._shares(m, n)
            c = rows.coupon[:n]
            sb = None if sb_all is None else sb_all[:n]
            d = mdr_tab[:, v_row[:n], d_start[:n] + k - 1]
            p = smm_tab[:, v_row[:n], p_start[:n] + k - 1]
            if self.exponents is not None:
                e = self.exponents[k - 1]
                d = periodic_rate(d, e)
                p = periodic_rate(p, e)
            if self.advancing:
                d = d * (m[None, :] > lag[:, :n])
            if sifma:
                p = np.minimum(p, 1.0 - d)
            P_k = P[:, :n]
            D = R(d * P_k)
            if start:
                PP = np.minimum(R(p * P_k), P_k - D) if sifma else R(p * (P_k - D))
                B = P_k - D - PP
            else:
                B = P_k - D
            interest = R(c * B)
            SP = self._sched(B, interest, m, f, q, sb, n)
            if not start:
                if sifma:
                    full = self._sched(P_k, R(c * P_k), m, f, q, sb, n)
                    PP = np.minimum(R(p * (P_k - full)), B - SP)
                else:
                    PP = R(p * (B - SP))
            month = buffer[:, :, :n]
            # Flat fee: the contract's fee times the paying share of the contract's balance.
            if has_fee:
                base = CB[:n] if sb is None else np.where(rows.survival[:n], sb, CB[:n])
                ok = base > 0
                per_unit = np.where(ok, rows.fee[:n] / np.where(ok, base, 1.0), 0.0)
                month[6] = R(per_unit * B)
            else:
                month[6] = 0.0
            month[0] = P_k
            month[1] = SP
            month[2] = PP
            month[3] = D
            np.subtract(B, SP, out=month[4])
            if not start:
                month[4] -= PP
            month[5] = interest
            if self.advancing:
                Qn, Q0n = Q[:, :, :n], Q0[:, :, :n]
                Qn[1:] = Qn[:-1].copy()
                Q0n[1:] = Q0n[:-1].copy()
                Qn[0] = D
                Q0n[0] = D
                month[7:] = 0.0
                lag_n = lag[:, :n]
                for age in range(W):
                    piece = Qn[age]
                    paying = age < lag_n
                    liquid = age == lag_n
                    i_piece = R(c * piece)
                    sp_piece = self._sched(piece, i_piece, m, f, q, sb, n)
                    month[7] += paying * sp_piece
                    month[8] += paying * i_piece
                    lost = np.minimum(R(sev[:, :n] * Q0n[age]), piece)
                    month[9] += liquid * (piece - lost)
                    month[10] += liquid * lost
                    Qn[age] = np.where(paying, piece - sp_piece, np.where(liquid, 0.0, piece))
            else:
                month[7:9] = 0.0
                np.copyto(month[10], R(sev[:, :n] * D))
                np.subtract(D, month[10], out=month[9])
            if self.identity:
                out[:, :, :n, k - 1] = month
            else:
                ns = int(self.alive_segments[k - 1])
                sums = np.add.reduceat(month, self.seg_starts[:ns], axis=2)
                out[:, :, :, k - 1] = sums @ self.onehot[:ns]
            P[:, :n] = month[4]
            # The contract's balance and the original schedule move on without defaults.
            CB[:n] = CB[:n] - self._sched(CB[None, :n], R(c * CB[:n])[None, :], m, f, q, sb, n)[0]
            if sb_all is not None:
                sb_all[:n] -= rows.instalment[:n]
        if self.identity:  # rows back to their groups' order
            ordered = np.zeros((n_f, s_n, self.n_groups, H))
            ordered[:, :, self.group] = out
            out = ordered
        return {name: out[i] for i, name in enumerate(_MONTH_FIELDS)}


def _delay(flow: F64, lag: I64) -> F64:
    """``flow`` moved ``lag`` months later, per (scenario, group); the array keeps its length."""
    H = flow.shape[2]
    t = np.arange(H)
    src = t[None, None, :] - lag[:, :, None]
    moved: F64 = np.where(src >= 0, np.take_along_axis(flow, np.clip(src, 0, H - 1), axis=2), 0.0)
    return moved
