"""The deal spec's schema: every table and key of the TOML, with type, default and meaning.

The TOML readers in :mod:`abs_engine.deal.spec` accept exactly the keys listed
here (an unknown key is an error naming the closest one), and
``docs/deal-spec.md`` is rendered from this module
(``python -m abs_engine.deal.schema > docs/deal-spec.md``); a test checks that
the page equals the rendering and that :data:`EXAMPLE` — a complete deal using
every key — loads, so the reference cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXAMPLE", "TABLES", "Key", "Table", "keys", "render_markdown"]


@dataclass(frozen=True)
class Key:
    """One key of a table: its TOML type, default, meaning (with unit) and an example value."""

    name: str
    type: str
    default: str
    doc: str
    example: str | None = None


@dataclass(frozen=True)
class Table:
    """A table of the spec (``[dates]``) or an array of tables (``[[tranches]]``)."""

    path: str
    doc: str
    keys: tuple[Key, ...]
    array: bool = False

    @property
    def header(self) -> str:
        """The TOML header: ``[dates]``, ``[[tranches]]``, or the top level."""
        if not self.path:
            return "(top level)"
        return f"[[{self.path}]]" if self.array else f"[{self.path}]"


REQUIRED = "required"

TABLES: tuple[Table, ...] = (
    Table(
        "",
        "The deal's name and conventions, and the tables below.",
        (
            Key("name", "string", REQUIRED, "Deal name (no control characters).", '"Baitiao 2015"'),
            Key("currency", "string", '"CNY"', "Currency code shown in reports.", '"CNY"'),
            Key(
                "loss_allocation",
                '"writedown" | "pdl" | "none"',
                '"writedown"',
                "How losses reach the notes. `writedown`: a class whose balance exceeds the "
                "performing pool is written down (most junior rank first) and reinstated (most "
                "senior first) when collateral or spread comes back; interest accrues on the "
                "written-down balance. `pdl`: losses sit in the principal deficiency ledger; "
                "notes keep their balance until the deal ends (the first payment date after "
                "which no cash can arrive), when what is unpaid is written off. `none`: notes "
                "are never written down; what is unpaid when the deal ends stays outstanding "
                "and is reported as `principal_loss`.",
                '"writedown"',
            ),
            Key(
                "recoveries_to",
                '"principal" | "interest"',
                '"principal"',
                "Whether recoveries on defaulted receivables are principal funds (they then "
                "reduce the PDL) or revenue.",
                '"principal"',
            ),
            Key(
                "junior_interest_after_pdl",
                "bool",
                "false",
                "Pay the interest of every rated class below the top rank after "
                "`cover_defaults` (junior interest subordinated to curing the PDL).",
                "false",
            ),
        ),
    ),
    Table(
        "dates",
        "Key dates, payment frequency and day count. Pool month 1 is the calendar month "
        "after the cut-off; a payment date collects the pool months before its own month.",
        (
            Key("cutoff", "date", REQUIRED, "Pool cut-off date (use a month end).", "2015-09-30"),
            Key(
                "closing",
                "date",
                REQUIRED,
                "Notes issued; interest accrues from here to the first payment date.",
                "2015-10-28",
            ),
            Key("first_payment", "date", REQUIRED, "First payment date.", "2015-11-26"),
            Key("legal_final", "date", REQUIRED, "The run stops here at the latest.", "2018-10-26"),
            Key(
                "frequency",
                '"monthly" | "quarterly" | "semiannual" | months',
                '"monthly"',
                "Months between payment dates (1, 2, 3, 6 or 12).",
                '"monthly"',
            ),
            Key(
                "payment_day",
                "integer 1..31",
                "the first payment date's day",
                "Day of month of payment dates (clamped to the month end).",
                "26",
            ),
            Key(
                "day_count",
                "string",
                '"ACT/365F"',
                "Day count of note interest and fees: `ACT/365F`, `ACT/360`, `30/360 US`, "
                "`30/360 Bond Basis` (also `30/360`), `30E/360` or `ACT/ACT ISDA` (also "
                "`ACT/ACT`); other spellings in `abs_engine.daycount.ALIASES`.",
                '"ACT/365F"',
            ),
        ),
    ),
    Table(
        "pool",
        "The receivables and their base-case assumptions.",
        (
            Key(
                "tape",
                "path",
                "none (pass the pool to `run`)",
                "Receivables tape (parquet, CSV or Excel), relative to the spec file.",
                '"../pools/sample_pool.parquet"',
            ),
            Key("grades", "list of strings", '["A", "B", "C"]', "Grades of the pool.", None),
            Key(
                "assumptions",
                "path or table",
                REQUIRED,
                "Default, prepayment and recovery assumptions: a file path or an inline table "
                "(one set, or `[grades.X]` tables with a `[default]`); see `Assumptions`.",
                '"../pools/sample_assumptions.toml"',
            ),
        ),
    ),
    Table(
        "tranches",
        "The classes of notes, listed from senior to equity. One class is the equity "
        "(residual holder); it may take the rest of the pool (no `size` or `amount`).",
        (
            Key("name", "string", REQUIRED, "Class name (no `,` or `:`).", '"senior"'),
            Key(
                "class",
                '"senior" | "mezzanine" | "equity"',
                REQUIRED,
                "The class's kind.",
                '"senior"',
            ),
            Key("size", "number in (0, 1]", "—", "Share of the cut-off pool balance.", "0.72"),
            Key("amount", "number", "—", "Face amount (give `size` or `amount`).", None),
            Key(
                "coupon",
                "number or table",
                "0",
                "Annual coupon as a decimal (0.051 for 5.1%), or "
                "`{ rate = 0.065, steps = [{ from = 2016-11-20, rate = 0.075 }] }` to step up "
                "from accrual periods starting on or after `from`.",
                "0.051",
            ),
            Key(
                "deferrable",
                "bool",
                "false for senior, true otherwise",
                "Unpaid interest may be deferred; a non-deferrable class's interest is covered "
                "by the reserve unless `reserve.covers` says otherwise.",
                None,
            ),
            Key(
                "rank",
                "integer >= 1",
                "the position in the list",
                "Seniority (1 = most senior). Equal ranks are pari passu: they share "
                "write-downs, the PDL, reinstatements, OC and credit enhancement pro rata. Give "
                "every class a rank or none.",
            ),
            Key(
                "deferred_interest_accrues",
                "bool",
                "conventions.unpaid_interest",
                "Deferred interest itself bears interest at the coupon.",
                "false",
            ),
        ),
        array=True,
    ),
    Table(
        "fees",
        "Senior expenses, paid by the `fee:NAME` steps.",
        (
            Key("name", "string", REQUIRED, "Fee name (no `,` or `:`).", '"servicer"'),
            Key(
                "type",
                '"tax" | "fixed" | "pool_pct"',
                REQUIRED,
                "`tax`: `rate` x interest and fee collections of the period; `fixed`: `amount` "
                "a year by the day count while notes are outstanding; `pool_pct`: `rate` a year "
                "on the pool balance at the start of the collection period, by the day count.",
                '"pool_pct"',
            ),
            Key("rate", "number in (0, 1)", "—", "Rate (types `tax`, `pool_pct`).", "0.01"),
            Key("amount", "number", "—", "Amount a year (type `fixed`).", None),
            Key(
                "accrue_from",
                '"closing" | "cutoff"',
                '"closing"',
                "Start of the first period's accrual for `fixed` and `pool_pct` fees.",
                '"closing"',
            ),
        ),
        array=True,
    ),
    Table(
        "reserve",
        "The reserve (liquidity) account, funded at closing by the residual holder.",
        (
            Key(
                "initial", "share in [0, 1)", "0", "Deposit at closing, share of the pool.", "0.005"
            ),
            Key("target", "share in [0, 1)", "0", "Target, share of `basis`.", "0.01"),
            Key(
                "basis",
                '"notes" | "pool"',
                '"notes"',
                "What the target is a share of: the rated notes outstanding or the pool.",
                '"notes"',
            ),
            Key("floor", "number", "0", "Minimum target while rated notes are outstanding.", "0.0"),
            Key(
                "covers",
                "list of steps",
                "every fee and non-deferrable interest",
                "Interest-waterfall steps whose shortfall the reserve pays.",
                '["fee:servicer", "interest:senior"]',
            ),
            Key(
                "release_excess",
                "bool",
                "true",
                "Release any balance above target to the revenue.",
                "true",
            ),
        ),
    ),
    Table(
        "revolving",
        "Revolving period: principal collections buy new receivables (the `reinvest` step).",
        (
            Key("periods", "integer >= 1", REQUIRED, "Payment periods of purchases.", "12"),
            Key(
                "price",
                "number",
                "1.0",
                "Price per unit of principal bought (1.0 = par); a premium is paid from "
                "spread before the residual (waterfall.md step 7).",
                "1.0",
            ),
            Key(
                "template",
                "array of tables",
                REQUIRED,
                "What is bought: `[[revolving.template]]` lines.",
                None,
            ),
        ),
    ),
    Table(
        "revolving.template",
        "One product bought in the revolving period; shares are normalised.",
        (
            Key("grade", "string", REQUIRED, "A grade of the pool.", '"A"'),
            Key(
                "payment_type",
                "string",
                REQUIRED,
                "`annuity`, `equal_principal`, `flat_fee` or `bullet` (or their aliases).",
                '"flat_fee"',
            ),
            Key("term", "integer 1..360", REQUIRED, "Term in months.", "6"),
            Key("share", "number > 0", REQUIRED, "Share of purchases.", "1.0"),
            Key("rate", "number in [0, 1)", "0", "Annual interest rate.", "0.0"),
            Key(
                "fee_rate",
                "number in [0, 1)",
                "0",
                "Monthly flat fee on the original balance.",
                "0.006",
            ),
        ),
        array=True,
    ),
    Table(
        "triggers",
        "Tests evaluated every period; a breach acts from the next period.",
        (
            Key("name", "string", REQUIRED, "Trigger name.", '"early_amortisation"'),
            Key(
                "type",
                "string",
                REQUIRED,
                "`cumulative_default` (cumulative defaults / (cut-off pool + purchases) above "
                "`level`), `excess_spread` (average annualised excess spread over `periods` "
                "below `level`), `oc` ((performing pool + reserve) / (class and every class "
                "ranking ahead or equal) below `level`), `ic` ((collateral interest and fee "
                "collections - fees owed) / interest due on the class and every class ranking "
                "ahead or equal, below `level`), `interest_shortfall` (the class's interest "
                "unpaid, any amount above the run's zero of 1e-9 of the cut-off pool).",
                '"cumulative_default"',
            ),
            Key(
                "level",
                "number",
                "— (none for interest_shortfall)",
                "Threshold: a decimal share for cumulative_default and excess_spread (0.04 "
                "for 4%), a ratio for oc and ic (1.05).",
                "0.04",
            ),
            Key(
                "tranche",
                "string",
                "the first senior class",
                "The class an oc, ic or interest_shortfall test is about.",
                None,
            ),
            Key("periods", "integer >= 1", "1", "Averaging window of `excess_spread`.", "1"),
            Key(
                "effects",
                "list of strings",
                REQUIRED,
                "`end_revolving`, `sequential`, `divert_excess_spread`, `post_default`.",
                '["end_revolving", "sequential"]',
            ),
            Key(
                "curable",
                "bool",
                "false",
                "The trigger clears when the test passes again.",
                "false",
            ),
        ),
        array=True,
    ),
    Table(
        "clean_up_call",
        "Optional redemption once the pool has fallen to `threshold` of its cut-off balance; "
        "exercised only where the proceeds, the period's principal funds and the reserve "
        "redeem every rated claim. The call date is the last payment date.",
        (
            Key(
                "threshold",
                "share in (0, 1)",
                REQUIRED,
                "Pool factor that allows the call.",
                "0.10",
            ),
            Key(
                "price", "number in (0, 1.5]", "1.0", "Price per unit of performing balance.", "1.0"
            ),
            Key(
                "accrued_interest",
                "bool",
                "true",
                "Add the interest accrued since the end of the collection period (the next "
                "period's pool interest pro rata to the days elapsed).",
                "true",
            ),
            Key(
                "defaulted_price",
                "share in [0, 1]",
                "none: the trust keeps collecting recoveries",
                "Price per unit of the defaulted balance awaiting recovery, bought with the "
                "pool; without it, recoveries keep arriving after the call.",
                None,
            ),
        ),
    ),
    Table(
        "waterfall",
        "The priorities of payments, lists of steps (see `docs/waterfall.md`): `fee:NAME`, "
        "`interest:CLASS` or `interest:A,B`, `principal:CLASS`, `pro_rata:A,B`, `reserve`, "
        "`cover_defaults`, `reinvest`, `residual`. Without this table the standard waterfall "
        "by rank applies.",
        (
            Key(
                "interest",
                "list of steps",
                REQUIRED,
                "Spends revenue.",
                '["fee:servicer", "interest:senior", "interest:mezzanine", "cover_defaults", '
                '"residual"]',
            ),
            Key(
                "principal",
                "list of steps",
                REQUIRED,
                "Spends principal funds.",
                '["principal:senior", "principal:mezzanine", "principal:subordinated", "residual"]',
            ),
            Key(
                "post_default",
                "list of steps",
                REQUIRED,
                "Spends everything (revenue, principal, reserve) after an event of default.",
                '["fee:servicer", "interest:senior", "principal:senior", "interest:mezzanine", '
                '"principal:mezzanine", "principal:subordinated", "residual"]',
            ),
        ),
    ),
    Table(
        "conventions",
        "Market conventions the deal's documents choose (see `Conventions`); the defaults "
        "change nothing.",
        (
            Key(
                "business_days",
                '"none" | "weekends" | "china_interbank" | "china_exchange"',
                '"none"',
                "Calendar of payment dates: a date on a non-business day moves by `roll`; "
                "interest and fees accrue between the moved dates. China's calendars come from "
                "the `holidays` package (public holidays and, for announced years, adjusted "
                "working days; exchanges stay closed on weekend working days).",
                '"china_interbank"',
            ),
            Key(
                "roll",
                '"following" | "modified_following" | "preceding"',
                '"following"',
                "How a payment date moves to a business day.",
                '"modified_following"',
            ),
            Key(
                "fee_day_count",
                "string",
                "the deal's day_count",
                "Day count of `fixed` and `pool_pct` fees (`ACT/365F`: actual days / 365).",
                '"ACT/365F"',
            ),
            Key(
                "fee_balance",
                '"begin" | "time_weighted"',
                '"begin"',
                "Balance of a `pool_pct` fee: the pool at the start of the collection period, "
                "or the average of the period's opening and closing balances.",
                '"begin"',
            ),
            Key(
                "unpaid_interest",
                '"carried" | "accrues"',
                '"carried"',
                "Whether deferred interest bears interest at the coupon (classes may override "
                "with `deferred_interest_accrues`).",
                '"carried"',
            ),
            Key(
                "engine",
                '"cohort" | "loan"',
                '"cohort"',
                "How the collateral is projected: exact cohorts, or receivable by receivable "
                "(`loan`, needed by `rounding`; slower by a small multiple). The pool "
                "conventions below are described with formulas and examples in "
                "[conventions.md](conventions.md); each default is the SIFMA Standard Formulas.",
                '"cohort"',
            ),
            Key(
                "prepayment_timing",
                '"end" | "start"',
                '"end"',
                "Prepayments at the end of the month after the scheduled payment, with a full "
                "month's interest (SIFMA), or at the start, before interest and scheduled "
                "principal (the prepaid balance earns no interest that month).",
                '"end"',
            ),
            Key(
                "default_order",
                '"sifma" | "default_first"',
                '"sifma"',
                "Default and prepayment as shares of the same balance (SIFMA), or defaults first "
                "on the beginning balance and prepayments on what did not default (survival "
                "(1-d)(1-p)).",
                '"sifma"',
            ),
            Key(
                "annual_to_periodic",
                '"monthly" | "act_365" | "act_360"',
                '"monthly"',
                "Annual rates (CDR, CPR) to a month's: 1-(1-a)^(1/12), or 1-(1-a)^(days/365) "
                "(/360) with `days` the actual days of the asset period between the receivables' "
                "payment dates (`receivable_payment_day`, rolled on `receivable_business_days`).",
                '"monthly"',
            ),
            Key(
                "loss_timing",
                '"liquidation" | "default"',
                '"liquidation"',
                "Loss recognised with the recovery, `recovery_lag` months after the default, or "
                "in the month of default.",
                '"liquidation"',
            ),
            Key(
                "rounding",
                '"none" | "floor" | "half_up" | "half_even"',
                '"none"',
                "Every money amount of each receivable rounded to the cent after each "
                'multiplication (needs `engine = "loan"`).',
                '"none"',
            ),
            Key(
                "amortisation",
                '"schedule" | "reamortise"',
                '"schedule"',
                "Annuity principal as the contractual share of the paying balance, or the level "
                "payment recomputed each month on the surviving balance over the remaining term "
                "(rounded as configured) less interest.",
                '"schedule"',
            ),
            Key(
                "coupon_decimals",
                "integer 0..12",
                "none (rate / 12)",
                "Decimals the monthly coupon rate / 12 is truncated to.",
                "8",
            ),
            Key(
                "flat_fee",
                '"schedule" | "survival"',
                '"schedule"',
                "Flat-fee instalments: the cut-off balance amortised evenly with the fee on the "
                "paying share, or the original instalment and fee times the survival factor "
                "(paying balance over the original schedule's balance).",
                '"schedule"',
            ),
            Key(
                "receivable_payment_day",
                "integer 1..31",
                "31 (the month end)",
                "Day of the month the receivables pay (clamped to the month end), for "
                "`annual_to_periodic`.",
                "31",
            ),
            Key(
                "receivable_business_days",
                '"none" | "weekends" | "china_interbank" | "china_exchange"',
                '"none"',
                "Calendar the receivables' payment dates are rolled on (`none`: not rolled).",
                '"none"',
            ),
            Key(
                "receivable_roll",
                '"following" | "modified_following" | "preceding"',
                '"following"',
                "How a receivable's payment date moves to a business day.",
                '"following"',
            ),
        ),
    ),
    Table(
        "state",
        "A seasoned deal's position (written by `RunResult.state_after` or a surveillance); "
        "the run re-projects from `as_of` with a current tape. Amounts per class are tables "
        "keyed by class name.",
        (
            Key("as_of", "date", REQUIRED, "End of the last collection period.", None),
            Key("balances", "table", REQUIRED, "Class balances outstanding.", None),
            Key("unpaid_interest", "table", "{}", "Deferred interest per class.", None),
            Key("writedowns", "table", "{}", "Unreimbursed write-down per class.", None),
            Key("unpaid_fees", "table", "{}", "Fees carried unpaid.", None),
            Key("reserve", "number", "0", "Reserve balance.", None),
            Key("cumulative_default", "number", "0", "Defaults so far.", None),
            Key("pdl", "number", "0", "Principal deficiency ledger (uncured losses).", None),
            Key("triggers", "table of bools", "{}", "Triggers breached so far.", None),
            Key("purchased", "number", "0", "Receivables bought in the revolving period.", None),
            Key(
                "original_pool_balance",
                "number",
                "the tape's balance",
                "Cut-off pool balance the notes were sized on.",
                None,
            ),
            Key(
                "excess_spread_history",
                "list of numbers",
                "[]",
                "Latest annualised excess spreads, oldest first.",
                None,
            ),
            Key(
                "defaulted_pending",
                "number",
                "0",
                "Defaulted balance still awaiting recovery.",
                None,
            ),
        ),
    ),
)


#: A complete deal that uses every key of every table (a mid-life state included).
EXAMPLE = """
name = "Example deal"
currency = "CNY"
loss_allocation = "writedown"
recoveries_to = "principal"
junior_interest_after_pdl = false

[dates]
cutoff = 2024-01-31
closing = 2024-02-20
first_payment = 2024-03-26
legal_final = 2026-12-26
frequency = "monthly"
payment_day = 26
day_count = "ACT/365F"

[pool]
tape = "pool.parquet"
grades = ["A", "B", "C"]

[pool.assumptions.default]
severity = 0.85
recovery_lag = 3

[pool.assumptions.grades.A]
default = { cdr = 0.02 }

[pool.assumptions.grades.B]
default = { cdr = 0.05 }

[pool.assumptions.grades.C]
default = { cdr = 0.10 }

[[tranches]]
name = "A1"
class = "senior"
size = 0.40
coupon = 0.045
rank = 1

[[tranches]]
name = "A2"
class = "senior"
size = 0.30
coupon = { rate = 0.048, steps = [{ from = 2025-03-26, rate = 0.058 }] }
deferrable = false
rank = 1

[[tranches]]
name = "B"
class = "mezzanine"
amount = 1500000.0
coupon = 0.07
deferred_interest_accrues = true
rank = 2

[[tranches]]
name = "sub"
class = "equity"
rank = 3

[[fees]]
name = "tax"
type = "tax"
rate = 0.0336

[[fees]]
name = "trustee"
type = "fixed"
amount = 300000.0
accrue_from = "cutoff"

[[fees]]
name = "servicer"
type = "pool_pct"
rate = 0.01

[reserve]
initial = 0.005
target = 0.01
basis = "notes"
floor = 100000.0
covers = ["fee:tax", "fee:servicer", "interest:A1,A2"]
release_excess = true

[revolving]
periods = 6
price = 1.0

[[revolving.template]]
grade = "A"
payment_type = "flat_fee"
term = 6
share = 0.7
rate = 0.0
fee_rate = 0.006

[[revolving.template]]
grade = "B"
payment_type = "annuity"
term = 12
share = 0.3
rate = 0.18
fee_rate = 0.0

[[triggers]]
name = "early_amortisation"
type = "cumulative_default"
level = 0.04
effects = ["end_revolving", "sequential"]

[[triggers]]
name = "spread"
type = "excess_spread"
level = 0.02
periods = 3
effects = ["divert_excess_spread"]
curable = true

[[triggers]]
name = "class_b_oc"
type = "oc"
tranche = "B"
level = 1.05
effects = ["divert_excess_spread"]

[[triggers]]
name = "event_of_default"
type = "interest_shortfall"
tranche = "A1"
effects = ["post_default"]

[clean_up_call]
threshold = 0.10
price = 1.0
accrued_interest = true
defaulted_price = 0.2

[conventions]
business_days = "china_interbank"
roll = "modified_following"
fee_day_count = "ACT/365F"
fee_balance = "time_weighted"
unpaid_interest = "carried"
engine = "cohort"
prepayment_timing = "end"
default_order = "sifma"
annual_to_periodic = "monthly"
loss_timing = "liquidation"
rounding = "none"
amortisation = "schedule"
coupon_decimals = 8
flat_fee = "schedule"
receivable_payment_day = 31
receivable_business_days = "none"
receivable_roll = "following"

[waterfall]
interest = [
    "fee:tax", "fee:trustee", "fee:servicer", "interest:A1,A2", "interest:B",
    "reserve", "cover_defaults", "residual",
]
principal = ["reinvest", "pro_rata:A1,A2", "principal:B", "principal:sub", "residual"]
post_default = [
    "fee:tax", "fee:trustee", "fee:servicer", "interest:A1,A2", "pro_rata:A1,A2",
    "interest:B", "principal:B", "principal:sub", "residual",
]

[state]
as_of = 2024-06-30
balances = { A1 = 3600000.0, A2 = 2900000.0, B = 1500000.0, sub = 950000.0 }
unpaid_interest = { B = 1200.0 }
writedowns = { sub = 50000.0 }
unpaid_fees = { trustee = 0.0 }
reserve = 81000.0
cumulative_default = 210000.0
pdl = 40000.0
triggers = { early_amortisation = false }
purchased = 2500000.0
original_pool_balance = 10000000.0
excess_spread_history = [0.031, 0.029]
defaulted_pending = 120000.0
"""


def keys(path: str) -> tuple[str, ...]:
    """The keys a table accepts, in documentation order (the top level: its tables too)."""
    if not path:
        tables = tuple(t.path for t in TABLES if t.path and "." not in t.path)
        return (*(k.name for k in TABLES[0].keys), *tables)
    for t in TABLES:
        if t.path == path:
            return tuple(k.name for k in t.keys)
    raise KeyError(path)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """``docs/deal-spec.md``: every table and key of the deal TOML."""
    out = [
        "# Deal spec reference",
        "",
        "<!-- Generated from abs_engine/deal/schema.py by `make docs`; "
        "a test keeps it equal to the code. -->",
        "",
        "A deal is one TOML file (`waterfalls/*.toml`), read by `abs_engine.load_deal`. "
        "Unknown keys are errors that name the key path and the closest known key. "
        "Amounts are in the deal's currency; rates and shares are decimals "
        "(0.051 for 5.1%). What happens on each payment date is `docs/waterfall.md`.",
        "",
    ]
    for t in TABLES:
        out += [f"## {t.header}", "", t.doc, "", "| key | type | default | meaning |"]
        out.append("|---|---|---|---|")
        for k in t.keys:
            out.append(f"| `{k.name}` | {_cell(k.type)} | {_cell(k.default)} | {_cell(k.doc)} |")
        example = [f"{k.name} = {k.example}" for k in t.keys if k.example is not None]
        if example:
            head = [] if not t.path else [t.header]
            out += ["", "```toml", *head, *example, "```"]
        out.append("")
    out += [
        "## A complete example",
        "",
        "Every key above, in one deal that loads (the test suite loads it).",
        "",
        "```toml",
        EXAMPLE.strip(),
        "```",
        "",
    ]
    return "\n".join(out)
