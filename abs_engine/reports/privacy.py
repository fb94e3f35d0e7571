"""Privacy check of outputs: no loan id and no borrower-level provident-fund field.

Reports, workbooks and data files may show aggregates only.  The check scans
an output -- text, or a file or folder of HTML, CSV, JSON, TOML, text,
parquet and xlsx files -- for any loan id of the tape, and for the names of
the borrower-level provident-fund columns (a sign that loan-level data was
written).

A loan id *occurs* where it appears as a whole token -- no letter or digit
immediately before or after it (case-insensitive): ``R00000001`` is found in
``"loan R00000001,"`` but not in ``"R000000012"``.  Only the *content* of a
file is scanned: XML markup of a workbook (cell references such as ``L1``)
and HTML tag names (``<h1>``) are not data.  The plotly.js bundle embedded
in HTML reports is library code, not data, and is skipped.

Ids are matched by value only when they are *distinctive*: they hold a digit
and are not a number.  An id such as ``17`` (tapes numbered 1..N) or ``ABC``
cannot be told apart from the figures and words a report prints, so the
check cannot look for it by value; instead no output may carry the id
*column* (``loan_id``) -- which is how loan-level data leaves, and which the
check finds whatever the ids look like.

>>> find_identifiers("balance by grade: A 1,234.00", ["R00000001"])
[]
>>> [f.value for f in find_identifiers("loan r00000001 paid", ["R00000001"])]
['R00000001']
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from abs_engine.errors import PrivacyError
from abs_engine.pool.schema import PF_COLUMNS

__all__ = [
    "BORROWER_FIELDS",
    "ID_FIELDS",
    "Finding",
    "assert_no_identifiers",
    "find_identifiers",
    "is_distinctive",
    "loan_ids_of",
]

log = logging.getLogger(__name__)

#: Borrower-level provident-fund columns whose names must never appear in an output.
#: (``pf_status`` is allowed: stratification by status is an aggregate.)
BORROWER_FIELDS: tuple[str, ...] = tuple(c for c in PF_COLUMNS if c != "pf_status")

#: Column names that carry receivable identifiers: never in an output.
ID_FIELDS: tuple[str, ...] = ("loan_id",)

_TEXT_SUFFIXES = {
    ".html",
    ".htm",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".txt",
    ".md",
    ".toml",
    ".log",
    ".xml",
    ".svg",
    ".yaml",
    ".yml",
}
_ZIP_SUFFIXES = {".xlsx", ".xlsm", ".docx", ".pptx", ".ods", ".zip"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf"}
_TOKEN = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"[+-]?(?:\d[\d,_]*)?(?:\.\d*)?(?:e[+-]?\d+)?%?")
_XML_TAG = re.compile(r"<[^>]*>")
# Plotly's typed arrays: base64 of float/int data, never text; random letters in it are not ids.
_PLOTLY_BDATA = re.compile(r'"bdata":"[^"]*"')
_HTML_TAG_NAME = re.compile(r"<\s*/?\s*[a-z][\w:.-]*")


def is_distinctive(loan_id: object) -> bool:
    """Whether an id can be found by value: it holds a digit and is not a number.

    >>> [is_distinctive(x) for x in ("R00000001", "L1", "JD-2015-0042", "17", "1e5", "ABC")]
    [True, True, True, False, False, False]
    """
    text = str(loan_id).strip().lower()
    if not any(ch.isdigit() for ch in text):
        return False
    return _NUMBER.fullmatch(text) is None


_MAX_PATH_TEXT = 4096


@dataclass(frozen=True)
class Finding:
    """One forbidden value found in an output.

    Attributes
    ----------
    source : str
        File (and member, for workbooks) or ``<text>``.
    kind : {"loan_id", "field"}
        A loan id, or the name of a borrower-level field.
    value : str
        What was found (the id as given, or the field name).
    offset : int
        Character offset of the first occurrence in the scanned text.
    """

    source: str
    kind: Literal["loan_id", "field"]
    value: str
    offset: int


def loan_ids_of(tape: Any) -> list[str]:
    """The loan ids of a Pool (kept and excluded), a DataFrame tape, or an iterable of ids."""
    from abs_engine.pool.pool import Pool

    if isinstance(tape, Pool):
        ids = [str(x) for x in tape.table.column("loan_id").to_pylist()]
        if "loan_id" in tape.excluded.columns:
            ids += [str(x) for x in tape.excluded["loan_id"].dropna().tolist()]
        return ids
    if isinstance(tape, pd.DataFrame):
        return [str(x) for x in tape["loan_id"].dropna().tolist()]
    if isinstance(tape, str):
        return [tape]
    return [str(x) for x in tape if x is not None]


class _Matcher:
    """Finds ids and field names in text; built once per id list."""

    def __init__(self, loan_ids: Iterable[Any], fields: Iterable[str]) -> None:
        ids = {str(x).strip() for x in loan_ids}
        ids.discard("")
        self.by_lower: dict[str, str] = {}
        self.token_ids: set[str] = set()
        other: list[str] = []
        self.n_ids = len(ids)
        self.n_skipped = 0
        for x in ids:
            if not is_distinctive(x):
                self.n_skipped += 1
                continue
            low = x.lower()
            self.by_lower[low] = x
            if _TOKEN.fullmatch(low):
                self.token_ids.add(low)
            else:
                other.append(low)
        # Ids with punctuation (JD-2015-0001): alternations with letter/digit boundaries.
        other.sort(key=len, reverse=True)
        self.other = [
            re.compile(
                r"(?<![a-z0-9])(?:" + "|".join(re.escape(x) for x in other[i : i + 500]) + r")"
                r"(?![a-z0-9])"
            )
            for i in range(0, len(other), 500)
        ]
        names = [f.lower() for f in fields]
        self.fields = (
            re.compile(r"(?<![a-z0-9_])(" + "|".join(map(re.escape, names)) + r")(?![a-z0-9_])")
            if names
            else None
        )

    def scan(self, text: str, source: str, limit: int) -> list[Finding]:
        low = text.lower()
        out: list[Finding] = []
        if self.token_ids:
            hits = set(_TOKEN.findall(low)) & self.token_ids
            for h in sorted(hits)[:limit]:
                out.append(Finding(source, "loan_id", self.by_lower[h], _offset(low, h)))
        for rx in self.other:
            for m in rx.finditer(low):
                if len(out) >= limit:
                    break
                out.append(Finding(source, "loan_id", self.by_lower[m.group(0)], m.start()))
        if self.fields is not None:
            seen: set[str] = set()
            for m in self.fields.finditer(low):
                if m.group(1) not in seen:
                    seen.add(m.group(1))
                    out.append(Finding(source, "field", m.group(1), m.start()))
        return out


def _offset(low: str, token: str) -> int:
    for m in re.finditer(re.escape(token), low):
        s, e = m.start(), m.end()
        before = low[s - 1] if s > 0 else " "
        after = low[e] if e < len(low) else " "
        if not (before.isascii() and before.isalnum()) and not (
            after.isascii() and after.isalnum()
        ):
            return s
    return -1


def _strip_bundle(text: str) -> str:
    from abs_engine.reports.html import plotly_js

    return text.replace(plotly_js(), "")


def _texts_of_file(path: Path) -> Iterator[tuple[str, str]]:
    """``(source, text)`` pieces of a file, decoded by its type."""
    suffix = path.suffix.lower()
    if suffix in _SKIP_SUFFIXES:
        log.debug("privacy check skips image/font file %s", path)
        return
    raw = path.read_bytes()
    yield from _texts_of_bytes(raw, str(path), path.name)


def _texts_of_bytes(raw: bytes, source: str, name: str) -> Iterator[tuple[str, str]]:
    suffix = Path(name).suffix.lower()
    if suffix == ".gz":
        yield from _texts_of_bytes(gzip.decompress(raw), source, name[: -len(".gz")])
        return
    if suffix in _PARQUET_SUFFIXES:
        yield source, _parquet_text(raw)
        return
    if suffix in _ZIP_SUFFIXES or raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            for member in zf.namelist():
                data = zf.read(member).decode("utf-8", errors="replace")
                if member.lower().endswith((".xml", ".rels", ".vml")):
                    data = _xml_content(data)
                yield f"{source}!{member}", data
        return
    if raw[:4] == b"PAR1":
        yield source, _parquet_text(raw)
        return
    text = raw.decode("utf-8", errors="replace")
    if suffix in (".html", ".htm"):
        text = _PLOTLY_BDATA.sub('"bdata":""', _strip_bundle(text))
        text = _HTML_TAG_NAME.sub(" ", text.lower())  # <h1> is not id "H1"
    elif suffix in (".xml", ".svg"):
        text = _xml_content(text)
    elif suffix not in _TEXT_SUFFIXES:
        log.debug("privacy check reads %s as text", source)
    yield source, text


def _xml_content(text: str) -> str:
    """The character content of XML: markup (tags, attributes such as ``r="L1"``) removed."""
    import html

    return html.unescape(_XML_TAG.sub(" ", text))


def _parquet_text(raw: bytes) -> str:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(raw))
    parts: list[str] = list(table.column_names)
    meta = table.schema.metadata or {}
    parts += [f"{k.decode(errors='replace')}={v.decode(errors='replace')}" for k, v in meta.items()]
    for col in table.columns:
        arr = col
        if pa.types.is_dictionary(arr.type):
            arr = pc.cast(arr, arr.type.value_type)
        try:
            as_text = pc.cast(arr, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            as_text = pa.chunked_array([pa.array([str(v) for v in arr.to_pylist()])])
        parts += [v for v in as_text.to_pylist() if v is not None]
    return "\n".join(parts)


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file())
    else:
        yield path


def _is_path(target: Any) -> bool:
    if isinstance(target, os.PathLike):
        return True
    if isinstance(target, str) and len(target) < _MAX_PATH_TEXT and "\n" not in target:
        try:
            return Path(target).exists()
        except OSError:
            return False
    return False


def find_identifiers(
    path_or_text: str | os.PathLike[str],
    loan_ids: Any,
    *,
    fields: Iterable[str] = (*BORROWER_FIELDS, *ID_FIELDS),
    limit: int = 20,
) -> list[Finding]:
    """Every loan id (and borrower-level field name) found in an output.

    Parameters
    ----------
    path_or_text : str or path-like
        A file, a folder (scanned recursively), or the text itself (a
        ``str`` that is not an existing path).
    loan_ids : Pool, DataFrame tape, or iterable of ids
        The ids to look for (a Pool gives its kept and excluded ids); ids that
        are not distinctive (:func:`is_distinctive`) are not looked for by value.
    fields : iterable of str
        Column names that must not appear (default :data:`BORROWER_FIELDS`
        and :data:`ID_FIELDS`).
    limit : int
        Most loan-id findings reported per file.

    Returns
    -------
    list of Finding
        Empty when the output is clean.
    """
    matcher = _Matcher(loan_ids_of(loan_ids), fields)
    if matcher.n_skipped:
        log.debug(
            "privacy check: %d of %d loan ids are numbers or words; they are checked by the "
            "id column's name, not by value",
            matcher.n_skipped,
            matcher.n_ids,
        )
    findings: list[Finding] = []
    if _is_path(path_or_text):
        root = Path(path_or_text)
        if not root.exists():
            raise FileNotFoundError(f"no such output to check: {root}")
        for file in _files(root):
            for source, text in _texts_of_file(file):
                findings += matcher.scan(text, source, limit)
    else:
        findings += matcher.scan(str(path_or_text), "<text>", limit)
    return findings


def assert_no_identifiers(
    path_or_text: str | os.PathLike[str],
    loan_ids: Any,
    *,
    fields: Iterable[str] = (*BORROWER_FIELDS, *ID_FIELDS),
) -> None:
    """Raise :class:`~abs_engine.errors.PrivacyError` if an output holds receivable-level data.

    See :func:`find_identifiers` for the arguments.  The message names the
    files (relative to a scanned folder) and the first few values found.
    """
    ids = loan_ids_of(loan_ids)
    if not ids:
        raise PrivacyError("no loan ids given: the privacy check would check nothing")
    findings = find_identifiers(path_or_text, ids, fields=fields)
    if findings:
        root = Path(path_or_text) if _is_path(path_or_text) else None
        by_source: dict[str, list[Finding]] = {}
        for f in findings:
            src = f.source
            if root is not None and root.is_dir() and src.startswith(str(root)):
                src = src[len(str(root)) :].lstrip("/\\") or root.name
            by_source.setdefault(src, []).append(f)
        parts = [
            f"{src}: "
            + ", ".join(f"{f.kind} {f.value!r} at offset {f.offset}" for f in fs[:5])
            + (f" and {len(fs) - 5} more" if len(fs) > 5 else "")
            for src, fs in by_source.items()
        ]
        raise PrivacyError(
            "outputs must hold aggregates only; found receivable-level data (nothing was "
            "written): " + "; ".join(parts)
        )
