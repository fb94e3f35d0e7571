"""The calibration result and :func:`calibrate`, the one call that produces it."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import tomli_w

from abs_engine._frozen import FrozenMap
from abs_engine.calibrate.estimate import (
    CalibrationSettings,
    Smoothing,
    cell_sums,
    hazard_curves,
    recovery_estimates,
    roll_rate_estimates,
    static_pool,
)
from abs_engine.calibrate.history import History, as_history
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions, RollRates
from abs_engine.curves.curve import Vector
from abs_engine.curves.rates import monthly_to_annual
from abs_engine.io import atomic_path

__all__ = ["Calibration", "calibrate"]

log = logging.getLogger(__name__)

#: Significant digits of the rates written into the assumptions (far below their errors).
RATE_DIGITS = 8


def _package_version() -> str:
    try:
        return version("abs_engine")
    except PackageNotFoundError:  # pragma: no cover - source tree without installation
        return "0.0.0+unknown"


def _round_sig(values: np.ndarray, digits: int = RATE_DIGITS) -> tuple[float, ...]:
    return tuple(float(f"{float(v):.{digits}g}") for v in values)


@dataclass(frozen=True, eq=False)
class Calibration:
    """Curves, recoveries and roll rates estimated from a static-pool history.

    Attributes
    ----------
    curves : pandas.DataFrame
        By grade and age: ``exposure`` (begin balance), raw ``mdr`` and
        ``smm`` with standard errors ``mdr_se`` and ``smm_se``, the
        smoothed ``mdr_smooth`` and ``smm_smooth`` that go into the
        assumptions, and the working columns (see
        :func:`abs_engine.calibrate.estimate.hazard_curves`).
    recovery : pandas.DataFrame
        By grade: ``recovery_rate`` and ``recovery_rate_se``, ``severity``,
        ``lag_mean`` and ``lag_mean_se`` (months), ``recovery_lag`` (whole
        months, as the engine uses it).
    roll_rates : mapping of str to RollRates
        Monthly roll-rate matrix of each grade.
    roll_rate_table : pandas.DataFrame
        Every matrix entry with its standard error.
    static_pool : pandas.DataFrame
        Cumulative default, prepayment and net loss by grade, vintage and age.
    assumptions : GradedAssumptions
        Ready to project: per grade ``vector(mdr_smooth, "mdr")``,
        ``vector(smm_smooth, "smm")`` (by age, the last value held),
        severity and recovery lag; roll rates only with
        ``include_roll_rates=True``.
    settings : CalibrationSettings
        The settings used.
    n_rows, n_loans : int
        Size of the history.
    source : str or None
        Where the history came from.
    """

    curves: pd.DataFrame
    recovery: pd.DataFrame
    roll_rates: Mapping[str, RollRates]
    roll_rate_table: pd.DataFrame
    static_pool: pd.DataFrame
    assumptions: GradedAssumptions
    settings: CalibrationSettings
    n_rows: int
    n_loans: int
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "roll_rates", FrozenMap(dict(self.roll_rates)))

    @property
    def grades(self) -> tuple[str, ...]:
        """Grades calibrated."""
        return tuple(self.assumptions)

    def summary(self) -> pd.DataFrame:
        """One row per grade: loans, exposure, pooled CDR and CPR, recovery and lag."""
        c = self.curves
        by = c.groupby("grade", observed=True)
        out = pd.DataFrame(
            {
                "loan_months": by["loans"].sum(),
                "exposure": by["exposure"].sum(),
                "defaulted_amount": by["defaulted_amount"].sum(),
                "prepaid_amount": by["prepaid_amount"].sum(),
            }
        )
        mdr = out["defaulted_amount"] / out["exposure"]
        smm = by["prepaid_amount"].sum() / by["prepay_base"].sum()
        out["pooled_cdr"] = monthly_to_annual(mdr.to_numpy())
        out["pooled_cpr"] = monthly_to_annual(smm.to_numpy())
        rec = self.recovery.set_index("grade")
        out["recovery_rate"] = rec["recovery_rate"]
        out["recovery_lag"] = rec["recovery_lag"]
        out.index = out.index.astype(str)
        out.index.name = "grade"
        return out

    def to_toml(self, path: str | os.PathLike[str]) -> Path:
        """Write the assumptions as TOML (atomically), readable by ``curves.load_assumptions``.

        The header records the package version, the source and the settings.
        """
        target = Path(path)
        s = self.settings
        header = [
            "# Collateral assumptions calibrated from a static-pool history",
            f"# by abs_engine {_package_version()} (abs-engine calibrate).",
            f"# source: {self.source or '<in memory>'}: {self.n_rows:,} loan-months, "
            f"{self.n_loans:,} receivables, grades {', '.join(self.grades)}",
            f"# settings: min_exposure = {s.min_exposure if s.min_exposure is not None else 'auto'}"
            f", smoothing = {s.smoothing}, bandwidth = {s.bandwidth:g}"
            f", include_roll_rates = {str(s.include_roll_rates).lower()}",
            "# Curves are monthly rates by loan age: vector[0] is age 1 (the month in which",
            "# age goes from 0 to 1), and the last value holds for older ages.",
            "",
        ]
        text = "\n".join(header) + "\n" + tomli_w.dumps(self.assumptions.to_dict())
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        log.info("wrote calibrated assumptions to %s", target)
        return target

    def report(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write ``calibration.html`` (static-pool charts, curves, tables) into ``out_dir``.

        The page embeds plotly.js, so it opens offline; it shows aggregates only.
        Returns the path of the page.
        """
        from abs_engine.calibrate.report import write_report

        return write_report(self, Path(out_dir))

    def __repr__(self) -> str:
        return (
            f"Calibration(grades {', '.join(self.grades)}; {self.n_rows:,} loan-months, "
            f"{self.n_loans:,} receivables; smoothing {self.settings.smoothing})"
        )


def _assumptions(
    curves: pd.DataFrame,
    recovery: pd.DataFrame,
    rolls: Mapping[str, RollRates],
    settings: CalibrationSettings,
) -> GradedAssumptions:
    per_grade: dict[str, Assumptions] = {}
    rec = {str(r["grade"]): r for r in recovery.to_dict("records")}
    for grade, c in curves.groupby("grade", observed=True, sort=False):
        name = str(grade)
        c = c.sort_values("age")
        sev = float(rec[name]["severity"])
        per_grade[name] = Assumptions(
            default=Vector(_round_sig(c["mdr_smooth"].to_numpy()), "mdr", "age"),
            prepay=Vector(_round_sig(c["smm_smooth"].to_numpy()), "smm", "age"),
            severity=float(f"{sev:.{RATE_DIGITS}g}") if math.isfinite(sev) else 1.0,
            recovery_lag=int(rec[name]["recovery_lag"]),
            roll_rates=rolls[name] if settings.include_roll_rates else None,
        )
    return Assumptions.by_grade(per_grade)


def calibrate(
    history: History | pd.DataFrame | pa.Table | str | os.PathLike[str],
    *,
    min_exposure: float | None = None,
    smoothing: Smoothing = "kernel",
    bandwidth: float = 1.0,
    include_roll_rates: bool = False,
) -> Calibration:
    """Estimate default, prepayment, recovery and roll-rate assumptions from a history.

    Parameters
    ----------
    history : History, DataFrame, pyarrow.Table, or path
        A static-pool history (one row per receivable per month; see
        :mod:`abs_engine.calibrate.history`), validated on the way in; a
        path is read as parquet or CSV.
    min_exposure : float, optional
        Begin balance an age needs for its own estimate to stand; sparser
        ages take the pooled (smoothed) value.  Default: per grade, the
        exposure expected to carry 20 defaults at the grade's average
        default rate.
    smoothing : {"kernel", "none"}
        ``"kernel"``: exposure-weighted Gaussian kernel smoothing of the
        curves, widening at sparse ages.  ``"none"``: raw rates where the
        exposure suffices, held values elsewhere.
    bandwidth : float
        Kernel bandwidth in months at well-populated ages (default 1).
    include_roll_rates : bool
        Also put the roll-rate matrices into ``.assumptions`` (the engine
        then takes defaults from the delinquency pipeline).  Off by
        default: the curve model is the base.

    Returns
    -------
    Calibration

    Raises
    ------
    HistoryError
        The history is inconsistent (the message names loan and month).
    SpecError
        A setting is invalid.

    Examples
    --------
    >>> from abs_engine.calibrate import calibrate, synthetic_history
    >>> cal = calibrate(synthetic_history(3_000, seed=1))
    >>> sorted(cal.assumptions)
    ['A', 'B', 'C']
    """
    settings = CalibrationSettings(min_exposure, smoothing, bandwidth, include_roll_rates)
    t0 = time.perf_counter()
    h = as_history(history)
    t1 = time.perf_counter()
    sums = cell_sums(h)
    curves = hazard_curves(h, settings, sums)
    recovery = recovery_estimates(h)
    rolls, roll_table = roll_rate_estimates(h, sums)
    static = static_pool(h, sums)
    assumptions = _assumptions(curves, recovery, rolls, settings)
    log.info(
        "calibrated %d grades from %d loan-months of %d receivables "
        "(validation %.2f s, estimation %.2f s)",
        len(h.grades),
        h.n_rows,
        h.n_loans,
        t1 - t0,
        time.perf_counter() - t1,
    )
    return Calibration(
        curves=curves,
        recovery=recovery,
        roll_rates=rolls,
        roll_rate_table=roll_table,
        static_pool=static,
        assumptions=assumptions,
        settings=settings,
        n_rows=h.n_rows,
        n_loans=h.n_loans,
        source=h.source,
    )
