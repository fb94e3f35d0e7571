"""Files in and out: atomic, durable writes; bounded, checked reads; spreadsheet-safe tables.

Writing
    :func:`atomic_path` and :func:`atomic_dir` write to a temporary beside the
    target and rename it into place, so a crash, a full disk or an exception
    mid-write never leaves a partial target: readers see the old file or the
    complete new one.  The temporary's name carries the writer's host and
    process id (``.report.xlsx.<host>-<pid>-<random>.tmp``); temporaries left
    behind in a folder by processes of this host that no longer run (killed
    mid-write) are removed by the next write into that folder.  By default the data
    is flushed to disk (``fsync``) before the rename and the directory after it,
    so a finished file survives a power cut.

    :func:`write_frame` writes a table as parquet, CSV or Excel (by suffix).
    Text never becomes a live spreadsheet formula: Excel cells are written as
    text, and CSV cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return get a leading apostrophe (:func:`neutralise`), as spreadsheet-safe CSV
    writers do; CSV lines end in CRLF (RFC 4180), so a line break inside a cell
    is quoted and never starts a new row.

Reading
    :func:`input_file` checks that an input is an existing regular file (a
    directory, a device such as ``/dev/zero`` or a pipe is refused), and
    :func:`read_bytes` reads one with a size limit, so no input can make a
    reader run forever or fill memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "CSV_FLOAT_FORMAT",
    "CSV_FORMULA_PREFIXES",
    "PYTHON_DATES",
    "arrow_days",
    "atomic_dir",
    "atomic_path",
    "clean_stale_temporaries",
    "frame_to_table",
    "input_file",
    "is_temporal",
    "neutralise",
    "read_bytes",
    "read_table",
    "table_to_frame",
    "write_frame",
]

#: How floats are written to CSV: 12 significant digits, which removes binary noise
#: (``0.30000000000000004`` -> ``0.3``) and keeps cents on amounts up to 10 billion.
#: CSV is for reading; parquet keeps full precision.
CSV_FLOAT_FORMAT = "%.12g"

#: First characters that make a spreadsheet read a CSV cell as a formula.
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
_NAME_CHARS = 100  # of the target's name kept in its temporary's name (NAME_MAX is 255)
_TMP = re.compile(r"^\.(?P<name>.*)\.(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")

ErrorType = Callable[[str], Exception]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    import hashlib
    import socket

    return hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:6]


def _tmp_name(target: Path) -> str:
    return f".{target.name[:_NAME_CHARS]}.{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _create_file(path: Path) -> None:
    """Create ``path`` exclusively (mode 0600)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _create_dir(path: Path) -> None:
    """Create the directory ``path`` (mode 0700)."""
    path.mkdir(mode=0o700)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    return True


def clean_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries in ``folder`` left by writers that no longer run.

    Only names of this module's own pattern (``.<name>.<host>-<pid>-<hex>.tmp``)
    written on this host by a process that is gone are removed; a write in
    progress (in any process) and other hosts' files are left alone.  Returns
    what was removed.
    """
    parent = Path(folder)
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    host = _host_tag()
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TMP.match(entry.name)
        if m is None or m["host"] != host or _alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed


def _make_parent(target: Path) -> None:
    """Create the target's folder; a file in the way is a clear error, not 'File exists'."""
    parent = target.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise NotADirectoryError(
                    errno.ENOTDIR,
                    f"cannot write {target}: {ancestor} is a file, not a directory",
                )
            break
    parent.mkdir(parents=True, exist_ok=True)


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # pragma: no cover - e.g. a platform that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # pragma: no cover - some file systems cannot sync directories
        if not directory:
            raise
        del exc
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath), directory=True)


def _check_file_target(target: Path) -> None:
    if target.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"cannot write {target}: it is a directory; give a file name"
        )
    if target.exists() and not target.is_file():
        raise FileExistsError(
            errno.EEXIST,
            f"cannot write {target}: it exists and is not a regular file (a device or pipe)",
        )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed onto ``target``.

    >>> with atomic_path("out.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)

    Parameters
    ----------
    target : path-like
        The file to write; its folder is created if missing.
    durable : bool
        Flush the file and its folder to disk (``fsync``) so the finished file
        survives a power cut (default).
    """
    target = Path(target)
    _check_file_target(target)
    _make_parent(target)
    clean_stale_temporaries(target.parent)
    tmp = target.parent / _tmp_name(target)
    _create_file(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_umask())  # created 0600; give the usual mode
            if durable:
                _fsync_path(tmp)
        _check_file_target(target)
        os.replace(tmp, target)
        if durable:
            _fsync_path(target.parent, directory=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(
    target: str | os.PathLike[str], *, durable: bool = True, replace: bool = False
) -> Iterator[Path]:
    """Yield a temporary directory; on success it is renamed onto ``target``.

    ``target`` must not exist yet (output directories are never merged); on
    failure the temporary directory is removed and nothing appears.  Two runs
    writing the same target at once: the first to finish wins, the other gets
    :class:`FileExistsError`.  With ``replace``, an existing directory
    ``target`` is swapped out only once the new one is complete, then removed;
    on failure it is left as it was.
    """
    target = Path(target)
    if target.exists() and not (replace and target.is_dir()):
        raise FileExistsError(
            errno.EEXIST, f"output directory {target} already exists; remove it or choose another"
        )
    _make_parent(target)
    clean_stale_temporaries(target.parent)
    tmp = target.parent / _tmp_name(target)
    _create_dir(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if durable:
            _fsync_tree(tmp)
        if replace and target.is_dir():
            _swap_dir(tmp, target)
        else:
            _rename_new_dir(tmp, target)
        if durable:
            _fsync_path(target.parent, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _rename_new_dir(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``, which must not have appeared meanwhile."""
    if target.exists():
        raise FileExistsError(
            errno.EEXIST,
            f"output directory {target} appeared while this run wrote it (another run?); "
            "nothing was replaced - choose another name",
        )
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            raise FileExistsError(
                errno.EEXIST,
                f"output directory {target} appeared while this run wrote it (another "
                "run?); nothing was replaced - choose another name",
            ) from None
        raise


def _swap_dir(new: Path, target: Path) -> None:
    """Put ``new`` in place of the directory ``target`` and remove the old one."""
    old = target.parent / _tmp_name(target)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --- reading ---------------------------------------------------------------------------------


def input_file(path: str | os.PathLike[str], what: str, error: ErrorType) -> Path:
    """``path`` if it is an existing regular file, else ``error(message)``.

    A directory, a device (``/dev/zero``), a pipe or a socket is refused: they
    have no end a reader could rely on.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{what} not found: {p}") from None
    except NotADirectoryError:
        raise error(f"{what} not found: {p} (a part of the path is a file)") from None
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} is a directory, not a file: {p}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {p} is not a regular file (a device, pipe or socket); give a file")
    return p


def read_bytes(
    path: str | os.PathLike[str], what: str, error: ErrorType, *, limit: int = 16 << 20
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default 16 MiB)."""
    p = input_file(path, what, error)
    try:
        with p.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(
            f"{what} {p} is larger than {limit >> 20} MiB; is it the right file? "
            "(configuration files are small text files)"
        )
    return data


# --- spreadsheet-safe tables -----------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as text: a leading apostrophe before a formula character.

    >>> neutralise("=HYPERLINK(1)"), neutralise("senior")
    ("'=HYPERLINK(1)", 'senior')
    """
    return "'" + text if text.startswith(CSV_FORMULA_PREFIXES) else text


def _csv_safe(frame: pd.DataFrame) -> Any:
    """The frame with every text cell (and column name) neutralised; numbers untouched."""
    import pandas as pd

    out: Any = frame.copy(deep=False)
    out.columns = [neutralise(str(c)) for c in out.columns]
    for i, col in enumerate(frame.columns):
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = [neutralise(c) if isinstance(c, str) else c for c in s.cat.categories]
            if list(cats) != list(s.cat.categories):
                out.isetitem(i, s.cat.rename_categories(cats))
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out.isetitem(i, s.map(lambda v: neutralise(v) if isinstance(v, str) else v))
    return out


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    """A plain worksheet: header row, then cells; text always as text, never a formula."""
    import math

    import numpy as np
    import pandas as pd
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": False,
            "default_date_format": "yyyy-mm-dd",
        },
    )
    try:
        ws = wb.add_worksheet(sheet)
        cols = [str(c) for c in frame.columns]
        for j, name in enumerate(cols):
            ws.write_string(0, j, name)
        columns = [frame[c].tolist() for c in frame.columns]
        for i in range(len(frame)):
            for j, col in enumerate(columns):
                v = col[i]
                if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
                    continue
                if isinstance(v, bool | np.bool_):
                    ws.write_boolean(i + 1, j, bool(v))
                elif isinstance(v, int | float | np.integer | np.floating):
                    f = float(v)
                    if math.isfinite(f):
                        ws.write_number(i + 1, j, v)
                    else:
                        ws.write_string(i + 1, j, "inf" if f > 0 else "-inf")
                elif isinstance(v, pd.Timestamp):
                    ws.write_datetime(i + 1, j, v.tz_localize(None).to_pydatetime())
                else:
                    ws.write_string(i + 1, j, str(v))
    finally:
        try:
            wb.close()
        except xlsxwriter.exceptions.FileCreateError as exc:
            cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
            if cause is not None:
                raise cause from None
            raise OSError(f"cannot write {path}: {exc}") from None


def write_frame(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    metadata_key: str = "abs_engine",
    sheet: str = "data",
    suffixes: tuple[str, ...] = (".parquet", ".csv", ".xlsx"),
    error: ErrorType = ValueError,
) -> Path:
    """Write a table atomically as parquet, CSV or Excel (by the file's suffix).

    CSV cells and Excel text cells can never be live formulas (see the module
    notes).  ``metadata`` is stored as JSON under ``metadata_key`` in a parquet
    file's schema.  An unsupported suffix is ``error(message)``.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in suffixes:
        raise error(
            f"cannot write {target}: unsupported file type "
            f"{target.suffix or '(no suffix)'!r}; use {', '.join(suffixes)}"
        )
    with atomic_path(target) as tmp:
        if suffix in (".parquet", ".pq"):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if metadata is not None:
                meta = dict(table.schema.metadata or {})
                meta[metadata_key.encode()] = json.dumps(metadata, default=str).encode("utf-8")
                table = table.replace_schema_metadata(meta)
            pq.write_table(table, tmp)
        elif suffix in (".csv", ".txt"):
            # RFC 4180 line ends: a CR or LF inside a cell is then always quoted, never a new row
            _csv_safe(frame).to_csv(
                tmp, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\r\n"
            )
        elif suffix in (".xlsx", ".xlsm"):
            _write_xlsx(frame, tmp, sheet)
        else:  # pragma: no cover - guarded by ``suffixes``
            raise error(f"cannot write {target}: unsupported file type {suffix!r}")
    return target


# --- tables in -------------------------------------------------------------------------------------

#: Suffixes :func:`read_table` reads, by format.
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_HEADER_LIMIT = 1 << 20
_ENCODING_HINT = (
    "save it as UTF-8, or give its encoding (--encoding gb18030 for Chinese Windows "
    "files, --encoding latin-1 for Western European ones)"
)


def _header_names(p: Path, encoding: str) -> list[str]:
    """Column names of a CSV file's first line (read with a bound)."""
    import csv
    import gzip

    opener: Any = gzip.open if p.name.lower().endswith(".gz") else open
    with opener(p, "rb") as fh:
        head = fh.read(_HEADER_LIMIT)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    text = line.decode(encoding, errors="replace").lstrip("\ufeff")
    return next(csv.reader([text]), [])


def _csv_line_error(
    p: Path, what: str, read: Callable[[Any], Any], names: list[str], error: ErrorType
) -> Exception:
    """The first malformed line of a CSV file, by number (and loan id), never its text."""
    import pyarrow.csv as pacsv

    found: list[Any] = []

    def handler(row: Any) -> str:
        found.append(row)
        return "error"

    with contextlib.suppress(Exception):
        read(pacsv.ParseOptions(invalid_row_handler=handler))
    if not found:
        return error(f"cannot read {what} {p}: it is not a well-formed CSV file")
    row = found[0]
    where = f"line {row.number}" if row.number is not None else "a line"
    lid = ""
    if names and names[0].strip().lower() == "loan_id":  # the first field cannot shift
        import csv

        first = next(csv.reader([row.text]), [""])[0].strip()
        if first and len(first) <= 64:
            lid = f" (loan {first!r})"
    return error(
        f"{what} {p}: {where}{lid} has {row.actual_columns} fields but the header has "
        f"{row.expected_columns}; a stray delimiter or an unquoted comma in a value? Quote "
        "values that contain commas (the line's content is not shown: it may hold private data)"
    )


def read_table(
    path: str | os.PathLike[str],
    *,
    what: str,
    error: ErrorType,
    encoding: str | None = None,
    text_columns: tuple[str, ...] = ("loan_id",),
    categorical: tuple[str, ...] = (),
    formats: tuple[str, ...] = ("parquet", "csv", "excel"),
) -> Any:
    """Read a table file into a :class:`pyarrow.Table`: parquet, CSV or Excel (by suffix).

    Every failure is ``error(message)`` naming the file and, for a malformed
    CSV line, its number and loan id -- never the content of a line or a cell,
    which may hold private data.

    Parameters
    ----------
    path : path-like
        A regular file.
    what : str
        What the file is, for messages (``"tape"``, ``"scenario table"``).
    error : callable
        The exception class (a subclass of :class:`~abs_engine.errors.AbsError`).
    encoding : str, optional
        Text encoding of a CSV file (default UTF-8, with or without a BOM).
    text_columns : tuple of str
        Columns read as text from CSV and Excel (ids keep leading zeros);
        matched case-insensitively.
    categorical : tuple of str
        Parquet columns read dictionary-encoded (no re-hashing of their text).
    formats : tuple of str
        Formats accepted: any of ``"parquet"``, ``"csv"``, ``"excel"``.
    """
    import codecs

    p = input_file(path, what, error)
    name = p.name.lower()
    suffix = p.suffix.lower()
    accepted = [
        s
        for f, ss in (
            ("parquet", PARQUET_SUFFIXES),
            ("csv", (".csv",)),
            ("excel", (".xlsx",)),
        )
        if f in formats
        for s in ss
    ]
    if suffix == ".xls" and "excel" in formats:
        raise error(
            f"{what} {p} is a legacy Excel .xls workbook, which is not read; "
            "save it as .xlsx (or CSV) and give that file"
        )
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise error(
                f"unknown text encoding {encoding!r}; use e.g. utf-8, gb18030, gbk or latin-1"
            ) from None
    if suffix in PARQUET_SUFFIXES and "parquet" in formats:
        return _read_parquet(p, what, error, categorical)
    if (suffix in CSV_SUFFIXES or name.endswith(".csv.gz")) and "csv" in formats:
        return _read_csv(p, what, error, encoding, text_columns)
    if suffix in EXCEL_SUFFIXES and "excel" in formats:
        return _read_excel(p, what, error, text_columns)
    raise error(
        f"{what} {p}: unknown file type {p.suffix or '(no suffix)'!r}; use {', '.join(accepted)}"
    )


def _read_parquet(p: Path, what: str, error: ErrorType, categorical: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Columns stored as Arrow dictionaries come back as such (with their own, often
        # 8-bit, indices); the others are asked for dictionary-encoded.
        schema = pq.read_schema(p)
        stored = {f.name: f.type for f in schema}
        wanted = [c for c in categorical if c in stored and not pa.types.is_dictionary(stored[c])]
        # One chunk per row group (read_table cuts columns into batches of 128Ki rows,
        # which validation would have to copy back together).
        with pq.ParquetFile(p, read_dictionary=wanted or None) as f:
            return _read_by_column(f)
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, MemoryError):  # pragma: no cover
            raise
        raise error(
            f"cannot read {what} {p}: not a parquet file, or a damaged one "
            f"({type(exc).__name__}); write it again or give another file"
        ) from None


def _read_by_column(f: Any, parts: int = 4) -> Any:
    """The table of an open ``ParquetFile``, read a few columns at a time.

    Reading all columns at once holds every column's compressed and decoded pages
    at the same time: on a tape of 1M rows the reader peaked at about twice the
    table.  Read in ``parts`` groups of columns of about equal size, with the
    allocator's free pages handed back between groups, the peak is the table plus
    one group's buffers, and each group is still decoded on several threads.
    Tapes with repeated or nested column names are read whole.
    """
    import pyarrow as pa

    schema = f.schema_arrow
    names = schema.names
    flat = all(not pa.types.is_nested(t) for t in schema.types)
    meta = f.metadata
    if len(set(names)) != len(names) or not flat or meta.num_columns != len(names):
        return f.read()
    size = [0] * len(names)
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for i in range(len(names)):
            size[i] += group.column(i).total_uncompressed_size
    target = sum(size) / parts
    groups: list[list[str]] = [[]]
    filled = 0.0
    for name, n_bytes in zip(names, size, strict=True):
        if groups[-1] and filled + n_bytes > target:
            groups.append([])
            filled = 0.0
        groups[-1].append(name)
        filled += n_bytes
    if len(groups) == 1:
        return f.read()
    pool = pa.default_memory_pool()
    columns = []
    for group_names in groups:
        part = f.read(columns=group_names)
        columns.extend(part.columns)
        del part
        pool.release_unused()
    return pa.table(columns, names=names).replace_schema_metadata(schema.metadata)


def _read_csv(
    p: Path, what: str, error: ErrorType, encoding: str | None, text_columns: tuple[str, ...]
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    enc = encoding or "utf8"
    try:
        names = _header_names(p, enc)
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    wanted = {c.lower() for c in text_columns}
    types = {n: pa.string() for n in names if n.strip().lower() in wanted}
    convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)

    def read(parse: Any, threads: bool = True) -> Any:
        opts = pacsv.ReadOptions(encoding=enc, use_threads=threads)
        return pacsv.read_csv(p, read_options=opts, parse_options=parse, convert_options=convert)

    try:
        table = read(pacsv.ParseOptions())
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "Empty CSV file" in text:
            raise error(f"{what} {p} is empty (not even a header line)") from None
        if "Expected" in text and "columns" in text:
            raise _csv_line_error(
                p, what, lambda parse: read(parse, threads=False), names, error
            ) from None
        if "UTF8" in text or "utf8" in text.lower() or "decode" in text.lower():
            raise error(f"{what} {p} is not UTF-8 text; {_ENCODING_HINT}") from None
        raise error(
            f"cannot read {what} {p}: not a well-formed CSV file ({text.split(':', 1)[0]})"
        ) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, UnicodeError):
            raise error(f"{what} {p} is not {enc} text; {_ENCODING_HINT}") from None
        raise error(f"cannot read {what} {p}: {type(exc).__name__}") from None
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type)]
    if binary:  # the reader falls back to bytes where text is not valid UTF-8
        raise error(
            f"{what} {p} is not UTF-8 text (column {binary[0]!r} holds other bytes); "
            + _ENCODING_HINT
        )
    return table


def _read_excel(p: Path, what: str, error: ErrorType, text_columns: tuple[str, ...]) -> Any:
    import zipfile

    import pandas as pd

    wanted = {c.lower() for c in text_columns}
    try:
        header = pd.read_excel(p, nrows=0, engine="openpyxl")
        dtype = {c: str for c in header.columns if str(c).strip().lower() in wanted}
        frame = pd.read_excel(p, dtype=dtype, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise error(f"cannot read {what} {p}: {exc.strerror}") from None
        raise error(
            f"cannot read {what} {p}: not a valid .xlsx workbook (damaged, or another format "
            "with an .xlsx name); save it again from Excel or give a CSV"
        ) from None
    except Exception as exc:  # openpyxl's own exceptions
        if type(exc).__module__.startswith("openpyxl"):
            raise error(
                f"cannot read {what} {p}: not a valid .xlsx workbook ({type(exc).__name__})"
            ) from None
        raise
    return frame_to_table(frame)


def frame_to_table(frame: pd.DataFrame) -> Any:
    """Arrow table from a DataFrame; mixed-type text columns become strings, never errors."""
    import numpy as np
    import pyarrow as pa

    data: dict[str, Any] = {}
    for col in frame.columns:
        s = frame[col]
        name = str(col)
        try:
            data[name] = pa.array(s, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            as_text = s.map(
                lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            )
            data[name] = pa.array(as_text.astype(object), type=pa.string(), from_pandas=True)
    if not data:
        return pa.table({})
    return pa.table(data)


#: The days a Python ``datetime.date`` holds: pyarrow's ``to_pandas`` makes one of each
#: Arrow date, and fails on any other.
PYTHON_DATES = ("0001-01-01", "9999-12-31")


def is_temporal(arrow_type: Any) -> bool:
    """Whether an Arrow type is a date or a timestamp (or a dictionary of them)."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    return bool(pa.types.is_date(t) or pa.types.is_timestamp(t))


def arrow_days(col: Any) -> tuple[NDArray[np.datetime64], NDArray[np.bool_] | None]:
    """The day of each cell of an Arrow date or timestamp column, in NumPy.

    Every stored value has a day here (NumPy's calendar spans years beyond
    +-10**16; Python's ``datetime.date`` stops at years 1 and 9999), so far dates
    can be compared with a range and shown with ``numpy.datetime_as_string``
    instead of failing on the way.

    Parameters
    ----------
    col : pyarrow.Array or pyarrow.ChunkedArray
        Dates, timestamps, or a dictionary of either (:func:`is_temporal`).

    Returns
    -------
    days : ndarray of datetime64[D]
        A fresh array: each timestamp floored to its day (``floor(t / day)``,
        before 1970 too), a time zone's timestamps taken in UTC; 1970-01-01 in
        empty cells.
    present : ndarray of bool or None
        Where a cell holds a value; ``None`` when every cell does.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):
        col = pc.cast(col, t.value_type)
        t = col.type
    if pa.types.is_timestamp(t) and t.tz is not None:
        col = pc.cast(col, pa.timestamp(t.unit))
        t = col.type
    unit = "D" if pa.types.is_date32(t) else "ms" if pa.types.is_date64(t) else t.unit
    ints = pc.cast(col, pa.int32() if pa.types.is_date32(t) else pa.int64())
    present = None
    if ints.null_count:
        present = np.asarray(ints.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        ints = pc.fill_null(ints, 0)
    if isinstance(ints, pa.ChunkedArray):
        ints = ints.chunk(0) if ints.num_chunks == 1 else ints.combine_chunks()
    # Empty cells filled in Arrow: the integers never pass through floats.
    raw = np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64)
    days: NDArray[np.datetime64] = raw.view(f"datetime64[{unit}]").astype("datetime64[D]")
    return days, present  # astype floors, in one pass


def table_to_frame(table: Any, what: str, error: ErrorType) -> pd.DataFrame:
    """``table.to_pandas()``; a date beyond Python's calendar is an error naming its place.

    pyarrow turns Arrow dates into Python dates, which stop at years 1 and 9999;
    instead of its bare ``ValueError`` the message names the row (and loan id), the
    column, the date as NumPy spells it and the range accepted.

    Parameters
    ----------
    table : pyarrow.Table
    what : str
        The input and its file, for messages (``"scenario table t.parquet"``).
    error : callable
        The exception class (a subclass of :class:`~abs_engine.errors.AbsError`).
    """
    import numpy as np
    import pyarrow as pa

    try:
        frame: pd.DataFrame = table.to_pandas()
    except (ValueError, OverflowError, pa.ArrowException):
        lo, hi = (np.datetime64(d, "D") for d in PYTHON_DATES)
        for i, field in enumerate(table.schema):
            if not is_temporal(field.type):
                continue
            days, present = arrow_days(table.column(i))
            far = (days < lo) | (days > hi)
            if present is not None:
                far &= present
            if far.any():
                row = int(np.argmax(far))
                loan = ""
                if "loan_id" in table.column_names:
                    loan = f" (loan {table.column('loan_id')[row].as_py()!r})"
                raise error(
                    f"{what}: row {row}{loan}, column {field.name!r} holds the date "
                    f"{np.datetime_as_string(days[row])}, outside years 1 to 9999; write a "
                    f"date between {PYTHON_DATES[0]} and {PYTHON_DATES[1]} or leave the cell "
                    "empty"
                ) from None
        raise
    return frame
