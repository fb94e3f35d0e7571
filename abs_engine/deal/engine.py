"""The waterfall engine: pool collections through the priority of payments.

One Python loop runs over payment periods; inside it every step of the
waterfall acts on arrays over all scenarios at once.  Each period:

1. collections of the period's collection months arrive (the cut-off pool's
   projection plus receivables bought during the revolving period — a
   convolution: a purchase of ``x`` at period ``p`` adds ``x`` times the
   template's unit profile to periods ``p+1, p+2, ...``);
2. the clean-up call is exercised where the pool has fallen to its threshold;
3. the reserve releases any excess over its target;
4. fees and note interest accrue by the day count between payment dates;
5. the interest waterfall spends revenue, the principal waterfall spends
   principal collections (or, after an event of default, the post-default
   waterfall spends both and the reserve);
6. notes are written down where they exceed the collateral (``writedown``)
   or at the end (``pdl``);
7. triggers are tested; a breach acts from the next period.

Every movement of cash is a ledger entry (step, from, to) with an amount per
scenario and period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
from abs_engine.deal.spec import Deal, Step, Trigger
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.pool.schema import PAYMENT_TYPES
from abs_engine.projection.engine import as_scenario_set, project
from abs_engine.projection.results import FLOW_FIELDS, PoolCashflows

__all__ = ["run"]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]

_MONTH_FIELDS = ("begin_balance", *FLOW_FIELDS, "end_balance")
_FLOWS = FLOW_FIELDS


def _month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


@dataclass(frozen=True)
class _Schedule:
    """Payment dates of the run and the pool months each period collects."""

    dates: NDArray[np.datetime64]
    accrual_start: NDArray[np.datetime64]
    year_fractions: F64
    months_end: NDArray[np.int64]  # cumulative pool months collected by the end of each period
    offset: int  # payment periods already past (mid-life)
    at_legal_final: bool


def _schedule(deal: Deal) -> _Schedule:
    d = deal.dates
    months = _month_index(d.legal_final) - _month_index(d.first_payment)
    count = months // d.frequency + 1
    all_dates = payment_dates(d.first_payment, count, months=d.frequency, day=d.payment_day)
    all_dates = all_dates[all_dates <= np.datetime64(d.legal_final)]
    start = deal.state.as_of if deal.state is not None else d.cutoff
    # Period p collects the pool months up to the end of the month before its payment month.
    start_m = _month_index(start)
    collect_m = np.array([_month_index(x.astype(dt.date)) - 1 for x in all_dates], dtype=np.int64)
    # Mid-life: payment dates whose collections end on or before the tape's date are past.
    keep = collect_m > start_m if deal.state is not None else np.ones(all_dates.size, dtype=bool)
    offset = int((~keep).sum())
    dates = all_dates[keep]
    if dates.size == 0:
        raise SpecError(
            f"no payment date after {start} before the legal final {d.legal_final}", "dates"
        )
    prev = np.concatenate([[np.datetime64(d.closing)], all_dates[:-1]])[keep]
    yf = np.asarray(year_fraction(prev, dates, d.day_count), dtype=np.float64)
    months_end = np.maximum(collect_m[keep] - start_m, 0)
    return _Schedule(dates, prev, yf, months_end, offset, bool(all_dates[-1] == dates[-1]))


def _by_period(monthly: F64, months_end: NDArray[np.int64], T: int) -> F64:
    """Sum monthly flows ``(S, M)`` into payment periods ``(S, T)``."""
    S, M = monthly.shape
    out = np.zeros((S, T))
    cum = np.concatenate([np.zeros((S, 1)), np.cumsum(monthly, axis=1)], axis=1)
    ends = np.minimum(months_end[:T], M)
    starts = np.concatenate([[0], ends[:-1]])
    out[:, : len(ends)] = cum[:, ends] - cum[:, starts]
    return out


def _balance_by_period(
    monthly_end: F64, initial: F64, months_end: NDArray[np.int64], T: int
) -> tuple[F64, F64]:
    """Begin and end balances per period from monthly end balances."""
    M = monthly_end.shape[1]
    path = np.concatenate(
        [initial[:, None], monthly_end], axis=1
    )  # balance after m months, m = 0..M
    ends = np.minimum(months_end[:T], M)
    starts = np.concatenate([[0], ends[:-1]])
    return path[:, starts], path[:, ends]


def _template_cohorts(deal: Deal, grades: tuple[str, ...]) -> Cohorts:
    rv = deal.revolving
    assert rv is not None
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


class _Book:
    """Ledger under construction: entries keyed by (step, from, to)."""

    def __init__(self, S: int, T: int) -> None:
        self.S, self.T = S, T
        self.index: dict[tuple[str, str, str], int] = {}
        self.rows: list[F64] = []

    def add(self, step: str, src: str, dst: str, p: int, amount: F64) -> None:
        key = (step, src, dst)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.rows)
            self.rows.append(np.zeros((self.S, self.T)))
        self.rows[i][:, p] += amount

    def freeze(self) -> Ledger:
        entries = tuple(self.index)
        amounts = np.stack(self.rows) if self.rows else np.zeros((0, self.S, self.T))
        return Ledger(entries, amounts)


def run(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None = None,
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
    S = len(sset)
    sched = _schedule(deal)
    T_max = len(sched.dates)
    freq = deal.dates.frequency

    cf = project(pool, deal.assumptions, sset)
    months = cf.n_periods
    profile: PoolCashflows | None = None
    rv = deal.revolving
    rv_left = 0
    if rv is not None:
        rv_left = max(0, rv.periods - sched.offset)
        if rv_left:
            profile = project(_template_cohorts(deal, tuple(pool.grades)), deal.assumptions, sset)
    # Periods needed: until the last pool month is collected, or the last purchase pays out.
    need_months = months
    T = min(T_max, int(np.searchsorted(sched.months_end, need_months)) + 1)
    if profile is not None:
        prof_periods = -(-profile.n_periods // freq) + 1
        T = int(min(T_max, max(T, rv_left + prof_periods)))
    T = max(T, 1)

    # --- pool collections by payment period --------------------------------------------
    B0 = float(pool.balance) if isinstance(pool, Pool) else pool.total_balance
    coll = {f: _by_period(cf[f], sched.months_end, T) for f in _FLOWS}
    begin, end = _balance_by_period(cf["end_balance"], np.full(S, B0), sched.months_end, T)
    coll["begin_balance"], coll["end_balance"] = begin, end
    unit: dict[str, F64] = {}
    if profile is not None:
        # A purchase at period p starts paying in the next collection month: per unit
        # bought, period p + j collects the template's months (j-1)*freq+1 .. j*freq.
        n_j = -(-profile.n_periods // freq)
        ends = np.arange(1, n_j + 1) * freq
        for f in _FLOWS:
            unit[f] = _by_period(profile[f], ends, n_j)
        ub, ue = _balance_by_period(profile["end_balance"], np.ones(S), ends, n_j)
        unit["begin_balance"], unit["end_balance"] = ub, ue

    # --- state -------------------------------------------------------------------------
    st = deal.state
    names = tuple(t.name for t in deal.tranches)
    N = len(names)
    if st is None:
        face = deal.note_amounts(B0)
        bal = np.tile(np.array([face[n] for n in names]), (S, 1))
        unpaid_int = np.zeros((S, N))
        reserve = np.full(S, (deal.reserve.initial if deal.reserve else 0.0) * B0)
        pdl = np.zeros(S)
        cum_default = np.zeros(S)
        purchased = np.zeros(S)
        original_pool = B0
        trig_state = np.zeros((S, len(deal.triggers)), dtype=bool)
        original_face = face
    else:
        missing = [n for n in names if n not in st.balances]
        if missing:
            raise SpecError(f"state.balances lacks {', '.join(missing)}", "state.balances")
        bal = np.tile(np.array([st.balances[n] for n in names], dtype=np.float64), (S, 1))
        unpaid_int = np.tile(np.array([st.unpaid_interest.get(n, 0.0) for n in names]), (S, 1))
        reserve = np.full(S, st.reserve)
        pdl = np.full(S, st.pdl)
        cum_default = np.full(S, st.cumulative_default)
        purchased = np.full(S, st.purchased)
        original_pool = st.original_pool_balance or B0
        trig_state = np.tile(
            np.array([st.triggers.get(t.name, False) for t in deal.triggers]), (S, 1)
        )
        original_face = deal.note_amounts(original_pool)
    fees = deal.fees
    F = len(fees)
    unpaid_fee = np.zeros((S, F))
    called = np.zeros(S, dtype=bool)
    es_hist: list[F64] = []

    tr = {f: np.zeros((S, N, T)) for f in TRANCHE_FIELDS}
    fe = {f: np.zeros((S, F, T)) for f in FEE_FIELDS}
    po = {f: np.zeros((S, T)) for f in POOL_FIELDS}
    ac = {f: np.zeros((S, T)) for f in ACCOUNT_FIELDS}
    trig_out = np.zeros((S, len(deal.triggers), T), dtype=bool)
    book = _Book(S, T)
    rated = np.array([t.kind != "equity" for t in deal.tranches])
    covers = _covered(deal)
    idx = {n: i for i, n in enumerate(names)}
    fee_idx = {f.name: i for i, f in enumerate(fees)}
    assert deal.waterfall is not None
    wf = deal.waterfall

    for p in range(T):
        # ---- effects in force (breaches of earlier periods) -------------------------------------
        eff = {
            e: np.zeros(S, dtype=bool)
            for e in ("end_revolving", "sequential", "divert_excess_spread", "post_default")
        }
        for k, t in enumerate(deal.triggers):
            for e in t.effects:
                eff[e] |= trig_state[:, k]
        revolving_now = (p < rv_left) & ~eff["end_revolving"] & ~called

        # ---- collections ------------------------------------------------------------------------
        live = ~called
        c = {f: coll[f][:, p] * live for f in coll}
        for f in _MONTH_FIELDS:
            po[f][:, p] = c[f]
        revenue_coll = c["interest"] + c["fee"] + c["advanced_interest"]
        principal_coll = c["scheduled_principal"] + c["prepayment"] + c["advanced_principal"]
        if deal.recoveries_to == "interest":
            revenue_coll = revenue_coll + c["recovery"]
        else:
            principal_coll = principal_coll + c["recovery"]
        pool_begin, pool_end = c["begin_balance"], c["end_balance"].copy()
        cum_default += c["default"]
        pdl += c["default"]
        ac["cumulative_default"][:, p] = cum_default
        book.add("collections", "pool", "revenue", p, revenue_coll)
        book.add("collections", "pool", "principal_funds", p, principal_coll)
        R = revenue_coll.copy()
        P = principal_coll.copy()

        # ---- clean-up call --------------------------------------------------------------------
        if deal.clean_up_call is not None:
            call_now = (
                live & (pool_end <= deal.clean_up_call.threshold * original_pool) & ~revolving_now
            )
            # Exercised only where the sale (with this period's principal) redeems the rated notes.
            rated_left = (bal * rated[None, :]).sum(axis=1)
            call_now &= (bal.sum(axis=1) > 0) & (
                deal.clean_up_call.price * pool_end + P >= rated_left
            )
            if call_now.any():
                sale = np.where(call_now, deal.clean_up_call.price * pool_end, 0.0)
                P += sale
                po["sale"][:, p] = sale
                book.add("clean_up_call", "pool", "principal_funds", p, sale)
                pool_end = np.where(call_now, 0.0, pool_end)
                called |= call_now

        # ---- reserve: target and release --------------------------------------------------------
        ac["reserve_begin"][:, p] = reserve
        target = _reserve_target(deal, bal, rated, pool_begin)
        ac["reserve_target"][:, p] = target
        if deal.reserve is not None and deal.reserve.release_excess:
            release = np.maximum(reserve - target, 0.0)
            reserve -= release
            R += release
            ac["reserve_release"][:, p] = release
            book.add("reserve_release", "reserve", "revenue", p, release)

        # ---- amounts due ------------------------------------------------------------------------
        yf = sched.year_fractions[p]
        acc_start = sched.accrual_start[p].astype(dt.date)
        fee_due = np.zeros((S, F))
        for j, fee in enumerate(fees):
            if fee.kind == "tax":
                fee_due[:, j] = fee.rate * (c["interest"] + c["fee"])
            elif fee.kind == "fixed":
                fee_due[:, j] = np.where(bal.sum(axis=1) > 0, fee.amount * yf, 0.0)
            else:
                fee_due[:, j] = fee.rate * pool_begin * yf
        fe["due"][:, :, p] = fee_due
        fee_owed = fee_due + unpaid_fee
        coupons = np.array([t.coupon.rate_from(acc_start) for t in deal.tranches])
        int_due = bal * coupons[None, :] * yf
        tr["begin_balance"][:, :, p] = bal
        tr["interest_due"][:, :, p] = int_due
        int_owed = int_due + unpaid_int
        ac["interest_after_fees"][:, p] = R - fee_owed.sum(axis=1)

        # ---- the waterfalls ---------------------------------------------------------------------
        ctx = _Ctx(
            S, p, book, bal, int_owed, fee_owed, reserve, covers, idx, fee_idx, pdl, eff, target
        )
        default_mode = eff["post_default"]
        normal = ~default_mode
        # Normal: interest waterfall on revenue, principal waterfall on principal funds.
        funds_r = np.where(normal, R, 0.0)
        funds_p = np.where(normal, P, 0.0)
        ctx.transfer_to_principal = np.zeros(S)
        funds_r = ctx.run(wf.interest, funds_r, "revenue", normal, revolving_now)
        funds_p = funds_p + ctx.transfer_to_principal
        funds_p = ctx.run(wf.principal, funds_p, "principal_funds", normal, revolving_now)
        # After an event of default: one waterfall on everything, the reserve included.
        if default_mode.any():
            all_funds = np.where(default_mode, R + P + ctx.reserve, 0.0)
            book.add(
                "post_default_release",
                "reserve",
                "revenue",
                p,
                np.where(default_mode, ctx.reserve, 0.0),
            )
            book.add(
                "post_default_pool", "principal_funds", "revenue", p, np.where(default_mode, P, 0.0)
            )
            ctx.reserve = np.where(default_mode, 0.0, ctx.reserve)
            ctx.run(
                wf.post_default,
                all_funds,
                "revenue",
                default_mode,
                np.zeros(S, dtype=bool),
                combined=True,
            )
        reserve = ctx.reserve
        pdl = ctx.pdl
        bal = ctx.bal
        # Once the rated notes are repaid (or nothing more will come), the reserve goes to equity.
        done = ((bal * rated[None, :]).sum(axis=1) <= 0) | (p == T - 1)
        freed = np.where(done, reserve, 0.0)
        if freed.any():
            reserve = reserve - freed
            ctx.residual += freed
            ac["reserve_release"][:, p] += freed
            book.add("reserve_release", "reserve", "equity", p, freed)
        unpaid_int = ctx.int_owed
        unpaid_fee = ctx.fee_owed

        # ---- revolving purchases ----------------------------------------------------------------
        bought = ctx.purchase_cash / (rv.price if rv is not None else 1.0)
        if bought.any():
            purchased += bought
            po["purchases"][:, p] = bought
            ac["purchase_cash"][:, p] = ctx.purchase_cash
            pool_end = pool_end + bought
            n_j = min(T - p - 1, next(iter(unit.values())).shape[1])
            for f, arr in unit.items():
                coll[f][:, p + 1 : p + 1 + n_j] += bought[:, None] * arr[:, :n_j]
        po["end_balance"][:, p] = pool_end

        # ---- losses on the notes ----------------------------------------------------------------
        # Writedown: notes beyond the performing collateral are written down in reverse
        # seniority each period.  PDL: only what is unpaid when no more cash will come.
        final = p == T - 1
        if deal.loss_allocation == "writedown" or final:
            collateral = np.zeros(S) if final else pool_end
            excess = np.maximum(bal.sum(axis=1) - collateral, 0.0)
            wd = np.zeros((S, N))
            for i in reversed(range(N)):  # equity first: tranches are listed senior to equity
                take = np.minimum(excess, bal[:, i])
                wd[:, i] = take
                excess -= take
            bal = bal - wd
            tr["writedown"][:, :, p] = wd

        # ---- record -----------------------------------------------------------------------------
        tr["interest_paid"][:, :, p] = ctx.int_paid
        tr["principal_paid"][:, :, p] = ctx.prin_paid
        tr["interest_shortfall"][:, :, p] = unpaid_int
        tr["end_balance"][:, :, p] = bal
        tr["residual"][:, idx[_equity(deal)], p] = ctx.residual
        fe["paid"][:, :, p] = ctx.fee_paid
        fe["unpaid"][:, :, p] = unpaid_fee
        ac["revenue"][:, p] = revenue_coll
        ac["principal_collections"][:, p] = principal_coll
        ac["reserve_draw"][:, p] = ctx.reserve_draw
        ac["reserve_deposit"][:, p] = ctx.reserve_deposit
        ac["reserve_end"][:, p] = reserve
        ac["pdl"][:, p] = pdl
        ac["residual"][:, p] = ctx.residual
        rated_int = (int_due * rated[None, :]).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            es = np.where(
                pool_begin > 0,
                (revenue_coll - fee_due.sum(axis=1) - rated_int)
                / pool_begin
                * deal.dates.periods_per_year,
                0.0,
            )
        ac["excess_spread"][:, p] = es
        es_hist.append(es)
        ac["oc_collateral"][:, p] = pool_end + reserve

        # ---- triggers (act from the next period) ------------------------------------------------
        for k, t in enumerate(deal.triggers):
            breach = _test(
                t,
                deal,
                ctx.int_owed,
                bal,
                idx,
                pool_end,
                reserve,
                cum_default,
                original_pool,
                purchased,
                es_hist,
                R,
                fee_owed,
                int_due,
            )
            trig_state[:, k] = breach if t.curable else (trig_state[:, k] | breach)
        trig_out[:, :, p] = trig_state

    # The run ends when no scenario has cash or notes left (or at the legal final).
    active = (
        (po["begin_balance"] > 0).any(axis=0)
        | (tr["begin_balance"].sum(axis=1) > 0).any(axis=0)
        | (ac["revenue"] + ac["principal_collections"] > 0).any(axis=0)
    )
    T = int(np.flatnonzero(active)[-1]) + 1 if active.any() else 1
    tr = {k: v[:, :, :T] for k, v in tr.items()}
    fe = {k: v[:, :, :T] for k, v in fe.items()}
    po = {k: v[:, :T] for k, v in po.items()}
    ac = {k: v[:, :T] for k, v in ac.items()}
    trig_out = trig_out[:, :, :T]
    ledger = book.freeze()
    ledger = Ledger(ledger.entries, ledger.amounts[:, :, :T])
    result = RunResult(
        deal=deal,
        scenario_names=sset.names,
        dates=sched.dates[:T],
        accrual_start=sched.accrual_start[:T],
        year_fractions=sched.year_fractions[:T],
        tranche_names=names,
        fee_names=tuple(f.name for f in fees),
        trigger_names=tuple(t.name for t in deal.triggers),
        tranche=tr,
        fee=fe,
        pool=po,
        account=ac,
        trigger=trig_out,
        ledger_data=ledger,
        original_balances=original_face,
        pool_balance=original_pool,
    )
    return result


def _equity(deal: Deal) -> str:
    return next(t.name for t in deal.tranches if t.kind == "equity")


def _covered(deal: Deal) -> set[str]:
    if deal.reserve is None:
        return set()
    if deal.reserve.covers:
        return set(deal.reserve.covers)
    out = {f"fee:{f.name}" for f in deal.fees}
    out |= {f"interest:{t.name}" for t in deal.tranches if not t.is_deferrable}
    return out


def _reserve_target(deal: Deal, bal: F64, rated: NDArray[np.bool_], pool_begin: F64) -> F64:
    rs = deal.reserve
    if rs is None:
        return np.zeros(bal.shape[0])
    notes = (bal * rated[None, :]).sum(axis=1)
    base = notes if rs.basis == "notes" else pool_begin
    return np.where(notes > 0, np.maximum(rs.target * base, rs.floor), 0.0)


class _Ctx:
    """Mutable per-period state the waterfall steps act on (arrays over scenarios)."""

    def __init__(
        self,
        S: int,
        p: int,
        book: _Book,
        bal: F64,
        int_owed: F64,
        fee_owed: F64,
        reserve: F64,
        covers: set[str],
        idx: dict[str, int],
        fee_idx: dict[str, int],
        pdl: F64,
        eff: dict[str, NDArray[np.bool_]],
        target: F64,
    ) -> None:
        self.S, self.p, self.book = S, p, book
        self.bal = bal.copy()
        self.int_owed = int_owed.copy()
        self.fee_owed = fee_owed.copy()
        self.reserve = reserve.copy()
        self.covers = covers
        self.idx, self.fee_idx = idx, fee_idx
        self.pdl = pdl.copy()
        self.eff = eff
        self.int_paid = np.zeros_like(bal)
        self.prin_paid = np.zeros_like(bal)
        self.fee_paid = np.zeros_like(fee_owed)
        self.residual = np.zeros(S)
        self.reserve_draw = np.zeros(S)
        self.reserve_deposit = np.zeros(S)
        self.purchase_cash = np.zeros(S)
        self.transfer_to_principal = np.zeros(S)
        self.target = target
        self.combined = False

    def run(
        self,
        steps: Sequence[Step],
        funds: F64,
        account: str,
        mask: NDArray[np.bool_],
        revolving: NDArray[np.bool_],
        *,
        combined: bool = False,
    ) -> F64:
        """Apply ``steps`` to ``funds`` (from ``account``) where ``mask``; return what is left.

        ``combined``: revenue and principal are one pocket (post-default), so
        moving revenue to principal is meaningless and skipped.
        """
        self.combined = combined
        for step in steps:
            funds = self._step(step, funds, account, mask, revolving)
        return funds

    def _pay(
        self, owed: F64, funds: F64, mask: NDArray[np.bool_], covered: bool
    ) -> tuple[F64, F64, F64]:
        """Pay ``owed`` from ``funds`` (and the reserve if covered).

        Returns (paid from funds, drawn from the reserve, funds left).
        """
        paid = np.where(mask, np.minimum(funds, owed), 0.0)
        funds = funds - paid
        draw = np.zeros(self.S)
        if covered:
            draw = np.where(mask, np.minimum(self.reserve, owed - paid), 0.0)
            self.reserve = self.reserve - draw
            self.reserve_draw += draw
        return paid, draw, funds

    def _step(
        self,
        step: Step,
        funds: F64,
        account: str,
        mask: NDArray[np.bool_],
        revolving: NDArray[np.bool_],
    ) -> F64:
        p, book, label = self.p, self.book, str(step)
        a = step.action
        if a == "fee":
            j = self.fee_idx[step.targets[0]]
            paid, draw, funds = self._pay(self.fee_owed[:, j], funds, mask, label in self.covers)
            self.fee_owed[:, j] -= paid + draw
            self.fee_paid[:, j] += paid + draw
            book.add(label, account, f"fee:{step.targets[0]}", p, paid)
            if draw.any():
                book.add(label, "reserve", f"fee:{step.targets[0]}", p, draw)
        elif a == "interest":
            i = self.idx[step.targets[0]]
            paid, draw, funds = self._pay(self.int_owed[:, i], funds, mask, label in self.covers)
            self.int_owed[:, i] -= paid + draw
            self.int_paid[:, i] += paid + draw
            book.add(label, account, f"{step.targets[0]}", p, paid)
            if draw.any():
                book.add(label, "reserve", f"{step.targets[0]}", p, draw)
        elif a == "principal":
            i = self.idx[step.targets[0]]
            paid = np.where(mask, np.minimum(funds, self.bal[:, i]), 0.0)
            self.bal[:, i] -= paid
            self.prin_paid[:, i] += paid
            funds = funds - paid
            book.add(label, account, f"{step.targets[0]}", p, paid)
        elif a == "pro_rata":
            ids = [self.idx[t] for t in step.targets]
            seq = self.eff["sequential"] & mask
            pr = ~self.eff["sequential"] & mask
            owed = self.bal[:, ids]
            total = owed.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(total > 0, np.minimum(funds / total, 1.0), 0.0)
            pay_pr = owed * share[:, None]
            pay_seq = np.zeros_like(owed)
            left = np.where(seq, funds, 0.0)
            for k in range(len(ids)):
                pay_seq[:, k] = np.minimum(left, owed[:, k])
                left -= pay_seq[:, k]
            pay = np.where(pr[:, None], pay_pr, 0.0) + np.where(seq[:, None], pay_seq, 0.0)
            for k, i in enumerate(ids):
                self.bal[:, i] -= pay[:, k]
                self.prin_paid[:, i] += pay[:, k]
                book.add(label, account, step.targets[k], p, pay[:, k])
            funds = funds - pay.sum(axis=1)
        elif a == "reserve":
            need = np.maximum(self.target - self.reserve, 0.0)
            dep = np.where(mask, np.minimum(funds, need), 0.0)
            self.reserve = self.reserve + dep
            self.reserve_deposit += dep
            funds = funds - dep
            book.add(label, account, "reserve", p, dep)
        elif a == "cover_defaults":
            if account != "principal_funds" and not self.combined:
                move = np.where(mask, np.minimum(funds, self.pdl), 0.0)
                self.pdl = self.pdl - move
                self.transfer_to_principal += move
                funds = funds - move
                book.add(label, account, "principal_funds", p, move)
        elif a == "reinvest":
            buy = np.where(mask & revolving, funds, 0.0)
            self.purchase_cash += buy
            funds = funds - buy
            book.add(label, account, "seller", p, buy)
        elif a == "residual":
            divert = self.eff["divert_excess_spread"] & mask & (self.bal.sum(axis=1) > 0)
            if account == "revenue" and not self.combined:
                move = np.where(divert, funds, 0.0)
                self.transfer_to_principal += move
                book.add("divert_excess_spread", account, "principal_funds", p, move)
                funds = funds - move
            rest = np.where(mask, funds, 0.0)
            self.residual += rest
            book.add(label, account, "equity", p, rest)
            funds = funds - rest
        return funds


def _test(
    t: Trigger,
    deal: Deal,
    int_owed: F64,
    bal: F64,
    idx: dict[str, int],
    pool_end: F64,
    reserve: F64,
    cum_default: F64,
    original_pool: float,
    purchased: F64,
    es_hist: list[F64],
    revenue: F64,
    fee_owed: F64,
    int_due: F64,
) -> NDArray[np.bool_]:
    """Whether trigger ``t`` is breached this period, per scenario."""
    if t.kind == "cumulative_default":
        return np.asarray(cum_default / (original_pool + purchased) > t.level)
    if t.kind == "excess_spread":
        window = np.stack(es_hist[-t.periods :])
        full = len(es_hist) >= t.periods
        return np.asarray((window.mean(axis=0) < t.level) & full & (bal.sum(axis=1) > 0))
    name = t.tranche or next(x.name for x in deal.tranches if x.kind == "senior")
    i = idx[name]
    # Tranches are listed from senior to equity: this one and every note senior to it.
    upto = slice(0, i + 1)
    if t.kind == "oc":
        notes = bal[:, upto].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(notes > 0, (pool_end + reserve) / notes, np.inf)
        return np.asarray(ratio < t.level)
    if t.kind == "ic":
        due = int_due[:, upto].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(due > 0, (revenue - fee_owed.sum(axis=1)) / due, np.inf)
        return np.asarray(ratio < t.level)
    # interest_shortfall: interest due (this period or deferred) left unpaid, beyond a cent
    return np.asarray(int_owed[:, i] > 0.005)
