"""Stress the deal: the rating-agency pass/fail table, a Monte Carlo batch, and sizing the notes."""

from __future__ import annotations

import sys
from pathlib import Path

import abs_engine as ae
from abs_engine import stress

out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/examples") / "stress-batch"
deal = ae.load_deal(ae.samples.path("baitiao_2015"))
pool = ae.Pool.from_frame(ae.sample_pool(n=5_000, seed=7))

print(ae.stress_table(deal, pool, default_multiples=(1, 2, 4, 8, 16), recovery_haircuts=(0.0, 0.5)))

# 2,000 Monte Carlo paths of a one-factor (Vasicek) default factor, run in chunks; re-running
# with the same `out` skips finished chunks.  executor="dask" spreads chunks over a cluster.
paths = stress.monte_carlo(
    deal, pool, stress.MonteCarloSpec(n_paths=2_000, seed=1, rho={"A": 0.05, "B": 0.08, "C": 0.12})
)
summary = stress.run_batch(deal, pool, paths, out=out, executor="serial", chunk_size=500)
print(summary)
print(stress.loss_statistics(stress.read_results(out)))

# Size the notes: each class loses nothing from zero stress up to its target multiple of the
# base default curve, rated notes at most 90% of the pool, the residual holder keeps 5%.
sized = ae.size(
    deal,
    pool,
    {"senior": 8.0, "mezzanine": 4.0},
    tolerance=1e-3,
    max_advance_rate=0.90,
    min_retention=0.05,
)
print(sized.tranches)
print(sized.summary())
