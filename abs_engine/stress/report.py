"""The stress report: one self-contained HTML page built from a batch directory.

Sections (each only when the batch has what it needs):

1. *Batch* — deal, scenario groups, chunks finished and failed, seed.
2. *Tranche loss over default and prepayment* — per tranche, a heat map of
   principal loss over the grid's default x prepayment multipliers (other
   axes held at their neutral level), with the numbers as a table.
3. *Monte Carlo* — distributions of pool net loss and tranche loss, tail
   exceedance curves, and per tranche expected loss, probability of any loss
   and loss at the 99th / 99.9th percentile.
4. *Stress multiples* — the pass/fail table: with the deal (and pool) given,
   :func:`abs_engine.analytics.stress_table`; otherwise read off the grid.
5. *Failed chunks*, and the run metadata (version, commit, seed, the batch's
   identity and effective deal spec).

It uses the shared document model of :mod:`abs_engine.reports` (same style
as the investor report), written atomically.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abs_engine.analytics.breakeven import stress_table
from abs_engine.deal.spec import Deal
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool
from abs_engine.reports.format import log_axis
from abs_engine.reports.html import Figure, KeyValue, Paragraph, Report, Section, Table
from abs_engine.reports.metadata import run_metadata
from abs_engine.stress.batch import FAILED, read_manifest, read_results
from abs_engine.stress.summary import (
    LOSS,
    exceedance,
    heat_map,
    loss_statistics,
    pass_fail,
    pool_loss_statistics,
    quantile_label,
)

__all__ = ["REPORT_NAME", "stress_report", "stress_sections"]

log = logging.getLogger(__name__)

#: File name of the report inside a batch directory.
REPORT_NAME = "stress_report.html"
MONTE_CARLO = "montecarlo"
_QUANTILES = (0.99, 0.999)


def stress_report(
    out: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    deal: Deal | None = None,
    pool: Pool | Cohorts | None = None,
    title: str | None = None,
) -> Path:
    """Write the stress report of a batch directory.

    Parameters
    ----------
    out : path-like
        The batch directory of :func:`~abs_engine.stress.run_batch`.
    path : path-like, optional
        Where to write (default ``out/stress_report.html``).
    deal : Deal, optional
        With it (and ``pool``, default the deal's tape), the stress-multiple
        table is the rating-agency grid of
        :func:`abs_engine.analytics.stress_table`.
    pool : Pool or Cohorts, optional
    title : str, optional

    Returns
    -------
    Path
        The report file.
    """
    out = Path(out)
    manifest = read_manifest(out)
    results = read_results(out)
    sections = stress_sections(out, results, manifest, deal=deal, pool=pool)
    meta = run_metadata(
        {
            "batch": manifest.get("identity", {}),
            "scenarios": manifest.get("scenario_metadata"),
            "deal": manifest.get("deal"),
        },
        seed=manifest.get("seed"),
        extra={
            "batch": str(manifest.get("batch", ""))[:16],
            "scenarios": f"{manifest.get('n_scenarios', 0):,}",
            "chunk size": f"{manifest.get('chunk_size', 0):,}",
        },
    )
    report = Report(
        title or f"Stress report — {manifest.get('deal_name', 'deal')}",
        sections,
        subtitle=f"{manifest.get('n_scenarios', 0):,} scenarios · batch {out.name}",
        currency=manifest.get("currency"),
        metadata=meta,
    )
    target = Path(path) if path is not None else out / REPORT_NAME
    report.write(target)
    log.info("wrote the stress report %s", target)
    return target


def stress_sections(
    out: Path,
    results: pd.DataFrame,
    manifest: dict[str, Any],
    *,
    deal: Deal | None = None,
    pool: Pool | Cohorts | None = None,
) -> list[Section]:
    """The sections of the stress report (for embedding in another report)."""
    sections = [_overview(out, results, manifest)]
    grid = results[results["group"] != MONTE_CARLO] if "group" in results else results
    if not grid.empty:
        heat = _heat_section(grid)
        if heat is not None:
            sections.append(heat)
    if "group" in results and (results["group"] == MONTE_CARLO).any():
        sections.append(_monte_carlo_section(results, manifest))
    multiples = _multiples_section(grid, deal, pool)
    if multiples is not None:
        sections.append(multiples)
    failed = _failed_section(out)
    if failed is not None:
        sections.append(failed)
    return sections


# --- sections ---------------------------------------------------------------------------------------


def _overview(out: Path, results: pd.DataFrame, manifest: dict[str, Any]) -> Section:
    per_scenario = results.drop_duplicates("scenario_index")
    n_done = len(per_scenario)
    n_all = int(manifest.get("n_scenarios", n_done))
    failed_dir = out / FAILED
    n_failed = len(list(failed_dir.glob("chunk=*.json"))) if failed_dir.exists() else 0
    rows: list[tuple[str, Any, str]] = [
        ("Deal", manifest.get("deal_name", ""), "text"),
        ("Scenarios in the batch", n_all, "int"),
        ("Scenarios with results", n_done, "int"),
        ("Chunks", int(manifest.get("n_chunks", 0)), "int"),
        ("Failed chunks", n_failed, "int"),
        ("Chunk size", int(manifest.get("chunk_size", 0)), "int"),
        ("Cut-off pool balance", float(manifest.get("pool_balance", np.nan)), "money0"),
        ("Random seed", "none" if manifest.get("seed") is None else manifest["seed"], "text"),
    ]
    counts = (
        per_scenario.groupby("group", sort=False).size().rename("scenarios").to_frame()
        if "group" in per_scenario
        else pd.DataFrame()
    )
    blocks: list[Any] = [KeyValue(rows, caption="Batch")]
    if not counts.empty:
        blocks.append(Table(counts, formats={"scenarios": "int"}, caption="Scenario groups"))
    if n_done < n_all:
        blocks.append(
            Paragraph(
                f"The batch is incomplete: {n_all - n_done:,} scenarios have no results. "
                "Re-run the same command to finish it.",
                kind="note",
            )
        )
    return Section("Batch", blocks, id="batch")


def _heat_section(grid: pd.DataFrame) -> Section | None:
    if "default_mult" not in grid or "prepay_mult" not in grid:
        return None
    n_d = grid["default_mult"].nunique()
    n_p = grid["prepay_mult"].nunique()
    if n_d < 2:
        return None
    blocks: list[Any] = []
    if n_p >= 2:
        blocks.append(
            Paragraph(
                "Principal loss of each tranche (share of its balance written down) over the "
                "grid of default and prepayment multipliers of the base-case curves."
            )
        )
    for tranche in dict.fromkeys(grid["tranche"].astype(str)):
        table = heat_map(grid, tranche, y="prepay_mult")
        fixed = table.attrs.get("fixed", {})
        held = ", ".join(f"{k} = {v:g}" for k, v in fixed.items())
        note = f"Other stresses held at {held}." if held else None
        if n_p >= 2:
            zmax = max(float(np.nanmax(table.to_numpy())), 0.01)
            fig = go.Figure(
                go.Heatmap(
                    z=table.to_numpy(),
                    x=[f"{c:g}x" for c in table.columns],
                    y=[f"{i:g}x" for i in table.index],
                    colorscale="Reds",
                    zmin=0.0,
                    zmax=zmax,
                    texttemplate="%{z:.1%}",
                    hovertemplate="default %{x}, prepay %{y}: loss %{z:.2%}<extra></extra>",
                    colorbar={
                        "tickformat": ".0%" if zmax >= 0.1 else ".1%",
                        "title": {"text": "loss"},
                    },
                )
            )
            fig.update_layout(
                title=f"{tranche}: principal loss",
                xaxis_title="default multiplier",
                yaxis_title="prepayment multiplier",
                hovermode="closest",
            )
        else:
            row = table.iloc[0]
            fig = go.Figure(
                go.Scatter(x=list(row.index), y=row.to_numpy(), mode="lines+markers", name=tranche)
            )
            fig.update_layout(
                title=f"{tranche}: principal loss",
                xaxis_title="default multiplier",
                yaxis={"tickformat": ".0%", "title": {"text": "loss"}},
            )
        blocks.append(Figure(fig, caption=note, height=360))
        shown = table.copy()
        shown.index = [f"prepay {i:g}x" for i in shown.index]
        shown.columns = [f"{c:g}x" for c in shown.columns]
        blocks.append(
            Table(
                shown,
                formats=dict.fromkeys(shown.columns, "pct1"),
                caption=f"{tranche}: principal loss by default multiplier",
                index=True,
            )
        )
    return Section("Tranche loss over default and prepayment", blocks, id="heat-maps")


def _histogram(values: np.ndarray, name: str, edges: np.ndarray | int = 60) -> go.Bar:
    """Pre-binned histogram (the page carries bin counts, not every path)."""
    x = values[np.isfinite(values)]
    counts, edges = np.histogram(x, bins=edges)
    mids = 0.5 * (edges[1:] + edges[:-1])
    return go.Bar(
        x=mids,
        y=counts / max(x.size, 1),
        width=np.diff(edges),
        name=name,
        opacity=0.75,
        hovertemplate="%{x:.2%}: %{y:.2%} of paths<extra>" + name + "</extra>",
    )


def _monte_carlo_section(results: pd.DataFrame, manifest: dict[str, Any]) -> Section:
    mc = results[results["group"] == MONTE_CARLO]
    per_path = mc.drop_duplicates("scenario_index")
    blocks: list[Any] = []
    spec = _mc_spec(manifest.get("scenario_metadata"))
    if spec:
        rho = spec.get("spec", {}).get("rho")
        rho_text = (
            ", ".join(f"{g} {v:g}" for g, v in rho.items()) if isinstance(rho, dict) else str(rho)
        )
        inner = spec.get("spec", {})
        base = spec.get("base_default", {})
        blocks.append(
            KeyValue(
                [
                    ("Paths", int(inner.get("n_paths", len(per_path))), "int"),
                    ("Seed", str(inner.get("seed", "")), "text"),
                    ("Asset correlation (rho)", rho_text, "text"),
                    ("Prepayment loading (beta)", float(inner.get("prepay_beta", 0.0)), "float2"),
                    ("Severity loading (beta)", float(inner.get("severity_beta", 0.0)), "float2"),
                    ("Antithetic", "yes" if inner.get("antithetic") else "no", "text"),
                    *(
                        (f"Base lifetime default, grade {g}", float(v), "pct2")
                        for g, v in base.items()
                    ),
                ],
                caption="One-factor Gaussian (Vasicek) model",
            )
        )
    stats = loss_statistics(mc, quantiles=_QUANTILES)
    labels = {
        "scenarios": "Paths",
        "expected_loss": "Expected loss",
        "expected_loss_se": "Std. error of EL",
        "prob_loss": "P(any loss)",
        quantile_label(0.99): "Loss at 99%",
        quantile_label(0.999): "Loss at 99.9%",
        "max_loss": "Worst path",
        "prob_interest_shortfall": "P(interest shortfall)",
    }
    formats = {c: "pct3" for c in stats.columns if c != "scenarios"}
    formats["scenarios"] = "int"
    blocks.append(
        Table(
            stats,
            formats=formats,
            labels=labels,
            caption="Tranche loss over the Monte Carlo paths (share of the tranche's balance)",
            index=True,
            id="mc-loss-table",
        )
    )
    pool_stats = pool_loss_statistics(mc, quantiles=_QUANTILES)
    pool_stats.index = ["Cumulative net loss", "Cumulative default"][: len(pool_stats)]
    blocks.append(
        Table(
            pool_stats,
            formats={c: ("int" if c == "scenarios" else "pct3") for c in pool_stats.columns},
            labels={"scenarios": "Paths", "p99": "99%", "p99_9": "99.9%"},
            caption="Pool over the Monte Carlo paths (share of the cut-off balance)",
            index=True,
        )
    )
    pool_fig = go.Figure(
        _histogram(per_path["pool_net_loss"].to_numpy(dtype=np.float64), "pool net loss")
    )
    pool_fig.update_layout(
        title="Pool cumulative net loss",
        xaxis={"tickformat": ".1%", "title": {"text": "net loss (share of the cut-off pool)"}},
        yaxis={"tickformat": ".1%", "title": {"text": "share of paths"}},
        bargap=0.0,
        hovermode="closest",
    )
    blocks.append(Figure(pool_fig, caption="Distribution over the paths", height=340))
    tr_fig = go.Figure()
    ex_fig = go.Figure()
    all_loss = mc[LOSS].to_numpy(dtype=np.float64)
    top = max(float(np.nanmax(all_loss)) if np.isfinite(all_loss).any() else 0.0, 0.01)
    edges = np.linspace(0.0, top, 51)
    n_paths = max(len(per_path), 1)
    smallest, largest = 1.0, 1.0 / n_paths
    for name in dict.fromkeys(mc["tranche"].astype(str)):
        loss = mc.loc[mc["tranche"].astype(str) == name, LOSS].to_numpy(dtype=np.float64)
        bars = _histogram(loss, name, edges)
        tr_fig.add_trace(bars)
        shares = np.asarray(bars.y, dtype=np.float64)
        if (shares > 0).any():
            smallest = min(smallest, float(shares[shares > 0].min()))
            largest = max(largest, float(shares.max()))
        curve = exceedance(loss)
        curve = curve[curve["probability"] > 0]
        ex_fig.add_trace(
            go.Scatter(x=curve["level"], y=curve["probability"], mode="lines", name=name)
        )
    tr_fig.update_layout(
        title="Tranche principal loss",
        barmode="overlay",
        bargap=0.0,
        xaxis={"tickformat": ".0%", "title": {"text": "loss (share of the tranche)"}},
        yaxis={
            **log_axis(min(smallest, largest), largest),
            "title": {"text": "share of paths"},
        },
        hovermode="closest",
    )
    blocks.append(
        Figure(tr_fig, caption="Distribution over the paths (log scale: the tail)", height=360)
    )
    ex_fig.update_layout(
        title="Probability that loss exceeds a level",
        xaxis={"tickformat": ".0%", "title": {"text": "loss (share of the tranche)"}},
        yaxis={**log_axis(1.0 / n_paths, 1.0), "title": {"text": "P(loss > level)"}},
        hovermode="closest",
    )
    blocks.append(
        Figure(
            ex_fig,
            caption="Exceedance curves (a tranche that never loses has none)",
            height=360,
        )
    )
    return Section("Monte Carlo", blocks, id="monte-carlo")


def _mc_spec(meta: Any) -> dict[str, Any] | None:
    if isinstance(meta, dict):
        if meta.get("kind") == "montecarlo":
            return meta
        for part in meta.get("parts", []) or []:
            found = _mc_spec(part)
            if found is not None:
                return found
    return None


_AXIS_LABELS = {
    "tranche": ("Tranche", "{}"),
    "recovery_haircut": ("Recovery haircut", "{:.0%}"),
    "severity_mult": ("Severity multiple", "{:g}x"),
    "recovery_lag_shift": ("Recovery lag shift (months)", "{:+g}"),
    "prepay_mult": ("Prepayment multiple", "{:g}x"),
}


def _text_pass(table: pd.DataFrame) -> pd.DataFrame:
    """Pass/fail as text, the row keys as labelled columns (``50%``, ``0.5x``)."""
    shown = table.map(lambda v: "pass" if bool(v) else "FAIL")
    keys = shown.index.to_frame(index=False)
    cols = {}
    for name in keys.columns:
        label, fmt = _AXIS_LABELS.get(str(name), (str(name), "{}"))
        cols[label] = [fmt.format(v) for v in keys[name]]
    out = pd.DataFrame(cols)
    for c in shown.columns:
        out[str(c)] = shown[c].to_numpy()
    return out


def _multiples_section(
    grid: pd.DataFrame, deal: Deal | None, pool: Pool | Cohorts | None
) -> Section | None:
    if deal is not None:
        table = stress_table(deal, pool)
        intro = (
            "Whether each tranche is repaid in full (no principal loss) at multiples of the "
            "base-case default curve, for each recovery haircut and prepayment multiple "
            "(the rating-agency grid)."
        )
    elif not grid.empty and "default_mult" in grid and grid["default_mult"].nunique() >= 2:
        table = pass_fail(grid)
        intro = (
            "Whether each tranche is repaid in full (no principal loss) in every grid "
            "scenario at each default multiple."
        )
    else:
        return None
    shown = _text_pass(table)
    return Section(
        "Stress multiples",
        [
            Paragraph(intro),
            Table(
                shown,
                formats=dict.fromkeys(shown.columns, "text"),
                caption="Pass / fail by default multiple",
                index=False,
                id="stress-multiples-table",
            ),
        ],
        id="stress-multiples",
    )


def _failed_section(out: Path) -> Section | None:
    import json

    folder = out / FAILED
    files: Sequence[Path] = sorted(folder.glob("chunk=*.json")) if folder.exists() else []
    if not files:
        return None
    rows = []
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        ids = data.get("scenarios", [])
        rows.append(
            {
                "chunk": int(data.get("chunk", -1)),
                "scenarios": len(ids),
                "first scenario": ids[0] if ids else "",
                "error": str(data.get("error", ""))[:200],
            }
        )
    return Section(
        "Failed chunks",
        [
            Paragraph(
                "These chunks raised; their scenarios have no results. Re-running the batch "
                "retries them.",
                kind="note",
            ),
            Table(pd.DataFrame(rows), formats={"chunk": "int", "scenarios": "int"}),
        ],
        id="failed-chunks",
    )
