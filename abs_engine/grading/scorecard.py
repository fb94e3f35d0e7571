"""The provident-fund scorecard: factors, missing-value rules, grade thresholds, credit limits.

A scorecard is a TOML file (the default ships as
``abs_engine/data/scorecard_default.toml``)::

    name = "my-scorecard"
    base_points = 410

    [grading]
    grades = ["A", "B", "C"]       # best first
    thresholds = [650, 580]        # A: score >= 650; B: 580 <= score < 650; C: below

    [[factors]]
    name = "pf_contribution"
    column = "pf_monthly_contribution"
    edges = [300, 500, 800]        # bins: < 300, [300, 500), [500, 800), >= 800
    points = [0, 35, 60, 85]
    min = 0                        # valid range; values outside it are invalid
    reason = "PF_CONTRIBUTION_LOW"
    missing = { points = 0, reason = "PF_CONTRIBUTION_MISSING" }
    invalid = "error"

    [[factors]]
    name = "pf_status"
    column = "pf_status"
    categories = ["normal", "suspended", "none"]
    points = [60, 30, 0]
    reason = "PF_STATUS_NOT_NORMAL"
    missing = { points = 0, reason = "PF_STATUS_MISSING" }
    invalid = "error"

    [credit_limit]
    column = "pf_monthly_contribution"
    round_to = 100
    missing = "floor"
    [credit_limit.grades.A]
    multiple = 6
    floor = 3000
    cap = 50000
    # ... one table per grade

    [early_warning]                # optional; see abs_engine.grading.early_warning
    status_changes_min = 2

**Score.**  For borrower ``i`` with factor points :math:`p_{if}`,

.. math:: s_i = \\text{base\\_points} + \\sum_f p_{if}

where :math:`p_{if}` is the points of the bin (numeric factor: the tier
``edges[k-1] <= x < edges[k]``, a value on an edge falls in the upper bin;
categorical factor: the category, trimmed and case-insensitive) or, for an
empty cell, the factor's ``missing`` rule, and for an unusable cell (text
that is no number, outside ``[min, max]``, a fraction when ``integer``, an
unknown category) its ``invalid`` rule.  A rule is either
``{points = p, reason = "CODE"}`` or ``"error"`` (grading stops with a
:class:`GradingError` naming the rows).  ``missing`` must be given for every
factor - no provident-fund gap is scored silently; ``invalid`` defaults to
``"error"``.

**Grade.**  ``grades[j]`` for the first ``j`` with ``s >= thresholds[j]``
(thresholds strictly decreasing, one fewer than grades), else the last grade.

**Reason codes.**  A factor *costs* a borrower

.. math:: c_{if} = \\max_k P_{fk} - p_{if}

points: what it scored below the factor's best bin :math:`\\max_k P_{fk}`.
``reason_1..3`` are the codes of the factors with the largest positive cost
(ties broken by factor order); the code is the factor's ``reason``, or the
rule's ``reason`` when a missing/invalid rule applied.  A code appears once
per borrower (a code shared by several factors, such as ``PF_MISSING``,
ranks by its costliest factor); factors that cost nothing give no reason.

**Credit limit.**  With the grade's ``multiple`` :math:`m_g`, ``floor``
:math:`L_g`, ``cap`` :math:`U_g` and the rounding step :math:`r`, for the
contribution :math:`c_i` (RMB a month):

.. math:: \\text{limit}_i = \\min\\bigl(U_g,\\ \\max\\bigl(L_g,\\
          r \\lfloor m_g c_i / r \\rfloor\\bigr)\\bigr)

An empty or invalid contribution follows ``credit_limit.missing``:
``"floor"`` (:math:`L_g`), ``"zero"`` (no limit) or ``"error"``.

**Scaling (optional).**  A fitted card states what its score means::

    [scaling]
    base_score = 600     # the score at which the odds are base_odds
    base_odds = 50       # good:bad odds at base_score (50:1, a 1.96% default rate)
    pdo = 20             # points to double the odds

so that :math:`\\ln(\\text{odds}) = \\ln(\\text{base\\_odds}) + (s - \\text{base\\_score})
\\ln 2 / \\text{pdo}` and the default probability over the card's performance window is
:math:`\\text{PD}(s) = 1 / (1 + \\text{odds}(s))` (:meth:`Scaling.pd`).  Grading does
not use it; validation, monitoring and the policy what-if read PDs from it.  A
hand-written card may leave it out.

**Optional factors.**  ``required = false`` marks a factor whose column a
tape may lack (platform behaviour): when the column is absent the factor
scores 0 points and gives no reason for every borrower (an info log says
so); when present it is scored like any other.  Build such factors with
points around 0 so that a tape without them grades on the same scale.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from abs_engine.errors import SpecError
from abs_engine.grading import _spec
from abs_engine.grading.early_warning import EarlyWarningRules

__all__ = [
    "DEFAULT_SCORECARD",
    "CreditLimit",
    "Factor",
    "GradeLimit",
    "Rule",
    "Scaling",
    "Scorecard",
    "load_scorecard",
]

#: Resource name of the packaged default scorecard (``abs_engine/data/``).
DEFAULT_SCORECARD = "scorecard_default.toml"

_TOP_KEYS = (
    "name",
    "description",
    "base_points",
    "grading",
    "factors",
    "credit_limit",
    "early_warning",
    "scaling",
)
_SCALING_KEYS = ("base_score", "base_odds", "pdo")
_GRADING_KEYS = ("grades", "thresholds")
_FACTOR_KEYS = (
    "name",
    "column",
    "description",
    "edges",
    "categories",
    "points",
    "min",
    "max",
    "integer",
    "required",
    "reason",
    "missing",
    "invalid",
)
_RULE_KEYS = ("points", "reason")
_LIMIT_KEYS = ("column", "round_to", "missing", "grades")
_GRADE_LIMIT_KEYS = ("multiple", "floor", "cap")
_LIMIT_MISSING = ("floor", "zero", "error")

LimitMissing = Literal["floor", "zero", "error"]


@dataclass(frozen=True)
class Rule:
    """What a factor does with an empty or unusable cell.

    Parameters
    ----------
    points : float or None
        Points given; ``None`` means the rule is ``"error"`` (grading raises).
    reason : str
        Reason code reported when the rule costs points (empty for ``"error"``).
    """

    points: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.points is None:
            if self.reason:
                raise SpecError("an 'error' rule takes no reason", "reason")
            return
        object.__setattr__(self, "points", _spec.get_number(self.points, "points"))
        _spec.get_reason(self.reason, "reason")

    @classmethod
    def error(cls) -> Rule:
        """The rule that stops grading and names the rows."""
        return cls(None, "")

    @property
    def is_error(self) -> bool:
        """True for the ``"error"`` rule."""
        return self.points is None

    @classmethod
    def from_value(cls, value: Any, path: str) -> Rule:
        """``"error"`` or ``{points = p, reason = "CODE"}``."""
        if value == "error":
            return cls.error()
        if isinstance(value, str):
            raise SpecError(
                f'a rule is "error" or {{points = ..., reason = "..."}}; got {value!r}', path
            )
        table = _spec.get_table(value, path, 'a rule: "error" or {points = ..., reason = "..."}')
        _spec.check_keys(table, _RULE_KEYS, path)
        for key in _RULE_KEYS:
            if key not in table:
                raise SpecError(f"a points rule needs {key!r}", _spec.join(path, key))
        points = _spec.get_number(table["points"], _spec.join(path, "points"))
        reason = _spec.get_reason(table["reason"], _spec.join(path, "reason"))
        return cls(points, reason)

    def to_value(self) -> str | dict[str, Any]:
        """TOML form."""
        return "error" if self.is_error else {"points": self.points, "reason": self.reason}


@dataclass(frozen=True)
class Factor:
    """One scorecard factor: an input column cut into bins, points per bin.

    Exactly one of ``edges`` (numeric tiers) and ``categories`` is given.

    Parameters
    ----------
    name : str
        Factor name (unique in the scorecard).
    column : str
        Input column.
    points : tuple of float
        Points per bin: ``len(edges) + 1`` values, or one per category.
    reason : str
        Reason code when the factor costs points.
    missing : Rule
        Rule for an empty cell.
    invalid : Rule
        Rule for an unusable cell (default ``"error"``).
    edges : tuple of float
        Strictly increasing tier edges; bin ``k`` is ``edges[k-1] <= x < edges[k]``.
    categories : tuple of str
        Category labels (matched trimmed and case-insensitively).
    min, max : float or None
        Valid range of a numeric factor (inclusive).
    integer : bool
        Numeric values must be whole.
    required : bool
        If false, a tape without the column skips the factor (0 points, no reason).
    description : str
        Free text.
    """

    name: str
    column: str
    points: tuple[float, ...]
    reason: str
    missing: Rule
    invalid: Rule = field(default_factory=Rule.error)
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    integer: bool = False
    required: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        _spec.get_str(self.name, "name")
        _spec.get_str(self.column, "column")
        _spec.get_reason(self.reason, "reason")
        points = tuple(_spec.get_number(p, f"points[{i}]") for i, p in enumerate(self.points))
        object.__setattr__(self, "points", points)
        for key in ("missing", "invalid"):
            if not isinstance(getattr(self, key), Rule):
                raise SpecError(f"expected a Rule; got {getattr(self, key)!r}", key)
        if bool(self.edges) == bool(self.categories):
            raise SpecError("give exactly one of 'edges' (numeric tiers) and 'categories'", "edges")
        if self.edges:
            edges = tuple(_spec.get_number(e, f"edges[{i}]") for i, e in enumerate(self.edges))
            for i in range(1, len(edges)):
                if not edges[i] > edges[i - 1]:
                    raise SpecError(
                        f"edges must increase strictly; edges[{i}] = {edges[i]:g} follows "
                        f"{edges[i - 1]:g}",
                        f"edges[{i}]",
                    )
            object.__setattr__(self, "edges", edges)
            if len(points) != len(edges) + 1:
                raise SpecError(
                    f"{len(edges)} edges make {len(edges) + 1} bins, so {len(edges) + 1} points "
                    f"are needed; got {len(points)}",
                    "points",
                )
        else:
            cats = tuple(str(c) for c in self.categories)
            seen: dict[str, int] = {}
            for i, c in enumerate(cats):
                key = c.strip().lower()
                if not key:
                    raise SpecError("a category must not be empty", f"categories[{i}]")
                if key in seen:
                    raise SpecError(
                        f"category {c!r} repeats categories[{seen[key]}] (matching ignores case)",
                        f"categories[{i}]",
                    )
                seen[key] = i
            object.__setattr__(self, "categories", cats)
            if len(points) != len(cats):
                raise SpecError(
                    f"{len(cats)} categories need {len(cats)} points; got {len(points)}", "points"
                )
            for key in ("min", "max"):
                if getattr(self, key) is not None:
                    raise SpecError(f"{key!r} applies to numeric factors (with edges) only", key)
            if self.integer:
                raise SpecError("'integer' applies to numeric factors (with edges) only", "integer")
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, _spec.get_number(value, key))
        if self.min is not None and self.max is not None and self.min > self.max:
            raise SpecError(f"min {self.min:g} exceeds max {self.max:g}", "max")
        for key in ("integer", "required"):
            if not isinstance(getattr(self, key), bool):
                raise SpecError(f"expected true or false; got {getattr(self, key)!r}", key)

    @property
    def kind(self) -> Literal["numeric", "category"]:
        """``"numeric"`` (tiers by edges) or ``"category"``."""
        return "numeric" if self.edges else "category"

    @property
    def best_points(self) -> float:
        """Points of the factor's best bin (the reference for its cost)."""
        return max(self.points)

    def bin_points(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Points of each numeric value's tier (NaN falls in the first tier; callers mask it).

        The tier index is the number of edges ``<= x`` (what
        ``searchsorted(edges, x, side="right")`` gives); for the few edges a
        scorecard has, counting comparisons is faster than a binary search.
        """
        x = np.asarray(values, dtype=np.float64)
        if len(self.edges) > 16:
            idx = np.searchsorted(np.asarray(self.edges), x, side="right")
            idx[np.isnan(x)] = 0
        else:
            idx = np.zeros(x.shape, dtype=np.intp)
            with np.errstate(invalid="ignore"):
                for e in self.edges:
                    idx += x >= e
        return np.asarray(self.points, dtype=np.float64)[idx]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "factor") -> Factor:
        """Parse the TOML form; unknown keys are errors naming their path."""
        table = _spec.get_table(data, path, "a factor table")
        _spec.check_keys(table, _FACTOR_KEYS, path)
        for key in ("name", "column", "points", "reason", "missing"):
            if key not in table:
                hint = (
                    ' (the rule for an empty cell: {points = ..., reason = "..."} or "error")'
                    if key == "missing"
                    else ""
                )
                raise SpecError(f"a factor needs {key!r}{hint}", _spec.join(path, key))
        if ("edges" in table) == ("categories" in table):
            raise SpecError("give exactly one of 'edges' (numeric tiers) and 'categories'", path)
        kwargs: dict[str, Any] = {
            "name": _spec.get_str(table["name"], _spec.join(path, "name")),
            "column": _spec.get_str(table["column"], _spec.join(path, "column")),
            "points": _spec.get_numbers(table["points"], _spec.join(path, "points")),
            "reason": _spec.get_reason(table["reason"], _spec.join(path, "reason")),
            "missing": Rule.from_value(table["missing"], _spec.join(path, "missing")),
        }
        if "invalid" in table:
            kwargs["invalid"] = Rule.from_value(table["invalid"], _spec.join(path, "invalid"))
        if "edges" in table:
            kwargs["edges"] = _spec.get_numbers(table["edges"], _spec.join(path, "edges"))
        else:
            kwargs["categories"] = _spec.get_strs(
                table["categories"], _spec.join(path, "categories")
            )
        for key in ("min", "max"):
            if key in table:
                kwargs[key] = _spec.get_number(table[key], _spec.join(path, key))
        for key in ("integer", "required"):
            if key in table:
                kwargs[key] = _spec.get_bool(table[key], _spec.join(path, key))
        if "description" in table:
            kwargs["description"] = _spec.get_str(
                table["description"], _spec.join(path, "description"), nonempty=False
            )
        try:
            return cls(**kwargs)
        except SpecError as exc:
            raise _spec.reraise_under(exc, path) from None

    def to_dict(self) -> dict[str, Any]:
        """TOML form."""
        out: dict[str, Any] = {"name": self.name, "column": self.column}
        if self.description:
            out["description"] = self.description
        if self.edges:
            out["edges"] = list(self.edges)
        else:
            out["categories"] = list(self.categories)
        out["points"] = list(self.points)
        for key in ("min", "max"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.integer:
            out["integer"] = True
        if not self.required:
            out["required"] = False
        out["reason"] = self.reason
        out["missing"] = self.missing.to_value()
        out["invalid"] = self.invalid.to_value()
        return out


@dataclass(frozen=True)
class Scaling:
    """What a score means: the points-to-odds scaling of a fitted card.

    .. math::

        \\text{factor} = \\frac{\\text{pdo}}{\\ln 2},\\qquad
        \\text{offset} = \\text{base\\_score} - \\text{factor}\\,\\ln(\\text{base\\_odds}),\\qquad
        s = \\text{offset} + \\text{factor}\\,\\ln(\\text{odds})

    with ``odds`` the good:bad odds (non-default to default) over the card's
    performance window; ``PD = 1 / (1 + odds)``.

    Parameters
    ----------
    base_score : float
        The score whose odds are ``base_odds``.
    base_odds : float
        Good:bad odds at ``base_score`` (> 0).
    pdo : float
        Points to double the odds (> 0).

    Examples
    --------
    >>> s = Scaling(600, 50, 20)
    >>> round(float(s.odds(620)), 6), round(float(s.pd(600)), 6)
    (100.0, 0.019608)
    """

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_score", _spec.get_number(self.base_score, "base_score"))
        for key in ("base_odds", "pdo"):
            object.__setattr__(
                self, key, _spec.get_number(getattr(self, key), key, low=0.0, low_open=True)
            )

    @property
    def factor(self) -> float:
        """Points per unit of log-odds, ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """The score at odds 1:1, ``base_score - factor ln(base_odds)``."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def log_odds(self, score: ArrayLike) -> NDArray[np.float64]:
        """Good:bad log-odds of each score, ``(s - offset) / factor``."""
        return (np.asarray(score, dtype=np.float64) - self.offset) / self.factor

    def odds(self, score: ArrayLike) -> NDArray[np.float64]:
        """Good:bad odds of each score."""
        return np.exp(self.log_odds(score))

    def pd(self, score: ArrayLike) -> NDArray[np.float64]:
        """Default probability of each score, ``1 / (1 + odds)`` (logistic, overflow-safe)."""
        out: NDArray[np.float64] = special.expit(-self.log_odds(score))
        return out

    def score(self, pd: ArrayLike) -> NDArray[np.float64]:
        """The score whose default probability is ``pd`` (the inverse of :meth:`pd`)."""
        p = np.asarray(pd, dtype=np.float64)
        return self.offset + self.factor * np.log((1.0 - p) / p)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "scaling") -> Scaling:
        """Parse the TOML form; unknown keys are errors naming their path."""
        table = _spec.get_table(data, path, "a table with base_score, base_odds and pdo")
        _spec.check_keys(table, _SCALING_KEYS, path)
        for key in _SCALING_KEYS:
            if key not in table:
                raise SpecError(f"missing {key!r}", _spec.join(path, key))
        try:
            return cls(**{k: table[k] for k in _SCALING_KEYS})
        except SpecError as exc:
            raise _spec.reraise_under(exc, path) from None

    def to_dict(self) -> dict[str, Any]:
        """TOML form."""
        return {"base_score": self.base_score, "base_odds": self.base_odds, "pdo": self.pdo}


@dataclass(frozen=True)
class GradeLimit:
    """Credit-limit parameters of one grade: ``min(cap, max(floor, multiple x contribution))``."""

    grade: str
    multiple: float
    floor: float
    cap: float

    def __post_init__(self) -> None:
        for key in _GRADE_LIMIT_KEYS:
            object.__setattr__(self, key, _spec.get_number(getattr(self, key), key, low=0.0))
        if self.floor > self.cap:
            raise SpecError(f"floor {self.floor:g} exceeds cap {self.cap:g}", "floor")


@dataclass(frozen=True)
class CreditLimit:
    """Credit limit as a function of the contribution and the grade, with floors and caps.

    .. math:: \\text{limit} = \\min\\bigl(U_g,\\ \\max\\bigl(L_g,\\
              r \\lfloor m_g c / r \\rfloor\\bigr)\\bigr)

    Parameters
    ----------
    grades : tuple of GradeLimit
        One per scorecard grade (multiple :math:`m_g`, floor :math:`L_g`, cap :math:`U_g`).
    column : str
        The contribution column :math:`c` (RMB a month).
    round_to : float
        Rounding step :math:`r` (down); 0 for no rounding.
    missing : {"floor", "zero", "error"}
        Limit for an empty or invalid contribution: the grade's floor, 0, or
        a :class:`GradingError` naming the rows.
    """

    grades: tuple[GradeLimit, ...]
    column: str = "pf_monthly_contribution"
    round_to: float = 100.0
    missing: LimitMissing = "floor"

    def __post_init__(self) -> None:
        _spec.get_str(self.column, "column")
        object.__setattr__(self, "round_to", _spec.get_number(self.round_to, "round_to", low=0.0))
        if self.missing not in _LIMIT_MISSING:
            raise SpecError(
                f"expected one of {', '.join(map(repr, _LIMIT_MISSING))}; got {self.missing!r}",
                "missing",
            )
        object.__setattr__(self, "grades", tuple(self.grades))
        names = [g.grade for g in self.grades]
        if len(set(names)) != len(names):
            raise SpecError(f"a grade appears twice: {names}", "grades")

    def for_grade(self, grade: str) -> GradeLimit:
        """Parameters of ``grade``."""
        for g in self.grades:
            if g.grade == grade:
                return g
        raise KeyError(grade)

    def limits(
        self, contribution: NDArray[np.float64], grade_code: NDArray[np.integer[Any]]
    ) -> NDArray[np.float64]:
        """Credit limit per borrower (NaN contributions get the ``missing`` rule's value).

        ``grade_code`` indexes :attr:`grades`; the ``"error"`` rule is the
        caller's to enforce before this.
        """
        mult = np.array([g.multiple for g in self.grades])[grade_code]
        floor = np.array([g.floor for g in self.grades])[grade_code]
        cap = np.array([g.cap for g in self.grades])[grade_code]
        raw = mult * contribution
        if self.round_to > 0:
            # a hair of tolerance against float error (4.1 x 100 / 10 = 40.99999...)
            raw = self.round_to * np.floor(raw / self.round_to + 1e-9)
        limit = np.minimum(cap, np.maximum(floor, raw))
        fallback = np.zeros_like(floor) if self.missing == "zero" else floor
        out: NDArray[np.float64] = np.where(np.isnan(contribution), fallback, limit)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "credit_limit") -> CreditLimit:
        """Parse the TOML form; unknown keys are errors naming their path."""
        table = _spec.get_table(data, path)
        _spec.check_keys(table, _LIMIT_KEYS, path)
        if "grades" not in table:
            raise SpecError(
                "credit_limit needs one table per grade: [credit_limit.grades.A] "
                "multiple = ..., floor = ..., cap = ...",
                _spec.join(path, "grades"),
            )
        gpath = _spec.join(path, "grades")
        grades_table = _spec.get_table(table["grades"], gpath, "a table of grade tables")
        limits = []
        for g, tbl in grades_table.items():
            p = _spec.join(gpath, str(g))
            t = _spec.get_table(tbl, p, "a table with multiple, floor and cap")
            _spec.check_keys(t, _GRADE_LIMIT_KEYS, p)
            for key in _GRADE_LIMIT_KEYS:
                if key not in t:
                    raise SpecError(f"missing {key!r}", _spec.join(p, key))
            values = {
                k: _spec.get_number(t[k], _spec.join(p, k), low=0.0) for k in _GRADE_LIMIT_KEYS
            }
            try:
                limits.append(GradeLimit(str(g), **values))
            except SpecError as exc:
                raise _spec.reraise_under(exc, p) from None
        kwargs: dict[str, Any] = {"grades": tuple(limits)}
        if "column" in table:
            kwargs["column"] = _spec.get_str(table["column"], _spec.join(path, "column"))
        if "round_to" in table:
            kwargs["round_to"] = _spec.get_number(
                table["round_to"], _spec.join(path, "round_to"), low=0.0
            )
        if "missing" in table:
            value = table["missing"]
            if value not in _LIMIT_MISSING:
                raise SpecError(
                    f"expected one of {', '.join(map(repr, _LIMIT_MISSING))}; got {value!r}",
                    _spec.join(path, "missing"),
                )
            kwargs["missing"] = value
        try:
            return cls(**kwargs)
        except SpecError as exc:
            raise _spec.reraise_under(exc, path) from None

    def to_dict(self) -> dict[str, Any]:
        """TOML form."""
        return {
            "column": self.column,
            "round_to": self.round_to,
            "missing": self.missing,
            "grades": {
                g.grade: {"multiple": g.multiple, "floor": g.floor, "cap": g.cap}
                for g in self.grades
            },
        }


@dataclass(frozen=True)
class Scorecard:
    """A validated scorecard (see the module docstring for every formula).

    Build it with :func:`load_scorecard` or :meth:`Scorecard.from_dict`; a
    variant is ``dataclasses.replace(card, thresholds=(660.0, 590.0))``.

    Parameters
    ----------
    name : str
        Name, written into graded outputs.
    factors : tuple of Factor
        The factors, in order (the order breaks reason-code ties).
    grades : tuple of str
        Grades, best first.
    thresholds : tuple of float
        Minimum score of every grade but the last; strictly decreasing.
    credit_limit : CreditLimit
        Credit-limit rule, one entry per grade.
    base_points : float
        Points every borrower starts with.
    early_warning : EarlyWarningRules
        Parameters of the early-warning flags.
    description : str
        Free text.
    scaling : Scaling or None
        What the score means in odds (fitted cards); ``None`` for a card
        written by hand.
    source : str or None
        File it was read from (not part of the spec).
    """

    name: str
    factors: tuple[Factor, ...]
    grades: tuple[str, ...]
    thresholds: tuple[float, ...]
    credit_limit: CreditLimit
    base_points: float = 0.0
    early_warning: EarlyWarningRules = field(default_factory=EarlyWarningRules)
    description: str = ""
    scaling: Scaling | None = None
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _spec.get_str(self.name, "name")
        object.__setattr__(self, "base_points", _spec.get_number(self.base_points, "base_points"))
        factors = tuple(self.factors)
        if not factors:
            raise SpecError("a scorecard needs at least one factor ([[factors]] tables)", "factors")
        names: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for i, f in enumerate(factors):
            if not isinstance(f, Factor):
                raise SpecError(f"expected a Factor; got {type(f).__name__}", f"factors[{i}]")
            if f.name in names:
                raise SpecError(
                    f"factor name {f.name!r} repeats factors[{names[f.name]}]", f"factors[{i}].name"
                )
            names[f.name] = i
            if f.reason in reasons:
                raise SpecError(
                    f"reason code {f.reason!r} is already factors[{reasons[f.reason]}]'s; each "
                    "factor's reason code must be its own",
                    f"factors[{i}].reason",
                )
            reasons[f.reason] = i
        object.__setattr__(self, "factors", factors)
        grades = tuple(str(g) for g in self.grades)
        if not grades:
            raise SpecError("at least one grade is needed", "grading.grades")
        for i, g in enumerate(grades):
            if not g.strip():
                raise SpecError("a grade name must not be empty", f"grading.grades[{i}]")
            if g in grades[:i]:
                raise SpecError(f"grade {g!r} appears twice", f"grading.grades[{i}]")
        object.__setattr__(self, "grades", grades)
        thresholds = tuple(
            _spec.get_number(t, f"grading.thresholds[{i}]") for i, t in enumerate(self.thresholds)
        )
        if len(thresholds) != len(grades) - 1:
            raise SpecError(
                f"{len(grades)} grades need {len(grades) - 1} thresholds (the minimum score "
                f"of every grade but the last, {', '.join(grades[:-1]) or '-'}); "
                f"got {len(thresholds)}",
                "grading.thresholds",
            )
        for i, t in enumerate(thresholds):
            if i and not t < thresholds[i - 1]:
                raise SpecError(
                    f"thresholds must decrease strictly from the best grade to the worst: "
                    f"{grades[i]} >= {t:g} is not below {grades[i - 1]} >= {thresholds[i - 1]:g}",
                    f"grading.thresholds[{i}]",
                )
        object.__setattr__(self, "thresholds", thresholds)
        if not isinstance(self.credit_limit, CreditLimit):
            raise SpecError("expected a CreditLimit", "credit_limit")
        have = [g.grade for g in self.credit_limit.grades]
        for g in have:
            if g not in grades:
                raise SpecError(
                    f"grade {g!r} is not a scorecard grade ({', '.join(grades)})",
                    f"credit_limit.grades.{g}",
                )
        for g in grades:
            if g not in have:
                raise SpecError(
                    f"no credit limit for grade {g!r}; add [credit_limit.grades.{g}] with "
                    "multiple, floor and cap",
                    f"credit_limit.grades.{g}",
                )
        if have != list(grades):  # keep the limits in grade order
            ordered = tuple(self.credit_limit.for_grade(g) for g in grades)
            object.__setattr__(
                self,
                "credit_limit",
                CreditLimit(
                    ordered,
                    self.credit_limit.column,
                    self.credit_limit.round_to,
                    self.credit_limit.missing,
                ),
            )
        if not isinstance(self.early_warning, EarlyWarningRules):
            raise SpecError("expected EarlyWarningRules", "early_warning")
        if self.scaling is not None and not isinstance(self.scaling, Scaling):
            raise SpecError("expected a Scaling or None", "scaling")

    # --- derived facts ------------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        """Input columns the scorecard reads, in first-use order."""
        cols = [f.column for f in self.factors] + [self.credit_limit.column]
        return tuple(dict.fromkeys(cols))

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """Every reason code the scorecard can report, in factor order."""
        codes: list[str] = []
        for f in self.factors:
            codes.append(f.reason)
            for rule in (f.missing, f.invalid):
                if not rule.is_error:
                    codes.append(rule.reason)
        return tuple(dict.fromkeys(codes))

    @property
    def score_range(self) -> tuple[float, float]:
        """Lowest and highest possible score (bins and points rules of every factor).

        Optional factors count as if present.
        """
        lo = hi = self.base_points
        for f in self.factors:
            pts = list(f.points) + [
                r.points for r in (f.missing, f.invalid) if r.points is not None
            ]
            lo += min(pts)
            hi += max(pts)
        return lo, hi

    def grade_of(self, score: NDArray[np.float64] | float) -> NDArray[np.int8]:
        """Grade index (0 = best) of each score: the first ``j`` with ``score >= thresholds[j]``."""
        s = np.asarray(score, dtype=np.float64)
        ascending = np.asarray(self.thresholds[::-1], dtype=np.float64)
        passed = np.searchsorted(ascending, s, side="right")  # thresholds <= score
        return (len(self.thresholds) - passed).astype(np.int8)

    # --- TOML form ------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], path: str = "", source: str | None = None
    ) -> Scorecard:
        """Parse the TOML form; errors name the key path (``factors[2].points``)."""
        table = _spec.get_table(data, path or "scorecard", "a scorecard table")
        _spec.check_keys(table, _TOP_KEYS, path)
        for key in ("name", "grading", "factors", "credit_limit"):
            if key not in table:
                raise SpecError(f"a scorecard needs {key!r}", _spec.join(path, key))
        gpath = _spec.join(path, "grading")
        grading = _spec.get_table(table["grading"], gpath)
        _spec.check_keys(grading, _GRADING_KEYS, gpath)
        for key in _GRADING_KEYS:
            if key not in grading:
                raise SpecError(f"missing {key!r}", _spec.join(gpath, key))
        grades = _spec.get_strs(grading["grades"], _spec.join(gpath, "grades"))
        thresholds = _spec.get_numbers(
            grading["thresholds"], _spec.join(gpath, "thresholds"), min_len=0
        )
        fpath = _spec.join(path, "factors")
        raw_factors = table["factors"]
        if not isinstance(raw_factors, list) or not raw_factors:
            raise SpecError("factors is a non-empty array of tables ([[factors]])", fpath)
        factors = tuple(
            Factor.from_dict(f, _spec.join(fpath, i)) for i, f in enumerate(raw_factors)
        )
        kwargs: dict[str, Any] = {
            "name": _spec.get_str(table["name"], _spec.join(path, "name")),
            "factors": factors,
            "grades": grades,
            "thresholds": thresholds,
            "credit_limit": CreditLimit.from_dict(
                table["credit_limit"], _spec.join(path, "credit_limit")
            ),
            "source": source,
        }
        if "base_points" in table:
            kwargs["base_points"] = _spec.get_number(
                table["base_points"], _spec.join(path, "base_points")
            )
        if "description" in table:
            kwargs["description"] = _spec.get_str(
                table["description"], _spec.join(path, "description"), nonempty=False
            )
        if "early_warning" in table:
            kwargs["early_warning"] = EarlyWarningRules.from_dict(
                table["early_warning"], _spec.join(path, "early_warning")
            )
        if "scaling" in table:
            kwargs["scaling"] = Scaling.from_dict(table["scaling"], _spec.join(path, "scaling"))
        try:
            return cls(**kwargs)
        except SpecError as exc:
            if path:
                raise _spec.reraise_under(exc, path) from None
            raise

    def to_dict(self) -> dict[str, Any]:
        """TOML form (``Scorecard.from_dict(card.to_dict()) == card``)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["base_points"] = self.base_points
        out["grading"] = {"grades": list(self.grades), "thresholds": list(self.thresholds)}
        out["factors"] = [f.to_dict() for f in self.factors]
        out["credit_limit"] = self.credit_limit.to_dict()
        out["early_warning"] = self.early_warning.to_dict()
        if self.scaling is not None:
            out["scaling"] = self.scaling.to_dict()
        return out


def load_scorecard(path: str | os.PathLike[str] | None = None) -> Scorecard:
    """Read a scorecard TOML file; ``None`` reads the packaged default.

    Raises
    ------
    SpecError
        The file is missing or not TOML, or the scorecard is invalid; the
        message starts with the file and the key path (``factors[2].points``),
        which :attr:`SpecError.path` holds too.
    """
    if path is None:
        ref = resources.files("abs_engine").joinpath("data", DEFAULT_SCORECARD)
        text = ref.read_text(encoding="utf-8")
        source = f"abs_engine/data/{DEFAULT_SCORECARD}"
    else:
        p = Path(path)
        source = str(p)
    if path is None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{source}: not valid TOML: {exc}") from None
    else:  # bounded read, UTF-8, binary files and deep nesting: the shared TOML reader
        from abs_engine._spec import read_toml

        data = read_toml(p, "scorecard file")
    try:
        return Scorecard.from_dict(data, source=source)
    except SpecError as exc:
        err = SpecError(f"{source}: {exc}")
        err.path = exc.path
        raise err from None
