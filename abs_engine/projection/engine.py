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
running product.

Each receivable follows one of four paths:

* **curves** (performing at cut-off, grade without roll rates): the closed
  form above.  A cumulative-default (CGL) curve gives amounts, not rates: the
  rate class defaults ``min(cgl x w_k x B_0, P_k)`` in month ``k`` (``B_0`` its
  balance at cut-off, ``P_k`` what it still has performing), so the MDR of the
  month is that amount over ``P_k`` — computed inside the period loop.
* **delinquency pipeline** (grades with roll rates): a Markov chain over
  delinquency buckets in which a bucket counts missed instalments; see
  :func:`_roll_chunk` for how payments follow the moves (cures pay their
  arrears).
* **delinquent at cut-off** without roll rates, and 90+ days past due under
  any model: no payments, default in month ``4 - bucket`` (61-90 and 90+ days
  in month 1, 31-60 in month 2, 1-30 in month 3), then liquidation after the
  lag.  ``Assumptions.delinquent_at_cutoff = "exclude"`` leaves the 1-90 days
  past due out instead (ineligible); each projection logs which.
* **excluded**: nothing (and no initial balance).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from abs_engine import _budget
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.curve import Curve, cumulative_default_shares
from abs_engine.curves.rates import scale_monthly
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.errors import AssumptionError, ScenarioError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool
from abs_engine.projection.conventions import Engine, PoolConventions
from abs_engine.projection.results import FIELDS, PoolCashflows
from abs_engine.projection.schedule import (
    DENSE_LIMIT,
    Method,
    Schedules,
    class_schedules,
    cohort_schedules,
    unit_balance,
)

__all__ = ["GroupBy", "as_scenario_set", "project"]

log = logging.getLogger(__name__)

GroupBy = Literal["pool", "grade", "cohort", "loan"]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
IX = NDArray[np.integer[Any]]  # codes and indices of any integer width
B1 = NDArray[np.bool_]
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

    default_tab: F64  # (G, M) base MDR by month index; CGL grades: default share of B_0
    prepay_tab: F64  # (G, M) base SMM by month index
    default_by_age: B1  # (G,)
    prepay_by_age: B1
    cgl: B1  # (G,) the default curve is a cumulative default (amounts, not rates)
    severity: F64  # (G,)
    lag: I64  # (G,)
    advancing: bool
    roll: B1  # (G,) grade uses the delinquency pipeline
    roll_matrix: F64  # (G, 4, 5)
    exclude: B1  # (G,) 1-90 days past due at cut-off are ineligible

    def take(self, idx: I64) -> _GradeTerms:
        """The terms of the grades ``idx`` (virtual grades: one per grade and overlay)."""
        return _GradeTerms(
            self.default_tab[idx],
            self.prepay_tab[idx],
            self.default_by_age[idx],
            self.prepay_by_age[idx],
            self.cgl[idx],
            self.severity[idx],
            self.lag[idx],
            self.advancing,
            self.roll[idx],
            self.roll_matrix[idx],
            self.exclude[idx],
        )


def _grade_terms(
    grades: Sequence[str],
    present: I64,
    assumptions: Assumptions | GradedAssumptions,
    months: int,
) -> _GradeTerms:
    G = len(grades)
    default_tab = np.zeros((G, months))
    prepay_tab = np.zeros((G, months))
    d_age = np.ones(G, dtype=bool)
    p_age = np.ones(G, dtype=bool)
    cgl = np.zeros(G, dtype=bool)
    sev = np.ones(G)
    lag = np.zeros(G, dtype=np.int64)
    roll = np.zeros(G, dtype=bool)
    roll_m = np.zeros((G, 4, 5))
    exclude = np.zeros(G, dtype=bool)
    adv: set[bool] = set()
    for g in present:
        a = assumptions.for_grade(grades[g])
        cgl[g], default_tab[g], prepay_tab[g] = _curve_rows(a, months)
        d_age[g] = _by_age(a.default)
        p_age[g] = _by_age(a.prepay)
        sev[g] = a.severity
        lag[g] = a.recovery_lag
        adv.add(a.advancing)
        exclude[g] = a.delinquent_at_cutoff == "exclude"
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
    return _GradeTerms(
        default_tab, prepay_tab, d_age, p_age, cgl, sev, lag, advancing, roll, roll_m, exclude
    )


#: Attribute of an :class:`Assumptions` under which :func:`_curve_rows` keeps its tables, and
#: how many horizons it keeps (the oldest goes first).
_ROWS_MEMO, _ROWS_ENTRIES = "_projection_rows", 8


def _curve_rows(a: Assumptions, months: int) -> tuple[bool, F64, F64]:
    """One grade's base curves for months ``1..months``: CGL flag, default row, SMM row.

    The default row is the MDR, or for a cumulative-default (CGL) curve the share of the
    cut-off balance defaulting each month.  Kept on ``a`` (a per-instance memo of read-only
    arrays: the assumptions and their curves are immutable).
    """
    memo: dict[int, tuple[bool, F64, F64]] | None = a.__dict__.get(_ROWS_MEMO)
    got = memo.get(months) if memo is not None else None
    if got is not None:
        return got
    m = np.arange(1, months + 1)
    shares = cumulative_default_shares(a.default, m)
    default = np.array(shares if shares is not None else a.default.monthly_rates(m), np.float64)
    prepay = np.array(a.prepay.monthly_rates(m), np.float64)
    default.setflags(write=False)
    prepay.setflags(write=False)
    got = (shares is not None, default, prepay)
    if memo is None:
        memo = {}
        object.__setattr__(a, _ROWS_MEMO, memo)
    while len(memo) >= _ROWS_ENTRIES:
        memo.pop(next(iter(memo)))
    memo[months] = got
    return got


def _by_age(curve: Curve) -> bool:
    return curve.by == "age"


def _scaled_table(tab: F64, mult: F64, linear: B1 | None = None) -> F64:
    """(G, M) base monthly rates stressed by (S, G) multipliers -> (S, G, M).

    Rates scale through their annual equivalent (capped at 100%); grades
    flagged ``linear`` (cumulative-default shares) scale linearly.
    """
    if np.all(mult == 1.0):
        return np.broadcast_to(tab, (mult.shape[0], *tab.shape))
    out = scale_monthly(tab[None, :, :], mult[:, :, None])
    if linear is not None and linear.any():
        out[:, linear, :] = tab[None, linear, :] * mult[:, linear, None]
    return out


@dataclass(frozen=True)
class _Paths:
    """Which path each cohort follows (see the module docs)."""

    curve: I64  # performing at cut-off, grade without roll rates
    roll: I64  # grades with roll rates, 0-90 days past due
    late: I64  # no payments, default in month ``late_month``
    late_month: I64
    excluded: B1  # (C,)


def _paths(cohorts: Cohorts, roll_g: B1, exclude_g: B1) -> _Paths:
    """Paths from each grade's flags: roll rates (``roll_g``), excluded if late (``exclude_g``)."""
    g = cohorts.grade
    bucket = cohorts.dpd_bucket
    # Grade flags gathered only where some grade has them (large pools: no 1M-row gathers).
    roll = roll_g[g] if roll_g.any() else np.zeros(g.shape, dtype=bool)
    excluded = (bucket >= 1) & (bucket <= 3)
    excluded &= exclude_g[g] if exclude_g.any() else False
    late = ~excluded & ((bucket == 4) | ((bucket >= 1) & ~roll))
    late_idx = np.flatnonzero(late)
    curve = np.flatnonzero(~roll & (bucket == 0))
    return _Paths(
        curve=curve.astype(np.int32) if g.size < 1 << 31 else curve,  # compact on large pools
        roll=np.flatnonzero(roll & ~excluded & (bucket <= 3)) if roll_g.any() else late_idx[:0],
        late=late_idx,
        late_month=np.where(bucket[late_idx] >= 3, 1, 4 - bucket[late_idx].astype(np.int64)),
        excluded=excluded,
    )


def _describe_cutoff(cohorts: Cohorts, paths: _Paths, terms: _GradeTerms) -> tuple[str, ...]:
    """Aggregate lines on receivables delinquent at cut-off (counts and balances only)."""
    late = np.flatnonzero(cohorts.dpd_bucket)  # the statements concern these rows only
    bucket = cohorts.dpd_bucket[late]
    g = cohorts.grade[late]
    count, balance = cohorts.count[late], cohorts.balance[late]
    excluded = paths.excluded[late]
    notes = []

    def amount(mask: B1) -> str:
        return f"{int(count[mask].sum()):,} receivables, balance {balance[mask].sum():,.2f}"

    late_1_90 = (bucket >= 1) & (bucket <= 3)
    rolled = late_1_90 & ~excluded & ~terms.roll[g]
    piped = late_1_90 & ~excluded & terms.roll[g]
    if excluded.any():
        notes.append(f"1-90 days past due at cut-off, excluded as ineligible: {amount(excluded)}")
    if rolled.any():
        notes.append(
            "1-90 days past due at cut-off, rolled to default without payments "
            f"(61-90 days in month 1, 31-60 in month 2, 1-30 in month 3): {amount(rolled)}"
        )
    if piped.any():
        notes.append(
            f"1-90 days past due at cut-off, started in their bucket of the roll-rate pipeline: "
            f"{amount(piped)}"
        )
    if (bucket == 4).any():
        notes.append(f"90+ days past due at cut-off, defaulted in month 1: {amount(bucket == 4)}")
    return tuple(notes)


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
    schedules: Method = "auto",
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
    schedules : {"auto", "dense", "streaming"}
        How the contractual schedules of rate classes are summed (see
        :func:`abs_engine.projection.schedule.class_schedules`); the same
        numbers either way, ``"auto"`` picks by pool size.

    Returns
    -------
    PoolCashflows
        Arrays shaped ``(scenario, group, period)``.  ``notes`` says how
        receivables delinquent at cut-off were treated.

    Notes
    -----
    The scenario-free part of a projection (paths, grade terms, rate classes and their
    contractual schedules) is kept on the cohorts for the same assumptions object,
    grouping, horizon and offset, so a repeated call does only the scenario work (a
    :class:`Pool` keeps its exact cohorts; one projected receivable by receivable builds
    them afresh each call).  At most 8 entries and 16 MiB per cohorts; the figures are
    the same either way.
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
    elif isinstance(pool, Pool):
        # Results by pool or grade do not show the cohorts: where grouping cannot pay
        # (continuous annuity rates) each receivable is projected as its own cohort.
        # The delinquency pipeline and advancing work per cohort: there, group.
        per_cohort = by == "cohort" or any(
            assumptions.for_grade(g).roll_rates is not None or assumptions.for_grade(g).advancing
            for g in pool.grades
        )
        cohorts = pool.cohorts(loan_level=False if per_cohort else "auto")
        labels = ()
    else:
        cohorts = pool
        labels = ()
    if len(cohorts) == 0:
        raise AssumptionError("the pool has no receivables to project")
    if period_offset < 0:
        raise AssumptionError(f"period_offset must be >= 0; got {period_offset}")
    sset = as_scenario_set(scenarios)
    unknown = sset.grades_named() - set(cohorts.grades) - {"*"}
    if unknown:
        raise ScenarioError(
            f"scenarios name grade(s) {sorted(unknown)} that the pool does not have "
            f"(grades: {', '.join(cohorts.grades)})"
        )

    setup = _setup(cohorts, assumptions)
    grades, G, paths = cohorts.grades, len(cohorts.grades), setup.paths
    shift_all = sset.recovery_lag_shift
    max_lag = int(np.maximum(setup.lag[setup.present][None, :] + shift_all[:, None], 0).max())
    max_rem = setup.max_remaining
    horizon = max_rem + max_lag + (4 if setup.roll.any() or setup.late_any else 0)
    months = setup.max_age + horizon + 1 + period_offset
    identity = by in ("cohort", "loan")
    # Rows of (row, month) arrays the curve path holds: its cohorts, or with streaming
    # schedules its rate classes (at most one per virtual grade and age).
    n_curve = paths.curve.size
    if not (setup.advancing or identity or schedules == "dense") and (
        schedules == "streaming" or n_curve * (horizon + 1) > DENSE_LIMIT
    ):
        n_curve = min(n_curve, G * setup.n_overlays * (setup.max_age + 1))
    _budget.check_projection(  # before anything is sized by the horizon
        n_cohorts=n_curve + paths.roll.size,
        n_scenarios=len(sset),
        n_groups=len(cohorts) if identity else len(grades),
        horizon=horizon,
        months=months,
        n_grades=len(grades),
        n_fields=len(FIELDS),
        max_remaining=max_rem,
        max_lag=max_lag,
        delinquency=paths.roll.size > 0,
        chunk_bytes=_CHUNK_BYTES,
    )
    prep = _prepare(
        cohorts, assumptions, setup, by, labels, horizon, months, period_offset, schedules
    )
    terms, vterms, curve, late = prep.terms, prep.vterms, prep.curve, prep.late
    grade_of_v, n_groups, group_c = prep.grade_of_v, prep.n_groups, prep.group_c
    for line in prep.notes:
        log.info("%s", line)

    H = horizon
    S = len(sset)
    out = {f: np.zeros((S, n_groups, H)) for f in FIELDS}
    per_scenario = 8 * H * (12 * curve.n_classes + 40 * paths.roll.size + 20 * curve.n_cohort_rows)
    chunk = chunk_size or max(1, min(S, _CHUNK_BYTES // max(per_scenario, 1)))
    dm_all = sset.multipliers("default_mult", grades)
    pm_all = sset.multipliers("prepay_mult", grades)
    sm_all = sset.multipliers("severity_mult", grades)
    overlay_v, group_grade, v_c = prep.overlay_v, prep.group_grade, prep.v_c

    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        # Multipliers by virtual grade: the scenario's, times the receivables' overlay.
        dm = dm_all[lo:hi][:, grade_of_v] * overlay_v[None, :]
        pm = pm_all[lo:hi][:, grade_of_v]
        sev = np.minimum(1.0, terms.severity[None, :] * sm_all[lo:hi])  # (s, G)
        lag = np.maximum(terms.lag[None, :] + shift_all[lo:hi, None], 0)  # (s, G)
        mdr_tab = _scaled_table(vterms.default_tab, dm, vterms.cgl)  # (s, Gv, M)
        smm_tab = _scaled_table(vterms.prepay_tab, pm)
        view = {f: a[lo:hi] for f, a in out.items()}
        to_liquidate = np.zeros((hi - lo, n_groups, H))
        if curve.n_cohorts and terms.advancing:  # liquidates inside its own mechanics
            for f, arr in curve.advancing(mdr_tab, smm_tab, lag, sev, grade_of_v).items():
                view[f] += arr
        elif curve.n_cohorts:
            flows = curve.run(mdr_tab, smm_tab, vterms.cgl)
            for f, arr in flows.items():
                view[f] += arr
            to_liquidate += flows["default"]
        if paths.roll.size:
            flows = _roll_path(cohorts, paths.roll, v_c, vterms, dm, smm_tab, H, period_offset)
            rows = paths.roll
            for f, arr in flows.items():
                _add_to_groups(view[f], arr, group_c[rows], identity, rows)
            _add_to_groups(to_liquidate, flows["default"], group_c[rows], identity, rows)
        if late is not None:
            for f, arr in late.items():
                view[f] += arr[None]
            to_liquidate += late["default"][None]
        rec, loss = _liquidate(to_liquidate, lag[:, group_grade], sev[:, group_grade])
        view["recovery"] += rec
        view["loss"] += loss

    result = PoolCashflows(
        out,
        sset.names,
        prep.names,
        "grade" if by in ("pool", "grade") else by,
        prep.initial.copy(),  # the prepared array is shared by later calls
        prep.notes,
    )
    return result.pool_total() if by == "pool" else result


# --- the scenario-free part, kept on the cohorts ----------------------------------------------

#: Attribute of a :class:`Cohorts` under which :func:`project` keeps its scenario-free work.
_MEMO = "_projection_memo"
#: At most this many entries are kept per cohorts, holding at most this many bytes in all
#: (the oldest go first): a memo is for the fixed cost of repeated calls, it must not keep
#: much of a large pool's size alive.
_MEMO_ENTRIES, _MEMO_BYTES = 8, 16 * 2**20


def _memo_get(cohorts: Cohorts, key: tuple[Any, ...], assumptions: object) -> Any:
    """The value kept under ``key`` for these very ``assumptions`` (identity), or ``None``.

    Keys carry ``id(assumptions)``; the entry holds the assumptions themselves, so the
    id cannot be reused by another object while the entry lives, and is checked with ``is``.
    """
    memo: dict[tuple[Any, ...], tuple[object, Any, int]] | None = cohorts.__dict__.get(_MEMO)
    hit = memo.get(key) if memo is not None else None
    return hit[1] if hit is not None and hit[0] is assumptions else None


def _memo_put(
    cohorts: Cohorts, key: tuple[Any, ...], assumptions: object, value: Any, nbytes: int
) -> None:
    """Keep ``value`` on ``cohorts`` (a per-instance memo; both are immutable) if it is small."""
    if nbytes > _MEMO_BYTES:
        return
    memo: dict[tuple[Any, ...], tuple[object, Any, int]] | None = cohorts.__dict__.get(_MEMO)
    if memo is None:
        memo = {}
        object.__setattr__(cohorts, _MEMO, memo)
    memo.pop(key, None)
    while memo and (
        len(memo) >= _MEMO_ENTRIES or sum(e[2] for e in memo.values()) + nbytes > _MEMO_BYTES
    ):
        memo.pop(next(iter(memo)))
    memo[key] = (assumptions, value, nbytes)


def _nbytes(*arrays: NDArray[Any] | None) -> int:
    """Bytes of ``arrays`` (``None`` counts nothing)."""
    return sum(a.nbytes for a in arrays if a is not None)


@dataclass(frozen=True)
class _Setup:
    """What a projection needs of the cohorts and the assumptions alone (no scenario)."""

    present: I64  # grade codes with receivables
    lag: I64  # (G,) recovery lag of each grade
    roll: B1  # (G,) grade uses the delinquency pipeline
    advancing: bool
    late_any: bool  # some receivable is delinquent at cut-off
    max_remaining: int
    max_age: int
    paths: _Paths
    overlay_values: F64  # distinct default overlays
    overlay_code: I64 | None  # overlay of each cohort (None: one overlay for all)

    @property
    def n_overlays(self) -> int:
        return int(self.overlay_values.size)


def _setup(cohorts: Cohorts, assumptions: Assumptions | GradedAssumptions) -> _Setup:
    """The :class:`_Setup` of ``cohorts`` under ``assumptions``, kept on the cohorts."""
    key: tuple[Any, ...] = ("setup", id(assumptions))
    got: _Setup | None = _memo_get(cohorts, key, assumptions)
    if got is not None:
        return got
    grades = cohorts.grades
    G = len(grades)
    present = np.flatnonzero(np.bincount(cohorts.grade, minlength=G))
    lag = np.zeros(G, dtype=np.int64)
    roll = np.zeros(G, dtype=bool)
    exclude = np.zeros(G, dtype=bool)
    advancing = False
    for g in present:
        a = assumptions.for_grade(grades[g])
        lag[g] = a.recovery_lag
        roll[g] = a.roll_rates is not None
        exclude[g] = a.delinquent_at_cutoff == "exclude"
        advancing |= a.advancing
    # A default overlay (a multiplier per receivable, e.g. on early-warning flags) makes each
    # (grade, overlay) pair a virtual grade: same curves, its own default multiplier.
    overlay = np.asarray(cohorts.default_mult, dtype=np.float64)
    ov_code: I64 | None = None
    if overlay.size and (overlay.strides[0] == 0 or np.all(overlay == overlay[0])):
        ov_values = overlay[:1].copy()
    else:
        ov_values, ov_code = np.unique(overlay, return_inverse=True)
    got = _Setup(
        present=present,
        lag=lag,
        roll=roll,
        advancing=advancing,
        late_any=bool((cohorts.dpd_bucket > 0).any()),
        max_remaining=int(cohorts.remaining_term.max()),
        max_age=int(cohorts.age.max()),
        paths=_paths(cohorts, roll, exclude),
        overlay_values=ov_values,
        overlay_code=ov_code,
    )
    p = got.paths
    size = _nbytes(p.curve, p.roll, p.late, p.late_month, p.excluded, ov_code)
    _memo_put(cohorts, key, assumptions, got, size)
    return got


@dataclass(frozen=True)
class _Prepared:
    """The scenario-free part of a projection: terms, groups, rate classes and their schedules."""

    terms: _GradeTerms
    vterms: _GradeTerms  # by virtual grade (grade x overlay)
    notes: tuple[str, ...]
    v_c: IX  # virtual grade of each cohort
    grade_of_v: I64
    overlay_v: F64
    n_groups: int
    group_c: IX  # output group of each cohort
    group_grade: I64  # grade of each output group
    names: tuple[str, ...]
    initial: F64  # (n_groups,) balance at cut-off
    curve: _CurvePath
    late: dict[str, F64] | None


def _prepare(
    cohorts: Cohorts,
    assumptions: Assumptions | GradedAssumptions,
    setup: _Setup,
    by: GroupBy,
    labels: tuple[str, ...],
    horizon: int,
    months: int,
    period_offset: int,
    schedules: Method,
) -> _Prepared:
    """The :class:`_Prepared` projection, kept on the cohorts when it is small.

    Everything here depends only on the cohorts, the assumptions (the same object),
    the grouping, the horizon (which the scenarios' recovery-lag shifts lengthen), the
    period offset and the schedule method — the key of the memo.
    """
    # Loan-level cohorts are built afresh for every call: nothing to keep.
    grouping = by if by in ("cohort", "loan") else "grade"  # "pool" sums the grade groups
    key = ("prepared", id(assumptions), grouping, horizon, months, period_offset, schedules)
    got: _Prepared | None = None if by == "loan" else _memo_get(cohorts, key, assumptions)
    if got is not None:
        return got
    grades = cohorts.grades
    G = len(grades)
    present, paths = setup.present, setup.paths
    terms = _grade_terms(grades, present, assumptions, months)
    notes = _describe_cutoff(cohorts, paths, terms)
    grade_c = cohorts.grade  # int8 codes: per-cohort arrays stay compact on large pools
    n_ov, ov_code = setup.n_overlays, setup.overlay_code
    v_c = grade_c if ov_code is None else grade_c.astype(np.int64) * n_ov + ov_code
    grade_of_v = np.repeat(np.arange(G), n_ov)
    overlay_v = np.tile(setup.overlay_values, G)
    vterms = terms.take(grade_of_v)

    # --- output groups ------------------------------------------------------------------
    # Recoveries depend on each grade's lag and severity, so flows are first summed
    # into groups of a single grade ("pool" sums the grade groups at the end).
    identity = by in ("cohort", "loan")
    group_of_v: I64 | None = None
    if identity:
        n_groups = len(cohorts)
        group_c: IX = np.arange(n_groups)
        group_grade = np.asarray(grade_c, dtype=np.int64)
        names = labels if by == "loan" else tuple(f"cohort {i}" for i in range(n_groups))
    else:
        n_groups = present.size
        slot = np.full(G, -1, dtype=np.int64)
        slot[present] = np.arange(n_groups)
        group_c = slot.astype(np.int8)[grade_c]
        group_grade = present
        names = tuple(grades[g] for g in present)
        group_of_v = slot[grade_of_v]
    kept_balance = (
        np.where(paths.excluded, 0.0, cohorts.balance) if paths.excluded.any() else cohorts.balance
    )
    initial = np.asarray(
        np.bincount(group_c, weights=kept_balance, minlength=n_groups), dtype=np.float64
    )
    curve = _CurvePath.build(
        cohorts, paths.curve, v_c, vterms, group_c, group_of_v, n_groups, horizon, period_offset,
        schedules,
    )  # fmt: skip
    late = _late_flows(cohorts, paths, group_c, n_groups, horizon)
    got = _Prepared(
        terms, vterms, notes, v_c, grade_of_v, overlay_v, n_groups, group_c, group_grade,
        names, initial, curve, late,
    )  # fmt: skip
    nbytes = _nbytes(
        curve.stacked, curve.end, curve.d_idx, curve.p_idx, curve.cohort_class, v_c, group_c,
        terms.default_tab, terms.prepay_tab, vterms.default_tab, vterms.prepay_tab,
        *(late or {}).values(),
        *(() if curve.class_sched is None else vars(curve.class_sched).values()),
        *(() if curve.cohort_sched is None else vars(curve.cohort_sched).values()),
    )  # fmt: skip
    if by != "loan":
        _memo_put(cohorts, key, assumptions, got, nbytes)
    return got


def _add_to_groups(target: F64, arr: F64, group_of_row: IX, identity: bool, rows: I64) -> None:
    """Add per-cohort flows ``arr`` (s, n_rows, H) into ``target`` (s, n_groups, H)."""
    if identity:
        target[:, rows, :] += arr
        return
    for g in np.unique(group_of_row):
        target[:, g, :] += arr[:, group_of_row == g, :].sum(axis=1)


#: Receivables delinquent at cut-off up to which :func:`_late_flows` takes one pass over
#: (field, month, receivable) arrays; above, a pass per field and month bounds the memory.
_LATE_ONE_PASS = 1 << 14


def _late_flows(
    cohorts: Cohorts, paths: _Paths, group_c: IX, n_groups: int, H: int
) -> dict[str, F64] | None:
    """Receivables that pay nothing and default in month ``m`` (scenario-free), by group.

    A receivable in bucket ``b`` at cut-off moves one bucket a month; its whole
    balance is ``begin_balance`` in months ``1..m``, defaults in month ``m``
    and shows in bucket ``b + t`` at the end of months ``t < m``.
    """
    idx = paths.late
    if idx.size == 0:
        return None
    b0 = cohorts.balance[idx]
    grp = group_c[idx]
    bucket = cohorts.dpd_bucket[idx].astype(np.int64)
    names = ("begin_balance", "default", "end_balance", "dpd_31_60", "dpd_61_90")
    late_m = paths.late_month

    def shows(t: int | I64) -> tuple[B1, B1, B1, B1, B1]:
        """Per field, whose balance shows in it in month(s) ``t``."""
        still = late_m > t
        return (
            late_m >= t, late_m == t, still, still & (bucket + t == 2), still & (bucket + t == 3)
        )  # fmt: skip

    if idx.size > _LATE_ONE_PASS:  # bounded temporaries: one bincount per field and month
        flows = {f: np.zeros((n_groups, H)) for f in names}
        for t in range(1, 4):
            for f, sel in zip(names, shows(t), strict=True):
                flows[f][:, t - 1] += np.bincount(grp[sel], weights=b0[sel], minlength=n_groups)
        return flows
    # (field, month 1..3, receivable) in one array, taken in that order.
    f_i, t_i, j = np.nonzero(np.stack(shows(np.arange(1, 4)[:, None])))
    # One bincount over (field, group, month) cells: each cell sums the same balances in the
    # same order as a bincount per field and month would.
    cell = (f_i * n_groups + grp[j]) * H + t_i
    sums = np.bincount(cell, weights=b0[j], minlength=len(names) * n_groups * H)
    table = sums.reshape(len(names), n_groups, H)
    return {f: table[i] for i, f in enumerate(names)}


# --- the curve path -------------------------------------------------------------------------


@dataclass(frozen=True)
class _CurvePath:
    """Rate classes (virtual grade, age) of the performing receivables of curve grades."""

    n_cohorts: int
    n_classes: int
    n_cohort_rows: int  # rows of per-cohort flows (identity groups, advancing)
    g_r: I64  # virtual grade of each class
    d_idx: I64  # (R, H) month index of the default curve
    p_idx: I64  # (R, H)
    class_sched: Schedules | None  # (R, H+1)
    b0_r: F64  # (R,) balance at cut-off of each class
    reduce: _Reducer
    stacked: F64
    end: F64
    cohort_class: I64  # class of each cohort row (identity groups)
    # advancing (per cohort)
    cohort_sched: Schedules | None
    rem: I64
    grade_rows: I64  # grade of each cohort row

    @classmethod
    def build(
        cls,
        cohorts: Cohorts,
        idx: I64,
        v_c: IX,
        vterms: _GradeTerms,
        group_c: IX,
        group_of_v: IX | None,
        n_groups: int,
        H: int,
        period_offset: int,
        method: Method,
    ) -> _CurvePath:
        identity = group_of_v is None  # groups are the cohorts themselves
        empty = np.zeros(0, dtype=np.int64)
        if idx.size == 0:
            return cls(
                0, 0, 0, empty, np.zeros((0, H), np.int64), np.zeros((0, H), np.int64), None,
                np.zeros(0), _Reducer(empty, n_groups, identity, empty), np.zeros(0),
                np.zeros(0), empty, None, empty, empty,
            )  # fmt: skip
        ages = cohorts.age[idx]
        vg = v_c[idx]
        kk = np.arange(1, H + 1)
        if vterms.advancing:
            # Advancing stops defaults in each loan's final months: classes are the cohorts.
            g_r, age_r = vg.astype(np.int64), ages.astype(np.int64)
            sched = cohort_schedules(cohorts, idx, H)
            d_idx, p_idx = _month_index(vterms, g_r, age_r, kk, period_offset)
            return cls(
                idx.size, idx.size, idx.size, g_r, d_idx, p_idx, None, sched.balance[:, 0],
                _Reducer(group_c[idx], n_groups, identity, idx), np.zeros(0), np.zeros(0),
                np.arange(idx.size), sched, cohorts.remaining_term[idx].astype(np.int64),
                cohorts.grade[idx].astype(np.int64),
            )  # fmt: skip
        width = int(ages.max()) + 1
        space = (int(vg.max()) + 1) * width
        # The class key (virtual grade, age) in 32 bits where it fits: on large pools
        # these per-cohort arrays are the projection's largest.
        key: NDArray[np.signedinteger[Any]] = vg.astype(np.int32 if space < 1 << 31 else np.int64)
        np.multiply(key, width, out=key)
        np.add(key, ages, out=key)
        del ages, vg
        if space <= 1 << 24:
            seen = np.bincount(key, minlength=space)
            ids = np.flatnonzero(seen)
            lookup = np.zeros(space, dtype=np.int16 if ids.size < 1 << 15 else np.int32)
            lookup[ids] = np.arange(ids.size)
            cls_c = lookup[key]
        else:
            ids, cls_c = np.unique(key, return_inverse=True)
        del key
        R = ids.size
        g_r, age_r = ids // width, ids % width
        sched = class_schedules(cohorts, idx, cls_c, R, H, method=method)
        d_idx, p_idx = _month_index(vterms, g_r, age_r, kk, period_offset)
        if identity:
            csched = cohort_schedules(cohorts, idx, H)
            reduce = _Reducer(group_c[idx], n_groups, True, idx)
            stacked, end = _stack(reduce, csched)
            rows = idx.size
        else:
            assert group_of_v is not None
            reduce = _Reducer(group_of_v[g_r], n_groups, False, empty)
            stacked, end = _stack(reduce, sched)
            rows = 0
        return cls(
            idx.size, R, rows, g_r, d_idx, p_idx, sched, sched.balance[:, 0], reduce,
            stacked, end, cls_c, None, empty, empty,
        )  # fmt: skip

    def run(self, mdr_tab: F64, smm_tab: F64, cgl_v: B1) -> dict[str, F64]:
        """Flows of one scenario chunk, by output group ``(s, n_groups, H)``."""
        assert self.class_sched is not None
        cgl_r = cgl_v[self.g_r]
        mdr, smm, gm1 = _survival_factors(
            mdr_tab, smm_tab, self.g_r, self.d_idx, self.p_idx,
            cgl_r, self.class_sched.balance, self.b0_r,
        )  # fmt: skip
        if self.reduce.identity:  # classes -> cohorts
            cc = self.cohort_class
            gm1, mdr, smm = gm1[:, cc], mdr[:, cc], smm[:, cc]
        r = self.reduce
        b_g, p_g, i_g, f_g, e_g = r(gm1, self.stacked)
        b_x, p_x, i_x, f_x, e_x = r(mdr, self.stacked)
        (e_s,) = r(smm, self.end)
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

    def advancing(
        self, mdr_tab: F64, smm_tab: F64, lag: I64, sev: F64, grade_of_v: I64
    ) -> dict[str, F64]:
        """SIFMA advancing, cohort by cohort, summed into groups."""
        assert self.cohort_sched is not None
        mdr = _gather(mdr_tab, self.g_r, self.d_idx).transpose(2, 1, 0)  # (s, R, H)
        smm = _gather(smm_tab, self.g_r, self.p_idx).transpose(2, 1, 0)
        g = grade_of_v[self.g_r]
        sc = self.cohort_sched
        per = _advancing_chunk(
            mdr, smm, sc.balance, sc.interest, sc.fee, self.rem, lag[:, g], sev[:, g]
        )
        out = {}
        n_groups = self.reduce.n_groups
        for f, arr in per.items():
            tgt = np.zeros((arr.shape[0], n_groups, arr.shape[2]))
            _add_to_groups(tgt, arr, self.reduce.group_of_class, self.reduce.identity,
                           self.reduce.rows)  # fmt: skip
            out[f] = tgt
        return out


def _month_index(
    vterms: _GradeTerms, g_r: I64, age_r: I64, kk: I64, period_offset: int
) -> tuple[I64, I64]:
    """Month indices of the default and prepayment curves, ``(R, H)`` each (one array if alike)."""
    d_start = np.where(vterms.default_by_age[g_r], age_r, period_offset)
    p_start = np.where(vterms.prepay_by_age[g_r], age_r, period_offset)
    d_idx = d_start[:, None] + kk[None, :] - 1
    if np.array_equal(d_start, p_start):
        return d_idx, d_idx
    return d_idx, p_start[:, None] + kk[None, :] - 1


def _stack(reduce: _Reducer, sched: Schedules) -> tuple[F64, F64]:
    SB, SI, SF = sched.balance, sched.interest, sched.fee
    begin, end = SB[:, :-1], SB[:, 1:]
    return (
        reduce.weights(begin, begin - end, SI[:, 1:], SF[:, 1:], end),
        reduce.weights(end),
    )


def _gather(table: F64, g_r: IX, idx: I64) -> F64:
    """Rates per (period, class, scenario) from a (scenario, grade, month) table.

    The table is laid out (month, grade, scenario) so each gathered element is
    a contiguous row of scenarios.
    """
    by_month = np.ascontiguousarray(table.transpose(2, 1, 0))  # (M, G, s)
    out: F64 = by_month[idx.T, g_r[None, :]]  # (H, R, s)
    return out


#: Cells (class x scenario) of a period up to which the survival product is one accumulate.
_ACCUMULATE_CELLS = 128


def _survival_factors(
    mdr_tab: F64,
    smm_tab: F64,
    g_r: I64,
    d_idx: I64,
    p_idx: I64,
    cgl_r: B1,
    SB: F64,
    b0_r: F64,
) -> tuple[F64, F64, F64]:
    """Per (period, class, scenario): ``X = d G_{k-1}``, ``s G_{k-1}`` and ``G_{k-1}``.

    ``G_k = prod_{j<=k} (1 - d_j - s_j)`` with ``s`` capped at ``1 - d``.  For
    classes with a cumulative-default curve the table holds shares of the
    cut-off balance, and the month's rate is the amount over what is still
    performing, ``d_k = min(1, share_k B_0 / (G_{k-1} SB_{k-1}))``.
    """
    S = mdr_tab.shape[0]
    H, R = d_idx.shape[1], d_idx.shape[0]
    survive = np.empty((H + 1, R, S))  # survive[k] = G_k; survive[:-1] is G_{k-1}
    survive[0] = 1.0
    if not cgl_r.any():
        cap = 1.0 - mdr_tab
        smm_tab = np.minimum(smm_tab, cap)
        # Both curves indexed alike (often the very same array): survival from the table.
        if d_idx is p_idx or np.array_equal(d_idx, p_idx):
            h = _gather(cap - smm_tab, g_r, d_idx)
            mdr = _gather(mdr_tab, g_r, d_idx)
            smm = _gather(smm_tab, g_r, p_idx)
        else:
            mdr = _gather(mdr_tab, g_r, d_idx)
            smm = np.minimum(_gather(smm_tab, g_r, p_idx), 1.0 - mdr)
            h = 1.0 - mdr - smm
        # The period loop: a running product over classes and scenarios.  On a small run
        # one accumulate does it (the same products in the same order: G_1 = h_1,
        # G_k = G_{k-1} h_k); it walks each cell along the periods, which is slower than a
        # loop of whole-period products once a period holds more than a few hundred cells.
        if h[0].size <= _ACCUMULATE_CELLS:
            np.multiply.accumulate(h, axis=0, out=survive[1:])
        else:
            for k in range(H):
                np.multiply(survive[k], h[k], out=survive[k + 1])
    else:
        mdr = _gather(mdr_tab, g_r, d_idx)  # rates; CGL classes: shares of B_0
        smm_raw = _gather(smm_tab, g_r, p_idx)
        amount = mdr[:, cgl_r, :] * b0_r[cgl_r][None, :, None]  # (H, Rc, s)
        sb_c = SB[cgl_r]  # (Rc, H+1)
        smm = np.empty_like(smm_raw)
        for k in range(H):
            perf = survive[k][cgl_r] * sb_c[:, k][:, None]  # (Rc, s)
            safe = np.where(perf > 0, perf, 1.0)
            mdr[k][cgl_r] = np.where(perf > 0, np.minimum(1.0, amount[k] / safe), 0.0)
            d = mdr[k]
            np.minimum(smm_raw[k], 1.0 - d, out=smm[k])
            np.multiply(survive[k], 1.0 - d - smm[k], out=survive[k + 1])
    gm1 = survive[:-1]
    np.multiply(mdr, gm1, out=mdr)  # X
    np.multiply(smm, gm1, out=smm)  # prepaying share
    return mdr, smm, gm1


@dataclass(frozen=True)
class _Reducer:
    """Sums (period, class, scenario) x (class, period) products into (scenario, group, period).

    For groups (grades, the pool) the sum over classes is a batched matrix
    product with weights ``W[h, k, r] = schedule[r, h] 1{class r in group k}``;
    several schedules are stacked along ``k`` so one product serves them all.
    With identity groups (cohorts, receivables) the rows are the groups
    ``rows`` of the output and the products are taken without a sum.
    """

    group_of_class: IX
    n_groups: int
    identity: bool
    rows: I64

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
        if self.identity:  # rows are output groups: products, no sum
            out = []
            for z in weights:
                full = np.zeros((rates.shape[2], self.n_groups, rates.shape[0]))
                full[:, self.rows, :] = (rates * z.T[:, :, None]).transpose(2, 1, 0)
                out.append(full)
            return out
        prod = np.ascontiguousarray(np.matmul(weights, rates).transpose(2, 1, 0))  # (s, n x K, H)
        K = self.n_groups
        return [prod[:, i * K : (i + 1) * K, :] for i in range(prod.shape[1] // K)]


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
    rem: I64,
    lag: I64,
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


def _liquidate(default: F64, lag: I64, sev: F64) -> tuple[F64, F64]:
    """Recoveries and losses ``lag`` months after default, per (scenario, group)."""
    S, K, H = default.shape
    src = np.arange(H)[None, None, :] - lag[:, :, None]  # month of default liquidated in t
    # Gathered from the flat array: row (s, k) starts at (s K + k) H.
    rows = (np.arange(S * K) * H).reshape(S, K, 1)
    moved = np.where(src >= 0, np.ravel(default)[rows + np.maximum(src, 0)], 0.0)
    loss = sev[:, :, None] * moved
    return moved - loss, loss


# --- the delinquency pipeline -----------------------------------------------------------------

#: Pipeline states: (bucket, instalments owed).  A bucket counts missed monthly
#: instalments, so before maturity the two agree; a forward jump (current to
#: 31-60, say) and the months after maturity leave fewer instalments owed than
#: the bucket's label, which the second coordinate keeps exact.
_STATES: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3))
_STATE_INDEX = {s: i for i, s in enumerate(_STATES)}


def _post_maturity(P: F64) -> F64:
    """Roll matrices after maturity: a delinquent balance cures in full or rolls on.

    No new instalment falls due, so staying, partly curing or jumping ahead
    become rolling one bucket on (61-90 rolls to default); cures and direct
    defaults keep their rates.  Current balances are repaid by then.
    """
    post = np.zeros_like(P)
    post[..., 0, 0] = 1.0
    for i in range(1, 4):
        cure, dflt = P[..., i, 0], P[..., i, 4]
        post[..., i, 0] = cure
        post[..., i, 4] = dflt
        post[..., i, i + 1] += 1.0 - cure - dflt
    return post


def _roll_path(
    cohorts: Cohorts,
    idx: I64,
    v_c: IX,
    vterms: _GradeTerms,
    dm: F64,
    smm_tab: F64,
    H: int,
    period_offset: int,
) -> dict[str, F64]:
    """Per-cohort pipeline flows ``(s, len(idx), H)`` for one scenario chunk."""
    vg = v_c[idx]
    age = cohorts.age[idx].astype(np.int64)
    kk = np.arange(1, H + 1)
    p_start = np.where(vterms.prepay_by_age[vg], age, period_offset)
    smm = _gather(smm_tab, vg, p_start[:, None] + kk[None, :] - 1)  # (H, R, s)
    return _roll_chunk(
        cohorts.balance[idx],
        cohorts.remaining_term[idx].astype(np.int64),
        cohorts.dpd_bucket[idx].astype(np.int64),
        cohorts.payment_type[idx],
        cohorts.rate[idx],
        cohorts.fee[idx],
        vterms.roll_matrix[vg],
        dm[:, vg],
        np.moveaxis(smm, 2, 1),
        H,
    )


def _roll_chunk(
    B0: F64,
    n: I64,
    bucket0: I64,
    payment_type: NDArray[np.integer],
    rate: F64,
    fee: F64,
    P: F64,
    dm: F64,
    smm: F64,
    H: int,
) -> dict[str, F64]:
    """Delinquency pipeline: current -> 1-30 -> 31-60 -> 61-90 -> default, with cures.

    A cohort in bucket ``b0`` at cut-off with ``n`` months to maturity owes
    ``N = n + b0`` instalments of its contract (``b0`` of them overdue); a share
    of it is in state ``(bucket, owed)`` and has paid ``p = min(k, n) + b0 -
    owed`` instalments after month ``k``, so its balance is ``B_0 A_p``.  Each
    month one instalment falls due (until maturity) and the roll matrix moves
    the state from bucket ``i`` to bucket ``j``:

    * to default: the balance ``B_0 A_p`` defaults, nothing is paid;
    * to bucket ``j``: instalments owed become ``min(j, owed + due)`` (0 for
      current); the difference ``m`` is paid, oldest instalment first —
      principal ``B_0 (A_p - A_{p+m})``, interest ``rate/12 B_0 sum_{t=p+1}^{p+m}
      A_{t-1}`` and ``m`` flat fees.  So current pays one instalment, staying
      pays one, a roll pays none and a cure pays every instalment missed;
      revenue is lost only on balances that default.

    The current-to-30 roll is scaled by the default multiplier ``dm`` (capped
    at 1); prepayments (SMM ``smm``) come off the current balance after its
    instalment.  After maturity :func:`_post_maturity` applies, so the
    pipeline is empty three months after the last maturity.

    Parameters
    ----------
    B0, n, bucket0, payment_type, rate, fee : ndarray, shape (R,)
        Cut-off balance, months to maturity, bucket (0-3), type, annual rate and
        monthly flat fee of each cohort.
    P : ndarray, shape (R, 4, 5)
        Base roll matrices.
    dm : ndarray, shape (s, R)
        Default multipliers (scenario times overlay).
    smm : ndarray, shape (H, s, R)
        Prepayment rates.
    """
    s_n, R = dm.shape
    N = n + bucket0
    Nmax = int(N.max())
    A = unit_balance(payment_type, rate, N, Nmax)  # (R, Nmax+1)
    cum_a = np.zeros_like(A)  # cum_a[q] = sum_{t=1}^{q} A[t-1]: interest factor of q instalments
    cum_a[:, 1:] = np.cumsum(A[:, :-1], axis=1)
    r12 = rate / 12.0
    rows = np.arange(R)
    P_post = _post_maturity(P)
    entry = np.minimum(P[None, :, 0, 1] * dm, 1.0)  # (s, R) stressed current -> 1-30
    p00 = np.clip(1.0 - entry - P[None, :, 0, 2:].sum(axis=2), 0.0, 1.0)

    units = np.zeros((len(_STATES), s_n, R))
    for b in range(4):
        units[_STATE_INDEX[(b, b)]] += (bucket0 == b)[None, :]
    out = {f: np.zeros((s_n, R, H)) for f in FIELDS}
    bucket_field = {1: "dpd_1_30", 2: "dpd_31_60", 3: "dpd_61_90"}

    def at(p: I64) -> F64:
        return np.asarray(A[rows, np.clip(p, 0, Nmax)])

    for k in range(1, H + 1):
        due = k <= n  # (R,) an instalment falls due this month
        pre = due.astype(np.float64)
        post = 1.0 - pre
        done_before = np.minimum(k - 1, n) + bucket0  # instalments due so far (minus this one)
        done_now = np.minimum(k, n) + bucket0
        new = np.zeros_like(units)
        begin = np.zeros((s_n, R))
        default = np.zeros((s_n, R))
        principal = np.zeros((s_n, R))
        interest = np.zeros((s_n, R))
        fees = np.zeros((s_n, R))
        for si, (b, owed) in enumerate(_STATES):
            u = units[si]
            if not u.any():
                continue
            p = done_before - owed
            a_p = at(p)
            begin += u * a_p
            for j in range(5):
                if b == 0 and j <= 1:
                    rate_pre = p00 if j == 0 else entry
                    prob = rate_pre * pre + P_post[:, 0, j] * post
                else:
                    prob = P[:, b, j] * pre + P_post[:, b, j] * post
                x = u * prob
                if j == 4:
                    default += x * a_p
                    continue
                for d, w in ((1, pre), (0, post)):
                    owed_new = 0 if j == 0 else min(j, owed + d)
                    m = owed + d - owed_new
                    xm = x * w
                    if m:
                        q = p + m
                        principal += xm * (a_p - at(q))
                        cq, cp = cum_a[rows, np.clip(q, 0, Nmax)], cum_a[rows, np.clip(p, 0, Nmax)]
                        interest += xm * (r12 * (cq - cp))
                        fees += xm * (m * fee)
                    new[_STATE_INDEX.get((j, owed_new), 0)] += xm
        s_k = np.minimum(smm[k - 1], 1.0)
        a_cur = at(done_now)
        prepay = s_k * new[0] * a_cur
        new[0] *= 1.0 - s_k
        col = k - 1
        out["begin_balance"][:, :, col] = begin * B0
        out["default"][:, :, col] = default * B0
        out["scheduled_principal"][:, :, col] = principal * B0
        out["prepayment"][:, :, col] = prepay * B0
        out["interest"][:, :, col] = interest * B0
        out["fee"][:, :, col] = fees
        current = new[0] * a_cur * B0
        out["current"][:, :, col] = current
        end = current.copy()
        for si, (b, owed) in enumerate(_STATES[1:], start=1):
            bal = new[si] * at(done_now - owed) * B0
            out[bucket_field[b]][:, :, col] += bal
            end += bal
        out["end_balance"][:, :, col] = end
        units = new
    return out
