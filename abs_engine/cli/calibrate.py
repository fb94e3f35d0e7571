"""Sub-commands ``calibrate`` and ``synthetic-history``.

``abs-engine calibrate HISTORY --out assumptions.toml [--report DIR]`` estimates
per-grade curves from a static-pool history and writes them as an assumptions
TOML (and, optionally, the HTML report).  It prints aggregates only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from abs_engine.cli.commands import _parser, command
from abs_engine.errors import SpecError

__all__ = ["add_calibrate", "add_synthetic_history", "run_calibrate", "run_synthetic_history"]


# --- calibrate ----------------------------------------------------------------------------


@command
def add_calibrate(sub: Any) -> None:
    """Register ``abs-engine calibrate``."""
    p = _parser(
        sub,
        "calibrate",
        "Calibrate default, prepayment and recovery assumptions from a static-pool history.",
        [
            "abs-engine synthetic-history --loans 20000 --seed 7 --out outputs/history.parquet",
            "abs-engine calibrate outputs/history.parquet --out outputs/assumptions.toml "
            "--report outputs/calibration",
        ],
    )
    p.add_argument("history", type=Path, help="static-pool history (.parquet or .csv)")
    p.add_argument("--out", required=True, type=Path, help="assumptions TOML to write")
    p.add_argument("--report", type=Path, metavar="DIR", help="also write DIR/calibration.html")
    p.add_argument(
        "--min-exposure",
        type=float,
        default=None,
        help="begin balance an age needs to stand on its own (default: automatic per grade)",
    )
    p.add_argument(
        "--smoothing", choices=("kernel", "none"), default="kernel", help="curve smoothing"
    )
    p.add_argument(
        "--bandwidth", type=float, default=1.0, help="kernel bandwidth in months (default 1)"
    )
    p.add_argument(
        "--include-roll-rates",
        action="store_true",
        help="put the roll-rate matrices into the assumptions (defaults then come from them)",
    )
    p.set_defaults(func=run_calibrate)


def _summary_text(summary: pd.DataFrame) -> str:
    """Per-grade aggregates, formatted for the terminal."""
    view = pd.DataFrame(
        {
            "loan-months": summary["loan_months"].map(lambda v: f"{int(v):,}"),
            "exposure": summary["exposure"].map(lambda v: f"{v:,.0f}"),
            "pooled CDR": summary["pooled_cdr"].map(lambda v: f"{v:.2%}"),
            "pooled CPR": summary["pooled_cpr"].map(lambda v: f"{v:.2%}"),
            "recovery": summary["recovery_rate"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}"),
            "lag (months)": summary["recovery_lag"].map(lambda v: f"{int(v)}"),
        },
        index=summary.index,
    )
    return view.to_string()


def run_calibrate(args: argparse.Namespace) -> int:
    """Run ``abs-engine calibrate``."""
    from abs_engine.calibrate import calibrate, load_history

    if args.out.suffix.lower() != ".toml":
        raise SpecError(f"--out must be a .toml file; got {args.out}", "--out")
    if args.report is not None and args.report.exists() and not args.report.is_dir():
        raise SpecError(f"--report must be a directory; {args.report} is a file", "--report")
    history = load_history(args.history)
    cal = calibrate(
        history,
        min_exposure=args.min_exposure,
        smoothing=args.smoothing,
        bandwidth=args.bandwidth,
        include_roll_rates=args.include_roll_rates,
    )
    print(f"{history!r}\n")
    print(_summary_text(cal.summary()))
    print()
    cal.to_toml(args.out)
    print(f"wrote {args.out}")
    if args.report is not None:
        page = cal.report(args.report)
        print(f"wrote {page}")
    return 0


# --- synthetic-history ----------------------------------------------------------------------


@command
def add_synthetic_history(sub: Any) -> None:
    """Register ``abs-engine synthetic-history``."""
    p = _parser(
        sub,
        "synthetic-history",
        "Generate a seeded synthetic static-pool history from known curves.",
        "abs-engine synthetic-history --loans 100000 --months 24 --seed 7 "
        "--out outputs/history.parquet",
    )
    p.add_argument("--loans", type=int, default=100_000, help="receivables (default 100000)")
    p.add_argument(
        "--months",
        type=int,
        default=None,
        help="observation window in calendar months (default: follow every loan to its end)",
    )
    p.add_argument("--vintages", type=int, default=6, help="monthly vintages (default 6)")
    p.add_argument(
        "--term",
        type=int,
        action="append",
        help="original term in months (repeatable; default 6, 12 and 24)",
    )
    p.add_argument(
        "--assumptions",
        type=Path,
        help="true curves (assumptions TOML; default the built-in demo curves)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", required=True, type=Path, help="output history: .parquet or .csv")
    p.set_defaults(func=run_synthetic_history)


def run_synthetic_history(args: argparse.Namespace) -> int:
    """Run ``abs-engine synthetic-history``."""
    from abs_engine.calibrate import synthetic_history
    from abs_engine.curves import load_assumptions
    from abs_engine.io import write_frame

    suffix = args.out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise SpecError(f"--out must end in .parquet or .csv; got {args.out}", "--out")
    assumptions = load_assumptions(args.assumptions) if args.assumptions else None
    frame = synthetic_history(
        args.loans,
        assumptions,
        vintages=args.vintages,
        term=tuple(args.term) if args.term else (6, 12, 24),
        months=args.months,
        seed=args.seed,
    )
    write_frame(frame, args.out, suffixes=(".parquet", ".csv"), error=SpecError)
    n_loans = int(frame["loan_id"].nunique())
    print(
        f"wrote {len(frame):,} loan-months of {n_loans:,} receivables "
        f"(seed {args.seed}) to {args.out}"
    )
    return 0
