"""Policy what-if: from scorecard cut-offs to the cost of funding the book.

:func:`policy_whatif` regrades a tape under alternative credit policies -
grade thresholds, an approval cut-off, credit limits - and follows each
policy through to the deal: the new grade mix, the per-grade curves the mix
implies, and the funding the deal then gives (advance rate, cost of funds,
equity IRR, break-even), side by side with the current policy.

**Grades and curves.**  The tape is graded with the card as it stands (the
*current* grades ``h``, on which the curves of the deal or of a calibration
were estimated) and, for each policy, with the policy's thresholds (the
*new* grades ``g``).  A new grade is a mixture of slices of current grades;
the slice ``(g, h)`` holds balance :math:`W_{gh}` and defaults
:math:`m_{gh}` times as often as the whole of grade ``h``, where

.. math:: m_{gh} = \\overline{PD}(g \\cap h) \\,/\\, \\overline{PD}(h)

are balance-weighted mean default probabilities from the card's scaling
(score to odds; a card without one takes a logistic fit of the default flag
on the score in a labelled ``history``).  So the slice's monthly default rate
at age ``a`` is :math:`d_{gh}(a) = \\min(1, m_{gh}\\, d_h(a))` and its
prepayment rate :math:`s_h(a)`.  The new grade's rates are the slices' rates
weighted by the balance each slice still has at that age.  Both rates act
on the balance at the start of the month (the projection engine's SIFMA
convention: a unit of scheduled balance survives a month with probability
:math:`1 - d - s`), so the survival from age 0 is
:math:`S_{gh}(a) = \\prod_{k \\le a} (1 - d_{gh}(k) - s_h(k))` and

.. math::

    d_g(a) = \\frac{\\sum_h W_{gh} S_{gh}(a-1)\\, d_{gh}(a)}{\\sum_h W_{gh} S_{gh}(a-1)},\\qquad
    s_g(a) = \\frac{\\sum_h W_{gh} S_{gh}(a-1)\\, s_h(a)}{\\sum_h W_{gh} S_{gh}(a-1)}

which reproduces exactly the defaults and prepayments of the slices run
separately for receivables originated together with the same amortisation
(the revolving purchases); for a seasoned tape it is an approximation.
Severity and recovery lag are the slices' values weighted by their expected
defaulted balance.  Under the current policy every :math:`m = 1` and the
curves are the current ones.

**The book.**  Receivables scoring below a policy's ``min_score`` are
declined (they leave the pool).  A policy's ``credit_limit`` caps each
receivable's original balance at its new limit, scaling its current
balance in proportion.  The revolving template keeps its products; each
grade's purchase share is scaled by the ratio of its balance share of the
book under the policy to that under the current policy.

**Funding.**  For each policy the deal is sized with
:func:`abs_engine.analytics.size` (advance rate = rated notes / pool; cost of
funds = coupon of the rated notes weighted by balance x WAL; equity IRR =
the equity's base-case yield at par, nominal at the deal's payment
frequency), run as structured (:func:`abs_engine.analytics.run`), and its
break-even default multiples found with :func:`abs_engine.analytics.breakeven`
(a multiple of the policy's own base curves; the pool's cumulative net loss at
break-even is comparable across policies).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from abs_engine._frozen import FrozenMap
from abs_engine.analytics import AnalysedRun, Sizing, breakeven, run, size
from abs_engine.calibrate import Calibration
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.curve import Vector
from abs_engine.deal.spec import Deal, Revolving, load_deal
from abs_engine.errors import AssumptionError, GradingError, SizingError, SpecError
from abs_engine.grading._columns import numeric_values
from abs_engine.grading.fitting import ScorecardFit, _target, logistic_regression
from abs_engine.grading.scorecard import CreditLimit, Scorecard, load_scorecard
from abs_engine.grading.scoring import grade
from abs_engine.pool.pool import Pool
from abs_engine.projection.engine import project

__all__ = ["CURRENT", "Policy", "PolicyWhatIf", "implied_assumptions", "policy_whatif"]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]

#: Name of the card's own policy, always the first column of a comparison.
CURRENT = "current"
#: Label of declined receivables in the migration table.
DECLINED = "declined"


@dataclass(frozen=True)
class Policy:
    """A credit policy to compare: grade thresholds, approval cut-off, credit limits.

    Parameters
    ----------
    name : str
        Column name in the comparison.
    thresholds : tuple of float, optional
        Minimum score of every grade but the last (the card's own when omitted).
    min_score : float, optional
        Approval cut-off: receivables scoring below it are declined (out of the book).
    credit_limit : CreditLimit, optional
        Credit limits under the policy; original balances are capped at the new limit.
    """

    name: str
    thresholds: tuple[float, ...] | None = None
    min_score: float | None = None
    credit_limit: CreditLimit | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("a policy needs a name", "policy.name")
        if self.thresholds is not None:
            t = tuple(float(x) for x in self.thresholds)
            if not all(math.isfinite(x) for x in t):
                raise SpecError(f"thresholds must be finite; got {t}", f"{self.name}.thresholds")
            object.__setattr__(self, "thresholds", t)
        if self.min_score is not None and not math.isfinite(float(self.min_score)):
            raise SpecError("min_score must be finite", f"{self.name}.min_score")
        if self.credit_limit is not None and not isinstance(self.credit_limit, CreditLimit):
            raise SpecError("credit_limit must be a CreditLimit", f"{self.name}.credit_limit")

    def card(self, base: Scorecard) -> Scorecard:
        """The base card with this policy's thresholds and credit limits."""
        changes: dict[str, Any] = {}
        if self.thresholds is not None:
            changes["thresholds"] = self.thresholds
        if self.credit_limit is not None:
            changes["credit_limit"] = self.credit_limit
        if not changes:
            return base
        try:
            return dataclasses.replace(base, **changes)
        except SpecError as exc:
            raise SpecError(f"policy {self.name!r}: {exc}", exc.path) from None


@dataclass(frozen=True, eq=False)
class PolicyWhatIf:
    """Each policy's book, curves and funding, side by side.

    Attributes
    ----------
    policies : tuple of Policy
        ``current`` first.
    mix : pandas.DataFrame
        Per policy and grade (and ``declined``): ``receivables``,
        ``balance``, ``share`` (of the kept balance; of the tape for
        ``declined``), ``mean_score`` and ``mean_pd`` (balance-weighted).
    migration : pandas.DataFrame
        Per policy, current grade and new grade (or ``declined``): balance
        and its share of the current grade.
    curves : pandas.DataFrame
        Per policy and grade: ``default_multiple`` (the grade's expected
        defaults over the current curves of its slices), ``cdr_12m`` (share
        of a new receivable's balance defaulting in its first 12 months
        without prepayment, ``1 - prod(1 - d)``), ``lifetime_default``
        (expected defaults per unit of a non-amortising receivable
        originated at age 0, prepayments competing, over the vectors'
        horizon: the tape's longest term plus the revolving period),
        ``severity``, ``recovery_lag``.
    funding : pandas.DataFrame
        One row per policy: ``receivables``, ``balance``, ``declined_share``,
        ``expected_cnl`` (the pool's base-case cumulative net loss, share of
        its balance), ``advance_rate``, ``cost_of_funds``, ``excess_spread``,
        ``equity_irr`` (from sizing; NaN with the reason in ``sizing_note``
        when the targets cannot be met under the policy),
        ``equity_yield_as_structured`` (the deal's own sizes), and per tranche ``breakeven_<tranche>`` (default
        multiple) and ``cnl_at_breakeven_<tranche>``.
    assumptions : mapping of policy name to GradedAssumptions
        The implied per-grade curves.
    deals : mapping of policy name to Deal
        The deal with the implied curves and template (as structured).
    sizings : mapping of policy name to Sizing
        The sized deals (when sizing ran).
    """

    policies: tuple[Policy, ...]
    mix: pd.DataFrame
    migration: pd.DataFrame
    curves: pd.DataFrame
    funding: pd.DataFrame
    assumptions: Mapping[str, GradedAssumptions]
    deals: Mapping[str, Deal]
    sizings: Mapping[str, Sizing] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("assumptions", "deals", "sizings"):
            object.__setattr__(self, key, FrozenMap(dict(getattr(self, key))))

    def comparison(self) -> pd.DataFrame:
        """The funding table turned: one row per measure, one column per policy."""
        out = self.funding.set_index("policy").T
        out.index.name = "measure"
        out.columns.name = None
        return out


# --- PD per score ---------------------------------------------------------------------------


def _pd_function(
    card: Scorecard, history: pd.DataFrame | None, target: str | None
) -> tuple[Any, str]:
    if card.scaling is not None:
        return card.scaling.pd, "the card's scaling"
    if history is None or target is None:
        raise GradingError(
            f"scorecard {card.name!r} states no [scaling] (score to odds); pass history= (a "
            "labelled history) and target= so the PD per score can be fitted, or use a fitted card"
        )
    y = _target(history, target)
    score = grade(history, card)["score"].to_numpy(dtype=np.float64)
    centre = float(score.mean())
    res = logistic_regression(np.column_stack([np.ones(score.size), score - centre]), y)
    a, b = float(res.coef[0]), float(res.coef[1])
    if b >= 0:
        raise GradingError(
            f"on the history, the default rate does not fall as the score of {card.name!r} rises "
            f"(slope {b:.4g}); the card does not rank this history"
        )

    def pd_of(s: Any) -> F64:
        out: F64 = special.expit(a + b * (np.asarray(s, dtype=np.float64) - centre))
        return out

    return pd_of, "a logistic fit of the history's default flag on the score"


# --- implied curves --------------------------------------------------------------------------


def _rates(a: Assumptions, ages: NDArray[np.int64], grade_name: str) -> tuple[F64, F64]:
    if a.roll_rates is not None:
        raise AssumptionError(
            f"grade {grade_name!r} takes defaults from a roll-rate pipeline; the policy what-if "
            "mixes default curves - use curve assumptions (calibrate without include_roll_rates)"
        )
    return a.default.monthly_rates(ages), a.prepay.monthly_rates(ages)


def implied_assumptions(
    base: Mapping[str, Assumptions],
    weights: Mapping[str, Mapping[str, float]],
    multiples: Mapping[str, Mapping[str, float]],
    *,
    months: int,
) -> tuple[dict[str, Assumptions], pd.DataFrame]:
    """Per new grade, the curves of its mixture of slices of current grades.

    Parameters
    ----------
    base : mapping of current grade to Assumptions
        The current grades' curves.
    weights : mapping new grade -> {current grade: balance}
        :math:`W_{gh}`; new grades with no balance are left out.
    multiples : mapping new grade -> {current grade: m}
        :math:`m_{gh}`, the slice's default multiple of its current grade.
    months : int
        Ages (or periods) of the vectors; the last value holds after.

    Returns
    -------
    (assumptions, table)
        The implied :class:`Assumptions` per new grade (monthly vectors, by
        the base curves' index) and a table of ``default_multiple``,
        ``cdr_12m``, ``lifetime_default``, ``severity``, ``recovery_lag``.
    """
    ages = np.arange(1, months + 1, dtype=np.int64)
    bys = {a.default.by for a in base.values()} | {a.prepay.by for a in base.values()}
    if len(bys) != 1:
        raise AssumptionError(
            "the current grades' curves mix age- and period-indexed curves; the policy what-if "
            "mixes them month by month, so give them one index"
        )
    by = bys.pop()
    advancing = {a.advancing for a in base.values()}
    if len(advancing) != 1:
        raise AssumptionError(
            "the current grades differ in servicer advancing; make it one setting"
        )
    rates = {h: _rates(a, ages, h) for h, a in base.items()}
    out: dict[str, Assumptions] = {}
    rows = []
    for g, slices in weights.items():
        parts = [(h, w) for h, w in slices.items() if w > 0]
        if not parts:
            continue
        W = np.array([w for _, w in parts])
        d = np.stack([np.minimum(1.0, multiples[g][h] * rates[h][0]) for h, _ in parts])
        s = np.stack([rates[h][1] for h, _ in parts])
        d_base = np.stack([rates[h][0] for h, _ in parts])
        s = np.minimum(s, 1.0 - d)  # the engine caps the SMM at 1 - MDR
        alive = np.ones(len(parts))
        d_mix = np.empty(months)
        s_mix = np.empty(months)
        defaulted = np.zeros(len(parts))  # expected defaults per unit originated, by slice
        defaulted_base = np.zeros(len(parts))
        alive_base = np.ones(len(parts))
        s_base = np.minimum(s, 1.0 - d_base)
        for k in range(months):
            wk = W * alive
            if wk.sum() > 0:
                d_mix[k] = float(wk @ d[:, k] / wk.sum())
                s_mix[k] = float(wk @ s[:, k] / wk.sum())
            else:  # every slice has run off: hold the plain average
                d_mix[k], s_mix[k] = float(d[:, k].mean()), float(s[:, k].mean())
            defaulted += alive * d[:, k]
            defaulted_base += alive_base * d_base[:, k]
            alive = alive * (1.0 - d[:, k] - s[:, k])
            alive_base = alive_base * (1.0 - d_base[:, k] - s_base[:, k])
        loss_w = W * defaulted
        if loss_w.sum() > 0:
            sev = float(loss_w @ np.array([base[h].severity for h, _ in parts]) / loss_w.sum())
            lag = float(loss_w @ np.array([base[h].recovery_lag for h, _ in parts]) / loss_w.sum())
        else:
            sev = float(np.average([base[h].severity for h, _ in parts], weights=W))
            lag = float(np.average([base[h].recovery_lag for h, _ in parts], weights=W))
        out[g] = Assumptions(
            default=Vector(tuple(float(x) for x in d_mix), "mdr", by),
            prepay=Vector(tuple(float(x) for x in s_mix), "smm", by),
            severity=sev,
            recovery_lag=round(lag),
            advancing=advancing.copy().pop(),
        )
        lifetime = float(W @ defaulted / W.sum())
        lifetime_base = float(W @ defaulted_base / W.sum())
        rows.append(
            {
                "grade": g,
                "default_multiple": lifetime / lifetime_base if lifetime_base > 0 else np.nan,
                "cdr_12m": float(1.0 - np.prod(1.0 - d_mix[:12])),
                "lifetime_default": lifetime,
                "severity": sev,
                "recovery_lag": round(lag),
            }
        )
    return out, pd.DataFrame(rows)


# --- the what-if ---------------------------------------------------------------------------


def _policies(
    card: Scorecard, cutoffs: Mapping[str, Any] | Sequence[Policy] | None
) -> tuple[Policy, ...]:
    items: list[Policy] = [Policy(CURRENT)]
    if cutoffs is None:
        raise SpecError(
            "name at least one alternative policy: cutoffs={'tighter': (680, 600)} or a list "
            "of Policy",
            "cutoffs",
        )
    if isinstance(cutoffs, Mapping):
        for name, value in cutoffs.items():
            if isinstance(value, Policy):
                items.append(dataclasses.replace(value, name=str(name)))
            else:
                items.append(Policy(str(name), tuple(value)))
    else:
        for p in cutoffs:
            if not isinstance(p, Policy):
                raise SpecError(f"expected a Policy; got {type(p).__name__}", "cutoffs")
            items.append(p)
    names = [p.name for p in items]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise SpecError(
                f"policy name {n!r} appears twice ({CURRENT!r} is the card's own)", f"cutoffs.{n}"
            )
    for p in items:
        p.card(card)  # thresholds valid for the card's grades
    return tuple(items)


def _tape(tape: pd.DataFrame | Pool) -> pd.DataFrame:
    if isinstance(tape, Pool):
        return tape.to_frame()
    if isinstance(tape, pd.DataFrame):
        return tape
    raise GradingError(f"the tape must be a DataFrame or a Pool; got {type(tape).__name__}")


def _template(rev: Revolving, ratio: Mapping[str, float]) -> Revolving:
    lines = []
    for line in rev.template:
        r = ratio.get(line.grade, 1.0)
        if r > 0:
            lines.append(dataclasses.replace(line, share=line.share * r))
    if not lines:
        raise SpecError(
            "under this policy no grade the revolving template buys keeps any balance",
            "revolving.template",
        )
    return dataclasses.replace(rev, template=tuple(lines))


def _weighted(values: F64, weights: F64) -> float:
    total = float(weights.sum())
    return float(values @ weights / total) if total > 0 else float("nan")


def policy_whatif(
    tape: pd.DataFrame | Pool,
    scorecard: Scorecard | ScorecardFit | str | os.PathLike[str],
    cutoffs: Mapping[str, Sequence[float] | Policy] | Sequence[Policy] | None = None,
    deal: Deal | str | os.PathLike[str] | None = None,
    *,
    assumptions: GradedAssumptions | Calibration | None = None,
    history: pd.DataFrame | None = None,
    target: str | None = None,
    targets: Mapping[str, float] | None = None,
    sizing: bool = True,
    tolerance: float = 1e-4,
    on: Literal["principal", "interest"] = "principal",
) -> PolicyWhatIf:
    """Regrade a book under alternative credit policies and re-run the deal under each.

    Parameters
    ----------
    tape : DataFrame or Pool
        The book: a tape with the card's attribute columns (its own
        ``grade`` column, if any, is replaced by the card's).
    scorecard : Scorecard, ScorecardFit or TOML path
        The card; its thresholds are the current policy.
    cutoffs : mapping of name to thresholds or Policy, or a sequence of Policy
        The alternatives (``{"tighter": (600, 560)}``); ``current`` is added first.
    deal : Deal or path
        The structure to fund the book with.
    assumptions : GradedAssumptions or Calibration, optional
        Curves of the card's current grades (default: the deal's); a
        :class:`~abs_engine.calibrate.Calibration` gives its ``assumptions``.
    history, target : DataFrame and str, optional
        A labelled history for the PD per score when the card has no scaling.
    targets : mapping of tranche to multiple, optional
        Break-even targets of the sizing (default: :func:`abs_engine.analytics.size`'s).
    sizing : bool
        Size the deal under each policy (about 60 engine runs each).
    tolerance : float
        Precision of the sized tranche shares (of the pool).
    on : {"principal", "interest"}
        What a tranche must survive, for sizing and break-even.

    Returns
    -------
    PolicyWhatIf

    Examples
    --------
    >>> import abs_engine as ae  # doctest: +SKIP
    >>> w = ae.policy_whatif(tape, card, {"tighter": (580, 555)}, deal)  # doctest: +SKIP
    >>> w.comparison().loc[["advance_rate", "cost_of_funds", "equity_irr"]]  # doctest: +SKIP
    """
    card = scorecard.scorecard if isinstance(scorecard, ScorecardFit) else scorecard
    if not isinstance(card, Scorecard):
        card = load_scorecard(card)
    if deal is None:
        raise SpecError("policy_whatif needs the deal to fund the book with (deal=)", "deal")
    if not isinstance(deal, Deal):
        deal = load_deal(Path(deal))
    if tuple(deal.pool.grades) != tuple(card.grades):
        raise SpecError(
            f"the deal's pool grades ({', '.join(deal.pool.grades)}) differ from the card's "
            f"({', '.join(card.grades)})",
            "pool.grades",
        )
    base_assumptions = (
        assumptions.assumptions if isinstance(assumptions, Calibration) else assumptions
    ) or deal.assumptions
    per_grade = {g: base_assumptions.for_grade(g) for g in card.grades}
    policies = _policies(card, cutoffs)
    pd_of, pd_source = _pd_function(card, history, target)
    frame = _tape(tape)
    graded = grade(frame, card)
    score = graded["score"].to_numpy(dtype=np.float64)
    pd_i = np.asarray(pd_of(score), dtype=np.float64)
    balance = graded["balance"].to_numpy(dtype=np.float64)
    current = card.grade_of(score).astype(np.int64)
    G = len(card.grades)
    pd_current = np.array([_weighted(pd_i[current == h], balance[current == h]) for h in range(G)])
    months = int(frame["original_term"].max()) + 1
    if deal.revolving is not None:
        months = max(months, max(t.term for t in deal.revolving.template) + 1)
        months += deal.revolving.periods
    months = min(months, 360)
    log.info("policy what-if: PD per score from %s; %d policies", pd_source, len(policies))

    mix_rows: list[dict[str, Any]] = []
    mig_rows: list[dict[str, Any]] = []
    curve_parts: list[pd.DataFrame] = []
    fund_rows: list[dict[str, Any]] = []
    implied: dict[str, GradedAssumptions] = {}
    deals: dict[str, Deal] = {}
    sizings: dict[str, Sizing] = {}
    base_mix: F64 | None = None
    total_balance = float(balance.sum())
    for policy in policies:
        pcard = policy.card(card)
        new = pcard.grade_of(score).astype(np.int64)
        kept = np.ones(score.size, dtype=bool)
        if policy.min_score is not None:
            kept = score >= policy.min_score
        if not kept.any():
            raise GradingError(f"policy {policy.name!r} declines every receivable of the tape")
        scale = np.ones(score.size)
        if policy.credit_limit is not None:
            contribution, _, _ = numeric_values(
                graded[pcard.credit_limit.column], needed_by="the credit limit", low=0.0
            )
            limit = pcard.credit_limit.limits(contribution, new)
            orig = (
                graded["original_balance"].to_numpy(dtype=np.float64)
                if "original_balance" in graded.columns
                else balance
            )
            orig = np.where(np.isfinite(orig) & (orig > 0), orig, balance)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(limit > 0, np.minimum(1.0, limit / orig), 0.0)
            kept &= scale > 0
        bal = balance * scale * kept
        kept_balance = float(bal.sum())
        mix = np.array([bal[new == g].sum() for g in range(G)]) / kept_balance
        if base_mix is None:
            base_mix = mix
        # mix, migration
        for g, name in enumerate(pcard.grades):
            m = kept & (new == g)
            mix_rows.append(
                {
                    "policy": policy.name,
                    "grade": name,
                    "receivables": int(m.sum()),
                    "balance": float(bal[m].sum()),
                    "share": float(mix[g]),
                    "mean_score": _weighted(score[m], bal[m]),
                    "mean_pd": _weighted(pd_i[m], bal[m]),
                }
            )
        declined = ~kept
        mix_rows.append(
            {
                "policy": policy.name,
                "grade": DECLINED,
                "receivables": int(declined.sum()),
                "balance": float(balance[declined].sum()),
                "share": float(balance[declined].sum()) / total_balance,
                "mean_score": _weighted(score[declined], balance[declined]),
                "mean_pd": _weighted(pd_i[declined], balance[declined]),
            }
        )
        weights: dict[str, dict[str, float]] = {}
        multiples: dict[str, dict[str, float]] = {}
        for h, hname in enumerate(card.grades):
            in_h = current == h
            h_total = float(balance[in_h].sum())
            for g, gname in enumerate(pcard.grades):
                sl = in_h & kept & (new == g)
                w = float(bal[sl].sum())
                weights.setdefault(gname, {})[hname] = w
                multiples.setdefault(gname, {})[hname] = (
                    _weighted(pd_i[sl], bal[sl]) / pd_current[h]
                    if w > 0 and pd_current[h] > 0
                    else 1.0
                )
                mig_rows.append(
                    {
                        "policy": policy.name,
                        "from_grade": hname,
                        "to_grade": gname,
                        "balance": w,
                        "share": w / h_total if h_total > 0 else np.nan,
                    }
                )
            gone = float(balance[in_h & declined].sum())
            mig_rows.append(
                {
                    "policy": policy.name,
                    "from_grade": hname,
                    "to_grade": DECLINED,
                    "balance": gone,
                    "share": gone / h_total if h_total > 0 else np.nan,
                }
            )
        if policy.name == CURRENT:
            # the current policy keeps the current curves exactly
            grade_curves = dict(per_grade)
            _, table = implied_assumptions(
                per_grade,
                {g: {g: weights[g][g]} for g in card.grades},
                {g: {g: 1.0} for g in card.grades},
                months=months,
            )
        else:
            grade_curves, table = implied_assumptions(per_grade, weights, multiples, months=months)
            for gname in card.grades:  # grades left empty keep the current curves (purchases)
                grade_curves.setdefault(gname, per_grade[gname])
        table.insert(0, "policy", policy.name)
        curve_parts.append(table)
        graded_p = implied[policy.name] = Assumptions.by_grade(
            {g: grade_curves[g] for g in card.grades}
        )
        d = deal.with_assumptions(graded_p)
        if d.revolving is not None and policy.name != CURRENT:
            assert base_mix is not None
            ratio = {
                g: (mix[k] / base_mix[k] if base_mix[k] > 0 else 1.0)
                for k, g in enumerate(card.grades)
            }
            d = dataclasses.replace(d, revolving=_template(d.revolving, ratio), spec=None)
        deals[policy.name] = d
        book = graded.loc[kept].copy()
        book["grade"] = np.asarray(pcard.grades, dtype=object)[new[kept]]
        if policy.credit_limit is not None:
            k = scale[kept]
            book["balance"] = book["balance"].to_numpy(dtype=np.float64) * k
            if "original_balance" in book.columns:
                book["original_balance"] = book["original_balance"].to_numpy(dtype=np.float64) * k
        book = book.drop(columns=[c for c in ("score", "credit_limit") if c in book.columns])
        book = book.drop(columns=[c for c in book.columns if c.startswith("reason_")])
        pool = Pool.from_frame(book, grades=card.grades, source=f"policy {policy.name}")
        fund_rows.append(
            _funding(policy.name, d, pool, total_balance, targets, sizing, tolerance, on, sizings)
        )
    funding = pd.DataFrame(fund_rows)
    return PolicyWhatIf(
        policies=policies,
        mix=pd.DataFrame(mix_rows),
        migration=pd.DataFrame(mig_rows),
        curves=pd.concat(curve_parts, ignore_index=True),
        funding=funding,
        assumptions=implied,
        deals=deals,
        sizings=sizings,
    )


def _funding(
    name: str,
    deal: Deal,
    pool: Pool,
    tape_balance: float,
    targets: Mapping[str, float] | None,
    sizing: bool,
    tolerance: float,
    on: Literal["principal", "interest"],
    sizings: dict[str, Sizing],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "policy": name,
        "receivables": len(pool),
        "balance": float(pool.balance),
        "declined_share": 1.0 - float(pool.balance) / tape_balance,
    }
    base_cf = project(pool, deal.assumptions, **deal.projection_options())
    row["expected_cnl"] = float(base_cf.totals()["cumulative_net_loss"].iloc[0])
    if sizing:
        try:
            sized = size(deal, pool, targets, on=on, tolerance=tolerance)
        except SizingError as exc:  # infeasible under this policy: say why, keep the others
            log.warning("policy %r: sizing infeasible: %s", name, exc)
            row.update(
                advance_rate=np.nan,
                cost_of_funds=np.nan,
                excess_spread=np.nan,
                equity_irr=np.nan,
                sizing_note=f"infeasible: {exc}",
            )
        else:
            sizings[name] = sized
            row["advance_rate"] = sized.advance_rate
            row["cost_of_funds"] = sized.cost_of_debt
            row["excess_spread"] = sized.excess_spread
            row["equity_irr"] = sized.equity_irr
            row["sizing_note"] = sized.equity_irr_reason
    result: AnalysedRun = run(deal, pool)
    summ = result.summary()
    eq = summ[summ["class"] == "equity"]
    row["equity_yield_as_structured"] = float(eq["yield"].iloc[0]) if len(eq) else np.nan
    be = breakeven(deal, pool, on=on)
    for tranche, level, cnl in zip(
        be["tranche"],
        be["breakeven"].astype(float),
        be["cumulative_net_loss"].astype(float),
        strict=True,
    ):
        row[f"breakeven_{tranche}"] = level
        row[f"cnl_at_breakeven_{tranche}"] = cnl
    return row
