"""Stress batches (issue 6): 100,000 Monte Carlo scenarios of baitiao_2015.toml on the
100,000-receivable sample, serially vs on a 2-worker Dask LocalCluster.

Reported: scenarios per second of each executor (the embedded cluster's time includes
starting it; a cluster started beforehand shows the steady throughput), the ratio to the
serial run (goal >= 1.6x on 2 cores), peak resident memory per worker (``ru_maxrss`` of
each worker process, read over the cluster) and of the serial process, and a check that
all three runs wrote bit-identical results.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

import abs_engine as ae
from abs_engine import stress
from benchmarks._util import PeakRSS, mib
from benchmarks.bench_pool import DATA, tape

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"
N_PATHS = 100_000
CHUNK = 2_000
RHO = {"A": 0.05, "B": 0.08, "C": 0.12}
#: dask sets MALLOC_TRIM_THRESHOLD_=65536 in workers by default (see abs_engine.stress.batch).
TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def _peak_rss() -> int:
    """Peak resident memory of this (worker) process, bytes (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def main() -> None:
    import dask
    from distributed import Client, LocalCluster

    deal = ae.load_deal(WATERFALLS / "baitiao_2015.toml")
    cohorts = ae.load_pool(tape(100_000)).cohorts()
    spec = stress.MonteCarloSpec(N_PATHS, seed=1, rho=RHO, prepay_beta=0.2, severity_beta=0.2)
    t0 = time.perf_counter()
    table = stress.monte_carlo(deal, cohorts, spec)
    t_gen = time.perf_counter() - t0
    print(
        f"{N_PATHS:,} Monte Carlo paths on {len(cohorts):,} cohorts "
        f"(100,000 receivables): generated and calibrated in {t_gen:.2f} s; "
        f"chunks of {CHUNK:,} ({-(-N_PATHS // CHUNK)} chunks)"
    )
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DATA, prefix="stress-") as tmp_name:
        tmp = Path(tmp_name)
        with PeakRSS() as mem:
            serial = stress.run_batch(
                deal, cohorts, table, out=tmp / "serial", executor="serial", chunk_size=CHUNK
            )
        print(f"  serial                      {serial}")
        print(f"    peak memory above baseline {mib(mem.increase)}")

        local = stress.run_batch(
            deal, cohorts, table, out=tmp / "local", executor="dask", workers=2, chunk_size=CHUNK
        )
        print(f"  embedded LocalCluster(2)    {local}")

        runs = {}
        for name, trim in (("cluster", None), ("cluster-default-nanny", 65536)):
            with (
                dask.config.set({TRIM: trim}),
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                base: dict[str, Any] = client.run(_rss)
                runs[name] = stress.run_batch(
                    deal,
                    cohorts,
                    table,
                    out=tmp / name,
                    address=cluster.scheduler_address,
                    chunk_size=CHUNK,
                )
                peaks: dict[str, Any] = client.run(_peak_rss)
            label = "started LocalCluster(2)" if trim is None else "same, dask's default nanny"
            print(f"  {label:27s} {runs[name]}")
            for addr, peak in sorted(peaks.items()):
                print(
                    f"    worker {addr}: peak RSS {mib(peak)} "
                    f"(before the batch {mib(base[addr])}, +{mib(peak - base[addr])})"
                )
        cluster_run = runs["cluster"]

        r_serial = stress.read_results(tmp / "serial")
        for name in ("local", *runs):
            pd.testing.assert_frame_equal(
                r_serial, stress.read_results(tmp / name), check_exact=True
            )
        print("  results: serial and every cluster run bit-identical")
        stats = stress.loss_statistics(r_serial)
        print(stats[["expected_loss", "prob_loss", "loss_p99", "loss_p99_9"]].to_string())

    rate = serial.scenarios_per_second
    print(
        f"  speed-up over serial: embedded {local.scenarios_per_second / rate:.2f}x "
        f"(start-up included), started cluster {cluster_run.scenarios_per_second / rate:.2f}x "
        f"(goal >= 1.6x); with dask's default nanny "
        f"{runs['cluster-default-nanny'].scenarios_per_second / rate:.2f}x"
    )


if __name__ == "__main__":
    main()
