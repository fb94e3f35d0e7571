"""``abs-engine grade``: grade a tape with a provident-fund scorecard.

Reads a raw tape, adds ``score``, ``grade``, ``credit_limit``,
``reason_1..3`` and (unless ``--no-flags``) the early-warning flag columns,
and writes the graded tape atomically.  Optionally writes the watch list.
It prints aggregates only - counts by grade, mean score, flag counts -
never a loan id or a provident-fund value.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abs_engine.cli.commands import _parser, command, encoding
from abs_engine.errors import TapeError

__all__ = ["TAPE_GRADE", "add_grade", "inactive", "migration", "run_grade", "write_frame"]

#: Column of the graded tape that keeps the grade the tape came with.
TAPE_GRADE = "grade_tape"
#: Cells of fewer receivables are shown as "<5" in the migration matrix.
MIN_CELL = 5

_SUFFIXES = (".parquet", ".csv", ".xlsx")


def _check_suffix(path: Path, what: str) -> None:
    if path.suffix.lower() not in _SUFFIXES:
        raise TapeError(
            f"cannot write the {what} as {path.suffix or 'a file without suffix'!r} ({path}); "
            f"use {', '.join(_SUFFIXES)}"
        )


def write_frame(frame: pd.DataFrame, path: Path, metadata: dict[str, Any] | None = None) -> None:
    """Write ``frame`` atomically as parquet, CSV or Excel (by suffix).

    Parquet files carry ``metadata`` (JSON) under the schema key ``abs_engine``.
    Text never becomes a live spreadsheet formula (:func:`abs_engine.io.write_frame`).
    """
    from abs_engine import io

    _check_suffix(path, "output")
    io.write_frame(frame, path, metadata=metadata, error=TapeError)


@command
def add_grade(sub: Any) -> None:
    """Register ``abs-engine grade``."""
    p = _parser(
        sub,
        "grade",
        "Grade a tape with a provident-fund scorecard: score, grade, credit limit, reason "
        "codes and early-warning flags (prints aggregates only).",
        [
            "abs-engine sample-pool --out pools/sample_pool.parquet",
            "abs-engine grade pools/sample_pool.parquet --out outputs/graded.parquet "
            "--watchlist outputs/watchlist.csv",
        ],
    )
    p.add_argument("raw", type=Path, help="tape to grade (.parquet, .csv, .xlsx)")
    p.add_argument(
        "--scorecard",
        type=Path,
        default=None,
        help="scorecard TOML (default: the packaged abs_engine/data/scorecard_default.toml)",
    )
    p.add_argument("--out", required=True, type=Path, help="graded tape: .parquet, .csv or .xlsx")
    p.add_argument(
        "--no-flags",
        action="store_true",
        help="leave the early-warning flag columns (ew_*) out of the graded tape",
    )
    p.add_argument(
        "--watchlist",
        type=Path,
        help="also write the watch list of flagged borrowers (.parquet, .csv, .xlsx)",
    )
    p.set_defaults(func=run_grade)


def run_grade(args: argparse.Namespace) -> int:
    """Grade ``args.raw`` and write ``args.out`` (and ``args.watchlist``); 0 on success."""
    from abs_engine import __version__
    from abs_engine.grading import (
        FLAGS,
        early_warning,
        flag_counts,
        grade,
        load_scorecard,
        watch_list,
    )
    from abs_engine.io import table_to_frame
    from abs_engine.pool import read_tape

    if args.no_flags and args.watchlist is not None:
        raise TapeError("--watchlist needs the early-warning flags; drop --no-flags")
    _check_suffix(args.out, "graded tape")
    if args.watchlist is not None:
        _check_suffix(args.watchlist, "watch list")
    card = load_scorecard(args.scorecard)
    frame = table_to_frame(
        read_tape(args.raw, encoding=encoding(args)), f"tape {args.raw}", TapeError
    )
    before = frame["grade"].copy() if "grade" in frame.columns else None
    graded = grade(frame, card)
    if before is not None and TAPE_GRADE not in graded.columns:
        graded.insert(list(graded.columns).index("grade") + 1, TAPE_GRADE, before.to_numpy())
    flags = None if args.no_flags else early_warning(graded, card)
    out = graded if flags is None else graded.drop(columns=list(FLAGS), errors="ignore")
    if flags is not None:
        out = pd.concat([out, flags], axis=1)
    metadata = {
        "version": __version__,
        "command": "grade",
        "source": str(args.raw),
        "scorecard": card.to_dict(),
    }
    write_frame(out, args.out, metadata)
    n_watch = 0
    if args.watchlist is not None:
        assert flags is not None
        watch = watch_list(graded, flags)
        write_frame(watch, args.watchlist, metadata)
        n_watch = len(watch)

    print(f"graded {len(out):,} receivables from {args.raw} with scorecard {card.name!r}")
    print(_summary(graded, flags, flag_counts))
    for note in inactive(frame, card, flags is not None):
        print(f"note: {note}")
    if before is not None:
        kept = "its grade is kept as" if TAPE_GRADE not in frame.columns else "it already had"
        print(f"\ngrade migration, tape grade (rows) to scorecard grade; {kept} {TAPE_GRADE}:")
        print(migration_text(before, graded["grade"]))
    print(f"wrote {args.out}")
    if args.watchlist is not None:
        print(f"wrote the watch list ({n_watch:,} receivables) to {args.watchlist}")
    return 0


def _summary(graded: pd.DataFrame, flags: pd.DataFrame | None, flag_counts: Any) -> str:
    """Counts, shares and mean score by grade (and flag counts): aggregates only."""
    by = graded["grade"]
    table = (
        graded.groupby(by, observed=False)["score"]
        .agg(["count", "mean"])
        .rename(columns={"mean": "mean_score"})
    )
    table.index = table.index.astype(str)
    table.loc["Total"] = [len(graded), graded["score"].mean() if len(graded) else float("nan")]
    table["share"] = table["count"] / max(len(graded), 1)
    table = table[["count", "share", "mean_score"]]
    if flags is not None:
        counts = flag_counts(flags, by=by)
        counts.index = counts.index.astype(str)
        table = table.join(counts.drop(columns=["count", "pct_flagged"]))
    formatters: dict[str, Any] = {
        "count": lambda v: f"{int(v):,}",
        "share": lambda v: f"{v:.1%}",
        "mean_score": lambda v: "" if pd.isna(v) else f"{v:.1f}",
    }
    for col in table.columns:
        if col.startswith("ew_"):
            formatters[col] = lambda v: f"{int(v):,}"
    return table.to_string(formatters=formatters)


def migration(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Counts of receivables by tape grade (rows) and scorecard grade (columns), with totals."""
    rows = before.astype("string").fillna("(none)")
    cols = after.astype("string").fillna("(none)")
    table = pd.crosstab(rows.to_numpy(), cols.to_numpy(), margins=True, margins_name="Total")
    table.index.name, table.columns.name = "tape", "scorecard"
    return table


def migration_text(before: pd.Series, after: pd.Series) -> str:
    """The migration matrix with small cells withheld (aggregates only).

    Cells of fewer than :data:`MIN_CELL` receivables are withheld with complementary
    cells in every row and column (:func:`abs_engine.pool.strats.suppressed_matrix`),
    so the totals cannot give them back; the share keeping its grade is withheld
    when a diagonal cell is (the diagonal's sum is one more equation on the
    withheld cells).
    """
    from abs_engine.pool.strats import suppressed_cells, suppressed_matrix

    table = migration(before, after)
    body = table.loc[table.index != "Total", table.columns != "Total"]
    values = body.to_numpy(dtype=np.int64)
    hide = suppressed_matrix(values, MIN_CELL)
    diag = [(i, list(body.columns).index(g)) for i, g in enumerate(body.index) if g in body.columns]
    same = sum(int(values[i, j]) for i, j in diag)
    n = int(values.sum())
    shown = table.astype(object)
    shown.loc[body.index, body.columns] = np.where(hide, "x", values)
    # A small row or column total is withheld too, with a complementary one (grand total shown).
    rows_hidden = suppressed_cells(table.loc[body.index, "Total"].to_numpy(), MIN_CELL)
    cols_hidden = suppressed_cells(table.loc["Total", list(body.columns)].to_numpy(), MIN_CELL)
    shown.loc[body.index[rows_hidden], "Total"] = "x"
    shown.loc["Total", list(body.columns[cols_hidden])] = "x"
    text = shown.map(lambda v: v if isinstance(v, str) else f"{int(v):,}").to_string()
    if not n:
        share = "n/a"
    elif any(hide[i, j] for i, j in diag):
        share = "withheld (with the totals it could give back a small cell): the share that would"
    else:
        share = f"{same / n:.1%}"
    return (
        f"{text}\n{share} keep their grade (x: withheld, cells under {MIN_CELL} receivables "
        "and complementary cells, so the totals cannot give them back)"
    )


def inactive(frame: pd.DataFrame, card: Any, with_flags: bool) -> list[str]:
    """What cannot act on this tape because its columns are absent: factors, flags."""
    from abs_engine.grading.early_warning import SPEND_COLUMNS

    notes = []
    for f in card.factors:
        if not f.required and f.column not in frame.columns:
            notes.append(
                f"factor {f.name!r} is skipped (0 points, no reason code): "
                f"the tape has no column {f.column!r}"
            )
    if with_flags:
        if not any(c in frame.columns for c in SPEND_COLUMNS):
            notes.append(
                "flag ew_spend_spike cannot fire (false for everyone): the tape has no "
                f"spending columns {SPEND_COLUMNS[0]!r}, {SPEND_COLUMNS[1]!r}"
            )
        rules = card.early_warning
        if getattr(rules, "none_with_history", False) and "pf_years" not in frame.columns:
            notes.append(
                "ew_interrupted_contribution cannot see status 'none' after years of "
                "contributions: the tape has no 'pf_years' column"
            )
    return notes
