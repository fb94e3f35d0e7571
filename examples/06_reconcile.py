"""Reconcile abs_engine with another engine's (or a trustee's) cash flows, cell by cell.

The deal in examples/reconcile/ uses conventions other than SIFMA's (receivable by
receivable with half-up cent rounding, start-of-month prepayments, defaults first,
rates by actual days, payment dates on the China interbank calendar, ...).  This
script runs it, writes the engine's pool, note and fee cash flows as CSV, and compares
every cell with examples/reconcile/expected.csv, which an independent decimal model
(tests/reconcile/independent_model.py) computed from the documented rules.  It prints
the largest difference of every column in cents and exits with status 1 if any cell
differs by half a cent or more.

    python examples/06_reconcile.py [OUT_DIR] [--expected FILE] [--deal FILE]

To reconcile with your own counterparty, export their figures in the layout of
expected.csv (one row per payment period; a column per pool, class and fee cell).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import abs_engine as ae
from abs_engine.io import write_frame

HERE = Path(__file__).resolve().parent / "reconcile"
#: A cell reconciles when the two figures differ by less than half a cent.
TOLERANCE = 0.005
POOL_FIELDS = (
    "begin_balance", "scheduled_principal", "prepayment", "default", "interest", "fee",
    "recovery", "loss", "end_balance",
)  # fmt: skip
NOTE_FIELDS = (
    "begin_balance", "interest_due", "interest_paid", "interest_shortfall", "principal_paid",
    "writedown", "pdl", "end_balance", "principal_loss", "residual",
)  # fmt: skip
FEE_FIELDS = ("due", "paid", "unpaid")


def cashflow_table(result: ae.deal.RunResult) -> pd.DataFrame:
    """One row per payment period: ``period, date``, then ``pool_<field>``,
    ``<class>_<field>`` and ``<fee>_<field>`` (first scenario), the layout of expected.csv."""
    s = 0
    table: dict[str, object] = {
        "period": range(1, result.n_periods + 1),
        "date": [str(d) for d in result.dates.astype("datetime64[D]")],
    }
    for f in POOL_FIELDS:
        table[f"pool_{f}"] = result.pool[f][s]
    for i, name in enumerate(result.tranche_names):
        for f in NOTE_FIELDS:
            table[f"{name}_{f}"] = result.tranche[f][s, i]
    for i, name in enumerate(result.fee_names):
        for f in FEE_FIELDS:
            table[f"{name}_{f}"] = result.fee[f][s, i]
    return pd.DataFrame(table)


def reconcile(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Per column: the largest absolute difference in cents, its period, and how many
    cells differ by ``TOLERANCE`` or more.

    Rows are matched by period; a period or a column only one side has is reported
    (``missing``) and counts as a difference.  Dates must be equal.
    """
    rows = []
    periods = sorted(set(ours["period"]) | set(theirs["period"]))
    a = ours.set_index("period").reindex(periods)
    b = theirs.set_index("period").reindex(periods)
    for col in dict.fromkeys([*a.columns, *b.columns]):
        if col not in a or col not in b:
            side = "engine" if col not in a else "expected"
            rows.append({"column": col, "max_diff_cents": float("nan"), "period": None,
                         "cells_off": len(periods), "note": f"missing in {side}"})  # fmt: skip
            continue
        if col == "date":
            off = (a[col].astype(str) != b[col].astype(str)).to_numpy()
            first = [p for p, o in zip(periods, off, strict=True) if o]
            rows.append({"column": col, "max_diff_cents": float("nan"),
                         "period": first[0] if first else None, "cells_off": int(off.sum()),
                         "note": "dates differ" if first else ""})  # fmt: skip
            continue
        diff = (a[col].astype(float) - b[col].astype(float)).abs()
        missing = diff.isna()
        worst = diff.fillna(0.0)
        off = (worst >= TOLERANCE) | missing
        rows.append(
            {
                "column": col,
                "max_diff_cents": float(worst.max()) * 100.0,
                "period": int(worst.idxmax()) if off.any() else None,
                "cells_off": int(off.sum()),
                "note": "period missing on one side" if missing.any() else "",
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str]) -> int:
    """Run the deal, write its cash flows and the reconciliation, print it; 1 if any cell is off."""
    parser = argparse.ArgumentParser(description="Reconcile the engine with expected cash flows.")
    parser.add_argument("out", nargs="?", default="outputs/examples", type=Path)
    parser.add_argument("--deal", type=Path, default=HERE / "deal.toml")
    parser.add_argument("--expected", type=Path, default=HERE / "expected.csv")
    args = parser.parse_args(argv)
    out = args.out / "reconcile"

    deal = ae.load_deal(args.deal)
    result = ae.run(deal)  # the tape named in the deal; its [conventions] apply
    result.check_conservation()
    ours = cashflow_table(result)
    theirs = pd.read_csv(args.expected)
    report = reconcile(ours, theirs)

    write_frame(result.pool_cashflows, out / "pool.csv")  # atomic writes
    write_frame(result.tranche_cashflows, out / "notes.csv")
    write_frame(result.fees, out / "fees.csv")
    write_frame(ours, out / "cashflows.csv")  # the layout of expected.csv
    write_frame(report, out / "reconciliation.csv")

    off = report[report["cells_off"] > 0]
    cells = len(theirs) * (len(theirs.columns) - 2)
    print(f"{deal.name}: {len(ours)} periods, {cells} cells compared with {args.expected.name}")
    print(f"conventions: {deal.projection_options()['conventions'].to_dict()}")
    with pd.option_context("display.max_rows", None, "display.width", 120):
        print(report.drop(columns="note").to_string(index=False, float_format="{:.4f}".format))
    if off.empty:
        print(f"every cell agrees to within {TOLERANCE} ({TOLERANCE * 100:g} cent)")
        return 0
    print(f"{int(off['cells_off'].sum())} cells in {len(off)} columns differ:")
    for r in off.itertuples():
        print(f"  {r.column}: {r.max_diff_cents:.2f} cents at most (period {r.period}) {r.note}")
    return 1


if __name__ == "__main__":
    status = main(sys.argv[1:])
    if status:
        sys.exit(status)
