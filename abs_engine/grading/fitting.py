"""Fitting a provident-fund scorecard from a labelled history.

:func:`fit` takes one row per borrower (attributes at application and a 0/1
default flag over the performance window) and returns a
:class:`ScorecardFit` whose ``scorecard`` is an ordinary
:class:`~abs_engine.grading.Scorecard` - the same TOML that
:func:`~abs_engine.grading.grade` reads.  The steps:

1. **Binning** of every attribute (:func:`~abs_engine.grading.binning.bin_attribute`:
   monotone optimal bins, WoE, IV).
2. **Selection**: attributes with IV below ``min_iv`` (0.02 by default,
   "unpredictive") are left out.
3. **Logistic regression** of the default flag on the WoE of the selected
   attributes, by Newton-Raphson (iteratively reweighted least squares),
   with standard errors from the inverse Hessian:

   .. math:: \\operatorname{logit} P(\\text{default}) = \\beta_0 + \\sum_j \\beta_j\\,\\text{WoE}_j

   WoE is "good over bad", so every :math:`\\beta_j` should be negative; an
   attribute with a positive coefficient (its bins would score against their
   own evidence, a sign of collinearity) is dropped, the worst first, and
   the model refitted.
4. **Points** (:class:`~abs_engine.grading.Scaling`: ``factor = pdo / ln 2``,
   ``offset = base_score - factor ln(base_odds)``):

   .. math::

       \\text{points}_{jk} = -\\text{factor}\\;\\beta_j\\,\\text{WoE}_{jk},\\qquad
       \\text{base\\_points} = \\text{offset} - \\text{factor}\\;\\beta_0

   rounded to ``points_digits`` decimals (whole points by default), so that
   :math:`s = \\text{base} + \\sum_j \\text{points}_j` is the scaled log-odds of
   the model up to rounding.  An empty cell scores its own WoE's points when
   development had enough of them, else the worst bin's.
5. **Cut-offs** by a stated :class:`CutoffRule`: population shares per
   grade (default 50% / 30% / 20%), or the largest slices whose mean
   *predicted* default rate (from the scaling) stays within each grade's
   target.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import tomli_w
from numpy.typing import NDArray
from scipy import special, stats

from abs_engine._frozen import FrozenMap
from abs_engine.errors import GradingError, SpecError
from abs_engine.grading.binning import Binning, Monotonic, bin_attribute, iv_strength
from abs_engine.grading.monitor import Baseline
from abs_engine.grading.scorecard import Factor, Rule, Scaling, Scorecard, load_scorecard
from abs_engine.grading.scoring import grade
from abs_engine.io import atomic_path

__all__ = [
    "DEFAULT_FEATURES",
    "PLATFORM_FEATURES",
    "CutoffRule",
    "ScorecardFit",
    "cutoffs_for",
    "fit",
    "logistic_regression",
]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]

#: Attributes :func:`fit` uses when none are named: the provident-fund record and the
#: platform behaviour columns abs_engine knows (those present in the frame).
DEFAULT_FEATURES: tuple[str, ...] = (
    "pf_monthly_contribution",
    "pf_status",
    "pf_years",
    "pf_status_changes_12m",
    "spend_avg_6m",
    "spend_last_month",
    "spend_volatility",
    "max_dpd_12m",
)
#: Platform-behaviour attributes: optional factors by default (a tape may lack them).
PLATFORM_FEATURES: tuple[str, ...] = (
    "spend_avg_6m",
    "spend_last_month",
    "spend_volatility",
    "max_dpd_12m",
)


def _package_version() -> str:
    try:
        return version("abs_engine")
    except PackageNotFoundError:  # pragma: no cover - source tree without installation
        return "0.0.0+unknown"


# --- cut-off rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CutoffRule:
    """How the grade thresholds are chosen on the development sample.

    Parameters
    ----------
    kind : {"shares", "default_rates"}
        ``"shares"``: ``targets`` are the population share of every grade
        (best first, summing to 1); each threshold is the distinct score
        whose share at or above it is closest to the cumulative target.
        ``"default_rates"``: ``targets`` are the highest mean predicted
        default rate (from the card's scaling) of every grade but the last;
        from the top score down, each grade takes the largest slice whose
        mean predicted default rate is within its target; the last grade
        takes the rest.
    targets : mapping of grade to float
        In grade order, best first.

    Examples
    --------
    >>> CutoffRule.shares(A=0.5, B=0.3, C=0.2).grades
    ('A', 'B', 'C')
    >>> CutoffRule.default_rates(A=0.03, B=0.08).kind
    'default_rates'
    """

    kind: Literal["shares", "default_rates"]
    targets: Mapping[str, float]

    def __post_init__(self) -> None:
        if self.kind not in ("shares", "default_rates"):
            raise SpecError(
                f"a cut-off rule is 'shares' or 'default_rates'; got {self.kind!r}", "cutoffs.kind"
            )
        targets = {str(k): float(v) for k, v in dict(self.targets).items()}
        if not targets:
            raise SpecError("name at least one grade's target", "cutoffs.targets")
        for g, v in targets.items():
            if not math.isfinite(v) or not 0.0 < v <= 1.0:
                raise SpecError(
                    f"a target is a share or rate in (0, 1]; got {v!r}", f"cutoffs.targets.{g}"
                )
        if self.kind == "shares":
            if len(targets) < 2:
                raise SpecError("shares need at least two grades", "cutoffs.targets")
            total = sum(targets.values())
            if abs(total - 1.0) > 1e-9:
                raise SpecError(
                    f"grade shares must sum to 1; they sum to {total:g}", "cutoffs.targets"
                )
        else:
            rates = list(targets.values())
            for i in range(1, len(rates)):
                if not rates[i] > rates[i - 1]:
                    names = list(targets)
                    raise SpecError(
                        f"target default rates must rise from the best grade: {names[i]} "
                        f"{rates[i]:g} is not above {names[i - 1]} {rates[i - 1]:g}",
                        f"cutoffs.targets.{names[i]}",
                    )
        object.__setattr__(self, "targets", FrozenMap(targets))

    @classmethod
    def shares(cls, **shares: float) -> CutoffRule:
        """Population share per grade, best first: ``CutoffRule.shares(A=0.5, B=0.3, C=0.2)``."""
        return cls("shares", shares)

    @classmethod
    def default_rates(cls, **rates: float) -> CutoffRule:
        """Highest mean predicted default rate of every grade but the last, best first."""
        return cls("default_rates", rates)

    @property
    def grades(self) -> tuple[str, ...]:
        """The grades the rule names, best first."""
        return tuple(self.targets)

    def describe(self) -> str:
        """One line stating the rule."""
        parts = ", ".join(f"{g} {v:.1%}" for g, v in self.targets.items())
        if self.kind == "shares":
            return f"population shares per grade: {parts}"
        return f"largest slices with mean predicted default rate within: {parts}"


def cutoffs_for(
    scores: F64, rule: CutoffRule, grades: Sequence[str], scaling: Scaling | None
) -> tuple[float, ...]:
    """Grade thresholds (strictly decreasing distinct scores) by ``rule``.

    Raises
    ------
    GradingError
        The scores take too few values to give every grade a slice, or no
        score meets a target default rate.
    """
    grades = tuple(grades)
    s = np.asarray(scores, dtype=np.float64)
    uniq, counts = np.unique(s, return_counts=True)
    uniq, counts = uniq[::-1], counts[::-1]  # best first
    if len(grades) < 2:
        return ()
    if uniq.size < len(grades):
        raise GradingError(
            f"the development scores take {uniq.size} distinct value(s), too few for "
            f"{len(grades)} grades; use finer points (points_digits) or fewer grades"
        )
    n = s.size
    cum = np.cumsum(counts) / n  # share with score >= uniq[k]
    thresholds: list[float] = []
    k_prev = -1
    if rule.kind == "shares":
        missing = [g for g in grades if g not in rule.targets]
        extra = [g for g in rule.targets if g not in grades]
        if missing or extra:
            raise SpecError(
                f"the share rule names {', '.join(rule.targets)}; the card's grades are "
                f"{', '.join(grades)}",
                "cutoffs.targets",
            )
        target = np.cumsum([rule.targets[g] for g in grades])[:-1]
        for j, c in enumerate(target):
            lo = k_prev + 1
            hi = uniq.size - (len(grades) - 1 - j)  # leave a score for every lower grade
            k = lo + int(np.argmin(np.abs(cum[lo:hi] - c)))
            thresholds.append(float(uniq[k]))
            k_prev = k
        return tuple(thresholds)
    if scaling is None:
        raise GradingError("a default-rate cut-off rule needs the card's scaling (score to odds)")
    for g in rule.targets:
        if g not in grades[:-1]:
            raise SpecError(
                f"default-rate targets are for every grade but the last ({', '.join(grades[:-1])});"
                f" got {g!r}",
                f"cutoffs.targets.{g}",
            )
    pd_u = scaling.pd(uniq)
    cpd = np.cumsum(pd_u * counts)
    ccount = np.cumsum(counts)
    for j, g in enumerate(grades[:-1]):
        if g not in rule.targets:
            raise SpecError(
                f"no target default rate for grade {g!r}; give one for every grade but the last",
                f"cutoffs.targets.{g}",
            )
        t = rule.targets[g]
        base_pd = cpd[k_prev] if k_prev >= 0 else 0.0
        base_n = ccount[k_prev] if k_prev >= 0 else 0.0
        hi = uniq.size - (len(grades) - 1 - j)
        ks = np.arange(k_prev + 1, hi)
        mean_pd = (cpd[ks] - base_pd) / (ccount[ks] - base_n)
        ok = np.flatnonzero(mean_pd <= t)
        if ok.size == 0:
            raise GradingError(
                f"no slice of scores meets grade {g}'s target default rate {t:.2%}: the best "
                f"remaining score predicts {float(mean_pd[0]):.2%}; raise the target"
            )
        k = int(ks[ok[-1]])
        thresholds.append(float(uniq[k]))
        k_prev = k
    return tuple(thresholds)


# --- logistic regression --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LogisticResult:
    """Coefficients of a logistic regression with their standard errors."""

    coef: F64
    std_error: F64
    log_likelihood: float
    iterations: int


def logistic_regression(X: F64, y: F64, *, max_iter: int = 50, tol: float = 1e-9) -> LogisticResult:
    """Maximum-likelihood logistic regression by Newton-Raphson (IRLS).

    ``X`` includes the intercept column.  Each step solves
    :math:`(X^T W X)\\,\\delta = X^T (y - \\mu)` with
    :math:`\\mu = \\operatorname{expit}(X\\beta)`, :math:`W = \\mu(1-\\mu)`;
    standard errors are the square roots of the diagonal of
    :math:`(X^T W X)^{-1}` at the optimum.

    Raises
    ------
    GradingError
        The design is singular (an attribute duplicates another) or the
        iteration does not converge (perfect separation).
    """
    beta = np.zeros(X.shape[1])
    p0 = float(np.clip(y.mean(), 1e-9, 1 - 1e-9))
    beta[0] = math.log(p0 / (1 - p0))
    H = np.eye(X.shape[1])
    step = np.full(X.shape[1], np.inf)
    it = 0
    while it < max_iter:
        it += 1
        mu = special.expit(X @ beta)
        w = mu * (1.0 - mu)
        grad = X.T @ (y - mu)
        H = (X * w[:, None]).T @ X
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            raise GradingError(
                "the logistic regression is singular: two attributes carry the same information; "
                "drop one"
            ) from None
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    if np.max(np.abs(step)) >= tol:
        raise GradingError(
            f"the logistic regression did not converge in {max_iter} iterations (perfect "
            "separation?); check the target and drop attributes that predict it exactly"
        )
    mu = np.clip(special.expit(X @ beta), 1e-300, 1 - 1e-16)
    ll = float(np.sum(y * np.log(mu) + (1 - y) * np.log1p(-mu)))
    cov = np.linalg.inv(H)
    return LogisticResult(beta, np.sqrt(np.maximum(np.diag(cov), 0.0)), ll, it)


# --- the fit result -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ScorecardFit:
    """A fitted scorecard with everything that went into it.

    Attributes
    ----------
    scorecard : Scorecard
        The card (write it with :meth:`to_toml`; grade with it as with any card).
    binnings : mapping of column to Binning
        The bins of every candidate attribute.
    selected : tuple of str
        Columns in the card, strongest (highest IV) first.
    information_value : pandas.DataFrame
        Per candidate: ``iv``, ``strength``, ``bins``, ``direction``,
        ``selected`` and ``note`` (why left out).
    coefficients : pandas.DataFrame
        Intercept and per selected attribute: ``coefficient``,
        ``std_error``, ``z``, ``p_value``.
    cutoff_rule : CutoffRule
        The rule the thresholds came from.
    baseline : Baseline
        Development distribution (counts) for monitoring.
    target : str
        The default flag's column.
    n_rows, n_defaults : int
        Development sample.
    """

    scorecard: Scorecard
    binnings: Mapping[str, Binning]
    selected: tuple[str, ...]
    information_value: pd.DataFrame
    coefficients: pd.DataFrame
    cutoff_rule: CutoffRule
    baseline: Baseline
    target: str
    n_rows: int
    n_defaults: int
    factor_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "binnings", FrozenMap(dict(self.binnings)))
        object.__setattr__(self, "factor_names", FrozenMap(dict(self.factor_names)))

    @property
    def scaling(self) -> Scaling:
        """The points-to-odds scaling of the card."""
        assert self.scorecard.scaling is not None
        return self.scorecard.scaling

    def points_table(self) -> pd.DataFrame:
        """Per factor and bin: count, share, defaults, default rate, WoE, IV and points.

        Aggregates of the development sample only.
        """
        parts = []
        for f in self.scorecard.factors:
            b = self.binnings[f.column]
            t = b.table()
            points = _bin_points(f, b)
            if len(t) > b.n_bins:
                points.append(f.missing.points if f.missing.points is not None else np.nan)
            t.insert(0, "factor", f.name)
            t["points"] = points
            parts.append(t)
        return pd.concat(parts, ignore_index=True)

    def score(self, frame: pd.DataFrame) -> F64:
        """Scores from the bins and points directly (without :func:`grade`): a cross-check.

        Rows the binning cannot place (a category not seen in development,
        text in a numeric column) get NaN.
        """
        card = self.scorecard
        total = np.full(len(frame), card.base_points)
        for f in card.factors:
            if f.column not in frame.columns:
                if f.required:
                    raise GradingError(f"the frame lacks column {f.column!r} (factor {f.name!r})")
                continue
            b = self.binnings[f.column]
            idx = b.assign(frame[f.column])
            assert f.missing.points is not None
            lut = np.concatenate([_bin_points(f, b), [f.missing.points, np.nan]])
            pos = np.where(idx >= 0, idx, np.where(idx == -1, b.n_bins, b.n_bins + 1))
            total = total + lut[pos]
        return total

    def predict_pd(self, frame: pd.DataFrame) -> F64:
        """Default probability of each row from its score and the card's scaling."""
        return self.scaling.pd(grade(frame, self.scorecard)["score"].to_numpy())

    def to_toml(self, path: str | os.PathLike[str]) -> Path:
        """Write the card as TOML (atomically); :func:`~abs_engine.grading.load_scorecard` reads it.

        A comment header records the development sample and the rule of the
        cut-offs; the content is ``scorecard.to_dict()``.
        """
        target = Path(path)
        iv = self.information_value
        lines = [
            f"# Scorecard fitted by abs_engine {_package_version()} (abs_engine.grading.fitting)",
            f"# development sample: {self.n_rows:,} rows, {self.n_defaults:,} defaults "
            f"({self.n_defaults / max(self.n_rows, 1):.2%}), target column {self.target!r}",
            "# information value: "
            + ", ".join(
                f"{r.feature} {r.iv:.3f}{'' if r.selected else ' (left out)'}"
                for r in iv.itertuples(index=False)
            ),
            f"# cut-offs: {self.cutoff_rule.describe()}",
            "# points = -factor x coefficient x WoE, factor = pdo / ln 2 (see [scaling]);",
            "# a value on an edge falls in the upper bin.",
            "",
        ]
        text = "\n".join(lines) + "\n" + tomli_w.dumps(self.scorecard.to_dict())
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        log.info("wrote scorecard %r to %s", self.scorecard.name, target)
        return target

    def __repr__(self) -> str:
        return (
            f"ScorecardFit({self.scorecard.name!r}: {len(self.selected)} of "
            f"{len(self.binnings)} attributes, {self.n_rows:,} rows, thresholds "
            f"{list(self.scorecard.thresholds)})"
        )


def _bin_points(f: Factor, b: Binning) -> list[float]:
    """Points of each of the binning's bins, read from the factor."""
    if f.kind == "category":
        return [f.points[f.categories.index(g[0])] for g in b.groups]
    return list(f.points)


# --- fit ------------------------------------------------------------------------------------


def _reason_code(column: str, taken: set[str]) -> str:
    code = re.sub(r"[^A-Z0-9]+", "_", column.upper()).strip("_") or "FACTOR"
    if not code[0].isalpha():
        code = f"F_{code}"
    base, k = code, 2
    while code in taken or f"{code}_MISSING" in taken:
        code = f"{base}_{k}"
        k += 1
    return code


def _target(frame: pd.DataFrame, target: str, what: str = "history") -> F64:
    if target not in frame.columns:
        close = difflib.get_close_matches(target, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise GradingError(f"no target column {target!r} in the {what}{hint}")
    col = frame[target]
    if col.isna().any():
        rows = np.flatnonzero(col.isna().to_numpy())
        raise GradingError(
            f"target {target!r} is empty in {rows.size:,} row(s) (first row {int(rows[0])}); "
            "drop rows whose outcome is not yet known"
        )
    try:
        y = col.astype(np.float64).to_numpy()
    except (TypeError, ValueError):
        raise GradingError(
            f"target {target!r} must be 0 (repaid) / 1 (defaulted) or true/false"
        ) from None
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise GradingError(
            f"target {target!r} must be 0 (repaid) or 1 (defaulted); {int(bad.sum()):,} row(s) "
            f"are neither (first row {int(np.flatnonzero(bad)[0])})"
        )
    if y.sum() == 0 or y.sum() == y.size:
        raise GradingError(
            f"target {target!r} holds only {'non-defaults' if y.sum() == 0 else 'defaults'}; "
            "a scorecard needs both"
        )
    out: F64 = np.asarray(y, dtype=np.float64)
    return out


def _features(frame: pd.DataFrame, target: str, features: Sequence[str] | None) -> list[str]:
    if features is None:
        cols = [c for c in DEFAULT_FEATURES if c in frame.columns]
        if not cols:
            raise GradingError(
                "none of the known scorecard attributes are in the history "
                f"({', '.join(DEFAULT_FEATURES)}); name the features"
            )
        return cols
    if isinstance(features, str):
        features = [features]
    cols = [str(c) for c in features]
    if not cols:
        raise GradingError("name at least one feature")
    for c in cols:
        if c not in frame.columns:
            close = difflib.get_close_matches(c, [str(x) for x in frame.columns], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise GradingError(f"feature {c!r} is not a column of the history{hint}")
        if c == target:
            raise GradingError(f"the target {target!r} cannot also be a feature")
    if len(set(cols)) != len(cols):
        raise GradingError("a feature is named twice")
    return cols


def _per_feature(value: Any, column: str, default: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get(column, default)
    return value


def fit(
    frame: pd.DataFrame,
    target: str,
    features: Sequence[str] | None = None,
    *,
    categorical: Sequence[str] = (),
    monotonic: Monotonic | Mapping[str, Monotonic] = "auto",
    max_bins: int = 6,
    max_prebins: int = 20,
    min_bin_share: float = 0.05,
    min_bin_events: int = 10,
    min_iv: float = 0.02,
    scaling: Scaling | None = None,
    cutoffs: CutoffRule | None = None,
    points_digits: int = 0,
    name: str = "fitted",
    names: Mapping[str, str] | None = None,
    reasons: Mapping[str, str] | None = None,
    optional: Sequence[str] | None = None,
    base: Scorecard | None = None,
) -> ScorecardFit:
    """Fit a scorecard on a labelled history (see the module docstring for each step).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per borrower: attributes at application and the target.
    target : str
        Column of the default flag: 1 (or true) = defaulted within the
        performance window, 0 = repaid.
    features : sequence of str, optional
        Candidate attributes (default: the provident-fund and platform
        columns of :data:`DEFAULT_FEATURES` present in ``frame``).
    categorical : sequence of str
        Attributes to bin as categories even though numeric (text columns
        are categorical anyway).
    monotonic : "auto", "ascending", "descending", None, or a mapping per column
        Direction of the default rate across numeric bins.
    max_bins, max_prebins, min_bin_share, min_bin_events
        Binning constraints (see :func:`~abs_engine.grading.binning.bin_attribute`).
    min_iv : float
        Attributes below this information value are left out.
    scaling : Scaling, optional
        Points scaling (default ``Scaling(600, 50, 20)``: 600 points at
        50:1 good:bad odds, 20 points to double them).
    cutoffs : CutoffRule, optional
        Default: population shares 50% / 30% / 20% over the base card's grades.
    points_digits : int
        Decimals of the points (0: whole points).
    name : str
        The card's name.
    names : mapping of column to factor name, optional
        Default: the column name.
    reasons : mapping of column to reason code, optional
        Default: the column in upper case (``PF_STATUS``); the code for an
        empty cell adds ``_MISSING``.
    optional : sequence of str, optional
        Columns a tape may lack (``required = false``: the factor then
        scores 0).  Default: the platform-behaviour columns of
        :data:`PLATFORM_FEATURES` among the features (as in the packaged
        card).  An optional factor's points are shifted (by whole points)
        so that their development average is 0, the shift moving into the
        base points: scores of rows with the column are unchanged, and a
        tape without it scores the development average on that factor.
    base : Scorecard, optional
        Card whose grades, credit-limit rule and early-warning rules the
        fitted card keeps (default: the packaged card).

    Returns
    -------
    ScorecardFit

    Raises
    ------
    GradingError
        The history cannot support a card (target not 0/1 or one-class,
        unknown feature, no attribute with IV >= ``min_iv``, a singular or
        separated regression); the message says what to change.

    Examples
    --------
    >>> from abs_engine.grading.synthetic import synthetic_applications
    >>> h = synthetic_applications(20_000, seed=5)
    >>> f = fit(h, "default_flag")
    >>> f.selected[:3]
    ('pf_monthly_contribution', 'pf_status', 'pf_years')
    >>> f.scorecard.grades, len(f.scorecard.thresholds)
    (('A', 'B', 'C'), 2)
    """
    if not isinstance(frame, pd.DataFrame):
        raise GradingError(f"fit() takes a pandas DataFrame; got {type(frame).__name__}")
    if len(frame) == 0:
        raise GradingError("the history is empty")
    y = _target(frame, target)
    cols = _features(frame, target, features)
    if optional is None:
        optional = [c for c in cols if c in PLATFORM_FEATURES]
    for c in [*categorical, *optional]:
        if c not in cols:
            raise GradingError(f"{c!r} is named in categorical/optional but is not a feature")
    if not isinstance(points_digits, int) or isinstance(points_digits, bool) or points_digits < 0:
        raise SpecError(
            f"points_digits must be a whole number >= 0; got {points_digits!r}", "points_digits"
        )
    base_card = base if base is not None else load_scorecard(None)
    scaling = scaling if scaling is not None else Scaling()
    rule = (
        cutoffs
        if cutoffs is not None
        else CutoffRule.shares(
            **dict(zip(base_card.grades, _default_shares(len(base_card.grades)), strict=True))
        )
    )
    grades = rule.grades if rule.kind == "shares" else base_card.grades
    limit_grades = tuple(g.grade for g in base_card.credit_limit.grades)
    if set(grades) != set(limit_grades):
        raise GradingError(
            f"the cut-off rule's grades {', '.join(grades)} differ from the base card's credit "
            f"limits ({', '.join(limit_grades)}); pass base= a card with those grades"
        )

    # 1. binning
    binnings: dict[str, Binning] = {}
    rows: list[dict[str, Any]] = []
    for c in cols:
        kind: Literal["numeric", "category"] | None = "category" if c in categorical else None
        b = bin_attribute(
            frame[c],
            y,
            kind=kind,
            monotonic=_per_feature(monotonic, c, "auto"),
            max_bins=max_bins,
            max_prebins=max_prebins,
            min_bin_share=min_bin_share,
            min_bin_events=min_bin_events,
        )
        binnings[c] = b
        note = ""
        if b.iv < min_iv:
            note = f"IV below {min_iv:g}"
        elif b.n_bins < 2:
            note = "a single bin: nothing to score"
        rows.append(
            {
                "feature": c,
                "iv": b.iv,
                "strength": iv_strength(b.iv),
                "bins": b.n_bins,
                "direction": b.direction,
                "selected": not note,
                "note": note,
            }
        )
    iv_table = pd.DataFrame(rows).sort_values("iv", ascending=False, kind="stable")
    chosen = [str(r.feature) for r in iv_table.itertuples(index=False) if r.selected]
    if not chosen:
        raise GradingError(
            f"no attribute reaches an information value of {min_iv:g} "
            f"(best: {iv_table['feature'].iloc[0]} {iv_table['iv'].iloc[0]:.4f}); "
            "lower min_iv or bring more informative attributes"
        )

    # 2. logistic regression on WoE, dropping wrong-signed attributes
    notes: dict[str, str] = {}
    while True:
        X = np.column_stack(
            [np.ones(len(frame))] + [binnings[c].transform(frame[c]) for c in chosen]
        )
        res = logistic_regression(X, y)
        wrong = [
            (res.coef[j + 1] / res.std_error[j + 1], c)
            for j, c in enumerate(chosen)
            if res.coef[j + 1] >= 0
        ]
        if not wrong:
            break
        _, worst = max(wrong)
        notes[worst] = "coefficient against its WoE (collinear with stronger attributes)"
        log.info("fit: dropping %r: %s", worst, notes[worst])
        chosen.remove(worst)
        if not chosen:
            raise GradingError("every attribute's coefficient came out against its WoE")
    iv_table["selected"] = iv_table["feature"].isin(chosen)
    iv_table["note"] = [
        notes.get(str(f), n) for f, n in zip(iv_table["feature"], iv_table["note"], strict=True)
    ]
    iv_table = iv_table.reset_index(drop=True)
    z = res.coef / res.std_error
    coef_table = pd.DataFrame(
        {
            "feature": ["intercept", *chosen],
            "coefficient": res.coef,
            "std_error": res.std_error,
            "z": z,
            "p_value": 2.0 * stats.norm.sf(np.abs(z)),
        }
    )

    # 3. points
    factor = scaling.factor
    names = dict(names or {})
    reasons = dict(reasons or {})
    taken: set[str] = set()
    factors: list[Factor] = []
    shifted = 0.0
    for j, c in enumerate(chosen):
        b = binnings[c]
        beta = float(res.coef[j + 1])
        pts = tuple(round(float(-factor * beta * w), points_digits) + 0.0 for w in b.woe)
        miss = round(float(-factor * beta * b.missing_woe), points_digits) + 0.0
        note = ""
        if c in optional:  # centre on the development average, whole steps, into the base
            counts = b.goods + b.bads
            n_missing = b.missing_goods + b.missing_bads
            mean = (float(counts @ np.asarray(pts)) + n_missing * miss) / (counts.sum() + n_missing)
            shift = round(mean, points_digits) + 0.0
            pts = tuple(round(p - shift, points_digits) + 0.0 for p in pts)
            miss = round(miss - shift, points_digits) + 0.0
            shifted += shift
            note = f" Points centred by {-shift:+g} (into the base points): optional factor."
        code = reasons.get(c) or _reason_code(c, taken)
        taken.update({code, f"{code}_MISSING"})
        common: dict[str, Any] = {
            "name": names.get(c, c),
            "column": c,
            "reason": code,
            "missing": Rule(miss, f"{code}_MISSING"),
            "invalid": Rule.error(),
            "required": c not in optional,
            "description": (
                f"Fitted: IV {b.iv:.3f}, coefficient {beta:.4f}; empty cells score "
                + ("their own WoE." if b.missing_own else "like the worst bin.")
                + note
            ),
        }
        try:
            if b.kind == "numeric":
                integer = bool(pd.api.types.is_integer_dtype(frame[c].dtype) and b.integer)
                factors.append(
                    Factor(
                        points=pts,
                        edges=b.edges,
                        min=0.0 if b.nonnegative else None,
                        integer=integer,
                        **common,
                    )
                )
            else:
                per_cat = tuple(pts[k] for k, g in enumerate(b.groups) for _ in g)
                factors.append(Factor(points=per_cat, categories=b.categories, **common))
        except SpecError as exc:
            raise GradingError(f"factor for {c!r}: {exc}") from None
    unshifted = round(float(scaling.offset - factor * res.coef[0]), points_digits)
    base_points = round(unshifted + shifted, points_digits) + 0.0
    provisional = Scorecard(
        name=name,
        factors=tuple(factors),
        grades=grades,
        thresholds=tuple(float(-k) for k in range(len(grades) - 1)),
        credit_limit=base_card.credit_limit,
        base_points=base_points,
        early_warning=base_card.early_warning,
        description=(
            f"Fitted on {len(frame):,} rows ({int(y.sum()):,} defaults, target {target!r}); "
            f"cut-offs: {rule.describe()}."
        ),
        scaling=scaling,
    )

    # 4. cut-offs
    graded = grade(frame, provisional)
    scores = graded["score"].to_numpy(dtype=np.float64)
    thresholds = cutoffs_for(scores, rule, grades, scaling)
    card = replace(provisional, thresholds=thresholds)
    graded["grade"] = pd.Categorical.from_codes(
        card.grade_of(scores).astype(np.int64), categories=pd.Index(list(grades))
    )
    baseline = Baseline.from_frame(card, frame, graded=graded)
    log.info(
        "fitted scorecard %r on %d rows: %d attributes, thresholds %s",
        name,
        len(frame),
        len(chosen),
        thresholds,
    )
    return ScorecardFit(
        scorecard=card,
        binnings=binnings,
        selected=tuple(chosen),
        information_value=iv_table,
        coefficients=coef_table,
        cutoff_rule=rule,
        baseline=baseline,
        target=target,
        n_rows=len(frame),
        n_defaults=int(y.sum()),
        factor_names={c: names.get(c, c) for c in chosen},
    )


def _default_shares(n: int) -> list[float]:
    if n == 3:
        return [0.5, 0.3, 0.2]
    return [1.0 / n] * n
