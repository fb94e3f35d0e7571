"""Monotonic optimal binning with weight of evidence (WoE) and information value (IV).

An attribute is cut into bins in two steps:

1. **Pre-bins.**  A numeric attribute is cut at up to ``max_prebins``
   quantiles of its distinct values (a value on a cut point falls in the
   upper bin, the scorecard's convention), so ties never straddle a cut; a
   categorical attribute has one pre-bin per category (matched trimmed and
   case-insensitively), ordered by default rate.
2. **Optimal merge.**  Adjacent pre-bins are merged into at most
   ``max_bins`` bins that maximise the information value subject to

   * every bin holding at least ``min_bin_share`` of the rows and at least
     ``min_bin_events`` defaults and non-defaults, and
   * the default rate rising (``"ascending"``) or falling
     (``"descending"``) strictly from bin to bin; ``"auto"`` solves both and
     keeps the one with the higher IV; ``None`` drops the constraint.

   IV is a sum over bins, so the exact optimum is a dynamic programme over
   (last bin, number of bins) with the monotonicity a condition between
   consecutive bins: :math:`O(K n^3)` for ``n`` pre-bins and ``K`` bins,
   milliseconds for the default 20 pre-bins.  This is the objective
   ``optbinning`` solves with a mixed-integer programme; see ARCHITECTURE.md
   for why abs_engine solves it itself.

Empty cells form a *special* bin outside the ordering: it has its own WoE
when it holds at least ``min_bin_events`` defaults and non-defaults,
otherwise it takes the WoE of the worst bin (conservative: an unknown record
scores like the riskiest known one).

**Weight of evidence and information value** (Siddiqi, *Credit Risk
Scorecards*, 2006, ch. 6), with :math:`g_i, b_i` the non-defaults ("goods")
and defaults ("bads") of bin ``i`` and :math:`G, B` their totals over all
rows (empty cells included):

.. math::

    \\text{WoE}_i = \\ln \\frac{g_i / G}{b_i / B},\\qquad
    \\text{IV} = \\sum_i \\Bigl(\\frac{g_i}{G} - \\frac{b_i}{B}\\Bigr)\\,\\text{WoE}_i

A positive WoE marks a bin safer than average.  A count of zero would make
the WoE infinite; such a cell is replaced by 0.5 (stated in the table's
``adjusted`` column) - the optimal merge never produces one.

>>> import numpy as np, pandas as pd
>>> x = pd.Series(np.repeat([1.0, 2.0, 3.0, 4.0], 250))
>>> y = np.concatenate([np.r_[np.ones(40), np.zeros(210)], np.r_[np.ones(30), np.zeros(220)],
...                     np.r_[np.ones(15), np.zeros(235)], np.r_[np.ones(5), np.zeros(245)]])
>>> b = bin_attribute(x, y, min_bin_share=0.1)
>>> b.edges, b.direction
((2.0, 3.0, 4.0), 'descending')
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine.errors import GradingError, SpecError
from abs_engine.grading._columns import (
    INVALID_CODE,
    MISSING_CODE,
    category_codes,
    numeric_values,
)

__all__ = [
    "Binning",
    "Monotonic",
    "bin_attribute",
    "iv_strength",
    "optimal_partition",
    "quantile_cuts",
    "woe_iv",
]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
Monotonic = Literal["auto", "ascending", "descending"] | None

#: Count put in an empty cell so that its WoE is finite.
ZERO_ADJUSTMENT = 0.5
#: Bin index of an empty cell and of a value the binning cannot place (see :meth:`Binning.assign`).
MISSING_BIN = -1
UNKNOWN_BIN = -2


def woe_iv(goods: ArrayLike, bads: ArrayLike) -> tuple[F64, F64, NDArray[np.bool_]]:
    """WoE and IV contribution of each cell from its non-default and default counts.

    Parameters
    ----------
    goods, bads : array_like
        Non-defaults :math:`g_i` and defaults :math:`b_i` per cell; the
        totals :math:`G, B` are their sums.

    Returns
    -------
    woe : ndarray
        :math:`\\ln((g_i/G)/(b_i/B))`; a zero count is replaced by 0.5 first.
    iv : ndarray
        :math:`(g_i/G - b_i/B)\\,\\text{WoE}_i` (the IV is their sum).
    adjusted : ndarray of bool
        Cells where a zero count was replaced.

    Examples
    --------
    >>> woe, iv, _ = woe_iv([90, 10], [5, 5])
    >>> [round(float(v), 4) for v in woe], round(float(iv.sum()), 4)
    ([0.5878, -1.6094], 0.8789)
    """
    g = np.asarray(goods, dtype=np.float64)
    b = np.asarray(bads, dtype=np.float64)
    G, B = g.sum(), b.sum()
    if G <= 0 or B <= 0:
        raise GradingError(
            "WoE needs both defaults and non-defaults in the sample; the target has only "
            + ("non-defaults" if B <= 0 else "defaults")
        )
    adjusted = (g <= 0) | (b <= 0)
    ga = np.where(g <= 0, ZERO_ADJUSTMENT, g)
    ba = np.where(b <= 0, ZERO_ADJUSTMENT, b)
    woe = np.log((ga / G) / (ba / B))
    iv = (g / G - b / B) * woe
    return woe, iv, adjusted


def iv_strength(iv: float) -> str:
    """The usual reading of an information value (Siddiqi 2006, p. 81).

    ``< 0.02`` unpredictive, ``0.02-0.1`` weak, ``0.1-0.3`` medium,
    ``0.3-0.5`` strong, ``>= 0.5`` suspicious (check for leakage).
    """
    if not math.isfinite(iv):
        return "n/a"
    if iv < 0.02:
        return "unpredictive"
    if iv < 0.1:
        return "weak"
    if iv < 0.3:
        return "medium"
    if iv < 0.5:
        return "strong"
    return "suspicious"


# --- the optimal merge ------------------------------------------------------------------------


def _segment_terms(
    goods: F64, bads: F64, G: float, B: float
) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    """Rows, default rate, IV term and feasibility of every segment ``[i, j]`` of pre-bins."""
    cg = np.concatenate([[0.0], np.cumsum(goods)])
    cb = np.concatenate([[0.0], np.cumsum(bads)])
    sg = cg[None, 1:] - cg[:-1, None]  # sg[i, j] = goods of pre-bins i..j
    sb = cb[None, 1:] - cb[:-1, None]
    n = sg + sb
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, sb / n, np.nan)
        woe = np.log((sg / G) / (sb / B))
        term = np.where((sg > 0) & (sb > 0), (sg / G - sb / B) * woe, np.nan)
    upper = np.triu(np.ones(sg.shape, dtype=bool))
    return n, rate, term, upper


def optimal_partition(
    goods: ArrayLike,
    bads: ArrayLike,
    *,
    direction: Literal["ascending", "descending"] | None,
    max_bins: int,
    min_rows: float,
    min_events: float,
    totals: tuple[float, float] | None = None,
) -> list[tuple[int, int]] | None:
    """The partition of ordered pre-bins into segments with the largest IV.

    Parameters
    ----------
    goods, bads : array_like
        Non-defaults and defaults of each pre-bin, in order.
    direction : {"ascending", "descending"} or None
        Default rate strictly rising / falling from segment to segment, or free.
    max_bins : int
        Most segments.
    min_rows, min_events : float
        Least rows, and least defaults and non-defaults, per segment.
    totals : (G, B), optional
        Totals for the WoE (default: the sums; pass them when other rows,
        such as empty cells, count too).

    Returns
    -------
    list of (first, last) pre-bin indices, or None
        The segments in order; ``None`` when no partition meets the
        constraints.  Ties in IV go to fewer segments.
    """
    g = np.asarray(goods, dtype=np.float64)
    b = np.asarray(bads, dtype=np.float64)
    n_pre = g.size
    G, B = totals if totals is not None else (float(g.sum()), float(b.sum()))
    rows, rate, term, upper = _segment_terms(g, b, G, B)
    seg_bads = _segment_counts(b)
    enough = (rows - seg_bads >= min_events) & (seg_bads >= min_events)
    feasible = upper & (rows >= min_rows) & enough & np.isfinite(term)
    K = max(1, min(max_bins, n_pre))
    NEG = -np.inf
    # best[k, i, j]: largest IV of pre-bins 0..j in k+1 segments, the last being [i, j]
    best = np.full((K, n_pre, n_pre), NEG)
    back = np.full((K, n_pre, n_pre), -1, dtype=np.int64)
    best[0, 0, :] = np.where(feasible[0, :], term[0, :], NEG)
    tol = 1e-12
    for k in range(1, K):
        for i in range(1, n_pre):
            prev = best[k - 1, :i, i - 1]  # segments [h, i-1], h = 0..i-1
            if not np.isfinite(prev).any():
                continue
            prev_rate = rate[:i, i - 1]
            for j in range(i, n_pre):
                if not feasible[i, j]:
                    continue
                r = rate[i, j]
                if direction == "ascending":
                    ok = prev_rate < r - tol
                elif direction == "descending":
                    ok = prev_rate > r + tol
                else:
                    ok = np.ones(i, dtype=bool)
                cand = np.where(ok, prev, NEG)
                h = int(np.argmax(cand))
                if np.isfinite(cand[h]):
                    best[k, i, j] = cand[h] + term[i, j]
                    back[k, i, j] = h
    last = best[:, :, n_pre - 1]  # (k, i)
    if not np.isfinite(last).any():
        return None
    top = float(np.max(last))
    reach = last.max(axis=1) >= top - 1e-12  # fewest segments reaching the top (within rounding)
    k = int(np.flatnonzero(reach)[0])
    i, j = int(np.argmax(last[k])), n_pre - 1
    segments: list[tuple[int, int]] = []
    while True:
        segments.append((i, j))
        if k == 0:
            break
        i, j, k = int(back[k, i, j]), i - 1, k - 1
    return segments[::-1]


def _segment_counts(x: F64) -> F64:
    c = np.concatenate([[0.0], np.cumsum(x)])
    out: F64 = c[None, 1:] - c[:-1, None]
    return out


# --- the result ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Binning:
    """The bins of one attribute, their counts, WoE and IV.

    Attributes
    ----------
    column : str
        The attribute's column.
    kind : {"numeric", "category"}
        Cut by ``edges`` or grouped by ``groups``.
    edges : tuple of float
        Numeric: bin ``k`` is ``edges[k-1] <= x < edges[k]``.
    groups : tuple of tuple of str
        Categorical: the categories of each bin.
    goods, bads : ndarray
        Non-defaults and defaults per bin (development sample).
    missing_goods, missing_bads : float
        Non-defaults and defaults among empty cells.
    woe : ndarray
        WoE per bin.
    missing_woe : float
        WoE given to an empty cell (its own, or the worst bin's).
    missing_own : bool
        Whether empty cells had enough rows for a WoE of their own.
    iv : float
        Information value (bins and, when it has its own WoE, the empty cells).
    direction : {"ascending", "descending", "none"}
        How the default rate runs across the bins.
    nonnegative, integer : bool
        Numeric: every development value was >= 0 / whole.
    """

    column: str
    kind: Literal["numeric", "category"]
    edges: tuple[float, ...]
    groups: tuple[tuple[str, ...], ...]
    goods: F64
    bads: F64
    missing_goods: float
    missing_bads: float
    woe: F64
    missing_woe: float
    missing_own: bool
    iv: float
    direction: Literal["ascending", "descending", "none"]
    nonnegative: bool = False
    integer: bool = False

    @property
    def n_bins(self) -> int:
        """Number of bins (empty cells not counted)."""
        return int(self.goods.size)

    @property
    def labels(self) -> tuple[str, ...]:
        """A label per bin: ``< 300``, ``[300, 500)``, ``>= 800``; or the categories."""
        if self.kind == "category":
            return tuple(", ".join(g) for g in self.groups)
        e = self.edges
        if not e:
            return ("all",)
        out = [f"< {e[0]:g}"]
        out += [f"[{e[k - 1]:g}, {e[k]:g})" for k in range(1, len(e))]
        out.append(f">= {e[-1]:g}")
        return tuple(out)

    @property
    def categories(self) -> tuple[str, ...]:
        """Every category, bin by bin (categorical)."""
        return tuple(c for g in self.groups for c in g)

    def assign(self, values: pd.Series | ArrayLike) -> NDArray[np.int64]:
        """Bin index of each value: ``0 .. n_bins - 1``, ``-1`` empty, ``-2`` unplaceable.

        Numeric: the number of edges ``<= x``; text that is no number is
        unplaceable.  Categorical: the bin of the category (trimmed,
        case-insensitive); a category not seen in development is unplaceable.
        """
        series = values if isinstance(values, pd.Series) else pd.Series(values, name=self.column)
        if self.kind == "numeric":
            x, missing, invalid = numeric_values(series, needed_by=f"binning of {self.column!r}")
            idx = np.searchsorted(np.asarray(self.edges, dtype=np.float64), x, side="right")
            idx = idx.astype(np.int64)
            idx[missing] = MISSING_BIN
            idx[invalid] = UNKNOWN_BIN
            return idx
        cats = self.categories
        codes = category_codes(series, cats).astype(np.int64)
        bin_of = np.repeat(np.arange(len(self.groups)), [len(g) for g in self.groups])
        out = np.where(codes >= 0, bin_of[np.maximum(codes, 0)], codes)
        out = np.where(codes == MISSING_CODE, MISSING_BIN, out)
        out = np.where(codes == INVALID_CODE, UNKNOWN_BIN, out)
        return out.astype(np.int64)

    def transform(self, values: pd.Series | ArrayLike) -> F64:
        """WoE of each value (empty cells: :attr:`missing_woe`; unplaceable: NaN)."""
        idx = self.assign(values)
        lut = np.concatenate([self.woe, [self.missing_woe, np.nan]])
        # index -1 -> missing (position n), -2 -> unknown (position n + 1)
        pos = np.where(idx >= 0, idx, np.where(idx == MISSING_BIN, self.n_bins, self.n_bins + 1))
        out: F64 = lut[pos]
        return out

    def table(self) -> pd.DataFrame:
        """One row per bin (and one for empty cells, when there were any).

        Columns: ``bin``, ``count``, ``share``, ``defaults``, ``default_rate``,
        ``woe``, ``iv`` (the bin's contribution).  Aggregates only.
        """
        goods = np.append(self.goods, self.missing_goods)
        bads = np.append(self.bads, self.missing_bads)
        woe, iv, _ = woe_iv(goods, bads)
        woe[-1] = self.missing_woe
        if not self.missing_own:
            iv[-1] = 0.0
        count = goods + bads
        labels = [*self.labels, "missing"]
        frame = pd.DataFrame(
            {
                "bin": labels,
                "count": count,
                "share": count / count.sum(),
                "defaults": bads,
                "default_rate": np.divide(
                    bads, count, out=np.full_like(count, np.nan), where=count > 0
                ),
                "woe": woe,
                "iv": iv,
            }
        )
        if count[-1] == 0:
            frame = frame.iloc[:-1]
        return frame.reset_index(drop=True)


# --- fitting -------------------------------------------------------------------------------


def _check_target(target: ArrayLike, n: int, column: str) -> F64:
    y = np.asarray(target, dtype=np.float64)
    if y.shape != (n,):
        raise GradingError(f"{column!r}: the target has {y.size} values for {n} rows")
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise GradingError(
            f"the target must be 0 (repaid) or 1 (defaulted) in every row; row {first} is not "
            "- fill or drop rows without an outcome"
        )
    return y


def quantile_cuts(values: F64, max_prebins: int) -> tuple[F64, NDArray[np.int64]]:
    """Cut points splitting ``values`` into at most ``max_prebins`` near-equal-count bins.

    Cut points are distinct values of the data (a value on a cut falls in the
    upper bin), so equal values never straddle a cut.  Returns the cuts and
    each value's bin index (the number of cuts ``<= x``).
    """
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size <= 1:
        return np.empty(0), np.zeros(values.size, dtype=np.int64)
    n_pre = max(1, min(max_prebins, uniq.size))
    before = np.cumsum(counts) - counts  # rows below each distinct value
    targets = values.size * np.arange(1, n_pre) / n_pre
    pos = np.searchsorted(before, targets, side="left")
    pos = np.unique(pos[(pos > 0) & (pos < uniq.size)])
    cuts = uniq[pos]
    idx = np.searchsorted(cuts, values, side="right").astype(np.int64)
    return cuts, idx


def bin_attribute(
    values: pd.Series,
    target: ArrayLike,
    *,
    kind: Literal["numeric", "category"] | None = None,
    monotonic: Monotonic = "auto",
    max_bins: int = 6,
    max_prebins: int = 20,
    min_bin_share: float = 0.05,
    min_bin_events: int = 5,
) -> Binning:
    """Monotonic optimal binning of one attribute against a 0/1 default flag.

    Parameters
    ----------
    values : pandas.Series
        The attribute (numbers, or text categories).  Its name is the column.
    target : array_like of 0/1
        1 = defaulted within the performance window.
    kind : {"numeric", "category"}, optional
        Default: numeric for a numeric dtype, else categorical.
    monotonic : {"auto", "ascending", "descending"} or None
        Direction of the default rate across numeric bins; ``"auto"`` keeps
        the direction with the higher IV; ``None`` no constraint.
        Categorical bins are ordered by default rate, so they are monotone
        by construction.
    max_bins : int
        Most bins (empty cells not counted).
    max_prebins : int
        Pre-bins (quantiles of a numeric attribute).
    min_bin_share : float
        Least share of the rows in a bin.
    min_bin_events : int
        Least defaults and least non-defaults in a bin.

    Returns
    -------
    Binning

    Raises
    ------
    GradingError
        The target is not 0/1, has a single class, or no binning meets the
        constraints (the message says which to relax).
    """
    column = str(values.name)
    if monotonic not in ("auto", "ascending", "descending", None):
        raise SpecError(
            f"monotonic must be 'auto', 'ascending', 'descending' or None; got {monotonic!r}",
            f"monotonic.{column}",
        )
    if not 0.0 <= min_bin_share < 0.5:
        raise SpecError(
            f"min_bin_share must be in [0, 0.5); got {min_bin_share!r}", "min_bin_share"
        )
    if max_bins < 1 or max_prebins < 1:
        raise SpecError("max_bins and max_prebins must be >= 1", "max_bins")
    if min_bin_events < 1:
        raise SpecError(
            f"min_bin_events must be >= 1 (a bin needs defaults and non-defaults for a finite WoE); "
            f"got {min_bin_events!r}",
            "min_bin_events",
        )
    n = len(values)
    y = _check_target(target, n, column)
    G, B = float(n - y.sum()), float(y.sum())
    if G <= 0 or B <= 0:
        raise GradingError(
            f"the target has only {'non-defaults' if B <= 0 else 'defaults'}; binning needs both"
        )
    if kind is None:
        numeric_dtype = pd.api.types.is_numeric_dtype(values.dtype) and not (
            pd.api.types.is_bool_dtype(values.dtype)
        )
        kind = "numeric" if numeric_dtype else "category"
    min_rows = min_bin_share * n

    if kind == "numeric":
        x, missing, invalid = numeric_values(values, needed_by=f"binning of {column!r}")
        if invalid.any():
            raise GradingError(
                f"column {column!r}: {int(invalid.sum()):,} value(s) are not numbers (first at row "
                f"{int(np.flatnonzero(invalid)[0])}); clean the column or bin it as a category"
            )
        present = ~missing
        cuts, idx = quantile_cuts(x[present], max_prebins)
        n_pre = cuts.size + 1
        yp = y[present]
        bads_pre: F64 = np.bincount(idx, weights=yp, minlength=n_pre).astype(np.float64)
        goods_pre = np.bincount(idx, minlength=n_pre).astype(np.float64) - bads_pre
        order_labels: list[Any] = list(cuts)
        xs = x[present]
        nonnegative = bool(xs.size and xs.min() >= 0)
        integer = bool(xs.size and np.all(xs == np.floor(xs)))
    else:
        series = values.astype(object)
        text = series.where(series.isna(), series.astype(str).str.strip())
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
        present = ~missing
        keys = text[present].str.lower()
        codes, uniq = pd.factorize(keys, sort=True)
        # Label each category by its first spelling in the data.
        first_seen = pd.Series(text[present].to_numpy()).groupby(codes).first()
        yp = y[present]
        bads_c = np.bincount(codes, weights=yp, minlength=len(uniq)).astype(np.float64)
        goods_c = np.bincount(codes, minlength=len(uniq)).astype(np.float64) - bads_c
        with np.errstate(invalid="ignore", divide="ignore"):
            rate_c = bads_c / (bads_c + goods_c)
        order = np.lexsort((np.arange(len(uniq)), rate_c))  # by default rate, ties by name
        bads_pre, goods_pre = bads_c[order], goods_c[order]
        order_labels = [str(first_seen.iloc[k]) for k in order]
        n_pre = len(order)
        nonnegative = integer = False
    if n_pre == 0:
        raise GradingError(f"column {column!r} is empty in every row; drop it from the features")

    directions: list[Literal["ascending", "descending"] | None]
    if kind == "category":
        directions = ["ascending"]  # pre-bins are sorted by default rate
    elif monotonic == "auto":
        directions = ["ascending", "descending"]
    else:
        directions = [monotonic]
    best: tuple[float, list[tuple[int, int]], Literal["ascending", "descending"] | None] | None = (
        None
    )
    for d in directions:
        seg = optimal_partition(
            goods_pre,
            bads_pre,
            direction=d,
            max_bins=max_bins,
            min_rows=min_rows,
            min_events=min_bin_events,
            totals=(G, B),
        )
        if seg is None:
            continue
        iv = _iv_of(seg, goods_pre, bads_pre, G, B)
        if (
            best is None
            or iv > best[0] + 1e-12
            or (abs(iv - best[0]) <= 1e-12 and len(seg) < len(best[1]))
        ):
            best = (iv, seg, d)
    if best is None:
        raise GradingError(
            f"column {column!r}: no binning gives every bin {min_bin_share:.0%} of the rows and "
            f"{min_bin_events} defaults and non-defaults; lower min_bin_share or min_bin_events, "
            "or drop the attribute"
        )
    _, segments, _ = best
    goods = np.array([goods_pre[a : b + 1].sum() for a, b in segments])
    bads = np.array([bads_pre[a : b + 1].sum() for a, b in segments])
    if kind == "numeric":
        edges = tuple(float(order_labels[a - 1]) for a, _ in segments[1:])
        groups: tuple[tuple[str, ...], ...] = ()
    else:
        edges = ()
        groups = tuple(tuple(order_labels[a : b + 1]) for a, b in segments)
    mg = float(((1.0 - y) * missing).sum())
    mb = float((y * missing).sum())
    # WoE on the totals of all rows (empty cells included); every bin has both classes
    woe = np.log((goods / G) / (bads / B))
    iv_bins = (goods / G - bads / B) * woe
    missing_own = mg >= min_bin_events and mb >= min_bin_events
    if missing_own:
        missing_woe = float(np.log((mg / G) / (mb / B)))
        iv_total = float(iv_bins.sum() + (mg / G - mb / B) * missing_woe)
    else:
        missing_woe = float(woe.min())
        iv_total = float(iv_bins.sum())
    if len(segments) == 1:
        direction: Literal["ascending", "descending", "none"] = "none"
    elif kind == "category":
        direction = "ascending"
    else:
        rates = bads / (goods + bads)
        direction = "ascending" if rates[-1] > rates[0] else "descending"
    log.debug("binned %r into %d bins, IV %.4f", column, len(segments), iv_total)
    return Binning(
        column=column,
        kind=kind,
        edges=edges,
        groups=groups,
        goods=goods,
        bads=bads,
        missing_goods=mg,
        missing_bads=mb,
        woe=woe,
        missing_woe=missing_woe,
        missing_own=missing_own,
        iv=iv_total,
        direction=direction,
        nonnegative=nonnegative,
        integer=integer,
    )


def _iv_of(segments: Sequence[tuple[int, int]], goods: F64, bads: F64, G: float, B: float) -> float:
    g = np.array([goods[a : b + 1].sum() for a, b in segments])
    b_ = np.array([bads[a : b + 1].sum() for a, b in segments])
    return float(((g / G - b_ / B) * np.log((g / G) / (b_ / B))).sum())
