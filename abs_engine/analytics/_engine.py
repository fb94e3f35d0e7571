"""What the analytics read from a deal run, in one place.

A class's loss is ``tranche["principal_loss"]``: the claim never repaid,
crystallised on the date the scenario ends (never a transient write-down mark).
Classes rank by ``Deal.ranks`` (1 = most senior; equal ranks are pari passu,
and for OC and credit enhancement a class counts every class of its rank or
above).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal

__all__ = ["at_or_above", "principal_loss", "residual_classes"]

F64 = NDArray[np.float64]


def at_or_above(deal: Deal) -> F64:
    """Matrix ``M[j, i] = 1`` when class ``i`` ranks with or above class ``j``.

    ``M @ balances`` is, for each class, its balance plus that of every class
    senior or pari passu to it: the denominator of its OC and credit enhancement.
    """
    r = np.asarray(deal.ranks)
    return (r[None, :] <= r[:, None]).astype(np.float64)


def principal_loss(result: RunResult) -> F64:
    """Principal never repaid, by (scenario, class): the final crystallised claim."""
    return np.asarray(result.tranche["principal_loss"].sum(axis=2), dtype=np.float64)


def residual_classes(deal: Deal) -> tuple[int, ...]:
    """Positions of the equity classes: what the residual holder holds."""
    return tuple(i for i, t in enumerate(deal.tranches) if t.kind == "equity")
