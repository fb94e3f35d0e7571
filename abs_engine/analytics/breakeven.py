"""Break-even default levels, loss coverage, and the stress-multiple table.

The break-even of a tranche is the smallest stress at which it first loses
principal (``on="principal"``) or misses interest (``on="interest"``).  The
stress is a multiple of the base default curve (``lever="default_mult"``) or
a constant annual default rate replacing it (``lever="cdr"``).

Solving is a vectorised bisection over a batch of candidate levels: every
engine pass runs ``candidates`` levels for every tranche still unsolved at
once (one scenario axis), and each tranche's bracket shrinks to the interval
between its highest passing and lowest failing candidate.  Taking the lowest
failing candidate keeps the answer conservative where loss is not monotone in
the stress.  The tolerance is the final bracket width, stated in the output.

Loss coverage multiple = the cut-off pool's cumulative net loss at the
break-even level / its cumulative net loss in the base case (the pool's own
projection, so the measure does not depend on the structure's mechanics).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.curves.assumptions import Assumptions, map_assumptions
from abs_engine.curves.curve import Constant
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.projection.engine import project

__all__ = ["Lever", "On", "breakeven", "cdr_deal", "stress_table"]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
Lever = Literal["default_mult", "cdr"]
On = Literal["principal", "interest"]

#: Base curve of the ``cdr`` lever: the multiplier is then CDR / 1%.
_CDR_BASE = 0.01


def cdr_deal(deal: Deal) -> Deal:
    """The deal with every grade's default curve replaced by a constant 1% CDR.

    With it, ``default_mult = x / 0.01`` runs a constant CDR of ``x`` (capped
    at 100%).  Roll-rate pipelines are dropped (the CDR is the default model).
    """

    def swap(a: Assumptions) -> Assumptions:
        return dataclasses.replace(a, default=Constant(_CDR_BASE, "cdr"), roll_rates=None)

    return deal.with_assumptions(map_assumptions(deal.assumptions, swap))


def _losses(result: RunResult, on: On, tranche_idx: Sequence[int]) -> NDArray[np.bool_]:
    """Whether each tranche loses principal (or misses interest), ``(scenario, tranche)``."""
    t = result.tranche
    out = np.zeros((result.n_scenarios, len(tranche_idx)), dtype=bool)
    for k, i in enumerate(tranche_idx):
        face = max(float(result.original_balances[result.tranche_names[i]]), 1.0)
        if on == "principal":
            out[:, k] = t["principal_loss"][:, i].sum(axis=1) > 1e-9 * face
        else:
            out[:, k] = (t["interest_shortfall"][:, i] > 1e-9 * face).any(axis=1)
    return out


def breakeven(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    tranches: Sequence[str] | None = None,
    *,
    lever: Lever = "default_mult",
    on: On = "principal",
    tolerance: float | None = None,
    upper: float | None = None,
    candidates: int = 15,
) -> pd.DataFrame:
    """Find the smallest stress at which each tranche loses principal (or misses interest).

    Parameters
    ----------
    deal : Deal
    pool : Pool or Cohorts, optional
        Default: the deal's own tape.
    tranches : sequence of str, optional
        Default: every tranche.
    lever : {"default_mult", "cdr"}
        Multiply the base default curve, or replace it by a constant CDR.
    on : {"principal", "interest"}
        What counts as breaking: a principal write-down, or any interest
        left unpaid (deferred interest counts).
    tolerance : float, optional
        Width of the final bracket (default 0.01 for a multiple, 0.0001 = 1bp
        for a CDR).
    upper : float, optional
        Highest level searched (default 100x, or 100% CDR).  A tranche that
        never breaks there gets ``breakeven = inf``.
    candidates : int
        Levels tried per tranche in each engine pass.

    Returns
    -------
    pandas.DataFrame
        One row per tranche: ``tranche, lever, on, breakeven,
        cumulative_net_loss, loss_coverage_multiple, tolerance, passes``.
    """
    if lever not in ("default_mult", "cdr"):
        raise SpecError(f"lever must be 'default_mult' or 'cdr'; got {lever!r}", "lever")
    if on not in ("principal", "interest"):
        raise SpecError(f"on must be 'principal' or 'interest'; got {on!r}", "on")
    if pool is None:
        if deal.pool.tape is None:
            raise SpecError("the deal names no tape; pass pool=", "pool.tape")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    names = list(tranches) if tranches is not None else [t.name for t in deal.tranches]
    for name in names:
        deal.tranche(name)  # KeyError with the known names
    idx = [[t.name for t in deal.tranches].index(n) for n in names]
    engine_deal = cdr_deal(deal) if lever == "cdr" else deal
    scale = 1.0 / _CDR_BASE if lever == "cdr" else 1.0

    def to_mult(x: F64 | Sequence[float] | float) -> F64:
        return np.asarray(x, dtype=np.float64) * scale

    tol = tolerance if tolerance is not None else (1e-4 if lever == "cdr" else 0.01)
    hi_level = upper if upper is not None else (1.0 if lever == "cdr" else 100.0)
    n = len(names)
    lo = np.zeros(n)
    hi = np.full(n, hi_level)
    never = np.zeros(n, dtype=bool)
    passes = 0

    # Is the tranche already broken at zero stress (or never broken at the top)?
    edge = run_deal(
        engine_deal,
        pool,
        ScenarioSet.from_arrays(["lo", "hi"], default_mult=[to_mult(0.0), to_mult(hi_level)]),
    )
    passes += 1
    broke = _losses(edge, on, idx)
    zero = broke[0]
    never = ~broke[1]
    hi = np.where(zero, 0.0, hi)
    solving = ~(zero | never)
    while solving.any() and np.max(np.where(solving, hi - lo, 0.0)) > tol:
        k = int(solving.sum())
        grid = (
            lo[solving, None]
            + (hi[solving] - lo[solving])[:, None]
            * (np.arange(1, candidates + 1) / (candidates + 1))[None, :]
        )
        levels = grid.reshape(-1)
        res = run_deal(engine_deal, pool, ScenarioSet.from_arrays(default_mult=to_mult(levels)))
        passes += 1
        rows = np.flatnonzero(solving)
        broken = _losses(res, on, [idx[r] for r in rows]).reshape(candidates * k, k)
        for j, r in enumerate(rows):
            mine = broken[j * candidates : (j + 1) * candidates, j]
            cand = grid[j]
            if mine.any():
                first = int(np.argmax(mine))
                hi[r] = cand[first]
                lo[r] = cand[first - 1] if first > 0 else lo[r]
            else:
                lo[r] = cand[-1]
        solving &= (hi - lo) > tol
    be = np.where(never, np.inf, hi)
    # The cut-off pool's own cumulative net loss at each break-even level and in the base case.
    levels = np.where(np.isfinite(be), be, hi_level)
    stressed = project(
        pool, engine_deal.assumptions, ScenarioSet.from_arrays(default_mult=to_mult(levels))
    )
    cnl = np.asarray(stressed.totals()["cumulative_net_loss"], dtype=np.float64)
    base_cnl = float(project(pool, deal.assumptions).totals()["cumulative_net_loss"].iloc[0])
    log.info("break-even of %d tranche(s) in %d engine passes", n, passes)
    return pd.DataFrame(
        {
            "tranche": names,
            "lever": lever,
            "on": on,
            "breakeven": be,
            "cumulative_net_loss": np.where(np.isfinite(be), cnl, np.nan),
            "loss_coverage_multiple": np.where(
                np.isfinite(be), cnl / base_cnl if base_cnl > 0 else np.inf, np.nan
            ),
            "tolerance": np.where(zero | never, 0.0, hi - lo),
            "passes": passes,
        }
    )


def stress_table(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    *,
    default_multiples: Sequence[float] = (1, 2, 3, 4, 5, 6),
    recovery_haircuts: Sequence[float] = (0.0, 0.5),
    prepay_multiples: Sequence[float] = (0.5, 1.0, 1.5),
    on: On = "principal",
) -> pd.DataFrame:
    """Pass/fail of every tranche over a grid of stresses, as rating agencies publish.

    Rows: tranche x recovery haircut x prepayment multiple; columns: the
    default multiples (``"1x"``, ``"2x"``...); ``True`` where the tranche
    loses nothing (``on="principal"``) or is paid all its interest
    (``on="interest"``).  A recovery haircut ``h`` cuts each grade's
    recovery rate ``1 - severity`` by the share ``h``: severity becomes
    ``1 - (1 - severity)(1 - h)``.
    """
    if pool is None:
        if deal.pool.tape is None:
            raise SpecError("the deal names no tape; pass pool=", "pool.tape")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    grades = tuple(pool.grades)
    base = deal.assumptions
    dm, hc, pm = np.meshgrid(
        np.asarray(default_multiples, float),
        np.asarray(recovery_haircuts, float),
        np.asarray(prepay_multiples, float),
        indexing="ij",
    )
    dm, hc, pm = dm.ravel(), hc.ravel(), pm.ravel()
    sev_mult: dict[str, F64] = {}
    for g in grades:
        sev = base.for_grade(g).severity
        sev_mult[g] = np.where(sev > 0, (1.0 - (1.0 - sev) * (1.0 - hc)) / max(sev, 1e-12), 1.0)
    scen = ScenarioSet.from_arrays(default_mult=dm, prepay_mult=pm, severity_mult=sev_mult)
    res = run_deal(deal, pool, scen)
    idx = list(range(len(res.tranche_names)))
    ok = ~_losses(res, on, idx)
    frame = pd.DataFrame(
        {
            "default_mult": np.tile(dm, len(idx)),
            "recovery_haircut": np.tile(hc, len(idx)),
            "prepay_mult": np.tile(pm, len(idx)),
            "tranche": np.repeat(np.asarray(res.tranche_names, dtype=object), dm.size),
            "pass": ok.T.reshape(-1),
        }
    )
    table = frame.pivot_table(
        index=["tranche", "recovery_haircut", "prepay_mult"],
        columns="default_mult",
        values="pass",
        aggfunc="all",
        sort=False,
    )
    table.columns = [f"{c:g}x" for c in table.columns]
    return table.reindex(res.tranche_names, level=0)
