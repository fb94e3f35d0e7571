"""Default, prepayment and recovery assumptions; rate conversions; scenarios.

>>> from abs_engine import curves
>>> round(float(curves.cpr(0.10).monthly_rates([1])[0]), 6)
0.008742
>>> round(float(curves.psa(100).annual_rates([15])[0]), 4)
0.03
"""

from abs_engine.curves.assumptions import (
    DELINQUENCY_STATES,
    Assumptions,
    GradedAssumptions,
    RollRates,
    assumptions_from_dict,
    curve_from_dict,
    load_assumptions,
)
from abs_engine.curves.curve import (
    PSA,
    SDA,
    ABSPrepay,
    Constant,
    CumulativeDefault,
    Curve,
    Scaled,
    Vector,
    abs_prepay,
    cdr,
    cpr,
    cumulative_default,
    cumulative_default_shares,
    mdr,
    psa,
    sda,
    smm,
    vector,
)
from abs_engine.curves.rates import (
    annual_to_monthly,
    cdr_to_mdr,
    cpr_to_smm,
    mdr_to_cdr,
    monthly_to_annual,
    scale_monthly,
    smm_to_cpr,
)
from abs_engine.curves.scenarios import LEVERS, MULTIPLIERS, Scenario, ScenarioSet

__all__ = [
    "DELINQUENCY_STATES",
    "LEVERS",
    "MULTIPLIERS",
    "PSA",
    "SDA",
    "ABSPrepay",
    "Assumptions",
    "Constant",
    "CumulativeDefault",
    "Curve",
    "GradedAssumptions",
    "RollRates",
    "Scaled",
    "Scenario",
    "ScenarioSet",
    "Vector",
    "abs_prepay",
    "annual_to_monthly",
    "assumptions_from_dict",
    "cdr",
    "cdr_to_mdr",
    "cpr",
    "cpr_to_smm",
    "cumulative_default",
    "cumulative_default_shares",
    "curve_from_dict",
    "load_assumptions",
    "mdr",
    "mdr_to_cdr",
    "monthly_to_annual",
    "psa",
    "scale_monthly",
    "sda",
    "smm",
    "smm_to_cpr",
    "vector",
]
