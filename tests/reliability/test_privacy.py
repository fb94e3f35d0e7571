"""Privacy in every message and output (issue 12, "Privacy and security").

* A malformed CSV line never reaches a message: no raw line text, no provident-fund value,
  in any command or the API -- only the line number and the loan id.
* Small provident-fund cells are withheld with complements, so the Total row cannot give them
  back; a one-receivable pool does not show its borrower's status.
* Provident-fund columns are recognised whatever their case; ``strats --by`` a private column
  is refused.
* The loan-id scan does not false-positive on ids 1..N or L1/L10; a leak is a PrivacyError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import abs_engine as ae
from abs_engine.pool.strats import suppressed_cells, suppressed_matrix
from abs_engine.reports.privacy import find_identifiers, is_distinctive
from tests.reliability.conftest import Cli, deal_for

PF_SECRET = 98765.4321  # a contribution no message may show
LOAN = "R00000007"


def _stray_comma_csv(frame: pd.DataFrame, path: Path, row: int = 6) -> str:
    """The tape as CSV with one stray comma in data row ``row``; returns that line's text."""
    frame = frame.copy()
    frame["pf_monthly_contribution"] = frame["pf_monthly_contribution"].astype(float)
    frame.loc[row, "pf_monthly_contribution"] = PF_SECRET
    lines = frame.to_csv(index=False).splitlines()
    lines[row + 1] += ",oops"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines[row + 1]


@pytest.mark.parametrize("command", ["validate", "strats", "project", "grade", "run"])
def test_a_malformed_csv_line_is_named_by_number_never_quoted(
    command: str, cli: Cli, small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    tape = tmp_path / "tape.csv"
    raw_line = _stray_comma_csv(small_frame, tape)
    args: list[object] = {
        "validate": ["validate", tape],
        "strats": ["strats", tape],
        "project": ["project", tape, "--assumptions", _assumptions()],
        "grade": ["grade", tape, "--out", tmp_path / "graded.parquet"],
        "run": ["run", deal_for(tmp_path, tape), "--out", tmp_path / "o", "--no-breakeven"],
    }[command]
    res = cli(*args)
    line = res.assert_one_line_error("line 8", f"loan {LOAN!r}", "17 fields", "has 16")
    assert "98765" not in res.err + res.out
    assert raw_line not in res.err
    assert "oops" not in res.err
    assert "normal" not in line and "flat_fee" not in line  # no other cell of the line
    assert not (tmp_path / "o").exists() and not (tmp_path / "graded.parquet").exists()


def _assumptions() -> Path:
    return ae.samples.DATA_DIR / "pools" / "sample_assumptions.toml"


def test_the_api_raises_a_tape_error_without_the_line(
    small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    tape = tmp_path / "tape.csv"
    _stray_comma_csv(small_frame, tape)
    for call in (ae.load_pool, ae.validate_pool, ae.pool.read_tape):
        with pytest.raises(ae.TapeError) as info:
            call(tape)
        assert "98765" not in str(info.value) and "oops" not in str(info.value)
        assert "line 8" in str(info.value)


def test_a_line_whose_first_column_is_not_the_id_names_no_loan(
    small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """A stray comma shifts fields: a loan id is only named from the first column."""
    frame = small_frame[[*small_frame.columns[1:], "loan_id"]]
    tape = tmp_path / "tape.csv"
    _stray_comma_csv(frame.reset_index(drop=True), tape)
    with pytest.raises(ae.TapeError) as info:
        ae.load_pool(tape)
    assert (
        "line 8 has 17 fields" in str(info.value)
        and "loan" not in str(info.value).split("fields")[0].split("tape.csv")[1]
    )


def test_validation_withholds_provident_fund_values_whatever_the_column_case() -> None:
    frame = ae.sample_pool(n=20, seed=1).rename(
        columns={"pf_years": "PF_Years", "pf_monthly_contribution": "PF_MONTHLY_CONTRIBUTION"}
    )
    frame.loc[3, "PF_Years"] = -4321.5
    frame.loc[4, "PF_MONTHLY_CONTRIBUTION"] = np.inf
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(frame)
    text = str(info.value)
    assert "4321" not in text and "inf" not in text
    probs = info.value.problems
    assert probs is not None
    assert set(probs["column"]) == {"pf_years", "pf_monthly_contribution"}
    assert set(probs["value"]) == {"<withheld>"}


# --- small cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "hidden"),
    [
        ([100, 3, 50, 0], [False, True, True, False]),  # the next smallest cell joins the 3
        ([100, 2, 2, 40], [False, True, True, True]),  # 2 + 2 < 5: one more
        ([100, 3, 4, 0], [False, True, True, False]),  # 3 + 4 >= 5: enough
        ([100, 60, 40], [False, False, False]),  # nothing small
        ([1], [True]),  # a one-receivable pool
        ([2, 1, 0, 0], [True, True, True, True]),  # fewer than 5 in all: everything
    ],
)
def test_suppression_is_complementary(counts: list[int], hidden: list[bool]) -> None:
    hide = suppressed_cells(np.array(counts), 5)
    assert hide.tolist() == hidden
    c = np.array(counts)
    if hide.any():
        # what the Total row gives back is a group of at least 5, or the whole (small) table
        assert c[hide].sum() >= 5 or hide.all()
        assert hide.sum() >= 2 or hide.all()


def test_the_total_row_cannot_give_back_a_withheld_cell(small_frame: pd.DataFrame) -> None:
    frame = small_frame.copy()
    frame["pf_status"] = "normal"
    frame.loc[:2, "pf_status"] = "suspended"  # 3 receivables: a small cell
    pool = ae.Pool.from_frame(frame)
    table = pool.strats("pf_status")
    assert isinstance(table, pd.DataFrame)
    cells = table.drop(index="Total")
    withheld = cells["count"].isna()
    assert withheld["suspended"]
    assert withheld.sum() >= 2  # and a complement
    assert cells.loc[withheld].isna().all(axis=None)
    gap = table.loc["Total", "count"] - cells["count"].sum()
    assert gap >= 5  # total less what is shown: at least min_cell receivables together
    assert table.attrs["withheld"] == withheld.sum()


def test_a_one_receivable_pool_shows_no_status(cli: Cli, tmp_path: Path) -> None:
    frame = ae.sample_pool(n=1, seed=2)
    frame["pf_status"] = "suspended"
    tape = tmp_path / "one.csv"
    frame.to_csv(tape, index=False)
    table = ae.load_pool(tape).strats("pf_status")
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["normal", "suspended", "none", "missing", "Total"]
    assert table.drop(index="Total").isna().all(axis=None)  # every status row withheld alike
    res = cli("strats", tape, "--by", "pf_status")
    assert res.code == 0
    lines = {ln.split()[0]: ln for ln in res.out.splitlines() if ln.strip()}
    for status in ("normal", "suspended", "none", "missing"):
        assert "withheld" in lines[status]


def test_early_warning_counts_are_protected_too(small_frame: pd.DataFrame) -> None:
    graded = ae.grade(small_frame)
    flags = ae.early_warning(graded)
    pool = ae.Pool.from_frame(pd.concat([graded, flags], axis=1))
    table = pool.strats("early_warning")
    assert isinstance(table, pd.DataFrame)
    grade_cols = [f"count_{g}" for g in pool.grades]
    for _, row in table.iterrows():
        shown = row[grade_cols].dropna()
        if row.isna().all():
            continue
        assert ((shown == 0) | (shown >= 5)).all()
        hidden = row[grade_cols].isna()
        if hidden.any():
            assert row["count"] - shown.sum() >= 5


@pytest.mark.parametrize("column", ["pf_years", "PF_YEARS", "pf_monthly_contribution", "score"])
def test_strats_by_a_private_column_is_refused(
    column: str, cli: Cli, small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame = (
        small_frame.rename(columns={"pf_years": "PF_YEARS"}) if column.isupper() else small_frame
    )
    frame = frame.assign(score=np.arange(len(frame)))
    tape = tmp_path / "tape.parquet"
    ae.pool.write_tape(frame, tape)
    res = cli("strats", tape, "--by", column)
    res.assert_one_line_error("cannot stratify by", "borrower-level")
    with pytest.raises(ae.PrivacyError):
        ae.load_pool(tape).strats(column)


def test_upper_case_provident_fund_columns_are_the_known_columns(
    small_frame: pd.DataFrame,
) -> None:
    frame = small_frame.rename(columns={c: c.upper() for c in small_frame.columns})
    pool = ae.Pool.from_frame(frame)
    assert "pf_years" in pool.table.column_names and "PF_YEARS" not in pool.table.column_names
    assert pool.extra_columns == ()


# --- the loan-id scan ---------------------------------------------------------------------------


def test_distinctive_ids() -> None:
    assert [is_distinctive(x) for x in ("R00000001", "L1", "L10", "JD-2015-0042")] == [True] * 4
    assert [is_distinctive(x) for x in ("1", "17", "300", "1e5", "grade")] == [False] * 5


@pytest.mark.parametrize("ids", ["integers", "short"])
def test_runs_with_integer_or_short_ids_pass_the_scan(
    ids: str, cli: Cli, small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame = small_frame.copy()
    n = len(frame)
    frame["loan_id"] = (
        np.arange(1, n + 1) if ids == "integers" else [f"L{i}" for i in range(1, n + 1)]
    )
    tape = tmp_path / "tape.parquet"
    ae.pool.write_tape(frame, tape)
    res = cli(
        "run", deal_for(tmp_path, tape), "--out", tmp_path / "o", "--name", "r", "--no-breakeven"
    )
    assert res.code == 0, res.err
    out = tmp_path / "o" / "r"
    assert (out / "report.xlsx").exists()
    # the check still works on these outputs: a leaked id column is found
    leak = out / "leak.csv"
    frame[["loan_id", "balance"]].to_csv(leak, index=False)
    with pytest.raises(ae.PrivacyError, match=r"leak\.csv"):
        ae.reports.assert_no_identifiers(out, frame)
    if ids == "short":  # distinctive ids are found by value too, in cell text only
        hits = {f.value for f in find_identifiers(leak, frame) if f.kind == "loan_id"}
        assert {"L1", "L10"} <= hits
        assert not [f for f in find_identifiers(out / "report.xlsx", frame) if f.kind == "loan_id"]


def test_a_leak_is_a_clear_privacy_error_not_an_assertion(
    small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    pool = ae.Pool.from_frame(small_frame)
    out = tmp_path / "out"
    out.mkdir()
    (out / "table.csv").write_text(f"scenario,loan\nbase,{LOAN}\n", encoding="utf-8")
    with pytest.raises(ae.PrivacyError) as info:
        ae.reports.assert_no_identifiers(out, pool)
    assert not isinstance(info.value, AssertionError)
    message = str(info.value)
    assert "table.csv: loan_id 'R00000007'" in message
    assert str(tmp_path) not in message  # names files inside the output, not temporaries


def test_a_report_that_would_leak_is_not_written(
    cli: Cli, small_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's scan raises a PrivacyError: one line, exit 2, nothing written."""
    from abs_engine.reports import run as report_run

    original = report_run.assert_no_identifiers

    def leaky(folder: Path, pool: object) -> None:
        (Path(folder) / "leak.txt").write_text(f"loan {LOAN}\n", encoding="utf-8")
        original(folder, pool)

    monkeypatch.setattr(report_run, "assert_no_identifiers", leaky)
    tape = tmp_path / "tape.parquet"
    ae.pool.write_tape(small_frame, tape)
    res = cli("run", deal_for(tmp_path, tape), "--out", tmp_path / "o", "--no-breakeven")
    res.assert_one_line_error("receivable-level data", "leak.txt")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@settings(max_examples=300, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.integers(0, 40))
)
def test_a_two_way_table_cannot_give_back_a_small_cell(counts: np.ndarray) -> None:
    """Rows and columns with totals (the grade migration matrix): every small cell is withheld,
    and every row and column with a withheld cell withholds at least two cells holding five or
    more receivables together, so no total less its shown cells is a small cell.  A row or
    column of fewer than five in all is withheld whole (and its total with it)."""
    hide = suppressed_matrix(counts, 5)
    assert not hide[(counts > 0) & (counts < 5)].size or hide[(counts > 0) & (counts < 5)].all()
    if 0 < counts.sum() < 5:
        assert hide.all()
        return
    for line, held in [*zip(counts, hide, strict=True), *zip(counts.T, hide.T, strict=True)]:
        if line.sum() < 5:  # a small line: all of it withheld (its total too, by the caller)
            assert held[line > 0].all()
        elif (held & (line > 0)).any():
            assert (held & (line > 0)).sum() >= 2 or line[~held].sum() == 0
            assert line[held].sum() >= 5


def test_the_migration_matrix_withholds_complementary_cells() -> None:
    """Tape grade A: 90 stay A, 3 move to B; tape grade B: 40 to A, 60 stay B.  The 3 is
    small; with the row total 93 and the column total 63 shown it could be given back, so
    its row and column partners are withheld too; the share keeping its grade (150 / 193)
    is withheld as well, since with the totals it fixes every cell of a 2 x 2 table."""
    from abs_engine.cli.grade import migration_text

    before = pd.Series(["A"] * 93 + ["B"] * 100)
    after = pd.Series(["A"] * 90 + ["B"] * 3 + ["A"] * 40 + ["B"] * 60)
    text = migration_text(before, after)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:5]}
    assert rows["A"] == ["x", "x", "93"] and rows["B"] == ["x", "x", "100"], text
    assert rows["Total"] == ["130", "63", "193"], text
    assert "keep their grade" in text and "%" not in text.splitlines()[-1], text
    # Nothing small: every cell and the share are shown.
    before = pd.Series(["A"] * 60 + ["B"] * 100)
    after = pd.Series(["A"] * 50 + ["B"] * 10 + ["A"] * 40 + ["B"] * 60)
    text = migration_text(before, after)
    assert "x" not in "".join(text.splitlines()[2:5]) and "68.8% keep their grade" in text


def test_a_small_grade_total_is_withheld_with_a_partner() -> None:
    """Tape grade C has 3 receivables: its row total is withheld, and with it the smallest
    other row total, or the grand total less the shown ones would give back the 3."""
    from abs_engine.cli.grade import migration_text

    before = pd.Series(["A"] * 60 + ["B"] * 100 + ["C"] * 3)
    after = pd.Series(["A"] * 60 + ["B"] * 100 + ["B"] * 3)
    text = migration_text(before, after)
    totals = {line.split()[0]: line.split()[-1] for line in text.splitlines()[2:6]}
    assert totals == {"A": "x", "B": "100", "C": "x", "Total": "163"}, text
