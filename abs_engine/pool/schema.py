"""The receivables tape: columns, types and the vocabulary of the domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COLUMNS",
    "DEFAULT_GRADES",
    "DPD_BUCKETS",
    "MAX_TERM",
    "OPTIONAL_COLUMNS",
    "PAYMENT_TYPES",
    "PAYMENT_TYPE_ALIASES",
    "PF_COLUMNS",
    "PF_DERIVED_COLUMNS",
    "PF_STATUSES",
    "REQUIRED_COLUMNS",
    "Column",
    "canonical_column",
    "is_private_column",
]

DEFAULT_GRADES: tuple[str, ...] = ("A", "B", "C")

#: Payment types, in code order (the code is the index).
PAYMENT_TYPES: tuple[str, ...] = ("annuity", "equal_principal", "flat_fee", "bullet")

#: Names accepted on a tape and the payment type they mean.
PAYMENT_TYPE_ALIASES: dict[str, str] = {
    "annuity": "annuity",
    "level": "annuity",
    "level_payment": "annuity",
    "等额本息": "annuity",
    "equal_principal": "equal_principal",
    "等额本金": "equal_principal",
    "flat_fee": "flat_fee",
    "等本等费": "flat_fee",
    "bullet": "bullet",
    "一次性还本付息": "bullet",
}

PF_STATUSES: tuple[str, ...] = ("normal", "suspended", "none")

#: Delinquency buckets by days past due at cut-off: label and inclusive upper bound.
DPD_BUCKETS: tuple[tuple[str, float], ...] = (
    ("current", 0),
    ("1-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", float("inf")),
)

#: Longest term accepted, in months (cohort keys pack terms into 12 bits).
MAX_TERM = 4095

#: Largest amount accepted on a tape (balances, contributions): beyond it a value is a data
#: error (1e308, a misplaced exponent), and sums would lose cents of precision.
MAX_AMOUNT = 1e12

#: Days past due accepted (a hundred years).
MAX_DPD = 36_500

#: Years of provident-fund contributions accepted (a working life and more).
MAX_PF_YEARS = 80.0

#: Earliest and latest origination dates accepted (inclusive, ISO).
DATE_RANGE = ("1900-01-01", "2199-12-31")

Kind = Literal["id", "category", "float", "int", "date"]


@dataclass(frozen=True)
class Column:
    """One tape column: its name, kind, whether required, and its meaning."""

    name: str
    kind: Kind
    required: bool
    description: str
    private: bool = False  # borrower-level provident-fund record: never in outputs or logs


COLUMNS: tuple[Column, ...] = (
    Column("loan_id", "id", True, "unique receivable identifier"),
    Column("grade", "category", True, "credit grade (A/B/C by default)"),
    Column("balance", "float", True, "current principal balance, > 0"),
    Column(
        "rate", "float", True, "annual nominal interest rate, decimal; may be empty for flat_fee"
    ),
    Column("original_term", "int", True, "original term in months"),
    Column("remaining_term", "int", True, "remaining term in months, 1 <= remaining <= original"),
    Column("payment_type", "category", True, "annuity | equal_principal | flat_fee | bullet"),
    Column("fee_rate", "float", False, "flat_fee: monthly fee as a share of original_balance"),
    Column("original_balance", "float", False, "principal at origination (needed for flat_fee)"),
    Column("age", "int", False, "months since origination (default original - remaining)"),
    Column("origination_date", "date", False, "date of origination"),
    Column("dpd", "int", False, "days past due at cut-off"),
    Column("pf_monthly_contribution", "float", False, "provident-fund monthly contribution", True),
    Column(
        "pf_status", "category", False, "provident-fund status: normal | suspended | none", True
    ),
    Column("pf_years", "float", False, "years of provident-fund contributions", True),
    Column(
        "pf_status_changes_12m",
        "int",
        False,
        "provident-fund status changes in the last 12 months",
        True,
    ),
)

REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if not c.required)
PF_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.private)
COLUMN_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

#: Borrower-level columns derived from the provident-fund record (``abs-engine grade`` adds them).
PF_DERIVED_COLUMNS: tuple[str, ...] = ("score", "credit_limit")

_KNOWN_LOWER: dict[str, str] = {c.name.lower(): c.name for c in COLUMNS}


def canonical_column(name: object) -> str:
    """The tape column a header means: trimmed, and a known name whatever its case.

    >>> canonical_column(" PF_YEARS "), canonical_column("Branch")
    ('pf_years', 'Branch')
    """
    text = str(name).strip()
    return _KNOWN_LOWER.get(text.lower(), text)


def is_private_column(name: object) -> bool:
    """Whether a column holds borrower-level provident-fund data or values derived from it.

    Such values never appear in messages, logs or outputs, and a pool is not
    stratified by them (``pf_status`` strata are shown with small cells withheld).
    Recognised whatever the case: the provident-fund columns, any ``pf_*`` or
    ``*provident*`` column, and the scorecard's ``score`` and ``credit_limit``.

    >>> is_private_column("PF_YEARS"), is_private_column("credit_limit"), is_private_column("grade")
    (True, True, False)
    """
    text = str(name).strip().lower()
    return (
        text in PF_COLUMNS
        or text in PF_DERIVED_COLUMNS
        or text.startswith("pf_")
        or "provident" in text
    )
