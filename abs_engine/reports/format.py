"""Display formats for reports: money, percentages, dates, years, shared by HTML and Excel.

Numbers are rounded for display only; the engine's arrays are never rounded.
A column format is a short spec string: a *kind* optionally followed by the
number of decimals, e.g. ``"money"`` (2 decimals), ``"money0"``, ``"pct"``
(2 decimals), ``"pct4"``, ``"float1"``.

========== ======================================== =============== ==============
kind       shows                                    default digits  Excel format
========== ======================================== =============== ==============
``text``   the value as text                        --              text
``int``    ``1,234`` (rounded to a whole number)    0               ``#,##0``
``float``  ``1,234.57``                             2               ``#,##0.00``
``money``  ``1,234.57``; ``CNY 1,234.57`` with unit 2               ``#,##0.00``
``pct``    a fraction as ``5.12%``                  2               ``0.00%``
``bp``     a fraction in basis points, ``125 bp``   0               ``0``
``years``  ``2.35``; ``2.35 years`` with unit       2               ``0.00``
``months`` ``11.2``; ``11.2 months`` with unit      1               ``0.0``
``multiple`` ``1.35x``                              2               ``0.00"x"``
``date``   ISO ``2015-06-30``                       --              ``yyyy-mm-dd``
========== ======================================== =============== ==============

``"float2"`` is ``"float"`` with two decimals, and so on for every numeric kind.
Missing values (``None``, NaN, NaT) show as an empty string.

>>> format_value(1234567.891, "money")
'1,234,567.89'
>>> format_value(1234567.891, "money0", currency="CNY", unit=True)
'CNY 1,234,568'
>>> format_value(0.051234, "pct")
'5.12%'
>>> format_value(2.3456, "years", unit=True)
'2.35 years'
>>> column_label("wa_remaining_term", "months")
'WA remaining term (months)'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from abs_engine.errors import SpecError

__all__ = [
    "KINDS",
    "ColumnFormat",
    "column_label",
    "excel_number_format",
    "format_date",
    "format_money",
    "format_number",
    "format_pct",
    "format_value",
    "formats_for",
    "infer_format",
    "is_missing",
    "log_axis",
    "parse_format",
]

#: Format kinds and their default number of decimals (``None``: not numeric).
KINDS: Mapping[str, int | None] = {
    "text": None,
    "int": 0,
    "float": 2,
    "money": 2,
    "pct": 2,
    "bp": 0,
    "years": 2,
    "months": 1,
    "multiple": 2,
    "date": None,
}

_SPEC = re.compile(r"^([a-z]+?)(\d{1,2})?$")


@dataclass(frozen=True)
class ColumnFormat:
    """A parsed format spec: its kind and number of decimals.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    decimals : int
        Digits after the decimal point (0 for ``text`` and ``date``).
    """

    kind: str
    decimals: int

    @property
    def numeric(self) -> bool:
        """Whether values are numbers (right-aligned, number cells in Excel)."""
        return self.kind not in ("text", "date")

    def __str__(self) -> str:
        default = KINDS[self.kind]
        if default is None or default == self.decimals:
            return self.kind
        return f"{self.kind}{self.decimals}"


def parse_format(spec: str | ColumnFormat, where: str = "format") -> ColumnFormat:
    """Parse a format spec such as ``"money"``, ``"pct4"`` or ``"float1"``.

    Parameters
    ----------
    spec : str or ColumnFormat
        The spec (a :class:`ColumnFormat` is returned unchanged).
    where : str
        Key path for the error message, e.g. ``formats.balance``.

    Raises
    ------
    SpecError
        The spec names no known kind.
    """
    if isinstance(spec, ColumnFormat):
        return spec
    m = _SPEC.match(str(spec).strip().lower())
    if m is None or m.group(1) not in KINDS:
        raise SpecError(
            f"unknown format {spec!r}; use one of {', '.join(KINDS)}, optionally followed by "
            "the number of decimals (e.g. 'money0', 'pct4')",
            where,
        )
    kind, digits = m.group(1), m.group(2)
    default = KINDS[kind]
    if default is None:
        if digits is not None:
            raise SpecError(f"format {kind!r} takes no number of decimals; got {spec!r}", where)
        return ColumnFormat(kind, 0)
    return ColumnFormat(kind, default if digits is None else int(digits))


def is_missing(value: Any) -> bool:
    """Whether a value is missing (None, NaN, NaT, pandas NA)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def _round(value: float, decimals: int) -> float:
    r = round(float(value), decimals)
    return 0.0 if r == 0 else r  # never show "-0.00"


def format_number(value: Any, decimals: int = 2) -> str:
    """A number with thousands separators: ``1,234.57``; ``""`` when missing."""
    if is_missing(value):
        return ""
    v = float(value)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{_round(v, decimals):,.{decimals}f}"


def format_money(value: Any, currency: str | None = None, decimals: int = 2) -> str:
    """An amount with thousands separators, prefixed with its currency when given.

    >>> format_money(-1234.5, "CNY")
    'CNY -1,234.50'
    """
    text = format_number(value, decimals)
    return f"{currency} {text}" if currency and text else text


def format_pct(value: Any, decimals: int = 2) -> str:
    """A fraction as a percentage: ``0.0512`` -> ``5.12%``."""
    if is_missing(value):
        return ""
    return f"{_round(100.0 * float(value), decimals):,.{decimals}f}%"


def format_date(value: Any) -> str:
    """A date in ISO form ``YYYY-MM-DD`` (dates, datetimes, ``numpy.datetime64``, ISO text)."""
    if is_missing(value):
        return ""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return str(value)


def format_value(
    value: Any,
    spec: str | ColumnFormat,
    *,
    currency: str | None = None,
    unit: bool = False,
) -> str:
    """Format one value for display.

    Parameters
    ----------
    value : Any
        The value; missing values give ``""``.
    spec : str or ColumnFormat
        Format spec (see the module docs).
    currency : str, optional
        Currency code for ``money`` (shown only with ``unit``).
    unit : bool
        Append or prepend the unit (currency, ``years``, ``months``): for
        key-value rows, where no column header names it.

    Returns
    -------
    str
    """
    f = parse_format(spec)
    if is_missing(value):
        return ""
    if f.kind == "text":
        return str(value)
    if f.kind == "date":
        return format_date(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)  # a label (e.g. "Total") in a numeric column
    if f.kind == "pct":
        return format_pct(v, f.decimals)
    if f.kind == "bp":
        return f"{format_number(v * 1e4, f.decimals)} bp"
    if f.kind == "multiple":
        return f"{format_number(v, f.decimals)}x"
    text = format_number(v, f.decimals)
    if unit:
        if f.kind == "money" and currency:
            return f"{currency} {text}"
        if f.kind in ("years", "months"):
            return f"{text} {f.kind}"
    return text


def excel_number_format(spec: str | ColumnFormat) -> str | None:
    """The Excel number format of a spec (``None`` for text)."""
    f = parse_format(spec)
    digits = "." + "0" * f.decimals if f.decimals else ""
    if f.kind == "text":
        return None
    if f.kind == "date":
        return "yyyy-mm-dd"
    if f.kind in ("int", "float", "money"):
        return f"#,##0{digits}"
    if f.kind == "pct":
        return f"0{digits}%"
    if f.kind == "multiple":
        return f'0{digits}"x"'
    if f.kind == "bp":
        return f"0{digits}"  # the workbook holds fractions; bp columns are scaled on write
    return f"0{digits}"  # years, months


# --- inference and labels -----------------------------------------------------------------

_PCT_NAMES = re.compile(
    r"(^pct|_pct$|pct_|rate$|^wa_apr$|^apr$|_apr$|^cdr|^cpr|^smm|^mdr|yield|coupon|severity"
    r"|cumulative_default|cumulative_net_loss|^cnl|_share$|^share_|enhancement|^oc$|^ic$"
    r"|_mult_pct)"
)
_MONTH_NAMES = re.compile(r"(term$|^wa_age$|^age$|lag$|_months$|^months_)")
_YEAR_NAMES = re.compile(r"(^wal|_wal$|duration|_years$|^years_)")
_INT_NAMES = re.compile(r"(^count$|_count$|^n_|^receivables$|^period$|^month$|^loans$|excluded)")
_MULT_NAMES = re.compile(r"(_mult$|multiple$|^breakeven|_x$)")


def infer_format(name: str, dtype: Any = None) -> str:
    """A sensible format for a column from its name and dtype.

    Amounts are ``money``; names such as ``pct_*``, ``*_rate``, ``wa_apr``,
    ``cdr`` are ``pct``; terms and ages are ``months``; WAL and durations
    ``years``; counts and periods ``int``; text and dates by dtype.

    >>> [infer_format(n) for n in ("balance", "pct_balance", "wa_age", "count", "wal")]
    ['money', 'pct', 'months', 'int', 'years']
    """
    n = str(name).lower()
    if dtype is not None:
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "date"
        if pd.api.types.is_bool_dtype(dtype):
            return "text"
        if not pd.api.types.is_numeric_dtype(dtype):
            return "text"
    if _INT_NAMES.search(n):
        return "int"
    if _PCT_NAMES.search(n):
        return "pct"
    if _MULT_NAMES.search(n):
        return "multiple" if "breakeven" in n or "multiple" in n else "float2"
    if _YEAR_NAMES.search(n):
        return "years"
    if _MONTH_NAMES.search(n):
        return "months"
    if dtype is not None and pd.api.types.is_integer_dtype(dtype):
        return "int"
    return "money"


def formats_for(
    frame: pd.DataFrame, formats: Mapping[str, str | ColumnFormat] | None = None
) -> dict[str, ColumnFormat]:
    """Formats of every column of ``frame``: the given ones, the rest inferred.

    Raises
    ------
    SpecError
        A given format is unknown, or names a column the frame does not have.
    """
    given = dict(formats or {})
    cols = [str(c) for c in frame.columns]
    for key in given:
        if key not in cols:
            raise SpecError(
                f"format given for column {key!r}, which the table does not have; "
                f"columns are {', '.join(cols)}",
                f"formats.{key}",
            )
    out: dict[str, ColumnFormat] = {}
    for col, dtype in zip(cols, frame.dtypes, strict=True):
        spec = given.get(col)
        out[col] = parse_format(
            spec if spec is not None else infer_format(col, dtype), f"formats.{col}"
        )
    return out


#: Display names of the engine's and the strats' columns.
LABELS: Mapping[str, str] = {
    "count": "Count",
    "receivables": "Receivables",
    "balance": "Balance",
    "original_balance": "Original balance",
    "pct_balance": "% of balance",
    "avg_balance": "Average balance",
    "wa_apr": "WA APR",
    "wa_fee_rate": "WA monthly fee",
    "wa_remaining_term": "WA remaining term",
    "wa_original_term": "WA original term",
    "wa_age": "WA age",
    "delinquent_pct": "Delinquent",
    "begin_balance": "Beginning balance",
    "end_balance": "Ending balance",
    "scheduled_principal": "Scheduled principal",
    "prepayment": "Prepayments",
    "default": "Defaults",
    "interest": "Interest",
    "fee": "Fees",
    "recovery": "Recoveries",
    "loss": "Losses",
    "advanced_principal": "Advanced principal",
    "advanced_interest": "Advanced interest",
    "current": "Current",
    "dpd_1_30": "1-30 dpd",
    "dpd_31_60": "31-60 dpd",
    "dpd_61_90": "61-90 dpd",
    "principal_collections": "Principal collections",
    "interest_collections": "Interest collections",
    "cumulative_default_rate": "Cumulative default rate",
    "cumulative_net_loss": "Cumulative net loss",
    "payment_type": "Payment type",
    "original_term": "Original term",
    "remaining_term": "Remaining term",
    "pf_status": "Provident-fund status",
    "dpd": "Days past due",
    "rate": "APR",
    "grade": "Grade",
    "scenario": "Scenario",
    "period": "Period",
    "wal": "WAL",
    "cdr": "CDR",
    "cpr": "CPR",
    "excluded": "Excluded",
}

_ACRONYMS = {"wa": "WA", "apr": "APR", "wal": "WAL", "cdr": "CDR", "cpr": "CPR", "oc": "OC"}
_ACRONYMS |= {"ic": "IC", "smm": "SMM", "mdr": "MDR", "pf": "PF", "dpd": "dpd", "id": "ID"}


def column_label(
    name: str,
    spec: str | ColumnFormat | None = None,
    *,
    currency: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Display name of a column, with its unit where the cells show none.

    ``balance`` with ``money`` and ``CNY`` gives ``Balance (CNY)``;
    ``wa_age`` with ``months`` gives ``WA age (months)``.

    Parameters
    ----------
    name : str
        Column name.
    spec : str or ColumnFormat, optional
        Its format; adds the unit for ``money`` (the currency), ``years`` and
        ``months``.
    currency : str, optional
        Currency code.
    labels : mapping, optional
        Overrides of :data:`LABELS`.
    """
    key = str(name)
    text = (labels or {}).get(key) or LABELS.get(key)
    if text is None:
        m = re.match(r"^(\w+)\[(.+)\]$", key)  # scenario levers: default_mult[C]
        base, suffix = (m.group(1), f" [{m.group(2)}]") if m else (key, "")
        words = [_ACRONYMS.get(w.lower(), w) for w in re.split(r"[_\s]+", base) if w]
        if words and words[0] == words[0].lower():
            words[0] = words[0][:1].upper() + words[0][1:]
        text = " ".join(words) + suffix
    if spec is None:
        return text
    f = parse_format(spec)
    if f.kind == "money" and currency:
        return f"{text} ({currency})"
    if f.kind in ("years", "months"):
        return f"{text} ({f.kind})"
    return text


def _share_text(v: float) -> str:
    """``0.001`` -> ``0.1%``, ``0.05`` -> ``5%``: as many decimals as the value needs."""
    pct = v * 100.0
    decimals = max(0, -math.floor(math.log10(pct) + 1e-9)) if pct > 0 else 0
    return f"{pct:,.{decimals}f}%"


def log_axis(low: float, high: float, *, percent: bool = True) -> dict[str, Any]:
    """A plotly log axis over ``[low, high]`` with ticks a reader can use.

    Plotly's own log ticks print ``2``, ``5`` and exponents such as ``1e-3``
    between decades; this puts a tick at every power of ten (and at 2 and 5
    times it when the axis spans at most two decades), labelled ``0.1%``,
    ``1%``, ``10%`` (``percent``) or ``0.001``, ``1``, ``1,000``.

    >>> axis = log_axis(0.0004, 0.3)
    >>> axis["type"], axis["ticktext"]
    ('log', ['0.01%', '0.1%', '1%', '10%', '100%'])
    >>> log_axis(0.01, 0.5)["ticktext"]
    ['1%', '2%', '5%', '10%', '20%', '50%', '100%']
    """
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= 0:
        raise SpecError(f"a log axis needs a positive range; got [{low}, {high}]", "log_axis")
    lo = math.floor(math.log10(min(low, high)) + 1e-12)
    hi = math.ceil(math.log10(max(low, high)) - 1e-12)
    hi = max(hi, lo + 1)
    steps = (1.0, 2.0, 5.0) if hi - lo <= 2 else (1.0,)
    vals = [m * 10.0**e for e in range(lo, hi) for m in steps] + [10.0**hi]
    if percent:
        vals = [v for v in vals if v <= 1.0 + 1e-12] or [1.0]
        text = [_share_text(v) for v in vals]
    else:
        text = [f"{v:,.{max(0, -math.floor(math.log10(v)))}f}" for v in vals]
    return {
        "type": "log",
        "tickmode": "array",
        "tickvals": vals,
        "ticktext": text,
        "range": [math.log10(min(low, high)) - 0.05, math.log10(max(low, high)) + 0.05],
    }
