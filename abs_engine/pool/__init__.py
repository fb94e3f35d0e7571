"""Receivable tapes: schema, loading, validation, stratification, cohorts, sample data."""

from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool, read_tape, validate_pool
from abs_engine.pool.sample import SamplePoolSpec, sample_pool, write_tape
from abs_engine.pool.schema import (
    COLUMNS,
    DEFAULT_GRADES,
    PAYMENT_TYPES,
    PF_COLUMNS,
    PF_STATUSES,
    REQUIRED_COLUMNS,
)
from abs_engine.pool.strats import STANDARD_STRATS, flat_fee_apr, stratify
from abs_engine.pool.validate import ValidationReport

__all__ = [
    "COLUMNS",
    "DEFAULT_GRADES",
    "PAYMENT_TYPES",
    "PF_COLUMNS",
    "PF_STATUSES",
    "REQUIRED_COLUMNS",
    "STANDARD_STRATS",
    "Cohorts",
    "Pool",
    "SamplePoolSpec",
    "ValidationReport",
    "flat_fee_apr",
    "load_pool",
    "read_tape",
    "sample_pool",
    "stratify",
    "validate_pool",
    "write_tape",
]
