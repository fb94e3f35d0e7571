"""Reading borrower columns as arrays: values, and masks of missing and invalid cells.

Everything here works on whole columns (no Python loop over rows).  Nothing
here logs or formats a cell value: provident-fund fields are private, so
messages name rows and loan ids only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.errors import GradingError

__all__ = ["category_codes", "describe_rows", "numeric_values"]

MAX_LISTED = 5

#: Code of an empty cell and of a value outside the categories in :func:`category_codes`.
MISSING_CODE = -1
INVALID_CODE = -2


def numeric_values(
    series: pd.Series,
    *,
    needed_by: str,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """A column as float64 with masks of missing and invalid cells.

    Parameters
    ----------
    series : pandas.Series
        The column: numbers, nullable integers, or text holding numbers.
    needed_by : str
        What needs the column, for messages (``"factor 'pf_years'"``).
    low, high : float, optional
        Valid range (inclusive); values outside it are invalid.
    integer : bool
        Whether non-whole values are invalid.

    Returns
    -------
    values : ndarray of float64
        The numbers; NaN where missing or invalid.
    missing : ndarray of bool
        Empty cells (NaN, None, NA, blank text).
    invalid : ndarray of bool
        Cells that hold something other than a valid number: text that is not
        a number, infinities, values outside ``[low, high]``, fractions when
        ``integer``.
    """
    name = str(series.name)
    if pd.api.types.is_bool_dtype(series.dtype):
        raise GradingError(
            f"column {name!r} holds true/false values; {needed_by} needs numbers - "
            "fix the column's type on the tape"
        )
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(values)
        invalid = np.zeros(values.shape, dtype=bool)
    else:
        as_object = series.astype(object)
        text = as_object.where(as_object.isna(), as_object.astype(str).str.strip())
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
        values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        invalid = np.isnan(values) & ~missing
    with np.errstate(invalid="ignore"):
        bad = ~missing & ~invalid & ~np.isfinite(values)
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
        if integer:
            bad |= np.isfinite(values) & (values != np.floor(values))
    invalid = invalid | bad
    if invalid.any():
        values = np.where(invalid, np.nan, values)
    return values, missing, invalid


def category_codes(series: pd.Series, categories: Sequence[str]) -> NDArray[np.int16]:
    """Index of each cell in ``categories`` (trimmed, case-insensitive).

    Returns
    -------
    ndarray of int16
        ``0 .. len(categories) - 1``; :data:`MISSING_CODE` (-1) for an empty
        cell; :data:`INVALID_CODE` (-2) for a value that is none of them.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = {str(c).strip().lower(): i for i, c in enumerate(categories)}
    lut = np.empty(len(uniques) + 1, dtype=np.int16)
    for j, u in enumerate(uniques.tolist()):
        key = "" if u is None else str(u).strip().lower()
        lut[j] = MISSING_CODE if key == "" else lookup.get(key, INVALID_CODE)
    lut[-1] = MISSING_CODE  # factorize's NA sentinel -1 indexes the last entry
    return lut[np.asarray(codes, dtype=np.int64)]


def describe_rows(frame: pd.DataFrame, mask: NDArray[np.bool_], max_items: int = MAX_LISTED) -> str:
    """The first rows of ``mask`` by loan id and position: ``loan 'R1' (row 3), ...``.

    Never a cell value: only the ``loan_id`` column (when there is one) and the
    0-based row position.
    """
    rows = np.flatnonzero(mask)
    ids = frame["loan_id"] if "loan_id" in frame.columns else None
    parts = []
    for r in rows[:max_items].tolist():
        if ids is None:
            parts.append(f"row {r}")
        else:
            parts.append(f"loan {str(ids.iloc[r])!r} (row {r})")
    text = ", ".join(parts)
    if rows.size > max_items:
        text += f" and {rows.size - max_items:,} more"
    return text
