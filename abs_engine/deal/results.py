"""The result of a deal run: arrays behind, DataFrames in front, and the ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.errors import AbsError
from abs_engine.projection.results import FLOW_FIELDS

if TYPE_CHECKING:
    from abs_engine.deal.spec import Deal, DealState

__all__ = ["TRANCHE_FIELDS", "Ledger", "RunResult"]

F64 = NDArray[np.float64]

#: Per class, see the table in ``docs/waterfall.md``.
TRANCHE_FIELDS = (
    "begin_balance",
    "interest_due",
    "interest_paid",
    "interest_shortfall",
    "principal_paid",
    "writedown",
    "reinstatement",
    "unreimbursed_writedown",
    "pdl",
    "end_balance",
    "principal_loss",
    "residual",
)
FEE_FIELDS = ("due", "paid", "unpaid")
#: Pool collections by payment period: the projection's flows, balances, and what the
#: revolving period bought and a clean-up call sold.
POOL_FIELDS = ("begin_balance", *FLOW_FIELDS, "end_balance", "purchases", "sale")
ACCOUNT_FIELDS = (
    "reserve_funding",
    "revenue",
    "principal_collections",
    "reserve_begin",
    "reserve_release",
    "reserve_draw",
    "reserve_deposit",
    "reserve_end",
    "reserve_target",
    "pdl",
    "cumulative_default",
    "purchase_cash",
    "residual",
    "excess_spread",
    "oc_collateral",
    "interest_after_fees",
    "defaulted_pending",
)
#: Accounts that are the deal's own pockets: money passes through them within a period.
INTERNAL = frozenset({"revenue", "principal_funds"})
#: Where cash comes from: the pool, and the residual holder funding the reserve at closing.
SOURCES = frozenset({"pool", "equity"})


@dataclass(frozen=True, eq=False)
class Ledger:
    """Every movement of cash: one entry (step, from, to) and its amounts ``(scenario, period)``."""

    entries: tuple[tuple[str, str, str], ...]
    amounts: F64  # (n_entries, S, T)

    def to_frame(
        self, scenario_names: NDArray[np.str_], dates: NDArray[np.datetime64]
    ) -> pd.DataFrame:
        """Long table ``scenario, period, date, step, from, to, amount`` (non-zero amounts)."""
        e, s, t = np.nonzero(self.amounts)
        ent = np.asarray(self.entries, dtype=object).reshape(-1, 3)
        return pd.DataFrame(
            {
                "scenario": scenario_names[s],
                "period": t + 1,
                "date": dates[t],
                "step": ent[e, 0],
                "from": ent[e, 1],
                "to": ent[e, 2],
                "amount": self.amounts[e, s, t],
            }
        )


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything a run produced, per scenario and payment period.

    Arrays (the truth): ``tranche[field]`` is ``(scenario, tranche,
    period)``, ``fee[field]`` ``(scenario, fee, period)``, ``pool[field]``
    and ``account[field]`` ``(scenario, period)``, ``trigger`` ``(scenario,
    trigger, period)`` (breached as of the period's end).  The DataFrame
    properties are views of them.
    """

    deal: Deal
    scenario_names: NDArray[np.str_]
    dates: NDArray[np.datetime64]  # payment dates (T,)
    collection_end: NDArray[np.datetime64]  # last day of each period's collection months (T,)
    accrual_start: NDArray[np.datetime64]  # start of each accrual period (T,)
    year_fractions: F64  # (T,)
    tranche_names: tuple[str, ...]
    fee_names: tuple[str, ...]
    trigger_names: tuple[str, ...]
    tranche: Mapping[str, F64]
    fee: Mapping[str, F64]
    pool: Mapping[str, F64]
    account: Mapping[str, F64]
    trigger: NDArray[np.bool_]
    ledger_data: Ledger
    original_balances: Mapping[str, float]
    pool_balance: float
    seed: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    # --- shape --------------------------------------------------------------------------

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.scenario_names.shape[0])

    @property
    def n_periods(self) -> int:
        """Number of payment periods run."""
        return int(self.dates.shape[0])

    def tranche_index(self, name: str) -> int:
        """Position of a tranche in the tranche axis."""
        try:
            return self.tranche_names.index(name)
        except ValueError:
            raise KeyError(
                f"no tranche {name!r}; tranches are {', '.join(self.tranche_names)}"
            ) from None

    # --- tidy views ----------------------------------------------------------------------

    @property
    def pool_cashflows(self) -> pd.DataFrame:
        """Pool collections by payment period (purchased receivables included)."""
        S, T = self.n_scenarios, self.n_periods
        cols: dict[str, Any] = {
            "scenario": np.repeat(self.scenario_names, T),
            "period": np.tile(np.arange(1, T + 1), S),
            "date": np.tile(self.dates, S),
        }
        cols.update({f: self.pool[f].reshape(-1) for f in POOL_FIELDS})
        return pd.DataFrame(cols)

    @property
    def tranche_cashflows(self) -> pd.DataFrame:
        """Note cash flows: one row per scenario, period and tranche."""
        S, N, T = self.n_scenarios, len(self.tranche_names), self.n_periods
        cols: dict[str, Any] = {
            "scenario": np.repeat(self.scenario_names, N * T),
            "period": np.tile(np.arange(1, T + 1), S * N),
            "date": np.tile(self.dates, S * N),
            "tranche": np.tile(np.repeat(np.asarray(self.tranche_names, dtype=object), T), S),
        }
        cols.update({f: self.tranche[f].reshape(-1) for f in TRANCHE_FIELDS})
        return pd.DataFrame(cols)

    @property
    def fees(self) -> pd.DataFrame:
        """Fees due, paid and unpaid by scenario, period and fee."""
        S, F, T = self.n_scenarios, len(self.fee_names), self.n_periods
        cols: dict[str, Any] = {
            "scenario": np.repeat(self.scenario_names, F * T),
            "period": np.tile(np.arange(1, T + 1), S * F),
            "date": np.tile(self.dates, S * F),
            "fee": np.tile(np.repeat(np.asarray(self.fee_names, dtype=object), T), S),
        }
        cols.update({f: self.fee[f].reshape(-1) for f in FEE_FIELDS})
        return pd.DataFrame(cols)

    @property
    def accounts(self) -> pd.DataFrame:
        """Reserve account, principal deficiency ledger and the other deal-level amounts."""
        S, T = self.n_scenarios, self.n_periods
        cols: dict[str, Any] = {
            "scenario": np.repeat(self.scenario_names, T),
            "period": np.tile(np.arange(1, T + 1), S),
            "date": np.tile(self.dates, S),
        }
        cols.update({f: self.account[f].reshape(-1) for f in ACCOUNT_FIELDS})
        return pd.DataFrame(cols)

    @property
    def triggers(self) -> pd.DataFrame:
        """Trigger state per scenario and period (``True``: breached as of that period)."""
        S, T = self.n_scenarios, self.n_periods
        cols: dict[str, Any] = {
            "scenario": np.repeat(self.scenario_names, T),
            "period": np.tile(np.arange(1, T + 1), S),
            "date": np.tile(self.dates, S),
        }
        for i, name in enumerate(self.trigger_names):
            cols[name] = self.trigger[:, i, :].reshape(-1)
        return pd.DataFrame(cols)

    @property
    def ledger(self) -> pd.DataFrame:
        """Every movement of cash: ``scenario, period, date, step, from, to, amount``."""
        return self.ledger_data.to_frame(self.scenario_names, self.dates)

    # --- hand-over -----------------------------------------------------------------------

    def state_after(self, period: int = -1, scenario: int | str = 0) -> DealState:
        """The deal's position after ``period`` (0-based; default the last), for one scenario.

        Everything the next payment date needs: note balances, unreimbursed
        write-downs, unpaid interest and fees, the reserve, the PDL, the
        cumulative defaults, trigger states, what the revolving period bought,
        the recent excess spread and the defaulted balance awaiting recovery.
        ``dataclasses.replace(deal, state=result.state_after(k))`` re-projects
        the rest of the life from the pool as it stands on ``as_of`` (the end of
        period ``k``'s collections).
        """
        from abs_engine.deal.spec import DealState

        s = (
            scenario
            if isinstance(scenario, int)
            else int(np.flatnonzero(self.scenario_names == scenario)[0])
        )
        p = range(self.n_periods)[period]
        tr, ac = self.tranche, self.account
        names = self.tranche_names
        prior = self.deal.state
        es = [*(prior.excess_spread_history if prior else ()), *ac["excess_spread"][s, : p + 1]]
        window = max(
            (t.periods for t in self.deal.triggers if t.kind == "excess_spread"), default=0
        )
        return DealState(
            as_of=self.collection_end[p].astype(dt.date),
            balances={n: float(tr["end_balance"][s, i, p]) for i, n in enumerate(names)},
            unpaid_interest={
                n: float(tr["interest_shortfall"][s, i, p]) for i, n in enumerate(names)
            },
            reserve=float(ac["reserve_end"][s, p]),
            cumulative_default=float(ac["cumulative_default"][s, p]),
            pdl=float(ac["pdl"][s, p]),
            triggers={n: bool(self.trigger[s, k, p]) for k, n in enumerate(self.trigger_names)},
            purchased=(prior.purchased if prior else 0.0)
            + float(self.pool["purchases"][s, : p + 1].sum()),
            original_pool_balance=self.pool_balance,
            writedowns={
                n: float(tr["unreimbursed_writedown"][s, i, p]) for i, n in enumerate(names)
            },
            unpaid_fees={
                n: float(self.fee["unpaid"][s, j, p]) for j, n in enumerate(self.fee_names)
            },
            excess_spread_history=tuple(float(x) for x in es[max(len(es) - window, 0) :])
            if window
            else (),
            defaulted_pending=float(ac["defaulted_pending"][s, p]),
        )

    # --- checks --------------------------------------------------------------------------

    def conservation(self) -> F64:
        """Residual of the cash balance per (scenario, period).

        .. math::

            \\text{collections} + \\text{reserve funding, draws and releases}
            - \\text{payments} - \\text{reserve deposits} - \\text{residual}

        the deal's internal pockets (revenue, principal funds) must end every
        period empty, and the reserve balance must move only by its ledger
        entries (``reserve_end = reserve_begin + in - out``, carried from one
        period to the next; at closing it holds what the residual holder funded).
        """
        lg = self.ledger_data
        inflow = np.zeros(lg.amounts.shape[1:])
        outflow = np.zeros_like(inflow)
        internal = np.zeros_like(inflow)
        reserve_in = np.zeros_like(inflow)
        reserve_out = np.zeros_like(inflow)
        funded = np.zeros_like(inflow)
        for (step, src, dst), amt in zip(lg.entries, lg.amounts, strict=True):
            if src in SOURCES or src == "reserve":
                inflow += amt
            if dst not in INTERNAL and dst != "pool":
                outflow += amt
            if src in INTERNAL:
                internal -= amt
            if dst in INTERNAL:
                internal += amt
            if step == "reserve_funding":
                funded += amt
            elif dst == "reserve":
                reserve_in += amt
            if src == "reserve":
                reserve_out += amt
        acc = self.account
        begin, end = acc["reserve_begin"], acc["reserve_end"]
        moved = np.abs(begin + reserve_in - reserve_out - end)
        carried = np.zeros_like(moved)
        carried[:, 1:] = np.abs(begin[:, 1:] - end[:, :-1])
        if self.deal.state is None:
            carried[:, 0] = np.abs(begin[:, 0] - funded[:, 0])
        gaps = (np.abs(inflow - outflow), np.abs(internal), moved, carried)
        return np.asarray(np.maximum.reduce(gaps), dtype=np.float64)

    def check_conservation(self, tol: float = 1e-6) -> None:
        """Raise if cash is created or lost anywhere (``tol`` a share of the pool balance).

        Collections + reserve funding, draws and releases = payments + reserve
        deposits + residual, every period, every scenario; the reserve balance
        moves only by its ledger entries.
        """
        gap = self.conservation()
        worst = float(gap.max()) if gap.size else 0.0
        if worst > tol * self.pool_balance:
            s, t = np.unravel_index(int(np.argmax(gap)), gap.shape)
            raise AbsError(
                f"cash is not conserved: {worst:,.6f} in scenario {self.scenario_names[s]!r}, "
                f"period {t + 1} (tolerance {tol:g} of the pool balance)"
            )

    def _repr_html_(self) -> str:
        totals = pd.DataFrame(
            {
                "original_balance": [self.original_balances[n] for n in self.tranche_names],
                "interest_paid": self.tranche["interest_paid"][0].sum(axis=1),
                "principal_paid": self.tranche["principal_paid"][0].sum(axis=1),
                "writedown": self.tranche["writedown"][0].sum(axis=1),
                "residual": self.tranche["residual"][0].sum(axis=1),
            },
            index=pd.Index(self.tranche_names, name="tranche"),
        )
        head = f"<p>{self!r} — totals of scenario {self.scenario_names[0]!r}</p>"
        return head + totals.to_html(float_format=lambda v: f"{v:,.2f}")

    def __repr__(self) -> str:
        return (
            f"RunResult({self.deal.name!r}: {self.n_scenarios:,} scenario(s) x "
            f"{self.n_periods} periods, "
            f"tranches {', '.join(self.tranche_names)})"
        )
