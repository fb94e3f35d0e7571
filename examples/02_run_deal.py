"""Run the Baitiao sample deal under a few stresses; summary, coverage and break-even."""

from __future__ import annotations

import abs_engine as ae

deal = ae.load_deal(ae.samples.path("baitiao_2015"))
pool = ae.Pool.from_frame(ae.sample_pool(n=5_000, seed=7))

result = ae.run(deal, pool, ae.ScenarioSet.grid(default_mult=[1, 4, 8], prepay_mult=[0.5, 1.5]))
result.check_conservation()  # the ledger balances in every period of every scenario
print(result.summary()[["scenario", "tranche", "yield", "wal", "principal_loss_share", "min_oc"]])
print(ae.breakeven(deal, pool))
