"""Loan-level projection against cohort mode (issue 16).

The 10,000-receivable sample pool (seed 7) with the packaged sample assumptions, one
scenario and 20 scenarios: ``engine="loan"`` (every receivable on its own, a month loop)
and the loan engine with reconciliation conventions and half-up rounding per receivable,
each as a multiple of the default closed-form cohort engine measured in the same run; and
cohort mode under non-SIFMA conventions (the month loop on exact cohorts).
"""

from __future__ import annotations

import dataclasses

import abs_engine as ae
from abs_engine import ScenarioSet
from abs_engine.projection import PoolConventions
from benchmarks._util import best_of

RECONCILE = PoolConventions(
    prepayment_timing="start", default_order="default_first", amortisation="reamortise"
)

ROUNDED = dataclasses.replace(RECONCILE, rounding="half_up")


def main() -> None:
    pool = ae.Pool.from_frame(ae.sample_pool(10_000, seed=7))
    a = ae.load_assumptions(ae.samples.path("sample_assumptions"))
    print(f"{len(pool):,} receivables, {len(pool.cohorts()):,} cohorts")
    for scen in (ScenarioSet.base(), ScenarioSet.grid(default_mult=[0.5, 1, 2, 3, 4],
                                                      prepay_mult=[0.5, 1, 1.5, 2])):  # fmt: skip
        ae.project(pool, a, scen, engine="loan")  # warm up
        t_ref, _ = best_of(lambda s=scen: ae.project(pool, a, s), repeat=7)
        cases = {
            'engine="loan", SIFMA': lambda s=scen: ae.project(pool, a, s, engine="loan"),
            'engine="loan", reconciliation + half_up': lambda s=scen: ae.project(
                pool, a, s, engine="loan", conventions=ROUNDED
            ),
            "cohort mode, reconciliation conventions": lambda s=scen: ae.project(
                pool, a, s, conventions=RECONCILE
            ),
        }
        print(f"{len(scen)} scenario(s): cohort engine (reference) {t_ref * 1e3:8.1f} ms")
        for name, fn in cases.items():
            t, _ = best_of(fn, repeat=5)
            print(f"  {name:42s} {t * 1e3:8.1f} ms   {t / t_ref:5.1f}x")


if __name__ == "__main__":
    main()
