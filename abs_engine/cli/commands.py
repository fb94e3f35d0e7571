"""Sub-commands of ``abs-engine``.  Each module-level ``add_*`` registers one."""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from abs_engine.errors import AbsError, TapeError

Registrar = Callable[[Any], None]
REGISTRY: list[Registrar] = []

#: The sample assumptions by their clone path (read from the package when absent).
DEFAULT_ASSUMPTIONS = Path("pools/sample_assumptions.toml")

#: Commands that read a tape: each gets ``--encoding`` (see ``build_parser``).
TAPE_COMMANDS = ("validate", "strats", "project", "grade", "run", "breakeven", "size", "stress")


def encoding(args: argparse.Namespace) -> str | None:
    """The ``--encoding`` a command was given (None: UTF-8)."""
    value = getattr(args, "encoding", None)
    return str(value) if value else None


def command(fn: Registrar) -> Registrar:
    """Register a sub-command."""
    REGISTRY.append(fn)
    return fn


#: What to do about an OS error, by errno.
_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free space or write elsewhere",
    errno.EDQUOT: "the disk quota is exhausted: free space or write elsewhere",
    errno.EFBIG: "the file is larger than this file system or process allows: write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.EACCES: "permission denied: write elsewhere or fix the permissions",
    errno.EPERM: "operation not permitted: write elsewhere or fix the permissions",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter one",
}


def os_error_line(exc: OSError) -> str:
    """An OS error as one line: what failed on which file, and what to do."""
    message = exc.strerror or str(exc)
    message = " ".join(message.split()) or type(exc).__name__
    where = ""
    if exc.strerror and exc.filename is not None:
        where = f"{exc.filename}"
        if exc.filename2 is not None:
            where += f" -> {exc.filename2}"
        where += ": "
    hint = _OS_HINTS.get(exc.errno or -1)
    if hint and hint.split(":")[0] not in message.lower():
        message = f"{message} ({hint})"
    return f"{where}{message}"


def one_line(exc: BaseException) -> str:
    """The error as one line: the head, and for a tape the first problem."""
    if isinstance(exc, OSError) and not isinstance(exc, AbsError):
        return os_error_line(exc)
    text = str(exc).strip()
    if isinstance(exc, TapeError) and exc.report is not None and not exc.report.ok:
        first = exc.report.problems.iloc[0]
        head = text.splitlines()[0].rstrip(":")
        if first["row"] >= 0:
            where = (
                f"loan {first['loan_id']!r} (row {first['row']}), "
                f"column {first['column']!r}, value {first['value']}"
            )
            return f"{head}; first: {where}: {first['problem']} (abs-engine validate lists all)"
        return f"{head}; {first['problem']}"
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def deal_pool(
    deal: Any, tape: Path | None, *, on_error: str = "raise", encoding: str | None = None
) -> Any:
    """The pool of a deal command: ``tape`` (``--pool``), else the deal's own tape.

    The sample deals name the sample tape ``pools/sample_pool.parquet``; when that
    file is absent the sample is generated in memory (deterministic, a second or
    so) with a note on stderr, so the examples work from any directory.
    """
    from abs_engine.errors import SpecError

    path = tape if tape is not None else deal.pool.tape
    if path is None:
        raise SpecError("the deal names no tape: pass --pool TAPE", "pool.tape")
    return load_tape(Path(path), deal.pool.grades, on_error=on_error, encoding=encoding)


def load_tape(
    path: Path, grades: Sequence[str], *, on_error: str = "raise", encoding: str | None = None
) -> Any:
    """``load_pool(path)``, or the generated sample tape when ``path`` is its absent file."""
    from abs_engine import samples
    from abs_engine.pool import Pool, load_pool, sample_pool

    if not path.exists() and samples.is_sample_tape(path):
        n, seed = samples.SAMPLE_TAPE_N, samples.SAMPLE_TAPE_SEED
        print(
            f"note: {samples.SAMPLE_TAPE} not found; using the sample tape generated in memory "
            f"({n:,} receivables, seed {seed}; `abs-engine sample-pool --out "
            f"{samples.SAMPLE_TAPE}` writes it)",
            file=sys.stderr,
        )
        frame = sample_pool(n, seed)
        return Pool.from_frame(frame, grades=grades, on_error=on_error, source="sample tape")  # type: ignore[arg-type]
    return load_pool(path, grades=grades, on_error=on_error, encoding=encoding)  # type: ignore[arg-type]


def _parser(sub: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="example:\n  " + example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return p


def _totals_table(totals: pd.Series) -> str:
    """Life totals, one per line: amounts with separators, rates in percent."""
    width = max(len(str(k)) for k in totals.index)
    lines = []
    for key, value in totals.items():
        name = str(key)
        text = f"{value:.4%}" if name.endswith(("rate", "net_loss")) else f"{value:,.2f}"
        lines.append(f"{name:<{width}}  {text:>20}")
    return "\n".join(lines)


def _money_table(frame: pd.DataFrame) -> str:
    def fmt(col: str) -> Callable[[Any], str]:
        if col.startswith("pct") or col in (
            "wa_apr",
            "wa_fee_rate",
            "cumulative_default_rate",
            "cumulative_net_loss",
        ):
            return lambda v: "" if pd.isna(v) else f"{v:.2%}"
        if col in ("count", "receivables", "period"):
            return lambda v: "withheld" if pd.isna(v) else f"{int(v):,}"
        if col.startswith("wa_") and col.endswith(("term", "age")):
            return lambda v: "" if pd.isna(v) else f"{v:.1f}"
        return lambda v: "" if pd.isna(v) else f"{v:,.2f}"

    view = pd.DataFrame(
        {c: [fmt(str(c))(v) for v in frame[c]] for c in frame.columns}, index=frame.index
    )
    return view.to_string()


# --- sample-pool -----------------------------------------------------------------------


@command
def add_sample_pool(sub: Any) -> None:
    p = _parser(
        sub,
        "sample-pool",
        "Generate the deterministic sample tape of consumer receivables.",
        "abs-engine sample-pool --n 100000 --seed 7 --out pools/sample_pool.parquet",
    )
    p.add_argument("--n", type=int, default=100_000, help="number of receivables (default 100000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", required=True, type=Path, help="output tape: .parquet, .csv or .xlsx")
    p.set_defaults(func=run_sample_pool)


def run_sample_pool(args: argparse.Namespace) -> int:
    from abs_engine.pool.sample import sample_pool, write_tape

    frame = sample_pool(args.n, args.seed)
    write_tape(frame, args.out)
    print(f"wrote {len(frame):,} receivables (seed {args.seed}) to {args.out}")
    return 0


# --- validate ------------------------------------------------------------------------------


@command
def add_validate(sub: Any) -> None:
    p = _parser(
        sub,
        "validate",
        "Validate a tape and list every problem (exit 1 if there are any).",
        "abs-engine validate pools/sample_pool.parquet",
    )
    p.add_argument("tape", type=Path, help="tape file (.parquet, .csv, .xlsx)")
    p.add_argument(
        "--grades", default="A,B,C", help="allowed grades, comma separated (default A,B,C)"
    )
    p.add_argument("--max", type=int, default=50, help="problems to print (default 50)")
    p.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from abs_engine.pool import validate_pool

    report = validate_pool(args.tape, grades=args.grades.split(","), encoding=encoding(args))
    notes = [f"note: {n}" for n in report.notes]
    if report.ok:
        print("\n".join([report.summary().splitlines()[0], *notes]))
        return 0
    print(report.summary(max_items=0).splitlines()[0].rstrip(":"))
    by_column = report.by_column()
    width = max(len("column"), *(len(str(c)) for c in by_column["column"]))
    print(f"\nproblems by column:\n  {'column':<{width}}  {'rows':>9}  problem")
    for column, problem, rows in by_column[["column", "problem", "rows"]].to_numpy().tolist():
        count = f"{int(rows):,}" if rows else "all"
        print(f"  {column!s:<{width}}  {count:>9}  {problem}")
    shown = report.problems[report.problems["row"] >= 0].head(args.max)
    if len(shown):
        print(f"\nfirst {len(shown):,} problem rows:")
        print(shown.to_string(index=False))
        n_rows = int((report.problems["row"] >= 0).sum())
        if n_rows > len(shown):
            print(f"... {n_rows - len(shown):,} more (--max N shows more)")
    for line in notes:
        print(line)
    return 1


# --- strats --------------------------------------------------------------------------------


@command
def add_strats(sub: Any) -> None:
    p = _parser(
        sub,
        "strats",
        "Print stratification tables of a tape (aggregates only).",
        "abs-engine strats pools/sample_pool.parquet --by grade --by payment_type",
    )
    p.add_argument("tape", type=Path)
    p.add_argument("--by", action="append", help="table to print (repeatable; default all)")
    p.add_argument(
        "--exclude-bad", action="store_true", help="set invalid rows aside instead of failing"
    )
    p.set_defaults(func=run_strats)


def run_strats(args: argparse.Namespace) -> int:
    from abs_engine.pool import load_pool

    pool = load_pool(
        args.tape, on_error="exclude" if args.exclude_bad else "raise", encoding=encoding(args)
    )
    try:
        tables = pool.strats(args.by)
    except KeyError as exc:
        raise AbsError(str(exc).strip("'\"")) from None
    assert isinstance(tables, dict)
    print(f"{pool!r}\n")
    for name, table in tables.items():
        print(f"== by {name} ==")
        print(_money_table(table))
        if table.attrs.get("withheld"):
            print(
                f"({table.attrs['withheld']} cell(s) withheld: fewer than "
                f"{table.attrs['min_cell']} receivables, or withheld with them)"
            )
        print()
    return 0


# --- project -------------------------------------------------------------------------------


@command
def add_project(sub: Any) -> None:
    p = _parser(
        sub,
        "project",
        "Project pool cash flows under an assumptions file (base case, or a scenario grid).",
        "abs-engine project pools/sample_pool.parquet --assumptions pools/sample_assumptions.toml",
    )
    p.add_argument("tape", type=Path)
    p.add_argument("--assumptions", type=Path, default=DEFAULT_ASSUMPTIONS, help="assumptions TOML")
    p.add_argument("--default-mult", type=float, default=1.0, help="default multiplier (default 1)")
    p.add_argument(
        "--prepay-mult", type=float, default=1.0, help="prepayment multiplier (default 1)"
    )
    p.add_argument("--by-grade", action="store_true", help="print the life totals by grade too")
    p.add_argument("--out", type=Path, help="write the cash flows to this parquet or CSV file")
    p.set_defaults(func=run_project)


def run_project(args: argparse.Namespace) -> int:
    from abs_engine.curves import Scenario, load_assumptions
    from abs_engine.io import write_frame
    from abs_engine.pool import load_pool
    from abs_engine.projection import project

    pool = load_pool(args.tape, encoding=encoding(args))
    assumptions = load_assumptions(args.assumptions)
    scenario = Scenario("base", default_mult=args.default_mult, prepay_mult=args.prepay_mult)
    cf = project(pool, assumptions, scenario, by="grade")
    print(f"{pool!r}\n")
    print(_cashflow_table(cf.pool_total().to_frame()))
    print()
    print(_totals_table(cf.totals().iloc[0]))
    if args.out:
        write_frame(cf.pool_total().to_frame(), args.out, error=AbsError)
        print(f"\nwrote {args.out}")
    return 0


def _cashflow_table(frame: pd.DataFrame) -> str:
    cols = [
        "period",
        "begin_balance",
        "scheduled_principal",
        "prepayment",
        "default",
        "interest",
        "fee",
        "recovery",
        "loss",
        "end_balance",
    ]
    view = frame[cols].copy()
    view = view[(view["begin_balance"] > 0.005) | (view["recovery"] > 0.005)]
    return _money_table(view.set_index("period"))


# --- demo ------------------------------------------------------------------------------------


@command
def add_demo(sub: Any) -> None:
    p = _parser(
        sub,
        "demo",
        "Run the sample end to end: tape, stratification, projection, the Baitiao deal, "
        "break-even, and the investor report in outputs/.",
        "abs-engine demo --pool pools/sample_pool.parquet --out outputs",
    )
    p.add_argument(
        "--pool",
        type=Path,
        default=Path("pools/sample_pool.parquet"),
        help="tape (default %(default)s; when absent, the sample tape is generated in memory)",
    )
    p.add_argument(
        "--deal",
        type=Path,
        default=Path("waterfalls/baitiao_2015.toml"),
        help="deal spec (default %(default)s: the packaged sample when no such file is here)",
    )
    p.add_argument(
        "--out", type=Path, default=Path("outputs"), help="parent directory (default %(default)s)"
    )
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import datetime as dt

    from abs_engine.analytics import run as run_deal
    from abs_engine.curves.scenarios import ScenarioSet
    from abs_engine.deal import load_deal
    from abs_engine.projection import project
    from abs_engine.reports.run import write

    deal = load_deal(args.deal)
    pool = load_tape(args.pool, deal.pool.grades)
    print(f"{pool!r}\n")
    tables = pool.strats()
    assert isinstance(tables, dict)
    for name in ("grade", "payment_type", "pf_status", "dpd"):
        print(f"== by {name} ==")
        print(_money_table(tables[name]))
        print()
    cf = project(pool, deal.assumptions)
    print("== base-case pool cash flows (life totals) ==")
    print(_totals_table(cf.totals().iloc[0]))
    print()
    grid = ScenarioSet.grid(default_mult=[1, 2, 4, 8])
    result = run_deal(deal, pool, grid)
    result.check_conservation()
    summary = result.summary()
    print(f"== {deal.name}: tranches under default multiples 1x, 2x, 4x, 8x ==")
    view = summary[["scenario", "tranche", "yield", "wal", "principal_loss_share", "min_oc"]]
    print(
        view.to_string(
            index=False,
            formatters={
                "yield": lambda v: f"{v:.3%}",
                "wal": lambda v: f"{v:.2f}",
                "principal_loss_share": lambda v: f"{v:.2%}",
                "min_oc": lambda v: f"{v:.3f}",
            },
        )
    )
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    target = args.out / f"demo-{stamp}"
    out = write(result, target, pool=pool, scenarios=grid)
    print(f"\nwrote the investor report and its files to {out}/")
    print(f"open {out / 'report.html'} in a browser (it works offline)")

    # Where curves come from: calibrate them back from a synthetic static-pool history
    # generated from the deal's own base case.
    from abs_engine.calibrate import calibrate, synthetic_history
    from abs_engine.io import atomic_dir

    history = synthetic_history(20_000, deal.assumptions, vintages=6, term=(3, 6, 12), seed=7)
    cal = calibrate(history)
    print("\n== calibration from a synthetic static-pool history (20,000 receivables) ==")
    print(cal.summary().to_string(float_format=lambda v: f"{v:,.4f}"))
    with atomic_dir(args.out / f"calibration-{stamp}") as tmp:
        cal.to_toml(tmp / "assumptions.toml")
        cal.report(tmp)
    print(f"wrote {args.out / f'calibration-{stamp}'}/ (assumptions.toml, calibration.html)")
    return 0
