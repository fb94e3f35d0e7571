r"""Servicer histories from the deal's projection: the base case exactly, or with noise.

:func:`projected_history` is the base case in the servicer's format: the
cut-off pool projected by grade, plus what the revolving period buys (the
base-case run's purchases times the purchase template projected by grade),
month by month.  Its pool totals are the deal run's collections, so a
surveillance of it reproduces the projected waterfall (the consistency check
of :func:`abs_engine.surveillance.surveil`) and it is the comparator of
"actual against projected".

:func:`synthetic_servicer_history` draws a realistic history around it,
seeded.  Per grade ``g`` and month ``m`` the base case gives its rates

.. math::

    d = \frac{D}{B},\quad
    f = \frac{SP}{B - D},\quad
    s = \frac{PP}{B - D - SP},\quad
    i = \frac{I}{B - D},\quad
    \phi = \frac{F}{B - D}

(``B`` the balance in the month, purchases included), which the history
applies to its own balance with multiplicative noise
:math:`\varepsilon = e^{\sigma z - \sigma^2/2}` (mean 1, ``z`` standard
normal, one draw per grade, month and flow) and an optional
:class:`Deterioration` (default and prepayment multipliers ramping in from a
given month):

.. math::

    D = \min(d\,m_d\,\varepsilon_d, 1)\,B,\quad SP = f (B - D),\quad
    PP = \min(s\,m_p\,\varepsilon_p, 1)(B - D - SP),\quad
    I = i\,\varepsilon_i (B - D),\quad F = \phi\,(B - D).

Charged-off balances are worked out after the grade's recovery lag ``L``:
recovery :math:`R_m = (1 - \min(\text{sev}\,m_s, 1))\,\varepsilon_r\,D_{m-L}`
(at most :math:`D_{m-L}`) and loss :math:`D_{m-L} - R_m`.  In a revolving
deal the receivables bought on each payment date are what the deal's own
waterfall buys from the history so far (run period by period with
:func:`abs_engine.deal.run_on_collections`), split by grade as the purchase
template is.  Without noise or deterioration the history *is* the base case.

Delinquency
-----------
Grades with roll-rate assumptions carry the projection's delinquency
pipeline (1-30, 31-60, 61-90 days; defaults leave from 61-90).  Other grades
get the delinquency *implied* by the timing of their defaults with
roll-forward rates :math:`r_1..r_4` (1-30 to 31-60, 31-60 to 61-90, 61-90 to
90+, 90+ to charge-off; :data:`DEFAULT_ROLLS`):

.. math::

    \text{90+}_t = D_{t+1} / r_4,\quad
    \text{61-90}_t = \text{90+}_{t+1} / r_3,\quad
    \text{31-60}_t = \text{61-90}_{t+1} / r_2,\quad
    \text{1-30}_t = \text{31-60}_{t+1} / r_1,

scaled down if they would exceed the performing balance.  A deterioration
raises every roll rate by :math:`m_d^{1/4}` (at most 0.99), so roll rates
climb before defaults do.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.engine import run_on_collections, template_cohorts
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.projection.engine import as_scenario_set, project
from abs_engine.projection.results import FLOW_FIELDS, PoolCashflows
from abs_engine.surveillance._calendar import deal_calendar, period_collections
from abs_engine.surveillance.servicer import (
    COUNT_COLUMN,
    DELINQUENCY_COLUMNS,
    month_index,
)

__all__ = [
    "DEFAULT_ROLLS",
    "BaseProjection",
    "Deterioration",
    "base_projection",
    "projected_history",
    "synthetic_servicer_history",
]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Roll-forward rates 1-30 -> 31-60, 31-60 -> 61-90, 61-90 -> 90+, 90+ -> charge-off
#: (illustrative for unsecured consumer credit) that imply delinquency from defaults.
DEFAULT_ROLLS: tuple[float, float, float, float] = (0.35, 0.6, 0.8, 0.9)
#: Months of defaults past the last month that the implied delinquency looks at.
_LOOKAHEAD = 4
#: Fields of a monthly servicer array set (opening balance as ``begin_balance``).
MONTH_FIELDS = ("begin_balance", *FLOW_FIELDS, "end_balance", "purchases", *DELINQUENCY_COLUMNS)


@dataclass(frozen=True)
class Deterioration:
    """Performance worsening from month ``start`` (1 = the history's first month).

    Multipliers ramp linearly from 1 to their level over ``ramp`` months:
    month ``m`` takes ``1 + (level - 1) * min((m - start + 1) / ramp, 1)``
    (1 before ``start``).  ``default_mult`` multiplies the monthly default
    rate (and, to the power 1/4, every delinquency roll rate),
    ``prepay_mult`` the prepayment rate, ``severity_mult`` the loss severity.
    """

    start: int
    default_mult: float = 2.0
    prepay_mult: float = 1.0
    severity_mult: float = 1.0
    ramp: int = 6

    def __post_init__(self) -> None:
        if not isinstance(self.start, int) or self.start < 1:
            raise SpecError(f"start is a month >= 1; got {self.start!r}", "deterioration.start")
        if not isinstance(self.ramp, int) or self.ramp < 1:
            raise SpecError(
                f"ramp is a number of months >= 1; got {self.ramp!r}", "deterioration.ramp"
            )
        for name in ("default_mult", "prepay_mult", "severity_mult"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise SpecError(f"must be a finite number >= 0; got {v!r}", f"deterioration.{name}")

    def path(self, level: float, months: int) -> F64:
        """The multiplier of each month ``1..months``."""
        m = np.arange(1, months + 1, dtype=np.float64)
        w = np.clip((m - self.start + 1) / self.ramp, 0.0, 1.0)
        return np.asarray(1.0 + (level - 1.0) * w, dtype=np.float64)


# --- the base case by grade ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BaseProjection:
    """The deal's projection in servicer form: monthly arrays ``(scenario, grade, month)``.

    ``data["begin_balance"]`` is the opening balance (purchases of the month
    excluded, as a servicer reports it); ``run`` is the deal run the
    purchases come from; ``ends`` the pool months of each payment period.
    """

    grades: tuple[str, ...]
    months: NDArray[np.datetime64]
    data: Mapping[str, F64]
    run: RunResult
    ends: I64
    call_month: int | None  # month of a clean-up call in the first scenario (1-based)

    @property
    def n_months(self) -> int:
        """Months held."""
        return int(self.months.shape[0])


def _cohorts(deal: Deal, pool: Pool | Cohorts | None) -> Cohorts:
    if pool is None:
        if deal.pool.tape is None:
            raise SpecError("the deal names no tape; pass pool=", "pool.tape")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    return pool.cohorts() if isinstance(pool, Pool) else pool


def _by_period_curves(deal: Deal, grades: Sequence[str]) -> bool:
    for g in grades:
        a = deal.assumptions.for_grade(g)
        if a.default.by == "period" or a.prepay.by == "period":
            return True
    return False


def _roll_grades(deal: Deal, grades: Sequence[str]) -> NDArray[np.bool_]:
    return np.array([deal.assumptions.for_grade(g).roll_rates is not None for g in grades])


def implied_delinquency(default: F64, end: F64, rolls: F64) -> dict[str, F64]:
    """Delinquent balances implied by later defaults (see the module notes).

    ``default`` ``(..., M + 4)``, ``end`` ``(..., M)``, ``rolls`` ``(4, M + 4)``
    (roll rate of each transition in each month); returns the four buckets
    ``(..., M)``, scaled down where they would exceed ``end``.
    """
    M = end.shape[-1]
    L = default.shape[-1]
    r = np.broadcast_to(rolls, (4, L))
    b4 = np.zeros_like(default)
    b4[..., :-1] = default[..., 1:] / r[3, 1:]
    b3 = np.zeros_like(default)
    b3[..., :-1] = b4[..., 1:] / r[2, 1:]
    b2 = np.zeros_like(default)
    b2[..., :-1] = b3[..., 1:] / r[1, 1:]
    b1 = np.zeros_like(default)
    b1[..., :-1] = b2[..., 1:] / r[0, 1:]
    buckets = [b[..., :M] for b in (b1, b2, b3, b4)]
    total = sum(buckets)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > end, end / np.where(total > 0, total, 1.0), 1.0)
    return {c: b * scale for c, b in zip(DELINQUENCY_COLUMNS, buckets, strict=True)}


def base_projection(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None = None,
    *,
    rolls: Sequence[float] = DEFAULT_ROLLS,
    extra_months: int = 0,
) -> BaseProjection:
    """The deal's projected collections by grade and month (see :func:`projected_history`).

    ``extra_months`` more months of the pool's own projection are kept past
    the deal run's last collection month (purchases stop with the run).
    """
    cohorts = _cohorts(deal, pool)
    sset = as_scenario_set(scenarios)
    res = run_deal(deal, cohorts, sset)
    cal = deal_calendar(deal)
    ends = np.array(
        [month_index(d) - cal.start for d in res.collection_end.astype("datetime64[D]")],
        dtype=np.int64,
    )
    grades = tuple(cohorts.grades)
    S, G = len(sset), len(grades)
    M = int(ends[-1]) + extra_months
    L = M + _LOOKAHEAD
    unit_opts = deal.projection_options(per_unit=True)
    cf = project(cohorts, deal.assumptions, sset, by="grade", **unit_opts)
    fields = ("begin_balance", *FLOW_FIELDS, "end_balance", "dpd_1_30", "dpd_31_60", "dpd_61_90")
    data = {f: np.zeros((S, G, L)) for f in (*fields, "purchases")}

    def add(arrays: PoolCashflows, start: int, scale: F64 | None) -> None:
        n = min(arrays.n_periods, L - start)
        if n <= 0:
            return
        gi = [grades.index(g) for g in arrays.groups]
        for f in fields:
            a = arrays.array(f)[:, :, :n]
            if scale is not None:
                a = a * scale[:, None, None]
            data[f][:, gi, start : start + n] += a

    add(cf, 0, None)
    bought = res.pool["purchases"]  # (S, T)
    if deal.revolving is not None and bought.any():
        tpl = template_cohorts(deal, grades)
        calendar_curves = _by_period_curves(deal, grades)
        tcf = (
            None
            if calendar_curves or unit_opts["conventions"].annual_to_periodic != "monthly"
            else project(tpl, deal.assumptions, sset, by="grade", **unit_opts)
        )
        for p in np.flatnonzero(bought.any(axis=0)):
            start = int(ends[p])
            if start >= L:
                continue
            cfp = tcf or project(
                tpl, deal.assumptions, sset, by="grade", period_offset=start, **unit_opts
            )
            add(cfp, start, bought[:, p])
            gi = [grades.index(g) for g in cfp.groups]
            data["purchases"][:, gi, start] += (
                bought[:, p, None] * cfp.array("begin_balance")[:, :, 0]
            )
    data["begin_balance"] = data["begin_balance"] - data["purchases"]  # opening balance
    roll = _roll_grades(deal, grades)
    r = np.tile(np.asarray(rolls, dtype=np.float64)[:, None], (1, L))
    implied = implied_delinquency(data["default"], data["end_balance"][..., :L], r)
    out: dict[str, F64] = {}
    for f in ("begin_balance", *FLOW_FIELDS, "end_balance", "purchases"):
        out[f] = data[f][..., :M]
    for c, proj in zip(
        DELINQUENCY_COLUMNS, ("dpd_1_30", "dpd_31_60", "dpd_61_90", None), strict=True
    ):
        pipeline = data[proj][..., :M] if proj is not None else np.zeros((S, G, M))
        out[c] = np.where(roll[None, :, None], pipeline, implied[c][..., :M])
    sale = res.pool["sale"][0]
    call = np.flatnonzero(sale > 0)
    call_month = int(ends[call[0]]) if call.size else None
    months = np.array([cal.month_end(k) for k in range(1, M + 1)], dtype="datetime64[D]")
    return BaseProjection(grades, months, out, res, ends, call_month)


def _frame(
    grades: Sequence[str],
    months: NDArray[np.datetime64],
    data: Mapping[str, F64],
    counts: F64 | None = None,
) -> pd.DataFrame:
    """Servicer-format table from arrays ``(grade, month)``."""
    G, M = len(grades), int(months.shape[0])
    cols: dict[str, object] = {
        "period_end": pd.to_datetime(np.tile(months, G)),
        "grade": np.repeat(np.asarray(grades, dtype=object), M),
    }
    order = (
        "begin_balance",
        "scheduled_principal",
        "prepayment",
        "default",
        "interest",
        "fee",
        "recovery",
        "end_balance",
        "purchases",
        "loss",
        "advanced_principal",
        "advanced_interest",
        *DELINQUENCY_COLUMNS,
    )
    for f in order:
        cols[f] = np.asarray(data[f][:, :M], dtype=np.float64).reshape(-1)
    if counts is not None:
        cols[COUNT_COLUMN] = np.asarray(counts[:, :M]).reshape(-1).astype(np.int64)
    frame = pd.DataFrame(cols)
    return frame.sort_values(["period_end", "grade"], kind="stable").reset_index(drop=True)


def _months_for(deal: Deal, base: BaseProjection, months: int | None) -> int:
    ends = base.ends
    if months is None:
        k = min(len(ends), 12)
        return int(ends[k - 1])
    if months not in set(ends.tolist()):
        cal = deal_calendar(deal)
        cal.periods_for(months, what="the history")  # raises naming the nearest period ends
    return int(months)


def projected_history(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    scenario: Scenario | None = None,
    *,
    months: int | None = None,
    rolls: Sequence[float] = DEFAULT_ROLLS,
) -> pd.DataFrame:
    """The base case (or one scenario) as a servicer report: one row per month and grade.

    Parameters
    ----------
    deal : Deal
        The deal (its assumptions, purchase template and waterfall).
    pool : Pool or Cohorts, optional
        The cut-off pool (default: the deal's tape).
    scenario : Scenario, optional
        A stress of the base case.
    months : int, optional
        Collection months to keep (a whole number of payment periods);
        default every month the deal run collects, up to a clean-up call.
    rolls : sequence of 4 floats
        Roll-forward rates of the implied delinquency (module notes).

    Returns
    -------
    pandas.DataFrame
        The servicer schema (:mod:`abs_engine.surveillance.servicer`), ``loss``
        included; no ``receivables`` (a projection has no counts).
    """
    base = base_projection(deal, pool, scenario, rolls=rolls)
    n = (base.call_month or base.n_months) if months is None else _months_for(deal, base, months)
    data = {f: v[0] for f, v in base.data.items()}
    return _frame(base.grades, base.months[:n], {f: v[:, :n] for f, v in data.items()})


# --- the synthetic history --------------------------------------------------------------------


def _ratio(num: F64, den: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 0.0))


def synthetic_servicer_history(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    *,
    months: int | None = None,
    seed: int = 0,
    noise: float = 0.03,
    deterioration: Deterioration | None = None,
    rolls: Sequence[float] = DEFAULT_ROLLS,
) -> pd.DataFrame:
    """A seeded, realistic servicer history around the deal's base case (module notes).

    Parameters
    ----------
    deal : Deal
        A deal surveilled from its closing (no ``state``).
    pool : Pool or Cohorts, optional
        The cut-off pool (default: the deal's tape).
    months : int, optional
        Collection months (a whole number of payment periods); default the
        first twelve payment periods (fewer if the deal is shorter).
    seed : int
        Seed of the noise (``numpy.random.default_rng``).
    noise : float
        Standard deviation ``sigma`` of the log-normal noise on each month's
        default, prepayment, interest and recovery rates (0: none).
    deterioration : Deterioration, optional
        Worsening performance from a given month.
    rolls : sequence of 4 floats
        Base roll-forward rates of the implied delinquency.

    Returns
    -------
    pandas.DataFrame
        The servicer schema, with ``loss`` and ``receivables`` (counts at the
        cut-off average balance of each grade).
    """
    if deal.state is not None:
        raise SpecError(
            "the generator starts from the closing: give a deal without [state]", "state"
        )
    if not (math.isfinite(noise) and noise >= 0):
        raise SpecError(f"noise is a standard deviation >= 0; got {noise!r}", "noise")
    if len(rolls) != 4 or not all(0 < float(r) <= 1 for r in rolls):
        raise SpecError(f"rolls are four roll-forward rates in (0, 1]; got {rolls!r}", "rolls")
    cohorts = _cohorts(deal, pool)
    grades = tuple(cohorts.grades)
    if any(deal.assumptions.for_grade(g).advancing for g in grades):
        raise SpecError(
            "the generator does not model servicer advancing; use projected_history", "advancing"
        )
    base = base_projection(deal, cohorts, rolls=rolls, extra_months=_LOOKAHEAD)
    n_out = _months_for(deal, base, months)
    L = n_out + _LOOKAHEAD
    G = len(grades)
    b = {f: np.zeros((G, L)) for f in base.data}
    for f, v in base.data.items():
        n = min(v.shape[-1], L)
        b[f][:, :n] = v[0, :, :n]
    begin_b = b["begin_balance"] + b["purchases"]
    d = _ratio(b["default"], begin_b)
    after_d = begin_b - b["default"]
    f_s = _ratio(b["scheduled_principal"], after_d)
    s = _ratio(b["prepayment"], after_d - b["scheduled_principal"])
    iy = _ratio(b["interest"], after_d)
    fy = _ratio(b["fee"], after_d)

    det = deterioration or Deterioration(start=L + 1, default_mult=1.0)
    md, mp, ms = (det.path(x, L) for x in (det.default_mult, det.prepay_mult, det.severity_mult))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((5, G, L))
    eps = np.exp(noise * z - 0.5 * noise * noise)
    eps_d, eps_p, eps_i, eps_r, eps_roll = eps

    sev = np.array([deal.assumptions.for_grade(g).severity for g in grades])
    lag = np.array([deal.assumptions.for_grade(g).recovery_lag for g in grades], dtype=np.int64)
    cal = deal_calendar(deal)
    rv = deal.revolving
    rv_periods = rv.periods if rv is not None else 0
    shares = np.zeros(G)
    if rv is not None:
        tpl = template_cohorts(deal, grades)
        np.add.at(shares, tpl.grade.astype(np.int64), tpl.balance)
    period_end_month = {int(e): p for p, e in enumerate(cal.ends)}

    out = {f: np.zeros((G, L)) for f in (*MONTH_FIELDS, "loss")}
    opening = cohorts_by_grade(cohorts)
    B0 = float(opening.sum())
    for m in range(L):
        buy = out["purchases"][:, m]
        begin = opening + buy
        D = np.minimum(d[:, m] * md[m] * eps_d[:, m], 1.0) * begin
        SP = f_s[:, m] * (begin - D)
        PP = np.minimum(s[:, m] * mp[m] * eps_p[:, m], 1.0) * (begin - D - SP)
        end = np.maximum(begin - D - SP - PP, 0.0)
        out["begin_balance"][:, m] = opening
        out["default"][:, m] = D
        out["scheduled_principal"][:, m] = SP
        out["prepayment"][:, m] = PP
        out["interest"][:, m] = iy[:, m] * eps_i[:, m] * (begin - D)
        out["fee"][:, m] = fy[:, m] * (begin - D)
        out["end_balance"][:, m] = end
        src = m - lag
        has = src >= 0
        worked = np.where(has, out["default"][np.arange(G), np.maximum(src, 0)], 0.0)
        sev_m = np.minimum(sev * ms[np.maximum(src, 0)], 1.0)
        rec = np.minimum((1.0 - sev_m) * eps_r[:, m] * worked, worked)
        out["recovery"][:, m] = rec
        out["loss"][:, m] = worked - rec
        opening = end
        # Receivables bought on the payment date that collects this month join next month.
        p = period_end_month.get(m + 1)
        if p is not None and p < rv_periods and m + 1 < L:
            q = _purchase(deal, out, cal.ends[: p + 1], B0)
            out["purchases"][:, m + 1] = q * shares
    roll_path = np.asarray(rolls, dtype=np.float64)[:, None] * md[None, :] ** 0.25
    roll_path = np.minimum(roll_path * eps_roll.mean(axis=0)[None, :] ** 0.25, 0.99)
    implied = implied_delinquency(out["default"], out["end_balance"], roll_path)
    roll = _roll_grades(deal, grades)
    for c in DELINQUENCY_COLUMNS:
        scale = _ratio(out["end_balance"], b["end_balance"])
        out[c] = np.where(roll[:, None], b[c] * scale, implied[c])
    avg = _average_balance(cohorts)
    counts = np.round(_ratio(out["end_balance"], avg[:, None]))
    months_arr = np.array([cal.month_end(k) for k in range(1, n_out + 1)], dtype="datetime64[D]")
    return _frame(grades, months_arr, {f: v[:, :n_out] for f, v in out.items()}, counts)


def cohorts_by_grade(cohorts: Cohorts) -> F64:
    """Cut-off balance of each grade of ``cohorts`` (indexed like ``cohorts.grades``)."""
    out = np.zeros(len(cohorts.grades))
    np.add.at(out, cohorts.grade.astype(np.int64), cohorts.balance)
    return out


def _average_balance(cohorts: Cohorts) -> F64:
    bal = cohorts_by_grade(cohorts)
    cnt = np.zeros(len(cohorts.grades))
    np.add.at(cnt, cohorts.grade.astype(np.int64), cohorts.count.astype(np.float64))
    overall = bal.sum() / max(cnt.sum(), 1.0)
    return np.where(cnt > 0, bal / np.where(cnt > 0, cnt, 1.0), overall)


def _purchase(deal: Deal, out: Mapping[str, F64], ends: I64, pool_balance: float) -> float:
    """What the waterfall buys on the last of the payment dates collecting ``ends``."""
    monthly = {
        f: out[f].sum(axis=0) for f in (*MONTH_FIELDS, "loss") if f not in DELINQUENCY_COLUMNS
    }
    coll = period_collections(monthly, ends)
    res = run_on_collections(deal, coll, pool_balance=pool_balance)
    return float(res.pool["purchases"][0, -1])
