"""Scorecard reports: the validation report, and the drift blocks of the early-warning section.

:func:`validation_report` turns a :class:`~abs_engine.grading.validation.Validation`
(and optionally the :class:`~abs_engine.grading.fitting.ScorecardFit` it
validates and a :class:`~abs_engine.grading.monitor.Stability`) into a
:class:`~abs_engine.reports.html.Report`: discrimination (AUC, Gini, KS with
the ROC and KS curves), default rate by grade with Wilson intervals,
calibration by score band, information values, the characteristics' bins,
the card's points and its stability.  :func:`write_validation_report` writes
it with a workbook of the same tables.

:func:`stability_blocks` and :func:`stability_section` show a population
and characteristic stability result (PSI/CSI with the 0.10 / 0.25 warnings);
the pool report's early-warning section and the surveillance report use
them.

Only aggregates are shown.  A grade, score band or bin with fewer than
``min_cell`` rows shows its count only: its defaults and rates are withheld
(a default rate of a handful of borrowers is close to borrower-level data).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from abs_engine.grading.monitor import PSI_MONITOR, PSI_SHIFT, Stability
from abs_engine.grading.validation import Validation
from abs_engine.reports.excel import Sheet, write_workbook
from abs_engine.reports.html import (
    Block,
    Figure,
    Heading,
    KeyValue,
    Paragraph,
    Report,
    Section,
    Table,
)
from abs_engine.reports.metadata import RunMetadata

if TYPE_CHECKING:
    from abs_engine.grading.fitting import ScorecardFit

__all__ = [
    "DEFAULT_MIN_CELL",
    "stability_blocks",
    "stability_section",
    "validation_report",
    "validation_sheets",
    "withhold_small",
    "write_validation_report",
]

log = logging.getLogger(__name__)

#: Least rows a grade, band or bin needs for its defaults and rates to be shown.
DEFAULT_MIN_CELL = 5

_RATE_COLUMNS = (
    "defaults",
    "default_rate",
    "ci_low",
    "ci_high",
    "woe",
    "iv",
    "predicted_pd",
    "points",
)

_STATUS_TEXT = {
    "stable": "stable (< 0.10)",
    "monitor": "monitor (0.10 - 0.25)",
    "shift": "shift (>= 0.25): revalidate",
    "n/a": "n/a (attribute not on the tape)",
}


def withhold_small(
    frame: pd.DataFrame, min_cell: int, count: str = "count"
) -> tuple[pd.DataFrame, int]:
    """Blank the defaults and rates of rows with fewer than ``min_cell`` in ``count``.

    Returns the frame (a copy when anything is blanked) and the number of rows blanked.
    """
    if count not in frame.columns:
        return frame, 0
    small = frame[count].to_numpy(dtype=np.float64) < min_cell
    cols = [c for c in frame.columns if c in _RATE_COLUMNS]
    if not small.any() or not cols:
        return frame, 0
    out = frame.astype(dict.fromkeys(cols, np.float64))
    out.loc[small, cols] = np.nan
    if "within_ci" in out.columns:
        out["within_ci"] = out["within_ci"].astype(object)
        out.loc[small, "within_ci"] = None
    return out, int(small.sum())


def _formats(frame: pd.DataFrame, formats: dict[str, str]) -> dict[str, str]:
    """The formats of the columns ``frame`` has."""
    return {k: v for k, v in formats.items() if k in frame.columns}


_LABELS = {
    "woe": "WoE",
    "iv": "IV",
    "development_iv": "Development IV",
    "ci_low": "CI low",
    "ci_high": "CI high",
    "predicted_pd": "Predicted PD",
    "p_value": "p-value",
    "z": "z",
    "std_error": "Std error",
    "within_ci": "Predicted within CI",
    "expected_share": "Development share",
    "actual_share": "Current share",
    "psi": "PSI term",
    "item": "Measure",
    "index": "Index",
    "value": "Value",
    "status": "Status",
}


def _table(frame: pd.DataFrame, formats: dict[str, str] | None = None, **kwargs: Any) -> Table:
    """A table with this module's column labels and only the formats of its columns."""
    return Table(frame, _formats(frame, formats or {}), labels=_LABELS, **kwargs)


def _note(withheld: int, min_cell: int, what: str) -> str | None:
    if not withheld:
        return None
    return f"{withheld} {what} with fewer than {min_cell} rows show their count only."


# --- figures -------------------------------------------------------------------------------


def _roc_figure(v: Validation) -> go.Figure:
    roc = v.roc
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.r_[0.0, roc["false_positive_rate"].to_numpy()],
            y=np.r_[0.0, roc["true_positive_rate"].to_numpy()],
            mode="lines",
            name=f"card (AUC {v.auc:.3f})",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="random", line={"dash": "dot", "color": "#999"}
        )
    )
    fig.update_layout(
        title="ROC curve: share of defaults against share of non-defaults at or below each score",
        xaxis={"title": "non-defaults at or below the score", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "defaults at or below the score", "tickformat": ".0%", "range": [0, 1]},
        hovermode="closest",
    )
    return fig


def _ks_figure(v: Validation) -> go.Figure:
    roc = v.roc
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=roc["score"], y=roc["true_positive_rate"], mode="lines", name="defaults")
    )
    fig.add_trace(
        go.Scatter(x=roc["score"], y=roc["false_positive_rate"], mode="lines", name="non-defaults")
    )
    ks_score = float(v.summary["ks_score"])
    fig.add_vline(x=ks_score, line_dash="dot", line_color="#c1121f")
    fig.update_layout(
        title=f"KS: cumulative score distributions (largest gap {float(v.summary['ks']):.3f} at score "
        f"{ks_score:g})",
        xaxis={"title": "score"},
        yaxis={"title": "share at or below the score", "tickformat": ".0%"},
    )
    return fig


def _grades_figure(grades: pd.DataFrame) -> go.Figure:
    rate = grades["default_rate"].to_numpy(dtype=np.float64)
    fig = go.Figure(
        go.Bar(
            x=[str(g) for g in grades.index],
            y=rate,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": grades["ci_high"].to_numpy(dtype=np.float64) - rate,
                "arrayminus": rate - grades["ci_low"].to_numpy(dtype=np.float64),
            },
            name="observed",
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    if grades["predicted_pd"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=[str(g) for g in grades.index],
                y=grades["predicted_pd"],
                mode="markers",
                marker={"symbol": "diamond", "size": 10},
                name="predicted",
            )
        )
    fig.update_layout(
        title="Default rate by grade with its 95% Wilson interval",
        yaxis={"tickformat": ".1%", "rangemode": "tozero"},
        xaxis={"type": "category"},
        hovermode="closest",
    )
    return fig


def _calibration_figure(cal: pd.DataFrame) -> go.Figure:
    x = [f"{lo:g}-{hi:g}" for lo, hi in zip(cal["score_low"], cal["score_high"], strict=True)]
    rate = cal["default_rate"].to_numpy(dtype=np.float64)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=rate,
            mode="markers",
            name="observed",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": cal["ci_high"].to_numpy(dtype=np.float64) - rate,
                "arrayminus": rate - cal["ci_low"].to_numpy(dtype=np.float64),
            },
        )
    )
    fig.add_trace(go.Scatter(x=x, y=cal["predicted_pd"], mode="lines+markers", name="predicted"))
    fig.update_layout(
        title="Calibration: predicted against observed default rate by score band",
        xaxis={"title": "score band", "type": "category"},
        yaxis={"tickformat": ".1%", "rangemode": "tozero"},
        hovermode="x unified",
    )
    return fig


def _iv_figure(iv: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=iv["factor"], y=iv["iv"], name="validation"))
    if "development_iv" in iv.columns and iv["development_iv"].notna().any():
        fig.add_trace(go.Bar(x=iv["factor"], y=iv["development_iv"], name="development"))
    fig.update_layout(
        title="Information value by attribute",
        barmode="group",
        yaxis={"tickformat": ".2f"},
        xaxis={"type": "category"},
        hovermode="closest",
    )
    return fig


def _psi_figure(s: Stability) -> go.Figure:
    t = s.score
    fig = go.Figure()
    fig.add_trace(go.Bar(x=t["bin"], y=t["expected_share"], name="development"))
    fig.add_trace(go.Bar(x=t["bin"], y=t["actual_share"], name="current"))
    fig.update_layout(
        title=f"Score distribution, development against current (PSI {s.psi:.3f})",
        barmode="group",
        yaxis={"tickformat": ".0%"},
        xaxis={"title": "score band", "type": "category"},
        hovermode="closest",
    )
    return fig


# --- stability (PSI / CSI) -------------------------------------------------------------------


def stability_blocks(stability: Stability, *, chart: bool = True) -> list[Block]:
    """Blocks showing a stability result: the PSI/CSI table with status, warnings, the score chart.

    For the early-warning section of the pool and surveillance reports.
    """
    summary = stability.summary.copy()
    summary["status"] = summary["status"].map(_STATUS_TEXT)
    blocks: list[Block] = [
        Paragraph(
            f"Population stability of scorecard {stability.scorecard!r}: "
            f"{stability.n_actual:,} current rows against {stability.n_expected:,} development "
            f"rows. PSI = sum (a - e) ln(a / e) over the shares of each bin; below "
            f"{PSI_MONITOR:g} stable, {PSI_MONITOR:g} to {PSI_SHIFT:g} monitor, {PSI_SHIFT:g} and "
            "above a shift (revalidate the card). CSI is the same index on the bins of one attribute."
        ),
        _table(
            summary,
            {"item": "text", "index": "text", "value": "float4", "status": "text"},
            caption="Score, grade-mix and attribute stability",
            id="stability-table",
        ),
    ]
    if stability.warnings:
        blocks.append(Paragraph("Warnings: " + "; ".join(stability.warnings) + "."))
    else:
        blocks.append(Paragraph("No stability warnings.", kind="note"))
    if chart and len(stability.score) > 1:
        blocks.append(Figure(_psi_figure(stability)))
    return blocks


def stability_section(stability: Stability, *, title: str = "Scorecard stability") -> Section:
    """A report section of a stability result, with the per-band and per-bin tables."""
    blocks = stability_blocks(stability)
    blocks.append(Heading("By score band"))
    blocks.append(
        _table(
            stability.score,
            {"bin": "text", "expected_share": "pct", "actual_share": "pct", "psi": "float4"},
        )
    )
    if len(stability.characteristics):
        blocks.append(Heading("By attribute bin"))
        blocks.append(
            _table(
                stability.characteristics,
                {
                    "factor": "text",
                    "bin": "text",
                    "expected_share": "pct",
                    "actual_share": "pct",
                    "psi": "float4",
                },
                collapsed=True,
                caption="Characteristic stability by bin",
            )
        )
    return Section(title, blocks, id="scorecard-stability")


# --- the validation report --------------------------------------------------------------------

_GRADE_FORMATS = {
    "count": "int",
    "share": "pct",
    "defaults": "int",
    "default_rate": "pct",
    "ci_low": "pct",
    "ci_high": "pct",
    "predicted_pd": "pct",
    "min_score": "float1",
}
_CAL_FORMATS = {
    "band": "int",
    "score_low": "float1",
    "score_high": "float1",
    "count": "int",
    "defaults": "int",
    "default_rate": "pct",
    "ci_low": "pct",
    "ci_high": "pct",
    "predicted_pd": "pct",
    "within_ci": "text",
}
_CHAR_FORMATS = {
    "factor": "text",
    "bin": "text",
    "count": "int",
    "share": "pct",
    "defaults": "int",
    "default_rate": "pct",
    "woe": "float4",
    "iv": "float4",
    "points": "float1",
}


def _summary_rows(v: Validation) -> list[tuple[str, Any, str]]:
    s = v.summary
    conf = float(s["confidence"])
    rows: list[tuple[str, Any, str]] = [
        ("Rows", s["rows"], "int"),
        ("Defaults", s["defaults"], "int"),
        ("Default rate", s["default_rate"], "pct"),
        ("AUC", s["auc"], "float4"),
        (
            f"AUC {conf:.0%} interval (Hanley-McNeil)",
            f"{float(s['auc_low']):.4f} - {float(s['auc_high']):.4f}",
            "text",
        ),
        ("Gini (2 AUC - 1)", s["gini"], "float4"),
        ("KS", s["ks"], "float4"),
        ("KS at score", s["ks_score"], "float1"),
        ("Default rate rises from grade to grade", "yes" if s["grades_monotone"] else "NO", "text"),
        ("Hosmer-Lemeshow statistic", s["hosmer_lemeshow"], "float2"),
        ("Hosmer-Lemeshow p-value", s["hosmer_lemeshow_p"], "float4"),
    ]
    return rows


def _card_blocks(fit: ScorecardFit, min_cell: int) -> list[Block]:
    card = fit.scorecard
    assert card.scaling is not None
    sc = card.scaling
    blocks: list[Block] = [
        KeyValue(
            [
                ("Development rows", fit.n_rows, "int"),
                ("Development defaults", fit.n_defaults, "int"),
                ("Target", fit.target, "text"),
                ("Base points", card.base_points, "float1"),
                (
                    "Scaling",
                    f"{sc.base_score:g} points at {sc.base_odds:g}:1 good:bad odds, "
                    f"{sc.pdo:g} points to double the odds",
                    "text",
                ),
                (
                    "Grade thresholds",
                    ", ".join(
                        f"{g} >= {t:g}" for g, t in zip(card.grades, card.thresholds, strict=False)
                    )
                    + f", {card.grades[-1]} below",
                    "text",
                ),
                ("Cut-off rule", fit.cutoff_rule.describe(), "text"),
            ],
            caption="The fitted card",
        ),
        Paragraph(
            "Score = base points + the points of each attribute's bin; points = -pdo / ln 2 x "
            "coefficient x WoE, WoE = ln(share of non-defaults / share of defaults) of the bin on "
            "the development sample; a value on an edge falls in the upper bin.",
            kind="note",
        ),
        _table(
            fit.information_value,
            {
                "feature": "text",
                "iv": "float4",
                "strength": "text",
                "bins": "int",
                "direction": "text",
                "selected": "text",
                "note": "text",
            },
            caption="Information value on the development sample",
        ),
        _table(
            fit.coefficients,
            {
                "feature": "text",
                "coefficient": "float4",
                "std_error": "float4",
                "z": "float2",
                "p_value": "float4",
            },
            caption="Logistic regression on WoE (standard errors from the inverse Hessian)",
        ),
    ]
    points, withheld = withhold_small(fit.points_table(), min_cell)
    blocks.append(
        _table(
            points,
            _formats(points, _CHAR_FORMATS),
            caption="Bins, WoE and points (development sample)",
            note=_note(withheld, min_cell, "bin(s)"),
        )
    )
    return blocks


def validation_report(
    validation: Validation,
    *,
    fit: ScorecardFit | None = None,
    stability: Stability | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    metadata: RunMetadata | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
) -> Report:
    """The scorecard validation report.

    Parameters
    ----------
    validation : Validation
        Out-of-sample results (:func:`~abs_engine.grading.validation.validate`).
    fit : ScorecardFit, optional
        Adds the card's development facts, IV, coefficients and points.
    stability : Stability, optional
        Adds the PSI/CSI section.
    title, subtitle : str, optional
    metadata : RunMetadata, optional
        Stamped under the title and listed at the end.
    min_cell : int
        Grades, bands and bins with fewer rows show their count only.
    """
    card = validation.scorecard
    sections: list[Section] = []
    blocks: list[Block] = [
        KeyValue(_summary_rows(validation), caption="Out-of-sample performance"),
        Paragraph(
            "AUC: the probability that a random non-default scores above a random default (ties "
            "count one half); Gini = 2 AUC - 1; KS: the largest gap between the cumulative score "
            "distributions of defaults and non-defaults.",
            kind="note",
        ),
        Figure(_roc_figure(validation)),
        Figure(_ks_figure(validation)),
    ]
    sections.append(Section("Discrimination", blocks, id="discrimination"))

    grades, withheld = withhold_small(validation.grades, min_cell)
    monotone = "rises" if validation.monotone else "does NOT rise"
    sections.append(
        Section(
            "Default rate by grade",
            [
                Paragraph(
                    f"The observed default rate {monotone} strictly from the best grade to the worst. "
                    f"Intervals are {float(validation.summary['confidence']):.0%} Wilson score intervals."
                ),
                _table(
                    grades,
                    _GRADE_FORMATS,
                    note=_note(withheld, min_cell, "grade(s)"),
                    id="grades-table",
                ),
                Figure(_grades_figure(grades)),
            ],
            id="grades",
        )
    )

    cal, withheld = withhold_small(validation.calibration, min_cell)
    cal_blocks: list[Block] = []
    if card.scaling is None:
        cal_blocks.append(
            Paragraph(
                "The card states no scaling (score to odds), so it predicts no default rate; the "
                "observed rates by score band are shown alone.",
                kind="note",
            )
        )
    else:
        cal_blocks.append(
            Paragraph(
                "Predicted: the mean of PD(score) = 1 / (1 + odds(score)) over the band, with "
                f"odds(score) from the card's scaling. Hosmer-Lemeshow p-value "
                f"{float(validation.summary['hosmer_lemeshow_p']):.4f}."
            )
        )
    cal_blocks += [
        _table(
            cal, _CAL_FORMATS, note=_note(withheld, min_cell, "band(s)"), id="calibration-table"
        ),
        Figure(_calibration_figure(cal)),
    ]
    sections.append(Section("Calibration by score band", cal_blocks, id="calibration"))

    chars, withheld = withhold_small(validation.characteristics, min_cell)
    sections.append(
        Section(
            "Information value",
            [
                _table(
                    validation.information_value,
                    {
                        "factor": "text",
                        "iv": "float4",
                        "strength": "text",
                        "development_iv": "float4",
                    },
                    caption="IV of each attribute on the validation sample (and development)",
                ),
                Figure(_iv_figure(validation.information_value)),
                Paragraph(
                    "Reading (Siddiqi 2006): below 0.02 unpredictive, 0.02-0.1 weak, 0.1-0.3 medium, "
                    "0.3-0.5 strong, 0.5 and above suspiciously strong.",
                    kind="note",
                ),
                _table(
                    chars,
                    _formats(chars, _CHAR_FORMATS),
                    caption="Attributes by bin (validation sample)",
                    collapsed=True,
                    note=_note(withheld, min_cell, "bin(s)"),
                ),
            ],
            id="information-value",
        )
    )
    if fit is not None:
        sections.append(Section("The card", _card_blocks(fit, min_cell), id="the-card"))
    if stability is not None:
        sections.append(stability_section(stability))
    return Report(
        title or f"Scorecard validation - {card.name}",
        sections,
        subtitle=subtitle,
        metadata=metadata,
    )


def validation_sheets(
    validation: Validation,
    *,
    fit: ScorecardFit | None = None,
    stability: Stability | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
) -> list[Sheet]:
    """The report's tables as workbook sheets (small cells withheld alike)."""
    tables = validation.tables()
    sheets = [
        Sheet("summary", tables["summary"], {"measure": "text", "value": "text"}),
        Sheet("grades", withhold_small(validation.grades, min_cell)[0], _GRADE_FORMATS),
        Sheet("calibration", withhold_small(validation.calibration, min_cell)[0], _CAL_FORMATS),
        Sheet("information_value", validation.information_value),
        Sheet(
            "characteristics",
            withhold_small(validation.characteristics, min_cell)[0],
            _formats(validation.characteristics, _CHAR_FORMATS),
        ),
    ]
    if fit is not None:
        sheets.append(Sheet("coefficients", fit.coefficients))
        sheets.append(
            Sheet("points", withhold_small(fit.points_table(), min_cell)[0], _CHAR_FORMATS)
        )
    if stability is not None:
        sheets.append(Sheet("stability", stability.summary))
        sheets.append(Sheet("stability_by_band", stability.score))
    return sheets


def write_validation_report(
    validation: Validation,
    out_dir: str | os.PathLike[str],
    *,
    fit: ScorecardFit | None = None,
    stability: Stability | None = None,
    metadata: RunMetadata | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
    workbook: bool = True,
) -> Path:
    """Write ``validation.html`` (and ``validation.xlsx``) into ``out_dir``, each atomically.

    Returns the path of the HTML page.
    """
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"report directory is a file: {target}")
    target.mkdir(parents=True, exist_ok=True)
    report = validation_report(
        validation, fit=fit, stability=stability, metadata=metadata, min_cell=min_cell
    )
    page = report.write(target / "validation.html")
    if workbook:
        write_workbook(
            target / "validation.xlsx",
            validation_sheets(validation, fit=fit, stability=stability, min_cell=min_cell),
            metadata=metadata,
            title=report.title,
        )
    log.info("wrote the scorecard validation report to %s", page)
    return page
