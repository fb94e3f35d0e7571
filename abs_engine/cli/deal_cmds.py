"""Deal sub-commands: ``run``, ``breakeven``, ``size``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pandas as pd

from abs_engine.cli.commands import (
    _parser,
    add_levers,
    command,
    deal_pool,
    encoding,
    scenario_grid,
    write_table,
)
from abs_engine.errors import AbsError, SpecError


def _key_values(items: list[str] | None, flag: str) -> dict[str, float]:
    """Parse repeated ``--flag name=value`` options."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SpecError(f"{flag} takes name=value, e.g. {flag} senior=4; got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise SpecError(f"{flag} {item!r}: {value!r} is not a number") from None
    return out


def _scenarios_from(args: argparse.Namespace, deal: Any) -> Any:
    """Scenarios from --scenarios FILE or the lever flags; None for the base case."""
    grid = scenario_grid(args)
    if getattr(args, "scenarios", None):
        if grid is not None:
            raise SpecError(
                "give --scenarios or the lever flags (--default-mult, ...), not both",
                "--scenarios",
            )
        from abs_engine.stress.scenarios import read_scenarios

        # the reader `stress --scenarios` uses: CSV, parquet or xlsx, checked the same way
        return read_scenarios(Path(args.scenarios), deal).scenarios
    return grid


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from abs_engine.deal import load_deal

    deal = load_deal(args.spec)
    return deal, deal_pool(deal, getattr(args, "pool", None), encoding=encoding(args))


# --- run ---------------------------------------------------------------------------------------

#: Scenarios ``run`` prints by default (all of them when there are no more).
SHOW_SCENARIOS = 12


@command
def add_run(sub: Any) -> None:
    p = _parser(
        sub,
        "run",
        "Run a deal: the investor report (HTML and Excel), cash flows, ledger and summary, "
        "in a new directory outputs/<deal>-<run id>/.",
        "abs-engine run waterfalls/baitiao_2015.toml --default-mult 1,2,4 --prepay-mult 0.5,1.5 "
        "--out outputs",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML)")
    p.add_argument("--pool", type=Path, help="tape to use instead of the deal's own")
    add_levers(p)
    p.add_argument(
        "--scenarios",
        type=Path,
        help="scenario table instead of the lever flags (CSV or parquet: scenario, "
        "default_mult, prepay_mult, severity_mult, recovery_lag_shift)",
    )
    p.add_argument(
        "--price",
        action="append",
        metavar="TRANCHE=PRICE",
        help="clean price in %% of par for a tranche (repeatable; default par)",
    )
    p.add_argument("--no-breakeven", action="store_true", help="skip the break-even multiples")
    p.add_argument("--out", type=Path, default=Path("outputs"), help="parent directory")
    p.add_argument("--name", help="run directory name (default <deal>-<UTC timestamp>)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run directory of that --name (only a previous run's output)",
    )
    p.add_argument(
        "--show",
        type=int,
        default=SHOW_SCENARIOS,
        metavar="N",
        help="scenarios to print; summary.csv has them all",
    )
    p.set_defaults(func=run_run)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "deal"


def run_run(args: argparse.Namespace) -> int:
    import datetime as dt

    from abs_engine._progress import Progress
    from abs_engine.analytics import run as run_deal
    from abs_engine.reports.run import FILES, write

    if args.show < 0:
        raise SpecError(f"--show must be >= 0; got {args.show}", "--show")
    with Progress(7, "abs-engine run", "stage", interval=2.0) as progress:
        progress.update(0, "load")
        deal, pool = _load(args)
        scenarios = _scenarios_from(args, deal)
        prices = _key_values(args.price, "--price") or None
        progress.update(1, "run")
        result = run_deal(deal, pool, scenarios)
        name = args.name or f"{_slug(deal.name)}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
        target = args.out / name
        if target.exists() and not args.overwrite:
            raise AbsError(
                f"output directory {target} already exists; pass --overwrite to replace it, "
                "or another --name"
            )
        out = write(
            result,
            target,
            pool=pool,
            scenarios=scenarios,
            prices=prices,
            breakeven=not args.no_breakeven,
            progress=lambda stage: progress.update(1, stage),
            overwrite=args.overwrite,
        )
        progress.update(1, "done")
    summary = result.summary(prices)
    print(f"{deal.name}: {result.n_scenarios:,} scenario(s), {result.n_periods} periods")
    print(tranche_table(summary, args.show))
    print(f"wrote {out}/ ({', '.join(FILES)})")
    return 0


def tranche_table(summary: pd.DataFrame, show: int = SHOW_SCENARIOS) -> str:
    """Scenario x tranche table of yield, WAL, principal loss and minimum OC.

    The first ``show`` scenarios, then a line saying how many more are in summary.csv.
    Yields and losses are in percent; WAL in years; OC a ratio (collateral / notes).
    """
    names = list(dict.fromkeys(summary["scenario"]))
    shown = summary[summary["scenario"].isin(names[:show])]
    view = pd.DataFrame(
        {
            "scenario": shown["scenario"].astype(str),
            "tranche": shown["tranche"].astype(str),
            "yield": shown["yield"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.3%}"),
            "WAL (years)": shown["wal"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
            "principal loss": shown["principal_loss_share"].map(
                lambda v: "" if pd.isna(v) else f"{v:.2%}"
            ),
            "min OC": shown["min_oc"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}"),
        }
    )
    # One scenario name per block of tranche rows.
    view.loc[view["scenario"].duplicated(), "scenario"] = ""
    text = view.to_string(index=False) if len(view) else "(no scenarios shown: --show 0)"
    if len(names) > show:
        text += f"\n... {len(names) - show:,} more scenario(s): see summary.csv"
    convention = summary.attrs.get("convention")
    text += (
        "\n(yield: "
        + (str(convention) if convention else "nominal annual")
        + "; principal loss: share of the original balance; min OC: collateral / notes"
        + " down to the class)"
    )
    return text


# --- breakeven -----------------------------------------------------------------------------


@command
def add_breakeven(sub: Any) -> None:
    p = _parser(
        sub,
        "breakeven",
        "Break-even default multiple (or CDR) at which each tranche first loses principal or "
        "misses interest.",
        "abs-engine breakeven waterfalls/baitiao_2015.toml --lever cdr --on interest",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML)")
    p.add_argument("--pool", type=Path, help="tape to use instead of the deal's own")
    p.add_argument(
        "--lever",
        choices=("default_mult", "cdr"),
        default="default_mult",
        help="what is stressed: default_mult multiplies the base default curves, cdr replaces "
        "them by one constant annual default rate",
    )
    p.add_argument(
        "--on",
        choices=("principal", "interest"),
        default="principal",
        help="what counts as breaking: a principal write-down, or any interest left unpaid "
        "(n/a for a class without coupon)",
    )
    p.add_argument("--tranche", action="append", help="tranche to solve (repeatable; default all)")
    p.add_argument("--out", type=Path, help="also write the table (.csv or .parquet)")
    p.set_defaults(func=run_breakeven)


def run_breakeven(args: argparse.Namespace) -> int:
    from abs_engine.analytics import breakeven

    deal, pool = _load(args)
    try:
        table = breakeven(deal, pool, args.tranche, lever=args.lever, on=args.on)
    except KeyError as exc:
        raise AbsError(str(exc).strip("'\"")) from None
    reasons = not_applicable(deal, args.on)
    table["reason"] = [reasons.get(str(t), "") for t in table["tranche"]]
    table.loc[table["reason"] != "", "breakeven"] = float("nan")
    view = table.drop(columns=["lever", "on"]).set_index("tranche")
    unit = "x" if args.lever == "default_mult" else " CDR"
    what = (
        "multiple of the base default curve"
        if args.lever == "default_mult"
        else "constant annual CDR"
    )
    print(f"{deal.name}: break-even {what} at the first {args.on} loss")
    for name, row in view.iterrows():
        if row["reason"]:
            print(f"  {name:16s} n/a ({row['reason']})")
            continue
        if row["breakeven"] == float("inf"):
            level = "never (within the search range)"
        elif args.lever == "default_mult":
            level = f"{row['breakeven']:.4g}{unit}"
        else:
            level = f"{row['breakeven']:.4%}{unit}"
        cnl = (
            ""
            if pd.isna(row["cumulative_net_loss"])
            else f"  pool CNL {row['cumulative_net_loss']:.2%}, "
            f"loss coverage {row['loss_coverage_multiple']:.2f}x"
        )
        print(f"  {name:16s} {level}{cnl}  (+/- {row['tolerance']:.2g})")
    print(f"({int(table['passes'].iloc[0])} engine passes)")
    if args.out:
        write_table(table, args.out)
        print(f"wrote {args.out}")
    return 0


def not_applicable(deal: Any, on: str) -> dict[str, str]:
    """Tranches for which a break-even ``on`` cannot exist, with the reason."""
    out: dict[str, str] = {}
    if on == "interest":
        for t in deal.tranches:
            if t.coupon.rate == 0 and not any(r > 0 for _, r in t.coupon.steps):
                out[t.name] = "no coupon: there is no interest to miss"
    return out


# --- size --------------------------------------------------------------------------------------


@command
def add_size(sub: Any) -> None:
    p = _parser(
        sub,
        "size",
        "Size the notes: the largest tranches that lose nothing from zero stress up to their "
        "targets, within market constraints.",
        "abs-engine size waterfalls/baitiao_2015.toml --target senior=12 --target mezzanine=6 "
        "--max-advance-rate 0.9 --min-retention 0.05 --out outputs/sized.toml",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML)")
    p.add_argument("--pool", type=Path, help="tape to use instead of the deal's own")
    p.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="TRANCHE=MULTIPLE",
        help="break-even default multiple the tranche must reach (repeatable)",
    )
    p.add_argument(
        "--on",
        choices=("principal", "interest"),
        default="principal",
        help="break-even on the first principal loss or the first missed interest",
    )
    p.add_argument(
        "--units",
        choices=("default_mult", "cnl_multiple"),
        default="default_mult",
        help="targets as multiples of the base default curve or of the base-case cumulative net loss",
    )
    p.add_argument(
        "--max-advance-rate", type=float, help="rated notes at most this share of the pool"
    )
    p.add_argument(
        "--min-retention",
        type=float,
        help="equity notes + over-collateralisation at least this share (0.05 for 5%%)",
    )
    p.add_argument(
        "--retention-basis", choices=("pool", "notes"), default="pool", help="share of what"
    )
    p.add_argument("--min-equity", type=float, help="equity notes at least this share of the pool")
    p.add_argument(
        "--min-ce",
        action="append",
        metavar="TRANCHE=SHARE",
        help="minimum credit enhancement at closing of a tranche (repeatable)",
    )
    p.add_argument("--out", type=Path, help="write the sized deal spec (TOML)")
    p.set_defaults(func=run_size)


def run_size(args: argparse.Namespace) -> int:
    from abs_engine.analytics import size

    deal, pool = _load(args)
    targets = _key_values(args.target, "--target")
    sized = size(
        deal,
        pool,
        targets,
        on=args.on,
        units=args.units,
        max_advance_rate=args.max_advance_rate,
        min_retention=args.min_retention,
        retention_basis=args.retention_basis,
        min_equity=args.min_equity,
        min_credit_enhancement=_key_values(args.min_ce, "--min-ce") or None,
    )
    print(f"{deal.name}: sized for {', '.join(f'{k} {v:g}x' for k, v in targets.items())}\n")
    table = sized.tranches.set_index("tranche")[
        ["class", "size", "balance", "coupon", "wal", "target", "breakeven_multiple", "binding"]
    ]
    print(
        table.to_string(
            formatters={
                "size": lambda v: f"{v:.2%}",
                "balance": lambda v: f"{v:,.2f}",
                "coupon": lambda v: f"{v:.2%}",
                "wal": lambda v: f"{v:.2f}",
                "target": lambda v: "" if pd.isna(v) else f"{v:g}x",
                "breakeven_multiple": lambda v: "" if pd.isna(v) else f"{v:.3f}x",
            }
        )
    )
    s = sized.summary()
    print(
        f"\nadvance rate {s['advance_rate']:.2%}, weighted average cost of debt {s['cost_of_debt']:.3%}, "
        f"excess spread {s['excess_spread']:.2%}, equity IRR {s['equity_irr']:.2%} "
        f"({int(s['engine_runs'])} engine runs)"
    )
    if args.out:
        sized.to_toml(args.out)
        print(f"wrote {args.out}")
    return 0
