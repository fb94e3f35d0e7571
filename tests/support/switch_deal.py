"""A deal whose class A loses at low stress, stops losing higher up, then loses again.

1,000 of 12-month equal-principal receivables at 12%, no recoveries; class A
(70%, rank 1) and class B (20%, rank 2) share principal pro rata until
cumulative defaults pass 15% of the cut-off pool, then sequentially (A first);
equity 10%.  Under pro-rata payment A still has a balance when late losses
exhaust the equity and B, so A loses from about 1.59x the base default curve;
a little higher the trigger trips early enough that A is repaid first and A
loses nothing, until about 3.57x where it loses again.
"""

from __future__ import annotations

import abs_engine as ae
from abs_engine.deal import Coupon, Tranche, Trigger
from support.deals import tiny_deal, tiny_pool

POOL = tiny_pool(term=12, rate=0.12)


def switch_deal() -> ae.Deal:
    return tiny_deal(
        (
            Tranche("A", "senior", size=0.7, coupon=Coupon(0.05)),
            Tranche("B", "mezzanine", size=0.2, coupon=Coupon(0.08)),
            Tranche("equity", "equity"),
        ),
        assumptions=ae.Assumptions(default=ae.curves.mdr(0.01), severity=1.0),
        interest=["interest:A", "interest:B", "residual"],
        principal=["pro_rata:A,B", "principal:equity", "residual"],
        triggers=(Trigger("switch", "cumulative_default", ("sequential",), level=0.15),),
    )
