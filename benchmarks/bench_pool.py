"""Collateral engine benchmarks (issue 2).

1. A 1,000,000-receivable parquet tape to base-case pool cash flows, end to
   end, as a ratio to ``pyarrow.parquet.read_table`` of the same file.
2. 10,000 scenarios on the 100,000-receivable sample in one call vs the same
   engine called once per scenario (the per-call time is measured on a
   sample of calls and multiplied out), with peak memory.
3. A 10,000,000-receivable tape end to end: peak memory against the size of
   the Arrow table.

Tapes are generated once into ``benchmarks/data/`` (git-ignored).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

import abs_engine as ae
from abs_engine.pool.sample import write_tape
from benchmarks._util import PeakRSS, best_of, mib

DATA = Path(__file__).parent / "data"
ASSUMPTIONS = ae.samples.path("sample_assumptions")


def tape(n: int, seed: int = 7) -> Path:
    """The sample tape of ``n`` receivables, generated once."""
    path = DATA / f"sample_{n}.parquet"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        chunk = 2_000_000
        if n <= chunk:
            write_tape(ae.sample_pool(n, seed), path)
        else:  # write in row groups to bound the generator's memory
            import pyarrow as pa

            DATA.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            writer = None
            for i, lo in enumerate(range(0, n, chunk)):
                frame = ae.sample_pool(min(chunk, n - lo), seed + i)
                frame["loan_id"] = [f"R{j:09d}" for j in range(lo + 1, lo + len(frame) + 1)]
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                del frame, table
                gc.collect()
            assert writer is not None
            writer.close()
            os.replace(tmp, path)
    return path


def end_to_end(path: Path, assumptions: ae.GradedAssumptions | ae.Assumptions) -> ae.PoolCashflows:
    return ae.project(ae.load_pool(path), assumptions)


def bench_million(assumptions: ae.GradedAssumptions | ae.Assumptions) -> None:
    path = tape(1_000_000)
    end_to_end(path, assumptions)  # warm caches and imports
    t_read, table = best_of(lambda: pq.read_table(path), repeat=5)
    t_run, cf = best_of(lambda: end_to_end(path, assumptions), repeat=5)
    print(f"1,000,000 receivables ({table.nbytes / 2**20:,.0f} MiB as Arrow)")
    print(f"  read_table                  {t_read * 1e3:8.1f} ms   (reference)")
    print(
        f"  load+validate+project       {t_run * 1e3:8.1f} ms   "
        f"ratio {t_run / t_read:.2f}x  (limit 3x, aim 1.5x)"
    )
    pool = ae.load_pool(path)
    t_load, _ = best_of(lambda: ae.load_pool(path), repeat=3)
    t_coh, _ = best_of(pool.cohorts, repeat=3)
    t_proj, _ = best_of(lambda: ae.project(pool, assumptions), repeat=3)
    print(
        f"  of which: load+validate {t_load / t_read:.2f}x, cohorts {t_coh / t_read:.2f}x, "
        f"project {t_proj / t_read:.2f}x of the read"
    )
    assert cf.n_scenarios == 1


def bench_scenarios(assumptions: ae.GradedAssumptions | ae.Assumptions) -> None:
    pool = ae.load_pool(tape(100_000))
    rng = np.random.default_rng(1)
    n = 10_000
    scen = ae.ScenarioSet.from_arrays(
        default_mult=rng.uniform(0.5, 6.0, n),
        prepay_mult=rng.uniform(0.5, 1.5, n),
        severity_mult=rng.uniform(0.9, 1.1, n),
        recovery_lag_shift=rng.integers(0, 4, n),
    )
    ae.project(pool, assumptions, scen[:100])
    with PeakRSS() as mem:
        cf = ae.project(pool, assumptions, scen)
    t_vec, cf = best_of(lambda: ae.project(pool, assumptions, scen), repeat=3)
    calls = 200
    singles = [scen[i : i + 1] for i in range(calls)]
    t0 = time.perf_counter()
    for s in singles:
        ae.project(pool, assumptions, s)
    per_call = (time.perf_counter() - t0) / calls
    t_loop = per_call * n
    # Cold: fresh cohorts each call (equal arrays, a new object), so the projection's
    # scenario-free work, otherwise kept on the pool's cohorts, is done again every call.
    fresh = [dataclasses.replace(pool.cohorts()) for _ in range(calls // 4)]
    t0 = time.perf_counter()
    for c, s in zip(fresh, singles, strict=False):
        ae.project(c, assumptions, s)
    per_cold = (time.perf_counter() - t0) / len(fresh)
    print(
        f"10,000 scenarios on 100,000 receivables "
        f"({len(pool.cohorts())} cohorts, {cf.n_periods} months)"
    )
    print(f"  one call                    {t_vec:8.2f} s   ({n / t_vec:,.0f} scenarios/s)")
    print(
        f"  one call per scenario       {t_loop:8.2f} s   "
        f"({per_call * 1e3:.2f} ms a call, {calls} calls timed)"
    )
    print(f"  speed-up                    {t_loop / t_vec:8.0f}x  (need 50x, aim 100x)")
    print(
        f"  one call per scenario, cold {per_cold * n:8.2f} s   ({per_cold * 1e3:.2f} ms a call, "
        f"fresh cohorts, {len(fresh)} calls timed): speed-up {per_cold * n / t_vec:.0f}x"
    )
    print(f"  peak memory of the call     {mib(mem.increase)} above baseline")
    # Same numbers either way.
    one = ae.project(pool, assumptions, scen[7:8])
    k = one.n_periods
    np.testing.assert_allclose(cf["default"][7, :k], one["default"][0], rtol=1e-12)


_CHILD = """
import resource, sys, time, psutil
import abs_engine as ae
base = psutil.Process().memory_info().rss
t0 = time.perf_counter()
cf = ae.project(ae.load_pool(sys.argv[1]), ae.load_assumptions(sys.argv[2]))
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(elapsed, peak - base, cf.n_periods)
"""


def bench_ten_million(assumptions: ae.GradedAssumptions | ae.Assumptions) -> None:
    """Peak memory in a fresh process (the allocator of this one keeps freed pages)."""
    import subprocess

    path = tape(10_000_000)
    t_read, table = best_of(lambda: pq.read_table(path), repeat=1)
    arrow = table.nbytes
    del table
    gc.collect()
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(ASSUMPTIONS)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, peak, _ = res.stdout.split()
    print(f"10,000,000 receivables (Arrow table {mib(arrow)}, read_table {t_read:.1f} s)")
    print(
        f"  load+validate+project       {float(elapsed):8.1f} s   "
        f"ratio {float(elapsed) / t_read:.2f}x the read"
    )
    print(
        f"  peak memory                 {mib(float(peak))} above the interpreter = "
        f"{float(peak) / arrow:.2f}x the Arrow table (limit 3x)"
    )


def main() -> None:
    assumptions = ae.load_assumptions(ASSUMPTIONS)
    which = os.environ.get("BENCH_POOL", "million,scenarios,ten_million").split(",")
    if "million" in which:
        bench_million(assumptions)
    if "scenarios" in which:
        bench_scenarios(assumptions)
    if "ten_million" in which:
        bench_ten_million(assumptions)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
