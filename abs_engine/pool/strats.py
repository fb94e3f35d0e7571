"""Stratification tables: the pool cut by grade, product, term, rate, PF status, delinquency.

Each table has one row per bucket and a ``Total`` row, with columns

``count, balance, pct_balance, avg_balance, wa_apr, wa_fee_rate,
wa_remaining_term, wa_original_term, wa_age``

Weighted averages are by current balance.

Privacy: strata keyed by a provident-fund field (``pf_status``) or a value
derived from one (scorecard reason codes, early-warning flags) withhold every
figure of a cell of fewer than ``min_cell`` receivables (default
:data:`MIN_CELL`), and *complementary* cells too, so that the ``Total`` row
cannot give a withheld cell back by subtraction: the withheld cells of a table
always hold at least ``min_cell`` receivables together (in a smaller pool,
every cell is withheld and only the total shows).  Withheld figures are NaN;
``table.attrs["withheld"]`` counts the cells.  Borrower-level fields
(contributions, years, score, credit limit) are never a stratum.  ``wa_apr`` is the effective
nominal annual rate: the contract rate for annuity, equal-principal and
bullet receivables; for flat-fee instalments (等本等费) the APR implied by
their schedule (monthly IRR x 12), since a 0.75% monthly fee on the original
balance costs the borrower far more than 9% a year.  ``wa_fee_rate`` is the
monthly fee rate over flat-fee receivables only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.errors import PrivacyError
from abs_engine.pool.schema import (
    DPD_BUCKETS,
    PAYMENT_TYPES,
    PF_STATUSES,
    canonical_column,
    is_private_column,
)

if TYPE_CHECKING:
    from abs_engine.pool.pool import Pool

__all__ = [
    "MIN_CELL",
    "STANDARD_STRATS",
    "flat_fee_apr",
    "is_private_stratum",
    "pool_summary",
    "stratify",
    "suppressed_cells",
]

#: Fewest receivables a cell of a private stratum may show figures for.
MIN_CELL = 5

FLAT_FEE = PAYMENT_TYPES.index("flat_fee")

_REMAINING_EDGES = (3, 6, 12, 24, 36, 60)
_RATE_EDGES = (0.0, 0.06, 0.12, 0.18, 0.24, 0.36)


def flat_fee_apr(term: NDArray[np.integer], fee_rate: NDArray[np.floating]) -> NDArray[np.float64]:
    """APR (monthly IRR x 12) of a flat-fee instalment plan.

    A loan of 1 repaid in ``n`` equal principal parts ``1/n`` plus a fee ``f``
    each month solves

    .. math:: \\left(\\tfrac{1}{n} + f\\right) \\frac{1 - (1 + r)^{-n}}{r} = 1,

    solved by Newton's method per distinct ``(n, f)``; APR = ``12 r``.
    """
    n_all = np.asarray(term, dtype=np.float64)
    f_all = np.asarray(fee_rate, dtype=np.float64)
    pairs, inverse = np.unique(
        np.stack([n_all, f_all], axis=-1).reshape(-1, 2), axis=0, return_inverse=True
    )
    n, f = pairs[:, 0], pairs[:, 1]
    pay = 1.0 / n + f
    r = np.where(f > 0, 2.0 * f * n / (n + 1.0), 0.0)  # the classic approximation as a start
    for _ in range(50):
        live = r > 1e-14
        rr = np.where(live, r, 1.0)
        disc = (1.0 + rr) ** (-n)
        annuity = (1.0 - disc) / rr
        g = pay * annuity - 1.0
        dannuity = (n * disc / (1.0 + rr) - annuity) / rr
        step = np.where(live, g / (pay * dannuity), 0.0)
        r = np.maximum(r - step, 0.0)
        if np.all(np.abs(step) < 1e-15):
            break
    return (12.0 * r)[inverse.ravel()].reshape(n_all.shape)


def _apr(pool: Pool) -> NDArray[np.float64]:
    a = pool.arrays
    apr = a["rate"].astype(np.float64).copy()
    ff = a["type_code"] == FLAT_FEE
    if ff.any():
        apr[ff] = a["rate"][ff] + flat_fee_apr(a["original_term"][ff], a["fee_rate"][ff])
    return apr


def _categorical(codes: NDArray[np.integer[Any]], categories: Sequence[str]) -> pd.Categorical[Any]:
    cat: pd.Categorical[Any] = pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64),
        dtype=pd.CategoricalDtype(list(categories), ordered=True),
    )
    return cat


def _bucket_labels(
    values: NDArray[np.float64], edges: Sequence[float], fmt: Callable[[float], str]
) -> pd.Categorical[Any]:
    labels = []
    lo = None
    for e in edges:
        labels.append(f"<= {fmt(e)}" if lo is None else f"{fmt(lo)} - {fmt(e)}")
        lo = e
    labels.append(f"> {fmt(edges[-1])}")
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left")
    return _categorical(idx, labels)


def _keys(
    pool: Pool, by: str, apr: NDArray[np.float64]
) -> pd.Categorical[Any] | NDArray[np.generic]:
    a = pool.arrays
    if by == "grade":
        return _categorical(a["grade_code"], list(pool.grades))
    if by == "payment_type":
        return _categorical(a["type_code"], list(PAYMENT_TYPES))
    if by in ("original_term", "term"):
        return a["original_term"]
    if by == "remaining_term":
        return _bucket_labels(a["remaining_term"], _REMAINING_EDGES, lambda v: f"{v:g}m")
    if by in ("rate", "apr"):
        return _bucket_labels(apr, _RATE_EDGES, lambda v: f"{v:.0%}")
    if by == "dpd":
        from abs_engine.pool.validate import dpd_bucket

        return _categorical(dpd_bucket(a["dpd"]), [b for b, _ in DPD_BUCKETS])
    if by == "pf_status":
        codes = a.get("pf_status_code")
        if codes is None:
            codes = np.full(len(pool), -1, dtype=np.int8)
        cats = [*PF_STATUSES, "missing"]
        return _categorical(np.where(codes < 0, len(PF_STATUSES), codes), cats)
    if by == "age":
        return _bucket_labels(a["age"], (0, 3, 6, 12, 24), lambda v: f"{v:g}m")
    if by in pool.table.column_names and by != "loan_id" and not is_private_column(by):
        return np.asarray(pool.table.column(by).to_numpy(zero_copy_only=False))
    raise KeyError(
        f"cannot stratify by {by!r}; choose from {', '.join(STANDARD_STRATS)}, age, "
        "or a categorical extra column of the tape (borrower-level fields are not stratified)"
    )


#: The tables ``pool.strats()`` returns by default.
STANDARD_STRATS = (
    "grade",
    "payment_type",
    "original_term",
    "remaining_term",
    "rate",
    "pf_status",
    "dpd",
)


def is_private_stratum(name: str) -> bool:
    """Whether a stratum is keyed by a provident-fund value (its small cells are withheld)."""
    return name == "pf_status" or name.startswith(("reason_", "ew_"))


def _check_stratum(name: str) -> str:
    """The stratum's name (known names whatever their case); borrower-level fields are refused."""
    canon = canonical_column(name)
    if canon.lower() in ("grade", "payment_type", "pf_status", "dpd", "age", "rate", "term"):
        canon = canon.lower()
    if canon == "pf_status" or not is_private_column(canon):
        return canon
    raise PrivacyError(
        f"cannot stratify by {name!r}: it is a borrower-level provident-fund field (or derived "
        "from one), and strata of it would show individual borrowers; stratify by pf_status "
        "(small cells are withheld) or by grade"
    )


def suppressed_cells(counts: NDArray[np.integer[Any]], min_cell: int) -> NDArray[np.bool_]:
    """Cells to withhold in a table whose total is shown: primary and complementary.

    Primary: cells of ``1 .. min_cell - 1`` receivables.  Complementary: while
    the withheld cells hold fewer than ``min_cell`` receivables together (or
    only one cell is withheld), the smallest shown cell is withheld too, so the
    total less the shown cells never gives back a small cell.  When the whole
    table holds fewer than ``min_cell`` receivables every cell is withheld.

    >>> suppressed_cells(np.array([100, 3, 50, 0]), 5).tolist()  # 3 alone: add the next smallest
    [False, True, True, False]
    >>> suppressed_cells(np.array([1]), 5).tolist()  # a one-receivable pool
    [True]
    """
    c = np.asarray(counts, dtype=np.int64)
    if min_cell <= 1 or c.size == 0:
        return np.zeros(c.shape, dtype=bool)
    if 0 < c.sum() < min_cell:
        return np.ones(c.shape, dtype=bool)
    hide = np.zeros(c.shape, dtype=bool)
    _complete(c, hide, min_cell)
    return hide


def _complete(line: NDArray[np.int64], hide: NDArray[np.bool_], min_cell: int) -> None:
    """Withhold more cells of ``line`` (in place) until its withheld cells are safe.

    Safe: none, or at least two holding ``min_cell`` receivables or more together
    (or every non-empty cell, when the line holds fewer).
    """
    hide |= (line > 0) & (line < min_cell)
    if 0 < line.sum() < min_cell and hide.any():
        hide |= line > 0
    for i in np.argsort(line, kind="stable"):
        if not hide.any() or (line[hide].sum() >= min_cell and hide.sum() >= 2):
            return
        if not hide[i] and line[i] > 0:
            hide[i] = True


def suppressed_matrix(counts: NDArray[np.integer[Any]], min_cell: int) -> NDArray[np.bool_]:
    """Cells to withhold in a two-way table shown with row and column totals.

    The rule of :func:`suppressed_cells` on every row and every column, repeated
    until no cell is added: each line with a withheld cell then withholds at
    least two cells holding ``min_cell`` receivables or more together, so no row
    or column total less its shown cells gives back a small cell.

    >>> suppressed_matrix(np.array([[90, 3], [40, 60]]), 5).astype(int).tolist()
    [[1, 1], [1, 1]]
    >>> suppressed_matrix(np.array([[90, 3, 0], [40, 60, 7], [50, 9, 80]]), 5).astype(int).tolist()
    [[1, 1, 0], [1, 0, 1], [1, 1, 1]]
    >>> suppressed_matrix(np.array([[90, 10], [40, 60]]), 5).any()  # nothing small
    np.False_
    """
    c = np.asarray(counts, dtype=np.int64)
    hide = np.zeros(c.shape, dtype=bool)
    if c.ndim != 2 or min_cell <= 1 or c.size == 0:
        return hide
    if 0 < c.sum() < min_cell:
        return c >= 0
    while True:
        before = hide.copy()
        for r in range(c.shape[0]):
            _complete(c[r], hide[r], min_cell)
        for k in range(c.shape[1]):
            col = hide[:, k].copy()
            _complete(c[:, k], col, min_cell)
            hide[:, k] = col
        if (hide == before).all():
            return hide


def _withhold(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The table with every figure of its suppressed cells (not the Total row) set to NaN."""
    cells = table.index != "Total"
    hide = np.zeros(len(table), dtype=bool)
    hide[cells] = suppressed_cells(table["count"].to_numpy()[cells], min_cell)
    out = table.astype(np.float64) if hide.any() else table
    if hide.any():
        out.loc[hide, :] = np.nan
    out.attrs["withheld"] = int(hide.sum())
    out.attrs["min_cell"] = int(min_cell)
    return out


def _table(pool: Pool, by: str, apr: NDArray[np.float64]) -> pd.DataFrame:
    a = pool.arrays
    bal = a["balance"]
    ff = a["type_code"] == FLAT_FEE
    frame = pd.DataFrame(
        {
            "key": _keys(pool, by, apr),
            "count": 1,
            "balance": bal,
            "w_apr": bal * apr,
            "w_fee": np.where(ff, bal * a["fee_rate"], 0.0),
            "ff_balance": np.where(ff, bal, 0.0),
            "w_rem": bal * a["remaining_term"],
            "w_orig": bal * a["original_term"],
            "w_age": bal * a["age"],
        }
    )
    # A private stratum lists every category, so a row's presence reveals nothing.
    g = frame.groupby("key", observed=not is_private_stratum(by), sort=True).sum()
    total = g.sum().rename("Total")
    g = pd.concat([g, total.to_frame().T])
    b = g["balance"].replace(0.0, np.nan)
    out = pd.DataFrame(
        {
            "count": g["count"].astype(np.int64),
            "balance": g["balance"],
            "pct_balance": g["balance"] / total["balance"],
            "avg_balance": g["balance"] / g["count"],
            "wa_apr": g["w_apr"] / b,
            "wa_fee_rate": g["w_fee"] / g["ff_balance"].replace(0.0, np.nan),
            "wa_remaining_term": g["w_rem"] / b,
            "wa_original_term": g["w_orig"] / b,
            "wa_age": g["w_age"] / b,
        }
    )
    out.index = out.index.astype(str)
    out.index.name = by
    return out


def _one(pool: Pool, name: str, apr: NDArray[np.float64], min_cell: int) -> pd.DataFrame:
    name = _check_stratum(name)
    if name == "early_warning":
        return early_warning_table(pool, min_cell=min_cell)
    table = _table(pool, name, apr)
    if is_private_stratum(name):
        return _withhold(table, min_cell)
    table.attrs["withheld"] = 0
    return table


def stratify(
    pool: Pool, by: str | Sequence[str] | None = None, *, min_cell: int = MIN_CELL
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Stratification tables of a pool.

    Parameters
    ----------
    pool : Pool
    by : str, sequence of str, or None
        One of ``grade``, ``payment_type``, ``original_term``,
        ``remaining_term``, ``rate`` (APR bucket), ``pf_status``, ``dpd``,
        ``age``, or a categorical extra column of the tape.  A single name
        returns one DataFrame; a sequence (or ``None`` for all standard
        tables) returns a dict of them.
    min_cell : int
        Fewest receivables a cell of a private stratum shows figures for
        (see the module notes).

    Returns
    -------
    pandas.DataFrame or dict of str to pandas.DataFrame
        Aggregates only; no receivable-level data.

    Raises
    ------
    PrivacyError
        ``by`` names a borrower-level provident-fund field (or one derived from it).
    KeyError
        ``by`` names no stratum.
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, int | np.integer) or min_cell < 1:
        raise ValueError(f"min_cell must be a whole number >= 1; got {min_cell!r}")
    apr = _apr(pool)
    if isinstance(by, str):
        return _one(pool, by, apr, int(min_cell))
    names = STANDARD_STRATS if by is None else tuple(by)
    if by is None and _flag_columns(pool):
        names = (*names, "early_warning")
    return {name: _one(pool, name, apr, int(min_cell)) for name in names}


def _flag_columns(pool: Pool) -> list[str]:
    return [c for c in pool.table.column_names if c.startswith("ew_")]


def early_warning_table(pool: Pool, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Early-warning flag counts: receivables and balance flagged, overall and by grade.

    Reads the boolean ``ew_*`` columns a graded tape carries (``abs-engine
    grade``); a receivable with several flags counts under each.  Flags derive
    from the provident-fund record: a flag on fewer than ``min_cell``
    receivables shows no figures, and per-grade counts are withheld with
    their complements (see :func:`suppressed_cells`).
    """
    flags = _flag_columns(pool)
    if not flags:
        raise KeyError(
            "the tape has no early-warning flags (ew_* columns); grade it with `abs-engine grade`"
        )
    a = pool.arrays
    bal = a["balance"]
    total = float(bal.sum())
    rows = {}
    for f in flags:
        col = np.asarray(pool.table.column(f).to_numpy(zero_copy_only=False))
        on = (
            np.asarray([v is True or v == 1 for v in col], dtype=bool)
            if col.dtype == object
            else col.astype(bool)
        )
        row: dict[str, float] = {
            "count": float(on.sum()),
            "balance": float(bal[on].sum()),
            "pct_balance": float(bal[on].sum()) / total if total else np.nan,
        }
        for gi, g in enumerate(pool.grades):
            row[f"count_{g}"] = float((on & (a["grade_code"] == gi)).sum())
        rows[f] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "flag"
    grade_cols = [f"count_{g}" for g in pool.grades]
    withheld = 0
    for f in out.index:
        if 0 < out.loc[f, "count"] < min_cell:
            out.loc[f, :] = np.nan
            withheld += 1
            continue
        hide = suppressed_cells(out.loc[f, grade_cols].to_numpy(dtype=np.int64), min_cell)
        if hide.any():
            out.loc[f, [c for c, h in zip(grade_cols, hide, strict=True) if h]] = np.nan
            withheld += int(hide.sum())
    if not withheld:
        for c in out.columns:
            if c.startswith("count"):
                out[c] = out[c].astype(np.int64)
    out.attrs["withheld"] = withheld
    out.attrs["min_cell"] = int(min_cell)
    return out


def pool_summary(pool: Pool) -> pd.Series:
    """Pool-level aggregates as a Series."""
    a = pool.arrays
    bal = a["balance"]
    total = float(bal.sum())
    apr = _apr(pool)
    return pd.Series(
        {
            "receivables": len(pool),
            "balance": total,
            "original_balance": float(a["original_balance"].sum()),
            "avg_balance": total / max(len(pool), 1),
            "wa_apr": float((bal * apr).sum() / total),
            "wa_remaining_term": float((bal * a["remaining_term"]).sum() / total),
            "wa_original_term": float((bal * a["original_term"]).sum() / total),
            "wa_age": float((bal * a["age"]).sum() / total),
            "delinquent_pct": float(bal[a["dpd"] > 0].sum() / total),
            "excluded": len(pool.excluded),
        },
        name="pool",
    )
