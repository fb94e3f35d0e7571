"""Write the investor report (HTML and Excel), cash flows, ledger and summary of a run."""

from __future__ import annotations

import sys
from pathlib import Path

import abs_engine as ae

out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/examples") / "baitiao-report"
deal = ae.load_deal(ae.samples.path("baitiao_2015"))
pool = ae.Pool.from_frame(ae.sample_pool(n=5_000, seed=7))
grid = ae.ScenarioSet.grid(default_mult=[1, 4])
result = ae.run(deal, pool, grid)
ae.report.write(result, out, pool=pool, scenarios=grid, overwrite=True)  # atomic; re-runnable
print(sorted(p.name for p in out.iterdir()))
