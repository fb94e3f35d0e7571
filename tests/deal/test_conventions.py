"""Deal-side market conventions (issue 16 items 9-11), each on a hand-computed tiny deal.

Pool unless stated: 1,000 equal-principal at 12% over four months (principal 250 a month,
interest 10, 7.5, 5, 2.5); notes senior 600 at 6%, mezzanine 200 at 12%, equity 200.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from support.deals import tiny_deal, tiny_pool

import abs_engine as ae
from abs_engine.calendars import is_business_day, roll
from abs_engine.deal import Conventions, Coupon, DealDates, Fee, Tranche, run
from abs_engine.errors import SpecError

SEN, MEZ = 0, 1


def close(a: object, b: object) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=1e-9)


def test_china_calendars() -> None:
    """2025 (State Council notice of 12 Nov 2024): Spring Festival 28 Jan - 4 Feb off, Sunday 26
    Jan and Saturday 8 Feb working days; National Day 1-8 Oct off, Saturday 11 Oct working;
    Dragon Boat 31 May - 2 Jun off.  Exchanges never open on a weekend."""
    assert not is_business_day(dt.date(2025, 1, 28), "china_interbank")
    assert is_business_day(dt.date(2025, 1, 26), "china_interbank")
    assert not is_business_day(dt.date(2025, 1, 26), "china_exchange")
    assert roll(dt.date(2025, 10, 1), "china_exchange", "following") == dt.date(2025, 10, 9)
    assert roll(dt.date(2025, 10, 11), "china_interbank", "following") == dt.date(2025, 10, 11)
    assert roll(dt.date(2025, 10, 11), "china_exchange", "following") == dt.date(2025, 10, 13)
    assert roll(dt.date(2025, 5, 31), "china_interbank", "following") == dt.date(2025, 6, 3)
    assert roll(dt.date(2025, 5, 31), "china_interbank", "modified_following") == dt.date(
        2025, 5, 30
    )
    assert roll(dt.date(2025, 5, 31), "weekends", "preceding") == dt.date(2025, 5, 30)
    assert roll(dt.date(2025, 5, 31), "none", "following") == dt.date(2025, 5, 31)


def test_payment_dates_roll_and_interest_accrues_between_the_moved_dates() -> None:
    """Cut-off 31 Mar 2025, closing 20 May, payments on the 31st from 31 May (ACT/365F).
    China interbank, modified following: 31 May (Sat, Dragon Boat) -> 30 May; 30 Jun (Mon)
    stays; 31 Jul (Thu) stays; 31 Aug (Sun) -> 29 Aug.  Senior interest = 600 x 6% x days / 365
    on the moved dates: P1 20 May -> 30 May = 10 days: 0.98630137; P2 30 May -> 30 Jun = 31 days
    on 350: 1.78356164; collections are those of April, May, ... whatever the date moves."""
    dates = DealDates(
        cutoff=dt.date(2025, 3, 31),
        closing=dt.date(2025, 5, 20),
        first_payment=dt.date(2025, 5, 31),
        legal_final=dt.date(2026, 5, 31),
        day_count="ACT/365F",
    )
    base = dataclasses.replace(tiny_deal(), dates=dates)
    moved = dataclasses.replace(
        base, conventions=Conventions(business_days="china_interbank", roll="modified_following")
    )
    r0, r1 = run(base, tiny_pool()), run(moved, tiny_pool())
    assert [str(d) for d in r1.dates] == ["2025-05-30", "2025-06-30", "2025-07-31", "2025-08-29"]
    close(r1.pool["interest"], r0.pool["interest"])
    close(r1.year_fractions, [10 / 365, 31 / 365, 31 / 365, 29 / 365])
    close(r1.tranche["interest_due"][0, SEN, :2], [600 * 0.06 * 10 / 365, 350 * 0.06 * 31 / 365])


def test_fee_day_count_and_time_weighted_balance() -> None:
    """A 1% servicer fee on a 30/360 deal (every period 1/12 by the notes' day count).
    fee_day_count ACT/365F: P1 from the 25 Feb closing to 25 Mar 2020 = 29 days, fee
    1% x 1,000 x 29/365 = 0.794520548; P2 25 Mar -> 25 Apr = 31 days on 750: 0.636986301.
    time_weighted balance: P1 on (1,000 + 750) / 2 = 875: 1% x 875 / 12 = 0.729166667."""
    fee = (Fee("servicer", "pool_pct", rate=0.01),)
    interest = ["fee:servicer", "interest:senior", "interest:mezzanine", "residual"]
    deal = tiny_deal(fees=fee, interest=interest)
    act = dataclasses.replace(deal, conventions=Conventions(fee_day_count="ACT/365F"))
    r = run(act, tiny_pool())
    close(r.fee["due"][0, 0, :2], [0.01 * 1000 * 29 / 365, 0.01 * 750 * 31 / 365])
    close(r.tranche["interest_due"][0, SEN, 0], 3.0)  # the notes keep 30/360
    tw = dataclasses.replace(deal, conventions=Conventions(fee_balance="time_weighted"))
    close(run(tw, tiny_pool()).fee["due"][0, 0, :2], [0.01 * 875 / 12, 0.01 * 625 / 12])


def test_unpaid_interest_accrues_by_convention_unless_the_class_says_otherwise() -> None:
    """Pool at 6% (interest 5, 3.75, 2.5, 1.25); mezzanine coupon 30% (2.5% a month).
    Carried: mezzanine owes 5 + 3 = 8 in P2.  Accruing: P2 due = (200 + 3) x 2.5% = 5.075, so
    it owes 8.075 and carries 6.075; P3 due (200 + 6.075) x 2.5% = 5.151875."""
    tranches = (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.06)),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.30)),
        Tranche("equity", "equity"),
    )
    deal = tiny_deal(tranches, principal=["principal:senior", "principal:mezzanine", "residual"])
    accrue = dataclasses.replace(deal, conventions=Conventions(unpaid_interest="accrues"))
    r = run(accrue, tiny_pool(rate=0.06))
    close(r.tranche["interest_due"][0, MEZ, :3], [5, 5.075, 5.151875])
    close(r.tranche["interest_shortfall"][0, MEZ, :2], [3, 6.075])
    carried = (
        tranches[0],
        dataclasses.replace(tranches[1], deferred_interest_accrues=False),
        tranches[2],
    )
    r = run(dataclasses.replace(accrue, tranches=carried), tiny_pool(rate=0.06))
    close(r.tranche["interest_due"][0, MEZ, :3], [5, 5, 5])


def test_conventions_are_validated() -> None:
    with pytest.raises(SpecError, match=r"conventions\.business_days"):
        Conventions(business_days="china")
    with pytest.raises(SpecError, match=r"conventions\.roll"):
        Conventions(roll="next")
    d = ae.deal.deal_to_dict(
        dataclasses.replace(tiny_deal(), conventions=Conventions(business_days="weekends"))
    )
    assert d["conventions"]["business_days"] == "weekends"


# --- the pool conventions in the deal spec (issue 16, [conventions] of the deal TOML) -----------


def _tape(n: int = 2) -> ae.Pool:
    import pandas as pd

    rows = [
        {"loan_id": f"L{i}", "grade": "A", "rate": 0.12, "payment_type": "annuity",
         "balance": 1000.05 + i, "original_balance": 1000.05 + i, "original_term": 4,
         "remaining_term": 4, "fee_rate": 0.0}
        for i in range(n)
    ]  # fmt: skip
    return ae.Pool.from_frame(pd.DataFrame(rows))


POOL_KEYS = {
    "engine": "loan",
    "prepayment_timing": "start",
    "default_order": "default_first",
    "annual_to_periodic": "act_365",
    "loss_timing": "default",
    "rounding": "half_up",
    "amortisation": "reamortise",
    "coupon_decimals": 6,
    "flat_fee": "survival",
    "receivable_payment_day": 15,
    "receivable_business_days": "weekends",
    "receivable_roll": "modified_following",
}


def test_pool_conventions_are_read_from_the_spec_and_round_trip(tmp_path: object) -> None:
    """Every pool key of [conventions] reaches the deal's PoolConventions (calendar from the
    cut-off) and survives write_deal / load_deal."""
    from pathlib import Path

    deal = tiny_deal()
    data = ae.deal.deal_to_dict(deal)
    data["conventions"] = dict(POOL_KEYS)
    loaded = ae.deal.deal_from_dict(data)
    pc = loaded.pool_conventions
    assert (pc.prepayment_timing, pc.default_order, pc.rounding, pc.coupon_decimals) == (
        "start", "default_first", "half_up", 6)  # fmt: skip
    assert (pc.cutoff, pc.payment_day, pc.business_days, pc.roll) == (
        deal.dates.cutoff, 15, "weekends", "modified_following")  # fmt: skip
    assert loaded.projection_options()["engine"] == "loan"
    unit = loaded.projection_options(per_unit=True)
    assert unit["engine"] == "cohort" and unit["conventions"].rounding == "none"
    path = ae.deal.write_deal(loaded, Path(str(tmp_path)) / "deal.toml")
    again = ae.load_deal(path)
    assert again.conventions == loaded.conventions
    assert ae.deal.deal_to_dict(again)["conventions"] == {
        **ae.deal.deal_to_dict(loaded)["conventions"]
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rounding", "half-up", r"conventions\.rounding.*did you mean 'half_up'"),
        ("engine", "loans", r"conventions\.engine.*did you mean 'loan'"),
        ("prepayment_timing", "begin", r"conventions\.prepayment_timing.*end, start"),
        ("coupon_decimals", 13, r"conventions\.coupon_decimals.*0 to 12"),
        ("receivable_payment_day", 32, r"conventions\.receivable_payment_day.*1 to 31"),
        ("rounding_mode", "floor", r"conventions.*rounding_mode.*did you mean 'rounding'"),
    ],
)
def test_pool_conventions_errors_name_the_key(key: str, value: object, message: str) -> None:
    data = ae.deal.deal_to_dict(tiny_deal())
    data["conventions"] = {"engine": "loan", key: value}
    with pytest.raises(SpecError, match=message):
        ae.deal.deal_from_dict(data)


def test_rounding_needs_the_loan_engine() -> None:
    with pytest.raises(SpecError, match=r'conventions\.rounding.*engine = "loan"'):
        Conventions(rounding="floor")


def test_the_deal_run_projects_its_collateral_under_its_conventions() -> None:
    """The waterfall collects what ae.project gives under the deal's pool conventions: two
    annuities of 1,000.05 and 1,001.05 at 12% over 4 months, rounded half-up per receivable
    with start-of-month prepayments; pool month k is collected on payment date k."""
    pool = _tape()
    a = ae.Assumptions(default=ae.curves.cdr(0.2), prepay=ae.curves.cpr(0.3), severity=0.5,
                       recovery_lag=1)  # fmt: skip
    conv = Conventions(engine="loan", rounding="half_up", prepayment_timing="start")
    deal = dataclasses.replace(
        tiny_deal(), pool=dataclasses.replace(tiny_deal().pool, assumptions=a), conventions=conv
    )
    r = run(deal, pool)
    cf = ae.project(pool, a, conventions=deal.pool_conventions, engine="loan")
    sifma = ae.project(pool, a)
    n = 5
    for f in ("interest", "scheduled_principal", "prepayment", "default", "recovery"):
        close(r.pool[f][0, :n], cf[f][0, :n])
        np.testing.assert_allclose(np.round(cf[f][0] * 100), cf[f][0] * 100, atol=1e-6)
    assert not np.allclose(cf["interest"][0], sifma["interest"][0])
