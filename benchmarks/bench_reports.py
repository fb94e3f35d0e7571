"""Grading a million receivables and rendering the sample collateral report.

Both were asserted with wall-clock limits inside unit tests before; they are
measured here instead, as ratios against references timed in the same run:

* grading 1,000,000 rows (the 20,000-row sample tape repeated) against
  ``pyarrow.Table.from_pandas`` of the same frame (one pass over every column);
* rendering the sample pool report (3,000 receivables, 3x3 scenario grid, 11
  charts) to HTML against ``plotly.io.to_json`` of its figures (the floor of any
  report that embeds the charts' data).
"""

from __future__ import annotations

import pandas as pd
import plotly.io as pio
import pyarrow as pa

import abs_engine as ae
from abs_engine import reports
from abs_engine.grading import grade, load_scorecard
from abs_engine.reports import pool_sections as ps
from benchmarks._util import best_of


def _grading() -> None:
    card = load_scorecard()
    big = pd.concat([ae.sample_pool(n=20_000, seed=7)] * 50, ignore_index=True)
    grade(big.head(1000), card)  # warm up
    t_grade, graded = best_of(lambda: grade(big, card), repeat=3)
    t_ref, _ = best_of(lambda: pa.Table.from_pandas(big), repeat=3)
    assert len(graded) == len(big)
    print(f"grade {len(big):,} rows: {t_grade:.2f} s = {t_grade / t_ref:.1f}x Table.from_pandas")


def _report() -> None:
    pool = ae.Pool.from_frame(ae.sample_pool(n=3000, seed=3))
    assumptions = ae.load_assumptions(ae.samples.path("sample_assumptions"))
    grid = ae.ScenarioSet.grid(default_mult=[1, 2, 4], prepay_mult=[1, 0.5, 1.5])
    cf = ae.project(pool, assumptions, grid, by="grade")
    meta = reports.run_metadata(ps.spec_of(assumptions, grid), seed=3)

    def build() -> reports.Report:
        return ps.pool_report(pool, cf, assumptions=assumptions, scenarios=grid, metadata=meta)

    t_build, report = best_of(build, repeat=3)
    t_render, text = best_of(report.render, repeat=3)
    t_ref, _ = best_of(lambda: [pio.to_json(f.figure) for f in report.figures], repeat=3)
    print(
        f"sample report: build {t_build:.2f} s, render {t_render:.2f} s "
        f"({len(text) / 1e6:.1f} MB) = {(t_build + t_render) / t_ref:.1f}x plotly to_json "
        f"of its {len(report.figures)} figures"
    )


def main() -> None:
    _grading()
    _report()


if __name__ == "__main__":
    main()
