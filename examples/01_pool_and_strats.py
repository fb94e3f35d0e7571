"""Load (here: generate) a receivables tape, validate it, stratify it, project it."""

from __future__ import annotations

import sys
from pathlib import Path

import abs_engine as ae
from abs_engine import curves

out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/examples")
out.mkdir(parents=True, exist_ok=True)
tape = out / "tape.parquet"
ae.pool.write_tape(ae.sample_pool(n=5_000, seed=1), tape)

report = ae.validate_pool(tape)  # every problem, without raising
print(report.summary())
pool = ae.load_pool(tape)
print(pool.strats("grade"))

base = ae.Assumptions.by_grade(
    {
        "A": ae.Assumptions(
            default=curves.cdr(0.02), prepay=curves.cpr(0.12), severity=0.85, recovery_lag=3
        ),
        "B": ae.Assumptions(
            default=curves.cdr(0.05), prepay=curves.cpr(0.09), severity=0.88, recovery_lag=3
        ),
        "C": ae.Assumptions(
            default=curves.cdr(0.10), prepay=curves.cpr(0.06), severity=0.92, recovery_lag=4
        ),
    }
)
cf = ae.project(pool, base, ae.ScenarioSet.grid(default_mult=[1, 2, 4]))
print(cf.totals()[["default", "loss", "cumulative_net_loss"]])
