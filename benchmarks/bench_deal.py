"""Deal engine benchmark (issue 3): baitiao_2015.toml on the 100,000-receivable sample,
10,000 stress scenarios in one call vs one call per scenario (per-call time measured on a
sample of calls and multiplied out); scenarios per second and peak memory."""

from __future__ import annotations

import time

import numpy as np

import abs_engine as ae
from benchmarks._util import PeakRSS, best_of, mib
from benchmarks.bench_pool import tape

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"
HASTRUCTURE_MS_PER_LOAN_SCENARIO = 12.0  # issue 3: the absbox/Hastructure engine, loan by loan


def main() -> None:
    deal = ae.load_deal(WATERFALLS / "baitiao_2015.toml")
    pool = ae.load_pool(tape(100_000))
    rng = np.random.default_rng(3)
    n = 10_000
    scen = ae.ScenarioSet.from_arrays(
        default_mult=rng.uniform(0.5, 8.0, n),
        prepay_mult=rng.uniform(0.5, 1.5, n),
        severity_mult=rng.uniform(0.9, 1.1, n),
        recovery_lag_shift=rng.integers(0, 3, n),
    )
    ae.run(deal, pool, scen[:50])
    with PeakRSS() as mem:
        result = ae.run(deal, pool, scen)
    t_vec, result = best_of(lambda: ae.run(deal, pool, scen), repeat=2)
    result.check_conservation()
    calls = 50
    t0 = time.perf_counter()
    for i in range(calls):
        ae.run(deal, pool, scen[i : i + 1])
    per_call = (time.perf_counter() - t0) / calls
    t_loop = per_call * n
    per_scen = t_vec / n
    print(f"baitiao_2015 on 100,000 receivables, {n:,} scenarios ({result.n_periods} periods)")
    print(f"  one call                    {t_vec:8.2f} s   ({n / t_vec:,.0f} scenarios/s)")
    print(
        f"  one call per scenario       {t_loop:8.1f} s   ({per_call * 1e3:.1f} ms a call, {calls} calls timed)"
    )
    print(f"  speed-up                    {t_loop / t_vec:8.0f}x  (need 50x)")
    print(f"  peak memory of the call     {mib(mem.increase)} above baseline")
    loan_level = HASTRUCTURE_MS_PER_LOAN_SCENARIO * 1e-3 * len(pool)
    print(
        f"  per scenario {per_scen * 1e3:.3f} ms vs ~{loan_level:,.0f} s loan by loan "
        f"at 12 ms per loan "
        f"(Hastructure, issue 3): {loan_level / per_scen:,.0f}x"
    )


if __name__ == "__main__":
    main()
