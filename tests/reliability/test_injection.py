"""No formula injection (issue 12): text from a tape or a scenario id never becomes a formula.

Every workbook and CSV the project writes goes through one writer
(:func:`abs_engine.io.write_frame`, and the report workbook's ``write_string`` cells): Excel
cells hold text, CSV cells that a spreadsheet would evaluate get a leading apostrophe (the
OWASP rule for spreadsheet-safe CSV).
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.io import neutralise, write_frame
from tests.reliability.conftest import Cli, deal_for

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+2",
    "-3+4",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "=cmd|' /C calc'!A0",
]


def _csv_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _assert_csv_safe(path: Path, texts: list[str]) -> None:
    cells = {c for row in _csv_cells(path) for c in row}
    for text in texts:
        assert text not in cells, text  # the raw formula is nowhere a cell
        assert "'" + text in cells, text  # it is there, neutralised
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)


def _assert_xlsx_text(path: Path, texts: list[str]) -> None:
    wb = openpyxl.load_workbook(path)  # formulas would read back as '=...' with type 'f'
    found = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    found.add(cell.value)
    for text in texts:
        assert text.strip("\t\r") in {v.strip("\t\r") for v in found}, text


def test_neutralise() -> None:
    assert [neutralise(t) for t in ("=1", "+1", "-1", "@x", "\tx", "\rx", "ok", "")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "'\rx",
        "ok",
        "",
    ]


def test_the_shared_writer_neutralises_csv_and_writes_excel_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "name": HOSTILE,
            "amount": [-1.5] * len(HOSTILE),  # numbers stay numbers, negative or not
            "kind": pd.Categorical(["=x"] * len(HOSTILE)),
        }
    )
    frame = frame.rename(columns={"kind": "=header"})
    write_frame(frame, tmp_path / "t.csv")
    _assert_csv_safe(tmp_path / "t.csv", [*HOSTILE, "=x", "=header"])
    back = pd.read_csv(tmp_path / "t.csv")
    assert (back["amount"] == -1.5).all()
    write_frame(frame, tmp_path / "t.xlsx")
    _assert_xlsx_text(tmp_path / "t.xlsx", [*HOSTILE, "=x", "=header"])
    write_frame(frame, tmp_path / "t.parquet")  # not a spreadsheet: kept as it is
    assert pd.read_parquet(tmp_path / "t.parquet")["name"].tolist() == HOSTILE


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_grade_out_and_watchlist_hold_no_formula(
    suffix: str, cli: Cli, small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame = small_frame.copy()
    frame["loan_id"] = [f"{HOSTILE[i % len(HOSTILE)]}#{i}" for i in range(len(frame))]
    frame["branch"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(frame))]
    raw = tmp_path / "raw.parquet"
    ae.pool.write_tape(frame, raw)
    out, watch = tmp_path / f"graded{suffix}", tmp_path / f"watch{suffix}"
    res = cli("grade", raw, "--out", out, "--watchlist", watch)
    assert res.code == 0, res.err
    if suffix == ".csv":
        _assert_csv_safe(out, HOSTILE)
        cells = {c for row in _csv_cells(watch) for c in row}
        assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)
        assert any(c.startswith("'=") for c in cells)  # flagged borrowers' ids, neutralised
    else:
        _assert_xlsx_text(out, HOSTILE)
        _assert_xlsx_text(watch, [])


def test_sample_tapes_are_written_safely(tmp_path: Path) -> None:
    frame = ae.sample_pool(n=20, seed=1)
    frame["loan_id"] = [f"=A{i}" for i in range(20)]
    ae.pool.write_tape(frame, tmp_path / "t.csv")
    _assert_csv_safe(tmp_path / "t.csv", [f"=A{i}" for i in range(20)])
    ae.pool.write_tape(frame, tmp_path / "t.xlsx")
    _assert_xlsx_text(tmp_path / "t.xlsx", [f"=A{i}" for i in range(20)])


def test_run_summary_csv_and_workbook_hold_no_formula(
    cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    names = ["=2+5", "@SUM(1)", "+cmd"]
    table = pd.DataFrame({"scenario": names, "default_mult": [1.0, 2.0, 3.0]})
    scen = tmp_path / "scen.csv"
    table.to_csv(scen, index=False)
    res = cli(
        "run",
        deal_for(tmp_path, small_tape),
        "--scenarios",
        scen,
        "--out",
        tmp_path / "o",
        "--name",
        "r",
        "--no-breakeven",
    )
    assert res.code == 0, res.err
    out = tmp_path / "o" / "r"
    _assert_csv_safe(out / "summary.csv", names)
    _assert_xlsx_text(out / "report.xlsx", names)
