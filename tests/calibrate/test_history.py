"""Loading and validating static-pool histories: one test per kind of bad history.

Every error names the loan and the month (age), and carries the full problems table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abs_engine.calibrate import (
    History,
    HistoryValidationError,
    calibrate,
    load_history,
    synthetic_history,
    validate_history,
)
from abs_engine.errors import AbsError, HistoryError


def good_history() -> pd.DataFrame:
    """Three loans: one repays on schedule, one prepays, one defaults and recovers later."""
    rows = [
        # loan, grade, vintage, age, begin, sched, prepaid, defaulted, recovered, dpd
        ("L1", "A", "2015-01", 1, 300.0, 100.0, 0.0, 0.0, 0.0, 0),
        ("L1", "A", "2015-01", 2, 200.0, 100.0, 0.0, 0.0, 0.0, 0),
        ("L1", "A", "2015-01", 3, 100.0, 100.0, 0.0, 0.0, 0.0, 0),
        ("L2", "B", "2015-01", 1, 600.0, 200.0, 0.0, 0.0, 0.0, 0),
        ("L2", "B", "2015-01", 2, 400.0, 200.0, 200.0, 0.0, 0.0, 0),
        ("L3", "B", "2015-02", 1, 900.0, 300.0, 0.0, 0.0, 0.0, 30),
        ("L3", "B", "2015-02", 2, 600.0, 0.0, 0.0, 600.0, 0.0, 120),
        ("L3", "B", "2015-02", 3, 0.0, 0.0, 0.0, 0.0, 0.0, 150),
        ("L3", "B", "2015-02", 4, 0.0, 0.0, 0.0, 0.0, 90.0, 180),
    ]
    cols = [
        "loan_id",
        "grade",
        "vintage",
        "age",
        "begin_balance",
        "scheduled_principal",
        "prepaid_amount",
        "defaulted_amount",
        "recovered_amount",
        "dpd",
    ]
    return pd.DataFrame(rows, columns=cols)


def assert_names(err: HistoryError, loan_id: str, age: int, column: str | None = None) -> None:
    msg = str(err)
    assert f"loan {loan_id!r}" in msg, msg
    assert f"month (age) {age}" in msg, msg
    assert isinstance(err, HistoryValidationError)
    probs = err.problems
    hit = (probs["loan_id"] == loan_id) & (probs["age"] == age)
    if column is not None:
        assert f"column {column!r}" in msg, msg
        hit &= probs["column"] == column
    assert hit.any(), probs


def test_good_history_loads() -> None:
    h = History.from_frame(good_history())
    assert (h.n_rows, h.n_loans) == (9, 3)
    assert h.grades == ("A", "B")
    assert h.vintages == ("2015-01", "2015-02")
    assert h.vintage_month is not None
    assert int(h.vintage_month[1] - h.vintage_month[0]) == 1
    np.testing.assert_array_equal(h.default_age, [0, 0, 2])
    np.testing.assert_array_equal(h.dpd_bucket, [0, 0, 0, 0, 0, 1, 4, 4, 4])
    assert validate_history(good_history()).empty


def test_rows_in_any_order_are_sorted_by_loan_and_age() -> None:
    df = synthetic_history(500, seed=8)
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    h = History.from_frame(shuffled)
    starts = h.loan_start[:-1]
    np.testing.assert_array_equal(h.age[starts], 1)
    assert np.all(np.diff(h.age)[h.continues()] == 1)
    a, b = calibrate(df), calibrate(shuffled)
    pd.testing.assert_frame_equal(a.curves, b.curves, rtol=1e-10)
    pd.testing.assert_frame_equal(a.recovery, b.recovery, rtol=1e-10)


def test_gap_in_months_names_loan_and_missing_month() -> None:
    df = good_history().drop(index=1)  # L1 has ages 1 and 3
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L1", 2, "age")
    assert "month missing" in str(info.value)


def test_performing_after_default() -> None:
    df = good_history()
    df.loc[7, ["begin_balance", "scheduled_principal"]] = [50.0, 50.0]  # L3 pays at age 3
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L3", 3, "begin_balance")
    assert "after the loan defaulted" in str(info.value)


def test_recovery_only_rows_after_default_are_fine() -> None:
    df = good_history()
    df.loc[7, "recovered_amount"] = 10.0
    assert History.from_frame(df).n_rows == 9


@pytest.mark.parametrize("column", ["begin_balance", "prepaid_amount", "recovered_amount", "dpd"])
def test_negative_amounts(column: str) -> None:
    df = good_history()
    df.loc[4, column] = -5.0  # loan L2, age 2
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L2", 2, column)
    probs = info.value.problems  # type: ignore[attr-defined]
    assert (probs["value"] == -5.0).any()


def test_duplicate_month() -> None:
    df = pd.concat([good_history(), good_history().iloc[[3]]], ignore_index=True)
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L2", 1, "age")
    assert "duplicate" in str(info.value)


def test_unknown_column_close_to_a_known_one() -> None:
    df = good_history().rename(columns={"begin_balance": "begin_balnce"})
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    msg = str(info.value)
    assert "did you mean 'begin_balance'" in msg
    assert "missing column 'begin_balance'" in msg


def test_unrelated_extra_columns_are_ignored() -> None:
    df = good_history().assign(servicer_note="x")
    assert History.from_frame(df).n_loans == 3


def test_missing_column() -> None:
    with pytest.raises(HistoryError, match="missing column 'dpd'"):
        History.from_frame(good_history().drop(columns="dpd"))


def test_recovery_before_default() -> None:
    df = good_history()
    df.loc[1, "recovered_amount"] = 5.0  # L1 never defaulted
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L1", 2, "recovered_amount")


def test_principal_above_balance() -> None:
    df = good_history()
    df.loc[0, "scheduled_principal"] = 400.0
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L1", 1, "begin_balance")


def test_grade_change_within_a_loan() -> None:
    df = good_history()
    df.loc[2, "grade"] = "B"
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert_names(info.value, "L1", 3, "grade")


@pytest.mark.parametrize("value", [0, 1.5, np.nan])
def test_bad_age(value: float) -> None:
    df = good_history()
    df["age"] = df["age"].astype(float)
    df.loc[5, "age"] = value
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    assert "loan 'L3'" in str(info.value)
    assert "column 'age'" in str(info.value)


def test_error_counts_and_lists_the_first_few() -> None:
    df = good_history()
    df["dpd"] = -1
    with pytest.raises(HistoryError) as info:
        History.from_frame(df)
    msg = str(info.value)
    assert "9 problems in 3 loans" in msg
    assert "and 4 more" in msg
    assert len(info.value.problems) == 9  # type: ignore[attr-defined]


def test_errors_are_value_errors_and_abs_errors() -> None:
    with pytest.raises(ValueError, match="history"):
        History.from_frame(good_history().drop(index=1))
    assert issubclass(HistoryValidationError, AbsError)


def test_integer_ids_and_empty_history() -> None:
    df = good_history()
    df["loan_id"] = df["loan_id"].str[1:].astype(int)
    assert History.from_frame(df).n_loans == 3
    with pytest.raises(HistoryError, match="no rows"):
        History.from_frame(df.iloc[:0])


def test_load_parquet_and_csv(tmp_path: Path) -> None:
    df = synthetic_history(300, seed=4)
    pq_path, csv_path = tmp_path / "h.parquet", tmp_path / "h.csv"
    df.to_parquet(pq_path, index=False)
    df.to_csv(csv_path, index=False)
    a, b = load_history(pq_path), load_history(csv_path)
    assert a.n_rows == b.n_rows == len(df)
    np.testing.assert_allclose(a.begin_balance, b.begin_balance)
    assert a.vintages == b.vintages
    cal = calibrate(pq_path)
    assert cal.source == str(pq_path)


def test_missing_or_unknown_file(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="not found"):
        load_history(tmp_path / "nope.parquet")
    bad = tmp_path / "h.json"
    bad.write_text("{}")
    with pytest.raises(HistoryError, match="unknown history format"):
        load_history(bad)
