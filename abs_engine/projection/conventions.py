"""Pool-side market conventions: how another engine or a trustee projects a receivable.

The defaults are the SIFMA Standard Formulas (1999, section C.3, pp. SF-18 to
SF-19), which :func:`abs_engine.project` follows.  Each option below changes one
step of a receivable's month; the worked example of every option uses a receivable
with performing balance ``P = 1,000.00`` at the start of the month, monthly default
rate ``d = 1%``, single monthly mortality ``p = 2%``, coupon ``c = 1%`` a month and a
scheduled amortisation of ``f = 10%`` of the balance that pays.

``prepayment_timing``
    ``"end"`` (SIFMA): the prepaying borrowers pay their scheduled instalment and a
    full month's interest, then prepay at the end of the month.  ``"start"``: they
    prepay at the start, before interest and scheduled principal, so the prepaid
    balance earns no interest that month.
``default_order``
    ``"sifma"``: default and prepayment are shares of the same balance (survival
    ``1 - d - p``, ``p`` capped at ``1 - d``).  ``"default_first"``: defaults come
    off the beginning balance, then prepayments off what did not default (survival
    ``(1 - d)(1 - p)``).

    The four combinations, with ``D = d P`` in every case::

        timing order          prepayment              interest on   scheduled         end
        end    sifma          p (P - f P)     = 18.00  P - D = 990   f 990  = 99.00   873.00
        start  sifma          p P             = 20.00  P-D-PP = 970  f 970  = 97.00   873.00
        end    default_first  p (P-D-SP)      = 17.82  P - D = 990   f 990  = 99.00   873.18
        start  default_first  p (P - D)       = 19.80  970.20        f 970.2 = 97.02  873.18

    (interest ``c x`` the balance that pays: 9.90, 9.70, 9.90, 9.702).
``annual_to_periodic``
    How an annual rate (CDR, CPR) becomes the rate of an asset period.  Curves give
    monthly rates ``m``; their annual equivalent is ``a = 1 - (1 - m)^12``.
    ``"monthly"`` (SIFMA): ``m = 1 - (1 - a)^(1/12)`` every month.  ``"act_365"`` /
    ``"act_360"``: ``1 - (1 - a)^(days/365)`` (``/360``) with ``days`` the actual days
    of the asset period, i.e. ``1 - (1 - m)^(12 days / 365)``.  This needs the
    receivables' payment calendar: ``cutoff``, ``payment_day`` (clamped to the month
    end), ``business_days`` and ``roll`` (see :mod:`abs_engine.calendars`).  Asset
    period ``k`` runs from the receivables' payment date in calendar month ``k - 1``
    after the cut-off's month to the one in month ``k`` (month 0 is the cut-off's
    own month), each date rolled to a business day.  Example: 12% CDR is
    ``1 - 0.88^(1/12) = 1.0596%`` a month; over a 31-day period at ``act_365`` it is
    ``1 - 0.88^(31/365) = 1.0798%``, over 28 days ``0.9758%``.
``loss_timing``
    ``"liquidation"`` (SIFMA): the loss ``severity x default`` is recognised
    ``recovery_lag`` months after the default, with the recovery.  ``"default"``:
    the loss is recognised in the month of default; the recovery still arrives
    ``recovery_lag`` months later.
``rounding``
    ``"none"``: float arithmetic.  ``"floor"``, ``"half_up"``, ``"half_even"``:
    every money amount of a receivable is rounded to the cent right after each
    multiplication or division that produces it (default, prepayment, interest,
    fee, scheduled principal or payment, loss), as a trustee's or another engine's
    loan-by-loan model does; sums and differences of cents are exact.  Cut-off
    balances are taken to the nearest cent first.  Example: 1,234.5 cents is 1,234
    (floor), 1,235 (half_up) or 1,234 (half_even; 1,235.5 gives 1,236).  Only the
    loan-level engine (``engine="loan"``) can round per receivable.

    A float engine lands on the cent an exact decimal engine gets because
    :func:`round_cents` treats a value within :data:`ROUND_EPS` (relative, ``2^-47``,
    32 units in the last place) of a rounding boundary as on it: float products and
    rates carry a few units in the last place of error, the boundary is found
    anyway.  The result equals the decimal one whenever the exact value is on a
    boundary or farther than ``2^-46 |x|`` from it, e.g. for every product of an
    amount below 1,000,000.00 and a rate of at most six decimals
    (``tests/projection/test_rounding.py`` checks it against :mod:`decimal`).
``amortisation``
    Scheduled principal of a level-payment (annuity) receivable with ``m`` months
    left and monthly coupon ``c``.  ``"schedule"`` (SIFMA): the contractual share
    ``f = c / ((1 + c)^m - 1)`` of the balance that pays.  ``"reamortise"``: the
    payment is recomputed each month on the surviving balance ``B`` over the
    remaining term, ``pay = B c / (1 - (1 + c)^-m)`` (rounded as configured), and
    scheduled principal is ``pay - interest``.  Without rounding the two are the
    same number.  Example (half_up): 1,000.00 at 1% over 3 months pays 340.02
    (interest 10.00, principal 330.02); then 669.98 over 2 months pays 340.02
    (interest 6.70, principal 333.32); the last month pays 336.66 + 3.37.
``coupon_decimals``
    ``None``: the monthly coupon is ``rate / 12``.  An integer ``N``: ``rate / 12``
    truncated to ``N`` decimals (``15.5%`` with ``N = 6``: ``0.012916`` a month),
    for interest and for the annuity schedule alike.
``flat_fee``
    The flat-fee instalment plan (等本等费).  ``"schedule"``: the cut-off balance
    amortises evenly over the remaining term and the fee is the original fee times
    the paying share of the cut-off balance's schedule.  ``"survival"``: scheduled
    principal and fee are the *original* instalment ``OB / OT`` and fee ``OB x
    fee_rate`` times the cumulative survival factor ``B / SB``, the balance that pays
    over the original schedule's balance ``SB = OB - j x OB / OT`` (``j`` the
    instalments due before this month, ``OT - remaining_term`` at cut-off); the last
    instalment repays what is left.  With rounding, the instalment and the fee are
    rounded first, ``SB`` uses the rounded instalment and the factor is not rounded.
    The two agree for a receivable on its original schedule (``balance = OB x
    remaining / OT``) without rounding.  Example: OB
    1,200.00 over 12 months at 0.5% a month (instalment 100.00, fee 6.00), balance
    900.00 paying in month 3 (SB 1,000.00, factor 0.9): principal 90.00, fee 5.40.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import difflib
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abs_engine.calendars import CALENDARS, ROLLS, roll
from abs_engine.errors import AssumptionError

__all__ = [
    "ENGINES",
    "ROUND_EPS",
    "Engine",
    "PoolConventions",
    "monthly_coupon",
    "round_cents",
]

F64 = NDArray[np.float64]
Engine: TypeAlias = Literal["cohort", "loan"]
PrepaymentTiming: TypeAlias = Literal["end", "start"]
DefaultOrder: TypeAlias = Literal["sifma", "default_first"]
AnnualToPeriodic: TypeAlias = Literal["monthly", "act_365", "act_360"]
LossTiming: TypeAlias = Literal["liquidation", "default"]
Rounding: TypeAlias = Literal["none", "floor", "half_up", "half_even"]
Amortisation: TypeAlias = Literal["schedule", "reamortise"]
FlatFee: TypeAlias = Literal["schedule", "survival"]

#: The projection engines: cohorts in closed form (default) or receivable by receivable.
ENGINES: tuple[Engine, ...] = ("cohort", "loan")

#: Relative tolerance of :func:`round_cents`: ``2^-47`` (about 7.1e-15, 32 float64 ulps).
ROUND_EPS = 2.0**-47

#: The allowed values of every option, in documentation order (the first is SIFMA).
CHOICES: dict[str, tuple[str, ...]] = {
    "prepayment_timing": ("end", "start"),
    "default_order": ("sifma", "default_first"),
    "annual_to_periodic": ("monthly", "act_365", "act_360"),
    "loss_timing": ("liquidation", "default"),
    "rounding": ("none", "floor", "half_up", "half_even"),
    "amortisation": ("schedule", "reamortise"),
    "flat_fee": ("schedule", "survival"),
}


@dataclass(frozen=True)
class PoolConventions:
    """How receivables are projected, month by month (see the module docstring).

    Every default is the SIFMA Standard Formulas' behaviour, so
    ``PoolConventions()`` changes nothing.  Frozen and validated on construction;
    a variant is ``dataclasses.replace(conv, rounding="half_up")``.

    Parameters
    ----------
    prepayment_timing : {"end", "start"}
    default_order : {"sifma", "default_first"}
    annual_to_periodic : {"monthly", "act_365", "act_360"}
    loss_timing : {"liquidation", "default"}
    rounding : {"none", "floor", "half_up", "half_even"}
    amortisation : {"schedule", "reamortise"}
    coupon_decimals : int or None
        Decimals the monthly coupon ``rate / 12`` is truncated to (0 to 12).
    flat_fee : {"schedule", "survival"}
    cutoff : datetime.date, optional
        The receivables' payment calendar starts in this month (the pool's
        cut-off); needed by ``annual_to_periodic = "act_365"`` / ``"act_360"``.
    payment_day : int
        Day of the month the receivables pay (1 to 31, clamped to the month end).
    business_days : {"none", "weekends", "china_interbank", "china_exchange"}
        Calendar the receivables' payment dates are rolled on.
    roll : {"following", "modified_following", "preceding"}

    Examples
    --------
    >>> PoolConventions().is_sifma
    True
    >>> PoolConventions(prepayment_timing="start", rounding="half_up").needs_loan_engine
    True
    """

    prepayment_timing: PrepaymentTiming = "end"
    default_order: DefaultOrder = "sifma"
    annual_to_periodic: AnnualToPeriodic = "monthly"
    loss_timing: LossTiming = "liquidation"
    rounding: Rounding = "none"
    amortisation: Amortisation = "schedule"
    coupon_decimals: int | None = None
    flat_fee: FlatFee = "schedule"
    cutoff: dt.date | None = None
    payment_day: int = 31
    business_days: str = "none"
    roll: str = "following"

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                close = difflib.get_close_matches(str(value), allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise AssumptionError(
                    f"conventions.{name} must be one of {', '.join(allowed)}; got {value!r}{hint}"
                )
        n = self.coupon_decimals
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 12):
            raise AssumptionError(
                f"conventions.coupon_decimals must be a whole number of decimals from 0 to 12 "
                f"(or None for no truncation); got {n!r}"
            )
        day = self.payment_day
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
            raise AssumptionError(
                f"conventions.payment_day must be a day of the month, 1 to 31 (31: the last day); "
                f"got {day!r}"
            )
        if self.business_days not in CALENDARS:
            raise AssumptionError(
                f"conventions.business_days must be one of {', '.join(CALENDARS)}; "
                f"got {self.business_days!r}"
            )
        if self.roll not in ROLLS:
            raise AssumptionError(
                f"conventions.roll must be one of {', '.join(ROLLS)}; got {self.roll!r}"
            )
        cutoff = self.cutoff
        if cutoff is not None and (
            isinstance(cutoff, dt.datetime) or not isinstance(cutoff, dt.date)
        ):
            raise AssumptionError(f"conventions.cutoff must be a datetime.date; got {cutoff!r}")
        if self.annual_to_periodic != "monthly" and self.cutoff is None:
            raise AssumptionError(
                f"conventions.annual_to_periodic = {self.annual_to_periodic!r} counts the actual "
                "days of each asset period, so it needs the receivables' payment calendar: give "
                "cutoff (a deal supplies its own), and payment_day / business_days / roll if the "
                "receivables do not pay on the last calendar day of each month"
            )

    # --- what the conventions ask of the engines ------------------------------------------

    @property
    def is_sifma(self) -> bool:
        """Whether every convention is the SIFMA default (the calendar aside)."""
        return all(getattr(self, k) == v[0] for k, v in CHOICES.items()) and (
            self.coupon_decimals is None
        )

    @property
    def needs_loan_engine(self) -> bool:
        """Whether only the loan-level engine can honour these conventions (rounding)."""
        return self.rounding != "none"

    def to_dict(self) -> dict[str, Any]:
        """The options that differ from the SIFMA default, by name (the calendar included)."""
        default = asdict(PoolConventions())
        return {k: v for k, v in asdict(self).items() if v != default[k]}

    # --- calendar ---------------------------------------------------------------------------

    def period_days(self, n: int, offset: int = 0) -> NDArray[np.int64]:
        """Actual days of asset periods ``offset + 1 .. offset + n``.

        Period ``k`` runs from the receivables' payment date in calendar month
        ``k - 1`` after the cut-off's month to the one in month ``k``, each on
        ``payment_day`` (clamped to the month end) rolled by ``business_days`` and
        ``roll``.

        >>> conv = PoolConventions(annual_to_periodic="act_365", cutoff=dt.date(2024, 12, 31))
        >>> conv.period_days(3).tolist()  # January, February (2025), March
        [31, 28, 31]
        """
        if self.cutoff is None:
            raise AssumptionError("period_days needs conventions.cutoff (the payment calendar)")
        base = self.cutoff.year * 12 + self.cutoff.month - 1
        dates = []
        for j in range(offset, offset + n + 1):
            year, month = divmod(base + j, 12)
            last = _cal.monthrange(year, month + 1)[1]
            day = dt.date(year, month + 1, min(self.payment_day, last))
            dates.append(roll(day, self.business_days, self.roll))
        return np.diff(np.array(dates, dtype="datetime64[D]")).astype(np.int64)

    def period_exponents(self, n: int, offset: int = 0) -> F64 | None:
        """Exponents ``e_k`` turning a monthly rate into period ``k``'s: ``1 - (1 - m)^e_k``.

        ``None`` for ``"monthly"`` (``e = 1``); ``12 x days / 365`` (or ``/ 360``)
        otherwise.
        """
        if self.annual_to_periodic == "monthly":
            return None
        basis = 365.0 if self.annual_to_periodic == "act_365" else 360.0
        out: F64 = 12.0 * self.period_days(n, offset).astype(np.float64) / basis
        return out


def periodic_rate(monthly: ArrayLike, exponent: float | F64) -> F64:
    """``1 - (1 - m)^e``: a monthly rate over a period of ``e`` months' worth of days."""
    m = np.clip(np.asarray(monthly, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        out: F64 = -np.expm1(np.asarray(exponent) * np.log1p(-m))
    return out


def round_cents(x: ArrayLike, mode: Rounding) -> F64:
    """Non-negative amounts in cents rounded to whole cents, as an exact decimal engine would.

    A value within ``ROUND_EPS x |x|`` below a boundary (an integer for
    ``floor``, a half for ``half_up`` / ``half_even``) is taken to be on it, so
    that float error in the product never moves the cent:

    * ``floor``: ``floor(x + eps)``
    * ``half_up``: ``floor(x + 1/2 + eps)``
    * ``half_even``: as ``half_up``, except that a tie (``x + 1/2`` within
      ``eps`` of an integer) goes to the even neighbour.

    Parameters
    ----------
    x : array_like
        Amounts in cents, ``>= 0``.
    mode : {"none", "floor", "half_up", "half_even"}
        ``"none"`` returns ``x`` unchanged.

    Examples
    --------
    >>> round_cents([1234.5, 1235.5, 0.015 * 1000], "half_even").tolist()
    [1234.0, 1236.0, 15.0]
    >>> float(round_cents(0.29 * 100, "floor"))  # 28.999999999999996 in float
    29.0
    """
    a = np.asarray(x, dtype=np.float64)
    if mode == "none":
        return a
    eps = np.abs(a) * ROUND_EPS
    if mode == "floor":
        out: F64 = np.floor(a + eps)
        return out
    y = a + 0.5
    n = np.floor(y + eps)
    if mode == "half_up":
        return n
    if mode == "half_even":
        tie = np.abs(y - n) <= eps
        odd = np.fmod(n, 2.0) != 0.0
        result: F64 = np.where(tie & odd, n - 1.0, n)
        return result
    raise AssumptionError(f"unknown rounding {mode!r}; one of {', '.join(CHOICES['rounding'])}")


def monthly_coupon(rate: ArrayLike, decimals: int | None) -> F64:
    """The monthly coupon ``rate / 12``, truncated to ``decimals`` when given.

    Truncation tolerates float error the way :func:`round_cents` does, so the
    result is the truncation of the decimal ``rate / 12``.

    >>> monthly_coupon([0.18, 0.155], 6).tolist()
    [0.015, 0.012916]
    """
    c = np.asarray(rate, dtype=np.float64) / 12.0
    if decimals is None:
        return c
    scale = 10.0**decimals
    v = c * scale
    out: F64 = np.floor(v + np.abs(v) * ROUND_EPS) / scale
    return out
