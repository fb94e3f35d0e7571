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
TAPE_COMMANDS = (
    "validate",
    "strats",
    "project",
    "grade",
    "run",
    "breakeven",
    "size",
    "stress",
    "surveil",
    "servicer-history",
)


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
    path: Path,
    grades: Sequence[str] | None = None,
    *,
    on_error: str = "raise",
    encoding: str | None = None,
) -> Any:
    """``load_pool(path)``, or the generated sample tape when ``path`` is its absent file."""
    from abs_engine import samples
    from abs_engine.pool import Pool, load_pool, sample_pool
    from abs_engine.pool.schema import DEFAULT_GRADES

    grades = DEFAULT_GRADES if grades is None else grades

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


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's and example's line breaks; shows every option's default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" in text
            or "(default" in text
            or not action.option_strings
            or action.default in (None, False, argparse.SUPPRESS)
            or isinstance(action.default, list)
        ):
            return text
        return f"{text} (default: %(default)s)"


def _parser(
    sub: Any, name: str, help_text: str, example: str | Sequence[str]
) -> argparse.ArgumentParser:
    """A sub-command parser; ``example`` is one command line or several, run in order."""
    lines = [example] if isinstance(example, str) else list(example)
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="example:\n" + "\n".join(f"  {line}" for line in lines),
        formatter_class=HelpFormatter,
    )
    return p


#: The lever flags every scenario-taking command accepts, and the API name of each.
LEVER_FLAGS = {
    "--default-mult": "default_mult",
    "--prepay-mult": "prepay_mult",
    "--severity-mult": "severity_mult",
}
_LEVER_WORDS = {
    "default_mult": "default-rate multipliers (on the annual CDR)",
    "prepay_mult": "prepayment-rate multipliers (on the annual CPR)",
    "severity_mult": "loss-severity multipliers",
}


def add_levers(p: argparse.ArgumentParser) -> None:
    """``--default-mult``, ``--prepay-mult``, ``--severity-mult``: levels whose grid is run."""
    for flag, lever in LEVER_FLAGS.items():
        p.add_argument(
            flag,
            metavar="LEVELS",
            help=f"{_LEVER_WORDS[lever]}: one number, a list 1,2,4 or a range "
            "start:stop:step; several levers form a grid (default 1, the base case)",
        )


def lever_levels(args: argparse.Namespace) -> dict[str, list[float]]:
    """The levels of the lever flags given, by API name (``default_mult``: [1, 2, 4])."""
    from abs_engine.stress.scenarios import parse_levels

    out: dict[str, list[float]] = {}
    for flag, lever in LEVER_FLAGS.items():
        text = getattr(args, lever, None)
        if text is not None:
            out[lever] = parse_levels(str(text), flag)
    return out


def scenario_grid(args: argparse.Namespace) -> Any:
    """``ScenarioSet.grid`` of the lever flags given, or None when none is."""
    from abs_engine.curves.scenarios import ScenarioSet

    levels = lever_levels(args)
    return ScenarioSet.grid(**levels) if levels else None


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a table atomically: parquet at full precision, CSV rounded for reading."""
    from abs_engine.io import write_frame

    write_frame(frame, path, suffixes=(".parquet", ".pq", ".csv"), error=AbsError)


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
            "cdr",
            "cpr",
            "mdr",
            "smm",
        ):
            return lambda v: "" if pd.isna(v) else f"{v:.2%}"
        if col == "pool_factor":
            return lambda v: "" if pd.isna(v) else f"{v:.4f}"
        if col == "date":
            return str
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
        [
            "abs-engine sample-pool --out pools/sample_pool.parquet",
            "abs-engine validate pools/sample_pool.parquet",
        ],
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
        [
            "abs-engine sample-pool --out pools/sample_pool.parquet",
            "abs-engine strats pools/sample_pool.parquet --by grade --by payment_type",
        ],
    )
    from abs_engine.pool.strats import STANDARD_STRATS

    p.add_argument("tape", type=Path, help="tape file (.parquet, .csv, .xlsx)")
    p.add_argument(
        "--by",
        action="append",
        metavar="NAME",
        help=f"table to print (repeatable): {', '.join(STANDARD_STRATS)}, age, early_warning "
        "(a graded tape), or a categorical extra column of the tape; default: the standard tables",
    )
    p.add_argument(
        "--exclude-bad", action="store_true", help="set invalid rows aside instead of failing"
    )
    p.set_defaults(func=run_strats)


def run_strats(args: argparse.Namespace) -> int:

    pool = load_tape(
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

#: Columns of the period table ``project`` prints (its --out file has every field).
PROJECT_COLUMNS = (
    "period",
    "date",
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "interest",
    "fee",
    "recovery",
    "loss",
    "end_balance",
    "pool_factor",
    "smm",
    "cpr",
    "cdr",
)


@command
def add_project(sub: Any) -> None:
    p = _parser(
        sub,
        "project",
        "Project pool cash flows month by month under an assumptions file: balances, flows, "
        "pool factor and realised CDR/CPR/SMM, for the base case or a grid of lever levels.",
        [
            "abs-engine sample-pool --out pools/sample_pool.parquet",
            "abs-engine project pools/sample_pool.parquet "
            "--assumptions pools/sample_assumptions.toml --default-mult 1,2 --by-grade",
        ],
    )
    p.add_argument("tape", type=Path, help="tape file (.parquet, .csv, .xlsx)")
    p.add_argument(
        "--assumptions",
        type=Path,
        default=DEFAULT_ASSUMPTIONS,
        help="assumptions TOML (default %(default)s: the packaged sample when no such file is here)",
    )
    add_levers(p)
    p.add_argument(
        "--cutoff",
        metavar="YYYY-MM-DD",
        help="cut-off date, for the date column (default: inferred from the tape's "
        "origination_date and age; without them the table has periods only)",
    )
    p.add_argument(
        "--by-grade",
        action="store_true",
        help="also print life totals by grade; --out then holds one row per grade and period",
    )
    p.add_argument(
        "--out", type=Path, help="write the cash flows to this .parquet (full precision) or .csv"
    )
    p.set_defaults(func=run_project)


def run_project(args: argparse.Namespace) -> int:
    from abs_engine.curves import Scenario, load_assumptions
    from abs_engine.projection import project

    pool = load_tape(args.tape, encoding=encoding(args))
    assumptions = load_assumptions(args.assumptions)
    scenarios = scenario_grid(args) or Scenario("base")
    cutoff = _cutoff(args.cutoff, pool)
    cf = project(pool, assumptions, scenarios, by="grade")
    print(f"{pool!r}\n")
    names = [str(n) for n in cf.scenario_names]
    frame = cashflow_frame(cf.pool_total(), cutoff)
    first = frame[frame["scenario"] == names[0]]
    title = f"== pool cash flows, scenario {names[0]}"
    if len(names) > 1:
        title += f" (1 of {len(names)}; --out writes all)"
    print(title + " ==")
    print(_cashflow_table(first))
    if cutoff is None:
        print("(no date column: the tape has no origination_date and age; pass --cutoff)")
    print()
    totals = cf.totals()
    if len(names) == 1:
        print("== life totals ==")
        print(_totals_table(totals.iloc[0]))
    else:
        print("== life totals by scenario ==")
        print(_scenario_totals(totals))
    if args.by_grade:
        print("\n== life totals by grade ==")
        print(_grade_totals(cf))
    if args.out:
        out = cashflow_frame(cf, cutoff) if args.by_grade else frame
        write_table(out, args.out)
        print(f"\nwrote {args.out}")
    return 0


def _cutoff(text: str | None, pool: Any) -> Any:
    """The cut-off date: ``--cutoff``, else the month end the tape's ages count from."""
    import numpy as np

    from abs_engine.pool.schema import DATE_RANGE

    if text is not None:
        try:
            day: Any = np.datetime64(text.strip(), "D")
        except ValueError:
            day = np.datetime64("NaT", "D")
        if np.isnat(day):
            raise AbsError(f"--cutoff: {text!r} is not a date (YYYY-MM-DD)")
        if not np.datetime64(DATE_RANGE[0]) <= day <= np.datetime64(DATE_RANGE[1]):
            raise AbsError(
                f"--cutoff: {text!r} is outside the dates a tape may hold; "
                f"give a date between {DATE_RANGE[0]} and {DATE_RANGE[1]}"
            )
        return day
    table = pool.table
    if "origination_date" not in table.column_names or "age" not in pool.arrays:
        return None
    orig = np.asarray(
        table.column("origination_date").to_numpy(zero_copy_only=False), dtype="datetime64[M]"
    )
    months = orig + pool.arrays["age"].astype(np.int64)
    months = months[~np.isnat(months)]
    if months.size == 0:
        return None
    values, counts = np.unique(months, return_counts=True)
    month = values[counts.argmax()]
    return (month + 1).astype("datetime64[D]") - 1  # the month's last day


def cashflow_frame(cf: Any, cutoff: Any = None) -> pd.DataFrame:
    """Tidy pool cash flows with the date, pool factor and realised rates.

    One row per scenario and period (and group when ``cf`` has several):
    ``date`` is the period's end (``cutoff`` + period months, month ends kept);
    ``pool_factor`` the end balance over the group's cut-off balance;
    ``mdr, cdr, smm, cpr`` realised rates (:func:`abs_engine.curves.rates.realised_rates`).
    """
    import numpy as np

    from abs_engine.curves.rates import realised_rates
    from abs_engine.daycount import add_months

    by_group = len(cf.groups) > 1
    frame: pd.DataFrame = cf.to_frame(by_group=by_group)
    if cutoff is not None:
        month_end = (cutoff + 1).astype("datetime64[M]") != cutoff.astype("datetime64[M]")
        day = 31 if bool(month_end) else None
        dates = add_months(cutoff, cf.periods, day=day)
        where = list(frame.columns).index("period") + 1
        frame.insert(where, "date", np.resize(dates, len(frame)))
    b0 = dict(zip(cf.groups, np.asarray(cf.initial_balance, dtype=np.float64), strict=True))
    if by_group:
        base = frame[cf.group_by].map(b0).to_numpy(dtype=np.float64)
    else:
        base = np.full(len(frame), float(np.sum(cf.initial_balance)))
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["pool_factor"] = np.where(base > 0, frame["end_balance"] / base, np.nan)
    rates = realised_rates(
        frame["begin_balance"], frame["scheduled_principal"], frame["prepayment"], frame["default"]
    )
    for name in ("mdr", "cdr", "smm", "cpr"):
        frame[name] = rates[name]
    return frame


def _cashflow_table(frame: pd.DataFrame) -> str:
    cols = [c for c in PROJECT_COLUMNS if c in frame.columns]
    view = frame[cols].copy()
    view = view[(view["begin_balance"] > 0.005) | (view["recovery"] > 0.005)]
    if "date" in view:
        view["date"] = pd.to_datetime(view["date"]).dt.strftime("%Y-%m-%d")
    return _money_table(view.set_index("period"))


def _scenario_totals(totals: pd.DataFrame) -> str:
    cols = ["default", "prepayment", "recovery", "loss", "cumulative_default_rate"]
    cols += ["cumulative_net_loss"]
    return _money_table(totals[cols])


def _grade_totals(cf: Any) -> str:
    import numpy as np

    rows = []
    for s, scenario in enumerate(cf.scenario_names):
        for g, grade in enumerate(cf.groups):
            b0 = float(cf.initial_balance[g])
            row: dict[str, Any] = {"scenario": scenario, "grade": grade, "balance": b0}
            for f in ("default", "prepayment", "recovery", "loss"):
                row[f] = float(cf.array(f)[s, g].sum())
            row["cumulative_default_rate"] = row["default"] / b0 if b0 > 0 else np.nan
            row["cumulative_net_loss"] = row["loss"] / b0 if b0 > 0 else np.nan
            rows.append(row)
    table = pd.DataFrame(rows).set_index(["scenario", "grade"])
    if cf.n_scenarios == 1:
        table = table.droplevel("scenario")
    return _money_table(table)


# --- demo ------------------------------------------------------------------------------------


@command
def add_demo(sub: Any) -> None:
    p = _parser(
        sub,
        "demo",
        "Run the sample end to end: tape, stratification, projection, the Baitiao deal, "
        "break-even, the investor report, calibration and a surveillance cycle (trustee "
        "report) in outputs/.",
        "abs-engine demo --out outputs",
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
    cf = project(pool, deal.assumptions, **deal.projection_options())
    print("== base-case pool cash flows (life totals) ==")
    print(_totals_table(cf.totals().iloc[0]))
    print()
    grid = ScenarioSet.grid(default_mult=[1, 2, 4, 8])
    result = run_deal(deal, pool, grid)
    result.check_conservation()
    from abs_engine.cli.deal_cmds import tranche_table

    print(f"== {deal.name}: tranches under default multiples 1x, 2x, 4x, 8x ==")
    print(tranche_table(result.summary()))
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

    # The monthly cycle: a year of servicer data drawn around the base case (defaults
    # worsening from month 7), run through the waterfall as the trustee does.
    from abs_engine.cli.surveil import print_cycle
    from abs_engine.surveillance import Deterioration, surveil, synthetic_servicer_history

    servicer = synthetic_servicer_history(
        deal, pool, months=12, seed=7, deterioration=Deterioration(start=7, default_mult=2.5)
    )
    cycle = surveil(deal, servicer, pool=pool, mc_paths=200, seed=7)
    print("\n== surveillance of twelve months of generated servicer data ==")
    print_cycle(cycle)
    trustee = cycle.write(args.out / f"surveillance-{stamp}", tapes=[pool])
    print(f"wrote the trustee report, state.toml and tables to {trustee}/")
    return 0
