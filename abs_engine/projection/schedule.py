"""Contractual (no default, no prepayment) schedules.

For a contract with ``n`` instalments left, ``A[k]`` is the share of today's
balance still outstanding after ``k`` instalments if every borrower pays as
agreed (``A[0] = 1``, ``A[k] = 0`` for ``k >= n``):

* annuity (等额本息), monthly rate ``i``:
  ``A_k = ((1 + i)^n - (1 + i)^k) / ((1 + i)^n - 1)`` (``(n - k)/n`` when ``i = 0``);
* equal principal (等额本金) and flat fee (等本等费): ``A_k = (n - k) / n``;
* bullet: ``A_k = 1`` for ``k < n``, then 0.

Interest of instalment ``k`` is ``rate / 12 x A[k-1]`` per unit (interest-only
until maturity for bullets); a flat fee is a fixed amount each month up to
maturity.

The engine needs these schedules summed over the receivables of each *rate
class* (grade and age), ``SB_k = sum B_0 A_k``, ``SI_k = sum B_0 rate/12
A_{k-1}`` and ``SF_k = sum fee 1{k <= n}``.  :func:`class_schedules` computes
them without a ``(receivables x months)`` matrix when the pool is large:

* types whose schedule does not depend on the rate (equal principal, flat fee,
  bullets, zero-rate annuities) are summed by (class, term) first — their
  balances are linear in ``B_0`` and their interest in ``rate x B_0`` — and
  spread over months by one small matrix product;
* annuities run the amortisation recursion ``B_k = (1 + i) B_{k-1} - P``
  (``P`` the level payment) month by month over the receivables still
  outstanding, sorted by term so that they are a prefix of the arrays, and
  summed into classes with ``reduceat``.

Both are exact (the same quantities in another order of summation); the
tests hold them to the dense per-receivable computation to 1e-9 relative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from abs_engine.pool.cohorts import ANNUITY, BULLET, Cohorts

__all__ = [
    "Schedules",
    "balance_factors",
    "class_schedules",
    "cohort_schedules",
    "unit_balance",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Method = Literal["auto", "dense", "streaming"]

#: Receivable-months above which class schedules are built without a dense matrix.
DENSE_LIMIT = 1 << 21
#: Receivables per block of the annuity recursion, so that its working arrays stay in cache.
_CHUNK = 1 << 15


def unit_balance(
    payment_type: NDArray[Any], rate: NDArray[Any], term: NDArray[Any], horizon: int
) -> F64:
    """Contractual balance factors ``A``, shape ``(n, horizon + 1)``, for ``term`` instalments.

    Parameters
    ----------
    payment_type, rate, term : ndarray
        Payment-type code, annual rate and instalments left of each contract.
    horizon : int
        Columns are ``k = 0 .. horizon``.
    """
    n = np.asarray(term, dtype=np.float64)[:, None]
    k = np.arange(horizon + 1, dtype=np.float64)[None, :]
    a = np.clip((n - k) / n, 0.0, 1.0)  # equal principal and flat fee
    pt = np.asarray(payment_type)
    r = np.asarray(rate, dtype=np.float64)
    bullet = pt == BULLET
    if bullet.any():
        a[bullet] = np.where(k < n[bullet], 1.0, 0.0)
    annuity = (pt == ANNUITY) & (r > 0)
    if annuity.any():
        i = r[annuity, None] / 12.0
        na = n[annuity]
        growth_n = np.power(1.0 + i, na)
        growth_k = np.power(1.0 + i, np.minimum(k, na))
        a[annuity] = (growth_n - growth_k) / (growth_n - 1.0)
    a[:, 0] = 1.0
    return a


def balance_factors(cohorts: Cohorts, horizon: int) -> F64:
    """Contractual balance factors ``A`` of every cohort, shape ``(n_cohorts, horizon + 1)``."""
    return unit_balance(cohorts.payment_type, cohorts.rate, cohorts.remaining_term, horizon)


@dataclass(frozen=True)
class Schedules:
    """Scenario-free contractual schedules, one row per cohort or class, columns ``k = 0..H``.

    ``balance[:, k]`` is ``SB_k`` (balance after ``k`` months), ``interest[:, k]``
    and ``fee[:, k]`` the interest and fees of month ``k`` (column 0 is zero).
    """

    balance: F64
    interest: F64
    fee: F64


def cohort_schedules(cohorts: Cohorts, idx: I64, horizon: int) -> Schedules:
    """Dense schedules of the cohorts ``idx``, shape ``(len(idx), horizon + 1)`` each."""
    n = cohorts.remaining_term[idx]
    A = unit_balance(cohorts.payment_type[idx], cohorts.rate[idx], n, horizon)
    SB = cohorts.balance[idx, None] * A
    SI = np.zeros_like(SB)
    SI[:, 1:] = (cohorts.rate[idx, None] / 12.0) * SB[:, :-1]
    k = np.arange(horizon + 1)
    SF = np.where((k[None, :] >= 1) & (k[None, :] <= n[:, None]), cohorts.fee[idx, None], 0.0)
    return Schedules(SB, SI, SF)


def class_schedules(
    cohorts: Cohorts,
    idx: I64,
    cls: I64,
    n_classes: int,
    horizon: int,
    *,
    method: Method = "auto",
) -> Schedules:
    """Schedules summed by class: cohort ``idx[j]`` belongs to class ``cls[j]``.

    ``method="dense"`` builds the per-cohort matrix and sums it (the reference);
    ``"streaming"`` never holds more than a few arrays of the cohorts' length;
    ``"auto"`` picks dense below :data:`DENSE_LIMIT` cohort-months.
    """
    if method == "auto":
        method = "dense" if idx.size * (horizon + 1) <= DENSE_LIMIT else "streaming"
    if method == "dense":
        return _dense_class_schedules(cohorts, idx, cls, n_classes, horizon)
    return _streaming_class_schedules(cohorts, idx, cls, n_classes, horizon)


def _sum_rows(x: F64, cls: I64, n_classes: int) -> F64:
    """Sum the rows of ``x`` by class, shape ``(n_classes, x.shape[1])``."""
    order = np.argsort(cls, kind="stable")
    c = cls[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    out = np.zeros((n_classes, x.shape[1]))
    out[c[starts]] = np.add.reduceat(x[order], starts, axis=0)
    return out


def _dense_class_schedules(
    cohorts: Cohorts, idx: I64, cls: I64, n_classes: int, horizon: int
) -> Schedules:
    s = cohort_schedules(cohorts, idx, horizon)
    if idx.size == n_classes and np.array_equal(cls, np.arange(n_classes)):
        return s
    return Schedules(
        _sum_rows(s.balance, cls, n_classes),
        _sum_rows(s.interest, cls, n_classes),
        _sum_rows(s.fee, cls, n_classes),
    )


def _streaming_class_schedules(
    cohorts: Cohorts, idx: I64, cls: I64, n_classes: int, horizon: int
) -> Schedules:
    H, R = horizon, n_classes
    n = cohorts.remaining_term[idx]
    rate = cohorts.rate[idx]
    pt = cohorts.payment_type[idx]
    b0 = cohorts.balance[idx]
    annuity = (pt == ANNUITY) & (rate > 0)
    SB, SI, SF = _rate_free(n, rate, pt, b0, cohorts.fee[idx], ~annuity, cls, R, H)
    if annuity.all():  # no copies of the arrays for the annuities alone
        sb, si = _annuity_recursion(n, rate / 12.0, b0, cls, R, H)
    elif annuity.any():
        sb, si = _annuity_recursion(
            n[annuity], rate[annuity] / 12.0, b0[annuity], cls[annuity], R, H
        )
    else:
        return Schedules(SB, SI, SF)
    SB += sb
    SI += si
    return Schedules(SB, SI, SF)


def _rate_free(
    n: NDArray[np.integer[Any]],
    rate: F64,
    pt: NDArray[np.integer[Any]],
    b0: F64,
    fee: F64,
    other: NDArray[np.bool_],
    cls: I64,
    R: int,
    H: int,
) -> tuple[F64, F64, F64]:
    """Fees of every receivable and schedules of the ``other`` (non-annuity) ones by class.

    Their balances are linear in ``B_0`` and their interest in ``rate x B_0``, so
    they are summed by (class, term) and spread over months by a matrix product.
    """
    SB = np.zeros((R, H + 1))
    SI = np.zeros((R, H + 1))
    SF = np.zeros((R, H + 1))
    k = np.arange(H + 1)
    seen = np.bincount(n)  # terms are at most MAX_TERM: a dense code, no sort
    terms = np.flatnonzero(seen)
    code_of = np.zeros(seen.size, dtype=np.int64)
    code_of[terms] = np.arange(terms.size)
    T = terms.size
    key = cls * T + code_of[n]

    def by_class_term(weights: F64, where: NDArray[np.bool_] | None = None) -> F64:
        kk, ww = (key, weights) if where is None else (key[where], weights[where])
        return np.asarray(np.bincount(kk, weights=ww, minlength=R * T), dtype=np.float64).reshape(
            R, T
        )

    nt = terms.astype(np.float64)[:, None]
    on_term = ((k[None, :] >= 1) & (k[None, :] <= nt)).astype(np.float64)  # (T, H+1)
    if fee.any():
        SF += by_class_term(fee) @ on_term
    if not other.any():
        return SB, SI, SF
    bullet = pt == BULLET
    linear = other & ~bullet
    for mask, factor in (
        (linear, np.clip((nt - k[None, :]) / nt, 0.0, 1.0)),
        (bullet, (k[None, :] < nt).astype(np.float64)),
    ):
        if mask.any():
            SB += by_class_term(b0, mask) @ factor
            SI[:, 1:] += by_class_term(rate * b0 / 12.0, mask) @ factor[:, :-1]
    return SB, SI, SF


def _annuity_recursion(
    n: NDArray[np.integer[Any]], i: F64, b0: F64, cls: I64, R: int, H: int
) -> tuple[F64, F64]:
    """Class sums of annuity balances and interest by the amortisation recursion.

    Receivables are sorted by term (longest first) and class, so those still
    outstanding in month ``k`` are a prefix and each (term, class) a run:
    ``B_k = B_{k-1} + i B_{k-1} - P`` with ``P = B_0 i / (1 - (1 + i)^{-n})``,
    interest ``i B_{k-1}``, and ``B_n = 0`` exactly.  The sorted receivables
    are taken :data:`_CHUNK` at a time, every month of a chunk before the next
    chunk, so the working arrays stay in cache; each run's monthly sums go
    into a (run, month) table that is summed into classes once at the end.
    """
    nmax = int(n.max())
    key = (nmax - n) * R + cls
    span = (nmax + 1) * R
    order = np.argsort(key.astype(np.uint16 if span <= 1 << 16 else np.int64), kind="stable")
    key = key[order]
    # Run boundaries, with a cut at every chunk boundary so no run spans two chunks.
    cuts = np.empty(key.size, dtype=bool)
    cuts[0] = True
    np.not_equal(key[1:], key[:-1], out=cuts[1:])
    del key
    cuts[::_CHUNK] = True
    starts = np.flatnonzero(cuts)
    del cuts
    ns, i_s = n[order].astype(np.int64), i[order]
    bal = b0[order]  # a copy: B_{k-1} as the loop advances
    run_cls = cls[order[starts]]
    del order
    pay = np.log1p(i_s)  # P = B_0 i / (1 - (1 + i)^-n), in place
    pay *= -ns
    np.expm1(pay, out=pay)
    np.divide(i_s, pay, out=pay)
    pay *= bal
    np.negative(pay, out=pay)
    SB = np.zeros((R, H + 1))
    SB[:, 0] = np.bincount(cls, weights=b0, minlength=R)
    SI = np.zeros((R, H + 1))
    N = ns.size
    run_n = ns[starts]
    run_b = np.zeros((starts.size, nmax + 1))  # balance sums of each run by month
    run_i = np.zeros((starts.size, nmax + 1))  # interest sums
    tmp = np.empty(min(N, _CHUNK))
    for lo in range(0, N, _CHUNK):
        hi = min(N, lo + _CHUNK)
        r_lo, r_hi = np.searchsorted(starts, [lo, hi])
        st = starts[r_lo:r_hi] - lo
        rn = run_n[r_lo:r_hi]
        b, p, ii, nc = bal[lo:hi], pay[lo:hi], i_s[lo:hi], ns[lo:hi]
        top = int(nc[0])
        months = np.arange(1, top + 2)
        m_k = np.searchsorted(-nc, -months, side="right")  # outstanding in month k: n >= k
        r_k = np.searchsorted(-rn, -months, side="right")
        for k in range(1, top + 1):
            m, nr = m_k[k - 1], r_k[k - 1]
            np.multiply(ii[:m], b[:m], out=tmp[:m])
            run_i[r_lo : r_lo + nr, k] = np.add.reduceat(tmp[:m], st[:nr])
            m2, nr2 = m_k[k], r_k[k]
            if m2 == 0:
                break
            bb = b[:m2]  # B_k = B_{k-1} + i B_{k-1} - P
            np.add(bb, tmp[:m2], out=bb)
            np.subtract(bb, p[:m2], out=bb)
            run_b[r_lo : r_lo + nr2, k] = np.add.reduceat(bb, st[:nr2])
    SB[:, 1 : nmax + 1] = _sum_rows(run_b[:, 1:], run_cls, R)
    SI[:, 1 : nmax + 1] = _sum_rows(run_i[:, 1:], run_cls, R)
    return SB, SI
