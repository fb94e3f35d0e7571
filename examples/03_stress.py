"""Stress the deal: the rating-agency pass/fail table and sizing the notes to targets."""

from __future__ import annotations

from pathlib import Path

import abs_engine as ae

ROOT = Path(__file__).resolve().parents[1]
deal = ae.load_deal(ROOT / "waterfalls" / "baitiao_2015.toml")
pool = ae.Pool.from_frame(ae.sample_pool(n=5_000, seed=7))

print(ae.stress_table(deal, pool, default_multiples=(1, 2, 4, 8, 16), recovery_haircuts=(0.0, 0.5)))
sized = ae.size(deal, pool, {"senior": 4.0, "mezzanine": 2.0}, tolerance=1e-3)
print(sized.tranches)
print(sized.summary())
