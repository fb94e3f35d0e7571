"""Default and prepayment curves as frozen value objects.

Every curve answers one question: *what is the monthly rate (SMM for
prepayments, MDR for defaults) in the month in which loan age goes from
``a - 1`` to ``a``* — the MONTH convention of the SIFMA Standard Formulas
(1999, section B.2, p. SF-5).  Period-based curves (``by="period"``) answer
the same question for projection period ``t`` instead of loan age.

Curves never mutate; a stress is ``curve.scaled(1.5)``, a new curve.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abs_engine.curves.rates import (
    annual_to_monthly,
    monthly_to_annual,
    scale_monthly,
)
from abs_engine.errors import AssumptionError, plain

__all__ = [
    "PSA",
    "SDA",
    "ABSPrepay",
    "Constant",
    "CumulativeDefault",
    "Curve",
    "Measure",
    "Scaled",
    "Vector",
    "abs_prepay",
    "cdr",
    "cpr",
    "cumulative_default",
    "cumulative_default_shares",
    "mdr",
    "psa",
    "sda",
    "smm",
    "vector",
]

Measure = Literal["prepayment", "default"]
By = Literal["age", "period"]
Unit = Literal["cdr", "cpr", "smm", "mdr"]

_UNIT_MEASURE: dict[str, Measure] = {
    "cpr": "prepayment",
    "smm": "prepayment",
    "cdr": "default",
    "mdr": "default",
}
_ANNUAL_UNITS = frozenset({"cpr", "cdr"})


def _months(x: ArrayLike) -> NDArray[np.int64]:
    """Validate month indices (ages or periods): integers >= 1."""
    arr = np.asarray(x)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        rounded = np.rint(arr)
        if not np.array_equal(rounded, arr):
            raise AssumptionError(
                "monthly_rates() takes whole months (loan age or period, 1 for the first month)"
            )
        arr = rounded
    out = arr.astype(np.int64, copy=False)
    if out.size and out.min() < 1:
        raise AssumptionError(
            f"monthly_rates() got month {int(out.min())}; months count from 1 "
            "(MONTH convention: month a is the month in which age goes from a-1 to a)"
        )
    return out


def _check_rate(value: float, name: str, *, upper: float = 1.0) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or v > upper:
        raise AssumptionError(
            f"{name} must be a decimal rate between 0 and {upper:g}; got {plain(value)!r}"
            + (
                " (did you give a percentage? write 0.06 for 6%)"
                if math.isfinite(v) and v > upper
                else ""
            )
        )
    return v


class Curve(ABC):
    """Base class: a monthly rate as a function of loan age (or period).

    Subclasses are frozen dataclasses.  ``measure`` says whether the curve
    describes prepayments or defaults; ``by`` whether it is indexed by loan
    age (default) or projection period.
    """

    measure: ClassVar[Measure | None] = None
    by: By

    @abstractmethod
    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:
        """Monthly rate (SMM or MDR) for each month index in ``x``.

        Parameters
        ----------
        x : array_like of int
            Loan ages (``by="age"``) or projection periods (``by="period"``),
            1 for the first month.

        Returns
        -------
        numpy.ndarray
            float64 array of the same shape, each value in [0, 1].
        """

    def annual_rates(self, x: ArrayLike) -> NDArray[np.float64]:
        """Annualised rate (CPR or CDR): ``1 - (1 - monthly) ** 12``."""
        return monthly_to_annual(self.monthly_rates(x))

    def scaled(self, multiplier: float) -> Curve:
        """The curve with its annual rate multiplied by ``multiplier`` (capped at 100%)."""
        m = float(multiplier)
        if not math.isfinite(m) or m < 0:
            raise AssumptionError(f"a curve multiplier must be >= 0; got {plain(multiplier)!r}")
        if m == 1.0:
            return self
        return Scaled(self, m)

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """TOML/JSON form, readable back with :func:`abs_engine.curves.curve_from_dict`."""

    @property
    def kind(self) -> Measure | None:
        """``"prepayment"``, ``"default"``, or ``None`` when usable as either."""
        return self.measure


@dataclass(frozen=True)
class Constant(Curve):
    """A flat rate at every age, given in ``unit`` (``cpr``/``smm``/``cdr``/``mdr``)."""

    rate: float
    unit: Unit
    by: By = "age"

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_MEASURE:
            raise AssumptionError(f"unit must be one of cdr, cpr, smm, mdr; got {self.unit!r}")
        object.__setattr__(self, "rate", _check_rate(self.rate, self.unit.upper()))

    @property
    def kind(self) -> Measure:  # noqa: D102 - documented on Curve
        return _UNIT_MEASURE[self.unit]

    @property
    def monthly(self) -> float:
        """The monthly rate (SMM or MDR)."""
        if self.unit in _ANNUAL_UNITS:
            return float(annual_to_monthly(self.rate))
        return self.rate

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        months = _months(x)
        return np.full(months.shape, self.monthly, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {self.unit: self.rate}


@dataclass(frozen=True)
class PSA(Curve):
    """PSA prepayment benchmark: CPR = pct/100 x 6% x min(age, 30)/30 (SIFMA SF-6)."""

    pct: float
    by: By = field(default="age", init=False)
    measure: ClassVar[Measure] = "prepayment"

    def __post_init__(self) -> None:
        if not math.isfinite(self.pct) or self.pct < 0:
            raise AssumptionError(
                f"PSA speed must be a percentage >= 0 (150 for 150% PSA); got {plain(self.pct)!r}"
            )

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        age = _months(x)
        cpr = self.pct / 100.0 * 0.06 * np.minimum(age, 30) / 30.0
        return annual_to_monthly(np.minimum(cpr, 1.0))

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {"psa": self.pct}


@dataclass(frozen=True)
class SDA(Curve):
    """Standard Default Assumption (SIFMA SF-20).

    100% SDA: CDR 0.02% in month 1 rising 0.02% a month to 0.60% in month 30,
    flat to month 60, falling 0.0095% a month to 0.03% in month 120, flat after.
    """

    pct: float
    by: By = field(default="age", init=False)
    measure: ClassVar[Measure] = "default"

    def __post_init__(self) -> None:
        if not math.isfinite(self.pct) or self.pct < 0:
            raise AssumptionError(
                f"SDA speed must be a percentage >= 0 (100 for 100% SDA); got {plain(self.pct)!r}"
            )

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        age = _months(x).astype(np.float64)
        base = np.where(
            age <= 30,
            0.0002 * age,
            np.where(age <= 60, 0.006, np.where(age <= 120, 0.006 - 0.000095 * (age - 60), 0.0003)),
        )
        return annual_to_monthly(np.minimum(base * self.pct / 100.0, 1.0))

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {"sda": self.pct}


@dataclass(frozen=True)
class ABSPrepay(Curve):
    """The ABS prepayment model (SIFMA SF-13): ``SMM = ABS / (1 - ABS x (age - 1))``.

    ``speed`` is a decimal: ``0.015`` is 1.5% ABS.  Once the denominator
    reaches zero every remaining loan has prepaid (SMM = 1).
    """

    speed: float
    by: By = field(default="age", init=False)
    measure: ClassVar[Measure] = "prepayment"

    def __post_init__(self) -> None:
        object.__setattr__(self, "speed", _check_rate(self.speed, "ABS speed"))

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        age = _months(x).astype(np.float64)
        denom = 1.0 - self.speed * (age - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            smm = np.where(denom > self.speed, self.speed / denom, 1.0)
        return np.clip(smm, 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {"abs": self.speed}


@dataclass(frozen=True)
class Vector(Curve):
    """Rates given month by month; the last value is held thereafter.

    ``values[0]`` applies to month 1 (age 1, or period 1 when ``by="period"``).
    """

    values: tuple[float, ...]
    unit: Unit
    by: By = "age"

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_MEASURE:
            raise AssumptionError(
                f"vector unit must be one of cdr, cpr, smm, mdr; got {self.unit!r}"
            )
        if self.by not in ("age", "period"):
            raise AssumptionError(f"vector 'by' must be 'age' or 'period'; got {self.by!r}")
        vals = tuple(float(v) for v in np.asarray(self.values, dtype=np.float64).ravel())
        if not vals:
            raise AssumptionError("a rate vector needs at least one value")
        for i, v in enumerate(vals):
            _check_rate(v, f"{self.unit.upper()} vector value [{i}]")
        object.__setattr__(self, "values", vals)

    @property
    def kind(self) -> Measure:  # noqa: D102
        return _UNIT_MEASURE[self.unit]

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        months = _months(x)
        vals = np.asarray(self.values, dtype=np.float64)
        if self.unit in _ANNUAL_UNITS:
            vals = annual_to_monthly(vals)
        idx = np.minimum(months, len(vals)) - 1
        return np.asarray(vals[idx], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {"vector": list(self.values), "unit": self.unit, "by": self.by}


@dataclass(frozen=True)
class CumulativeDefault(Curve):
    """A cumulative gross default (CGL) of ``total`` spread over months by ``timing``.

    The rating-agency convention: in month ``k`` a group of receivables with
    balance ``B_0`` at cut-off defaults

    .. math::  D_k = \\min\\bigl(c\\,w_k\\,B_0,\\; P_k\\bigr),
               \\qquad c = \\mathrm{total} \\times \\mathrm{scale},
               \\qquad w_k = \\mathrm{timing}_k / \\textstyle\\sum_j \\mathrm{timing}_j,

    capped by ``P_k``, what is still performing at the start of the month.  The
    cumulative default is therefore ``c B_0`` whatever the amortisation and
    prepayment, unless the cap binds.  ``k`` is the loan age (``by="age"``: a
    receivable seasoned ``a`` months at cut-off receives ``w_{a+1}, w_{a+2},
    ...``, the part of the curve still ahead of it) or the projection period
    (``by="period"``).  The projection applies it to each group of receivables
    sharing grade and age (see :mod:`abs_engine.projection.engine`).

    A stress multiplies the CGL: ``curve.scaled(2.0)`` and a scenario's
    ``default_mult = 2`` both turn an 8% CGL into 16%.  ``scale`` holds that
    multiplier (``total`` stays the base case as given).

    :meth:`monthly_rates` is the conditional rate the curve implies for a pool
    that neither amortises nor prepays, ``d_k / (1 - sum_{j<k} d_j)`` with
    ``d = c w`` (capped at 1): a description for charts, not what the
    projection applies.
    """

    total: float
    timing: tuple[float, ...]
    by: By = "age"
    scale: float = 1.0
    measure: ClassVar[Measure] = "default"

    def __post_init__(self) -> None:
        total = float(self.total)
        if not math.isfinite(total) or not 0.0 <= total < 1.0:
            raise AssumptionError(
                f"cumulative default must be a decimal in [0, 1); got {plain(self.total)!r}"
                + (" (did you give a percentage? write 0.08 for 8%)" if total >= 1.0 else "")
            )
        w = np.asarray(self.timing, dtype=np.float64).ravel()
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise AssumptionError(
                "cumulative default timing must be non-negative weights with a positive sum, "
                f"month 1 first; got {list(self.timing)!r}"
            )
        if self.by not in ("age", "period"):
            raise AssumptionError(f"'by' must be 'age' or 'period'; got {self.by!r}")
        scale = float(self.scale)
        if not math.isfinite(scale) or scale < 0:
            raise AssumptionError(f"a curve multiplier must be >= 0; got {plain(self.scale)!r}")
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "timing", tuple(float(v) for v in w))
        object.__setattr__(self, "scale", scale)

    @property
    def cgl(self) -> float:
        """The cumulative default delivered, as a share of the cut-off balance: ``total x scale``."""
        return self.total * self.scale

    def default_shares(self, x: ArrayLike) -> NDArray[np.float64]:
        """Share of the cut-off balance defaulting in each month of ``x``: ``cgl x w_x``.

        Zero after the timing ends.  Summed over every month it is :attr:`cgl`.
        """
        months = _months(x)
        w = np.asarray(self.timing)
        shares = np.append(self.cgl * w / w.sum(), 0.0)
        return np.asarray(shares[np.minimum(months, len(w) + 1) - 1], dtype=np.float64)

    def scaled(self, multiplier: float) -> CumulativeDefault:
        """The curve with its CGL multiplied by ``multiplier`` (the timing is kept)."""
        m = float(multiplier)
        if not math.isfinite(m) or m < 0:
            raise AssumptionError(f"a curve multiplier must be >= 0; got {plain(multiplier)!r}")
        if m == 1.0:
            return self
        return CumulativeDefault(self.total, self.timing, self.by, self.scale * m)

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        months = _months(x)
        w = np.asarray(self.timing)
        d = self.cgl * w / w.sum()
        survivors = 1.0 - np.concatenate(([0.0], np.cumsum(d)[:-1]))
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = np.where(survivors > d, d / np.where(survivors > 0, survivors, 1.0), 1.0)
        cond = np.where(d > 0, cond, 0.0)
        mdr_by_month = np.append(cond, 0.0)  # zero after the timing ends
        idx = np.minimum(months, len(w) + 1) - 1
        return np.asarray(mdr_by_month[idx], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        out: dict[str, Any] = {
            "cumulative_default": self.total,
            "timing": list(self.timing),
            "by": self.by,
        }
        if self.scale != 1.0:
            out["scale"] = self.scale
        return out


@dataclass(frozen=True)
class Scaled(Curve):
    """A curve whose annual rate is multiplied by ``multiplier``, capped at 100%.

    Build it with ``curve.scaled(m)``.  A cumulative-default curve scales its
    CGL instead (:meth:`CumulativeDefault.scaled`); wrapped here directly, the
    projection still reads it as a CGL times ``multiplier`` (see
    :func:`cumulative_default_shares`).
    """

    base: Curve
    multiplier: float

    def __post_init__(self) -> None:
        if isinstance(self.base, Scaled):  # flatten nested stresses
            object.__setattr__(self, "multiplier", self.multiplier * self.base.multiplier)
            object.__setattr__(self, "base", self.base.base)

    @property
    def by(self) -> By:  # type: ignore[override]  # noqa: D102
        return self.base.by

    @property
    def kind(self) -> Measure | None:  # noqa: D102
        return self.base.kind

    def monthly_rates(self, x: ArrayLike) -> NDArray[np.float64]:  # noqa: D102
        return scale_monthly(self.base.monthly_rates(x), self.multiplier)

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {**self.base.to_dict(), "scale": self.multiplier}


# --- constructors with the names analysts use --------------------------------------


def smm(x: float) -> Constant:
    """Constant single monthly mortality (prepayment), e.g. ``smm(0.01)``."""
    return Constant(x, "smm")


def cpr(x: float) -> Constant:
    """Constant conditional prepayment rate, e.g. ``cpr(0.10)`` for 10% CPR."""
    return Constant(x, "cpr")


def mdr(x: float) -> Constant:
    """Constant monthly default rate, e.g. ``mdr(0.01)``."""
    return Constant(x, "mdr")


def cdr(x: float) -> Constant:
    """Constant (conditional) annual default rate, e.g. ``cdr(0.05)`` for 5% CDR."""
    return Constant(x, "cdr")


def psa(pct: float) -> PSA:
    """PSA prepayment curve at ``pct`` percent of the benchmark, e.g. ``psa(150)``."""
    return PSA(pct)


def sda(pct: float) -> SDA:
    """SDA default curve at ``pct`` percent of the benchmark, e.g. ``sda(100)``."""
    return SDA(pct)


def abs_prepay(speed: float) -> ABSPrepay:
    """ABS prepayment model at ``speed`` (decimal), e.g. ``abs_prepay(0.015)`` = 1.5% ABS."""
    return ABSPrepay(speed)


def vector(values: ArrayLike, unit: Unit = "cdr", by: By = "age") -> Vector:
    """Rates month by month in ``unit``; the last value is held."""
    return Vector(tuple(np.asarray(values, dtype=np.float64).ravel()), unit, by)


def cumulative_default(total: float, timing: ArrayLike, by: By = "age") -> CumulativeDefault:
    """Cumulative default ``total`` (of the cut-off balance) spread over months by ``timing``."""
    return CumulativeDefault(total, tuple(np.asarray(timing, dtype=np.float64).ravel()), by)


def cumulative_default_shares(curve: Curve, x: ArrayLike) -> NDArray[np.float64] | None:
    """Share of the cut-off balance defaulting in each month of ``x`` under a CGL curve.

    ``curve`` may be wrapped in :class:`Scaled`; ``None`` for any other curve.
    """
    if isinstance(curve, CumulativeDefault):
        return curve.default_shares(x)
    if isinstance(curve, Scaled) and isinstance(curve.base, CumulativeDefault):
        return curve.base.scaled(curve.multiplier).default_shares(x)
    return None
