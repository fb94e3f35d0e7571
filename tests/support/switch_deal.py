"""A deal whose class A loses at low stress, stops losing higher up, then loses again.

1,000 of 12-month equal-principal receivables at 12%, no recoveries; class A
(70%, rank 1) and class B (20%, rank 2) share principal pro rata (a cumulative-default
trigger at 20% of the cut-off pool would switch them to sequential, but these stresses
stay below it); equity 10%.  A pro-rata step pays by rank in a period where paying pro
rata would leave A with a share of the PDL (docs/waterfall.md step 9).  Near 2.7x the
base default curve that happens only in the last period, after period 11 has still paid
B pro rata, and A loses a little (from about 2.63x); near 2.8x the PDL reaches A one
period earlier, period 11 pays A first and A loses nothing; from about 2.84x A loses
again.  Found by scanning 0..8x in steps of 0.01.
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
        triggers=(Trigger("switch", "cumulative_default", ("sequential",), level=0.2),),
    )
