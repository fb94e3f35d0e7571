"""Scorecard monitoring: population stability (PSI) of the score and characteristic stability (CSI).

The population stability index compares the distribution of a quantity
over bins between a development (expected) sample and a current (actual)
one:

.. math::

    \\text{PSI} = \\sum_i (a_i - e_i)\\,\\ln\\frac{a_i}{e_i}

with :math:`e_i, a_i` the shares of the bins (a share of 0 is replaced by
``floor`` = 0.0001 so that an empty bin gives a large but finite term).
The *characteristic* stability index (CSI) is the same formula on the bins
of one scorecard attribute.  The usual reading (Siddiqi 2006, p. 137):
below 0.10 **stable**, 0.10 to 0.25 **monitor** (a warning), 0.25 and
above **shift** (a warning: the population has moved; revalidate).

:class:`Baseline` holds the development distribution as counts only (score
bands, grades, the bins of every attribute), so monitoring needs no
borrower-level data once the card is fitted; :func:`stability` compares a
current tape or application month with it and returns a
:class:`Stability` whose ``summary`` frame feeds the early-warning section
of the pool and surveillance reports.

>>> round(psi([50, 50], [50, 50]), 12)
0.0
>>> round(psi([0.5, 0.5], [0.6, 0.4]), 6)  # 0.1 ln 1.2 - 0.1 ln 0.8
0.040547
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine._frozen import FrozenMap
from abs_engine.errors import GradingError, SpecError
from abs_engine.grading._columns import INVALID_CODE, MISSING_CODE, category_codes, numeric_values
from abs_engine.grading.binning import quantile_cuts
from abs_engine.grading.scorecard import Factor, Scorecard
from abs_engine.grading.scoring import grade

__all__ = [
    "PSI_MONITOR",
    "PSI_SHIFT",
    "Baseline",
    "Stability",
    "factor_bins",
    "factor_labels",
    "psi",
    "psi_table",
    "stability",
    "stability_status",
]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
Status = Literal["stable", "monitor", "shift"]

#: PSI at or above which a distribution is to be monitored (a warning).
PSI_MONITOR = 0.10
#: PSI at or above which the population has shifted (revalidate the card).
PSI_SHIFT = 0.25
#: Share put in an empty bin so that its PSI term is finite.
SHARE_FLOOR = 1e-4


def _shares(x: ArrayLike, what: str) -> F64:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise SpecError(f"{what}: expected a 1-d array of counts or shares", what)
    if (a < 0).any() or not np.isfinite(a).all():
        raise SpecError(f"{what}: counts must be finite and >= 0", what)
    total = a.sum()
    if total <= 0:
        raise SpecError(f"{what}: the distribution is empty (all counts 0)", what)
    out: F64 = a / total
    return out


def psi_table(
    expected: ArrayLike,
    actual: ArrayLike,
    labels: list[str] | tuple[str, ...] | None = None,
    *,
    floor: float = SHARE_FLOOR,
) -> pd.DataFrame:
    """The PSI term of every bin.

    Parameters
    ----------
    expected, actual : array_like
        Counts (or shares) per bin of the development and the current sample.
    labels : sequence of str, optional
        Bin labels (default ``0, 1, ...``).
    floor : float
        Share put in an empty bin.

    Returns
    -------
    pandas.DataFrame
        ``bin``, ``expected_share``, ``actual_share`` and ``psi``
        :math:`(a_i - e_i)\\ln(a_i/e_i)`, one row per bin.
    """
    e = _shares(expected, "expected")
    a = _shares(actual, "actual")
    if e.shape != a.shape:
        raise SpecError(
            f"expected has {e.size} bins and actual {a.size}; they must match", "actual"
        )
    ef = np.maximum(e, floor)
    af = np.maximum(a, floor)
    terms = (af - ef) * np.log(af / ef)
    return pd.DataFrame(
        {
            "bin": list(labels) if labels is not None else [str(i) for i in range(e.size)],
            "expected_share": e,
            "actual_share": a,
            "psi": terms,
        }
    )


def psi(expected: ArrayLike, actual: ArrayLike, *, floor: float = SHARE_FLOOR) -> float:
    """Population stability index between two binned distributions (see the module docstring)."""
    return float(psi_table(expected, actual, floor=floor)["psi"].sum())


def stability_status(value: float) -> Status | Literal["n/a"]:
    """``stable`` (< 0.10), ``monitor`` (< 0.25), ``shift``; ``n/a`` for NaN."""
    if not np.isfinite(value):
        return "n/a"
    if value < PSI_MONITOR:
        return "stable"
    if value < PSI_SHIFT:
        return "monitor"
    return "shift"


# --- the bins of a scorecard factor --------------------------------------------------------------


def factor_labels(factor: Factor) -> tuple[str, ...]:
    """Labels of a factor's bins, then ``missing`` and ``invalid``."""
    if factor.kind == "category":
        bins = list(factor.categories)
    else:
        e = factor.edges
        bins = [f"< {e[0]:g}"] + [f"[{e[k - 1]:g}, {e[k]:g})" for k in range(1, len(e))]
        bins.append(f">= {e[-1]:g}")
    return (*bins, "missing", "invalid")


def factor_bins(factor: Factor, series: pd.Series) -> NDArray[np.int64]:
    """Bin of each cell: ``0 .. n-1`` the factor's bins, ``n`` empty, ``n + 1`` invalid.

    ``n`` is the number of bins (``len(edges) + 1`` or the categories); a
    value on an edge falls in the upper bin, as in grading.
    """
    if factor.kind == "numeric":
        x, missing, invalid = numeric_values(
            series,
            needed_by=f"factor {factor.name!r}",
            low=factor.min,
            high=factor.max,
            integer=factor.integer,
        )
        n = len(factor.edges) + 1
        idx = np.searchsorted(np.asarray(factor.edges), x, side="right").astype(np.int64)
        idx[missing] = n
        idx[invalid] = n + 1
        return idx
    codes = category_codes(series, factor.categories).astype(np.int64)
    n = len(factor.categories)
    out = np.where(codes == MISSING_CODE, n, codes)
    out = np.where(codes == INVALID_CODE, n + 1, out)
    return out.astype(np.int64)


def _factor_counts(card: Scorecard, frame: pd.DataFrame) -> dict[str, tuple[float, ...] | None]:
    out: dict[str, tuple[float, ...] | None] = {}
    for f in card.factors:
        if f.column not in frame.columns:
            out[f.name] = None
            continue
        n_bins = len(factor_labels(f))
        idx = factor_bins(f, frame[f.column])
        out[f.name] = tuple(float(c) for c in np.bincount(idx, minlength=n_bins))
    return out


# --- the development baseline -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Baseline:
    """The development distribution of a card's score, grades and attributes (counts only).

    Attributes
    ----------
    scorecard : str
        Name of the card it describes.
    score_cuts : tuple of float
        Score band cuts: band ``k`` is ``cuts[k-1] <= score < cuts[k]``
        (deciles of the development scores, cut at distinct scores).
    score_counts : tuple of float
        Development rows per score band.
    grade_counts : mapping of str to float
        Development rows per grade.
    factor_counts : mapping of str to tuple of float or None
        Per factor: rows per bin, then empty and invalid cells (``None``:
        the column was absent).
    n : int
        Development rows.
    """

    scorecard: str
    score_cuts: tuple[float, ...]
    score_counts: tuple[float, ...]
    grade_counts: Mapping[str, float]
    factor_counts: Mapping[str, tuple[float, ...] | None]
    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "grade_counts", FrozenMap(dict(self.grade_counts)))
        object.__setattr__(self, "factor_counts", FrozenMap(dict(self.factor_counts)))
        if len(self.score_counts) != len(self.score_cuts) + 1:
            raise SpecError(
                f"{len(self.score_cuts)} score cuts make {len(self.score_cuts) + 1} bands; got "
                f"{len(self.score_counts)} counts",
                "score_counts",
            )

    @classmethod
    def from_frame(
        cls,
        card: Scorecard,
        frame: pd.DataFrame,
        *,
        bands: int = 10,
        graded: pd.DataFrame | None = None,
    ) -> Baseline:
        """Count a development sample: score deciles, grades, every factor's bins.

        ``graded`` is ``grade(frame, card)`` when the caller has it already.
        """
        g = graded if graded is not None else grade(frame, card)
        score = g["score"].to_numpy(dtype=np.float64)
        cuts, idx = quantile_cuts(score, bands)
        counts = np.bincount(idx, minlength=cuts.size + 1).astype(np.float64)
        grades = g["grade"].value_counts(sort=False).reindex(list(card.grades), fill_value=0)
        return cls(
            scorecard=card.name,
            score_cuts=tuple(float(c) for c in cuts),
            score_counts=tuple(float(c) for c in counts),
            grade_counts={str(k): float(v) for k, v in grades.items()},
            factor_counts=_factor_counts(card, frame),
            n=len(frame),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML form (counts only)."""
        return {
            "scorecard": self.scorecard,
            "n": self.n,
            "score_cuts": list(self.score_cuts),
            "score_counts": list(self.score_counts),
            "grade_counts": dict(self.grade_counts),
            "factor_counts": {
                k: (list(v) if v is not None else []) for k, v in self.factor_counts.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        """Read :meth:`to_dict`'s form back."""
        keys = ("scorecard", "n", "score_cuts", "score_counts", "grade_counts", "factor_counts")
        for k in data:
            if k not in keys:
                raise SpecError(f"unknown key {k!r}; a baseline has {', '.join(keys)}", k)
        for k in keys:
            if k not in data:
                raise SpecError("missing", k)
        return cls(
            scorecard=str(data["scorecard"]),
            score_cuts=tuple(float(v) for v in data["score_cuts"]),
            score_counts=tuple(float(v) for v in data["score_counts"]),
            grade_counts={str(k): float(v) for k, v in data["grade_counts"].items()},
            factor_counts={
                str(k): (tuple(float(x) for x in v) if v else None)
                for k, v in data["factor_counts"].items()
            },
            n=int(data["n"]),
        )


# --- stability ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Stability:
    """Score PSI, grade-mix PSI and the CSI of every attribute, development against current.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per measure: ``item`` (``score``, ``grade`` or a factor
        name), ``index`` (``PSI`` or ``CSI``), ``value``, ``status``
        (``stable``/``monitor``/``shift``/``n/a``).  What the early-warning
        section of a report shows.
    score : pandas.DataFrame
        Per score band: shares and PSI term.
    grades : pandas.DataFrame
        Per grade: shares and PSI term.
    characteristics : pandas.DataFrame
        Per factor and bin: shares and CSI term.
    n_expected, n_actual : int
        Rows compared.
    scorecard : str
        The card's name.
    warnings : tuple of str
        One line per measure at ``monitor`` or ``shift`` (also logged).
    """

    summary: pd.DataFrame
    score: pd.DataFrame
    grades: pd.DataFrame
    characteristics: pd.DataFrame
    n_expected: int
    n_actual: int
    scorecard: str
    warnings: tuple[str, ...]

    @property
    def psi(self) -> float:
        """PSI of the score."""
        return float(self.score["psi"].sum())

    @property
    def status(self) -> Status | Literal["n/a"]:
        """The worst status of any measure."""
        order = ("n/a", "stable", "monitor", "shift")
        worst = max((order.index(s) for s in self.summary["status"]), default=0)
        return order[worst]  # type: ignore[return-value]

    def csi(self) -> pd.Series:
        """CSI per factor (NaN when the current sample lacks the column)."""
        rows = self.summary[self.summary["index"] == "CSI"]
        return pd.Series(rows["value"].to_numpy(), index=rows["item"].to_numpy(), name="csi")


def stability(
    scorecard: Scorecard,
    expected: pd.DataFrame | Baseline,
    actual: pd.DataFrame,
    *,
    bands: int = 10,
    floor: float = SHARE_FLOOR,
) -> Stability:
    """Population and characteristic stability of a current sample against development.

    Parameters
    ----------
    scorecard : Scorecard
        The card in use.
    expected : DataFrame or Baseline
        The development sample (its attribute columns), or its
        :class:`Baseline` (``ScorecardFit.baseline``).
    actual : DataFrame
        The current tape or application month (its attribute columns).
    bands : int
        Score bands (deciles of the development scores) when ``expected``
        is a frame.
    floor : float
        Share put in an empty bin.

    Returns
    -------
    Stability
        Measures at 0.10 and above are warnings (logged and listed in
        ``warnings``); 0.25 and above mark a shift.

    Raises
    ------
    GradingError
        A sample cannot be graded (missing column, unusable values).
    """
    if not isinstance(scorecard, Scorecard):
        raise GradingError(f"stability() needs a Scorecard; got {type(scorecard).__name__}")
    base = (
        expected
        if isinstance(expected, Baseline)
        else Baseline.from_frame(scorecard, expected, bands=bands)
    )
    if base.scorecard != scorecard.name:
        log.warning(
            "baseline was counted for scorecard %r, comparing with %r",
            base.scorecard,
            scorecard.name,
        )
    if not isinstance(actual, pd.DataFrame) or len(actual) == 0:
        raise GradingError("stability() needs a non-empty current sample (a DataFrame)")
    now = grade(actual, scorecard)
    score = now["score"].to_numpy(dtype=np.float64)
    cuts = np.asarray(base.score_cuts, dtype=np.float64)
    idx = np.searchsorted(cuts, score, side="right")
    actual_counts = np.bincount(idx, minlength=cuts.size + 1)
    band_labels = _band_labels(cuts)
    score_table = psi_table(base.score_counts, actual_counts, band_labels, floor=floor)
    grades_now = now["grade"].value_counts(sort=False).reindex(list(scorecard.grades), fill_value=0)
    grades_table = psi_table(
        [base.grade_counts.get(g, 0.0) for g in scorecard.grades],
        grades_now.to_numpy(),
        list(scorecard.grades),
        floor=floor,
    )
    summary_rows: list[dict[str, Any]] = [
        {"item": "score", "index": "PSI", "value": float(score_table["psi"].sum())},
        {"item": "grade", "index": "PSI", "value": float(grades_table["psi"].sum())},
    ]
    char_parts = []
    current = _factor_counts(scorecard, actual)
    for f in scorecard.factors:
        exp_counts = base.factor_counts.get(f.name)
        act_counts = current.get(f.name)
        labels = factor_labels(f)
        if exp_counts is None or act_counts is None:
            summary_rows.append({"item": f.name, "index": "CSI", "value": float("nan")})
            continue
        if len(exp_counts) != len(labels):
            raise GradingError(
                f"the baseline's factor {f.name!r} has {len(exp_counts)} bins and the card "
                f"{len(labels)}; count the baseline with this card"
            )
        t = psi_table(exp_counts, act_counts, list(labels), floor=floor)
        # missing/invalid bins empty in both samples carry no information: drop them
        keep = ~((np.asarray(exp_counts) == 0) & (np.asarray(act_counts) == 0))
        t = t[keep].reset_index(drop=True)
        t.insert(0, "factor", f.name)
        char_parts.append(t)
        summary_rows.append({"item": f.name, "index": "CSI", "value": float(t["psi"].sum())})
    summary = pd.DataFrame(summary_rows)
    summary["status"] = [stability_status(v) for v in summary["value"]]
    warnings = []
    for r in summary.itertuples(index=False):
        if r.status in ("monitor", "shift"):
            what = (
                "the score"
                if r.item == "score"
                else ("the grade mix" if r.item == "grade" else f"factor {r.item!r}")
            )
            why = (
                f">= {PSI_SHIFT:g}: the population has shifted, revalidate the card"
                if r.status == "shift"
                else f">= {PSI_MONITOR:g}: monitor"
            )
            msg = f"{r.index} of {what} is {r.value:.3f} ({why})"
            warnings.append(msg)
            log.warning("scorecard %r: %s", scorecard.name, msg)
    characteristics = (
        pd.concat(char_parts, ignore_index=True)
        if char_parts
        else pd.DataFrame(columns=["factor", "bin", "expected_share", "actual_share", "psi"])
    )
    return Stability(
        summary=summary,
        score=score_table,
        grades=grades_table,
        characteristics=characteristics,
        n_expected=base.n,
        n_actual=len(actual),
        scorecard=scorecard.name,
        warnings=tuple(warnings),
    )


def _band_labels(cuts: F64) -> list[str]:
    if cuts.size == 0:
        return ["all"]
    out = [f"< {cuts[0]:g}"]
    out += [f"[{cuts[k - 1]:g}, {cuts[k]:g})" for k in range(1, cuts.size)]
    out.append(f">= {cuts[-1]:g}")
    return out
