"""Everything a deal run writes, into one directory written atomically.

The investor (or surveillance) report, the workbook, cash flows, ledger,
summary and the run's identity.

Files (``out_dir``):

``report.html``
    self-contained investor report (plotly.js embedded): deal summary and capital
    stack, pool stratification, collateral cash flows, tranche table, note balances,
    OC/IC against triggers, scenario comparison, prospectus tables, break-even,
    assumptions and run metadata; with a deal ``state``, the surveillance report.
``report.xlsx``
    summary, tranche cash flows, pool cash flows, strats, assumptions — one sheet each.
``cashflows.parquet``
    note cash flows per scenario, period and tranche, with the pool's collections.
``ledger.parquet``
    every movement of cash.
``summary.csv``
    the summary sheet, one row per scenario and tranche.
``run.json``
    package version, git commit, spec hash, seed, scenario count, files, effective spec.

No receivable-level data is written: the directory is checked for every loan id of
the tape before it is put in place.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from abs_engine.analytics.breakeven import breakeven as solve_breakeven
from abs_engine.analytics.deal import AnalysedRun
from abs_engine.analytics.tables import decrement_table, price_yield_table
from abs_engine.curves.scenarios import ScenarioSet
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import deal_to_dict
from abs_engine.io import atomic_dir, write_frame
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.projection.engine import project
from abs_engine.projection.results import PoolCashflows
from abs_engine.reports.deal_sections import (
    breakeven_section,
    capital_stack_section,
    conventions_frame,
    coverage_section,
    notes_section,
    pick_price_yield_tranches,
    prospectus_section,
    scenario_comparison_section,
    surveillance_section,
)
from abs_engine.reports.excel import MAX_ROWS, Sheet, write_workbook
from abs_engine.reports.html import Report, Section, Table
from abs_engine.reports.metadata import run_metadata
from abs_engine.reports.pool_sections import (
    assumptions_section,
    collateral_section,
    pool_sheets,
    scenario_section,
    strats_section,
)
from abs_engine.reports.privacy import assert_no_identifiers

__all__ = ["FILES", "build_report", "write"]

log = logging.getLogger(__name__)

FILES = (
    "report.html",
    "report.xlsx",
    "cashflows.parquet",
    "ledger.parquet",
    "summary.csv",
    "run.json",
)
Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


def build_report(
    result: AnalysedRun,
    pool: Pool,
    *,
    cf: PoolCashflows,
    scenarios: ScenarioSet,
    summary: pd.DataFrame,
    breakevens: pd.DataFrame | None,
    metadata: Any,
    prices: Mapping[str, float] | float | None = None,
) -> Report:
    """The investor report (or surveillance report for a seasoned deal).

    ``cf`` is the cut-off pool projected by grade under the run's ``scenarios``.
    """
    deal = result.deal
    sections: list[Section | None] = []
    if deal.state is not None:
        sections.append(surveillance_section(result, pool))
    strats = strats_section(pool)
    if any(c.startswith("ew_") for c in pool.table.column_names):  # a graded tape
        flags = pool.strats("early_warning")
        assert isinstance(flags, pd.DataFrame)
        strats = strats.extended(
            Table(
                flags,
                {"count": "int", "balance": "money", "pct_balance": "pct"},
                caption="Early-warning flags (receivables may carry several)",
            )
        )
    sections += [
        capital_stack_section(result),
        strats,
        collateral_section(cf, currency=deal.currency),
        notes_section(result, summary, breakevens, prices),
        coverage_section(result),
        scenario_comparison_section(result, summary),
        scenario_section(cf, scenarios=scenarios, currency=deal.currency),
    ]
    decrement = decrement_table(deal, pool)
    py_tables = {n: price_yield_table(result, n) for n in pick_price_yield_tranches(result)}
    sections.append(prospectus_section(decrement, py_tables))
    if breakevens is not None:
        sections.append(breakeven_section(breakevens))
    sections.append(assumptions_section(deal.assumptions, grades=pool.grades))
    kind = "Surveillance report" if deal.state is not None else "Investor report"
    when = deal.state.as_of if deal.state is not None else deal.dates.cutoff
    return Report(
        f"{deal.name} — {kind}",
        [s for s in sections if s is not None],
        subtitle=f"{'As of' if deal.state else 'Cut-off'} {when:%Y-%m-%d} · {result.n_scenarios:,} scenario(s)",
        currency=deal.currency,
        metadata=metadata,
    )


def _first_scenarios(frame: pd.DataFrame, names: Any, most: int = 100) -> pd.DataFrame:
    """The rows of the first scenarios (at most ``most``) that fit on one Excel sheet.

    The whole table is in ``cashflows.parquet``; a workbook is for reading.
    """
    n_rows = len(frame)
    n_scen = max(len(names), 1)
    per_scenario = max(-(-n_rows // n_scen), 1)
    k = max(1, min(most, (MAX_ROWS - 1) // per_scenario))
    out = frame[frame["scenario"].isin(list(names[:k]))]
    if len(out) > MAX_ROWS - 1:  # one scenario longer than a sheet: its first rows
        out = out.iloc[: MAX_ROWS - 1]
    if k < min(most, len(names)):
        log.warning("workbook: %d of %d scenarios' cash flows fit on a sheet", k, len(names))
    return out


def write(
    result: RunResult,
    out_dir: str | os.PathLike[str],
    *,
    pool: Pool | None = None,
    scenarios: ScenarioSet | None = None,
    prices: Mapping[str, float] | float | None = None,
    breakeven: bool = True,
    seed: int | None = None,
    created: dt.datetime | None = None,
    progress: Progress = _no_progress,
    overwrite: bool = False,
) -> Path:
    """Write a run's outputs into ``out_dir`` (a new directory, put in place atomically).

    Parameters
    ----------
    result : RunResult
        A deal run (``ae.run(...)``).
    out_dir : path
        Must not exist (unless ``overwrite``); nothing appears there unless
        every file was written.
    pool : Pool, optional
        The receivables the run used (default: the deal's tape), for the
        stratification and the collateral charts.
    scenarios : ScenarioSet, optional
        The run's scenario set, to chart the collateral under the same levers.
    prices : mapping or float, optional
        Note prices in percent of par for the yields (default par).
    breakeven : bool
        Solve the break-even default multiples for the report (a few engine runs).
    seed : int, optional
        Recorded in the metadata (Monte Carlo runs).
    created : datetime, optional
        Timestamp recorded (default now); fix it for byte-identical reruns.
    progress : callable, optional
        Called with the name of each stage (the CLI draws a progress bar).
    overwrite : bool
        Replace an existing ``out_dir`` that holds a previous run (its
        ``run.json``) or nothing; the old directory goes only once the new one
        is complete.  Any other existing path is refused.

    Raises
    ------
    FileExistsError
        ``out_dir`` exists and ``overwrite`` is false, or it is not a run directory.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    target = Path(out_dir)
    _check_target(target, overwrite)
    analysed = AnalysedRun.of(result)
    deal = analysed.deal
    if pool is None:
        if deal.pool.tape is None:
            raise FileNotFoundError("the deal names no tape; pass pool=")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    scenarios = scenarios or ScenarioSet.from_arrays(analysed.scenario_names)
    cf = project(pool, deal.assumptions, scenarios, by="grade", **deal.projection_options())
    progress("analytics")
    summary = analysed.summary(prices)
    breakevens = solve_breakeven(deal, pool) if breakeven else None
    spec = {
        "deal": deal_to_dict(deal),
        "scenarios": scenarios.to_frame().to_dict(orient="list"),
        "prices": prices if isinstance(prices, Mapping) or prices is None else float(prices),
    }
    meta = run_metadata(
        spec,
        seed=seed,
        created=created,
        extra={
            "deal": deal.name,
            "scenarios": f"{analysed.n_scenarios}",
            "tape": str(deal.pool.tape or ""),
        },
    )
    progress("report")
    report = build_report(
        analysed,
        pool,
        cf=cf,
        scenarios=scenarios,
        summary=summary,
        breakevens=breakevens,
        metadata=meta,
        prices=prices,
    )
    with atomic_dir(target, replace=overwrite) as tmp:
        report.write(tmp / "report.html")
        progress("workbook")
        tranche_cf = analysed.tranche_cashflows
        sheets = [
            Sheet("summary", summary),
            Sheet("tranche_cashflows", _first_scenarios(tranche_cf, analysed.scenario_names)),
            Sheet(
                "deal_pool_cashflows",
                _first_scenarios(analysed.pool_cashflows, analysed.scenario_names),
            ),
        ]
        sheets += [
            s
            for s in pool_sheets(pool, cf, assumptions=deal.assumptions)
            if s.name != "pool_cashflows"
        ]
        if breakevens is not None:
            sheets.append(Sheet("breakeven", breakevens))
        sheets.append(Sheet("conventions", conventions_frame(summary, breakevens)))
        write_workbook(
            tmp / "report.xlsx", sheets, metadata=meta, title=report.title, currency=deal.currency
        )
        progress("files")
        pool_cols = (
            analysed.pool_cashflows.drop(columns=["date"])
            .add_prefix("pool_")
            .rename(columns={"pool_scenario": "scenario", "pool_period": "period"})
        )
        tranche_cf.merge(pool_cols, on=["scenario", "period"], how="left").to_parquet(
            tmp / "cashflows.parquet", index=False
        )
        analysed.ledger.to_parquet(tmp / "ledger.parquet", index=False)
        write_frame(summary, tmp / "summary.csv")  # no formulas; floats to 12 digits
        run_json = {
            **meta.to_dict(),
            "files": list(FILES),
            "spec": json.loads(json.dumps(spec, default=str)),
        }
        (tmp / "run.json").write_text(json.dumps(run_json, indent=2, default=str))
        progress("privacy check")
        assert_no_identifiers(tmp, pool)
    log.info("wrote %s (%d scenarios)", target, analysed.n_scenarios)
    return target


def _check_target(target: Path, overwrite: bool) -> None:
    """Refuse an existing ``target`` unless ``overwrite`` and it is a run directory (or empty)."""
    if not target.exists():
        return
    if not overwrite:
        raise FileExistsError(
            f"output directory already exists: {target}; pass overwrite=True to replace it"
        )
    if not target.is_dir() or not ((target / "run.json").is_file() or not any(target.iterdir())):
        raise FileExistsError(
            f"{target} exists and is not a run directory (no run.json); "
            "refusing to replace it: choose another directory"
        )
