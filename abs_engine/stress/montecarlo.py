"""Monte Carlo stress paths from a one-factor Gaussian (Vasicek) default model.

The model
---------
Each path ``i`` draws one systematic factor ``Z_i ~ N(0, 1)`` (a good economy
is ``Z > 0``); the pool is large, so idiosyncratic noise averages out.  For
grade ``g`` with base-case lifetime default probability ``p_g`` and asset
correlation ``rho_g`` the conditional lifetime default probability is
(Vasicek, 2002, "The distribution of loan portfolio value", *Risk* 15(12))

.. math::

    p_g(Z) = \\Phi\\!\\left(\\frac{\\Phi^{-1}(p_g) - \\sqrt{\\rho_g}\\,Z}{\\sqrt{1 - \\rho_g}}\\right),
    \\qquad \\mathbb{E}[p_g(Z)] = p_g .

``p_g`` is the share of the cut-off balance of grade ``g`` that defaults over
its life in the base case (:func:`abs_engine.project` by grade).  Receivables
already delinquent at cut-off default whatever the economy (the default lever
does not move them): with ``f_g`` their share (the lifetime default at
multiplier 0), the factor model applies to the rest, ``f_g + (1 - f_g)
p'_g(Z)`` with ``p'_g = (p_g - f_g) / (1 - f_g)``; the mean is still ``p_g``.  Optionally
prepayment and severity move with the factor, each with mean multiplier 1:

.. math::

    \\text{prepay\\_mult} = e^{\\beta_p Z - \\beta_p^2/2}, \\qquad
    \\text{severity\\_mult} = e^{-\\beta_s Z - \\beta_s^2/2}

(``beta_p > 0``: prepayments slow in a downturn; ``beta_s > 0``: severities
rise in one; the engine caps severity at 100%).

From a default probability to the engine's lever
------------------------------------------------
The engine's default lever multiplies each month's *annual* default rate,
capped at 100%, so lifetime default is not linear in the multiplier (and
depends on prepayment, which competes for the same balance).  The map
``m -> L_g(m; q)`` (lifetime default of grade ``g`` at default multiplier
``m`` and prepayment multiplier ``q``) is therefore *calibrated* once: one
vectorised projection of the pool over a grid of multipliers (``0``, ``1``
and a geometric grid up to the level where every month's rate is capped;
times a grid of prepayment multipliers spanning the paths' when prepayment
moves), made non-decreasing, and inverted by linear interpolation:

.. math::

    m_{g,i} = L_g^{-1}\\bigl(p_g(Z_i);\\; q_i\\bigr),

linear in ``q`` between the two nearest prepayment levels.  A target above
the largest lifetime default the curves can produce (every month at 100%
CDR) takes the smallest multiplier that reaches it and is counted as capped.
So each path's projected lifetime default of grade ``g`` equals ``p_g(Z_i)``
up to the interpolation error (about 1e-4 of it), and the per-grade mean over
paths matches the base case within sampling error.

The calibration uses the cut-off pool; receivables bought during a revolving
period take the same per-grade multipliers.  A deal's market conventions
(``[conventions]``, ``docs/conventions.md``: prepayment timing, order of default
and prepayment, rates by actual days, ...) apply to the calibration as to the
deal's runs, so ``p_g`` is the deal's own base case and each path's lifetime
default under the deal's conventions is ``p_g(Z_i)``; per-receivable rounding is
left out (the calibration projects cohorts, a change below a cent a receivable).

Reproducibility: ``Z`` comes from ``numpy.random.Generator(PCG64(seed))``,
drawn for all paths at once (a million normals take milliseconds), so a
batch's chunks never change the draws; path ``i`` is named ``mc000000 + i``.
The first ``k`` paths of a run with ``n > k`` paths equal a run with ``k``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from abs_engine._budget import check_memory
from abs_engine._frozen import FrozenMap
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.rates import monthly_to_annual
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.deal.spec import Deal
from abs_engine.errors import ScenarioError, SpecError, plain
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.projection.conventions import PoolConventions
from abs_engine.projection.engine import project
from abs_engine.stress.scenarios import ScenarioTable, _scenario_set

__all__ = [
    "DefaultCalibration",
    "MonteCarloSpec",
    "calibrate_defaults",
    "conditional_default",
    "factors",
    "monte_carlo",
]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]

#: Prepayment levels of the calibration grid when prepayment moves with the factor.
_PREPAY_POINTS = 17


@dataclass(frozen=True)
class MonteCarloSpec:
    """Settings of a Monte Carlo stress run (one-factor Gaussian copula).

    Parameters
    ----------
    n_paths : int
        Number of paths (scenarios).
    seed : int
        Seed of ``numpy.random.PCG64``.
    rho : float or mapping grade -> float
        Asset correlation per grade, in ``[0, 1)``; a mapping may use
        ``"*"`` for every grade not named.
    prepay_beta : float
        Loading of the prepayment multiplier on the factor
        (``exp(beta Z - beta^2/2)``; 0: prepayment does not move).
    severity_beta : float
        Loading of the severity multiplier (``exp(-beta Z - beta^2/2)``).
    antithetic : bool
        Draw paths in pairs ``(Z, -Z)`` (variance reduction).
    calibration_points : int
        Default multipliers in the calibration grid.
    """

    n_paths: int
    seed: int = 0
    rho: float | Mapping[str, float] = 0.10
    prepay_beta: float = 0.0
    severity_beta: float = 0.0
    antithetic: bool = False
    calibration_points: int = 801

    def __post_init__(self) -> None:
        if isinstance(self.n_paths, bool) or not isinstance(self.n_paths, int | np.integer):
            raise SpecError(
                f"a whole number of paths is needed; got {plain(self.n_paths)!r}", "n_paths"
            )
        if self.n_paths < 1:
            raise SpecError(f"must be >= 1; got {plain(self.n_paths)}", "n_paths")
        object.__setattr__(self, "n_paths", int(self.n_paths))
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int | np.integer)
            or self.seed < 0
        ):
            raise SpecError(f"a whole number >= 0 is needed; got {plain(self.seed)!r}", "seed")
        object.__setattr__(self, "seed", int(self.seed))
        if isinstance(self.rho, Mapping):
            rho = {str(g): _check_rho(v, f"rho[{g}]") for g, v in self.rho.items()}
            if not rho:
                raise SpecError("give at least one grade's correlation (or '*')", "rho")
            object.__setattr__(self, "rho", FrozenMap(rho))
        else:
            object.__setattr__(self, "rho", _check_rho(self.rho, "rho"))
        for name in ("prepay_beta", "severity_beta"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SpecError(f"a finite number is needed; got {plain(v)!r}", name)
            if abs(v) > 5:
                raise SpecError(f"|{name}| above 5 gives absurd multipliers; got {plain(v)}", name)
            object.__setattr__(self, name, float(v))
        if not isinstance(self.antithetic, bool):
            raise SpecError(f"true or false; got {self.antithetic!r}", "antithetic")
        if int(self.calibration_points) < 16:
            raise SpecError(
                f"at least 16 points; got {self.calibration_points}", "calibration_points"
            )

    def rho_for(self, grade: str) -> float:
        """Correlation of ``grade``."""
        if isinstance(self.rho, Mapping):
            if grade in self.rho:
                return float(self.rho[grade])
            if "*" in self.rho:
                return float(self.rho["*"])
            raise SpecError(
                f"no correlation for grade {grade!r}; give it (or '*' for the rest) in rho",
                "rho",
            )
        return float(self.rho)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (recorded in batch manifests and reports)."""
        return {
            "n_paths": self.n_paths,
            "seed": self.seed,
            "rho": dict(self.rho) if isinstance(self.rho, Mapping) else self.rho,
            "prepay_beta": self.prepay_beta,
            "severity_beta": self.severity_beta,
            "antithetic": self.antithetic,
            "calibration_points": int(self.calibration_points),
        }


def _check_rho(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise SpecError(f"a correlation is a number in [0, 1); got {plain(value)!r}", where)
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise SpecError(f"a correlation must be in [0, 1); got {plain(value)!r}", where)
    return v


# --- the factor model ---------------------------------------------------------------------


def factors(spec: MonteCarloSpec) -> F64:
    """The systematic factor of every path, ``Z`` of shape ``(n_paths,)``.

    All draws come from one ``Generator(PCG64(seed))`` in path order, so
    the first ``k`` paths do not depend on ``n_paths``.  With
    ``antithetic=True`` path ``2j+1`` is ``-Z_{2j}``.
    """
    rng = np.random.Generator(np.random.PCG64(spec.seed))
    n = spec.n_paths
    if not spec.antithetic:
        return rng.standard_normal(n)
    u = rng.standard_normal((n + 1) // 2)
    z = np.empty(n)
    z[0::2] = u
    z[1::2] = -u[: n // 2]
    return z


def conditional_default(p: ArrayLike, rho: float, z: ArrayLike) -> F64:
    """Vasicek conditional default probability ``p(Z)`` (see the module docs).

    Broadcasts ``p`` against ``z``; ``rho = 0`` returns ``p`` unchanged.

    >>> float(conditional_default(0.05, 0.0, 2.0))
    0.05
    >>> bool(conditional_default(0.05, 0.1, -2.0) > 0.05 > conditional_default(0.05, 0.1, 2.0))
    True
    """
    pp = np.asarray(p, dtype=np.float64)
    zz = np.asarray(z, dtype=np.float64)
    if rho == 0.0:
        return np.asarray(np.broadcast_to(pp, np.broadcast_shapes(pp.shape, zz.shape)).copy())
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (special.ndtri(pp) - math.sqrt(rho) * zz) / math.sqrt(1.0 - rho)
        out = special.ndtr(x)
    out = np.where(pp <= 0.0, 0.0, np.where(pp >= 1.0, 1.0, out))
    return np.asarray(out, dtype=np.float64)


# --- calibration: default multiplier -> lifetime default ------------------------------------------


@dataclass(frozen=True, eq=False)
class DefaultCalibration:
    """Lifetime default of each grade as a function of the default (and prepay) multiplier.

    Attributes
    ----------
    grades : tuple of str
        Grades present in the pool (the columns of the arrays).
    base_default : ndarray (G,)
        ``p_g``: lifetime default share of each grade in the base case.
    multipliers : ndarray (K,)
        Default multipliers of the grid, ascending (``0`` and ``1`` included).
    prepay_multipliers : ndarray (J,)
        Prepayment multipliers of the grid, ascending (``[1]`` when fixed).
    lifetime_default : ndarray (J, K, G)
        Lifetime default share, made non-decreasing along the multipliers.
    metadata : mapping
        Grid sizes and the top multiplier (recorded with the paths).
    """

    grades: tuple[str, ...]
    base_default: F64
    multipliers: F64
    prepay_multipliers: F64
    lifetime_default: F64
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def _bracket(self, prepay_mult: F64) -> tuple[NDArray[np.int64], NDArray[np.int64], F64]:
        q = self.prepay_multipliers
        if q.size == 1:
            j = np.zeros(prepay_mult.shape, dtype=np.int64)
            return j, j, np.zeros(prepay_mult.shape)
        j = np.clip(np.searchsorted(q, prepay_mult, side="right") - 1, 0, q.size - 2)
        w = np.clip((prepay_mult - q[j]) / (q[j + 1] - q[j]), 0.0, 1.0)
        return j.astype(np.int64), (j + 1).astype(np.int64), w

    def lifetime(self, default_mult: ArrayLike, prepay_mult: ArrayLike = 1.0) -> F64:
        """Interpolated lifetime default per grade, shape ``(n, G)``."""
        m = np.atleast_1d(np.asarray(default_mult, dtype=np.float64))
        q = np.broadcast_to(np.asarray(prepay_mult, dtype=np.float64), m.shape)
        j0, j1, w = self._bracket(q)
        out = np.empty((m.size, len(self.grades)))
        for g in range(len(self.grades)):
            lo = np.empty(m.size)
            hi = np.empty(m.size)
            for j in np.unique(np.concatenate([j0, j1])):
                curve = self.lifetime_default[j, :, g]
                lo[j0 == j] = np.interp(m[j0 == j], self.multipliers, curve)
                hi[j1 == j] = np.interp(m[j1 == j], self.multipliers, curve)
            out[:, g] = (1.0 - w) * lo + w * hi
        return out

    def invert(self, target: F64, prepay_mult: F64) -> tuple[F64, NDArray[np.bool_]]:
        """Default multiplier per path and grade that gives ``target`` lifetime default.

        Parameters
        ----------
        target : ndarray (n, G)
            Lifetime default shares wanted.
        prepay_mult : ndarray (n,)
            Each path's prepayment multiplier.

        Returns
        -------
        multipliers : ndarray (n, G)
        capped : ndarray of bool (n, G)
            Targets above what the curves can reach (every month at 100% CDR).
        """
        n, G = target.shape
        M = self.multipliers
        K = M.size
        j0, j1, w = self._bracket(np.asarray(prepay_mult, dtype=np.float64))
        mult = np.empty((n, G))
        capped = np.zeros((n, G), dtype=bool)
        for g in range(G):
            L = self.lifetime_default[:, :, g]

            def curve(k: NDArray[np.int64], L: F64 = L) -> F64:
                return np.asarray((1.0 - w) * L[j0, k] + w * L[j1, k])

            t = target[:, g]
            top = curve(np.full(n, K - 1, dtype=np.int64))
            k = _count_below(curve, t, K)
            # Targets beyond the largest reachable default: the smallest multiplier reaching it.
            over = k >= K
            reach = _count_below(curve, top - 1e-15, K)
            kk = np.clip(k, 1, K - 1)
            c_lo, c_hi = curve(kk - 1), curve(kk)
            span = np.where(c_hi > c_lo, c_hi - c_lo, 1.0)
            frac = np.clip((t - c_lo) / span, 0.0, 1.0)
            m = M[kk - 1] + frac * (M[kk] - M[kk - 1])
            m = np.where(k <= 0, M[0], m)
            m = np.where(over, M[np.clip(reach, 0, K - 1)], m)
            mult[:, g] = m
            capped[:, g] = over & (t > top + 1e-12)
        return mult, capped


def _count_below(
    curve: Callable[[NDArray[np.int64]], F64], target: F64, K: int
) -> NDArray[np.int64]:
    """Per path, how many of the ``K`` (non-decreasing) grid values are below ``target``.

    A vectorised bisection: ``ceil(log2(K + 1))`` gathers, whatever the number of paths.
    """
    n = target.shape[0]
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, K, dtype=np.int64)
    for _ in range(math.ceil(math.log2(K + 1)) + 1):
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) // 2
        below = curve(np.minimum(mid, K - 1)) < target
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)
    return lo


def _multiplier_grid(
    cohorts: Cohorts, assumptions: Assumptions | GradedAssumptions, points: int
) -> F64:
    """0, 1 and a geometric grid up to where every month's annual default rate is capped."""
    present = np.unique(cohorts.grade)
    months = np.arange(1, int(cohorts.age.max() + cohorts.remaining_term.max()) + 13)
    lowest = 1.0
    for g in present:
        a = assumptions.for_grade(cohorts.grades[int(g)])
        cdr = monthly_to_annual(a.default.monthly_rates(months))
        pos = cdr[cdr > 0]
        if pos.size:
            lowest = min(lowest, float(pos.min()))
    top = float(np.clip(1.0 / lowest, 50.0, 1e6)) * 1.05
    geo = np.geomspace(1e-3, top, points - 2)
    return np.unique(np.concatenate([[0.0, 1.0], geo]))


def _lifetime_default(
    cohorts: Cohorts,
    assumptions: Assumptions | GradedAssumptions,
    default_mult: F64,
    prepay_mult: F64,
    conventions: PoolConventions | None = None,
) -> tuple[tuple[str, ...], F64]:
    """Lifetime default share by grade, ``(n_scenarios, G)``, from one projection."""
    cf = project(
        cohorts,
        assumptions,
        ScenarioSet.from_arrays(default_mult=default_mult, prepay_mult=prepay_mult),
        by="grade",
        conventions=conventions,
    )
    share = cf.array("default").sum(axis=2) / cf.initial_balance[None, :]
    return tuple(cf.groups), np.asarray(share, dtype=np.float64)


def calibrate_defaults(
    assumptions: Assumptions | GradedAssumptions,
    pool: Pool | Cohorts,
    *,
    prepay_multipliers: ArrayLike = (1.0,),
    points: int = 801,
    conventions: PoolConventions | None = None,
) -> DefaultCalibration:
    """Calibrate the map default multiplier -> lifetime default per grade (one projection).

    Parameters
    ----------
    assumptions : Assumptions or GradedAssumptions
        Base-case curves (the deal's).
    pool : Pool or Cohorts
        The cut-off pool.
    prepay_multipliers : array_like
        Prepayment levels of the grid (ascending; ``(1,)`` when fixed).
    points : int
        Default multipliers in the grid.
    conventions : PoolConventions, optional
        How the pool is projected (a deal's ``deal.pool_conventions``); SIFMA by
        default.  Rounding is not applied: the calibration projects cohorts.
    """
    cohorts = pool.cohorts() if isinstance(pool, Pool) else pool
    if conventions is not None and conventions.rounding != "none":
        conventions = replace(conventions, rounding="none")
    grid_m = _multiplier_grid(cohorts, assumptions, points)
    q = np.unique(np.asarray(prepay_multipliers, dtype=np.float64))
    if q.size == 0 or np.any(q < 0) or np.any(~np.isfinite(q)):
        raise ScenarioError(f"prepayment multipliers must be finite and >= 0; got {plain(q)}")
    K, J = grid_m.size, q.size
    grades, share = _lifetime_default(
        cohorts, assumptions, np.tile(grid_m, J), np.repeat(q, K), conventions
    )
    table = np.maximum.accumulate(share.reshape(J, K, len(grades)), axis=1)
    _, base = _lifetime_default(cohorts, assumptions, np.ones(1), np.ones(1), conventions)
    return DefaultCalibration(
        grades,
        base[0],
        grid_m,
        q,
        table,
        {"points": int(K), "prepay_points": int(J), "top_multiplier": float(grid_m[-1])},
    )


# --- paths --------------------------------------------------------------------------------------


def _names(n: int, prefix: str = "mc") -> NDArray[np.str_]:
    width = max(6, len(str(n - 1)))
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width))


def monte_carlo(
    deal: Deal | Assumptions | GradedAssumptions,
    pool: Pool | Cohorts | None,
    spec: MonteCarloSpec,
    *,
    calibration: DefaultCalibration | None = None,
    group: str = "montecarlo",
) -> ScenarioTable:
    """Monte Carlo stress scenarios: one path per systematic factor draw.

    Parameters
    ----------
    deal : Deal, Assumptions or GradedAssumptions
        Source of the base-case assumptions (a deal: ``deal.assumptions``, and its
        pool conventions for the calibration).
    pool : Pool or Cohorts, optional
        The cut-off pool; ``None`` loads the deal's own tape.
    spec : MonteCarloSpec
    calibration : DefaultCalibration, optional
        Re-use a calibration (it must come from the same pool and assumptions).
    group : str
        Group label of the paths.

    Returns
    -------
    ScenarioTable
        Scenarios ``mc000000``...: per-grade ``default_mult[g]``, pool-wide
        ``prepay_mult`` and ``severity_mult``; info columns ``factor`` (Z)
        and ``target_default[g]`` (``p_g(Z)``); metadata with the spec, the
        seed and the base-case ``p_g``.
    """
    assumptions = deal.assumptions if isinstance(deal, Deal) else deal
    if pool is None:
        if not isinstance(deal, Deal) or deal.pool.tape is None:
            raise SpecError("no pool: pass pool= (or a deal that names its tape)", "pool")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    cohorts = pool.cohorts() if isinstance(pool, Pool) else pool
    n = spec.n_paths
    # per path: its factor, levers and targets by grade, its name, and the batch's table of it
    check_memory(
        n * (1_024 + 64 * len(cohorts.grades)),
        f"{n:,} Monte Carlo paths (n_paths, --mc)",
        "run fewer paths per batch (several batches with different seeds) or raise the budget",
    )
    z = factors(spec)
    bp, bs = spec.prepay_beta, spec.severity_beta
    prepay = np.exp(bp * z - 0.5 * bp * bp) if bp != 0.0 else np.ones(n)
    severity = np.exp(-bs * z - 0.5 * bs * bs) if bs != 0.0 else np.ones(n)
    if calibration is None:
        if bp != 0.0:
            zq = np.linspace(float(z.min()), float(z.max()), _PREPAY_POINTS)
            q_grid = np.exp(bp * zq - 0.5 * bp * bp)
        else:
            q_grid = np.ones(1)
        calibration = calibrate_defaults(
            assumptions,
            cohorts,
            prepay_multipliers=q_grid,
            points=spec.calibration_points,
            conventions=deal.pool_conventions if isinstance(deal, Deal) else None,
        )
    grades = calibration.grades
    p = calibration.base_default
    # Defaults the lever cannot move (delinquent at cut-off) are the floor of every path.
    floor = calibration.lifetime_default[0, 0, :] if grades else np.zeros(0)
    movable = np.clip((p - floor) / np.where(floor < 1.0, 1.0 - floor, 1.0), 0.0, 1.0)
    target = (
        np.column_stack(
            [
                floor[j] + (1.0 - floor[j]) * conditional_default(movable[j], spec.rho_for(g), z)
                for j, g in enumerate(grades)
            ]
        )
        if grades
        else np.zeros((n, 0))
    )
    mult, capped = calibration.invert(target, prepay)
    n_capped = {g: int(capped[:, j].sum()) for j, g in enumerate(grades)}
    if any(n_capped.values()):
        log.warning(
            "Monte Carlo: %s path(s) ask for more lifetime default than 100%% CDR gives; "
            "capped at the maximum",
            ", ".join(f"{g}: {c:,}" for g, c in n_capped.items() if c),
        )
    missing = [g for g in cohorts.grades if g not in grades]
    if missing:
        log.info("grades %s are not in the cut-off pool; their default multiplier stays 1", missing)
    names = _names(n)
    sset = _scenario_set(
        names,
        default_mult={g: mult[:, j] for j, g in enumerate(grades)},
        prepay_mult=prepay,
        severity_mult=severity,
        recovery_lag_shift=np.zeros(n),
    )
    info: dict[str, F64] = {"factor": z}
    for j, g in enumerate(grades):
        info[f"target_default[{g}]"] = target[:, j]
    meta = {
        "kind": "montecarlo",
        "spec": spec.to_dict(),
        "seed": spec.seed,
        "base_default": {g: float(p[j]) for j, g in enumerate(grades)},
        "floor_default": {g: float(floor[j]) for j, g in enumerate(grades)},
        "capped_paths": n_capped,
        "calibration": dict(calibration.metadata),
    }
    return ScenarioTable(sset, group, info, meta)
