"""The one exception hierarchy of abs_engine.

Every error the library raises on purpose derives from :class:`AbsError` and
also from the matching built-in, so ``except ValueError`` keeps working for
callers that do not know this package.  Messages say *what* was received,
*where* (loan id and column, or the spec key path such as
``tranches[1].coupon``) and *how to fix it*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AbsError",
    "AssumptionError",
    "GradingError",
    "HistoryError",
    "MemoryBudgetError",
    "PrivacyError",
    "ScenarioError",
    "ServicerError",
    "SizingError",
    "SpecError",
    "SpecWarning",
    "TapeError",
    "plain",
]


class AbsError(Exception):
    """Root of every error raised by abs_engine."""


class TapeError(AbsError, ValueError):
    """A receivables tape is unreadable or fails validation.

    Attributes
    ----------
    report : ValidationReport or None
        The full validation report (every problem found, one row each) when
        the error comes from validation.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report

    @property
    def problems(self) -> pd.DataFrame | None:
        """Problems table of the validation report (``None`` if not from validation)."""
        return None if self.report is None else self.report.problems


class SpecWarning(UserWarning):
    """A deal spec is valid but does something an analyst rarely means (the warning says what)."""


class SpecError(AbsError, ValueError):
    """A configuration (deal spec, assumptions or scorecard TOML) is invalid.

    Attributes
    ----------
    path : str
        Key path of the offending entry, e.g. ``tranches[1].coupon``.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class AssumptionError(AbsError, ValueError):
    """A curve or assumption set is invalid (negative rate, wrong curve kind, ...)."""


class ScenarioError(AbsError, ValueError):
    """A scenario or scenario set is invalid (unknown lever, duplicate id, ...)."""


class GradingError(AbsError, ValueError):
    """Borrower data cannot be graded (missing column, value no scorecard rule covers)."""


class HistoryError(AbsError, ValueError):
    """A static-pool history is inconsistent (gap in months, payment after default, ...).

    Messages name the loan and the month.
    """


class SizingError(AbsError, ValueError):
    """Sizing targets and market constraints cannot all be met.

    The message names the binding constraint (or the target no size reaches)
    and what would make the request feasible.
    """


class ServicerError(AbsError, ValueError):
    """A servicer report (monthly collections by grade) is unreadable or inconsistent.

    Messages name the period, the grade and the column.

    Attributes
    ----------
    problems : pandas.DataFrame or None
        Every problem found, one row each (``row, period_end, grade, column,
        value, problem``), when the error comes from validation.
    """

    def __init__(self, message: str, problems: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.problems = problems


class PrivacyError(AbsError, ValueError):
    """An output would carry receivable-level data, or a request asks for it.

    Raised when a written output holds a loan id or a borrower-level field
    (nothing is put in place), and when a stratification or message would show
    a borrower-level provident-fund field.
    """


class MemoryBudgetError(AbsError, MemoryError):
    """A request implies more working memory than the budget allows.

    Raised *before* anything is allocated; the message names the input that
    sized the request (a horizon, a number of paths or scenarios), the memory
    it implies and the budget (``ABS_ENGINE_MEMORY_BUDGET``).
    """


def plain(value: Any) -> Any:
    """A value as plain Python, for messages: NumPy scalars unwrapped, arrays as lists.

    Messages show ``-1.0`` and ``'severe'``, never ``np.float64(-1.0)`` or
    ``np.str_('severe')``; a long array is cut to its first ten values.

    >>> import numpy as np
    >>> plain(np.float64(-1.0)), plain(np.str_("severe")), plain(np.array([1.5, 2.0]))
    (-1.0, 'severe', [1.5, 2.0])
    """
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        if getattr(value, "ndim", 0) == 0:
            return value.item() if hasattr(value, "item") else value
        flat = value.ravel() if hasattr(value, "ravel") else value
        items = flat[:10].tolist()
        return items if len(flat) <= 10 else [*items, "..."]
    if isinstance(value, list | tuple) and any(hasattr(v, "dtype") for v in value):
        return type(value)(plain(v) for v in value)
    return value
