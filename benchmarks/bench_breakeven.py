"""Break-even multiples for every tranche of baitiao_2015.toml on the 100,000-receivable
sample (issue 4): the time, the engine passes it took, and the time of one engine run
of the base case as the reference."""

from __future__ import annotations

import time

import abs_engine as ae
from benchmarks._util import best_of
from benchmarks.bench_pool import tape

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"


def main() -> None:
    deal = ae.load_deal(WATERFALLS / "baitiao_2015.toml")
    pool = ae.load_pool(tape(100_000))
    t_run, _ = best_of(lambda: ae.run(deal, pool), repeat=3)
    t0 = time.perf_counter()
    be = ae.breakeven(deal, pool)
    elapsed = time.perf_counter() - t0
    passes = int(be["passes"].iloc[0])
    print(
        f"break-even of {len(be)} tranches on 100,000 receivables: {elapsed:.2f} s, {passes} engine passes"
    )
    print(f"  one base-case run {t_run * 1e3:.0f} ms: break-even = {elapsed / t_run:.1f} base runs")
    for row in be.itertuples():
        print(
            f"  {row.tranche:14s} {row.breakeven:7.3f}x (+/- {row.tolerance:.4f})  "
            f"CNL {row.cumulative_net_loss:.2%}  {row.loss_coverage_multiple:.2f}x base CNL  "
            f"monotone {row.monotone}"
        )
    t0 = time.perf_counter()
    cdr = ae.breakeven(deal, pool, lever="cdr")
    print(f"  CDR lever: {time.perf_counter() - t0:.2f} s, {int(cdr['passes'].iloc[0])} passes")


if __name__ == "__main__":
    main()
