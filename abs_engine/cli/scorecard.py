"""``abs-engine scorecard``: fit, validate and monitor a provident-fund scorecard.

``fit`` bins the attributes of a labelled history, fits the card on a
development sample and validates it on the held-out rest (at random, or the
latest application months); ``validate`` validates a card on a labelled
sample; ``psi`` compares a current tape with the development sample (PSI of
the score, CSI of every attribute); ``synthetic`` writes a labelled history
from a known model for trying it out.  Everything printed is an aggregate;
every file is written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from abs_engine.cli.commands import _parser, command
from abs_engine.errors import GradingError, SpecError

__all__ = ["add_scorecard"]

_TABLE_SUFFIXES = (".parquet", ".csv", ".xlsx")


def _read(path: Path, what: str) -> pd.DataFrame:
    from abs_engine.io import read_table, table_to_frame

    table = read_table(
        path, what=what, error=GradingError, text_columns=("loan_id", "applicant_id")
    )
    return table_to_frame(table, f"{what} {path}", GradingError)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise SpecError("give at least one column name (comma separated)", "--features")
    return names


def _targets(text: str, flag: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        grade, sep, value = part.partition("=")
        if not sep:
            raise SpecError(
                f"expected GRADE=VALUE pairs such as A=0.5,B=0.3,C=0.2; got {part!r}", flag
            )
        try:
            out[grade.strip()] = float(value)
        except ValueError:
            raise SpecError(f"{value!r} is not a number (in {part!r})", flag) from None
    return out


def _check_out(path: Path, suffixes: tuple[str, ...], flag: str) -> None:
    if path.suffix.lower() not in suffixes:
        raise SpecError(f"{flag} must end in {' or '.join(suffixes)}; got {path}", flag)
    if path.exists() and path.is_dir():
        raise SpecError(f"{flag} is a directory: {path}", flag)


def _check_report(path: Path | None) -> None:
    if path is not None and path.exists() and not path.is_dir():
        raise SpecError(f"--report must be a directory; {path} is a file", "--report")


def _fmt_table(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    def f(spec: str) -> Any:
        if spec == "pct":
            return lambda v: "" if pd.isna(v) else f"{v:.2%}"
        if spec == "int":
            return lambda v: "" if pd.isna(v) else f"{int(v):,}"
        if spec.startswith("float"):
            d = int(spec[5:] or 2)
            return lambda v: "" if pd.isna(v) else f"{v:.{d}f}"
        return str

    return frame.to_string(formatters={c: f(s) for c, s in formats.items() if c in frame.columns})


def _print_validation(v: Any) -> None:
    s = v.summary
    print(
        f"out-of-sample: {int(s['rows']):,} rows, {int(s['defaults']):,} defaults "
        f"({float(s['default_rate']):.2%}); AUC {float(s['auc']):.4f} "
        f"[{float(s['auc_low']):.4f}, {float(s['auc_high']):.4f}], Gini {float(s['gini']):.4f}, "
        f"KS {float(s['ks']):.4f}"
    )
    print(
        _fmt_table(
            v.grades,
            {
                "count": "int",
                "share": "pct",
                "defaults": "int",
                "default_rate": "pct",
                "ci_low": "pct",
                "ci_high": "pct",
                "predicted_pd": "pct",
                "min_score": "float1",
            },
        )
    )
    print(
        "default rate rises from grade to grade"
        if s["grades_monotone"]
        else "WARNING: the default rate does NOT rise from grade to grade"
    )


def _print_stability(st: Any) -> None:
    print(f"stability against development ({st.n_expected:,} rows) of {st.n_actual:,} rows:")
    print(_fmt_table(st.summary, {"value": "float4"}))
    for w in st.warnings:
        print(f"WARNING: {w}")


# --- registration ---------------------------------------------------------------------------


@command
def add_scorecard(sub: Any) -> None:
    """Register ``abs-engine scorecard`` and its sub-commands."""
    p = _parser(
        sub,
        "scorecard",
        "Fit, validate and monitor a provident-fund scorecard from a labelled history.",
        "abs-engine scorecard synthetic --n 20000 --seed 7 --out history.parquet\n"
        "  abs-engine scorecard fit history.parquet --target default_flag --out card.toml "
        "--report outputs/scorecard",
    )
    p.set_defaults(func=lambda args: _usage(p))
    inner = p.add_subparsers(
        dest="scorecard_command",
        metavar="STEP",
        help="fit, validate, psi or synthetic (each has --help with an example)",
    )

    f = _parser(
        inner,
        "fit",
        "Fit a card on a labelled history (one row per borrower, a 0/1 default flag): monotone "
        "optimal bins, WoE/IV, logistic regression, points and A/B/C cut-offs. A share of the "
        "history is held out to validate it; --report writes the validation report.",
        "abs-engine scorecard fit history.parquet --target default_flag --out card.toml "
        "--report outputs/scorecard --time-column application_month\n"
        "  abs-engine scorecard fit history.csv --target bad --features pf_status,pf_years "
        "--default-rates A=0.03,B=0.08 --out card.toml",
    )
    f.add_argument("history", type=Path, help="labelled history (.parquet, .csv, .xlsx)")
    f.add_argument("--target", required=True, help="column of the default flag (1 = defaulted)")
    f.add_argument("--out", required=True, type=Path, help="the fitted card (.toml)")
    f.add_argument("--report", type=Path, metavar="DIR", help="write DIR/validation.html and .xlsx")
    f.add_argument(
        "--features",
        help="candidate attributes, comma separated (default: the provident-fund and platform "
        "columns abs_engine knows)",
    )
    f.add_argument("--categorical", help="numeric attributes to bin as categories, comma separated")
    f.add_argument("--optional", help="attributes a tape may lack (required = false)")
    split = f.add_mutually_exclusive_group()
    split.add_argument(
        "--holdout", type=float, default=0.3, help="share held out at random (default 0.3)"
    )
    split.add_argument(
        "--time-column",
        help="hold out the latest periods of this column instead (e.g. application_month)",
    )
    rule = f.add_mutually_exclusive_group()
    rule.add_argument("--shares", help="population share per grade: A=0.5,B=0.3,C=0.2 (default)")
    rule.add_argument(
        "--default-rates",
        help="highest mean predicted default rate of every grade but the last: A=0.03,B=0.08",
    )
    f.add_argument("--base-score", type=float, default=600.0, help="score at the base odds (600)")
    f.add_argument(
        "--base-odds", type=float, default=50.0, help="good:bad odds at the base score (50)"
    )
    f.add_argument("--pdo", type=float, default=20.0, help="points to double the odds (20)")
    f.add_argument("--min-iv", type=float, default=0.02, help="least information value (0.02)")
    f.add_argument("--max-bins", type=int, default=6, help="most bins per attribute (6)")
    f.add_argument(
        "--min-bin-share", type=float, default=0.05, help="least share of rows per bin (0.05)"
    )
    f.add_argument("--name", default="fitted", help="the card's name")
    f.add_argument("--seed", type=int, default=0, help="seed of the random holdout (0)")
    f.set_defaults(func=run_fit)

    v = _parser(
        inner,
        "validate",
        "Validate a card on a labelled sample: AUC/Gini, KS, default rate by grade with Wilson "
        "intervals, calibration by score band, information value.",
        "abs-engine scorecard validate card.toml holdout.parquet --target default_flag "
        "--report outputs/validation",
    )
    v.add_argument("card", type=Path, help="scorecard TOML")
    v.add_argument("sample", type=Path, help="labelled sample (.parquet, .csv, .xlsx)")
    v.add_argument("--target", required=True, help="column of the default flag (1 = defaulted)")
    v.add_argument("--report", type=Path, metavar="DIR", help="write DIR/validation.html and .xlsx")
    v.add_argument("--bands", type=int, default=10, help="score bands of the calibration (10)")
    v.set_defaults(func=run_validate)

    s = _parser(
        inner,
        "psi",
        "Population stability of the score and characteristic stability of every attribute, "
        "a current tape against the development sample (warnings at 0.10 and 0.25).",
        "abs-engine scorecard psi card.toml --expected development.parquet --actual "
        "pools/sample_pool.parquet --out outputs/psi.csv",
    )
    s.add_argument("card", type=Path, help="scorecard TOML")
    s.add_argument("--expected", required=True, type=Path, help="development sample")
    s.add_argument("--actual", required=True, type=Path, help="current tape or application month")
    s.add_argument("--out", type=Path, help="write the PSI/CSI table (.csv, .parquet, .xlsx)")
    s.add_argument("--report", type=Path, metavar="DIR", help="write DIR/stability.html")
    s.add_argument("--bands", type=int, default=10, help="score bands (development deciles)")
    s.add_argument(
        "--fail-on",
        choices=("monitor", "shift"),
        help="exit 1 when any measure reaches this status (for scheduled monitoring)",
    )
    s.set_defaults(func=run_psi)

    y = _parser(
        inner,
        "synthetic",
        "Write a seeded synthetic labelled application history from a known logistic model.",
        "abs-engine scorecard synthetic --n 50000 --seed 7 --out history.parquet",
    )
    y.add_argument("--n", type=int, default=50_000, help="applicants (50000)")
    y.add_argument("--months", type=int, default=12, help="application months (12)")
    y.add_argument("--drift", type=float, default=0.0, help="population drift over the months (0)")
    y.add_argument("--seed", type=int, default=7, help="random seed (7)")
    y.add_argument("--out", required=True, type=Path, help="history file (.parquet or .csv)")
    y.set_defaults(func=run_synthetic)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


# --- fit ------------------------------------------------------------------------------------


def run_fit(args: argparse.Namespace) -> int:
    """Run ``abs-engine scorecard fit``."""
    from abs_engine.grading.fitting import CutoffRule, fit
    from abs_engine.grading.monitor import stability
    from abs_engine.grading.scorecard import Scaling
    from abs_engine.grading.validation import split_sample, validate
    from abs_engine.reports.metadata import run_metadata
    from abs_engine.reports.scorecard import write_validation_report

    _check_out(args.out, (".toml",), "--out")
    _check_report(args.report)
    rule = None
    if args.shares:
        rule = CutoffRule.shares(**_targets(args.shares, "--shares"))
    elif args.default_rates:
        rule = CutoffRule.default_rates(**_targets(args.default_rates, "--default-rates"))
    scaling = Scaling(args.base_score, args.base_odds, args.pdo)
    history = _read(args.history, "history")
    dev, test = split_sample(
        history, test_share=args.holdout, seed=args.seed, time_column=args.time_column
    )
    fitted = fit(
        dev,
        args.target,
        _names(args.features),
        categorical=_names(args.categorical) or (),
        optional=_names(args.optional) or (),
        min_iv=args.min_iv,
        max_bins=args.max_bins,
        min_bin_share=args.min_bin_share,
        scaling=scaling,
        cutoffs=rule,
        name=args.name,
    )
    checked = validate(fitted, test, args.target)
    drift = stability(fitted.scorecard, fitted.baseline, test)
    how = (
        f"the latest periods of {args.time_column!r}"
        if args.time_column
        else f"{args.holdout:.0%} at random (seed {args.seed})"
    )
    print(
        f"fitted {fitted.scorecard.name!r} on {len(dev):,} of {len(history):,} rows; "
        f"validated on {len(test):,} held out ({how})"
    )
    print(
        _fmt_table(
            fitted.information_value[["feature", "iv", "strength", "bins", "selected", "note"]],
            {"iv": "float4"},
        )
    )
    card = fitted.scorecard
    print(
        "thresholds: "
        + ", ".join(f"{g} >= {t:g}" for g, t in zip(card.grades, card.thresholds, strict=False))
        + f" ({fitted.cutoff_rule.describe()})"
    )
    _print_validation(checked)
    fitted.to_toml(args.out)
    print(f"wrote {args.out}")
    if args.report is not None:
        meta = run_metadata(
            {
                "command": "scorecard fit",
                "history": str(args.history),
                "target": args.target,
                "holdout": how,
                "scorecard": card.to_dict(),
            },
            seed=None if args.time_column else args.seed,
        )
        page = write_validation_report(
            checked, args.report, fit=fitted, stability=drift, metadata=meta
        )
        print(f"wrote {page}")
    return 0


# --- validate -------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    """Run ``abs-engine scorecard validate``."""
    from abs_engine.grading.scorecard import load_scorecard
    from abs_engine.grading.validation import validate
    from abs_engine.reports.metadata import run_metadata
    from abs_engine.reports.scorecard import write_validation_report

    _check_report(args.report)
    card = load_scorecard(args.card)
    sample = _read(args.sample, "labelled sample")
    checked = validate(card, sample, args.target, bands=args.bands)
    print(f"validated {card.name!r} on {args.sample}")
    _print_validation(checked)
    if args.report is not None:
        meta = run_metadata(
            {
                "command": "scorecard validate",
                "sample": str(args.sample),
                "target": args.target,
                "scorecard": card.to_dict(),
            }
        )
        page = write_validation_report(checked, args.report, metadata=meta)
        print(f"wrote {page}")
    return 0


# --- psi ------------------------------------------------------------------------------------


def run_psi(args: argparse.Namespace) -> int:
    """Run ``abs-engine scorecard psi``; exit 1 when ``--fail-on`` is reached."""
    from abs_engine.grading.monitor import stability
    from abs_engine.grading.scorecard import load_scorecard
    from abs_engine.io import write_frame
    from abs_engine.reports.html import Report
    from abs_engine.reports.metadata import run_metadata
    from abs_engine.reports.scorecard import stability_section

    if args.out is not None:
        _check_out(args.out, _TABLE_SUFFIXES, "--out")
    _check_report(args.report)
    card = load_scorecard(args.card)
    expected = _read(args.expected, "development sample")
    actual = _read(args.actual, "current tape")
    st = stability(card, expected, actual, bands=args.bands)
    _print_stability(st)
    if args.out is not None:
        write_frame(st.summary, args.out, error=SpecError)  # no live formulas
        print(f"wrote {args.out}")
    if args.report is not None:
        meta = run_metadata(
            {
                "command": "scorecard psi",
                "expected": str(args.expected),
                "actual": str(args.actual),
                "scorecard": card.to_dict(),
            }
        )
        args.report.mkdir(parents=True, exist_ok=True)
        page = Report(
            f"Scorecard stability - {card.name}", [stability_section(st)], metadata=meta
        ).write(args.report / "stability.html")
        print(f"wrote {page}")
    if args.fail_on is not None:
        order = ("n/a", "stable", "monitor", "shift")
        if order.index(st.status) >= order.index(args.fail_on):
            print(f"status {st.status!r} reaches --fail-on {args.fail_on!r}")
            return 1
    return 0


# --- synthetic ------------------------------------------------------------------------------


def run_synthetic(args: argparse.Namespace) -> int:
    """Run ``abs-engine scorecard synthetic``."""
    from abs_engine.grading.synthetic import synthetic_applications
    from abs_engine.io import write_frame

    _check_out(args.out, (".parquet", ".csv"), "--out")
    if args.n < 1:
        raise SpecError(f"--n must be >= 1; got {args.n}", "--n")
    frame = synthetic_applications(args.n, seed=args.seed, months=args.months, drift=args.drift)
    write_frame(frame, args.out, suffixes=(".parquet", ".csv"), error=SpecError)
    print(
        f"wrote {len(frame):,} applicants over {args.months} months (seed {args.seed}, default "
        f"rate {frame['default_flag'].mean():.2%}) to {args.out}"
    )
    return 0
