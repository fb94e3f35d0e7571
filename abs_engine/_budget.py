"""The memory budget: what a request implies is checked before anything is allocated.

A horizon stretched by a recovery lag of a billion months, ten billion Monte Carlo
paths or a grid of a hundred thousand levels on each of three axes would ask the
allocator for terabytes: the process would be killed, or the machine would swap.
Each entry point that sizes arrays from its inputs (the projection's horizon and
scenarios, Monte Carlo paths, grid products, generated tapes and histories) first
estimates the bytes its request implies and calls :func:`check_memory`, which
raises :class:`~abs_engine.errors.MemoryBudgetError` naming the input, the
memory it implies and the budget -- before the first allocation.

The budget is :data:`DEFAULT_BUDGET` (8 GiB), or the environment variable
``ABS_ENGINE_MEMORY_BUDGET`` (``"32GiB"``, ``"500MB"``, ``"2e9"`` bytes; ``"0"``
or ``"off"`` for no limit).  Estimates are of the arrays an entry point holds at
once, not of Python's overhead; they err on the large side.

>>> format_bytes(3 * 2**30)
'3.0 GiB'
>>> check_memory(1e3, "a small request")  # under the budget: nothing happens
"""

from __future__ import annotations

import math
import os
import re

from abs_engine.errors import MemoryBudgetError

__all__ = ["BUDGET_ENV", "DEFAULT_BUDGET", "budget_bytes", "check_memory", "format_bytes"]

#: Environment variable that sets the budget.
BUDGET_ENV = "ABS_ENGINE_MEMORY_BUDGET"
#: Budget when the environment sets none: 8 GiB.
DEFAULT_BUDGET = 8 * 2**30

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-z]*)\s*$")


def budget_bytes() -> float:
    """The memory budget in bytes (``inf`` when switched off)."""
    raw = os.environ.get(BUDGET_ENV, "").strip().lower()
    if not raw:
        return float(DEFAULT_BUDGET)
    if raw in ("0", "off", "none", "unlimited"):
        return math.inf
    m = _SIZE.match(raw)
    if m is None or m[2] not in _UNITS:
        raise MemoryBudgetError(
            f"{BUDGET_ENV}={raw!r} is not a size; write e.g. 16GiB, 500MB or 2e9 (bytes), "
            "or off for no limit"
        )
    return float(m[1]) * _UNITS[m[2]]


def format_bytes(n: float) -> str:
    """Bytes for people: ``3.0 GiB``."""
    if not math.isfinite(n):
        return "unlimited"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} bytes"


def check_memory(nbytes: float, what: str, fix: str = "") -> None:
    """Raise :class:`MemoryBudgetError` when ``nbytes`` is over the budget.

    Parameters
    ----------
    nbytes : float
        Estimated bytes the request holds at once (a float: it may be huge).
    what : str
        The request and the input that sized it, e.g. ``"a horizon of 1,000,012
        months (remaining term 12 + recovery_lag 1,000,000 of grade A)"``.
    fix : str
        How to make the request smaller.
    """
    limit = budget_bytes()
    if nbytes <= limit:
        return
    tail = f"; {fix}" if fix else ""
    raise MemoryBudgetError(
        f"{what} needs about {format_bytes(nbytes)} of memory, over the budget of "
        f"{format_bytes(limit)} ({BUDGET_ENV}){tail}"
    )


def check_projection(
    *,
    n_cohorts: int,
    n_scenarios: int,
    n_groups: int,
    horizon: int,
    months: int,
    n_grades: int,
    n_fields: int,
    max_remaining: int,
    max_lag: int,
    delinquency: bool,
    chunk_bytes: int,
) -> None:
    """Check a projection's arrays against the budget (before any is allocated).

    The projection holds cohort schedules ``(cohort, month)`` (four), period
    indices, rate tables ``(grade, month)``, the result ``(scenario, group,
    month)`` for every field, and one scenario chunk's working arrays (at least
    one scenario's, ``cohort x month x 12`` floats, 40 with a delinquency
    pipeline).
    """
    per_scenario = 8.0 * n_cohorts * horizon * (40 if delinquency else 12)
    nbytes = (
        8.0 * n_cohorts * (horizon + 1) * 4
        + 16.0 * n_cohorts * horizon
        + 8.0 * n_scenarios * n_groups * horizon * n_fields
        + 32.0 * n_grades * months
        + max(float(chunk_bytes), per_scenario)
    )
    check_memory(
        nbytes,
        f"projecting {n_scenarios:,} scenario(s) of {n_cohorts:,} cohort(s) over a horizon of "
        f"{horizon:,} months (the longest remaining term, {max_remaining:,}, plus the longest "
        f"recovery lag with its scenario shift, {max_lag:,})",
        "check the recovery lags and lag shifts (whole months), or project fewer scenarios or "
        "groups at once (abs_engine.stress.run_batch runs scenarios in chunks)",
    )
