r"""Collateral performance from monthly servicer figures, and actual against projected.

Every measure is computed the same way from the servicer's actual figures
and from the base case in servicer form (:class:`~.generate.BaseProjection`),
so a ratio compares like with like.  Arrays are ``(..., group, month)``; the
groups are the grades and, last, the whole pool.

Measures (month ``t``; ``B`` the balance in the month, the opening balance
plus purchases; ``B0`` the cut-off balance of the group, ``Q`` purchases):

``cdr``, ``cpr``
    Annualised observed rates, ``CDR = 1 - (1 - MDR)^12`` with
    ``MDR = default / B``, and ``CPR`` from the SIFMA single monthly
    mortality ``SMM = prepayment (1 - MDR) / (B - default - scheduled)``
    (the engine's prepayment base; see
    :func:`abs_engine.reports.pool_sections.observed_rates`).
``severity``
    Cumulative realised loss severity,
    ``sum(loss) / sum(loss + recovery)`` over the work-outs ended so far.
``cumulative_default_rate``
    Cumulative defaults over ``B0 + sum(Q)`` (the basis of the deal's
    ``cumulative_default`` trigger).
``cumulative_net_loss``
    Cumulative defaults less cumulative recoveries (charge-offs net of
    recoveries, as trustee reports quote it), over ``B0 + sum(Q)``.
``pool_factor``
    ``end_balance / B0``.
``dq30``, ``dq60``, ``dq90``
    Balances more than 30, 60 and 90 days past due over the performing
    ``end_balance`` (30+ is 31-60, 61-90 and 90+).
``roll_*``
    Aggregate roll-forward rates: this month's balance in a bucket over last
    month's balance in the bucket before it (``roll_current_1_30`` from the
    current balance, ``roll_90_plus_default`` = default over last month's
    90+), the standard bucket-to-bucket roll of consumer ABS surveillance.

Statistical signals
-------------------
* **Monte Carlo band**: the same measure over the paths of a one-factor
  Gaussian Monte Carlo of the base case
  (:func:`abs_engine.stress.monte_carlo`, every path run through the deal),
  its 5th and 95th percentiles, for the measures its default factor drives
  (:data:`BAND_MEASURES`: default rates, cumulative losses, delinquency);
  prepayment, severity, pool factor and roll rates have none.
* **Sampling z-score** (when the report gives receivable counts): for a
  monthly rate ``p`` with ``n`` receivables at risk (last month's count)
  :math:`z = (\hat p - p) / \sqrt{p (1 - p) / n}` with ``p`` the base case's
  (binomial: receivables default or prepay independently, equal balances);
  for ``cdr`` and ``cpr`` on the monthly rates, for ``dq*`` on this month's
  counts.

A measure is flagged ``high`` (``low``) when it is above (below) its band or
more than ``k`` standard errors above (below) the base case.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.surveillance.servicer import DELINQUENCY_COLUMNS

__all__ = [
    "BAND_MEASURES",
    "MEASURES",
    "ROLL_MEASURES",
    "actual_vs_projected",
    "measures",
    "with_pool",
]

F64 = NDArray[np.float64]
_EPS = 1e-9

ROLL_MEASURES: tuple[str, ...] = (
    "roll_current_1_30",
    "roll_1_30_31_60",
    "roll_31_60_61_90",
    "roll_61_90_90_plus",
    "roll_90_plus_default",
)
#: Every measure, in report order.
MEASURES: tuple[str, ...] = (
    "cdr",
    "cpr",
    "severity",
    "cumulative_default_rate",
    "cumulative_net_loss",
    "pool_factor",
    "dq30",
    "dq60",
    "dq90",
    *ROLL_MEASURES,
)
#: Measures the Monte Carlo band applies to: those its systematic default factor drives
#: (prepayment, severity and the roll rates it does not stress; their bands would only
#: show the pool's mix and flag noise).
BAND_MEASURES = ("cdr", "cumulative_default_rate", "cumulative_net_loss", "dq30", "dq60", "dq90")
#: Measures with a binomial z-score when counts are given: (rate numerator, base).
_Z_MEASURES = ("cdr", "cpr", "dq30", "dq60", "dq90")


def with_pool(data: Mapping[str, F64]) -> dict[str, F64]:
    """Append the pool total as the last group: ``(..., G, M) -> (..., G + 1, M)``."""
    return {k: np.concatenate([v, v.sum(axis=-2, keepdims=True)], axis=-2) for k, v in data.items()}


def _div(num: F64, den: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(den > _EPS, num / np.where(den > _EPS, den, 1.0), np.nan))


def _lagged(a: F64) -> F64:
    out = np.full_like(a, np.nan)
    out[..., 1:] = a[..., :-1]
    return out


def measures(data: Mapping[str, F64], cutoff: F64) -> dict[str, F64]:
    """Every measure of :data:`MEASURES` from monthly figures ``(..., group, month)``.

    ``data`` holds the servicer columns (``begin_balance`` the opening
    balance); ``cutoff`` the cut-off balance of each group ``(..., group)``.
    Delinquency measures are NaN where the buckets are NaN (not reported).
    """
    opening = data["begin_balance"]
    bought = data["purchases"]
    begin = opening + bought
    default = data["default"]
    from abs_engine.reports.pool_sections import observed_rates  # the report's own rates (plotly)

    cdr, cpr = observed_rates(begin, data["scheduled_principal"], data["prepayment"], default)
    cum_q = np.cumsum(bought, axis=-1)
    basis = cutoff[..., None] + cum_q
    cum_d = np.cumsum(default, axis=-1)
    cum_r = np.cumsum(data["recovery"], axis=-1)
    cum_l = np.cumsum(data["loss"], axis=-1)
    end = data["end_balance"]
    b1, b2, b3, b4 = (data[c] for c in DELINQUENCY_COLUMNS)
    current = end - (b1 + b2 + b3 + b4)
    out = {
        "cdr": cdr,
        "cpr": cpr,
        "severity": _div(cum_l, cum_l + cum_r),
        "cumulative_default_rate": _div(cum_d, basis),
        "cumulative_net_loss": _div(cum_d - cum_r, basis),
        "pool_factor": _div(end, np.broadcast_to(cutoff[..., None], end.shape)),
        "dq30": _div(b2 + b3 + b4, end),
        "dq60": _div(b3 + b4, end),
        "dq90": _div(b4, end),
        "roll_current_1_30": _div(b1, _lagged(current)),
        "roll_1_30_31_60": _div(b2, _lagged(b1)),
        "roll_31_60_61_90": _div(b3, _lagged(b2)),
        "roll_61_90_90_plus": _div(b4, _lagged(b3)),
        "roll_90_plus_default": _div(default, _lagged(b4)),
    }
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _monthly_rates(data: Mapping[str, F64]) -> dict[str, F64]:
    """The monthly rates behind the z-scores: MDR, SMM and the delinquency shares."""
    begin = data["begin_balance"] + data["purchases"]
    mdr = _div(data["default"], begin)
    base = (begin - data["default"] - data["scheduled_principal"]) / (
        1.0 - np.where(np.isnan(mdr), 0.0, mdr)
    )
    smm = _div(data["prepayment"], base)
    end = data["end_balance"]
    _, b2, b3, b4 = (data[c] for c in DELINQUENCY_COLUMNS)
    return {
        "cdr": mdr,
        "cpr": smm,
        "dq30": _div(b2 + b3 + b4, end),
        "dq60": _div(b3 + b4, end),
        "dq90": _div(b4, end),
    }


def actual_vs_projected(
    actual: Mapping[str, F64],
    projected: Mapping[str, F64] | None,
    band: Mapping[str, F64] | None,
    cutoff: F64,
    *,
    groups: Sequence[str],
    months: NDArray[np.datetime64],
    counts: F64 | None = None,
    k: float = 3.0,
    band_levels: tuple[float, float] = (5.0, 95.0),
) -> pd.DataFrame:
    """The long table of every measure, group and month: actual, projected, band, z, signal.

    Parameters
    ----------
    actual : mapping
        Servicer columns ``(group, month)``, groups including the pool.
    projected : mapping or None
        The base case, same shape (``None``: no comparator).
    band : mapping or None
        The Monte Carlo paths ``(path, group, month)``.
    cutoff : ndarray
        Cut-off balance of each group.
    groups, months : labels of the axes
    counts : ndarray, optional
        Receivables at the end of each month ``(group, month)``.
    k : float
        Standard errors beyond which a measure is flagged.

    Returns
    -------
    pandas.DataFrame
        ``period_end, month, group, measure, actual, projected, ratio,
        band_low, band_high, z, signal``; ``ratio = actual / projected``
        (NaN when the projection is 0).
    """
    G, M = actual["end_balance"].shape
    a = measures(actual, cutoff)
    p = measures(projected, cutoff) if projected is not None else None
    lo: dict[str, F64] = {}
    hi: dict[str, F64] = {}
    if band is not None:
        bm = measures(band, np.broadcast_to(cutoff, (band["end_balance"].shape[0], G)))
        with warnings.catch_warnings():  # months where no path has the measure stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            for m, v in bm.items():
                if m not in BAND_MEASURES:
                    continue
                low = np.nanpercentile(v, band_levels[0], axis=0)
                high = np.nanpercentile(v, band_levels[1], axis=0)
                # A measure the paths do not move (severity, roll rates) has no band.
                flat = (high - low) <= 1e-9 * np.maximum(np.abs(high), 1e-12)
                lo[m] = np.asarray(np.where(flat, np.nan, low), dtype=np.float64)
                hi[m] = np.asarray(np.where(flat, np.nan, high), dtype=np.float64)
    z: dict[str, F64] = {}
    if counts is not None and projected is not None:
        ra, rp = _monthly_rates(actual), _monthly_rates(projected)
        at_risk = _lagged(counts)
        for m in _Z_MEASURES:
            n = counts if m.startswith("dq") else at_risk
            pr = rp[m]
            with np.errstate(divide="ignore", invalid="ignore"):
                se = np.sqrt(np.clip(pr * (1.0 - pr), 0.0, None) / np.where(n > 0, n, np.nan))
                z[m] = np.where(se > 0, (ra[m] - pr) / np.where(se > 0, se, 1.0), np.nan)
    nan = np.full((G, M), np.nan)
    parts = []
    for m in MEASURES:
        act = a[m]
        proj = p[m] if p is not None else nan
        b_lo = lo.get(m, nan)
        b_hi = hi.get(m, nan)
        zz = z.get(m, nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                np.abs(proj) > _EPS, act / np.where(np.abs(proj) > _EPS, proj, 1.0), np.nan
            )
        high = np.asarray((act > b_hi + _EPS) | (zz > k), dtype=bool)
        low = np.asarray((act < b_lo - _EPS) | (zz < -k), dtype=bool)
        signal = np.where(high, "high", np.where(low, "low", ""))
        parts.append(
            pd.DataFrame(
                {
                    "period_end": np.tile(months, G),
                    "month": np.tile(np.arange(1, M + 1), G),
                    "group": np.repeat(np.asarray(groups, dtype=object), M),
                    "measure": m,
                    "actual": act.reshape(-1),
                    "projected": np.asarray(proj).reshape(-1),
                    "ratio": ratio.reshape(-1),
                    "band_low": np.asarray(b_lo).reshape(-1),
                    "band_high": np.asarray(b_hi).reshape(-1),
                    "z": np.asarray(zz).reshape(-1),
                    "signal": signal.reshape(-1),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["period_end"] = pd.to_datetime(out["period_end"])
    return out
