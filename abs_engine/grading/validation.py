"""Out-of-sample validation of a scorecard: discrimination, grades, calibration, IV.

Every measure is computed on a sample the card was not fitted on (split
with :func:`split_sample`: at random, or by time on a month column).

**AUC** - the probability that a random non-default scores above a random
default, ties counting one half (Mann-Whitney, with mid-ranks):

.. math:: \\text{AUC} = \\frac{R_g - n_g (n_g + 1)/2}{n_g\\,n_b}

with :math:`R_g` the rank sum of the non-defaults' scores; its standard
error is Hanley & McNeil's (Radiology 143, 1982, eq. 2).  **Gini** (accuracy
ratio) :math:`= 2\\,\\text{AUC} - 1`.  **KS** - the largest gap between the
cumulative score distributions of defaults and non-defaults,
:math:`\\max_s |F_b(s) - F_g(s)|`, and the score where it occurs.

**Default rate by grade** with a Wilson score interval (Wilson, JASA 22,
1927) at confidence :math:`1 - \\alpha`, :math:`z = \\Phi^{-1}(1 - \\alpha/2)`:

.. math::

    \\frac{\\hat p + z^2/2n}{1 + z^2/n} \\pm
    \\frac{z}{1 + z^2/n}\\sqrt{\\frac{\\hat p (1 - \\hat p)}{n} + \\frac{z^2}{4n^2}}

The grades are *monotone* when the observed default rate rises strictly
from the best grade to the worst.

**Calibration** - per score band (deciles of the validation scores): the
mean predicted default probability (from the card's
:class:`~abs_engine.grading.Scaling`) against the observed rate and its
Wilson interval, and the Hosmer-Lemeshow statistic
:math:`\\sum_k (O_k - E_k)^2 / (E_k (1 - E_k/n_k))` with ``bands - 2``
degrees of freedom.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from abs_engine.errors import GradingError, SpecError
from abs_engine.grading.binning import iv_strength, quantile_cuts, woe_iv
from abs_engine.grading.fitting import ScorecardFit, _target
from abs_engine.grading.monitor import factor_bins, factor_labels
from abs_engine.grading.scorecard import Scorecard
from abs_engine.grading.scoring import grade

__all__ = [
    "Validation",
    "auc",
    "ks",
    "split_sample",
    "validate",
    "wilson_interval",
]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]


def _score_and_target(score: ArrayLike, default: ArrayLike) -> tuple[F64, NDArray[np.bool_]]:
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(default)
    if s.shape != y.shape or s.ndim != 1:
        raise SpecError("score and default flag must be 1-d arrays of the same length", "score")
    if np.isnan(s).any():
        raise GradingError("a score is NaN; grade every row before validating")
    yb = y.astype(bool)
    if yb.all() or not yb.any():
        raise GradingError("the validation sample needs both defaults and non-defaults")
    return s, yb


def auc(score: ArrayLike, default: ArrayLike) -> float:
    """Area under the ROC curve: P(non-default scores above default), ties one half.

    >>> auc([1, 2, 3, 4], [1, 1, 0, 0])
    1.0
    >>> auc([1, 2, 2, 3], [1, 0, 1, 0])  # pairs (good, bad): 1, 1/2, 1, 1
    0.875
    """
    s, y = _score_and_target(score, default)
    ranks = stats.rankdata(s)
    ng = float((~y).sum())
    nb = float(y.sum())
    return float((ranks[~y].sum() - ng * (ng + 1) / 2) / (ng * nb))


def _auc_se(a: float, n_high: float, n_low: float) -> float:
    """Hanley & McNeil's standard error of an AUC.

    ``n_high`` counts the group the AUC says scores higher (here the
    non-defaults), ``n_low`` the other:
    :math:`\\sqrt{[A(1-A) + (n_h - 1)(Q_1 - A^2) + (n_l - 1)(Q_2 - A^2)] / (n_h n_l)}`
    with :math:`Q_1 = A/(2-A)`, :math:`Q_2 = 2A^2/(1+A)`.
    """
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_high - 1) * (q1 - a * a) + (n_low - 1) * (q2 - a * a)) / (
        n_high * n_low
    )
    return float(np.sqrt(max(var, 0.0)))


def ks(score: ArrayLike, default: ArrayLike) -> tuple[float, float]:
    """Kolmogorov-Smirnov statistic and the score where the gap is largest.

    The gap at score ``t`` is :math:`|F_b(t) - F_g(t)|`, the shares of
    defaults and of non-defaults scoring ``<= t``.

    >>> ks([1, 2, 3, 4], [1, 1, 0, 0])
    (1.0, 2.0)
    """
    s, y = _score_and_target(score, default)
    uniq, inv = np.unique(s, return_inverse=True)
    bads = np.bincount(inv, weights=y.astype(np.float64), minlength=uniq.size)
    goods = np.bincount(inv, minlength=uniq.size) - bads
    gap = np.abs(np.cumsum(bads) / bads.sum() - np.cumsum(goods) / goods.sum())
    k = int(np.argmax(gap))
    return float(gap[k]), float(uniq[k])


def wilson_interval(defaults: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[F64, F64]:
    """Wilson score interval of a default rate (see the module docstring).

    >>> lo, hi = wilson_interval(10, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0552, 0.1744)
    """
    d = np.asarray(defaults, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    if not 0.0 < confidence < 1.0:
        raise SpecError(f"confidence must be in (0, 1); got {confidence!r}", "confidence")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = d / m
        denom = 1 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    lo = np.where(m > 0, centre - half, np.nan)
    hi = np.where(m > 0, centre + half, np.nan)
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


def split_sample(
    frame: pd.DataFrame,
    *,
    test_share: float = 0.3,
    seed: int = 0,
    time_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Development and validation samples.

    Parameters
    ----------
    frame : pandas.DataFrame
    test_share : float
        Share of rows held out.
    seed : int
        Random split (ignored for a time split).
    time_column : str, optional
        Split by time instead: the latest periods (the values of this column,
        e.g. ``application_month``, in order: by value for numbers, dates and
        times, as text otherwise, so write months as ``YYYY-MM``) holding about
        ``test_share`` of the rows are held out, whole periods at a time.

    Returns
    -------
    (development, validation) : tuple of DataFrame
    """
    if not 0.0 < test_share < 1.0:
        raise SpecError(f"test_share must be in (0, 1); got {test_share!r}", "test_share")
    n = len(frame)
    if n < 2:
        raise GradingError("a sample of fewer than two rows cannot be split")
    if time_column is None:
        rng = np.random.Generator(np.random.PCG64(seed))
        test = np.zeros(n, dtype=bool)
        test[rng.permutation(n)[: max(1, round(test_share * n))]] = True
    else:
        if time_column not in frame.columns:
            raise GradingError(f"no time column {time_column!r} to split on")
        periods = frame[time_column]
        if periods.isna().any():
            raise GradingError(f"time column {time_column!r} has empty cells; fill or drop them")
        # Periods in their own order: numbers and times by value (as text, month 10 would
        # come before month 9), anything else as text ("2016-01" sorts as it reads).
        native = (
            pd.api.types.is_numeric_dtype(periods)
            or pd.api.types.is_datetime64_any_dtype(periods)
            or pd.api.types.is_timedelta64_dtype(periods)
        ) and not isinstance(periods.dtype, pd.CategoricalDtype)
        keys = periods.to_numpy() if native else periods.astype(str).to_numpy()
        uniq, which, counts = np.unique(keys, return_inverse=True, return_counts=True)
        if uniq.size < 2:
            raise GradingError(f"time column {time_column!r} holds one period; nothing to hold out")
        from_end = np.cumsum(counts[::-1]) / n
        k = int(np.argmin(np.abs(from_end - test_share)))
        n_held = max(1, min(k + 1, uniq.size - 1))
        test = np.asarray(which).reshape(-1) >= uniq.size - n_held  # the latest periods
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Validation:
    """A scorecard's out-of-sample performance; every table is an aggregate.

    Attributes
    ----------
    summary : pandas.Series
        ``rows``, ``defaults``, ``default_rate``, ``auc``, ``auc_se``,
        ``auc_low``/``auc_high`` (normal interval), ``gini``, ``ks``,
        ``ks_score``, ``grades_monotone``, ``hosmer_lemeshow``,
        ``hosmer_lemeshow_p``, ``confidence``.
    grades : pandas.DataFrame
        Per grade: ``count``, ``share``, ``defaults``, ``default_rate``,
        ``ci_low``, ``ci_high``, ``predicted_pd``, ``min_score``.
    calibration : pandas.DataFrame
        Per score band: ``band``, ``score_low``, ``score_high``, ``count``,
        ``defaults``, ``default_rate``, ``ci_low``, ``ci_high``,
        ``predicted_pd``, ``within_ci``.
    information_value : pandas.DataFrame
        Per factor on the validation sample: ``iv``, ``strength``, and the
        development IV when the card came from a fit.
    characteristics : pandas.DataFrame
        Per factor and bin: count, share, defaults, default rate, WoE.
    roc : pandas.DataFrame
        The ROC and KS curves at (up to) 200 score cuts:
        ``score``, ``false_positive_rate`` (share of non-defaults scoring
        ``<= score``), ``true_positive_rate`` (defaults ``<= score``).
    scorecard : Scorecard
    target : str
    """

    summary: pd.Series
    grades: pd.DataFrame
    calibration: pd.DataFrame
    information_value: pd.DataFrame
    characteristics: pd.DataFrame
    roc: pd.DataFrame
    scorecard: Scorecard
    target: str

    @property
    def auc(self) -> float:
        """Out-of-sample AUC."""
        return float(self.summary["auc"])

    @property
    def gini(self) -> float:
        """Out-of-sample Gini (2 AUC - 1)."""
        return float(self.summary["gini"])

    @property
    def monotone(self) -> bool:
        """Whether the observed default rate rises strictly from the best grade to the worst."""
        return bool(self.summary["grades_monotone"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for a workbook)."""
        return {
            "summary": self.summary.rename("value").to_frame().reset_index(names="measure"),
            "grades": self.grades,
            "calibration": self.calibration,
            "information_value": self.information_value,
            "characteristics": self.characteristics,
        }


def validate(
    scorecard: Scorecard | ScorecardFit,
    frame: pd.DataFrame,
    target: str,
    *,
    bands: int = 10,
    confidence: float = 0.95,
) -> Validation:
    """Validate a scorecard on a labelled sample it was not fitted on.

    Parameters
    ----------
    scorecard : Scorecard or ScorecardFit
        The card (a fit adds its development IV to the IV table).
    frame : pandas.DataFrame
        Validation sample: the card's attribute columns and the target.
    target : str
        The 0/1 default flag.
    bands : int
        Score bands for the calibration table (quantiles of the scores).
    confidence : float
        Level of the Wilson intervals and the AUC interval.

    Returns
    -------
    Validation

    Examples
    --------
    >>> from abs_engine.grading.synthetic import synthetic_applications
    >>> from abs_engine.grading.fitting import fit
    >>> dev, test = split_sample(synthetic_applications(20_000, seed=2), seed=2)
    >>> v = validate(fit(dev, "default_flag"), test, "default_flag")
    >>> v.monotone, round(v.auc, 2)
    (True, 0.73)
    """
    fitted = scorecard if isinstance(scorecard, ScorecardFit) else None
    card = fitted.scorecard if fitted is not None else scorecard
    if not isinstance(card, Scorecard):
        raise GradingError(
            f"validate() needs a Scorecard or a ScorecardFit; got {type(card).__name__}"
        )
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise GradingError("validate() needs a non-empty labelled sample (a DataFrame)")
    y = _target(frame, target, "validation sample")
    graded = grade(frame, card)
    score = graded["score"].to_numpy(dtype=np.float64)
    yb = y.astype(bool)
    n, nb = y.size, float(y.sum())
    ng = n - nb
    a = auc(score, yb)
    se = _auc_se(a, ng, nb)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    k_stat, k_score = ks(score, yb)
    pd_hat = card.scaling.pd(score) if card.scaling is not None else np.full(n, np.nan)

    # grades
    code = card.grade_of(score).astype(np.int64)
    G = len(card.grades)
    count = np.bincount(code, minlength=G).astype(np.float64)
    defaults = np.bincount(code, weights=y, minlength=G)
    pred = np.bincount(code, weights=pd_hat, minlength=G)
    lo, hi = wilson_interval(defaults, count, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, defaults / count, np.nan)
        pred_mean = np.where(count > 0, pred / count, np.nan)
    grades = pd.DataFrame(
        {
            "count": count,
            "share": count / n,
            "defaults": defaults,
            "default_rate": rate,
            "ci_low": lo,
            "ci_high": hi,
            "predicted_pd": pred_mean,
            "min_score": [*card.thresholds, np.nan],
        },
        index=pd.Index(card.grades, name="grade"),
    )
    present = rate[count > 0]
    monotone = bool(present.size >= 2 and np.all(np.diff(present) > 0)) and bool((count > 0).all())

    # calibration
    cuts, band = quantile_cuts(score, bands)
    nbands = cuts.size + 1
    b_count = np.bincount(band, minlength=nbands).astype(np.float64)
    b_def = np.bincount(band, weights=y, minlength=nbands)
    b_pred = np.bincount(band, weights=pd_hat, minlength=nbands)
    b_lo, b_hi = wilson_interval(b_def, b_count, confidence)
    s_low = np.array([score[band == k].min() for k in range(nbands)])
    s_high = np.array([score[band == k].max() for k in range(nbands)])
    with np.errstate(invalid="ignore", divide="ignore"):
        b_rate = b_def / b_count
        b_pmean = b_pred / b_count
    calibration = pd.DataFrame(
        {
            "band": np.arange(1, nbands + 1),
            "score_low": s_low,
            "score_high": s_high,
            "count": b_count,
            "defaults": b_def,
            "default_rate": b_rate,
            "ci_low": b_lo,
            "ci_high": b_hi,
            "predicted_pd": b_pmean,
            "within_ci": (b_pmean >= b_lo) & (b_pmean <= b_hi),
        }
    )
    if card.scaling is not None and nbands > 2:
        expected = b_pred
        with np.errstate(invalid="ignore", divide="ignore"):
            hl = float(np.nansum((b_def - expected) ** 2 / (expected * (1 - expected / b_count))))
        hl_p = float(stats.chi2.sf(hl, nbands - 2))
    else:
        hl, hl_p = float("nan"), float("nan")
        calibration["within_ci"] = False

    # IV and characteristics
    dev_iv: dict[str, float] = {}
    if fitted is not None:
        ivt = fitted.information_value
        dev_iv = dict(zip(ivt["feature"].astype(str), ivt["iv"].astype(float), strict=True))
    iv_rows = []
    chars = []
    for f in card.factors:
        if f.column not in frame.columns:
            continue
        idx = factor_bins(f, frame[f.column])
        labels = factor_labels(f)
        bc = np.bincount(idx, minlength=len(labels)).astype(np.float64)
        bd = np.bincount(idx, weights=y, minlength=len(labels))
        keep = bc > 0
        woe, ivs, _ = woe_iv((bc - bd)[keep], bd[keep])
        iv = float(ivs.sum())
        iv_rows.append(
            {
                "factor": f.name,
                "iv": iv,
                "strength": iv_strength(iv),
                "development_iv": dev_iv.get(f.column, np.nan),
            }
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            chars.append(
                pd.DataFrame(
                    {
                        "factor": f.name,
                        "bin": np.asarray(labels, dtype=object)[keep],
                        "count": bc[keep],
                        "share": bc[keep] / n,
                        "defaults": bd[keep],
                        "default_rate": bd[keep] / bc[keep],
                        "woe": woe,
                    }
                )
            )
    iv_table = pd.DataFrame(iv_rows)
    characteristics = pd.concat(chars, ignore_index=True) if chars else pd.DataFrame()

    # ROC / KS curve at up to 200 cuts
    uniq, inv = np.unique(score, return_inverse=True)
    cb = np.cumsum(np.bincount(inv, weights=y, minlength=uniq.size)) / nb
    cg = np.cumsum(np.bincount(inv, weights=1.0 - y, minlength=uniq.size)) / ng
    pick = np.unique(np.linspace(0, uniq.size - 1, min(uniq.size, 200)).round().astype(np.int64))
    roc = pd.DataFrame(
        {
            "score": uniq[pick],
            "false_positive_rate": cg[pick],
            "true_positive_rate": cb[pick],
        }
    )
    summary = pd.Series(
        {
            "rows": float(n),
            "defaults": nb,
            "default_rate": nb / n,
            "auc": a,
            "auc_se": se,
            "auc_low": a - z * se,
            "auc_high": a + z * se,
            "gini": 2 * a - 1,
            "ks": k_stat,
            "ks_score": k_score,
            "grades_monotone": monotone,
            "hosmer_lemeshow": hl,
            "hosmer_lemeshow_p": hl_p,
            "confidence": confidence,
        },
        dtype=object,
    )
    if not monotone:
        log.warning(
            "scorecard %r: default rates by grade are not monotone on the validation sample: %s",
            card.name,
            ", ".join(f"{g} {r:.2%}" for g, r in zip(card.grades, rate, strict=True)),
        )
    log.info("validated %r on %d rows: AUC %.4f, KS %.4f", card.name, n, a, k_stat)
    return Validation(
        summary=summary,
        grades=grades,
        calibration=calibration,
        information_value=iv_table,
        characteristics=characteristics,
        roc=roc,
        scorecard=card,
        target=target,
    )
