"""An independent model of the reconciliation example, in exact decimal arithmetic.

It computes every pool, note and fee cell of ``examples/reconcile/deal.toml`` on
``examples/reconcile/tape.csv`` and writes ``examples/reconcile/expected.csv``:

    python tests/reconcile/independent_model.py              # rewrite expected.csv
    python tests/reconcile/independent_model.py --check      # exit 1 if it would change

It is written from the documented rules — ``docs/conventions.md`` (the pool and deal
conventions), ``docs/collateral.md`` (the month of a receivable), ``docs/waterfall.md``
(the order of events on a payment date) and ``docs/deal-spec.md`` — not from the
engine's code: no ``abs_engine`` import, no numpy, :mod:`decimal` throughout, one
receivable and one period at a time.  It implements only what the example uses and
refuses any other setting.  The Chinese public holidays and adjusted working days
come from the ``holidays`` package; the business-day test and the rolling are here.

The rules, in the order they act (notation of the docs):

Receivable payment calendar (``annual_to_periodic = "act_365"``)
    Asset period ``k`` runs from the receivables' payment date in calendar month
    ``k - 1`` after the cut-off's month to the one in month ``k``; each date is
    ``receivable_payment_day`` (clamped to the month end) rolled on
    ``receivable_business_days`` by ``receivable_roll``.  A period of ``days`` days
    turns an annual rate ``a`` (CDR, CPR) into ``1 - (1 - a)^(days/365)``.
A receivable's month (``prepayment_timing = "start"``, ``default_order = "default_first"``)
    With performing balance ``P`` at the start of the month: default
    ``D = r(d P)``; prepayment at the start of the month ``PP = r(p (P - D))``; the
    paying balance ``Q = P - D - PP`` earns interest ``r(c Q)``, ``c`` the monthly
    coupon ``rate / 12`` truncated to ``coupon_decimals`` decimals.  ``r`` rounds to
    the cent (``rounding``) right after each multiplication or division that
    produces a money amount; cut-off balances are in cents already.
Annuity principal (``amortisation = "reamortise"``)
    ``pay = r(Q c / (1 - (1 + c)^-m))`` with ``m`` months left (this one included),
    scheduled principal ``pay - interest``.
Flat-fee instalments (``flat_fee = "survival"``)
    Original instalment ``I = r(OB / OT)`` and fee ``F = r(OB x fee_rate)``; the
    original schedule's balance ``SB = OB - j x I`` with ``j`` the instalments due
    before this month (``OT - remaining_term`` at cut-off, plus the months since);
    scheduled principal ``r(I x Q / SB)`` and fee ``r(F x Q / SB)``; the last
    instalment repays ``Q``.
Losses (``loss_timing = "default"``)
    Loss ``r(severity x D)`` in the month of default; the recovery ``D - loss``
    arrives ``recovery_lag`` months later.
Payment dates
    ``first_payment`` and then every month on ``payment_day`` (clamped to the month
    end), each rolled on ``business_days`` by ``roll``; payment period ``p``
    collects pool month ``p`` (the calendar month before its payment date).  The
    run's horizon is the period collecting the pool's last month with any possible
    cash (the longest remaining term plus the longest recovery lag of the pool's
    grades), never after the legal final; the run ends there, or earlier on the
    first payment date after which no cash can arrive (the pool at the end of its
    collection month and every later collection at most 1e-9 of the cut-off pool:
    ``docs/waterfall.md``, "End of a scenario").
Amounts due
    Note interest ``B c yf`` plus ``U c yf`` (``unpaid_interest = "accrues"``), ``yf``
    by the deal's day count from the previous payment date (the closing date for
    the first); owed ``= due + U``.  A ``pool_pct`` fee is ``rate x balance x
    yf_fee`` by ``fee_day_count``, the balance the average of the collection
    period's opening and closing pool balances (``fee_balance = "time_weighted"``),
    plus any fee carried unpaid.
Waterfalls (``docs/waterfall.md``, steps 1-16)
    Revenue = interest + fees; principal funds = scheduled principal + prepayments
    + recoveries; the PDL grows by defaults and falls by recoveries (never below
    zero).  The interest waterfall spends revenue on its steps (``cover_defaults``
    moves ``min(funds, PDL)`` to principal funds; ``residual`` pays the residual
    holder, or on the last payment date moves the rest to principal funds while a
    class has a claim); the principal waterfall spends principal funds.  With
    ``loss_allocation = "none"`` nothing is written down; what a class still owes
    on the last payment date is its ``principal_loss``.  The PDL is allocated to
    the classes' balances most junior first.  Deal-side amounts are not rounded.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import io
import sys
import tomllib
from collections.abc import Iterable
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import holidays

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "examples" / "reconcile" / "deal.toml"
EXPECTED = ROOT / "examples" / "reconcile" / "expected.csv"

ZERO, ONE, CENT = Decimal(0), Decimal(1), Decimal("0.01")
ROUNDING = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
#: Decimals written for the deal-side cells (pool cells are whole cents).
PLACES = Decimal("0.000001")

POOL_FIELDS = (
    "begin_balance", "scheduled_principal", "prepayment", "default", "interest", "fee",
    "recovery", "loss", "end_balance",
)  # fmt: skip
NOTE_FIELDS = (
    "begin_balance", "interest_due", "interest_paid", "interest_shortfall", "principal_paid",
    "writedown", "pdl", "end_balance", "principal_loss", "residual",
)  # fmt: skip
FEE_FIELDS = ("due", "paid", "unpaid")

#: What the model implements; any other setting in the deal is refused.
SUPPORTED = {
    "engine": {"loan"},
    "prepayment_timing": {"start"},
    "default_order": {"default_first"},
    "annual_to_periodic": {"act_365", "act_360"},
    "loss_timing": {"default"},
    "rounding": set(ROUNDING),
    "amortisation": {"reamortise"},
    "flat_fee": {"survival"},
    "fee_balance": {"begin", "time_weighted"},
    "unpaid_interest": {"carried", "accrues"},
    "business_days": {"none", "weekends", "china_interbank", "china_exchange"},
    "receivable_business_days": {"none", "weekends", "china_interbank", "china_exchange"},
    "roll": {"following", "modified_following", "preceding"},
    "receivable_roll": {"following", "modified_following", "preceding"},
}


# --- calendars -------------------------------------------------------------------------------


def _china(years: Iterable[int]) -> tuple[set[dt.date], set[dt.date]]:
    """China's public holidays and the weekend days declared working days."""
    cn = holidays.country_holidays("CN", years=sorted(set(years)))
    return set(cn), set(getattr(cn, "weekend_workdays", ()))


def business_day(day: dt.date, name: str) -> bool:
    """Whether ``day`` is a business day: weekends off, and China's holidays off, except
    the weekend days declared working days, on which the interbank market (not the
    exchanges) settles."""
    weekend = day.weekday() >= 5
    if name == "none":
        return True
    if name == "weekends":
        return not weekend
    off, on = _china([day.year])
    if day in off:
        return False
    if weekend:
        return name == "china_interbank" and day in on
    return True


def roll(day: dt.date, name: str, how: str) -> dt.date:
    """``day`` moved to a business day: following, modified following (following unless
    that leaves the month, then preceding) or preceding."""

    def search(d: dt.date, step: int) -> dt.date:
        while not business_day(d, name):
            d += dt.timedelta(days=step)
        return d

    if how == "preceding":
        return search(day, -1)
    later = search(day, 1)
    if how == "modified_following" and later.month != day.month:
        return search(day, -1)
    return later


def month_day(year: int, month: int, day: int) -> dt.date:
    """``day`` of a month, clamped to its last day."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def months_after(start: dt.date, n: int, day: int) -> dt.date:
    """Day ``day`` (clamped) of the ``n``-th calendar month after ``start``'s month."""
    year, month = divmod(start.year * 12 + start.month - 1 + n, 12)
    return month_day(year, month + 1, day)


def year_fraction(start: dt.date, end: dt.date, basis: str) -> Decimal:
    """Actual days over 365 or 360 (the day counts the example uses)."""
    days = Decimal((end - start).days)
    if basis in ("ACT/365F", "ACT/365"):
        return days / 365
    if basis == "ACT/360":
        return days / 360
    raise ValueError(f"the model has no day count {basis!r}")


# --- the deal ---------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """The deal TOML, with every setting checked against what the model implements."""
    with path.open("rb") as f:
        deal = tomllib.load(f)
    conv = deal.get("conventions", {})
    for key, value in conv.items():
        if key in SUPPORTED and value not in SUPPORTED[key]:
            raise ValueError(f"the model does not implement conventions.{key} = {value!r}")
    if deal.get("loss_allocation") != "none" or deal.get("recoveries_to", "principal") != (
        "principal"
    ):
        raise ValueError("the model implements loss_allocation = 'none', recoveries_to = principal")
    if any(k in deal for k in ("reserve", "revolving", "triggers", "clean_up_call", "state")):
        raise ValueError("the model has no reserve, revolving period, trigger, call or state")
    if deal["dates"].get("frequency", "monthly") not in ("monthly", 1):
        raise ValueError("the model is monthly")
    if any(f["type"] != "pool_pct" or "accrue_from" in f for f in deal.get("fees", [])):
        raise ValueError("the model implements pool_pct fees accruing from closing")
    return deal


def read_tape(path: Path) -> list[dict[str, object]]:
    """The receivables: balances and rates as exact decimals."""
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append(
                {
                    "grade": row["grade"],
                    "type": row["payment_type"],
                    "balance": Decimal(row["balance"]).quantize(CENT, ROUND_HALF_UP),
                    "original_balance": Decimal(row["original_balance"] or row["balance"]),
                    "rate": Decimal(row["rate"] or 0),
                    "fee_rate": Decimal(row["fee_rate"] or 0),
                    "original_term": int(row["original_term"]),
                    "remaining_term": int(row["remaining_term"]),
                }
            )
    return rows


# --- the pool, receivable by receivable ----------------------------------------------------------


def project_pool(deal: dict[str, Any], tape: list[dict[str, object]]) -> list[dict[str, Decimal]]:
    """Pool cash flows by pool month (index 0 = month 1), summed over receivables."""
    conv = deal["conventions"]
    mode = ROUNDING[conv["rounding"]]
    basis = 365 if conv["annual_to_periodic"] == "act_365" else 360
    pay_day = conv.get("receivable_payment_day", 31)
    cal = conv.get("receivable_business_days", "none")
    how = conv.get("receivable_roll", "following")
    decimals = conv.get("coupon_decimals")
    cutoff = deal["dates"]["cutoff"]
    grades = deal["pool"]["assumptions"]["grades"]

    def r(x: Decimal) -> Decimal:
        return x.quantize(CENT, mode)

    # docs/waterfall.md, "Calendar": the longest remaining term plus the longest lag of
    # the grades in the pool, whichever receivables they belong to
    horizon = max(int(t["remaining_term"]) for t in tape) + max(
        grades[str(t["grade"])]["recovery_lag"] for t in tape
    )
    dates = [roll(months_after(cutoff, k, pay_day), cal, how) for k in range(horizon + 1)]
    days = [(dates[k] - dates[k - 1]).days for k in range(1, horizon + 1)]
    months = [dict.fromkeys(POOL_FIELDS, ZERO) for _ in range(horizon)]

    for loan in tape:
        g = grades[str(loan["grade"])]
        cdr, cpr = Decimal(str(g["default"]["cdr"])), Decimal(str(g["prepay"]["cpr"]))
        severity, lag = Decimal(str(g["severity"])), int(g["recovery_lag"])
        rate = loan["rate"] / 12
        c = rate if decimals is None else rate.quantize(Decimal(10) ** -decimals, ROUND_FLOOR)
        OB, OT = loan["original_balance"], int(loan["original_term"])
        n = int(loan["remaining_term"])
        if loan["type"] == "flat_fee":
            instalment, fee0 = r(OB / OT), r(OB * loan["fee_rate"])
        P: Decimal = loan["balance"]
        for k in range(1, n + 1):
            m = n - k + 1  # months left, this one included
            d = ONE - (ONE - cdr) ** (Decimal(days[k - 1]) / basis)
            p = ONE - (ONE - cpr) ** (Decimal(days[k - 1]) / basis)
            default = r(d * P)
            prepay = r(p * (P - default))
            Q = P - default - prepay
            interest = r(c * Q)
            fee = ZERO
            if loan["type"] == "annuity":
                if m == 1:
                    principal = Q  # pay = r(Q (1 + c)) = Q + r(c Q)
                else:
                    pay = r(Q * c / (ONE - (ONE + c) ** -m))
                    principal = pay - interest
            elif loan["type"] == "flat_fee":
                j = OT - n + k - 1  # instalments due before this month
                scheduled = OB - j * instalment
                principal = Q if m == 1 else r(instalment * Q / scheduled)
                fee = r(fee0 * Q / scheduled)
            else:
                raise ValueError(f"the model has no payment type {loan['type']!r}")
            loss = r(severity * default)
            month = months[k - 1]
            month["begin_balance"] += P
            month["default"] += default
            month["prepayment"] += prepay
            month["interest"] += interest
            month["fee"] += fee
            month["scheduled_principal"] += principal
            month["loss"] += loss
            months[k - 1 + lag]["recovery"] += default - loss
            P = Q - principal
            month["end_balance"] += P
    return months


# --- the waterfall, period by period ------------------------------------------------------------


def payment_dates(deal: dict[str, Any], n: int) -> list[dt.date]:
    """The first ``n`` payment dates, rolled."""
    dates, conv = deal["dates"], deal.get("conventions", {})
    day = dates.get("payment_day", dates["first_payment"].day)
    out = []
    for k in range(n):
        unrolled = months_after(dates["first_payment"], k, day) if k else dates["first_payment"]
        moved = roll(unrolled, conv.get("business_days", "none"), conv.get("roll", "following"))
        if moved > dates["legal_final"]:
            break
        out.append(moved)
    return out


def run(deal: dict[str, Any], pool: list[dict[str, Decimal]]) -> list[dict[str, object]]:
    """Every cell of every period: the pool's, each class's and each fee's."""
    conv = deal["conventions"]
    dates = payment_dates(deal, len(pool))
    n = len(dates)
    cut_pool = pool[0]["begin_balance"]
    names = [t["name"] for t in deal["tranches"]]
    equity = next(t["name"] for t in deal["tranches"] if t["class"] == "equity")
    face = {t["name"]: Decimal(str(t["size"])) * cut_pool for t in deal["tranches"] if "size" in t}
    face[equity] = cut_pool - sum(face.values())
    coupon = {t["name"]: Decimal(str(t.get("coupon", 0))) for t in deal["tranches"]}
    accrues = {
        t["name"]: t.get("deferred_interest_accrues", conv.get("unpaid_interest") == "accrues")
        for t in deal["tranches"]
    }
    fees = {f["name"]: Decimal(str(f["rate"])) for f in deal.get("fees", [])}
    day_count = deal["dates"].get("day_count", "ACT/365F")
    fee_day_count = conv.get("fee_day_count", day_count)

    B = dict(face)
    U = dict.fromkeys(names, ZERO)
    unpaid_fee = dict.fromkeys(fees, ZERO)
    pdl = ZERO
    rows: list[dict[str, object]] = []
    previous = deal["dates"]["closing"]
    zero = cut_pool * Decimal("1e-9")  # the run's zero
    cash = ("scheduled_principal", "prepayment", "interest", "fee", "recovery")
    for i, date in enumerate(dates):
        cf = pool[i]
        later = sum((pool[j][k] for j in range(i + 1, n) for k in cash), ZERO)
        last = i == n - 1 or (cf["end_balance"] <= zero and later <= zero)
        row: dict[str, object] = {"period": i + 1, "date": date.isoformat()}
        row.update({f"pool_{k}": cf[k] for k in POOL_FIELDS})
        # 1-2. collections and the PDL
        revenue = cf["interest"] + cf["fee"]
        principal_funds = cf["scheduled_principal"] + cf["prepayment"] + cf["recovery"]
        pdl += cf["default"]
        pdl -= min(pdl, cf["recovery"])
        # 6. amounts due
        yf, yf_fee = (year_fraction(previous, date, b) for b in (day_count, fee_day_count))
        if conv.get("fee_balance", "begin") == "time_weighted":
            fee_base = (cf["begin_balance"] + cf["end_balance"]) / 2
        else:
            fee_base = cf["begin_balance"]
        fee_owed = {f: rate * fee_base * yf_fee + unpaid_fee[f] for f, rate in fees.items()}
        fee_paid = dict.fromkeys(fees, ZERO)
        due = {
            t: B[t] * coupon[t] * yf + (U[t] * coupon[t] * yf if accrues[t] else ZERO)
            for t in names
        }
        owed = {t: due[t] + U[t] for t in names}
        begin = dict(B)
        paid = dict.fromkeys(names, ZERO)
        principal = dict.fromkeys(names, ZERO)
        residual = ZERO

        def claim() -> bool:
            return any(B[t] > 0 for t in names)

        # 7. the interest waterfall spends revenue; 9. the principal waterfall principal funds
        for pocket in ("interest", "principal"):
            funds = revenue if pocket == "interest" else principal_funds
            for step in deal["waterfall"][pocket]:
                kind, _, target = step.partition(":")
                if kind == "fee":
                    x = min(funds, fee_owed[target] - fee_paid[target])
                    fee_paid[target] += x
                elif kind == "interest":
                    x = min(funds, owed[target] - paid[target])
                    paid[target] += x
                elif kind == "principal":
                    x = min(funds, B[target])
                    B[target] -= x
                    principal[target] += x
                elif kind == "cover_defaults" and pocket == "interest":
                    x = min(funds, pdl)
                    pdl -= x
                    principal_funds += x
                elif kind == "residual":
                    x = funds
                    if pocket == "interest" and last and claim():
                        principal_funds += x
                    else:
                        residual += x
                else:
                    raise ValueError(f"the model has no step {step!r} in the {pocket} waterfall")
                funds -= x
            if pocket == "interest":
                revenue = funds
            else:
                principal_funds = funds
        for f in fees:
            unpaid_fee[f] = fee_owed[f] - fee_paid[f]
            row.update(
                {f"{f}_due": fee_owed[f], f"{f}_paid": fee_paid[f], f"{f}_unpaid": unpaid_fee[f]}
            )
        # 15. the PDL by class, most junior first
        left, share = pdl, {}
        for t in reversed(names):
            share[t] = min(left, B[t])
            left -= share[t]
        for t in names:
            U[t] = owed[t] - paid[t]
            row.update(
                {
                    f"{t}_begin_balance": begin[t],
                    f"{t}_interest_due": due[t],
                    f"{t}_interest_paid": paid[t],
                    f"{t}_interest_shortfall": U[t],
                    f"{t}_principal_paid": principal[t],
                    f"{t}_writedown": ZERO,
                    f"{t}_pdl": share[t],
                    f"{t}_end_balance": B[t],
                    # 14. crystallisation (loss_allocation = "none"): unpaid at the end
                    f"{t}_principal_loss": B[t] if last else ZERO,
                    f"{t}_residual": residual if t == equity else ZERO,
                }
            )
        rows.append(row)
        previous = date
        if last:  # nothing can arrive after it: the scenario ends
            break

    # The result is cut after the last period with a balance, a claim or cash.
    def live(row: dict[str, object]) -> bool:
        pool_cash = any(row[f"pool_{k}"] != 0 for k in (*cash, "end_balance"))
        return pool_cash or any(row[f"{t}_end_balance"] != 0 for t in names)

    while len(rows) > 1 and not live(rows[-1]):
        rows.pop()
    return rows


def columns(deal: dict[str, Any]) -> list[str]:
    """The CSV header: period, date, then the pool's, each class's and each fee's cells."""
    out = ["period", "date"] + [f"pool_{k}" for k in POOL_FIELDS]
    for t in deal["tranches"]:
        out += [f"{t['name']}_{k}" for k in NOTE_FIELDS]
    for f in deal.get("fees", []):
        out += [f"{f['name']}_{k}" for k in FEE_FIELDS]
    return out


def _cell(name: str, value: object) -> object:
    """A cell as written: pool amounts in cents (which they are exactly), the rest to 1e-6."""
    if not isinstance(value, Decimal):
        return value
    if name.startswith("pool_"):
        cents = value.quantize(CENT)
        if cents != value:
            raise AssertionError(f"{name} = {value} is not a whole number of cents")
        return str(cents + 0)
    return str(value.quantize(PLACES, ROUND_HALF_EVEN) + 0)


def expected_csv(deal_path: Path = DEAL) -> str:
    """The expected cash flows as CSV text (pool cells in cents, the rest to 1e-6)."""
    with localcontext(Context(prec=50)):
        deal = load(deal_path)
        tape = read_tape(deal_path.parent / deal["pool"]["tape"])
        rows = run(deal, project_pool(deal, tape))
        header = columns(deal)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            cells = []
            for name in header:
                cells.append(_cell(name, row[name]))
            writer.writerow(cells)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) ``expected.csv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deal", type=Path, default=DEAL)
    parser.add_argument("--out", type=Path, default=EXPECTED)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    args = parser.parse_args(argv)
    text = expected_csv(args.deal)
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from the model'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
