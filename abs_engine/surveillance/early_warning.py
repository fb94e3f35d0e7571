r"""Early warning at deal level: trigger headroom, rising roll rates, grade-mix drift, flags.

``headroom``
    Per trigger, its latest value against its level, the distance to breach
    in the trigger's own units, the first period it was breached, and the
    first payment date on which it breaches in the base case re-projected
    from today (blank when it does not).
``roll_trend``
    Per group and roll rate, the average of the last ``window`` months
    against the ``window`` months before; ``rising`` when it is up by more
    than ``RISING`` (20%) relative and the latest month is above the earlier
    average.
``grade_mix``
    Each grade's share of the performing balance every month against its
    share at the start of the history, and the population stability index of
    the mix, :math:`\mathrm{PSI} = \sum_g (a_g - e_g) \ln(a_g / e_g)` (shares
    floored at 0.0001), read as stable below 0.10, monitor to 0.25, shift
    above (Siddiqi 2006, p. 137): the scorecard monitor's measure
    (:func:`abs_engine.grading.monitor.psi`) on the grades.
``flags``
    With a current tape, the borrower-level early-warning flag counts by
    grade (the tape's ``ew_*`` columns, or the flags computed from its
    provident-fund columns); counts below :data:`MIN_CELL` and the amounts of
    such cells are withheld.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal
from abs_engine.errors import GradingError
from abs_engine.grading.monitor import psi as stability_psi
from abs_engine.grading.monitor import stability_status
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.surveillance.performance import ROLL_MEASURES, measures, with_pool
from abs_engine.surveillance.servicer import ServicerHistory

__all__ = [
    "MIN_CELL",
    "RISING",
    "early_warning_tables",
    "grade_mix",
    "headroom",
    "roll_trend",
]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]

#: Relative rise of a roll rate that raises a warning.
RISING = 0.20
#: Cells with fewer receivables are withheld from reports.
MIN_CELL = 5


def headroom(triggers: pd.DataFrame, reprojection: RunResult | None) -> pd.DataFrame:
    """Per trigger: latest value, level, distance to breach and the projected breach date."""
    if triggers.empty:
        return pd.DataFrame(
            columns=[
                "trigger",
                "type",
                "tranche",
                "value",
                "level",
                "breach_if",
                "headroom",
                "breached",
                "first_breach",
                "projected_breach",
            ]
        )
    rows = []
    names = list(dict.fromkeys(triggers["trigger"]))
    for k, name in enumerate(names):
        t = triggers[triggers["trigger"] == name]
        last = t.iloc[-1]
        hit = t[t["breached"]]
        projected: Any = pd.NaT
        if reprojection is not None and not bool(last["breached"]):
            flag = reprojection.trigger[0, k]
            if flag.any():
                projected = pd.Timestamp(reprojection.dates[int(np.argmax(flag))])
        rows.append(
            {
                "trigger": name,
                "type": last["type"],
                "tranche": last["tranche"],
                "value": last["value"],
                "level": last["level"],
                "breach_if": last["breach_if"],
                "headroom": last["headroom"],
                "breached": bool(last["breached"]),
                "first_breach": hit["date"].iloc[0] if len(hit) else pd.NaT,
                "projected_breach": projected,
            }
        )
    out = pd.DataFrame(rows)
    for c in ("first_breach", "projected_breach"):
        out[c] = pd.to_datetime(out[c])
    return out


def roll_trend(perf: Mapping[str, F64], groups: tuple[str, ...], window: int = 3) -> pd.DataFrame:
    """Latest ``window`` months of each roll rate against the ``window`` months before."""
    rows = []
    for m in ROLL_MEASURES:
        a = perf[m]
        M = a.shape[-1]
        for gi, g in enumerate(groups):
            recent = a[gi, max(M - window, 0) :]
            before = a[gi, max(M - 2 * window, 0) : max(M - window, 0)]
            r_mean = float(np.nanmean(recent)) if np.isfinite(recent).any() else np.nan
            b_mean = float(np.nanmean(before)) if np.isfinite(before).any() else np.nan
            change = r_mean / b_mean - 1.0 if np.isfinite(b_mean) and b_mean > 0 else np.nan
            latest = float(a[gi, -1])
            rising = bool(
                np.isfinite(change) and change > RISING and np.isfinite(latest) and latest > b_mean
            )
            rows.append(
                {
                    "group": g,
                    "roll": m,
                    "latest": latest,
                    "recent_average": r_mean,
                    "earlier_average": b_mean,
                    "change": change,
                    "rising": rising,
                }
            )
    return pd.DataFrame(rows)


def grade_mix(history: ServicerHistory) -> pd.DataFrame:
    """Each grade's share of the performing balance by month, and the mix's PSI."""
    end = history["end_balance"]
    start = history["begin_balance"][:, 0]
    G, M = end.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        share = end / end.sum(axis=0, keepdims=True)
    expected = start / start.sum() if start.sum() > 0 else np.full(G, np.nan)
    psi = np.full(M, np.nan)
    if start.sum() > 0:
        for m in np.flatnonzero(end.sum(axis=0) > 0):
            psi[m] = stability_psi(start, end[:, m])
    frame = pd.DataFrame(
        {
            "period_end": pd.to_datetime(np.tile(history.months, G)),
            "grade": np.repeat(np.asarray(history.grades, dtype=object), M),
            "share": share.reshape(-1),
            "start_share": np.repeat(expected, M),
            "psi": np.tile(psi, G),
            "status": [stability_status(v) for v in np.tile(psi, G)],
        }
    )
    frame["change"] = frame["share"] - frame["start_share"]
    return frame


def _flag_counts(
    tape: Pool | str | os.PathLike[str], deal: Deal
) -> tuple[pd.DataFrame | None, str]:
    """Early-warning flag counts of a current tape by grade, small cells withheld."""
    from abs_engine.grading.early_warning import FLAGS, early_warning, flag_counts

    pool = tape if isinstance(tape, Pool) else load_pool(tape, grades=deal.pool.grades)
    frame = pool.to_frame()
    ew_cols = [c for c in frame.columns if c.startswith("ew_")]
    if ew_cols:
        flags = frame[ew_cols].astype(bool)
        for f in FLAGS:
            if f not in flags.columns:
                flags[f] = False if f != "ew_any" else flags[ew_cols].any(axis=1)
        source = "the tape's ew_* flags"
    else:
        try:
            flags = early_warning(frame)
        except GradingError as exc:
            return (
                None,
                f"The current tape has no early-warning flags or provident-fund columns ({exc}).",
            )
        source = "flags computed from the tape's provident-fund columns"
    counts = flag_counts(flags, frame["grade"], balance=frame["balance"])
    counts = counts.reset_index().rename(columns={counts.index.name or "index": "grade"})
    count_cols = ["count", *[c for c in FLAGS if c in counts.columns]]
    counts[count_cols] = counts[count_cols].astype(np.float64)
    body = counts["grade"] != "Total"
    for c in count_cols:
        small = body & (counts[c] > 0) & (counts[c] < MIN_CELL)
        counts.loc[small, c] = np.nan
    tiny = body & (counts["count"].isna() | (counts["count"] < MIN_CELL))
    amount_cols = [c for c in counts.columns if c not in ("grade", *count_cols)]
    counts.loc[tiny, amount_cols] = np.nan
    few_flagged = body & counts["ew_any"].isna()
    counts.loc[
        few_flagged,
        [
            c
            for c in ("flagged_balance", "pct_flagged", "pct_flagged_balance")
            if c in counts.columns
        ],
    ] = np.nan
    return (
        counts,
        f"Early-warning flags of the current tape ({source}); cells of fewer than {MIN_CELL} receivables are withheld.",
    )


def early_warning_tables(
    deal: Deal,
    history: ServicerHistory,
    monthly: Mapping[str, F64],
    result: RunResult,
    triggers: pd.DataFrame,
    reprojection: RunResult | None,
    *,
    tape: Pool | str | os.PathLike[str] | None = None,
    base: Any = None,
) -> dict[str, pd.DataFrame]:
    """The early-warning tables of a surveillance (module notes)."""
    groups = (*history.grades, "pool")
    data = with_pool(monthly)
    cut = data["begin_balance"][:, 0]
    perf = measures(data, cut)
    out = {
        "headroom": headroom(triggers, reprojection),
        "roll_trend": roll_trend(perf, groups),
        "grade_mix": grade_mix(history),
    }
    if tape is not None:
        counts, note = _flag_counts(tape, deal)
        if counts is not None:
            out["flags"] = counts
        log.info(note)
    return out
