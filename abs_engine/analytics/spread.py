r"""Zero curves and the z-spread (zero-volatility spread).

A :class:`ZeroCurve` holds zero rates :math:`z(t)` at a few tenors, quoted
with a stated compounding :math:`m`, interpolated linearly in tenor and
flat beyond the first and last tenors.  The z-spread :math:`s` of a
cash-flow vector is the constant added to every zero rate that discounts
the flows to the price:

.. math::

    P = \sum_k CF_k \left(1 + \frac{z(t_k) + s}{m}\right)^{-m t_k}
    \qquad\left(P = \sum_k CF_k\, e^{-(z(t_k) + s) t_k}\ \text{continuous}\right).

Over a flat curve at rate :math:`r` the z-spread is the yield (same
compounding) minus :math:`r`.  Spreads are decimals: 0.01 is 100 basis
points.

>>> import numpy as np
>>> from abs_engine.analytics import ZeroCurve, price_from_spread, z_spread
>>> curve = ZeroCurve((1.0, 5.0), (0.03, 0.04), compounding="annual")
>>> t = np.arange(1.0, 6.0)
>>> cf = np.array([5.0, 5.0, 5.0, 5.0, 105.0])
>>> price = price_from_spread(cf, t, curve, 0.015)
>>> round(float(z_spread(cf, t, price, curve)), 12)
0.015
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from abs_engine.analytics.measures import (
    BoolArray,
    Compounding,
    FloatArray,
    IntArray,
    StrArray,
    _discount,
    _floats,
    _flows,
    _frequency,
    _lead_shape,
    _result_arrays,
    _solve,
    _yield_guess,
)
from abs_engine.errors import SpecError

__all__ = ["SpreadResult", "ZeroCurve", "price_from_spread", "z_spread"]


def _vector(values: ArrayLike, name: str) -> tuple[float, ...]:
    arr = _floats(values, name)
    if arr.ndim != 1 or arr.size == 0:
        raise SpecError(f"must be a non-empty list of numbers; got shape {arr.shape}", name)
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class ZeroCurve:
    r"""Zero-coupon rates by tenor, linearly interpolated, flat extrapolated.

    .. math::

        z(t) = z_i + (z_{i+1} - z_i) \frac{t - \tau_i}{\tau_{i+1} - \tau_i}
        \quad (\tau_i \le t \le \tau_{i+1}),
        \qquad z(t) = z_1\ (t < \tau_1),\quad z(t) = z_n\ (t > \tau_n),

    and :math:`DF(t) = (1 + z(t)/m)^{-m t}` (:math:`e^{-z(t) t}` when
    continuous).

    Parameters
    ----------
    tenors : sequence of float
        Tenors :math:`\tau_i` in years: positive, finite, strictly increasing.
    rates : sequence of float
        Zero rates :math:`z_i` (decimals) at those tenors: finite, and above
        :math:`-m` for discrete compounding.
    compounding : int or str
        Compounding of the quoted rates: 1, 2, 4, 12 (or ``"annual"``,
        ``"semiannual"``, ``"quarterly"``, ``"monthly"``), or 0 /
        ``"continuous"``.  Stored as periods a year (0 continuous).

    Raises
    ------
    SpecError
        Mismatched lengths, a non-increasing or non-positive tenor, a
        non-finite rate, or an unknown compounding; the message names the
        entry (``tenors[2]``).

    Examples
    --------
    >>> curve = ZeroCurve.from_pairs([(1, 0.02), (3, 0.03)], compounding=1)
    >>> curve.zero_rates([0.5, 2.0, 10.0])
    array([0.02 , 0.025, 0.03 ])
    >>> round(float(curve.discount_factors([2.0])[0]), 12)  # 1.025 ** -2
    0.951814396193
    """

    tenors: tuple[float, ...]
    rates: tuple[float, ...]
    compounding: Compounding = 2

    def __post_init__(self) -> None:
        m = _frequency(self.compounding)
        tenors = _vector(self.tenors, "tenors")
        rates = _vector(self.rates, "rates")
        if len(tenors) != len(rates):
            raise SpecError(
                f"{len(tenors)} tenors but {len(rates)} rates; give one zero rate per tenor",
                "rates",
            )
        for i, (tau, z) in enumerate(zip(tenors, rates, strict=True)):
            if not np.isfinite(tau) or tau <= 0.0:
                raise SpecError(
                    f"tenor must be a positive number of years; got {tau!r}", f"tenors[{i}]"
                )
            if i and tau <= tenors[i - 1]:
                raise SpecError(
                    f"tenors must be strictly increasing; {tau!r} follows {tenors[i - 1]!r}. "
                    "Sort the points and drop duplicates",
                    f"tenors[{i}]",
                )
            if not np.isfinite(z):
                raise SpecError(f"zero rate must be finite; got {z!r}", f"rates[{i}]")
            if m and z <= -m:
                raise SpecError(
                    f"zero rate {z!r} is at or below -{m} (the discount factor is undefined "
                    f"with compounding {m}); rates are decimals, 0.03 for 3%",
                    f"rates[{i}]",
                )
        object.__setattr__(self, "tenors", tenors)
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "compounding", m)

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[float, float]], compounding: Compounding = 2
    ) -> ZeroCurve:
        """Curve from ``(tenor in years, zero rate)`` pairs."""
        points = list(pairs)
        if not points or any(len(p) != 2 for p in points):
            raise SpecError("give (tenor, rate) pairs, e.g. [(1.0, 0.03), (5.0, 0.04)]", "pairs")
        return cls(tuple(p[0] for p in points), tuple(p[1] for p in points), compounding)

    @classmethod
    def flat(cls, rate: float, compounding: Compounding = 2) -> ZeroCurve:
        """The same zero rate at every tenor."""
        return cls((1.0,), (rate,), compounding)

    @property
    def periods_per_year(self) -> int:
        """Compounding periods a year of the quoted rates (0: continuous)."""
        return _frequency(self.compounding)

    def zero_rates(self, times: ArrayLike) -> FloatArray:
        """Zero rate at each time (years), interpolated linearly, flat outside the tenors."""
        t = _floats(times, "times")
        if not np.all(np.isfinite(t)):
            raise SpecError("times must be finite (years)", "times")
        return np.interp(t, self.tenors, self.rates)

    def discount_factors(self, times: ArrayLike, spread: ArrayLike = 0.0) -> FloatArray:
        r"""Discount factors :math:`(1 + (z(t) + s)/m)^{-m t}` (:math:`e^{-(z(t)+s)t}` continuous).

        Parameters
        ----------
        times : array_like
            Times in years (>= 0).
        spread : float or array_like
            Spread :math:`s` added to every zero rate (decimal), broadcast
            against ``times``.

        Returns
        -------
        numpy.ndarray
            Discount factors of the broadcast shape; NaN where
            :math:`z(t) + s \le -m`.
        """
        t = _floats(times, "times")
        if not np.all(np.isfinite(t) & (t >= 0.0)):
            raise SpecError("times must be finite and >= 0 (years from settlement)", "times")
        return _discount(t, self.zero_rates(t) + _floats(spread, "spread"), self.periods_per_year)


@dataclass(frozen=True, eq=False)
class SpreadResult:
    """Z-spreads and solver diagnostics from ``z_spread(..., full_output=True)``.

    Every array has the leading (vector) shape of the input.

    Attributes
    ----------
    spread : numpy.ndarray of float64
        The z-spread (decimal); NaN where there is none.
    converged : numpy.ndarray of bool
        True where a spread was found to the tolerance (``|step| <= 1e-12 x
        max(1, |s|)``).
    iterations : numpy.ndarray of int64
        Price evaluations spent.
    reason : numpy.ndarray of str
        ``""`` where converged; otherwise ``"price not finite"``, ``"all cash
        flows zero"``, ``"all cash flows at time 0"``, ``"no sign change"``
        (no spread keeping every ``z(t) + s > -m`` reproduces the price),
        ``"price insensitive to rate"`` (the price equation holds only to
        rounding) or ``"did not converge"``.
    """

    spread: FloatArray
    converged: BoolArray
    iterations: IntArray
    reason: StrArray


def price_from_spread(
    cashflows: ArrayLike, times: ArrayLike, curve: ZeroCurve, spread: ArrayLike
) -> FloatArray:
    r"""Present value of cash flows at a spread over a zero curve.

    .. math::

        P = \sum_k CF_k \left(1 + \frac{z(t_k) + s}{m}\right)^{-m t_k}

    with :math:`m` the curve's compounding (:math:`e^{-(z(t_k)+s) t_k}` when
    continuous).

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows; leading axes are independent vectors.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years from settlement (>= 0).
    curve : ZeroCurve
        Zero rates and their compounding.
    spread : float or array_like
        Spread (decimal, 0.01 = 100 bp), one per vector (broadcast).

    Returns
    -------
    numpy.ndarray
        Prices of the broadcast leading shape (0-d for one vector); NaN where
        some :math:`z(t) + s \le -m`.

    Examples
    --------
    >>> curve = ZeroCurve.flat(0.04, "annual")
    >>> round(float(price_from_spread([104.0], [1.0], curve, 0.0)), 10)
    100.0
    """
    cf, t = _flows(cashflows, times)
    s = _floats(spread, "spread")
    _lead_shape(cf, t, s.shape, "spread")
    with np.errstate(all="ignore"):  # overflow next to the domain edge is inf, not a warning
        price: FloatArray = (cf * curve.discount_factors(t, s[..., None])).sum(axis=-1)
    return price


@overload
def z_spread(
    cashflows: ArrayLike,
    times: ArrayLike,
    price: ArrayLike,
    curve: ZeroCurve,
    *,
    full_output: Literal[False] = ...,
) -> FloatArray: ...
@overload
def z_spread(
    cashflows: ArrayLike,
    times: ArrayLike,
    price: ArrayLike,
    curve: ZeroCurve,
    *,
    full_output: Literal[True],
) -> SpreadResult: ...
def z_spread(
    cashflows: ArrayLike,
    times: ArrayLike,
    price: ArrayLike,
    curve: ZeroCurve,
    *,
    full_output: bool = False,
) -> FloatArray | SpreadResult:
    r"""Z-spread over a zero curve that reproduces the price, for many vectors at once.

    Solves for :math:`s` (with every :math:`z(t_k) + s > -m`)

    .. math::

        \sum_k CF_k \left(1 + \frac{z(t_k) + s}{m}\right)^{-m t_k} = P

    the same way as :func:`~abs_engine.analytics.yield_from_price`: Newton's
    method on all vectors at once, a bracketed bisection where Newton
    fails, tolerance ``|step| <= 1e-12 x max(1, |s|)``.

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows; leading axes are independent vectors.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years from settlement (>= 0).
    price : float or array_like
        Price of each vector (broadcast against the leading shape).
    curve : ZeroCurve
        Zero rates and their compounding.
    full_output : bool
        Return a :class:`SpreadResult` with solver diagnostics.

    Returns
    -------
    numpy.ndarray or SpreadResult
        Spreads (decimal) of the broadcast leading shape; NaN where no
        spread exists (never an exception), the reason in ``full_output``.

    Examples
    --------
    >>> curve = ZeroCurve.flat(0.04, "annual")
    >>> round(float(z_spread([105.0], [1.0], 100.0, curve)), 12)  # 5% yield - 4%
    0.01
    """
    m = curve.periods_per_year
    cf, t, p, lead = _result_arrays(cashflows, times, price)
    base = curve.zero_rates(t)
    weights = np.abs(cf) * np.broadcast_to(t, cf.shape)
    with np.errstate(all="ignore"):
        mean_rate = (weights * base).sum(axis=1) / weights.sum(axis=1)
    guess = _yield_guess(cf, t, p, m) - mean_rate
    solved = _solve(cf, t, base, p, m, guess).reshaped(lead)
    if full_output:
        return SpreadResult(solved.rate, solved.converged, solved.iterations, solved.reason)
    return solved.rate
