r"""Price, yield, average life, duration and convexity of cash-flow vectors.

Plain-array layer: every function takes cash flows of shape ``(..., T)``
(leading axes are scenarios, tranches, ... in any number) and payment times
``times`` in years, shape ``(T,)`` or anything that broadcasts against the
cash flows.  Nothing loops over vectors; a batch of ten thousand vectors is
one NumPy computation.

Compounding ``m`` is the number of compounding periods a year: 1 (annual),
2 (semiannual), 3, 4 (quarterly), 6, 12 (monthly), or 0 for continuous
compounding (3 and 6 serve deals paying every four or two months); the
names ``"annual"``, ``"semiannual"``, ``"quarterly"``, ``"monthly"`` and
``"continuous"`` are accepted too.  The discount factor of
a flow at time :math:`t` at yield :math:`y` is

.. math::

    DF(t) = \left(1 + \frac{y}{m}\right)^{-m t}
    \quad\text{or}\quad DF(t) = e^{-y t}\ \text{(continuous)},

defined for :math:`y > -m` (any :math:`y` when continuous).  Payment delays
and day counts enter through ``times``: the SIFMA Standard Formulas (1999,
section G) price a pass-through with a 14-day delay at times
:math:`(30k + 14)/360`; see :mod:`abs_engine.daycount` to build times from
dates.

>>> import numpy as np
>>> from abs_engine.analytics import price_from_yield, yield_from_price
>>> t = np.arange(1, 7) / 2  # a 3-year 5% semiannual bond
>>> cf = np.full(6, 2.5); cf[-1] += 100
>>> round(float(price_from_yield(cf, t, 0.05)), 10)
100.0
>>> round(float(yield_from_price(cf, t, 100.0)), 12)
0.05
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abs_engine._frozen import FrozenMap
from abs_engine.errors import SpecError

__all__ = [
    "COMPOUNDING",
    "Compounding",
    "YieldResult",
    "convexity",
    "macaulay_duration",
    "modified_duration",
    "price_from_yield",
    "wal",
    "yield_from_price",
]

log = logging.getLogger(__name__)

FloatArray: TypeAlias = NDArray[np.float64]
BoolArray: TypeAlias = NDArray[np.bool_]
IntArray: TypeAlias = NDArray[np.int64]
StrArray: TypeAlias = NDArray[np.str_]
_A = TypeVar("_A", bound=np.ndarray[Any, Any])

#: Compounding frequency: periods a year (1, 2, 3, 4, 6, 12; 0 continuous) or its name.
Compounding: TypeAlias = int | str

#: Accepted compounding names and the periods a year they mean (0: continuous).
COMPOUNDING: Mapping[str, int] = FrozenMap(
    {"annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12, "continuous": 0}
)
_FREQUENCIES = frozenset({*COMPOUNDING.values(), 3, 6})

#: Convergence tolerance on the solved rate: ``|step| <= TOL * max(1, |rate|)``.
TOL = 1e-12
_MAX_NEWTON = 50
_MAX_EXPAND = 60
_MAX_BISECT = 300

# Reasons a solve returns NaN (the ``reason`` array of a result).
NOT_FINITE = "price not finite"
ZERO_FLOWS = "all cash flows zero"
TIME_ZERO = "all cash flows at time 0"
NO_SIGN_CHANGE = "no sign change"
NO_CONVERGENCE = "did not converge"
ILL_CONDITIONED = "price insensitive to rate"


# --------------------------------------------------------------------------- inputs


def _frequency(compounding: Compounding) -> int:
    """Periods a year for a compounding given as a number or a name (0 = continuous).

    Names are case-insensitive; ``"semi-annual"`` is read as ``"semiannual"``.
    """
    if isinstance(compounding, str):
        key = compounding.strip().lower().replace("-", "")
        if key in COMPOUNDING:
            return COMPOUNDING[key]
    elif (
        isinstance(compounding, int | np.integer)
        and not isinstance(compounding, bool)
        and int(compounding) in _FREQUENCIES
    ):
        return int(compounding)
    raise SpecError(
        f"compounding must be 1, 2, 3, 4, 6 or 12 periods a year, 0 for continuous, or one of "
        f"{', '.join(repr(k) for k in COMPOUNDING)}; got {compounding!r}",
        "compounding",
    )


def _floats(x: ArrayLike, name: str) -> FloatArray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"must be numbers; could not read {x!r} ({exc})", name) from None


def _first_bad(mask: BoolArray) -> str:
    return str(tuple(int(i) for i in np.argwhere(mask)[0]))


def _flows(
    cashflows: ArrayLike, times: ArrayLike, name: str = "cashflows"
) -> tuple[FloatArray, FloatArray]:
    """Validate cash flows ``(..., T)`` and times (broadcastable, in years, >= 0)."""
    cf = _floats(cashflows, name)
    t = _floats(times, "times")
    if cf.ndim == 0:
        raise SpecError(
            f"{name} must have a time axis (the last axis, length T); got a scalar. "
            "Wrap a single flow in a list: [amount]",
            name,
        )
    if t.ndim == 0:
        t = t.reshape(1)
    try:
        shape = np.broadcast_shapes(cf.shape, t.shape)
    except ValueError:
        shape = ()
    if not shape or shape[-1] != cf.shape[-1]:
        raise SpecError(
            f"times of shape {t.shape} do not match {name} of shape {cf.shape}; "
            "give one time per flow, shape (T,) or broadcastable to (..., T)",
            "times",
        )
    bad = ~np.isfinite(cf)
    if bad.any():
        raise SpecError(
            f"{name} must be finite; element {_first_bad(bad)} is {cf[bad][0]!r}. "
            "Fix the projection that produced it (a missing value upstream?)",
            name,
        )
    bad_t = ~np.isfinite(t) | (t < 0)
    if bad_t.any():
        raise SpecError(
            f"times must be finite and >= 0 (years from settlement); element "
            f"{_first_bad(bad_t)} is {t[bad_t][0]!r}",
            "times",
        )
    return cf, t


def _lead_shape(
    cf: FloatArray, t: FloatArray, other: tuple[int, ...], name: str
) -> tuple[int, ...]:
    """Broadcast shape of the vectors (all axes but the last) and a per-vector argument."""
    try:
        return np.broadcast_shapes(cf.shape[:-1], t.shape[:-1], other)
    except ValueError:
        raise SpecError(
            f"{name} of shape {other} does not broadcast against cash flows of shape "
            f"{cf.shape} (one {name} per vector: shape {cf.shape[:-1]} or broadcastable)",
            name,
        ) from None


def _rows(a: FloatArray, lead: tuple[int, ...], n_time: int) -> FloatArray:
    """``a`` as a 2-D ``(N, T)`` array, or ``(1, T)`` when it is the same for every vector."""
    a = np.broadcast_to(a, (*a.shape[:-1], n_time))
    if all(d == 1 for d in a.shape[:-1]):
        return a.reshape(1, n_time)
    return np.broadcast_to(a, (*lead, n_time)).reshape(math.prod(lead), n_time)


def _readonly(a: _A) -> _A:
    a.setflags(write=False)
    return a


# ---------------------------------------------------------------------- discounting


def _discount(t: FloatArray, rate: FloatArray, m: int) -> FloatArray:
    """DF = (1 + rate/m)^(-m t), exp(-rate t) when ``m == 0``; NaN where rate <= -m."""
    with np.errstate(all="ignore"):
        if m == 0:
            return np.exp(-rate * t)
        x = rate / m
        df = np.exp(-m * t * np.log1p(x))
        return np.where(x > -1.0, df, np.nan)


def _moments(
    cashflows: ArrayLike, times: ArrayLike, y: ArrayLike, m: int, order: int
) -> list[FloatArray]:
    """``[P, sum t CF DF, second-moment sum][: order + 1]``, then ``1 + y/m`` (1 if continuous).

    The second moment is ``sum t (t + 1/m) CF DF`` (``sum t^2 CF DF`` when
    continuous).  Overflow (yields next to ``-m``) gives inf, not a warning.
    """
    cf, t = _flows(cashflows, times)
    yv = _floats(y, "y")
    _lead_shape(cf, t, yv.shape, "y")
    with np.errstate(all="ignore"):
        pv = cf * _discount(t, yv[..., None], m)
        sums = [pv.sum(axis=-1)]
        if order >= 1:
            sums.append((t * pv).sum(axis=-1))
        if order >= 2:
            sums.append((t * (t if m == 0 else t + 1.0 / m) * pv).sum(axis=-1))
        sums.append(np.ones_like(yv) if m == 0 else 1.0 + yv / m)
    return sums


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(all="ignore"):
        return np.where(den != 0.0, num / np.where(den != 0.0, den, 1.0), np.nan)


def price_from_yield(
    cashflows: ArrayLike, times: ArrayLike, y: ArrayLike, compounding: Compounding = 2
) -> FloatArray:
    r"""Present value of cash flows at a yield.

    .. math::

        P = \sum_k CF_k \left(1 + \frac{y}{m}\right)^{-m t_k}
        \qquad\left(P = \sum_k CF_k\, e^{-y t_k}\ \text{continuous}\right)

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows; leading axes are independent vectors.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years from settlement (>= 0).
    y : float or array_like
        Yield (decimal, 0.05 for 5%), one per vector or broadcastable to the
        leading shape.  NaN for ``y <= -m`` (discount factor undefined).
    compounding : int or str
        1, 2, 3, 4, 6, 12 (or ``"annual"``, ``"semiannual"``, ``"quarterly"``,
        ``"monthly"``), or 0 / ``"continuous"``.

    Returns
    -------
    numpy.ndarray
        Prices in the units of the cash flows, of the broadcast leading shape
        (0-d for one vector).

    Raises
    ------
    SpecError
        Unknown compounding, non-finite cash flows or times, negative times,
        or shapes that do not broadcast.

    Examples
    --------
    >>> round(float(price_from_yield([100.0], [2.0], 0.06, "annual")), 6)
    88.999644
    >>> price_from_yield([[100.0], [50.0]], [1.0], [0.0, 0.1], 0).round(4)
    array([100.    ,  45.2419])
    """
    return _moments(cashflows, times, y, _frequency(compounding), 0)[0]


def macaulay_duration(
    cashflows: ArrayLike, times: ArrayLike, y: ArrayLike, compounding: Compounding = 2
) -> FloatArray:
    r"""Macaulay duration: the present-value-weighted mean time of the flows, in years.

    .. math::

        D_{mac} = \frac{\sum_k t_k\, CF_k\, DF(t_k)}{P}, \qquad P = \sum_k CF_k\, DF(t_k)

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years (>= 0).
    y : float or array_like
        Yield, one per vector (broadcast).
    compounding : int or str
        As in :func:`price_from_yield`.

    Returns
    -------
    numpy.ndarray
        Duration in years; NaN where the price is zero.

    Examples
    --------
    >>> float(macaulay_duration([105.0], [7.5], 0.04))  # a single flow: its time
    7.5
    """
    price, first, _ = _moments(cashflows, times, y, _frequency(compounding), 1)
    return _ratio(first, price)


def modified_duration(
    cashflows: ArrayLike, times: ArrayLike, y: ArrayLike, compounding: Compounding = 2
) -> FloatArray:
    r"""Modified duration: the relative price sensitivity to the yield, in years.

    .. math::

        D_{mod} = -\frac{1}{P}\frac{\partial P}{\partial y}
                = \frac{D_{mac}}{1 + y/m}
        \qquad (D_{mod} = D_{mac}\ \text{continuous})

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years (>= 0).
    y : float or array_like
        Yield, one per vector (broadcast).
    compounding : int or str
        As in :func:`price_from_yield`.

    Returns
    -------
    numpy.ndarray
        Modified duration; NaN where the price is zero.

    Examples
    --------
    >>> round(float(modified_duration([100.0], [5.0], 0.08, "semiannual")), 10)
    4.8076923077
    """
    price, first, growth = _moments(cashflows, times, y, _frequency(compounding), 1)
    return _ratio(first, price * growth)


def convexity(
    cashflows: ArrayLike, times: ArrayLike, y: ArrayLike, compounding: Compounding = 2
) -> FloatArray:
    r"""Convexity: the second derivative of price in yield over price, in years squared.

    .. math::

        C = \frac{1}{P}\frac{\partial^2 P}{\partial y^2}
          = \frac{\sum_k t_k \left(t_k + \tfrac{1}{m}\right) CF_k\, DF(t_k)}
                 {P \left(1 + y/m\right)^2},
        \qquad C = \frac{\sum_k t_k^2\, CF_k\, DF(t_k)}{P}\ \text{(continuous)}

    so that :math:`\Delta P / P \approx -D_{mod}\,\Delta y + \tfrac12 C\,\Delta y^2`.

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years (>= 0).
    y : float or array_like
        Yield, one per vector (broadcast).
    compounding : int or str
        As in :func:`price_from_yield`.

    Returns
    -------
    numpy.ndarray
        Convexity; NaN where the price is zero.

    Examples
    --------
    >>> float(convexity([100.0], [2.0], 0.03, "continuous"))  # t^2 for one flow
    4.0
    >>> round(float(convexity([100.0], [2.0], 0.0, "annual")), 10)  # t (t + 1)
    6.0
    """
    price, _, second, growth = _moments(cashflows, times, y, _frequency(compounding), 2)
    return _ratio(second, price * growth * growth)


def wal(principal: ArrayLike, times: ArrayLike) -> FloatArray:
    r"""Weighted average life: the principal-weighted mean payment time, in years.

    .. math::

        \mathrm{WAL} = \frac{\sum_k t_k\, \mathit{Prin}_k}{\sum_k \mathit{Prin}_k}

    Only principal counts (not interest), undiscounted.  With a payment
    delay, pass the delayed times: the SIFMA Standard Formulas (1999,
    section G) measure average life to the payment dates.

    Parameters
    ----------
    principal : array_like, shape (..., T)
        Principal paid at each time (scheduled, prepaid, recovered).
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years (>= 0).

    Returns
    -------
    numpy.ndarray
        WAL in years; NaN for a vector that pays no principal.

    Examples
    --------
    >>> float(wal([25.0, 25.0, 50.0], [1.0, 2.0, 3.0]))
    2.25
    >>> wal([[0.0, 0.0], [1.0, 1.0]], [1.0, 2.0])
    array([nan, 1.5])
    """
    prin, t = _flows(principal, times, "principal")
    return _ratio((t * prin).sum(axis=-1), prin.sum(axis=-1))


# -------------------------------------------------------------------------- solving


@dataclass(frozen=True, eq=False)
class YieldResult:
    """Yields and solver diagnostics from ``yield_from_price(..., full_output=True)``.

    Every array has the leading (vector) shape of the input.

    Attributes
    ----------
    yield_ : numpy.ndarray of float64
        The yield; NaN where there is none.
    converged : numpy.ndarray of bool
        True where a yield was found to the tolerance (``|step| <= 1e-12 x
        max(1, |y|)``).
    iterations : numpy.ndarray of int64
        Price evaluations spent (Newton steps, then bracket expansion and
        bisection steps where Newton failed).
    reason : numpy.ndarray of str
        ``""`` where converged; otherwise why not: ``"price not finite"``,
        ``"all cash flows zero"``, ``"all cash flows at time 0"`` (the price
        does not depend on the yield), ``"no sign change"`` (no yield in the
        domain ``y > -m`` reproduces the price), ``"price insensitive to
        rate"`` (the price equation holds only to rounding over a wide range
        of yields, e.g. the price equals the time-0 flows, reached only as
        ``y -> inf``) or ``"did not converge"``.
    """

    yield_: FloatArray
    converged: BoolArray
    iterations: IntArray
    reason: StrArray


@dataclass(frozen=True)
class _Solved:
    rate: FloatArray
    converged: BoolArray
    iterations: IntArray
    reason: StrArray

    def reshaped(self, shape: tuple[int, ...]) -> _Solved:
        return _Solved(
            rate=_readonly(self.rate.reshape(shape)),
            converged=_readonly(self.converged.reshape(shape)),
            iterations=_readonly(self.iterations.reshape(shape)),
            reason=_readonly(self.reason.reshape(shape)),
        )


def _take(a: FloatArray, idx: IntArray) -> FloatArray:
    """Rows ``idx`` of a per-row ``(N, T)`` array; a shared ``(1, T)`` array as is."""
    return a if a.shape[0] == 1 else a[idx]


class _PriceEquation:
    """``g(x) = sum CF DF(x) - price`` and its slope, for rows of a flattened batch.

    ``DF_k(x) = (1 + (b_k + x)/m)^(-m t_k)`` (``exp(-(b_k + x) t_k)`` when
    continuous), where ``b`` is a base rate per flow (zero-curve rates for a
    spread; ``None`` for a yield, b = 0).
    """

    def __init__(
        self, cf: FloatArray, t: FloatArray, base: FloatArray | None, price: FloatArray, m: int
    ) -> None:
        self.cf, self.t, self.base, self.price, self.m = cf, t, base, price, m

    def lower_bound(self) -> FloatArray:
        """Edge of the domain in x per row (exclusive): every ``b + x > -m``; -inf if continuous."""
        n = self.cf.shape[0]
        if self.m == 0:
            return np.full(n, -np.inf)
        if self.base is None:
            return np.full(n, -float(self.m))
        return np.broadcast_to(-self.m - self.base.min(axis=1), (n,)).copy()

    def value(self, x: FloatArray, idx: IntArray) -> FloatArray:
        """``g(x)`` for rows ``idx`` (one ``x`` per row)."""
        return self._evaluate(x, idx, slope=False)[0]

    def value_and_slope(self, x: FloatArray, idx: IntArray) -> tuple[FloatArray, FloatArray]:
        """``g(x)`` and ``g'(x)`` for rows ``idx``."""
        g, dg, _ = self._evaluate(x, idx, slope=True)
        return g, dg

    def resolved(self, x: FloatArray, idx: IntArray) -> BoolArray:
        """Whether floating-point prices pin ``x`` down to the tolerance at rows ``idx``.

        True where moving ``x`` by the tolerance changes the price by more
        than the rounding noise of the sum: ``|g'(x)| TOL max(1, |x|) >
        eps (sum |CF DF| + |price|)``.  False where the price hardly
        depends on ``x`` (flows at time 0 dominate, or discount factors have
        underflowed), so a "root" there would be an artefact.
        """
        _, dg, pv = self._evaluate(x, idx, slope=True)
        price = self.price[idx]
        with np.errstate(all="ignore"):
            noise = np.finfo(np.float64).eps * (np.abs(pv).sum(axis=1) + np.abs(price))
            signal = np.abs(dg) * TOL * np.maximum(1.0, np.abs(x))
            ok: BoolArray = signal > noise
        return ok

    def _evaluate(
        self, x: FloatArray, idx: IntArray, *, slope: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``g``, ``g'`` (``g`` again unless ``slope``) and the discounted flows ``CF DF``."""
        every = idx.size == self.cf.shape[0]  # all rows: no gather copies
        cf = self.cf if every else self.cf[idx]
        price = self.price if every else self.price[idx]
        t = self.t if every else _take(self.t, idx)
        m = self.m
        with np.errstate(all="ignore"):
            if self.base is None:
                # One rate per row: ln DF = -k t with k = m ln(1 + x/m) (x if continuous).
                k = x if m == 0 else m * np.log1p(x / m)
                pv = cf * np.exp(-k[:, None] * t)
                g: FloatArray = pv.sum(axis=1) - price
                if not slope:
                    return g, g, pv
                first = _rowdot(pv, t)
                return g, (-first if m == 0 else -first / (1.0 + x / m)), pv
            base = self.base if every else _take(self.base, idx)
            rate = base + x[:, None]
            if m == 0:
                pv = cf * np.exp(-rate * t)
                weight = np.broadcast_to(t, pv.shape)
            else:
                growth = 1.0 + rate / m
                pv = cf * np.exp(-m * t * np.log(growth))
                weight = t / growth
            g = pv.sum(axis=1) - price
            if not slope:
                return g, g, pv
            return g, -_rowdot(pv, weight), pv


def _rowdot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise dot product of ``(N, T)`` with ``(N, T)`` or a shared ``(1, T)``."""
    if b.shape[0] == 1 and a.shape[0] != 1:
        out: FloatArray = a @ b[0]
    else:
        out = np.einsum("ij,ij->i", a, np.broadcast_to(b, a.shape))
    return out


def _done(step: FloatArray, x: FloatArray) -> BoolArray:
    """The convergence test: ``|step| <= TOL x max(1, |x|)``."""
    done: BoolArray = np.abs(step) <= TOL * np.maximum(1.0, np.abs(x))
    return done


def _solve(
    cf: FloatArray,
    t: FloatArray,
    base: FloatArray | None,
    price: FloatArray,
    m: int,
    guess: FloatArray,
    *,
    scan_offset: FloatArray | None = None,
    max_newton: int = _MAX_NEWTON,
) -> _Solved:
    """Solve ``sum CF DF(x) = price`` for x, row by row, vectorised over rows.

    1. Newton's method from ``guess`` for every row at once (the loop runs
       over iterations, never over rows); a step that would leave the domain
       halves the distance to its edge instead.
    2. Rows where Newton fails (non-finite step, zero slope, no convergence
       in ``max_newton`` steps) get a bracket: points expand around the
       guess by ``0.05 x 2^k`` each way (halving the distance to a finite
       domain edge) until the price error changes sign between neighbours.
    3. Rows still without a bracket whose flows change sign (the price error
       need not be monotone: two yields can hide between expansion points)
       scan continuous-equivalent rates :data:`_SCAN_RATES` (-500% to +500%,
       0.5% steps within +-100%, 2% beyond; shifted by ``scan_offset``).
    4. Bisection narrows every bracket to the tolerance.

    A row with no sign change anywhere gets NaN and ``"no sign change"``;
    every accepted root must pass :meth:`_PriceEquation.resolved`.
    """
    # inf and NaN are expected on the way (discount factors overflow far from
    # the root) and are handled as failed steps, so numpy need not warn.
    with np.errstate(all="ignore"):
        offset = np.zeros(cf.shape[0]) if scan_offset is None else scan_offset
        return _solve_rows(_PriceEquation(cf, t, base, price, m), guess, offset, max_newton)


def _solve_rows(
    eq: _PriceEquation, guess: FloatArray, offset: FloatArray, max_newton: int
) -> _Solved:
    cf, t, price = eq.cf, eq.t, eq.price
    n = cf.shape[0]
    lower = eq.lower_bound()
    x = np.full(n, np.nan)
    iterations = np.zeros(n, dtype=np.int64)
    reason = np.full(n, "", dtype="<U32")

    nonzero = cf != 0.0
    later = nonzero & (np.broadcast_to(t, cf.shape) > 0.0)
    reason[~later.any(axis=1)] = TIME_ZERO
    reason[~nonzero.any(axis=1)] = ZERO_FLOWS
    reason[~np.isfinite(price)] = NOT_FINITE
    todo = reason == ""

    finite_lower = np.isfinite(lower)
    start = np.where(np.isfinite(guess) & (guess > lower), guess, np.nan)
    start = np.where(np.isfinite(start), start, np.where(finite_lower, lower + 0.5, 0.05))
    start = np.maximum(start, np.where(finite_lower, lower + 1e-6, -np.inf))

    # 1. Newton, all rows at once
    x[todo] = start[todo]
    active = todo.copy()
    converged = np.zeros(n, dtype=bool)
    for _ in range(max_newton):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        xi = x[idx]
        g, dg = eq.value_and_slope(xi, idx)
        iterations[idx] += 1
        new = xi - g / dg
        exact = g == 0.0
        bad = ~exact & ~np.isfinite(new)
        below = ~bad & (new <= lower[idx])
        new = np.where(below, lower[idx] + 0.5 * (xi - lower[idx]), new)
        new = np.where(exact | bad, xi, new)
        ok = exact | (~bad & ~below & _done(new - xi, new))
        x[idx] = new
        converged[idx[ok]] = True
        active[idx[ok | bad]] = False

    # 2.-4. bracketed fallback
    rows = np.flatnonzero(todo & ~converged)
    if rows.size:
        log.debug("price equation: %d of %d vectors need the bracketed fallback", rows.size, n)
        bracket = _Bracket(eq, rows, iterations)
        bracket.expand(start[rows], lower[rows])
        # the price error is monotone when all flows after time 0 have one sign
        signs = np.sign(np.where(later[rows], cf[rows], 0.0))
        mixed = (signs.max(axis=1) > 0) & (signs.min(axis=1) < 0)
        bracket.scan(mixed, offset[rows], lower[rows])
        bracket.bisect()
        x[rows] = bracket.root
        converged[rows] = np.isfinite(bracket.root)
        reason[rows] = bracket.reason

    found = np.flatnonzero(converged)
    unresolved = found[~eq.resolved(x[found], found)]
    converged[unresolved] = False
    reason[unresolved] = ILL_CONDITIONED
    x[~converged] = np.nan
    return _Solved(x, converged, iterations, reason)


#: Continuous-equivalent rates scanned for a sign change when flows change sign:
#: every 0.5% from -100% to +100%, every 2% out to -500% and +500%.
_SCAN_RATES = _readonly(
    np.concatenate(
        [
            np.linspace(-5.0, -1.0, 201)[:-1],
            np.linspace(-1.0, 1.0, 401),
            np.linspace(1.0, 5.0, 201)[1:],
        ]
    )
)


class _Bracket:
    """Bracket search and bisection for the rows Newton could not solve.

    State per row (positions in ``rows``): the bracket ``[a, b]`` with
    ``sign(g(a)) = sa`` and ``g(b)`` of the other sign (NaN until found),
    the root (NaN until found) and the reason for failure.
    """

    def __init__(self, eq: _PriceEquation, rows: IntArray, iterations: IntArray) -> None:
        self.eq, self.rows, self.iterations = eq, rows, iterations
        k = rows.size
        self.a = np.full(k, np.nan)
        self.b = np.full(k, np.nan)
        self.sa = np.full(k, np.nan)
        self.root = np.full(k, np.nan)
        self.reason = np.full(k, "", dtype="<U32")

    def _searching(self) -> BoolArray:
        searching: BoolArray = np.isnan(self.a) & np.isnan(self.root)
        return searching

    def _value(self, x: FloatArray, idx: IntArray) -> FloatArray:
        self.iterations[self.rows[idx]] += 1
        return np.sign(self.eq.value(x, self.rows[idx]))

    def _step(
        self,
        idx: IntArray,
        prev: FloatArray,
        s_prev: FloatArray,
        new: FloatArray,
        s_new: FloatArray,
    ) -> None:
        """Record roots and sign changes between ``prev`` and ``new``; advance ``prev``."""
        hit = s_new == 0.0
        self.root[idx[hit]] = new[hit]
        flip = ~hit & (s_new * s_prev[idx] < 0.0)
        j = idx[flip]
        self.a[j], self.sa[j], self.b[j] = prev[j], s_prev[j], new[flip]
        keep = ~np.isnan(s_new)
        prev[idx[keep]] = new[keep]
        s_prev[idx[keep]] = s_new[keep]

    def expand(self, x0: FloatArray, low: FloatArray) -> None:
        """Points ``x0 +- 0.05 x 2^k`` (towards a finite ``low``, at least half way left)."""
        s0 = self._value(x0, np.arange(x0.size))
        self.root[s0 == 0.0] = x0[s0 == 0.0]
        lo, hi, s_lo, s_hi = x0.copy(), x0.copy(), s0.copy(), s0.copy()
        finite = np.isfinite(low)
        for k in range(_MAX_EXPAND):
            idx = np.flatnonzero(self._searching())
            if idx.size == 0:
                return
            width = 0.05 * 2.0**k
            edge = low[idx] + (x0[idx] - low[idx]) * 2.0 ** -(k + 1)
            new_lo = np.where(finite[idx], np.maximum(x0[idx] - width, edge), x0[idx] - width)
            new_hi = x0[idx] + width
            self._step(idx, hi, s_hi, new_hi, self._value(new_hi, idx))
            still = self._searching()[idx]
            idx, new_lo = idx[still], new_lo[still]
            self._step(idx, lo, s_lo, new_lo, self._value(new_lo, idx))
        self.reason[self._searching()] = NO_SIGN_CHANGE

    def scan(self, mixed: BoolArray, offset: FloatArray, low: FloatArray) -> None:
        """Scan :data:`_SCAN_RATES` (+ ``offset``): unbracketed rows whose flows are ``mixed``."""
        m = self.eq.m
        grid = _SCAN_RATES if m == 0 else m * np.expm1(_SCAN_RATES / m)
        prev = np.full(self.a.size, np.nan)
        s_prev = np.full(self.a.size, np.nan)
        for rate in grid:
            idx = np.flatnonzero(self._searching() & mixed)
            if idx.size == 0:
                break
            new = rate + offset[idx]
            inside = new > low[idx]
            signs = np.where(inside, self._value(new, idx), np.nan)
            self._step(idx, prev, s_prev, new, signs)
        found = ~np.isnan(self.a) | ~np.isnan(self.root)
        self.reason[found] = ""

    def bisect(self) -> None:
        """Halve every bracket until ``|b - a| <= TOL x max(1, |midpoint|)``."""
        live = ~np.isnan(self.a) & np.isnan(self.root)
        for _ in range(_MAX_BISECT):
            idx = np.flatnonzero(live)
            if idx.size == 0:
                break
            a, b = self.a[idx], self.b[idx]
            mid = 0.5 * (a + b)
            sg = self._value(mid, idx)
            same = sg == self.sa[idx]
            a = np.where(same, mid, a)
            b = np.where(same, b, mid)
            self.a[idx], self.b[idx] = a, b
            finished = (sg == 0.0) | _done(b - a, mid)
            j = idx[finished]
            self.root[j] = np.where(sg[finished] == 0.0, mid[finished], 0.5 * (a + b)[finished])
            live[j] = False
        self.reason[live] = NO_CONVERGENCE


def _yield_guess(cf: FloatArray, t: FloatArray, price: FloatArray, m: int) -> FloatArray:
    """Starting yield: the rate that discounts the flows' sum over their mean time to the price.

    With ``A = sum_{t>0} CF``, ``B = price - sum_{t=0} CF`` and
    ``D = sum t CF / A`` the continuous rate is ``r0 = ln(A / B) / D``
    (exact for a single flow), converted to compounding ``m``.
    """
    later = (t > 0.0).astype(np.float64)
    with np.errstate(all="ignore"):
        amount = _rowdot(cf, later)
        net_price = price - (cf.sum(axis=1) - amount)
        mean_time = _rowdot(cf, t) / amount
        r0 = np.log(amount / net_price) / mean_time
        r0 = np.where(np.isfinite(r0), r0, np.log1p(0.05))
        r0 = np.clip(r0, -5.0, 50.0)
        guess: FloatArray = r0 if m == 0 else m * np.expm1(r0 / m)
    return guess


def _result_arrays(
    cashflows: ArrayLike, times: ArrayLike, price: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, tuple[int, ...]]:
    cf, t = _flows(cashflows, times)
    p = _floats(price, "price")
    lead = _lead_shape(cf, t, p.shape, "price")
    n_time = cf.shape[-1]
    cf2 = np.broadcast_to(cf, (*lead, n_time)).reshape(math.prod(lead), n_time)
    t2 = _rows(t, lead, n_time)
    p2 = np.broadcast_to(p, lead).reshape(-1)
    return cf2, t2, p2, lead


@overload
def yield_from_price(
    cashflows: ArrayLike,
    times: ArrayLike,
    price: ArrayLike,
    compounding: Compounding = ...,
    *,
    full_output: Literal[False] = ...,
) -> FloatArray: ...
@overload
def yield_from_price(
    cashflows: ArrayLike,
    times: ArrayLike,
    price: ArrayLike,
    compounding: Compounding = ...,
    *,
    full_output: Literal[True],
) -> YieldResult: ...
def yield_from_price(
    cashflows: ArrayLike,
    times: ArrayLike,
    price: ArrayLike,
    compounding: Compounding = 2,
    *,
    full_output: bool = False,
) -> FloatArray | YieldResult:
    r"""Yield that discounts the cash flows to the price, for many vectors at once.

    Solves for :math:`y > -m` (any :math:`y` when continuous)

    .. math::

        \sum_k CF_k \left(1 + \frac{y}{m}\right)^{-m t_k} = P .

    Newton's method runs on every vector at once from the guess
    :math:`y_0` equivalent to the continuous rate
    :math:`\ln(A/B)/D` (:math:`A` the flows after time 0, :math:`B` the
    price net of time-0 flows, :math:`D` the flows' mean time), exact for a
    single flow.  Steps that would leave the domain halve the distance to
    its edge instead.  Vectors where Newton fails fall back to a bracket
    expanded around the guess until the price error changes sign (and, for
    flows that change sign, a scan of continuous-equivalent rates from
    -500% to +500%), then bisection.  Convergence: ``|step| <= 1e-12 x
    max(1, |y|)``.  A root is accepted only where the price resolves the
    yield to that tolerance (``|dP/dy| x 1e-12 x max(1, |y|)`` above the
    rounding noise of the price sum), so flat regions where discount
    factors underflow never pass for a solution.

    Positive flows give a price decreasing in the yield from :math:`+\infty`
    (as :math:`y \to -m`) to the time-0 flows (as :math:`y \to \infty`), so
    a yield exists, and is unique, for every price above the time-0 flows.
    Flows that change sign may have several yields (or none); the one
    returned is the one reached from the guess, and two yields closer
    together than the scan step (0.5% within +-100%) can be missed, giving
    NaN with ``"no sign change"``.

    Parameters
    ----------
    cashflows : array_like, shape (..., T)
        Cash flows; leading axes are independent vectors.
    times : array_like, shape (T,) or broadcastable to (..., T)
        Payment times in years from settlement (>= 0).
    price : float or array_like
        Price of each vector in the units of the cash flows (full price,
        including accrued interest), broadcast against the leading shape.
    compounding : int or str
        1, 2, 3, 4, 6, 12 (or ``"annual"``, ``"semiannual"``, ``"quarterly"``,
        ``"monthly"``), or 0 / ``"continuous"``.
    full_output : bool
        Return a :class:`YieldResult` with solver diagnostics instead of the
        yields alone.

    Returns
    -------
    numpy.ndarray or YieldResult
        Yields (decimal) of the broadcast leading shape, 0-d for one vector.
        NaN where no yield exists -- never an exception, never a wrong
        number; ``full_output=True`` says why in ``reason``.

    Raises
    ------
    SpecError
        Unknown compounding, non-finite cash flows or times, negative times,
        or shapes that do not broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1, 13) / 12
    >>> loan = np.full(12, 100 * 0.01 / (1 - 1.01**-12))  # 12% level annuity
    >>> round(float(yield_from_price(loan, t, 100.0, "monthly")), 12)
    0.12
    >>> res = yield_from_price([[0.0, 0.0], [1.0, 1.0]], [1, 2], 1.9, 1, full_output=True)
    >>> res.yield_.round(6), res.reason.tolist()
    (array([     nan, 0.034888]), ['all cash flows zero', ''])
    """
    m = _frequency(compounding)
    cf, t, p, lead = _result_arrays(cashflows, times, price)
    solved = _solve(cf, t, None, p, m, _yield_guess(cf, t, p, m)).reshaped(lead)
    if full_output:
        return YieldResult(solved.rate, solved.converged, solved.iterations, solved.reason)
    return solved.rate
