"""``abs-engine stress``: argument parsing, a serial run end to end, resume, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import abs_engine as ae
import abs_engine.cli.stress as stress_cli  # registers the `stress` sub-command
from abs_engine.cli import main
from abs_engine.errors import SpecError
from abs_engine.pool.sample import write_tape
from abs_engine.stress import batch as batch_mod
from abs_engine.stress import read_results

SPEC = ae.samples.path("baitiao_2015")


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tape") / "pool.parquet"
    write_tape(ae.sample_pool(n=3000, seed=7), path)
    return path


def base_args(tape: Path, out: Path) -> list[str]:
    return ["stress", str(SPEC), "--pool", str(tape), "--executor", "serial", "--out", str(out)]


def test_parse_grid() -> None:
    axes = stress_cli.parse_grid(["default=1:6:0.5", "prepay=0.5,1,1.5", "lag=0,2"])
    assert axes["default_mult"] == [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6]
    assert axes["prepay_mult"] == [0.5, 1.0, 1.5]
    assert axes["recovery_lag_shift"] == [0.0, 2.0]
    assert stress_cli.parse_grid(["haircut=0,0.25"]) == {"recovery_haircut": [0.0, 0.25]}
    for bad, match in [
        (["default"], "LEVER=LEVELS"),
        (["defualt=1,2"], "unknown lever"),
        (["default=1", "default_mult=2"], "twice"),
        (["prepay=1:x:2"], "start:stop:step"),
    ]:
        with pytest.raises((SpecError, ValueError), match=match):
            stress_cli.parse_grid(bad)


def test_parse_rho() -> None:
    assert stress_cli.parse_rho(None) == 0.10
    assert stress_cli.parse_rho("0.2") == 0.2
    assert stress_cli.parse_rho("A=0.05,B=0.08,*=0.1") == {"A": 0.05, "B": 0.08, "*": 0.1}
    with pytest.raises(SpecError, match="--rho"):
        stress_cli.parse_rho("A=x")


def test_stress_run_end_to_end(
    tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "batch"
    argv = [
        *base_args(tape, out),
        "--grid", "default=1:4:1.5",
        "--grid", "prepay=0.5,1.5",
        "--grid", "haircut=0,0.5",
        "--set", "moderate",
        "--mc", "300",
        "--seed", "1",
        "--rho", "A=0.05,B=0.08,C=0.12",
        "--chunk-size", "100",
        "--report",
    ]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "313 scenarios (grid 12, set:moderate 1, montecarlo 300)" in text
    assert "4 done, 0 failed, 0 skipped" in text
    # Named scenarios one by one; statistics only over the Monte Carlo paths.
    assert "tranche principal loss by scenario (13; share of the original balance)" in text
    assert "moderate" in text and "... 1 more scenario(s)" in text
    assert "tranche principal loss over 300 Monte Carlo paths" in text
    assert "expected loss" in text and "P(loss)" in text and "subordinated" in text
    assert text.count("P(loss)") == 1
    assert (out / "stress_report.html").exists()
    # No terminal: no bar, but a progress line (at least the last one).
    assert "stress: 4/4 chunks (100%)" in captured.err and "\r" not in captured.err
    results = read_results(out)
    assert results["scenario"].nunique() == 313

    # The same command again: everything is already there.
    assert main(argv) == 0
    assert "0 done, 0 failed, 4 skipped" in capsys.readouterr().out

    # A different batch in the same directory is refused, in one line.
    other = [a if a != "300" else "301" for a in argv]
    assert main(other) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("abs-engine stress: error:") and "different batch" in err
    assert len(err.splitlines()) == 1


def test_failed_chunks_exit_1(
    tape: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(shared: object, task: object) -> dict[str, bytes]:
        raise RuntimeError("boom")

    monkeypatch.setattr(batch_mod, "_chunk_tables", broken)
    out = tmp_path / "broken"
    assert main([*base_args(tape, out), "--grid", "default=1,2"]) == 1
    captured = capsys.readouterr()
    assert "0 done, 1 failed" in captured.out
    assert "re-run the same command" in captured.err
    assert (out / "failed" / "chunk=000000.json").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "nothing to run"),
        (["--grid", "defualt=1,2"], "unknown lever"),
        (["--grid", "default=2:1:1"], "start <= stop"),
        (["--seed", "3", "--grid", "default=1"], "apply to --mc"),
        (["--mc", "0"], "at least one path"),
        (["--set", "sever"], "did you mean 'severe'"),
        (["--mc", "10", "--rho", "1.5"], "rho"),
        (["--grid", "default=1", "--workers", "2"], "--executor dask"),
        (["--grid", "default=1", "--chunk-size", "0"], ">= 1"),
        (["--scenarios", "missing.csv"], "not found"),
    ],
)
def test_bad_input_one_line_exit_2_no_output(
    tape: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "never"
    assert main([*base_args(tape, out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("abs-engine stress: error:") and message in err, err
    assert not out.exists()


def test_bad_spec_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never"
    argv = ["stress", str(tmp_path / "nope.toml"), "--grid", "default=1", "--out", str(out)]
    assert main(argv) == 2
    assert "deal spec not found" in capsys.readouterr().err
    assert not out.exists()
