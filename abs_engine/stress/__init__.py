"""Stress tests: scenario grids, named sets, Monte Carlo paths and resumable batches.

Scenarios (:mod:`abs_engine.stress.scenarios`): :func:`grid` (default,
prepayment, severity, recovery-haircut and recovery-lag levels), the named
sets ``base``, ``moderate`` and ``severe`` (:func:`named_set`, shipped in
``abs_engine/data/stress_sets.toml`` and overridable), tables from CSV or
parquet (:func:`read_scenarios`) and :func:`monte_carlo` paths of a
one-factor Gaussian default model (:mod:`abs_engine.stress.montecarlo`).

:func:`run_batch` runs a deal over them in chunks — in this process or on a
Dask cluster, with bit-identical results — into a partitioned parquet
dataset that :func:`read_results` loads; re-running completes an interrupted
batch.  :mod:`abs_engine.stress.summary` aggregates the results (expected
loss, probability of loss, tail percentiles, heat maps) and
:func:`stress_report` writes the HTML stress report.

>>> import abs_engine as ae
>>> from abs_engine import stress
>>> table = stress.grid(default_mult=[1, 2, 4], prepay_mult=[0.5, 1.5])
>>> len(table), str(table.names[1])
(6, 'default_mult=1,prepay_mult=1.5')
"""

from typing import TYPE_CHECKING

from abs_engine._lazy import attach
from abs_engine.stress.batch import (
    DEFAULT_CHUNK_SIZE,
    BatchSummary,
    ChunkFailure,
    read_cashflows,
    read_manifest,
    read_results,
    read_scenario_table,
    run_batch,
)
from abs_engine.stress.montecarlo import (
    DefaultCalibration,
    MonteCarloSpec,
    calibrate_defaults,
    conditional_default,
    factors,
    monte_carlo,
)
from abs_engine.stress.scenarios import (
    NamedSet,
    ScenarioTable,
    base_severities,
    concat,
    grid,
    haircut_multipliers,
    load_stress_sets,
    named_set,
    parse_levels,
    read_scenarios,
)
from abs_engine.stress.summary import (
    heat_map,
    loss_statistics,
    pass_fail,
    pool_loss_statistics,
)

if TYPE_CHECKING:
    from abs_engine.stress.report import stress_report

# The report (plotly) loads on first use.
__getattr__, __dir__ = attach(__name__, {"abs_engine.stress.report": ("stress_report",)})

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BatchSummary",
    "ChunkFailure",
    "DefaultCalibration",
    "MonteCarloSpec",
    "NamedSet",
    "ScenarioTable",
    "base_severities",
    "calibrate_defaults",
    "concat",
    "conditional_default",
    "factors",
    "grid",
    "haircut_multipliers",
    "heat_map",
    "load_stress_sets",
    "loss_statistics",
    "monte_carlo",
    "named_set",
    "parse_levels",
    "pass_fail",
    "pool_loss_statistics",
    "read_cashflows",
    "read_manifest",
    "read_results",
    "read_scenario_table",
    "read_scenarios",
    "run_batch",
    "stress_report",
]
