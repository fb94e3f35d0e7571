"""Shared fixtures: small deterministic pools and assumption sets."""

from __future__ import annotations

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import curves


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    """A 2,000-receivable sample tape (seed 11)."""
    return ae.sample_pool(n=2_000, seed=11)


@pytest.fixture(scope="session")
def sample_pool(sample_frame: pd.DataFrame) -> ae.Pool:
    return ae.Pool.from_frame(sample_frame)


@pytest.fixture(scope="session")
def graded_assumptions() -> ae.GradedAssumptions:
    """Per-grade curves of three different kinds (vector by age, constant, ABS model)."""
    return ae.Assumptions.by_grade(
        {
            "A": ae.Assumptions(
                default=curves.vector([0.01, 0.02, 0.03], "cdr"),
                prepay=curves.cpr(0.10),
                severity=0.8,
                recovery_lag=3,
            ),
            "B": ae.Assumptions(
                default=curves.cdr(0.05),
                prepay=curves.abs_prepay(0.015),
                severity=0.85,
                recovery_lag=4,
            ),
            "C": ae.Assumptions(
                default=curves.cdr(0.12), prepay=curves.cpr(0.05), severity=0.9, recovery_lag=6
            ),
        }
    )
