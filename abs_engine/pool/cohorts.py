"""Exact cohort aggregation.

Receivables with the same grade, payment type, remaining term, age and
delinquency bucket — and, for annuities, the same rate — project identically
per unit of balance under any curve that depends on grade and loan age, so the
pool is reduced to cohorts before projecting.  Interest on non-annuity types
and flat fees are linear in the loan, so those cohorts carry the sums
``sum(rate_i x balance_i)`` and ``sum(fee_rate_i x original_balance_i)`` and
need not split by rate.  A ten-million-row tape becomes a few hundred cohorts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine.errors import AbsError
from abs_engine.pool.schema import DPD_BUCKETS, MAX_TERM, PAYMENT_TYPES

__all__ = ["ANNUITY", "BULLET", "EQUAL_PRINCIPAL", "FLAT_FEE", "Cohorts", "grouping_pays"]

ANNUITY, EQUAL_PRINCIPAL, FLAT_FEE, BULLET = range(4)


def _ro(a: ArrayLike, dtype: type | np.dtype[np.generic]) -> NDArray[np.generic]:
    """A read-only array of ``dtype``: a copy, unless ``a`` is already a frozen array of its own.

    An array that owns its data and is not writeable (as :meth:`Cohorts.from_loans` makes
    its fresh arrays) cannot be changed through another reference, so it is kept as is.
    """
    if (
        isinstance(a, np.ndarray)
        and a.dtype == dtype
        and a.flags.owndata
        and not a.flags.writeable
        and a.flags.c_contiguous
    ):
        return a
    out = np.array(a, dtype=dtype)
    out.setflags(write=False)
    return out


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    """``a`` (a fresh array of this module's own) made read-only in place."""
    a.setflags(write=False)
    return a


def _constant(value: ArrayLike, n: int, dtype: type = np.float64) -> NDArray[Any]:
    """A read-only array of ``n`` times ``value`` that takes no memory (a broadcast view)."""
    one: NDArray[Any] = np.array(value, dtype=dtype)
    one.setflags(write=False)
    return np.broadcast_to(one, (n,))


def _constant_view(a: NDArray[Any]) -> bool:
    """Whether ``a`` is a broadcast of one value (stride 0) of a read-only array."""
    return (
        a.ndim == 1
        and a.strides[0] == 0
        and isinstance(a.base, np.ndarray)
        and a.base.size == 1
        and not a.base.flags.writeable
    )


_FIELD_TYPES: dict[str, type] = {
    "grade": np.int8,
    "payment_type": np.int8,
    "remaining_term": np.int32,
    "age": np.int32,
    "dpd_bucket": np.int8,
    "balance": np.float64,
    "rate": np.float64,
    "fee": np.float64,
    "original_balance": np.float64,
    "count": np.int64,
    "default_mult": np.float64,
}


@dataclass(frozen=True, eq=False)
class Cohorts:
    """Receivables grouped so that each group projects identically per unit.

    All arrays have shape ``(n_cohorts,)``.

    Attributes
    ----------
    grades : tuple of str
        Grade names; ``grade`` holds indices into it.
    grade, payment_type : ndarray of int8
        Grade index and payment-type code (index into ``PAYMENT_TYPES``).
    remaining_term, age : ndarray of int32
        Months left, and months since origination, at cut-off.
    dpd_bucket : ndarray of int8
        0 current, 1 for 1-30, 2 for 31-60, 3 for 61-90, 4 for 90+ days past due.
    balance : ndarray of float64
        Current principal.
    rate : ndarray of float64
        Annual interest rate; for non-annuity cohorts the balance-weighted
        average (exact, since their interest is linear in balance).
    fee : ndarray of float64
        Flat fee due each month while the loans are outstanding:
        ``sum(fee_rate_i x original_balance_i)``.
    original_balance : ndarray of float64
        Principal at origination.
    count : ndarray of int64
        Receivables in the cohort.
    default_mult : ndarray of float64
        Default overlay: a multiplier of the annual default rate for these
        receivables (1 unless an early-warning overlay is applied).
    """

    grades: tuple[str, ...]
    grade: NDArray[np.integer[Any]]
    payment_type: NDArray[np.integer[Any]]
    remaining_term: NDArray[np.integer[Any]]
    age: NDArray[np.integer[Any]]
    dpd_bucket: NDArray[np.integer[Any]]
    balance: NDArray[np.float64]
    rate: NDArray[np.float64]
    fee: NDArray[np.float64]
    original_balance: NDArray[np.float64]
    count: NDArray[np.integer[Any]]
    default_mult: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        self._normalise(adopt=False)

    def _normalise(self, *, adopt: bool) -> None:
        """Give every field its dtype and shape ``(n,)``, read-only; check the ranges.

        ``adopt``: keep read-only arrays of the right dtype and shape as they are (views
        that the caller vouches for, such as a :class:`~abs_engine.pool.Pool`'s columns).
        """
        n = np.shape(self.balance)[0] if np.ndim(self.balance) else 0
        if self.default_mult is None:
            object.__setattr__(self, "default_mult", _constant(1.0, n))
        for name, dtype in _FIELD_TYPES.items():
            value = getattr(self, name)
            if not (isinstance(value, np.ndarray) and value.shape == (n,)):
                if np.size(value) == 1:
                    value = _constant(np.asarray(value).reshape(()), n, dtype)
                else:  # a list, or the shape error
                    value = np.broadcast_to(np.asarray(value), (n,))
            if not (
                isinstance(value, np.ndarray)
                and value.dtype == dtype
                and not value.flags.writeable
                and (adopt or _constant_view(value))
            ):
                value = _ro(value, dtype)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "grades", tuple(self.grades))
        if n and (self.grade.min() < 0 or self.grade.max() >= len(self.grades)):
            raise AbsError("cohort grade index out of range of grades")
        if n and (self.remaining_term.min() < 1 or self.remaining_term.max() > MAX_TERM):
            raise AbsError(f"cohort remaining_term must be in 1..{MAX_TERM}")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # The projection's per-instance memo of scenario-free work: rebuilt on first use.
        state.pop("_projection_memo", None)
        return state

    def __len__(self) -> int:
        return int(self.balance.shape[0])

    @property
    def total_balance(self) -> float:
        """Sum of the current balances."""
        return float(self.balance.sum())

    @classmethod
    def from_loans(
        cls,
        grades: Sequence[str],
        grade: ArrayLike,
        payment_type: ArrayLike,
        remaining_term: ArrayLike,
        age: ArrayLike,
        dpd_bucket: ArrayLike,
        balance: ArrayLike,
        rate: ArrayLike,
        fee_rate: ArrayLike,
        original_balance: ArrayLike,
        *,
        loan_level: bool | Literal["auto"] = False,
        default_mult: ArrayLike | None = None,
    ) -> Cohorts:
        """Aggregate receivable-level arrays into cohorts (or keep one per loan).

        Parameters
        ----------
        loan_level : bool or "auto"
            ``True``: keep one cohort per receivable, in tape order (for loan-level
            projections of small pools and for checking the aggregation).
            ``"auto"``: the same when grouping cannot pay (:func:`grouping_pays`:
            continuous annuity rates, so that nearly every receivable is its own
            cohort), exact cohorts otherwise.  Either way the cohorts project
            identically; only their number differs.
        default_mult : array_like, optional
            Default overlay per receivable (see :class:`Cohorts`); receivables
            with different overlays never share a cohort.
        """
        if loan_level == "auto":
            loan_level = not grouping_pays(payment_type, rate, default_mult)
        if loan_level:
            return cls._per_receivable(
                grades, grade, payment_type, remaining_term, age, dpd_bucket, balance, rate,
                fee_rate, original_balance, default_mult, adopt=False,
            )  # fmt: skip
        # The cohort key is a mixed-radix number over (grade, type, remaining term, age,
        # dpd bucket, annuity-rate code).  Its range is small for real tapes, so rows are
        # summed with bincount on the dense key; a huge key space falls back to hashing.
        # Continuous annuity rates (nearly one rate per receivable) are grouped by sorting.
        pt = np.asarray(payment_type)
        r = np.asarray(rate, dtype=np.float64)
        annuity = pt == ANNUITY
        bal = np.asarray(balance, dtype=np.float64)
        ob = np.asarray(original_balance, dtype=np.float64)
        small = [
            np.asarray(grade),
            pt,
            np.asarray(remaining_term),
            np.asarray(age),
            np.asarray(dpd_bucket),
        ]
        if default_mult is None and _continuous(r[annuity]):
            cohort, first = _sorted_cohorts(small, np.where(annuity, r, 0.0))
            m = first.size
            c_grade, c_type, c_rem, c_age, c_dpd = (d[first] for d in small)
            c_annuity_rate = r[first]
            c_overlay_value: NDArray[np.float64] | None = None
        else:
            rate_code = np.zeros(pt.shape[0], dtype=np.int64)
            annuity_rates = np.zeros(1)
            if annuity.any():
                codes, uniq = pd.factorize(r[annuity])
                rate_code[annuity] = codes
                annuity_rates = np.asarray(uniq, dtype=np.float64)
            overlay_values = np.ones(1)
            overlay_code = np.zeros(pt.shape[0], dtype=np.int64)
            if default_mult is not None:
                overlay_values, overlay_code = np.unique(
                    np.asarray(default_mult, dtype=np.float64), return_inverse=True
                )
            digits = [*small, rate_code, overlay_code]
            radix = [int(d.max(initial=0)) + 1 for d in digits]
            key = np.zeros(pt.shape[0], dtype=np.int64)
            for d, base in zip(digits, radix, strict=True):
                key *= base
                key += d
            space = int(np.prod(np.asarray(radix, dtype=np.float64)))
            # Dense only where the key space is not far larger than the tape: scanning a
            # space of millions for a few hundred receivables is a fixed cost of milliseconds.
            if space <= min(1 << 24, 64 * key.size + 4096):
                count = np.bincount(key, minlength=space)
                ids = np.flatnonzero(count)
                lookup = np.empty(space, dtype=np.int64)
                lookup[ids] = np.arange(ids.size)
                cohort = lookup[key]
                uniques = ids
            elif key.size <= 1 << 16:  # a small tape: sorting is cheaper than a hash table
                uniques, cohort = np.unique(key, return_inverse=True)
            else:
                cohort, uniques = pd.factorize(key, sort=True)
                uniques = np.asarray(uniques, dtype=np.int64)
            m = len(uniques)
            # Every row of a cohort shares the key, so the cohort's attributes decode from it.
            c_grade, c_type, c_rem, c_age, c_dpd, c_rate, c_overlay = np.unravel_index(
                uniques, radix
            )
            c_annuity_rate = annuity_rates[np.where(c_type == ANNUITY, c_rate, 0)]
            c_overlay_value = _frozen(overlay_values[c_overlay])

        def total(weights: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.asarray(np.bincount(cohort, weights=weights, minlength=m), dtype=np.float64)

        bal_sum = total(bal)
        safe = np.where(bal_sum > 0, bal_sum, 1.0)
        rate_c = np.where(
            c_type == ANNUITY,
            c_annuity_rate,
            total(r * bal) / safe,  # exact: interest of these types is linear in balance
        )
        return cls(
            tuple(grades),
            c_grade,
            c_type,
            c_rem,
            c_age,
            c_dpd,
            _frozen(bal_sum),
            _frozen(rate_c),
            _frozen(total(np.asarray(fee_rate, dtype=np.float64) * ob)),
            _frozen(total(ob)),
            _frozen(np.bincount(cohort, minlength=m).astype(np.int64)),
            c_overlay_value,
        )

    @classmethod
    def _per_receivable(
        cls,
        grades: Sequence[str],
        grade: ArrayLike,
        payment_type: ArrayLike,
        remaining_term: ArrayLike,
        age: ArrayLike,
        dpd_bucket: ArrayLike,
        balance: ArrayLike,
        rate: ArrayLike,
        fee_rate: ArrayLike,
        original_balance: ArrayLike,
        default_mult: ArrayLike | None,
        *,
        adopt: bool,
    ) -> Cohorts:
        """One cohort per receivable, in order.

        ``adopt``: keep read-only input arrays of the right dtype without copying them
        (the caller vouches that nothing writes to them, as a Pool does for its columns).
        A fee rate that is zero everywhere, the counts and a missing overlay are
        constants that take no memory.
        """
        bal = np.asarray(balance, dtype=np.float64)
        n = bal.shape[0]
        ob = np.asarray(original_balance, dtype=np.float64)
        fr = np.asarray(fee_rate, dtype=np.float64)
        fee = fr * ob if fr.any() else _constant(0.0, n)
        out = object.__new__(cls)
        fields = {
            "grades": tuple(grades),
            "grade": np.asarray(grade),
            "payment_type": np.asarray(payment_type),
            "remaining_term": np.asarray(remaining_term),
            "age": np.asarray(age),
            "dpd_bucket": np.asarray(dpd_bucket),
            "balance": bal,
            "rate": np.asarray(rate, dtype=np.float64),
            "fee": fee,
            "original_balance": ob,
            "count": _constant(1, n, np.int64),
            "default_mult": None
            if default_mult is None
            else np.asarray(default_mult, dtype=np.float64),
        }
        for name, value in fields.items():
            object.__setattr__(out, name, value)
        out._normalise(adopt=adopt)
        return out

    def select(self, mask: ArrayLike) -> Cohorts:
        """The cohorts where ``mask`` is true."""
        m = np.asarray(mask)
        return Cohorts(
            self.grades,
            self.grade[m],
            self.payment_type[m],
            self.remaining_term[m],
            self.age[m],
            self.dpd_bucket[m],
            self.balance[m],
            self.rate[m],
            self.fee[m],
            self.original_balance[m],
            self.count[m],
            None if self.default_mult is None else self.default_mult[m],
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort, with grade and payment type by name."""
        return pd.DataFrame(
            {
                "grade": np.asarray(self.grades, dtype=object)[self.grade],
                "payment_type": np.asarray(PAYMENT_TYPES, dtype=object)[self.payment_type],
                "remaining_term": self.remaining_term,
                "age": self.age,
                "dpd_bucket": np.asarray([b for b, _ in DPD_BUCKETS], dtype=object)[
                    self.dpd_bucket
                ],
                "count": self.count,
                "balance": self.balance,
                "rate": self.rate,
                "fee": self.fee,
                "original_balance": self.original_balance,
                "default_mult": self.default_mult,
            }
        )


#: Tapes shorter than this are always grouped (it costs little either way).
GROUPING_MIN_ROWS = 1 << 16


def grouping_pays(
    payment_type: ArrayLike, rate: ArrayLike, default_mult: ArrayLike | None = None
) -> bool:
    """Whether exact cohorts would be materially fewer than the receivables.

    They would not when nearly every receivable is an annuity with a rate of its own
    (continuous rates, as on most real tapes): the cohort key then includes a value
    almost unique to each row, and grouping (a sort of the whole tape) saves the
    projection almost nothing.  Judged on an evenly spaced sample of at most 4,096
    rows: at least 99% annuities, and most of their rates distinct.  The answer only
    decides the speed (one cohort per receivable projects the same cash flows).
    """
    pt = np.asarray(payment_type)
    n = pt.shape[0]
    if n < GROUPING_MIN_ROWS or default_mult is not None:
        return True  # small tapes group cheaply; overlays keep the grouped path
    step = max(1, n // 4096)
    sample_pt = pt[::step]
    annuity = sample_pt == ANNUITY
    if annuity.sum() < 0.99 * sample_pt.size:
        return True
    return not _continuous(np.asarray(rate, dtype=np.float64)[::step][annuity])


def _continuous(rates: NDArray[np.float64]) -> bool:
    """Whether annuity rates look continuous: most of a sample of them are distinct.

    Only the speed depends on it (sorting against hashing); the cohorts are the same.
    """
    sample = rates[:4096]
    return sample.size >= 64 and 2 * np.unique(sample).size > sample.size


def _sorted_cohorts(
    digits: Sequence[NDArray[Any]], value: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Cohorts of rows equal in every digit and in ``value``, by sorting rather than hashing.

    Rows are sorted by ``value`` and then, stably, by the mixed-radix number of the
    digits (a radix sort when it fits 16 bits), so equal rows are adjacent and the
    cohorts come in order of (digits, value).  Returns the cohort of each row and
    the first row of each cohort.
    """
    radix = [int(d.max(initial=0)) + 1 for d in digits]
    key = np.zeros(value.shape[0], dtype=np.int64)
    for d, base in zip(digits, radix, strict=True):
        key *= base
        key += d
    space = int(np.prod(np.asarray(radix, dtype=np.float64)))
    by_value = np.argsort(value)
    narrow = np.uint16 if space <= 1 << 16 else np.uint32 if space <= 1 << 32 else np.int64
    order = by_value[np.argsort(key[by_value].astype(narrow), kind="stable")]
    k_s, v_s = key[order], value[order]
    new = np.empty(order.size, dtype=bool)
    new[:1] = True
    np.not_equal(k_s[1:], k_s[:-1], out=new[1:])
    new[1:] |= v_s[1:] != v_s[:-1]
    cohort = np.empty(order.size, dtype=np.int64)
    cohort[order] = np.cumsum(new) - 1
    return cohort, order[new]
