"""Collateral cash-flow projection: pool x assumptions x scenarios -> monthly cash flows."""

from abs_engine.projection.conventions import PoolConventions
from abs_engine.projection.engine import as_scenario_set, project
from abs_engine.projection.results import BALANCE_FIELDS, FIELDS, FLOW_FIELDS, PoolCashflows
from abs_engine.projection.schedule import balance_factors

__all__ = [
    "BALANCE_FIELDS",
    "FIELDS",
    "FLOW_FIELDS",
    "PoolCashflows",
    "PoolConventions",
    "as_scenario_set",
    "balance_factors",
    "project",
]
