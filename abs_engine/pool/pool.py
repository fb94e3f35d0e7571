"""The validated pool of receivables."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from abs_engine._frozen import FrozenMap
from abs_engine.errors import TapeError
from abs_engine.io import frame_to_table, is_temporal, read_table
from abs_engine.pool.cohorts import Cohorts, grouping_pays
from abs_engine.pool.schema import (
    COLUMN_BY_NAME,
    DEFAULT_GRADES,
    PAYMENT_TYPES,
    PF_COLUMNS,
    PF_STATUSES,
)
from abs_engine.pool.validate import CheckedTape, ValidationReport, check_table, dpd_bucket

__all__ = ["Pool", "load_pool", "read_tape", "validate_pool"]

log = logging.getLogger(__name__)

OnError = Literal["raise", "exclude"]
_ENGINE_ARRAYS = (
    "grade_code",
    "type_code",
    "balance",
    "rate",
    "fee_rate",
    "original_balance",
    "original_term",
    "remaining_term",
    "age",
    "dpd",
)


def _check_grades(grades: Sequence[str]) -> tuple[str, ...]:
    out = tuple(str(g) for g in grades)
    if not out or len(set(out)) != len(out) or len(out) > 127:
        raise TapeError(f"grades must be 1 to 127 distinct names; got {list(grades)!r}")
    return out


@dataclass(frozen=True, eq=False)
class Pool:
    """A validated pool of receivables.

    Build it with :func:`load_pool` or :meth:`Pool.from_frame`.  ``len(pool)``
    is the number of receivables kept; rows that failed validation under
    ``on_error="exclude"`` are in :attr:`excluded` with a ``reason`` column.

    Attributes
    ----------
    table : pyarrow.Table
        The kept receivables with normalised columns (grade and payment type
        as dictionary columns, terms as integers).
    arrays : mapping of str to ndarray
        The engine's columns as NumPy arrays (read-only views).
    excluded : pandas.DataFrame
        Rows set aside, with the tape's columns and ``reason``.
    grades : tuple of str
        Allowed grades, in order.
    report : ValidationReport
        The validation report of the tape.
    source : str or None
        Where the tape came from.
    """

    table: pa.Table
    arrays: Mapping[str, NDArray[Any]]
    excluded: pd.DataFrame
    grades: tuple[str, ...]
    report: ValidationReport
    source: str | None = None
    extra_columns: tuple[str, ...] = field(default=())

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        grades: Sequence[str] = DEFAULT_GRADES,
        on_error: OnError = "raise",
        source: str | None = None,
    ) -> Pool:
        """Validate a DataFrame tape and build the pool.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per receivable with the tape columns (see ``pool.schema``).
        grades : sequence of str
            Allowed credit grades (A, B, C by default).
        on_error : {"raise", "exclude"}
            ``"raise"`` (default): any problem raises :class:`TapeError` listing
            them.  ``"exclude"``: keep the good rows and put the others, with a
            ``reason``, in :attr:`excluded`.
        source : str, optional
            Name for messages.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TapeError(f"expected a pandas DataFrame; got {type(frame).__name__}")
        return cls.from_table(
            _frame_to_table(frame), grades=grades, on_error=on_error, source=source
        )

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        *,
        grades: Sequence[str] = DEFAULT_GRADES,
        on_error: OnError = "raise",
        source: str | None = None,
    ) -> Pool:
        """Validate an Arrow table tape and build the pool (see :meth:`from_frame`)."""
        if on_error not in ("raise", "exclude"):
            raise TapeError(f"on_error must be 'raise' or 'exclude'; got {on_error!r}")
        grades = _check_grades(grades)
        checked = check_table(table, grades, source)
        report = checked.report
        if report.fatal or (on_error == "raise" and not report.ok):
            raise TapeError(report.summary(), report)
        keep = ~checked.bad
        n_keep = int(keep.sum())
        if n_keep == 0:
            raise TapeError(
                f"{report.summary()}\nNo row passed validation; nothing to build a pool from.",
                report,
            )
        excluded = _excluded_frame(table, checked)
        pool_table, arrays = _normalised(table, checked, keep, grades)
        if len(excluded):
            log.warning(
                "%s: %d of %d receivables excluded (see pool.excluded)",
                source or "tape",
                len(excluded),
                checked.n_rows,
            )
        return cls(
            pool_table, arrays, excluded, grades, report, source, tuple(checked.extra_columns)
        )

    # --- basic facts ---------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __repr__(self) -> str:
        src = f" from {self.source!r}" if self.source else ""
        return (
            f"Pool({len(self):,} receivables, balance {self.balance:,.2f}{src}"
            f"{f', {len(self.excluded):,} excluded' if len(self.excluded) else ''})"
        )

    @property
    def balance(self) -> float:
        """Total current principal."""
        return float(self.arrays["balance"].sum())

    def column(self, name: str) -> NDArray[Any]:
        """One column of the pool as a NumPy array."""
        if name in self.arrays:
            return self.arrays[name]
        if name not in self.table.column_names:
            raise KeyError(f"no column {name!r}; the pool has {', '.join(self.table.column_names)}")
        return np.asarray(self.table.column(name).to_numpy(zero_copy_only=False))

    def to_frame(self) -> pd.DataFrame:
        """The kept receivables as a DataFrame (normalised columns)."""
        frame: pd.DataFrame = self.table.to_pandas()
        return frame

    def cohorts(self, *, loan_level: bool | Literal["auto"] = False) -> Cohorts:
        """Exact cohort aggregation of the pool (see :class:`Cohorts`).

        ``loan_level=True`` keeps one cohort per receivable, in pool order;
        ``"auto"`` does so only where grouping cannot pay
        (:func:`~abs_engine.pool.cohorts.grouping_pays`), as :func:`abs_engine.project`
        does for results by pool or grade.  One cohort per receivable shares the
        pool's arrays (no copy).  The exact cohorts are built once per pool and kept
        on it (both are immutable); a pickled pool leaves them behind.
        """
        if loan_level == "auto":
            a = self.arrays
            loan_level = not grouping_pays(a["type_code"], a["rate"], a.get("default_mult"))
        if not loan_level:
            kept: Cohorts | None = self.__dict__.get("_cohorts")
            if kept is None:
                kept = self._build_cohorts(loan_level=False)
                object.__setattr__(self, "_cohorts", kept)
            return kept
        return self._build_cohorts(loan_level=True)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cohorts", None)  # rebuilt on first use: not worth its bytes on the wire
        return state

    def _build_cohorts(self, *, loan_level: bool) -> Cohorts:
        a = self.arrays
        bucket = dpd_bucket(a["dpd"])
        bucket.setflags(write=False)
        overlay = a.get("default_mult")
        if loan_level:
            return Cohorts._per_receivable(
                self.grades, a["grade_code"], a["type_code"], a["remaining_term"], a["age"],
                bucket, a["balance"], a["rate"], a["fee_rate"], a["original_balance"],
                overlay, adopt=True,
            )  # fmt: skip
        return Cohorts.from_loans(
            self.grades,
            a["grade_code"],
            a["type_code"],
            a["remaining_term"],
            a["age"],
            bucket,
            a["balance"],
            a["rate"],
            a["fee_rate"],
            a["original_balance"],
            default_mult=overlay,
        )

    def strats(
        self, by: str | Sequence[str] | None = None, *, min_cell: int | None = None
    ) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """Stratification tables (see :func:`abs_engine.pool.strats.stratify`).

        Cells of provident-fund strata with fewer than ``min_cell`` receivables
        (default 5) are withheld, with their complements.
        """
        from abs_engine.pool.strats import MIN_CELL, stratify

        return stratify(self, by, min_cell=MIN_CELL if min_cell is None else min_cell)

    def summary(self) -> pd.Series:
        """Pool-level aggregates: count, balance, weighted averages."""
        from abs_engine.pool.strats import pool_summary

        return pool_summary(self)

    def with_default_overlay(self, multipliers: ArrayLike) -> Pool:
        """The pool with a default multiplier per receivable (an assumption overlay).

        Each receivable's annual default rate is multiplied by its entry
        (capped at 100%), on top of any scenario multiplier — e.g. 1.5 on
        receivables with an early-warning flag
        (:func:`abs_engine.grading.default_multipliers`).  Receivables with
        different multipliers are projected as different cohorts.
        """
        m = np.asarray(multipliers, dtype=np.float64)
        if m.shape != (len(self),):
            raise TapeError(
                f"default overlay needs one multiplier per receivable ({len(self)}); "
                f"got shape {m.shape}"
            )
        bad = ~np.isfinite(m) | (m < 0)
        if bad.any():
            raise TapeError(
                f"default overlay multipliers must be finite and >= 0; {int(bad.sum())} are not"
            )
        arrays = dict(self.arrays)
        arrays["default_mult"] = _readonly(m.copy())
        table = self.table
        if "default_mult" in table.column_names:
            table = table.drop_columns(["default_mult"])
        table = table.append_column("default_mult", pa.array(m))
        return Pool(
            table,
            FrozenMap(arrays),
            self.excluded,
            self.grades,
            self.report,
            self.source,
            self.extra_columns,
        )

    def select(self, mask: NDArray[np.bool_]) -> Pool:
        """The sub-pool of receivables where ``mask`` is true."""
        m = np.asarray(mask, dtype=bool)
        if m.shape != (len(self),):
            raise TapeError(
                f"select() takes a boolean mask of length {len(self)}; got shape {m.shape}"
            )
        idx = pa.array(np.flatnonzero(m))
        arrays = FrozenMap({k: _readonly(v[m]) for k, v in self.arrays.items()})
        return Pool(
            self.table.take(idx),
            arrays,
            self.excluded,
            self.grades,
            self.report,
            self.source,
            self.extra_columns,
        )

    def _repr_html_(self) -> str:
        from abs_engine.pool.strats import stratify

        grade = stratify(self, "grade")
        assert isinstance(grade, pd.DataFrame)
        return f"<p>{self!r}</p>" + grade.to_html(float_format=lambda v: f"{v:,.2f}")


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


def _frame_to_table(frame: pd.DataFrame) -> pa.Table:
    table: pa.Table = frame_to_table(frame)
    return table


def _excluded_frame(table: pa.Table, checked: CheckedTape) -> pd.DataFrame:
    if not checked.bad.any():
        src = checked.table if checked.table is not None else table
        cols = [*src.column_names, "reason"]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    rows = np.flatnonzero(checked.bad)
    src = checked.table if checked.table is not None else table
    frame = _to_pandas(src.take(pa.array(rows)))
    probs = checked.report.problems
    probs = probs[probs["row"] >= 0]
    reasons = (probs["column"] + ": " + probs["problem"]).groupby(probs["row"]).agg("; ".join)
    frame.insert(0, "row", rows)
    frame["reason"] = reasons.reindex(rows).to_numpy()
    return frame.reset_index(drop=True)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas()``, with temporal columns as text where that fails.

    A date or timestamp beyond Python's calendar (a bad row set aside for it) has no
    Python value; Arrow spells any date.
    """
    try:
        frame: pd.DataFrame = table.to_pandas()
    except (ValueError, OverflowError, pa.ArrowException):
        temporal = [i for i, f in enumerate(table.schema) if is_temporal(f.type)]
        if not temporal:
            raise
        for i in temporal:
            col = table.column(i)
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            table = table.set_column(i, table.field(i).name, col.cast(pa.string()))
        frame = table.to_pandas()
    return frame


def _normalised(
    table: pa.Table, checked: CheckedTape, keep: NDArray[np.bool_], grades: tuple[str, ...]
) -> tuple[pa.Table, Mapping[str, NDArray[Any]]]:
    """Arrow table and NumPy views of the kept rows, with engine types."""
    a = checked.arrays
    all_kept = bool(keep.all())

    def kept(x: NDArray[Any]) -> NDArray[Any]:
        return x if all_kept else x[keep]

    arrays: dict[str, NDArray[Any]] = {
        k: _readonly(np.ascontiguousarray(kept(a[k]))) for k in _ENGINE_ARRAYS
    }
    src = checked.table if checked.table is not None else table
    if not all_kept:
        src = src.filter(pa.array(keep))
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    loan_ids = src.column("loan_id")
    if not (
        pa.types.is_string(loan_ids.type)
        or pa.types.is_integer(loan_ids.type)
        or pa.types.is_large_string(loan_ids.type)
    ):
        loan_ids = loan_ids.cast(pa.string())
    cols["loan_id"] = loan_ids
    cols["grade"] = pa.DictionaryArray.from_arrays(
        pa.array(arrays["grade_code"]), pa.array(list(grades))
    )
    cols["balance"] = pa.array(arrays["balance"])
    cols["rate"] = pa.array(arrays["rate"])
    cols["original_term"] = pa.array(arrays["original_term"])
    cols["remaining_term"] = pa.array(arrays["remaining_term"])
    cols["payment_type"] = pa.DictionaryArray.from_arrays(
        pa.array(arrays["type_code"]), pa.array(list(PAYMENT_TYPES))
    )
    cols["fee_rate"] = pa.array(arrays["fee_rate"])
    cols["original_balance"] = pa.array(arrays["original_balance"])
    cols["age"] = pa.array(arrays["age"])
    cols["dpd"] = pa.array(arrays["dpd"])
    if "origination_date" in a:
        cols["origination_date"] = pa.array(
            kept(a["origination_date"]).astype("datetime64[D]", copy=False)
        )
    for nm in PF_COLUMNS:
        if nm == "pf_status" and "pf_status_code" in a:
            codes = kept(a["pf_status_code"]).astype(np.int8)
            mask = codes < 0
            cols["pf_status"] = pa.DictionaryArray.from_arrays(
                pa.array(np.where(mask, 0, codes), mask=mask), pa.array(list(PF_STATUSES))
            )
            arrays["pf_status_code"] = _readonly(np.ascontiguousarray(codes))
        elif nm in a:
            vals = np.ascontiguousarray(kept(a[nm]))
            arrays[nm] = _readonly(vals)
            cols[nm] = pa.array(vals, from_pandas=True)
    for nm in checked.extra_columns:
        if nm not in COLUMN_BY_NAME and nm not in cols:
            cols[nm] = src.column(nm)
    return pa.table(cols), FrozenMap(arrays)


# --- files ------------------------------------------------------------------------------


def read_tape(path: str | os.PathLike[str], *, encoding: str | None = None) -> pa.Table:
    """Read a tape file into an Arrow table: parquet, CSV (``.csv``, ``.txt``, ``.gz``) or ``.xlsx``.

    ``loan_id`` is read as text from CSV and Excel so leading zeros survive.
    A file that cannot be read is a :class:`TapeError` naming the file (and,
    for a malformed CSV line, its number and loan id); it never quotes the
    file's content, which holds private data.

    Parameters
    ----------
    path : path-like
    encoding : str, optional
        Text encoding of a CSV tape (default UTF-8); e.g. ``"gb18030"``.
    """
    return read_table(
        path,
        what="tape",
        error=TapeError,
        encoding=encoding,
        text_columns=("loan_id",),
        categorical=("grade", "payment_type", "pf_status"),
    )


def load_pool(
    path: str | os.PathLike[str],
    *,
    grades: Sequence[str] = DEFAULT_GRADES,
    on_error: OnError = "raise",
    encoding: str | None = None,
) -> Pool:
    """Read and validate a tape file (parquet, CSV or Excel) into a :class:`Pool`.

    Parameters
    ----------
    path : str or path-like
        The tape.
    grades : sequence of str
        Allowed credit grades.
    on_error : {"raise", "exclude"}
        See :meth:`Pool.from_frame`.
    encoding : str, optional
        Text encoding of a CSV tape (default UTF-8).

    Raises
    ------
    TapeError
        The file is missing or unreadable, or (``on_error="raise"``) any
        receivable fails validation; the message names the first few by
        loan id, column and value, and ``err.report`` holds them all.
    """
    table = read_tape(path, encoding=encoding)
    pool = Pool.from_table(table, grades=grades, on_error=on_error, source=str(path))
    del table
    pa.default_memory_pool().release_unused()  # the pages of columns the pool did not keep
    return pool


def validate_pool(
    tape: str | os.PathLike[str] | pd.DataFrame | pa.Table,
    *,
    grades: Sequence[str] = DEFAULT_GRADES,
    encoding: str | None = None,
) -> ValidationReport:
    """Validate a tape (path, DataFrame or Arrow table) and return the report without raising.

    A file that cannot be read at all still raises :class:`TapeError`.
    """
    if isinstance(tape, pd.DataFrame):
        table, source = _frame_to_table(tape), None
    elif isinstance(tape, pa.Table):
        table, source = tape, None
    else:
        table, source = read_tape(tape, encoding=encoding), str(tape)
    return check_table(table, _check_grades(grades), source).report
