"""The HTML document model, display formats, run metadata and the pool sections."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from numpy.testing import assert_allclose

import abs_engine as ae
from abs_engine import reports
from abs_engine.errors import SpecError
from abs_engine.reports import format as fmt
from abs_engine.reports import metadata as md
from abs_engine.reports import pool_sections as ps
from abs_engine.reports.html import plotly_js

# --- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "spec", "kwargs", "expected"),
    [
        (1234567.891, "money", {}, "1,234,567.89"),
        (1234567.891, "money0", {}, "1,234,568"),
        (-1234.5, "money", {"currency": "CNY", "unit": True}, "CNY -1,234.50"),
        (1234.5, "money", {"currency": "CNY"}, "1,234.50"),  # in tables the header names it
        (-0.001, "money", {}, "0.00"),  # never "-0.00"
        (0.051234, "pct", {}, "5.12%"),
        (0.051234, "pct4", {}, "5.1234%"),
        (1.0, "pct", {}, "100.00%"),
        (0.0125, "bp", {}, "125 bp"),
        (1.3456, "multiple", {}, "1.35x"),
        (2.3456, "years", {}, "2.35"),
        (2.3456, "years", {"unit": True}, "2.35 years"),
        (11.24, "months", {"unit": True}, "11.2 months"),
        (3000, "int", {}, "3,000"),
        (2.5, "float1", {}, "2.5"),
        (pd.Timestamp("2015-09-30 12:00"), "date", {}, "2015-09-30"),
        (dt.date(2015, 9, 30), "date", {}, "2015-09-30"),
        (np.datetime64("2015-09-30"), "date", {}, "2015-09-30"),
        ("2015-09-30", "date", {}, "2015-09-30"),
        (float("nan"), "money", {}, ""),
        (None, "pct", {}, ""),
        (pd.NaT, "date", {}, ""),
        ("Total", "money", {}, "Total"),
        ("A", "text", {}, "A"),
        (float("inf"), "float", {}, "inf"),
    ],
)
def test_format_value(value: Any, spec: str, kwargs: dict[str, Any], expected: str) -> None:
    assert fmt.format_value(value, spec, **kwargs) == expected


def test_parse_format_rejects_unknown_specs_with_the_key_path() -> None:
    assert fmt.parse_format("money0") == fmt.ColumnFormat("money", 0)
    assert str(fmt.parse_format("pct")) == "pct"
    assert str(fmt.parse_format("pct4")) == "pct4"
    with pytest.raises(SpecError, match=r"formats\.balance: unknown format 'moneyy'"):
        fmt.parse_format("moneyy", "formats.balance")
    with pytest.raises(SpecError, match="takes no number of decimals"):
        fmt.parse_format("date2")


def test_excel_number_formats() -> None:
    assert fmt.excel_number_format("money") == "#,##0.00"
    assert fmt.excel_number_format("money0") == "#,##0"
    assert fmt.excel_number_format("pct") == "0.00%"
    assert fmt.excel_number_format("int") == "#,##0"
    assert fmt.excel_number_format("date") == "yyyy-mm-dd"
    assert fmt.excel_number_format("multiple") == '0.00"x"'
    assert fmt.excel_number_format("text") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("balance", "money"),
        ("pct_balance", "pct"),
        ("wa_apr", "pct"),
        ("wa_fee_rate", "pct"),
        ("cumulative_net_loss", "pct"),
        ("cdr", "pct"),
        ("coupon", "pct"),
        ("wa_remaining_term", "months"),
        ("recovery_lag", "months"),
        ("wal", "years"),
        ("modified_duration", "years"),
        ("count", "int"),
        ("period", "int"),
        ("breakeven_multiple", "multiple"),
    ],
)
def test_infer_format(name: str, expected: str) -> None:
    assert fmt.infer_format(name) == expected


def test_infer_format_uses_dtypes() -> None:
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2015-01-01"]), "name": ["x"], "n_loans": [1], "x": [1]}
    )
    got = {c: str(f) for c, f in fmt.formats_for(frame).items()}
    assert got == {"date": "date", "name": "text", "n_loans": "int", "x": "int"}
    with pytest.raises(SpecError, match="does not have"):
        fmt.formats_for(frame, {"nope": "money"})


def test_column_labels_name_units() -> None:
    assert fmt.column_label("balance", "money", currency="CNY") == "Balance (CNY)"
    assert fmt.column_label("wa_age", "months") == "WA age (months)"
    assert fmt.column_label("wal", "years") == "WAL (years)"
    assert fmt.column_label("pct_balance", "pct") == "% of balance"
    assert fmt.column_label("default_mult[C]") == "Default mult [C]"
    assert fmt.column_label("oc_ratio", "pct") == "OC ratio"
    assert fmt.column_label("x", labels={"x": "Custom"}) == "Custom"


# --- metadata -------------------------------------------------------------------------------------


def test_spec_hash_is_stable_and_sensitive() -> None:
    a = {"deal": {"tranches": [{"coupon": 0.051, "name": "A"}]}, "seed": 7}
    b = {"seed": 7, "deal": {"tranches": [{"name": "A", "coupon": 0.051}]}}
    assert md.spec_hash(a) == md.spec_hash(b)
    assert re.fullmatch(r"[0-9a-f]{64}", md.spec_hash(a))
    c = {"seed": 7, "deal": {"tranches": [{"name": "A", "coupon": 0.052}]}}
    assert md.spec_hash(c) != md.spec_hash(a)
    # numpy, dates, read-only mappings, paths, tuples and dataclasses with to_dict are accepted
    spec = {
        "x": np.float64(0.5),
        "n": np.int32(3),
        "v": np.array([1.0, 2.0]),
        "d": dt.date(2015, 9, 30),
        "m": MappingProxyType({"k": (1, 2)}),
        "p": Path("pools/sample_assumptions.toml"),
        "a": ae.Assumptions(default=ae.curves.cdr(0.02)),
    }
    assert md.canonical_json(spec).startswith('{"a":{"advancing":false')
    with pytest.raises(SpecError, match=r"o: cannot hash a object"):
        md.spec_hash({"o": object()})


def test_flatten_spec_gives_key_paths() -> None:
    rows = md.flatten_spec({"tranches": [{"coupon": 0.05}, {"coupon": 0.07}], "name": "x"})
    assert rows == [("name", "x"), ("tranches[0].coupon", 0.05), ("tranches[1].coupon", 0.07)]


def test_git_commit_of_this_checkout_and_outside_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(md.COMMIT_ENV, raising=False)
    root = Path(__file__).resolve().parents[2]
    commit = md.git_commit(root)
    if (root / ".git").exists():
        assert commit is not None and re.fullmatch(r"[0-9a-f]{40}", commit)
    assert md.git_commit(tmp_path) is None  # not a checkout: None, never an error
    monkeypatch.setenv(md.COMMIT_ENV, "abc123")
    assert md.git_commit(tmp_path) == "abc123"


def test_git_commit_reads_packed_refs_and_worktree_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(md.COMMIT_ENV, raising=False)
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{sha} refs/heads/main\n")
    (repo / "pkg").mkdir()
    assert md.git_commit(repo / "pkg") == sha
    worktree = tmp_path / "wt"
    gitdir = repo / ".git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text(sha.replace("0", "f") + "\n")  # detached head
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {gitdir}\n")
    assert md.git_commit(worktree) == sha.replace("0", "f")
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/missing\n")
    assert md.git_commit(repo) is None


def test_run_metadata_records_versions_seed_and_spec() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    meta = md.run_metadata({"a": 1}, seed=7, created=when, extra={"tape": "x.parquet"})
    assert meta.package_version == ae.__version__
    assert meta.seed == 7
    assert meta.created == "2026-01-02T03:04:05Z"
    assert meta.spec_hash == md.spec_hash({"a": 1})
    d = meta.to_dict()
    assert d["numpy"] == np.__version__ and d["pandas"] == pd.__version__
    assert d["tape"] == "x.parquet"
    frame = meta.to_frame()
    assert frame.set_index("key").loc["spec.a", "value"] == "1"
    assert "seed 7" in meta.short()
    with pytest.raises(SpecError, match="seed"):
        md.run_metadata(seed=1.5)  # type: ignore[arg-type]
    assert md.run_metadata().to_dict()["seed"] == "none"


# --- the document model ------------------------------------------------------------------------------


def _strats_like() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "count": [2, 1, 3],
            "balance": [1500.0, 250.25, 1750.25],
            "pct_balance": [1500 / 1750.25, 250.25 / 1750.25, 1.0],
        },
        index=pd.Index(["A", "B", "Total"], name="grade"),
    )
    return frame


def test_table_renders_formats_alignment_units_and_total_row() -> None:
    report = reports.Report(
        "T",
        [reports.Section("Pool", [reports.Table(_strats_like(), caption="By grade")])],
        currency="CNY",
    )
    text = report.render()
    assert "<caption>By grade</caption>" in text
    assert "Balance (CNY)" in text and "% of balance" in text and ">Grade<" in text
    assert '<td class="num">1,500.00</td>' in text
    assert '<td class="num">85.70%</td>' in text
    assert '<tr class="total"><th scope="row">Total</th>' in text
    assert text.count('<tr class="total">') == 1
    assert "plotly" not in text.lower()  # no figure, no plotly.js


def test_collapsed_table_and_notes() -> None:
    t = reports.Table(_strats_like(), caption="Per month", collapsed=True, note="Aggregates.")
    text = reports.Report("T", [reports.Section("S", [t])]).render()
    assert "<details><summary>Per month (3 rows)</summary>" in text
    assert '<p class="table-note">Aggregates.</p>' in text


def test_table_guards() -> None:
    with pytest.raises(SpecError, match="unknown format"):
        reports.Table(_strats_like(), {"balance": "dollars"})
    with pytest.raises(SpecError, match="max_rows"):
        reports.Table(pd.DataFrame({"x": range(20)}), max_rows=10)
    with pytest.raises(SpecError, match="DataFrame"):
        reports.Table([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"blocks\[0\]"):
        reports.Section("S", ["text"])  # type: ignore[list-item]


def test_key_value_rows_carry_units() -> None:
    kv = reports.KeyValue(
        [("Pool balance", 800_000_000.0), ("WAL", 1.234, "years"), ("Coupon", 0.051, "pct")]
    )
    text = reports.Report("T", [reports.Section("S", [kv])], currency="CNY").render()
    assert "CNY 800,000,000.00" in text
    assert "1.23 years" in text
    assert "5.10%" in text
    with pytest.raises(SpecError, match="unknown format"):
        reports.KeyValue([("x", 1, "nope")])
    from_series = reports.KeyValue.from_series(pd.Series({"balance": 10.0, "wa_apr": 0.12}))
    assert [r[0] for r in from_series.rows] == ["Balance", "WA APR"]


def test_text_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>"
    fig = go.Figure(go.Scatter(x=[1], y=[1], name="</script><b>x"))
    report = reports.Report(
        evil,
        [
            reports.Section(
                evil,
                [
                    reports.Heading(evil),
                    reports.Paragraph(evil),
                    reports.Table(pd.DataFrame({evil: [evil]}), {evil: "text"}, caption=evil),
                    reports.Figure(fig, caption=evil),
                ],
            )
        ],
    )
    text = report.render(include_plotlyjs=False)
    assert "<script>alert" not in text
    # Scripts: the figure data block and the drawing script, each closed once.
    assert text.count("</script>") == text.count("<script")


def test_plotly_js_is_embedded_exactly_once_and_nothing_is_fetched() -> None:
    figs = [reports.Figure(go.Figure(go.Bar(x=[1, 2], y=[i, 2]))) for i in range(3)]
    text = reports.Report("T", [reports.Section("S", figs)]).render()
    js = plotly_js()
    assert text.count(js) == 1
    assert text.count('<div class="plot"') == 3
    without = text.replace(js, "")
    assert "<script src" not in without
    assert "cdn.plot.ly" not in without and "https://" not in without
    # the report template replaces plotly's default one
    assert '"colorway":["#1f4e79"' in without


def test_a_figure_keeps_its_own_template() -> None:
    fig = go.Figure(go.Bar(x=[1], y=[1]), layout={"template": "plotly_dark"})
    text = reports.Figure(fig).to_json()
    assert '"paper_bgcolor":"rgb(17,17,17)"' in text


def test_ids_are_unique_and_the_toc_lists_sections_and_headings() -> None:
    sections = [
        reports.Section("Pool", [reports.Heading("By grade"), reports.Paragraph("a")]),
        reports.Section("Pool", [reports.Heading("By grade")]),
    ]
    text = reports.Report("T", sections).render()
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    for href in re.findall(r'href="#([^"]+)"', text):
        assert href in ids
    assert text.count('<nav class="toc">') == 1
    assert ">1. Pool<" in text and ">2. Pool<" in text


def test_metadata_section_and_stamp(tmp_path: Path) -> None:
    meta = md.run_metadata({"deal": {"name": "x"}}, seed=11)
    text = reports.Report("T", [], metadata=meta).render()
    assert "Run metadata" in text
    assert meta.spec_hash is not None and meta.spec_hash in text
    assert "seed 11" in text
    assert "Effective spec (JSON)" in text and "&quot;name&quot;: &quot;x&quot;" in text


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "report.html"
    report = reports.Report("T", [reports.Section("S", [reports.Paragraph("x")])])
    assert report.write(target) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    before = target.read_text(encoding="utf-8")

    def boom(self: Any, **kwargs: Any) -> str:
        raise RuntimeError("render failed")

    monkeypatch.setattr(reports.Report, "render", boom)
    with pytest.raises(RuntimeError):
        report.write(target)
    assert target.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_with_sections_and_extended_return_new_objects() -> None:
    s = reports.Section("S")
    s2 = s.extended(reports.Paragraph("x"))
    assert s.blocks == () and len(s2.blocks) == 1
    r = reports.Report("T")
    assert len(r.with_sections(s, s2).sections) == 2 and r.sections == ()


# --- pool sections ------------------------------------------------------------------------------------


def test_sample_report_sections(sample_outputs: Any) -> None:
    report = sample_outputs.report
    titles = [s.title for s in report.sections]
    assert titles == [
        "Pool stratification",
        "Collateral cash flows",
        "Scenario comparison",
        "Assumptions",
    ]
    assert len(report.figures) == 11
    text = report.render()  # its speed is measured by benchmarks/bench_reports.py
    assert len(text) < 6_000_000  # plotly.js (~4.8 MB) plus aggregated data only


def test_strats_section_has_a_table_per_standard_strat(sample_outputs: Any) -> None:
    section = ps.strats_section(sample_outputs.pool)
    tables = section.tables
    strats = sample_outputs.pool.strats()
    assert len(tables) == len(strats)
    for table, (name, expected) in zip(tables, strats.items(), strict=True):
        assert table.frame.index.name == name
        assert list(table.frame.index) == list(expected.index)
        assert table.column_formats["pct_balance"].kind == "pct"
        assert table.column_formats["balance"].kind == "money"
        assert table.column_formats["wa_remaining_term"].kind == "months"


def test_small_provident_fund_cells_are_withheld_with_their_complements(
    sample_outputs: Any,
) -> None:
    section = ps.strats_section(sample_outputs.pool, by=["grade", "pf_status"], min_cell=200)
    grade, pf = section.tables
    assert not grade.frame.isna().all(axis=1).any()  # grade is not borrower-level
    cells = pf.frame.drop(index="Total")
    withheld = cells["count"].isna()
    assert withheld.sum() >= 2  # a small cell and at least one complement
    assert cells.loc[withheld].isna().all(axis=None)  # no figure of a withheld cell shows
    # the total less the shown cells is a group of at least min_cell receivables
    assert pf.frame.loc["Total", "count"] - cells["count"].sum() >= 200
    assert pf.frame.loc["Total", "balance"] == pytest.approx(sample_outputs.pool.balance)
    assert pf.note is not None and "withheld" in pf.note


def test_observed_rates_recover_the_assumed_cdr_and_cpr(sample_outputs: Any) -> None:
    # Non-advancing SIFMA mechanics: the observed rates are the assumptions exactly
    # (for receivables current at cut-off; delinquent ones roll to default on their own).
    a = ae.Assumptions(
        default=ae.curves.cdr(0.05), prepay=ae.curves.cpr(0.10), severity=0.5, recovery_lag=2
    )
    pool = sample_outputs.pool
    cf = ae.project(pool.select(pool.column("dpd") == 0), a)
    frame = ps.cashflow_frame(cf)
    assert_allclose(frame["cdr"].dropna(), 0.05, rtol=1e-9)
    assert_allclose(frame["cpr"].dropna(), 0.10, rtol=1e-9)


def test_wal_years_of_a_straight_line_paydown() -> None:
    begin = np.array([[120.0, 80.0, 40.0]])
    end = np.array([[80.0, 40.0, 0.0]])
    assert_allclose(ps.wal_years(begin, end), [2.0 / 12.0])  # (1+2+3)/3 months


def test_collateral_section_by_grade_and_by_pool(sample_outputs: Any) -> None:
    by_grade = ps.collateral_section(sample_outputs.cf, currency="CNY")
    assert len(by_grade.figures) == 7
    totals = next(t for t in by_grade.tables if t.caption == "Life totals by grade")
    assert list(totals.frame.index) == ["A", "B", "C", "Total"]
    assert totals.frame.loc["Total", "loss"] == pytest.approx(
        float(sample_outputs.cf["loss"][0].sum())
    )
    pooled = ps.collateral_section(
        sample_outputs.cf.pool_total(), scenario="default_mult=2,prepay_mult=1"
    )
    assert len(pooled.figures) == 5
    kv = pooled.blocks[0]
    assert isinstance(kv, reports.KeyValue)
    assert kv.rows[0][1] == "default_mult=2,prepay_mult=1"
    with pytest.raises(SpecError, match="no scenario 'nope'"):
        ps.collateral_section(sample_outputs.cf, scenario="nope")


def test_cashflow_frame_balances(sample_outputs: Any) -> None:
    frame = ps.cashflow_frame(sample_outputs.cf, 0)
    lhs = frame["begin_balance"]
    rhs = (
        frame["scheduled_principal"] + frame["prepayment"] + frame["default"] + frame["end_balance"]
    )
    assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-6)
    assert frame.index[0] == 1 and frame["end_balance"].iloc[-1] == pytest.approx(0.0, abs=1e-6)


def test_scenario_section(sample_outputs: Any) -> None:
    section = ps.scenario_section(sample_outputs.cf, scenarios=sample_outputs.scenarios)
    assert section is not None
    (table,) = section.tables
    assert len(table.frame) == 9
    assert {"default_mult", "prepay_mult", "cumulative_net_loss", "wal"} <= set(table.frame.columns)
    cnl = table.frame["cumulative_net_loss"]
    # more defaults, more loss: the 4x rows lose more than the 1x rows
    assert cnl.filter(like="default_mult=4").min() > cnl.filter(like="default_mult=1").max()
    assert ps.scenario_section(_one(sample_outputs)) is None
    with pytest.raises(SpecError, match="does not match"):
        ps.scenario_frame(sample_outputs.cf, ae.ScenarioSet.grid(default_mult=[1, 2]))


def _one(sample_outputs: Any) -> ae.PoolCashflows:
    return ae.project(sample_outputs.pool, sample_outputs.assumptions)


def test_many_scenarios_give_a_distribution_and_fan_charts(sample_outputs: Any) -> None:
    grid = ae.ScenarioSet.grid(
        default_mult=np.linspace(0.5, 3, 10), prepay_mult=np.linspace(0.5, 1.5, 6)
    )
    cf = ae.project(sample_outputs.pool, sample_outputs.assumptions, grid)
    section = ps.scenario_section(cf, scenarios=grid)
    assert section is not None
    (table,) = section.tables
    assert list(table.frame.index) == ["min", "p5", "p25", "median", "p75", "p95", "max", "mean"]
    for f in section.figures:
        assert len(f.figure.data) == 5  # two bands (two traces each) and the median


def test_assumptions_section_and_curve_descriptions(sample_outputs: Any) -> None:
    section = ps.assumptions_section(
        sample_outputs.assumptions, scenarios=sample_outputs.scenarios, grades=("A", "B", "C")
    )
    table = section.tables[0]
    assert list(table.frame.index) == ["A", "B", "C"]
    assert table.frame.loc["A", "prepay_curve"] == "CPR 12.00%"
    assert table.frame.loc["C", "default_curve"].startswith("CDR vector by age: 2.00%, 4.00%")
    assert len(section.tables[1].frame) == 9
    single = ps.assumptions_frame(
        ae.Assumptions(default=ae.curves.sda(150), prepay=ae.curves.psa(200))
    )
    assert single.loc["all grades", "default_curve"] == "150% SDA"
    assert single.loc["all grades", "prepay_curve"] == "200% PSA"
    assert ps.describe_curve(ae.curves.cdr(0.02).scaled(2)) == "CDR 2.00% x 2.00"
    assert ps.describe_curve(ae.curves.cumulative_default(0.08, [1, 2, 3])).startswith(
        "Cumulative default 8.00% over 3 months"
    )


def test_tables_can_carry_an_anchor() -> None:
    t = reports.Table(
        pd.DataFrame({"tranche": ["A", "B"], "coupon": [0.05, 0.07]}), id="tranche-table"
    )
    text = reports.Report("T", [reports.Section("Capital stack", [t])]).render()
    assert '<table class="data" id="tranche-table">' in text
    assert text.count("<tbody>") == 1 and text.count("<tr>") == 3  # header and two tranches
