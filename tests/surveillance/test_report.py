"""The trustee report's files: workbook sheets equal the tidy tables, the state loads,
aggregates only, small cells withheld, nothing written on failure."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.servicer import servicer_frame
from support.trustee import trustee_cycle

import abs_engine as ae
from abs_engine.errors import PrivacyError
from abs_engine.reports.privacy import find_identifiers
from abs_engine.surveillance import Surveillance, surveil
from abs_engine.surveillance.early_warning import MIN_CELL
from abs_engine.surveillance.report import FILES, report_tables, write

CREATED = dt.datetime(2016, 7, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def cycle() -> tuple[Surveillance, ae.Pool]:
    return trustee_cycle()


@pytest.fixture(scope="module")
def written(cycle: tuple[Surveillance, ae.Pool], tmp_path_factory: pytest.TempPathFactory) -> Path:
    s, pool = cycle
    return write(s, tmp_path_factory.mktemp("trustee") / "out", tapes=[pool], created=CREATED)


def _equal_frames(got: pd.DataFrame, expected: pd.DataFrame, where: str) -> None:
    assert list(got.columns) == list(expected.columns), where
    assert len(got) == len(expected), where
    for c in expected.columns:
        e, g = expected[c], got[c]
        if pd.api.types.is_datetime64_any_dtype(e):
            assert (pd.to_datetime(g).fillna(pd.Timestamp(0)) == e.fillna(pd.Timestamp(0))).all(), (
                where,
                c,
            )
        elif pd.api.types.is_bool_dtype(e):
            assert (g.astype(bool) == e).all(), (where, c)
        elif pd.api.types.is_numeric_dtype(e):
            np.testing.assert_allclose(
                g.to_numpy(float),
                e.to_numpy(float),
                rtol=1e-12,
                atol=1e-9,
                equal_nan=True,
                err_msg=f"{where}.{c}",
            )
        else:
            assert (g.fillna("").astype(str) == e.fillna("").astype(str)).all(), (where, c)


def test_the_files(written: Path) -> None:
    assert sorted(p.name for p in written.iterdir()) == sorted(FILES)
    meta = json.loads((written / "run.json").read_text())
    assert meta["files"] == list(FILES)
    assert "triggers" in meta["tables"] and str(meta["seed"]) == "1"


def test_workbook_sheets_and_parquet_equal_the_tidy_tables(
    cycle: tuple[Surveillance, ae.Pool], written: Path
) -> None:
    s, _ = cycle
    tables = report_tables(s)
    assert {"collateral", "distributions", "notes", "triggers", "performance", "headroom"} <= set(
        tables
    )
    book = pd.read_excel(written / "report.xlsx", sheet_name=None)
    assert list(book)[: len(tables)] == list(tables)
    for name, frame in tables.items():
        _equal_frames(book[name], frame, f"sheet {name}")
        _equal_frames(
            pd.read_parquet(written / "tables" / f"{name}.parquet"), frame, f"parquet {name}"
        )


def test_the_state_loads_as_the_deal_with_its_state(
    cycle: tuple[Surveillance, ae.Pool], written: Path
) -> None:
    s, _ = cycle
    again = ae.load_deal(written / "state.toml")
    assert again.state == s.state
    assert again.name == s.deal.name


def test_the_report_names_what_it_shows(written: Path) -> None:
    html = (written / "report.html").read_text(encoding="utf-8")
    for title in (
        "Deal position",
        "Distributions",
        "Notes",
        "Reserve account and PDL",
        "Triggers",
        "Collateral performance",
        "Actual against projected",
        "Early warning",
        "Re-projection from today",
    ):
        assert f". {title}</h2>" in html, title
    assert 'id="trigger-table"' in html
    assert "CNY" in html


def test_aggregates_only(
    cycle: tuple[Surveillance, ae.Pool], written: Path, tmp_path: Path
) -> None:
    s, pool = cycle
    ids = [str(x) for x in pool.table.column("loan_id").to_pylist()]
    assert find_identifiers(written, ids) == []
    # The check has teeth: an output that would carry a loan id is refused, nothing written.
    planted = dict(s.tables)
    planted["notes"] = planted["notes"].assign(tranche=ids[0])
    leaky = Surveillance(
        s.deal, s.history, s.result, s.state, s.reprojection, s.base, planted, s.notes, s.settings
    )
    with pytest.raises(PrivacyError):
        write(leaky, tmp_path / "leak", tapes=[pool])
    assert not (tmp_path / "leak").exists()


def test_small_cells_are_withheld() -> None:
    """Grade B has 3 receivables in April (fewer than 5): its April figures are withheld
    from the report tables; the pool total and grade A stay."""
    months = [{"scheduled_principal": 50.0, "interest": 5.0, "default": 1.0} for _ in range(3)]
    a = servicer_frame(dt.date(2020, 2, 1), 1000.0, months, "A", receivables=[90, 80, 70])
    b = servicer_frame(dt.date(2020, 2, 1), 300.0, months, "B", receivables=[9, 6, 3])
    from support.deals import tiny_deal

    s = surveil(tiny_deal(), pd.concat([a, b], ignore_index=True), mc_paths=0)
    t = report_tables(s)["collateral"]
    april = t["period_end"] == pd.Timestamp("2020-04-30")
    assert t.loc[april & (t["group"] == "B"), ["end_balance", "default", "cdr"]].isna().all().all()
    assert t.loc[april & (t["group"] == "A"), "end_balance"].notna().all()
    assert t.loc[april & (t["group"] == "pool"), "end_balance"].iloc[0] == pytest.approx(
        1000 - 153 + 300 - 153
    )
    assert (t.loc[~april & (t["group"] == "B"), "receivables"] >= MIN_CELL).all()
    perf = report_tables(s)["performance"]
    hit = (perf["period_end"] == pd.Timestamp("2020-04-30")) & (perf["group"] == "B")
    assert perf.loc[hit, "actual"].isna().all()
    # The full figures stay with the analyst: only what is reported is withheld.
    assert s.tables["collateral"].loc[april & (t["group"] == "B"), "end_balance"].notna().all()
