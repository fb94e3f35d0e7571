"""Unreadable inputs are clear errors, not tracebacks (issue 12, "Faults" and "Wrong input").

Each case: exit status 2 with one line that names the file and what to do -- or, through the
API, an :class:`~abs_engine.errors.AbsError` -- and never a traceback, an endless read or a
partial output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import abs_engine as ae
from tests.reliability.conftest import Cli, deal_for

ASSUMPTIONS = ae.samples.DATA_DIR / "pools" / "sample_assumptions.toml"


@pytest.fixture
def tape_frame() -> pd.DataFrame:
    return ae.sample_pool(n=120, seed=9)


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "text"), [("latin-1", "Café Crème"), ("gbk", "北京分行")])
def test_a_csv_in_another_encoding_names_the_fix_and_reads_with_encoding(
    codec: str, text: str, cli: Cli, tape_frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame = tape_frame.assign(branch=text)
    first_annuity = frame.index[frame["payment_type"] == "annuity"][0]
    frame.loc[first_annuity, "payment_type"] = "等额本息" if codec == "gbk" else "annuity"
    tape = tmp_path / "tape.csv"
    frame.to_csv(tape, index=False, encoding=codec)
    line = cli("validate", tape).assert_one_line_error("is not UTF-8 text", "--encoding")
    assert text not in line
    res = cli("validate", tape, "--encoding", codec)
    assert res.code == 0, res.out + res.err
    pool = ae.load_pool(tape, encoding=codec)
    assert pool.table.column("branch")[0].as_py() == text
    cli("validate", tape, "--encoding", "no-such-codec").assert_one_line_error(
        "unknown text encoding"
    )


def test_a_utf8_bom_is_fine(tape_frame: pd.DataFrame, tmp_path: Path) -> None:
    tape = tmp_path / "bom.csv"
    tape_frame.to_csv(tape, index=False, encoding="utf-8-sig")
    assert len(ae.load_pool(tape)) == len(tape_frame)


# --- files that are not what they claim ---------------------------------------------------------


def test_legacy_and_corrupt_excel(cli: Cli, tape_frame: pd.DataFrame, tmp_path: Path) -> None:
    xls = tmp_path / "tape.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)  # an OLE2 header
    cli("validate", xls).assert_one_line_error("legacy Excel .xls", "save it as .xlsx")
    bad = tmp_path / "tape.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    cli("validate", bad).assert_one_line_error("not a valid .xlsx workbook")
    text = tmp_path / "text.xlsx"
    text.write_text("loan_id,grade\n", encoding="utf-8")
    cli("strats", text).assert_one_line_error("not a valid .xlsx workbook")
    good = tmp_path / "good.xlsx"
    ae.pool.write_tape(tape_frame, good)
    assert cli("validate", good).code == 0


def test_corrupt_and_empty_tapes(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_bytes(b"PAR1 and then nothing")
    cli("validate", tmp_path / "t.parquet").assert_one_line_error("not a parquet file")
    (tmp_path / "e.csv").write_text("", encoding="utf-8")
    cli("validate", tmp_path / "e.csv").assert_one_line_error("is empty")
    (tmp_path / "t.json").write_text("{}", encoding="utf-8")
    cli("validate", tmp_path / "t.json").assert_one_line_error("unknown file type '.json'")


@pytest.mark.parametrize("command", ["run", "breakeven", "stress"])
def test_a_tape_given_as_the_spec(
    command: str, cli: Cli, tape_frame: pd.DataFrame, tmp_path: Path
) -> None:
    for suffix in (".parquet", ".csv"):
        tape = tmp_path / f"tape{suffix}"
        ae.pool.write_tape(tape_frame, tape)
        extra = ["--out", str(tmp_path / "o")] if command in ("run", "stress") else []
        if command == "stress":
            extra += ["--grid", "default=1"]
        cli(command, tape, *extra).assert_one_line_error("looks like a tape", "--pool")
    renamed = tmp_path / "tape_as.toml"
    renamed.write_bytes((tmp_path / "tape.parquet").read_bytes())
    cli("run", renamed, "--out", tmp_path / "o").assert_one_line_error("is a parquet file")
    assert not (tmp_path / "o").exists()


def test_a_spec_that_is_not_utf8(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "deal.toml"
    spec.write_bytes('name = "Baitiao 白条"\n'.encode("gbk"))
    cli("run", spec, "--out", tmp_path / "o").assert_one_line_error(
        "is UTF-8 text", "line 1", "save the file as UTF-8"
    )
    assumptions = tmp_path / "a.toml"
    assumptions.write_bytes(b"severity = 0.8 # \xff\n")
    with pytest.raises(ae.SpecError, match="not UTF-8"):
        ae.load_assumptions(assumptions)
    scorecard = tmp_path / "card.toml"
    scorecard.write_bytes(b"name = '\xe9'\n")
    cli("grade", tmp_path / "x.csv", "--scorecard", scorecard, "--out", tmp_path / "g.csv")


def test_deeply_nested_toml(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "deep.toml"
    spec.write_text("a = " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    cli("run", spec, "--out", tmp_path / "o").assert_one_line_error("nested too deeply")
    with pytest.raises(ae.SpecError, match="nested too deeply"):
        ae.load_assumptions(spec)


@pytest.mark.parametrize(
    "where",
    ["tape", "spec", "assumptions", "scorecard", "scenarios", "history", "sets-file", "pool"],
)
def test_dev_zero_as_any_input_is_refused_at_once(
    where: str, cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    deal = deal_for(tmp_path, small_tape)
    out = tmp_path / "o"
    args = {
        "tape": ["validate", "/dev/zero"],
        "spec": ["run", "/dev/zero", "--out", out],
        "assumptions": ["project", small_tape, "--assumptions", "/dev/zero"],
        "scorecard": ["grade", small_tape, "--scorecard", "/dev/zero", "--out", tmp_path / "g.csv"],
        "scenarios": ["run", deal, "--scenarios", "/dev/zero", "--out", out],
        "history": ["calibrate", "/dev/zero", "--out", tmp_path / "a.toml"],
        "sets-file": ["stress", deal, "--set", "mild", "--sets-file", "/dev/zero", "--out", out],
        "pool": ["run", deal, "--pool", "/dev/zero", "--out", out],
    }[where]
    res = cli(*args)
    line = res.assert_one_line_error("/dev/zero")
    assert "not a regular file" in line or "unknown" in line
    assert not out.exists()


# --- parquet types and dates ----------------------------------------------------------------------


def test_nested_parquet_columns(tape_frame: pd.DataFrame, tmp_path: Path, cli: Cli) -> None:
    table = pa.Table.from_pandas(tape_frame, preserve_index=False)
    extra = table.append_column("tags", pa.array([[1, 2]] * len(tape_frame)))
    pq.write_table(extra, tmp_path / "extra.parquet")
    res = cli("validate", tmp_path / "extra.parquet")
    assert res.code == 0 and "'tags' holds nested values" in res.out and "left out" in res.out
    assert "tags" not in ae.load_pool(tmp_path / "extra.parquet").table.column_names
    i = table.column_names.index("balance")
    nested = table.set_column(i, "balance", pa.array([[1.0]] * len(tape_frame)))
    pq.write_table(nested, tmp_path / "nested.parquet")
    with pytest.raises(ae.TapeError, match="'balance' holds nested values"):
        ae.load_pool(tmp_path / "nested.parquet")
    j = table.column_names.index("loan_id")
    ids = table.set_column(j, "loan_id", pa.array([{"a": k} for k in range(len(tape_frame))]))
    pq.write_table(ids, tmp_path / "ids.parquet")
    cli("project", tmp_path / "ids.parquet", "--assumptions", ASSUMPTIONS).assert_one_line_error(
        "'loan_id' holds nested values"
    )


@pytest.mark.parametrize("form", ["date32", "timestamp", "text"])
def test_dates_outside_the_timestamp_range(
    form: str, tape_frame: pd.DataFrame, tmp_path: Path
) -> None:
    far = [dt.date(9999, 12, 31), dt.date(1000, 1, 1)]
    table = pa.Table.from_pandas(tape_frame, preserve_index=False)
    k = table.column_names.index("origination_date")
    n = len(tape_frame)
    ok = [dt.date(2015, 6, 1)] * (n - 2)
    if form == "date32":
        col = pa.array(far + ok, type=pa.date32())
    elif form == "timestamp":
        col = pa.array(
            [dt.datetime(d.year, d.month, d.day) for d in far + ok], type=pa.timestamp("s")
        )
    else:
        col = pa.array([d.isoformat() for d in far + ok])
    path = tmp_path / "t.parquet"
    pq.write_table(table.set_column(k, "origination_date", col), path)
    report = ae.validate_pool(path)
    probs = report.problems
    assert list(probs["row"]) == [0, 1]
    assert set(probs["column"]) == {"origination_date"}
    pool = ae.load_pool(path, on_error="exclude")
    assert len(pool) == n - 2


@pytest.mark.parametrize(
    ("typ", "value", "shown"),
    [
        (pa.date32(), -800_000, "-221-09-04"),  # before Python's year 1
        (pa.date32(), 3_000_000, "10183-09-21"),  # after Python's year 9999
        (pa.timestamp("s"), -(10**13), "-314918-08-13"),
        (pa.timestamp("ms"), 2**62, "146140482-04-24"),
    ],
)
def test_dates_beyond_pythons_calendar(
    typ: pa.DataType, value: int, shown: str, tape_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """A stored date or timestamp no Python date can hold (an attacker's or a broken
    export's): a problem on its row with the day as numpy spells it, never a crash; the
    row set aside keeps its cell as text."""
    table = pa.Table.from_pandas(tape_frame, preserve_index=False)
    k = table.column_names.index("origination_date")
    n = len(tape_frame)
    ok = {"s": 1_433_116_800, "ms": 1_433_116_800_000}.get(getattr(typ, "unit", ""), 16_587)
    col = pa.array([value] + [ok] * (n - 1), type=typ)  # 2015-06-01 in the rest
    path = tmp_path / "t.parquet"
    pq.write_table(table.set_column(k, "origination_date", col), path)
    with pytest.raises(ae.TapeError) as info:
        ae.load_pool(path)
    text = str(info.value)
    assert "row 0" in text and "origination_date" in text and shown in text
    pool = ae.load_pool(path, on_error="exclude")
    assert len(pool) == n - 1
    assert list(pool.excluded["row"]) == [0]
    assert "origination_date must be a date" in pool.excluded["reason"].iloc[0]


# --- scenario tables and the scheduler ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "stress"])
@pytest.mark.parametrize("case", ["empty", "header only", "corrupt parquet", "xlsx", "bad value"])
def test_scenario_tables_share_one_reader(
    command: str, case: str, cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    deal = deal_for(tmp_path, small_tape)
    path = tmp_path / {"corrupt parquet": "s.parquet", "xlsx": "s.xlsx"}.get(case, "s.csv")
    if case == "empty":
        path.write_text("", encoding="utf-8")
    elif case == "header only":
        path.write_text("scenario,default_mult\n", encoding="utf-8")
    elif case == "corrupt parquet":
        path.write_bytes(b"PAR1 broken")
    elif case == "xlsx":
        pd.DataFrame({"scenario": ["a", "b"], "default_mult": [1.0, 2.0]}).to_excel(
            path, index=False
        )
    else:
        path.write_text("scenario,default_mult\na,1\nb,severe\n", encoding="utf-8")
    out = tmp_path / "o"
    extra = ["--executor", "serial"] if command == "stress" else ["--no-breakeven"]
    res = cli(command, deal, "--scenarios", path, "--out", out, *extra)
    if case == "xlsx":
        assert res.code == 0, res.err  # read like a CSV
        return
    fragment = {
        "empty": "is empty",
        "header only": "scenario table is empty",
        "corrupt parquet": "not a parquet file",
        "bad value": "not a number ('severe')",
    }[case]
    res.assert_one_line_error(fragment)
    assert not out.exists()


@pytest.mark.parametrize("address", ["tcp://::::bad", "notaurl", "tcp://host:99999", "http://h:1"])
def test_a_malformed_scheduler_address(
    address: str, cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    deal = deal_for(tmp_path, small_tape)
    out = tmp_path / "o"
    res = cli("stress", deal, "--grid", "default=1,2", "--out", out, "--scheduler", address)
    res.assert_one_line_error("--scheduler", "is not a scheduler address", "tcp://HOST:PORT")
    assert not out.exists()
    from abs_engine.stress.batch import check_address

    assert check_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"


# --- assumptions files ----------------------------------------------------------------------------


def test_an_assumptions_file_with_only_a_default_table(
    cli: Cli, small_tape: Path, tmp_path: Path
) -> None:
    path = tmp_path / "a.toml"
    path.write_text(
        "[default]\nseverity = 0.85\nrecovery_lag = 3\n"
        "default = { cdr = 0.05 }\nprepay = { cpr = 0.10 }\n",
        encoding="utf-8",
    )
    a = ae.load_assumptions(path)
    assert isinstance(a, ae.Assumptions)
    assert a.severity == 0.85 and a.recovery_lag == 3 and a.default == ae.curves.cdr(0.05)
    res = cli("project", small_tape, "--assumptions", path)
    assert res.code == 0, res.err
    path.write_text("severity = 0.5\n[default]\nseverity = 0.85\n", encoding="utf-8")
    with pytest.raises(ae.SpecError, match="sits beside a \\[default\\] table"):
        ae.load_assumptions(path)
    # a default *curve* at the top level still means the one set's default curve
    path.write_text("default = { cdr = 0.02 }\nseverity = 0.5\n", encoding="utf-8")
    assert ae.load_assumptions(path).default == ae.curves.cdr(0.02)


# --- plain values in messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "plain"),
    [
        (lambda: ae.Scenario("x", default_mult=np.float64(-1.0)), "got -1.0"),
        (lambda: ae.Scenario("x", default_mult=np.str_("severe")), "got 'severe'"),
        (lambda: ae.Scenario(np.str_("x"), default_mult={"A": np.float64(-2)}), "scenario 'x'"),
        (
            lambda: ae.ScenarioSet.from_frame(
                pd.DataFrame({"scenario": ["a"], "default_mult": [-1.0]})
            ),
            "scenario 'a' default_mult: a multiplier between 0 and 1e+07 expected; got -1.0",
        ),
        (lambda: ae.Assumptions(severity=np.float64(2.0)), "got 2.0"),
        (lambda: ae.curves.cdr(np.float64(-0.1)), "got -0.1"),
        (lambda: ae.curves.psa(np.float64(-1)), "got -1.0"),
        (lambda: ae.stress.grid(default_mult=[-1.0, 2]), "got [-1.0, 2.0]"),
        (lambda: ae.stress.MonteCarloSpec(n_paths=np.int64(-3)), "got -3"),
        (lambda: ae.stress.MonteCarloSpec(n_paths=10, rho=np.float64(2.0)), "got 2.0"),
    ],
)
def test_messages_carry_plain_values(make: object, plain: str) -> None:
    with pytest.raises(ae.AbsError) as info:
        make()  # type: ignore[operator]
    text = str(info.value)
    assert plain in text, text
    assert "np." not in text and "numpy" not in text and "array(" not in text, text


@pytest.mark.parametrize(
    "make",
    [
        lambda v: ae.Scenario("x", default_mult=v),
        lambda v: ae.Scenario("x", prepay_mult={"A": v}),
        lambda v: ae.ScenarioSet.from_frame(
            pd.DataFrame({"scenario": ["a"], "severity_mult": [v]})
        ),
        lambda v: ae.stress.grid(default_mult=[1.0, v]),
    ],
)
def test_an_absurd_multiplier_is_refused_not_overflowed(make: Any) -> None:
    """1e308 (a misplaced exponent) would overflow to inf in the rate products; the bound is
    1e7, above the Monte Carlo calibration grid (about 1e6) and far above any stress."""
    with pytest.raises(ae.ScenarioError, match="between 0 and 1e\\+07"):
        make(1e308)
    make(1e7)  # the bound itself is a multiplier (every rate capped at 100%)
