"""Deal-level analytics: note yields, WAL, duration, coverage and the run summary.

The deal layer turns a run's payment dates into times in years (the deal's day
count, from a settlement date, plus a payment delay) and calls the plain-array
measures, vectorised over scenarios.

Coverage per tranche ``j`` and period (tranches ordered by seniority, ``N_j``
the balance of ``j`` and every note senior to it at the period's end):

.. math::

    \\mathrm{OC}_j = \\frac{\\text{performing pool} + \\text{reserve}}{N_j},\\qquad
    \\mathrm{IC}_j = \\frac{\\text{revenue} - \\text{fees due}}{\\text{interest due on } j
    \\text{ and seniors}},\\qquad
    \\mathrm{CE}_j = \\frac{\\text{pool} + \\text{reserve} - N_j}{\\text{pool}}

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

from abs_engine.analytics.measures import (
    Compounding,
    YieldResult,
    convexity,
    macaulay_duration,
    modified_duration,
    wal,
    yield_from_price,
)
from abs_engine.analytics.spread import SpreadResult, ZeroCurve, z_spread
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.daycount import year_fraction
from abs_engine.deal.engine import run as run_deal
from abs_engine.deal.results import RunResult
from abs_engine.deal.spec import Deal
from abs_engine.errors import SpecError
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool

__all__ = ["SUMMARY_COLUMNS", "AnalysedRun", "run"]

F64 = NDArray[np.float64]

SUMMARY_COLUMNS = (
    "scenario",
    "tranche",
    "class",
    "original_balance",
    "coupon",
    "price",
    "yield",
    "wal",
    "modified_duration",
    "macaulay_duration",
    "convexity",
    "first_principal",
    "last_principal",
    "expected_final",
    "principal_loss_pct",
    "interest_shortfall",
    "min_oc",
    "min_ic",
    "credit_enhancement",
    "min_credit_enhancement",
    "yield_reason",
)


def _ratio(num: F64, den: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 1e-9, num / np.where(den > 1e-9, den, 1.0), np.nan)


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
            "principal_loss_pct",
            "min_oc",
        ]
        frame = self.summary()[cols].head(60)
        return head + frame.to_html(
            index=False,
            float_format=lambda v: f"{v:,.4f}",
        )

    # --- time -------------------------------------------------------------------------------

    def times(self, settlement: dt.date | None = None, delay_days: int = 0) -> F64:
        """Years from ``settlement`` (default: closing, or the state's date) to each payment.

        Payments are received ``delay_days`` after the payment date; the deal's
        day count measures the years.
        """
        start = settlement or (
            self.deal.state.as_of if self.deal.state else self.deal.dates.closing
        )
        paid = self.dates + np.timedelta64(int(delay_days), "D")
        return np.asarray(
            year_fraction(np.datetime64(start), paid, self.deal.dates.day_count), dtype=np.float64
        )

    def _compounding(self, compounding: Compounding | None) -> Compounding:
        if compounding is not None:
            return compounding
        return round(self.deal.dates.periods_per_year)

    # --- cash flows --------------------------------------------------------------------------

    def tranche_cashflows_array(self, tranche: str | int) -> F64:
        """Cash paid to a tranche by (scenario, period): interest, principal, residual."""
        i = tranche if isinstance(tranche, int) else self.tranche_index(tranche)
        t = self.tranche
        return np.asarray(
            t["interest_paid"][:, i] + t["principal_paid"][:, i] + t["residual"][:, i]
        )

    def face(self, tranche: str | int) -> F64:
        """Balance of the tranche at settlement (start of the first period), per scenario."""
        i = tranche if isinstance(tranche, int) else self.tranche_index(tranche)
        return np.asarray(self.tranche["begin_balance"][:, i, 0])

    # --- measures ----------------------------------------------------------------------------

    def yields(
        self,
        prices: Mapping[str, float] | float | None = None,
        *,
        compounding: Compounding | None = None,
        settlement: dt.date | None = None,
        delay_days: int = 0,
    ) -> dict[str, YieldResult]:
        """Yield of every tranche at a price (percent of its settlement balance; default par).

        Returns a :class:`YieldResult` per tranche, arrays over scenarios; a
        tranche with no yield (nothing paid, no sign change) gets NaN and a reason.
        """
        t = self.times(settlement, delay_days)
        m = self._compounding(compounding)
        if isinstance(prices, Mapping):
            for name in prices:
                if name not in self.tranche_names:
                    raise SpecError(
                        f"price for unknown tranche {name!r}; tranches are {', '.join(self.tranche_names)}",
                        "prices",
                    )
        out: dict[str, YieldResult] = {}
        for i, name in enumerate(self.tranche_names):
            px = _price_of(prices, name)
            res = yield_from_price(
                self.tranche_cashflows_array(i), t, px / 100.0 * self.face(i), m, full_output=True
            )
            assert isinstance(res, YieldResult)
            out[name] = res
        return out

    def coverage_arrays(self) -> dict[str, F64]:
        """OC, IC and credit enhancement by (scenario, tranche, period); excess spread too."""
        end_bal = self.tranche["end_balance"]
        due = self.tranche["interest_due"]
        # Tranches are listed from senior to equity: cumulative sums are "this and every senior".
        cum_bal = np.cumsum(end_bal, axis=1)
        cum_due = np.cumsum(due, axis=1)
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

    def credit_enhancement_at_closing(self) -> dict[str, float]:
        """Subordination + over-collateralisation + reserve, a share of the pool at settlement."""
        pool0 = float(self.pool["begin_balance"][0, 0])
        reserve0 = float(self.account["reserve_begin"][0, 0])
        notes = np.cumsum(self.tranche["begin_balance"][0, :, 0])  # this and every senior tranche
        out = {
            name: (pool0 + reserve0 - float(n)) / pool0 if pool0 > 0 else float("nan")
            for name, n in zip(self.tranche_names, notes, strict=True)
        }
        return out

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

    def summary(
        self,
        prices: Mapping[str, float] | float | None = None,
        *,
        compounding: Compounding | None = None,
        settlement: dt.date | None = None,
        delay_days: int = 0,
    ) -> pd.DataFrame:
        """One row per scenario and tranche of what an investor decides on.

        Size, coupon, price, yield, WAL, durations, principal window, losses
        and coverage.

        Parameters
        ----------
        prices : mapping tranche -> percent, a percent for all, or None (par)
            Price as a percent of the tranche's balance at settlement.
        compounding : int or str, optional
            Compounding of the yields (default: the deal's payment frequency).
        settlement : date, optional
            Settlement date (default closing, or the state's date mid-life).
        delay_days : int
            Days between a payment date and the cash reaching the investor.
        """
        t = self.times(settlement, delay_days)
        m = self._compounding(compounding)
        ys = self.yields(prices, compounding=m, settlement=settlement, delay_days=delay_days)
        cov = self.coverage_arrays()
        ce0 = self.credit_enhancement_at_closing()
        rows: list[pd.DataFrame] = []
        S = self.n_scenarios
        dates = self.dates
        for i, name in enumerate(self.tranche_names):
            tr = self.deal.tranches[i]
            face = self.face(i)
            cf = self.tranche_cashflows_array(i)
            y = ys[name].yield_
            principal = self.tranche["principal_paid"][:, i]
            has_p = principal > 1e-9
            any_p = has_p.any(axis=1)
            first = np.where(any_p, has_p.argmax(axis=1), 0)
            last = np.where(any_p, has_p.shape[1] - 1 - has_p[:, ::-1].argmax(axis=1), 0)
            paid = cf > 1e-9
            final = np.where(paid.any(axis=1), paid.shape[1] - 1 - paid[:, ::-1].argmax(axis=1), 0)
            nat = np.datetime64("NaT")
            with np.errstate(invalid="ignore"):
                mac = macaulay_duration(cf, t, np.nan_to_num(y), m)
                mod = modified_duration(cf, t, np.nan_to_num(y), m)
                cvx = convexity(cf, t, np.nan_to_num(y), m)
            finite = np.isfinite(y)
            rows.append(
                pd.DataFrame(
                    {
                        "scenario": self.scenario_names,
                        "tranche": name,
                        "class": tr.kind,
                        "original_balance": face,
                        "coupon": tr.coupon.rate,
                        "price": _price_of(prices, name),
                        "yield": y,
                        "wal": wal(principal, t),
                        "modified_duration": np.where(finite, mod, np.nan),
                        "macaulay_duration": np.where(finite, mac, np.nan),
                        "convexity": np.where(finite, cvx, np.nan),
                        "first_principal": np.where(any_p, dates[first], nat),
                        "last_principal": np.where(any_p, dates[last], nat),
                        "expected_final": np.where(paid.any(axis=1), dates[final], nat),
                        "principal_loss_pct": _ratio(
                            self.tranche["principal_loss"][:, i].sum(axis=1), face
                        ),
                        "interest_shortfall": _ratio(
                            self.tranche["interest_shortfall"][:, i, -1], face
                        ),
                        "min_oc": _nanmin(cov["oc"][:, i]),
                        "min_ic": _nanmin(cov["ic"][:, i]),
                        "credit_enhancement": np.full(S, ce0[name]),
                        "min_credit_enhancement": _nanmin(cov["credit_enhancement"][:, i]),
                        "yield_reason": ys[name].reason,
                    }
                )
            )
        return (
            pd.concat(rows, ignore_index=True)
            .sort_values(["scenario", "tranche"], key=_order(self))
            .reset_index(drop=True)
        )

    def z_spreads(
        self,
        curve: ZeroCurve,
        prices: Mapping[str, float] | float | None = None,
        *,
        settlement: dt.date | None = None,
        delay_days: int = 0,
    ) -> pd.DataFrame:
        """Z-spread of every tranche over ``curve`` at a price (percent of balance; default par)."""
        t = self.times(settlement, delay_days)
        frames = []
        for i, name in enumerate(self.tranche_names):
            price = _price_of(prices, name) / 100.0 * self.face(i)
            res = z_spread(self.tranche_cashflows_array(i), t, price, curve, full_output=True)
            assert isinstance(res, SpreadResult)
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": self.scenario_names,
                        "tranche": name,
                        "z_spread": res.spread,
                        "reason": res.reason,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


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


def _price_of(prices: Mapping[str, float] | float | None, name: str) -> float:
    """A tranche's price in percent of par (default 100), validated."""
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
