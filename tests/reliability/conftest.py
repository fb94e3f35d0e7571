"""Helpers for the reliability tests: run the CLI in process, small tapes and a small deal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine._progress import is_progress_line
from abs_engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = ae.samples.path("baitiao_2015")
ASSUMPTIONS = ae.samples.DATA_DIR / "pools" / "sample_assumptions.toml"


@dataclass(frozen=True)
class Outcome:
    """Exit status and output of one CLI call."""

    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        # Progress lines (stderr without a terminal) are not part of the error.
        return [ln for ln in self.err.splitlines() if ln.strip() and not is_progress_line(ln)]

    def assert_one_line_error(self, *fragments: str) -> str:
        """Exit 2, exactly one line on stderr, no traceback; returns the line."""
        assert self.code == 2, (self.code, self.out, self.err)
        assert "Traceback" not in self.err, self.err
        assert len(self.error_lines) == 1, self.err
        line = self.error_lines[0]
        for fragment in fragments:
            assert fragment in line, line
        return line


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``abs-engine ARGS`` in this process; the outcome."""

    def run(*args: object) -> Outcome:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def small_frame() -> pd.DataFrame:
    """A 400-receivable sample tape (seed 5)."""
    return ae.sample_pool(n=400, seed=5)


@pytest.fixture(scope="session")
def small_tape(small_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tape") / "tape.parquet"
    ae.pool.write_tape(small_frame, path)
    return path


def deal_for(tmp_path: Path, tape: Path) -> Path:
    """The sample deal spec pointing at ``tape``, written in ``tmp_path``."""
    text = DEAL.read_text(encoding="utf-8")
    text = text.replace("../pools/sample_pool.parquet", tape.as_posix())
    text = text.replace("../pools/sample_assumptions.toml", ASSUMPTIONS.as_posix())
    # a fixed trustee fee sized for a 100,000-receivable pool would eat a small one
    text = text.replace("amount = 300000.0", "amount = 30.0")
    path = tmp_path / "deal.toml"
    path.write_text(text, encoding="utf-8")
    return path
