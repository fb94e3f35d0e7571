r"""Estimators of default, prepayment, recovery and roll rates from a static-pool history.

Every estimator is a sum over rows grouped with ``numpy.bincount`` (no Python
loop over loans); the grouping key is (grade, age) for the curves, (grade,
vintage, age) for the static-pool tables and the loan for recoveries.

Default and prepayment curves
-----------------------------
The projection engine (``abs_engine.projection.engine``; SIFMA Standard
Formulas, 1999, section C.3) runs, for performing balance :math:`P` at the
start of month :math:`a` (loan age), contractual amortisation fraction
:math:`f`, monthly default rate :math:`d` and single monthly mortality
:math:`s`:

.. math::

    D = d P, \qquad SP = f (P - D), \qquad PP = s (P - f P).

So for the rows of one grade at one age (receivable :math:`i`, begin
balance :math:`P_i`) the balance-weighted ratio estimators

.. math::

    \hat d_a = \frac{\sum_i D_i}{\sum_i P_i}, \qquad
    \hat s_a = \frac{\sum_i PP_i}{\sum_i X_i}, \qquad X_i = P_i - f_i P_i

are consistent (their numerators and denominators have the same
expectation up to the rate).  The prepayment base :math:`X_i` needs the
contractual amortisation :math:`f_i P_i` of the *whole* start balance (the
SIFMA base excludes it), while a row only shows the scheduled principal
actually paid, :math:`SP_i = f_i (P_i - D_i)`:

* a row that did not default in full reveals it:
  :math:`f_i P_i = SP_i P_i / (P_i - D_i)` (:math:`= SP_i` without default);
* a row that defaulted in full pays nothing and reveals nothing; it takes
  the balance-weighted amortisation fraction of the other rows of its
  (grade, age) cell, :math:`\bar f = \sum_{obs} f_i P_i / \sum_{obs} P_i`.

With whole-balance defaults this gives exactly
:math:`\sum_i f_i P_i = \sum_i SP_i / (1 - \hat d_a)`, the aggregate form
``fP = SP / (1 - d)`` of the engine's equations.

``exposure`` is :math:`\sum_i P_i`, the begin balance at that age.
The imputed :math:`\bar f` is treated as known in the standard errors
(its own variance enters at second order).

Standard errors are the linearised (delta-method, "sandwich") standard
errors of a ratio of sums over independent receivables,

.. math::

    \widehat{\mathrm{se}}(\hat r)^2 = \frac{n}{n-1}
        \frac{\sum_i (Y_i - \tilde r X_i)^2}{\left(\sum_i X_i\right)^2},

evaluated at the *smoothed* rate :math:`\tilde r` (the score form): at
the raw rate the standard error would be zero at an age without a default
and too small at ages with few.  For whole-balance Bernoulli defaults it is
:math:`\sqrt{\tilde d (1 - \tilde d) \sum P_i^2} / \sum P_i`, the binomial
standard error with :math:`(\sum P_i)^2 / \sum P_i^2` effective receivables.

Smoothing
---------
``kernel`` (default): exposure-weighted Gaussian kernel smoothing of the
ratio (Nadaraya-Watson on the sums, so each age weighs by its exposure),

.. math::

    \tilde r_a = \frac{\sum_b K_h(a - b)\, Y_b}{\sum_b K_h(a - b)\, X_b},
    \qquad K_h(u) = e^{-u^2 / 2h^2},

with bandwidth :math:`h` = ``bandwidth`` months at ages whose exposure
reaches ``min_exposure``; at sparser ages :math:`h` widens (by factors of
1.5) until the kernel-weighted exposure :math:`\sum_b K_h(a-b) E_b` reaches
``min_exposure`` — sparse ages are pooled with their neighbours.
``none``: the raw rate at ages with enough exposure; sparser ages hold the
value of the nearest younger such age (the oldest one for the youngest ages).
Beyond the last age with exposure the curve holds its last value.

Recoveries
----------
Recovery rate per grade :math:`\rho = \sum_i R_i / \sum_i D_i` over
defaulted receivables (severity :math:`1 - \rho`), and lag
:math:`\bar L = \sum_{i,t} R_{it} (t - a_i) / \sum_{i,t} R_{it}`, the
recovery-weighted months from the default (age :math:`a_i`) to each
recovery; the engine uses one lag, :math:`\bar L` rounded.  Both are ratios
of per-receivable sums, so their standard errors are the same delta-method
form with the receivable as the unit (recoveries of one loan are
correlated, different loans independent).  Recent defaults have not had
time to recover: only defaults at least :math:`L_{99}` months before the
history's last calendar month count, :math:`L_{99}` being the
recovery-weighted 99th percentile of observed lags (when vintages are
months; otherwise all defaults count).

Roll rates
----------
Month-to-month transitions of each receivable between the states current,
1-30, 31-60, 61-90 days past due and default (a default in the month, or
more than 90 days past due), weighted by the balance carried into the
month (the later row's begin balance); a loan's first month counts as a
transition from current.  Rows sum to 1; the standard error of an entry
is binomial with the row's effective count,
:math:`\sqrt{p (1 - p) \sum w^2} / \sum w`.  A state never observed rolls
on to the next one with certainty.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine.calibrate.history import History
from abs_engine.curves.assumptions import DELINQUENCY_STATES, RollRates
from abs_engine.errors import SpecError

__all__ = [
    "CalibrationSettings",
    "CellSums",
    "Smoothing",
    "cell_sums",
    "hazard_curves",
    "recovery_estimates",
    "roll_rate_estimates",
    "smooth_rates",
    "static_pool",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Smoothing = Literal["kernel", "none"]

#: Automatic ``min_exposure``: the exposure expected to carry this many defaults.
AUTO_EVENTS = 20.0
#: Share of observed recoveries (by amount) whose lag marks a default as "old enough".
RECOVERY_WINDOW_QUANTILE = 0.99
_WIDEN = 1.5
#: Prepayment bases below this share of the exposure are rounding noise (loans at maturity).
_BASE_TOL = 1e-9
_MAX_WIDEN_STEPS = 40


@dataclass(frozen=True)
class CalibrationSettings:
    """Settings of a calibration (see :func:`abs_engine.calibrate.calibrate`).

    Parameters
    ----------
    min_exposure : float or None
        Begin balance an age needs for its own estimate to stand; sparser
        ages take the smoothed (pooled) value.  ``None`` chooses it per
        grade: the exposure expected to carry 20 defaults at the grade's
        average default rate, ``20 x (average begin balance) / pooled MDR``.
    smoothing : {"kernel", "none"}
        Curve smoothing (module docstring).
    bandwidth : float
        Gaussian kernel bandwidth in months at well-populated ages (0: no
        smoothing there).
    include_roll_rates : bool
        Put each grade's roll-rate matrix into the assumptions.  The curve
        model is the base: with roll rates the engine takes defaults from
        the delinquency pipeline and ignores the default curve.
    """

    min_exposure: float | None = None
    smoothing: Smoothing = "kernel"
    bandwidth: float = 1.0
    include_roll_rates: bool = False

    def __post_init__(self) -> None:
        me = self.min_exposure
        if me is not None:
            if isinstance(me, bool) or not isinstance(me, (int, float)) or not math.isfinite(me):
                raise SpecError(f"expected a number >= 0 or None; got {me!r}", "min_exposure")
            if me < 0:
                raise SpecError(f"must be >= 0 (a begin balance); got {me!r}", "min_exposure")
            object.__setattr__(self, "min_exposure", float(me))
        if self.smoothing not in ("kernel", "none"):
            raise SpecError(
                f"unknown smoothing {self.smoothing!r}; use 'kernel' or 'none'", "smoothing"
            )
        bw = self.bandwidth
        if isinstance(bw, bool) or not isinstance(bw, (int, float)) or not 0 <= bw < 1e6:
            raise SpecError(f"must be a number of months >= 0; got {bw!r}", "bandwidth")
        object.__setattr__(self, "bandwidth", float(bw))
        if not isinstance(self.include_roll_rates, bool):
            raise SpecError("expected true or false", "include_roll_rates")


def _threads() -> int:
    """Worker threads for whole-history passes (at most 2: memory bandwidth bound)."""
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True, eq=False)
class CellSums:
    """Sums over the rows of each (grade, vintage, age) cell, arrays shaped ``(G, V, A)``.

    Computed in one sweep over the history (:func:`cell_sums`); the curves
    sum them over vintages, the static-pool tables use them as they are.
    Names: ``P`` begin balance, ``SP`` scheduled principal, ``D`` default,
    ``PP`` prepayment, ``fP`` revealed contractual amortisation of rows
    not defaulting in full, ``Pfull`` begin balance of rows defaulting in
    full, ``X`` a row's prepayment base ``P - fP`` (module docstring).
    """

    loans: F64  # rows with P > 0
    P: F64
    P2: F64
    SP: F64
    resid2: F64  # sum (P - SP)^2 over all rows
    D: F64
    D2: F64
    DP: F64
    SP_def: F64  # sum SP over rows with a default
    amort_partial: F64  # sum fP over rows defaulting in part
    Pfull: F64
    Pfull2: F64
    resid2_def: F64  # sum (P - SP)^2 over rows with a default
    X2_partial: F64  # sum (P - fP)^2 over rows defaulting in part
    PP: F64
    PP2: F64
    PPX: F64
    R: F64  # recoveries


def cell_sums(history: History) -> CellSums:
    """All the sums the estimators need, in one sweep (a few ``bincount`` passes)."""
    h = history
    G, V, A = len(h.grades), len(h.vintages), max(h.max_age, 1)
    shape = (G, V, A)
    size = G * V * A
    n = h.n_rows
    P, SP = h.begin_balance, h.scheduled_principal
    key = np.empty(n, dtype=np.int64)

    def build(part: slice) -> None:
        k = key[part]
        np.multiply(h.grade[part], V, out=k, dtype=np.int64)
        k += h.vintage[part]
        k *= A
        k += h.age[part]
        k -= 1

    def full(w: F64 | None) -> F64:
        out = np.bincount(key, weights=w, minlength=size)
        return np.asarray(out, np.float64).reshape(shape)

    def sub(idx: I64, w: F64) -> F64:
        out = np.bincount(key[idx], weights=w, minlength=size)
        return np.asarray(out, np.float64).reshape(shape)

    def loans() -> F64:  # rows with a balance: all rows less the (few) without one
        empty = np.flatnonzero(P <= 0)
        return full(None) - sub(empty, np.ones(empty.size))

    def squares() -> F64:
        return full(P * P)

    def resid2() -> F64:
        r = P - SP
        r *= r
        return full(r)

    # Whole-history passes: two threads (bincount and ufuncs release the GIL).
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        list(pool.map(build, [slice(0, n // 2), slice(n // 2, n)]))
        futures = [
            pool.submit(f) for f in (resid2, squares, loans, lambda: full(P), lambda: full(SP))
        ]
        r2, p2, n_loans, expo, sp = (f.result() for f in futures)

    di = np.flatnonzero(h.defaulted_amount > 0)
    D, Pd, SPd = h.defaulted_amount[di], P[di], SP[di]
    whole = Pd <= D
    left = np.where(whole, 1.0, Pd - D)
    fPd = np.where(whole, 0.0, SPd * Pd / left)
    Pfull = np.where(whole, Pd, 0.0)

    pi = np.flatnonzero(h.prepaid_amount > 0)
    PP, Pp, SPp, Dp = h.prepaid_amount[pi], P[pi], SP[pi], h.defaulted_amount[pi]
    rem = Pp - Dp
    fPp = np.where(rem > 0, SPp * Pp / np.where(rem > 0, rem, 1.0), SPp)
    ri = np.flatnonzero(h.recovered_amount > 0)
    return CellSums(
        loans=n_loans,
        P=expo,
        P2=p2,
        SP=sp,
        resid2=r2,
        D=sub(di, D),
        D2=sub(di, D * D),
        DP=sub(di, D * Pd),
        SP_def=sub(di, SPd),
        amort_partial=sub(di, fPd),
        Pfull=sub(di, Pfull),
        Pfull2=sub(di, Pfull * Pfull),
        resid2_def=sub(di, (Pd - SPd) ** 2),
        X2_partial=sub(di, np.where(whole, 0.0, (Pd - fPd) ** 2)),
        PP=sub(pi, PP),
        PP2=sub(pi, PP * PP),
        PPX=sub(pi, PP * (Pp - fPp)),
        R=sub(ri, h.recovered_amount[ri]),
    )


# --- smoothing -------------------------------------------------------------------------------


def _fill_held(values: F64) -> F64:
    """Replace NaN by the previous finite value (the first finite one at the start)."""
    out = values.copy()
    ok = np.isfinite(out)
    if not ok.any():
        return np.zeros_like(out)
    idx = np.where(ok, np.arange(out.size), -1)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.flatnonzero(ok)[0])
    idx[idx < 0] = first
    return out[idx]


def smooth_rates(
    num: F64,
    den: F64,
    exposure: F64,
    min_exposure: float,
    *,
    method: Smoothing = "kernel",
    bandwidth: float = 1.0,
) -> F64:
    """Smoothed ratio ``num / den`` by age (index 0 = age 1) for one grade.

    Parameters
    ----------
    num, den : ndarray
        Sums by age of the event amounts (defaults, prepayments) and of
        their base (begin balance, prepayment base).
    exposure : ndarray
        Begin balance by age; ages below ``min_exposure`` are pooled.
    min_exposure : float
    method : {"kernel", "none"}
    bandwidth : float
        Kernel bandwidth in months at well-populated ages.

    Returns
    -------
    ndarray
        Smoothed monthly rates in [0, 1], same length; ages after the last
        with exposure hold the last value.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    exposure = np.asarray(exposure, dtype=np.float64)
    n_age = num.size
    seen = np.flatnonzero(exposure > 0)
    if seen.size == 0 or den.sum() <= 0:
        return np.zeros(n_age)
    last = int(seen[-1]) + 1
    y, x, e = num[:last], den[:last], exposure[:last]
    reliable = (e >= min_exposure) & (x > 0)
    if method == "none":
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.where(reliable, y / np.where(x > 0, x, 1.0), np.nan)
        if not reliable.any():
            raw = np.full(last, y.sum() / x.sum())
        out = _fill_held(raw)
    else:
        ages = np.arange(last, dtype=np.float64)
        dist2 = (ages[:, None] - ages[None, :]) ** 2
        h = np.where(reliable, bandwidth, max(bandwidth, 0.5))
        done = reliable.copy()
        chosen = np.where(reliable, bandwidth, np.nan)
        for _ in range(_MAX_WIDEN_STEPS):
            todo = np.flatnonzero(~done)
            if todo.size == 0:
                break
            k = _kernel(dist2[todo], h[todo])
            enough = k @ e >= min_exposure
            chosen[todo[enough]] = h[todo[enough]]
            done[todo[enough]] = True
            h[todo[~enough]] *= _WIDEN
        chosen = np.where(np.isnan(chosen), h, chosen)  # never enough: the widest (pooled)
        k = _kernel(dist2, chosen)
        kx = k @ x
        with np.errstate(invalid="ignore", divide="ignore"):
            out = _fill_held(np.where(kx > 0, (k @ y) / np.where(kx > 0, kx, 1.0), np.nan))
    full = np.empty(n_age)
    full[:last] = np.clip(out, 0.0, 1.0)
    full[last:] = full[last - 1]
    return full


def _kernel(dist2: F64, h: F64) -> F64:
    """Gaussian weights ``exp(-d^2 / 2h^2)`` row by row (``h = 0``: the age alone)."""
    hh = np.asarray(h, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.exp(-dist2 / (2.0 * np.where(hh > 0, hh, 1.0) ** 2))
    return np.where(hh > 0, k, (dist2 == 0).astype(np.float64))


# --- default and prepayment curves ---------------------------------------------------------


def _auto_min_exposure(expo: F64, loans: F64, defaults: F64, prepaid: F64, base: F64) -> float:
    total = expo.sum()
    if total <= 0:
        return 0.0
    avg_balance = total / max(loans.sum(), 1.0)
    rate = defaults.sum() / total
    if rate <= 0 and base.sum() > 0:
        rate = prepaid.sum() / base.sum()
    if rate <= 0:
        return 0.01 * float(expo.max())
    return float(AUTO_EVENTS * avg_balance / rate)


def hazard_curves(
    history: History, settings: CalibrationSettings, sums: CellSums | None = None
) -> pd.DataFrame:
    """Monthly default (MDR) and prepayment (SMM) rates by grade and age.

    Parameters
    ----------
    history : History
    settings : CalibrationSettings
    sums : CellSums, optional
        Precomputed :func:`cell_sums` of ``history``.

    Returns
    -------
    pandas.DataFrame
        One row per grade and age from 1 to the grade's oldest age with
        exposure: ``grade, age, loans, exposure, defaulted_amount, mdr,
        mdr_se, prepaid_amount, prepay_base, smm, smm_se, min_exposure,
        reliable, mdr_smooth, smm_smooth`` (module docstring for the
        definitions).  ``reliable`` marks ages with at least
        ``min_exposure``; the others take the smoothed value.
    """
    h = history
    c = sums if sums is not None else cell_sums(h)

    def by_age(a: F64) -> F64:
        return np.asarray(a.sum(axis=1), dtype=np.float64)  # (G, A)

    loans, expo, P2 = by_age(c.loans), by_age(c.P), by_age(c.P2)
    d_sum, d2, dp = by_age(c.D), by_age(c.D2), by_age(c.DP)
    v, v2 = by_age(c.Pfull), by_age(c.Pfull2)
    # Revealed amortisation: rows without a default (SP = fP) and rows defaulting in part.
    fp_obs = by_age(c.SP) - by_age(c.SP_def) + by_age(c.amort_partial)
    p_obs = expo - v
    with np.errstate(invalid="ignore", divide="ignore"):
        fbar = np.where(p_obs > 0, fp_obs / np.where(p_obs > 0, p_obs, 1.0), 0.0)
    u_sum = p_obs - fp_obs
    u2 = by_age(c.resid2) - by_age(c.resid2_def) + by_age(c.X2_partial)
    base = u_sum + (1.0 - fbar) * v
    # At maturity the whole balance is scheduled: the base is zero up to rounding.
    base = np.where(base > _BASE_TOL * expo, base, 0.0)
    base2 = np.where(base > 0, np.maximum(u2 + (1.0 - fbar) ** 2 * v2, 0.0), 0.0)
    pp_sum, pp2, ppx = by_age(c.PP), by_age(c.PP2), by_age(c.PPX)

    with np.errstate(invalid="ignore", divide="ignore"):
        mdr = np.where(expo > 0, d_sum / np.where(expo > 0, expo, 1.0), np.nan)
        smm = np.where(base > 0, pp_sum / np.where(base > 0, base, 1.0), np.nan)

    frames = []
    for g, name in enumerate(h.grades):
        seen = np.flatnonzero(expo[g] > 0)
        if seen.size == 0:
            continue
        last = int(seen[-1]) + 1
        if settings.min_exposure is None:
            me = _auto_min_exposure(expo[g], loans[g], d_sum[g], pp_sum[g], base[g])
        else:
            me = settings.min_exposure
        mdr_s = smooth_rates(
            d_sum[g], expo[g], expo[g], me, method=settings.smoothing, bandwidth=settings.bandwidth
        )
        smm_s = smooth_rates(
            pp_sum[g], base[g], expo[g], me, method=settings.smoothing, bandwidth=settings.bandwidth
        )
        smm_s = np.minimum(smm_s, 1.0 - mdr_s)  # the engine's cap
        n = loans[g]
        corr = np.where(n > 1, n / np.maximum(n - 1, 1), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            var_d = (d2[g] - 2 * mdr_s * dp[g] + mdr_s**2 * P2[g]) / expo[g] ** 2 * corr
            var_s = np.where(
                base[g] > 0,
                (pp2[g] - 2 * smm_s * ppx[g] + smm_s**2 * base2[g]) / base[g] ** 2 * corr,
                np.nan,
            )
        sl = slice(0, last)
        frames.append(
            pd.DataFrame(
                {
                    "grade": name,
                    "age": np.arange(1, last + 1),
                    "loans": n[sl].astype(np.int64),
                    "exposure": expo[g, sl],
                    "defaulted_amount": d_sum[g, sl],
                    "mdr": mdr[g, sl],
                    "mdr_se": np.sqrt(np.maximum(var_d[sl], 0.0)),
                    "prepaid_amount": pp_sum[g, sl],
                    "prepay_base": base[g, sl],
                    "smm": smm[g, sl],
                    "smm_se": np.sqrt(np.maximum(var_s[sl], 0.0)),
                    "min_exposure": me,
                    "reliable": expo[g, sl] >= me,
                    "mdr_smooth": mdr_s[sl],
                    "smm_smooth": smm_s[sl],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["grade"] = pd.Categorical(out["grade"], categories=list(h.grades))
    return out


# --- recoveries ------------------------------------------------------------------------------


def _weighted_quantile(values: F64, weights: F64, q: float) -> float:
    if values.size == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    pos = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(values[order][min(pos, values.size - 1)])


def recovery_estimates(history: History) -> pd.DataFrame:
    """Recovery rate and lag per grade, with delta-method standard errors.

    Returns
    -------
    pandas.DataFrame
        One row per grade: ``grade, defaults`` (defaulted receivables),
        ``defaults_used`` (those old enough to have recovered),
        ``window`` (months a default needs, :math:`L_{99}`),
        ``defaulted_amount, recovered_amount`` (of those used),
        ``recovery_rate, recovery_rate_se, severity, lag_mean, lag_mean_se,
        recovery_lag`` (whole months, for the engine).
    """
    h = history
    n_loans = h.n_loans
    loan_grade = h.loan_grade
    da = h.default_age.astype(np.int64)
    di = np.flatnonzero(h.defaulted_amount > 0)
    d_loan = np.bincount(h.loan_of(di), weights=h.defaulted_amount[di], minlength=n_loans)
    ri = np.flatnonzero(h.recovered_amount > 0)
    r_of = h.loan_of(ri)
    r_amt = h.recovered_amount[ri]
    r_lag = (h.age[ri].astype(np.int64) - da[r_of]).astype(np.float64)
    r_loan = np.bincount(r_of, weights=r_amt, minlength=n_loans)
    u_loan = np.bincount(r_of, weights=r_amt * r_lag, minlength=n_loans)
    r_grade = loan_grade[r_of]

    defaulted = np.flatnonzero(da > 0)
    if h.vintage_month is not None and defaulted.size:
        cal0 = h.vintage_month[h.loan_vintage].astype(np.int64)
        last_age = h.age[h.loan_start[1:] - 1].astype(np.int64)
        end = int((cal0 + last_age).max())
        room = (end - (cal0 + da))[defaulted]
    else:
        room = np.full(defaulted.size, np.iinfo(np.int64).max)

    rows = []
    for g, name in enumerate(h.grades):
        in_g = loan_grade[defaulted] == g
        window = _weighted_quantile(
            r_lag[r_grade == g], r_amt[r_grade == g], RECOVERY_WINDOW_QUANTILE
        )
        used = defaulted[in_g & (room >= window)]
        if used.size == 0:  # every default is recent: use them all, knowing it is low
            used = defaulted[in_g]
        D, R, U = d_loan[used], r_loan[used], u_loan[used]
        n = used.size
        corr = n / (n - 1) if n > 1 else float("nan")
        d_tot, r_tot = float(D.sum()), float(R.sum())
        rate = r_tot / d_tot if d_tot > 0 else float("nan")
        rate_se = (
            math.sqrt(max(float(((R - rate * D) ** 2).sum()), 0.0) * corr) / d_tot
            if d_tot > 0 and n > 1
            else float("nan")
        )
        lag = float(U.sum()) / r_tot if r_tot > 0 else float("nan")
        lag_se = (
            math.sqrt(max(float(((U - lag * R) ** 2).sum()), 0.0) * corr) / r_tot
            if r_tot > 0 and n > 1
            else float("nan")
        )
        rows.append(
            {
                "grade": name,
                "defaults": int(in_g.sum()),
                "defaults_used": int(n),
                "window": int(window),
                "defaulted_amount": d_tot,
                "recovered_amount": r_tot,
                "recovery_rate": rate,
                "recovery_rate_se": rate_se,
                "severity": float(np.clip(1.0 - rate, 0.0, 1.0)) if d_tot > 0 else 1.0,
                "lag_mean": lag,
                "lag_mean_se": lag_se,
                "recovery_lag": math.floor(lag + 0.5) if r_tot > 0 else 0,
            }
        )
    return pd.DataFrame(rows)


# --- roll rates ------------------------------------------------------------------------------


def roll_rate_estimates(
    history: History, sums: CellSums | None = None
) -> tuple[dict[str, RollRates], pd.DataFrame]:
    """Balance-weighted monthly roll-rate matrices per grade, with binomial standard errors.

    Only transitions touching a delinquent or defaulted month are gathered
    row by row (they are few); the current-to-current weight is the rest
    of the balance, from the cell sums.

    Returns
    -------
    dict of str to RollRates
        The 4 x 5 matrix of each grade.
    pandas.DataFrame
        One row per grade, from-state and to-state: ``grade, from_state,
        to_state, balance`` (balance in the from-state), ``rate, se``.
    """
    h = history
    c = sums if sums is not None else cell_sums(h)
    G = len(h.grades)
    S = len(DELINQUENCY_STATES)
    P = h.begin_balance
    late = (h.dpd_bucket > 0) | (h.defaulted_amount > 0)
    cont = h.continues()
    idx = np.flatnonzero((late[:-1] | late[1:]) & cont)
    del late, cont

    def state(rows: I64) -> I64:
        b = h.dpd_bucket[rows].astype(np.int64)
        return np.where(h.defaulted_amount[rows] > 0, 4, b)

    frm, to = state(idx), state(idx + 1)
    w = P[idx + 1]
    g = h.grade[idx + 1].astype(np.int64)
    # A loan's first month (age 1) is a transition from current.
    first = h.loan_start[:-1]
    first = first[h.age[first] == 1]
    f_to = state(first)
    f_w = P[first]
    f_g = h.grade[first].astype(np.int64)
    keep = f_to != 0
    frm = np.concatenate([frm, np.zeros(int(keep.sum()), dtype=np.int64)])
    to = np.concatenate([to, f_to[keep]])
    w = np.concatenate([w, f_w[keep]])
    g = np.concatenate([g, f_g[keep]])
    valid = frm < 4
    key = (g * 4 + np.minimum(frm, 3)) * S + to
    counts = np.bincount(key[valid], weights=w[valid], minlength=G * 4 * S).reshape(G, 4, S)
    sq = np.bincount(key[valid], weights=w[valid] ** 2, minlength=G * 4 * S).reshape(G, 4, S)
    # Everything else is current -> current: all balance carried from a previous month
    # (or entering at age 1), less the transitions gathered above.
    all_first = h.loan_start[:-1]
    ag = h.grade[all_first].astype(np.int64)
    carried = c.P.sum(axis=(1, 2)) - np.bincount(ag, weights=P[all_first], minlength=G)
    carried2 = c.P2.sum(axis=(1, 2)) - np.bincount(ag, weights=P[all_first] ** 2, minlength=G)
    entered = np.bincount(f_g, weights=f_w, minlength=G)
    entered2 = np.bincount(f_g, weights=f_w**2, minlength=G)
    other = np.bincount(g, weights=w, minlength=G)  # every gathered transition, any from-state
    other2 = np.bincount(g, weights=w**2, minlength=G)
    counts[:, 0, 0] += np.maximum(carried + entered - other, 0.0)
    sq[:, 0, 0] += np.maximum(carried2 + entered2 - other2, 0.0)
    w2 = sq.sum(axis=2)
    totals = counts.sum(axis=2)
    matrices: dict[str, RollRates] = {}
    records = []
    for gi, name in enumerate(h.grades):
        m = np.zeros((4, S))
        se = np.zeros((4, S))
        for i in range(4):
            tot = totals[gi, i]
            if tot > 0:
                p = counts[gi, i] / tot
                m[i] = p / p.sum()
                se[i] = np.sqrt(m[i] * (1.0 - m[i]) * w2[gi, i]) / tot
            else:
                m[i, i + 1] = 1.0  # never observed: roll on
                se[i] = np.nan
        matrices[name] = RollRates(m)
        for i in range(4):
            for j in range(S):
                records.append(
                    (
                        name,
                        DELINQUENCY_STATES[i],
                        DELINQUENCY_STATES[j],
                        totals[gi, i],
                        m[i, j],
                        se[i, j],
                    )
                )
    table = pd.DataFrame(
        records, columns=["grade", "from_state", "to_state", "balance", "rate", "se"]
    )
    return matrices, table


# --- static-pool tables ----------------------------------------------------------------------


def static_pool(history: History, sums: CellSums | None = None) -> pd.DataFrame:
    """Cumulative default, prepayment and loss by grade, vintage and age (aggregates only).

    Returns
    -------
    pandas.DataFrame
        ``grade, vintage, age, loans, begin_balance, defaulted_amount,
        prepaid_amount, recovered_amount, original_balance, cum_default,
        cum_prepay, cum_net_loss``: the ``cum_*`` columns are cumulative
        amounts to that age over the vintage's balance at entry (its loans'
        first-row begin balance), as decimals.  Ages run to the last one
        with a performing balance or a recovery.
    """
    h = history
    c = sums if sums is not None else cell_sums(h)
    G, V, A = c.P.shape
    first = h.loan_start[:-1]
    gv = h.grade[first].astype(np.int64) * V + h.vintage[first]
    original = np.bincount(gv, weights=h.begin_balance[first], minlength=G * V).reshape(G, V)
    dflt, prep, rec = c.D, c.PP, c.R
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.where(original > 0, original, np.nan)[:, :, None]
        cum_d = np.cumsum(dflt, axis=2) / denom
        cum_p = np.cumsum(prep, axis=2) / denom
        cum_l = np.cumsum(dflt - rec, axis=2) / denom
    seen = (c.loans > 0) | (rec > 0)
    last = np.where(seen.any(axis=2), A - np.argmax(seen[:, :, ::-1], axis=2), 0)  # (G, V)
    ages = np.arange(1, A + 1)
    keep = ages[None, None, :] <= last[:, :, None]
    gi, vi, ai = np.nonzero(keep)
    return pd.DataFrame(
        {
            "grade": pd.Categorical.from_codes(gi, categories=pd.Index(h.grades)),
            "vintage": pd.Categorical.from_codes(vi, categories=pd.Index(h.vintages), ordered=True),
            "age": ai + 1,
            "loans": c.loans[gi, vi, ai].astype(np.int64),
            "begin_balance": c.P[gi, vi, ai],
            "defaulted_amount": dflt[gi, vi, ai],
            "prepaid_amount": prep[gi, vi, ai],
            "recovered_amount": rec[gi, vi, ai],
            "original_balance": original[gi, vi],
            "cum_default": cum_d[gi, vi, ai],
            "cum_prepay": cum_p[gi, vi, ai],
            "cum_net_loss": cum_l[gi, vi, ai],
        }
    )
