"""Break-even multiples for every tranche of baitiao_2015.toml on the 100,000-receivable
sample (issues 4, 11): the time, the engine passes it took, and the time of one engine run
of the base case as the reference; then sizing for senior 12x / mezzanine 6x with market
constraints, each solved size checked on the whole grid from zero to its target."""

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
    elapsed = time.perf_counter() - t0
    print(
        f"  CDR lever: {elapsed:.2f} s = {elapsed / t_run:.1f} base runs, "
        f"{int(cdr['passes'].iloc[0])} passes"
    )
    t0 = time.perf_counter()
    sized = ae.size(
        deal,
        pool,
        {"senior": 12.0, "mezzanine": 6.0},
        tolerance=1e-3,
        max_advance_rate=0.90,
        min_retention=0.05,
    )
    elapsed = time.perf_counter() - t0
    print(
        f"sizing (senior 12x, mezzanine 6x, tolerance 0.1%, max advance 90%, 5% retention): "
        f"{elapsed:.2f} s = {elapsed / t_run:.1f} base runs, {sized.passes} engine runs; "
        f"advance rate {sized.advance_rate:.2%}, equity IRR {sized.equity_irr:.2%} on the outlay"
    )


if __name__ == "__main__":
    main()
