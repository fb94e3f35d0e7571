"""Early-warning monitoring: flags, the watch list, flag counts and a default overlay.

A borrower is flagged when the provident-fund record or platform behaviour
shows one of these signs (the flag names are the column names of
:func:`early_warning`):

``ew_status_changes``
    ``pf_status_changes_12m >= status_changes_min`` (2 by default): the
    contribution status changed that often in the last 12 months (job
    changes, lay-offs, employer arrears).
``ew_interrupted_contribution``
    ``pf_status`` is one of ``interrupted_statuses`` (``suspended`` by
    default), or - with ``none_with_history`` - it is ``none`` although
    ``pf_years > 0``: the borrower used to contribute and stopped.
``ew_spend_spike``
    Spending on the platform last month jumped against the borrower's own
    history: ``spend_last_month >= spend_spike_ratio * spend_avg_6m`` *and*
    ``spend_last_month - spend_avg_6m >= spend_spike_min_increase`` (the
    absolute floor keeps a jump from 50 to 120 RMB off the list).
``ew_pf_missing``
    ``pf_status`` or ``pf_status_changes_12m`` is empty or unusable, so the
    provident-fund flags above could not be evaluated for this borrower.
    Counted in ``ew_any`` when ``flag_missing_pf`` is true (the default):
    monitoring never passes a borrower silently because data is missing.
``ew_any``
    Any of the above.

Optional platform columns (RMB, per calendar month; both or neither):

``spend_last_month``
    Spending on the platform in the latest full month.
``spend_avg_6m``
    Average monthly spending over the six months *before* the latest one
    (the borrower's own baseline).

When a tape carries neither, ``ew_spend_spike`` is false for everyone (and
an info log says so); an empty spending cell likewise raises no spike.

The flags and every aggregate here hold no provident-fund value: the watch
list shows loan ids, grades, scores, balances, flags and reason codes only.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine.errors import GradingError, SpecError
from abs_engine.grading import _spec
from abs_engine.grading._columns import category_codes, numeric_values
from abs_engine.pool.schema import PF_STATUSES

if TYPE_CHECKING:
    from abs_engine.grading.scorecard import Scorecard

__all__ = [
    "FLAGS",
    "FLAG_ANY",
    "FLAG_INTERRUPTED",
    "FLAG_PF_MISSING",
    "FLAG_SPEND_SPIKE",
    "FLAG_STATUS_CHANGES",
    "SPEND_COLUMNS",
    "EarlyWarningRules",
    "default_multipliers",
    "early_warning",
    "flag_counts",
    "watch_list",
]

log = logging.getLogger(__name__)

FLAG_STATUS_CHANGES = "ew_status_changes"
FLAG_INTERRUPTED = "ew_interrupted_contribution"
FLAG_SPEND_SPIKE = "ew_spend_spike"
FLAG_PF_MISSING = "ew_pf_missing"
FLAG_ANY = "ew_any"

#: Every flag column of :func:`early_warning`, in order (``ew_any`` last).
FLAGS: tuple[str, ...] = (
    FLAG_STATUS_CHANGES,
    FLAG_INTERRUPTED,
    FLAG_SPEND_SPIKE,
    FLAG_PF_MISSING,
    FLAG_ANY,
)

#: Optional platform columns for the spending-spike flag: latest month, own baseline.
SPEND_COLUMNS: tuple[str, str] = ("spend_last_month", "spend_avg_6m")

_RULE_KEYS = (
    "status_changes_min",
    "interrupted_statuses",
    "none_with_history",
    "spend_spike_ratio",
    "spend_spike_min_increase",
    "flag_missing_pf",
    "default_multiplier",
)

#: Columns a watch list may show, when the frame has them (never a provident-fund field).
_WATCH_COLUMNS = ("loan_id", "grade", "score", "balance", "reason_1")


@dataclass(frozen=True)
class EarlyWarningRules:
    """Parameters of the early-warning flags (the ``[early_warning]`` scorecard table).

    Parameters
    ----------
    status_changes_min : int
        ``ew_status_changes`` when ``pf_status_changes_12m >= status_changes_min``.
    interrupted_statuses : tuple of str
        Statuses that mean contributions are interrupted (``ew_interrupted_contribution``).
    none_with_history : bool
        Also flag status ``none`` with ``pf_years > 0`` (stopped contributing).
    spend_spike_ratio : float
        ``ew_spend_spike`` needs ``spend_last_month >= ratio * spend_avg_6m``; > 1.
    spend_spike_min_increase : float
        ... and ``spend_last_month - spend_avg_6m >= spend_spike_min_increase`` (RMB).
    flag_missing_pf : bool
        Count ``ew_pf_missing`` in ``ew_any``.
    default_multiplier : float
        Default-rate multiplier for flagged receivables in the assumption overlay
        (see :func:`default_multipliers`); > 0.
    """

    status_changes_min: int = 2
    interrupted_statuses: tuple[str, ...] = ("suspended",)
    none_with_history: bool = True
    spend_spike_ratio: float = 2.0
    spend_spike_min_increase: float = 1000.0
    flag_missing_pf: bool = True
    default_multiplier: float = 1.5

    def __post_init__(self) -> None:
        n = self.status_changes_min
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise SpecError(f"must be a whole number >= 1; got {n!r}", "status_changes_min")
        object.__setattr__(self, "status_changes_min", int(n))
        statuses = tuple(str(s).strip().lower() for s in self.interrupted_statuses)
        for i, s in enumerate(statuses):
            if s not in PF_STATUSES:
                raise SpecError(
                    f"unknown provident-fund status {s!r}; statuses are {', '.join(PF_STATUSES)}",
                    f"interrupted_statuses[{i}]",
                )
        object.__setattr__(self, "interrupted_statuses", statuses)
        for name in ("none_with_history", "flag_missing_pf"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"expected true or false; got {getattr(self, name)!r}", name)
        ratio = _spec.get_number(
            self.spend_spike_ratio, "spend_spike_ratio", low=1.0, low_open=True
        )
        object.__setattr__(self, "spend_spike_ratio", ratio)
        inc = _spec.get_number(self.spend_spike_min_increase, "spend_spike_min_increase", low=0.0)
        object.__setattr__(self, "spend_spike_min_increase", inc)
        mult = _spec.get_number(
            self.default_multiplier, "default_multiplier", low=0.0, low_open=True
        )
        object.__setattr__(self, "default_multiplier", mult)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "early_warning") -> EarlyWarningRules:
        """Parse the TOML form; unknown keys are errors naming their path."""
        table = _spec.get_table(data, path)
        _spec.check_keys(table, _RULE_KEYS, path)
        kwargs: dict[str, Any] = {}
        if "status_changes_min" in table:
            p = _spec.join(path, "status_changes_min")
            kwargs["status_changes_min"] = _spec.get_int(table["status_changes_min"], p, low=1)
        if "interrupted_statuses" in table:
            p = _spec.join(path, "interrupted_statuses")
            kwargs["interrupted_statuses"] = _spec.get_strs(
                table["interrupted_statuses"], p, min_len=0
            )
        for key in ("none_with_history", "flag_missing_pf"):
            if key in table:
                kwargs[key] = _spec.get_bool(table[key], _spec.join(path, key))
        for key in ("spend_spike_ratio", "spend_spike_min_increase", "default_multiplier"):
            if key in table:
                kwargs[key] = _spec.get_number(table[key], _spec.join(path, key))
        try:
            return cls(**kwargs)
        except SpecError as exc:
            raise _spec.reraise_under(exc, path) from None

    def to_dict(self) -> dict[str, Any]:
        """TOML form."""
        return {
            "status_changes_min": self.status_changes_min,
            "interrupted_statuses": list(self.interrupted_statuses),
            "none_with_history": self.none_with_history,
            "spend_spike_ratio": self.spend_spike_ratio,
            "spend_spike_min_increase": self.spend_spike_min_increase,
            "flag_missing_pf": self.flag_missing_pf,
            "default_multiplier": self.default_multiplier,
        }


def _rules(rules: EarlyWarningRules | Scorecard | None) -> EarlyWarningRules:
    if rules is None:
        return EarlyWarningRules()
    if isinstance(rules, EarlyWarningRules):
        return rules
    ew = getattr(rules, "early_warning", None)
    if isinstance(ew, EarlyWarningRules):
        return ew
    raise GradingError(
        f"rules must be EarlyWarningRules or a Scorecard; got {type(rules).__name__}"
    )


def early_warning(
    frame: pd.DataFrame, rules: EarlyWarningRules | Scorecard | None = None
) -> pd.DataFrame:
    """Early-warning flags per borrower.

    Parameters
    ----------
    frame : pandas.DataFrame
        Borrower rows with ``pf_status`` and ``pf_status_changes_12m``;
        ``pf_years`` (for ``none_with_history``) and the spending columns
        ``spend_last_month`` and ``spend_avg_6m`` are optional.
    rules : EarlyWarningRules or Scorecard, optional
        Flag parameters (a scorecard's ``[early_warning]`` table); the
        defaults of :class:`EarlyWarningRules` when omitted.

    Returns
    -------
    pandas.DataFrame
        Boolean columns :data:`FLAGS` (see the module docstring for each
        definition), indexed like ``frame``.

    Raises
    ------
    GradingError
        ``pf_status`` or ``pf_status_changes_12m`` is absent, or only one of
        the two spending columns is present.
    """
    r = _rules(rules)
    if not isinstance(frame, pd.DataFrame):
        raise GradingError(f"early_warning() takes a pandas DataFrame; got {type(frame).__name__}")
    for col, flag in (
        ("pf_status", FLAG_INTERRUPTED),
        ("pf_status_changes_12m", FLAG_STATUS_CHANGES),
    ):
        if col not in frame.columns:
            raise GradingError(
                f"early warning needs column {col!r} (flag {flag!r}); the tape has no such column"
            )
    n = len(frame)
    status = category_codes(frame["pf_status"], PF_STATUSES)
    status_bad = status < 0
    changes, ch_missing, ch_invalid = numeric_values(
        frame["pf_status_changes_12m"],
        needed_by=f"flag {FLAG_STATUS_CHANGES!r}",
        low=0.0,
        integer=True,
    )
    with np.errstate(invalid="ignore"):
        status_changes = changes >= r.status_changes_min  # NaN compares false

    interrupted_codes = [PF_STATUSES.index(s) for s in r.interrupted_statuses]
    interrupted = np.isin(status, np.asarray(interrupted_codes, dtype=np.int16))
    if r.none_with_history and "pf_years" in frame.columns:
        years, _, _ = numeric_values(
            frame["pf_years"], needed_by=f"flag {FLAG_INTERRUPTED!r}", low=0.0
        )
        with np.errstate(invalid="ignore"):
            interrupted |= (status == PF_STATUSES.index("none")) & (years > 0)

    present = [c for c in SPEND_COLUMNS if c in frame.columns]
    if len(present) == 1:
        absent = next(c for c in SPEND_COLUMNS if c not in frame.columns)
        raise GradingError(
            f"the spending-spike flag needs both {SPEND_COLUMNS[0]!r} and {SPEND_COLUMNS[1]!r}; "
            f"the tape has {present[0]!r} but not {absent!r} - add it or drop both"
        )
    if present:
        last, _, _ = numeric_values(
            frame[SPEND_COLUMNS[0]], needed_by=f"flag {FLAG_SPEND_SPIKE!r}", low=0.0
        )
        base, _, _ = numeric_values(
            frame[SPEND_COLUMNS[1]], needed_by=f"flag {FLAG_SPEND_SPIKE!r}", low=0.0
        )
        with np.errstate(invalid="ignore"):
            spike = (last >= r.spend_spike_ratio * base) & (
                last - base >= r.spend_spike_min_increase
            )
    else:
        log.info(
            "no spending columns (%s): %s is false for every borrower",
            ", ".join(SPEND_COLUMNS),
            FLAG_SPEND_SPIKE,
        )
        spike = np.zeros(n, dtype=bool)

    pf_missing = status_bad | ch_missing | ch_invalid
    any_flag = status_changes | interrupted | spike
    if r.flag_missing_pf:
        any_flag = any_flag | pf_missing
    flags = pd.DataFrame(
        {
            FLAG_STATUS_CHANGES: status_changes,
            FLAG_INTERRUPTED: interrupted,
            FLAG_SPEND_SPIKE: spike,
            FLAG_PF_MISSING: pf_missing,
            FLAG_ANY: any_flag,
        },
        index=frame.index,
    )
    log.info(
        "early warning: %d of %d borrowers flagged (%s)",
        int(any_flag.sum()),
        n,
        ", ".join(f"{f} {int(flags[f].sum())}" for f in FLAGS[:-1]),
    )
    return flags


def _flag_frame(flags: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    if not isinstance(flags, pd.DataFrame):
        raise GradingError(
            f"flags must be the DataFrame early_warning() returns; got {type(flags).__name__}"
        )
    missing = [f for f in FLAGS if f not in flags.columns]
    if missing:
        raise GradingError(
            f"flags lack column(s) {', '.join(map(repr, missing))}; "
            "pass the DataFrame early_warning() returns"
        )
    if n is not None and len(flags) != n:
        raise GradingError(
            f"flags have {len(flags):,} rows but the frame has {n:,}; compute them from this frame"
        )
    return flags


def watch_list(
    frame: pd.DataFrame,
    flags: pd.DataFrame | None = None,
    *,
    rules: EarlyWarningRules | Scorecard | None = None,
) -> pd.DataFrame:
    """The flagged borrowers, most flags first.

    Parameters
    ----------
    frame : pandas.DataFrame
        Borrower rows (graded or not).
    flags : pandas.DataFrame, optional
        The result of :func:`early_warning` for ``frame``; computed with
        ``rules`` when omitted.
    rules : EarlyWarningRules or Scorecard, optional
        Flag parameters when ``flags`` is omitted.

    Returns
    -------
    pandas.DataFrame
        One row per borrower with ``ew_any``: ``row`` (0-based position in
        ``frame``), then whichever of ``loan_id, grade, score, balance,
        reason_1`` the frame has, the individual flags and ``n_flags`` (how
        many of them are raised).  Sorted by ``n_flags`` (descending), then
        ``score`` (ascending, when present), then ``row``.  No provident-fund
        value is ever included.
    """
    if flags is None:
        flags = early_warning(frame, rules)
    flags = _flag_frame(flags, len(frame))
    hit = flags[FLAG_ANY].to_numpy(dtype=bool)
    rows = np.flatnonzero(hit)
    individual = list(FLAGS[:-1])
    out = pd.DataFrame({"row": rows})
    for col in _WATCH_COLUMNS:
        if col in frame.columns:
            out[col] = frame[col].iloc[rows].to_numpy()
    block = flags[individual].iloc[rows].to_numpy(dtype=bool)
    for j, f in enumerate(individual):
        out[f] = block[:, j]
    out["n_flags"] = block.sum(axis=1).astype(np.int64)
    keys = ["n_flags", *(["score"] if "score" in out.columns else []), "row"]
    ascending = [False, *([True] if "score" in out.columns else []), True]
    return out.sort_values(keys, ascending=ascending, kind="stable").reset_index(drop=True)


def flag_counts(
    flags: pd.DataFrame,
    by: ArrayLike | pd.Series | None = None,
    *,
    balance: ArrayLike | pd.Series | None = None,
) -> pd.DataFrame:
    """Counts of each flag, by group (e.g. grade) and in total.

    Parameters
    ----------
    flags : pandas.DataFrame
        The result of :func:`early_warning`.
    by : array-like or pandas.Series, optional
        Group label per borrower (e.g. the ``grade`` column); one ``all`` row
        when omitted.  Categorical labels keep their category order.
    balance : array-like, optional
        Current balance per borrower; adds ``balance``, ``flagged_balance``
        and ``pct_flagged_balance``.

    Returns
    -------
    pandas.DataFrame
        Index: the groups, then ``Total``.  Columns: ``count`` (borrowers),
        one count per flag in :data:`FLAGS`, and ``pct_flagged`` =
        ``ew_any / count``.
    """
    flags = _flag_frame(flags)
    n = len(flags)
    name = getattr(by, "name", None) or ("group" if by is not None else "all")
    if by is None:
        labels = pd.Series(np.full(n, "all", dtype=object), name=name)
    else:
        labels = pd.Series(by).reset_index(drop=True).rename(name)
        if len(labels) != n:
            raise GradingError(f"by has {len(labels):,} labels but flags have {n:,} rows")
    data = pd.DataFrame(flags[list(FLAGS)].to_numpy(dtype=np.int64), columns=list(FLAGS))
    data.insert(0, "count", 1)
    if balance is not None:
        bal = np.asarray(balance, dtype=np.float64)
        if bal.shape != (n,):
            raise GradingError(f"balance has shape {bal.shape}; expected ({n},)")
        data["balance"] = bal
        data["flagged_balance"] = np.where(flags[FLAG_ANY].to_numpy(dtype=bool), bal, 0.0)
    grouped = data.groupby(labels, observed=False, sort=True).sum()
    grouped.loc["Total"] = data.sum(axis=0)
    grouped.index.name = name
    for col in ("count", *FLAGS):
        grouped[col] = grouped[col].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        grouped["pct_flagged"] = np.where(
            grouped["count"] > 0,
            grouped[FLAG_ANY] / grouped["count"].where(grouped["count"] > 0, 1),
            np.nan,
        )
        if balance is not None:
            b = grouped["balance"]
            grouped["pct_flagged_balance"] = np.where(
                b > 0, grouped["flagged_balance"] / b.where(b > 0, 1.0), np.nan
            )
    return grouped


def default_multipliers(
    flags: pd.DataFrame, multiplier: float | Mapping[str, float] = 1.5
) -> NDArray[np.float64]:
    """Per-borrower default-rate multiplier for an early-warning assumption overlay.

    With one number ``m``:

    .. math:: k_i = m \\text{ if } \\texttt{ew\\_any}_i \\text{ else } 1

    With a mapping ``{flag: m_f}`` (flag names from :data:`FLAGS`):

    .. math:: k_i = \\max\\bigl(1,\\; \\max_{f \\text{ raised for } i} m_f\\bigr)

    when some flag of the mapping is raised for borrower ``i``, else 1: the
    strongest sign counts, signs are not compounded (so ``k`` stays bounded
    by the largest multiplier).  Flags the mapping omits do not move ``k``.

    The overlay multiplies the borrower's default curve (CDR/MDR) by ``k``;
    unflagged receivables keep their grade's assumptions exactly.  A
    scorecard's configured value is ``scorecard.early_warning.default_multiplier``.

    Parameters
    ----------
    flags : pandas.DataFrame
        The result of :func:`early_warning`.
    multiplier : float or mapping of str to float
        Multiplier for flagged borrowers (> 0), or one per flag.

    Returns
    -------
    ndarray of float64
        ``k`` per row of ``flags``, in order.
    """
    flags = _flag_frame(flags)
    n = len(flags)
    if isinstance(multiplier, Mapping):
        out = np.ones(n, dtype=np.float64)
        for key, value in multiplier.items():
            if key not in FLAGS:
                close = difflib.get_close_matches(str(key), list(FLAGS), n=1)
                hint = (
                    f"; did you mean {close[0]!r}?" if close else f"; flags are {', '.join(FLAGS)}"
                )
                raise GradingError(f"unknown flag {key!r} in multiplier{hint}")
            m = _check_multiplier(value, f"multiplier[{key!r}]")
            raised = flags[key].to_numpy(dtype=bool)
            out = np.where(raised, np.maximum(out, m), out)
        return out
    m = _check_multiplier(multiplier, "multiplier")
    return np.where(flags[FLAG_ANY].to_numpy(dtype=bool), m, 1.0)


def _check_multiplier(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GradingError(f"{where} must be a number > 0; got {value!r}")
    m = float(value)
    if not np.isfinite(m) or m <= 0:
        raise GradingError(f"{where} must be a finite number > 0; got {value!r}")
    return m
