"""The waterfall engine: pool collections through the priority of payments.

One Python loop runs over payment periods; inside it every step of the
waterfall acts on arrays over all scenarios at once.  What happens on each
payment date, in order, is the rule book ``docs/waterfall.md``; in short:

1. collections of the period's collection months arrive (the cut-off pool's
   projection plus receivables bought during the revolving period — a
   convolution: a purchase of ``x`` at period ``p`` adds ``x`` times the
   template's unit profile to periods ``p+1, p+2, ...``); defaults debit the
   principal deficiency ledger (PDL), principal recoveries credit it;
2. the clean-up call is exercised where the pool has fallen to its threshold
   and the sale redeems the rated notes;
3. on the last payment date (the scenario's end, or the call) the whole reserve
   joins the revenue; otherwise the reserve releases its excess over target;
4. fees and note interest accrue by the day count between payment dates;
5. the interest waterfall spends revenue, the principal waterfall spends
   principal funds (or, after an event of default, the post-default waterfall
   spends both and the reserve); with ``loss_allocation = "writedown"``
   write-downs are reinstated, most senior first, before any principal or
   residual payment;
6. notes beyond the performing pool are written down, most junior first
   (``writedown``); where the scenario ends what is left unpaid is the loss;
7. triggers are tested; a breach acts from the next period.

A scenario ends on the first payment date after which no cash can arrive (the
horizon, a call that sells everything, a pool repaid and recovered in full);
after that nothing falls due in it and its state is carried, and the loop stops
once every scenario has ended.

Every movement of cash is a ledger entry (step, from, to) with an amount per
scenario and period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abs_engine.calendars import roll
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.daycount import payment_dates, year_fraction
from abs_engine.deal.results import (
    ACCOUNT_FIELDS,
    FEE_FIELDS,
    POOL_FIELDS,
    TRANCHE_FIELDS,
    Ledger,
    RunResult,
)
from abs_engine.deal.spec import CleanUpCall, Deal, Step, Trigger
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.pool.schema import PAYMENT_TYPES
from abs_engine.projection.engine import as_scenario_set, project
from abs_engine.projection.results import FLOW_FIELDS, PoolCashflows

__all__ = ["COLLECTION_FIELDS", "PENDING_FIELDS", "run", "run_on_collections", "template_cohorts"]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
B8 = NDArray[np.bool_]

_MONTH_FIELDS = ("begin_balance", *FLOW_FIELDS, "end_balance")
_FIELD_INDEX = {f: i for i, f in enumerate(_MONTH_FIELDS)}
#: Flows of receivables already defaulted: they go on after a clean-up call that
#: leaves the defaulted receivables with the trust.
_PIPELINE_FIELDS = frozenset({"recovery", "loss"})
#: The collections that are cash (rule book, "End of a scenario"): no default, loss or balance.
_CASH_ROWS = [
    _FIELD_INDEX[f]
    for f in _MONTH_FIELDS
    if f not in ("begin_balance", "end_balance", "default", "loss")
]
_EFFECTS = ("end_revolving", "sequential", "divert_excess_spread", "post_default")
assert POOL_FIELDS[: len(_MONTH_FIELDS)] == _MONTH_FIELDS  # the pool's collections, then the rest


def _month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _month_end(index: int) -> dt.date:
    """Last day of the calendar month ``index`` (``year * 12 + month - 1``)."""
    y, m = divmod(index + 1, 12)
    return dt.date(y, m + 1, 1) - dt.timedelta(days=1)


# --- calendar -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Schedule:
    """Payment dates of the run and the pool months each period collects."""

    dates: NDArray[np.datetime64]
    accrual_start: NDArray[np.datetime64]
    year_fractions: F64  # note interest accrual (T,)
    fee_year_fractions: F64  # (F, T): the first period may accrue from the cut-off
    months_end: NDArray[np.int64]  # cumulative pool months collected by the end of each period
    collection_end: tuple[dt.date, ...]  # last day of each period's collection months
    offset: int  # payment periods already past (mid-life)


def _schedule(deal: Deal) -> _Schedule:
    d = deal.dates
    months = _month_index(d.legal_final) - _month_index(d.first_payment)
    count = months // d.frequency + 1
    all_dates = payment_dates(d.first_payment, count, months=d.frequency, day=d.payment_day)
    all_dates = all_dates[all_dates <= np.datetime64(d.legal_final)]
    cv = deal.conventions
    if cv.business_days != "none":
        # Cash moves to business days; which pool months a date collects does not.
        paid_on = [roll(x.astype(dt.date), cv.business_days, cv.roll) for x in all_dates]
        pay_dates = np.array(paid_on, dtype="datetime64[D]")
    else:
        pay_dates = all_dates
    start = deal.state.as_of if deal.state is not None else d.cutoff
    # Period p collects the pool months up to the end of the month before its payment month.
    start_m = _month_index(start)
    collect_m = np.array([_month_index(x.astype(dt.date)) - 1 for x in all_dates], dtype=np.int64)
    if deal.state is None and collect_m[0] <= start_m:
        month1 = _month_end(start_m + 1).replace(day=1)
        raise SpecError(
            f"the first payment date {d.first_payment} collects no pool month: pool month 1 "
            f"is the calendar month after the cut-off {d.cutoff} (from {month1}), and a "
            f"payment date collects the months before its own. Every flow would arrive a "
            f"period late and the first interest would go unpaid. Use the last day of the "
            f"previous month as the cut-off ({_month_end(start_m - 1)}), or a later first "
            "payment date",
            "dates.cutoff",
        )
    # Mid-life: payment dates whose collections end on or before the tape's date are past.
    keep = collect_m > start_m if deal.state is not None else np.ones(all_dates.size, dtype=bool)
    offset = int((~keep).sum())
    dates = pay_dates[keep]
    if dates.size == 0:
        raise SpecError(
            f"no payment date after {start} before the legal final {d.legal_final}", "dates"
        )
    prev = np.concatenate([[np.datetime64(d.closing, "D")], pay_dates[:-1]])[keep]
    yf = np.asarray(year_fraction(prev, dates, d.day_count), dtype=np.float64)
    fee_dc = cv.fee_day_count or d.day_count
    fee_yf = np.tile(
        np.asarray(year_fraction(prev, dates, fee_dc), dtype=np.float64), (len(deal.fees), 1)
    )
    if deal.state is None:
        from_cutoff = float(year_fraction(d.cutoff, dates[0], fee_dc))
        for j, fee in enumerate(deal.fees):
            if fee.accrue_from == "cutoff":
                fee_yf[j, 0] = from_cutoff
    months_end = np.maximum(collect_m[keep] - start_m, 0)
    collection_end = tuple(_month_end(int(m)) for m in collect_m[keep])
    return _Schedule(dates, prev, yf, fee_yf, months_end, collection_end, offset)


@dataclass(frozen=True)
class _Compiled:
    """What a run needs that depends on the deal alone, resolved once per :class:`Deal`.

    The payment calendar, the waterfalls as plans of :class:`_Op`, coupons by payment
    date, the classes' ranks and flags, the fees' factors by period.  Arrays are
    read-only: every run of the deal shares them.
    """

    sched: _Schedule
    names: tuple[str, ...]
    idx: dict[str, int]
    fee_idx: dict[str, int]
    ranks: NDArray[np.int64]
    groups: list[NDArray[np.int64]]  # classes by rank, senior first
    rated: B8
    rated_cols: slice | NDArray[np.int64]  # the rated classes (those before the equity)
    equity: int
    accrues: F64
    plans: dict[str, tuple[_Op, ...]]
    coupons: F64  # (payment date, class): the rate in force from each accrual start
    effect_of: NDArray[Any]  # (trigger, effect), boolean
    fee_plan: tuple[tuple[int, str, float, F64], ...]
    collection_end: NDArray[np.datetime64]  # sched.collection_end as days


def _compiled(deal: Deal) -> _Compiled:
    """The deal's :class:`_Compiled`, built on first use and kept on the (frozen) deal.

    A per-instance memo, not a global cache: a stress (``dataclasses.replace``) is a
    new deal and compiles afresh.
    """
    got: _Compiled | None = deal.__dict__.get("_engine_compiled")
    if got is None:
        got = _compile(deal)
        object.__setattr__(deal, "_engine_compiled", got)
    return got


def _compile(deal: Deal) -> _Compiled:
    sched = _schedule(deal)
    names = tuple(t.name for t in deal.tranches)
    idx = {n: i for i, n in enumerate(names)}
    fee_idx = {f.name: i for i, f in enumerate(deal.fees)}
    ranks = np.asarray(deal.ranks)
    wf = deal.waterfall
    assert wf is not None
    covers = _covered(deal)
    plans = {
        part: _plan(getattr(wf, part), account, idx, fee_idx, ranks, covers)
        for part, account in (
            ("interest", "revenue"),
            ("principal", "principal_funds"),
            ("post_default", "revenue"),
        )
    }
    starts = sched.accrual_start.tolist()  # datetime.date
    coupons = np.empty((len(starts), len(names)))
    for i, t in enumerate(deal.tranches):
        c = t.coupon
        coupons[:, i] = [c.rate_from(d) for d in starts] if c.steps else c.rate
    # effect_of[k, e]: trigger k's breach puts effect e in force (one boolean product).
    effect_of = np.array(
        [[e in t.effects for e in _EFFECTS] for t in deal.triggers], dtype=bool
    ).reshape(len(deal.triggers), len(_EFFECTS))
    # Per fee: (index, kind, rate, per-period factor): the fixed amount by period, or the
    # year fraction by period.
    fee_plan: tuple[tuple[int, str, float, F64], ...] = tuple(
        (
            j,
            fee.kind,
            fee.rate,
            fee.amount * sched.fee_year_fractions[j]
            if fee.kind == "fixed"
            else sched.fee_year_fractions[j],
        )
        for j, fee in enumerate(deal.fees)
    )
    rated = np.array([t.kind != "equity" for t in deal.tranches])
    n_rated = int(rated.sum())
    out = _Compiled(
        sched=sched,
        names=names,
        idx=idx,
        fee_idx=fee_idx,
        ranks=ranks,
        groups=[np.flatnonzero(ranks == r) for r in np.unique(ranks)],
        rated=rated,
        rated_cols=slice(0, n_rated) if rated[:n_rated].all() else np.flatnonzero(rated),
        equity=next(i for i, t in enumerate(deal.tranches) if t.kind == "equity"),
        accrues=np.array([deal.accrues_deferred_interest(t) for t in deal.tranches], float),
        plans=plans,
        coupons=coupons,
        effect_of=effect_of,
        fee_plan=fee_plan,
        collection_end=np.array(sched.collection_end, dtype="datetime64[D]"),
    )
    arrays = [ranks, out.rated, out.accrues, coupons, effect_of, out.collection_end, *out.groups]
    arrays += [x[3] for x in fee_plan]
    arrays += [getattr(sched, f) for f in ("dates", "accrual_start", "year_fractions")]
    arrays += [sched.fee_year_fractions, sched.months_end]
    for a in arrays:
        a.setflags(write=False)
    return out


def _by_period(monthly: F64, months_end: NDArray[np.int64], T: int) -> F64:
    """Sum monthly flows ``(..., M)`` into payment periods ``(..., T)``."""
    *lead, M = monthly.shape
    out = np.zeros((*lead, T))
    cum = np.zeros((*lead, M + 1))
    np.cumsum(monthly, axis=-1, out=cum[..., 1:])
    ends = np.minimum(months_end[:T], M)
    starts = np.concatenate([[0], ends[:-1]])
    out[..., : len(ends)] = cum[..., ends] - cum[..., starts]
    return out


def _balance_by_period(
    monthly_end: F64, initial: F64, months_end: NDArray[np.int64], T: int
) -> tuple[F64, F64]:
    """Begin and end balances per period from monthly end balances."""
    M = monthly_end.shape[1]
    path = np.concatenate([initial[:, None], monthly_end], axis=1)  # balance after m months
    ends = np.minimum(months_end[:T], M)
    starts = np.concatenate([[0], ends[:-1]])
    return path[:, starts], path[:, ends]


# --- collections --------------------------------------------------------------------------------


def template_cohorts(deal: Deal, grades: tuple[str, ...]) -> Cohorts:
    """One unit of what the revolving period buys: the template lines as cohorts (shares sum to 1).

    ``grades`` are the pool's grades (the cohorts' grade axis).
    """
    rv = deal.revolving
    if rv is None:
        raise SpecError("the deal has no revolving period, so no purchase template", "revolving")
    total = sum(line.share for line in rv.template)
    g, pt, rem, rate, fee, bal = [], [], [], [], [], []
    for i, line in enumerate(rv.template):
        if line.grade not in grades:
            raise SpecError(
                f"grade {line.grade!r} is not a grade of the pool ({', '.join(grades)})",
                f"revolving.template[{i}].grade",
            )
        share = line.share / total
        g.append(grades.index(line.grade))
        pt.append(PAYMENT_TYPES.index(line.payment_type))
        rem.append(line.term)
        rate.append(line.rate)
        fee.append(line.fee_rate)
        bal.append(share)
    zeros = np.zeros(len(bal), dtype=np.int64)
    return Cohorts.from_loans(grades, g, pt, rem, zeros, zeros, bal, rate, fee, bal)


def _calendar_curves(assumptions: Assumptions | GradedAssumptions, grades: Sequence[str]) -> bool:
    """Whether any grade's default or prepayment curve is indexed by calendar period."""
    for g in grades:
        a = assumptions.for_grade(g)
        if a.default.by == "period" or a.prepay.by == "period":
            return True
    return False


def _unit_profile(cf: PoolCashflows, freq: int) -> F64:
    """Per unit bought, ``(field, S, n)`` in :data:`COLLECTION_FIELDS` order.

    Period ``p + j`` collects the template's months ``(j-1)f+1 .. jf``.
    """
    S = cf["end_balance"].shape[0]
    n_j = -(-cf.n_periods // freq)
    ends = np.arange(1, n_j + 1) * freq
    out = {f: _by_period(cf[f], ends, n_j) for f in FLOW_FIELDS}
    out["begin_balance"], out["end_balance"] = _balance_by_period(
        cf["end_balance"], np.ones(S), ends, n_j
    )
    return np.stack([out[f] for f in _MONTH_FIELDS])


@dataclass
class _Liquidations:
    """Recoveries and losses by month and grade, for what a clean-up call leaves the trust.

    After the call the trust keeps only the liquidations of receivables that had
    defaulted by then (the buyer owns the later defaults).

    ``monthly[f]`` is ``(S, K, M)``: one lag class per grade (plus a last class for the
    flows of receivables defaulted before a seasoned deal's ``as_of``, always kept);
    ``lag`` is ``(S, K)`` months from default to liquidation.  A liquidation in month
    ``m`` comes from a default in month ``m - lag``.
    """

    monthly: dict[str, F64]
    lag: NDArray[np.int64]
    unit: list[dict[str, F64]]  # per unit bought: (S, K, months) by purchase period
    grade_index: dict[str, int]

    def after_call(
        self, rows: NDArray[np.int64], called_month: int, months_end: NDArray[np.int64]
    ) -> dict[str, F64]:
        """Per period, the recoveries and losses of receivables defaulted by ``called_month``.

        For the scenarios ``rows`` (those called in that month): ``(len(rows), T)``.
        """
        M = self.monthly["recovery"].shape[2]
        m = np.arange(1, M + 1)
        keep = m[None, None, :] <= called_month + self.lag[rows, :, None]
        T = months_end.shape[0]
        return {
            f: _by_period((a[rows] * keep).sum(axis=1), months_end, T)
            for f, a in self.monthly.items()
        }


@dataclass
class _Collections:
    """Pool collections by payment period, and what a unit bought in period ``p`` adds later.

    ``flows`` stacks the fields (:data:`COLLECTION_FIELDS` order) so a period's
    collections are one slice.  ``units`` is empty when the collections are actual
    (surveillance): later periods' actual collections already include what purchases pay.
    """

    flows: F64  # (field, S, T); purchases are added as the run goes
    units: list[
        F64
    ]  # (field, S, n): one unit profile, or one per purchase period (calendar curves)
    T: int
    pool_balance: float
    liquidations: _Liquidations | None = None  # projected runs with a clean-up call

    def flow(self, f: str) -> F64:
        """Field ``f`` by scenario and period, ``(S, T)`` (a view: purchases add to it)."""
        out: F64 = self.flows[_FIELD_INDEX[f]]
        return out

    def unit(self, p: int) -> F64 | None:
        return self.units[min(p, len(self.units) - 1)] if self.units else None


#: The pool collections of a payment period that :func:`run_on_collections` takes.
COLLECTION_FIELDS = _MONTH_FIELDS


def _collections(
    deal: Deal,
    pool: Pool | Cohorts,
    sset: ScenarioSet,
    sched: _Schedule,
    pending: Mapping[str, F64] | None = None,
) -> _Collections:
    S = len(sset)
    freq = deal.dates.frequency
    T_max = len(sched.dates)
    grades = tuple(pool.grades)
    call = deal.clean_up_call
    by_grade = call is not None and call.defaulted_price is None
    opts = deal.projection_options()  # [conventions]: pool conventions and engine
    cf_grade = project(pool, deal.assumptions, sset, by="grade", **opts) if by_grade else None
    # Indexing a field sums the groups: the grades' flows serve as the pool's.
    cf = cf_grade if cf_grade is not None else project(pool, deal.assumptions, sset, **opts)
    rv = deal.revolving
    rv_left = max(0, rv.periods - sched.offset) if rv is not None else 0
    units: list[F64] = []
    unit_grades: list[PoolCashflows] = []
    if rv_left:
        template = template_cohorts(deal, grades)
        # A purchase in period p pays from the calendar month after the period's collections:
        # period-indexed curves must be read from there (age-indexed ones restart at age 1),
        # and so must rates by the actual days of each month.
        unit_opts = deal.projection_options(per_unit=True)
        offsets = (
            [int(sched.months_end[p]) for p in range(min(rv_left, T_max))]
            if _calendar_curves(deal.assumptions, grades)
            or unit_opts["conventions"].annual_to_periodic != "monthly"
            else [0]
        )
        for o in offsets:
            by: Literal["grade", "pool"] = "grade" if by_grade else "pool"
            profile = project(template, deal.assumptions, sset, by=by, period_offset=o, **unit_opts)
            if by_grade:
                unit_grades.append(profile)
                profile = profile.pool_total()
            units.append(_unit_profile(profile, freq))
    # Periods needed: until the last pool month is collected, or the last purchase pays out
    # (a purchase in period p, 0-based, collects in periods p+1 .. p+n).
    T = min(T_max, int(np.searchsorted(sched.months_end, cf.n_periods)) + 1)
    if units:
        T = int(min(T_max, max(T, rv_left + units[-1].shape[2])))
    if pending:
        months = max(a.shape[1] for a in pending.values())
        T = int(min(T_max, max(T, int(np.searchsorted(sched.months_end, months)) + 1)))
    T = max(T, 1)
    B0 = float(pool.balance) if isinstance(pool, Pool) else pool.total_balance
    flows = np.empty((len(_MONTH_FIELDS), S, T))  # begin, the flows, end
    # Fields in batches (one call for small runs, bounded temporaries for many scenarios),
    # summing the groups (grades) as ``cf[f]`` does.
    step = max(1, (16 * 2**20) // max(1, cf.data["end_balance"].nbytes))
    for lo in range(0, len(FLOW_FIELDS), step):
        batch = FLOW_FIELDS[lo : lo + step]
        by_group = np.stack([cf.array(f) for f in batch])  # (field, S, group, M)
        flows[1 + lo : 1 + lo + len(batch)] = _by_period(by_group.sum(axis=2), sched.months_end, T)
    for f, extra in (pending or {}).items():
        flows[_FIELD_INDEX[f]] += _by_period(
            np.broadcast_to(extra, (S, extra.shape[1])), sched.months_end, T
        )
    flows[0], flows[-1] = _balance_by_period(cf["end_balance"], np.full(S, B0), sched.months_end, T)
    liquidations = None
    if cf_grade is not None:
        liquidations = _liquidations(deal, sset, grades, cf_grade, unit_grades, pending, sched, T)
    return _Collections(flows, units, T, B0, liquidations)


def _liquidations(
    deal: Deal,
    sset: ScenarioSet,
    grades: tuple[str, ...],
    cf: PoolCashflows,
    unit_grades: list[PoolCashflows],
    pending: Mapping[str, F64] | None,
    sched: _Schedule,
    T: int,
) -> _Liquidations:
    """Recoveries and losses by lag class and month (see :class:`_Liquidations`)."""
    S, K = len(sset), len(grades) + 1
    M = int(sched.months_end[T - 1])
    shift = np.asarray(sset.recovery_lag_shift, dtype=np.int64)
    lag = np.full((S, K), 10**6, dtype=np.int64)  # the pending class: always kept
    index = {g: k for k, g in enumerate(grades)}
    for g in cf.groups:
        lag[:, index[g]] = np.maximum(deal.assumptions.for_grade(g).recovery_lag + shift, 0)

    def by_class(flows: PoolCashflows, f: str, months: int) -> F64:
        out = np.zeros((S, K, months))
        a = flows.array(f)
        n = min(months, a.shape[2])
        for j, g in enumerate(flows.groups):
            out[:, index[g], :n] = a[:, j, :n]
        return out

    monthly = {f: by_class(cf, f, M) for f in ("recovery", "loss")}
    for f, a in (pending or {}).items():
        n = min(M, a.shape[1])
        monthly[f][:, K - 1, :n] += np.broadcast_to(a, (S, a.shape[1]))[:, :n]
    unit = [{f: by_class(u, f, u.n_periods) for f in ("recovery", "loss")} for u in unit_grades]
    return _Liquidations(monthly, lag, unit, index)


# --- the ledger ---------------------------------------------------------------------------------


class _Book:
    """Ledger under construction: entries keyed by (step, from, to).

    Entries of the current period are kept (by reference: an amount booked must not
    change afterwards) and written as one block when the period closes.
    """

    def __init__(self, S: int, T: int) -> None:
        self.S, self.T = S, T
        self.index: dict[tuple[str, str, str], int] = {}
        self._ids: list[int] = []
        self._amounts: list[F64] = []
        self._closed: list[tuple[int, list[int], F64]] = []  # (period, entries, amounts (k, S))

    def add(self, step: str, src: str, dst: str, amount: F64) -> None:
        """Book ``amount`` (S,) from ``src`` to ``dst`` at ``step`` in the current period."""
        key = (step, src, dst)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.index)
        self._ids.append(i)
        self._amounts.append(amount)

    def register(self, step: str, src: str, dst: str) -> None:
        """An entry that stays at zero so far (it is in the ledger whether or not cash moves).

        The same as booking zeros: :meth:`freeze` fills what was not booked with zeros.
        """
        self.index.setdefault((step, src, dst), len(self.index))

    def close(self, p: int) -> None:
        """The current period's entries are those of period ``p``."""
        if self._ids:
            self._closed.append((p, self._ids, np.array(self._amounts)))
            self._ids, self._amounts = [], []

    def freeze(self, T: int) -> Ledger:
        """The ledger of the first ``T`` periods.

        Its amounts are an (entry, S, T) view of a period-major array, so each period's
        block is written contiguously.
        """
        E = len(self.index)
        by_period = np.zeros((T, E, self.S))
        closed = [c for c in self._closed if c[0] < T]
        if closed:
            if all(len(set(ids)) == len(ids) for _, ids, _ in closed):  # one write of all
                period = [p for p, ids, _ in closed for _ in ids]
                entry = [i for _, ids, _ in closed for i in ids]
                by_period[period, entry] = np.concatenate([b for _, _, b in closed])
            else:  # an entry booked twice in a period: in booking order
                for p, ids, block in closed:
                    for i, row in zip(ids, block, strict=True):
                        by_period[p, i] += row
        return Ledger(tuple(self.index), by_period.transpose(1, 2, 0))


# --- allocation by rank -------------------------------------------------------------------------


def _allocate(amount: F64, base: F64, groups: Sequence[NDArray[np.int64]]) -> F64:
    """Spread ``amount`` (S,) over classes (S, N) group by group in the order given.

    Each group takes up to its total ``base``; within a group the share is pro
    rata to ``base`` (pari passu).  A group that is fully served takes exactly
    its ``base``.
    """
    if len(groups) == 1 and base.shape[1] == 1:  # one class: it takes what it can
        return np.minimum(amount[:, None], base)
    out = np.zeros(base.shape)
    left = amount
    for g in groups:
        if g.size == 1:
            take = np.minimum(left, base[:, g[0]])
            out[:, g[0]] = take
        else:
            b = base[:, g]
            total = b.sum(axis=1)
            take = np.minimum(left, total)
            full = take >= total
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(total > 0, take / np.where(total > 0, total, 1.0), 0.0)
            out[:, g] = np.where(full[:, None], b, b * share[:, None])
        left = left - take
    return out


_add = np.add.reduce


def _rows(x: F64) -> F64:
    """Row sums of ``x`` (S, k) (the first column itself when it is the only one)."""
    return x[:, 0] if x.shape[1] == 1 else _add(x, 1)


def _later(x: F64) -> F64:
    """What arrives after each period: ``out[s, p] = sum(x[s, p + 1:])`` for ``x`` (S, T)."""
    out = np.zeros_like(x)
    out[:, :-1] = np.cumsum(x[:, :0:-1], axis=1)[:, ::-1]
    return out


# --- run ------------------------------------------------------------------------------------------


#: Flows of receivables defaulted before a seasoned deal's ``as_of`` that :func:`run` takes.
PENDING_FIELDS = ("recovery", "loss")


def _pending(deal: Deal, pending: Mapping[str, ArrayLike] | None, S: int) -> dict[str, F64] | None:
    """Validate ``pending`` flows: known fields, (M,) or (S, M), finite and >= 0, a seasoned deal."""
    if not pending:
        return None
    if deal.state is None:
        raise SpecError(
            "pending recoveries belong to a seasoned deal: give the deal a [state] (as_of)",
            "pending",
        )
    out: dict[str, F64] = {}
    for f, v in pending.items():
        if f not in PENDING_FIELDS:
            raise SpecError(
                f"unknown pending field {f!r}; fields are {', '.join(PENDING_FIELDS)}", "pending"
            )
        a = np.atleast_2d(np.asarray(v, dtype=np.float64))
        if a.ndim != 2 or a.shape[0] not in (1, S) or not np.isfinite(a).all() or (a < 0).any():
            raise SpecError(
                f"expected finite amounts >= 0 by pool month after as_of, shape (M,) or "
                f"({S}, M); got shape {a.shape}",
                f"pending.{f}",
            )
        out[f] = a
    return out


def run(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None = None,
    *,
    pending: Mapping[str, ArrayLike] | None = None,
) -> RunResult:
    """Run the deal's waterfall on its pool for every scenario at once.

    Parameters
    ----------
    deal : Deal
        The validated deal (see :func:`abs_engine.deal.load_deal`).
    pool : Pool or Cohorts, optional
        Receivables at the cut-off (or at ``deal.state.as_of``); ``None``
        loads the deal's own tape.
    scenarios : ScenarioSet, Scenario, list of Scenario, or None
        Stresses on the deal's base-case assumptions; ``None`` is the base case.
    pending : mapping of ``"recovery"``/``"loss"`` to array (M,) or (S, M), optional
        A seasoned deal's flows on receivables that defaulted before
        ``deal.state.as_of``: a current tape holds performing receivables
        only, so their recoveries (and the realised losses that close them)
        are given here, by pool month after ``as_of`` (month 1 is the month
        after it).  They join the projected pool's recoveries and losses.

    Returns
    -------
    RunResult
        Note, fee, account, trigger and pool cash flows per scenario and
        payment period, and the ledger.
    """
    if pool is None:
        if deal.pool.tape is None:
            raise SpecError("the deal names no tape; pass pool= or set pool.tape", "pool.tape")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    sset = as_scenario_set(scenarios)
    extra = _pending(deal, pending, len(sset))
    sched = _compiled(deal).sched
    coll = _collections(deal, pool, sset, sched, extra)
    return _Waterfall(deal, sset, sched, coll, ends=True).run()


def run_on_collections(
    deal: Deal,
    collections: Mapping[str, ArrayLike],
    *,
    pool_balance: float | None = None,
    scenario_names: Sequence[str] | None = None,
) -> RunResult:
    """Apply the deal's priority of payments to given (actual) collections.

    The trustee's calculation: the servicer reports what the pool collected
    in each collection period, and the waterfall distributes it on the
    payment dates, period by period, from the closing (or ``deal.state``).
    Triggers are tested on these actual figures.  The deal does not end
    with the given periods (no crystallisation) unless they reach the legal
    final; :meth:`RunResult.state_after` gives the state to re-project from.

    Parameters
    ----------
    deal : Deal
        The deal (its ``state``, if any, is the position before the first
        given period).
    collections : mapping field -> array (T,) or (S, T)
        One entry per :data:`COLLECTION_FIELDS` field (missing flows are
        zero; ``begin_balance`` and ``end_balance`` are required): the pool's
        performing balance at the start and end of each collection period
        (before that payment date's revolving purchases), scheduled principal,
        prepayments, defaults, interest, fees, recoveries, losses, servicer
        advances.
    pool_balance : float, optional
        Cut-off pool balance the notes were sized on (default: the first
        period's ``begin_balance``).
    scenario_names : sequence of str, optional
        Names of the rows when ``collections`` are (S, T).

    Returns
    -------
    RunResult
    """
    arrays: dict[str, F64] = {}
    for f, v in collections.items():
        if f not in COLLECTION_FIELDS:
            raise SpecError(
                f"unknown collection field {f!r}; fields are {', '.join(COLLECTION_FIELDS)}",
                "collections",
            )
        arrays[f] = np.atleast_2d(np.asarray(v, dtype=np.float64))
    for f in ("begin_balance", "end_balance"):
        if f not in arrays:
            raise SpecError(f"needs {f} (the pool's performing balance)", f"collections.{f}")
    S, T = arrays["begin_balance"].shape
    for f, a in arrays.items():
        if a.shape != (S, T) or not np.isfinite(a).all():
            raise SpecError(
                f"expected {T} finite amounts per row like begin_balance; got shape {a.shape}",
                f"collections.{f}",
            )
    sched = _compiled(deal).sched
    if len(sched.dates) < T:
        raise SpecError(
            f"{T} periods of collections but the deal has {len(sched.dates)} payment dates "
            f"left before its legal final {deal.dates.legal_final}",
            "collections",
        )
    period = np.stack([arrays.get(f, np.zeros((S, T))) for f in COLLECTION_FIELDS])
    if scenario_names is not None:
        names = list(scenario_names)
    else:
        names = ["actual"] if S == 1 else [f"path {i + 1}" for i in range(S)]
    sset = ScenarioSet([Scenario(n) for n in names])
    B0 = float(arrays["begin_balance"][0, 0]) if pool_balance is None else float(pool_balance)
    coll = _Collections(period, [], T, B0)
    return _Waterfall(deal, sset, sched, coll, ends=len(sched.dates) == T).run()


class _Waterfall:
    """The deal's state over all scenarios, advanced one payment period at a time."""

    def __init__(
        self, deal: Deal, sset: ScenarioSet, sched: _Schedule, coll: _Collections, *, ends: bool
    ) -> None:
        # ends: the last period run is the deal's last (losses crystallise, the reserve joins)
        self.deal, self.sset, self.sched, self.coll, self.ends = deal, sset, sched, coll, ends
        S, T = len(sset), coll.T
        self.S, self.T = S, T
        c = _compiled(deal)  # sched is c.sched
        names = self.names = c.names
        N = len(names)
        self.idx, self.fee_idx, self.ranks = c.idx, c.fee_idx, c.ranks
        self.groups = c.groups  # senior first
        self.groups_junior_first = c.groups[::-1]
        self.rated, self.equity, self.accrues = c.rated, c.equity, c.accrues
        self.rated_cols = c.rated_cols
        self.any_accrues = bool(self.accrues.any())
        self.writedown_mode = deal.loss_allocation == "writedown"
        self.book = _Book(S, T)
        rv = deal.revolving
        self.rv_left = max(0, rv.periods - sched.offset) if rv is not None else 0
        self.price = rv.price if rv is not None else 1.0
        # Resolved once per deal: the waterfalls as plans, coupons by period, trigger effects.
        self.plans = c.plans
        self.coupons = c.coupons[:T]
        self.effect_of = c.effect_of
        self.never = np.zeros(S, dtype=bool)
        self.always = np.ones(S, dtype=bool)
        self.zeros = np.zeros(S)
        for a in (self.never, self.always, self.zeros):
            a.setflags(write=False)  # shared by every period: never written
        # Every amount owed and every collection is >= 0 (rates, coupons and state amounts are
        # validated so): a pocket that starts a waterfall empty then pays nothing at any step.
        self.nonneg = bool((coll.flows >= 0).all())
        self.no_effects = dict.fromkeys(_EFFECTS, self.never), dict.fromkeys(_EFFECTS, False)
        self.recoveries_to_interest = deal.recoveries_to == "interest"
        self.time_weighted_fees = deal.conventions.fee_balance == "time_weighted"
        self.periods_per_year = deal.dates.periods_per_year
        self.fee_plan = c.fee_plan
        # Records a trigger reads as the run goes are made per period; else after the loop.
        kinds = {t.kind for t in deal.triggers}
        self.derive_es = "excess_spread" not in kinds
        self.derive_fees_owed = "ic" not in kinds

        B0 = coll.pool_balance
        st = deal.state
        self.B = np.zeros((S, N))  # interest-bearing balances
        self.W = np.zeros((S, N))  # unreimbursed write-downs
        self.U = np.zeros((S, N))  # unpaid interest
        if st is None:
            face = deal.note_amounts(B0)
            self.B[:] = [face[n] for n in names]
            self.reserve = np.full(S, (deal.reserve.initial if deal.reserve else 0.0) * B0)
            self.D = np.zeros(S)
            self.cum_default = np.zeros(S)
            self.purchased = np.zeros(S)
            self.original_pool = B0
            self.trig_state = np.zeros((S, len(deal.triggers)), dtype=bool)
            self.original_face = face
        else:
            missing = [n for n in names if n not in st.balances]
            if missing:
                raise SpecError(f"state.balances lacks {', '.join(missing)}", "state.balances")
            self.B[:] = [st.balances[n] for n in names]
            self.W[:] = [st.writedowns.get(n, 0.0) for n in names]
            self.U[:] = [st.unpaid_interest.get(n, 0.0) for n in names]
            self.reserve = np.full(S, st.reserve)
            self.D = np.full(S, st.pdl)
            self.cum_default = np.full(S, st.cumulative_default)
            self.purchased = np.full(S, st.purchased)
            self.original_pool = st.original_pool_balance or B0
            self.trig_state = np.tile(
                np.array([st.triggers.get(t.name, False) for t in deal.triggers]), (S, 1)
            )
            self.original_face = deal.note_amounts(self.original_pool)
        self._w0 = self.W.copy()  # write-downs at the start, for the run's extent
        self.unpaid_fee = np.zeros((S, len(deal.fees)))
        self.pipeline = np.zeros(S)  # defaulted balance awaiting recovery
        self.es_hist: list[F64] = []
        if st is not None:
            self.unpaid_fee[:] = [st.unpaid_fees.get(f.name, 0.0) for f in deal.fees]
            self.pipeline[:] = st.defaulted_pending
            self.es_hist = [np.full(S, x) for x in st.excess_spread_history]
        self._unpaid_fee0 = self.unpaid_fee.copy()  # fees unpaid before the first period
        self.called = np.zeros(S, dtype=bool)
        self.any_called = self.all_called = False
        # The end of each scenario (rule book, "End of a scenario"): the first payment date
        # after which no cash can arrive.  cash_later[s, p]: every collection after period p.
        self.ended = np.zeros(S, dtype=bool)
        self.any_ended = self.all_ended = False
        self.T_run = T  # periods run: all of them unless every scenario ends earlier
        self.cash_later = _later(coll.flows[_CASH_ROWS].sum(axis=0))
        self.cash_later_called = np.zeros((S, T))  # the same after a call
        self.pipeline_sold = np.zeros(S, dtype=bool)
        self.post_call: dict[str, F64] = {f: np.zeros((S, T)) for f in _PIPELINE_FIELDS}
        self.eps = 1e-9 * self.original_pool  # "zero": a float residue is not a claim
        self.tr = {f: np.zeros((S, N, T)) for f in TRANCHE_FIELDS}
        self.fe = {f: np.zeros((S, len(deal.fees), T)) for f in FEE_FIELDS}
        pool_flows = np.zeros((len(POOL_FIELDS), S, T))
        self.po = {f: pool_flows[i] for i, f in enumerate(POOL_FIELDS)}
        self.po_flows = pool_flows[: len(_MONTH_FIELDS)]  # the collections, stacked
        self.ac = {f: np.zeros((S, T)) for f in ACCOUNT_FIELDS}
        self.trig_out = np.zeros((S, len(deal.triggers), T), dtype=bool)
        if st is None and self.reserve.any():
            self.book.add("reserve_funding", "equity", "reserve", self.reserve)
            self.ac["reserve_funding"][:, 0] = self.reserve

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> RunResult:
        for p in range(self.T):
            self._period(p)
            if self.all_ended:  # every scenario has ended: no later period has anything
                self.T_run = p + 1
                break
        self._derived()
        return self._result()

    def _derived(self) -> None:
        """Records that follow from what the periods recorded, for all periods at once.

        The same element-wise arithmetic as in the period, on (scenario, period) arrays:
        the PDL by class (most junior first, on the claims at the period's end), the
        OC collateral, and, where no trigger needed them as the run went, the excess
        spread and the interest after fees.
        """
        tr, ac, po, fe = self.tr, self.ac, self.po, self.fe
        S, N, T = tr["end_balance"].shape
        if np.count_nonzero(ac["pdl"]):
            claims = tr["end_balance"] + tr["unreimbursed_writedown"]
            flat = claims.transpose(0, 2, 1).reshape(S * T, N)
            pdl = _allocate(ac["pdl"].reshape(S * T), flat, self.groups_junior_first)
            tr["pdl"][:] = pdl.reshape(S, T, N).transpose(0, 2, 1)
        np.add(po["end_balance"], ac["reserve_end"], out=ac["oc_collateral"])
        if self.derive_es:
            # Annualised excess spread over the pool at the start of the period (0 without a pool;
            # a pool below the run's zero is a float residue, not a pool).
            rated_int = tr["interest_due"][:, self.rated_cols]
            rated_sum = rated_int[:, 0] if rated_int.shape[1] == 1 else _add(rated_int, 1)
            pool_begin = po["begin_balance"]
            es = ac["excess_spread"]
            np.divide(
                ac["revenue"] - _add(fe["due"], 1) - rated_sum,
                pool_begin,
                out=es,
                where=pool_begin > self.eps,
            )
            es *= self.periods_per_year
        if self.derive_fees_owed:
            before = np.concatenate([self._unpaid_fee0[:, :, None], fe["unpaid"][:, :, :-1]], 2)
            interest_coll = po["interest"] + po["fee"] + po["advanced_interest"]
            fees_owed = _add(fe["due"] + before, 1)
            np.subtract(interest_coll, fees_owed, out=ac["interest_after_fees"])

    def _effects(self) -> tuple[dict[str, B8], dict[str, bool]]:
        """Effects in force per scenario (a breach of any trigger having it), and anywhere."""
        if not self.deal.triggers:
            return self.no_effects
        in_force = self.trig_state @ self.effect_of  # (S, effect): OR over triggers
        anywhere = in_force.any(axis=0).tolist()
        return dict(zip(_EFFECTS, in_force.T, strict=True)), dict(
            zip(_EFFECTS, anywhere, strict=True)
        )

    def _period(self, p: int) -> None:
        deal, book, ac = self.deal, self.book, self.ac
        ended_before = self.ended.copy() if self.any_ended else None
        eff, eff_any = self._effects()
        # Revolving only in the revolving period, until an early amortisation or a call.
        revolving_now = ~eff["end_revolving"] & ~self.called if p < self.rv_left else self.never

        # ---- 1-2. collections and the PDL ----------------------------------------------------
        flows = self.coll.flows[:, :, p]  # (field, S)
        if self.any_called:
            flows = flows * ~self.called
            # After a call: the liquidations of what had defaulted by then, unless sold.
            kept = self.called & ~self.pipeline_sold
            for f in _PIPELINE_FIELDS:
                i = _FIELD_INDEX[f]
                after = (
                    self.post_call[f][:, p]
                    if self.coll.liquidations is not None
                    else self.coll.flows[i, :, p]
                )
                flows[i] = np.where(kept, after, flows[i])
        if self.any_ended:  # nothing moves in a scenario that has ended (float residue at most)
            flows = flows * ~self.ended
        self.po_flows[:, :, p] = flows
        (
            pool_begin,
            c_sched,
            c_prepay,
            c_default,
            c_interest,
            c_fee,
            c_recovery,
            c_loss,
            c_adv_principal,
            c_adv_interest,
            pool_end,
        ) = flows
        interest_coll = c_interest + c_fee + c_adv_interest
        principal_coll = c_sched + c_prepay + c_adv_principal
        if self.recoveries_to_interest:
            revenue_coll = interest_coll + c_recovery
        else:
            revenue_coll = interest_coll.copy()
            principal_coll += c_recovery
        D = self.D + c_default
        if not self.recoveries_to_interest:
            D -= np.minimum(D, c_recovery)
        self.D = D
        self.cum_default += c_default
        pipeline = self.pipeline + (c_default - c_adv_principal - c_recovery - c_loss)
        self.pipeline = np.maximum(pipeline, 0.0, out=pipeline)
        ac["defaulted_pending"][:, p] = self.pipeline
        ac["cumulative_default"][:, p] = self.cum_default
        book.add("collections", "pool", "revenue", revenue_coll)
        book.add("collections", "pool", "principal_funds", principal_coll)
        R, P = revenue_coll.copy(), principal_coll.copy()

        # ---- 3. clean-up call --------------------------------------------------------------------
        call_now = self.never
        call = deal.clean_up_call
        if call is not None:
            pool_end, call_now = self._call(p, call, pool_end, revolving_now, P)
        ending = self._ending(p, pool_end, revolving_now)
        any_ending = ending is not self.never
        # The last payment date: the scenario's end, or its call if that comes first.
        any_final = any_ending or (call_now is not self.never and bool(np.count_nonzero(call_now)))
        final = (call_now | (ending & ~self.called)) if any_final else self.never

        # ---- 4-5. the reserve: everything on the last payment date, else the excess ----------
        ac["reserve_begin"][:, p] = self.reserve
        if deal.reserve is not None:
            target = self._reserve_target(pool_begin)
            if any_final:
                target = np.where(final, 0.0, target)
            ac["reserve_target"][:, p] = target
            rs = deal.reserve
            excess = np.maximum(self.reserve - target, 0.0) if rs.release_excess else self.zeros
            release = np.where(final, self.reserve, excess) if any_final else excess
            self.reserve = self.reserve - release
            R += release
            ac["reserve_release"][:, p] = release
            book.add("reserve_release", "reserve", "revenue", release)
        else:
            target = self.zeros

        # ---- 6. amounts due ------------------------------------------------------------------------
        fee_due = self.fe["due"][:, :, p]
        if self.fee_plan:
            open_claims = None
            for j, kind, rate, per_period in self.fee_plan:
                if kind == "tax":
                    fee_due[:, j] = rate * (c_interest + c_fee)
                elif kind == "fixed":
                    if open_claims is None:
                        open_claims = _rows(self.B + self.W) > self.eps
                        if self.any_ended:
                            open_claims &= ~self.ended
                    fee_due[:, j] = np.where(open_claims, per_period[p], 0.0)
                else:
                    balance = pool_begin
                    if self.time_weighted_fees:
                        balance = 0.5 * (pool_begin + flows[-1])
                    fee_due[:, j] = rate * balance * per_period[p]
        fee_owed = fee_due + self.unpaid_fee
        # A copy (the waterfall pays fee_owed down); per period only for an IC trigger.
        fees_owed = self.zeros if self.derive_fees_owed else _add(fee_owed, 1)
        # Deferred interest bears interest only for classes that say so (U >= 0).
        accruing = self.B + self.accrues * self.U if self.any_accrues else self.B
        int_due = accruing * self.coupons[p] * self.sched.year_fractions[p]
        if self.any_ended:  # nothing falls due in a scenario that has ended
            int_due *= ~self.ended[:, None]
        int_owed = int_due + self.U
        self.tr["begin_balance"][:, :, p] = self.B
        self.tr["interest_due"][:, :, p] = int_due
        if not self.derive_fees_owed:
            ac["interest_after_fees"][:, p] = interest_coll - fees_owed

        # ---- 7-10. the waterfalls ------------------------------------------------------------------
        ctx = _Ctx(self, p, int_owed, fee_owed, target, eff, eff_any, final, any_final, pool_end)
        default_mode = eff["post_default"]
        if eff_any["post_default"]:
            normal = ~default_mode
            funds_r = np.where(normal, R, 0.0)
            funds_p = np.where(normal, P, 0.0)
        else:  # nowhere after an event of default: the normal waterfalls everywhere
            normal, funds_r, funds_p = self.always, R, P
        ctx.principal_pending = funds_p
        ctx.revolving = revolving_now
        everywhere = not eff_any["post_default"]
        ctx.run(self.plans["interest"], funds_r, normal, revolving_now, everywhere=everywhere)
        funds_p = funds_p + ctx.transfer_to_principal
        ctx.run(self.plans["principal"], funds_p, normal, revolving_now, everywhere=everywhere)
        if eff_any["post_default"]:
            # After an event of default: one waterfall on everything, the reserve included.
            book.add("post_default_release", "reserve", "revenue", ctx.reserve * default_mode)
            book.add("post_default_pool", "principal_funds", "revenue", P * default_mode)
            all_funds = np.where(default_mode, R + P + ctx.reserve, 0.0)
            ctx.reserve = np.where(default_mode, 0.0, ctx.reserve)
            ctx.run(
                self.plans["post_default"],
                all_funds,
                default_mode,
                self.never,
                everywhere=False,
                combined=True,
            )
        self.B, self.W, self.U, self.D = ctx.B, ctx.W, ctx.int_owed, ctx.D
        self.reserve = ctx.reserve
        self.unpaid_fee = ctx.fee_owed

        # ---- 11. full redemption: the reserve has nothing left to serve ----------------------------
        if deal.reserve is not None and np.count_nonzero(self.reserve):
            rc = self.rated_cols
            rated_open = _rows(self.B[:, rc] + self.W[:, rc] + self.U[:, rc]) > self.eps
            freed = np.where(~rated_open & ~final, self.reserve, 0.0)
            if np.count_nonzero(freed):
                self.reserve = self.reserve - freed
                ctx.residual += freed
                ac["reserve_release"][:, p] += freed
                book.add("reserve_release", "reserve", "equity", freed)

        # ---- 12. revolving purchases -------------------------------------------------------------
        if p < self.rv_left:  # only the reinvest step buys, and only in the revolving period
            bought = ctx.purchase_cash / self.price
            if bought.any():
                pool_end = self._purchase(p, bought, ctx.purchase_cash, pool_end)
        self.po["end_balance"][:, p] = pool_end

        # ---- 13-14. losses on the notes -------------------------------------------------------------
        wd = None
        if self.writedown_mode:
            shortfall = np.maximum(_rows(self.B) - pool_end, 0.0)
            if np.count_nonzero(shortfall):
                wd = _allocate(shortfall, self.B, self.groups_junior_first)
                self.B = self.B - wd
                self.W = self.W + wd
        if any_ending:
            # 14. crystallised where the scenario ends: nothing more will come
            if deal.loss_allocation != "none":
                rest = self.B * ending[:, None]
                self.B = self.B - rest
                self.W = self.W + rest
                wd = rest if wd is None else wd + rest
            self.tr["principal_loss"][:, :, p] = (self.B + self.W) * ending[:, None]
            self.ended |= ending
            self.any_ended = True
            self.all_ended = bool(self.ended.all())
        if wd is not None:
            self.tr["writedown"][:, :, p] = wd
        # ---- 15. the PDL by class: recorded for all periods at once (_derived) ----------------------

        # ---- record --------------------------------------------------------------------------------
        tr = self.tr
        tr["interest_shortfall"][:, :, p] = self.U
        tr["unreimbursed_writedown"][:, :, p] = self.W
        tr["end_balance"][:, :, p] = self.B
        tr["residual"][:, self.equity, p] = ctx.residual
        self.fe["unpaid"][:, :, p] = self.unpaid_fee
        ac["revenue"][:, p] = revenue_coll
        ac["principal_collections"][:, p] = principal_coll
        ac["reserve_end"][:, p] = self.reserve
        ac["pdl"][:, p] = self.D
        if not self.derive_es:  # an excess-spread trigger reads it as the run goes
            rated_int = _rows(int_due[:, self.rated_cols])
            # Annualised excess spread over the pool at the start of the period (0 without a pool;
            # a pool below the run's zero is a float residue, not a pool).
            es = ac["excess_spread"][:, p]
            np.divide(
                revenue_coll - _add(fee_due, 1) - rated_int,
                pool_begin,
                out=es,
                where=pool_begin > self.eps,
            )
            es *= self.periods_per_year
            self.es_hist.append(es)

        # ---- 16. triggers (act from the next period) -------------------------------------------------
        if self.deal.triggers:
            before = self.trig_state.copy() if ended_before is not None else None
            for k, t in enumerate(deal.triggers):
                breach = self._test(t, pool_end, interest_coll, fees_owed, int_due)
                self.trig_state[:, k] = breach if t.curable else (self.trig_state[:, k] | breach)
            if before is not None:  # a scenario that has ended keeps its triggers as they were
                self.trig_state[ended_before] = before[ended_before]
            self.trig_out[:, :, p] = self.trig_state
        book.close(p)

    def _ending(self, p: int, pool_end: F64, revolving_now: B8) -> B8:
        """Where the scenario ends in period ``p`` (rule book, "End of a scenario").

        The horizon's final period, or earlier, outside the revolving period, where the
        performing pool and every later collection (after a call: the recoveries the trust
        keeps) are at most the run's zero.  ``self.never`` where no scenario ends.
        """
        if not self.ends:  # actual collections for some periods: the deal goes on after them
            return self.never
        if p == self.T - 1:
            return ~self.ended
        low = pool_end <= self.eps
        if not np.count_nonzero(low):
            return self.never
        later = self.cash_later[:, p]
        if self.any_called:
            later = np.where(self.called, self.cash_later_called[:, p], later)
        ending = low & (later <= self.eps) & ~revolving_now & ~self.ended
        return ending if np.count_nonzero(ending) else self.never

    def _call(
        self, p: int, call: CleanUpCall, pool_end: F64, revolving_now: B8, P: F64
    ) -> tuple[F64, B8]:
        """The clean-up call (step 3): the pool's end balance after it and where it is exercised.

        Candidates: live, the pool at the threshold, not revolving, claims left; the sale
        (and what the defaulted receivables fetch) joins the principal funds ``P`` in place.
        """
        if self.all_called:  # every scenario's pool is sold
            return pool_end, self.never
        low = pool_end <= call.threshold * self.original_pool
        if not np.count_nonzero(low):
            return pool_end, self.never
        claims = self.B + self.W
        cand = ~self.called & low & ~revolving_now & (_rows(claims) > self.eps)
        if self.any_ended:
            cand &= ~self.ended
        if not np.count_nonzero(cand):
            return pool_end, self.never
        S = self.S
        sale = call.price * pool_end
        if call.accrued_interest:
            sale = sale + self._accrued_pool_interest(p)
        defaulted = (
            call.defaulted_price * self.pipeline
            if call.defaulted_price is not None
            else np.zeros(S)
        )
        rated_claims = _rows(claims * self.rated)
        call_now = cand & (sale + defaulted + P + self.reserve >= rated_claims - self.eps)
        sale = np.where(call_now, sale, 0.0)
        defaulted = np.where(call_now, defaulted, 0.0)
        P += sale + defaulted
        self.po["sale"][:, p] = sale + defaulted
        self.book.add("clean_up_call", "pool", "principal_funds", sale + defaulted)
        # What the defaulted receivables fetch is principal: it credits the PDL.
        self.D -= np.minimum(self.D, defaulted)
        pool_end = np.where(call_now, 0.0, pool_end)
        self.called |= call_now
        self.any_called = bool(self.called.any())
        self.all_called = bool(self.called.all())
        liq = self.coll.liquidations
        rows = np.flatnonzero(call_now)
        if liq is not None and call.defaulted_price is None:
            month = int(self.sched.months_end[p])
            kept_after = liq.after_call(rows, month, self.sched.months_end[: self.T])
            for f in _PIPELINE_FIELDS:
                self.post_call[f][rows] = kept_after[f]
        if call.defaulted_price is None:  # the recoveries the trust keeps are its cash after
            kept = self.post_call["recovery"] if liq is not None else self.coll.flow("recovery")
            self.cash_later_called[rows] = _later(kept[rows])
        if call.defaulted_price is not None:
            self.pipeline_sold |= call_now
            self.pipeline = np.where(call_now, 0.0, self.pipeline)
            self.ac["defaulted_pending"][:, p] = self.pipeline
        return pool_end, call_now

    def _purchase(self, p: int, bought: F64, cash: F64, pool_end: F64) -> F64:
        """Receivables bought in period ``p`` join the pool; their collections join later periods."""
        self.purchased += bought
        self.po["purchases"][:, p] = bought
        self.ac["purchase_cash"][:, p] = cash
        unit = self.coll.unit(p)
        if unit is not None:
            n_j = min(self.T - p - 1, unit.shape[2])
            self.coll.flows[:, :, p + 1 : p + 1 + n_j] += bought[:, None] * unit[:, :, :n_j]
            self.cash_later = _later(self.coll.flows[_CASH_ROWS].sum(axis=0))
        liq = self.coll.liquidations
        if liq is not None and liq.unit:
            start = int(self.sched.months_end[p])  # their month 1 is the next pool month
            u = liq.unit[min(p, len(liq.unit) - 1)]
            for f, arr in u.items():
                n = min(liq.monthly[f].shape[2] - start, arr.shape[2])
                if n > 0:
                    liq.monthly[f][:, :, start : start + n] += bought[:, None, None] * arr[:, :, :n]
        return pool_end + bought

    # --- pieces ------------------------------------------------------------------------------

    def _accrued_pool_interest(self, p: int) -> F64:
        """Pool interest accrued from the end of period ``p``'s collections to its payment date.

        The next collection period's interest, pro rata to the days elapsed.
        """
        if p + 1 >= self.T:
            return np.zeros(self.S)
        sched = self.sched
        start = sched.collection_end[p]
        pay = sched.dates[p].astype(dt.date)
        length = (sched.collection_end[p + 1] - start).days
        frac = min(max((pay - start).days, 0) / length, 1.0) if length > 0 else 0.0
        return np.asarray(self.coll.flow("interest")[:, p + 1] * frac, dtype=np.float64)

    def _reserve_target(self, pool_begin: F64) -> F64:
        rs = self.deal.reserve
        if rs is None:
            return np.zeros(self.S)
        notes = _rows(self.B[:, self.rated_cols])
        base = notes if rs.basis == "notes" else pool_begin
        return np.where(notes > self.eps, np.maximum(rs.target * base, rs.floor), 0.0)

    def _test(
        self, t: Trigger, pool_end: F64, interest_coll: F64, fees_owed: F64, int_due: F64
    ) -> B8:
        """Whether trigger ``t`` is breached this period, per scenario."""
        if t.kind == "cumulative_default":
            return np.asarray(self.cum_default / (self.original_pool + self.purchased) > t.level)
        if t.kind == "excess_spread":
            window = np.stack(self.es_hist[-t.periods :])
            full = len(self.es_hist) >= t.periods
            notes_left = self.B.sum(axis=1) > self.eps
            return np.asarray((window.mean(axis=0) < t.level) & full & notes_left)
        name = t.tranche or next(x.name for x in self.deal.tranches if x.kind == "senior")
        i = self.idx[name]
        upto = self.ranks <= self.ranks[i]  # this class, pari passu and senior classes
        if t.kind == "oc":
            notes = self.B[:, upto].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(notes > self.eps, (pool_end + self.reserve) / notes, np.inf)
            return np.asarray(ratio < t.level)
        if t.kind == "ic":
            due = int_due[:, upto].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                num = interest_coll - fees_owed
                ratio = np.where(due > self.eps, num / np.where(due > self.eps, due, 1.0), np.inf)
            return np.asarray(ratio < t.level)
        # interest_shortfall: interest due (this period or deferred) left unpaid, beyond the
        # run's zero (1e-9 of the cut-off pool, the same zero as every other decision)
        return np.asarray(self.U[:, i] > self.eps)

    def _result(self) -> RunResult:
        # The run ends when no scenario has cash, notes, claims or a reserve left.
        tr, po, ac = self.tr, self.po, self.ac
        eps = self.eps
        begin_claims = tr["begin_balance"] + np.concatenate(
            [self._w0[:, :, None], tr["unreimbursed_writedown"][:, :, :-1]], axis=2
        )
        active = (
            (po["begin_balance"] > eps).any(axis=0)
            | (begin_claims.max(axis=1) > eps).any(axis=0)
            | (ac["revenue"] + ac["principal_collections"] > eps).any(axis=0)
            | (ac["reserve_begin"] > eps).any(axis=0)
        )
        active[self.T_run :] = False
        T = int(np.flatnonzero(active)[-1]) + 1 if active.any() else 1
        if not self.ends:
            T = self.T  # actual collections: every given period is reported
        if T < self.T:
            # Losses crystallise in the last period of the run: move them into the cut.
            tr["principal_loss"][:, :, T - 1] += tr["principal_loss"][:, :, T:].sum(axis=2)
        sched = self.sched
        return RunResult(
            deal=self.deal,
            scenario_names=self.sset.names,
            dates=sched.dates[:T],
            collection_end=_compiled(self.deal).collection_end[:T],
            accrual_start=sched.accrual_start[:T],
            year_fractions=sched.year_fractions[:T],
            tranche_names=self.names,
            fee_names=tuple(f.name for f in self.deal.fees),
            trigger_names=tuple(t.name for t in self.deal.triggers),
            tranche={k: v[:, :, :T] for k, v in tr.items()},
            fee={k: v[:, :, :T] for k, v in self.fe.items()},
            pool={k: v[:, :T] for k, v in po.items()},
            account={k: v[:, :T] for k, v in ac.items()},
            trigger=self.trig_out[:, :, :T],
            ledger_data=self.book.freeze(T),
            original_balances=self.original_face,
            pool_balance=self.original_pool,
        )


def _covered(deal: Deal) -> set[str]:
    if deal.reserve is None:
        return set()
    if deal.reserve.covers:
        return set(deal.reserve.covers)
    out = {f"fee:{f.name}" for f in deal.fees}
    out |= {f"interest:{t.name}" for t in deal.tranches if not t.is_deferrable}
    return out


@dataclass(frozen=True)
class _Op:
    """A waterfall step resolved once per run (the plan of a waterfall is a tuple of these).

    ``ids`` are the step's classes (``interest``, ``principal``, ``pro_rata``) or its fee
    (``fee``), and ``cols`` the same as an index (a slice when they are adjacent, so that
    paying them updates the state in place); ``to`` names each target in the ledger;
    ``covered`` is 1.0 for the targets whose shortfall the reserve pays (``None``: none);
    ``by_rank`` groups the targets (positions in ``ids``) by rank, senior first, and
    ``together`` is the one group of all of them (pro rata).
    """

    action: str
    label: str  # the step as written: its name in the ledger
    account: str  # the pocket it spends: "revenue" or "principal_funds"
    ids: tuple[int, ...] = ()
    cols: slice | list[int] = field(default_factory=list)
    to: tuple[str, ...] = ()
    covered: F64 | None = None
    by_rank: tuple[NDArray[np.int64], ...] = ()
    together: tuple[NDArray[np.int64], ...] = ()
    covers_all: bool = False  # the reserve covers every target
    single: int | None = None  # the one target, when there is one


def _plan(
    steps: Sequence[Step],
    account: str,
    classes: Mapping[str, int],
    fees: Mapping[str, int],
    ranks: NDArray[np.int64],
    covers: set[str],
) -> tuple[_Op, ...]:
    """Resolve a waterfall's steps once: indices, ledger names, reserve cover, rank groups."""
    ops = []
    for step in steps:
        label, a = str(step), step.action
        if a not in ("fee", "interest", "principal", "pro_rata"):
            ops.append(_Op(a, label, account))
            continue
        ids: tuple[int, ...]
        to: tuple[str, ...]
        if a == "fee":
            ids = (fees[step.targets[0]],)
            to = (f"fee:{step.targets[0]}",)
            flags = [label in covers]
        else:
            ids = tuple(classes[t] for t in step.targets)
            to = step.targets
            flags = [label in covers or f"interest:{t}" in covers for t in step.targets]
        adjacent = ids == tuple(range(ids[0], ids[0] + len(ids)))
        cols = slice(ids[0], ids[0] + len(ids)) if adjacent else list(ids)
        r = [int(ranks[i]) for i in ids] if a != "fee" else [0]
        by_rank = tuple(
            np.array([k for k, x in enumerate(r) if x == v], dtype=np.int64) for v in sorted(set(r))
        )
        ops.append(
            _Op(
                a,
                label,
                account,
                ids,
                cols,
                to,
                np.asarray(flags, dtype=float) if a in ("fee", "interest") and any(flags) else None,
                by_rank,
                (np.arange(len(ids)),),
                all(flags),
                ids[0] if len(ids) == 1 else None,
            )
        )
    return tuple(ops)


class _Ctx:
    """Mutable per-period state the waterfall steps act on (arrays over scenarios).

    It takes over the deal's balances for the period (``_Waterfall`` takes them back).
    What the steps pay accumulates straight into the run's (scenario, class, period)
    outputs: ``int_paid`` and the like are views of period ``p`` of them.
    """

    def __init__(
        self,
        w: _Waterfall,
        p: int,
        int_owed: F64,
        fee_owed: F64,
        target: F64,
        eff: dict[str, B8],
        eff_any: dict[str, bool],
        final: B8,
        any_final: bool,
        pool_end: F64,
    ) -> None:
        self.w, self.p, self.book = w, p, w.book
        self.B, self.W, self.D = w.B, w.W, w.D
        # Write-downs only shrink within a period (reinstatement); ``has_writedowns`` follows.
        self.has_writedowns = w.writedown_mode and bool(np.count_nonzero(w.W))
        self.int_owed = int_owed
        self.fee_owed = fee_owed
        self.reserve = w.reserve
        self.target, self.eff, self.eff_any = target, eff, eff_any
        self.final, self.any_final, self.pool_end = final, any_final, pool_end
        tr, ac = w.tr, w.ac
        self.int_paid = tr["interest_paid"][:, :, p]
        self.prin_paid = tr["principal_paid"][:, :, p]
        self.reinstated = tr["reinstatement"][:, :, p]
        self.fee_paid = w.fe["paid"][:, :, p]
        self.residual = ac["residual"][:, p]
        self.reserve_draw = ac["reserve_draw"][:, p]
        self.reserve_deposit = ac["reserve_deposit"][:, p]
        self.purchase_cash = ac["purchase_cash"][:, p]
        self.transfer_to_principal = np.zeros(w.S)
        self.principal_pending = w.zeros
        self.revolving = w.never
        self.combined = False
        self.everywhere: B8 | None = None
        self.dry = False  # the pocket being spent is empty in every scenario
        # Within a pocket the surplus for reinstatement never grows: paying principal takes
        # from the funds and the balances alike, every other step only takes from the funds
        # (a purchase below par is the one exception and clears this).  So once a step finds
        # no surplus, later steps of the same pocket find none either.
        self.no_surplus = False

    def run(
        self,
        plan: Sequence[_Op],
        funds: F64,
        mask: B8,
        revolving: B8,
        *,
        everywhere: bool,
        combined: bool = False,
    ) -> F64:
        """Apply the steps of ``plan`` to ``funds`` where ``mask``; return what is left.

        ``everywhere``: ``mask`` holds for every scenario (nothing to mask out).
        ``combined``: revenue and principal are one pocket (post-default), so
        moving revenue to principal is meaningless and skipped.
        """
        self.combined = combined
        self.everywhere = mask if everywhere else None
        # Steps only take from the pocket, never add to it (amounts owed are >= 0), so a
        # pocket empty at the start pays nothing: its steps book zeros and skip their sums.
        self.dry = self.w.nonneg and not np.count_nonzero(funds)
        self.no_surplus = False
        for op in plan:
            funds = self._step(op, funds, mask, revolving)
        return funds

    # --- helpers ------------------------------------------------------------------------------

    def _avail(self, amount: F64, mask: B8) -> F64:
        """``amount`` where ``mask``, else 0 (never modified in place)."""
        return amount if mask is self.everywhere else np.where(mask, amount, 0.0)

    def _to_principal(self, step: str, account: str, amount: F64) -> None:
        self.transfer_to_principal += amount
        self.book.add(step, account, "principal_funds", amount)

    def _reinstate(self, funds: F64, mask: B8) -> bool:
        """Write down-balances back up, most senior first, where the collateral allows.

        Surplus = performing pool + receivables being bought + ``funds`` - sum(B):
        paying principal out of ``funds`` later moves both sides alike.  Whether
        anything was reinstated.
        """
        if not self.has_writedowns or self.no_surplus:
            return False
        collateral = self.pool_end
        if self.revolving is not self.w.never:  # receivables being bought
            collateral = collateral + self.purchase_cash / self.w.price
        surplus = np.maximum(collateral + funds - _rows(self.B), 0.0)
        if mask is not self.everywhere:
            surplus = np.where(mask, surplus, 0.0)
        if not np.count_nonzero(surplus):
            self.no_surplus = self.w.nonneg  # (negative funds could pay a negative amount)
            return False
        up = _allocate(surplus, self.W, self.w.groups)
        self.W = self.W - up
        self.B = self.B + up
        self.reinstated += up
        self.has_writedowns = bool(np.count_nonzero(self.W))
        return True

    def _pro_rata_leaves_pdl(self, op: _Op, funds: F64, mask: B8) -> B8:
        """Where paying ``op`` pro rata would leave a PDL share on a class above its most junior rank.

        The PDL ``D`` is allocated to the claims ``C = B + W`` most junior rank first, so
        a class of rank ``r`` carries a share iff ``D`` exceeds the claims ranked below
        ``r``; the step's second most junior rank is the first to be reached.
        """
        w = self.w
        pay = _allocate(self._avail(funds, mask), self.B[:, op.cols], op.together)
        claims = self.B + self.W
        claims[:, op.cols] -= pay
        ranks = w.ranks[list(op.ids)]
        second = np.unique(ranks)[-2]  # the step's second most junior rank
        below = _rows(claims[:, w.ranks > second])
        return np.asarray((below + w.eps < self.D) & mask)

    def _pay_principal(self, op: _Op, funds: F64, mask: B8, pro_rata: bool) -> F64:
        """Pay down the balances of ``op``: pro rata to balance, or by rank (equal ranks pro rata)."""
        if self.dry:
            for name in op.to:
                self.book.register(op.label, op.account, name)
            return funds
        avail = self._avail(funds, mask)
        if op.single is not None:  # one class: it takes what it can
            i = op.single
            b = self.B[:, i]
            pay1 = np.minimum(avail, b)
            b -= pay1
            self.prin_paid[:, i] += pay1
            self.book.add(op.label, op.account, op.to[0], pay1)
            return funds - pay1
        pay = _allocate(avail, self.B[:, op.cols], op.together if pro_rata else op.by_rank)
        self.B[:, op.cols] -= pay
        self.prin_paid[:, op.cols] += pay
        for k, name in enumerate(op.to):
            self.book.add(op.label, op.account, name, pay[:, k])
        return funds - _rows(pay)

    def _draw(self, short: F64, mask: B8, op: _Op) -> F64 | None:
        """What the reserve pays of ``short`` (shaped like it), or None if nothing."""
        if not np.count_nonzero(self.reserve):
            return None
        if op.single is not None:
            if not np.count_nonzero(short):  # paid in full: nothing to draw
                return None
            draw = np.minimum(self._avail(self.reserve, mask), short)
            total = draw
        else:
            if not op.covers_all:
                assert op.covered is not None
                short = short * op.covered
            draw = _allocate(self._avail(self.reserve, mask), short, op.together)
            total = _rows(draw)
        if not np.count_nonzero(total):
            return None
        self.reserve = self.reserve - total
        self.reserve_draw += total
        return draw

    def _settle(self, op: _Op, owed_all: F64, paid_all: F64, funds: F64, mask: B8) -> F64:
        """Pay what ``op``'s targets are owed pro rata from ``funds``; return the funds left.

        ``owed_all`` (S, k) is reduced in place and ``paid_all`` increased; the reserve
        pays the rest of the covered targets.
        """
        book, label, account = self.book, op.label, op.account
        avail = self._avail(funds, mask)
        if op.single is not None:
            owed = owed_all[:, op.single]
            if self.dry:  # nothing from the pocket; the reserve may still pay
                book.register(label, account, op.to[0])
                draw = self._draw(owed, mask, op) if op.covered is not None else None
                if draw is not None:
                    owed -= draw
                    paid_all[:, op.single] += draw
                    book.add(label, "reserve", op.to[0], draw)
                return funds
            paid = np.minimum(avail, owed)
            funds = funds - paid
            draw = self._draw(owed - paid, mask, op) if op.covered is not None else None
            settled = paid if draw is None else paid + draw
            owed -= settled
            paid_all[:, op.single] += settled
            book.add(label, account, op.to[0], paid)
            if draw is not None:
                book.add(label, "reserve", op.to[0], draw)
            return funds
        owed2 = owed_all[:, op.cols]
        paid2 = _allocate(avail, owed2, op.together)
        funds = funds - _rows(paid2)
        draw2 = self._draw(owed2 - paid2, mask, op) if op.covered is not None else None
        settled2 = paid2 if draw2 is None else paid2 + draw2
        owed_all[:, op.cols] -= settled2
        paid_all[:, op.cols] += settled2
        for k, name in enumerate(op.to):
            book.add(label, account, name, paid2[:, k])
            if draw2 is not None and np.count_nonzero(draw2[:, k]):
                book.add(label, "reserve", name, draw2[:, k])
        return funds

    # --- steps --------------------------------------------------------------------------------

    def _step(self, op: _Op, funds: F64, mask: B8, revolving: B8) -> F64:
        a = op.action
        if a == "fee":
            return self._settle(op, self.fee_owed, self.fee_paid, funds, mask)
        if a == "interest":
            return self._settle(op, self.int_owed, self.int_paid, funds, mask)
        book, label, account = self.book, op.label, op.account
        if a in ("principal", "pro_rata"):
            self._reinstate(funds, mask)
            if a == "principal":
                return self._pay_principal(op, funds, mask, pro_rata=False)
            seq = self.eff["sequential"]
            any_seq = self.eff_any["sequential"]
            if len(op.by_rank) > 1 and np.count_nonzero(self.w.eps < self.D):
                # Pro rata, unless it would leave a class of the step with a PDL share while
                # a more junior class of the step is paid: then by rank.
                seq = seq | self._pro_rata_leaves_pdl(op, funds, mask)
                any_seq = bool(seq.any())
            if not any_seq and mask is self.everywhere:
                return self._pay_principal(op, funds, mask, pro_rata=True)
            if not (~seq & mask).any():
                return self._pay_principal(op, funds, mask, pro_rata=False)
            if not (seq & mask).any():
                return self._pay_principal(op, funds, mask, pro_rata=True)
            # some scenarios sequential, some pro rata
            funds = self._pay_principal(op, funds, mask & seq, False)
            return self._pay_principal(op, funds, mask & ~seq, True)
        if self.dry and a in ("reserve", "reinvest"):
            book.register(label, account, "reserve" if a == "reserve" else "seller")
            return funds
        if a == "reserve":
            need = np.maximum(self.target - self.reserve, 0.0)
            dep = self._avail(np.minimum(funds, need), mask)
            self.reserve = self.reserve + dep
            self.reserve_deposit += dep
            book.add(label, account, "reserve", dep)
            return funds - dep
        if a == "cover_defaults":
            if self.dry and account != "principal_funds" and not self.combined:
                self.book.register(label, account, "principal_funds")
            elif account != "principal_funds" and not self.combined:
                move = self._avail(np.minimum(funds, self.D), mask)
                self.D = self.D - move
                self._to_principal(label, account, move)
                funds = funds - move
            return funds
        if a == "reinvest":
            buy = np.where(mask & revolving & ~self.final, funds, 0.0)
            self.purchase_cash += buy
            if self.w.price < 1.0:  # bought below par: the collateral grows by more than the cash
                self.no_surplus = False
            book.add(label, account, "seller", buy)
            return funds - buy
        if a == "residual":
            return self._residual(funds, account, mask)
        return funds

    def _residual(self, funds: F64, account: str, mask: B8) -> F64:
        """What is left goes to the residual holder — once every claim has been served.

        From revenue (separate pockets): what the collateral lacks to cover the rated
        classes' claims (with write-downs) or the PDL reaching a rated class (``pdl``,
        ``none``) moves to the principal funds first; then spread moves
        there while a class has a claim and excess spread is diverted or this is the
        last payment date.  From
        principal funds (or one pocket after default): write-downs are reinstated
        and the reinstated balances paid, most senior first.
        """
        w = self.w
        if self.dry:  # an empty pocket: the same entries, at zero
            if account == "revenue" and not self.combined:
                if w.writedown_mode:
                    self.book.register("reimburse_writedowns", account, "principal_funds")
                else:
                    self.book.register("cure_pdl", account, "principal_funds")
                self.book.register("divert_excess_spread", account, "principal_funds")
            elif self.has_writedowns:
                self._reinstate(funds, mask)  # reinstated, to be paid from later funds
            self.book.register("residual", account, "equity")
            return funds
        if account == "revenue" and not self.combined:
            if w.writedown_mode:
                # Reimbursement of write-downs: spread goes to the residual holder only once
                # the collateral (performing pool, what is being bought and what the
                # principal funds will buy) covers every rated class's balance and write-down,
                # so a rated write-down is made good, and a rated class is not written down
                # at the end of this period, before the residual holder takes spread.  In the
                # revolving period the principal funds buy at ``price``: a cash amount x adds
                # x / price to the collateral, so the need in cash is the par need x price.
                pending = self.principal_pending + self.transfer_to_principal
                if self.revolving is w.never:  # nothing is being bought
                    buying = w.never
                    cover = self.pool_end + pending
                else:
                    buying = self.revolving & ~self.final
                    backing = np.where(buying, pending / w.price, pending)
                    cover = self.pool_end + self.purchase_cash / w.price + backing
                rc = w.rated_cols
                need = _rows(self.B[:, rc] + self.W[:, rc]) - cover
                if np.count_nonzero(need > w.eps):  # a need below the run's zero is none
                    need = np.where(need > w.eps, np.where(buying, need * w.price, need), 0.0)
                    move = self._avail(np.minimum(funds, need), mask)
                    self.D = self.D - np.minimum(self.D, move)
                    self._to_principal("reimburse_writedowns", account, move)
                    funds = funds - move
                else:
                    self.book.register("reimburse_writedowns", account, "principal_funds")
            else:
                # The PDL still debited to a rated class (D beyond the equity note's balance)
                # is cured from what is left before the residual holder takes it.
                need = self.D - _rows(self.B * ~w.rated)
                if np.count_nonzero(need > w.eps):
                    move = self._avail(np.minimum(funds, np.where(need > w.eps, need, 0.0)), mask)
                    self.D = self.D - move
                    self._to_principal("cure_pdl", account, move)
                    funds = funds - move
                else:
                    self.book.register("cure_pdl", account, "principal_funds")
            if self.eff_any["divert_excess_spread"] or self.any_final:
                claims = _rows(self.B + self.W) > 0
                divert = (self.eff["divert_excess_spread"] | self.final) & mask & claims
                move = np.where(divert, funds, 0.0)
                self._to_principal("divert_excess_spread", account, move)
                funds = funds - move
            else:  # nothing is diverted anywhere: the entry stays in the ledger, at zero
                self.book.register("divert_excess_spread", account, "principal_funds")
        elif self.has_writedowns:
            before = self.B.copy()
            if self._reinstate(funds, mask):
                owed = self.B - np.minimum(before, self.B)  # reinstated and not yet paid
                pay = _allocate(self._avail(funds, mask), owed, w.groups)
                for i in np.flatnonzero(pay.any(axis=0)):
                    self.B[:, i] -= pay[:, i]
                    self.prin_paid[:, i] += pay[:, i]
                    self.book.add("reinstated_principal", account, w.names[i], pay[:, i])
                funds = funds - _rows(pay)
        rest = self._avail(funds, mask)
        self.residual += rest
        self.book.add("residual", account, "equity", rest)
        return funds - rest
