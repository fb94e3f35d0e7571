"""Far-out dates and timestamps in every file or argument a user gives us.

A parquet date beyond Python's calendar (years 1 to 9999) made pyarrow's
``to_pandas``/``to_pylist`` raise a bare ``OverflowError``/``ValueError``; a far
timestamp reached pandas methods that raise ``NotImplementedError``.  Each input
now answers with its own error naming the file, the row (and loan) and the
column, and the range it accepts -- and writes nothing.  (The tape itself:
``test_inputs.py::test_dates_beyond_pythons_calendar``.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.servicer import servicer_frame

import abs_engine as ae
from abs_engine.calibrate import HistoryValidationError, load_history
from abs_engine.errors import ScenarioError, ServicerError
from abs_engine.surveillance import load_servicer
from tests.reliability.conftest import Cli, deal_for

# A bad date is the user's message, not pandas' "Could not infer format" warning.
pytestmark = pytest.mark.filterwarnings("error::UserWarning")

_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400 * 10**9}

#: (Arrow type, stored value, the day as NumPy spells it)
FAR = [
    pytest.param(pa.date32(), -800_000, "-221-09-04", id="date32-year-221"),
    pytest.param(pa.date32(), 3_000_000, "10183-09-21", id="date32-year10183"),
    pytest.param(pa.timestamp("s"), -(10**13), "-314918-08-13", id="ts-s-minus-1e13"),
    pytest.param(pa.timestamp("ms"), 2**62, "146140482-04-24", id="ts-ms-2**62"),
    pytest.param(pa.timestamp("s", tz="Asia/Shanghai"), -(10**13), "-314918-08-13", id="ts-tz"),
    pytest.param(pa.date64(), 2**62, "5029829-08-29", id="date64-2**62"),
]
#: Python's calendar holds these; pandas' nanoseconds do not.
BEYOND_NS = [
    pytest.param(pa.date32(), -200_000, "1422-06-03", id="date32-year1422"),
    pytest.param(pa.date32(), 200_000, "2517-08-01", id="date32-year2517"),
]


def _stored(typ: pa.DataType, day: dt.date) -> int:
    """``day`` as the integer ``typ`` stores."""
    days = (day - dt.date(1970, 1, 1)).days
    if pa.types.is_date32(typ):
        return days
    if pa.types.is_date64(typ):
        return days * 86_400_000
    return days * _PER_DAY[typ.unit]


def _with_first(
    frame: pd.DataFrame, name: str, typ: pa.DataType, value: int, rest: dt.date
) -> pa.Table:
    """``frame`` as Arrow with column ``name`` of ``typ``: ``value`` in row 0, ``rest`` below."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    col = pa.array([value] + [_stored(typ, rest)] * (len(frame) - 1), type=typ)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, col)
    return table.append_column(name, col)


# --- static-pool history: the vintage column -------------------------------------------------


def _history() -> pd.DataFrame:
    rows = [("L1", "A", 1, 300.0, 100.0), ("L1", "A", 2, 200.0, 100.0), ("L2", "B", 1, 90.0, 30.0)]
    frame = pd.DataFrame(rows, columns=["loan_id", "grade", "age", "begin_balance", "sched"])
    frame["vintage"] = "2015-01"
    frame = frame.rename(columns={"sched": "scheduled_principal"})
    for c in ("prepaid_amount", "defaulted_amount", "recovered_amount"):
        frame[c] = 0.0
    frame["dpd"] = 0
    return frame


@pytest.mark.parametrize(("typ", "value", "shown"), FAR + BEYOND_NS)
def test_history_vintage_beyond_the_calendar(
    typ: pa.DataType, value: int, shown: str, tmp_path: Path
) -> None:
    """Was OverflowError from ``to_pylist`` (far dates) or 'vintage changes within a loan'
    (years 1422/2517, which the loan's other month held as a plain date)."""
    table = _with_first(_history(), "vintage", typ, value, dt.date(2015, 1, 1))
    path = tmp_path / "history.parquet"
    pq.write_table(table, path)
    with pytest.raises(HistoryValidationError) as info:
        load_history(path)
    text = str(info.value)
    assert str(path) in text and "loan 'L1', month (age) 1, column 'vintage'" in text
    assert "outside 1900-01-01 to 2199-12-31" in text
    assert info.value.problems["row"].tolist()[0] == 0


def test_history_far_vintage_is_a_problem_on_its_own_rows_only(tmp_path: Path) -> None:
    """Vintages are converted per distinct value: the rows flagged are those holding the far
    date (L2's two months, rows 2 and 3), not its neighbours; an empty vintage (row 4) is the
    'empty vintage' problem and nothing else."""
    frame = pd.concat([_history(), _history().iloc[[2]]], ignore_index=True)  # L2 twice
    frame.loc[3, "age"] = 2
    frame = pd.concat([frame, _history().iloc[[0]].assign(loan_id="L3")], ignore_index=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    ok = _stored(pa.date32(), dt.date(2015, 1, 1))
    col = pa.array([ok, ok, -800_000, -800_000, None], type=pa.date32())
    path = tmp_path / "history.parquet"
    pq.write_table(table.set_column(table.column_names.index("vintage"), "vintage", col), path)
    with pytest.raises(HistoryValidationError) as info:
        load_history(path)
    probs = info.value.problems
    far = probs[probs["problem"].str.contains("outside 1900-01-01")]
    assert far["row"].tolist() == [2, 3]
    assert probs.loc[probs["row"] == 4, "problem"].tolist() == ["empty vintage"]


def test_history_date_vintages_keep_their_labels_and_months(tmp_path: Path) -> None:
    """In-range dates and timestamps (any unit, a time zone) still label by their day."""
    for typ in (pa.date32(), pa.date64(), pa.timestamp("ms"), pa.timestamp("s", tz="UTC")):
        table = _with_first(
            _history(), "vintage", typ, _stored(typ, dt.date(2015, 1, 1)), dt.date(2015, 1, 1)
        )
        path = tmp_path / "h.parquet"
        pq.write_table(table, path)
        h = load_history(path)
        assert h.vintages == ("2015-01-01",)
        assert h.vintage_month is not None and h.vintage_month.tolist() == [2015 * 12]


# --- servicer reports: period_end ------------------------------------------------------------


def _servicer() -> pd.DataFrame:
    months = [{"scheduled_principal": 100.0}] * 3
    return pd.concat(
        [servicer_frame(dt.date(2020, 2, 1), 1000.0, months, g) for g in "AB"], ignore_index=True
    )


def _check_servicer_error(err: ServicerError, path: Path, shown: str) -> None:
    text = str(err)
    assert str(path) in text
    assert f"column 'period_end' (row 0): {shown} is outside the months" in text
    assert "between 1900-01-01 and 2199-12-31" in text
    assert err.problems is not None and err.problems["row"].tolist()[0] == 0


@pytest.mark.parametrize(("typ", "value", "shown"), FAR + BEYOND_NS)
def test_servicer_period_beyond_the_calendar(
    typ: pa.DataType, value: int, shown: str, tmp_path: Path
) -> None:
    """Was ValueError 'year -221 is out of range' (wrapped without row or column) for far
    dates, NotImplementedError from pandas for far timestamps."""
    table = _with_first(_servicer(), "period_end", typ, value, dt.date(2020, 2, 29))
    path = tmp_path / "servicer.parquet"
    pq.write_table(table, path)
    with pytest.raises(ServicerError) as info:
        load_servicer(path)
    _check_servicer_error(info.value, path, shown)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("0000-01-01", "0000-01-01"),  # was NotImplementedError (year 0 in pandas)
        ("1500-01-31", "1500-01-31"),  # was thousands of 'no rows for the month' problems
        ("2500-01-31", "2500-01-31"),
    ],
)
def test_servicer_text_dates_out_of_range(text: str, shown: str, tmp_path: Path) -> None:
    frame = _servicer()
    frame["period_end"] = frame["period_end"].astype(str)
    frame.loc[0, "period_end"] = text
    path = tmp_path / "servicer.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ServicerError) as info:
        load_servicer(path)
    _check_servicer_error(info.value, path, shown)
    assert len(info.value.problems) < 10


@pytest.mark.parametrize("text", ["99999-12-31", "2020-02-30", "1e308", "NaT", ""])
def test_servicer_text_that_is_no_date(text: str, tmp_path: Path) -> None:
    frame = _servicer()
    frame["period_end"] = frame["period_end"].astype(str)
    frame.loc[0, "period_end"] = text
    path = tmp_path / "servicer.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ServicerError, match=r"column 'period_end' \(row 0\): .* is not a date"):
        load_servicer(path)


def test_servicer_numbers_are_not_dates() -> None:
    """pandas reads 20200229 as nanoseconds after 1970: a number is not a month end."""
    frame = _servicer()
    frame["period_end"] = [20200229, 20200331, 20200430] * 2
    with pytest.raises(ServicerError, match=r"20200229 is not a date"):
        ae.surveillance.ServicerHistory.from_frame(frame)


@pytest.mark.parametrize("day", [dt.datetime(9999, 12, 31)], ids=["9999-12-31"])
def test_servicer_excel_last_day_of_the_calendar(day: dt.datetime, tmp_path: Path) -> None:
    """Excel's last day was ValueError 'year 10000 is out of range' (the month after it)."""
    frame = _servicer()
    frame["period_end"] = pd.Series([day, *frame["period_end"].iloc[1:]], dtype=object)
    path = tmp_path / "servicer.xlsx"
    frame.to_excel(path, index=False)
    with pytest.raises(ServicerError) as info:
        load_servicer(path)
    _check_servicer_error(info.value, path, day.date().isoformat())


def test_surveil_with_a_far_period_writes_nothing(
    cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    table = _with_first(_servicer(), "period_end", pa.date32(), -800_000, dt.date(2020, 2, 29))
    servicer = tmp_path / "servicer.parquet"
    pq.write_table(table, servicer)
    out = tmp_path / "trustee"
    spec = deal_for(tmp_path, small_tape)
    outcome = cli("surveil", spec, "--servicer", servicer, "--mc-paths", 0, "--out", out)
    outcome.assert_one_line_error(str(servicer), "-221-09-04", "period_end")
    assert not out.exists()


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["s", "ms", "us", "ns", "date32", "date64"]),
    st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=1, max_size=30),
)
def test_servicer_days_from_stored_numbers(unit: str, raw: list[int | None]) -> None:
    """Against Python integers: a stored date or timestamp (read as the parquet reader
    reads it) is the floor of its time over one day, before 1970 too; empty is NaT."""
    from abs_engine.surveillance.servicer import _period_days

    if unit == "date32":
        typ, per_day = pa.date32(), 1
        vals = [None if v is None else v % 2**31 - 2**30 for v in raw]
    elif unit == "date64":
        typ, per_day = pa.date64(), 86_400_000
        vals = raw
    else:
        typ, per_day = pa.timestamp(unit), _PER_DAY[unit]
        vals = raw
    frame = pa.table({"period_end": pa.array(vals, type=typ)}).to_pandas(date_as_object=False)
    got = _period_days(frame["period_end"])
    assert got.dtype == np.dtype("datetime64[D]")
    expected = [None if v is None else v // per_day for v in vals]
    assert [None if np.isnat(x) else int(x.astype(np.int64)) for x in got] == expected


# --- scenario tables -------------------------------------------------------------------------


@pytest.mark.parametrize(("typ", "value", "shown"), [FAR[0], FAR[1], FAR[5]])
def test_scenario_table_with_a_far_date(
    typ: pa.DataType, value: int, shown: str, tmp_path: Path
) -> None:
    """Was ValueError 'year -221 is out of range' from ``to_pandas``."""
    frame = pd.DataFrame({"scenario": ["base", "stress"], "default_mult": [1.0, 2.0]})
    path = tmp_path / "scenarios.parquet"
    pq.write_table(_with_first(frame, "as_of", typ, value, dt.date(2020, 1, 1)), path)
    with pytest.raises(ScenarioError) as info:
        ae.stress.read_scenarios(path)
    text = str(info.value)
    assert str(path) in text and "row 0, column 'as_of'" in text and shown in text
    assert "0001-01-01 and 9999-12-31" in text


# --- CLI: grade, scorecard fit, project --cutoff ----------------------------------------------


@pytest.mark.parametrize(("typ", "value", "shown"), [FAR[0], FAR[1], FAR[5]])
def test_grade_with_a_far_date_writes_nothing(
    typ: pa.DataType, value: int, shown: str, cli: Cli, small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """Was ValueError 'year -221 is out of range' (a traceback) from ``to_pandas``."""
    raw = tmp_path / "raw.parquet"
    pq.write_table(
        _with_first(small_frame, "origination_date", typ, value, dt.date(2015, 6, 1)), raw
    )
    out = tmp_path / "graded.parquet"
    outcome = cli("grade", raw, "--out", out)
    loan = small_frame["loan_id"].iloc[0]
    outcome.assert_one_line_error(str(raw), f"row 0 (loan {loan!r})", "'origination_date'", shown)
    assert not out.exists()


@pytest.mark.parametrize(("typ", "value", "shown"), BEYOND_NS + FAR[2:5])
def test_grade_passes_far_timestamps_through(
    typ: pa.DataType, value: int, shown: str, cli: Cli, small_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """Values pandas holds (timestamps of their own unit, dates Python holds) are not the
    grader's business: they reach the graded tape unchanged."""
    raw = tmp_path / "raw.parquet"
    pq.write_table(
        _with_first(small_frame, "origination_date", typ, value, dt.date(2015, 6, 1)), raw
    )
    out = tmp_path / "graded.parquet"
    assert cli("grade", raw, "--out", out).code == 0
    col = pq.read_table(out).column("origination_date")
    days = np.asarray(col.cast(pa.int64() if not pa.types.is_date32(col.type) else pa.int32()))
    first = days[0] // (1 if pa.types.is_date32(col.type) else _PER_DAY[col.type.unit])
    assert str(np.datetime64(int(first), "D")) == shown


@pytest.mark.parametrize(("typ", "value", "shown"), [FAR[0], FAR[5]])
def test_scorecard_fit_with_a_far_date_writes_nothing(
    typ: pa.DataType, value: int, shown: str, cli: Cli, tmp_path: Path
) -> None:
    history = tmp_path / "history.parquet"
    assert cli("scorecard", "synthetic", "--n", "2000", "--seed", "5", "--out", history).code == 0
    frame = pd.read_parquet(history)
    pq.write_table(_with_first(frame, "applied_on", typ, value, dt.date(2016, 1, 1)), history)
    card = tmp_path / "card.toml"
    outcome = cli("scorecard", "fit", history, "--target", "default_flag", "--out", card)
    outcome.assert_one_line_error(str(history), "row 0", "'applied_on'", shown)
    assert not card.exists()


@pytest.mark.parametrize(
    "text", ["0000-01-01", "1500-01-31", "2500-01-31", "9999-12-31", "99999-12-31"]
)
def test_project_cutoff_out_of_range(text: str, cli: Cli, small_tape: Path, tmp_path: Path) -> None:
    """Was accepted: a cash-flow table dated in the year 99999 (and written with --out)."""
    out = tmp_path / "cf.parquet"
    outcome = cli("project", small_tape, "--cutoff", text, "--out", out)
    outcome.assert_one_line_error("--cutoff", repr(text), "between 1900-01-01 and 2199-12-31")
    assert not out.exists()


@pytest.mark.parametrize("text", ["2020-02-30", "1e308", "NaT", ""])
def test_project_cutoff_not_a_date(text: str, cli: Cli, small_tape: Path) -> None:
    """'NaT' and '' were 'dates: dates must not be missing', naming no argument."""
    cli("project", small_tape, "--cutoff", text).assert_one_line_error(
        "--cutoff", repr(text), "is not a date"
    )
