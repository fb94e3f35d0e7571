"""Deal sub-commands: ``run``, ``breakeven``, ``size``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from abs_engine.cli.commands import _parser, command, deal_pool, encoding
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
    """Scenarios from --scenarios FILE and/or --default-mult lists; None for the base case."""
    from abs_engine.curves.scenarios import ScenarioSet

    if getattr(args, "scenarios", None):
        path = Path(args.scenarios)
        if not path.exists():
            raise SpecError(f"scenario file not found: {path}", "--scenarios")
        frame = (
            pd.read_parquet(path)
            if path.suffix.lower() in (".parquet", ".pq")
            else pd.read_csv(path)
        )
        return ScenarioSet.from_frame(frame)
    mults = getattr(args, "default_mult", None)
    if mults:
        return ScenarioSet.grid(
            default_mult=[float(x) for x in re.split(r"[,\s]+", mults.strip()) if x]
        )
    return None


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from abs_engine.deal import load_deal

    deal = load_deal(args.spec)
    return deal, deal_pool(deal, getattr(args, "pool", None), encoding=encoding(args))


# --- run ---------------------------------------------------------------------------------------


@command
def add_run(sub: Any) -> None:
    p = _parser(
        sub,
        "run",
        "Run a deal: the investor report (HTML and Excel), cash flows, ledger and summary, "
        "in a new directory outputs/<deal>-<run id>/.",
        "abs-engine run waterfalls/baitiao_2015.toml --default-mult 1,2,4 --out outputs",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML)")
    p.add_argument("--pool", type=Path, help="tape to use instead of the deal's own")
    p.add_argument(
        "--scenarios",
        type=Path,
        help="scenario table (CSV or parquet: scenario, default_mult, ...)",
    )
    p.add_argument("--default-mult", help="default multipliers, comma separated (a quick grid)")
    p.add_argument(
        "--price", action="append", help="tranche=price in %% of par (repeatable; default par)"
    )
    p.add_argument("--no-breakeven", action="store_true", help="skip the break-even multiples")
    p.add_argument(
        "--out", type=Path, default=Path("outputs"), help="parent directory (default outputs)"
    )
    p.add_argument("--name", help="run directory name (default <deal>-<UTC timestamp>)")
    p.set_defaults(func=run_run)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "deal"


class _Stages:
    """A progress bar over the stages of a run (on stderr; silent when not a terminal)."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm import tqdm

            self.bar: Any = tqdm(
                total=total,
                desc="abs-engine",
                unit="stage",
                file=sys.stderr,
                disable=None,
                leave=False,
            )
        except ImportError:  # pragma: no cover - tqdm is a dependency
            self.bar = None

    def __call__(self, stage: str) -> None:
        if self.bar is not None:
            self.bar.set_description(stage)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_run(args: argparse.Namespace) -> int:
    import datetime as dt

    from abs_engine.analytics import run as run_deal
    from abs_engine.reports.run import FILES, write

    stages = _Stages(total=7)
    try:
        stages("load")
        deal, pool = _load(args)
        scenarios = _scenarios_from(args, deal)
        prices = _key_values(args.price, "--price") or None
        stages("run")
        result = run_deal(deal, pool, scenarios)
        name = args.name or f"{_slug(deal.name)}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
        target = args.out / name
        if target.exists():
            raise AbsError(f"output directory {target} already exists; pass --name or remove it")
        out = write(
            result,
            target,
            pool=pool,
            scenarios=scenarios,
            prices=prices,
            breakeven=not args.no_breakeven,
            progress=stages,
        )
    finally:
        stages.close()
    summary = result.summary(prices)
    base = summary[summary["scenario"] == result.scenario_names[0]].set_index("tranche")
    print(f"{deal.name}: {result.n_scenarios:,} scenario(s), {result.n_periods} periods")
    for tranche, row in base.iterrows():
        print(
            f"  {tranche:16s} yield {row['yield']:8.3%}  WAL {row['wal']:5.2f}y  "
            f"loss {row['principal_loss_share']:7.2%}  min OC {row['min_oc']:6.2f}"
        )
    print(f"wrote {out}/ ({', '.join(FILES)})")
    return 0


# --- breakeven -----------------------------------------------------------------------------


@command
def add_breakeven(sub: Any) -> None:
    p = _parser(
        sub,
        "breakeven",
        "Break-even default multiple (or CDR) at which each tranche first loses principal or misses interest.",
        "abs-engine breakeven waterfalls/baitiao_2015.toml --lever cdr --on principal",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML)")
    p.add_argument("--pool", type=Path, help="tape to use instead of the deal's own")
    p.add_argument("--lever", choices=("default_mult", "cdr"), default="default_mult")
    p.add_argument("--on", choices=("principal", "interest"), default="principal")
    p.add_argument("--tranche", action="append", help="tranche to solve (repeatable; default all)")
    p.add_argument("--out", type=Path, help="also write the table as CSV")
    p.set_defaults(func=run_breakeven)


def run_breakeven(args: argparse.Namespace) -> int:
    from abs_engine.analytics import breakeven
    from abs_engine.io import atomic_path

    deal, pool = _load(args)
    try:
        table = breakeven(deal, pool, args.tranche, lever=args.lever, on=args.on)
    except KeyError as exc:
        raise AbsError(str(exc).strip("'\"")) from None
    view = table.drop(columns=["lever", "on"]).set_index("tranche")
    unit = "x" if args.lever == "default_mult" else " CDR"
    print(f"{deal.name}: break-even ({args.lever}, first {args.on} loss)")
    for name, row in view.iterrows():
        level = (
            "never (within the search range)"
            if row["breakeven"] == float("inf")
            else (
                f"{row['breakeven']:.4g}{unit}"
                if args.lever == "default_mult"
                else f"{row['breakeven']:.4%}{unit}"
            )
        )
        cnl = (
            ""
            if pd.isna(row["cumulative_net_loss"])
            else (
                f"  pool CNL {row['cumulative_net_loss']:.2%}, loss coverage {row['loss_coverage_multiple']:.2f}x"
            )
        )
        print(f"  {name:16s} {level}{cnl}  (+/- {row['tolerance']:.2g})")
    print(f"({int(table['passes'].iloc[0])} engine passes)")
    if args.out:
        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False)
        print(f"wrote {args.out}")
    return 0


# --- size --------------------------------------------------------------------------------------


@command
def add_size(sub: Any) -> None:
    p = _parser(
        sub,
        "size",
        "Size the notes: the largest tranches whose break-even multiples reach their targets.",
        "abs-engine size waterfalls/baitiao_2015.toml --target senior=4 --target mezzanine=2 --out sized.toml",
    )
    p.add_argument("spec", type=Path, help="deal spec (TOML)")
    p.add_argument("--pool", type=Path, help="tape to use instead of the deal's own")
    p.add_argument("--target", action="append", required=True, help="tranche=multiple (repeatable)")
    p.add_argument("--on", choices=("principal", "interest"), default="principal")
    p.add_argument("--out", type=Path, help="write the sized deal spec (TOML)")
    p.set_defaults(func=run_size)


def run_size(args: argparse.Namespace) -> int:
    from abs_engine.analytics import size

    deal, pool = _load(args)
    targets = _key_values(args.target, "--target")
    sized = size(deal, pool, targets, on=args.on)
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
