"""abs_engine: asset-securitisation cash-flow analytics.

The pipeline runs one way::

    tape -> pool -> projection -> waterfall -> analytics -> reports / stress

>>> import abs_engine as ae
>>> pool = ae.Pool.from_frame(ae.sample_pool(n=200, seed=1))
>>> cf = ae.project(pool, ae.Assumptions(default=ae.curves.cdr(0.05), prepay=ae.curves.cpr(0.10)))
>>> cf.n_scenarios
1
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from abs_engine import (
    analytics,
    curves,
    daycount,
    deal,
    grading,
    reports,
    samples,
    stress,
    surveillance,
)
from abs_engine import reports as report  # ae.report.write(result, out_dir)
from abs_engine.analytics import AnalysedRun, breakeven, run, size, stress_table
from abs_engine.calibrate import Calibration, calibrate, load_history, synthetic_history
from abs_engine.curves import (
    Assumptions,
    GradedAssumptions,
    RollRates,
    Scenario,
    ScenarioSet,
    load_assumptions,
)
from abs_engine.deal import Deal, RunResult, load_deal, write_deal
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
from abs_engine.grading import Scorecard, early_warning, grade, load_scorecard
from abs_engine.grading import lifecycle as scorecard  # ae.scorecard.fit / validate / stability
from abs_engine.policy import policy_whatif
from abs_engine.pool import Cohorts, Pool, ValidationReport, load_pool, sample_pool, validate_pool
from abs_engine.projection import PoolCashflows, project
from abs_engine.surveillance import Surveillance, load_servicer, surveil

try:
    __version__ = version("abs_engine")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

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
