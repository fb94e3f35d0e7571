r"""Deal-level analytics: prices, yields, WAL, duration, coverage and the run summary.

The deal layer sees a run from a settlement date (:mod:`.settlement`): flows on
or before it are dropped, times run from it by the deal's day count (plus a
payment delay), prices are clean in percent of the class balance at
settlement and the yield discounts the remaining flows to the full price
(clean + accrued interest).

The residual holder (the equity classes) is priced on what it really pays:
by sources and uses at settlement,

.. math::

    \text{outlay} = \frac{\text{pool price}}{100}\,\text{pool} + \text{reserve}
    - \sum_{\text{rated } j} \frac{\text{full price}_j}{100} B_j

which at closing, at par, is the equity notes + the over-collateralisation
(pool less every note) + the initial reserve; it receives everything paid to
the equity classes (interest, principal, residual, reserve releases).  Its
IRR is the yield of that outlay.

Coverage per class ``j`` and period (``N_j`` the balance of ``j`` and of every
class ranking with or above it at the period's end; pari-passu classes share
their OC and CE):

.. math::

    \mathrm{OC}_j = \frac{\text{performing pool} + \text{reserve}}{N_j},\qquad
    \mathrm{IC}_j = \frac{\text{interest and fee collections} - \text{fees owed}}
    {\text{interest due on } j \text{ and every class of its rank or above}},\qquad
    \mathrm{CE}_j = \frac{\text{pool} + \text{reserve} - N_j}{\text{pool}}

(credit enhancement: subordination + over-collateralisation + reserve, as a
share of the pool).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine.analytics._engine import at_or_above, principal_loss, residual_classes
from abs_engine.analytics.conventions import Convention, effective_annual
from abs_engine.analytics.measures import (
    Compounding,
    YieldResult,
    _frequency,
    convexity,
    macaulay_duration,
    modified_duration,
    price_from_yield,
    wal,
    yield_from_price,
)
from abs_engine.analytics.settlement import Settlement, settle
from abs_engine.analytics.spread import SpreadResult, ZeroCurve, z_spread
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.daycount import year_fraction
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool

__all__ = [
    "MIN_CASH_MULTIPLE",
    "MIN_YIELD",
    "NOTE_BASIS",
    "RESIDUAL_BASIS",
    "SUMMARY_COLUMNS",
    "AnalysedRun",
    "run",
]

F64 = NDArray[np.float64]

SUMMARY_COLUMNS = (
    "scenario",
    "tranche",
    "class",
    "original_balance",
    "balance",
    "coupon",
    "price",
    "accrued_interest",
    "full_price",
    "price_basis",
    "yield",
    "effective_yield",
    "yield_reason",
    "cash_multiple",
    "wal",
    "modified_duration",
    "macaulay_duration",
    "convexity",
    "first_principal",
    "last_principal",
    "expected_final",
    "principal_loss_share",
    "interest_shortfall_share",
    "min_oc",
    "min_ic",
    "credit_enhancement",
    "min_credit_enhancement",
)

#: A yield of flows returning less than this multiple of the outlay is not meaningful.
MIN_CASH_MULTIPLE = 0.01
#: A nominal yield at or below this (-100%) is reported as NaN with a reason, not as a rate.
MIN_YIELD = -1.0
#: ``price_basis`` of a note priced in the market convention.
NOTE_BASIS = "clean, % of class balance"
#: ``price_basis`` of the residual holder priced on its outlay.
RESIDUAL_BASIS = "residual holder's outlay (sources and uses), % of class balance"
HELD_BY_RESIDUAL = "held by the residual holder: see the first equity class"


def _ratio(num: F64, den: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 1e-9, num / np.where(den > 1e-9, den, 1.0), np.nan)


@dataclass(frozen=True, eq=False)
class Priced:
    """What each class's holder pays at settlement and receives after it.

    Attributes
    ----------
    settlement : Settlement
    clean : numpy.ndarray, (scenario, class)
        Clean price, percent of the balance at settlement (NaN without a balance).
    full : numpy.ndarray, (scenario, class)
        Full price, percent of the balance at settlement.
    amount : numpy.ndarray, (scenario, class)
        What the holder pays: full price x balance, or the residual holder's outlay.
    flows : numpy.ndarray, (scenario, class, period after settlement)
        What the holder receives (the residual holder: every equity class).
    basis : tuple of str
        Price basis of each class (:data:`NOTE_BASIS` or :data:`RESIDUAL_BASIS`).
    reason : numpy.ndarray of str, (scenario, class)
        Why a yield cannot be meaningful here (``""`` when it can be solved).
    """

    settlement: Settlement
    clean: F64
    full: F64
    amount: F64
    flows: F64
    basis: tuple[str, ...]
    reason: NDArray[np.str_]


@dataclass(frozen=True, eq=False, repr=False)
class AnalysedRun(RunResult):
    """A :class:`~abs_engine.deal.RunResult` with the analytics an investor decides on."""

    @classmethod
    def of(cls, result: RunResult) -> AnalysedRun:
        """Wrap a plain run result."""
        if isinstance(result, AnalysedRun):
            return result
        return cls(**{f.name: getattr(result, f.name) for f in dataclasses.fields(RunResult)})

    def _repr_html_(self) -> str:
        head = f"<p>{self!r}</p>"
        cols = [
            "scenario",
            "tranche",
            "original_balance",
            "yield",
            "wal",
            "modified_duration",
            "principal_loss_share",
            "min_oc",
        ]
        frame = self.summary()[cols].head(60)
        return head + frame.to_html(
            index=False,
            float_format=lambda v: f"{v:,.4f}",
        )

    # --- time -------------------------------------------------------------------------------

    def times(self, settlement: dt.date | None = None, delay_days: int = 0) -> F64:
        """Years from ``settlement`` (default: closing, or the state's date) to every payment.

        Payments are received ``delay_days`` after the payment date; the deal's
        day count measures the years (negative for payments before settlement;
        :meth:`settle` keeps only the later ones).
        """
        start = settlement or self.settle().date
        paid = self.dates + np.timedelta64(int(delay_days), "D")
        return np.asarray(
            year_fraction(np.datetime64(start), paid, self.deal.dates.day_count), dtype=np.float64
        )

    def settle(self, settlement: dt.date | None = None, delay_days: int = 0) -> Settlement:
        """The run seen from ``settlement`` (see :mod:`abs_engine.analytics.settlement`)."""
        return settle(self, settlement, delay_days)

    def _compounding(self, compounding: Compounding | None) -> int:
        if compounding is not None:
            return _frequency(compounding)
        return round(self.deal.dates.periods_per_year)

    def convention(
        self,
        compounding: Compounding | None = None,
        settlement: dt.date | None = None,
        delay_days: int = 0,
    ) -> Convention:
        """The convention yields and durations are quoted in (default: the deal's frequency)."""
        return Convention(
            self._compounding(compounding),
            self.deal.dates.day_count,
            self.settle(settlement, delay_days).date,
            int(delay_days),
        )

    # --- cash flows --------------------------------------------------------------------------

    def tranche_cashflows_array(self, tranche: str | int) -> F64:
        """Cash paid to a tranche by (scenario, period): interest, principal, residual."""
        i = tranche if isinstance(tranche, int) else self.tranche_index(tranche)
        t = self.tranche
        return np.asarray(
            t["interest_paid"][:, i] + t["principal_paid"][:, i] + t["residual"][:, i]
        )

    def face(self, tranche: str | int) -> F64:
        """Balance of the tranche at the start of the run (closing, or the state's date)."""
        i = tranche if isinstance(tranche, int) else self.tranche_index(tranche)
        return np.asarray(self.tranche["begin_balance"][:, i, 0])

    def residual_flows(self) -> F64:
        """Everything the residual holder receives by (scenario, period): every equity class."""
        eq = list(residual_classes(self.deal))
        t = self.tranche
        return np.asarray(
            (t["interest_paid"][:, eq] + t["principal_paid"][:, eq] + t["residual"][:, eq]).sum(
                axis=1
            )
        )

    # --- prices ------------------------------------------------------------------------------

    def priced(
        self,
        prices: Mapping[str, float] | float | None = None,
        *,
        settlement: dt.date | None = None,
        delay_days: int = 0,
        pool_price: float = 100.0,
    ) -> Priced:
        """What every holder pays at settlement and receives after it.

        Parameters
        ----------
        prices : mapping tranche -> percent, a percent, or None (par)
            Clean prices in percent of the class balance at settlement.  A
            single number prices every rated class.  The residual holder (the
            first equity class, holding every equity class) is priced on its
            outlay by sources and uses unless the mapping names it.
        settlement : date, optional
            Default: closing (a seasoned deal: the state's date).
        delay_days : int
            Days from a payment date to the cash reaching the holder.
        pool_price : float
            Price of the pool in percent of its balance at settlement, for the
            residual holder's outlay.
        """
        st = self.settle(settlement, delay_days)
        pool_px = _positive(pool_price, "pool_price")
        _check_price_names(prices, self.tranche_names)
        deal = self.deal
        eq = residual_classes(deal)
        holder = eq[0]
        k = st.first
        t = self.tranche
        flows = (
            t["interest_paid"][:, :, k:] + t["principal_paid"][:, :, k:] + t["residual"][:, :, k:]
        )
        flows = flows.copy()
        flows[:, holder] = flows[:, list(eq)].sum(axis=1)
        S, N = st.balance.shape
        bal = st.balance
        clean = np.full((S, N), np.nan)
        amount = np.zeros((S, N))
        reason = np.full((S, N), "", dtype="<U96")
        basis = [NOTE_BASIS] * N
        for i, tr in enumerate(deal.tranches):
            if i == holder or (tr.kind == "equity" and not _named(prices, tr.name)):
                continue
            px = _price_of(prices, tr.name)
            clean[:, i] = px
            amount[:, i] = (px + st.accrued_pct[i]) / 100.0 * bal[:, i]
        if _named(prices, deal.tranches[holder].name):
            px = _price_of(prices, deal.tranches[holder].name)
            clean[:, holder] = px
            amount[:, holder] = (px + st.accrued_pct[holder]) / 100.0 * bal[:, holder]
        else:
            rated = [i for i, tr in enumerate(deal.tranches) if tr.kind != "equity"]
            outlay = pool_px / 100.0 * st.pool + st.reserve - amount[:, rated].sum(axis=1)
            amount[:, holder] = outlay
            with np.errstate(divide="ignore", invalid="ignore"):
                clean[:, holder] = np.where(
                    bal[:, holder] > 1e-9,
                    100.0 * outlay / np.where(bal[:, holder] > 1e-9, bal[:, holder], 1.0)
                    - st.accrued_pct[holder],
                    np.nan,
                )
            basis[holder] = RESIDUAL_BASIS
            reason[:, holder] = np.where(
                outlay > 1e-9, "", "the residual holder's outlay is not positive"
            )
        for i, tr in enumerate(deal.tranches):
            if tr.kind == "equity" and i != holder and not _named(prices, tr.name):
                reason[:, i] = HELD_BY_RESIDUAL
                flows[:, i] = 0.0
            elif i != holder or basis[i] == NOTE_BASIS:
                reason[:, i] = np.where(bal[:, i] > 1e-9, reason[:, i], "no balance at settlement")
        clean = np.where(bal > 1e-9, clean, np.nan)
        full = clean + st.accrued_pct[None, :]
        if st.empty:
            reason[:] = "no payment after settlement"
        return Priced(st, clean, full, amount, flows, tuple(basis), reason)

    # --- measures ----------------------------------------------------------------------------

    def yields(
        self,
        prices: Mapping[str, float] | float | None = None,
        *,
        compounding: Compounding | None = None,
        settlement: dt.date | None = None,
        delay_days: int = 0,
        pool_price: float = 100.0,
    ) -> dict[str, YieldResult]:
        """Yield of every class at a clean price (default par; the residual holder on its outlay).

        The yield discounts the flows after settlement to the full price
        (clean + accrued).  Returns a :class:`YieldResult` per class, arrays
        over scenarios; a yield that is not meaningful is NaN with a reason:
        nothing left after settlement, no balance, an outlay that is not
        positive, flows returning less than :data:`MIN_CASH_MULTIPLE` of the
        outlay, a yield at or below :data:`MIN_YIELD` (-100%: a loss, not a
        rate), or no solution (no sign change).  See :meth:`priced`.
        """
        pr = self.priced(
            prices, settlement=settlement, delay_days=delay_days, pool_price=pool_price
        )
        m = self._compounding(compounding)
        return _solve_yields(self.tranche_names, pr, m)

    def prices_from_yields(
        self,
        yields: Mapping[str, float] | float,
        *,
        compounding: Compounding | None = None,
        settlement: dt.date | None = None,
        delay_days: int = 0,
    ) -> pd.DataFrame:
        """Clean price, accrued interest and full price of every class at a yield.

        ``yields`` is one nominal annual rate for every class or a mapping
        tranche -> rate (classes not named are left out).  Prices are in
        percent of the class balance at settlement; the residual holder's
        row values everything paid to the equity classes.

        Returns a tidy frame ``scenario, tranche, yield, effective_yield,
        price, accrued_interest, full_price, value`` (``value`` the present
        value in currency); ``attrs["conventions"]`` says how each is quoted.
        """
        pr = self.priced(None, settlement=settlement, delay_days=delay_days)
        st = pr.settlement
        m = self._compounding(compounding)
        conv = self.convention(m, st.date, delay_days)
        names = self.tranche_names
        if isinstance(yields, Mapping):
            _check_price_names(yields, names, "yields")
            chosen = [n for n in names if n in yields]
        else:
            chosen = list(names)
        frames = []
        for name in chosen:
            i = names.index(name)
            y = _number(yields[name] if isinstance(yields, Mapping) else yields, f"yields.{name}")
            if st.empty:
                value = np.full(self.n_scenarios, np.nan)
            else:
                value = np.asarray(price_from_yield(pr.flows[:, i], st.times, y, m))
            bal = st.balance[:, i]
            full = _ratio(100.0 * value, bal)
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": self.scenario_names,
                        "tranche": name,
                        "yield": y,
                        "effective_yield": float(effective_annual(y, m)),
                        "price": full - st.accrued_pct[i],
                        "accrued_interest": np.where(np.isfinite(full), st.accrued_pct[i], np.nan),
                        "full_price": full,
                        "value": value,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        out.attrs["conventions"] = conv.columns()
        return out

    def coverage_arrays(self) -> dict[str, F64]:
        """OC, IC and credit enhancement by (scenario, tranche, period); excess spread too.

        Each class counts itself and every class of its rank or above.
        """
        end_bal = self.tranche["end_balance"]
        due = self.tranche["interest_due"]
        above = at_or_above(self.deal)
        cum_bal = np.einsum("ji,sit->sjt", above, end_bal)
        cum_due = np.einsum("ji,sit->sjt", above, due)
        pool = self.pool["end_balance"][:, None, :]
        reserve = self.account["reserve_end"][:, None, :]
        oc = _ratio(np.broadcast_to(pool + reserve, cum_bal.shape), cum_bal)
        ic = _ratio(
            np.broadcast_to(self.account["interest_after_fees"][:, None, :], cum_due.shape), cum_due
        )
        ce = _ratio(
            np.broadcast_to(pool + reserve, cum_bal.shape) - cum_bal,
            np.broadcast_to(pool, cum_bal.shape),
        )
        live = end_bal > 1e-9
        return {
            "oc": np.where(live, oc, np.nan),
            "ic": np.where(self.tranche["begin_balance"] > 1e-9, ic, np.nan),
            "credit_enhancement": np.where(live, ce, np.nan),
            "excess_spread": self.account["excess_spread"],
        }

    def oc_at_start(self) -> F64:
        """OC ratio at the start of the run (closing), ``(scenario, tranche)``.

        ``(pool + reserve) / notes at or above the class's rank``, before any
        payment: the first point of ``min_oc``.  NaN for a class without balance.
        """
        notes = np.einsum(
            "ji,si->sj", at_or_above(self.deal), self.tranche["begin_balance"][:, :, 0]
        )
        collateral = (self.pool["begin_balance"][:, 0] + self.account["reserve_begin"][:, 0])[
            :, None
        ]
        live = self.tranche["begin_balance"][:, :, 0] > 1e-9
        return np.where(live, _ratio(np.broadcast_to(collateral, notes.shape), notes), np.nan)

    def credit_enhancement_at_closing(self) -> dict[str, float]:
        """Subordination + over-collateralisation + reserve, a share of the pool at the start."""
        pool0 = float(self.pool["begin_balance"][0, 0])
        reserve0 = float(self.account["reserve_begin"][0, 0])
        notes = at_or_above(self.deal) @ self.tranche["begin_balance"][0, :, 0]
        return {
            name: (pool0 + reserve0 - float(n)) / pool0 if pool0 > 0 else float("nan")
            for name, n in zip(self.tranche_names, notes, strict=True)
        }

    def coverage(self) -> pd.DataFrame:
        """Tidy coverage table: one row per scenario, period and tranche."""
        cov = self.coverage_arrays()
        S, N, T = cov["oc"].shape
        return pd.DataFrame(
            {
                "scenario": np.repeat(self.scenario_names, N * T),
                "period": np.tile(np.arange(1, T + 1), S * N),
                "date": np.tile(self.dates, S * N),
                "tranche": np.tile(np.repeat(np.asarray(self.tranche_names, dtype=object), T), S),
                "oc": cov["oc"].reshape(-1),
                "ic": cov["ic"].reshape(-1),
                "credit_enhancement": cov["credit_enhancement"].reshape(-1),
                "excess_spread": np.repeat(cov["excess_spread"], N, axis=0).reshape(-1),
            }
        )

    def sources_and_uses(
        self, prices: Mapping[str, float] | float | None = None, *, pool_price: float = 100.0
    ) -> pd.DataFrame:
        """Sources and uses of funds at closing: who pays for the pool and the reserve.

        Uses: the pool at ``pool_price`` (percent of the cut-off balance) and the
        initial reserve.  Sources: each rated class at its price (default par),
        and the residual holder, who pays the rest: its equity notes, the
        over-collateralisation (pool less every note), the reserve, and any
        pool premium or note discount.  The residual holder's total is the
        outlay its IRR is measured on.

        Returns ``side, item, tranche, amount, share_of_pool`` (first scenario;
        at closing the figures are the same in every scenario).
        """
        if self.deal.state is not None:
            raise SpecError(
                "sources and uses are a closing view; this is a seasoned deal (state.as_of "
                f"{self.deal.state.as_of}). Use priced() for the residual position now",
                "state",
            )
        pr = self.priced(prices, settlement=self.deal.dates.closing, pool_price=pool_price)
        st = pr.settlement
        pool0 = float(st.pool[0])
        reserve0 = float(st.reserve[0])
        deal = self.deal
        eq = residual_classes(deal)
        holder = eq[0]
        rows: list[tuple[str, str, str, float]] = [
            (
                "uses",
                f"pool at {pool_price:g}% of its cut-off balance",
                "",
                pool_price / 100 * pool0,
            ),
            ("uses", "initial reserve", "", reserve0),
        ]
        rated_total = 0.0
        for i, tr in enumerate(deal.tranches):
            if tr.kind == "equity":
                continue
            amt = float(pr.amount[0, i])
            rated_total += amt
            rows.append(("sources", f"{tr.name} notes at {pr.clean[0, i]:g}%", tr.name, amt))
        notes = float(st.balance[0].sum())
        face_eq = float(st.balance[0, list(eq)].sum())
        holder_name = deal.tranches[holder].name
        if pr.basis[holder] == RESIDUAL_BASIS:
            parts = [
                ("residual holder: equity notes (face)", face_eq),
                ("residual holder: over-collateralisation (pool less all notes)", pool0 - notes),
                ("residual holder: initial reserve", reserve0),
            ]
            premium = (pool_price / 100 - 1) * pool0
            if abs(premium) > 0:
                parts.append(("residual holder: pool premium (discount if negative)", premium))
            discount = sum(
                float(st.balance[0, i]) - float(pr.amount[0, i])
                for i, tr in enumerate(deal.tranches)
                if tr.kind != "equity"
            )
            if abs(discount) > 1e-9 * max(pool0, 1.0):
                parts.append(("residual holder: rated notes sold below par", discount))
            rows += [("sources", item, holder_name, amt) for item, amt in parts]
        else:
            rows.append(
                (
                    "sources",
                    f"{holder_name} notes at {pr.clean[0, holder]:g}%",
                    holder_name,
                    float(pr.amount[0, holder]),
                )
            )
        frame = pd.DataFrame(rows, columns=["side", "item", "tranche", "amount"])
        totals = frame.groupby("side", sort=False)["amount"].sum()
        frame = pd.concat(
            [
                frame[frame["side"] == "uses"],
                pd.DataFrame(
                    [("uses", "Total uses", "", float(totals["uses"]))], columns=frame.columns
                ),
                frame[frame["side"] == "sources"],
                pd.DataFrame(
                    [("sources", "Total sources", "", float(totals["sources"]))],
                    columns=frame.columns,
                ),
            ],
            ignore_index=True,
        )
        frame["share_of_pool"] = frame["amount"] / pool0 if pool0 > 0 else np.nan
        frame.attrs["residual_outlay"] = float(pr.amount[0, holder])
        return frame

    def summary(
        self,
        prices: Mapping[str, float] | float | None = None,
        *,
        compounding: Compounding | None = None,
        settlement: dt.date | None = None,
        delay_days: int = 0,
        pool_price: float = 100.0,
    ) -> pd.DataFrame:
        """One row per scenario and tranche of what an investor decides on.

        Size, coupon, clean price, accrued interest, full price, yield (nominal
        and annual effective), WAL, durations, principal window, losses and
        coverage.  The residual holder's row (the first equity class) is priced
        on its outlay by sources and uses and its yield is the equity IRR.
        ``attrs["conventions"]`` gives each convention-bearing column's
        convention; ``docs/outputs.md`` defines every column.

        Parameters
        ----------
        prices : mapping tranche -> percent, a percent for every rated class, or None (par)
            Clean price in percent of the class balance at settlement.
        compounding : int or str, optional
            Compounding of the yields (default: the deal's payment frequency).
        settlement : date, optional
            Settlement date (default closing, or the state's date mid-life);
            flows on or before it are dropped.
        delay_days : int
            Days between a payment date and the cash reaching the investor.
        pool_price : float
            Pool price in percent of its balance, for the residual holder's outlay.
        """
        pr = self.priced(
            prices, settlement=settlement, delay_days=delay_days, pool_price=pool_price
        )
        st = pr.settlement
        m = self._compounding(compounding)
        conv = self.convention(m, st.date, delay_days)
        ys = _solve_yields(self.tranche_names, pr, m)
        cov = self.coverage_arrays()
        oc_start = self.oc_at_start()
        ce0 = self.credit_enhancement_at_closing()
        loss = principal_loss(self)
        k = st.first
        t = st.times
        dates = self.dates[k:]
        nat = np.datetime64("NaT", "D")
        rows: list[pd.DataFrame] = []
        S = self.n_scenarios
        for i, name in enumerate(self.tranche_names):
            tr = self.deal.tranches[i]
            original = float(self.original_balances[name])
            cf = pr.flows[:, i]
            y = ys[name].yield_
            principal = self.tranche["principal_paid"][:, i, k:]
            finite = np.isfinite(y)
            if st.empty:
                mac = mod = cvx = w = np.full(S, np.nan)
                first_d = last_d = final_d = np.full(S, nat)
            else:
                has_p = principal > 1e-9
                any_p = has_p.any(axis=1)
                first = np.where(any_p, has_p.argmax(axis=1), 0)
                last = np.where(any_p, has_p.shape[1] - 1 - has_p[:, ::-1].argmax(axis=1), 0)
                paid = cf > 1e-9
                final = np.where(
                    paid.any(axis=1), paid.shape[1] - 1 - paid[:, ::-1].argmax(axis=1), 0
                )
                with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                    yy = np.where(finite, y, 0.0)
                    mac = macaulay_duration(cf, t, yy, m)
                    mod = modified_duration(cf, t, yy, m)
                    cvx = convexity(cf, t, yy, m)
                w = wal(principal, t)
                first_d = np.where(any_p, dates[first], nat)
                last_d = np.where(any_p, dates[last], nat)
                final_d = np.where(paid.any(axis=1), dates[final], nat)
            bal = st.balance[:, i]
            rows.append(
                pd.DataFrame(
                    {
                        "scenario": self.scenario_names,
                        "tranche": name,
                        "class": tr.kind,
                        "original_balance": original,
                        "balance": bal,
                        "coupon": tr.coupon.rate,
                        "price": pr.clean[:, i],
                        "accrued_interest": np.where(
                            np.isfinite(pr.clean[:, i]), st.accrued_pct[i], np.nan
                        ),
                        "full_price": pr.full[:, i],
                        "price_basis": pr.basis[i],
                        "yield": y,
                        "effective_yield": effective_annual(y, m),
                        "yield_reason": ys[name].reason,
                        "cash_multiple": _ratio(cf.sum(axis=1), pr.amount[:, i]),
                        "wal": w,
                        "modified_duration": np.where(finite, mod, np.nan),
                        "macaulay_duration": np.where(finite, mac, np.nan),
                        "convexity": np.where(finite, cvx, np.nan),
                        "first_principal": first_d,
                        "last_principal": last_d,
                        "expected_final": final_d,
                        "principal_loss_share": loss[:, i] / original
                        if original > 0
                        else np.full(S, np.nan),
                        "interest_shortfall_share": self.tranche["interest_shortfall"][:, i, -1]
                        / original
                        if original > 0
                        else np.full(S, np.nan),
                        "min_oc": np.fmin(_nanmin(cov["oc"][:, i]), oc_start[:, i]),
                        "min_ic": _nanmin(cov["ic"][:, i]),
                        "credit_enhancement": np.full(S, ce0[name]),
                        "min_credit_enhancement": _nanmin(cov["credit_enhancement"][:, i]),
                    }
                )
            )
        out = (
            pd.concat(rows, ignore_index=True)
            .sort_values(["scenario", "tranche"], key=_order(self))
            .reset_index(drop=True)
        )
        out.attrs["conventions"] = conv.columns()
        out.attrs["convention"] = conv.yield_label
        return out

    def z_spreads(
        self,
        curve: ZeroCurve,
        prices: Mapping[str, float] | float | None = None,
        *,
        settlement: dt.date | None = None,
        delay_days: int = 0,
        pool_price: float = 100.0,
    ) -> pd.DataFrame:
        """Z-spread of every class over ``curve`` at a clean price (default par).

        Flows after settlement are discounted to the full price, as for
        :meth:`yields`; the spread is compounded like the curve's rates.
        """
        pr = self.priced(
            prices, settlement=settlement, delay_days=delay_days, pool_price=pool_price
        )
        st = pr.settlement
        frames = []
        for i, name in enumerate(self.tranche_names):
            if st.empty:
                spread = np.full(self.n_scenarios, np.nan)
                why = np.full(self.n_scenarios, "no payment after settlement")
            else:
                res = z_spread(pr.flows[:, i], st.times, pr.amount[:, i], curve, full_output=True)
                assert isinstance(res, SpreadResult)
                spread = np.where(pr.reason[:, i] == "", res.spread, np.nan)
                why = np.where(pr.reason[:, i] == "", res.reason, pr.reason[:, i])
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": self.scenario_names,
                        "tranche": name,
                        "z_spread": spread,
                        "reason": why,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        out.attrs["conventions"] = {
            "z_spread": f"constant spread added to the curve's zero rates, compounded like the "
            f"curve; times in years by {self.deal.dates.day_count} from settlement {st.date}"
        }
        return out


def _solve_yields(names: Sequence[str], pr: Priced, m: int) -> dict[str, YieldResult]:
    """Yields of every class from :class:`Priced`; not-meaningful ones NaN with a reason."""
    st = pr.settlement
    S = pr.amount.shape[0]
    out: dict[str, YieldResult] = {}
    if st.empty:
        for name in names:
            out[name] = YieldResult(
                np.full(S, np.nan),
                np.zeros(S, dtype=bool),
                np.zeros(S, dtype=np.int64),
                np.full(S, "no payment after settlement"),
            )
        return out
    res = yield_from_price(
        pr.flows, st.times, np.where(pr.amount > 0, pr.amount, 1.0), m, full_output=True
    )
    assert isinstance(res, YieldResult)
    received = pr.flows.sum(axis=2)
    multiple = _ratio(received, pr.amount)
    low = np.isfinite(multiple) & (multiple < MIN_CASH_MULTIPLE)
    why = np.where(pr.reason != "", pr.reason, res.reason).astype("<U96")
    for s, i in zip(*np.nonzero(low & (pr.reason == "")), strict=True):
        why[s, i] = (
            f"returns {multiple[s, i]:.2%} of its outlay (< {MIN_CASH_MULTIPLE:.0%}): not meaningful"
        )
    deep = (why == "") & np.isfinite(res.yield_) & (res.yield_ <= MIN_YIELD)
    why[deep] = (
        "IRR at or below -100%: the holder loses most of its outlay (see cash_multiple "
        "and principal_loss_share)"
    )
    bad = why != ""
    y = np.where(bad, np.nan, res.yield_)
    for i, name in enumerate(names):
        out[name] = YieldResult(
            y[:, i].copy(),
            ~bad[:, i] & res.converged[:, i],
            res.iterations[:, i].copy(),
            why[:, i].copy(),
        )
    return out


def _order(result: RunResult) -> Any:
    names = list(result.tranche_names)
    scen = {n: i for i, n in enumerate(result.scenario_names)}

    def key(col: pd.Series) -> pd.Series:
        if col.name == "tranche":
            return col.map(names.index)
        return col.map(scen)

    return key


def _nanmin(a: F64) -> F64:
    with np.errstate(invalid="ignore"):
        filled = np.where(np.isnan(a), np.inf, a)
        m = filled.min(axis=-1)
    return np.where(np.isinf(m), np.nan, m)


def _named(prices: Mapping[str, float] | float | None, name: str) -> bool:
    return isinstance(prices, Mapping) and name in prices


def _check_price_names(
    prices: Mapping[str, float] | float | None, names: Sequence[str], what: str = "prices"
) -> None:
    if isinstance(prices, Mapping):
        for name in prices:
            if name not in names:
                raise SpecError(
                    f"{what[:-1]} for unknown tranche {name!r}; tranches are {', '.join(names)}",
                    what,
                )


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(f"must be a number; got {value!r}", where)
    v = float(value)
    if not np.isfinite(v):
        raise SpecError(f"must be finite; got {value!r}", where)
    return v


def _positive(value: object, where: str) -> float:
    v = _number(value, where)
    if v <= 0:
        raise SpecError(f"a price must be a positive percent of the balance; got {value!r}", where)
    return v


def _price_of(prices: Mapping[str, float] | float | None, name: str) -> float:
    """A tranche's clean price in percent of its balance (default 100), validated."""
    if prices is None:
        return 100.0
    value: object = prices.get(name, 100.0) if isinstance(prices, Mapping) else prices
    where = f"prices.{name}" if isinstance(prices, Mapping) else "prices"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(f"a price is a number, percent of par (99.5); got {value!r}", where)
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise SpecError(f"a price must be a positive percent of par; got {value!r}", where)
    return v


def run(
    deal: Deal,
    pool: Pool | Cohorts | None = None,
    scenarios: ScenarioSet | Scenario | Sequence[Scenario] | None = None,
    *,
    pending: Mapping[str, ArrayLike] | None = None,
) -> AnalysedRun:
    """Run a deal (see :func:`abs_engine.deal.run`) and return it with its analytics.

    >>> import abs_engine as ae  # doctest: +SKIP
    >>> result = ae.run(ae.load_deal("waterfalls/baitiao_2015.toml"))  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
    """
    return AnalysedRun.of(run_deal(deal, pool, scenarios, pending=pending))
