"""The batch runner: chunks, resumption, identity checks, failures, Dask, the report."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import stress
from abs_engine.errors import SpecError
from abs_engine.stress import batch as batch_mod

ROOT = Path(__file__).parents[2]
SPEC = ae.samples.path("baitiao_2015")
RHO = {"A": 0.05, "B": 0.08, "C": 0.12}


@pytest.fixture(scope="module")
def deal() -> ae.Deal:
    return ae.load_deal(SPEC)


@pytest.fixture(scope="module")
def pool() -> ae.Pool:
    return ae.Pool.from_frame(ae.sample_pool(n=3000, seed=7))


@pytest.fixture(scope="module")
def table(deal: ae.Deal, pool: ae.Pool) -> stress.ScenarioTable:
    grid = stress.grid(
        default_mult=[1, 3, 6, 12],
        prepay_mult=[0.5, 1.0, 1.5],
        recovery_haircut=[0.0, 0.5],
        severities=deal,
    )
    mc = stress.monte_carlo(deal, pool, stress.MonteCarloSpec(300, seed=1, rho=RHO))
    return stress.concat(grid, stress.named_set("severe", deal), mc)


@pytest.fixture(scope="module")
def serial_out(
    tmp_path_factory: pytest.TempPathFactory,
    deal: ae.Deal,
    pool: ae.Pool,
    table: stress.ScenarioTable,
) -> Path:
    out = tmp_path_factory.mktemp("serial") / "batch"
    summary = stress.run_batch(deal, pool, table, out=out, executor="serial", chunk_size=50)
    assert summary.complete and summary.done == 7 and summary.failed == summary.skipped == 0
    return out


def test_every_scenario_exactly_once(serial_out: Path, table: stress.ScenarioTable) -> None:
    r = stress.read_results(serial_out)
    assert len(r) == 3 * len(table)
    counts = r.groupby("scenario").size()
    assert len(counts) == len(table) and (counts == 3).all()
    assert list(r["scenario"].iloc[::3]) == list(table.names)
    np.testing.assert_array_equal(r["scenario_index"].iloc[::3], np.arange(len(table)))
    assert list(r["tranche"].iloc[:3]) == ["senior", "mezzanine", "subordinated"]
    assert set(r["group"]) == {"grid", "set:severe", "montecarlo"}
    for col in ("principal_loss_share", "pool_net_loss", "default_mult[C]", "factor", "chunk"):
        assert col in r.columns
    manifest = stress.read_manifest(serial_out)
    assert manifest["n_scenarios"] == len(table) and manifest["seed"] == 1
    assert manifest["identity"]["chunk_size"] == 50
    scen = stress.read_scenario_table(serial_out)
    assert list(scen["scenario"]) == list(table.names) and scen["chunk"].max() == 6


def test_results_equal_a_direct_run(
    serial_out: Path, deal: ae.Deal, pool: ae.Pool, table: stress.ScenarioTable
) -> None:
    """A chunk's rows are the summary of ae.run on the chunk's scenarios."""
    chunk = table[50:100]
    direct = ae.run(deal, pool.cohorts(), chunk.scenarios).summary()
    r = stress.read_results(serial_out)
    mine = r[r["chunk"] == 1].reset_index(drop=True)
    for col in direct.columns:
        left, right = mine[col].to_numpy(), direct[col].to_numpy()
        if left.dtype.kind == "f":
            np.testing.assert_array_equal(left, right, err_msg=col)
        elif left.dtype.kind == "M":
            np.testing.assert_array_equal(
                left.astype("datetime64[s]"), right.astype("datetime64[s]"), err_msg=col
            )
        else:
            assert [str(x) for x in left] == [str(x) for x in right], col


def test_rerun_skips_finished_chunks(
    serial_out: Path, deal: ae.Deal, pool: ae.Pool, table: stress.ScenarioTable
) -> None:
    before = stress.read_results(serial_out)
    again = stress.run_batch(deal, pool, table, out=serial_out, executor="serial", chunk_size=50)
    assert (again.done, again.failed, again.skipped) == (0, 0, 7) and again.complete
    pd.testing.assert_frame_equal(stress.read_results(serial_out), before)


def test_a_different_batch_is_refused(
    serial_out: Path, deal: ae.Deal, pool: ae.Pool, table: stress.ScenarioTable
) -> None:
    with pytest.raises(SpecError, match="chunk_size"):
        stress.run_batch(deal, pool, table, out=serial_out, executor="serial", chunk_size=60)
    with pytest.raises(SpecError, match="scenarios"):
        stress.run_batch(deal, pool, table[:10], out=serial_out, executor="serial", chunk_size=50)
    other = ae.Pool.from_frame(ae.sample_pool(n=500, seed=3))
    with pytest.raises(SpecError, match="pool"):
        stress.run_batch(deal, other, table, out=serial_out, executor="serial", chunk_size=50)


def test_no_pool_means_the_deals_tape(
    tmp_path: Path, deal: ae.Deal, pool: ae.Pool, table: stress.ScenarioTable
) -> None:
    from abs_engine.deal import PoolSpec
    from abs_engine.pool.sample import write_tape

    tape = tmp_path / "tape.parquet"
    write_tape(ae.sample_pool(n=3000, seed=7), tape)
    own = dataclasses.replace(deal, pool=PoolSpec(tape, deal.assumptions, deal.pool.grades))
    out = tmp_path / "own"
    first = stress.run_batch(own, pool, table[:40], out=out, executor="serial", chunk_size=20)
    # The same batch: the deal's tape holds the same receivables, so nothing is left to run.
    again = stress.run_batch(own, None, table[:40], out=out, executor="serial", chunk_size=20)
    assert first.done == 2 and (again.done, again.skipped) == (0, 2)


def test_a_directory_with_other_files_is_refused(
    tmp_path: Path, deal: ae.Deal, pool: ae.Pool
) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SpecError, match="not empty"):
        stress.run_batch(deal, pool, stress.grid(), out=tmp_path, executor="serial")


def test_bad_settings(tmp_path: Path, deal: ae.Deal, pool: ae.Pool) -> None:
    out = tmp_path / "x"
    with pytest.raises(SpecError, match="executor"):
        stress.run_batch(deal, pool, stress.grid(), out=out, executor="spark")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="chunk_size"):
        stress.run_batch(deal, pool, stress.grid(), out=out, executor="serial", chunk_size=0)
    with pytest.raises(SpecError, match="dask"):
        stress.run_batch(deal, pool, stress.grid(), out=out, executor="serial", workers=2)
    assert not out.exists()


def test_a_held_lock_refuses_a_second_run(tmp_path: Path, deal: ae.Deal, pool: ae.Pool) -> None:
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "locked"
    out.mkdir()
    with (out / ".lock").open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(SpecError, match="another run"):
            stress.run_batch(deal, pool, stress.grid(), out=out, executor="serial")


def test_a_failing_chunk_is_recorded_and_retried(
    tmp_path: Path,
    deal: ae.Deal,
    pool: ae.Pool,
    table: stress.ScenarioTable,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "failing"
    real = batch_mod._chunk_tables

    def flaky(shared: object, task: batch_mod._Task) -> dict[str, bytes]:
        if task.chunk == 2:
            raise ValueError("deliberate failure in chunk 2")
        return real(shared, task)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_mod, "_chunk_tables", flaky)
    first = stress.run_batch(deal, pool, table, out=out, executor="serial", chunk_size=50)
    assert (first.done, first.failed, first.skipped) == (6, 1, 0) and not first.complete
    record = json.loads((out / "failed" / "chunk=000002.json").read_text(encoding="utf-8"))
    assert record["chunk"] == 2 and "deliberate failure" in record["error"]
    assert record["scenarios"] == list(table.names[100:150])
    assert "Traceback" in record["traceback"]
    assert first.failures[0].scenarios == tuple(table.names[100:150])
    partial = stress.read_results(out)
    assert set(partial["scenario"]) == set(table.names) - set(table.names[100:150])
    status = json.loads((out / "status.json").read_text(encoding="utf-8"))
    assert (status["done"], status["failed"], status["skipped"]) == (6, 1, 0)

    monkeypatch.setattr(batch_mod, "_chunk_tables", real)
    second = stress.run_batch(deal, pool, table, out=out, executor="serial", chunk_size=50)
    assert (second.done, second.failed, second.skipped) == (1, 0, 6) and second.complete
    assert not (out / "failed" / "chunk=000002.json").exists()
    full = stress.read_results(out)
    assert full.groupby("scenario").size().eq(3).all() and len(full) == 3 * len(table)


def test_cash_flows_on_request(tmp_path: Path, deal: ae.Deal, pool: ae.Pool) -> None:
    out = tmp_path / "cf"
    t = stress.grid(default_mult=[1, 4, 8])
    stress.run_batch(deal, pool, t, out=out, executor="serial", chunk_size=2, cashflows=True)
    notes = stress.read_cashflows(out, "tranche")
    collections = stress.read_cashflows(out, "pool", scenarios=["default_mult=4"])
    direct = ae.run(deal, pool.cohorts(), t.scenarios[2:])
    expect = direct.tranche_cashflows
    got = notes[notes["scenario"] == "default_mult=8"].reset_index(drop=True)
    np.testing.assert_array_equal(got["principal_paid"], expect["principal_paid"])
    assert set(collections["scenario"]) == {"default_mult=4"}
    with pytest.raises(SpecError, match="cash flows"):
        stress.read_cashflows(tmp_path / "none")


def test_summaries_of_the_results(serial_out: Path) -> None:
    r = stress.read_results(serial_out)
    mc = stress.loss_statistics(r, groups=["montecarlo"])
    assert list(mc.index) == ["senior", "mezzanine", "subordinated"]
    assert (mc["scenarios"] == 300).all()
    sub = r[(r["group"] == "montecarlo") & (r["tranche"] == "subordinated")]
    loss = sub["principal_loss_share"].to_numpy()
    np.testing.assert_allclose(mc.loc["subordinated", "expected_loss"], loss.mean())
    np.testing.assert_allclose(mc.loc["subordinated", "prob_loss"], np.mean(loss > 1e-9))
    np.testing.assert_allclose(mc.loc["subordinated", "loss_p99"], np.quantile(loss, 0.99))
    assert mc.loc["senior", "loss_p99_9"] <= mc.loc["subordinated", "loss_p99_9"]
    pool_stats = stress.pool_loss_statistics(r, groups=["montecarlo"])
    assert pool_stats.loc["pool_net_loss", "scenarios"] == 300
    heat = stress.heat_map(r, "subordinated", groups=["grid"])
    assert list(heat.columns) == [1, 3, 6, 12] and list(heat.index) == [0.5, 1.0, 1.5]
    assert heat.attrs["fixed"] == {"recovery_haircut": 0.0}
    assert (heat.diff(axis=1).iloc[:, 1:] >= -1e-12).all().all()  # more defaults, more loss
    table = stress.pass_fail(r, groups=["grid"])
    assert list(table.columns) == ["1x", "3x", "6x", "12x"]
    assert table.loc["senior"].all().all() and not table.loc["subordinated", "12x"].any()
    with pytest.raises(SpecError, match="no scenarios"):
        stress.loss_statistics(r, groups=["nothing"])


def test_the_stress_report(serial_out: Path, tmp_path: Path, deal: ae.Deal, pool: ae.Pool) -> None:
    from abs_engine.reports import assert_no_identifiers

    page = stress.stress_report(serial_out, tmp_path / "report.html", deal=deal, pool=pool)
    html = page.read_text(encoding="utf-8")
    for title in (
        "Batch",
        "Tranche loss over default and prepayment",
        "Monte Carlo",
        "Stress multiples",
        "Run metadata",
    ):
        assert title in html
    assert "Loss at 99.9%" in html and "P(any loss)" in html
    assert html.count("Plotly.newPlot") == 1  # plotly.js embedded once, figures from JSON
    assert_no_identifiers(serial_out.parent, pool.to_frame()["loan_id"])
    assert_no_identifiers(page, pool.to_frame()["loan_id"])


def _kill_script() -> str:
    return (
        "import sys, json\n"
        "import abs_engine as ae\n"
        "from abs_engine import stress\n"
        "axes = json.loads(sys.argv[3])\n"
        "deal = ae.load_deal(sys.argv[1])\n"
        "pool = ae.Pool.from_frame(ae.sample_pool(n=3000, seed=7))\n"
        "t = stress.grid(**axes)\n"
        "stress.run_batch(deal, pool, t, out=sys.argv[2], executor='serial', chunk_size=10)\n"
    )


@pytest.mark.slow
def test_a_killed_run_completes_on_rerun(tmp_path: Path, deal: ae.Deal, pool: ae.Pool) -> None:
    axes = {
        "default_mult": np.round(np.linspace(0.5, 8.0, 40), 6).tolist(),
        "prepay_mult": [0.5, 1.0, 1.5],
        "recovery_lag_shift": [0, 2],
    }
    table = stress.grid(**axes)
    n_chunks = -(-len(table) // 10)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", _kill_script(), str(SPEC), str(out), json.dumps(axes)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = list((out / "summary").glob("chunk=*/part.parquet"))
            if len(done) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.005)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    at_kill = len(list((out / "summary").glob("chunk=*/part.parquet")))
    assert 0 < at_kill < n_chunks

    resumed = stress.run_batch(deal, pool, table, out=out, executor="serial", chunk_size=10)
    assert resumed.skipped == at_kill and resumed.done == n_chunks - at_kill
    assert resumed.failed == 0 and resumed.complete
    assert not list(out.rglob(".*.tmp"))
    got = stress.read_results(out)
    assert got.groupby("scenario").size().eq(3).all() and len(got) == 3 * len(table)

    clean = tmp_path / "clean"
    stress.run_batch(deal, pool, table, out=clean, executor="serial", chunk_size=10)
    pd.testing.assert_frame_equal(got, stress.read_results(clean), check_exact=True)


@pytest.mark.slow
def test_dask_local_cluster_is_bit_identical_to_serial(
    tmp_path: Path, deal: ae.Deal, pool: ae.Pool, table: stress.ScenarioTable, serial_out: Path
) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "dask"
    summary = stress.run_batch(
        deal, pool, table, out=out, executor="dask", workers=2, chunk_size=50
    )
    assert summary.complete and summary.done == 7 and "2 workers" in summary.executor
    pd.testing.assert_frame_equal(
        stress.read_results(out), stress.read_results(serial_out), check_exact=True
    )
    for part in sorted((serial_out / "summary").glob("chunk=*/part.parquet")):
        twin = out / "summary" / part.parent.name / part.name
        assert twin.read_bytes() == part.read_bytes()


@pytest.mark.slow
def test_an_existing_cluster_by_address(
    tmp_path: Path, deal: ae.Deal, pool: ae.Pool, table: stress.ScenarioTable, serial_out: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        out = tmp_path / "remote"
        summary = stress.run_batch(
            deal, pool, table, out=out, address=cluster.scheduler_address, chunk_size=50
        )
    assert summary.complete and cluster.scheduler_address in summary.executor
    pd.testing.assert_frame_equal(
        stress.read_results(out), stress.read_results(serial_out), check_exact=True
    )
