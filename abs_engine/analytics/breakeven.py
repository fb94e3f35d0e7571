r"""Break-even default levels, loss coverage, and the stress-multiple table.

The break-even of a tranche is the smallest stress at which it first loses
principal (``on="principal"``: a final ``principal_loss``, the claim never
repaid) or misses interest (``on="interest"``).  The stress is a multiple of
the base default curve (``lever="default_mult"``) or a constant annual default
rate replacing it (``lever="cdr"``).

Losses need not be monotone in the stress: pro-rata classes with a
sequential-switch trigger can lose at a lower level, stop losing once a
higher stress trips the trigger, and lose again further up.  So the solver

1. **scans** a grid from zero in steps of ``scan_step`` (every level of the
   grid, all tranches at once: the levels are one scenario axis, ``scan_batch``
   per engine pass) until every tranche has broken or ``upper`` is reached,
   takes each tranche's first failing level :math:`x_f`, and records whether
   any level above a failing one passes (``monotone = False``): the levels
   scanned, then one more pass of ``scan_batch`` levels spread from the end
   of the scan up to ``upper`` (``scanned_to``);
2. **bisects** the first failing bracket :math:`(x_f - \text{step}, x_f]`:
   each engine pass tries ``candidates`` levels inside every unsolved bracket
   and keeps the interval between the highest passing candidate below the
   lowest failing one and that failing one, until its width is at most
   ``tolerance``.

The break-even is the failing end of the final bracket (conservative), the
first loss of the scan grid to the tolerance.  A failing window narrower than
``scan_step`` lying entirely between two scan levels can be missed: the scan
step is the resolution of the search, stated in the output.

Loss units.  Besides the lever, each break-even is stated as a **multiple of
the base-case cumulative net loss** of the deal's own collateral:

.. math::

    \text{CNL} = \frac{\sum_t (\text{defaults}_t - \text{recoveries}_t)}
                      {\text{cut-off pool} + \text{receivables bought}}, \qquad
    \text{loss coverage multiple} = \frac{\text{CNL at the break-even}}{\text{CNL in the base case}}

over the deal run (to the legal final, or the clean-up call), the revolving
period's purchases included; ``cnl_base`` says which base was used.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.analytics._engine import principal_loss
from abs_engine.curves.assumptions import Assumptions, map_assumptions
from abs_engine.curves.curve import Constant
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool

__all__ = [
    "BREAKEVEN_COLUMNS",
    "Lever",
    "On",
    "breakeven",
    "cdr_deal",
    "cnl_base",
    "collateral_cnl",
    "stress_table",
]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]
B8 = NDArray[np.bool_]
Lever = Literal["default_mult", "cdr"]
On = Literal["principal", "interest"]

#: Base curve of the ``cdr`` lever: the multiplier is then CDR / 1%.
_CDR_BASE = 0.01
#: A loss below this share of the class's original balance is rounding dust.
LOSS_EPS = 1e-9

BREAKEVEN_COLUMNS = (
    "tranche",
    "lever",
    "on",
    "breakeven",
    "tolerance",
    "monotone",
    "scan_step",
    "scanned_to",
    "cumulative_net_loss",
    "base_cumulative_net_loss",
    "loss_coverage_multiple",
    "cnl_base",
    "passes",
)


def cdr_deal(deal: Deal) -> Deal:
    """The deal with every grade's default curve replaced by a constant 1% CDR.

    With it, ``default_mult = x / 0.01`` runs a constant CDR of ``x`` (capped
    at 100%).  Roll-rate pipelines are dropped (the CDR is the default model).
    """

    def swap(a: Assumptions) -> Assumptions:
        return dataclasses.replace(a, default=Constant(_CDR_BASE, "cdr"), roll_rates=None)

    return deal.with_assumptions(map_assumptions(deal.assumptions, swap))


def losses(result: RunResult, on: On, tranche_idx: Sequence[int]) -> B8:
    """Whether each tranche loses principal (or misses interest), ``(scenario, tranche)``.

    Principal: a final ``principal_loss`` above :data:`LOSS_EPS` of the
    original balance (a write-down later reinstated is not a loss).  Interest:
    any unpaid interest carried at the end of any period.
    """
    t = result.tranche
    loss = principal_loss(result) if on == "principal" else None
    out = np.zeros((result.n_scenarios, len(tranche_idx)), dtype=bool)
    for k, i in enumerate(tranche_idx):
        face = max(float(result.original_balances[result.tranche_names[i]]), 1.0)
        if loss is not None:
            out[:, k] = loss[:, i] > LOSS_EPS * face
        else:
            out[:, k] = (t["interest_shortfall"][:, i] > LOSS_EPS * face).any(axis=1)
    return out


def collateral_cnl(result: RunResult) -> F64:
    """Cumulative net loss of the deal's collateral per scenario, a share of what it held.

    ``sum(defaults - recoveries) / (cut-off pool + receivables bought)`` over the run.
    """
    held = result.pool_balance + result.pool["purchases"].sum(axis=1)
    net = (result.pool["default"] - result.pool["recovery"]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(held > 0, net / np.where(held > 0, held, 1.0), np.nan))


def cnl_base(deal: Deal) -> str:
    """What a CNL rate is a share of, in words."""
    if deal.revolving is not None:
        return "cut-off pool + receivables bought in the revolving period"
    return "cut-off pool"


def _pool(deal: Deal, pool: Pool | Cohorts | None) -> Pool | Cohorts:
    if pool is not None:
        return pool
    if deal.pool.tape is None:
        raise SpecError("the deal names no tape; pass pool=", "pool.tape")
    return load_pool(deal.pool.tape, grades=deal.pool.grades)


def _positive(value: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(f"must be a number; got {value!r}", where)
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise SpecError(f"must be a positive number; got {value!r}", where)
    return v


@dataclasses.dataclass(eq=False)
class _Probe:
    """Runs the engine at stress levels and says which tranches break."""

    deal: Deal
    pool: Pool | Cohorts
    scale: float
    on: On
    idx: tuple[int, ...]
    passes: int = 0

    def broken(self, levels: F64) -> B8:
        """``(level, tranche)``: whether each tranche breaks at each level (lever units)."""
        res = run_deal(
            self.deal, self.pool, ScenarioSet.from_arrays(default_mult=levels * self.scale)
        )
        self.passes += 1
        return losses(res, self.on, self.idx)


def scan(probe: _Probe, upper: float, step: float, batch: int) -> tuple[F64, B8]:
    """Levels ``0, step, 2 step, ...`` up to ``upper``, a batch per engine pass.

    Stops after the batch in which the last tranche first breaks.  Returns the
    levels scanned and ``broken (level, tranche)``.
    """
    count = int(np.floor(upper / step + 1e-9)) + 1
    levels = step * np.arange(count, dtype=np.float64)
    if levels[-1] < upper - 1e-12:
        levels = np.append(levels, upper)
    parts: list[B8] = []
    done = 0
    for a in range(0, levels.size, batch):
        part = probe.broken(levels[a : a + batch])
        parts.append(part)
        done = a + part.shape[0]
        if np.concatenate(parts).any(axis=0).all():
            break
    return levels[:done], np.concatenate(parts)


def bisect_first(
    probe: _Probe, lo: F64, hi: F64, tol: float, candidates: int, rows: NDArray[np.int64]
) -> tuple[F64, F64]:
    """Shrink brackets ``(lo, hi]`` (``hi`` fails, ``lo`` passes) of tranches ``rows``.

    Each engine pass tries ``candidates`` levels inside every unsolved bracket;
    the new bracket ends at the lowest failing candidate.
    """
    lo, hi = lo.copy(), hi.copy()
    solving = np.zeros(lo.size, dtype=bool)
    solving[rows] = True
    solving &= (hi - lo) > tol
    frac = np.arange(1, candidates + 1) / (candidates + 1)
    while solving.any():
        which = np.flatnonzero(solving)
        grid = lo[which, None] + (hi[which] - lo[which])[:, None] * frac[None, :]
        broken = probe.broken(grid.reshape(-1)).reshape(which.size, candidates, -1)
        for j, r in enumerate(which):
            mine = broken[j, :, r]
            if mine.any():
                first = int(np.argmax(mine))
                hi[r] = grid[j, first]
                lo[r] = grid[j, first - 1] if first > 0 else lo[r]
            else:
                lo[r] = grid[j, -1]
        solving &= (hi - lo) > tol
    return lo, hi


def breakeven(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    tranches: Sequence[str] | None = None,
    *,
    lever: Lever = "default_mult",
    on: On = "principal",
    tolerance: float | None = None,
    upper: float | None = None,
    scan_step: float | None = None,
    scan_batch: int = 256,
    candidates: int = 15,
) -> pd.DataFrame:
    """The smallest stress at which each tranche first loses principal (or misses interest).

    Scans a grid from zero, then bisects the first failing bracket (see the
    module notes); correct where losses are not monotone in the stress.

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
        What counts as breaking: a final principal loss, or any interest left
        unpaid (deferred interest counts).
    tolerance : float, optional
        Width of the final bracket (default 0.01 for a multiple, 0.0001 = 1bp
        for a CDR).
    upper : float, optional
        Highest level scanned (default 100x, or 100% CDR).  A tranche that
        never breaks up to there gets ``breakeven = inf``.
    scan_step : float, optional
        Step of the scan grid (default 0.05x, or 0.0025 = 25bp of CDR): the
        resolution at which a failing window is sure to be seen.
    scan_batch : int
        Scan levels per engine pass.
    candidates : int
        Levels tried per tranche in each bisection pass.

    Returns
    -------
    pandas.DataFrame
        One row per tranche, columns :data:`BREAKEVEN_COLUMNS`:
        ``breakeven`` (lever units; 0 if the tranche breaks unstressed, inf if
        never), ``tolerance`` (width of the final bracket), ``monotone`` (no
        scanned level above a failing one passes, up to ``scanned_to``), ``cumulative_net_loss`` of
        the collateral at the break-even and in the base case, their ratio
        ``loss_coverage_multiple``, ``cnl_base`` and the engine ``passes``.
    """
    if lever not in ("default_mult", "cdr"):
        raise SpecError(f"lever must be 'default_mult' or 'cdr'; got {lever!r}", "lever")
    if on not in ("principal", "interest"):
        raise SpecError(f"on must be 'principal' or 'interest'; got {on!r}", "on")
    pool = _pool(deal, pool)
    names = list(tranches) if tranches is not None else [t.name for t in deal.tranches]
    for name in names:
        deal.tranche(name)  # KeyError with the known names
    all_names = [t.name for t in deal.tranches]
    idx = tuple(all_names.index(n) for n in names)
    engine_deal = cdr_deal(deal) if lever == "cdr" else deal
    scale = 1.0 / _CDR_BASE if lever == "cdr" else 1.0
    tol = (
        _positive(tolerance, "tolerance")
        if tolerance is not None
        else (1e-4 if lever == "cdr" else 0.01)
    )
    top = _positive(upper, "upper") if upper is not None else (1.0 if lever == "cdr" else 100.0)
    step = (
        _positive(scan_step, "scan_step")
        if scan_step is not None
        else (0.0025 if lever == "cdr" else 0.05)
    )
    if int(scan_batch) < 1 or int(candidates) < 1:
        raise SpecError("scan_batch and candidates must be >= 1", "scan_batch")
    n = len(names)
    probe = _Probe(engine_deal, pool, scale, on, idx)
    levels, broken = scan(probe, top, step, int(scan_batch))
    fails: B8 = np.asarray(broken.any(axis=0), dtype=bool)
    first = np.where(fails, broken.argmax(axis=0), -1)
    monotone = np.array([bool(broken[first[j] :, j].all()) if fails[j] else True for j in range(n)])
    if levels[-1] < top:  # look above the scan too: one pass of levels spread up to ``upper``
        check = np.linspace(levels[-1], top, int(scan_batch) + 1)[1:]
        monotone &= probe.broken(check).all(axis=0) | ~fails
        scanned_to = top
    else:
        scanned_to = float(levels[-1])
    hi = np.where(fails, levels[np.maximum(first, 0)], np.inf)
    lo = np.where(first > 0, levels[np.maximum(first - 1, 0)], 0.0)
    rows = np.flatnonzero(first > 0)
    lo, hi = bisect_first(probe, lo, np.where(fails, hi, 0.0), tol, int(candidates), rows)
    be = np.where(fails, np.where(first == 0, 0.0, hi), np.inf)
    width = np.where(first > 0, hi - lo, 0.0)
    # The collateral's cumulative net loss at each break-even and in the base case.
    at = np.where(np.isfinite(be), be, top) * scale
    if lever == "default_mult":
        both = collateral_cnl(
            run_deal(deal, pool, ScenarioSet.from_arrays(default_mult=np.append(at, 1.0)))
        )
        cnl, base_cnl = both[:-1], float(both[-1])
        passes = probe.passes + 1
    else:
        cnl = collateral_cnl(run_deal(engine_deal, pool, ScenarioSet.from_arrays(default_mult=at)))
        base_cnl = float(collateral_cnl(run_deal(deal, pool, ScenarioSet.base()))[0])
        passes = probe.passes + 2
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(np.isfinite(be), cnl / base_cnl if base_cnl > 0 else np.inf, np.nan)
    log.info("break-even of %d tranche(s) in %d engine passes", n, passes)
    return pd.DataFrame(
        {
            "tranche": names,
            "lever": lever,
            "on": on,
            "breakeven": be,
            "tolerance": width,
            "monotone": monotone,
            "scan_step": step,
            "scanned_to": scanned_to,
            "cumulative_net_loss": np.where(np.isfinite(be), cnl, np.nan),
            "base_cumulative_net_loss": base_cnl,
            "loss_coverage_multiple": coverage,
            "cnl_base": cnl_base(deal),
            "passes": passes,
        },
        columns=list(BREAKEVEN_COLUMNS),
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
    ok = np.logical_not(losses(res, on, idx))
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
