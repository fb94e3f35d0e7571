"""Pool conventions (issue 16 items 1-7), each on a hand-computed one- or two-loan pool.

Unless stated: one grade-A receivable, monthly rates given directly (``mdr``, ``smm``),
severity 0.4, no recovery lag; amounts in currency units.  Every case runs on both
engines where both can honour the convention (the cohort engine has no rounding).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import curves
from abs_engine.errors import AssumptionError
from abs_engine.projection import PoolConventions

ENGINES = ("cohort", "loan")


def tape(*loans: dict[str, Any]) -> ae.Pool:
    """A pool of the given receivables (grade A, equal principal, 12% unless stated)."""
    rows = []
    for i, loan in enumerate(loans):
        row = {
            "loan_id": f"L{i + 1}",
            "grade": "A",
            "rate": 0.12,
            "payment_type": "equal_principal",
            "fee_rate": 0.0,
            **loan,
        }
        row.setdefault("remaining_term", row["original_term"])
        row.setdefault("original_balance", row["balance"])
        rows.append(row)
    return ae.Pool.from_frame(pd.DataFrame(rows))


def assume(mdr: float | list[float] = 0.0, smm: float = 0.0, **kw: Any) -> ae.Assumptions:
    default = curves.vector(mdr, "mdr", by="period") if isinstance(mdr, list) else curves.mdr(mdr)
    return ae.Assumptions(default=default, prepay=curves.smm(smm), **{"severity": 0.4, **kw})


def month(cf: ae.PoolCashflows, k: int) -> dict[str, float]:
    """Pool flows of month ``k`` (1-based), base scenario."""
    return {f: float(cf[f][0, k - 1]) for f in cf.data}


def close(got: dict[str, float], **want: float) -> None:
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-9, err_msg=name)


# --- 1 and 2: prepayment timing, order of default and prepayment ---------------------------------

ONE = {"balance": 1200.0, "original_term": 12}  # equal principal, c = 1% a month


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("timing", "order", "want"),
    [
        # SIFMA: D = 1% x 1200 = 12; B = 1188 pays interest 11.88 and principal 1188/12 = 99;
        # PP = 2% x (1200 - 1200/12) = 22; end = 1188 - 99 - 22 = 1067 = 1200 (11/12)(1 - 3%).
        ("end", "sifma", {"default": 12, "prepayment": 22, "interest": 11.88,
                          "scheduled_principal": 99, "end_balance": 1067}),
        # Start: PP = 2% x 1200 = 24 before interest; B = 1200 - 12 - 24 = 1164 pays 11.64 and
        # 1164/12 = 97; end 1067 again, but the 24 prepaid earn no interest (0.24 less).
        ("start", "sifma", {"default": 12, "prepayment": 24, "interest": 11.64,
                            "scheduled_principal": 97, "end_balance": 1067}),
        # Default first, end: B = 1188, interest 11.88, principal 99, PP = 2% x (1188 - 99) =
        # 21.78; end = 1067.22 = 1200 x 0.99 x 0.98 x 11/12.
        ("end", "default_first", {"default": 12, "prepayment": 21.78, "interest": 11.88,
                                  "scheduled_principal": 99, "end_balance": 1067.22}),
        # Default first, start: PP = 2% x 1188 = 23.76; B = 1164.24 pays 11.6424 and 97.02;
        # end 1067.22.
        ("start", "default_first", {"default": 12, "prepayment": 23.76, "interest": 11.6424,
                                    "scheduled_principal": 97.02, "end_balance": 1067.22}),
    ],
)  # fmt: skip
def test_prepayment_timing_and_default_order(
    engine: str, timing: str, order: str, want: dict[str, float]
) -> None:
    conv = PoolConventions(prepayment_timing=timing, default_order=order)  # type: ignore[arg-type]
    cf = ae.project(tape(ONE), assume(0.01, 0.02), conventions=conv, engine=engine)  # type: ignore[arg-type]
    got = month(cf, 1)
    close(got, begin_balance=1200, **want)
    # Month 2 starts from month 1's end and (default first) survives (1 - d)(1 - p)(1 - 1/11).
    if order == "default_first":
        np.testing.assert_allclose(
            month(cf, 2)["end_balance"], 1067.22 * 0.99 * 0.98 * 10 / 11, rtol=1e-13
        )


def test_sifma_order_caps_prepayment_at_what_did_not_default() -> None:
    """d = 60%, p = 70%: SIFMA shares of one balance cap p at 1 - d = 40%; default-first takes
    70% of the 40% left.  Bullet 1000 over 2 months: SIFMA start: D 600, PP 400, end 0;
    default first: D 600, PP 280, end 120."""
    pool = tape({"balance": 1000.0, "original_term": 2, "payment_type": "bullet", "rate": 0.0})
    a = assume(0.6, 0.7)
    sifma = month(ae.project(pool, a, conventions=PoolConventions(prepayment_timing="start")), 1)
    close(sifma, default=600, prepayment=400, end_balance=0)
    first = PoolConventions(prepayment_timing="start", default_order="default_first")
    close(month(ae.project(pool, a, conventions=first), 1), default=600, prepayment=280,
          end_balance=120)  # fmt: skip


# --- 3: annual to periodic rates by actual days ------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_rates_by_actual_days_on_a_china_interbank_calendar(engine: str) -> None:
    """12% CDR on a bullet of 1,000 (rate 0), receivables paying on the 1st, China interbank,
    following; cut-off 30 Sep 2025.  Payment dates 1 Sep, 1 Oct -> 9 Oct (National Day
    holidays), 1 Nov (Saturday) -> 3 Nov: periods of 38 and 25 days.
    Month 1: MDR = 1 - 0.88^(38/365) = 1.3220511%, default 13.220511;
    month 2: MDR = 1 - 0.88^(25/365) = 0.8717491% of 986.779489 = 8.602241.
    ACT/360: 1 - 0.88^(38/360) = 1.3402893%.  Monthly (SIFMA): 1 - 0.88^(1/12) = 1.0596241%."""
    pool = tape({"balance": 1000.0, "original_term": 3, "payment_type": "bullet", "rate": 0.0})
    a = ae.Assumptions(default=curves.cdr(0.12), severity=0.4)
    conv = PoolConventions(
        annual_to_periodic="act_365",
        cutoff=dt.date(2025, 9, 30),
        payment_day=1,
        business_days="china_interbank",
    )
    assert conv.period_days(3).tolist() == [38, 25, 28]
    cf = ae.project(pool, a, conventions=conv, engine=engine)  # type: ignore[arg-type]
    np.testing.assert_allclose(cf["default"][0, :2], [13.220510865635582, 8.602241091731166],
                               rtol=1e-12)  # fmt: skip
    d360 = ae.project(
        pool,
        a,
        conventions=dataclasses.replace(conv, annual_to_periodic="act_360"),
        engine=engine,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(d360["default"][0, 0], 13.402893067823385, rtol=1e-12)
    monthly = ae.project(pool, a, engine=engine)  # type: ignore[arg-type]
    np.testing.assert_allclose(monthly["default"][0, 0], 10.596241035318976, rtol=1e-12)


def test_days_basis_needs_the_payment_calendar() -> None:
    with pytest.raises(AssumptionError, match="cutoff"):
        PoolConventions(annual_to_periodic="act_365")


# --- 4: loss recognition ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_loss_at_default_or_at_liquidation(engine: str) -> None:
    """Bullet 1,000 over 2 months, MDR 10% in month 1 only, severity 40%, lag 3: default 100 in
    month 1; recovery 60 in month 4 either way; loss 40 in month 4 (at liquidation, SIFMA) or
    in month 1 (at default)."""
    pool = tape({"balance": 1000.0, "original_term": 2, "payment_type": "bullet", "rate": 0.0})
    a = assume([0.1, 0.0], recovery_lag=3)
    sifma = ae.project(pool, a, engine=engine)  # type: ignore[arg-type]
    at_default = ae.project(
        pool,
        a,
        conventions=PoolConventions(loss_timing="default"),
        engine=engine,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(sifma["recovery"][0], [0, 0, 0, 60, 0], atol=1e-12)
    np.testing.assert_allclose(sifma["loss"][0], [0, 0, 0, 40, 0], atol=1e-12)
    np.testing.assert_allclose(at_default["recovery"][0], [0, 0, 0, 60, 0], atol=1e-12)
    np.testing.assert_allclose(at_default["loss"][0], [40, 0, 0, 0, 0], atol=1e-12)


def test_loss_at_default_refuses_advancing() -> None:
    with pytest.raises(AssumptionError, match="advancing"):
        ae.project(
            tape(ONE),
            assume(0.01, recovery_lag=2, advancing=True),
            conventions=PoolConventions(loss_timing="default"),
        )


# --- 5: rounding per receivable -----------------------------------------------------------------

TWO = (
    {"balance": 1000.50, "original_term": 3},  # 100,050 cents
    {"balance": 1001.50, "original_term": 3},  # 100,150 cents
)


@pytest.mark.parametrize(
    ("mode", "want"),
    [
        # Loan 1: D = 1% x 100,050 = 1,000.5 cents; loan 2: 1,001.5 cents.
        # floor: 1,000 + 1,001; B = 99,050 and 99,149; interest 1% of B = 990.5 -> 990 and
        # 991.49 -> 991; principal B / 3 = 33,016.67 -> 33,016 and 33,049.67 -> 33,049.
        ("floor", {"default": 20.01, "interest": 19.81, "scheduled_principal": 660.65}),
        # half_up: 1,001 + 1,002; B = 99,049 and 99,148; interest 990.49 -> 990, 991.48 -> 991;
        # principal 33,016.33 -> 33,016 and 33,049.33 -> 33,049.
        ("half_up", {"default": 20.03, "interest": 19.81, "scheduled_principal": 660.65}),
        # half_even: ties to even, 1,000 + 1,002; B = 99,050 and 99,148; interest 990.5 -> 990,
        # 991.48 -> 991; principal 33,016.67 -> 33,017 and 33,049.33 -> 33,049.
        ("half_even", {"default": 20.02, "interest": 19.81, "scheduled_principal": 660.66}),
    ],
)
def test_rounding_per_receivable(mode: str, want: dict[str, float]) -> None:
    """Two equal-principal receivables, 3 months at 12% (1% a month), MDR 1%, no prepayment.
    Rounded per receivable the defaults are not the rounding of the pool's 20.02 (floor 20.01,
    half_up 20.03): the loan engine reproduces a loan-by-loan trustee model."""
    conv = PoolConventions(rounding=mode)  # type: ignore[arg-type]
    cf = ae.project(tape(*TWO), assume(0.01), conventions=conv, engine="loan")
    got = month(cf, 1)
    close(got, begin_balance=2002.0, **want)
    for f in ("default", "interest", "scheduled_principal", "prepayment", "end_balance", "loss"):
        cents = cf[f][0] * 100  # the float nearest to the amount in currency units, x 100
        np.testing.assert_allclose(cents, np.round(cents), rtol=0, atol=1e-6, err_msg=f)
    flows = cf["scheduled_principal"] + cf["prepayment"] + cf["default"] + cf["end_balance"]
    np.testing.assert_allclose(flows, cf["begin_balance"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(cf["begin_balance"][0, 1:], cf["end_balance"][0, :-1], atol=1e-9)


def test_the_cohort_engine_refuses_rounding_and_names_the_fix() -> None:
    with pytest.raises(AssumptionError, match="engine='loan'"):
        ae.project(tape(*TWO), assume(0.01), conventions=PoolConventions(rounding="half_up"))


# --- 6: level-payment re-amortisation and coupon truncation --------------------------------------


def test_reamortised_payment_rounded_half_up() -> None:
    """Annuity 1,000.00 at 12% over 3 months, no default or prepayment, half_up:
    month 1 pays 1000 x 0.01 / (1 - 1.01^-3) = 340.0221 -> 340.02: interest 10.00, principal
    330.02, end 669.98; month 2: 669.98 x 0.01 / (1 - 1.01^-2) = 340.0199 -> 340.02: interest
    6.6998 -> 6.70, principal 333.32, end 336.66; month 3 repays 336.66 with interest 3.37."""
    pool = tape({"balance": 1000.0, "original_term": 3, "payment_type": "annuity"})
    conv = PoolConventions(rounding="half_up", amortisation="reamortise")
    cf = ae.project(pool, assume(), conventions=conv, engine="loan")
    np.testing.assert_allclose(cf["interest"][0, :3], [10.00, 6.70, 3.37], atol=1e-9)
    np.testing.assert_allclose(cf["scheduled_principal"][0, :3], [330.02, 333.32, 336.66],
                               atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("engine", ENGINES)
def test_reamortising_without_rounding_is_the_schedule(
    engine: str, sample_pool: ae.Pool, graded_assumptions: ae.GradedAssumptions
) -> None:
    """Re-amortising a level payment over the remaining term pays the contractual share
    f = c / ((1 + c)^m - 1) of the balance: the same numbers as the SIFMA schedule."""
    conv = PoolConventions(amortisation="reamortise")
    got = ae.project(sample_pool, graded_assumptions, conventions=conv, engine=engine)  # type: ignore[arg-type]
    ref = ae.project(sample_pool, graded_assumptions)
    for f in ref.data:
        np.testing.assert_allclose(got[f], ref[f], rtol=1e-10, atol=1e-8, err_msg=f)


@pytest.mark.parametrize("engine", ENGINES)
def test_coupon_truncated_to_six_decimals(engine: str) -> None:
    """15.5% a year is 0.0129166...% a month; truncated to 6 decimals 0.012916.  Equal
    principal 1,000 over 2 months: interest 12.916 (not 12.9167) then 6.458; an annuity at the
    truncated coupon pays 1000 x 0.012916 / (1 - 1.012916^-2) = 506.4869 a month."""
    conv = PoolConventions(coupon_decimals=6)
    pool = tape({"balance": 1000.0, "original_term": 2, "rate": 0.155})
    cf = ae.project(pool, assume(), conventions=conv, engine=engine)  # type: ignore[arg-type]
    np.testing.assert_allclose(cf["interest"][0], [12.916, 6.458], rtol=1e-13)
    ann = tape({"balance": 1000.0, "original_term": 2, "rate": 0.155, "payment_type": "annuity"})
    cf = ae.project(ann, assume(), conventions=conv, engine=engine)  # type: ignore[arg-type]
    c = 0.012916
    pay = 1000 * c / (1 - (1 + c) ** -2)
    np.testing.assert_allclose(cf["interest"][0] + cf["scheduled_principal"][0], [pay, pay],
                               rtol=1e-13)  # fmt: skip


# --- 7: flat-fee instalments ---------------------------------------------------------------------

FLAT = {  # originally 1,200 over 12 months at a 0.5% monthly fee; 10 months left, 900 owed
    "balance": 900.0,
    "original_balance": 1200.0,
    "original_term": 12,
    "remaining_term": 10,
    "payment_type": "flat_fee",
    "fee_rate": 0.005,
    "rate": 0.0,
}


@pytest.mark.parametrize("engine", ENGINES)
def test_flat_fee_original_amounts_times_the_survival_factor(engine: str) -> None:
    """Instalment 1200/12 = 100 and fee 6 a month originally; after 2 instalments the schedule
    expects 1,000, the receivable owes 900 (factor 0.9).  Survival: principal 100 x 0.9 = 90 and
    fee 6 x 0.9 = 5.40 a month.  Schedule (SIFMA): the 900 amortise over 10 months (90 a month)
    and the whole original fee 6.00 is charged.  With MDR 10% in month 1: the balance that pays
    is 810, factor 0.81: principal 81, fee 4.86 (survival) or 6 x 810/900 = 5.40 (schedule)."""
    pool = tape(FLAT)
    surv = PoolConventions(flat_fee="survival")
    cf = ae.project(pool, assume(), conventions=surv, engine=engine)  # type: ignore[arg-type]
    np.testing.assert_allclose(cf["scheduled_principal"][0, :10], 90.0, rtol=1e-13)
    np.testing.assert_allclose(cf["fee"][0, :10], 5.40, rtol=1e-13)
    sched = ae.project(pool, assume(), engine=engine)  # type: ignore[arg-type]
    np.testing.assert_allclose(sched["fee"][0, :10], 6.00, rtol=1e-13)
    stressed = ae.project(pool, assume([0.1, 0.0]), conventions=surv, engine=engine)  # type: ignore[arg-type]
    close(month(stressed, 1), default=90, scheduled_principal=81, fee=4.86)
    close(month(ae.project(pool, assume([0.1, 0.0]), engine=engine), 1), fee=5.40)  # type: ignore[arg-type]


def test_flat_fee_survival_rounded_ends_on_the_last_instalment() -> None:
    """1,000.00 over 3 months at 0.3%: instalment 1000/3 = 333.33 (floor), fee 3.00; the
    schedule is 1,000.00, 666.67, 333.34, so the last instalment is 333.34 (the rest)."""
    pool = tape({"balance": 1000.0, "original_term": 3, "payment_type": "flat_fee",
                 "fee_rate": 0.003, "rate": 0.0})  # fmt: skip
    conv = PoolConventions(flat_fee="survival", rounding="floor")
    cf = ae.project(pool, assume(), conventions=conv, engine="loan")
    np.testing.assert_allclose(cf["scheduled_principal"][0], [333.33, 333.33, 333.34], atol=1e-9)
    np.testing.assert_allclose(cf["fee"][0], [3.0, 3.0, 3.0], atol=1e-9)


# --- the value object ---------------------------------------------------------------------------


def test_conventions_are_validated_and_say_what_differs() -> None:
    assert PoolConventions().is_sifma
    assert PoolConventions().to_dict() == {}
    conv = PoolConventions(prepayment_timing="start", coupon_decimals=6)
    assert not conv.is_sifma
    assert conv.to_dict() == {"prepayment_timing": "start", "coupon_decimals": 6}
    with pytest.raises(AssumptionError, match="prepayment_timing must be one of end, start"):
        PoolConventions(prepayment_timing="middle")  # type: ignore[arg-type]
    with pytest.raises(AssumptionError, match="coupon_decimals"):
        PoolConventions(coupon_decimals=-1)
    with pytest.raises(AssumptionError, match="payment_day"):
        PoolConventions(payment_day=32)
    with pytest.raises(AssumptionError, match="business_days"):
        PoolConventions(business_days="tokyo")


def test_engine_errors_name_the_fix(sample_pool: ae.Pool) -> None:
    a = assume(0.01)
    with pytest.raises(AssumptionError, match="engine must be"):
        ae.project(sample_pool, a, engine="fast")  # type: ignore[arg-type]
    with pytest.raises(AssumptionError, match="needs a Pool"):
        ae.project(sample_pool.cohorts(), a, engine="loan")
    with pytest.raises(AssumptionError, match="by='loan', 'grade' or 'pool'"):
        ae.project(sample_pool, a, engine="loan", by="cohort")
    roll = dataclasses.replace(a, roll_rates=ae.RollRates.from_rolls(0.02, 0.3, 0.4, 0.5, 0.1))
    with pytest.raises(AssumptionError, match="roll_rates"):
        ae.project(sample_pool, roll, engine="loan")
    two = tape({"balance": 100.0, "original_term": 3, "rate": 0.1},
               {"balance": 100.0, "original_term": 3, "rate": 0.2})  # fmt: skip
    with pytest.raises(AssumptionError, match="average rate"):
        ae.project(two.cohorts(), a, conventions=PoolConventions(coupon_decimals=4))
    # The Pool itself truncates receivable by receivable: 0.1/12 -> 0.0083, 0.2/12 -> 0.0166.
    cf = ae.project(two, a, conventions=PoolConventions(coupon_decimals=4))
    np.testing.assert_allclose(cf["interest"][0, 0], 99 * (0.0083 + 0.0166), rtol=1e-13)


# --- receivables delinquent at cut-off, and what the row engine refuses ------------------------


@pytest.mark.parametrize("rounding", ["none", "half_up"])
@pytest.mark.parametrize("timing", ["liquidation", "default"])
def test_delinquent_at_cutoff_default_then_liquidate(rounding: str, timing: str) -> None:
    """Two receivables: L1 current (no default, no prepayment), L2 of 1,000.05 and 95 days
    past due.  As the cohort engine: L2 pays nothing, defaults in month 1 and is liquidated
    after the lag of 2 months with severity 0.333: loss 333.01665 (333.02 half-up), recovery
    667.03335 (667.03).  The loss shows in month 3 (at liquidation) or month 1 (at default);
    the recovery in month 3 either way."""
    pool = tape(
        {"balance": 1200.0, "original_term": 12},
        {"balance": 1000.05, "original_term": 6, "dpd": 95},
    )
    conv = PoolConventions(rounding=rounding, loss_timing=timing)  # type: ignore[arg-type]
    cf = ae.project(pool, assume(severity=0.333, recovery_lag=2), conventions=conv, engine="loan")
    loss = 333.02 if rounding == "half_up" else 333.01665
    m1, m3 = month(cf, 1), month(cf, 3)
    close(m1, begin_balance=2200.05, default=1000.05, interest=12.0, scheduled_principal=100)
    close(m3, recovery=1000.05 - loss)
    close(m1 if timing == "default" else m3, loss=loss)
    close(m3 if timing == "default" else m1, loss=0.0)
    # Rounding off, liquidation at the lag: the SIFMA cohort engine's numbers exactly.
    if rounding == "none" and timing == "liquidation":
        ref = ae.project(pool, assume(severity=0.333, recovery_lag=2))
        for f in ref.data:
            np.testing.assert_allclose(cf[f], ref[f], rtol=0, atol=1e-9, err_msg=f)


def test_delinquent_excluded_as_ineligible_on_both_engines() -> None:
    """With delinquent_at_cutoff = "exclude" a receivable 45 days past due is left out: no
    flows and no initial balance, in the row engine as in the cohort engine."""
    pool = tape({"balance": 1200.0, "original_term": 12}, {"balance": 500.0, "original_term": 6,
                                                           "dpd": 45})  # fmt: skip
    a = assume(0.01, 0.02, delinquent_at_cutoff="exclude")
    got = ae.project(pool, a, engine="loan", by="loan")
    ref = ae.project(pool, a, by="loan")
    np.testing.assert_allclose(got.initial_balance, [1200.0, 0.0])
    assert got.notes == ref.notes and got.notes
    for f in ref.data:
        np.testing.assert_allclose(got.array(f), ref.array(f), rtol=0, atol=1e-9, err_msg=f)


def test_cumulative_default_curves_are_refused_with_the_fix() -> None:
    a = ae.Assumptions(default=curves.cumulative_default(0.1, [1, 1, 1]), prepay=curves.smm(0))
    with pytest.raises(AssumptionError, match=r"cumulative-default.*engine='cohort'"):
        ae.project(tape(ONE), a, engine="loan")
