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
IX = NDArray[np.signedinteger[Any]]
Method = Literal["auto", "dense", "streaming"]

#: Receivable-months above which class schedules are built without a dense matrix.
DENSE_LIMIT = 1 << 21
#: Receivables per block of the annuity recursion, so that its working arrays stay in cache.
_CHUNK = 1 << 15
#: Annual rate from which streaming annuity interest is the payment less the principal
#: (:func:`_geometric_block`); below it the interest is ``i B`` (:func:`_annuity_block`).
GEOMETRIC_MIN_RATE = 1e-3


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
        # A_k = (1+i)^k ((1+i)^(n-k) - 1) / ((1+i)^n - 1), through log1p/expm1 so that
        # near-zero rates keep full precision (the differences of powers cancel).
        log_g = np.log1p(r[annuity, None] / 12.0)
        na = n[annuity]
        kk = np.minimum(k, na)
        a[annuity] = np.exp(kk * log_g) * np.expm1((na - kk) * log_g) / np.expm1(na * log_g)
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
    starts = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
    out = np.zeros((n_classes, x.shape[1]))
    out[c[starts]] = np.add.reduceat(x[order], starts, axis=0)
    return out


def _dense_class_schedules(
    cohorts: Cohorts, idx: I64, cls: I64, n_classes: int, horizon: int
) -> Schedules:
    s = cohort_schedules(cohorts, idx, horizon)
    if idx.size == n_classes and np.array_equal(cls, np.arange(n_classes)):
        return s
    # The three schedules side by side: one sort and one reduceat (column sums are
    # independent, so each is the same sum in the same order as on its own).
    w = horizon + 1
    summed = _sum_rows(np.concatenate([s.balance, s.interest, s.fee], axis=1), cls, n_classes)
    return Schedules(summed[:, :w], summed[:, w : 2 * w], summed[:, 2 * w :])


def _streaming_class_schedules(
    cohorts: Cohorts, idx: I64, cls: NDArray[np.integer[Any]], n_classes: int, horizon: int
) -> Schedules:
    """Class schedules built :data:`_CHUNK` cohorts at a time, without (cohort x month) arrays.

    A first pass over blocks of ``idx`` gives each annuity its sort key (term,
    longest first, then class) and handles the rest: for the types whose schedule
    does not depend on the rate, and for the fees, sums by (class, term) that one
    matrix product spreads over the months at the end; annuities of near-zero rates
    by the direct recursion (:func:`_annuity_block`).  The annuities are then taken
    in key order, block by block (:func:`_geometric_block`), so that every (term,
    class) is one long run.
    """
    H, R = horizon, n_classes
    T1 = int(cohorts.remaining_term.max(initial=1)) + 1  # term codes 0..T1-1
    nmax = T1 - 1
    span = (nmax + 1) * R  # annuity keys are (nmax - n) R + class < span; others: span
    wide = np.int32 if span < 1 << 31 else np.int64
    SB = np.zeros((R, H + 1))
    SI = np.zeros((R, H + 1))
    SF = np.zeros((R, H + 1))
    # Rows: fee; balance and rate x balance / 12 of equal-principal and flat-fee
    # receivables (and zero-rate annuities), then of bullets; columns class x term.
    by_term = np.zeros((5, R * T1))
    used = np.zeros(5, dtype=bool)
    fees = bool(cohorts.fee.any())
    # Sort keys by cohort position (not by position in ``idx``), so that the annuities'
    # data are gathered once, in sorted order, straight from the cohort arrays.
    keys = _SortKeys(len(cohorts), span)
    for lo in range(0, idx.size, _CHUNK):
        j = idx[lo : lo + _CHUNK]
        c: IX = cls[lo : lo + _CHUNK].astype(wide, copy=False)
        n: IX = cohorts.remaining_term[j].astype(wide, copy=False)
        rate = cohorts.rate[j]
        pt = cohorts.payment_type[j]
        geometric = (pt == ANNUITY) & (rate >= GEOMETRIC_MIN_RATE)
        key = np.subtract(nmax, n)
        key *= R
        key += c
        if geometric.all():
            keys.set(j, key)
            if not fees:
                continue
        else:
            keys.set(j[geometric], key[geometric])
        other = ~geometric
        b0 = cohorts.balance[j]
        if other.any():
            SB[:, 0] += np.bincount(c[other], weights=b0[other], minlength=R)
            tiny = other & (pt == ANNUITY) & (rate > 0)
            if tiny.any():  # rare: the direct recursion, on the block's own order
                o_t = np.flatnonzero(tiny)
                o_t = o_t[np.argsort(key[o_t], kind="stable")]
                _annuity_block(n[o_t], rate[o_t] / 12.0, b0[o_t], c[o_t], key[o_t], SB, SI)
            tc = c.astype(np.int64) * T1 + n  # (class, term) codes
            bullet = pt == BULLET
            for row, mask in ((1, other & ~tiny & ~bullet), (3, bullet)):
                if mask.any():
                    _add_by_key(by_term[row], tc[mask], b0[mask])
                    _add_by_key(by_term[row + 1], tc[mask], rate[mask] * b0[mask] / 12.0)
                    used[row : row + 2] = True
        if fees:
            fee = cohorts.fee[j]
            if fee.any():
                _add_by_key(by_term[0], c.astype(np.int64) * T1 + n, fee)
                used[0] = True
    n_ann = keys.sort()
    for lo in range(0, n_ann, _CHUNK):
        hi = min(n_ann, lo + _CHUNK)
        o, k_s = keys.block(lo, hi, wide)
        _geometric_block(
            nmax - k_s // R, cohorts.rate[o] / 12.0, cohorts.balance[o], k_s % R, k_s, SB, SI
        )
    if used.any():
        k = np.arange(H + 1)
        nt = np.maximum(np.arange(T1, dtype=np.float64), 1.0)[:, None]  # term 0 never occurs
        tab = by_term.reshape(5, R, T1)
        if used[0]:
            SF += tab[0] @ ((k[None, :] >= 1) & (k[None, :] <= nt)).astype(np.float64)
        for row, factor in (
            (1, np.clip((nt - k[None, :]) / nt, 0.0, 1.0)),
            (3, (k[None, :] < nt).astype(np.float64)),
        ):
            if used[row]:
                SB[:, 1:] += tab[row] @ factor[:, 1:]  # column 0: the blocks
                SI[:, 1:] += tab[row + 1] @ factor[:, :-1]
    return Schedules(SB, SI, SF)


class _SortKeys:
    """Sort keys of ``n`` cohorts, sorted stably in place with the least memory.

    Each key shares a 64-bit word with its cohort's position (``key << 32 | position``),
    so one in-place sort of the words is the stable sort of the keys, and the positions
    come back with them: no index array beside the keys and no sort buffers (on the
    1M-receivable benchmark tape the pass peaks at 11.5 MiB above its inputs instead of
    18.5 with a stable ``argsort``, and sorts faster).  Cohorts without a key keep
    ``span``, above every key.  Pools beyond 32-bit positions or keys take a stable
    ``argsort`` instead (the same order).
    """

    def __init__(self, n: int, span: int, *, packed: bool | None = None) -> None:
        self.span = span
        self.packed = n < 1 << 32 and span < 1 << 32 if packed is None else packed
        if self.packed:
            self.words = np.empty(n, dtype=np.uint64)
            for lo in range(0, n, _CHUNK):  # span << 32 | position, without a full arange
                hi = min(n, lo + _CHUNK)
                self.words[lo:hi] = np.arange(lo, hi, dtype=np.uint64)
                self.words[lo:hi] |= np.uint64(span) << np.uint64(32)
        else:
            self.words = np.full(n, span, dtype=np.int64)
            self.order: I64 = np.zeros(0, dtype=np.int64)

    def set(self, pos: I64, key: NDArray[np.integer[Any]]) -> None:
        """Give the cohorts at positions ``pos`` their keys."""
        if self.packed:
            word = key.astype(np.uint64)
            word <<= np.uint64(32)
            word |= pos.astype(np.uint64)
            self.words[pos] = word
        else:
            self.words[pos] = key

    def sort(self) -> int:
        """Sort by key (ties by position); return how many cohorts have a key."""
        if self.packed:
            self.words.sort()
            return int(np.searchsorted(self.words, np.uint64(self.span) << np.uint64(32)))
        self.order = np.argsort(self.words, kind="stable")
        self.words = self.words[self.order]
        return int(np.searchsorted(self.words, self.span))

    def block(self, lo: int, hi: int, dtype: type[np.signedinteger[Any]]) -> tuple[I64, IX]:
        """Positions and keys of the sorted cohorts ``lo:hi``."""
        w = self.words[lo:hi]
        if self.packed:
            pos = (w & np.uint64(0xFFFFFFFF)).astype(np.intp)
            return pos, (w >> np.uint64(32)).astype(dtype)
        return self.order[lo:hi], w.astype(dtype)


def _add_by_key(target: F64, key: I64, weights: F64) -> None:
    """``target[key] += weights`` for repeated keys (a bincount where the table is small)."""
    if target.size <= 8 * key.size:
        target += np.bincount(key, weights=weights, minlength=target.size)
    else:
        np.add.at(target, key, weights)


def _runs(n: NDArray[np.integer[Any]], key: NDArray[np.integer[Any]]) -> tuple[I64, I64, I64, I64]:
    """Runs of a block sorted by ``key`` (term, longest first, then class).

    ``st``: where each run starts; ``ns``: the terms as int64; ``m_k[k - 1]`` and
    ``r_k[k - 1]``: how many receivables and runs are still outstanding in month ``k``
    (term ``>= k``: a prefix, since terms fall along the block), for ``k = 1 .. nmax + 1``.
    """
    new = np.empty(key.size, dtype=bool)
    new[0] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    st = np.flatnonzero(new)
    ns = n.astype(np.int64)
    months = np.arange(1, int(ns[0]) + 2)
    m_k = np.searchsorted(-ns, -months, side="right")
    r_k = np.searchsorted(-ns[st], -months, side="right")
    return st, ns, m_k, r_k


def _annuity_block(
    n: NDArray[np.integer[Any]],
    i: F64,
    b0: F64,
    cls: NDArray[np.integer[Any]],
    key: NDArray[np.integer[Any]],
    SB: F64,
    SI: F64,
) -> None:
    """Add a block's annuity balances and interest to the class sums ``SB``, ``SI``.

    The block comes sorted by ``key`` — term (longest first), then class — so the
    receivables still outstanding in month ``k`` are a prefix and each (term, class)
    a run: ``B_k = B_{k-1} + i B_{k-1} - P`` with ``P = B_0 i / (1 - (1 + i)^{-n})``,
    interest ``i B_{k-1}``, and ``B_n = 0`` exactly (the receivable has left the
    prefix).  Month sums of each run are taken with ``reduceat`` and added to
    their class.  Blocks are small enough for the working arrays to stay in cache.
    """
    st, ns, m_k, r_k = _runs(n, key)
    nmax = int(ns[0])
    run_cls = cls[st]
    b = b0  # a fresh gather: B_{k-1} as the loop advances
    pay = np.log1p(i)  # P = B_0 i / (1 - (1 + i)^-n), in place
    pay *= -ns
    np.expm1(pay, out=pay)
    np.divide(i, pay, out=pay)
    pay *= b
    np.negative(pay, out=pay)
    run_b = np.zeros((st.size, nmax + 1))  # balance sums of each run by month
    run_i = np.zeros((st.size, nmax + 1))  # interest sums
    tmp = np.empty(ns.size)
    for k in range(1, nmax + 1):
        m, nr = m_k[k - 1], r_k[k - 1]
        np.multiply(i[:m], b[:m], out=tmp[:m])
        run_i[:nr, k] = np.add.reduceat(tmp[:m], st[:nr])
        m2, nr2 = m_k[k], r_k[k]
        if m2 == 0:
            break
        bb = b[:m2]  # B_k = B_{k-1} + i B_{k-1} - P
        np.add(bb, tmp[:m2], out=bb)
        np.subtract(bb, pay[:m2], out=bb)
        run_b[:nr2, k] = np.add.reduceat(bb, st[:nr2])
    _runs_to_classes(run_cls, run_b[:, 1:], run_i[:, 1:], SB[:, 1:], SI[:, 1:])


def _geometric_block(
    n: NDArray[np.integer[Any]],
    i: F64,
    b0: F64,
    cls: NDArray[np.integer[Any]],
    key: NDArray[np.integer[Any]],
    SB: F64,
    SI: F64,
) -> None:
    """Add a block's annuity balances and interest to ``SB``, ``SI`` from the principal.

    An annuity's principal grows geometrically: in month ``k <= n`` it pays
    ``Q_k = q (1 + i)^(k - 1)`` with ``q = B_0 i / ((1 + i)^n - 1)``, the interest is
    the level payment less it, ``P - Q_k`` (``P = q (1 + i)^n``), and the balance
    ``B_k = B_{k-1} - Q_k``.  So the month loop only advances ``q`` by ``(1 + i)``
    over the receivables still outstanding and sums it by run (the block is sorted
    by ``key``: term, longest first, then class); balances and interest follow on
    the small (run, month) table, and ``B_n = 0`` exactly.  Interest taken as a
    difference loses about ``log10(1/i)`` digits at the end of a contract, so this
    path is for rates of at least :data:`GEOMETRIC_MIN_RATE` (at most about four
    digits of sixteen).
    """
    st, ns, m_k, r_k = _runs(n, key)
    nmax = int(ns[0])
    run_n = ns[st]
    q = np.log1p(i)  # q = B_0 i / ((1 + i)^n - 1) through expm1(n log1p(i)), in place
    q *= ns
    np.expm1(q, out=q)
    growth = q + 1.0  # (1 + i)^n
    np.divide(i, q, out=q)
    q *= b0
    run_pay = np.add.reduceat(np.multiply(growth, q, out=growth), st)  # P = q (1 + i)^n
    del growth
    g = np.add(i, 1.0)
    run_q = np.zeros((st.size, nmax + 1))  # principal sums of each run by month
    months = np.arange(1, nmax + 2)
    run_q[:, 1] = np.add.reduceat(q, st)
    for k in range(2, nmax + 1):
        m, nr = m_k[k - 1], r_k[k - 1]
        if m == 0:
            break
        qq = q[:m]
        np.multiply(qq, g[:m], out=qq)
        run_q[:nr, k] = np.add.reduceat(qq, st[:nr])
    live = months[None, :-1] <= run_n[:, None]  # (run, k = 1..nmax): month k is paid
    run_b = np.empty_like(run_q)
    run_b[:, 0] = np.add.reduceat(b0, st)
    np.subtract(run_b[:, :1], np.cumsum(run_q[:, 1:], axis=1), out=run_b[:, 1:])
    run_b[:, 1:][~(months[None, :-1] < run_n[:, None])] = 0.0  # B_k = 0 from k = n
    run_i = np.where(live, run_pay[:, None] - run_q[:, 1:], 0.0)
    _runs_to_classes(cls[st], run_b, np.c_[np.zeros(st.size), run_i], SB, SI)


def _runs_to_classes(
    run_cls: NDArray[np.integer[Any]], run_b: F64, run_i: F64, SB: F64, SI: F64
) -> None:
    """Add (run, month) sums into the rows of their classes of ``SB``, ``SI`` (from column 0)."""
    by_cls = np.argsort(run_cls, kind="stable")
    c_sorted = run_cls[by_cls]
    first = np.flatnonzero(np.r_[True, c_sorted[1:] != c_sorted[:-1]])
    rows = c_sorted[first]  # distinct classes: a fancy += is safe
    width = run_b.shape[1]
    SB[rows, :width] += np.add.reduceat(run_b[by_cls], first, axis=0)
    SI[rows, :width] += np.add.reduceat(run_i[by_cls], first, axis=0)
