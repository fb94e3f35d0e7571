"""What the analytics read from a deal run, in one place.

The deal engine reports a class's final loss as ``tranche["principal_loss"]``
(the claim never repaid, in the run's last period) and ranks classes with
``Tranche.rank`` (1 = most senior, equal ranks pari passu).  Older results
without them fall back to the sum of write-downs and list positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from abs_engine.deal import spec as _spec
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal, Tranche

__all__ = ["at_or_above", "principal_loss", "ranks", "residual_classes"]

F64 = NDArray[np.float64]


def ranks(tranches: Sequence[Tranche]) -> tuple[int, ...]:
    """Each class's rank (1 = most senior; equal ranks are pari passu)."""
    fn = getattr(_spec, "tranche_ranks", None)
    if fn is not None:
        return tuple(int(r) for r in fn(tuple(tranches)))
    return tuple(range(1, len(tranches) + 1))


def at_or_above(tranches: Sequence[Tranche]) -> NDArray[np.float64]:
    """Matrix ``M[j, i] = 1`` when class ``i`` ranks with or above class ``j``.

    ``M @ balances`` is, for each class, its balance plus every class senior or
    pari passu to it: the denominator of its OC and credit enhancement.
    """
    r = np.asarray(ranks(tranches))
    return (r[None, :] <= r[:, None]).astype(np.float64)


def principal_loss(result: RunResult) -> F64:
    """Principal never repaid, by (scenario, class): the final crystallised claim."""
    t = result.tranche
    if "principal_loss" in t:
        return np.asarray(t["principal_loss"].sum(axis=2), dtype=np.float64)
    return np.asarray(t["writedown"].sum(axis=2), dtype=np.float64)


def residual_classes(deal: Deal) -> tuple[int, ...]:
    """Positions of the equity classes: what the residual holder holds."""
    return tuple(i for i, t in enumerate(deal.tranches) if t.kind == "equity")
