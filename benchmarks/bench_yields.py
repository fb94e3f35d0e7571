"""Vectorised yields vs a Python loop of ``numpy_financial.irr``.

10,000 amortising notes (36 level monthly payments, coupons 2%-15%, prices
90-110) are solved for their monthly-compounded yield at times k/12 in one
call of :func:`abs_engine.analytics.yield_from_price`; the reference runs
``numpy_financial.irr`` on each vector with ``-price`` as the time-0 flow
and converts the monthly IRR to an annual rate, ``y = 12 irr``.

Goals: speed-up >= 50x, max |difference| <= 1e-8.
"""

from __future__ import annotations

import numpy as np
import numpy_financial as npf

from abs_engine.analytics import yield_from_price
from benchmarks._util import best_of

N_VECTORS = 10_000
N_MONTHS = 36
SEED = 20240601


def _notes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Level-payment notes of 100 with varied coupons, priced at a discount or premium."""
    coupon = rng.uniform(0.02, 0.15, N_VECTORS)
    r = coupon / 12
    payment = 100 * r / (1 - (1 + r) ** -N_MONTHS)
    flows = np.repeat(payment[:, None], N_MONTHS, axis=1)
    # some notes also carry an irregular final payment (a balloon) to vary the shape
    balloon = rng.random(N_VECTORS) < 0.3
    flows[balloon, -1] += rng.uniform(0.0, 40.0, balloon.sum())
    prices = 100 * rng.uniform(0.90, 1.10, N_VECTORS) * flows.sum(axis=1) / (payment * N_MONTHS)
    return flows, prices


def main() -> None:
    rng = np.random.default_rng(SEED)
    flows, prices = _notes(rng)
    times = np.arange(1, N_MONTHS + 1) / 12

    def vectorised() -> np.ndarray:
        return yield_from_price(flows, times, prices, compounding=12)

    def loop() -> np.ndarray:
        return np.array([12 * npf.irr(np.r_[-p, f]) for p, f in zip(prices, flows, strict=True)])

    t_vec, ours = best_of(vectorised, repeat=5)
    t_loop, reference = best_of(loop, repeat=2)
    both = np.isfinite(ours) & np.isfinite(reference)
    max_diff = float(np.max(np.abs(ours[both] - reference[both])))
    print(f"{N_VECTORS:,} vectors x {N_MONTHS} monthly flows")
    print(f"yield_from_price (vectorised): {t_vec * 1e3:8.1f} ms")
    print(f"numpy_financial.irr loop:      {t_loop * 1e3:8.1f} ms")
    print(f"speed-up: {t_loop / t_vec:.0f}x (goal >= 50x)")
    print(f"max |yield difference|: {max_diff:.2e} (goal <= 1e-8)")
    unsolved_ours = int((~np.isfinite(ours)).sum())
    unsolved_irr = int((~np.isfinite(reference)).sum())
    print(f"unsolved: ours {unsolved_ours}, irr {unsolved_irr}")
