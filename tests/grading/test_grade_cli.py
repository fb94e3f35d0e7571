"""``abs-engine grade``: atomic output, aggregates-only printing, exit status 2 on bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import abs_engine as ae
from abs_engine.cli import grade as grade_cli  # registers the sub-command
from abs_engine.cli import main
from abs_engine.grading import FLAGS, OUTPUT_COLUMNS
from abs_engine.pool.sample import write_tape

PF = ["pf_monthly_contribution", "pf_years"]


@pytest.fixture
def raw_frame() -> pd.DataFrame:
    """A small sample tape whose provident-fund values are easy to spot in any text."""
    frame = ae.sample_pool(n=60, seed=4)
    i = np.arange(len(frame))
    has = frame["pf_status"].notna().to_numpy()
    none = (frame["pf_status"] == "none").to_numpy()
    frame["pf_monthly_contribution"] = np.where(
        has & ~none, 1000.0 + 37.713 * (i + 1), frame["pf_monthly_contribution"]
    )
    frame["pf_years"] = np.where(has & ~none, 3.0 + 0.137 * (i + 1), frame["pf_years"])
    return frame


def secrets(frame: pd.DataFrame) -> list[str]:
    """Text forms of every provident-fund value and loan id on the tape."""
    out: list[str] = list(frame["loan_id"])
    for col in PF:
        for v in frame[col].dropna():
            if v and v != int(v):  # whole numbers (0, 1) would match counts
                out += [str(v), f"{v:g}", f"{v:.2f}", f"{v:,.2f}"]
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_registered_sub_command() -> None:
    from abs_engine.cli import build_parser, commands

    assert commands.REGISTRY.count(grade_cli.add_grade) == 1

    args = build_parser().parse_args(["grade", "raw.csv", "--out", "g.csv"])
    assert args.func is grade_cli.run_grade
    assert args.scorecard is None


def test_grade_writes_the_graded_tape(tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any) -> None:
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    out = tmp_path / "graded" / "tape.parquet"
    rc, stdout, err = run(["grade", str(raw), "--out", str(out)], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == ["tape.parquet"]  # no temp file left
    graded = pd.read_parquet(out)
    assert len(graded) == len(raw_frame)
    for col in (*OUTPUT_COLUMNS, *FLAGS):
        assert col in graded.columns
    assert set(graded["grade"].astype(str)) <= {"A", "B", "C"}
    expected = ae.grading.grade(raw_frame)
    np.testing.assert_allclose(graded["score"], expected["score"], rtol=0, atol=1e-12)
    meta = json.loads(pq.read_schema(out).metadata[b"abs_engine"])
    assert meta["scorecard"]["name"] == "pf-default"
    assert meta["command"] == "grade"
    # the graded tape loads as a pool (extra columns are kept)
    assert len(ae.load_pool(out)) == len(raw_frame)
    assert "graded 60 receivables" in stdout
    assert "Total" in stdout


def test_printed_output_is_aggregates_only(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any
) -> None:
    raw = write_tape(raw_frame, tmp_path / "raw.csv")
    rc, stdout, err = run(
        [
            "grade",
            str(raw),
            "--out",
            str(tmp_path / "g.csv"),
            "--watchlist",
            str(tmp_path / "w.csv"),
        ],
        capsys,
    )
    assert rc == 0, err
    for s in secrets(raw_frame):
        assert s not in stdout, s
        assert s not in err, s
    for g in ("A", "B", "C"):
        assert f"\n{g} " in stdout  # one row per grade
    assert "mean_score" in stdout
    assert "ew_any" in stdout


def test_no_pf_value_or_loan_id_in_log_records(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    rc, _, err = run(["grade", str(raw), "--out", str(tmp_path / "g.parquet")], capsys)
    assert rc == 0, err
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "graded 60 borrowers" in text  # the records were captured
    for s in secrets(raw_frame):
        assert s not in text, s


def test_watchlist_and_csv_and_excel_outputs(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any
) -> None:
    raw = write_tape(raw_frame, tmp_path / "raw.xlsx")
    rc, stdout, err = run(
        [
            "grade",
            str(raw),
            "--out",
            str(tmp_path / "g.xlsx"),
            "--watchlist",
            str(tmp_path / "w.csv"),
        ],
        capsys,
    )
    assert rc == 0, err
    graded = pd.read_excel(tmp_path / "g.xlsx")
    assert len(graded) == len(raw_frame)
    watch = pd.read_csv(tmp_path / "w.csv")
    assert len(watch) == int(graded["ew_any"].sum())
    assert not any(c.startswith("pf_") for c in watch.columns)
    assert f"watch list ({len(watch):,} receivables)" in stdout


def test_no_flags_leaves_flag_columns_out(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any
) -> None:
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    rc, stdout, err = run(
        ["grade", str(raw), "--out", str(tmp_path / "g.csv"), "--no-flags"], capsys
    )
    assert rc == 0, err
    graded = pd.read_csv(tmp_path / "g.csv")
    assert not any(c.startswith("ew_") for c in graded.columns)
    assert "ew_any" not in stdout


def test_custom_scorecard(tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any) -> None:
    text = (
        Path(ae.grading.scorecard.__file__).parent.parent / "data" / "scorecard_default.toml"
    ).read_text()
    custom = tmp_path / "strict.toml"
    custom.write_text(
        text.replace("thresholds = [650, 580]", "thresholds = [900, 850]"), encoding="utf-8"
    )
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    rc, _, err = run(
        ["grade", str(raw), "--scorecard", str(custom), "--out", str(tmp_path / "g.parquet")],
        capsys,
    )
    assert rc == 0, err
    assert set(pd.read_parquet(tmp_path / "g.parquet")["grade"].astype(str)) == {"C"}


def _assert_failed(rc: int, err: str, out_dir: Path, before: set[str]) -> str:
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("abs-engine grade: error: ")
    assert {p.name for p in out_dir.iterdir()} == before  # nothing written, no temp file
    return lines[0]


def test_bad_pf_value_exits_2_naming_the_loan_not_the_value(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any
) -> None:
    bad = raw_frame.copy()
    row = int(np.flatnonzero(bad["pf_status"].notna().to_numpy())[3])
    bad.loc[row, "pf_monthly_contribution"] = -4242.42
    raw = write_tape(bad, tmp_path / "raw.parquet")
    before = {p.name for p in tmp_path.iterdir()}
    rc, stdout, err = run(["grade", str(raw), "--out", str(tmp_path / "g.parquet")], capsys)
    line = _assert_failed(rc, err, tmp_path, before)
    assert f"loan {bad.loc[row, 'loan_id']!r} (row {row})" in line
    assert "pf_monthly_contribution" in line
    assert "4242" not in line
    assert stdout == ""


def test_unknown_status_exits_2(tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any) -> None:
    bad = raw_frame.copy()
    bad["pf_status"] = bad["pf_status"].astype(object)
    bad.loc[7, "pf_status"] = "frozen"
    raw = write_tape(bad, tmp_path / "raw.csv")
    before = {p.name for p in tmp_path.iterdir()}
    rc, _, err = run(["grade", str(raw), "--out", str(tmp_path / "g.csv")], capsys)
    line = _assert_failed(rc, err, tmp_path, before)
    assert "(row 7)" in line
    assert "frozen" not in line


@pytest.mark.parametrize(
    ("argv_tail", "fragment"),
    [
        (["--out", "g.txt"], "cannot write the graded tape"),
        (["--out", "g.csv", "--watchlist", "w.json"], "cannot write the watch list"),
        (["--out", "g.csv", "--scorecard", "missing.toml"], "scorecard file not found"),
        (["--out", "g.csv", "--no-flags", "--watchlist", "w.csv"], "--watchlist needs"),
    ],
)
def test_bad_arguments_exit_2_before_writing(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any, argv_tail: list[str], fragment: str
) -> None:
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    argv = [
        "grade",
        str(raw),
        *[
            str(tmp_path / a) if a.endswith((".txt", ".csv", ".json", ".toml")) else a
            for a in argv_tail
        ],
    ]
    before = {p.name for p in tmp_path.iterdir()}
    rc, _, err = run(argv, capsys)
    line = _assert_failed(rc, err, tmp_path, before)
    assert fragment in line


def test_missing_tape_and_bad_scorecard_exit_2(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any
) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    rc, _, err = run(
        ["grade", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "g.csv")], capsys
    )
    assert "tape not found" in _assert_failed(rc, err, tmp_path, before)

    card = tmp_path / "card.toml"
    card.write_text('name = "x"\nbase_pionts = 3\n', encoding="utf-8")
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    before = {p.name for p in tmp_path.iterdir()}
    rc, _, err = run(
        ["grade", str(raw), "--scorecard", str(card), "--out", str(tmp_path / "g.csv")], capsys
    )
    line = _assert_failed(rc, err, tmp_path, before)
    assert "base_pionts" in line
    assert "did you mean 'base_points'?" in line


def test_missing_column_exits_2_naming_column_and_factor(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any
) -> None:
    raw = write_tape(raw_frame.drop(columns=["pf_years"]), tmp_path / "raw.parquet")
    before = {p.name for p in tmp_path.iterdir()}
    rc, _, err = run(["grade", str(raw), "--out", str(tmp_path / "g.csv")], capsys)
    line = _assert_failed(rc, err, tmp_path, before)
    assert "'pf_years' (factor 'pf_years'" in line


def test_failed_write_leaves_the_old_file(
    tmp_path: Path, raw_frame: pd.DataFrame, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = write_tape(raw_frame, tmp_path / "raw.parquet")
    out = tmp_path / "g.parquet"
    out.write_bytes(b"previous content")

    def broken_write(table: Any, where: Any, **kwargs: Any) -> None:
        Path(where).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken_write)
    assert main(["grade", str(raw), "--out", str(out)]) == 2  # one line, exit 2
    assert "disk full" in capsys.readouterr().err
    assert out.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.parquet", "raw.parquet"]
