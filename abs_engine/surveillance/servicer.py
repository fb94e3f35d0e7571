"""Servicer reports: the pool's monthly collections by grade, read and validated.

A servicer report is a tidy table with one row per collection month and grade
(or segment).  Amounts are in the deal's currency; balances are *performing*
receivables (not charged off), delinquent ones included.

Required columns
----------------
``period_end``
    Last day of the collection month (``2016-01-31``).
``grade``
    Credit grade of the receivables (constant over their life).
``begin_balance``
    Performing balance at the start of the month (the previous month's
    ``end_balance``).
``scheduled_principal``, ``prepayment``
    Principal collected as scheduled, and ahead of schedule.
``default``
    Balance charged off in the month (defaults leave the performing balance).
``interest``, ``fee``
    Interest and fees collected.
``recovery``
    Recovered on receivables charged off in this or earlier months.
``end_balance``
    Performing balance at the end of the month:
    ``end = begin + purchases - scheduled_principal - prepayment - default``.

Optional columns
----------------
``purchases``
    Receivables bought in the month (revolving period), at their balance
    (default 0).  A purchase made on a payment date joins the pool for the
    whole collection month in which that payment date falls.
``loss``
    Realised loss on charged-off receivables whose work-out ended in the month
    (default: derived by :func:`abs_engine.surveillance.surveil` from the
    deal's recovery lag, see there).
``advanced_principal``, ``advanced_interest``
    Servicer advances (default 0).
``dpd_1_30``, ``dpd_31_60``, ``dpd_61_90``, ``dpd_90_plus``
    Balances delinquent by days past due at the end of the month (part of
    ``end_balance``); give all four or none.
``receivables``
    Number of performing receivables at the end of the month: enables the
    sampling standard errors of observed rates and the suppression of small
    cells in reports.

Validation reports *every* problem with its period, grade and column: dates
that are not month ends, missing or negative amounts, duplicate or missing
(period, grade) rows, gaps between months, balances that do not roll forward
(``end`` from ``begin`` and the flows; ``begin`` from the previous ``end``)
and delinquent balances above the performing balance.  A report with problems
raises :class:`~abs_engine.errors.ServicerError` and nothing is built.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine._frozen import FrozenMap
from abs_engine.errors import ServicerError, plain
from abs_engine.io import write_frame
from abs_engine.pool.schema import DATE_RANGE

__all__ = [
    "AMOUNT_COLUMNS",
    "DELINQUENCY_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SERVICER_COLUMNS",
    "ServicerHistory",
    "as_servicer_history",
    "load_servicer",
    "month_index",
    "validate_servicer",
    "write_servicer",
]

log = logging.getLogger(__name__)
F64 = NDArray[np.float64]

#: Monthly amounts and balances, in the order of the documented schema.
AMOUNT_COLUMNS: tuple[str, ...] = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "interest",
    "fee",
    "recovery",
    "end_balance",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("period_end", "grade", *AMOUNT_COLUMNS)
#: Optional amounts (zero when absent, except ``loss``, which is derived).
OPTIONAL_AMOUNTS: tuple[str, ...] = ("purchases", "loss", "advanced_principal", "advanced_interest")
DELINQUENCY_COLUMNS: tuple[str, ...] = ("dpd_1_30", "dpd_31_60", "dpd_61_90", "dpd_90_plus")
COUNT_COLUMN = "receivables"
OPTIONAL_COLUMNS: tuple[str, ...] = (*OPTIONAL_AMOUNTS, *DELINQUENCY_COLUMNS, COUNT_COLUMN)
SERVICER_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
#: Every numeric column, as held by :class:`ServicerHistory`.
NUMERIC_COLUMNS: tuple[str, ...] = (
    *AMOUNT_COLUMNS,
    *OPTIONAL_AMOUNTS,
    *DELINQUENCY_COLUMNS,
    COUNT_COLUMN,
)
_MAX_LISTED = 5
#: Rounding slack of the balance roll-forward: a cent, or 1e-9 of the balance.
ABS_TOL = 0.01
REL_TOL = 1e-9


def month_index(d: dt.date | np.datetime64 | pd.Timestamp) -> int:
    """Calendar month number ``year * 12 + month - 1`` of a date."""
    ts = pd.Timestamp(d)
    return int(ts.year * 12 + ts.month - 1)


def _month_end(index: int) -> dt.date:
    y, m = divmod(index + 1, 12)
    return dt.date(y, m + 1, 1) - dt.timedelta(days=1)


# --- the validated history -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ServicerHistory:
    """A validated servicer history as arrays ``(grade, month)``.

    Build it with :func:`load_servicer` or :meth:`ServicerHistory.from_frame`.

    Attributes
    ----------
    grades : tuple of str
        Grades in the order of the arrays' first axis (sorted).
    months : ndarray of datetime64[D]
        Last day of each collection month, consecutive, oldest first.
    data : mapping of column to ndarray (n_grades, n_months)
        Every numeric column of :data:`NUMERIC_COLUMNS`; optional amounts not
        given are 0, except ``loss`` (NaN), delinquency (NaN) and
        ``receivables`` (NaN).
    has_loss, has_delinquency, has_counts : bool
        Which optional columns the report gave.
    source : str or None
        Where it came from.
    """

    grades: tuple[str, ...]
    months: NDArray[np.datetime64]
    data: Mapping[str, F64]
    has_loss: bool = False
    has_delinquency: bool = False
    has_counts: bool = False
    source: str | None = None
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        frozen: dict[str, F64] = {}
        for k, v in self.data.items():
            a = np.array(v, dtype=np.float64)
            a.setflags(write=False)
            frozen[k] = a
        object.__setattr__(self, "data", FrozenMap(frozen))
        object.__setattr__(self, "grades", tuple(self.grades))

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str | None = None) -> ServicerHistory:
        """Validate a servicer table and build the history (raises :class:`ServicerError`)."""
        history, problems = _check(frame)
        if history is None:
            raise ServicerError(_message(problems, len(frame), source), problems)
        return history if source is None else _with_source(history, source)

    # --- shape ------------------------------------------------------------------------------

    @property
    def n_months(self) -> int:
        """Collection months."""
        return int(self.months.shape[0])

    @property
    def first_month(self) -> int:
        """Calendar month number of the first month (``year * 12 + month - 1``)."""
        return month_index(self.months[0])

    def __getitem__(self, name: str) -> F64:
        """A column by grade and month, shape ``(n_grades, n_months)``."""
        try:
            return self.data[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns are {', '.join(self.data)}") from None

    def total(self, name: str) -> F64:
        """A column summed over grades, shape ``(n_months,)``."""
        out: F64 = self[name].sum(axis=0)
        return out

    def head(self, n_months: int) -> ServicerHistory:
        """The first ``n_months`` months."""
        if not 1 <= n_months <= self.n_months:
            raise ServicerError(f"n_months must be 1..{self.n_months}; got {n_months}")
        return ServicerHistory(
            self.grades,
            self.months[:n_months],
            {k: v[:, :n_months] for k, v in self.data.items()},
            self.has_loss,
            self.has_delinquency,
            self.has_counts,
            self.source,
        )

    def to_frame(self) -> pd.DataFrame:
        """The tidy table: one row per month and grade, the schema's columns that were given."""
        G, M = len(self.grades), self.n_months
        cols: dict[str, Any] = {
            "period_end": np.tile(self.months, G),
            "grade": np.repeat(np.asarray(self.grades, dtype=object), M),
        }
        for c in (*AMOUNT_COLUMNS, *OPTIONAL_AMOUNTS):
            if c == "loss" and not self.has_loss:
                continue
            cols[c] = self[c].reshape(-1)
        if self.has_delinquency:
            cols.update({c: self[c].reshape(-1) for c in DELINQUENCY_COLUMNS})
        if self.has_counts:
            cols[COUNT_COLUMN] = self[COUNT_COLUMN].reshape(-1).astype(np.int64)
        frame = pd.DataFrame(cols)
        frame["period_end"] = pd.to_datetime(frame["period_end"])
        return frame.sort_values(["period_end", "grade"], kind="stable").reset_index(drop=True)

    def __repr__(self) -> str:
        first = str(self.months[0]) if self.n_months else "-"
        last = str(self.months[-1]) if self.n_months else "-"
        return (
            f"ServicerHistory({self.n_months} months {first} to {last}, "
            f"grades {', '.join(self.grades)})"
        )


def _with_source(history: ServicerHistory, source: str) -> ServicerHistory:
    return ServicerHistory(
        history.grades,
        history.months,
        history.data,
        history.has_loss,
        history.has_delinquency,
        history.has_counts,
        source,
    )


# --- entry points ----------------------------------------------------------------------------


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ServicerError(f"servicer report not found: {path}")
    if path.is_dir():
        raise ServicerError(f"servicer report path is a directory, not a file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:  # dates as datetime64: a far one is a problem on its row, not a read error
                frame: pd.DataFrame = pq.read_table(path).to_pandas(date_as_object=False)
            except pa.ArrowException as exc:
                raise ServicerError(
                    f"cannot read servicer report {path}: not a parquet file, or a damaged one "
                    f"({type(exc).__name__})"
                ) from None
            return frame
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype={"grade": str})
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype={"grade": str})
    except (OSError, ValueError, ImportError) as exc:
        raise ServicerError(f"cannot read servicer report {path}: {exc}") from exc
    raise ServicerError(
        f"unknown servicer report format {path.suffix!r} ({path}); use .parquet, .csv or .xlsx"
    )


def load_servicer(path: str | os.PathLike[str]) -> ServicerHistory:
    """Read and validate a servicer report (parquet, CSV or Excel).

    Raises
    ------
    ServicerError
        The file is missing or unreadable, or the report is inconsistent
        (the message names period, grade and column of the first problems;
        ``err.problems`` lists them all).
    """
    p = Path(path)
    return ServicerHistory.from_frame(_read(p), source=str(p))


def as_servicer_history(
    data: ServicerHistory | pd.DataFrame | str | os.PathLike[str],
) -> ServicerHistory:
    """Accept a :class:`ServicerHistory`, a DataFrame or a file path."""
    if isinstance(data, ServicerHistory):
        return data
    if isinstance(data, pd.DataFrame):
        return ServicerHistory.from_frame(data)
    if isinstance(data, (str, os.PathLike)):
        return load_servicer(data)
    raise ServicerError(
        f"a servicer report is a DataFrame or a parquet/CSV/xlsx path; got {type(data).__name__}"
    )


def validate_servicer(data: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """Every problem of a servicer report, without raising (empty when it is valid).

    Columns: ``row`` (0-based position in the input; -1 for the table as a
    whole or a missing row), ``period_end``, ``grade``, ``column``, ``value``,
    ``problem``.
    """
    frame = data if isinstance(data, pd.DataFrame) else _read(Path(data))
    return _check(frame)[1]


def write_servicer(history: ServicerHistory | pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a servicer report atomically as parquet, CSV or Excel (by the suffix)."""
    frame = history.to_frame() if isinstance(history, ServicerHistory) else history
    if Path(path).suffix.lower() in (".csv", ".xlsx"):  # a date, not a midnight timestamp
        frame = frame.assign(period_end=pd.to_datetime(frame["period_end"]).dt.date)
    return write_frame(frame, path, sheet="servicer", suffixes=(".parquet", ".csv", ".xlsx"),
                       error=ServicerError)  # fmt: skip


# --- validation ------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        row: int | np.integer[Any],
        column: str,
        problem: str,
        *,
        period: Any = None,
        grade: Any = None,
        value: float = np.nan,
    ) -> None:
        self.rows.append(
            {
                "row": int(row),
                "period_end": _date_text(period),
                "grade": None if grade is None or pd.isna(grade) else str(grade),
                "column": column,
                "value": float(value) if value is not None else np.nan,
                "problem": problem,
            }
        )

    def frame(self) -> pd.DataFrame:
        cols = ["row", "period_end", "grade", "column", "value", "problem"]
        out = pd.DataFrame(self.rows, columns=cols)
        out["row"] = out["row"].astype(np.int64)
        out["value"] = out["value"].astype(np.float64)
        return out

    def __bool__(self) -> bool:
        return bool(self.rows)


def _date_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, dt.date, np.datetime64)):
        return str(pd.Timestamp(value).date())
    return str(value)


def _period_days(raw: pd.Series) -> NDArray[np.datetime64]:
    """Each ``period_end`` as ``datetime64[D]`` (NaT where empty or not a date).

    A time of day is dropped (the day is the floor).  Dates and timestamps of any
    unit (a time zone's in its own wall-clock time), text and Excel dates are
    accepted; numbers are not dates (pandas would read
    ``20200229`` as nanoseconds after 1970).  NumPy holds every stored date, so a
    far one reaches the range check instead of failing in Python's calendar.
    """
    s = raw
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if s.dtype.kind in "iufb":
        return np.full(len(s), np.datetime64("NaT"), dtype="datetime64[D]")
    if s.dtype.kind != "M":
        numbers = s.map(lambda v: isinstance(v, (int, float, np.number)))
        s = s.where(~numbers.astype(bool))
        # Each cell on its own ("mixed"): one format guessed from the first cell would turn
        # every cell written otherwise into NaT, and pandas warns on every guess it fails.
        try:
            s = pd.to_datetime(s, errors="coerce", format="mixed")
        except (ValueError, TypeError):  # time zones mixed with naive times
            s = pd.to_datetime(s, errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
    days: NDArray[np.datetime64] = np.asarray(s.to_numpy(), dtype="datetime64[D]")  # floors
    return days


def _close(name: str) -> str | None:
    match = difflib.get_close_matches(name.lower(), SERVICER_COLUMNS, n=1, cutoff=0.75)
    return match[0] if match else None


def _tol(scale: F64) -> F64:
    return np.maximum(ABS_TOL, REL_TOL * np.abs(scale))


def _check(frame: pd.DataFrame) -> tuple[ServicerHistory | None, pd.DataFrame]:
    """Validate ``frame``; return the history (None if there are problems) and every problem."""
    pb = _Problems()
    if not isinstance(frame, pd.DataFrame):
        raise ServicerError(f"a servicer report is a DataFrame; got {type(frame).__name__}")
    frame = frame.rename(columns=lambda c: str(c).strip()).reset_index(drop=True)
    names = list(frame.columns)
    for c in names:
        if names.count(c) > 1 and names.index(c) != len(names) - 1 - names[::-1].index(c):
            pb.add(-1, c, f"column {c!r} appears more than once")
            break
    for c in names:
        if c not in SERVICER_COLUMNS:
            hint = _close(c)
            fix = f" (did you mean {hint!r}?)" if hint else ""
            pb.add(
                -1,
                c,
                f"unknown column {c!r}{fix}; the schema's columns are {', '.join(SERVICER_COLUMNS)}",
            )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    for c in missing:
        pb.add(-1, c, f"required column {c!r} is missing")
    dq_given = [c for c in DELINQUENCY_COLUMNS if c in names]
    if dq_given and len(dq_given) < len(DELINQUENCY_COLUMNS):
        absent = [c for c in DELINQUENCY_COLUMNS if c not in names]
        pb.add(
            -1,
            absent[0],
            f"delinquency buckets come together: {', '.join(dq_given)} given but "
            f"{', '.join(absent)} missing (give all four, or none)",
        )
    if missing or pb:
        return None, pb.frame()
    n = len(frame)
    if n == 0:
        pb.add(-1, "period_end", "the report has no rows")
        return None, pb.frame()

    # --- keys ----------------------------------------------------------------------------------
    raw_dates = frame["period_end"]
    days = _period_days(raw_dates)
    grades_raw = frame["grade"]
    grade_text = grades_raw.map(lambda g: None if pd.isna(g) else str(g).strip())
    key_ok = np.ones(n, dtype=bool)
    lo, hi = (np.datetime64(d, "D") for d in DATE_RANGE)
    far = (days < lo) | (days > hi)  # NaT compares False
    for i in np.flatnonzero(far):
        day = str(np.datetime_as_string(days[i]))
        pb.add(
            i,
            "period_end",
            f"{day} is outside the months a servicer report covers: give a month end "
            f"between {DATE_RANGE[0]} and {DATE_RANGE[1]}",
            period=day,
            grade=grade_text.iloc[i],
        )
        key_ok[i] = False
    days[far] = np.datetime64("NaT", "D")
    dates = pd.Series(days.astype("datetime64[s]"))  # in range: every pandas method works
    for i in np.flatnonzero(np.isnat(days) & ~far):
        pb.add(
            i,
            "period_end",
            f"{plain(raw_dates.iloc[i])!r} is not a date (YYYY-MM-DD)",
            grade=grade_text.iloc[i],
        )
        key_ok[i] = False
    valid_dates = ~dates.isna().to_numpy()
    not_month_end = valid_dates & ~dates.dt.is_month_end.fillna(False).to_numpy()
    for i in np.flatnonzero(not_month_end):
        pb.add(
            i,
            "period_end",
            f"{dates.iloc[i].date()} is not the last day of a month: a collection month "
            f"ends on its last day ({(dates.iloc[i] + pd.offsets.MonthEnd(0)).date()})",
            period=dates.iloc[i],
            grade=grade_text.iloc[i],
        )
        key_ok[i] = False
    empty_grade = grade_text.map(lambda g: g is None or g == "").to_numpy(dtype=bool)
    for i in np.flatnonzero(empty_grade):
        pb.add(i, "grade", "grade is missing", period=dates.iloc[i])
        key_ok[i] = False

    # --- numbers -------------------------------------------------------------------------------
    present = [c for c in NUMERIC_COLUMNS if c in names]
    values: dict[str, F64] = {}
    num_ok = np.ones(n, dtype=bool)
    for c in present:
        raw = frame[c]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        blank = raw.isna().to_numpy()
        for i in np.flatnonzero(np.isnan(num) & ~blank):
            pb.add(
                i,
                c,
                f"{raw.iloc[i]!r} is not a number",
                period=dates.iloc[i],
                grade=grade_text.iloc[i],
            )
        for i in np.flatnonzero(blank):
            pb.add(
                i, c, "missing (give 0 for none)", period=dates.iloc[i], grade=grade_text.iloc[i]
            )
        for i in np.flatnonzero(np.isinf(num)):
            pb.add(i, c, "not finite", period=dates.iloc[i], grade=grade_text.iloc[i], value=num[i])
        for i in np.flatnonzero(num < 0):
            pb.add(
                i,
                c,
                "negative (amounts and balances are >= 0)",
                period=dates.iloc[i],
                grade=grade_text.iloc[i],
                value=num[i],
            )
        if c == COUNT_COLUMN:
            frac = np.isfinite(num) & (num != np.round(num))
            for i in np.flatnonzero(frac):
                pb.add(
                    i,
                    c,
                    "a count of receivables is a whole number",
                    period=dates.iloc[i],
                    grade=grade_text.iloc[i],
                    value=num[i],
                )
        bad = ~np.isfinite(num) | (num < 0)
        num_ok &= ~bad
        values[c] = np.where(bad, 0.0, num)

    # --- duplicates, gaps, missing rows --------------------------------------------------------
    ok = key_ok
    months = np.array(
        [month_index(d) if key_ok[i] else -1 for i, d in enumerate(dates)], dtype=np.int64
    )
    keys = pd.DataFrame({"m": months, "g": grade_text, "row": np.arange(n)})[ok]
    dup = keys.duplicated(["m", "g"], keep="first")
    first_row = keys.drop_duplicates(["m", "g"]).set_index(["m", "g"])["row"]
    for _, r in keys[dup].iterrows():
        at = int(r["row"])
        pb.add(
            at,
            "grade",
            f"duplicate row for this month and grade (first at row {int(first_row.loc[(r['m'], r['g'])])})",
            period=dates.iloc[at],
            grade=r["g"],
        )
        ok[at] = False
    if not keys.empty:
        m0, m1 = int(keys["m"].min()), int(keys["m"].max())
        seen_months = set(keys["m"].tolist())
        grade_set = sorted(set(keys["g"].tolist()))
        for m in range(m0, m1 + 1):
            if m not in seen_months:
                pb.add(
                    -1,
                    "period_end",
                    f"no rows for the month ending {_month_end(m)}: months must be consecutive",
                    period=_month_end(m),
                )
        have = set(zip(keys["m"].tolist(), keys["g"].tolist(), strict=True))
        for m in sorted(seen_months):
            for g in grade_set:
                if (m, g) not in have:
                    pb.add(
                        -1,
                        "grade",
                        f"no row for grade {g!r} in this month (every grade appears every month; "
                        "give zeros for a grade that has paid off)",
                        period=_month_end(m),
                        grade=g,
                    )
    if pb:
        return None, pb.frame()

    # --- arithmetic: on complete, well-formed rows --------------------------------------------
    grades = tuple(sorted(set(grade_text.tolist())))
    m0 = int(months.min())
    M = int(months.max()) - m0 + 1
    G = len(grades)
    gi = np.array([grades.index(g) for g in grade_text], dtype=np.int64)
    mi = months - m0
    row_at = np.full((G, M), -1, dtype=np.int64)
    row_at[gi, mi] = np.arange(n)
    arrays: dict[str, F64] = {}
    for c in NUMERIC_COLUMNS:
        a = np.zeros((G, M))
        if c in values:
            a[gi, mi] = values[c]
        elif c == "loss" or c in DELINQUENCY_COLUMNS or c == COUNT_COLUMN:
            a[:] = np.nan
        arrays[c] = a
    A = arrays
    expected_end = (
        A["begin_balance"]
        + A["purchases"]
        - A["scheduled_principal"]
        - A["prepayment"]
        - A["default"]
    )
    gap = A["end_balance"] - expected_end
    bad_end = np.abs(gap) > _tol(A["begin_balance"] + A["purchases"])
    for g, m in zip(*np.nonzero(bad_end), strict=True):
        pb.add(
            int(row_at[g, m]),
            "end_balance",
            f"end_balance {A['end_balance'][g, m]:,.2f} is not begin_balance + purchases - "
            f"scheduled_principal - prepayment - default = {expected_end[g, m]:,.2f} "
            f"(off by {gap[g, m]:,.2f})",
            period=_month_end(m0 + int(m)),
            grade=grades[g],
            value=A["end_balance"][g, m],
        )
    prev_end = A["end_balance"][:, :-1]
    roll = A["begin_balance"][:, 1:] - prev_end
    bad_roll = np.abs(roll) > _tol(prev_end)
    for g, m in zip(*np.nonzero(bad_roll), strict=True):
        pb.add(
            int(row_at[g, m + 1]),
            "begin_balance",
            f"begin_balance {A['begin_balance'][g, m + 1]:,.2f} is not the previous month's "
            f"end_balance {prev_end[g, m]:,.2f}",
            period=_month_end(m0 + int(m) + 1),
            grade=grades[g],
            value=A["begin_balance"][g, m + 1],
        )
    over_default = A["default"] > A["begin_balance"] + A["purchases"] + _tol(A["begin_balance"])
    for g, m in zip(*np.nonzero(over_default), strict=True):
        pb.add(
            int(row_at[g, m]),
            "default",
            f"default {A['default'][g, m]:,.2f} exceeds the balance in the month "
            f"{A['begin_balance'][g, m] + A['purchases'][g, m]:,.2f}",
            period=_month_end(m0 + int(m)),
            grade=grades[g],
            value=A["default"][g, m],
        )
    has_dq = bool(dq_given)
    if has_dq:
        dq = np.sum([A[c] for c in DELINQUENCY_COLUMNS], axis=0)
        over = dq > A["end_balance"] + _tol(A["end_balance"])
        for g, m in zip(*np.nonzero(over), strict=True):
            pb.add(
                int(row_at[g, m]),
                "dpd_1_30",
                f"delinquent balances add up to {dq[g, m]:,.2f}, more than the performing "
                f"end_balance {A['end_balance'][g, m]:,.2f} they are part of",
                period=_month_end(m0 + int(m)),
                grade=grades[g],
                value=dq[g, m],
            )
    if pb:
        return None, pb.frame()
    month_ends = np.array([_month_end(m0 + k) for k in range(M)], dtype="datetime64[D]")
    history = ServicerHistory(
        grades,
        month_ends,
        arrays,
        has_loss="loss" in values,
        has_delinquency=has_dq,
        has_counts=COUNT_COLUMN in values,
    )
    return history, pb.frame()


def _message(problems: pd.DataFrame, n_rows: int, source: str | None) -> str:
    where = f"servicer report {source!r}" if source else "servicer report"
    n = len(problems)
    lines = [f"{where} failed validation: {n:,} problem{'s' if n != 1 else ''} ({n_rows:,} rows):"]
    for r in problems.head(_MAX_LISTED).to_dict("records"):
        parts = []
        if r["period_end"] is not None:
            parts.append(f"period {r['period_end']!s}")
        if r["grade"] is not None:
            parts.append(f"grade {r['grade']!r}")
        parts.append(f"column {r['column']!r}")
        at = f" (row {int(r['row'])})" if int(r["row"]) >= 0 else ""
        lines.append(f"  - {', '.join(parts)}{at}: {r['problem']!s}")
    if n > _MAX_LISTED:
        lines.append(f"  ... and {n - _MAX_LISTED:,} more (err.problems lists them all)")
    lines.append("Fix the report and load it again.")
    return "\n".join(lines)


def required_months(start: int, ends: Sequence[int]) -> list[dt.date]:
    """Month ends of the collection months ending payment periods (for messages)."""
    return [_month_end(start + e - 1) for e in ends]
