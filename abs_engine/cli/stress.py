"""Sub-command ``stress``: scenario grids, named sets, tables and Monte Carlo, resumable.

``abs-engine stress SPEC --grid default=1:6:0.5 --grid prepay=0.5,1,1.5 --mc 10000
--seed 1 --out DIR`` runs the deal over every scenario in chunks (an embedded Dask
cluster by default, ``--scheduler ADDR`` for an existing one, ``--executor serial``
in process), writes the results under ``DIR`` and prints a one-screen summary.
Re-running the same command finishes an interrupted batch.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abs_engine.cli.commands import _parser, add_levers, command, deal_pool, encoding, lever_levels
from abs_engine.errors import SpecError

__all__ = ["GRID_KEYS", "add_stress", "parse_grid", "parse_rho", "run_stress"]

#: ``--grid`` keys and the lever each sets.
GRID_KEYS = {
    "default": "default_mult",
    "default_mult": "default_mult",
    "prepay": "prepay_mult",
    "prepay_mult": "prepay_mult",
    "severity": "severity_mult",
    "severity_mult": "severity_mult",
    "haircut": "recovery_haircut",
    "recovery_haircut": "recovery_haircut",
    "lag": "recovery_lag_shift",
    "recovery_lag": "recovery_lag_shift",
    "recovery_lag_shift": "recovery_lag_shift",
}


@command
def add_stress(sub: Any) -> None:
    """Register ``abs-engine stress``."""
    from abs_engine.stress.batch import DEFAULT_CHUNK_SIZE

    p = _parser(
        sub,
        "stress",
        "Run a stress batch (grids, named sets, scenario tables, Monte Carlo paths) serially or "
        "on a Dask cluster; re-running the same command resumes it.",
        [
            "abs-engine stress waterfalls/baitiao_2015.toml --set moderate --set severe "
            "--executor serial --out outputs/stress-sets",
            "abs-engine stress waterfalls/baitiao_2015.toml --default-mult 1:6:0.5 "
            "--prepay-mult 0.5,1,1.5 --mc 1000 --seed 1 --out outputs/stress",
        ],
    )
    p.add_argument("spec", type=Path, help="deal spec TOML (waterfalls/*.toml)")
    add_levers(p)
    p.add_argument(
        "--grid",
        action="append",
        metavar="LEVER=LEVELS",
        help="a grid axis (repeatable; axes multiply, with the lever flags too): default, "
        "prepay, severity, haircut or lag, levels as start:stop:step (stop included) or a "
        "comma list, e.g. haircut=0,0.25,0.5",
    )
    p.add_argument(
        "--set",
        action="append",
        dest="sets",
        metavar="NAME",
        help="a named stress set: base, moderate, severe (repeatable)",
    )
    p.add_argument(
        "--sets-file", type=Path, metavar="TOML", help="named sets overriding the shipped ones"
    )
    p.add_argument(
        "--scenarios", type=Path, metavar="FILE", help="a scenario table (.csv or .parquet)"
    )
    p.add_argument("--mc", type=int, metavar="N", help="Monte Carlo paths (one-factor Gaussian)")
    p.add_argument("--seed", type=int, help="Monte Carlo seed (default 0)")
    p.add_argument(
        "--rho",
        metavar="CORR",
        help="asset correlation: one number or per grade, A=0.05,B=0.08,C=0.12 (default 0.10)",
    )
    p.add_argument(
        "--prepay-beta", type=float, default=0.0, help="prepayment loading on the factor"
    )
    p.add_argument(
        "--severity-beta", type=float, default=0.0, help="severity loading on the factor"
    )
    p.add_argument("--antithetic", action="store_true", help="antithetic Monte Carlo paths")
    p.add_argument(
        "--executor",
        choices=("dask", "serial"),
        default="dask",
        help="dask (default: a local cluster, or --scheduler) or serial (this process)",
    )
    p.add_argument("--scheduler", metavar="ADDR", help="existing Dask scheduler, tcp://host:8786")
    p.add_argument("--workers", type=int, metavar="N", help="workers of the local Dask cluster")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"scenarios per chunk (default {DEFAULT_CHUNK_SIZE})",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="batch directory")
    p.add_argument("--pool", type=Path, metavar="TAPE", help="tape to use instead of the deal's")
    p.add_argument("--cashflows", action="store_true", help="also keep every scenario's cash flows")
    p.add_argument("--report", action="store_true", help="write DIR/stress_report.html")
    p.add_argument("--show", type=int, default=12, metavar="N", help="named scenarios to print")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: a bar on a terminal, else a line every few seconds)",
    )
    p.set_defaults(func=run_stress)


def parse_grid(items: list[str] | None) -> dict[str, list[float]]:
    """``["default=1:6:0.5", "prepay=0.5,1"]`` -> ``{"default_mult": [...], ...}``."""
    from abs_engine.stress.scenarios import parse_levels

    axes: dict[str, list[float]] = {}
    for item in items or []:
        key, sep, levels = item.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise SpecError(f"expected LEVER=LEVELS, e.g. default=1:6:0.5; got {item!r}", "--grid")
        if key not in GRID_KEYS:
            raise SpecError(
                f"unknown lever {key!r}; use default, prepay, severity, haircut or lag", "--grid"
            )
        lever = GRID_KEYS[key]
        if lever in axes:
            raise SpecError(f"{key} is given twice; put all its levels in one --grid", "--grid")
        axes[lever] = parse_levels(levels, f"--grid {key}")
    return axes


def parse_rho(text: str | None) -> float | dict[str, float]:
    """``"0.1"`` or ``"A=0.05,B=0.08"`` (``*=`` for the other grades)."""
    if text is None:
        return 0.10
    raw = text.strip()
    try:
        if "=" not in raw:
            return float(raw)
        out: dict[str, float] = {}
        for part in raw.split(","):
            grade, _, value = part.partition("=")
            out[grade.strip()] = float(value)
        return out
    except ValueError:
        raise SpecError(
            f"expected a number or GRADE=NUMBER pairs, e.g. A=0.05,B=0.08; got {text!r}", "--rho"
        ) from None


def _check_args(args: argparse.Namespace) -> None:
    if args.mc is None and (
        args.seed is not None
        or args.rho is not None
        or args.antithetic
        or args.prepay_beta
        or args.severity_beta
    ):
        raise SpecError("--seed, --rho, --antithetic and the betas apply to --mc N", "--mc")
    if args.mc is not None and args.mc < 1:
        raise SpecError(f"need at least one path; got {args.mc}", "--mc")
    if args.chunk_size < 1:
        raise SpecError(f"must be >= 1; got {args.chunk_size}", "--chunk-size")
    if args.executor == "serial" and (args.scheduler or args.workers):
        raise SpecError("--scheduler and --workers apply to --executor dask", "--executor")
    if args.scheduler:
        from abs_engine.stress.batch import check_address

        check_address(args.scheduler, "--scheduler")
    if args.scheduler and args.workers:
        raise SpecError("--workers sizes the local cluster; drop it with --scheduler", "--workers")
    if args.workers is not None and args.workers < 1:
        raise SpecError(f"must be >= 1; got {args.workers}", "--workers")
    if not (args.grid or args.sets or args.scenarios or args.mc):
        raise SpecError(
            "nothing to run: give --grid, --set, --scenarios or --mc (see --help)", "stress"
        )
    if args.out.exists() and not args.out.is_dir():
        raise SpecError(f"{args.out} is a file; give a directory", "--out")


def run_stress(args: argparse.Namespace) -> int:
    """Run ``abs-engine stress``."""
    from abs_engine.deal.spec import load_deal
    from abs_engine.stress import (
        MonteCarloSpec,
        concat,
        grid,
        monte_carlo,
        named_set,
        read_results,
        read_scenarios,
        run_batch,
        stress_report,
    )

    _check_args(args)
    if args.executor == "dask" and not getattr(args, "debug", False):
        import distributed  # noqa: F401  (sets its loggers to INFO on import: quiet them after)

        logging.getLogger("distributed").setLevel(logging.WARNING)
    axes = parse_grid(args.grid)
    for lever, levels in lever_levels(args).items():
        if lever in axes:
            flag = "--" + lever.replace("_", "-")
            raise SpecError(f"{lever} is given by {flag} and by --grid; give it once", flag)
        axes[lever] = levels
    rho = parse_rho(args.rho) if args.mc is not None else 0.10
    deal = load_deal(args.spec)
    pool = deal_pool(deal, args.pool, encoding=encoding(args))
    cohorts = pool.cohorts()
    parts = []
    if axes:
        parts.append(grid(**axes, severities=deal))  # type: ignore[arg-type]
    for name in args.sets or []:
        parts.append(named_set(name, deal, path=args.sets_file))
    if args.scenarios is not None:
        parts.append(read_scenarios(args.scenarios, deal))
    if args.mc is not None:
        spec = MonteCarloSpec(
            n_paths=args.mc,
            seed=0 if args.seed is None else args.seed,
            rho=rho,
            prepay_beta=args.prepay_beta,
            severity_beta=args.severity_beta,
            antithetic=args.antithetic,
        )
        parts.append(monte_carlo(deal, cohorts, spec))
    table = concat(*parts)
    counts = ", ".join(f"{g} {int((np.asarray(table.group) == g).sum()):,}" for g in table.groups)
    print(f"{deal.name}: {len(table):,} scenarios ({counts}) -> {args.out}", flush=True)
    summary = run_batch(
        deal,
        cohorts,
        table,
        out=args.out,
        executor=args.executor,
        address=args.scheduler,
        workers=args.workers,
        chunk_size=args.chunk_size,
        cashflows=args.cashflows,
        progress=args.progress,
    )
    print(summary)
    if summary.done + summary.skipped:
        print()
        print(_loss_text(read_results(args.out), args.show, args.out))
    if args.report and summary.done + summary.skipped:
        page = stress_report(args.out, deal=deal, pool=cohorts)
        print(f"\nwrote {page}")
    if summary.failed:
        print(
            f"abs-engine stress: {summary.failed} chunk(s) failed (see {args.out / 'failed'}); "
            "re-run the same command to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def _loss_text(results: pd.DataFrame, show: int = 12, out: Path | None = None) -> str:
    """Tranche losses: a table per named scenario, and statistics over Monte Carlo paths.

    Quantiles and probabilities describe a distribution, so they are shown
    only for Monte Carlo paths; grids, named sets and scenario tables are
    listed scenario by scenario (the first ``show``; results.parquet has all).
    """
    from abs_engine.stress.summary import loss_statistics, quantile_label

    if results.empty:
        return "no results yet"
    parts = []
    mc = results["group"] == "montecarlo"
    named = results[~mc]
    if not named.empty:
        parts.append(_scenario_table(named, show, out))
    if mc.any():
        n_paths = int(results.loc[mc, "scenario_index"].nunique())
        stats = loss_statistics(results[mc])
        view = pd.DataFrame(
            {
                "expected loss": stats["expected_loss"].map(lambda v: f"{v:.3%}"),
                "P(loss)": stats["prob_loss"].map(lambda v: f"{v:.2%}"),
                "loss 99%": stats[quantile_label(0.99)].map(lambda v: f"{v:.2%}"),
                "loss 99.9%": stats[quantile_label(0.999)].map(lambda v: f"{v:.2%}"),
                "worst": stats["max_loss"].map(lambda v: f"{v:.2%}"),
            },
            index=stats.index,
        )
        parts.append(
            f"tranche principal loss over {n_paths:,} Monte Carlo paths "
            f"(share of the original balance):\n{view.to_string()}"
        )
    return "\n\n".join(parts)


def _scenario_table(results: pd.DataFrame, show: int, out: Path | None) -> str:
    """Principal loss and yield of each tranche, one row per scenario (the first ``show``)."""
    tranches = list(dict.fromkeys(results["tranche"].astype(str)))
    order = results.drop_duplicates("scenario_index").sort_values("scenario_index")
    names = order["scenario"].astype(str).tolist()
    shown = results[results["scenario"].astype(str).isin(names[:show])]
    loss = shown.pivot_table(
        index="scenario", columns="tranche", values="principal_loss_share", sort=False
    )
    rows = [n for n in names[:show] if n in loss.index]
    loss = loss.reindex(index=rows, columns=tranches)
    if "pool_net_loss" in shown:
        pool = shown.drop_duplicates("scenario").set_index("scenario")["pool_net_loss"]
        loss.insert(0, "pool net loss", pool.reindex(rows).to_numpy())
    text = loss.to_string(float_format=lambda v: f"{v:.2%}")
    head = f"tranche principal loss by scenario ({len(names):,}; share of the original balance):"
    if len(names) > show:
        where = f"abs_engine.stress.read_results({str(out)!r})" if out else "read_results"
        text += f"\n... {len(names) - show:,} more scenario(s): {where} has them all"
    return f"{head}\n{text}"
