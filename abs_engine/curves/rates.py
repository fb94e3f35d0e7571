"""Rate conversions between annual and monthly conventions.

All rates are decimals (``0.06`` is 6%).  The SIFMA Standard Formulas (1999,
section B.1, p. SF-4 and section C.2, p. SF-17) define

.. math::

    1 - \\mathrm{CPR} = (1 - \\mathrm{SMM})^{12}, \\qquad
    1 - \\mathrm{CDR} = (1 - \\mathrm{MDR})^{12}.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "annual_to_monthly",
    "cdr_to_mdr",
    "cpr_to_smm",
    "mdr_to_cdr",
    "monthly_to_annual",
    "realised_rates",
    "scale_monthly",
    "smm_to_cpr",
]

FloatArray = NDArray[np.float64]


def annual_to_monthly(annual: ArrayLike) -> FloatArray:
    """Monthly rate from an annual (CPR/CDR-style) rate: ``1 - (1 - annual) ** (1/12)``."""
    a = np.clip(np.asarray(annual, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf -> monthly rate 1
        return -np.expm1(np.log1p(-a) / 12.0)


def monthly_to_annual(monthly: ArrayLike) -> FloatArray:
    """Annual rate from a monthly (SMM/MDR-style) rate: ``1 - (1 - monthly) ** 12``."""
    m = np.clip(np.asarray(monthly, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(12.0 * np.log1p(-m))


def cpr_to_smm(cpr: ArrayLike) -> FloatArray:
    """Single monthly mortality from a conditional prepayment rate."""
    return annual_to_monthly(cpr)


def smm_to_cpr(smm: ArrayLike) -> FloatArray:
    """Conditional prepayment rate from a single monthly mortality."""
    return monthly_to_annual(smm)


def cdr_to_mdr(cdr: ArrayLike) -> FloatArray:
    """Monthly default rate from a constant (conditional) default rate."""
    return annual_to_monthly(cdr)


def mdr_to_cdr(mdr: ArrayLike) -> FloatArray:
    """Constant default rate from a monthly default rate."""
    return monthly_to_annual(mdr)


def scale_monthly(monthly: ArrayLike, multiplier: ArrayLike) -> FloatArray:
    """Stress a monthly rate by multiplying its *annual* equivalent, capped at 100%.

    .. math::

        m' = 1 - \\bigl(1 - \\min(1,\\; k\\,[1 - (1 - m)^{12}])\\bigr)^{1/12}

    Broadcasts ``monthly`` against ``multiplier``.
    """
    k = np.asarray(multiplier, dtype=np.float64)
    annual = monthly_to_annual(monthly)
    return annual_to_monthly(np.minimum(1.0, k * annual))


def realised_rates(
    begin_balance: ArrayLike,
    scheduled_principal: ArrayLike,
    prepayment: ArrayLike,
    default: ArrayLike,
) -> dict[str, FloatArray]:
    r"""Realised monthly and annual default and prepayment rates of projected (or actual) flows.

    The rates a trustee report shows, computed from one month's flows of a
    pool (arrays broadcast; the last axis is usually the period):

    .. math::

        \mathrm{MDR}_t = \frac{D_t}{B_{t-1}}, \qquad
        \mathrm{SMM}_t = \frac{P_t}{B_{t-1} - S_t}, \qquad
        \mathrm{CDR} = 1 - (1 - \mathrm{MDR})^{12}, \quad
        \mathrm{CPR} = 1 - (1 - \mathrm{SMM})^{12},

    with :math:`B_{t-1}` the performing balance at the start of the month,
    :math:`D_t` new defaults, :math:`S_t` scheduled principal and :math:`P_t`
    voluntary prepayments.  The SMM is the SIFMA historical-prepayment measure
    (Standard Formulas, 1999, section B.2, p. SF-5: prepayments over the balance
    left after scheduled amortisation), with defaults counted as defaults, not
    prepayments.  A month with no balance to default (or, after scheduled
    principal, none to prepay) has NaN rates.

    Returns
    -------
    dict of str to numpy.ndarray
        ``mdr``, ``cdr``, ``smm``, ``cpr`` (decimals: 0.01 is 1%).

    Examples
    --------
    >>> r = realised_rates(1000.0, 100.0, 18.0, 10.0)
    >>> float(r["mdr"]), float(r["smm"])
    (0.01, 0.02)
    >>> round(float(r["cpr"]), 6)
    0.215283
    """
    b = np.asarray(begin_balance, dtype=np.float64)
    s = np.asarray(scheduled_principal, dtype=np.float64)
    p = np.asarray(prepayment, dtype=np.float64)
    d = np.asarray(default, dtype=np.float64)
    exposed = b - s
    with np.errstate(divide="ignore", invalid="ignore"):
        mdr = np.where(b > 0, d / np.where(b > 0, b, 1.0), np.nan)
        smm = np.where(exposed > 0, p / np.where(exposed > 0, exposed, 1.0), np.nan)
    mdr = np.asarray(mdr, dtype=np.float64)
    smm = np.asarray(smm, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return {
            "mdr": mdr,
            "cdr": np.where(np.isnan(mdr), np.nan, monthly_to_annual(np.nan_to_num(mdr))),
            "smm": smm,
            "cpr": np.where(np.isnan(smm), np.nan, monthly_to_annual(np.nan_to_num(smm))),
        }
