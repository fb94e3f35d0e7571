"""Sizing the funding, and the prospectus tables.

``size`` answers "how much of this book can the notes fund, at what cost,
with what cushion": the largest senior share of the pool whose break-even
default multiple is at least its target, then the mezzanine below it, the
equity taking the rest.

A tranche's break-even multiple is at least ``m`` exactly when the tranche
loses nothing at ``default_mult = m`` (losses rise with the stress), so each
size is found by bisection on one engine run per candidate at the target
stress.  Sizes interact (a mezzanine coupon spends excess spread that protects
the senior), so the tranches are sized in turn and the round repeated until
no size moves by more than the tolerance.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from abs_engine.analytics.breakeven import On, breakeven
from abs_engine.analytics.deal import AnalysedRun
from abs_engine.analytics.measures import wal, yield_from_price
from abs_engine.curves.assumptions import Assumptions, map_assumptions
from abs_engine.curves.curve import Constant
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.spec import CLASSES, Deal, write_deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool

__all__ = ["Sizing", "decrement_table", "price_yield_table", "size"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Sizing:
    """The sized deal and what it costs.

    Attributes
    ----------
    deal : Deal
        The deal with the solved tranche sizes (shares of the pool); write
        it with :meth:`to_toml`.
    tranches : pandas.DataFrame
        Per tranche: size, balance, coupon, base-case WAL, target and
        achieved break-even multiple.
    advance_rate : float
        Rated notes / pool balance.
    cost_of_debt : float
        Weighted average coupon of the rated notes, weights balance x WAL.
    excess_spread : float
        Base-case annualised excess spread, averaged over the deal's life
        weighted by pool balance.
    equity_irr : float
        Base-case yield of the equity at par (nominal, the deal's payment
        frequency).
    passes : int
        Engine runs spent.
    """

    deal: Deal
    tranches: pd.DataFrame
    advance_rate: float
    cost_of_debt: float
    excess_spread: float
    equity_irr: float
    passes: int

    def to_toml(self, path: str | Path) -> Path:
        """Write the sized deal spec (atomically)."""
        return write_deal(self.deal, path)

    def summary(self) -> pd.Series:
        """The funding figures as a Series."""
        return pd.Series(
            {
                "advance_rate": self.advance_rate,
                "cost_of_debt": self.cost_of_debt,
                "excess_spread": self.excess_spread,
                "equity_irr": self.equity_irr,
                "engine_runs": self.passes,
            },
            name=self.deal.name,
        )


def _pool_of(deal: Deal, pool: Pool | Cohorts | None) -> Pool | Cohorts:
    if pool is not None:
        return pool
    if deal.pool.tape is None:
        raise SpecError("the deal names no tape; pass pool=", "pool.tape")
    return load_pool(deal.pool.tape, grades=deal.pool.grades)


def _balance(pool: Pool | Cohorts) -> float:
    return float(pool.balance) if isinstance(pool, Pool) else pool.total_balance


def size(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    targets: Mapping[str, float] | None = None,
    *,
    on: On = "principal",
    tolerance: float = 1e-4,
    max_rounds: int = 4,
) -> Sizing:
    """Largest tranche sizes whose break-even default multiples reach their targets.

    Parameters
    ----------
    deal : Deal
        The structure; the equity tranche takes whatever the sized notes leave.
    pool : Pool or Cohorts, optional
        Default: the deal's own tape.
    targets : mapping tranche -> multiple
        E.g. ``{"senior": 4.0, "mezzanine": 2.0}``: the senior must survive
        4x the base default curve without losing principal.
    on : {"principal", "interest"}
        What the tranche must survive at its target.
    tolerance : float
        Precision of each size (share of the pool).
    max_rounds : int
        Rounds of sizing the tranches in turn.
    """
    pool = _pool_of(deal, pool)
    targets = dict(targets or {"senior": 4.0, "mezzanine": 2.0})
    names = [t.name for t in deal.tranches]
    for n, m in targets.items():
        if n not in names:
            raise SpecError(
                f"unknown tranche {n!r}; tranches are {', '.join(names)}", f"targets.{n}"
            )
        if deal.tranche(n).kind == "equity":
            raise SpecError("the equity tranche takes the rest; it is not sized", f"targets.{n}")
        if not m > 0:
            raise SpecError(f"target multiple must be > 0; got {m}", f"targets.{n}")
    equity = next(t.name for t in deal.tranches if t.kind == "equity")
    B0 = _balance(pool)
    rated = [t for t in deal.tranches if t.kind != "equity"]
    share = {t.name: (t.size if t.size is not None else (t.amount or 0.0) / B0) for t in rated}
    order = sorted(targets, key=lambda n: CLASSES.index(deal.tranche(n).kind))
    passes = 0

    def variant(sizes: Mapping[str, float]) -> Deal:
        return _resized(deal, {n: max(v, 1e-9) for n, v in sizes.items()}, equity)

    rank = {t.name: CLASSES.index(t.kind) for t in deal.tranches}
    rated_order = [t.name for t in sorted(rated, key=lambda t: rank[t.name])]

    def layout(name: str, s: float) -> dict[str, float]:
        """Sizes with ``name`` at ``s``: seniors as they are, juniors squeezed into what is left."""
        out = dict(share)
        out[name] = s
        left = (
            1.0 - sum(out[n] for n in rated_order if rank[n] <= rank[name] and n != name) - s - 1e-7
        )
        for n in rated_order:
            if rank[n] > rank[name] or (
                rank[n] == rank[name] and rated_order.index(n) > rated_order.index(name)
            ):
                out[n] = min(out[n], max(left, 0.0))
                left -= out[n]
        return out

    def whole(name: str, s: float) -> bool:
        nonlocal passes
        d = variant(layout(name, s))
        res = run_deal(d, pool, ScenarioSet.from_arrays(default_mult=[targets[name]]))
        passes += 1
        i = names.index(name)
        face = max(float(res.original_balances[name]), 1e-9)
        if on == "principal":
            return bool(res.tranche["principal_loss"][0, i].sum() <= 1e-9 * face)
        return bool((res.tranche["interest_shortfall"][0, i] <= 1e-9 * face).all())

    for _ in range(max_rounds):
        moved = 0.0
        for name in order:
            seniors = sum(
                share[n]
                for n in rated_order
                if rank[n] < rank[name]
                or (rank[n] == rank[name] and rated_order.index(n) < rated_order.index(name))
            )
            juniors = sum(1 for n in rated_order if n != name and rank[n] >= rank[name])
            lo, hi = 0.0, max(1.0 - seniors - 1e-6 * (juniors + 1), 0.0)  # room for tiny juniors
            if whole(name, hi):
                new = hi
            else:
                while hi - lo > tolerance:
                    mid = 0.5 * (lo + hi)
                    if whole(name, mid):
                        lo = mid
                    else:
                        hi = mid
                new = lo
            moved = max(moved, abs(new - share[name]))
            share.update(layout(name, new))
        if moved <= tolerance:
            break
    sized = variant(share)
    base = AnalysedRun.of(run_deal(sized, pool, ScenarioSet.base()))
    passes += 1
    be = breakeven(sized, pool, list(targets), on=on)
    summ = base.summary()
    rated_rows = summ[summ["class"] != "equity"]
    weights = rated_rows["original_balance"] * rated_rows["wal"]
    cost = (
        float((rated_rows["coupon"] * weights).sum() / weights.sum())
        if weights.sum() > 0
        else float("nan")
    )
    pool_bal = base.pool["begin_balance"][0]
    xs = (
        float((base.account["excess_spread"][0] * pool_bal).sum() / pool_bal.sum())
        if pool_bal.sum() > 0
        else float("nan")
    )
    eq = names.index(equity)
    eq_face = float(base.face(eq)[0])
    equity_irr = float("nan")
    if eq_face > 0:
        m = round(sized.dates.periods_per_year)
        equity_irr = float(
            yield_from_price(
                base.tranche_cashflows_array(eq), base.times(), np.array([eq_face]), m
            )[0]
        )
    rows = []
    for t in sized.tranches:
        r = summ[summ["tranche"] == t.name].iloc[0]
        hit = be[be["tranche"] == t.name]
        rows.append(
            {
                "tranche": t.name,
                "class": t.kind,
                "size": float(r["original_balance"]) / B0,
                "balance": float(r["original_balance"]),
                "coupon": t.coupon.rate,
                "wal": float(r["wal"]),
                "target_multiple": targets.get(t.name, np.nan),
                "breakeven_multiple": float(hit["breakeven"].iloc[0]) if len(hit) else np.nan,
            }
        )
    advance = sum(share.values())
    log.info("sized %s in %d engine runs: advance rate %.4f", deal.name, passes, advance)
    return Sizing(
        sized, pd.DataFrame(rows), advance, cost, xs, equity_irr, passes + int(be["passes"].iloc[0])
    )


def _resized(deal: Deal, sizes: Mapping[str, float], equity: str) -> Deal:
    """The deal with tranches re-sized (shares of the pool) and the equity taking the rest."""
    import dataclasses

    tranches = tuple(
        dataclasses.replace(t, size=None, amount=None)
        if t.name == equity
        else (
            dataclasses.replace(t, size=float(sizes[t.name]), amount=None) if t.name in sizes else t
        )
        for t in deal.tranches
    )
    return dataclasses.replace(deal, tranches=tranches, spec=None)


def _with_cpr_base(deal: Deal) -> Deal:
    """Every grade's prepayment curve replaced by a constant 1% CPR (so prepay_mult = CPR / 1%)."""
    import dataclasses

    def swap(a: Assumptions) -> Assumptions:
        return dataclasses.replace(a, prepay=Constant(0.01, "cpr"))

    return deal.with_assumptions(map_assumptions(deal.assumptions, swap))


def decrement_table(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    *,
    prepay_mults: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    cpr: Sequence[float] | None = None,
    tranches: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Percent of each note's original balance outstanding at each anniversary of closing.

    Columns are prepayment speeds — multiples of the base prepayment curve,
    or constant CPRs when ``cpr`` is given — and the last row is the WAL
    (years from closing) at each speed.
    """
    pool = _pool_of(deal, pool)
    if cpr is not None:
        engine_deal = _with_cpr_base(deal)
        mults = np.asarray(cpr, dtype=float) / 0.01
        labels = [f"{c:.0%} CPR" for c in cpr]
    else:
        engine_deal = deal
        mults = np.asarray(prepay_mults, dtype=float)
        labels = [f"{m:.0%} of base" for m in prepay_mults]
    res = AnalysedRun.of(
        run_deal(engine_deal, pool, ScenarioSet.from_arrays(labels, prepay_mult=mults))
    )
    closing = np.datetime64(deal.dates.closing)
    years = int(np.ceil((res.dates[-1] - closing).astype(int) / 365.25)) if res.n_periods else 0
    anniversaries = [
        closing.astype("datetime64[Y]") + np.timedelta64(k, "Y") for k in range(years + 1)
    ]
    ann_dates = [
        np.datetime64(f"{a}-{deal.dates.closing.month:02d}-{min(deal.dates.closing.day, 28):02d}")
        for a in anniversaries
    ]
    ann_dates[0] = closing
    t = res.times(deal.dates.closing)
    out: dict[str, pd.DataFrame] = {}
    for name in tranches or res.tranche_names:
        i = res.tranche_index(name)
        face = np.maximum(res.tranche["begin_balance"][:, i, 0], 1e-12)
        table = {}
        for k, d in enumerate(ann_dates):
            upto = res.dates <= d
            bal = (
                res.tranche["begin_balance"][:, i, 0]
                if not upto.any()
                else res.tranche["end_balance"][:, i, np.flatnonzero(upto)[-1]]
            )
            table["Closing" if k == 0 else str(d)] = 100.0 * bal / face
        frame = pd.DataFrame(table, index=labels).T
        wal_row = pd.DataFrame(
            [wal(res.tranche["principal_paid"][:, i], t)], index=["WAL (years)"], columns=labels
        )
        out[name] = pd.concat([frame.round(6), wal_row])
    return out


def price_yield_table(
    result: AnalysedRun,
    tranche: str,
    prices: Sequence[float] = (98.0, 99.0, 100.0, 101.0, 102.0),
) -> pd.DataFrame:
    """Yield of ``tranche`` at several prices (rows, percent of par) in each scenario (columns)."""
    rows = {}
    for px in prices:
        ys = result.yields({tranche: px})[tranche].yield_
        rows[f"{px:g}"] = ys
    frame = pd.DataFrame(rows, index=result.scenario_names).T
    frame.index.name = "price"
    return frame
