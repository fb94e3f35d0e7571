"""Servicer reports: schema, reading, and validation that names every problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.servicer import servicer_frame

from abs_engine.errors import ServicerError
from abs_engine.surveillance import (
    ServicerHistory,
    load_servicer,
    validate_servicer,
    write_servicer,
)

START = dt.date(2020, 2, 1)
MONTHS = [
    {"scheduled_principal": 100, "prepayment": 20, "default": 10, "interest": 10},
    {"scheduled_principal": 100, "prepayment": 10, "default": 20, "interest": 8.7, "recovery": 4},
    {"scheduled_principal": 100, "interest": 7.4, "recovery": 3},
]


def _two_grades() -> pd.DataFrame:
    a = servicer_frame(START, 1000.0, MONTHS, "A")
    b = servicer_frame(START, 500.0, MONTHS, "B")
    return pd.concat([a, b], ignore_index=True)


def test_a_valid_report_becomes_arrays_by_grade_and_month() -> None:
    h = ServicerHistory.from_frame(_two_grades())
    assert h.grades == ("A", "B")
    assert [str(m) for m in h.months] == ["2020-02-29", "2020-03-31", "2020-04-30"]
    np.testing.assert_allclose(h["end_balance"][0], [870.0, 740.0, 640.0])
    np.testing.assert_allclose(h["end_balance"][1], [370.0, 240.0, 140.0])
    np.testing.assert_allclose(h.total("default"), [20.0, 40.0, 0.0])
    assert not h.has_loss and not h.has_delinquency and not h.has_counts
    assert np.isnan(h["loss"]).all()
    np.testing.assert_array_equal(h["purchases"], 0.0)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_a_report_survives_its_files(tmp_path: Path, suffix: str) -> None:
    frame = _two_grades()
    frame["dpd_1_30"] = 5.0
    frame["dpd_31_60"] = 3.0
    frame["dpd_61_90"] = 2.0
    frame["dpd_90_plus"] = 1.0
    frame["receivables"] = 40
    h = ServicerHistory.from_frame(frame)
    path = write_servicer(h, tmp_path / f"servicer{suffix}")
    again = load_servicer(path)
    assert again.grades == h.grades
    np.testing.assert_array_equal(again.months, h.months)
    for c in h.data:
        np.testing.assert_allclose(again[c], h[c], rtol=0, atol=1e-9, equal_nan=True)
    assert again.has_delinquency and again.has_counts


def test_every_problem_is_named_by_period_grade_and_column() -> None:
    frame = _two_grades()
    frame.loc[0, "period_end"] = dt.date(2020, 2, 15)  # not a month end
    frame.loc[1, "prepayment"] = -10.0  # negative
    frame.loc[4, "interest"] = np.nan  # missing
    frame = frame.rename(columns={"fee": "fees"})  # unknown column, required one missing
    problems = validate_servicer(frame)
    text = problems["problem"].str.cat(sep="\n")
    assert "unknown column 'fees' (did you mean 'fee'?)" in text
    assert "required column 'fee' is missing" in text
    # Structure first: a missing required column stops before the row checks.
    frame = frame.rename(columns={"fees": "fee"})
    problems = validate_servicer(frame)
    by = {(r.period_end, r.grade, r.column): r.problem for r in problems.itertuples()}
    assert "is not the last day of a month" in by[("2020-02-15", "A", "period_end")]
    assert "negative" in by[("2020-03-31", "A", "prepayment")]
    assert "missing" in by[("2020-03-31", "B", "interest")]
    with pytest.raises(ServicerError) as err:
        ServicerHistory.from_frame(frame)
    assert "period 2020-03-31, grade 'A', column 'prepayment'" in str(err.value)
    assert err.value.problems is not None and len(err.value.problems) == len(problems)


def test_rows_that_do_not_roll_forward_are_named() -> None:
    frame = _two_grades()
    frame.loc[1, "end_balance"] += 5.0  # March, grade A: end off by 5 (and April's begin then)
    frame.loc[5, "begin_balance"] -= 1.0  # April, grade B: begin is not March's end
    problems = validate_servicer(frame)
    rows = problems[["period_end", "grade", "column"]].apply(tuple, axis=1).tolist()
    assert ("2020-03-31", "A", "end_balance") in rows
    assert ("2020-04-30", "A", "begin_balance") in rows
    assert ("2020-04-30", "B", "begin_balance") in rows
    assert ("2020-04-30", "B", "end_balance") in rows
    march = problems[
        (problems["period_end"] == "2020-03-31") & (problems["column"] == "end_balance")
    ]
    assert "off by 5.00" in march["problem"].iloc[0]


def test_duplicates_gaps_and_missing_grades_are_named() -> None:
    frame = _two_grades()
    dup = frame.iloc[[0]]
    frame = pd.concat([frame, dup], ignore_index=True)  # Feb, grade A twice
    frame = frame.drop(index=[4])  # March, grade B missing
    problems = validate_servicer(frame)
    text = problems["problem"].tolist()
    assert any("duplicate row" in p for p in text)
    missing = problems[problems["problem"].str.contains("no row for grade")]
    assert missing[["period_end", "grade"]].values.tolist() == [["2020-03-31", "B"]]
    # A month without any row is a gap.
    gap = _two_grades()
    gap = gap[gap["period_end"] != dt.date(2020, 3, 31)]
    problems = validate_servicer(gap)
    assert "no rows for the month ending 2020-03-31" in problems["problem"].str.cat()


def test_delinquency_comes_whole_and_fits_the_balance() -> None:
    frame = _two_grades()
    frame["dpd_1_30"] = 1.0
    problems = validate_servicer(frame)
    assert "delinquency buckets come together" in problems["problem"].iloc[0]
    for c, v in (("dpd_31_60", 0.0), ("dpd_61_90", 0.0), ("dpd_90_plus", 0.0)):
        frame[c] = v
    frame.loc[2, "dpd_1_30"] = 1e6  # more than the performing balance
    problems = validate_servicer(frame)
    assert len(problems) == 1
    assert problems["period_end"].iloc[0] == "2020-04-30"
    assert "more than the performing end_balance" in problems["problem"].iloc[0]


def test_counts_are_whole_numbers_and_dates_are_dates() -> None:
    frame = _two_grades()
    frame["receivables"] = 10.5
    frame["period_end"] = frame["period_end"].astype(object)
    frame.loc[3, "period_end"] = "soon"
    problems = validate_servicer(frame)
    assert "'soon' is not a date" in problems["problem"].str.cat()
    assert (problems["problem"] == "a count of receivables is a whole number").sum() == 6


def test_unreadable_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ServicerError, match="not found"):
        load_servicer(tmp_path / "none.csv")
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(ServicerError, match=r"use \.parquet, \.csv or \.xlsx"):
        load_servicer(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(_two_grades().columns) + "\n")
    with pytest.raises(ServicerError, match="no rows"):
        load_servicer(empty)
