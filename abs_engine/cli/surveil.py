"""Sub-commands ``surveil`` and ``servicer-history``.

``abs-engine surveil SPEC --servicer FILE [--tape FILE] --out DIR`` runs one
surveillance cycle: the deal's priority of payments on the servicer's actual
collections, the trustee report (HTML and Excel), the deal's state after the last
period (``state.toml``, loadable as the deal with its ``[state]``) and the tidy
tables.  ``abs-engine servicer-history SPEC --out FILE`` draws a seeded servicer
history around the deal's base case (for trials and the demo).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from abs_engine.cli.commands import _parser, command, deal_pool, encoding
from abs_engine.errors import SpecError

__all__ = ["add_servicer_history", "add_surveil", "run_servicer_history", "run_surveil"]


# --- surveil ----------------------------------------------------------------------------------


@command
def add_surveil(sub: Any) -> None:
    """Register ``abs-engine surveil``."""
    p = _parser(
        sub,
        "surveil",
        "Run a surveillance cycle: the waterfall on the servicer's actual collections, the "
        "trustee report (HTML and Excel), the deal's state and the tidy tables in a new DIR.",
        [
            "abs-engine servicer-history waterfalls/baitiao_2015.toml --months 6 --seed 7 "
            "--out servicer.parquet",
            "abs-engine surveil waterfalls/baitiao_2015.toml --servicer servicer.parquet "
            "--mc-paths 100 --out outputs/trustee",
        ],
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML), from its closing or with a [state]")
    p.add_argument(
        "--servicer",
        required=True,
        type=Path,
        help="servicer report: one row per collection month and grade (.parquet, .csv, .xlsx)",
    )
    p.add_argument(
        "--tape",
        type=Path,
        help="current tape (performing receivables at the last month): the re-projection starts "
        "from it and its early-warning flags are counted",
    )
    p.add_argument(
        "--pool",
        type=Path,
        help="cut-off tape, for the base case and the Monte Carlo band (default: the deal's tape)",
    )
    p.add_argument(
        "--out", required=True, type=Path, help="output directory (new, or --overwrite it)"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace DIR if it holds a previous run"
    )
    p.add_argument(
        "--mc-paths",
        type=int,
        default=200,
        help="Monte Carlo paths of the band of actual against projected (default 200; 0: none)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo (default 0)")
    p.add_argument(
        "--k", type=float, default=3.0, help="standard errors that flag a measure (default 3)"
    )
    p.set_defaults(func=run_surveil)


def _cutoff_pool(args: argparse.Namespace, deal: Any) -> Any:
    if args.pool is None and deal.pool.tape is None:
        return None
    return deal_pool(deal, args.pool, encoding=encoding(args))


def print_cycle(cycle: Any) -> None:
    """What a trustee reads first: the position, the triggers, the flags."""
    st = cycle.state
    r = cycle.result
    print(
        f"{cycle.deal.name}: {cycle.history.n_months} months of servicer data, "
        f"{r.n_periods} payment dates to {str(r.dates[-1])[:10]} (collections to {st.as_of})"
    )
    print("\n== notes after the last payment date ==")
    for name in r.tranche_names:
        face = float(r.original_balances[name])
        bal = float(st.balances[name])
        factor = f"{bal / face:.6f}" if face else "-"
        print(f"{name:<16} {bal:>18,.2f}  factor {factor}")
    print(f"{'reserve':<16} {st.reserve:>18,.2f}")
    print(f"{'PDL':<16} {st.pdl:>18,.2f}")
    head = cycle.tables["headroom"]
    if len(head):
        print("\n== triggers ==")
        for row in head.to_dict("records"):
            state = "BREACHED" if row["breached"] else "ok"
            extra = ""
            if not row["breached"] and str(row["projected_breach"]) not in ("NaT", "nan", "None"):
                extra = f", breaches {str(row['projected_breach'])[:10]} in the base case"
            print(
                f"{row['trigger']:<24} {state:<9} value {row['value']:.4f} "
                f"level {row['level']:.4f}{extra}"
            )
    perf = cycle.tables["performance"]
    last = perf[(perf["month"] == perf["month"].max()) & (perf["signal"] != "")]
    print(f"\n{len(last)} measure(s) flagged in the last month", end="")
    if len(last):
        pool_flags = last[last["group"] == "pool"]["measure"].tolist()
        print(f" (pool: {', '.join(pool_flags) or 'none'})", end="")
    print()
    for note in cycle.notes:
        print(f"note: {note}")


def run_surveil(args: argparse.Namespace) -> int:
    """Run ``abs-engine surveil``."""
    from abs_engine.deal import load_deal
    from abs_engine.reports.run import _check_target as check_target
    from abs_engine.surveillance import load_servicer, surveil

    if args.mc_paths < 0:
        raise SpecError(f"--mc-paths must be >= 0; got {args.mc_paths}", "--mc-paths")
    check_target(args.out, args.overwrite)
    deal = load_deal(args.spec)
    history = load_servicer(args.servicer)
    pool = _cutoff_pool(args, deal)
    tape = deal_pool(deal, args.tape, encoding=encoding(args)) if args.tape else None
    cycle = surveil(
        deal, history, pool=pool, tape=tape, mc_paths=args.mc_paths, seed=args.seed, k=args.k
    )
    cycle.result.check_conservation()
    out = cycle.write(
        args.out, tapes=[t for t in (pool, tape) if t is not None], overwrite=args.overwrite
    )
    print_cycle(cycle)
    print(f"\nwrote the trustee report, workbook, state.toml and tables to {out}/")
    print(f"open {out / 'report.html'} in a browser (it works offline)")
    return 0


# --- servicer-history ---------------------------------------------------------------------------


@command
def add_servicer_history(sub: Any) -> None:
    """Register ``abs-engine servicer-history``."""
    p = _parser(
        sub,
        "servicer-history",
        "Draw a seeded servicer history (monthly collections by grade) around a deal's base "
        "case, with noise and an optional deterioration.",
        "abs-engine servicer-history waterfalls/baitiao_2015.toml --months 12 --seed 7 "
        "--deteriorate-from 7 --default-mult 2.5 --out outputs/servicer.parquet",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML), without a [state]")
    p.add_argument("--pool", type=Path, help="cut-off tape (default: the deal's tape)")
    p.add_argument(
        "--months",
        type=int,
        default=None,
        help="collection months, a whole number of payment periods (default twelve periods)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--noise",
        type=float,
        default=0.03,
        help="log-normal noise on each month's rates, a standard deviation (default 0.03)",
    )
    p.add_argument(
        "--deteriorate-from",
        type=int,
        metavar="MONTH",
        help="month (1 = the first) from which performance worsens",
    )
    p.add_argument(
        "--default-mult", type=float, default=2.0, help="default rates x this (default 2)"
    )
    p.add_argument(
        "--prepay-mult", type=float, default=1.0, help="prepayment rates x this (default 1)"
    )
    p.add_argument("--ramp", type=int, default=6, help="months over which it worsens (default 6)")
    p.add_argument("--out", required=True, type=Path, help="servicer report: .parquet, .csv, .xlsx")
    p.set_defaults(func=run_servicer_history)


def run_servicer_history(args: argparse.Namespace) -> int:
    """Run ``abs-engine servicer-history``."""
    from abs_engine.deal import load_deal
    from abs_engine.surveillance import Deterioration, synthetic_servicer_history, write_servicer

    if args.out.suffix.lower() not in (".parquet", ".csv", ".xlsx"):
        raise SpecError(f"--out must end in .parquet, .csv or .xlsx; got {args.out}", "--out")
    deal = load_deal(args.spec)
    pool = deal_pool(deal, args.pool, encoding=encoding(args))
    worse = (
        Deterioration(
            start=args.deteriorate_from,
            default_mult=args.default_mult,
            prepay_mult=args.prepay_mult,
            ramp=args.ramp,
        )
        if args.deteriorate_from is not None
        else None
    )
    frame = synthetic_servicer_history(
        deal, pool, months=args.months, seed=args.seed, noise=args.noise, deterioration=worse
    )
    write_servicer(frame, args.out)
    months = frame["period_end"].nunique()
    grades = frame["grade"].nunique()
    print(
        f"wrote {months} months x {grades} grades of servicer data (seed {args.seed}) to {args.out}"
    )
    return 0
