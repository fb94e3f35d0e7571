"""abs_engine: asset-securitisation cash-flow analytics.

The pipeline runs one way::

    tape -> pool -> projection -> waterfall -> analytics -> reports / stress

>>> import abs_engine as ae
>>> pool = ae.Pool.from_frame(ae.sample_pool(n=200, seed=1))
>>> cf = ae.project(pool, ae.Assumptions(default=ae.curves.cdr(0.05), prepay=ae.curves.cpr(0.10)))
>>> cf.n_scenarios
1

``import abs_engine`` loads the tape-to-projection core (curves, pool, projection).
The later stages (deal, analytics, policy, reports, stress, surveillance, grading,
calibration) load on first use of their names (PEP 562), so plotly, dask, scipy and
the spreadsheet writers are imported only by the code that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from abs_engine import curves, daycount, samples
from abs_engine.curves import (
    Assumptions,
    GradedAssumptions,
    RollRates,
    Scenario,
    ScenarioSet,
    load_assumptions,
)
from abs_engine.errors import (
    AbsError,
    AssumptionError,
    GradingError,
    HistoryError,
    MemoryBudgetError,
    PrivacyError,
    ScenarioError,
    ServicerError,
    SpecError,
    TapeError,
)
from abs_engine.pool import Cohorts, Pool, ValidationReport, load_pool, sample_pool, validate_pool
from abs_engine.projection import PoolCashflows, project

if TYPE_CHECKING:  # the names below load lazily, through __getattr__
    from abs_engine import analytics, deal, grading, reports, stress, surveillance
    from abs_engine import reports as report  # ae.report.write(result, out_dir)
    from abs_engine.analytics import AnalysedRun, run, size, stress_table
    from abs_engine.analytics.breakeven import breakeven
    from abs_engine.calibrate import Calibration, calibrate, load_history, synthetic_history
    from abs_engine.deal import Deal, RunResult, load_deal, write_deal
    from abs_engine.grading import Scorecard, early_warning, grade, load_scorecard
    from abs_engine.grading import lifecycle as scorecard  # ae.scorecard.fit / validate
    from abs_engine.policy import policy_whatif
    from abs_engine.surveillance import Surveillance, load_servicer
    from abs_engine.surveillance.surveil import surveil

    __version__: str

#: Lazily loaded names: public name -> (module, attribute; None for the module itself).
_LAZY: dict[str, tuple[str, str | None]] = {
    **{
        m: (f"abs_engine.{m}", None)
        for m in ("analytics", "deal", "grading", "reports", "stress", "surveillance")
    },
    "report": ("abs_engine.reports", None),
    "scorecard": ("abs_engine.grading.lifecycle", None),
    **{
        n: ("abs_engine.analytics", n)
        for n in ("AnalysedRun", "breakeven", "run", "size", "stress_table")
    },
    **{
        n: ("abs_engine.calibrate", n)
        for n in ("Calibration", "calibrate", "load_history", "synthetic_history")
    },
    **{n: ("abs_engine.deal", n) for n in ("Deal", "RunResult", "load_deal", "write_deal")},
    **{
        n: ("abs_engine.grading", n)
        for n in ("Scorecard", "early_warning", "grade", "load_scorecard")
    },
    "policy_whatif": ("abs_engine.policy", "policy_whatif"),
    **{n: ("abs_engine.surveillance", n) for n in ("Surveillance", "load_servicer", "surveil")},
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("abs_engine")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """Load a later stage on first use of one of its names (PEP 562)."""
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
    else:
        raise AttributeError(f"module 'abs_engine' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AbsError",
    "AnalysedRun",
    "AssumptionError",
    "Assumptions",
    "Calibration",
    "Cohorts",
    "Deal",
    "GradedAssumptions",
    "GradingError",
    "HistoryError",
    "MemoryBudgetError",
    "Pool",
    "PoolCashflows",
    "PrivacyError",
    "RollRates",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioSet",
    "Scorecard",
    "ServicerError",
    "SpecError",
    "Surveillance",
    "TapeError",
    "ValidationReport",
    "__version__",
    "analytics",
    "breakeven",
    "calibrate",
    "curves",
    "daycount",
    "deal",
    "early_warning",
    "grade",
    "grading",
    "load_assumptions",
    "load_deal",
    "load_history",
    "load_pool",
    "load_scorecard",
    "load_servicer",
    "policy_whatif",
    "project",
    "report",
    "reports",
    "run",
    "sample_pool",
    "samples",
    "scorecard",
    "size",
    "stress",
    "stress_table",
    "surveil",
    "surveillance",
    "synthetic_history",
    "validate_pool",
    "write_deal",
]
