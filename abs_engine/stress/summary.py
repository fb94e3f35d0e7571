"""Aggregations of stress results: loss statistics, tail percentiles, heat maps, pass/fail.

All functions take the frame of :func:`~abs_engine.stress.read_results` (one
row per scenario and tranche).  A tranche's loss in a scenario is
``principal_loss_share``: principal never repaid as a share of its original
balance.  Over Monte Carlo paths (equally likely):

.. math::

    \\mathrm{EL} = \\frac1n \\sum_i \\ell_i, \\qquad
    P(\\text{loss}) = \\frac1n \\#\\{i : \\ell_i > \\varepsilon\\}, \\qquad
    \\mathrm{VaR}_q = \\text{the } q \\text{ quantile of } \\ell

(quantiles interpolate linearly between order statistics, NumPy's default;
``epsilon = 1e-9`` of the balance ignores rounding dust).  Over a grid the
same numbers are unweighted averages of the grid points, which is rarely
what is wanted: pass ``groups=["montecarlo"]``.

>>> import pandas as pd
>>> r = pd.DataFrame({"scenario_index": [0, 0, 1, 1], "tranche": ["a", "b"] * 2,
...                   "principal_loss_share": [0.0, 0.1, 0.0, 0.3],
...                   "interest_shortfall_share": 0.0, "pool_net_loss": [0.02, 0.02, 0.05, 0.05]})
>>> loss_statistics(r)[["expected_loss", "prob_loss"]].round(3).to_dict("index")
{'a': {'expected_loss': 0.0, 'prob_loss': 0.0}, 'b': {'expected_loss': 0.2, 'prob_loss': 1.0}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from abs_engine.errors import SpecError

__all__ = [
    "AXIS_COLUMNS",
    "LOSS",
    "exceedance",
    "heat_map",
    "loss_statistics",
    "pass_fail",
    "pool_loss_statistics",
    "quantile_label",
]

LOSS = "principal_loss_share"
#: Stress axes a heat map or pass/fail table can run along, and their neutral values.
AXIS_COLUMNS: Mapping[str, float] = {
    "default_mult": 1.0,
    "prepay_mult": 1.0,
    "severity_mult": 1.0,
    "recovery_haircut": 0.0,
    "recovery_lag_shift": 0.0,
}
_EPS = 1e-9


def quantile_label(q: float) -> str:
    """Column name of a loss quantile: ``0.99 -> "loss_p99"``, ``0.999 -> "loss_p99_9"``."""
    return "loss_p" + f"{q * 100:.10g}".replace(".", "_")


def _select(results: pd.DataFrame, groups: Sequence[str] | None) -> pd.DataFrame:
    if groups is None:
        return results
    if "group" not in results.columns:
        raise SpecError("the results have no 'group' column to select by", "groups")
    sel = results[results["group"].isin(list(groups))]
    if sel.empty:
        have = sorted(results["group"].unique().tolist())
        raise SpecError(f"no scenarios in group(s) {list(groups)}; groups are {have}", "groups")
    return sel


def _need(results: pd.DataFrame, *cols: str) -> None:
    missing = [c for c in cols if c not in results.columns]
    if missing:
        raise SpecError(
            f"the results lack column(s) {missing}; pass the frame of read_results()", "results"
        )


def _tranches(results: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(results["tranche"].astype(str).tolist()))


def loss_statistics(
    results: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    quantiles: Sequence[float] = (0.99, 0.999),
) -> pd.DataFrame:
    """Per tranche: expected loss, probability of any loss and tail quantiles of loss.

    Returns
    -------
    pandas.DataFrame
        Index ``tranche`` (in seniority order); columns ``scenarios``,
        ``expected_loss``, ``expected_loss_se`` (standard error of the mean),
        ``prob_loss``, one ``loss_pXX`` per quantile, ``max_loss`` and
        ``prob_interest_shortfall``.
    """
    _need(results, "tranche", LOSS)
    sel = _select(results, groups)
    rows: dict[str, dict[str, float]] = {}
    for name in _tranches(sel):
        part = sel[sel["tranche"].astype(str) == name]
        loss = part[LOSS].to_numpy(dtype=np.float64)
        loss = loss[np.isfinite(loss)]
        n = loss.size
        row: dict[str, float] = {"scenarios": float(n)}
        if n:
            row["expected_loss"] = float(loss.mean())
            row["expected_loss_se"] = float(loss.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
            row["prob_loss"] = float(np.mean(loss > _EPS))
            for q in quantiles:
                row[quantile_label(q)] = float(np.quantile(loss, q))
            row["max_loss"] = float(loss.max())
        if "interest_shortfall_share" in part.columns:
            short = part["interest_shortfall_share"].to_numpy(dtype=np.float64)
            row["prob_interest_shortfall"] = float(np.mean(np.nan_to_num(short) > _EPS))
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "tranche"
    frame["scenarios"] = frame["scenarios"].astype(np.int64)
    return frame


def _per_scenario(results: pd.DataFrame) -> pd.DataFrame:
    key = "scenario_index" if "scenario_index" in results.columns else "scenario"
    return results.drop_duplicates(subset=key)


def pool_loss_statistics(
    results: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    quantiles: Sequence[float] = (0.99, 0.999),
) -> pd.DataFrame:
    """Mean and tail quantiles of the pool's cumulative net loss and default rate.

    Returns
    -------
    pandas.DataFrame
        Index ``pool_net_loss`` and ``pool_default_rate``; columns ``scenarios``,
        ``mean``, ``std``, one ``pXX`` per quantile and ``max``.
    """
    _need(results, "pool_net_loss")
    sel = _per_scenario(_select(results, groups))
    rows = {}
    for col in ("pool_net_loss", "pool_default_rate"):
        if col not in sel.columns:
            continue
        x = sel[col].to_numpy(dtype=np.float64)
        x = x[np.isfinite(x)]
        row: dict[str, float] = {"scenarios": float(x.size)}
        if x.size:
            row["mean"] = float(x.mean())
            row["std"] = float(x.std(ddof=1)) if x.size > 1 else np.nan
            for q in quantiles:
                row["p" + quantile_label(q)[len("loss_p") :]] = float(np.quantile(x, q))
            row["max"] = float(x.max())
        rows[col] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame["scenarios"] = frame["scenarios"].astype(np.int64)
    return frame


def exceedance(values: Sequence[float] | np.ndarray, points: int = 200) -> pd.DataFrame:
    """The exceedance curve ``P(X > x)`` of a sample, on at most ``points`` levels.

    Levels are sample quantiles (so the tail is drawn in detail), and the
    probability is exact for each level.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x)]
    if x.size == 0:
        return pd.DataFrame({"level": [], "probability": []})
    qs = 1.0 - np.geomspace(1.0, 1.0 / max(x.size, 2), points)
    levels = np.unique(np.quantile(x, np.clip(qs, 0.0, 1.0)))
    prob = 1.0 - np.searchsorted(x, levels, side="right") / x.size
    return pd.DataFrame({"level": levels, "probability": prob})


def _axis_slice(
    frame: pd.DataFrame, keep: Sequence[str], fixed: Mapping[str, float] | None
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Rows where every stress axis other than ``keep`` sits at one value."""
    chosen: dict[str, float] = {}
    given = dict(fixed or {})
    for col, neutral in AXIS_COLUMNS.items():
        if col in keep or col not in frame.columns:
            continue
        values = frame[col].to_numpy(dtype=np.float64)
        distinct = np.unique(values[np.isfinite(values)])
        if distinct.size <= 1 and col not in given:
            continue
        if col in given:
            target = float(given.pop(col))
        elif np.any(np.isclose(distinct, neutral)):
            target = neutral
        else:
            target = float(distinct.min())
        frame = frame[np.isclose(frame[col].to_numpy(dtype=np.float64), target)]
        chosen[col] = target
    if given:
        raise SpecError(f"cannot fix {sorted(given)}: not stress axes of these results", "fixed")
    return frame, chosen


def heat_map(
    results: pd.DataFrame,
    tranche: str,
    *,
    value: str = LOSS,
    x: str = "default_mult",
    y: str = "prepay_mult",
    groups: Sequence[str] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """A tranche's measure over two stress axes (default x prepayment multipliers by default).

    Other axes that vary in the results are held at ``fixed`` values, or at
    their neutral value (multiplier 1, haircut 0, lag shift 0) when the grid
    has it, else at their lowest level; the values held are in
    ``frame.attrs["fixed"]``.  Several scenarios in one cell are averaged.

    Returns
    -------
    pandas.DataFrame
        Index: levels of ``y``; columns: levels of ``x``.
    """
    _need(results, "tranche", value, x, y)
    sel = _select(results, groups)
    sel = sel[sel["tranche"].astype(str) == tranche]
    if sel.empty:
        raise SpecError(
            f"no tranche {tranche!r}; tranches are {', '.join(_tranches(results))}", "tranche"
        )
    sel, chosen = _axis_slice(sel, (x, y), fixed)
    table = sel.pivot_table(index=y, columns=x, values=value, aggfunc="mean", sort=True)
    table.attrs["fixed"] = chosen
    return table


def pass_fail(
    results: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    on: Literal["principal", "interest"] = "principal",
) -> pd.DataFrame:
    """Pass/fail of every tranche over the default multiples, like a rating agency table.

    Rows: tranche x the other stress axes that vary (recovery haircut,
    prepayment multiple, ...); columns: default multiples (``"2x"``);
    ``True`` where the tranche loses no principal (``on="principal"``) or
    misses no interest (``on="interest"``) in every scenario of the cell.
    """
    _need(results, "tranche", "default_mult", LOSS)
    sel = _select(results, groups)
    measure = LOSS if on == "principal" else "interest_shortfall_share"
    ok = np.nan_to_num(sel[measure].to_numpy(dtype=np.float64)) <= _EPS
    frame = sel.assign(_pass=ok)
    axes = [
        c
        for c in ("recovery_haircut", "severity_mult", "recovery_lag_shift", "prepay_mult")
        if c in frame.columns and np.unique(frame[c].dropna().to_numpy()).size > 1
    ]
    table: Any = frame.pivot_table(
        index=["tranche", *axes],
        columns="default_mult",
        values="_pass",
        aggfunc="all",
        sort=True,
    )
    table.columns = [f"{c:g}x" for c in table.columns]
    order = _tranches(sel)
    table = table.reindex(order, level=0) if axes else table.reindex(order)
    return pd.DataFrame(table)
