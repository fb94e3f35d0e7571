r"""Sizing the funding under rating targets and market constraints.

``size`` answers "how much of this book can the notes fund, at what cost, with
what cushion": the largest share of the pool for each rated class such that
the class loses nothing anywhere from zero stress up to its target, within
the market's constraints; the equity takes what the rated notes and the
over-collateralisation leave.

Targets are multiples of the base default curve (``units="default_mult"``) or
multiples of the base-case cumulative net loss of the deal's own collateral
(``units="cnl_multiple"``, see :mod:`.breakeven`), converted to the default
multiple that produces that CNL on the deal as given.

Constraints (all shares of the cut-off pool ``P``; ``OC`` the
over-collateralisation, ``R`` the initial reserve, ``s_i`` the rated sizes):

=========================  ================================================
``max_advance_rate`` a      :math:`\sum_i s_i \le a`
``min_retention`` x         the residual holder's first-loss stake, equity
                            notes + OC, is at least ``x`` of the pool
                            (:math:`\sum_i s_i \le 1 - x`) or of the notes
                            issued (:math:`\sum_i s_i \le 1 - x (1 - OC)`)
``min_equity`` e            equity notes :math:`1 - OC - \sum_i s_i \ge e`
``min_credit_enhancement``  for class ``j``: :math:`1 + R - \sum_{i:
{j: c}                      \mathrm{rank}_i \le \mathrm{rank}_j} s_i \ge c`
=========================  ================================================

Each constraint caps a sum of sizes.  Classes are sized in order of rank: a
class's room is the tightest cap less what its seniors already use; within
it, its size is bisected on one engine run at the target, then the winner is
checked on the whole grid ``0, step, ..., target`` and shrunk further if any
level loses (losses need not be monotone in the stress).  Sizes interact (a
junior's coupon spends excess spread that protects a senior), so rounds repeat
until no size moves more than ``tolerance``.  A request that no size meets
raises :class:`~abs_engine.errors.SizingError` naming the binding constraint.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.analytics.breakeven import (
    On,
    breakeven,
    cnl_base,
    collateral_cnl,
    losses,
)
from abs_engine.analytics.deal import AnalysedRun
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.spec import FREQUENCIES, Deal, deal_to_dict
from abs_engine.errors import SizingError, SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool

__all__ = ["SIZING_COLUMNS", "Sizing", "size"]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
Units = Literal["default_mult", "cnl_multiple"]

#: Columns of :attr:`Sizing.tranches`.
SIZING_COLUMNS = (
    "tranche",
    "class",
    "rank",
    "size",
    "balance",
    "coupon",
    "wal",
    "target",
    "target_units",
    "target_default_mult",
    "breakeven_multiple",
    "breakeven_cnl_multiple",
    "monotone",
    "binding",
    "credit_enhancement",
    "yield",
    "effective_yield",
    "irr_meaningful",
    "yield_reason",
)
_MIN_SIZE = 1e-6  # below this share of the pool a class has no room
#: The equity notes keep at least this share of the pool (a deal needs its equity class).
MIN_EQUITY = 1e-4


@dataclass(frozen=True, eq=False)
class Sizing:
    """The sized deal and what it costs.

    Attributes
    ----------
    deal : Deal
        The deal with the solved sizes (shares of the pool); write it with
        :meth:`to_toml`.
    tranches : pandas.DataFrame
        Per class (:data:`SIZING_COLUMNS`): size, balance, coupon, base-case
        WAL, target and achieved first-loss break-even (default multiple and
        multiple of base-case CNL), the binding constraint, credit enhancement
        at closing, base-case yield (the equity: the residual holder's IRR on
        its outlay) and whether it is meaningful.
    advance_rate : float
        Rated notes / pool.
    cost_of_debt : float
        Weighted average coupon of the rated notes, weights balance x WAL.
    excess_spread : float
        Base-case annualised excess spread, averaged over the deal's life
        weighted by pool balance.
    equity_irr : float
        Base-case IRR of the residual holder's outlay (sources and uses),
        nominal, compounded at the deal's payment frequency; NaN when not
        meaningful (``equity_irr_reason`` says why).
    equity_irr_effective : float
        The same as an annual effective rate.
    equity_irr_reason : str
    retention : float
        The residual holder's first-loss stake (equity notes + OC), a share of the pool.
    over_collateralisation : float
        Pool less every note, a share of the pool.
    constraints : mapping
        The constraints the sizing respected.
    passes : int
        Engine runs spent.
    """

    deal: Deal
    tranches: pd.DataFrame
    advance_rate: float
    cost_of_debt: float
    excess_spread: float
    equity_irr: float
    equity_irr_effective: float
    equity_irr_reason: str
    retention: float
    over_collateralisation: float
    constraints: Mapping[str, Any]
    passes: int

    def to_toml(self, path: str | Path) -> Path:
        """Write the sized deal spec, atomically; ``load_deal`` reads it back.

        The payment frequency is written by name (``"monthly"``) so it cannot be
        read as a number of payments a year; a comment records the targets and
        constraints.
        """
        import tomli_w

        from abs_engine.io import atomic_path

        p = Path(path)
        data = deal_to_dict(self.deal, base=p.parent.resolve() if p.parent else None)
        names = {v: k for k, v in FREQUENCIES.items()}
        months = self.deal.dates.frequency
        if months in names:
            data["dates"]["frequency"] = names[months]
        t = self.tranches
        targets = ", ".join(
            f"{n} {float(x):g}x {u}"
            for n, x, u in zip(t["tranche"], t["target"], t["target_units"], strict=True)
            if np.isfinite(float(x))
        )
        lines = [
            f"# Deal spec sized by abs_engine.size: {' '.join(self.deal.name.split())}",
            f"# payments every {months} month(s); sizes are shares of the cut-off pool",
            f"# targets (first loss from zero stress up to): {targets or 'none'}",
            f"# constraints: {_constraint_text(self.constraints)}",
            f"# advance rate {self.advance_rate:.4%}, equity IRR {self.equity_irr:.4%} "
            f"(nominal, payment frequency) on the residual holder's outlay",
        ]
        with atomic_path(p) as tmp:
            tmp.write_text("\n".join(lines) + "\n" + tomli_w.dumps(data))
        return p

    def summary(self) -> pd.Series:
        """The funding figures as a Series."""
        return pd.Series(
            {
                "advance_rate": self.advance_rate,
                "over_collateralisation": self.over_collateralisation,
                "retention": self.retention,
                "cost_of_debt": self.cost_of_debt,
                "excess_spread": self.excess_spread,
                "equity_irr": self.equity_irr,
                "equity_irr_effective": self.equity_irr_effective,
                "equity_irr_reason": self.equity_irr_reason,
                "engine_runs": self.passes,
            },
            name=self.deal.name,
        )


def _constraint_text(c: Mapping[str, Any]) -> str:
    parts = []
    for k, v in c.items():
        if v is None or (isinstance(v, Mapping) and not v):
            continue
        if isinstance(v, Mapping):
            v = ", ".join(f"{n} {x:g}" for n, x in v.items())
        parts.append(f"{k} {v}")
    return "; ".join(parts) or "none"


def _pool_of(deal: Deal, pool: Pool | Cohorts | None) -> Pool | Cohorts:
    if pool is not None:
        return pool
    if deal.pool.tape is None:
        raise SpecError("the deal names no tape; pass pool=", "pool.tape")
    return load_pool(deal.pool.tape, grades=deal.pool.grades)


def _balance(pool: Pool | Cohorts) -> float:
    return float(pool.balance) if isinstance(pool, Pool) else pool.total_balance


def _share(value: Any, where: str, *, upper: float = 1.0, zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(f"a share of the pool is a number (0.05 for 5%); got {value!r}", where)
    v = float(value)
    if not (np.isfinite(v) and (v >= 0 if zero else v > 0) and v <= upper):
        raise SpecError(f"a share of the pool in [0, {upper:g}]; got {value!r}", where)
    return v


@dataclass(frozen=True)
class _Cap:
    """``sum(size of members) <= limit``, named for error messages."""

    name: str
    members: frozenset[str]
    limit: float


@dataclass
class _Sizer:
    """State of one sizing: the engine, the order of classes, the caps, the checks."""

    deal: Deal
    pool: Pool | Cohorts
    on: On
    equity: str
    oc: float
    caps: list[_Cap]
    order: list[str]  # rated classes by rank, then list position
    step: float
    passes: int = 0

    def variant(self, share: Mapping[str, float]) -> Deal:
        """The deal with these rated sizes; the equity takes the rest less the OC."""
        rated = {n: round(max(v, 1e-9), 10) for n, v in share.items()}
        rest = round(1.0 - self.oc - sum(rated.values()), 10)
        equity_size = None if self.oc <= 0 else max(rest, 1e-9)
        tranches = tuple(
            dataclasses.replace(t, size=rated[t.name], amount=None)
            if t.name in rated
            else (
                dataclasses.replace(t, size=equity_size, amount=None)
                if t.name == self.equity
                else t
            )
            for t in self.deal.tranches
        )
        return dataclasses.replace(self.deal, tranches=tranches, spec=None)

    def survives(self, share: Mapping[str, float], name: str, levels: F64) -> bool:
        """Whether ``name`` loses nothing at any of ``levels`` with these sizes."""
        d = self.variant(share)
        res = run_deal(d, self.pool, ScenarioSet.from_arrays(default_mult=levels))
        self.passes += 1
        i = [t.name for t in d.tranches].index(name)
        return not bool(losses(res, self.on, [i]).any())

    def grid(self, target: float) -> F64:
        """``0, step, ..., target``: the whole range a class must survive."""
        levels = self.step * np.arange(int(np.floor(target / self.step + 1e-9)) + 1)
        return np.unique(np.append(levels, target))

    def room(self, share: Mapping[str, float], name: str) -> tuple[float, str]:
        """Largest size of ``name`` the caps allow with its seniors as they are, and the cap."""
        pos = self.order.index(name)
        seniors = set(self.order[:pos])
        best, why = np.inf, ""
        for cap in self.caps:
            if name not in cap.members:
                continue
            used = sum(share[n] for n in cap.members if n in seniors)
            if cap.limit - used < best:
                best, why = cap.limit - used, cap.name
        return float(best), why

    def squeeze(self, share: dict[str, float], after: str | None) -> None:
        """Shrink every class below ``after`` (all, if None) to fit the caps, in order."""
        start = 0 if after is None else self.order.index(after) + 1
        for n in self.order[start:]:
            ub, _ = self.room(share, n)
            share[n] = max(min(share[n], ub), 0.0)


def size(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    targets: Mapping[str, float] | None = None,
    *,
    units: Units = "default_mult",
    on: On = "principal",
    max_advance_rate: float | None = None,
    min_retention: float | None = None,
    retention_basis: Literal["pool", "notes"] = "pool",
    min_equity: float | None = None,
    min_credit_enhancement: Mapping[str, float] | None = None,
    over_collateralisation: float | None = None,
    tolerance: float = 1e-4,
    max_rounds: int = 4,
    scan_step: float = 0.05,
) -> Sizing:
    """Largest class sizes whose first loss lies beyond their targets, within the constraints.

    Parameters
    ----------
    deal : Deal
        The structure; the equity takes whatever the rated notes and the
        over-collateralisation leave.
    pool : Pool or Cohorts, optional
        Default: the deal's own tape.
    targets : mapping tranche -> multiple
        E.g. ``{"senior": 4.0, "mezzanine": 2.0}``: the senior loses nothing at
        any stress from zero up to 4x (``units``).  Rated classes without a
        target keep their size unless a constraint squeezes them.
    units : {"default_mult", "cnl_multiple"}
        Targets as multiples of the base default curve, or of the base-case
        cumulative net loss of the deal's collateral.
    on : {"principal", "interest"}
        What a class must not suffer: a principal loss, or unpaid interest.
    max_advance_rate : float, optional
        Rated notes at most this share of the pool.
    min_retention : float, optional
        The residual holder's first-loss stake (equity notes + OC) at least
        this share of the pool or of the notes (``retention_basis``); 0.05 for
        5% risk retention.
    retention_basis : {"pool", "notes"}
    min_equity : float, optional
        Equity notes at least this share of the pool.
    min_credit_enhancement : mapping tranche -> share, optional
        Credit enhancement at closing (subordination + OC + reserve, a share
        of the pool) at least this, per class.
    over_collateralisation : float, optional
        Pool less every note, a share of the pool (default: the deal's own).
    tolerance : float
        Precision of each size (share of the pool).
    max_rounds : int
        Rounds of sizing the classes in turn.
    scan_step : float
        Step of the grid from zero to the target (default multiples) on which
        every solved size is checked.

    Raises
    ------
    SizingError
        A constraint leaves no room for a class, or a class cannot reach its
        target at any size; the message names the binding constraint.
    """
    pool = _pool_of(deal, pool)
    if units not in ("default_mult", "cnl_multiple"):
        raise SpecError(f"units must be 'default_mult' or 'cnl_multiple'; got {units!r}", "units")
    if retention_basis not in ("pool", "notes"):
        raise SpecError(
            f"retention_basis must be 'pool' or 'notes'; got {retention_basis!r}", "retention_basis"
        )
    targets = dict(targets if targets is not None else {"senior": 4.0, "mezzanine": 2.0})
    names = [t.name for t in deal.tranches]
    for n, m in targets.items():
        if n not in names:
            raise SpecError(
                f"unknown tranche {n!r}; tranches are {', '.join(names)}", f"targets.{n}"
            )
        if deal.tranche(n).kind == "equity":
            raise SpecError("the equity tranche takes the rest; it is not sized", f"targets.{n}")
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0:
            raise SpecError(f"target multiple must be > 0; got {m!r}", f"targets.{n}")
    B0 = _balance(pool)
    if not B0 > 0:
        raise SpecError("the pool has no balance", "pool")
    amounts = deal.note_amounts(B0)
    oc = (
        _share(over_collateralisation, "over_collateralisation", upper=0.99)
        if over_collateralisation is not None
        else max(1.0 - sum(amounts.values()) / B0, 0.0)
    )
    equity = next(t.name for t in deal.tranches if t.kind == "equity")
    rank = dict(zip(names, deal.ranks, strict=True))
    rated = [t.name for t in deal.tranches if t.kind != "equity"]
    order = sorted(rated, key=lambda n: (rank[n], names.index(n)))
    reserve0 = deal.reserve.initial if deal.reserve is not None else 0.0
    every = frozenset(rated)
    caps = [
        _Cap(
            f"the pool (rated notes + over-collateralisation {oc:.2%} + equity notes of at least "
            f"{MIN_EQUITY:.2%})",
            every,
            1 - oc - MIN_EQUITY,
        )
    ]
    constraints: dict[str, Any] = {
        "over_collateralisation": round(oc, 10),
        "max_advance_rate": None,
        "min_retention": None,
        "min_equity": None,
        "min_credit_enhancement": {},
    }
    if max_advance_rate is not None:
        a = _share(max_advance_rate, "max_advance_rate")
        caps.append(_Cap(f"max_advance_rate {a:.2%}", every, a))
        constraints["max_advance_rate"] = a
    if min_retention is not None:
        x = _share(min_retention, "min_retention")
        limit = 1 - x if retention_basis == "pool" else 1 - x * (1 - oc)
        caps.append(
            _Cap(
                f"min_retention {x:.2%} of the {retention_basis} (equity notes + OC)", every, limit
            )
        )
        constraints["min_retention"] = f"{x:g} of the {retention_basis}"
    if min_equity is not None:
        e = _share(min_equity, "min_equity")
        caps.append(_Cap(f"min_equity {e:.2%} of the pool", every, 1 - oc - e))
        constraints["min_equity"] = e
    for n, c in (min_credit_enhancement or {}).items():
        where = f"min_credit_enhancement.{n}"
        if n not in names:
            raise SpecError(f"unknown tranche {n!r}; tranches are {', '.join(names)}", where)
        v = _share(c, where)
        members = frozenset(m for m in rated if rank[m] <= rank[n])
        if deal.tranche(n).kind == "equity":
            members = every  # the equity's enhancement is OC + reserve: it only checks
        caps.append(
            _Cap(
                f"min_credit_enhancement {n} {v:.2%} (reserve {reserve0:.2%})",
                members,
                1 + reserve0 - v,
            )
        )
        constraints["min_credit_enhancement"][n] = v
    if not rated:
        raise SizingError("the deal has no rated class to size")
    for cap in caps:
        if cap.limit < 0:
            raise SizingError(
                f"infeasible: {cap.name} leaves {cap.limit:.2%} of the pool for the rated notes; "
                "relax it"
            )
    # Credit enhancement the equity class asks for is OC + reserve: check, not size.
    for n, v in constraints["min_credit_enhancement"].items():
        if deal.tranche(n).kind == "equity" and oc + reserve0 < v - 1e-12:
            raise SizingError(
                f"infeasible: min_credit_enhancement {n} {v:.2%} but the equity's enhancement is "
                f"over-collateralisation + reserve = {oc + reserve0:.2%}; raise either"
            )

    mults = dict(targets)
    cnl_of_target: dict[str, float] = {}
    sizer = _Sizer(deal, pool, on, equity, oc, caps, order, float(scan_step))
    if units == "cnl_multiple":
        mults = _default_mults_for_cnl(sizer, targets)
        cnl_of_target = dict(targets)

    share = {n: amounts[n] / B0 for n in rated}
    sizer.squeeze(share, None)
    binding = dict.fromkeys(rated, "kept (no target)")
    for n in rated:
        ub, why = sizer.room({**share, n: 0.0}, n)
        if share[n] >= ub - 1e-12 and n not in targets:
            binding[n] = why
    sized_order = [n for n in order if n in targets]
    for _ in range(max(int(max_rounds), 1)):
        moved = 0.0
        for name in sized_order:
            ub, why = sizer.room(share, name)
            if ub < _MIN_SIZE:
                raise SizingError(
                    f"no room for {name}: {why} is used up by the classes senior to it "
                    f"({', '.join(f'{n} {share[n]:.2%}' for n in order[: order.index(name)])}); "
                    "raise the seniors' targets, cap them (max_advance_rate=, "
                    "min_credit_enhancement=) or relax the constraint"
                )
            new, hit = _solve_size(sizer, share, name, ub, mults[name], float(tolerance))
            binding[name] = why if hit else f"target {targets[name]:g}x ({units})"
            if new < _MIN_SIZE:
                raise SizingError(
                    f"{name} cannot reach its target {targets[name]:g}x ({units}) at any size: it "
                    f"loses below that stress even at {tolerance:g} of the pool; lower the target "
                    "or strengthen the classes below it"
                )
            moved = max(moved, abs(new - share[name]))
            share[name] = new
            sizer.squeeze(share, name)
        if moved <= tolerance:
            break

    sized = sizer.variant(share)
    base = AnalysedRun.of(run_deal(sized, pool, ScenarioSet.base()))
    sizer.passes += 1
    be = breakeven(sized, pool, list(targets), on=on, scan_step=scan_step) if targets else None
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
    ce0 = base.credit_enhancement_at_closing()
    base_cnl = float(collateral_cnl(base)[0])
    rows = []
    for t in sized.tranches:
        r = summ[summ["tranche"] == t.name].iloc[0]
        found = be[be["tranche"] == t.name] if be is not None else pd.DataFrame()
        bm = float(found["breakeven"].iloc[0]) if len(found) else np.nan
        rows.append(
            {
                "tranche": t.name,
                "class": t.kind,
                "rank": rank[t.name],
                "size": float(r["original_balance"]) / B0,
                "balance": float(r["original_balance"]),
                "coupon": t.coupon.rate,
                "wal": float(r["wal"]),
                "target": float(targets.get(t.name, np.nan)),
                "target_units": units if t.name in targets else "",
                "target_default_mult": float(mults.get(t.name, np.nan)),
                "breakeven_multiple": bm,
                "breakeven_cnl_multiple": float(found["loss_coverage_multiple"].iloc[0])
                if len(found)
                else np.nan,
                "monotone": bool(found["monotone"].iloc[0]) if len(found) else True,
                "binding": binding.get(t.name, "takes the rest" if t.name == equity else ""),
                "credit_enhancement": ce0[t.name],
                "yield": float(r["yield"]),
                "effective_yield": float(r["effective_yield"]),
                "irr_meaningful": bool(np.isfinite(r["yield"])),
                "yield_reason": str(r["yield_reason"]),
            }
        )
    frame = pd.DataFrame(rows, columns=list(SIZING_COLUMNS))
    frame.attrs["cnl_base"] = cnl_base(sized)
    frame.attrs["base_cumulative_net_loss"] = base_cnl
    frame.attrs["cnl_targets"] = cnl_of_target
    advance = sum(share.values())
    eq_row = frame[frame["tranche"] == equity].iloc[0]
    passes = sizer.passes + (int(be["passes"].iloc[0]) if be is not None else 0)
    log.info("sized %s in %d engine runs: advance rate %.4f", deal.name, passes, advance)
    equity_share = float(eq_row["size"])
    return Sizing(
        deal=sized,
        tranches=frame,
        advance_rate=advance,
        cost_of_debt=cost,
        excess_spread=xs,
        equity_irr=float(eq_row["yield"]),
        equity_irr_effective=float(eq_row["effective_yield"]),
        equity_irr_reason=str(eq_row["yield_reason"]),
        retention=equity_share + oc,
        over_collateralisation=oc,
        constraints=constraints,
        passes=passes,
    )


def _solve_size(
    sizer: _Sizer, share: dict[str, float], name: str, ub: float, target: float, tol: float
) -> tuple[float, bool]:
    """Largest size of ``name`` in ``(0, ub]`` surviving the whole range up to ``target``.

    Returns the size and whether the cap (not the target) bound it.
    """
    grid = sizer.grid(target)

    def layout(s: float) -> dict[str, float]:
        out = dict(share)
        out[name] = s
        sizer.squeeze(out, name)
        return out

    at_target = np.array([target])
    if sizer.survives(layout(ub), name, at_target) and sizer.survives(layout(ub), name, grid):
        return ub, True
    lo, hi = 0.0, ub
    while True:
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            if sizer.survives(layout(mid), name, at_target):
                lo = mid
            else:
                hi = mid
        if lo <= 0.0 or sizer.survives(layout(lo), name, grid):
            return lo, False
        # Loses somewhere below the target at this size: shrink and search again.
        hi, lo = lo, 0.0
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            if sizer.survives(layout(mid), name, grid):
                lo = mid
            else:
                hi = mid
        return lo, False


def _default_mults_for_cnl(sizer: _Sizer, targets: Mapping[str, float]) -> dict[str, float]:
    """The default multiple at which the deal's collateral CNL is ``target`` x the base case."""
    levels = np.concatenate([[1.0], np.linspace(0.0, 100.0, 401)])
    cnl = collateral_cnl(
        run_deal(sizer.deal, sizer.pool, ScenarioSet.from_arrays(default_mult=levels))
    )
    sizer.passes += 1
    base, grid, curve = float(cnl[0]), levels[1:], cnl[1:]
    if not base > 0:
        raise SizingError(
            "the base case has no cumulative net loss, so targets in multiples of it mean "
            "nothing; give targets as default multiples (units='default_mult')"
        )
    out = {}
    for n, k in targets.items():
        mult = curve / base
        above = np.flatnonzero(mult >= k)
        if above.size == 0:
            raise SizingError(
                f"targets.{n}: {k:g}x the base-case CNL is never reached (at most "
                f"{mult.max():.2f}x at 100x the default curve); lower the target"
            )
        j = int(above[0])
        if j == 0:
            out[n] = 0.0
            continue
        fine = np.linspace(grid[j - 1], grid[j], 65)
        c = collateral_cnl(
            run_deal(sizer.deal, sizer.pool, ScenarioSet.from_arrays(default_mult=fine))
        )
        sizer.passes += 1
        m = c / base
        i = int(np.flatnonzero(m >= k)[0]) if (m >= k).any() else fine.size - 1
        out[n] = float(fine[i])
    return out
