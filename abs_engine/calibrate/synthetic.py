"""A seeded synthetic static-pool history generated from known ("true") curves.

Each receivable is simulated month by month from the true monthly hazards,
vectorised over receivables (the only Python loop runs over months):

* in month ``k`` (age ``k``) a performing loan with balance ``P`` draws one
  uniform ``U``: it **defaults** when ``U < d_k`` (``D = P``, nothing paid),
  **prepays in full** when ``d_k <= U < d_k + s_k`` (it pays its instalment
  ``f_k P`` and then the rest, ``PP = (1 - f_k) P``), and otherwise pays its
  instalment ``f_k P``; at maturity the instalment is the whole balance.
  In expectation this is exactly the projection engine's mechanics
  (SIFMA Standard Formulas, 1999, section C.3): ``E[D] = d P``,
  ``E[SP] = f (P - E[D])``, ``E[PP] = s (P - f P)``;
* amortisation follows the contract: ``f_k = 1 - A_k / A_{k-1}`` with the
  contractual balance factors of :mod:`abs_engine.projection.schedule`
  (annuity, equal principal, flat fee, bullet);
* a defaulted loan recovers ``(1 - severity) D`` (or a Beta draw with that
  mean, see ``recovery_concentration``) ``recovery_lag`` months after the
  default, with zero-balance rows in between;
* delinquency is kept consistent: a loan that defaults in month ``k`` is
  30, 60 and 90 days past due at the end of months ``k-3``, ``k-2``,
  ``k-1`` (when it is that old), 120 in month ``k`` and 30 more each month
  after; other performing loans are 15 days past due for a single month
  with probability ``delinquency`` and then cure.

The same arguments and seed give the same history, row for row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from abs_engine._budget import check_memory
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.curve import cdr, cpr, vector
from abs_engine.errors import AssumptionError, SpecError
from abs_engine.pool.schema import MAX_TERM, PAYMENT_TYPE_ALIASES, PAYMENT_TYPES

__all__ = ["DEMO_ASSUMPTIONS", "contract_factors", "synthetic_history"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ANNUITY, EQUAL_PRINCIPAL, FLAT_FEE, BULLET = range(4)
_PERFORMING, _MATURED, _PREPAID, _DEFAULTED = range(4)

#: The "true" curves of the demo and of the tests: grade A flat, B and C age-varying.
DEMO_ASSUMPTIONS: GradedAssumptions = Assumptions.by_grade(
    {
        "A": Assumptions(default=cdr(0.03), prepay=cpr(0.10), severity=0.85, recovery_lag=3),
        "B": Assumptions(
            default=vector([0.01, 0.02, 0.04, 0.06, 0.07, 0.08, 0.08, 0.07, 0.06], "cdr"),
            prepay=vector([0.04, 0.06, 0.08, 0.10, 0.12], "cpr"),
            severity=0.88,
            recovery_lag=4,
        ),
        "C": Assumptions(
            default=vector([0.02, 0.05, 0.08, 0.11, 0.13, 0.14, 0.15], "cdr"),
            prepay=cpr(0.06),
            severity=0.92,
            recovery_lag=4,
        ),
    }
)


def contract_factors(
    payment_type: NDArray[np.integer], term: NDArray[np.integer], rate: F64, k: NDArray[np.integer]
) -> F64:
    """Contractual balance factor ``A_k`` per unit of original balance, element by element.

    ``A_0 = 1`` and ``A_k = 0`` for ``k >= n`` (term ``n``); in between

    * annuity at monthly rate ``i = rate / 12``:
      ``A_k = ((1 + i)^n - (1 + i)^k) / ((1 + i)^n - 1)`` (``(n - k) / n`` when ``i = 0``);
    * equal principal and flat fee: ``A_k = (n - k) / n``;
    * bullet: ``A_k = 1``.
    """
    n = np.asarray(term, dtype=np.float64)
    kk = np.clip(np.asarray(k, dtype=np.float64), 0.0, None)
    a = np.clip((n - kk) / n, 0.0, 1.0)
    pt = np.asarray(payment_type)
    a = np.where(pt == BULLET, np.where(kk < n, 1.0, 0.0), a)
    annuity = (pt == ANNUITY) & (np.asarray(rate) > 0)
    if np.any(annuity):
        i = np.asarray(rate, dtype=np.float64)[annuity] / 12.0
        na = n[annuity]
        gn = np.power(1.0 + i, na)
        gk = np.power(1.0 + i, np.minimum(kk[annuity], na))
        a[annuity] = (gn - gk) / (gn - 1.0)
    return np.where(kk <= 0, 1.0, a)


def _choices(value: int | str | Sequence[int] | Sequence[str], name: str) -> list[int | str]:
    items: list[int | str] = [value] if isinstance(value, (int, str)) else list(value)
    if not items:
        raise SpecError(f"give at least one {name}", name)
    return items


def synthetic_history(
    n_loans: int,
    assumptions: Assumptions | GradedAssumptions | None = None,
    *,
    vintages: int = 6,
    term: int | Sequence[int] = (6, 12, 24),
    payment_type: str | Sequence[str] = "flat_fee",
    months: int | None = None,
    grade_shares: Mapping[str, float] | None = None,
    rate: float = 0.12,
    balance: tuple[float, float] = (3_000.0, 0.6),
    recovery_concentration: float | None = None,
    delinquency: float = 0.02,
    start: str = "2015-01",
    contract_columns: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Generate a static-pool history from known monthly hazards.

    Parameters
    ----------
    n_loans : int
        Receivables originated (spread at random over grades and vintages).
    assumptions : Assumptions or GradedAssumptions, optional
        The true curves, severity and recovery lag per grade (default
        :data:`DEMO_ASSUMPTIONS`).  Curves are read by age.
    vintages : int
        Monthly vintages, the first in ``start``.
    term : int or sequence of int
        Original term(s) in months; each loan draws one uniformly.
    payment_type : str or sequence of str
        ``annuity``, ``equal_principal``, ``flat_fee`` or ``bullet`` (or their
        Chinese names); each loan draws one uniformly.
    months : int, optional
        Observation window in calendar months from the first vintage's
        first month: vintage ``v`` (0-based) is seen up to age ``months - v``.
        ``None`` follows every loan to its end, recoveries included.
    grade_shares : mapping of str to float, optional
        Share of loans per grade (normalised); default equal shares of the
        grades of ``assumptions`` (``"A"`` for a single set).
    rate : float
        Annual rate of annuity loans (decimal).
    balance : (float, float)
        Median and log-normal sigma of original balances (rounded to cents,
        at least 100).
    recovery_concentration : float, optional
        ``None``: every default recovers exactly ``1 - severity``.  A number
        ``c``: the recovered share is Beta with mean ``m = 1 - severity`` and
        parameters ``(m c, (1 - m) c)``.
    delinquency : float
        Monthly probability that a performing loan is 1-30 days late for
        one month and then cures.
    start : str
        First vintage, ``"YYYY-MM"``.
    contract_columns : bool
        Add ``original_term``, ``payment_type``, ``original_balance`` and
        ``rate`` (accepted and ignored by calibration; they let a test build
        the equivalent pool).
    seed : int
        Random seed.

    Returns
    -------
    pandas.DataFrame
        One row per receivable per month, sorted by ``loan_id`` and ``age``,
        with the history columns (``loan_id`` an integer from 1).
    """
    if isinstance(n_loans, bool) or not isinstance(n_loans, (int, np.integer)) or n_loans < 1:
        raise SpecError(f"n_loans must be a whole number >= 1; got {n_loans!r}", "n_loans")
    if isinstance(vintages, bool) or not isinstance(vintages, (int, np.integer)) or vintages < 1:
        raise SpecError(f"vintages must be a whole number >= 1; got {vintages!r}", "vintages")
    if months is not None and (not isinstance(months, (int, np.integer)) or months < vintages):
        raise SpecError(
            f"months (the observation window) must be >= vintages ({vintages}) so every "
            f"vintage is seen; got {months!r}",
            "months",
        )
    if not 0.0 <= delinquency < 1.0:
        raise SpecError(f"delinquency must be a probability in [0, 1); got {delinquency!r}")
    if recovery_concentration is not None and not recovery_concentration > 0:
        raise SpecError(
            f"recovery_concentration must be > 0 or None; got {recovery_concentration!r}",
            "recovery_concentration",
        )
    median, sigma = (float(x) for x in balance)
    if not (median > 0 and sigma >= 0 and math.isfinite(median * sigma)):
        raise SpecError(f"balance must be (median > 0, sigma >= 0); got {balance!r}", "balance")
    try:
        first = pd.Period(start, freq="M")
    except (ValueError, TypeError) as exc:
        raise SpecError(f"start must be a month such as '2015-01'; got {start!r}", "start") from exc

    assumptions = assumptions if assumptions is not None else DEMO_ASSUMPTIONS
    if grade_shares is None:
        names = list(assumptions) if isinstance(assumptions, GradedAssumptions) else ["A"]
        if not names:
            raise SpecError("the assumptions name no grade; give grade_shares", "grade_shares")
        shares = np.full(len(names), 1.0 / len(names))
    else:
        names = [str(g) for g in grade_shares]
        shares = np.asarray([float(v) for v in grade_shares.values()])
        if not names or np.any(~np.isfinite(shares)) or np.any(shares < 0) or shares.sum() <= 0:
            raise SpecError("grade_shares must be non-negative with a positive sum", "grade_shares")
        shares = shares / shares.sum()
    try:
        per_grade = [assumptions.for_grade(g) for g in names]
    except AssumptionError as exc:
        raise SpecError(str(exc), "assumptions") from exc

    terms = [int(t) for t in _choices(term, "term")]
    if any(t < 1 or t > MAX_TERM for t in terms):
        raise SpecError(f"terms must be 1..{MAX_TERM} months; got {terms}", "term")
    types: list[int] = []
    for p in _choices(payment_type, "payment_type"):
        canonical = PAYMENT_TYPE_ALIASES.get(
            str(p).strip().lower(), PAYMENT_TYPE_ALIASES.get(str(p))
        )
        if canonical is None:
            raise SpecError(
                f"unknown payment type {p!r}; use one of {', '.join(PAYMENT_TYPES)}",
                "payment_type",
            )
        types.append(PAYMENT_TYPES.index(canonical))

    n = int(n_loans)
    longest = max(terms) + max(int(a.recovery_lag) for a in per_grade) + 1
    window = longest if months is None else min(int(months), longest)
    check_memory(  # one row of about 15 columns per loan-month, and the event arrays
        n * float(window) * 200.0,
        f"a synthetic history of {n:,} loans over up to {window:,} months (n_loans, --loans)",
        "generate fewer loans or shorter terms",
    )
    rng = np.random.default_rng(seed)
    grade = rng.choice(len(names), size=n, p=shares).astype(np.int64)
    vint = rng.integers(0, vintages, size=n).astype(np.int64)
    n_term = np.asarray(terms, dtype=np.int64)[rng.integers(0, len(terms), size=n)]
    ptype = np.asarray(types, dtype=np.int64)[rng.integers(0, len(types), size=n)]
    b0 = np.maximum(np.round(median * np.exp(sigma * rng.standard_normal(n)), 2), 100.0)
    loan_rate = np.where(ptype == ANNUITY, float(rate), 0.0)

    # --- events: one loop over months, vectorised over loans ----------------------------
    max_term = int(n_term.max())
    ages = np.arange(1, max_term + 1)
    mdr_tab = np.stack([a.default.monthly_rates(ages) for a in per_grade])  # (G, M)
    smm_tab = np.stack([a.prepay.monthly_rates(ages) for a in per_grade])
    smm_tab = np.minimum(smm_tab, 1.0 - mdr_tab)  # the engine's cap
    lag = np.asarray([a.recovery_lag for a in per_grade], dtype=np.int64)
    severity = np.asarray([a.severity for a in per_grade])

    exit_age = n_term.copy()
    exit_type = np.full(n, _MATURED, dtype=np.int8)
    alive = np.ones(n, dtype=bool)
    for k in range(1, max_term + 1):
        u = rng.random(n)
        live = alive & (k <= n_term)
        d = mdr_tab[grade, k - 1]
        dflt = live & (u < d)
        prep = live & ~dflt & (u < d + smm_tab[grade, k - 1]) & (k < n_term)
        exit_age[dflt | prep] = k
        exit_type[dflt] = _DEFAULTED
        exit_type[prep] = _PREPAID
        alive &= ~(dflt | prep)

    defaulted_loan = exit_type == _DEFAULTED
    recovered_share = 1.0 - severity[grade]
    if recovery_concentration is not None:
        m = np.clip(recovered_share, 0.0, 1.0)
        interior = defaulted_loan & (m > 0) & (m < 1)
        c = float(recovery_concentration)
        draws = rng.beta(np.where(interior, m * c, 1.0), np.where(interior, (1 - m) * c, 1.0))
        recovered_share = np.where(interior, draws, m)

    # --- rows: loan-major, built in one go ----------------------------------------------
    last = exit_age + np.where(defaulted_loan, lag[grade], 0)
    if months is not None:
        last = np.minimum(last, int(months) - vint)
    n_rows = int(last.sum())
    loan_r = np.repeat(np.arange(n, dtype=np.int64), last)
    offsets = np.cumsum(last) - last
    age = np.arange(n_rows, dtype=np.int64) - np.repeat(offsets, last) + 1

    e = exit_age[loan_r]
    typ = exit_type[loan_r]
    t_r, p_r, r_r = n_term[loan_r], ptype[loan_r], loan_rate[loan_r]
    bal_r = b0[loan_r]
    a_prev = contract_factors(p_r, t_r, r_r, age - 1)
    a_cur = contract_factors(p_r, t_r, r_r, age)
    at_exit = age == e
    is_def = typ == _DEFAULTED
    begin = np.where(age <= e, bal_r * a_prev, 0.0)
    sched = np.where((age < e) | (at_exit & ~is_def), bal_r * (a_prev - a_cur), 0.0)
    prepaid = np.where(at_exit & (typ == _PREPAID), bal_r * a_cur, 0.0)
    defaulted = np.where(at_exit & is_def, bal_r * a_prev, 0.0)
    loan_default = b0 * contract_factors(ptype, n_term, loan_rate, exit_age - 1)
    rec_row = is_def & (age == e + lag[grade[loan_r]])
    recovered = np.where(rec_row, (recovered_share * loan_default)[loan_r], 0.0)

    to_default = e - age  # months until the default (negative after it)
    dpd = np.where(is_def & (to_default <= 3), 30 * (4 - to_default), 0)
    late = (age < e) & (dpd == 0) & (rng.random(n_rows) < delinquency)
    dpd = np.where(late, 15, dpd).astype(np.int32)

    labels = [str(first + v) for v in range(vintages)]
    frame = pd.DataFrame(
        {
            "loan_id": loan_r + 1,
            "grade": pd.Categorical.from_codes(grade[loan_r], categories=pd.Index(names)),
            "vintage": pd.Categorical.from_codes(vint[loan_r], categories=pd.Index(labels)),
            "age": age.astype(np.int32),
            "begin_balance": begin,
            "scheduled_principal": sched,
            "prepaid_amount": prepaid,
            "defaulted_amount": defaulted,
            "recovered_amount": recovered,
            "dpd": dpd,
        }
    )
    if contract_columns:
        frame["original_term"] = t_r.astype(np.int32)
        frame["payment_type"] = pd.Categorical.from_codes(p_r, categories=pd.Index(PAYMENT_TYPES))
        frame["original_balance"] = bal_r
        frame["rate"] = r_r
    return frame
