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
    "ScenarioError",
    "SpecError",
    "SpecWarning",
    "TapeError",
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
