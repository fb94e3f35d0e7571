"""Excel workbooks for reports: one sheet per DataFrame, formatted, written atomically.

Every sheet gets a bold header row that stays frozen (with the index columns),
an autofilter, a number format per column (the same format specs as the HTML
report: ``money``, ``pct``, ``int``, ``float2``, ``date``, ``years``, ...)
and column widths that fit the formatted values.  Headers are the column
names unchanged, so a sheet reads back into the DataFrame it came from
(``pandas.read_excel(path, sheet_name=...)``); the cells hold full-precision
values and only their *display* is rounded.  A ``metadata`` sheet and the
workbook's document properties carry the run metadata.

>>> sheet = Sheet("summary", pd.DataFrame({"balance": [1.5], "pct_balance": [1.0]}))
>>> {c: str(f) for c, f in sheet.column_formats.items()}
{'balance': 'money', 'pct_balance': 'pct'}
>>> check_sheet_name("tranche_cashflows")
'tranche_cashflows'
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from abs_engine.errors import SpecError
from abs_engine.io import atomic_path
from abs_engine.reports.format import (
    ColumnFormat,
    excel_number_format,
    format_value,
    formats_for,
    is_missing,
    parse_format,
)
from abs_engine.reports.metadata import RunMetadata

__all__ = ["MAX_ROWS", "Sheet", "check_sheet_name", "write_workbook"]

log = logging.getLogger(__name__)

#: Rows an Excel sheet holds, header included.
MAX_ROWS = 1_048_576
_FORBIDDEN = set("[]:*?/\\")
_WIDTH_SAMPLE = 2_000
_MAX_WIDTH = 60
_HEADER_BG = "#1F4E79"
_TOTAL_BG = "#EEF2F7"


def check_sheet_name(name: str, where: str = "sheet") -> str:
    """Return ``name`` if Excel accepts it as a sheet name, else raise :class:`SpecError`."""
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"a sheet name must be non-empty text; got {name!r}", where)
    bad = sorted(set(name) & _FORBIDDEN)
    if bad:
        raise SpecError(
            f"sheet name {name!r} has characters Excel forbids ({' '.join(bad)}); remove them",
            where,
        )
    if len(name) > 31:
        raise SpecError(
            f"sheet name {name!r} is {len(name)} characters; Excel allows 31 - shorten it", where
        )
    if name.startswith("'") or name.endswith("'") or name.lower() == "history":
        raise SpecError(f"Excel does not accept the sheet name {name!r}; rename it", where)
    return name


@dataclass(frozen=True, eq=False)
class Sheet:
    """One worksheet: a DataFrame and how to show it.

    Parameters
    ----------
    name : str
        Sheet name (at most 31 characters, none of ``[]:*?/\\``).
    frame : pandas.DataFrame
        The data.
    formats : mapping of column name to format spec, optional
        As for HTML tables; columns not named are inferred from their names.
    index : bool, optional
        Write the index as the leading column(s) (default: unless it is a
        plain ``RangeIndex``).  Index columns are frozen with the header.
    labels : mapping of column name to header text, optional
        Headers other than the column names (e.g. ``Balance (CNY)``); by
        default headers are the names, so the sheet reads back unchanged.
    total_label : str or None
        Rows whose first cell, or any index cell, equals it are bold
        (stratification totals).
    """

    name: str
    frame: pd.DataFrame
    formats: Mapping[str, str | ColumnFormat] | None = None
    index: bool | None = None
    labels: Mapping[str, str] | None = None
    total_label: str | None = "Total"
    data: pd.DataFrame = field(init=False, repr=False)
    n_index: int = field(init=False, repr=False)
    column_formats: Mapping[str, ColumnFormat] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_sheet_name(self.name, f"sheets[{self.name!r}]")
        if not isinstance(self.frame, pd.DataFrame):
            raise SpecError(
                f"sheet {self.name!r} needs a pandas DataFrame; got {type(self.frame).__name__}",
                f"sheets[{self.name!r}]",
            )
        frame = self.frame
        show_index = (
            self.index if self.index is not None else not isinstance(frame.index, pd.RangeIndex)
        )
        n_index = 0
        if show_index:
            names = [
                str(n) if n is not None else ("index" if frame.index.nlevels == 1 else f"level_{i}")
                for i, n in enumerate(frame.index.names)
            ]
            n_index = len(names)
            frame = frame.copy()
            frame.index = frame.index.set_names(names)
            frame = frame.reset_index()
        frame.columns = [str(c) for c in frame.columns]
        if frame.columns.duplicated().any():
            dup = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise SpecError(f"sheet {self.name!r} has duplicate columns {dup}", self.name)
        if len(frame) + 1 > MAX_ROWS:
            raise SpecError(
                f"sheet {self.name!r} has {len(frame):,} rows; Excel holds {MAX_ROWS - 1:,}. "
                "Write the detail to parquet and put percentiles or a sample in the workbook",
                self.name,
            )
        fmts = formats_for(frame, self.formats)
        for i in range(n_index):  # index columns: text unless a format is given
            col = str(frame.columns[i])
            if not self.formats or col not in self.formats:
                dtype = frame.dtypes.iloc[i]
                is_date = pd.api.types.is_datetime64_any_dtype(dtype)
                fmts[col] = parse_format("date" if is_date else "text")
        object.__setattr__(self, "data", frame)
        object.__setattr__(self, "n_index", n_index)
        object.__setattr__(self, "column_formats", fmts)


def _as_sheets(sheets: Sequence[Sheet] | Mapping[str, pd.DataFrame | Sheet]) -> list[Sheet]:
    out: list[Sheet] = []
    if isinstance(sheets, Mapping):
        for name, item in sheets.items():
            if isinstance(item, Sheet):
                out.append(item if item.name == name else replace(item, name=str(name)))
            else:
                out.append(Sheet(str(name), item))
    else:
        for i, item in enumerate(sheets):
            if not isinstance(item, Sheet):
                raise SpecError(f"expected a Sheet; got {type(item).__name__}", f"sheets[{i}]")
            out.append(item)
    seen: dict[str, str] = {}
    for s in out:
        key = s.name.lower()
        if key in seen:
            raise SpecError(
                f"two sheets are named {seen[key]!r} and {s.name!r}; Excel ignores case in "
                "sheet names - rename one",
                "sheets",
            )
        seen[key] = s.name
    if not out:
        raise SpecError("a workbook needs at least one sheet", "sheets")
    return out


def write_workbook(
    path: str | os.PathLike[str],
    sheets: Sequence[Sheet] | Mapping[str, pd.DataFrame | Sheet],
    *,
    metadata: RunMetadata | None = None,
    title: str | None = None,
    currency: str | None = None,
    metadata_sheet: str | None = "metadata",
) -> Path:
    """Write a formatted workbook atomically.

    Parameters
    ----------
    path : path-like
        The ``.xlsx`` file; written to a temporary file beside it, then renamed.
    sheets : sequence of Sheet, or mapping of sheet name to DataFrame or Sheet
        In order.
    metadata : RunMetadata, optional
        Written to a last sheet (``metadata_sheet``) as key / value rows,
        the effective spec flattened to key paths, and to the document
        properties.
    title : str, optional
        Document title property.
    currency : str, optional
        Recorded in the metadata sheet and the properties (``currency``).
    metadata_sheet : str or None
        Name of the metadata sheet; ``None`` writes none.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    SpecError
        A sheet name Excel refuses, duplicate sheets or columns, an unknown
        column format, or more rows than a sheet holds.
    """
    t0 = time.perf_counter()
    items = _as_sheets(sheets)
    if metadata is not None and metadata_sheet is not None:
        meta = metadata.to_frame()
        if currency:
            meta = pd.concat(
                [pd.DataFrame({"key": ["currency"], "value": [currency]}), meta], ignore_index=True
            )
        items = _as_sheets([*items, Sheet(metadata_sheet, meta, {"key": "text", "value": "text"})])
    target = Path(path)
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,  # data never becomes a formula
                "strings_to_urls": False,
                "default_date_format": "yyyy-mm-dd",
            },
        )
        try:
            styles = _Styles(wb)
            for sheet in items:
                _write_sheet(wb, styles, sheet)
            props: dict[str, str] = {"author": "abs_engine", "company": "abs_engine"}
            if title:
                props["title"] = title
            if metadata is not None:
                props["comments"] = metadata.short()
                for key, value in metadata.to_dict().items():
                    wb.set_custom_property(key, value[:255])
            if currency:
                wb.set_custom_property("currency", currency)
            wb.set_properties(props)
        finally:
            _close(wb, target)
    log.info("wrote %s: %d sheets in %.2fs", target, len(items), time.perf_counter() - t0)
    return target


def _close(wb: Any, target: Path) -> None:
    """Close (write) the workbook; an OS error (full disk, ...) surfaces as itself."""
    try:
        wb.close()
    except xlsxwriter.exceptions.FileCreateError as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        if cause is not None:
            raise cause from None
        raise OSError(f"cannot write {target}: {exc}") from None


class _Styles:
    """Cell formats of a workbook, one object per distinct style."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.cache: dict[tuple[str | None, bool], Any] = {}
        self.header = wb.add_format(
            {
                "bold": True,
                "font_color": "white",
                "bg_color": _HEADER_BG,
                "text_wrap": True,
                "valign": "bottom",
                "align": "center",
                "border": 0,
            }
        )

    def get(self, num_format: str | None, total: bool = False) -> Any:
        key = (num_format, total)
        if key not in self.cache:
            props: dict[str, Any] = {}
            if num_format:
                props["num_format"] = num_format
            if total:
                props |= {"bold": True, "bg_color": _TOTAL_BG, "top": 1}
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


def _width(sheet: Sheet, col: str, fmt: ColumnFormat, header: str) -> float:
    values = sheet.data[col].iloc[:_WIDTH_SAMPLE].tolist()
    longest = max((len(format_value(v, fmt)) for v in values), default=0)
    head = max((len(w) for w in header.split()), default=0)  # headers wrap on spaces
    return float(min(max(longest, head, 6) + 2, _MAX_WIDTH))


def _write_sheet(wb: Any, styles: _Styles, sheet: Sheet) -> None:
    ws = wb.add_worksheet(sheet.name)
    data = sheet.data
    cols = [str(c) for c in data.columns]
    fmts = sheet.column_formats
    number_formats = [excel_number_format(fmts[c]) for c in cols]
    labels = sheet.labels or {}
    # bp columns hold basis points in the workbook (fractions elsewhere): the header says so.
    headers = [labels.get(c, f"{c} (bp)" if fmts[c].kind == "bp" else c) for c in cols]
    for j, c in enumerate(cols):
        ws.set_column(j, j, _width(sheet, c, fmts[c], headers[j]))
    ws.set_row(0, None, styles.header)
    for j, h in enumerate(headers):
        ws.write_string(0, j, h, styles.header)
    columns = [data[c].tolist() for c in cols]
    scale = [1e4 if fmts[c].kind == "bp" else 1.0 for c in cols]
    kinds = [fmts[c].kind for c in cols]
    # A total row has the label in its first cell, or in any index column.
    keys = columns[: max(sheet.n_index, 1)] if sheet.total_label is not None else []
    for i in range(len(data)):
        total = any(str(k[i]).strip() == sheet.total_label for k in keys)
        row = i + 1
        for j in range(len(cols)):
            style = styles.get(number_formats[j], total)
            _write_cell(ws, row, j, columns[j][i], kinds[j], scale[j], style)
    if len(data):
        ws.autofilter(0, 0, len(data), max(len(cols) - 1, 0))
    ws.freeze_panes(1, sheet.n_index)


def _write_cell(
    ws: Any, row: int, col: int, value: Any, kind: str, scale: float, style: Any
) -> None:
    if is_missing(value):
        ws.write_blank(row, col, None, style)
        return
    if isinstance(value, bool | np.bool_):
        ws.write_boolean(row, col, bool(value), style)
        return
    if kind == "date":
        if isinstance(value, str):
            ws.write_string(row, col, value, style)
            return
        stamp = value if isinstance(value, dt.datetime | dt.date) else pd.Timestamp(value)
        if isinstance(stamp, pd.Timestamp):
            stamp = stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
            stamp = stamp.to_pydatetime()
        ws.write_datetime(row, col, stamp, style)
        return
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        v = float(value) * scale if scale != 1.0 else value
        if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
            ws.write_string(row, col, "inf" if v > 0 else "-inf", style)
        else:
            ws.write_number(row, col, v, style)
        return
    ws.write_string(row, col, str(value), style)
