"""Helpers for reading the scorecard TOML: typed values with key paths in every error."""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Collection, Mapping
from typing import Any

from abs_engine.errors import SpecError

__all__ = [
    "REASON_PATTERN",
    "check_keys",
    "get_bool",
    "get_int",
    "get_number",
    "get_numbers",
    "get_reason",
    "get_str",
    "get_strs",
    "get_table",
    "join",
    "reraise_under",
]

#: Reason codes are upper-case identifiers such as ``PF_CONTRIBUTION_LOW``.
REASON_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")


def join(path: str, key: str | int) -> str:
    """Key path of ``key`` under ``path``: ``factors`` + 2 -> ``factors[2]``, + ``a`` -> ``x.a``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_keys(data: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
    """Raise :class:`SpecError` for the first key not in ``allowed``, suggesting a close match."""
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; allowed keys: {', '.join(sorted(allowed))}"
            )
            raise SpecError(f"unknown key {key!r}{hint}", join(path, str(key)))


def get_table(data: Any, path: str, what: str = "a table") -> Mapping[str, Any]:
    """``data`` as a mapping, or a :class:`SpecError` saying a table was expected."""
    if not isinstance(data, Mapping):
        raise SpecError(f"expected {what}; got {data!r}", path)
    return data


def get_number(
    value: Any,
    path: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """A finite number in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"expected a number; got {value!r}", path)
    x = float(value)
    if not math.isfinite(x):
        raise SpecError(f"expected a finite number; got {value!r}", path)
    if low is not None and (x <= low if low_open else x < low):
        raise SpecError(f"must be {'>' if low_open else '>='} {low:g}; got {value!r}", path)
    if high is not None and x > high:
        raise SpecError(f"must be <= {high:g}; got {value!r}", path)
    return x


def get_int(value: Any, path: str, *, low: int | None = None) -> int:
    """A whole number (TOML integer) ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"expected a whole number; got {value!r}", path)
    if low is not None and value < low:
        raise SpecError(f"must be >= {low}; got {value!r}", path)
    return int(value)


def get_numbers(value: Any, path: str, *, min_len: int = 1) -> tuple[float, ...]:
    """A list of at least ``min_len`` finite numbers; errors name the item (``path[i]``)."""
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"expected a list of numbers; got {value!r}", path)
    if len(value) < min_len:
        raise SpecError(f"expected at least {min_len} number(s); got {len(value)}", path)
    return tuple(get_number(v, join(path, i)) for i, v in enumerate(value))


def get_str(value: Any, path: str, *, nonempty: bool = True) -> str:
    """A string (non-empty after stripping unless ``nonempty`` is false)."""
    if not isinstance(value, str):
        raise SpecError(f"expected text; got {value!r}", path)
    if nonempty and not value.strip():
        raise SpecError("must not be empty", path)
    return value


def get_strs(value: Any, path: str, *, min_len: int = 1) -> tuple[str, ...]:
    """A list of at least ``min_len`` non-empty strings."""
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"expected a list of text values; got {value!r}", path)
    if len(value) < min_len:
        raise SpecError(f"expected at least {min_len} value(s); got {len(value)}", path)
    return tuple(get_str(v, join(path, i)) for i, v in enumerate(value))


def get_bool(value: Any, path: str) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise SpecError(f"expected true or false; got {value!r}", path)
    return value


def get_reason(value: Any, path: str) -> str:
    """A reason code: an upper-case identifier such as ``PF_CONTRIBUTION_LOW``."""
    code = get_str(value, path)
    if not REASON_PATTERN.match(code):
        raise SpecError(
            f"reason codes are upper-case identifiers (letters, digits, _), e.g. "
            f"'PF_STATUS_MISSING'; got {code!r}",
            path,
        )
    return code


def reraise_under(exc: SpecError, prefix: str) -> SpecError:
    """The same error with its key path moved under ``prefix`` (``x`` -> ``prefix.x``)."""
    message = str(exc)
    if exc.path and message.startswith(f"{exc.path}: "):
        message = message[len(exc.path) + 2 :]
    if not exc.path:
        return SpecError(message, prefix)
    inner = exc.path
    path = f"{prefix}{inner}" if inner.startswith("[") else join(prefix, inner)
    return SpecError(message, path)
