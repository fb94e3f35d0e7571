"""Bad tapes: one test per problem; each message names the loan id and the column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import abs_engine as ae


def good_tape(n: int = 6) -> pd.DataFrame:
    """A small valid tape with every payment type."""
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:03d}" for i in range(n)],
            "grade": ["A", "B", "C", "A", "B", "C"][:n],
            "balance": [1000.0, 2000.0, 300.0, 5000.0, 800.0, 1200.0][:n],
            "rate": [0.12, 0.0, np.nan, 0.18, 0.0, 0.15][:n],
            "original_term": [12, 1, 6, 24, 3, 12][:n],
            "remaining_term": [10, 1, 3, 20, 3, 12][:n],
            "payment_type": [
                "annuity",
                "bullet",
                "flat_fee",
                "equal_principal",
                "flat_fee",
                "annuity",
            ][:n],
            "fee_rate": [np.nan, np.nan, 0.008, np.nan, 0.006, np.nan][:n],
            "original_balance": [1200.0, 2000.0, 600.0, 6000.0, 800.0, 1200.0][:n],
        }
    )


def broken(column: str, row: int, value: object) -> pd.DataFrame:
    df = good_tape()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    return df


def assert_names(err: ae.TapeError, loan_id: str, column: str) -> None:
    msg = str(err)
    assert loan_id in msg, msg
    assert f"'{column}'" in msg, msg
    probs = err.report.problems
    assert ((probs["loan_id"] == loan_id) & (probs["column"] == column)).any()


def test_good_tape_loads() -> None:
    pool = ae.Pool.from_frame(good_tape())
    assert len(pool) == 6
    assert pool.report.ok
    assert len(pool.excluded) == 0


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("balance", -5.0, "balance must be > 0"),
        ("balance", 0.0, "balance must be > 0"),
        ("balance", np.nan, "balance is empty"),
        ("balance", "12,3x", "not a number"),
        ("rate", 12.0, "annual decimal"),
        ("rate", -0.01, "annual decimal"),
        ("original_term", 12.5, "whole months"),
        ("remaining_term", 0, "between 1 and"),
        ("grade", "D", "unknown grade"),
        ("payment_type", "balloon", "unknown payment type"),
        ("grade", None, "grade is empty"),
    ],
)
def test_each_bad_value_is_named(column: str, value: object, fragment: str) -> None:
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(broken(column, 0, value))
    assert fragment in str(info.value)
    assert_names(info.value, "L000", column)


def test_remaining_longer_than_original() -> None:
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(broken("remaining_term", 3, 30))
    assert "remaining_term is longer than original_term" in str(info.value)
    assert_names(info.value, "L003", "remaining_term")


def test_duplicate_id_names_every_occurrence() -> None:
    df = good_tape()
    df.loc[4, "loan_id"] = "L001"
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(df)
    probs = info.value.report.problems
    dup = probs[probs["problem"] == "duplicate loan id"]
    assert sorted(dup["row"]) == [1, 4]
    assert_names(info.value, "L001", "loan_id")


def test_flat_fee_without_original_balance() -> None:
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(broken("original_balance", 2, np.nan))
    assert "flat_fee receivable without original_balance" in str(info.value)
    assert_names(info.value, "L002", "original_balance")


def test_flat_fee_without_fee_rate_column() -> None:
    """A missing column is one problem of the tape, not one per receivable that needs it."""
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(good_tape().drop(columns="fee_rate"))
    report = info.value.report
    assert report.n_problems == 1 and report.fatal
    assert "column 'fee_rate' is missing; the tape's 2 flat_fee receivables need it" in str(
        info.value
    )


def test_rate_may_be_empty_only_for_flat_fee() -> None:
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(broken("rate", 0, None))
    assert "only flat_fee rows may leave it empty" in str(info.value)
    assert_names(info.value, "L000", "rate")


def test_missing_column_is_a_tape_level_problem() -> None:
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(good_tape().drop(columns="balance"))
    assert "required column 'balance' is missing" in str(info.value)
    assert info.value.report.fatal


def test_misspelt_column_suggests_the_name() -> None:
    df = good_tape().rename(columns={"remaining_term": "remaning_term"})
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(df)
    assert "did you mean 'remaining_term'" in str(info.value)


def test_wrong_column_type() -> None:
    df = good_tape()
    df["balance"] = [True, False, True, True, True, True]
    with pytest.raises(ae.TapeError, match="true/false values"):
        ae.Pool.from_frame(df)


def test_empty_tape() -> None:
    with pytest.raises(ae.TapeError, match="no rows"):
        ae.Pool.from_frame(good_tape().iloc[0:0])


def test_every_problem_is_found_not_just_the_first() -> None:
    df = good_tape()
    df["balance"] = df["balance"].astype(object)
    df.loc[1, "balance"] = -1.0
    df.loc[2, "grade"] = "Z"
    df.loc[5, "remaining_term"] = 99
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(df)
    report = info.value.report
    assert report.n_problems == 3
    assert list(report.bad_rows) == [1, 2, 5]
    assert str(info.value).startswith("tape failed validation: 3 problems in 3 of 6 rows")


def test_exclude_keeps_good_rows_and_gives_reasons() -> None:
    df = good_tape()
    df["balance"] = df["balance"].astype(object)
    df.loc[1, "balance"] = -1.0
    df.loc[2, "grade"] = "Z"
    pool = ae.Pool.from_frame(df, on_error="exclude")
    assert len(pool) == 4
    assert list(pool.excluded["loan_id"]) == ["L001", "L002"]
    assert pool.excluded.loc[0, "reason"] == "balance: balance must be > 0"
    assert "unknown grade" in pool.excluded.loc[1, "reason"]
    np.testing.assert_allclose(pool.balance, 1000.0 + 5000.0 + 800.0 + 1200.0, rtol=0, atol=1e-9)


def test_exclude_still_raises_on_a_missing_column() -> None:
    with pytest.raises(ae.TapeError, match="missing"):
        ae.Pool.from_frame(good_tape().drop(columns="grade"), on_error="exclude")


def test_validate_pool_returns_report_without_raising(tmp_path: Path) -> None:
    df = broken("balance", 3, -2.0)
    report = ae.validate_pool(df)
    assert not report.ok
    assert report.n_problems == 1
    path = tmp_path / "tape.csv"
    df.to_csv(path, index=False)
    assert ae.validate_pool(path).n_problems == 1


def test_configurable_grades() -> None:
    df = good_tape()
    df["grade"] = ["AA", "BB", "AA", "BB", "AA", "BB"]
    pool = ae.Pool.from_frame(df, grades=("AA", "BB"))
    assert pool.grades == ("AA", "BB")
    with pytest.raises(ae.TapeError, match="unknown grade"):
        ae.Pool.from_frame(df)


def test_chinese_payment_type_names_are_accepted() -> None:
    df = good_tape()
    df["payment_type"] = ["等额本息", "bullet", "等本等费", "等额本金", "flat_fee", "annuity"]
    pool = ae.Pool.from_frame(df)
    assert list(pool.to_frame()["payment_type"].astype(str)) == list(good_tape()["payment_type"])


def test_provident_fund_values_are_withheld_from_messages() -> None:
    df = good_tape()
    df["pf_monthly_contribution"] = [1000.0, -7777.0, 500.0, 400.0, 300.0, 200.0]
    with pytest.raises(ae.TapeError) as info:
        ae.Pool.from_frame(df)
    assert "7777" not in str(info.value)
    assert "<withheld>" in str(info.value)
    assert_names(info.value, "L001", "pf_monthly_contribution")


def test_messages_never_log_loan_ids(caplog: pytest.LogCaptureFixture) -> None:
    df = broken("balance", 3, -2.0)
    with caplog.at_level("DEBUG"):
        ae.Pool.from_frame(df, on_error="exclude")
    assert caplog.records, "exclusions are logged (as counts)"
    assert not any("L003" in r.getMessage() for r in caplog.records)


_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["s", "ms", "us", "ns", "date32", "date64"]),
    st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=1, max_size=60),
    st.booleans(),
)
def test_origination_dates_floor_to_the_day_and_flag_out_of_range(
    unit: str, raw: list[int | None], two_chunks: bool
) -> None:
    """Against a per-cell reference in Python integers: a timestamp's day is the floor of
    its time over one day (before 1970 too), empty cells stay empty, and days outside
    DATE_RANGE are NaT and a problem on their row."""
    from abs_engine.pool import validate
    from abs_engine.pool.schema import DATE_RANGE

    day_ns = 86_400 * 10**9
    if unit == "date32":
        vals = [None if v is None else v % 200_000 - 100_000 for v in raw]
        typ, per_day = pa.date32(), 1
    elif unit == "date64":
        typ, per_day = pa.date64(), 86_400_000
        vals = [None if v is None else v // 1000 for v in raw]
    else:
        typ, per_day = pa.timestamp(unit), day_ns // _UNIT_NS[unit]
        vals = [None if v is None else v // _UNIT_NS[unit] for v in raw]
    cut = len(vals) // 2 if two_chunks and len(vals) > 1 else len(vals)
    col = pa.chunked_array(
        [pa.array(vals[:cut], type=typ), pa.array(vals[cut:], type=typ)][
            : 2 if cut < len(vals) else 1
        ]
    )
    lo, hi = (dt.date.fromisoformat(d) for d in DATE_RANGE)
    epoch = dt.date(1970, 1, 1)
    expected, bad_rows = [], []
    for i, v in enumerate(vals):
        if v is None:
            expected.append(None)
            continue
        days = v // per_day  # Python's floor division
        ok = (lo - epoch).days <= days <= (hi - epoch).days
        expected.append(days if ok else None)
        if not ok:
            bad_rows.append(i)
    problems = validate._Problems(None, len(vals))
    got = validate._dates(col, problems)
    assert got.dtype == np.dtype("datetime64[D]")
    got_days = [None if np.isnat(x) else int(x.astype(np.int64)) for x in got]
    assert got_days == expected
    frame = problems.frame()
    assert sorted(frame["row"].tolist()) == bad_rows
    assert set(frame["column"]) <= {"origination_date"}
