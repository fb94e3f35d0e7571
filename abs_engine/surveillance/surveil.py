"""The monthly cycle: servicer data in, the trustee's waterfall on actual cash, the state out.

:func:`surveil` sums the servicer's months into the deal's collection
periods, applies the priority of payments to them with
:func:`abs_engine.deal.run_on_collections` (the same engine as a projection:
fees, note interest, principal, reserve, PDL and write-downs, revolving
purchases, triggers tested on the actual figures), and returns a
:class:`Surveillance`: the actual run, tidy tables for the trustee report, the
deal's state after the last period (``[state]`` TOML via
:func:`abs_engine.deal.write_deal`), the base case re-projected from that
state, actual against projected with its statistical signals, and the
deal-level early warning.

Conventions
-----------
* Servicer months map to payment periods by the engine's calendar
  (``docs/waterfall.md``): the history must start with the first month after
  the cut-off (or ``state.as_of``) and end with a payment period's last
  collection month.
* Receivables bought on a payment date are in the pool for the whole
  collection month in which that date falls: a period's ``begin_balance`` is
  its first month's opening balance plus its months' purchases.  What the
  waterfall buys on a payment date is reconciled with the ``purchases`` the
  servicer reports in the next month (table ``reconciliation``).
* Without a ``loss`` column, a charged-off balance is taken as worked out
  after its grade's recovery lag ``L``: the loss of month ``t`` is
  ``max(default[t - L] - recovery[t], 0)``.
* The re-projection runs the deal from the returned state on the current
  pool: the given current tape, or, without one, the cut-off pool (and every
  receivable bought since) aged by the base case to the last month and
  scaled, grade by grade, to the servicer's closing balances; receivables
  bought on the last payment date join it as fresh template receivables.
  Recoveries still due on receivables charged off in the last ``L`` months
  are added as the base case expects them (``1 - severity`` of the
  defaulted balance, ``L`` months after the default; ``pending`` of
  :func:`abs_engine.deal.run`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine._frozen import FrozenMap
from abs_engine.analytics.deal import AnalysedRun
from abs_engine.analytics.deal import run as run_analysed
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.deal.engine import run_on_collections, template_cohorts
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal, DealState
from abs_engine.errors import AbsError, ServicerError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.projection.engine import project
from abs_engine.projection.schedule import balance_factors
from abs_engine.surveillance._calendar import Calendar, deal_calendar, period_collections
from abs_engine.surveillance.generate import BaseProjection, base_projection, cohorts_by_grade
from abs_engine.surveillance.performance import actual_vs_projected, with_pool
from abs_engine.surveillance.servicer import (
    COUNT_COLUMN,
    DELINQUENCY_COLUMNS,
    ServicerHistory,
    as_servicer_history,
)

__all__ = ["TRIGGER_COLUMNS", "Surveillance", "surveil", "trigger_table"]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]

#: Columns of the trigger table: one row per trigger and period.
TRIGGER_COLUMNS = (
    "period",
    "date",
    "trigger",
    "type",
    "tranche",
    "value",
    "level",
    "breach_if",
    "tested_breach",
    "breached",
    "headroom",
    "effects",
)


# --- the result ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Surveillance:
    """One surveillance cycle: the actual waterfall, the state after it, and the analysis.

    Attributes
    ----------
    deal : Deal
        The deal surveilled.
    history : ServicerHistory
        The servicer's months.
    result : AnalysedRun
        The priority of payments on the actual collections, one payment
        period per column (``result.tranche``, ``.account``, ``.ledger`` ...).
    state : DealState
        The deal's position after the last period (``as_of`` the end of its
        collections): ``dataclasses.replace(deal, state=state)`` re-projects.
    reprojection : AnalysedRun or None
        The base case run from ``state`` to the end of the deal (None when
        there is no current pool to run; ``notes`` says why).
    base : BaseProjection or None
        The base case in servicer form (the comparator), when known.
    tables : mapping of name to DataFrame
        The tidy tables (see :meth:`tables_info`); the trustee workbook has
        one sheet each.
    notes : tuple of str
        What was derived or is unavailable, and why.
    settings : mapping
        ``k``, Monte Carlo paths and seed, and the other choices made.
    """

    deal: Deal
    history: ServicerHistory
    result: AnalysedRun
    state: DealState
    reprojection: AnalysedRun | None
    base: BaseProjection | None
    tables: Mapping[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", FrozenMap(dict(self.tables)))
        object.__setattr__(self, "settings", FrozenMap(dict(self.settings)))

    @property
    def n_periods(self) -> int:
        """Payment periods surveilled."""
        return self.result.n_periods

    @property
    def as_of(self) -> Any:
        """End of the last collection month surveilled."""
        return self.state.as_of

    def seasoned_deal(self) -> Deal:
        """The deal with its ``[state]`` after the last period (write it with ``write_deal``)."""
        return dataclasses.replace(self.deal, state=self.state)

    def write(self, out_dir: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Write the trustee report, workbook, state and tables (:func:`.report.write`)."""
        from abs_engine.surveillance.report import write

        return write(self, out_dir, **kwargs)

    def __repr__(self) -> str:
        return (
            f"Surveillance({self.deal.name!r}: {self.history.n_months} months, "
            f"{self.n_periods} payment periods to {self.as_of})"
        )


# --- checks against the deal -------------------------------------------------------------------


def _check(deal: Deal, history: ServicerHistory) -> tuple[Calendar, int]:
    unknown = [g for g in history.grades if g not in deal.pool.grades]
    if unknown:
        problems = pd.DataFrame(
            {
                "row": -1,
                "period_end": None,
                "grade": unknown,
                "column": "grade",
                "value": np.nan,
                "problem": f"not a grade of the deal ({', '.join(deal.pool.grades)})",
            }
        )
        raise ServicerError(
            f"servicer report grades {unknown} are not grades of the deal "
            f"({', '.join(deal.pool.grades)}); fix the report or the deal's pool.grades",
            problems,
        )
    cal = deal_calendar(deal)
    if history.first_month != cal.start + 1:
        origin = "state.as_of" if deal.state is not None else "cut-off"
        raise ServicerError(
            f"the servicer report starts with the month ending {history.months[0]}, but the "
            f"deal's first collection month after its {origin} ends on {cal.first_month_end}: "
            f"give the months from {cal.first_month_end} on"
        )
    return cal, cal.periods_for(history.n_months)


def _monthly(deal: Deal, history: ServicerHistory) -> tuple[dict[str, F64], list[str]]:
    """The history's arrays ``(grade, month)``, with ``loss`` derived when not given."""
    notes: list[str] = []
    data = {k: np.array(v) for k, v in history.data.items()}
    if not history.has_loss:
        lag = np.array([deal.assumptions.for_grade(g).recovery_lag for g in history.grades])
        M = history.n_months
        loss = np.zeros_like(data["default"])
        for gi, L in enumerate(lag):
            if L < M:
                worked = np.zeros(M)
                worked[L:] = data["default"][gi, : M - L]
                loss[gi] = np.maximum(worked - data["recovery"][gi], 0.0)
        data["loss"] = loss
        notes.append(
            "The servicer report gives no realised losses: a charged-off balance is taken as "
            "worked out after its grade's recovery lag (loss = default L months earlier less "
            "the month's recoveries)."
        )
    return data, notes


# --- tables of the actual run -------------------------------------------------------------------

_STEP_LABELS = {
    "collections": "collections",
    "reserve_funding": "reserve funded at closing",
    "reserve_release": "reserve release",
    "reserve": "reserve deposit",
    "cover_defaults": "PDL cured from revenue",
    "reimburse_writedowns": "write-downs reimbursed from revenue",
    "divert_excess_spread": "excess spread diverted to principal",
    "reinvest": "revolving purchases",
    "residual": "residual to equity",
    "reinstated_principal": "reinstated principal",
    "clean_up_call": "clean-up call proceeds",
    "post_default_release": "reserve released (post-default)",
    "post_default_pool": "principal funds pooled (post-default)",
}


def _item(step: str, src: str, dst: str) -> str:
    """A trustee-report label of a ledger entry."""
    action, _, target = step.partition(":")
    if step == "collections":
        return "collections: interest and fees" if dst == "revenue" else "collections: principal"
    if action in ("fee", "interest"):
        label = f"{action} {target}" if action == "fee" else f"interest {dst}"
    elif action in ("principal", "pro_rata"):
        label = f"principal {dst}"
    else:
        label = _STEP_LABELS.get(step, step)
    if src == "reserve" and action in ("fee", "interest"):
        label += " (reserve draw)"
    elif step == "residual":
        label += f" (from {'revenue' if src == 'revenue' else 'principal'})"
    elif step == "reserve_release" and dst == "equity":
        label = "reserve released to equity"
    return label


def distributions_table(result: RunResult, scenario: int = 0) -> pd.DataFrame:
    """Every movement of cash of every period, in waterfall order, with its line item."""
    lg = result.ledger_data
    rows = []
    for k, (step, src, dst) in enumerate(lg.entries):
        amt = lg.amounts[k, scenario]
        for t in np.flatnonzero(amt != 0):
            rows.append((int(t) + 1, k, step, src, dst, _item(step, src, dst), float(amt[t])))
    frame = pd.DataFrame(rows, columns=["period", "order", "step", "from", "to", "item", "amount"])
    frame = frame.sort_values(["period", "order"], kind="stable").drop(columns="order")
    frame.insert(1, "date", pd.to_datetime(result.dates[frame["period"].to_numpy() - 1]))
    return frame.reset_index(drop=True)


def notes_table(result: RunResult, scenario: int = 0) -> pd.DataFrame:
    """Per period and class: balances and factors, interest due, paid and short, principal."""
    s = scenario
    N, T = len(result.tranche_names), result.n_periods
    tr = result.tranche
    face = np.array([result.original_balances[n] for n in result.tranche_names])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(face[:, None] > 0, tr["end_balance"][s] / face[:, None], np.nan)
    return pd.DataFrame(
        {
            "period": np.tile(np.arange(1, T + 1), N),
            "date": pd.to_datetime(np.tile(result.dates, N)),
            "tranche": np.repeat(np.asarray(result.tranche_names, dtype=object), T),
            "begin_balance": tr["begin_balance"][s].reshape(-1),
            "interest_due": tr["interest_due"][s].reshape(-1),
            "interest_paid": tr["interest_paid"][s].reshape(-1),
            "interest_shortfall": tr["interest_shortfall"][s].reshape(-1),
            "principal_paid": tr["principal_paid"][s].reshape(-1),
            "writedown": tr["writedown"][s].reshape(-1),
            "reinstatement": tr["reinstatement"][s].reshape(-1),
            "unreimbursed_writedown": tr["unreimbursed_writedown"][s].reshape(-1),
            "end_balance": tr["end_balance"][s].reshape(-1),
            "factor": factor.reshape(-1),
            "residual": tr["residual"][s].reshape(-1),
        }
    )


def accounts_table(result: RunResult, scenario: int = 0) -> pd.DataFrame:
    """Per period: the reserve account, the PDL and the deal-level amounts."""
    s = scenario
    ac, po = result.account, result.pool
    T = result.n_periods
    return pd.DataFrame(
        {
            "period": np.arange(1, T + 1),
            "date": pd.to_datetime(result.dates),
            "collection_end": pd.to_datetime(result.collection_end),
            "pool_begin": po["begin_balance"][s],
            "pool_end": po["end_balance"][s],
            "purchases": po["purchases"][s],
            "revenue": ac["revenue"][s],
            "principal_collections": ac["principal_collections"][s],
            "reserve_begin": ac["reserve_begin"][s],
            "reserve_release": ac["reserve_release"][s],
            "reserve_draw": ac["reserve_draw"][s],
            "reserve_deposit": ac["reserve_deposit"][s],
            "reserve_end": ac["reserve_end"][s],
            "reserve_target": ac["reserve_target"][s],
            "pdl": ac["pdl"][s],
            "cumulative_default": ac["cumulative_default"][s],
            "defaulted_pending": ac["defaulted_pending"][s],
            "excess_spread": ac["excess_spread"][s],
            "residual": ac["residual"][s],
        }
    )


def fees_table(result: RunResult, scenario: int = 0) -> pd.DataFrame:
    """Per period and fee: due, paid, unpaid."""
    s = scenario
    F, T = len(result.fee_names), result.n_periods
    return pd.DataFrame(
        {
            "period": np.tile(np.arange(1, T + 1), F),
            "date": pd.to_datetime(np.tile(result.dates, F)),
            "fee": np.repeat(np.asarray(result.fee_names, dtype=object), T),
            "due": result.fee["due"][s].reshape(-1),
            "paid": result.fee["paid"][s].reshape(-1),
            "unpaid": result.fee["unpaid"][s].reshape(-1),
        }
    )


def trigger_table(result: RunResult, scenario: int = 0) -> pd.DataFrame:
    """One row per trigger and period: the tested value against its level.

    Values are those the engine tests (``docs/waterfall.md``, step 16):

    * ``cumulative_default``: cumulative defaults / (cut-off pool +
      receivables bought so far), breached above ``level``;
    * ``excess_spread``: the average annualised excess spread of the last
      ``periods`` periods (NaN until there are that many), breached below
      ``level`` while notes are outstanding;
    * ``oc``: (performing pool + reserve) / notes of the class and every
      class ranking with or ahead of it, breached below ``level`` (NaN once
      those notes are repaid);
    * ``ic``: interest and fee collections less fees owed / interest due on
      the same classes, breached below ``level``;
    * ``interest_shortfall``: the class's unpaid interest, breached above
      half a cent.

    ``tested_breach`` is this period's test; ``breached`` the trigger's
    state after it (a non-curable trigger stays breached): the engine's
    own flag, which acts from the next period.  ``headroom`` is how far the
    value is from breach in its own units (positive: not breached).
    """
    s = scenario
    deal = result.deal
    T = result.n_periods
    st = deal.state
    tr, ac, po = result.tranche, result.account, result.pool
    ranks = np.asarray(deal.ranks)
    names = result.tranche_names
    end = tr["end_balance"][s]
    notes_total = end.sum(axis=0)
    purchased = (st.purchased if st is not None else 0.0) + np.cumsum(po["purchases"][s])
    parts = []
    for k, t in enumerate(deal.triggers):
        level = float(t.level)
        if t.kind == "cumulative_default":
            value = ac["cumulative_default"][s] / (result.pool_balance + purchased)
            tested = value > level
            headroom = level - value
            breach_if = "above"
        elif t.kind == "excess_spread":
            hist = [*(st.excess_spread_history if st is not None else ()), *ac["excess_spread"][s]]
            offset = len(hist) - T
            value = np.full(T, np.nan)
            for p in range(T):
                upto = offset + p + 1
                if upto >= t.periods:
                    value[p] = float(np.mean(hist[upto - t.periods : upto]))
            tested = np.nan_to_num(value, nan=np.inf) < level
            tested &= notes_total > 0
            headroom = value - level
            breach_if = "below"
        elif t.kind in ("oc", "ic"):
            name = t.tranche or next(x.name for x in deal.tranches if x.kind == "senior")
            i = names.index(name)
            upto = ranks <= ranks[i]
            if t.kind == "oc":
                den = end[upto].sum(axis=0)
                num = ac["oc_collateral"][s]
            else:
                den = tr["interest_due"][s][upto].sum(axis=0)
                num = ac["interest_after_fees"][s]
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
            tested = np.nan_to_num(value, nan=np.inf) < level
            headroom = value - level
            breach_if = "below"
        else:  # interest_shortfall
            name = t.tranche or next(x.name for x in deal.tranches if x.kind == "senior")
            i = names.index(name)
            value = tr["interest_shortfall"][s][i]
            level = 0.005
            tested = value > level
            headroom = level - value
            breach_if = "above"
        parts.append(
            pd.DataFrame(
                {
                    "period": np.arange(1, T + 1),
                    "date": pd.to_datetime(result.dates),
                    "trigger": t.name,
                    "type": t.kind,
                    "tranche": t.tranche or "",
                    "value": np.asarray(value, dtype=np.float64),
                    "level": level,
                    "breach_if": breach_if,
                    "tested_breach": np.asarray(tested, dtype=bool),
                    "breached": result.trigger[s, k],
                    "headroom": np.asarray(headroom, dtype=np.float64),
                    "effects": ", ".join(t.effects),
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: [] for c in TRIGGER_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(TRIGGER_COLUMNS)]


def _collateral_table(
    history: ServicerHistory, monthly: Mapping[str, F64], cutoff: F64
) -> pd.DataFrame:
    """Monthly servicer figures by grade and for the pool, with the performance measures."""
    from abs_engine.surveillance.performance import measures

    groups = (*history.grades, "pool")
    data = with_pool(monthly)
    G1, M = len(groups), history.n_months
    cols: dict[str, Any] = {
        "period_end": pd.to_datetime(np.tile(history.months, G1)),
        "month": np.tile(np.arange(1, M + 1), G1),
        "group": np.repeat(np.asarray(groups, dtype=object), M),
    }
    order = (
        "begin_balance",
        "purchases",
        "scheduled_principal",
        "prepayment",
        "default",
        "end_balance",
        "interest",
        "fee",
        "recovery",
        "loss",
        "advanced_principal",
        "advanced_interest",
        *DELINQUENCY_COLUMNS,
    )
    cols.update({f: data[f].reshape(-1) for f in order})
    if history.has_counts:
        cols[COUNT_COLUMN] = data[COUNT_COLUMN].reshape(-1)
    cols.update({k: v.reshape(-1) for k, v in measures(data, cutoff).items()})
    return pd.DataFrame(cols)


def _reconciliation(
    result: RunResult, history: ServicerHistory, ends: NDArray[np.int64]
) -> pd.DataFrame:
    """What the waterfall bought on each payment date against the next month's reported purchases."""
    bought = result.pool["purchases"][0]
    reported = history.total("purchases")
    rows = []
    for p in range(result.n_periods):
        m = int(ends[p])  # next month (0-based index)
        rep = float(reported[m]) if m < history.n_months else np.nan
        rows.append(
            {
                "period": p + 1,
                "date": pd.Timestamp(result.dates[p]),
                "bought_by_waterfall": float(bought[p]),
                "reported_next_month": rep,
                "difference": rep - float(bought[p]) if np.isfinite(rep) else np.nan,
            }
        )
    return pd.DataFrame(rows)


# --- the re-projection ------------------------------------------------------------------------


def _aged(cohorts: Cohorts, months: int, deal: Deal, scale: F64 | None = None) -> Cohorts | None:
    """``cohorts`` as the base case has them ``months`` later (None if nothing is left).

    Each cohort keeps its type and rate; age and remaining term move on by
    ``months``; the balance is the base-case projection's; the flat fee (a
    fixed amount per surviving receivable) shrinks with the survival factor
    ``balance / (B0 x contractual factor)``.  ``scale`` (per cohort) is a
    purchase amount.
    """
    # Receivables delinquent at cut-off under a default curve roll one bucket a month to
    # default (docs/collateral.md): those still alive are that much later now.
    curve_grade = np.array(
        [deal.assumptions.for_grade(g).roll_rates is None for g in cohorts.grades], dtype=bool
    )
    bucket = cohorts.dpd_bucket.astype(np.int64)
    rolling = curve_grade[cohorts.grade] & (bucket >= 1) & (bucket + months <= 3)
    dpd_all = np.where(rolling, bucket + months, 0) if months else bucket
    if months == 0:
        aged = cohorts
        balance = cohorts.balance.copy()
        fee = cohorts.fee.copy()
        orig = cohorts.original_balance.copy()
        dpd = dpd_all
    else:
        cf = project(
            cohorts, deal.assumptions, by="cohort", **deal.projection_options(per_unit=True)
        )
        end = cf.array("end_balance")[0, :, months - 1] if months <= cf.n_periods else 0.0
        end = np.broadcast_to(end, (len(cohorts),)).astype(np.float64)
        A = balance_factors(cohorts, months)[:, months]
        with np.errstate(divide="ignore", invalid="ignore"):
            survival = np.where(A > 0, end / np.where(A > 0, cohorts.balance * A, 1.0), 0.0)
        live = ((cohorts.remaining_term > months) | rolling) & (end > 1e-12)
        if not live.any():
            return None
        aged = cohorts.select(live)
        balance = end[live]
        fee = cohorts.fee[live] * np.where(rolling, 1.0, survival)[live]
        orig = cohorts.original_balance[live] * np.where(rolling, 1.0, survival)[live]
        scale = scale[live] if scale is not None and np.ndim(scale) else scale
        dpd = dpd_all[live]
    s = 1.0 if scale is None else scale
    return Cohorts(
        aged.grades,
        aged.grade,
        aged.payment_type,
        np.maximum(aged.remaining_term - months, 1),  # a rolling receivable past its term
        aged.age + months,
        dpd.astype(np.int8),
        balance * s,
        aged.rate,
        fee * s,
        orig * s,
        aged.count,
        aged.default_mult,
    )


def _concat(parts: Sequence[Cohorts]) -> Cohorts:
    first = parts[0]
    fields = (
        "grade",
        "payment_type",
        "remaining_term",
        "age",
        "dpd_bucket",
        "balance",
        "rate",
        "fee",
        "original_balance",
        "count",
        "default_mult",
    )
    arrays = [np.concatenate([getattr(c, f) for c in parts]) for f in fields]
    return Cohorts(first.grades, *arrays)


def _scaled(c: Cohorts, factor: F64) -> Cohorts:
    f = factor[c.grade.astype(np.int64)]
    return dataclasses.replace(
        c, balance=c.balance * f, fee=c.fee * f, original_balance=c.original_balance * f
    )


def current_pool(
    deal: Deal,
    cutoff: Cohorts,
    result: RunResult,
    history: ServicerHistory,
    ends: NDArray[np.int64],
) -> Cohorts | None:
    """The pool at the last month as the base case ages it, scaled to the reported balances.

    The cut-off receivables and every purchase (at the waterfall's amounts,
    split as the template) are aged to the last month; each grade is then
    scaled to the servicer's closing balance of that grade.  What the last
    payment date buys is added, fresh and unscaled.
    """
    M = history.n_months
    parts = [a for a in [_aged(cutoff, M, deal)] if a is not None]
    bought = result.pool["purchases"][0]
    fresh: Cohorts | None = None
    if deal.revolving is not None and bought.any():
        tpl = template_cohorts(deal, tuple(cutoff.grades))
        for p in np.flatnonzero(bought > 0):
            age = M - int(ends[p])
            aged = _aged(tpl, age, deal, np.full(len(tpl), bought[p]))
            if aged is None:
                continue
            if age == 0:
                fresh = aged
            else:
                parts.append(aged)
    G = len(cutoff.grades)
    actual = np.zeros(G)
    for gi, g in enumerate(history.grades):
        actual[cutoff.grades.index(g)] = history["end_balance"][gi, -1]
    pool_now: Cohorts | None = None
    if parts:
        aged_all = _concat(parts)
        model = cohorts_by_grade(aged_all)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(model > 0, actual / np.where(model > 0, model, 1.0), 0.0)
        unmatched = (actual > 0.005) & (model <= 0)
        if unmatched.any():
            grades = [cutoff.grades[i] for i in np.flatnonzero(unmatched)]
            raise AbsError(
                f"the servicer reports a balance for grade(s) {grades} that the base case has "
                "paid off: give the current tape (tape=) to re-project"
            )
        pool_now = _scaled(aged_all, factor)
        keep = pool_now.balance > 1e-9
        pool_now = pool_now.select(keep) if keep.any() else None
    if fresh is not None:
        pool_now = fresh if pool_now is None else _concat([pool_now, fresh])
    return pool_now


def pending_recoveries(
    deal: Deal, monthly: Mapping[str, F64], grades: Sequence[str]
) -> dict[str, F64]:
    """Recoveries and losses the base case expects on the last months' charge-offs.

    Month ``j`` after ``as_of`` recovers ``(1 - severity) x`` the defaults of
    month ``M + j - L`` (grade lag ``L``, ``M`` months surveilled); the rest
    of that balance is lost then.
    """
    M = monthly["default"].shape[-1]
    lags = [deal.assumptions.for_grade(g).recovery_lag for g in grades]
    horizon = max(lags, default=0)
    rec = np.zeros(horizon)
    loss = np.zeros(horizon)
    for gi, g in enumerate(grades):
        a = deal.assumptions.for_grade(g)
        L = a.recovery_lag
        for j in range(1, L + 1):
            src = M + j - L  # 1-based month of the default
            if 1 <= src <= M:
                d = float(monthly["default"][gi, src - 1])
                rec[j - 1] += (1.0 - a.severity) * d
                loss[j - 1] += a.severity * d
    return {"recovery": rec, "loss": loss}


# --- surveil ---------------------------------------------------------------------------------------


def _pool_of(deal: Deal, pool: Pool | Cohorts | str | os.PathLike[str] | None) -> Cohorts | None:
    if pool is None:
        if deal.pool.tape is None or not deal.pool.tape.exists():
            return None
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    elif isinstance(pool, (str, os.PathLike)):
        pool = load_pool(pool, grades=deal.pool.grades)
    return pool.cohorts() if isinstance(pool, Pool) else pool


def surveil(
    deal: Deal,
    servicer: ServicerHistory | pd.DataFrame | str | os.PathLike[str],
    *,
    pool: Pool | Cohorts | str | os.PathLike[str] | None = None,
    tape: Pool | str | os.PathLike[str] | None = None,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None = None,
    mc_paths: int = 200,
    seed: int = 0,
    k: float = 3.0,
) -> Surveillance:
    """Run one surveillance cycle on the servicer's months.

    Parameters
    ----------
    deal : Deal
        The deal, from its closing (or with the ``[state]`` the history starts after).
    servicer : ServicerHistory, DataFrame or path
        The servicer report (validated; see :mod:`.servicer`).
    pool : Pool, Cohorts or path, optional
        The cut-off pool (default: the deal's tape, when it exists): the base
        case the deal was priced on, the Monte Carlo band, and without a
        current tape the pool the re-projection starts from.
    tape : Pool or path, optional
        The current tape (performing receivables at the last month): the
        re-projection starts from it, and a graded tape's early-warning flags
        are counted.
    scenarios : optional
        Scenarios of the re-projection (default the base case).
    mc_paths : int
        Monte Carlo paths of the statistical band (0: no band).
    seed : int
        Seed of the Monte Carlo.
    k : float
        Standard errors beyond which a measure is flagged.

    Returns
    -------
    Surveillance

    Raises
    ------
    ServicerError
        The report is inconsistent, or does not fit the deal's calendar or grades.
    """
    from abs_engine.surveillance.early_warning import early_warning_tables

    history = as_servicer_history(servicer)
    cal, T = _check(deal, history)
    ends = cal.ends[:T]
    monthly, notes = _monthly(deal, history)
    flows = {k_: v.sum(axis=0) for k_, v in monthly.items() if k_ not in DELINQUENCY_COLUMNS}
    flows.pop(COUNT_COLUMN, None)
    coll = period_collections(flows, ends)
    st = deal.state
    B0 = (
        float(st.original_pool_balance)
        if st is not None and st.original_pool_balance
        else float(coll["begin_balance"][0])
    )
    raw = run_on_collections(deal, coll, pool_balance=B0)
    expected = np.array([cal.month_end(int(e)) for e in ends], dtype="datetime64[D]")
    if not np.array_equal(raw.collection_end.astype("datetime64[D]"), expected):
        raise AbsError(  # pragma: no cover - the calendars are one rule
            "internal: the surveillance calendar and the engine's collection periods differ"
        )
    result = AnalysedRun.of(raw)
    state = result.state_after(-1)

    cutoff = _pool_of(deal, pool)
    base: BaseProjection | None = None
    band: dict[str, F64] | None = None
    if cutoff is None:
        notes.append(
            "No cut-off pool (the deal's tape or pool=): no base-case comparison, Monte Carlo "
            "band or re-projection without a current tape."
        )
    elif st is not None:
        notes.append(
            "The deal was handed over mid-life ([state]): actual against projected needs the "
            "base case from the closing and is left out."
        )
    else:
        base = base_projection(deal, cutoff)
        if base.n_months < history.n_months:
            base = base_projection(deal, cutoff, extra_months=history.n_months - base.n_months)
        if mc_paths > 0:
            from abs_engine.stress.montecarlo import MonteCarloSpec, monte_carlo

            table = monte_carlo(deal, cutoff, MonteCarloSpec(n_paths=mc_paths, seed=seed))
            paths = base_projection(
                deal, cutoff, table.scenarios, extra_months=max(0, history.n_months - base.n_months)
            )
            band = _months_by_grade(paths, history)
    grades = history.grades
    groups = (*grades, "pool")
    cut_g = _opening_by_group(monthly)
    tables: dict[str, pd.DataFrame] = {}
    tables["collateral"] = _collateral_table(history, monthly, cut_g)
    tables["distributions"] = distributions_table(result)
    tables["notes"] = notes_table(result)
    tables["fees"] = fees_table(result)
    tables["accounts"] = accounts_table(result)
    tables["triggers"] = trigger_table(result)
    tables["reconciliation"] = _reconciliation(result, history, ends)
    projected = None
    if base is not None:
        projected = with_pool(_months_by_grade(base, history, scenario=0))
    counts = with_pool({"n": monthly[COUNT_COLUMN]})["n"] if history.has_counts else None
    tables["performance"] = actual_vs_projected(
        with_pool(monthly),
        projected,
        with_pool(band) if band is not None else None,
        cut_g,
        groups=groups,
        months=history.months,
        counts=counts,
        k=k,
    )
    if not history.has_delinquency:
        notes.append(
            "The servicer report gives no delinquency buckets: delinquency measures are NaN."
        )

    # --- re-projection -----------------------------------------------------------------------
    reprojection: AnalysedRun | None = None
    current: Pool | Cohorts | None = None
    if tape is not None:
        current_tape = tape if isinstance(tape, Pool) else load_pool(tape, grades=deal.pool.grades)
        current = current_tape.cohorts()
        bought_last = float(result.pool["purchases"][0, -1])
        if bought_last > 0:
            tpl = template_cohorts(deal, tuple(current.grades))
            fresh = _aged(tpl, 0, deal, np.full(len(tpl), bought_last))
            assert fresh is not None
            current = _concat([current, fresh])
    elif cutoff is not None and st is None:
        current = current_pool(deal, cutoff, result, history, ends)
        notes.append(
            "No current tape: the re-projection starts from the cut-off pool (and the receivables "
            "bought since) aged by the base case and scaled by grade to the reported balances."
        )
    seasoned = dataclasses.replace(deal, state=state)
    ended = len(cal.ends) == T
    if ended:
        notes.append("The history reaches the deal's legal final: nothing is left to re-project.")
    elif current is None or len(current) == 0:
        notes.append("No current pool to re-project from (give the current tape).")
    else:
        pending = pending_recoveries(deal, monthly, grades)
        reprojection = run_analysed(
            seasoned, current, scenarios, pending=pending if pending["recovery"].size else None
        )
    ew = early_warning_tables(
        deal,
        history,
        monthly,
        result,
        tables["triggers"],
        reprojection,
        tape=tape,
        base=base,
    )
    tables.update(ew)
    if reprojection is not None:
        tables["reprojection"] = reprojection.summary()
        tables["reprojection_notes"] = notes_table(reprojection)
    settings = {"k": k, "mc_paths": mc_paths if base is not None else 0, "seed": seed}
    log.info("surveilled %s: %d months, %d periods", deal.name, history.n_months, T)
    return Surveillance(
        deal=deal,
        history=history,
        result=result,
        state=state,
        reprojection=reprojection,
        base=base,
        tables=tables,
        notes=tuple(notes),
        settings=settings,
    )


def _months_by_grade(
    base: BaseProjection, history: ServicerHistory, scenario: int | None = None
) -> dict[str, F64]:
    """The base arrays on the history's months and grades: ``(S, G, M)`` (or one scenario)."""
    M = history.n_months
    gi = [base.grades.index(g) for g in history.grades]
    out = {}
    for f, v in base.data.items():
        a = v[:, gi, :M]
        out[f] = a[scenario] if scenario is not None else a
    return out


def _opening_by_group(monthly: Mapping[str, F64]) -> F64:
    """Balance per group (grades, then the pool) at the start of the history.

    The cut-off balance for a deal surveilled from its closing (the basis of
    pool factors and cumulative rates).
    """
    first = monthly["begin_balance"][:, 0]
    return np.concatenate([first, [first.sum()]])
