"""Property tests (hypothesis) on random deals and pools: cash is conserved, no balance goes
negative, and the senior is never paid less than under a more severe default multiplier."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.deals import tiny_deal

import abs_engine as ae
from abs_engine import ScenarioSet, curves
from abs_engine.deal import Coupon, Fee, Reserve, Revolving, TemplateLine, Tranche, Trigger, run
from abs_engine.pool import Cohorts


@st.composite
def pools(draw: st.DrawFn) -> Cohorts:
    n = draw(st.integers(1, 5))
    kinds = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    terms = draw(st.lists(st.integers(1, 18), min_size=n, max_size=n))
    bal = draw(st.lists(st.floats(100.0, 1e6), min_size=n, max_size=n))
    rates = draw(st.lists(st.sampled_from([0.0, 0.06, 0.12, 0.24]), min_size=n, max_size=n))
    fees = [0.008 if k == 2 else 0.0 for k in kinds]
    grades = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return Cohorts.from_loans(
        ("A", "B", "C"), grades, kinds, terms, [0] * n, [0] * n, bal, rates, fees, bal
    )


@st.composite
def deals(draw: st.DrawFn, *, triggers: bool = True, min_severity: float = 0.0) -> ae.deal.Deal:
    senior = draw(st.floats(0.3, 0.85))
    mezz = draw(st.floats(0.0, 0.95 - senior))
    tranches = [Tranche("senior", "senior", size=senior, coupon=Coupon(draw(st.floats(0.0, 0.15))))]
    if mezz > 0.01:
        tranches.append(
            Tranche("mezzanine", "mezzanine", size=mezz, coupon=Coupon(draw(st.floats(0.0, 0.2))))
        )
    tranches.append(Tranche("equity", "equity"))
    fees = []
    if draw(st.booleans()):
        fees.append(Fee("servicer", "pool_pct", rate=draw(st.floats(0.001, 0.05))))
    if draw(st.booleans()):
        fees.append(Fee("tax", "tax", rate=0.0336))
    reserve = (
        Reserve(initial=draw(st.floats(0, 0.05)), target=draw(st.floats(0, 0.05)))
        if draw(st.booleans())
        else None
    )
    revolving = None
    if draw(st.booleans()):
        revolving = Revolving(
            draw(st.integers(1, 6)),
            (TemplateLine("A", "flat_fee", draw(st.integers(1, 12)), 1.0, fee_rate=0.007),),
        )
    trig = []
    if triggers and draw(st.booleans()):
        effects = ("sequential", "end_revolving") if revolving else ("sequential",)
        trig.append(Trigger("cdr", "cumulative_default", effects, level=draw(st.floats(0.01, 0.2))))
    if triggers and draw(st.booleans()):
        trig.append(
            Trigger(
                "oc",
                "oc",
                ("divert_excess_spread",),
                level=draw(st.floats(1.0, 1.5)),
                tranche="senior",
            )
        )
    if triggers and draw(st.booleans()):
        trig.append(Trigger("eod", "interest_shortfall", ("post_default",)))
    assumptions = ae.Assumptions.by_grade(
        {
            g: ae.Assumptions(
                default=curves.cdr(draw(st.floats(0.0, 0.4))),
                prepay=curves.cpr(draw(st.floats(0.0, 0.4))),
                severity=draw(st.floats(min_severity, 1.0)),
                recovery_lag=draw(st.integers(0, 4)),
            )
            for g in "ABC"
        }
    )
    return tiny_deal(
        tuple(tranches),
        assumptions=assumptions,
        fees=tuple(fees),
        reserve=reserve,
        revolving=revolving,
        triggers=tuple(trig),
        loss_allocation=draw(st.sampled_from(["writedown", "pdl"])),
        recoveries_to=draw(st.sampled_from(["principal", "interest"])),
    )


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MULTS = np.array([0.0, 1.0, 2.0, 5.0])


@SETTINGS
@given(deals(), pools())
def test_conservation_and_no_negative_balances(deal: ae.deal.Deal, pool: Cohorts) -> None:
    r = run(deal, pool, ScenarioSet.from_arrays(default_mult=MULTS))
    r.check_conservation(tol=1e-6)
    tol = -1e-9 * r.pool_balance
    for f in (
        "begin_balance",
        "end_balance",
        "interest_paid",
        "principal_paid",
        "writedown",
        "interest_shortfall",
        "residual",
    ):
        assert r.tranche[f].min() >= tol, f
    for f in ("reserve_end", "pdl", "purchase_cash"):
        assert r.account[f].min() >= tol, f
    assert r.fee["unpaid"].min(initial=0.0) >= tol
    # Notes are repaid or written down in full by the end.
    np.testing.assert_allclose(r.tranche["end_balance"][:, :, -1], 0.0, atol=1e-6 * r.pool_balance)


@SETTINGS
@given(deals(triggers=False, min_severity=0.3), pools())
def test_senior_never_paid_less_than_under_more_severe_defaults(
    deal: ae.deal.Deal, pool: Cohorts
) -> None:
    """The senior's principal never does better under a more severe default multiplier: what it
    is repaid never rises, what it loses never falls.

    Stated for trigger-free structures whose defaults lose money: triggers protect the senior
    under stress (sequential pay, diversion, acceleration) and can leave it better off in a
    worse scenario, and a default with no severity is just a prepayment, which can cure an
    interest shortfall sooner.  Both are the finance, not defects."""
    r = run(deal, pool, ScenarioSet.from_arrays(default_mult=MULTS))
    repaid = r.tranche["principal_paid"][:, 0].sum(axis=1)
    lost = r.tranche["writedown"][:, 0].sum(axis=1)
    tol = 1e-9 * r.pool_balance
    assert np.all(np.diff(repaid) <= tol), repaid
    assert np.all(np.diff(lost) >= -tol), lost


def test_a_pool_left_as_a_float_residue_has_no_excess_spread_ratio() -> None:
    """Found by the property above: a 1-month grade-B bullet of 100 with a CDR of 2.2e-313
    (a subnormal float) leaves a pool of about 1e-310 after its default; dividing the period's
    spread by it overflowed.  A pool below the run's zero (1e-9 of the cut-off pool) is a
    residue: the excess spread ratio is 0 there, as without a pool."""
    grades = {
        "A": ae.Assumptions(default=curves.cdr(0.25), severity=1.0),
        "B": ae.Assumptions(default=curves.cdr(2.2250738585e-313), severity=0.5, recovery_lag=1),
        "C": ae.Assumptions(),
    }
    deal = tiny_deal(
        (
            Tranche("senior", "senior", size=0.5, coupon=Coupon(0.125)),
            Tranche("mezzanine", "mezzanine", size=0.25, coupon=Coupon(0.0)),
            Tranche("equity", "equity"),
        ),
        assumptions=ae.Assumptions.by_grade(grades),
        revolving=Revolving(2, (TemplateLine("A", "flat_fee", 1, 1.0, fee_rate=0.007),)),
        loss_allocation="pdl",
    )
    pool = Cohorts.from_loans(
        ("A", "B", "C"), [1], [0], [1], [0], [0], [100.0], [0.0], [0.0], [100.0]
    )
    r = run(deal, pool, ScenarioSet.from_arrays(default_mult=MULTS))
    assert np.isfinite(r.account["excess_spread"]).all()
    r.check_conservation(tol=1e-9)
