"""Loading tapes from files, stratification, cohorts and the sample generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.pool import flat_fee_apr, write_tape


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_load_pool_reads_every_format(tmp_path: Path, suffix: str) -> None:
    frame = ae.sample_pool(n=300, seed=5)
    path = write_tape(frame, tmp_path / f"tape{suffix}")
    pool = ae.load_pool(path)
    assert len(pool) == 300
    np.testing.assert_allclose(pool.balance, frame["balance"].sum(), rtol=1e-12)
    assert pool.source == str(path)


def test_csv_keeps_leading_zeros_of_loan_ids(tmp_path: Path) -> None:
    frame = ae.sample_pool(n=5, seed=5)
    frame["loan_id"] = ["00001", "00002", "00003", "00004", "00005"]
    path = write_tape(frame, tmp_path / "tape.csv")
    pool = ae.load_pool(path)
    assert pool.table.column("loan_id").to_pylist()[0] == "00001"


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ae.TapeError, match="tape not found"):
        ae.load_pool(tmp_path / "nope.parquet")
    bad = tmp_path / "tape.json"
    bad.write_text("{}")
    with pytest.raises(ae.TapeError, match=r"unknown file type '\.json'"):
        ae.load_pool(bad)


def test_corrupt_parquet_is_a_tape_error(tmp_path: Path) -> None:
    bad = tmp_path / "tape.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ae.TapeError, match="cannot read tape"):
        ae.load_pool(bad)


def test_sample_is_deterministic_and_realistic() -> None:
    a = ae.sample_pool(n=20_000, seed=7)
    b = ae.sample_pool(n=20_000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(ae.sample_pool(n=20_000, seed=8))
    pool = ae.Pool.from_frame(a)
    by_grade = pool.strats("grade")
    assert isinstance(by_grade, pd.DataFrame)
    # Grades A/B/C about 55/30/15 by balance.
    np.testing.assert_allclose(
        by_grade.loc[["A", "B", "C"], "pct_balance"], [0.55, 0.30, 0.15], atol=0.03
    )
    types = set(a["payment_type"])
    assert types == {"flat_fee", "bullet", "annuity"}
    inst = a[a["payment_type"] == "flat_fee"]
    assert set(inst["original_term"]) == {3, 6, 12, 24}
    assert inst["fee_rate"].between(0.005, 0.01).all()
    bills = a[a["payment_type"] == "bullet"]
    assert (bills["rate"] == 0).all() and (bills["original_term"] == 1).all()
    # Fee rises with grade risk; provident-fund contributions fall.
    fee = inst.groupby("grade")["fee_rate"].mean()
    assert fee["A"] < fee["B"] < fee["C"]
    pf = a.groupby("grade")["pf_monthly_contribution"].mean()
    assert pf["A"] > pf["B"] > pf["C"]
    assert 0.005 < (a["dpd"] > 0).mean() < 0.05
    assert (a["age"] > 0).mean() > 0.4  # seasoned


def test_strats_tables_add_up(sample_pool: ae.Pool) -> None:
    tables = sample_pool.strats()
    assert isinstance(tables, dict)
    assert set(tables) == {
        "grade",
        "payment_type",
        "original_term",
        "remaining_term",
        "rate",
        "pf_status",
        "dpd",
    }
    for name, table in tables.items():
        body = table.drop(index="Total")
        np.testing.assert_allclose(
            body["balance"].sum(), sample_pool.balance, rtol=1e-12, err_msg=name
        )
        assert body["count"].sum() == len(sample_pool)
        np.testing.assert_allclose(table.loc["Total", "pct_balance"], 1.0, rtol=1e-12)
    grade = tables["grade"]
    frame = sample_pool.to_frame()
    a = frame[frame["grade"] == "A"]
    np.testing.assert_allclose(
        grade.loc["A", "wa_remaining_term"],
        (a["balance"] * a["remaining_term"]).sum() / a["balance"].sum(),
        rtol=1e-12,
    )


def test_strats_show_no_borrower_level_fields(sample_pool: ae.Pool) -> None:
    with pytest.raises(ae.PrivacyError, match="borrower-level"):
        sample_pool.strats("pf_monthly_contribution")
    with pytest.raises(KeyError):
        sample_pool.strats("loan_id")


def test_flat_fee_apr_matches_irr() -> None:
    """APR of a 12-month plan at 0.75% a month: solve the schedule's IRR independently."""
    import numpy_financial as npf

    flows = np.r_[-1.0, np.full(12, 1 / 12 + 0.0075)]
    expected = 12 * npf.irr(flows)
    np.testing.assert_allclose(
        flat_fee_apr(np.array([12]), np.array([0.0075])), [expected], rtol=1e-10
    )
    np.testing.assert_allclose(flat_fee_apr(np.array([6]), np.array([0.0])), [0.0], atol=1e-14)


def test_cohorts_conserve_the_pool(sample_pool: ae.Pool) -> None:
    c = sample_pool.cohorts()
    assert len(c) < len(sample_pool) / 3
    np.testing.assert_allclose(c.balance.sum(), sample_pool.balance, rtol=1e-12)
    assert c.count.sum() == len(sample_pool)
    frame = sample_pool.to_frame()
    interest = (frame["rate"] * frame["balance"]).sum()
    np.testing.assert_allclose((c.rate * c.balance).sum(), interest, rtol=1e-12)
    fee = (frame["fee_rate"] * frame["original_balance"]).sum()
    np.testing.assert_allclose(c.fee.sum(), fee, rtol=1e-12)


def test_select_sub_pool(sample_pool: ae.Pool) -> None:
    grade = sample_pool.column("grade_code")
    sub = sample_pool.select(grade == 0)
    assert len(sub) == int((grade == 0).sum())
    assert set(sub.to_frame()["grade"].astype(str)) == {"A"}


def test_early_warning_flags_in_the_strats(sample_frame: pd.DataFrame) -> None:
    from abs_engine.grading import early_warning

    flags = early_warning(sample_frame)
    graded = pd.concat([sample_frame, flags], axis=1)
    pool = ae.Pool.from_frame(graded)
    tables = pool.strats()
    assert isinstance(tables, dict)
    table = tables["early_warning"]
    assert list(table.index) == list(flags.columns)
    assert table.loc["ew_any", "count"] == int(flags["ew_any"].sum())
    by_grade = sum(table.loc["ew_any", f"count_{g}"] for g in "ABC")
    assert by_grade == table.loc["ew_any", "count"]
    with pytest.raises(KeyError, match="no early-warning flags"):
        ae.Pool.from_frame(sample_frame).strats("early_warning")


def test_parquet_tapes_read_column_by_column_equal_the_whole_read(tmp_path: Path) -> None:
    """The reader takes one column at a time (a bounded peak); the table is the same:
    values, dictionary columns, schema metadata and chunking, over several row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from abs_engine.pool.pool import read_tape

    frame = ae.sample_pool(3_000, seed=5)
    path = tmp_path / "tape.parquet"
    frame.to_parquet(path, row_group_size=1_000)
    got = read_tape(path)
    whole = pq.ParquetFile(path, read_dictionary=["grade", "payment_type", "pf_status"]).read()
    assert got.column_names == whole.column_names
    assert got.schema.metadata == whole.schema.metadata
    for name in whole.column_names:
        assert got.column(name).num_chunks == whole.column(name).num_chunks, name
        assert got.column(name).combine_chunks().equals(whole.column(name).combine_chunks()), name
    # Repeated column names: read whole, and validation names the problem.
    dup = pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["rate", "rate"])
    pq.write_table(dup, tmp_path / "dup.parquet")
    assert read_tape(tmp_path / "dup.parquet").column_names == ["rate", "rate"]
