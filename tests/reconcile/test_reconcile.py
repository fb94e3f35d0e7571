"""The reconciliation example (issue 16): the engine against an independent decimal model.

``examples/reconcile/deal.toml`` (14 receivables, annuity and flat-fee, grades A and B;
a fee, two rated classes and an equity; 12 periods) is projected and paid under
non-SIFMA conventions.  ``tests/reconcile/independent_model.py`` computes every pool,
note and fee cell from the documented rules in exact decimal arithmetic and wrote
``examples/reconcile/expected.csv``; here the engine must equal it to the cent in every
cell, the file must be what the model writes, and a changed convention must show up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import runpy
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abs_engine as ae
from reconcile import independent_model as model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = runpy.run_path(str(ROOT / "examples" / "06_reconcile.py"), run_name="reconcile_example")
HALF_CENT = 0.005


def engine_table(deal: ae.deal.Deal) -> pd.DataFrame:
    table: pd.DataFrame = EXAMPLE["cashflow_table"](ae.run(deal))
    return table


def test_the_committed_csv_is_what_the_independent_model_writes() -> None:
    """expected.csv cannot drift from its generator (regenerate: see the model's docstring)."""
    assert model.EXPECTED.read_text(encoding="utf-8") == model.expected_csv()


def test_the_engine_equals_the_independent_model_in_every_cell() -> None:
    """Every pool, note and fee cell of every period, to the cent; dates equal."""
    ours = engine_table(ae.load_deal(model.DEAL))
    theirs = pd.read_csv(model.EXPECTED)
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs) == 12
    assert list(ours["date"]) == list(theirs["date"])
    off = []
    for col in theirs.columns[2:]:
        for period, a, b in zip(theirs["period"], ours[col], theirs[col], strict=True):
            if not abs(float(a) - float(b)) < HALF_CENT:
                off.append(f"{col} period {period}: engine {a!r}, expected {b!r}")
    assert not off, "cells differ:\n" + "\n".join(off)
    # the example exercises what it claims: every pool flow, a deferred and accruing
    # interest shortfall, the PDL, the residual holder
    for col in ("pool_default", "pool_prepayment", "pool_recovery", "pool_loss", "pool_fee",
                "mezzanine_interest_shortfall", "equity_pdl", "equity_residual"):  # fmt: skip
        assert (theirs[col] > 0).any(), col


@pytest.mark.parametrize(
    "change",
    [
        {"rounding": "none"},
        {"prepayment_timing": "end"},
        {"default_order": "sifma"},
        {"annual_to_periodic": "monthly"},
        {"loss_timing": "liquidation"},
        {"amortisation": "schedule"},
        {"coupon_decimals": None},
        {"flat_fee": "schedule"},
        {"receivable_business_days": "china_exchange"},
        {"business_days": "none"},
        {"roll": "following"},
        {"fee_day_count": "ACT/360"},
        {"fee_balance": "begin"},
        {"unpaid_interest": "carried"},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_a_changed_convention_shows_in_the_reconciliation(change: dict[str, Any]) -> None:
    """The comparison can fail: each convention of the example, set otherwise, moves at
    least one cell by half a cent or more (SIFMA float arithmetic alone moves 7 cents)."""
    deal = ae.load_deal(model.DEAL)
    changed = dataclasses.replace(deal, conventions=dataclasses.replace(deal.conventions, **change))
    report = EXAMPLE["reconcile"](engine_table(changed), pd.read_csv(model.EXPECTED))
    assert report["cells_off"].sum() > 0


def test_the_example_exits_1_and_names_the_cells_when_they_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same deal with SIFMA's end-of-month prepayments: the script reports the columns
    and exits 1; its outputs are written all the same (atomically)."""
    folder = tmp_path / "deal"
    folder.mkdir()
    shutil.copy(model.DEAL.parent / "tape.csv", folder / "tape.csv")
    text = model.DEAL.read_text(encoding="utf-8")
    assert 'prepayment_timing = "start"' in text
    (folder / "deal.toml").write_text(
        text.replace('prepayment_timing = "start"', 'prepayment_timing = "end"'), encoding="utf-8"
    )
    out = tmp_path / "out"
    status = EXAMPLE["main"]([str(out), "--deal", str(folder / "deal.toml"),
                              "--expected", str(model.EXPECTED)])  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 1
    assert "pool_prepayment" in printed and "differ" in printed
    report = pd.read_csv(out / "reconcile" / "reconciliation.csv")
    assert report.set_index("column").loc["pool_prepayment", "cells_off"] > 0
    assert {p.name for p in (out / "reconcile").iterdir()} == {
        "pool.csv", "notes.csv", "fees.csv", "cashflows.csv", "reconciliation.csv"}  # fmt: skip


def test_a_missing_period_or_column_is_a_difference() -> None:
    theirs = pd.read_csv(model.EXPECTED)
    ours = theirs.iloc[:-1].drop(columns="servicer_due")
    report = EXAMPLE["reconcile"](ours, theirs).set_index("column")
    assert report.loc["servicer_due", "note"] == "missing in engine"
    assert report.loc["pool_recovery", "cells_off"] == 1
    assert report.loc["date", "cells_off"] == 1


# --- the independent model itself, on hand-checked figures ---------------------------------------


def test_model_calendars() -> None:
    """China interbank 2025: 31 Jan is in the Spring Festival (28 Jan - 4 Feb, then the
    weekend): following would leave January, so modified following goes back to Mon 27 Jan.
    Sat 26 Apr rolls following to Sun 27 Apr, a declared working day (interbank; the
    exchanges open on Mon 28 Apr).  Sat 31 May (Dragon Boat) -> Fri 30 May."""
    assert model.roll(dt.date(2025, 1, 31), "china_interbank", "modified_following") == dt.date(
        2025, 1, 27
    )
    assert model.roll(dt.date(2025, 4, 26), "china_interbank", "following") == dt.date(2025, 4, 27)
    assert model.roll(dt.date(2025, 4, 26), "china_exchange", "following") == dt.date(2025, 4, 28)
    assert model.roll(dt.date(2025, 5, 31), "china_interbank", "modified_following") == dt.date(
        2025, 5, 30
    )
    assert model.roll(dt.date(2025, 5, 31), "weekends", "preceding") == dt.date(2025, 5, 30)


def test_model_first_month_of_an_annuity_by_hand() -> None:
    """R02: 3,456.78 at 18% (c = 0.015 a month), 6 months left, grade A (CDR 6%, CPR 15%,
    severity 80%, lag 2).  Asset period 1: 26 Nov -> 26 Dec 2024 = 30 days, so
    d = 1 - 0.94^(30/365) = 0.0050727396, p = 1 - 0.85^(30/365) = 0.0132689018.
    Default r(d x 3,456.78 = 17.535345) = 17.54; prepaid at the start
    r(p x 3,439.24 = 45.634938) = 45.63; paying balance Q = 3,393.61; interest
    r(0.015 x Q = 50.90415) = 50.90; payment r(Q c / (1 - 1.015^-6) = 595.664124) = 595.66,
    principal 544.76; end balance 2,848.85; loss r(0.8 x 17.54 = 14.032) = 14.03 now,
    recovery 3.51 in month 3."""
    deal = model.load(model.DEAL)
    r02 = [t for t in model.read_tape(model.DEAL.parent / "tape.csv") if t["balance"] == Decimal(
        "3456.78")]  # fmt: skip
    months = model.project_pool(deal, r02)
    want = {"default": "17.54", "prepayment": "45.63", "interest": "50.90",
            "scheduled_principal": "544.76", "end_balance": "2848.85", "loss": "14.03"}  # fmt: skip
    assert {k: str(months[0][k]) for k in want} == want
    assert months[2]["recovery"] == Decimal("3.51")
    assert months[0]["recovery"] == months[1]["recovery"] == 0


def test_model_flat_fee_survival_by_hand() -> None:
    """R09: flat fee, OB 1,000.00 over 12 months (instalment I = r(83.333) = 83.33), fee
    0.75% a month (F = 7.50), 9 months left, balance 748.50.  Month 1: j = 3 instalments
    due before, SB = 1,000 - 3 x 83.33 = 750.01.  With no default and no prepayment the
    factor is 748.50 / 750.01: principal r(83.33 x 0.997987) = 83.16, fee r(7.50 x
    0.997987 = 7.48490) = 7.48."""
    deal = model.load(model.DEAL)
    grades = deal["pool"]["assumptions"]["grades"]
    for g in grades.values():
        g["default"], g["prepay"] = {"cdr": 0.0}, {"cpr": 0.0}
    r09 = [t for t in model.read_tape(model.DEAL.parent / "tape.csv") if t["balance"] == Decimal(
        "748.50")]  # fmt: skip
    month = model.project_pool(deal, r09)[0]
    assert (month["scheduled_principal"], month["fee"]) == (Decimal("83.16"), Decimal("7.48"))


def test_model_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    path = tmp_path / "deal.toml"
    path.write_text(model.DEAL.read_text(encoding="utf-8").replace(
        'loss_timing = "default"', 'loss_timing = "liquidation"'), encoding="utf-8")  # fmt: skip
    with pytest.raises(ValueError, match="loss_timing"):
        model.load(path)


# --- random tapes: the engine and the model agree, cell by cell ----------------------------------

receivable = st.tuples(
    st.sampled_from(["A", "B"]),
    st.sampled_from(["annuity", "flat_fee"]),
    st.integers(10_000, 900_000),  # original balance, cents
    st.integers(2, 12),  # original term
    st.data(),
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(loans=st.lists(receivable, min_size=1, max_size=6), cdr=st.sampled_from([0.05, 0.4, 0.9]))
def test_random_tapes_reconcile(tmp_path: Path, loans: list[Any], cdr: float) -> None:
    """The same deal on random tapes (seasoned, off-schedule, rates and fees that are not
    whole cents) and a grade-B CDR up to 90% (shortfalls, unpaid notes at the end)."""
    rows = ["loan_id,grade,payment_type,balance,original_balance,rate,fee_rate,"
            "original_term,remaining_term"]  # fmt: skip
    for i, (grade, kind, ob, ot, data) in enumerate(loans):
        rt = data.draw(st.integers(1, ot))
        share = data.draw(st.sampled_from([1.0, 0.97, 0.81]))
        balance = max(1, round(ob * rt / ot * share))
        if kind == "annuity":
            rate = data.draw(st.sampled_from(["0.0899", "0.129", "0.155", "0.2399", "0.36"]))
            fee = ""
        else:
            rate, fee = "0", data.draw(st.sampled_from(["0.005", "0.0066", "0.00685", "0.0123"]))
        rows.append(
            f"L{i},{grade},{kind},{balance / 100:.2f},{ob / 100:.2f},{rate},{fee},{ot},{rt}"
        )
    (tmp_path / "tape.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    text = model.DEAL.read_text(encoding="utf-8").replace("cdr = 0.15", f"cdr = {cdr}")
    (tmp_path / "deal.toml").write_text(text, encoding="utf-8")
    theirs = pd.read_csv(io.StringIO(model.expected_csv(tmp_path / "deal.toml")))
    ours = engine_table(ae.load_deal(tmp_path / "deal.toml"))
    report = EXAMPLE["reconcile"](ours, theirs)
    assert report["cells_off"].sum() == 0, report[report["cells_off"] > 0].to_string()
