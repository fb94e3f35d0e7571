"""Projected pool cash flows: arrays are the truth, ``to_frame()`` is the view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine._frozen import FrozenMap

__all__ = ["BALANCE_FIELDS", "FIELDS", "FLOW_FIELDS", "PoolCashflows"]

#: Amounts paid or lost during a period.
FLOW_FIELDS: tuple[str, ...] = (
    "scheduled_principal",
    "prepayment",
    "default",
    "interest",
    "fee",
    "recovery",
    "loss",
    "advanced_principal",
    "advanced_interest",
)
#: Balances at the start or end of a period.
BALANCE_FIELDS: tuple[str, ...] = (
    "begin_balance",
    "end_balance",
    "current",
    "dpd_1_30",
    "dpd_31_60",
    "dpd_61_90",
)
FIELDS: tuple[str, ...] = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "end_balance",
    "interest",
    "fee",
    "recovery",
    "loss",
    "advanced_principal",
    "advanced_interest",
    "current",
    "dpd_1_30",
    "dpd_31_60",
    "dpd_61_90",
)


@dataclass(frozen=True, eq=False)
class PoolCashflows:
    """Month-by-month pool cash flows for every scenario.

    Each field is a float64 array of shape ``(n_scenarios, n_groups,
    n_periods)``; groups are the whole pool (one group, ``"pool"``), the
    grades, or the cohorts / receivables, as asked of :func:`project`.
    Index a field by name for the pool total, shape ``(n_scenarios,
    n_periods)``: ``cf["default"]``.

    Fields
    ------
    begin_balance, end_balance
        Performing (not defaulted) balance at the start / end of the month;
        with a delinquency pipeline it includes the delinquent buckets.
    scheduled_principal, prepayment, default
        ``begin = scheduled_principal + prepayment + default + end``.
    interest, fee
        Interest and flat fees paid by borrowers.
    recovery, loss
        Liquidation proceeds and realised losses, ``recovery_lag`` months
        after default.
    advanced_principal, advanced_interest
        Servicer advances on defaulted loans until liquidation (zero
        unless ``advancing``).
    current, dpd_1_30, dpd_31_60, dpd_61_90
        End-of-month balance by delinquency bucket (the delinquency
        pipeline, and receivables delinquent at cut-off rolling to default;
        otherwise everything performing is current).

    ``initial_balance`` is the balance at cut-off of each group (receivables
    excluded as ineligible left out); ``notes`` says, in aggregates, how
    receivables delinquent at cut-off were treated.
    """

    data: Mapping[str, NDArray[np.float64]]
    scenario_names: NDArray[np.str_]
    groups: tuple[str, ...]
    group_by: str
    initial_balance: NDArray[np.float64]  # (n_groups,)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        frozen = {}
        for k, v in self.data.items():
            v.setflags(write=False)
            frozen[k] = v
        object.__setattr__(self, "data", FrozenMap(frozen))

    # --- shape ----------------------------------------------------------------------------

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.scenario_names.shape[0])

    @property
    def n_periods(self) -> int:
        """Number of monthly periods projected."""
        return int(next(iter(self.data.values())).shape[-1])

    @property
    def periods(self) -> NDArray[np.int64]:
        """Period numbers 1..n (month ``t`` ends ``t`` months after cut-off)."""
        return np.arange(1, self.n_periods + 1)

    def __getitem__(self, name: str) -> NDArray[np.float64]:
        """Pool total of a field, shape ``(n_scenarios, n_periods)``."""
        total: NDArray[np.float64] = self.array(name).sum(axis=1)
        return total

    def array(self, name: str) -> NDArray[np.float64]:
        """A field by group, shape ``(n_scenarios, n_groups, n_periods)``."""
        if name in _DERIVED:
            return _DERIVED[name](self)
        try:
            return self.data[name]
        except KeyError:
            raise KeyError(
                f"no field {name!r}; fields are {', '.join(FIELDS)}, {', '.join(_DERIVED)}"
            ) from None

    # --- derived quantities -----------------------------------------------------------------

    @property
    def principal_collections(self) -> NDArray[np.float64]:
        """Principal cash (scheduled + prepaid + recovered + advanced), by scenario and period."""
        return self["principal_collections"]

    @property
    def interest_collections(self) -> NDArray[np.float64]:
        """Revenue cash: interest + fees + advanced interest, ``(n_scenarios, n_periods)``."""
        return self["interest_collections"]

    def totals(self) -> pd.DataFrame:
        """Life totals per scenario, with cumulative default and net loss rates.

        ``cumulative_default_rate`` and ``cumulative_net_loss`` are shares of
        the pool balance at cut-off.
        """
        b0 = float(self.initial_balance.sum())
        out = pd.DataFrame({f: self[f].sum(axis=1) for f in FLOW_FIELDS}, index=self.scenario_names)
        out.index.name = "scenario"
        out["principal_collections"] = self["principal_collections"].sum(axis=1)
        out["interest_collections"] = self["interest_collections"].sum(axis=1)
        out["cumulative_default_rate"] = out["default"] / b0
        out["cumulative_net_loss"] = out["loss"] / b0
        return out

    def to_frame(self, *, by_group: bool = False) -> pd.DataFrame:
        """Tidy table: one row per scenario and period (and group when ``by_group``).

        Columns: ``scenario, [group,] period`` then every field, plus
        ``principal_collections`` and ``interest_collections``.
        """
        S, K, T = self.n_scenarios, len(self.groups), self.n_periods
        names = [*FIELDS, *_DERIVED]
        if by_group:
            cols: dict[str, Any] = {
                "scenario": np.repeat(self.scenario_names, K * T),
                self.group_by: np.tile(np.repeat(np.asarray(self.groups, dtype=object), T), S),
                "period": np.tile(self.periods, S * K),
            }
            cols.update({f: self.array(f).reshape(-1) for f in names})
        else:
            cols = {
                "scenario": np.repeat(self.scenario_names, T),
                "period": np.tile(self.periods, S),
            }
            cols.update({f: self[f].reshape(-1) for f in names})
        return pd.DataFrame(cols)

    def pool_total(self) -> PoolCashflows:
        """The same cash flows with the groups summed into one."""
        return PoolCashflows(
            {k: v.sum(axis=1, keepdims=True) for k, v in self.data.items()},
            self.scenario_names,
            ("pool",),
            "pool",
            np.array([self.initial_balance.sum()]),
            self.notes,
        )

    def scenario(self, name: str) -> pd.DataFrame:
        """One scenario's pool cash flows, one row per period."""
        hits = np.flatnonzero(self.scenario_names == name)
        if hits.size == 0:
            raise KeyError(f"no scenario {name!r}")
        frame = self.to_frame()
        return frame[frame["scenario"] == name].drop(columns="scenario").set_index("period")

    def _repr_html_(self) -> str:
        head = (
            f"<p>PoolCashflows: {self.n_scenarios:,} scenario(s) x {self.n_periods} months, "
            f"by {self.group_by}</p>"
        )
        return head + self.totals().head(20).to_html(float_format=lambda v: f"{v:,.2f}")

    def __repr__(self) -> str:
        return (
            f"PoolCashflows({self.n_scenarios:,} scenarios x {len(self.groups)} {self.group_by} "
            f"x {self.n_periods} months)"
        )


def _principal(cf: PoolCashflows) -> NDArray[np.float64]:
    d = cf.data
    return d["scheduled_principal"] + d["prepayment"] + d["recovery"] + d["advanced_principal"]


def _interest(cf: PoolCashflows) -> NDArray[np.float64]:
    d = cf.data
    return d["interest"] + d["fee"] + d["advanced_interest"]


_DERIVED = {"principal_collections": _principal, "interest_collections": _interest}
