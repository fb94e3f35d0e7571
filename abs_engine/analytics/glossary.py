"""The glossary of every output column: definition, formula, units, convention.

``docs/outputs.md`` is generated from :data:`TABLES` (``python -m
abs_engine.analytics.glossary > docs/outputs.md``) and a test checks both
that the file equals :func:`glossary_markdown` and that every table listed
here has exactly the columns documented, so the reference cannot drift from
the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from abs_engine.analytics.breakeven import BREAKEVEN_COLUMNS
from abs_engine.analytics.deal import MIN_CASH_MULTIPLE, SUMMARY_COLUMNS
from abs_engine.analytics.sizing import SIZING_COLUMNS
from abs_engine.deal.results import ACCOUNT_FIELDS, FEE_FIELDS, POOL_FIELDS, TRANCHE_FIELDS

__all__ = ["TABLES", "Column", "OutputTable", "glossary_markdown"]

DEC = "decimal (0.051 = 5.1%)"
PCT = "percent of the class balance at settlement (99.5)"
CUR = "deal currency"
YEARS = "years"
TEXT = "text"


@dataclass(frozen=True)
class Column:
    """One output column."""

    name: str
    definition: str
    units: str
    formula: str = ""
    convention: str = ""


@dataclass(frozen=True)
class OutputTable:
    """A table the library returns or writes, and its columns in order."""

    key: str
    title: str
    where: str
    description: str
    columns: tuple[Column, ...]


def _c(name: str, definition: str, units: str, formula: str = "", convention: str = "") -> Column:
    return Column(name, definition, units, formula, convention)


_KEYS = (
    _c("scenario", "Scenario name.", TEXT),
    _c("tranche", "Class name, as in the deal spec.", TEXT),
)
_PERIOD = (
    _c("period", "Payment period, 1 = the first payment date of the run.", "integer"),
    _c("date", "Payment date of the period.", "date"),
)
_YIELD_CONV = (
    "nominal annual, compounded at the deal's payment frequency unless `compounding=` says "
    "otherwise; times in years by the deal's day count from settlement (+ payment delay)"
)

_SUMMARY = {
    "scenario": _c("scenario", "Scenario name.", TEXT),
    "tranche": _c("tranche", "Class name.", TEXT),
    "class": _c("class", "Kind of class: senior, mezzanine or equity.", TEXT),
    "original_balance": _c("original_balance", "Face of the class at closing.", CUR),
    "balance": _c(
        "balance",
        "Interest-bearing balance at settlement: after the last payment on or before it.",
        CUR,
    ),
    "coupon": _c("coupon", "Annual coupon rate (first accrual period).", DEC),
    "price": _c(
        "price",
        "Clean price. For the residual holder's row (the first equity class, unless "
        "`prices=` names it) the outlay by sources and uses in percent of the class balance.",
        PCT,
        "residual: 100 x (pool price x pool + reserve - sum of rated full prices x balances) / B",
        "clean; see `price_basis`",
    ),
    "accrued_interest": _c(
        "accrued_interest",
        "Coupon accrued from the last payment date (or closing) to settlement.",
        PCT,
        "100 x coupon x yf(last payment date, settlement)",
        "the deal's day count",
    ),
    "full_price": _c(
        "full_price", "Clean price plus accrued interest.", PCT, "price + accrued_interest"
    ),
    "price_basis": _c(
        "price_basis",
        "What the price is: `clean, % of class balance` for a note, or the residual holder's "
        "outlay (sources and uses).",
        TEXT,
    ),
    "yield": _c(
        "yield",
        "Yield (for the residual holder: IRR) that discounts the flows after settlement to "
        "the full price paid. NaN, with `yield_reason`, when not meaningful.",
        DEC,
        "sum_k CF_k (1 + y/m)^(-m t_k) = full price x balance / 100",
        _YIELD_CONV,
    ),
    "effective_yield": _c(
        "effective_yield",
        "The yield as an annual effective rate.",
        DEC,
        "(1 + yield/m)^m - 1; exp(yield) - 1 when continuous",
        "annual effective",
    ),
    "yield_reason": _c(
        "yield_reason",
        "Empty when the yield is meaningful; otherwise why it is NaN: no payment after "
        "settlement, no balance, outlay not positive, cash returned below "
        f"{MIN_CASH_MULTIPLE:.0%} of the outlay, an IRR at or below -100%, no sign change.",
        TEXT,
    ),
    "cash_multiple": _c(
        "cash_multiple",
        "Cash received after settlement over what was paid (undiscounted).",
        "multiple",
        "sum CF / (full price x balance / 100)",
    ),
    "wal": _c(
        "wal",
        "Weighted average life of the principal paid after settlement.",
        YEARS,
        "sum t_k principal_k / sum principal_k",
        "years by the deal's day count from settlement",
    ),
    "modified_duration": _c(
        "modified_duration",
        "Relative price sensitivity to the yield.",
        YEARS,
        "-(dP/dy) / P = Macaulay / (1 + y/m)",
        "at the yield, its compounding",
    ),
    "macaulay_duration": _c(
        "macaulay_duration",
        "Present-value-weighted mean time of the flows.",
        YEARS,
        "sum t_k CF_k DF_k / P",
        "at the yield, its compounding",
    ),
    "convexity": _c(
        "convexity",
        "Second derivative of price in yield over price.",
        "years squared",
        "sum t_k (t_k + 1/m) CF_k DF_k / (P (1 + y/m)^2)",
        "at the yield, its compounding",
    ),
    "first_principal": _c("first_principal", "First payment date with principal paid.", "date"),
    "last_principal": _c("last_principal", "Last payment date with principal paid.", "date"),
    "expected_final": _c("expected_final", "Last payment date with any cash paid.", "date"),
    "principal_loss_share": _c(
        "principal_loss_share",
        "Principal never repaid (the final crystallised claim), a share of the original "
        "balance. Was `principal_loss_pct`, which held the same fraction.",
        DEC,
        "sum principal_loss / original_balance",
    ),
    "interest_shortfall_share": _c(
        "interest_shortfall_share",
        "Interest still unpaid at the end of the run, a share of the original balance. Was "
        "`interest_shortfall`.",
        DEC,
        "interest_shortfall[last period] / original_balance",
    ),
    "min_oc": _c(
        "min_oc",
        "Lowest over-collateralisation ratio of the class over the run, closing included.",
        "ratio",
        "min over closing and every period end of (performing pool + reserve) / balances "
        "at or above the class's rank",
    ),
    "min_ic": _c(
        "min_ic",
        "Lowest interest-coverage ratio of the class over the run.",
        "ratio",
        "min_t (interest and fee collections - fees owed) / interest due at or above its rank",
    ),
    "credit_enhancement": _c(
        "credit_enhancement",
        "Credit enhancement at the start of the run: subordination + OC + reserve.",
        "share of the pool, decimal",
        "(pool + reserve - balances at or above the class's rank) / pool",
    ),
    "min_credit_enhancement": _c(
        "min_credit_enhancement",
        "Lowest credit enhancement of the class over the run.",
        "share of the pool, decimal",
    ),
}

_BREAKEVEN = {
    "tranche": _c("tranche", "Class name.", TEXT),
    "lever": _c(
        "lever",
        "`default_mult`: multiple of the base default curve; `cdr`: a constant annual default "
        "rate replacing it.",
        TEXT,
    ),
    "on": _c(
        "on", "`principal`: a final principal loss; `interest`: any interest left unpaid.", TEXT
    ),
    "breakeven": _c(
        "breakeven",
        "Smallest stress at which the class first loses (0: loses unstressed; inf: not up to "
        "`upper`). Scan from zero, bisect the first failing step.",
        "lever units: multiple (x) or CDR (decimal)",
        "",
        "the failing end of the final bracket",
    ),
    "tolerance": _c("tolerance", "Width of the final bracket below the break-even.", "lever units"),
    "monotone": _c(
        "monotone",
        "True when no level above a failing one passes, among those scanned (up to `scanned_to`).",
        "boolean",
    ),
    "scan_step": _c("scan_step", "Step of the scan grid: its resolution.", "lever units"),
    "scanned_to": _c("scanned_to", "Highest stress looked at.", "lever units"),
    "cumulative_net_loss": _c(
        "cumulative_net_loss",
        "Cumulative net loss of the deal's own collateral at the break-even.",
        "share of `cnl_base`, decimal",
        "sum (defaults - recoveries) / (cut-off pool + receivables bought), over the run",
    ),
    "base_cumulative_net_loss": _c(
        "base_cumulative_net_loss", "The same in the base case.", "share of `cnl_base`, decimal"
    ),
    "loss_coverage_multiple": _c(
        "loss_coverage_multiple",
        "Break-even as a multiple of the base-case cumulative net loss (rating-agency units).",
        "multiple (x)",
        "cumulative_net_loss / base_cumulative_net_loss",
    ),
    "cnl_base": _c("cnl_base", "What the CNL is a share of.", TEXT),
    "passes": _c("passes", "Engine runs spent.", "integer"),
}

_SIZING = {
    "tranche": _c("tranche", "Class name.", TEXT),
    "class": _c("class", "senior, mezzanine or equity.", TEXT),
    "rank": _c("rank", "Seniority, 1 = most senior; equal ranks are pari passu.", "integer"),
    "size": _c(
        "size", "Face at closing, a share of the cut-off pool.", "share of the pool, decimal"
    ),
    "balance": _c("balance", "Face at closing.", CUR),
    "coupon": _c("coupon", "Annual coupon.", DEC),
    "wal": _c("wal", "Base-case WAL.", YEARS, "", "years by the deal's day count from closing"),
    "target": _c("target", "Stress the class must survive from zero up to.", "`target_units`"),
    "target_units": _c(
        "target_units", "`default_mult` or `cnl_multiple` (of the base-case CNL).", TEXT
    ),
    "target_default_mult": _c(
        "target_default_mult",
        "The target as a multiple of the base default curve (converted on the deal as given).",
        "multiple (x)",
    ),
    "breakeven_multiple": _c(
        "breakeven_multiple", "First-loss break-even of the sized deal.", "multiple (x)"
    ),
    "breakeven_cnl_multiple": _c(
        "breakeven_cnl_multiple",
        "The break-even as a multiple of the base-case CNL.",
        "multiple (x)",
    ),
    "monotone": _c("monotone", "As in the break-even table.", "boolean"),
    "binding": _c(
        "binding",
        "What stopped the class growing: its target, or the named constraint.",
        TEXT,
    ),
    "credit_enhancement": _c(
        "credit_enhancement",
        "Subordination + OC + reserve at closing.",
        "share of the pool, decimal",
    ),
    "yield": _c(
        "yield",
        "Base-case yield at par; the equity row: the residual holder's IRR on its outlay.",
        DEC,
        "",
        _YIELD_CONV,
    ),
    "effective_yield": _c("effective_yield", "The same, annual effective.", DEC),
    "irr_meaningful": _c(
        "irr_meaningful", "False where the yield is NaN (see the reason).", "boolean"
    ),
    "yield_reason": _c("yield_reason", "Why the yield is NaN, if it is.", TEXT),
}

_SIZING_SUMMARY = (
    _c("advance_rate", "Rated notes / pool.", DEC),
    _c("over_collateralisation", "Pool less every note, a share of the pool.", DEC),
    _c(
        "retention",
        "Residual holder's first-loss stake: equity notes + OC, share of the pool.",
        DEC,
    ),
    _c(
        "cost_of_debt",
        "Weighted average coupon of the rated notes.",
        DEC,
        "sum coupon x balance x WAL / sum balance x WAL",
    ),
    _c(
        "excess_spread",
        "Base-case annualised excess spread, weighted by pool balance.",
        DEC,
        "sum excess_spread_t x pool_t / sum pool_t",
    ),
    _c(
        "equity_irr",
        "Residual holder's IRR on its outlay (sources and uses).",
        DEC,
        "",
        _YIELD_CONV,
    ),
    _c("equity_irr_effective", "The same, annual effective.", DEC),
    _c("equity_irr_reason", "Why the IRR is NaN, if it is.", TEXT),
    _c("engine_runs", "Engine runs spent.", "integer"),
)

_TRANCHE_FIELDS = {
    "begin_balance": ("Interest-bearing balance B at the start of the period.", CUR),
    "interest_due": ("Interest accrued in the period.", CUR),
    "interest_paid": ("Interest paid, reserve draws included.", CUR),
    "interest_shortfall": ("Unpaid interest carried at the end of the period.", CUR),
    "principal_paid": ("Principal paid.", CUR),
    "writedown": ("Balance written down in the period.", CUR),
    "reinstatement": ("Write-downs written back up in the period.", CUR),
    "unreimbursed_writedown": ("Write-downs not yet reinstated, at the period's end.", CUR),
    "pdl": ("The class's share of the principal deficiency ledger at the period's end.", CUR),
    "end_balance": ("Interest-bearing balance at the end of the period.", CUR),
    "principal_loss": (
        "On the date the scenario ends only (the first payment date after which no cash can "
        'arrive: `docs/waterfall.md`, "End of a scenario"): the claim never repaid.',
        CUR,
    ),
    "residual": ("Paid to the residual holder (the equity class).", CUR),
}
_POOL_FIELDS = {
    "begin_balance": "Performing pool balance at the start of the period.",
    "scheduled_principal": "Scheduled principal collected.",
    "prepayment": "Voluntary prepayments collected.",
    "default": "Balance newly defaulted.",
    "interest": "Interest collected.",
    "fee": "Fees (flat instalment fees) collected.",
    "recovery": "Recoveries on defaulted balances.",
    "loss": "Defaulted balance written off at liquidation (no recovery).",
    "advanced_principal": "Principal advanced by the servicer.",
    "advanced_interest": "Interest advanced by the servicer.",
    "end_balance": "Performing pool balance at the end of the period.",
    "purchases": "Receivables bought in the revolving period (principal).",
    "sale": "Proceeds of a clean-up call.",
}
_ACCOUNT_FIELDS = {
    "reserve_funding": "Initial reserve funded by the residual holder (period 1).",
    "revenue": "Revenue: interest, fees, advanced interest (and recoveries when they go to interest).",
    "principal_collections": "Principal collections (and recoveries when they go to principal).",
    "reserve_begin": "Reserve balance at the start of the period.",
    "reserve_release": "Reserve released (to revenue, or to the residual holder).",
    "reserve_draw": "Reserve drawn to cover a shortfall.",
    "reserve_deposit": "Paid into the reserve.",
    "reserve_end": "Reserve balance at the end of the period.",
    "reserve_target": "Reserve target of the period.",
    "pdl": "Principal deficiency ledger: defaults not yet covered.",
    "cumulative_default": "Defaults so far.",
    "purchase_cash": "Cash spent on revolving purchases.",
    "residual": "Paid to the residual holder in the period.",
    "excess_spread": "Annualised excess spread: (revenue - fees due - rated interest due) / pool.",
    "oc_collateral": "Performing pool + reserve at the period's end.",
    "interest_after_fees": "Interest and fee collections less fees owed: the IC numerator.",
    "defaulted_pending": "Defaulted balance still awaiting recovery.",
}


def _ordered(spec: dict[str, Column], names: tuple[str, ...]) -> tuple[Column, ...]:
    missing = [n for n in names if n not in spec]
    if missing:
        raise KeyError(f"glossary lacks {missing}")
    return tuple(spec[n] for n in names)


def _fields(
    doc: dict[str, tuple[str, str]] | dict[str, str], names: tuple[str, ...], unit: str = CUR
) -> tuple[Column, ...]:
    out = []
    for n in names:
        entry = doc.get(n, ("(undocumented)", unit))
        text, u = entry if isinstance(entry, tuple) else (entry, unit)
        conv = "annualised, decimal" if n == "excess_spread" else ""
        out.append(_c(n, text, "decimal" if n == "excess_spread" else u, "", conv))
    return tuple(out)


TABLES: tuple[OutputTable, ...] = (
    OutputTable(
        "summary",
        "Run summary",
        "`AnalysedRun.summary()`; `summary.csv` and the `summary` sheet of `report.xlsx`",
        "One row per scenario and class. `attrs['conventions']` holds each convention-bearing "
        "column's convention for the run (compounding, day count, settlement).",
        _ordered(_SUMMARY, SUMMARY_COLUMNS),
    ),
    OutputTable(
        "sources_and_uses",
        "Sources and uses at closing",
        "`AnalysedRun.sources_and_uses()`; the Notes section of the report",
        "Who pays for the pool and the reserve. The residual holder's total is the outlay its "
        "IRR is measured on (`attrs['residual_outlay']`).",
        (
            _c("side", "`uses` or `sources`.", TEXT),
            _c("item", "What the line is (totals: `Total uses`, `Total sources`).", TEXT),
            _c("tranche", "The class the line belongs to, if any.", TEXT),
            _c("amount", "Amount at closing.", CUR),
            _c("share_of_pool", "Amount over the cut-off pool.", "share of the pool, decimal"),
        ),
    ),
    OutputTable(
        "prices_from_yields",
        "Prices from yields",
        "`AnalysedRun.prices_from_yields()`, `analytics.yield_price()`",
        "Clean and full price of each class at a yield, per scenario.",
        (
            *_KEYS,
            _c("yield", "The yield priced at.", DEC, "", _YIELD_CONV),
            _c("effective_yield", "The same, annual effective.", DEC),
            _SUMMARY["price"],
            _SUMMARY["accrued_interest"],
            _SUMMARY["full_price"],
            _c("value", "Present value of the flows after settlement.", CUR, "sum CF_k DF_k"),
        ),
    ),
    OutputTable(
        "price_yield",
        "Yields from prices",
        "`analytics.price_yield()`",
        "Yield of each class at each clean price, per scenario (an equity class priced as a note).",
        (
            *_KEYS,
            _c("price", "Clean price priced at.", PCT),
            _SUMMARY["accrued_interest"],
            _SUMMARY["full_price"],
            _SUMMARY["yield"],
            _SUMMARY["effective_yield"],
            _SUMMARY["yield_reason"],
        ),
    ),
    OutputTable(
        "coverage",
        "Coverage by period",
        "`AnalysedRun.coverage()`",
        "OC, IC and credit enhancement per scenario, period and class; a class counts every "
        "class of its rank or above.",
        (
            _KEYS[0],
            *_PERIOD,
            _KEYS[1],
            _c("oc", "Over-collateralisation ratio.", "ratio", "(pool + reserve) / N_j"),
            _c(
                "ic",
                "Interest-coverage ratio.",
                "ratio",
                "(interest and fee collections - fees owed) / interest due at or above the rank",
            ),
            _c(
                "credit_enhancement",
                "Credit enhancement.",
                "share of the pool, decimal",
                "(pool + reserve - N_j) / pool",
            ),
            _c("excess_spread", "Annualised excess spread of the period.", DEC),
        ),
    ),
    OutputTable(
        "z_spreads",
        "Z-spreads",
        "`AnalysedRun.z_spreads()`",
        "Constant spread over a zero curve that prices the flows after settlement to the full price.",
        (
            *_KEYS,
            _c(
                "z_spread",
                "The spread.",
                DEC,
                "sum CF_k (1 + (z_k + s)/m)^(-m t_k) = full price",
                "compounded like the curve",
            ),
            _c("reason", "Why the spread is NaN, if it is.", TEXT),
        ),
    ),
    OutputTable(
        "breakeven",
        "Break-even",
        "`analytics.breakeven()`; the `breakeven` sheet of `report.xlsx`",
        "First-loss break-even per class.",
        _ordered(_BREAKEVEN, BREAKEVEN_COLUMNS),
    ),
    OutputTable(
        "sizing",
        "Sizing, per class",
        "`Sizing.tranches` from `analytics.size()`",
        "The sized structure.",
        _ordered(_SIZING, SIZING_COLUMNS),
    ),
    OutputTable(
        "sizing_summary",
        "Sizing, the funding",
        "`Sizing.summary()`",
        "A Series: the funding figures of the sized deal.",
        _SIZING_SUMMARY,
    ),
    OutputTable(
        "scenario_comparison",
        "Scenario comparison",
        "`analytics.scenario_comparison()`",
        "One row per run, scenario, class and measure (tidy).",
        (
            _c("run", "Run name (one run: `run`).", TEXT),
            *_KEYS,
            _c("measure", "A column of the summary (see above).", TEXT),
            _c("value", "Its value.", "see `units`"),
            _c("units", "Units of the measure.", TEXT),
        ),
    ),
    OutputTable(
        "tranche_cashflows",
        "Note cash flows",
        "`RunResult.tranche_cashflows`; `cashflows.parquet` (with the pool columns prefixed `pool_`)",
        "One row per scenario, period and class; the rules are in `docs/waterfall.md`.",
        (_KEYS[0], *_PERIOD, _KEYS[1], *_fields(_TRANCHE_FIELDS, TRANCHE_FIELDS)),
    ),
    OutputTable(
        "pool_cashflows",
        "Pool collections by payment period",
        "`RunResult.pool_cashflows`",
        "One row per scenario and period, purchased receivables included.",
        (_KEYS[0], *_PERIOD, *_fields(_POOL_FIELDS, POOL_FIELDS)),
    ),
    OutputTable(
        "accounts",
        "Deal accounts",
        "`RunResult.accounts`",
        "Reserve, PDL and the other deal-level amounts per scenario and period.",
        (_KEYS[0], *_PERIOD, *_fields(_ACCOUNT_FIELDS, ACCOUNT_FIELDS)),
    ),
    OutputTable(
        "fees",
        "Fees",
        "`RunResult.fees`",
        "Fees per scenario, period and fee.",
        (
            _KEYS[0],
            *_PERIOD,
            _c("fee", "Fee name.", TEXT),
            *_fields(
                {
                    "due": "Due in the period plus unpaid before.",
                    "paid": "Paid.",
                    "unpaid": "Carried unpaid.",
                },
                FEE_FIELDS,
            ),
        ),
    ),
    OutputTable(
        "ledger",
        "Ledger",
        "`RunResult.ledger`; `ledger.parquet`",
        "Every movement of cash (non-zero amounts).",
        (
            _KEYS[0],
            *_PERIOD,
            _c("step", "Waterfall step that moved the cash.", TEXT),
            _c("from", "Account the cash left.", TEXT),
            _c("to", "Account the cash reached.", TEXT),
            _c("amount", "Amount moved.", CUR),
        ),
    ),
)

_INTRO = """\
# Output columns

Every column the analytics return or a run writes: what it is, its formula,
its units and its convention. This file is generated from
`abs_engine/analytics/glossary.py` (`python -m abs_engine.analytics.glossary >
docs/outputs.md`); `tests/analytics/test_glossary.py` checks that it is current
and that each table has exactly these columns.

## Units, by name

* **Shares and rates are decimals**: `0.051` is 5.1%. This covers yields, IRRs,
  coupons, spreads, credit enhancement, excess spread, cumulative net loss and
  every name ending in `_share`. (`principal_loss_pct`, which held a fraction,
  is now `principal_loss_share`; `interest_shortfall` in the summary is now
  `interest_shortfall_share`.)
* **Prices are percent of a balance**, as markets quote them: `price`,
  `accrued_interest`, `full_price` are percent of the class balance at
  settlement (99.5, not 0.995).
* **Multiples** (`*_multiple`, a `default_mult` break-even, OC and IC ratios)
  are plain ratios: `4.0` is 4x.
* **Amounts** are in the deal currency; **times** (WAL, durations) in years by
  the deal's day count; dates are dates.

## Conventions

* A yield is a **nominal annual rate compounded at the deal's payment
  frequency** (monthly for a monthly deal) unless `compounding=` says
  otherwise, with times in years by the deal's day count from settlement plus
  any payment delay; `effective_yield` beside it is the annual effective
  rate. Frames carry the run's exact convention in `attrs["conventions"]`; the
  report prints it in table headers and footnotes.
* Prices are **clean**; full price = clean + accrued interest by the deal's day
  count from the last payment date; flows on or before settlement belong to
  the seller.
* The **residual holder** (the first equity class, holding every equity class)
  is priced on its outlay by sources and uses -- equity notes +
  over-collateralisation + initial reserve at par -- and its yield is the
  equity IRR on that outlay.
* A yield that is not meaningful is **NaN with a reason** (`yield_reason`),
  never a number such as -151%.
* Break-evens are the **first loss**: the stress is scanned from zero, and the
  first failing step bisected; `loss_coverage_multiple` restates a break-even
  as a multiple of the base-case cumulative net loss of the deal's own
  collateral (its base in `cnl_base`).
"""


_WIDE = """
## Wide tables

Their columns are levels chosen by the caller, so they are described here
rather than column by column.

* **Decrement table** (`analytics.decrement_table()`; the report's prospectus
  tables): one frame per class; rows are `Closing` and the dates closing + k x
  1, 3 or 12 months (`step=`), then `WAL (years)`; one column per prepayment
  speed (`"100% of base"`, or `"20% CPR"` with `cpr=`). Cells: percent of the
  class's original balance outstanding after the last payment on or before
  the date (100 = untouched); the last row is the WAL in years from closing by
  the deal's day count. `attrs["units"]` says so.
* **Price/yield table** (`analytics.price_yield_table()`): one class; rows are
  clean prices (percent of the balance at settlement), one column per
  scenario; cells are yields (decimal), quoted as in `attrs["conventions"]`.
* **Stress table** (`analytics.stress_table()`): rows are class x recovery
  haircut x prepayment multiple, columns default multiples (`"4x"`); `True`
  where the class loses no principal (or misses no interest) in that
  scenario. A recovery haircut `h` cuts the recovery rate by the share `h`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def glossary_markdown() -> str:
    """``docs/outputs.md``: the intro, then one table per output."""
    parts = [_INTRO, _WIDE]
    for t in TABLES:
        parts.append(f"\n## {t.title}\n\n{t.where}. {t.description}\n\n")
        parts.append("| column | definition | formula | units | convention |\n")
        parts.append("|---|---|---|---|---|\n")
        for c in t.columns:
            formula = f"`{_cell(c.formula)}`" if c.formula else ""
            parts.append(
                f"| `{c.name}` | {_cell(c.definition)} | {formula} | {_cell(c.units)} | "
                f"{_cell(c.convention)} |\n"
            )
    return "".join(parts)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(glossary_markdown())
