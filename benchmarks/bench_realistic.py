"""Real-world tape benchmarks (issue 15).

A 1,000,000-receivable annuity tape with continuous rates (6 decimals, 5-30%),
original terms 12-60 and remaining terms 1-60 — every receivable its own
cohort — generated from a seed into ``benchmarks/data/`` (git-ignored):

1. ``load_pool`` + ``project`` (base case) against ``pyarrow.parquet.read_table``
   of the same file; timed in the same run, several rounds, the spread printed.
2. The same with 20 scenarios in one call against the single-scenario call.
3. Peak memory of load + project, in a fresh process, against the Arrow size
   of the tape.
4. ``import abs_engine`` against ``import pandas``, each in fresh interpreters.
5. A 300-receivable pool through the sample static deal, one scenario, engine
   only (``deal.run`` on pre-built cohorts), in milliseconds per call.

``BENCH_REALISTIC=speed,scenarios,memory,import,small`` picks the parts.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._util import mib

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
ASSUMPTIONS = ROOT / "pools" / "sample_assumptions.toml"
ROUNDS = 5


def realistic_tape(n: int = 1_000_000, seed: int = 15) -> Path:
    """The continuous-rate annuity tape of issue 15, generated once from ``seed``.

    Rates uniform in 5-30% rounded to 6 decimals, original terms uniform in
    12-60, remaining terms uniform in 1..original, grades A/B/C (50/30/20%),
    balances on the annuity schedule of a log-normal original balance; 2% of
    the seasoned receivables are 1-90 days past due.
    """
    path = DATA / f"realistic_{n}_{seed}.parquet"
    if path.exists():
        return path
    print(f"generating {path.name} ...", flush=True)
    rng = np.random.Generator(np.random.PCG64(seed))
    rate = np.round(rng.uniform(0.05, 0.30, n), 6)
    original = rng.integers(12, 61, n)
    remaining = 1 + np.floor(rng.random(n) * original).astype(np.int64)
    age = original - remaining
    ob = np.round(np.minimum(10_000.0 * np.exp(0.6 * rng.standard_normal(n)), 100_000.0), 0)
    ob = np.maximum(ob, 500.0)
    i = rate / 12.0
    g_n, g_k = (1.0 + i) ** original, (1.0 + i) ** age
    balance = np.round(ob * (g_n - g_k) / (g_n - 1.0), 2)
    grade = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    late = (age >= 1) & (rng.random(n) < 0.02)
    dpd = np.where(late, 1 + np.floor(rng.random(n) * 90).astype(np.int64), 0)
    table = pa.table(
        {
            "loan_id": pa.array([f"L{j:08d}" for j in range(n)]),
            "grade": pa.DictionaryArray.from_arrays(
                pa.array(grade.astype(np.int8)), pa.array(["A", "B", "C"])
            ),
            "balance": balance,
            "rate": rate,
            "original_term": original.astype(np.int32),
            "remaining_term": remaining.astype(np.int32),
            "payment_type": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, dtype=np.int8)), pa.array(["annuity"])
            ),
            "original_balance": ob,
            "age": age.astype(np.int32),
            "dpd": dpd.astype(np.int32),
        }
    )
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def _spread(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f}x (min {min(xs):.2f}x, max {max(xs):.2f}x)"


def bench_speed(path: Path) -> None:
    import abs_engine as ae

    a = ae.load_assumptions(ASSUMPTIONS)
    ae.project(ae.load_pool(path), a)  # warm: imports, page cache
    ratios, reads, runs = [], [], []
    for _ in range(ROUNDS):
        gc.collect()
        t0 = time.perf_counter()
        table = pq.read_table(path)
        t_read = time.perf_counter() - t0
        del table
        gc.collect()
        t0 = time.perf_counter()
        ae.project(ae.load_pool(path), a)
        t_run = time.perf_counter() - t0
        reads.append(t_read)
        runs.append(t_run)
        ratios.append(t_run / t_read)
    t0 = time.perf_counter()
    pool = ae.load_pool(path)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    cohorts = pool.cohorts(loan_level="auto")  # what project(pool) uses
    t_coh = time.perf_counter() - t0
    t0 = time.perf_counter()
    ae.project(cohorts, a)
    t_proj = time.perf_counter() - t0
    n_exact = len(pool.cohorts())
    print(
        f"1,000,000 continuous-rate annuities ({n_exact:,} exact cohorts; projected as "
        f"{len(cohorts):,})"
    )
    print(f"  read_table (reference)     median {statistics.median(reads) * 1e3:7.1f} ms")
    print(f"  load_pool + project        median {statistics.median(runs) * 1e3:7.1f} ms")
    print(f"  ratio                      {_spread(ratios)}   (target <= 3x, aim 2x)")
    print(
        f"  of which load_pool {t_load * 1e3:.0f} ms, cohorts {t_coh * 1e3:.0f} ms, "
        f"project(cohorts) {t_proj * 1e3:.0f} ms (one round)"
    )


def bench_scenarios(path: Path) -> None:
    import abs_engine as ae

    a = ae.load_assumptions(ASSUMPTIONS)
    cohorts = ae.load_pool(path).cohorts()
    rng = np.random.default_rng(20)
    scen = ae.ScenarioSet.from_arrays(
        default_mult=rng.uniform(0.5, 4.0, 20), prepay_mult=rng.uniform(0.5, 1.5, 20)
    )
    ae.project(cohorts, a, scen)
    ratios = []
    for _ in range(ROUNDS):
        gc.collect()
        t0 = time.perf_counter()
        ae.project(cohorts, a)
        t1 = time.perf_counter() - t0
        gc.collect()
        t0 = time.perf_counter()
        ae.project(cohorts, a, scen)
        t20 = time.perf_counter() - t0
        ratios.append(t20 / t1)
    print(f"  20 scenarios in one call vs one scenario: {_spread(ratios)}   (target <= 3x)")


# ``ru_maxrss`` survives exec, so a child of a large benchmark process would inherit its
# parent's peak; the kernel's high-water mark of this process's own memory (VmHWM) does not.
_CHILD = """
import sys
import pyarrow.parquet as pq
import abs_engine as ae

def status(key):
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)

a = ae.load_assumptions(sys.argv[2])
ae.project  # the engine's modules imported before the baseline
if len(sys.argv) > 3:  # first use of the reader and kernels on a small tape of the same kind
    ae.project(ae.load_pool(sys.argv[3]), a)
base = status("VmRSS")
cf = ae.project(ae.load_pool(sys.argv[1]), a)
peak = status("VmHWM")
print(peak - base, pq.read_table(sys.argv[1]).nbytes)
"""


def bench_memory(path: Path) -> None:
    """Peak memory (VmHWM) of load + project in a fresh process, over its memory before.

    Two baselines: right after the imports, and after a first load + project of a
    2,000-receivable tape of the same kind.  The first use of pyarrow's parquet reader
    and of the NumPy kernels maps library code and allocator arenas (some 10-40 MiB,
    whatever the tape's size); the second baseline leaves only what the tape costs.
    """
    small = realistic_tape(2_000)
    for label, extra in (("after the imports", []), ("after a first small run", [str(small)])):
        res = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(ASSUMPTIONS), *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        peak, arrow = (float(x) for x in res.stdout.split())
        print(
            f"  peak memory of load + project, {label}: {mib(peak)} = "
            f"{peak / arrow:.2f}x the Arrow table ({mib(arrow)})   (target <= 2x)"
        )


def _import_time(module: str, env: dict[str, str]) -> float:
    code = (
        f"import time; t0 = time.perf_counter(); import {module}; print(time.perf_counter() - t0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout)


def bench_import() -> None:
    """Fresh interpreters, with bytecode as an installed package has it.

    pip compiles an installed package's bytecode; an editable install under
    ``PYTHONDONTWRITEBYTECODE`` would compile abs_engine's source on every import
    (about 90 ms here) while pandas loads its bytecode, so the variable is dropped
    for these interpreters and a first import writes the bytecode.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _import_time("abs_engine", env)  # write the bytecode, warm the file cache
    _import_time("pandas", env)
    ratios, ae_t, pd_t = [], [], []
    for _ in range(ROUNDS):
        t_pd = _import_time("pandas", env)
        t_ae = _import_time("abs_engine", env)
        ae_t.append(t_ae)
        pd_t.append(t_pd)
        ratios.append(t_ae / t_pd)
    print(
        f"import abs_engine {statistics.median(ae_t) * 1e3:.0f} ms vs import pandas "
        f"{statistics.median(pd_t) * 1e3:.0f} ms (fresh interpreters): {_spread(ratios)}   "
        "(target <= 1.2x)"
    )


def bench_small() -> None:
    import abs_engine as ae

    deal = ae.load_deal(ROOT / "waterfalls" / "static_sequential.toml")
    cohorts = ae.Pool.from_frame(ae.sample_pool(300, seed=3)).cohorts()
    a = deal.assumptions
    ae.deal.run(deal, cohorts)
    calls = 200
    times = []
    for _ in range(ROUNDS):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(calls):
            ae.deal.run(deal, cohorts)
        times.append((time.perf_counter() - t0) / calls * 1e3)
    t0 = time.perf_counter()
    for _ in range(calls):
        ae.project(cohorts, a)
    t_proj = (time.perf_counter() - t0) / calls * 1e3
    print(
        f"300 receivables ({len(cohorts)} cohorts) through static_sequential, one scenario: "
        f"median {statistics.median(times):.2f} ms a run (min {min(times):.2f}, "
        f"max {max(times):.2f}); of which project {t_proj:.2f} ms   (target <= 3 ms, aim 1 ms)"
    )


def main() -> None:
    which = os.environ.get("BENCH_REALISTIC", "speed,scenarios,memory,import,small").split(",")
    if {"speed", "scenarios", "memory"} & set(which):
        path = realistic_tape()
    if "speed" in which:
        bench_speed(path)
    if "scenarios" in which:
        bench_scenarios(path)
    if "memory" in which:
        bench_memory(path)
    if "import" in which:
        bench_import()
    if "small" in which:
        bench_small()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
