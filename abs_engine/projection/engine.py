"""The collateral cash-flow engine.

Mechanics (SIFMA Standard Formulas, 1999, section C.3, pp. SF-18 to SF-19)
for one cohort in month ``k``, with performing balance ``P`` at the start,
contractual amortisation fraction ``f``, monthly default rate ``d`` and
single monthly mortality ``s``:

.. math::

    D = d P,\\quad
    \\mathit{SP} = f (P - D),\\quad
    \\mathit{PP} = s (P - f P),\\quad
    P' = P - D - \\mathit{SP} - \\mathit{PP} = (1 - f)(1 - d - s) P,

with ``s`` capped at ``1 - d``; interest is ``rate/12 x (P - D)``.  Defaults
are liquidated ``L = recovery_lag`` months later: loss ``min(severity x D,
balance then)`` and the rest recovered.  With servicer *advancing*, defaulted
loans keep paying scheduled principal and interest (advanced) until
liquidation, and no new defaults are taken in a loan's final ``L`` months.

Because ``P_k = B_0 A_k G_k`` — the contractual balance factor ``A`` of the
cohort times a survival factor ``G`` that depends only on the scenario, the
grade and the loan's age — every flow of every cohort sharing grade and age
is a scenario-free schedule aggregate times scenario rates.  The engine
therefore works on *rate classes* ``(grade, age)`` with arrays shaped
``(scenario, class, period)``: exact, and the period loop becomes a
cumulative product.  The delinquency pipeline (roll rates) mixes states with
different amortisation, so it runs cohort by cohort with a loop over
periods, still vectorised across scenarios and cohorts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from abs_engine import _budget
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.curve import Curve
from abs_engine.curves.rates import scale_monthly
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.errors import AssumptionError, ScenarioError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool
from abs_engine.projection.conventions import Engine, PoolConventions
from abs_engine.projection.results import FIELDS, PoolCashflows
from abs_engine.projection.schedule import balance_factors

__all__ = ["GroupBy", "as_scenario_set", "project"]

log = logging.getLogger(__name__)

GroupBy = Literal["pool", "grade", "cohort", "loan"]
F64 = NDArray[np.float64]
_CHUNK_BYTES = 96 * 2**20  # working memory per scenario chunk


def as_scenario_set(scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None) -> ScenarioSet:
    """Accept ``None`` (base case), one scenario, a list, or a set."""
    if scenarios is None:
        return ScenarioSet.base()
    if isinstance(scenarios, ScenarioSet):
        return scenarios
    if isinstance(scenarios, Scenario):
        return ScenarioSet([scenarios])
    return ScenarioSet(list(scenarios))


@dataclass(frozen=True)
class _GradeTerms:
    """Per-grade assumptions as arrays, indexed by grade code."""

    default_tab: F64  # (G, M) base MDR by month index
    prepay_tab: F64  # (G, M) base SMM by month index
    default_by_age: NDArray[np.bool_]  # (G,)
    prepay_by_age: NDArray[np.bool_]
    severity: F64  # (G,)
    lag: NDArray[np.int64]  # (G,)
    advancing: bool
    roll: NDArray[np.bool_]  # (G,) grade uses the delinquency pipeline
    roll_matrix: F64  # (G, 4, 5)

    def take(self, idx: NDArray[np.int64]) -> _GradeTerms:
        """The terms of the grades ``idx`` (virtual grades: one per grade and overlay)."""
        return _GradeTerms(
            self.default_tab[idx],
            self.prepay_tab[idx],
            self.default_by_age[idx],
            self.prepay_by_age[idx],
            self.severity[idx],
            self.lag[idx],
            self.advancing,
            self.roll[idx],
            self.roll_matrix[idx],
        )


def _grade_terms(
    grades: Sequence[str],
    present: NDArray[np.int64],
    assumptions: Assumptions | GradedAssumptions,
    months: int,
) -> _GradeTerms:
    G = len(grades)
    m = np.arange(1, months + 1)
    default_tab = np.zeros((G, months))
    prepay_tab = np.zeros((G, months))
    d_age = np.ones(G, dtype=bool)
    p_age = np.ones(G, dtype=bool)
    sev = np.ones(G)
    lag = np.zeros(G, dtype=np.int64)
    roll = np.zeros(G, dtype=bool)
    roll_m = np.zeros((G, 4, 5))
    adv: set[bool] = set()
    for g in present:
        a = assumptions.for_grade(grades[g])
        default_tab[g] = a.default.monthly_rates(m)
        prepay_tab[g] = a.prepay.monthly_rates(m)
        d_age[g] = _by_age(a.default)
        p_age[g] = _by_age(a.prepay)
        sev[g] = a.severity
        lag[g] = a.recovery_lag
        adv.add(a.advancing)
        if a.roll_rates is not None:
            roll[g] = True
            roll_m[g] = a.roll_rates.matrix
    if len(adv) > 1:
        raise AssumptionError("advancing must be the same for every grade of a pool")
    advancing = adv.pop() if adv else False
    if advancing and roll.any():
        raise AssumptionError(
            "advancing (SIFMA foreclosure pipeline) and roll_rates (delinquency pipeline) "
            "cannot be combined; choose one default mechanic"
        )
    return _GradeTerms(default_tab, prepay_tab, d_age, p_age, sev, lag, advancing, roll, roll_m)


def _by_age(curve: Curve) -> bool:
    return curve.by == "age"


def _scaled_table(tab: F64, mult: F64) -> F64:
    """(G, M) base monthly rates stressed by (S, G) multipliers -> (S, G, M)."""
    if np.all(mult == 1.0):
        return np.broadcast_to(tab, (mult.shape[0], *tab.shape))
    return scale_monthly(tab[None, :, :], mult[:, :, None])


def _group_sum(arr: F64, starts: NDArray[np.int64] | None) -> F64:
    """Sum consecutive classes into groups along axis 1 (``None``: classes are the groups)."""
    if starts is None:
        return arr
    return np.add.reduceat(arr, starts, axis=1)


def project(
    pool: Pool | Cohorts,
    assumptions: Assumptions | GradedAssumptions,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None = None,
    *,
    by: GroupBy = "pool",
    chunk_size: int | None = None,
    period_offset: int = 0,
    conventions: PoolConventions | None = None,
    engine: Engine = "cohort",
) -> PoolCashflows:
    """Project the pool's monthly cash flows for every scenario at once.

    Parameters
    ----------
    pool : Pool or Cohorts
        The receivables (a :class:`Pool` is aggregated into cohorts first).
    assumptions : Assumptions or GradedAssumptions
        Base-case curves, severity and recovery lag (per grade or for all).
    scenarios : ScenarioSet, Scenario, list of Scenario, or None
        Stresses applied on the base case; ``None`` is the base case alone.
    by : {"pool", "grade", "cohort", "loan"}
        Group of the result: the whole pool, per grade, per cohort, or per
        receivable (``"loan"``, for small pools; groups are loan ids).
    chunk_size : int, optional
        Scenarios per vectorised batch; by default sized so the working
        memory stays near 100 MB whatever the number of scenarios.
    period_offset : int
        Calendar months between the cut-off and this pool's first month:
        curves indexed by period (``by="period"``) are read from period
        ``period_offset + 1`` on.  Receivables bought in a revolving period
        use it so a calendar shock reaches them; age-indexed curves ignore it.
    conventions : PoolConventions, optional
        Market conventions of the projection (prepayment timing, order of
        default and prepayment, rate conversion, rounding, ...); the default is
        the SIFMA Standard Formulas.  See :mod:`abs_engine.projection.conventions`.
    engine : {"cohort", "loan"}
        ``"cohort"`` (default): exact cohorts (the closed form under SIFMA
        conventions, a month loop over cohorts otherwise).  ``"loan"``: every
        receivable on its own (:mod:`abs_engine.projection.loan`), which rounding
        per receivable needs.

    Returns
    -------
    PoolCashflows
        Arrays shaped ``(scenario, group, period)``.
    """
    if engine != "cohort" or (conventions is not None and not conventions.is_sifma):
        from abs_engine.projection.loan import project_rows

        return project_rows(
            pool,
            assumptions,
            scenarios,
            by=by,
            chunk_size=chunk_size,
            period_offset=period_offset,
            conventions=conventions,
            engine=engine,
        )
    if by not in ("pool", "grade", "cohort", "loan"):
        raise AssumptionError(f"by must be 'pool', 'grade', 'cohort' or 'loan'; got {by!r}")
    if by == "loan":
        if not isinstance(pool, Pool):
            raise AssumptionError("by='loan' needs a Pool (loan ids), not Cohorts")
        cohorts = pool.cohorts(loan_level=True)
        labels: tuple[str, ...] = tuple(str(x) for x in pool.table.column("loan_id").to_pylist())
    else:
        cohorts = pool.cohorts() if isinstance(pool, Pool) else pool
        labels = ()
    if len(cohorts) == 0:
        raise AssumptionError("the pool has no receivables to project")
    sset = as_scenario_set(scenarios)
    unknown = sset.grades_named() - set(cohorts.grades) - {"*"}
    if unknown:
        raise ScenarioError(
            f"scenarios name grade(s) {sorted(unknown)} that the pool does not have "
            f"(grades: {', '.join(cohorts.grades)})"
        )

    grades = cohorts.grades
    G = len(grades)
    present = np.unique(cohorts.grade).astype(np.int64)
    shift_all = sset.recovery_lag_shift
    lag_probe = np.zeros(G, dtype=np.int64)
    for g in present:
        lag_probe[g] = assumptions.for_grade(grades[g]).recovery_lag
    max_lag = int(np.maximum(lag_probe[present][None, :] + shift_all[:, None], 0).max())
    roll_any = any(assumptions.for_grade(grades[g]).roll_rates is not None for g in present)
    max_rem = int(cohorts.remaining_term.max())
    horizon = max_rem + max_lag + (4 if roll_any else 0)
    if period_offset < 0:
        raise AssumptionError(f"period_offset must be >= 0; got {period_offset}")
    months = int(cohorts.age.max()) + horizon + 1 + period_offset
    _budget.check_projection(  # before anything is sized by the horizon
        n_cohorts=len(cohorts),
        n_scenarios=len(sset),
        n_groups=len(cohorts) if by in ("cohort", "loan") else len(grades),
        horizon=horizon,
        months=months,
        n_grades=len(grades),
        n_fields=len(FIELDS),
        max_remaining=max_rem,
        max_lag=max_lag,
        delinquency=roll_any,
        chunk_bytes=_CHUNK_BYTES,
    )
    terms = _grade_terms(grades, present, assumptions, months)
    # A default overlay (a multiplier per receivable, e.g. on early-warning flags) makes each
    # (grade, overlay) pair a virtual grade: same curves, its own default multiplier.
    overlay = np.ones(len(cohorts)) if cohorts.default_mult is None else cohorts.default_mult
    ov_values, ov_code = np.unique(np.asarray(overlay, dtype=np.float64), return_inverse=True)
    v_c = cohorts.grade.astype(np.int64) * ov_values.size + ov_code
    grade_of_v = np.repeat(np.arange(G), ov_values.size)
    overlay_v = np.tile(ov_values, G)
    vterms = terms.take(grade_of_v)

    # --- rate classes -------------------------------------------------------------------
    per_cohort = terms.advancing or roll_any or by in ("cohort", "loan")
    if per_cohort:
        cls = np.arange(len(cohorts))
    else:
        key = v_c * (1 << 20) + cohorts.age.astype(np.int64)
        _, cls = np.unique(key, return_inverse=True)
    order = np.argsort(cls, kind="stable")
    cls_sorted = cls[order]
    starts_c = np.flatnonzero(np.r_[True, cls_sorted[1:] != cls_sorted[:-1]])
    R = starts_c.size
    rep = order[starts_c]  # a representative cohort per class
    g_r = v_c[rep]  # the class's virtual grade
    age_r = cohorts.age[rep].astype(np.int64)

    A = balance_factors(cohorts, horizon)  # (C, H+1)
    B0 = cohorts.balance[:, None]
    SB_c = B0 * A
    SI_c = np.zeros_like(SB_c)
    SI_c[:, 1:] = (cohorts.rate[:, None] / 12.0) * SB_c[:, :-1]
    k = np.arange(horizon + 1)
    SF_c = np.where(
        (k[None, :] >= 1) & (k[None, :] <= cohorts.remaining_term[:, None]),
        cohorts.fee[:, None],
        0.0,
    )

    def by_class(x: F64) -> F64:
        return x if per_cohort else np.add.reduceat(x[order], starts_c, axis=0)

    SB, SI, SF = by_class(SB_c), by_class(SI_c), by_class(SF_c)

    # --- output groups ------------------------------------------------------------------
    # Recoveries depend on each grade's lag and severity, so flows are first summed
    # into groups of a single grade ("pool" sums the grade groups at the end).
    if by in ("cohort", "loan"):
        group_of_class = np.arange(R)
        group_grade = grade_of_v[g_r]
        group_names = labels if by == "loan" else tuple(f"cohort {i}" for i in range(R))
    else:
        group_of_class = grade_of_v[g_r]
        group_grade = np.arange(G)
        group_names = grades
    corder = np.argsort(group_of_class, kind="stable")
    g_sorted = group_of_class[corder]
    gstarts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    groups_present = g_sorted[gstarts]
    identity_groups = by in ("cohort", "loan")

    # Re-order the classes so each group is contiguous.
    g_r, age_r = g_r[corder], age_r[corder]
    SB, SI, SF = SB[corder], SI[corder], SF[corder]
    rem_r = cohorts.remaining_term[rep][corder].astype(np.int64) if per_cohort else None
    class_cohort = rep[corder]

    H = horizon
    kk = np.arange(1, H + 1)
    d_start = np.where(vterms.default_by_age[g_r], age_r, period_offset)
    p_start = np.where(vterms.prepay_by_age[g_r], age_r, period_offset)
    d_idx = d_start[:, None] + kk[None, :] - 1
    p_idx = p_start[:, None] + kk[None, :] - 1

    S = len(sset)
    per_scenario = R * H * 8 * (40 if roll_any else 12)
    chunk = chunk_size or max(1, min(S, _CHUNK_BYTES // max(per_scenario, 1)))
    n_groups = len(groups_present)
    out = {f: np.zeros((S, n_groups, H)) for f in FIELDS}
    dm_all = sset.multipliers("default_mult", grades)
    pm_all = sset.multipliers("prepay_mult", grades)
    sm_all = sset.multipliers("severity_mult", grades)
    group_of_sorted = np.repeat(np.arange(n_groups), np.diff(np.r_[gstarts, R]))
    reducer = _Reducer(group_of_sorted, n_groups, identity_groups)
    sched = _Schedules.build(SB, SI, SF, reducer)

    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        # Multipliers by virtual grade: the scenario's, times the receivables' overlay.
        dm = dm_all[lo:hi][:, grade_of_v] * overlay_v[None, :]
        pm = pm_all[lo:hi][:, grade_of_v]
        sev = np.minimum(1.0, terms.severity[None, :] * sm_all[lo:hi])  # (s, G)
        lag = np.maximum(terms.lag[None, :] + shift_all[lo:hi, None], 0)  # (s, G)
        mdr_tab = _scaled_table(vterms.default_tab, dm)  # (s, Gv, M)
        smm_tab = _scaled_table(vterms.prepay_tab, pm)
        if not (roll_any or terms.advancing):
            flows = _factorised_chunk(
                mdr_tab, smm_tab, g_r, d_idx, p_idx, sched
            )  # reduced to groups
        else:
            mdr = np.moveaxis(_gather(mdr_tab, g_r, d_idx), 2, 1)  # (H, s, R)
            smm = np.moveaxis(_gather(smm_tab, g_r, p_idx), 2, 1)
            if roll_any:
                per_class = _roll_chunk(cohorts, class_cohort, g_r, vterms, dm, mdr, smm, A, H)
            else:
                assert rem_r is not None
                per_class = _advancing_chunk(
                    np.moveaxis(mdr, 0, 2),
                    np.moveaxis(smm, 0, 2),
                    SB,
                    SI,
                    SF,
                    rem_r,
                    lag[:, grade_of_v[g_r]],
                    sev[:, grade_of_v[g_r]],
                )
            flows = {
                f: _group_sum(a, None if identity_groups else gstarts) for f, a in per_class.items()
            }
        for f, arr in flows.items():
            out[f][lo:hi] = arr
        if not terms.advancing:  # advancing liquidates inside its own mechanics
            rec, loss = _liquidate(
                out["default"][lo:hi],
                lag[:, group_grade[groups_present]],
                sev[:, group_grade[groups_present]],
            )
            out["recovery"][lo:hi] = rec
            out["loss"][lo:hi] = loss

    initial = np.add.reduceat(SB[:, 0], gstarts) if not identity_groups else SB[:, 0].copy()
    names = (
        tuple(group_names[i] for i in groups_present)
        if not identity_groups
        else tuple(group_names[i] for i in range(R))
    )
    result = PoolCashflows(
        out, sset.names, names, "grade" if by in ("pool", "grade") else by, initial
    )
    return result.pool_total() if by == "pool" else result


def _gather(table: F64, g_r: NDArray[np.int64], idx: NDArray[np.int64]) -> F64:
    """Rates per (period, class, scenario) from a (scenario, grade, month) table.

    The table is laid out (month, grade, scenario) so each gathered element is
    a contiguous row of scenarios.
    """
    by_month = np.ascontiguousarray(table.transpose(2, 1, 0))  # (M, G, s)
    out: F64 = by_month[idx.T, g_r[None, :]]  # (H, R, s)
    return out


@dataclass(frozen=True)
class _Reducer:
    """Sums (period, class, scenario) x (class, period) products into (scenario, group, period).

    For groups (grades, the pool) the sum over classes is a batched matrix
    product with weights ``W[h, k, r] = schedule[r, h] 1{class r in group k}``;
    several schedules are stacked along ``k`` so one product serves them all.
    """

    group_of_class: NDArray[np.int64]
    n_groups: int
    identity: bool

    def weights(self, *schedules: F64) -> F64:
        """Stacked weights, shape (H, n_schedules x K, R); identity groups: (n, R, H)."""
        if self.identity:
            return np.stack([np.ascontiguousarray(z) for z in schedules])
        R, H = schedules[0].shape
        K = self.n_groups
        w = np.zeros((H, len(schedules) * K, R))
        cols = np.arange(R)
        for i, z in enumerate(schedules):
            w[:, i * K + self.group_of_class, cols] = z.T
        return w

    def __call__(self, rates: F64, weights: F64) -> list[F64]:
        """One (scenario, group, period) array per stacked schedule."""
        if self.identity:  # groups are the classes: products, no sum
            return [
                np.ascontiguousarray((rates * z.T[:, :, None]).transpose(2, 1, 0)) for z in weights
            ]
        prod = np.matmul(weights, rates)  # (H, n x K, s)
        K = self.n_groups
        return [
            np.ascontiguousarray(prod[:, i * K : (i + 1) * K, :].transpose(2, 1, 0))
            for i in range(prod.shape[1] // K)
        ]


@dataclass(frozen=True)
class _Schedules:
    """Scenario-free schedule aggregates per class, stacked as reducer weights."""

    reduce: _Reducer
    stacked: F64  # SB_{k-1}, SB_{k-1} - SB_k, SI_k, SF_k, SB_k
    end: F64  # SB_k

    @classmethod
    def build(cls, SB: F64, SI: F64, SF: F64, reduce: _Reducer) -> _Schedules:
        begin, end = SB[:, :-1], SB[:, 1:]
        return cls(
            reduce,
            reduce.weights(begin, begin - end, SI[:, 1:], SF[:, 1:], end),
            reduce.weights(end),
        )


def _factorised_chunk(
    mdr_tab: F64,
    smm_tab: F64,
    g_r: NDArray[np.int64],
    d_idx: NDArray[np.int64],
    p_idx: NDArray[np.int64],
    sched: _Schedules,
) -> dict[str, F64]:
    """Closed form per rate class, reduced to groups.

    With survival ``G_k = prod_{j<=k} (1 - d_j - s_j)`` (``s`` capped at
    ``1 - d``) and ``X_k = d_k G_{k-1}`` the defaulting share of the cut-off
    schedule ``SB``:

    * begin ``G_{k-1} SB_{k-1}``, default ``X SB_{k-1}``, end ``G_k SB_k``
    * scheduled principal ``(G_{k-1} - X)(SB_{k-1} - SB_k)``, prepaid ``s G_{k-1} SB_k``
    * interest ``(G_{k-1} - X) SI_k``, fees ``(G_{k-1} - X) SF_k``.

    Every flow is linear in ``G_{k-1}``, ``X`` and ``s G_{k-1}`` (``G_k =
    G_{k-1} - X - s G_{k-1}``), so three batched matrix products give them all.
    """
    S = mdr_tab.shape[0]
    cap = 1.0 - mdr_tab
    smm_tab = np.minimum(smm_tab, cap)
    H, R = d_idx.shape[1], d_idx.shape[0]
    survive = np.empty((H + 1, R, S))  # survive[k] = G_k; survive[:-1] is G_{k-1}
    survive[0] = 1.0
    if np.array_equal(d_idx, p_idx):  # both curves indexed alike: survival rate from the table
        h = _gather(cap - smm_tab, g_r, d_idx)
        mdr = _gather(mdr_tab, g_r, d_idx)
        smm = _gather(smm_tab, g_r, p_idx)
    else:
        mdr = _gather(mdr_tab, g_r, d_idx)
        smm = np.minimum(_gather(smm_tab, g_r, p_idx), 1.0 - mdr)
        h = 1.0 - mdr - smm
    for k in range(H):  # the period loop: a running product, vectorised over classes and scenarios
        np.multiply(survive[k], h[k], out=survive[k + 1])
    gm1 = survive[:-1]
    np.multiply(mdr, gm1, out=mdr)  # X
    np.multiply(smm, gm1, out=smm)  # prepaying share
    r = sched.reduce
    b_g, p_g, i_g, f_g, e_g = r(gm1, sched.stacked)
    b_x, p_x, i_x, f_x, e_x = r(mdr, sched.stacked)
    (e_s,) = r(smm, sched.end)
    end = e_g - e_x - e_s
    return {
        "begin_balance": b_g,
        "default": b_x,
        "scheduled_principal": p_g - p_x,
        "prepayment": e_s,
        "end_balance": end,
        "interest": i_g - i_x,
        "fee": f_g - f_x,
        "current": end,
    }


def _survival(mdr: F64, smm: F64, axis: int) -> tuple[F64, F64, F64]:
    """Capped SMM, survival ``G_k`` and ``G_{k-1}`` of the cut-off schedule along ``axis``."""
    smm = np.minimum(smm, 1.0 - mdr)
    G = np.asarray(np.cumprod(1.0 - mdr - smm, axis=axis), dtype=np.float64)
    Gm1 = np.empty_like(G)
    first = [slice(None)] * G.ndim
    first[axis] = slice(0, 1)
    rest = [slice(None)] * G.ndim
    rest[axis] = slice(1, None)
    head = [slice(None)] * G.ndim
    head[axis] = slice(0, -1)
    Gm1[tuple(first)] = 1.0
    Gm1[tuple(rest)] = G[tuple(head)]
    return smm, G, Gm1


def _flows(mdr: F64, smm: F64, G: F64, Gm1: F64, SB: F64, SI: F64, SF: F64) -> dict[str, F64]:
    """Per-class flows in (scenario, class, period) layout (advancing path)."""
    X = mdr * Gm1
    paying = Gm1 - X
    SB0, SB1 = SB[None, :, :-1], SB[None, :, 1:]
    end = G * SB1
    return {
        "begin_balance": Gm1 * SB0,
        "default": X * SB0,
        "scheduled_principal": paying * (SB0 - SB1),
        "prepayment": smm * Gm1 * SB1,
        "end_balance": end,
        "interest": paying * SI[None, :, 1:],
        "fee": paying * SF[None, :, 1:],
        "current": end,
    }


def _advancing_chunk(
    mdr: F64,
    smm: F64,
    SB: F64,
    SI: F64,
    SF: F64,
    rem: NDArray[np.int64],
    lag: NDArray[np.int64],
    sev: F64,
) -> dict[str, F64]:
    """SIFMA advancing: defaulted loans pay scheduled P&I for ``L`` months, then liquidate.

    The defaults of month ``k`` are ``X_k SB_{k-1}`` with ``X_k = d_k G_{k-1}``;
    in months ``k .. k+L-1`` they amortise on schedule (advanced principal
    ``X_k (SB_{t-1} - SB_t)``, advanced interest ``X_k SI_t``) and in month
    ``k + L`` the balance left, ``X_k SB_{k+L-1}``, is liquidated with loss
    ``min(severity x X_k SB_{k-1}, X_k SB_{k+L-1})``.
    """
    s_n, R, H = mdr.shape
    t = np.arange(1, H + 1)
    mdr = np.where(t[None, None, :] <= (rem[None, :, None] - lag[:, :, None]), mdr, 0.0)
    smm, G, Gm1 = _survival(mdr, smm, axis=2)
    flows = _flows(mdr, smm, G, Gm1, SB, SI, SF)
    X = mdr * Gm1
    CX = np.zeros((s_n, R, H + 1))
    CX[:, :, 1:] = np.cumsum(X, axis=2)
    window_start = np.maximum(t[None, None, :] - lag[:, :, None], 0)
    window = CX[:, :, 1:] - np.take_along_axis(CX, window_start, axis=2)  # defaults k in (t-L, t]
    flows["advanced_principal"] = window * (SB[None, :, :-1] - SB[None, :, 1:])
    flows["advanced_interest"] = window * SI[None, :, 1:]
    src = t[None, None, :] - lag[:, :, None]  # month of default liquidated in month t
    valid = src >= 1
    srci = np.clip(src - 1, 0, H - 1)
    Xk = np.where(valid, np.take_along_axis(X, srci, axis=2), 0.0)
    defaulted = Xk * np.take_along_axis(np.broadcast_to(SB[None, :, :-1], Xk.shape), srci, axis=2)
    liquidated = Xk * SB[None, :, :-1]
    loss = np.minimum(sev[:, :, None] * defaulted, liquidated)
    flows["loss"] = loss
    flows["recovery"] = liquidated - loss
    return flows


def _liquidate(default: F64, lag: NDArray[np.int64], sev: F64) -> tuple[F64, F64]:
    """Recoveries and losses ``lag`` months after default, per (scenario, group)."""
    H = default.shape[2]
    t = np.arange(H)
    src = t[None, None, :] - lag[:, :, None]
    valid = src >= 0
    moved = np.where(valid, np.take_along_axis(default, np.clip(src, 0, H - 1), axis=2), 0.0)
    loss = sev[:, :, None] * moved
    return moved - loss, loss


def _roll_chunk(
    cohorts: Cohorts,
    cohort_of_class: NDArray[np.int64],
    g_r: NDArray[np.int64],
    terms: _GradeTerms,
    dm: F64,
    mdr: F64,
    smm: F64,
    A: F64,
    H: int,
) -> dict[str, F64]:
    """Delinquency pipeline: current -> 1-30 -> 31-60 -> 61-90 -> default, cures to current.

    Delinquent balances pay nothing; cured balances rejoin the current
    balance and resume its schedule.  After maturity a delinquent balance
    either cures (and is repaid) or rolls on, so the pipeline empties
    within four months of the last maturity.
    """
    _, s_n, R = mdr.shape
    c = cohort_of_class
    B0 = cohorts.balance[c]
    rem = cohorts.remaining_term[c].astype(np.int64)
    rate = cohorts.rate[c] / 12.0
    fee = cohorts.fee[c]
    bucket = cohorts.dpd_bucket[c].astype(np.int64)
    Ac = A[c]  # (R, H+1)
    roll = terms.roll[g_r]
    P = terms.roll_matrix[g_r].copy()  # (R, 4, 5)
    # After maturity a delinquent balance cannot stay in its bucket: it rolls on.
    P_post = P.copy()
    for i in range(1, 4):
        P_post[:, i, i + 1] += P_post[:, i, i]
        P_post[:, i, i] = 0.0
    entry = np.minimum(P[None, :, 0, 1] * dm[:, g_r], 1.0)  # stressed current -> 1-30
    p0_other = P[:, 0, 2:].sum(axis=1)
    p00 = np.clip(1.0 - entry - p0_other[None, :], 0.0, 1.0)

    state = np.zeros((4, s_n, R))
    start_bucket = np.where(roll, bucket, 0)
    for b in range(4):
        state[b] = np.where(start_bucket == b, B0, 0.0)[None, :]
    out = {f: np.zeros((s_n, R, H)) for f in FIELDS}
    # 90+ days past due at cut-off: defaults in the first month.
    seriously_late = np.where(roll & (bucket == 4), B0, 0.0)[None, :]

    for k in range(1, H + 1):
        cur, d1, d2, d3 = state
        begin = cur + d1 + d2 + d3
        f = np.where(
            Ac[:, k - 1] > 0, 1.0 - Ac[:, k] / np.where(Ac[:, k - 1] > 0, Ac[:, k - 1], 1.0), 1.0
        )
        Pk = np.where((k > rem)[:, None, None], P_post, P)
        m_k, s_k = mdr[k - 1], smm[k - 1]
        # Roll-rate grades.
        new_cur = cur * p00 + d1 * Pk[:, 1, 0] + d2 * Pk[:, 2, 0] + d3 * Pk[:, 3, 0]
        new_d1 = cur * entry + d1 * Pk[:, 1, 1] + d2 * Pk[:, 2, 1] + d3 * Pk[:, 3, 1]
        new_d2 = cur * Pk[:, 0, 2] + d1 * Pk[:, 1, 2] + d2 * Pk[:, 2, 2] + d3 * Pk[:, 3, 2]
        new_d3 = cur * Pk[:, 0, 3] + d1 * Pk[:, 1, 3] + d2 * Pk[:, 2, 3] + d3 * Pk[:, 3, 3]
        dflt = cur * Pk[:, 0, 4] + d1 * Pk[:, 1, 4] + d2 * Pk[:, 2, 4] + d3 * Pk[:, 3, 4]
        prepay_base = new_cur * (1.0 - f)
        smm_r = np.minimum(s_k, 1.0)
        # Curve grades (no pipeline): SIFMA mechanics on the current balance.
        m_dflt = m_k * cur
        smm_c = np.minimum(s_k, 1.0 - m_k)
        new_cur = np.where(roll, new_cur, cur - m_dflt)
        dflt = np.where(roll, dflt, m_dflt)
        prepay = np.where(roll, smm_r * prepay_base, smm_c * (1.0 - f) * cur)
        new_d1 = np.where(roll, new_d1, 0.0)
        new_d2 = np.where(roll, new_d2, 0.0)
        new_d3 = np.where(roll, new_d3, 0.0)
        sched = f * new_cur
        end_cur = new_cur - sched - prepay
        contractual = B0 * Ac[:, k - 1]
        live = k <= rem
        if k == 1:
            begin = begin + seriously_late
            dflt = dflt + seriously_late
        out["begin_balance"][:, :, k - 1] = begin
        out["default"][:, :, k - 1] = dflt
        out["scheduled_principal"][:, :, k - 1] = sched
        out["prepayment"][:, :, k - 1] = prepay
        out["interest"][:, :, k - 1] = rate * new_cur
        out["fee"][:, :, k - 1] = np.where(
            live, fee * new_cur / np.where(contractual > 0, contractual, 1.0), 0.0
        )
        out["current"][:, :, k - 1] = end_cur
        out["dpd_1_30"][:, :, k - 1] = new_d1
        out["dpd_31_60"][:, :, k - 1] = new_d2
        out["dpd_61_90"][:, :, k - 1] = new_d3
        out["end_balance"][:, :, k - 1] = end_cur + new_d1 + new_d2 + new_d3
        state = np.stack([end_cur, new_d1, new_d2, new_d3])
    return out
