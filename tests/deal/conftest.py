from __future__ import annotations

import pytest
from support.deals import tiny_pool

import abs_engine as ae


@pytest.fixture
def pool4() -> ae.Cohorts:
    """1,000 at 12% repaid 250 a month over four months (interest 10, 7.5, 5, 2.5)."""
    return tiny_pool()
