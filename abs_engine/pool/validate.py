"""Tape validation: find every problem, not just the first.

The checks run column by column on whole arrays (no Python loop over rows),
so a ten-million-row tape validates in about the time it takes to read it.
Each problem becomes one row of :attr:`ValidationReport.problems`:
``row, loan_id, column, value, problem``.  Provident-fund values are
borrower-level private data and are shown as ``<withheld>``.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from abs_engine.io import arrow_days, is_temporal
from abs_engine.pool.schema import (
    COLUMN_BY_NAME,
    DATE_RANGE,
    MAX_AMOUNT,
    MAX_DPD,
    MAX_PF_YEARS,
    MAX_TERM,
    PAYMENT_TYPE_ALIASES,
    PAYMENT_TYPES,
    PF_STATUSES,
    REQUIRED_COLUMNS,
    canonical_column,
    is_private_column,
)

__all__ = ["CheckedTape", "ValidationReport", "check_table"]

log = logging.getLogger(__name__)

_WITHHELD = "<withheld>"
_MAX_LISTED = 5
FLAT_FEE = PAYMENT_TYPES.index("flat_fee")


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Everything wrong with a tape.

    Attributes
    ----------
    n_rows : int
        Rows on the tape.
    problems : pandas.DataFrame
        One row per problem: ``row`` (0-based position on the tape),
        ``loan_id``, ``column``, ``value`` and ``problem``.  Tape-level
        problems (a missing column) have ``row = -1``.
    source : str or None
        Where the tape came from.
    notes : tuple of str
        What validation noticed that is not a problem: extra columns kept as
        they are, columns left out (nested values).
    """

    n_rows: int
    problems: pd.DataFrame
    source: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the tape has no problem."""
        return len(self.problems) == 0

    @property
    def n_problems(self) -> int:
        """Number of problems found."""
        return len(self.problems)

    @property
    def bad_rows(self) -> NDArray[np.int64]:
        """Positions of the rows with at least one problem."""
        rows = np.asarray(self.problems["row"], dtype=np.int64)
        return np.unique(rows[rows >= 0])

    @property
    def fatal(self) -> bool:
        """True when the tape as a whole is unusable (missing column, no rows)."""
        return bool((self.problems["row"] < 0).any())

    def by_column(self) -> pd.DataFrame:
        """Problems counted per column and kind: ``column, problem, rows`` (most first).

        A problem of the whole tape (a missing column) counts as ``rows = 0``.
        """
        probs = self.problems
        if probs.empty:
            return pd.DataFrame({"column": [], "problem": [], "rows": []}).astype(
                {"rows": np.int64}
            )
        counts = (
            probs.assign(rows=(probs["row"] >= 0).astype(np.int64))
            .groupby(["column", "problem"], sort=False)["rows"]
            .sum()
            .reset_index()
        )
        counts = counts.sort_values("rows", ascending=False, kind="stable")
        return counts.reset_index(drop=True)

    def summary(self, max_items: int = _MAX_LISTED) -> str:
        """One paragraph: counts, then the first few problems by loan id, column and value."""
        where = f"tape {self.source!r}" if self.source else "tape"
        notes = "".join(f"\nnote: {n}" for n in self.notes)
        if self.ok:
            return f"{where}: {self.n_rows:,} rows, no problems{notes}"
        n_bad = len(self.bad_rows)
        head = (
            f"{where} failed validation: {self.n_problems:,} problem"
            f"{'s' if self.n_problems != 1 else ''}"
        )
        if n_bad:
            head += f" in {n_bad:,} of {self.n_rows:,} rows"
        lines = [head + ":"]
        head_rows = self.problems.head(max_items).to_dict("records")
        for rec in head_rows:
            if int(rec["row"]) < 0:
                lines.append(f"  - {rec['problem']}")
            else:
                lines.append(
                    f"  - loan {rec['loan_id']!r} (row {rec['row']}), column {rec['column']!r}, "
                    f"value {rec['value']}: {rec['problem']}"
                )
        if self.n_problems > max_items:
            lines.append(
                f"  ... and {self.n_problems - max_items:,} more "
                "(the error's .report.problems lists all)"
            )
        if self.fatal:
            lines.append("Fix the tape's columns and load it again.")
        else:
            lines.append(
                f"Fix the tape, or load it with on_error='exclude' to keep the "
                f"{self.n_rows - n_bad:,} good rows and set these aside in pool.excluded."
            )
        return "\n".join(lines) + notes

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = f"<p>{self.summary(0).splitlines()[0]}</p>"
        return head + self.problems.head(50).to_html(index=False)


@dataclass(eq=False)
class CheckedTape:
    """Validated arrays of a tape (all rows) and the problems found."""

    n_rows: int
    arrays: dict[str, NDArray[np.generic]]
    bad: NDArray[np.bool_]
    report: ValidationReport
    extra_columns: list[str] = field(default_factory=list)
    table: pa.Table | None = None  # the tape with canonical column names, nested columns left out


class _Problems:
    """Accumulates problems as arrays of row positions per check."""

    def __init__(self, loan_ids: pa.ChunkedArray | None, n_rows: int) -> None:
        self.loan_ids = loan_ids
        self.n_rows = n_rows
        self.chunks: list[tuple[NDArray[np.int64], str, Sequence[str] | str, str]] = []
        self.tape_level: list[tuple[str, str]] = []
        self.bad = np.zeros(n_rows, dtype=bool)

    def add(
        self,
        mask: NDArray[np.bool_],
        column: str,
        problem: str,
        raw: pa.ChunkedArray | NDArray[np.generic] | None = None,
    ) -> None:
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        self.bad[idx] = True
        private = is_private_column(column)
        if private or raw is None:
            values: Sequence[str] | str = _WITHHELD if private else ""
        elif isinstance(raw, np.ndarray) and raw.dtype.kind == "M":
            # numpy spells every datetime64 (Python's date stops at year 9999)
            shown = np.asarray(raw[idx], dtype="datetime64[D]")  # only dates get here
            values = [str(v) for v in np.datetime_as_string(shown)]
        elif isinstance(raw, np.ndarray):
            values = [_fmt_value(v) for v in raw[idx].tolist()]
        else:
            values = [_fmt_value(v) for v in raw.take(pa.array(idx)).to_pylist()]
        self.chunks.append((idx, column, values, problem))

    def tape(self, column: str, problem: str) -> None:
        self.tape_level.append((column, problem))

    def frame(self) -> pd.DataFrame:
        rows: list[NDArray[np.int64]] = [np.full(len(self.tape_level), -1, dtype=np.int64)]
        cols: list[str] = [c for c, _ in self.tape_level]
        vals: list[str] = [""] * len(self.tape_level)
        probs: list[str] = [p for _, p in self.tape_level]
        for idx, column, values, problem in self.chunks:
            rows.append(idx)
            cols.extend([column] * idx.size)
            vals.extend([values] * idx.size if isinstance(values, str) else values)
            probs.extend([problem] * idx.size)
        row = np.concatenate(rows)
        if self.loan_ids is not None and (row >= 0).any():
            pos = np.where(row >= 0, row, 0)
            ids = [str(v) for v in self.loan_ids.take(pa.array(pos)).to_pylist()]
            ids = [i if r >= 0 else "" for i, r in zip(ids, row, strict=True)]
        else:
            ids = [""] * row.size
        frame = pd.DataFrame(
            {"row": row, "loan_id": ids, "column": cols, "value": vals, "problem": probs}
        )
        order = np.lexsort((frame["row"].to_numpy(),))
        return frame.iloc[order].reset_index(drop=True)


def _fmt_value(v: object) -> str:
    if v is None:
        return "<empty>"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    return str(v)


@dataclass(eq=False)
class _Numbers:
    """A numeric column: native-dtype data, the empty cells, and whether whole by type."""

    data: NDArray[Any]
    missing: NDArray[np.bool_] | None  # None: no empty cell
    integer: bool

    def where(self, cond: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """``cond`` restricted to the cells that are present."""
        return cond if self.missing is None else cond & ~self.missing

    def whole(self) -> NDArray[np.bool_] | None:
        """Mask of whole values (``None``: all whole, the column is an integer type)."""
        if self.integer and self.missing is None:
            return None
        with np.errstate(invalid="ignore"):
            whole: NDArray[np.bool_] = np.isfinite(self.data) & (self.data == np.floor(self.data))
        return whole

    def filled(self, fill: float, dtype: type, bad: NDArray[np.bool_] | None) -> NDArray[Any]:
        """Values as ``dtype`` with ``fill`` in empty and bad cells (zero-copy when possible)."""
        replace = self.missing
        if bad is not None:
            replace = bad if replace is None else (replace | bad)
        if replace is None:
            return self.data.astype(dtype, copy=False)
        out: NDArray[Any] = np.where(replace, fill, self.data).astype(dtype, copy=False)
        return out


def _single(col: pa.ChunkedArray) -> pa.Array:
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _numeric(col: pa.ChunkedArray, name: str, problems: _Problems) -> _Numbers | None:
    """A numeric view of a column (text is parsed); ``None`` when it cannot hold numbers."""
    t = col.type
    integer = pa.types.is_integer(t)
    if integer or pa.types.is_floating(t) or pa.types.is_decimal(t):
        if col.null_count == 0 and not pa.types.is_decimal(t):
            values = np.asarray(_single(col).to_numpy(zero_copy_only=False))
            if integer:
                return _Numbers(values, None, True)
            values = values.astype(np.float64, copy=False)
            nan = np.isnan(values)
            return _Numbers(values, nan if nan.any() else None, False)
        values = np.asarray(
            pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        return _Numbers(values, np.isnan(values), integer)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        series = pd.Series(col.to_pandas(), dtype=object)
        stripped = series.str.strip()
        empty = np.asarray(stripped.isna() | (stripped == ""), dtype=bool)
        values = np.asarray(
            pd.to_numeric(stripped.where(~empty), errors="coerce"), dtype=np.float64
        )
        unparsable = np.isnan(values) & ~empty
        problems.add(unparsable, name, "not a number", col)
        return _Numbers(values, empty | unparsable, False)
    if pa.types.is_boolean(t):
        problems.tape(name, f"column {name!r} holds true/false values, not numbers")
        return None
    problems.tape(name, f"column {name!r} has type {t}, expected numbers")
    return None


def _categories(col: pa.ChunkedArray, name: str, mapping: Mapping[str, int]) -> NDArray[np.int16]:
    """Codes of a text column through ``mapping`` (case-insensitive); -1 unknown, -2 empty.

    Works chunk by chunk on the dictionary of each chunk, so a dictionary-encoded
    column (parquet categories) is mapped without hashing its values again.
    """
    lowered = {k.lower(): v for k, v in mapping.items()}
    out: list[NDArray[np.int16]] = []
    for chunk in col.chunks:
        if not pa.types.is_dictionary(chunk.type):
            if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
                chunk = pc.cast(chunk, pa.string())
            chunk = chunk.dictionary_encode()
        dictionary = chunk.dictionary.to_pylist()
        lut = np.array(
            [
                -2
                if (d is None or str(d).strip() == "")
                else lowered.get(str(d).strip().lower(), -1)
                for d in dictionary
            ]
            + [-2],
            dtype=np.int16,
        )
        indices = chunk.indices
        if indices.null_count:
            indices = pc.fill_null(indices, len(dictionary))
        codes = np.asarray(indices.to_numpy(zero_copy_only=False))
        if np.array_equal(lut[:-1], np.arange(len(dictionary))) and not chunk.null_count:
            out.append(codes.astype(np.int16))  # the dictionary is in the mapping's order
        else:
            out.append(lut[codes])
    if not out:
        return np.zeros(0, dtype=np.int16)
    return out[0] if len(out) == 1 else np.concatenate(out)


def _duplicates(ids: pa.ChunkedArray) -> NDArray[np.bool_]:
    """Mask of every row whose loan id occurs more than once."""
    n = len(ids)
    if n < 2:
        return np.zeros(n, dtype=bool)
    # Fast path: tapes are usually sorted by id, and strictly increasing ids are unique.
    if pc.all(pc.greater(ids[1:], ids[:-1])).as_py():
        return np.zeros(n, dtype=bool)
    if len(pc.unique(ids)) == n:
        return np.zeros(n, dtype=bool)
    series = pd.Series(ids.to_pandas())
    return np.asarray(series.duplicated(keep=False), dtype=bool)


def _nested(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _nested(t.value_type)
    return bool(
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_union(t)
        or getattr(pa.types, "is_list_view", lambda _: False)(t)
        or getattr(pa.types, "is_large_list_view", lambda _: False)(t)
    )


def _type_name(t: pa.DataType) -> str:
    text = str(t)
    return text if len(text) <= 40 else text[:37] + "..."


def _tokens(name: str) -> set[str]:
    return {w for w in name.lower().replace("-", "_").replace(" ", "_").split("_") if len(w) > 2}


def _guess(missing: str, candidates: Sequence[str]) -> str | None:
    """The unknown column most likely meant as ``missing`` (a shared word, or close spelling)."""
    best: tuple[float, str] | None = None
    for c in candidates:
        score = difflib.SequenceMatcher(None, missing, c.lower()).ratio()
        if _tokens(missing) & _tokens(c):
            score += 0.5
        if score >= 0.75 and (best is None or score > best[0]):
            best = (score, c)
    return None if best is None else best[1]


def _guess_known(name: str) -> str | None:
    close = difflib.get_close_matches(name.lower(), list(COLUMN_BY_NAME), n=1, cutoff=0.8)
    return close[0] if close else None


def _flat_fee_rows(by_name: Mapping[str, pa.ChunkedArray]) -> int:
    """Rows whose payment type reads as flat_fee (0 if the column is missing or not text)."""
    col = by_name.get("payment_type")
    if col is None or _nested(col.type):
        return 0
    try:
        mapping = {a: 1 for a, pt in PAYMENT_TYPE_ALIASES.items() if pt == "flat_fee"}
        if all(pa.types.is_dictionary(c.type) for c in col.chunks) and not any(
            str(d).strip().lower() in {k.lower() for k in mapping}
            for c in col.chunks
            for d in c.dictionary.to_pylist()
            if d is not None
        ):
            return 0  # no category reads as flat_fee: the rows need not be looked at
        return int((_categories(col, "payment_type", mapping) == 1).sum())
    except (pa.ArrowException, ValueError):
        return 0


def _id_column(ids: pa.ChunkedArray, problems: _Problems) -> pa.ChunkedArray | None:
    """The loan ids as text or whole numbers; another type is a problem of the tape."""
    t = ids.type
    if pa.types.is_dictionary(t):
        ids = pc.cast(ids, t.value_type)
        t = ids.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t):
        return ids
    if pa.types.is_null(t):
        return pc.cast(ids, pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return pc.cast(ids, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            problems.tape("loan_id", "column 'loan_id' holds bytes that are not UTF-8 text")
            return None
    problems.tape(
        "loan_id",
        f"column 'loan_id' has type {_type_name(t)}; loan ids are text or whole numbers "
        "(read the column as text)",
    )
    return None


def _text_column(col: pa.ChunkedArray, name: str, problems: _Problems) -> pa.ChunkedArray | None:
    """A category column as something :func:`_categories` reads; bytes must be UTF-8."""
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return pc.cast(
                pc.cast(col, t) if pa.types.is_dictionary(col.type) else col, pa.string()
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            problems.tape(name, f"column {name!r} holds bytes that are not UTF-8 text")
            return None
    if not (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_null(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
    ):
        problems.tape(name, f"column {name!r} has type {_type_name(t)}; expected text")
        return None
    return col


def check_table(table: pa.Table, grades: Sequence[str], source: str | None = None) -> CheckedTape:
    """Validate a tape held as an Arrow table.

    Parameters
    ----------
    table : pyarrow.Table
        The tape as read (any column types; text is parsed).
    grades : sequence of str
        Allowed credit grades.
    source : str, optional
        Where the tape came from, for messages.

    Returns
    -------
    CheckedTape
        Typed arrays for every row, the mask of bad rows, and the report.
    """
    n = table.num_rows
    raw_names = [str(c) for c in table.column_names]
    names = [canonical_column(c) for c in raw_names]
    table = table.rename_columns(names)
    problems = _Problems(None, n)
    notes: list[str] = []
    arrays: dict[str, NDArray[np.generic]] = {}

    # --- the tape as a whole -----------------------------------------------------------
    spelled: dict[str, list[str]] = {}
    for raw_nm, nm in zip(raw_names, names, strict=True):
        spelled.setdefault(nm, []).append(raw_nm.strip())
    for nm, spellings in spelled.items():
        if len(spellings) > 1:
            how = " and ".join(repr(x) for x in dict.fromkeys(spellings))
            problems.tape(nm, f"column {nm!r} appears more than once (as {how}); keep one")
    keep: list[int] = []
    for i, nm in enumerate(names):
        t = table.schema.field(i).type
        if _nested(t):
            if nm in COLUMN_BY_NAME:
                problems.tape(
                    nm,
                    f"column {nm!r} holds nested values ({_type_name(t)}); a tape holds one "
                    "plain value per cell - flatten it",
                )
            else:
                notes.append(f"column {nm!r} holds nested values ({_type_name(t)}) and is left out")
                continue
        keep.append(i)
    if len(keep) < len(names):
        table = table.select(keep)
        names = [names[i] for i in keep]
    by_name = {nm: table.column(i) for i, nm in enumerate(names)}
    extra = list(dict.fromkeys(nm for nm in names if nm not in COLUMN_BY_NAME))
    flat_fee_rows = _flat_fee_rows(by_name)
    needed = [nm for nm in REQUIRED_COLUMNS if nm not in by_name]
    if flat_fee_rows:
        needed += [nm for nm in ("fee_rate", "original_balance") if nm not in by_name]
    suggested: set[str] = set()
    for nm in needed:
        if nm in REQUIRED_COLUMNS:
            what = f"required column {nm!r} is missing"
        else:
            what = (
                f"column {nm!r} is missing; the tape's {flat_fee_rows:,} flat_fee "
                f"receivable{'s need' if flat_fee_rows != 1 else ' needs'} it"
            )
        guess = _guess(nm, [x for x in extra if x not in suggested])
        hint = ""
        if guess is not None:
            suggested.add(guess)
            hint = f"; the tape has an unknown column {guess!r} - did you mean {nm!r}? Rename it"
        problems.tape(nm, what + hint)
    for nm in extra:
        if nm in suggested:
            continue
        close = _guess_known(nm)
        if close is not None and close not in by_name:
            problems.tape(nm, f"unknown column {nm!r}; did you mean {close!r}?")
    others = [nm for nm in extra if nm not in suggested]
    if others:
        listed = ", ".join(repr(x) for x in others[:8]) + (" ..." if len(others) > 8 else "")
        notes.append(
            f"{len(others)} column{'s' if len(others) != 1 else ''} the engine does not use, "
            f"kept as extra data: {listed}"
        )
    if n == 0:
        problems.tape("", "the tape has no rows")
    loan_ids = by_name.get("loan_id")
    if loan_ids is not None and not problems.tape_level:
        loan_ids = _id_column(loan_ids, problems)
    if problems.tape_level:
        report = ValidationReport(n, problems.frame(), source, tuple(notes))
        return CheckedTape(n, {}, np.ones(n, dtype=bool), report, extra, table)
    assert loan_ids is not None
    problems.loan_ids = loan_ids
    for nm in ("grade", "payment_type", "pf_status"):
        if nm in by_name:
            text = _text_column(by_name[nm], nm, problems)
            if text is not None:
                by_name[nm] = text
    if problems.tape_level:
        report = ValidationReport(n, problems.frame(), source, tuple(notes))
        return CheckedTape(n, {}, np.ones(n, dtype=bool), report, extra, table)

    # --- identifiers -----------------------------------------------------------------
    id_null = loan_ids.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_string(loan_ids.type) or pa.types.is_large_string(loan_ids.type):
        id_null |= (pc.binary_length(loan_ids).to_numpy(zero_copy_only=False) == 0) & ~id_null
    problems.add(id_null, "loan_id", "loan id is empty")
    problems.add(_duplicates(loan_ids) & ~id_null, "loan_id", "duplicate loan id", loan_ids)

    # --- categories -----------------------------------------------------------------------
    grade_codes = _categories(by_name["grade"], "grade", {g: i for i, g in enumerate(grades)})
    problems.add(grade_codes == -2, "grade", "grade is empty")
    problems.add(
        grade_codes == -1,
        "grade",
        f"unknown grade; grades are {', '.join(grades)} (pass grades=... to allow others)",
        by_name["grade"],
    )
    aliases = {alias: PAYMENT_TYPES.index(pt) for alias, pt in PAYMENT_TYPE_ALIASES.items()}
    type_codes = _categories(by_name["payment_type"], "payment_type", aliases)
    problems.add(type_codes == -2, "payment_type", "payment type is empty")
    problems.add(
        type_codes == -1,
        "payment_type",
        f"unknown payment type; expected one of {', '.join(PAYMENT_TYPES)}",
        by_name["payment_type"],
    )
    arrays["grade_code"] = grade_codes.astype(np.int8)
    arrays["type_code"] = type_codes.astype(np.int8)
    flat_fee = type_codes == FLAT_FEE

    # --- numbers ------------------------------------------------------------------------
    parsed: dict[str, _Numbers] = {}
    for nm, spec in COLUMN_BY_NAME.items():
        if spec.kind in ("float", "int") and nm in by_name:
            res = _numeric(by_name[nm], nm, problems)
            if res is not None:
                parsed[nm] = res
    if problems.tape_level:
        report = ValidationReport(n, problems.frame(), source, tuple(notes))
        return CheckedTape(n, {}, np.ones(n, dtype=bool), report, extra, table)

    def raw(nm: str) -> pa.ChunkedArray:
        return by_name[nm]

    def empty(col: _Numbers, nm: str, problem: str, rows: NDArray[np.bool_] | None = None) -> None:
        if col.missing is not None:
            problems.add(col.missing if rows is None else col.missing & rows, nm, problem)

    def whole_in(col: _Numbers, nm: str, lo: float, hi: float, problem: str) -> None:
        whole = col.whole()
        if whole is not None:
            problems.add(col.where(~whole), nm, f"{nm} must be whole {problem}", raw(nm))
        with np.errstate(invalid="ignore"):
            out = (col.data < lo) | (col.data > hi)
        if whole is not None:
            out &= whole
        problems.add(
            col.where(out), nm, f"{nm} must be between {lo:g} and {hi:g} {problem}", raw(nm)
        )

    def amount(col: _Numbers, nm: str) -> None:
        """A money amount: > 0, finite and at most MAX_AMOUNT."""
        with np.errstate(invalid="ignore"):
            problems.add(col.where(~(col.data > 0)), nm, f"{nm} must be > 0", raw(nm))
            problems.add(
                col.where(col.data > MAX_AMOUNT),
                nm,
                f"{nm} must be a finite amount up to {MAX_AMOUNT:g} (a larger one is a data error)",
                raw(nm),
            )

    bal = parsed["balance"]
    empty(bal, "balance", "balance is empty")
    amount(bal, "balance")

    rate = parsed["rate"]
    empty(
        rate,
        "rate",
        "rate is empty (only flat_fee rows may leave it empty; write 0 for interest-free)",
        ~flat_fee,
    )
    with np.errstate(invalid="ignore"):
        problems.add(
            rate.where(~((rate.data >= 0) & (rate.data < 1))),
            "rate",
            "rate must be an annual decimal in [0, 1) (write 0.12 for 12%)",
            raw("rate"),
        )

    orig, rem = parsed["original_term"], parsed["remaining_term"]
    for nm, col in (("original_term", orig), ("remaining_term", rem)):
        empty(col, nm, f"{nm} is empty")
        whole_in(col, nm, 1, MAX_TERM, "months")
    with np.errstate(invalid="ignore"):
        over = rem.data > orig.data
    problems.add(
        over, "remaining_term", "remaining_term is longer than original_term", raw("remaining_term")
    )

    fee = parsed.get("fee_rate")
    fee_missing = np.ones(n, dtype=bool) if fee is None else fee.missing
    if fee_missing is not None:
        problems.add(
            flat_fee & fee_missing,
            "fee_rate",
            "flat_fee receivable without fee_rate (monthly fee on original_balance)",
        )
    if fee is not None:
        with np.errstate(invalid="ignore"):
            problems.add(
                fee.where(flat_fee & ~((fee.data >= 0) & (fee.data < 1))),
                "fee_rate",
                "fee_rate must be a monthly decimal in [0, 1) (write 0.0075 for 0.75%)",
                raw("fee_rate"),
            )
            problems.add(
                fee.where(~flat_fee & ~np.isfinite(fee.data)),
                "fee_rate",
                "fee_rate must be a finite number",
                raw("fee_rate"),
            )

    ob = parsed.get("original_balance")
    ob_missing = np.ones(n, dtype=bool) if ob is None else ob.missing
    if ob_missing is not None:
        problems.add(
            flat_fee & ob_missing,
            "original_balance",
            "flat_fee receivable without original_balance (its fee is charged on it)",
        )
    if ob is not None:
        amount(ob, "original_balance")
        with np.errstate(invalid="ignore"):
            problems.add(
                ob.where((ob.data > 0) & (bal.data > ob.data + 0.005)),
                "original_balance",
                "original_balance is below the current balance",
                raw("original_balance"),
            )

    for nm, hi in (("age", MAX_TERM), ("dpd", MAX_DPD)):
        optional = parsed.get(nm)
        if optional is not None:
            whole_in(optional, nm, 0, hi, "months" if nm == "age" else "days")
    age_col = parsed.get("age")
    if age_col is not None:
        with np.errstate(invalid="ignore"):
            longer = age_col.where(age_col.data > orig.data)
        problems.add(
            longer,
            "age",
            "age is longer than original_term (months since origination cannot exceed the term)",
            raw("age"),
        )

    for nm, top, what in (
        ("pf_monthly_contribution", MAX_AMOUNT, "a finite amount"),
        ("pf_years", MAX_PF_YEARS, "a number of years"),
    ):
        pf = parsed.get(nm)
        if pf is not None:
            with np.errstate(invalid="ignore"):
                problems.add(
                    pf.where(~((pf.data >= 0) & (pf.data <= top))),
                    nm,
                    f"{nm} must be {what} between 0 and {top:g}",
                )
            arrays[nm] = pf.data.astype(np.float64, copy=False)
    changes = parsed.get("pf_status_changes_12m")
    if changes is not None:
        whole = changes.whole()
        with np.errstate(invalid="ignore"):
            in_range = (changes.data >= 0) & (changes.data <= 12)
            bad_count = ~in_range if whole is None else ~(whole & in_range)
        problems.add(
            changes.where(bad_count),
            "pf_status_changes_12m",
            "pf_status_changes_12m must be a whole count of months between 0 and 12",
        )
        arrays["pf_status_changes_12m"] = changes.data.astype(np.float64, copy=False)
    if "pf_status" in by_name:
        status = _categories(
            by_name["pf_status"], "pf_status", {s: i for i, s in enumerate(PF_STATUSES)}
        )
        problems.add(
            status == -1,
            "pf_status",
            f"unknown provident-fund status; expected {', '.join(PF_STATUSES)} or empty",
        )
        arrays["pf_status_code"] = status.astype(np.int8)

    if "origination_date" in by_name:
        arrays["origination_date"] = _dates(by_name["origination_date"], problems)

    # --- typed arrays (bad rows hold placeholders; they are dropped before use) ---------------
    bad = problems.bad
    bad_or_none = bad if bad.any() else None
    arrays["balance"] = bal.filled(0.0, np.float64, bad_or_none)
    arrays["rate"] = rate.filled(0.0, np.float64, bad_or_none)
    arrays["original_term"] = orig.filled(1, np.int32, bad_or_none)
    arrays["remaining_term"] = rem.filled(1, np.int32, bad_or_none)
    arrays["fee_rate"] = (
        np.zeros(n)
        if fee is None
        else np.where(flat_fee, fee.filled(0.0, np.float64, bad_or_none), 0.0)
    )
    if ob is None:
        arrays["original_balance"] = arrays["balance"]
    elif ob_missing is None:  # no copy: the column's own values
        arrays["original_balance"] = ob.filled(0.0, np.float64, bad_or_none)
    else:
        arrays["original_balance"] = np.where(
            ob_missing, arrays["balance"], ob.filled(0.0, np.float64, bad_or_none)
        )
    age = parsed.get("age")
    if age is None or age.missing is not None:
        derived_age = np.subtract(arrays["original_term"], arrays["remaining_term"], dtype=np.int32)
    if age is None:
        arrays["age"] = derived_age
    else:
        filled_age = age.filled(0, np.int32, bad_or_none)
        arrays["age"] = (
            filled_age
            if age.missing is None
            else np.where(age.missing, derived_age, filled_age).astype(np.int32)
        )
    dpd = parsed.get("dpd")
    arrays["dpd"] = (
        np.zeros(n, dtype=np.int32) if dpd is None else dpd.filled(0, np.int32, bad_or_none)
    )

    report = ValidationReport(n, problems.frame(), source, tuple(notes))
    if not report.ok:  # counts only: logs never carry loan ids
        log.info(
            "%s: %d problems in %d of %d rows",
            source or "tape",
            report.n_problems,
            int(bad.sum()),
            n,
        )
    return CheckedTape(n, arrays, bad, report, extra, table)


def _dates(col: pa.ChunkedArray, problems: _Problems) -> NDArray[np.datetime64]:
    """Origination dates as ``datetime64[D]`` (NaT where empty or bad); bad ones are problems.

    Timestamps are floored to their day.  Dates outside
    :data:`~abs_engine.pool.schema.DATE_RANGE` are problems too (and never reach a
    cast that would overflow).
    """
    lo, hi = (np.datetime64(d, "D") for d in DATE_RANGE)
    name = "origination_date"
    problem = f"origination_date must be a date between {DATE_RANGE[0]} and {DATE_RANGE[1]}"
    t = col.type
    if pa.types.is_dictionary(t):
        col = pc.cast(col, t.value_type)
        t = col.type
    present: NDArray[np.bool_] | None  # None: every row has a date
    if is_temporal(t):
        days, present = arrow_days(col)
        bad = (days < lo) | (days > hi)
        if present is not None:
            bad &= present
        # Shown as the day from numpy: a far date64 or timestamp has no Python date.
        problems.add(bad, name, problem, days)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        text = pd.Series(col.to_pandas(), dtype=object)
        given = np.asarray(text.notna() & (text.astype(str).str.strip() != ""), dtype=bool)
        parsed = pd.to_datetime(text.where(given), errors="coerce", format="mixed")
        days = np.asarray(parsed.to_numpy()).astype("datetime64[D]")  # no overflow via ns
        unparsed = given & np.isnat(days)
        problems.add(unparsed, name, "not a date (write YYYY-MM-DD)", col)
        present = given & ~unparsed
        bad = present & ((days < lo) | (days > hi))
        problems.add(bad, name, problem, col)
    else:
        problems.tape(name, f"column 'origination_date' has type {_type_name(t)}; expected dates")
        return np.full(len(col), np.datetime64("NaT"), dtype="datetime64[D]")
    drop = bad if present is None else bad | ~present
    if drop.any():
        days[drop] = np.datetime64("NaT", "D")  # a fresh array from the casts above
    out: NDArray[np.datetime64] = days
    return out


def dpd_bucket(dpd: NDArray[np.integer[Any]]) -> NDArray[np.int8]:
    """Bucket index of days past due: 0 current, 1 for 1-30, 2 for 31-60, 3 for 61-90, 4 for 90+."""
    d = np.asarray(dpd)
    bucket: NDArray[np.int8] = (d > 0).view(np.int8)  # a fresh array: counts of thresholds passed
    for days in (30, 60, 90):
        bucket += d > days
    return bucket
