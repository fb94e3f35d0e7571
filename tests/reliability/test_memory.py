"""Bounded memory (issue 12): a request's size is checked before anything is allocated.

Each case would ask the allocator for tens of GiB or more; each is a MemoryBudgetError naming
the input that sized it and the budget -- in a moment, with nothing allocated (the tests run
under a small address-space limit to prove it: an allocation that slipped through would fail
with a plain MemoryError instead).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import abs_engine as ae
from abs_engine import _budget
from tests.reliability.conftest import Cli, deal_for

BUDGET_WORDS = ("needs about", "over the budget of", "ABS_ENGINE_MEMORY_BUDGET")


@pytest.fixture
def small_address_space() -> Iterator[None]:
    """Cap this process's virtual memory at its current size + 2 GiB for the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm", encoding="ascii") as fh:
        current = int(fh.read().split()[0]) * resource.getpagesize()
    cap = current + (2 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _assert_budget_error(err: BaseException, *fragments: str) -> None:
    text = str(err)
    for fragment in (*BUDGET_WORDS, *fragments):
        assert fragment in text, text


@pytest.mark.usefixtures("small_address_space")
def test_a_recovery_lag_of_a_billion_months(small_frame: object) -> None:
    pool = ae.Pool.from_frame(small_frame)  # type: ignore[arg-type]
    a = ae.Assumptions(default=ae.curves.cdr(0.05), recovery_lag=1_000_000_000)
    with pytest.raises(ae.MemoryBudgetError) as info:
        ae.project(pool, a)
    _assert_budget_error(info.value, "horizon of 1,000,0", "recovery lag", "8.0 GiB")
    assert isinstance(info.value, MemoryError)


@pytest.mark.usefixtures("small_address_space")
def test_a_lag_shift_of_a_hundred_million_months(small_frame: object) -> None:
    pool = ae.Pool.from_frame(small_frame)  # type: ignore[arg-type]
    a = ae.Assumptions(default=ae.curves.cdr(0.05), recovery_lag=3)
    with pytest.raises(ae.MemoryBudgetError) as info:
        ae.project(pool, a, ae.Scenario("far", recovery_lag_shift=100_000_000))
    _assert_budget_error(info.value, "100,000,0", "lag shift")


@pytest.mark.usefixtures("small_address_space")
def test_grid_products(cli: Cli, small_tape: Path, tmp_path: Path) -> None:
    with pytest.raises(ae.MemoryBudgetError) as info:
        ae.stress.grid(
            default_mult=[i / 10 for i in range(10_000)],
            prepay_mult=[i / 10 for i in range(10_000)],
        )
    _assert_budget_error(info.value, "10,000 default_mult x 10,000 prepay_mult = 100,000,000")
    res = cli(
        "stress",
        deal_for(tmp_path, small_tape),
        "--grid",
        "default=0:10:0.001",
        "--grid",
        "prepay=0:10:0.001",
        "--executor",
        "serial",
        "--out",
        tmp_path / "o",
    )
    res.assert_one_line_error(*BUDGET_WORDS, "scenarios")
    assert not (tmp_path / "o").exists()


@pytest.mark.usefixtures("small_address_space")
def test_monte_carlo_paths(cli: Cli, small_tape: Path, tmp_path: Path) -> None:
    res = cli(
        "stress",
        deal_for(tmp_path, small_tape),
        "--mc",
        "10000000000",
        "--executor",
        "serial",
        "--out",
        tmp_path / "o",
    )
    res.assert_one_line_error(*BUDGET_WORDS, "10,000,000,000 Monte Carlo paths")
    assert not (tmp_path / "o").exists()


@pytest.mark.usefixtures("small_address_space")
def test_generated_tapes_and_histories(cli: Cli, tmp_path: Path) -> None:
    cli(
        "sample-pool", "--n", "100000000000", "--out", tmp_path / "t.parquet"
    ).assert_one_line_error(*BUDGET_WORDS, "100,000,000,000 receivables")
    cli(
        "synthetic-history", "--loans", "10000000000", "--out", tmp_path / "h.csv"
    ).assert_one_line_error(*BUDGET_WORDS, "10,000,000,000 loans")
    assert list(tmp_path.iterdir()) == []


def test_the_budget_is_configurable(monkeypatch: pytest.MonkeyPatch, small_frame: object) -> None:
    pool = ae.Pool.from_frame(small_frame)  # type: ignore[arg-type]
    a = ae.Assumptions(default=ae.curves.cdr(0.05), recovery_lag=3)
    monkeypatch.setenv(_budget.BUDGET_ENV, "1MiB")
    with pytest.raises(ae.MemoryBudgetError, match=r"budget of 1\.0 MiB"):
        ae.project(pool, a)
    monkeypatch.setenv(_budget.BUDGET_ENV, "off")
    assert ae.project(pool, a).n_scenarios == 1
    monkeypatch.setenv(_budget.BUDGET_ENV, "lots")
    with pytest.raises(ae.MemoryBudgetError, match="is not a size"):
        ae.project(pool, a)


def test_ordinary_requests_pass_the_budget(small_frame: object) -> None:
    pool = ae.Pool.from_frame(small_frame)  # type: ignore[arg-type]
    grid = ae.stress.grid(default_mult=[1, 2, 3, 4], prepay_mult=[0.5, 1, 1.5])
    a = ae.Assumptions(default=ae.curves.cdr(0.05), recovery_lag=6)
    cf = ae.project(pool, a, grid.scenarios)
    assert cf.n_scenarios == 12


def test_a_budget_error_is_one_line_through_the_cli(tmp_path: Path, small_tape: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text("severity = 0.5\nrecovery_lag = 2000000000\n", encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "abs_engine", "project", str(small_tape), "--assumptions", str(a)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "over the budget" in lines[0] and "2,000,000,0" in lines[0]


def _distinct_rate_cohorts(n: int) -> ae.Cohorts:
    """``n`` annuity cohorts, each with its own rate (a continuous-rate tape), terms 1..60."""
    rng = np.random.default_rng(15)
    term = rng.integers(1, 61, n)
    return ae.Cohorts(
        ("A", "B", "C"),
        rng.integers(0, 3, n),
        np.zeros(n, dtype=np.int8),
        term,
        rng.integers(0, 30, n),
        np.zeros(n, dtype=np.int8),
        rng.uniform(100.0, 5000.0, n),
        np.round(rng.uniform(0.05, 0.30, n), 6),
        np.zeros(n),
        rng.uniform(5000.0, 6000.0, n),
        np.ones(n, dtype=np.int64),
    )


def test_streaming_schedules_are_sized_by_rate_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """With streaming schedules the (row, month) arrays are per rate class (grade x age).

    40,000 cohorts over a 64-month horizon would be 8 x 40,000 x 64 x 12 bytes = 234 MiB of
    per-scenario working arrays if sized by cohort; by class (3 grades x 30 ages = 90 rows) the
    projection needs about the 96 MiB chunk: a 160 MiB budget passes, 60 MiB does not.
    """
    cohorts = _distinct_rate_cohorts(40_000)
    a = ae.Assumptions(default=ae.curves.cdr(0.05), prepay=ae.curves.cpr(0.1), recovery_lag=3)
    monkeypatch.setenv(_budget.BUDGET_ENV, "160MiB")
    cf = ae.project(cohorts, a, schedules="streaming")
    np.testing.assert_allclose(cf.initial_balance.sum(), cohorts.balance.sum(), rtol=1e-12)
    with pytest.raises(ae.MemoryBudgetError, match="40,000 cohort"):
        ae.project(cohorts, a, schedules="dense")
    monkeypatch.setenv(_budget.BUDGET_ENV, "60MiB")
    with pytest.raises(ae.MemoryBudgetError):
        ae.project(cohorts, a, schedules="streaming")
