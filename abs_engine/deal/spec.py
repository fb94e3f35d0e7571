"""The deal specification: frozen, validated value objects and their TOML form.

A deal names its dates and day count, the pool (a tape and base-case
assumptions), the notes, fees, reserve account, revolving period, triggers,
clean-up call and the priority of payments.  Nothing runs on an invalid spec:
every error names its key path (``tranches[1].coupon``) and how to fix it.

Priority of payments
--------------------
Each waterfall is an ordered list of steps, written ``"action:target"``:

``fee:NAME``
    pay fee ``NAME`` (due this period plus any unpaid before).
``interest:TRANCHE`` or ``interest:A,B``
    pay the tranche's interest due (plus deferred interest); several
    tranches (pari passu) are paid pro rata to what each is owed.
``principal:TRANCHE``
    pay down the tranche with what is available.
``pro_rata:A,B``
    pay down tranches ``A`` and ``B`` in proportion to their balances;
    sequential (in the order listed) once a ``sequential`` trigger fires.
``reserve``
    top up the reserve account to its target.
``cover_defaults``
    move revenue to the principal funds to cover this and earlier periods'
    defaults not yet covered (the principal deficiency ledger, PDL, which
    recoveries collected as principal reduce).
``reinvest``
    during the revolving period, spend the principal funds on new receivables.
``residual``
    what is left goes to the equity (subordinated) holder.

The interest waterfall spends revenue (interest and fee collections), the
principal waterfall spends principal collections, and after an event of
default the ``post_default`` waterfall spends both together.  What happens on
each payment date, in order, is the rule book ``docs/waterfall.md``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import itertools
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from abs_engine import _spec as s
from abs_engine.curves.assumptions import (
    Assumptions,
    GradedAssumptions,
    assumptions_from_dict,
    load_assumptions,
)
from abs_engine.daycount import canonical_basis
from abs_engine.deal.schema import keys
from abs_engine.errors import AbsError, AssumptionError, SpecError, SpecWarning
from abs_engine.pool.schema import DEFAULT_GRADES, PAYMENT_TYPE_ALIASES, PAYMENT_TYPES
from abs_engine.projection.conventions import (
    ENGINES,
    Amortisation,
    AnnualToPeriodic,
    DefaultOrder,
    Engine,
    FlatFee,
    LossTiming,
    PoolConventions,
    PrepaymentTiming,
    Rounding,
)

__all__ = [
    "EFFECTS",
    "TRIGGER_KINDS",
    "CleanUpCall",
    "Conventions",
    "Coupon",
    "Deal",
    "DealDates",
    "DealState",
    "Fee",
    "PoolSpec",
    "Reserve",
    "Revolving",
    "Step",
    "TemplateLine",
    "Tranche",
    "Trigger",
    "Waterfall",
    "deal_from_dict",
    "deal_to_dict",
    "load_deal",
    "write_deal",
]

_T = TypeVar("_T")
TrancheClass = Literal["senior", "mezzanine", "equity"]
CLASSES: tuple[TrancheClass, ...] = ("senior", "mezzanine", "equity")
FeeKind = Literal["tax", "fixed", "pool_pct"]
FEE_KINDS: tuple[FeeKind, ...] = ("tax", "fixed", "pool_pct")
TriggerKind = Literal["cumulative_default", "excess_spread", "oc", "ic", "interest_shortfall"]
TRIGGER_KINDS: tuple[TriggerKind, ...] = (
    "cumulative_default",
    "excess_spread",
    "oc",
    "ic",
    "interest_shortfall",
)
Effect = Literal["end_revolving", "sequential", "divert_excess_spread", "post_default"]
EFFECTS: tuple[Effect, ...] = (
    "end_revolving",
    "sequential",
    "divert_excess_spread",
    "post_default",
)
ACTIONS = (
    "fee",
    "interest",
    "principal",
    "pro_rata",
    "reserve",
    "cover_defaults",
    "reinvest",
    "residual",
)
_TARGETED = {"fee", "interest", "principal", "pro_rata"}
FREQUENCIES = {"monthly": 1, "quarterly": 3, "semiannual": 6}
LOSS_ALLOCATIONS = ("writedown", "pdl", "none")


def _err(msg: str, path: str) -> SpecError:
    return SpecError(msg, path)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: object, what: str, path: str, *, step_grammar: bool = True) -> str:
    """A name a spec, a step (``principal:NAME``) and a written TOML file can carry.

    Names are non-empty strings without control characters (a newline would
    start a new TOML line); names used in waterfall steps also exclude ``,``
    and ``:`` (the step separators) and surrounding blanks.

    Raises
    ------
    SpecError
        Naming ``path`` and the offending character.
    """
    if not isinstance(name, str) or not name.strip():
        raise _err(f"a {what} name must be a non-empty string; got {name!r}", path)
    if _CONTROL.search(name):
        raise _err(
            f"a {what} name must not contain control characters (newline, tab, ...); got {name!r}",
            path,
        )
    if step_grammar:
        bad = sorted({c for c in name if c in ",:"})
        if bad:
            raise _err(
                f"a {what} name is used in waterfall steps ('principal:NAME'), so it cannot "
                f"contain {' or '.join(repr(c) for c in bad)}; got {name!r}",
                path,
            )
        if name != name.strip():
            raise _err(f"a {what} name must not start or end with blanks; got {name!r}", path)
    return name


# --- dates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealDates:
    """Key dates, payment frequency and day count.

    Parameters
    ----------
    cutoff : date
        Pool cut-off; pool month 1 is the first calendar month after it.
    closing : date
        Notes issued; interest accrues from here to the first payment date.
    first_payment : date
        First payment date; later ones follow every ``frequency`` months on
        ``payment_day`` (clamped to month end).
    legal_final : date
        Legal final maturity: the run stops here at the latest.
    frequency : int
        Months between payment dates (1 monthly, 3 quarterly).
    payment_day : int or None
        Day of month of payment dates (default: the first payment date's day).
    day_count : str
        ``ACT/365F`` (default), ``ACT/360``, ``30/360 US``, ``30/360 Bond Basis``,
        ``30E/360`` or ``ACT/ACT ISDA`` (other spellings: ``abs_engine.daycount.ALIASES``;
        stored under these names).
    """

    cutoff: dt.date
    closing: dt.date
    first_payment: dt.date
    legal_final: dt.date
    frequency: int = 1
    payment_day: int | None = None
    day_count: str = "ACT/365F"

    def __post_init__(self) -> None:
        order = [
            ("cutoff", self.cutoff),
            ("closing", self.closing),
            ("first_payment", self.first_payment),
            ("legal_final", self.legal_final),
        ]
        for (na, a), (nb, b) in itertools.pairwise(order):
            if not isinstance(a, dt.date) or not isinstance(b, dt.date):
                raise _err("dates must be dates (YYYY-MM-DD)", "dates")
            if (nb == "first_payment" and not a < b) or (nb != "first_payment" and not a <= b):
                raise _err(f"{nb} ({b}) must come after {na} ({a})", f"dates.{nb}")
        if self.frequency not in (1, 2, 3, 6, 12):
            raise _err(
                f"frequency must be 1, 2, 3, 6 or 12 months; got {self.frequency}",
                "dates.frequency",
            )
        if self.payment_day is not None and not 1 <= self.payment_day <= 31:
            raise _err(f"payment_day must be 1..31; got {self.payment_day}", "dates.payment_day")
        object.__setattr__(self, "day_count", canonical_basis(self.day_count, "dates.day_count"))

    @property
    def periods_per_year(self) -> float:
        """Payment periods in a year."""
        return 12.0 / self.frequency


# --- notes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coupon:
    """A fixed coupon, optionally stepping up on given dates.

    ``steps`` are ``(date, rate)`` pairs: from an accrual period starting on
    or after ``date`` the rate is ``rate``.
    """

    rate: float
    steps: tuple[tuple[dt.date, float], ...] = ()

    def __post_init__(self) -> None:
        for r in (self.rate, *(x for _, x in self.steps)):
            if not math.isfinite(r) or r < 0 or r >= 1:
                raise _err(
                    f"coupon rates are annual decimals in [0, 1) (0.051 for 5.1%); got {r!r}",
                    "coupon",
                )
        dates = [d for d, _ in self.steps]
        if dates != sorted(dates):
            raise _err("step-up dates must be in order", "coupon.steps")

    def rate_from(self, accrual_start: dt.date) -> float:
        """The coupon of an accrual period starting on ``accrual_start``."""
        rate = self.rate
        for d, r in self.steps:
            if accrual_start >= d:
                rate = r
        return rate


@dataclass(frozen=True)
class Tranche:
    """A class of notes.

    Parameters
    ----------
    name : str
    kind : {"senior", "mezzanine", "equity"}
        The tranche's class (``class`` in TOML).
    size : float or None
        Share of the cut-off pool balance (``0.75``).
    amount : float or None
        Face amount; give ``size`` or ``amount``.  An equity tranche with
        neither takes the rest of the pool.
    coupon : Coupon
        Zero for a residual-only equity tranche.
    deferrable : bool or None
        Whether unpaid interest may be deferred (default: false for senior,
        true otherwise).  Unpaid interest is carried forward either way; a
        non-deferrable tranche's interest is covered by the reserve account
        unless ``reserve.covers`` says otherwise, and an ``interest_shortfall``
        trigger on it makes a shortfall an event of default.
    rank : int or None
        Seniority, 1 the most senior.  Classes of equal rank are pari passu:
        they share write-downs, the PDL, reinstatements, OC and credit
        enhancement pro rata.  Default: the position in the deal's list.
    deferred_interest_accrues : bool or None
        Unpaid (deferred) interest itself bears interest at the coupon:
        interest due ``= (B + U) c yf`` instead of ``B c yf``.  Default: the
        deal's ``conventions.unpaid_interest``.
    """

    name: str
    kind: TrancheClass
    size: float | None = None
    amount: float | None = None
    coupon: Coupon = field(default_factory=lambda: Coupon(0.0))
    deferrable: bool | None = None
    rank: int | None = None
    deferred_interest_accrues: bool | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "tranche", "tranche")
        if self.rank is not None and (
            isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 1
        ):
            raise _err(
                f"rank is a whole number >= 1 (1 = most senior); got {self.rank!r}",
                f"tranche {self.name!r}.rank",
            )
        if self.kind not in CLASSES:
            raise _err(
                f"class must be senior, mezzanine or equity; got {self.kind!r}",
                f"tranche {self.name!r}",
            )
        if self.size is not None and self.amount is not None:
            raise _err(
                "give size (share of the pool) or amount, not both", f"tranche {self.name!r}"
            )
        if self.size is None and self.amount is None and self.kind != "equity":
            raise _err("needs size (share of the pool) or amount", f"tranche {self.name!r}")
        if self.size is not None and not (0 < self.size <= 1):
            raise _err(
                f"size is a share of the pool in (0, 1]; got {self.size!r}",
                f"tranche {self.name!r}.size",
            )
        if self.amount is not None and not self.amount > 0:
            raise _err(f"amount must be > 0; got {self.amount!r}", f"tranche {self.name!r}.amount")
        coupon: Any = self.coupon  # a bare number is accepted for a fixed coupon
        if not isinstance(coupon, Coupon):
            object.__setattr__(self, "coupon", Coupon(float(coupon)))

    @property
    def is_deferrable(self) -> bool:
        """Deferral allowed (senior interest is not, unless the spec says so)."""
        return self.kind != "senior" if self.deferrable is None else self.deferrable


# --- conventions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conventions:
    """Market conventions the deal's documents choose; the defaults change nothing.

    Parameters
    ----------
    business_days : {"none", "weekends", "china_interbank", "china_exchange"}
        Calendar of payment dates (see :mod:`abs_engine.calendars`): a payment
        date on a non-business day moves by ``roll``.  Note interest and fees
        accrue between the moved dates; which pool months a payment date
        collects does not change.
    roll : {"following", "modified_following", "preceding"}
        How a payment date moves.
    fee_day_count : str or None
        Day count of ``fixed`` and ``pool_pct`` fees (default: the deal's).
        ``"ACT/365F"`` gives "actual days of the period / 365".
    fee_balance : {"begin", "time_weighted"}
        Balance a ``pool_pct`` fee is charged on: the pool at the start of the
        collection period, or the average of the period's opening and closing
        balances (the time-weighted balance of a pool amortising evenly).
    unpaid_interest : {"carried", "accrues"}
        Whether deferred interest bears interest at the coupon (every class
        that does not say otherwise with ``deferred_interest_accrues``).
    engine : {"cohort", "loan"}
        How the collateral is projected: exact cohorts (default) or receivable
        by receivable, which ``rounding`` needs (see :func:`abs_engine.project`).
    prepayment_timing, default_order, annual_to_periodic, loss_timing, rounding, \
amortisation, coupon_decimals, flat_fee
        The pool conventions of :class:`~abs_engine.projection.PoolConventions`
        (``docs/conventions.md``); the defaults are the SIFMA Standard Formulas.
    receivable_payment_day : int
        Day of the month the receivables pay (31: the last day), for
        ``annual_to_periodic = "act_365"`` / ``"act_360"``.
    receivable_business_days : str
        Calendar the receivables' payment dates are rolled on (``"none"``: not
        rolled), with ``receivable_roll``.
    """

    business_days: str = "none"
    roll: str = "following"
    fee_day_count: str | None = None
    fee_balance: Literal["begin", "time_weighted"] = "begin"
    unpaid_interest: Literal["carried", "accrues"] = "carried"
    engine: Engine = "cohort"
    prepayment_timing: PrepaymentTiming = "end"
    default_order: DefaultOrder = "sifma"
    annual_to_periodic: AnnualToPeriodic = "monthly"
    loss_timing: LossTiming = "liquidation"
    rounding: Rounding = "none"
    amortisation: Amortisation = "schedule"
    coupon_decimals: int | None = None
    flat_fee: FlatFee = "schedule"
    receivable_payment_day: int = 31
    receivable_business_days: str = "none"
    receivable_roll: str = "following"

    def __post_init__(self) -> None:
        from abs_engine.calendars import CALENDARS, ROLLS

        if self.fee_day_count is not None:
            dc = canonical_basis(self.fee_day_count, "conventions.fee_day_count")
            object.__setattr__(self, "fee_day_count", dc)
        checks: tuple[tuple[str, object, tuple[object, ...]], ...] = (
            ("business_days", self.business_days, CALENDARS),
            ("roll", self.roll, ROLLS),
            ("fee_balance", self.fee_balance, ("begin", "time_weighted")),
            ("unpaid_interest", self.unpaid_interest, ("carried", "accrues")),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                shown = ", ".join(str(a) for a in allowed if a is not None)
                raise _err(f"must be one of {shown}; got {value!r}", f"conventions.{name}")
        if self.engine not in ENGINES:
            raise _err(
                f"must be one of {', '.join(ENGINES)}; got {self.engine!r}"
                f"{_did_you_mean(self.engine, ENGINES)}",
                "conventions.engine",
            )
        self.pool(dt.date(2000, 1, 31))  # validates the pool conventions
        if self.rounding != "none" and self.engine != "loan":
            raise _err(
                f"rounding = {self.rounding!r} rounds every amount of each receivable to the "
                'cent, which cohort aggregation cannot do: add engine = "loan"',
                "conventions.rounding",
            )

    def pool(self, cutoff: dt.date) -> PoolConventions:
        """The pool conventions, with the receivables' payment calendar from ``cutoff``."""
        try:
            return PoolConventions(
                prepayment_timing=self.prepayment_timing,
                default_order=self.default_order,
                annual_to_periodic=self.annual_to_periodic,
                loss_timing=self.loss_timing,
                rounding=self.rounding,
                amortisation=self.amortisation,
                coupon_decimals=self.coupon_decimals,
                flat_fee=self.flat_fee,
                cutoff=cutoff,
                payment_day=self.receivable_payment_day,
                business_days=self.receivable_business_days,
                roll=self.receivable_roll,
            )
        except AssumptionError as exc:
            msg = str(exc)
            name = re.match(r"conventions\.(\w+)", msg)
            key = {"payment_day": "receivable_payment_day", "business_days":
                   "receivable_business_days", "roll": "receivable_roll"}.get(
                name.group(1) if name else "", name.group(1) if name else ""
            )  # fmt: skip
            text = re.sub(r"^conventions\.\w+ ", "", msg)
            raise _err(text, f"conventions.{key}" if key else "conventions") from None

    @property
    def pool_keys(self) -> dict[str, Any]:
        """The pool conventions and engine that differ from the default, by TOML key."""
        return {
            k: getattr(self, k)
            for k in POOL_CONVENTION_KEYS
            if getattr(self, k) != getattr(_DEFAULT_CONVENTIONS, k)
        }


#: The keys of ``[conventions]`` that act on the collateral's projection.
POOL_CONVENTION_KEYS = (
    "engine",
    "prepayment_timing",
    "default_order",
    "annual_to_periodic",
    "loss_timing",
    "rounding",
    "amortisation",
    "coupon_decimals",
    "flat_fee",
    "receivable_payment_day",
    "receivable_business_days",
    "receivable_roll",
)


def _did_you_mean(value: object, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), list(allowed), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


_DEFAULT_CONVENTIONS = Conventions()


# --- fees, reserve, revolving, triggers ---------------------------------------------------------


@dataclass(frozen=True)
class Fee:
    """A senior expense.

    ``kind="tax"``: ``rate`` x revenue collected in the period (VAT and
    surcharges on interest).  ``kind="fixed"``: ``amount`` a year, accrued by
    the day count.  ``kind="pool_pct"``: ``rate`` a year on the pool balance
    at the start of the collection period, accrued by the day count
    (servicer fee).  ``accrue_from``: the first period of a ``fixed`` or
    ``pool_pct`` fee accrues from the ``closing`` date (default) or from the
    ``cutoff``.
    """

    name: str
    kind: FeeKind
    rate: float = 0.0
    amount: float = 0.0
    accrue_from: Literal["closing", "cutoff"] = "closing"

    def __post_init__(self) -> None:
        check_name(self.name, "fee", "fee")
        where = f"fee {self.name!r}"
        if self.accrue_from not in ("closing", "cutoff"):
            raise _err(
                f"accrue_from must be 'closing' or 'cutoff'; got {self.accrue_from!r}",
                f"{where}.accrue_from",
            )
        if self.kind not in FEE_KINDS:
            raise _err(f"type must be one of {', '.join(FEE_KINDS)}; got {self.kind!r}", where)
        if self.kind == "fixed" and not self.amount > 0:
            raise _err("a fixed fee needs amount > 0 (a year)", f"{where}.amount")
        if self.kind != "fixed" and not 0 < self.rate < 1:
            raise _err(f"rate must be a decimal in (0, 1); got {self.rate!r}", f"{where}.rate")


@dataclass(frozen=True)
class Reserve:
    """The reserve (liquidity) account.

    Parameters
    ----------
    initial : float
        Share of the cut-off pool balance deposited at closing.
    target : float
        Target as a share of ``basis``.
    basis : {"notes", "pool"}
        What the target is a share of (outstanding notes, or performing pool).
    floor : float
        Minimum target amount while notes are outstanding.
    covers : tuple of str
        Interest-waterfall steps whose shortfall the reserve pays
        (default: every fee and the interest of every non-deferrable tranche).
    release_excess : bool
        Release any balance above target to the revenue of the period.
    """

    initial: float = 0.0
    target: float = 0.0
    basis: Literal["notes", "pool"] = "notes"
    floor: float = 0.0
    covers: tuple[str, ...] = ()
    release_excess: bool = True

    def __post_init__(self) -> None:
        for name in ("initial", "target"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise _err(f"{name} is a share in [0, 1); got {v!r}", f"reserve.{name}")
        if self.floor < 0:
            raise _err("floor must be >= 0", "reserve.floor")
        if self.basis not in ("notes", "pool"):
            raise _err(f"basis must be 'notes' or 'pool'; got {self.basis!r}", "reserve.basis")


@dataclass(frozen=True)
class TemplateLine:
    """One product of the receivables bought during the revolving period."""

    grade: str
    payment_type: str
    term: int
    share: float
    rate: float = 0.0
    fee_rate: float = 0.0

    def __post_init__(self) -> None:
        pt = PAYMENT_TYPE_ALIASES.get(self.payment_type)
        if pt is None:
            raise _err(
                f"payment_type must be one of {', '.join(PAYMENT_TYPES)}; "
                f"got {self.payment_type!r}",
                "revolving.template",
            )
        object.__setattr__(self, "payment_type", pt)
        if not 1 <= self.term <= 360:
            raise _err(f"term must be 1..360 months; got {self.term}", "revolving.template")
        if not self.share > 0:
            raise _err("share must be > 0", "revolving.template")
        if not 0 <= self.rate < 1 or not 0 <= self.fee_rate < 1:
            raise _err("rate and fee_rate are decimals in [0, 1)", "revolving.template")


@dataclass(frozen=True)
class Revolving:
    """Revolving period: principal collections buy new receivables.

    ``periods`` payment periods from the first payment date; ``price`` is
    the purchase price per unit of principal bought (1.0 at par); the
    ``template`` lines (shares normalised) describe what is bought.
    """

    periods: int
    template: tuple[TemplateLine, ...]
    price: float = 1.0

    def __post_init__(self) -> None:
        if self.periods < 1:
            raise _err("periods must be >= 1", "revolving.periods")
        if not self.template:
            raise _err(
                "a revolving period needs a purchase template ([[revolving.template]])",
                "revolving.template",
            )
        if not 0.5 <= self.price <= 1.5:
            raise _err(
                f"price is per unit of principal (1.0 at par); got {self.price!r}",
                "revolving.price",
            )


@dataclass(frozen=True)
class Trigger:
    """A test evaluated every period, per scenario.

    ``kind``:
      * ``cumulative_default`` — cumulative defaults / (cut-off pool +
        receivables bought) above ``level``;
      * ``excess_spread`` — average annualised excess spread over the last
        ``periods`` periods below ``level``;
      * ``oc`` — (performing pool + reserve) / (``tranche`` and every note
        senior to it) below ``level``;
      * ``ic`` — revenue after fees / interest due on ``tranche`` and every
        note senior to it below ``level``;
      * ``interest_shortfall`` — interest on ``tranche`` (default: the senior
        notes) not paid in full (an event of default).

    Once breached a trigger stays breached unless ``curable``.  Effects act
    from the period after the breach: ``end_revolving`` (early amortisation),
    ``sequential``, ``divert_excess_spread`` (revenue left after the interest
    waterfall pays down the notes instead of going to equity),
    ``post_default`` (switch to the post-default waterfall).
    """

    name: str
    kind: TriggerKind
    effects: tuple[Effect, ...]
    level: float = 0.0
    tranche: str | None = None
    periods: int = 1
    curable: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "trigger", "trigger", step_grammar=False)
        where = f"trigger {self.name!r}"
        if self.kind not in TRIGGER_KINDS:
            raise _err(f"type must be one of {', '.join(TRIGGER_KINDS)}; got {self.kind!r}", where)
        if not self.effects:
            raise _err(f"needs effects, some of {', '.join(EFFECTS)}", f"{where}.effects")
        for e in self.effects:
            if e not in EFFECTS:
                raise _err(
                    f"unknown effect {e!r}; effects are {', '.join(EFFECTS)}", f"{where}.effects"
                )
        if self.kind in ("oc", "ic") and self.tranche is None:
            raise _err(f"an {self.kind} test names its tranche", f"{where}.tranche")
        if self.kind != "interest_shortfall" and not (math.isfinite(self.level) and self.level > 0):
            raise _err(f"level must be > 0; got {self.level!r}", f"{where}.level")
        if self.kind in ("cumulative_default", "excess_spread") and self.level >= 1:
            raise _err(
                f"a {self.kind} level is a decimal share (0.04 for 4%); got {self.level!r} "
                "— did you give a percentage?",
                f"{where}.level",
            )
        if self.periods < 1:
            raise _err("periods must be >= 1", f"{where}.periods")


@dataclass(frozen=True)
class CleanUpCall:
    """Optional redemption once the pool falls to ``threshold`` of its cut-off balance.

    The pool is sold for ``price`` x its performing balance, plus the
    interest accrued since the end of the collection period (``accrued_interest``:
    the next collection period's interest pro rata to the days elapsed), plus
    ``defaulted_price`` x the defaulted balance awaiting recovery when given;
    without ``defaulted_price`` the trust keeps the defaulted receivables and
    their recoveries keep arriving after the call.  The proceeds join the
    principal funds; the call date is the last payment date (the reserve joins
    the available funds).  The call is exercised only where the proceeds, the
    period's principal funds and the reserve redeem every rated claim.
    """

    threshold: float
    price: float = 1.0
    accrued_interest: bool = True
    defaulted_price: float | None = None

    def __post_init__(self) -> None:
        if self.defaulted_price is not None and not 0 <= self.defaulted_price <= 1:
            raise _err(
                "defaulted_price is a share of the defaulted balance in [0, 1]; "
                f"got {self.defaulted_price!r}",
                "clean_up_call.defaulted_price",
            )
        if not 0 < self.threshold < 1:
            raise _err(
                "threshold is a share of the cut-off pool in (0, 1)", "clean_up_call.threshold"
            )
        if not 0 < self.price <= 1.5:
            raise _err("price must be in (0, 1.5]", "clean_up_call.price")


# --- waterfall ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a priority of payments (see the module docs for the actions)."""

    action: str
    targets: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, path: str) -> Step:
        """Parse ``"interest:senior"``, ``"pro_rata:senior,mezzanine"``, ``"reserve"``."""
        if not isinstance(text, str) or not text.strip():
            raise _err(f"a step is a string such as 'interest:senior'; got {text!r}", path)
        action, _, rest = text.strip().partition(":")
        action = action.strip()
        if action not in ACTIONS:
            import difflib

            close = difflib.get_close_matches(action, ACTIONS, n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; actions are {', '.join(ACTIONS)}"
            )
            raise _err(f"unknown action {action!r}{hint}", path)
        targets = tuple(t.strip() for t in rest.split(",") if t.strip())
        if action in _TARGETED and not targets:
            raise _err(f"'{action}' needs a target, e.g. '{action}:senior'", path)
        if action not in _TARGETED and targets:
            raise _err(f"'{action}' takes no target", path)
        if action in ("fee", "principal") and len(targets) != 1:
            raise _err(f"'{action}' takes one target", path)
        if len(set(targets)) != len(targets):
            raise _err(f"'{text.strip()}' names a target twice", path)
        return cls(action, targets)

    def __str__(self) -> str:
        return f"{self.action}:{','.join(self.targets)}" if self.targets else self.action


@dataclass(frozen=True)
class Waterfall:
    """The three priorities of payments."""

    interest: tuple[Step, ...]
    principal: tuple[Step, ...]
    post_default: tuple[Step, ...]

    @classmethod
    def standard(
        cls,
        tranches: Sequence[Tranche],
        fees: Sequence[Fee],
        revolving: bool,
        reserve: bool,
        *,
        junior_interest_after_pdl: bool = False,
    ) -> Waterfall:
        """The usual structure, by rank (classes of equal rank are paid pro rata).

        Interest: fees, note interest by rank, reserve, cover defaults, residual
        (with ``junior_interest_after_pdl`` the interest of every rated rank
        below the top one comes after cover defaults).
        Principal: reinvest (revolving), notes by rank, residual.
        After default: fees, then interest and principal of each rank in turn, residual.
        """
        groups: list[list[Tranche]] = []
        previous = None
        for t, r in zip(tranches, tranche_ranks(tranches), strict=True):
            if groups and r == previous:
                groups[-1].append(t)
            else:
                groups.append([t])
            previous = r

        def pays_interest(g: list[Tranche]) -> list[str]:
            return [t.name for t in g if t.kind != "equity" or t.coupon.rate > 0]

        def principal_step(g: list[Tranche]) -> Step:
            names = tuple(t.name for t in g)
            return Step("pro_rata" if len(names) > 1 else "principal", names)

        fee_steps = [Step("fee", (f.name,)) for f in fees]
        top = [Step("interest", tuple(n)) for n in map(pays_interest, groups[:1]) if n]
        rest = [Step("interest", tuple(n)) for n in map(pays_interest, groups[1:]) if n]
        tail = [Step("reserve")] if reserve else []
        if junior_interest_after_pdl:
            interest = [*fee_steps, *top, *tail, Step("cover_defaults"), *rest]
        else:
            interest = [*fee_steps, *top, *rest, *tail, Step("cover_defaults")]
        interest.append(Step("residual"))
        principal = [Step("reinvest")] if revolving else []
        principal += [principal_step(g) for g in groups]
        principal.append(Step("residual"))
        post = [*fee_steps]
        for g in groups:
            names = pays_interest(g)
            if names:
                post.append(Step("interest", tuple(names)))
            post.append(principal_step(g))
        post.append(Step("residual"))
        return cls(tuple(interest), tuple(principal), tuple(post))


def tranche_ranks(tranches: Sequence[Tranche]) -> tuple[int, ...]:
    """Each tranche's rank: as given, or its position in the list (1 = most senior)."""
    if any(t.rank is not None for t in tranches):
        return tuple(t.rank if t.rank is not None else 0 for t in tranches)
    return tuple(range(1, len(tranches) + 1))


# --- pool and state -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSpec:
    """Where the deal's pool comes from and its base-case assumptions."""

    tape: Path | None
    assumptions: Assumptions | GradedAssumptions
    grades: tuple[str, ...] = DEFAULT_GRADES


@dataclass(frozen=True)
class DealState:
    """A seasoned deal's position on ``as_of``, for re-projection from a current tape.

    ``balances`` are the outstanding note balances; ``unpaid_interest``
    deferred interest; ``reserve`` the reserve balance; ``cumulative_default``
    the defaults so far (for the cumulative-default trigger) and ``pdl`` the
    uncovered defaults; ``triggers`` the triggers already breached;
    ``purchased`` the receivables bought so far in the revolving period;
    ``writedowns`` the unreimbursed write-down of each class (its balance
    in ``balances`` excludes it); ``unpaid_fees`` fees carried unpaid;
    ``excess_spread_history`` the annualised excess spread of the latest
    periods, oldest first (for the averaging ``excess_spread`` trigger);
    ``defaulted_pending`` the defaulted balance still awaiting recovery (what
    a clean-up call with ``defaulted_price`` buys).

    :meth:`abs_engine.deal.RunResult.state_after` writes one from a run (or a
    surveillance of actual collections), so a re-projection continues exactly
    where it ended.
    """

    as_of: dt.date
    balances: Mapping[str, float]
    unpaid_interest: Mapping[str, float] = field(default_factory=dict)
    reserve: float = 0.0
    cumulative_default: float = 0.0
    pdl: float = 0.0
    triggers: Mapping[str, bool] = field(default_factory=dict)
    purchased: float = 0.0
    original_pool_balance: float | None = None
    writedowns: Mapping[str, float] = field(default_factory=dict)
    unpaid_fees: Mapping[str, float] = field(default_factory=dict)
    excess_spread_history: tuple[float, ...] = ()
    defaulted_pending: float = 0.0


# --- the deal -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deal:
    """A securitisation: pool, notes, fees, accounts, triggers and priorities of payments.

    Build it with :func:`load_deal` from ``waterfalls/*.toml`` or directly;
    a stress is ``dataclasses.replace(deal, ...)``.  Validation happens on
    construction.
    """

    name: str
    dates: DealDates
    pool: PoolSpec
    tranches: tuple[Tranche, ...]
    fees: tuple[Fee, ...] = ()
    reserve: Reserve | None = None
    revolving: Revolving | None = None
    triggers: tuple[Trigger, ...] = ()
    clean_up_call: CleanUpCall | None = None
    waterfall: Waterfall | None = None
    state: DealState | None = None
    currency: str = "CNY"
    loss_allocation: Literal["writedown", "pdl", "none"] = "writedown"
    recoveries_to: Literal["principal", "interest"] = "principal"
    junior_interest_after_pdl: bool = False
    conventions: Conventions = field(default_factory=Conventions)
    source: Path | None = None
    spec: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tranches", tuple(self.tranches))
        object.__setattr__(self, "fees", tuple(self.fees))
        object.__setattr__(self, "triggers", tuple(self.triggers))
        check_name(self.name, "deal", "name", step_grammar=False)
        if not self.tranches:
            raise _err("a deal needs tranches", "tranches")
        names = [t.name for t in self.tranches]
        for i, n in enumerate(names):
            if names.index(n) != i:
                raise _err(f"tranche name {n!r} is used twice", f"tranches[{i}].name")
        if not any(t.kind == "equity" for t in self.tranches):
            raise _err(
                "no equity tranche: add one with class = 'equity' (it takes the residual)",
                "tranches",
            )
        kinds = [CLASSES.index(t.kind) for t in self.tranches]
        if kinds != sorted(kinds):
            raise _err("list tranches from senior to equity", "tranches")
        self._check_ranks()
        if sum(1 for t in self.tranches if t.size is None and t.amount is None) > 1:
            raise _err(
                "only one tranche may take the rest of the pool (no size or amount)", "tranches"
            )
        shares = sum(t.size or 0.0 for t in self.tranches)
        if shares > 1 + 1e-12:
            raise _err(
                f"notes are larger than the pool: sizes add up to {shares:.4g} of it", "tranches"
            )
        fee_names = [f.name for f in self.fees]
        for i, n in enumerate(fee_names):
            if fee_names.index(n) != i:
                raise _err(f"fee name {n!r} is used twice", f"fees[{i}].name")
        trig_names = [t.name for t in self.triggers]
        for i, t in enumerate(self.triggers):
            if trig_names.index(t.name) != i:
                raise _err(f"trigger name {t.name!r} is used twice", f"triggers[{i}].name")
            if t.tranche is not None and t.tranche not in names:
                raise _err(
                    f"names unknown tranche {t.tranche!r}; tranches are {', '.join(names)}",
                    f"triggers[{i}].tranche",
                )
            if "end_revolving" in t.effects and self.revolving is None:
                raise _err(
                    "effect end_revolving but the deal has no revolving period",
                    f"triggers[{i}].effects",
                )
        if self.loss_allocation not in LOSS_ALLOCATIONS:
            raise _err(
                f"loss_allocation must be one of {', '.join(LOSS_ALLOCATIONS)}; "
                f"got {self.loss_allocation!r}",
                "loss_allocation",
            )
        if self.recoveries_to not in ("principal", "interest"):
            raise _err("recoveries_to must be 'principal' or 'interest'", "recoveries_to")
        if self.waterfall is None:
            object.__setattr__(
                self,
                "waterfall",
                Waterfall.standard(
                    self.tranches,
                    self.fees,
                    self.revolving is not None,
                    self.reserve is not None,
                    junior_interest_after_pdl=self.junior_interest_after_pdl,
                ),
            )
        elif self.junior_interest_after_pdl:
            object.__setattr__(self, "waterfall", self._junior_interest_after_pdl(self.waterfall))
        self._check_waterfall()
        self._warn_missing_steps()
        if self.state is not None:
            self._check_state()

    def _check_ranks(self) -> None:
        given = [t.rank is not None for t in self.tranches]
        if any(given) and not all(given):
            i = given.index(False)
            raise _err(
                "give every tranche a rank, or none (ranks then follow the list order)",
                f"tranches[{i}].rank",
            )
        ranks = self.ranks
        for i in range(1, len(ranks)):
            if ranks[i] < ranks[i - 1]:
                raise _err(
                    f"ranks must not decrease down the list (senior to equity); "
                    f"{self.tranches[i].name!r} has rank {ranks[i]} after rank {ranks[i - 1]}",
                    f"tranches[{i}].rank",
                )
            same = ranks[i] == ranks[i - 1]
            if same and (self.tranches[i].kind == "equity") != (
                self.tranches[i - 1].kind == "equity"
            ):
                raise _err(
                    "the equity class cannot rank pari passu with a rated class",
                    f"tranches[{i}].rank",
                )

    def _junior_interest_after_pdl(self, wf: Waterfall) -> Waterfall:
        """Move the interest of rated classes below the top rank after ``cover_defaults``."""
        steps = list(wf.interest)
        cover = [i for i, st in enumerate(steps) if st.action == "cover_defaults"]
        if not cover:
            raise _err(
                "junior_interest_after_pdl needs a 'cover_defaults' step in the interest waterfall",
                "junior_interest_after_pdl",
            )
        top = min(self.ranks)
        rank = dict(zip((t.name for t in self.tranches), self.ranks, strict=True))
        junior = [
            st
            for st in steps[: cover[0]]
            if st.action == "interest" and any(rank[n] > top for n in st.targets)
        ]
        kept = [st for st in steps if st not in junior]
        at = kept.index(steps[cover[0]]) + 1
        return replace(wf, interest=(*kept[:at], *junior, *kept[at:]))

    def _warn_missing_steps(self) -> None:
        assert self.waterfall is not None
        if self.loss_allocation in ("pdl", "none") and not any(
            st.action == "cover_defaults" for st in self.waterfall.interest
        ):
            warnings.warn(
                f"deal {self.name!r}: loss_allocation = {self.loss_allocation!r} but the interest "
                "waterfall has no 'cover_defaults' step, so defaults are made good from excess "
                "spread only once they reach a rated class (before the residual, docs/waterfall.md "
                "step 7), never where the equity note bears them. Add 'cover_defaults' before "
                "'residual' (waterfall.interest).",
                SpecWarning,
                stacklevel=3,
            )

    def _check_waterfall(self) -> None:
        assert self.waterfall is not None
        tranches = {t.name for t in self.tranches}
        fees = {f.name for f in self.fees}
        for part in ("interest", "principal", "post_default"):
            steps: tuple[Step, ...] = getattr(self.waterfall, part)
            if not steps:
                raise _err("is empty", f"waterfall.{part}")
            for i, step in enumerate(steps):
                where = f"waterfall.{part}[{i}]"
                for target in step.targets:
                    known = fees if step.action == "fee" else tranches
                    if target not in known:
                        kind = "fee" if step.action == "fee" else "tranche"
                        raise _err(
                            f"'{step}' names unknown {kind} {target!r}; "
                            f"known: {', '.join(sorted(known)) or 'none'}",
                            where,
                        )
                if step.action == "reserve" and self.reserve is None:
                    raise _err(
                        "'reserve' step but the deal has no reserve account ([reserve])", where
                    )
                if step.action == "reinvest" and self.revolving is None:
                    raise _err(
                        "'reinvest' step but the deal has no revolving period ([revolving])", where
                    )
                if step.action == "reinvest" and part != "principal":
                    raise _err("'reinvest' belongs to the principal waterfall", where)
            if steps[-1].action != "residual":
                raise _err(
                    "must end with 'residual' (what is left goes to equity)", f"waterfall.{part}"
                )
        if self.reserve is not None:
            for c in self.reserve.covers:
                step = Step.parse(c, "reserve.covers")
                if step.action not in ("fee", "interest"):
                    raise _err(
                        f"the reserve covers fee or interest steps; got {c!r}", "reserve.covers"
                    )
                for target in step.targets:
                    if target not in (fees if step.action == "fee" else tranches):
                        raise _err(
                            f"names unknown {step.action} target {target!r}", "reserve.covers"
                        )

    def _check_state(self) -> None:
        st = self.state
        assert st is not None
        names = {t.name for t in self.tranches}
        for key in (*st.balances, *st.unpaid_interest, *st.writedowns):
            if key not in names:
                raise _err(
                    f"unknown tranche {key!r}; tranches are {', '.join(sorted(names))}",
                    "state.balances",
                )
        for key in st.triggers:
            if key not in {t.name for t in self.triggers}:
                raise _err(f"unknown trigger {key!r}", "state.triggers")
        for key in st.unpaid_fees:
            if key not in {f.name for f in self.fees}:
                raise _err(f"unknown fee {key!r}", "state.unpaid_fees")
        if not self.dates.cutoff <= st.as_of < self.dates.legal_final:
            raise _err(
                f"as_of {st.as_of} must be between the cut-off and the legal final", "state.as_of"
            )
        for name, v in (
            *st.balances.items(),
            ("reserve", st.reserve),
            ("cumulative_default", st.cumulative_default),
        ):
            if v < 0:
                raise _err(f"must be >= 0; got {v}", f"state.{name}")

    # --- conveniences --------------------------------------------------------------------

    @property
    def ranks(self) -> tuple[int, ...]:
        """Each tranche's rank (1 = most senior; equal ranks are pari passu)."""
        return tranche_ranks(self.tranches)

    def accrues_deferred_interest(self, tranche: Tranche) -> bool:
        """Whether the class's deferred interest bears interest (its own say, or the convention)."""
        if tranche.deferred_interest_accrues is not None:
            return tranche.deferred_interest_accrues
        return self.conventions.unpaid_interest == "accrues"

    @property
    def pool_conventions(self) -> PoolConventions:
        """How the collateral is projected (``[conventions]``), its calendar from the cut-off.

        The receivables' payment calendar starts at ``dates.cutoff``, or at
        ``state.as_of`` for a seasoned deal re-projected from a current tape.
        """
        start = self.state.as_of if self.state is not None else self.dates.cutoff
        return self.conventions.pool(start)

    def projection_options(self, *, per_unit: bool = False) -> dict[str, Any]:
        """Keyword arguments of :func:`abs_engine.project` for this deal's collateral.

        ``per_unit=True`` for receivables known only per unit bought or by cohort
        (the revolving template, an aged pool): their flows scale with the amount,
        so they are projected by the cohort engine with every convention but
        ``rounding`` (rounding acts on each receivable of a tape).
        """
        conv = self.pool_conventions
        if per_unit:
            return {"conventions": replace(conv, rounding="none"), "engine": "cohort"}
        return {"conventions": conv, "engine": self.conventions.engine}

    def senior_or_pari_passu(self, name: str) -> tuple[str, ...]:
        """``name`` and every class ranking ahead of or equal with it."""
        ranks = dict(zip((t.name for t in self.tranches), self.ranks, strict=True))
        r = ranks[self.tranche(name).name]
        return tuple(n for n, x in ranks.items() if x <= r)

    @property
    def assumptions(self) -> Assumptions | GradedAssumptions:
        """Base-case collateral assumptions."""
        return self.pool.assumptions

    def tranche(self, name: str) -> Tranche:
        """The tranche called ``name``."""
        for t in self.tranches:
            if t.name == name:
                return t
        raise KeyError(
            f"no tranche {name!r}; tranches are {', '.join(t.name for t in self.tranches)}"
        )

    def note_amounts(self, pool_balance: float) -> dict[str, float]:
        """Face amount of each tranche at closing for a cut-off pool of ``pool_balance``.

        Raises
        ------
        SpecError
            If the notes add up to more than the pool.
        """
        out: dict[str, float] = {}
        rest_name = None
        for t in self.tranches:
            if t.amount is not None:
                out[t.name] = t.amount
            elif t.size is not None:
                out[t.name] = t.size * pool_balance
            else:
                rest_name = t.name
        used = sum(out.values())
        if used > pool_balance * (1 + 1e-12):
            raise _err(
                f"notes ({used:,.2f}) are larger than the pool ({pool_balance:,.2f}); "
                "reduce sizes or amounts",
                "tranches",
            )
        if rest_name is not None:  # may be zero: a residual-only equity (pass-through deals)
            out[rest_name] = max(pool_balance - used, 0.0)
        return {t.name: out[t.name] for t in self.tranches}

    def with_assumptions(self, assumptions: Assumptions | GradedAssumptions) -> Deal:
        """The deal with other base-case collateral assumptions."""
        return replace(
            self, pool=PoolSpec(self.pool.tape, assumptions, self.pool.grades), spec=None
        )

    def with_sizes(self, sizes: Mapping[str, float]) -> Deal:
        """The deal with some tranches re-sized (shares of the pool); others keep theirs."""
        tranches = tuple(
            replace(t, size=float(sizes[t.name]), amount=None) if t.name in sizes else t
            for t in self.tranches
        )
        return replace(self, tranches=tranches, spec=None)


# --- TOML ---------------------------------------------------------------------------------------


def _coupon(value: Any, path: str) -> Coupon:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _wrap(lambda: Coupon(float(value)), path)
    data = s.table(value, path)
    s.check_keys(data, ("rate", "steps"), path)
    rate = s.req_number(data, "rate", path, minimum=0, maximum=0.999999)
    steps = []
    for i, st in enumerate(s.table_list(data.get("steps", []), s.join(path, "steps"))):
        p = s.join(s.join(path, "steps"), i)
        s.check_keys(st, ("from", "rate"), p)
        steps.append(
            (s.req_date(st, "from", p), s.req_number(st, "rate", p, minimum=0, maximum=0.999999))
        )
    return _wrap(lambda: Coupon(rate, tuple(steps)), path)


@contextlib.contextmanager
def _at(path: str) -> Iterator[None]:
    """Re-raise a SpecError from inside a value object at the spec's key path."""
    try:
        yield
    except SpecError as exc:
        msg = str(exc)
        inner = exc.path
        if inner and msg.startswith(inner + ": "):
            msg = msg[len(inner) + 2 :]
        # Value objects name themselves ("trigger 'x'.tranche"): keep the field.
        field_part = re.match(r"^[a-z_ ]+'[^']*'(\.[\w.]+)$", inner or "")
        raise SpecError(msg, path + (field_part.group(1) if field_part else "")) from None


def _wrap(fn: Callable[[], _T], path: str) -> _T:
    with _at(path):
        return fn()


def _dates(data: Any) -> DealDates:
    path = "dates"
    d = s.table(data, path)
    s.check_keys(d, keys("dates"), path)
    freq_raw = d.get("frequency", "monthly")
    if isinstance(freq_raw, str):
        if freq_raw not in FREQUENCIES:
            raise _err(
                f"frequency must be one of {', '.join(FREQUENCIES)} or months; got {freq_raw!r}",
                "dates.frequency",
            )
        freq = FREQUENCIES[freq_raw]
    else:
        freq = s.opt_int(d, "frequency", path, 1, minimum=1) or 1
    return DealDates(
        cutoff=s.req_date(d, "cutoff", path),
        closing=s.req_date(d, "closing", path),
        first_payment=s.req_date(d, "first_payment", path),
        legal_final=s.req_date(d, "legal_final", path),
        frequency=freq,
        payment_day=s.opt_int(d, "payment_day", path, None, minimum=1),
        day_count=s.opt_str(d, "day_count", path, "ACT/365F"),  # any name daycount knows
    )


def _pool(data: Any, base: Path | None) -> PoolSpec:
    path = "pool"
    d = s.table(data, path)
    s.check_keys(d, keys("pool"), path)
    tape = None
    if "tape" in d:
        raw = s.req_str(d, "tape", path)
        tape = Path(raw) if base is None or Path(raw).is_absolute() else (base / raw)
    grades = d.get("grades", list(DEFAULT_GRADES))
    if not isinstance(grades, list) or not grades or not all(isinstance(g, str) for g in grades):
        raise _err("grades is a list of names", "pool.grades")
    raw_a = s.req(d, "assumptions", path)
    if isinstance(raw_a, str):
        a_path = Path(raw_a) if base is None or Path(raw_a).is_absolute() else base / raw_a
        try:
            assumptions = load_assumptions(a_path)
        except SpecError as exc:
            raise SpecError(str(exc), "pool.assumptions") from None
    else:
        assumptions = assumptions_from_dict(s.table(raw_a, "pool.assumptions"), "pool.assumptions")
    return PoolSpec(tape, assumptions, tuple(grades))


def _tranches(data: Any) -> tuple[Tranche, ...]:
    out = []
    for i, t in enumerate(s.table_list(data, "tranches")):
        p = f"tranches[{i}]"
        s.check_keys(t, keys("tranches"), p)
        name = check_name(s.req(t, "name", p), "tranche", f"{p}.name")
        kind = s.req_str(t, "class", p, CLASSES)
        size = s.opt_number(t, "size", p, None, positive=True, maximum=1.0)
        amount = s.opt_number(t, "amount", p, None, positive=True)
        coupon = _coupon(t["coupon"], f"{p}.coupon") if "coupon" in t else Coupon(0.0)
        deferrable = s.opt_bool(t, "deferrable", p, kind != "senior") if "deferrable" in t else None
        rank = s.opt_int(t, "rank", p, None, minimum=1)
        accrues = (
            s.opt_bool(t, "deferred_interest_accrues", p, False)
            if "deferred_interest_accrues" in t
            else None
        )
        with _at(p):
            tranche = Tranche(
                name,
                kind,  # type: ignore[arg-type]
                size,
                amount,
                coupon,
                deferrable,
                rank=rank,
                deferred_interest_accrues=accrues,
            )
        out.append(tranche)
    return tuple(out)


def _fees(data: Any) -> tuple[Fee, ...]:
    out = []
    for i, f in enumerate(s.table_list(data, "fees")):
        p = f"fees[{i}]"
        s.check_keys(f, keys("fees"), p)
        name = check_name(s.req(f, "name", p), "fee", f"{p}.name")
        kind = s.req_str(f, "type", p, FEE_KINDS)
        accrue_from = s.opt_str(f, "accrue_from", p, "closing", ("closing", "cutoff"))
        with _at(p):
            fee = Fee(
                name,
                kind,  # type: ignore[arg-type]
                rate=s.req_number(f, "rate", p, positive=True, maximum=0.999999)
                if kind != "fixed"
                else 0.0,
                amount=s.req_number(f, "amount", p, positive=True) if kind == "fixed" else 0.0,
                accrue_from=accrue_from,  # type: ignore[arg-type]
            )
        out.append(fee)
    return tuple(out)


def _reserve(data: Any) -> Reserve:
    p = "reserve"
    d = s.table(data, p)
    s.check_keys(d, keys("reserve"), p)
    covers = d.get("covers", [])
    if not isinstance(covers, list) or not all(isinstance(c, str) for c in covers):
        raise _err("covers is a list of steps such as 'interest:senior'", "reserve.covers")
    return _wrap(
        lambda: Reserve(
            initial=s.opt_number(d, "initial", p, 0.0, minimum=0, maximum=0.999999) or 0.0,
            target=s.opt_number(d, "target", p, 0.0, minimum=0, maximum=0.999999) or 0.0,
            basis=s.opt_str(d, "basis", p, "notes", ("notes", "pool")),  # type: ignore[arg-type]
            floor=s.opt_number(d, "floor", p, 0.0, minimum=0) or 0.0,
            covers=tuple(covers),
            release_excess=s.opt_bool(d, "release_excess", p, True),
        ),
        p,
    )


def _revolving(data: Any) -> Revolving:
    p = "revolving"
    d = s.table(data, p)
    s.check_keys(d, keys("revolving"), p)
    periods = s.opt_int(d, "periods", p, None, minimum=1)
    if periods is None:
        raise _err("is required", "revolving.periods")
    if "template" not in d or not d["template"]:
        raise _err(
            "a revolving period needs a purchase template ([[revolving.template]])",
            "revolving.template",
        )
    lines = []
    for i, t in enumerate(s.table_list(d["template"], "revolving.template")):
        tp = f"revolving.template[{i}]"
        s.check_keys(t, keys("revolving.template"), tp)
        term = s.opt_int(t, "term", tp, None, minimum=1)
        if term is None:
            raise _err("is required", f"{tp}.term")
        with _at(tp):
            line = TemplateLine(
                s.req_str(t, "grade", tp),
                s.req_str(t, "payment_type", tp),
                term,
                s.req_number(t, "share", tp, positive=True),
                s.opt_number(t, "rate", tp, 0.0, minimum=0, maximum=0.999999) or 0.0,
                s.opt_number(t, "fee_rate", tp, 0.0, minimum=0, maximum=0.999999) or 0.0,
            )
        lines.append(line)
    return _wrap(
        lambda: Revolving(
            periods, tuple(lines), s.opt_number(d, "price", p, 1.0, positive=True) or 1.0
        ),
        p,
    )


def _triggers(data: Any) -> tuple[Trigger, ...]:
    out = []
    for i, t in enumerate(s.table_list(data, "triggers")):
        p = f"triggers[{i}]"
        s.check_keys(t, keys("triggers"), p)
        check_name(s.req(t, "name", p), "trigger", f"{p}.name", step_grammar=False)
        effects = t.get("effects")
        if not isinstance(effects, list) or not all(isinstance(e, str) for e in effects):
            raise _err(f"effects is a list, some of {', '.join(EFFECTS)}", f"{p}.effects")
        for e in effects:
            if e not in EFFECTS:
                import difflib

                close = difflib.get_close_matches(e, EFFECTS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise _err(
                    f"unknown effect {e!r}{hint}; effects are {', '.join(EFFECTS)}", f"{p}.effects"
                )
        kind = s.req_str(t, "type", p, TRIGGER_KINDS)
        level = 0.0 if kind == "interest_shortfall" else s.req_number(t, "level", p, positive=True)
        tranche = s.opt_str(t, "tranche", p, "") or None
        with _at(p):
            trigger = Trigger(
                s.req_str(t, "name", p),
                cast(TriggerKind, kind),
                cast(tuple[Effect, ...], tuple(effects)),
                level,
                tranche,
                s.opt_int(t, "periods", p, 1, minimum=1) or 1,
                s.opt_bool(t, "curable", p, False),
            )
        out.append(trigger)
    return tuple(out)


def _conventions(data: Any) -> Conventions:
    from abs_engine.calendars import CALENDARS, ROLLS
    from abs_engine.projection.conventions import CHOICES

    p = "conventions"
    d = s.table(data, p)
    s.check_keys(d, keys(p), p)
    fee_dc = s.opt_str(d, "fee_day_count", p, "") or None
    return Conventions(
        business_days=s.opt_str(d, "business_days", p, "none", CALENDARS),
        roll=s.opt_str(d, "roll", p, "following", ROLLS),
        fee_day_count=fee_dc,
        fee_balance=s.opt_str(d, "fee_balance", p, "begin", ("begin", "time_weighted")),  # type: ignore[arg-type]
        unpaid_interest=s.opt_str(d, "unpaid_interest", p, "carried", ("carried", "accrues")),  # type: ignore[arg-type]
        engine=s.opt_str(d, "engine", p, "cohort", ENGINES),  # type: ignore[arg-type]
        receivable_payment_day=s.opt_int(d, "receivable_payment_day", p, 31, minimum=1) or 31,
        receivable_business_days=s.opt_str(d, "receivable_business_days", p, "none", CALENDARS),
        receivable_roll=s.opt_str(d, "receivable_roll", p, "following", ROLLS),
        coupon_decimals=s.opt_int(d, "coupon_decimals", p, None, minimum=0),
        **{k: s.opt_str(d, k, p, v[0], v) for k, v in CHOICES.items()},  # type: ignore[arg-type]
    )


def _waterfall(data: Any) -> Waterfall:
    p = "waterfall"
    d = s.table(data, p)
    s.check_keys(d, keys("waterfall"), p)
    parts = {}
    for part in ("interest", "principal", "post_default"):
        raw = s.req(d, part, p)
        if not isinstance(raw, list):
            raise _err("is a list of steps", f"{p}.{part}")
        parts[part] = tuple(Step.parse(x, f"{p}.{part}[{i}]") for i, x in enumerate(raw))
    return Waterfall(parts["interest"], parts["principal"], parts["post_default"])


def _state(data: Any) -> DealState:
    p = "state"
    d = s.table(data, p)
    s.check_keys(d, keys("state"), p)

    def amounts(key: str) -> dict[str, float]:
        tbl = s.table(d.get(key, {}), f"{p}.{key}")
        return {str(k): s.req_number(tbl, k, f"{p}.{key}", minimum=0) for k in tbl}

    trig = s.table(d.get("triggers", {}), f"{p}.triggers")
    for k, v in trig.items():
        if not isinstance(v, bool):
            raise _err("expected true or false", f"{p}.triggers.{k}")
    return DealState(
        as_of=s.req_date(d, "as_of", p),
        balances=amounts("balances") if "balances" in d else {},
        unpaid_interest=amounts("unpaid_interest"),
        reserve=s.opt_number(d, "reserve", p, 0.0, minimum=0) or 0.0,
        cumulative_default=s.opt_number(d, "cumulative_default", p, 0.0, minimum=0) or 0.0,
        pdl=s.opt_number(d, "pdl", p, 0.0, minimum=0) or 0.0,
        triggers={str(k): bool(v) for k, v in trig.items()},
        purchased=s.opt_number(d, "purchased", p, 0.0, minimum=0) or 0.0,
        original_pool_balance=s.opt_number(d, "original_pool_balance", p, None, positive=True),
        writedowns=amounts("writedowns"),
        unpaid_fees=amounts("unpaid_fees"),
        excess_spread_history=_number_list(d, "excess_spread_history", p),
        defaulted_pending=s.opt_number(d, "defaulted_pending", p, 0.0, minimum=0) or 0.0,
    )


def _number_list(d: Mapping[str, Any], key: str, path: str) -> tuple[float, ...]:
    raw = d.get(key, [])
    where = f"{path}.{key}"
    if not isinstance(raw, list):
        raise _err(f"expected a list of numbers, got {raw!r}", where)
    out = []
    for i, v in enumerate(raw):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _err(f"expected a number, got {v!r}", f"{where}[{i}]")
        out.append(float(v))
    return tuple(out)


def deal_from_dict(
    data: Mapping[str, Any], *, base: Path | None = None, source: Path | None = None
) -> Deal:
    """Build a :class:`Deal` from its TOML form (paths relative to ``base``)."""
    d = s.table(data, "")
    s.check_keys(d, keys(""), "")
    name = check_name(s.req(d, "name", ""), "deal", "name", step_grammar=False)
    dates = _dates(s.req(d, "dates", ""))
    pool = _pool(s.req(d, "pool", ""), base)
    tranches = _tranches(s.req(d, "tranches", ""))
    fees = _fees(d.get("fees", []))
    reserve = _reserve(d["reserve"]) if "reserve" in d else None
    revolving = _revolving(d["revolving"]) if "revolving" in d else None
    triggers = _triggers(d.get("triggers", []))
    call = None
    if "clean_up_call" in d:
        c = s.table(d["clean_up_call"], "clean_up_call")
        s.check_keys(c, keys("clean_up_call"), "clean_up_call")
        call = _wrap(
            lambda: CleanUpCall(
                s.req_number(c, "threshold", "clean_up_call", positive=True),
                s.opt_number(c, "price", "clean_up_call", 1.0, positive=True) or 1.0,
                s.opt_bool(c, "accrued_interest", "clean_up_call", True),
                s.opt_number(c, "defaulted_price", "clean_up_call", None, minimum=0, maximum=1),
            ),
            "clean_up_call",
        )
    waterfall = _waterfall(d["waterfall"]) if "waterfall" in d else None
    conventions = _conventions(d["conventions"]) if "conventions" in d else Conventions()
    state = _state(d["state"]) if "state" in d else None
    return Deal(
        name=name,
        dates=dates,
        pool=pool,
        tranches=tranches,
        fees=fees,
        reserve=reserve,
        revolving=revolving,
        triggers=triggers,
        clean_up_call=call,
        waterfall=waterfall,
        state=state,
        currency=s.opt_str(d, "currency", "", "CNY"),
        loss_allocation=s.opt_str(d, "loss_allocation", "", "writedown", LOSS_ALLOCATIONS),  # type: ignore[arg-type]
        recoveries_to=s.opt_str(d, "recoveries_to", "", "principal", ("principal", "interest")),  # type: ignore[arg-type]
        junior_interest_after_pdl=s.opt_bool(d, "junior_interest_after_pdl", "", False),
        conventions=conventions,
        source=source,
        spec=dict(data),
    )


def load_deal(path: str | Path) -> Deal:
    """Read and validate a deal spec (``waterfalls/*.toml``).

    Paths inside the spec (the tape, an assumptions file) are relative to
    the spec file.

    Raises
    ------
    SpecError
        The file is missing, not TOML, or invalid; the message starts with
        the file and the key path.
    """
    p = Path(path)
    data = s.read_toml(p, "deal spec")
    try:
        return deal_from_dict(data, base=p.parent, source=p)
    except SpecError as exc:
        err = SpecError(f"{p}: {exc}")
        err.path = exc.path
        raise err from None
    except AbsError as exc:
        raise SpecError(f"{p}: {exc}") from None


# --- back to TOML --------------------------------------------------------------------------------


def _coupon_dict(c: Coupon) -> float | dict[str, Any]:
    if not c.steps:
        return c.rate
    return {"rate": c.rate, "steps": [{"from": d, "rate": r} for d, r in c.steps]}


def deal_to_dict(deal: Deal, *, base: Path | None = None) -> dict[str, Any]:
    """The TOML form of a deal (inverse of :func:`deal_from_dict`).

    Assumptions are written inline; the tape path is made relative to
    ``base`` (the directory the TOML will live in) when possible.
    """
    import os

    d = deal.dates
    out: dict[str, Any] = {
        "name": deal.name,
        "currency": deal.currency,
        "loss_allocation": deal.loss_allocation,
        "recoveries_to": deal.recoveries_to,
        "junior_interest_after_pdl": deal.junior_interest_after_pdl,
        "dates": {
            "cutoff": d.cutoff,
            "closing": d.closing,
            "first_payment": d.first_payment,
            "legal_final": d.legal_final,
            "frequency": d.frequency,
            "day_count": d.day_count,
        },
    }
    if d.payment_day is not None:
        out["dates"]["payment_day"] = d.payment_day
    pool: dict[str, Any] = {
        "grades": list(deal.pool.grades),
        "assumptions": deal.pool.assumptions.to_dict(),
    }
    if deal.pool.tape is not None:
        tape = deal.pool.tape
        if base is not None:
            try:
                tape = Path(os.path.relpath(tape, base))
            except ValueError:  # another drive
                tape = tape.resolve()
        pool["tape"] = tape.as_posix()
    out["pool"] = pool
    tranches = []
    for t in deal.tranches:
        row: dict[str, Any] = {"name": t.name, "class": t.kind}
        if t.size is not None:
            row["size"] = t.size
        if t.amount is not None:
            row["amount"] = t.amount
        if t.coupon.rate or t.coupon.steps:
            row["coupon"] = _coupon_dict(t.coupon)
        if t.deferrable is not None:
            row["deferrable"] = t.deferrable
        if t.rank is not None:
            row["rank"] = t.rank
        if t.deferred_interest_accrues is not None:
            row["deferred_interest_accrues"] = t.deferred_interest_accrues
        tranches.append(row)
    out["tranches"] = tranches
    if deal.fees:
        out["fees"] = [
            {
                "name": f.name,
                "type": f.kind,
                **({"amount": f.amount} if f.kind == "fixed" else {"rate": f.rate}),
                "accrue_from": f.accrue_from,
            }
            for f in deal.fees
        ]
    if deal.reserve is not None:
        r = deal.reserve
        out["reserve"] = {
            "initial": r.initial,
            "target": r.target,
            "basis": r.basis,
            "floor": r.floor,
            "covers": list(r.covers),
            "release_excess": r.release_excess,
        }
    if deal.revolving is not None:
        rv = deal.revolving
        out["revolving"] = {
            "periods": rv.periods,
            "price": rv.price,
            "template": [
                {
                    "grade": x.grade,
                    "payment_type": x.payment_type,
                    "term": x.term,
                    "share": x.share,
                    "rate": x.rate,
                    "fee_rate": x.fee_rate,
                }
                for x in rv.template
            ],
        }
    if deal.triggers:
        trig = []
        for tg in deal.triggers:
            row = {
                "name": tg.name,
                "type": tg.kind,
                "effects": list(tg.effects),
                "periods": tg.periods,
                "curable": tg.curable,
            }
            if tg.kind != "interest_shortfall":
                row["level"] = tg.level
            if tg.tranche is not None:
                row["tranche"] = tg.tranche
            trig.append(row)
        out["triggers"] = trig
    if deal.clean_up_call is not None:
        call = deal.clean_up_call
        out["clean_up_call"] = {
            "threshold": call.threshold,
            "price": call.price,
            "accrued_interest": call.accrued_interest,
        }
        if call.defaulted_price is not None:
            out["clean_up_call"]["defaulted_price"] = call.defaulted_price
    cv = deal.conventions
    if cv != Conventions():
        out["conventions"] = {
            "business_days": cv.business_days,
            "roll": cv.roll,
            "fee_balance": cv.fee_balance,
            "unpaid_interest": cv.unpaid_interest,
            **({"fee_day_count": cv.fee_day_count} if cv.fee_day_count else {}),
            **cv.pool_keys,
        }
    assert deal.waterfall is not None
    out["waterfall"] = {
        "interest": [str(s) for s in deal.waterfall.interest],
        "principal": [str(s) for s in deal.waterfall.principal],
        "post_default": [str(s) for s in deal.waterfall.post_default],
    }
    if deal.state is not None:
        st = deal.state
        state: dict[str, Any] = {
            "as_of": st.as_of,
            "balances": dict(st.balances),
            "unpaid_interest": dict(st.unpaid_interest),
            "reserve": st.reserve,
            "cumulative_default": st.cumulative_default,
            "pdl": st.pdl,
            "triggers": dict(st.triggers),
            "purchased": st.purchased,
            "writedowns": dict(st.writedowns),
            "unpaid_fees": dict(st.unpaid_fees),
            "excess_spread_history": list(st.excess_spread_history),
            "defaulted_pending": st.defaulted_pending,
        }
        if st.original_pool_balance is not None:
            state["original_pool_balance"] = st.original_pool_balance
        out["state"] = state
    return out


def write_deal(deal: Deal, path: str | Path) -> Path:
    """Write a deal spec as TOML, atomically; :func:`load_deal` reads it back."""
    import tomli_w

    from abs_engine.io import atomic_path

    p = Path(path)
    data = deal_to_dict(deal, base=p.parent.resolve() if p.parent else None)
    # The name goes into a comment: one line whatever it holds (names carry no control
    # characters, but a hand-built Deal may predate that check).
    header = f"# Deal spec written by abs_engine: {_CONTROL.sub(' ', deal.name)}\n"
    with atomic_path(p) as tmp:
        tmp.write_text(header + tomli_w.dumps(data))
    return p
