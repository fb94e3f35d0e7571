"""Small deals on tiny pools whose periods can be worked by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import abs_engine as ae
from abs_engine.deal import Coupon, Deal, DealDates, PoolSpec, Step, Tranche, Waterfall
from abs_engine.pool import Cohorts

# Cut-off 31 Jan; payments on the 25th from March (collecting February onwards);
# 30/360 from a 25 Feb closing makes every accrual period exactly 1/12 of a year.
DATES = DealDates(
    cutoff=dt.date(2020, 1, 31),
    closing=dt.date(2020, 2, 25),
    first_payment=dt.date(2020, 3, 25),
    legal_final=dt.date(2022, 3, 25),
    day_count="30/360",
)
ANNUITY, EQUAL_PRINCIPAL, FLAT_FEE, BULLET = range(4)


def tiny_pool(
    kind: int = EQUAL_PRINCIPAL, term: int = 4, balance: float = 1000.0, rate: float = 0.12
) -> Cohorts:
    """One cohort: ``balance`` over ``term`` months."""
    return Cohorts.from_loans(
        ("A",), [0], [kind], [term], [0], [0], [balance], [rate], [0.0], [balance]
    )


def steps(*texts: str) -> tuple[Step, ...]:
    return tuple(Step.parse(t, "test") for t in texts)


def tiny_deal(
    tranches: Sequence[Tranche] | None = None,
    *,
    assumptions: ae.Assumptions | None = None,
    interest: Sequence[str] | None = None,
    principal: Sequence[str] | None = None,
    **kwargs: Any,
) -> Deal:
    tranches = tranches or (
        Tranche("senior", "senior", size=0.6, coupon=Coupon(0.06)),
        Tranche("mezzanine", "mezzanine", size=0.2, coupon=Coupon(0.12)),
        Tranche("equity", "equity"),
    )
    names = [t.name for t in tranches]
    waterfall = None
    if interest is not None or principal is not None:
        interest = interest or [*(f"interest:{n}" for n in names if n != "equity"), "residual"]
        principal = principal or [*(f"principal:{n}" for n in names), "residual"]
        post = [
            step
            for n in names
            for step in (
                (f"interest:{n}", f"principal:{n}") if n != "equity" else (f"principal:{n}",)
            )
        ]
        post.append("residual")
        waterfall = Waterfall(steps(*interest), steps(*principal), steps(*post))
    return Deal(
        name="tiny",
        dates=DATES,
        pool=PoolSpec(None, assumptions or ae.Assumptions()),
        tranches=tuple(tranches),
        waterfall=waterfall,
        **kwargs,
    )
