"""Contractual (no default, no prepayment) schedules per unit of current balance.

For cohort ``c`` with ``n`` months left, ``A[c, k]`` is the share of today's
balance still outstanding after ``k`` months if every borrower pays as
agreed (``A[c, 0] = 1``, ``A[c, k] = 0`` for ``k >= n``):

* annuity (等额本息), monthly rate ``i``:
  ``A_k = ((1 + i)^n - (1 + i)^k) / ((1 + i)^n - 1)`` (``(n - k)/n`` when ``i = 0``);
* equal principal (等额本金) and flat fee (等本等费): ``A_k = (n - k) / n``;
* bullet: ``A_k = 1`` for ``k < n``, then 0.

Interest in month ``k`` is ``rate / 12 x A[c, k-1]`` per unit (interest-only
until maturity for bullets); a flat fee is a fixed amount each month up to
maturity.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from abs_engine.pool.cohorts import ANNUITY, BULLET, Cohorts

__all__ = ["balance_factors"]


def balance_factors(cohorts: Cohorts, horizon: int) -> NDArray[np.float64]:
    """Contractual balance factors ``A``, shape ``(n_cohorts, horizon + 1)``.

    Parameters
    ----------
    cohorts : Cohorts
    horizon : int
        Months to project; columns are ``k = 0 .. horizon``.
    """
    n = cohorts.remaining_term.astype(np.float64)[:, None]
    k = np.arange(horizon + 1, dtype=np.float64)[None, :]
    a = np.clip((n - k) / n, 0.0, 1.0)  # equal principal and flat fee
    bullet = cohorts.payment_type == BULLET
    if bullet.any():
        a[bullet] = np.where(k < n[bullet], 1.0, 0.0)
    annuity = (cohorts.payment_type == ANNUITY) & (cohorts.rate > 0)
    if annuity.any():
        i = cohorts.rate[annuity, None] / 12.0
        na = n[annuity]
        growth_n = np.power(1.0 + i, na)
        growth_k = np.power(1.0 + i, np.minimum(k, na))
        a[annuity] = (growth_n - growth_k) / (growth_n - 1.0)
    a[:, 0] = 1.0
    return a
