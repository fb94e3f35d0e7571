"""Static-pool histories: loading and validation.

A static-pool history has one row per receivable per month, with the columns
of :data:`HISTORY_COLUMNS`:

``loan_id``
    Receivable identifier (text or integer).
``grade``
    Credit grade (constant over a loan's life).
``vintage``
    Origination month: ``"2015-01"``, a date, or an integer (``201501``
    as year-month, any other integer as a month number).
``age``
    The loan's age at the *end* of the month, 1 for its first month: the
    curves' MONTH convention (SIFMA Standard Formulas, 1999, section B.2).
``begin_balance``
    Performing principal at the start of the month (0 once defaulted or repaid).
``scheduled_principal``, ``prepaid_amount``, ``defaulted_amount``, ``recovered_amount``
    Amounts of that month.  Recoveries may arrive in rows after the default,
    which then carry a zero balance and no other amount.
``dpd``
    Days past due at the end of the month.

Validation runs on whole arrays (rows sorted by loan and age; neighbours
compared by shifting), never a Python loop over loans, and reports *every*
problem with the loan id and the month (age) where it sits.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from abs_engine.errors import HistoryError
from abs_engine.io import arrow_days, is_temporal
from abs_engine.pool.schema import DATE_RANGE

__all__ = [
    "AMOUNT_COLUMNS",
    "CONTRACT_COLUMNS",
    "HISTORY_COLUMNS",
    "History",
    "HistoryValidationError",
    "as_history",
    "load_history",
    "validate_history",
]

log = logging.getLogger(__name__)

#: Monthly amounts and balances of a history row (all >= 0).
AMOUNT_COLUMNS: tuple[str, ...] = (
    "begin_balance",
    "scheduled_principal",
    "prepaid_amount",
    "defaulted_amount",
    "recovered_amount",
)
#: Required columns, in the documented order.
HISTORY_COLUMNS: tuple[str, ...] = (
    "loan_id",
    "grade",
    "vintage",
    "age",
    *AMOUNT_COLUMNS,
    "dpd",
)
#: Optional contract columns (kept by the synthetic generator; ignored by calibration).
CONTRACT_COLUMNS: tuple[str, ...] = ("original_term", "payment_type", "original_balance", "rate")
_KNOWN = (*HISTORY_COLUMNS, *CONTRACT_COLUMNS)
_MAX_LISTED = 5
#: Oldest loan age accepted, in months (the projection engine's longest term).
_MAX_AGE = 4095
#: Rounding slack when checking that a month's principal fits in its balance.
_REL_TOL = 1e-9
_ABS_TOL = 0.01
#: Upper bounds (inclusive) of the delinquency buckets current, 1-30, 31-60, 61-90; above is 90+.
_DPD_EDGES = np.array([0.0, 30.0, 60.0, 90.0])

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


class HistoryValidationError(HistoryError):
    """A history failed validation.

    Attributes
    ----------
    problems : pandas.DataFrame
        Every problem found, one row each: ``row`` (0-based position in the
        input; -1 for the history as a whole), ``loan_id``, ``age`` (the
        month), ``column``, ``value`` and ``problem``.
    """

    def __init__(self, message: str, problems: pd.DataFrame) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True, eq=False)
class History:
    """A validated static-pool history as arrays, sorted by loan and then age.

    Build it with :func:`load_history` or :meth:`History.from_frame`.  Row
    arrays all have shape ``(n_rows,)``; loans are numbered ``0 ..
    n_loans - 1`` in sorted order (the original ids are not kept: reports
    carry aggregates only).

    Attributes
    ----------
    grades, vintages : tuple of str
        Grade and vintage labels; ``grade`` and ``vintage`` index into them.
    vintage_month : ndarray of int64 or None
        Calendar month number (``year x 12 + month - 1``) of each vintage,
        or None when the labels are not months.  Row ``r`` then falls in
        calendar month ``vintage_month[vintage[r]] + age[r]``.
    loan_start : ndarray of int64
        Offsets: loan ``i`` has rows ``loan_start[i] : loan_start[i + 1]``.
    grade, vintage, age : ndarray of int
        Grade code, vintage code and loan age (1 for the first month).
    begin_balance, scheduled_principal, prepaid_amount, defaulted_amount, recovered_amount : ndarray
        Monthly amounts (float64).
    dpd_bucket : ndarray of int8
        Delinquency at month end: 0 current, 1 for 1-30, 2 for 31-60,
        3 for 61-90, 4 for more than 90 days past due.
    default_age : ndarray of int32
        Per loan: age of the month it (first) defaulted, 0 if it never did.
    source : str or None
        Where the history came from.
    """

    grades: tuple[str, ...]
    vintages: tuple[str, ...]
    vintage_month: I64 | None
    loan_start: I64
    grade: NDArray[np.int16]
    vintage: NDArray[np.int32]
    age: NDArray[np.int32]
    begin_balance: F64
    scheduled_principal: F64
    prepaid_amount: F64
    defaulted_amount: F64
    recovered_amount: F64
    dpd_bucket: NDArray[np.int8]
    default_age: NDArray[np.int32]
    source: str | None = None

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        object.__setattr__(self, "grades", tuple(self.grades))
        object.__setattr__(self, "vintages", tuple(self.vintages))

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str | None = None) -> History:
        """Validate a DataFrame history (one row per receivable per month)."""
        if not isinstance(frame, pd.DataFrame):
            raise HistoryError(f"expected a pandas DataFrame; got {type(frame).__name__}")
        return cls.from_table(_frame_to_table(frame), source=source)

    @classmethod
    def from_table(cls, table: pa.Table, *, source: str | None = None) -> History:
        """Validate an Arrow table history.

        Raises
        ------
        HistoryValidationError
            (a :class:`~abs_engine.errors.HistoryError`) naming the first few
            problems by loan id and month; ``err.problems`` lists them all.
        """
        n_rows = table.num_rows
        history, problems = _check(_columns(table), n_rows, source)
        if history is None:
            raise HistoryValidationError(_message(problems, n_rows, source), problems)
        return history

    # --- views ----------------------------------------------------------------------------

    @property
    def n_rows(self) -> int:
        """Rows (loan-months)."""
        return int(self.age.shape[0])

    @property
    def n_loans(self) -> int:
        """Distinct receivables."""
        return int(self.loan_start.shape[0] - 1)

    @property
    def max_age(self) -> int:
        """Oldest age on the history."""
        return int(self.age.max()) if self.n_rows else 0

    def loan_of(self, rows: NDArray[np.integer[Any]]) -> I64:
        """Loan number of the given row positions."""
        return np.asarray(np.searchsorted(self.loan_start, rows, side="right") - 1, dtype=np.int64)

    def continues(self) -> NDArray[np.bool_]:
        """Mask of length ``n_rows - 1``: row ``i + 1`` belongs to the loan of row ``i``."""
        out = np.ones(max(self.n_rows - 1, 0), dtype=bool)
        out[self.loan_start[1:-1] - 1] = False
        return out

    @property
    def loan_grade(self) -> NDArray[np.int16]:
        """Grade code of each loan."""
        return self.grade[self.loan_start[:-1]]

    @property
    def loan_vintage(self) -> NDArray[np.int32]:
        """Vintage code of each loan."""
        return self.vintage[self.loan_start[:-1]]

    def __repr__(self) -> str:
        where = f" from {self.source!r}" if self.source else ""
        return (
            f"History({self.n_rows:,} rows, {self.n_loans:,} receivables, "
            f"grades {', '.join(self.grades)}, {len(self.vintages)} vintages, "
            f"ages 1-{self.max_age}{where})"
        )


# --- entry points ------------------------------------------------------------------------


def load_history(path: str | os.PathLike[str]) -> History:
    """Read and validate a history file (parquet, or CSV with a header row).

    Parameters
    ----------
    path : str or path-like
        ``.parquet`` / ``.pq``, or ``.csv`` / ``.txt`` / ``.csv.gz``.

    Returns
    -------
    History

    Raises
    ------
    HistoryError
        The file is missing or unreadable, or the history is inconsistent
        (the message names the loan and month of the first few problems).
    """
    p = Path(path)
    table = _read(p)
    n_rows = table.num_rows
    columns = _columns(table)
    del table  # the columns are released one by one as they are converted
    history, problems = _check(columns, n_rows, str(p))
    if history is None:
        raise HistoryValidationError(_message(problems, n_rows, str(p)), problems)
    return history


def as_history(
    data: History | pd.DataFrame | pa.Table | str | os.PathLike[str],
) -> History:
    """Accept a :class:`History`, a DataFrame, an Arrow table or a file path."""
    if isinstance(data, History):
        return data
    if isinstance(data, pd.DataFrame):
        return History.from_frame(data)
    if isinstance(data, pa.Table):
        return History.from_table(data)
    if isinstance(data, (str, os.PathLike)):
        return load_history(data)
    raise HistoryError(
        "a history is a DataFrame, an Arrow table, or a parquet/CSV path; "
        f"got {type(data).__name__}"
    )


def validate_history(data: pd.DataFrame | pa.Table | str | os.PathLike[str]) -> pd.DataFrame:
    """Every problem of a history, without raising (an empty table when it is valid).

    Columns: ``row, loan_id, age, column, value, problem`` (see :class:`HistoryValidationError`).
    """
    if isinstance(data, pd.DataFrame):
        table, source = _frame_to_table(data), None
    elif isinstance(data, pa.Table):
        table, source = data, None
    else:
        table, source = _read(Path(data)), str(data)
    return _check(_columns(table), table.num_rows, source)[1]


# --- reading -------------------------------------------------------------------------------


def _read(p: Path) -> pa.Table:
    """Read a history file; errors name the file, never a line's content."""
    from abs_engine.io import input_file, read_table

    name = p.name.lower()
    if name.endswith((".parquet", ".pq")):
        input_file(p, "history", HistoryError)
        try:
            names = pq.read_schema(p).names
            # Read only the columns we know (and names close to them, to report typos).
            wanted = [c for c in names if c.strip() in _KNOWN or _close(c.strip())]
            return pq.read_table(p, columns=wanted)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise HistoryError(
                f"cannot read history {p}: not a parquet file, or a damaged one "
                f"({type(exc).__name__})"
            ) from None
    if name.endswith((".csv", ".txt", ".csv.gz")):
        table: pa.Table = read_table(
            p, what="history", error=HistoryError, text_columns=("loan_id",), formats=("csv",)
        )
        return table
    input_file(p, "history", HistoryError)
    raise HistoryError(f"unknown history format for {p}; use .parquet or .csv")


def _frame_to_table(frame: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise HistoryError(f"cannot convert the history frame: {exc}") from exc


def _close(name: str) -> str | None:
    match = difflib.get_close_matches(name, _KNOWN, n=1, cutoff=0.8)
    if not match:
        match = difflib.get_close_matches(name.lower(), _KNOWN, n=1, cutoff=0.8)
    return match[0] if match else None


# --- validation -----------------------------------------------------------------------------


class _Problems:
    """Problems as arrays of input-row positions, one batch per check."""

    def __init__(self) -> None:
        self.batches: list[tuple[I64, str, str, F64 | None, F64 | None]] = []
        self.whole: list[tuple[str, str]] = []

    def add(
        self,
        rows: I64,
        column: str,
        problem: str,
        values: F64 | None = None,
        ages: F64 | None = None,
    ) -> None:
        if rows.size:
            self.batches.append((rows, column, problem, values, ages))

    def history(self, column: str, problem: str) -> None:
        self.whole.append((column, problem))

    def __bool__(self) -> bool:
        return bool(self.batches or self.whole)

    def frame(self, loan_ids: pa.ChunkedArray | None, age_in: NDArray[Any] | None) -> pd.DataFrame:
        k = len(self.whole)
        rows = [np.full(k, -1, dtype=np.int64)]
        cols: list[NDArray[Any]] = [np.array([c for c, _ in self.whole], dtype=object)]
        probs: list[NDArray[Any]] = [np.array([p for _, p in self.whole], dtype=object)]
        vals: list[F64] = [np.full(k, np.nan)]
        ages: list[F64] = [np.full(k, np.nan)]
        for r, column, problem, v, a in self.batches:
            rows.append(r)
            cols.append(np.full(r.size, column, dtype=object))
            probs.append(np.full(r.size, problem, dtype=object))
            vals.append(np.full(r.size, np.nan) if v is None else np.asarray(v, dtype=np.float64))
            if a is not None:
                ages.append(np.asarray(a, dtype=np.float64))
            elif age_in is not None:
                ages.append(np.asarray(age_in[r], dtype=np.float64))
            else:
                ages.append(np.full(r.size, np.nan))
        row = np.concatenate(rows)
        ids = np.full(row.size, None, dtype=object)
        at_row = row >= 0
        if loan_ids is not None and at_row.any():
            taken = loan_ids.take(pa.array(row[at_row]))
            ids[at_row] = np.asarray(taken.to_pandas(), dtype=object)
        frame = pd.DataFrame(
            {
                "row": row,
                "loan_id": ids,
                "age": pd.array(np.concatenate(ages)).astype("Int64")
                if row.size
                else pd.array([], dtype="Int64"),
                "column": np.concatenate(cols),
                "value": np.concatenate(vals),
                "problem": np.concatenate(probs),
            }
        )
        order = np.argsort(frame["row"].to_numpy(), kind="stable")
        return frame.iloc[order].reset_index(drop=True)


def _message(problems: pd.DataFrame, n_rows: int, source: str | None) -> str:
    where = f"history {source!r}" if source else "history"
    n = len(problems)
    loans = problems.loc[problems["row"] >= 0, "loan_id"].nunique()
    head = f"{where} failed validation: {n:,} problem{'s' if n != 1 else ''}"
    if loans:
        head += f" in {loans:,} loan{'s' if loans != 1 else ''} ({n_rows:,} rows)"
    lines = [head + ":"]
    head_rows = problems.head(_MAX_LISTED)
    for row, loan_id, age, column, problem in zip(
        head_rows["row"].tolist(),
        head_rows["loan_id"].tolist(),
        head_rows["age"].astype("Float64").fillna(-1).astype(int).tolist(),
        head_rows["column"].tolist(),
        head_rows["problem"].tolist(),
        strict=True,
    ):
        if row < 0:
            lines.append(f"  - {problem}")
        else:
            month = f", month (age) {age}" if age >= 0 else ""
            lines.append(f"  - loan {loan_id!r}{month}, column {column!r}: {problem}")
    if n > _MAX_LISTED:
        lines.append(f"  ... and {n - _MAX_LISTED:,} more (err.problems lists them all)")
    lines.append("Fix the history and load it again.")
    return "\n".join(lines)


def _codes(col: pa.ChunkedArray) -> tuple[NDArray[np.integer[Any]], list[Any]]:
    """Codes of a column's distinct values (-1 where empty) and the values, in code order."""
    codes, dictionary = _encoded(col)
    return codes, dictionary.to_pylist()


def _encoded(col: pa.ChunkedArray) -> tuple[NDArray[np.integer[Any]], pa.Array]:
    """Codes of a column's distinct values (-1 where empty) and the distinct values."""
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    col = col.unify_dictionaries()
    if col.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], type=col.type.value_type)
    dictionary = col.chunk(0).dictionary
    indices = pa.chunked_array([c.indices for c in col.chunks]).combine_chunks()
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    return indices.to_numpy(zero_copy_only=False), dictionary


def _column(col: pa.ChunkedArray) -> NDArray[Any] | None:
    """A numeric column as NumPy in its own dtype (float64, NaN if empty); None if not numeric."""
    t = col.type
    if pa.types.is_null(t):
        return np.full(len(col), np.nan)
    if pa.types.is_decimal(t):
        col = pc.cast(col, pa.float64())
    elif not (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return None
    arr = col.combine_chunks()
    if arr.null_count:
        arr = pc.cast(arr, pa.float64())  # empty cells become NaN
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _all_non_negative(v: NDArray[Any]) -> bool:
    """Fast path: every value finite and >= 0 (two reductions, no temporary array)."""
    if v.size == 0:
        return True
    lo, hi = v.min(), v.max()  # NaN propagates and fails both tests
    return bool(lo >= 0) and bool(np.isfinite(hi))


def _vintage_codes(
    col: pa.ChunkedArray, problems: _Problems
) -> tuple[NDArray[np.integer[Any]], list[Any]]:
    """:func:`_codes` of the vintages; a date or timestamp vintage is the text of its day.

    The distinct values are converted (not every row), and their days come from
    NumPy, so a stored date beyond Python's calendar is a problem on its rows
    (outside :data:`~abs_engine.pool.schema.DATE_RANGE`), not an ``OverflowError``.
    """
    if not is_temporal(col.type):
        return _codes(col)
    codes, dictionary = _encoded(col)
    days, _ = arrow_days(dictionary)  # a dictionary holds no empty value
    lo, hi = (np.datetime64(d, "D") for d in DATE_RANGE)
    far = (days < lo) | (days > hi)
    if far.any():
        problems.add(
            np.flatnonzero((codes >= 0) & far[np.maximum(codes, 0)]),
            "vintage",
            f"vintage is a date outside {DATE_RANGE[0]} to {DATE_RANGE[1]}; "
            "give the origination month (e.g. 2015-01)",
        )
    return codes, [str(d) for d in np.datetime_as_string(days)]


def _vintage_labels(values: list[Any]) -> tuple[list[str], I64 | None]:
    """Labels of the vintages and their calendar months (None if they are not months)."""
    labels: list[str] = []
    months: list[int] = []
    ok = True
    for v in values:
        if isinstance(v, (dt.date, dt.datetime)):
            labels.append(v.isoformat()[:10])
            months.append(v.year * 12 + v.month - 1)
        elif isinstance(v, (int, np.integer)):
            iv = int(v)
            labels.append(str(iv))
            if 100_001 <= iv <= 999_912 and 1 <= iv % 100 <= 12:
                months.append((iv // 100) * 12 + iv % 100 - 1)
            else:
                months.append(iv)
        else:
            text = str(v).strip()
            labels.append(text)
            try:
                period = pd.Period(text, freq="M")
                months.append(int(period.year) * 12 + int(period.month) - 1)
            except (ValueError, TypeError):
                ok = False
    return labels, (np.asarray(months, dtype=np.int64) if ok else None)


def _columns(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    """The table's columns by stripped name (a repeated name keeps its first column)."""
    out: dict[str, pa.ChunkedArray] = {}
    for i, name in enumerate(table.column_names):
        out.setdefault(str(name).strip(), table.column(i))
    if len(out) != table.num_columns:
        names = [str(c).strip() for c in table.column_names]
        dup = sorted({c for c in names if names.count(c) > 1})
        out["\0duplicates"] = pa.chunked_array([pa.array(dup, pa.string())])
    return out


def _check(
    columns: dict[str, pa.ChunkedArray], n: int, source: str | None
) -> tuple[History | None, pd.DataFrame]:
    """Validate; return the history (None when there are problems) and the problems.

    Every check is a few whole-array passes; the per-default checks run on
    the (few) rows of defaulted loans only.  ``columns`` is consumed: each
    column is dropped once converted, so its Arrow memory can be released.
    """
    dup_names = columns.pop("\0duplicates", None)
    names = list(columns)
    problems = _Problems()
    loan_col = columns.get("loan_id")

    # --- the history as a whole ----------------------------------------------------
    for nm in names:
        close = _close(nm) if nm not in _KNOWN else None
        if close is not None:
            problems.history(nm, f"unknown column {nm!r}; did you mean {close!r}? (rename it)")
    if dup_names is not None:
        dup = [str(c) for c in dup_names.to_pylist()]
        problems.history(dup[0], f"column(s) {', '.join(map(repr, dup))} appear twice")
    for c in HISTORY_COLUMNS:
        if c not in names:
            problems.history(
                c, f"missing column {c!r}; a history needs {', '.join(HISTORY_COLUMNS)}"
            )
    if n == 0:
        problems.history("", "the history has no rows")
    if problems:
        return None, problems.frame(loan_col, None)
    assert loan_col is not None

    types = {nm: col.type for nm, col in columns.items()}

    def convert(nm: str) -> tuple[NDArray[Any] | None, bool]:
        vals = _column(columns.pop(nm))
        return vals, vals is not None and (nm == "age" or _all_non_negative(vals))

    # Column conversions and the fast range checks run on two threads (no GIL held).
    numeric = ("age", *AMOUNT_COLUMNS, "dpd")
    with ThreadPoolExecutor(max_workers=2) as workers:
        converted = dict(zip(numeric, workers.map(convert, numeric), strict=True))
    pa.default_memory_pool().release_unused()  # the read buffers of converted columns
    num: dict[str, NDArray[Any]] = {}
    for nm, (vals, _) in converted.items():
        if vals is None:
            problems.history(nm, f"column {nm!r} has type {types[nm]}, expected numbers")
        else:
            num[nm] = vals
    if problems:
        return None, problems.frame(loan_col, None)

    # --- row by row ------------------------------------------------------------------------
    age_raw = num["age"]
    age_ok = np.issubdtype(age_raw.dtype, np.integer) and (
        age_raw.size == 0 or (int(age_raw.min()) >= 1 and int(age_raw.max()) <= _MAX_AGE)
    )
    if not age_ok:
        age_f = age_raw.astype(np.float64, copy=False)
        with np.errstate(invalid="ignore"):
            bad_age = ~((age_f >= 1) & (age_f <= _MAX_AGE)) | (age_f != np.floor(age_f))
        age_ok = not bad_age.any()
        problems.add(
            np.flatnonzero(bad_age),
            "age",
            f"age must be a whole number of months from 1 to {_MAX_AGE} "
            "(1 for the loan's first month)",
            age_raw[bad_age].astype(np.float64),
        )
    for nm in (*AMOUNT_COLUMNS, "dpd"):
        v = num[nm]
        if converted[nm][1]:
            continue
        if np.issubdtype(v.dtype, np.integer):
            bad = v < 0
        else:
            with np.errstate(invalid="ignore"):
                bad = ~((v >= 0) & (v < np.inf))
        if bad.any():
            idx = np.flatnonzero(bad)
            empty = np.isnan(v[idx]) if not np.issubdtype(v.dtype, np.integer) else None
            if empty is not None and empty.any():
                problems.add(idx[empty], nm, f"empty {nm}")
                idx = idx[~empty]
            problems.add(idx, nm, f"negative or infinite {nm}; amounts are >= 0", v[idx])
    grade_codes, grade_vals = _codes(columns.pop("grade"))
    vint_codes, vint_vals = _vintage_codes(columns.pop("vintage"), problems)
    for nm, codes in (("grade", grade_codes), ("vintage", vint_codes)):
        if codes.size and codes.min() < 0:
            problems.add(np.flatnonzero(codes < 0), nm, f"empty {nm}")
    if loan_col.null_count:
        problems.add(
            np.flatnonzero(loan_col.is_null().to_numpy(zero_copy_only=False)),
            "loan_id",
            "empty loan_id",
        )
    if loan_col.null_count or not age_ok:
        return None, problems.frame(loan_col, age_raw)  # cannot order the rows

    if pa.types.is_integer(loan_col.type):
        lid: NDArray[Any] = np.asarray(loan_col.combine_chunks().to_numpy())
    else:
        lid = _codes(loan_col)[0]

    # --- order: by loan, then age ---------------------------------------------------------
    age = age_raw.astype(np.int32, copy=False)
    same = lid[1:] == lid[:-1]
    step = np.diff(age)
    seq = same & (step != 1)  # duplicates, gaps, or rows out of order
    order: I64 | None = None
    unordered = bool(np.any(step[seq] < 0)) if seq.any() else False
    if unordered or not bool(np.all(lid[1:] >= lid[:-1])):
        order = np.lexsort((age, lid))
        lid, age = lid[order], age[order]
        same = lid[1:] == lid[:-1]
        step = np.diff(age)
        seq = same & (step != 1)
    del lid

    def sorted_(a: NDArray[Any]) -> NDArray[Any]:
        return a if order is None else a[order]

    def rows(idx: NDArray[np.integer[Any]]) -> I64:
        pos = np.asarray(idx, dtype=np.int64)
        return pos if order is None else np.asarray(order[pos], dtype=np.int64)

    loan_start = np.flatnonzero(~same).astype(np.int64)
    loan_start += 1
    loan_start = np.concatenate(([0], loan_start, [n])).astype(np.int64)
    n_loans = loan_start.size - 1

    if seq.any():
        idx = np.flatnonzero(seq) + 1
        dup = step[idx - 1] == 0
        problems.add(
            rows(idx[dup]), "age", "duplicate row: this loan already has a row for this month"
        )
        gap = idx[~dup]
        problems.add(
            rows(gap),
            "age",
            "month missing: no row between this loan's neighbouring rows "
            "(rows run month by month, with zero rows while recoveries are awaited)",
            age[gap].astype(np.float64),
            (age[gap - 1] + 1).astype(np.float64),
        )
    del step
    grade_s = sorted_(grade_codes)
    vint_s = sorted_(vint_codes)
    for nm, codes in (("grade", grade_s), ("vintage", vint_s)):
        change = same & (codes[1:] != codes[:-1])
        if change.any():
            problems.add(
                rows(np.flatnonzero(change) + 1),
                nm,
                f"{nm} changes within a loan (it is fixed at origination)",
            )
    del same

    amounts = {nm: sorted_(num[nm]).astype(np.float64, copy=False) for nm in AMOUNT_COLUMNS}
    bal = amounts["begin_balance"]
    sched = amounts["scheduled_principal"]
    prep = amounts["prepaid_amount"]
    dflt = amounts["defaulted_amount"]
    rec = amounts["recovered_amount"]

    excess = sched + prep
    excess += dflt
    excess -= bal  # <= 0 when the month's principal fits in its balance
    over = np.zeros(0, dtype=np.int64)
    if excess.max() > _ABS_TOL:  # else nothing to look at (the usual case)
        over = np.flatnonzero(excess > bal * _REL_TOL + _ABS_TOL)
    del excess
    problems.add(
        rows(over),
        "begin_balance",
        "scheduled_principal + prepaid_amount + defaulted_amount exceed the month's begin_balance",
        bal[over],
    )

    # Defaults: the first default of each loan, and what follows it (few rows).
    di = np.flatnonzero(dflt > 0)
    d_loan = np.searchsorted(loan_start, di, side="right") - 1
    first = np.ones(di.size, dtype=bool)
    first[1:] = d_loan[1:] != d_loan[:-1]
    fdi, fd_loan = di[first], d_loan[first]
    default_age = np.zeros(n_loans, dtype=np.int32)
    default_age[fd_loan] = age[fdi]
    # Rows after a first default: fdi + 1 .. end of the loan.
    lengths = loan_start[fd_loan + 1] - fdi - 1
    if lengths.sum():
        after = np.repeat(fdi + 1 - np.cumsum(lengths) + lengths, lengths) + np.arange(
            int(lengths.sum())
        )
        zombie_cols = (
            ("begin_balance", bal),
            ("scheduled_principal", sched),
            ("prepaid_amount", prep),
            ("defaulted_amount", dflt),
        )
        flagged = np.zeros(after.size, dtype=bool)
        for col, arr in zombie_cols:
            hit = (arr[after] > 0) & ~flagged
            flagged |= hit
            problems.add(
                rows(after[hit]),
                col,
                "performing activity after the loan defaulted (after a default only "
                "recovery rows with zero balance may follow)",
                arr[after[hit]],
            )
    ri = np.flatnonzero(rec > 0)
    if ri.size:
        r_loan = np.searchsorted(loan_start, ri, side="right") - 1
        da = default_age[r_loan]
        orphan = (da == 0) | (age[ri] < da)
        problems.add(
            rows(ri[orphan]),
            "recovered_amount",
            "recovery before any default of this loan",
            rec[ri[orphan]],
        )

    if problems:
        return None, problems.frame(loan_col, age_raw)

    # --- the validated history --------------------------------------------------------
    g_order = sorted(range(len(grade_vals)), key=lambda i: str(grade_vals[i]))
    grades = tuple(str(grade_vals[i]) for i in g_order)
    grade = grade_s.astype(np.int16)
    if g_order != list(range(len(g_order))):
        lut = np.empty(len(g_order), dtype=np.int16)
        lut[g_order] = np.arange(len(g_order), dtype=np.int16)
        grade = lut[grade]

    labels, months = _vintage_labels(vint_vals)
    if months is not None:
        v_order = sorted(range(len(labels)), key=lambda i: (int(months[i]), labels[i]))
    else:
        v_order = sorted(range(len(labels)), key=lambda i: labels[i])
    vintage = vint_s.astype(np.int32)
    if v_order != list(range(len(v_order))):
        vlut = np.empty(len(v_order), dtype=np.int32)
        vlut[v_order] = np.arange(len(v_order), dtype=np.int32)
        vintage = vlut[vintage]

    dpd = sorted_(num["dpd"])
    late = np.flatnonzero(dpd > 0)
    bucket = np.zeros(n, dtype=np.int8)
    bucket[late] = np.searchsorted(_DPD_EDGES, dpd[late], side="left")

    history = History(
        grades=grades,
        vintages=tuple(labels[i] for i in v_order),
        vintage_month=None if months is None else months[v_order],
        loan_start=loan_start,
        grade=grade,
        vintage=vintage,
        age=age,
        begin_balance=bal,
        scheduled_principal=sched,
        prepaid_amount=prep,
        defaulted_amount=dflt,
        recovered_amount=rec,
        dpd_bucket=bucket,
        default_age=default_age,
        source=source,
    )
    log.info(
        "history%s: %d rows, %d receivables, %d grades, %d vintages",
        f" {source}" if source else "",
        history.n_rows,
        history.n_loans,
        len(history.grades),
        len(history.vintages),
    )
    return history, problems.frame(None, None)
