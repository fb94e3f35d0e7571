"""Curve definitions against the SIFMA Standard Formulas (1999), and the TOML form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine import curves
from abs_engine.curves import (
    cdr_to_mdr,
    cpr_to_smm,
    curve_from_dict,
    mdr_to_cdr,
    smm_to_cpr,
)


def test_smm_cpr_definition() -> None:
    """SIFMA SF-4: 1 - CPR = (1 - SMM)^12; 1% SMM is 11.3615% CPR."""
    np.testing.assert_allclose(smm_to_cpr(0.01), 1 - 0.99**12, rtol=1e-15)
    np.testing.assert_allclose(smm_to_cpr(0.01), 0.113615, atol=5e-7)
    np.testing.assert_allclose(cpr_to_smm(0.06), 1 - 0.94 ** (1 / 12), rtol=1e-14)
    np.testing.assert_allclose(cdr_to_mdr(0.06), cpr_to_smm(0.06), rtol=0)
    np.testing.assert_allclose(mdr_to_cdr(0.01), smm_to_cpr(0.01), rtol=0)


@given(st.floats(0.0, 1.0))
def test_rate_conversions_round_trip(x: float) -> None:
    np.testing.assert_allclose(smm_to_cpr(cpr_to_smm(x)), x, atol=1e-12)


def test_psa_definition() -> None:
    """SIFMA SF-6: 100% PSA is 0.2% CPR in month 1, +0.2% a month to 6% at month 30, then flat."""
    ages = np.array([1, 2, 15, 30, 31, 200])
    np.testing.assert_allclose(
        curves.psa(100).annual_rates(ages), [0.002, 0.004, 0.03, 0.06, 0.06, 0.06], rtol=1e-12
    )
    np.testing.assert_allclose(curves.psa(150).annual_rates([10]), [0.03], rtol=1e-12)
    np.testing.assert_allclose(curves.psa(150).monthly_rates([40]), cpr_to_smm(0.09), rtol=1e-14)


def test_sda_definition() -> None:
    """SIFMA SF-20: 100% SDA CDR 0.02% a month up to 0.60% at 30, flat to 60, down 0.0095%/month to 0.03% at 120."""
    ages = np.array([1, 30, 45, 60, 61, 90, 120, 121, 360])
    expected = [
        0.0002,
        0.006,
        0.006,
        0.006,
        0.005905,
        0.006 - 30 * 0.000095,
        0.0003,
        0.0003,
        0.0003,
    ]
    np.testing.assert_allclose(curves.sda(100).annual_rates(ages), expected, rtol=1e-12)
    np.testing.assert_allclose(curves.sda(200).annual_rates([30]), [0.012], rtol=1e-12)


def test_abs_model_definition() -> None:
    """SIFMA SF-13: SMM = ABS / (1 - ABS x (age - 1))."""
    speed = 0.015
    ages = np.array([1, 2, 10, 24])
    np.testing.assert_allclose(
        curves.abs_prepay(speed).monthly_rates(ages), speed / (1 - speed * (ages - 1)), rtol=1e-14
    )
    # Once 1/ABS months have passed, everything has prepaid.
    assert curves.abs_prepay(0.5).monthly_rates([3])[0] == 1.0


def test_constant_curves_and_units() -> None:
    assert curves.cpr(0.10).kind == "prepayment"
    assert curves.cdr(0.10).kind == "default"
    np.testing.assert_allclose(
        curves.cdr(0.10).monthly_rates([1, 50]), cdr_to_mdr(0.10), rtol=1e-15
    )
    np.testing.assert_allclose(curves.smm(0.01).annual_rates([3]), smm_to_cpr(0.01), rtol=1e-15)


def test_vector_holds_last_value_and_by_period() -> None:
    v = curves.vector([0.01, 0.02, 0.03], unit="mdr")
    np.testing.assert_allclose(v.monthly_rates([1, 2, 3, 4, 99]), [0.01, 0.02, 0.03, 0.03, 0.03])
    assert curves.vector([0.1], unit="cpr", by="period").by == "period"
    np.testing.assert_allclose(
        curves.vector([0.12], unit="cdr").monthly_rates([1]), cdr_to_mdr(0.12)
    )


def test_cumulative_default_spreads_the_total() -> None:
    """Conditional MDRs that default `total` of a non-amortising pool along `timing`."""
    c = curves.cumulative_default(0.06, [1, 2, 3])
    mdr = c.monthly_rates(np.arange(1, 6))
    survivors = np.cumprod(np.r_[1.0, 1 - mdr])[:-1]
    defaults = survivors * mdr
    np.testing.assert_allclose(defaults, [0.01, 0.02, 0.03, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(defaults.sum(), 0.06, rtol=1e-14)


def test_scaled_multiplies_annual_rate_capped() -> None:
    base = curves.cdr(0.10)
    np.testing.assert_allclose(base.scaled(1.5).annual_rates([1]), [0.15], rtol=1e-14)
    np.testing.assert_allclose(base.scaled(20).annual_rates([1]), [1.0], rtol=0)
    assert base.scaled(1.0) is base
    nested = base.scaled(2).scaled(1.5)
    assert isinstance(nested, curves.Scaled) and nested.multiplier == 3.0


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: curves.cpr(6), "percentage"),
        (lambda: curves.cdr(-0.1), "between 0 and 1"),
        (lambda: curves.psa(-5), "PSA speed"),
        (lambda: curves.vector([], "cdr"), "at least one value"),
        (lambda: curves.vector([0.1], "xyz"), "unit"),
        (lambda: curves.cumulative_default(0.05, [0, 0]), "positive sum"),
        (lambda: curves.cdr(0.1).scaled(-1), "multiplier"),
        (lambda: curves.cdr(0.1).monthly_rates([0]), "months count from 1"),
    ],
)
def test_bad_curves_are_clear_errors(call: object, fragment: str) -> None:
    with pytest.raises(ae.AssumptionError, match=fragment):
        call()  # type: ignore[operator]


def test_assumptions_reject_the_wrong_curve_kind() -> None:
    with pytest.raises(ae.AssumptionError, match="prepayment curve"):
        ae.Assumptions(default=curves.psa(100))
    with pytest.raises(ae.AssumptionError, match="default curve"):
        ae.Assumptions(prepay=curves.sda(100))
    with pytest.raises(ae.AssumptionError, match="severity"):
        ae.Assumptions(severity=1.5)
    with pytest.raises(ae.AssumptionError, match="recovery_lag"):
        ae.Assumptions(recovery_lag=-1)


def test_by_grade_names_missing_grades() -> None:
    graded = ae.Assumptions.by_grade({"A": ae.Assumptions()})
    with pytest.raises(ae.AssumptionError, match="no assumptions for grade 'B'"):
        graded.for_grade("B")
    fallback = ae.Assumptions.by_grade(
        {"A": ae.Assumptions()}, default=ae.Assumptions(severity=0.5)
    )
    assert fallback.for_grade("B").severity == 0.5


@pytest.mark.parametrize(
    "curve",
    [
        curves.cdr(0.05),
        curves.smm(0.01),
        curves.psa(150),
        curves.sda(200),
        curves.abs_prepay(0.015),
        curves.vector([0.01, 0.02], unit="cdr", by="period"),
        curves.cumulative_default(0.06, [1, 2, 1]),
        curves.cpr(0.1).scaled(1.5),
    ],
)
def test_curve_toml_round_trip(curve: curves.Curve) -> None:
    again = curve_from_dict(curve.to_dict())
    ages = np.arange(1, 40)
    np.testing.assert_allclose(again.monthly_rates(ages), curve.monthly_rates(ages), rtol=1e-15)


def test_curve_toml_errors_name_the_key_path() -> None:
    with pytest.raises(
        ae.SpecError, match=r"grades.A.default.cdrr: unknown key 'cdrr'; did you mean 'cdr'"
    ):
        ae.curves.assumptions_from_dict({"grades": {"A": {"default": {"cdrr": 0.1}}}})
    with pytest.raises(ae.SpecError, match=r"assumptions.prepay: a curve names exactly one"):
        ae.curves.assumptions_from_dict({"prepay": {"cpr": 0.1, "psa": 100}})
    with pytest.raises(ae.SpecError, match=r"assumptions.severty: unknown key"):
        ae.curves.assumptions_from_dict({"severty": 0.5})
    with pytest.raises(ae.SpecError, match=r"assumptions.default.unit: a vector curve needs unit"):
        ae.curves.assumptions_from_dict({"default": {"vector": [0.1]}})


def test_load_assumptions_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "a.toml"
    path.write_text(
        """
[default]
severity = 0.8
recovery_lag = 3
[grades.A]
default = { cdr = 0.02 }
prepay = { cpr = 0.1 }
[grades.B]
default = { cdr = 0.05 }
severity = 0.9
roll_rates = { current_to_30 = 0.02, to_60 = 0.5, to_90 = 0.6, to_default = 0.9, cure = 0.1 }
"""
    )
    graded = ae.load_assumptions(path)
    assert isinstance(graded, ae.GradedAssumptions)
    assert graded.for_grade("A").severity == 0.8
    assert graded.for_grade("B").severity == 0.9
    assert graded.for_grade("B").recovery_lag == 3
    rr = graded.for_grade("B").roll_rates
    assert rr is not None
    np.testing.assert_allclose(rr.matrix.sum(axis=1), 1.0)
    # 61-90 bucket: 10% cure, 90% roll to default, nothing stays.
    np.testing.assert_allclose(rr.matrix[3], [0.1, 0.0, 0.0, 0.0, 0.9], atol=1e-15)
    np.testing.assert_allclose(rr.matrix[0], [0.98, 0.02, 0.0, 0.0, 0.0], atol=1e-15)


def test_roll_rates_reject_impossible_rows() -> None:
    with pytest.raises(ae.AssumptionError, match="exceed 1"):
        ae.RollRates.from_rolls(0.02, 0.5, 0.6, 0.9, cure=0.3)
    with pytest.raises(ae.AssumptionError, match="sums to"):
        ae.RollRates(np.full((4, 5), 0.5))
