"""Reading validated configuration tables (TOML) with key-path errors.

Every reader takes the table, the key and the *path* of the table
(``tranches[1]``) so an error names exactly where it is
(``tranches[1].coupon``) and, for unknown keys, suggests the closest known one.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from abs_engine.errors import SpecError

__all__ = [
    "check_keys",
    "join",
    "opt_bool",
    "opt_date",
    "opt_int",
    "opt_number",
    "opt_str",
    "read_toml",
    "req",
    "req_date",
    "req_number",
    "req_str",
    "table",
    "table_list",
]

T = TypeVar("T")


def join(path: str, key: str | int) -> str:
    """Key path of ``key`` inside ``path``: ``a.b``, ``a[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    """Raise on the first key of ``data`` not in ``allowed``, suggesting the closest."""
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
            raise SpecError(f"unknown key {key!r}{hint}", join(path, str(key)))


def table(data: Any, path: str) -> Mapping[str, Any]:
    """``data`` as a table, or an error naming ``path``."""
    if not isinstance(data, Mapping):
        raise SpecError(f"expected a table, got {type(data).__name__} {data!r}", path)
    return data


def table_list(data: Any, path: str) -> list[Mapping[str, Any]]:
    """``data`` as a list of tables (``[[x]]`` in TOML)."""
    if not isinstance(data, list):
        raise SpecError(f"expected a list of tables ([[{path}]]), got {data!r}", path)
    return [table(item, join(path, i)) for i, item in enumerate(data)]


def req(data: Mapping[str, Any], key: str, path: str) -> Any:
    """A required key."""
    if key not in data:
        raise SpecError("is required", join(path, key))
    return data[key]


def _number(
    value: Any, path: str, *, positive: bool, minimum: float | None, maximum: float | None
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(float(value))
    ):
        raise SpecError(f"expected a number, got {value!r}", path)
    v = float(value)
    if positive and v <= 0:
        raise SpecError(f"must be > 0, got {value!r}", path)
    if minimum is not None and v < minimum:
        raise SpecError(f"must be >= {minimum:g}, got {value!r}", path)
    if maximum is not None and v > maximum:
        raise SpecError(f"must be <= {maximum:g}, got {value!r}", path)
    return v


def req_number(
    data: Mapping[str, Any],
    key: str,
    path: str,
    *,
    positive: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """A required number, optionally bounded."""
    return _number(
        req(data, key, path), join(path, key), positive=positive, minimum=minimum, maximum=maximum
    )


def opt_number(
    data: Mapping[str, Any],
    key: str,
    path: str,
    default: float | None,
    *,
    positive: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    """An optional number (``default`` when absent)."""
    if key not in data:
        return default
    return _number(data[key], join(path, key), positive=positive, minimum=minimum, maximum=maximum)


def opt_int(
    data: Mapping[str, Any], key: str, path: str, default: int | None, *, minimum: int = 0
) -> int | None:
    """An optional whole number >= ``minimum``."""
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"expected a whole number, got {value!r}", join(path, key))
    if value < minimum:
        raise SpecError(f"must be >= {minimum}, got {value}", join(path, key))
    return value


def opt_bool(data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    """An optional true/false."""
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, bool):
        raise SpecError(f"expected true or false, got {value!r}", join(path, key))
    return value


def req_str(
    data: Mapping[str, Any], key: str, path: str, choices: Iterable[str] | None = None
) -> str:
    """A required string, optionally one of ``choices``."""
    value = req(data, key, path)
    return _string(value, join(path, key), choices)


def opt_str(
    data: Mapping[str, Any], key: str, path: str, default: str, choices: Iterable[str] | None = None
) -> str:
    """An optional string (``default`` when absent)."""
    if key not in data:
        return default
    return _string(data[key], join(path, key), choices)


def _string(value: Any, path: str, choices: Iterable[str] | None) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"expected a non-empty string, got {value!r}", path)
    if choices is not None:
        options = list(choices)
        if value not in options:
            close = difflib.get_close_matches(value, options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"{value!r} is not one of {', '.join(options)}{hint}", path)
    return value


def _date(value: Any, path: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise SpecError(f"expected a date (YYYY-MM-DD), got {value!r}", path)


def req_date(data: Mapping[str, Any], key: str, path: str) -> dt.date:
    """A required date (TOML date or ``'YYYY-MM-DD'``)."""
    return _date(req(data, key, path), join(path, key))


def opt_date(data: Mapping[str, Any], key: str, path: str) -> dt.date | None:
    """An optional date."""
    return None if key not in data else _date(data[key], join(path, key))


#: Largest configuration file read (a deal spec, assumptions, a scorecard are a few KiB).
MAX_TOML_BYTES = 16 << 20
_TAPE_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls", ".gz")
_MAGIC = {b"PAR1": "parquet", b"PK\x03\x04": "zip (Excel workbook)"}


def parse_toml(data: bytes, source: str | Path, what: str) -> dict[str, Any]:
    """Parse TOML bytes; not UTF-8 text, a binary file or bad TOML is a SpecError naming it."""
    kind = next((k for magic, k in _MAGIC.items() if data.startswith(magic)), None)
    if kind is not None:
        raise SpecError(
            f"{source} is a {kind} file, not a {what} (TOML text); a tape goes in --pool "
            "or the spec's [pool] tape"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"{source}: a {what} is UTF-8 text, but line {line} holds a byte that is not "
            f"UTF-8 (0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise SpecError(f"{source} is a binary file, not a {what} (TOML text)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise SpecError(
            f"{source}: tables or arrays are nested too deeply to read; a {what} nests a few levels"
        ) from None


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Read a TOML file; a missing file, a directory or bad TOML is a SpecError naming it.

    A missing path that names a packaged sample (``waterfalls/baitiao_2015.toml``)
    reads the sample (see :mod:`abs_engine.samples`).  Only a regular file of at
    most :data:`MAX_TOML_BYTES` is read (``/dev/zero`` or a pipe is refused); a
    tape given where a spec goes is named as such.
    """
    from abs_engine.io import read_bytes
    from abs_engine.samples import resolve

    p = resolve(path)
    if p.suffix.lower() in _TAPE_SUFFIXES:
        raise SpecError(
            f"{p} looks like a tape ({p.suffix}), not a {what} (TOML); a tape goes in --pool "
            "or the spec's [pool] tape"
        )
    data = read_bytes(p, what, SpecError, limit=MAX_TOML_BYTES)
    return parse_toml(data, p, what)
