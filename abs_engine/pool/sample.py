"""A deterministic, realistic sample tape of consumer receivables.

The kind of book a BNPL / instalment lender securitises: flat-fee instalment
plans (等本等费) over 3, 6, 12 and 24 months, 30-day interest-free bills, and
some annuity cash loans; grades A/B/C, seasoned, a few delinquent, with
provident-fund fields consistent with the grade.  Every parameter is in
:class:`SamplePoolSpec` and documented in ``pools/README.md``; the same seed
and spec give the same tape, byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from abs_engine._budget import check_memory
from abs_engine.errors import TapeError
from abs_engine.io import write_frame

__all__ = ["SamplePoolSpec", "sample_pool", "write_tape"]


@dataclass(frozen=True)
class GradeProfile:
    """How receivables of one grade look."""

    count_share: float
    fee_rates: tuple[float, ...]  # monthly flat fee, on original balance
    cash_loan_rates: tuple[float, ...]  # annual, annuity cash loans
    delinquent_share: float  # share of seasoned receivables past due at cut-off
    pf_status_probs: tuple[float, float, float]  # normal, suspended, none
    pf_contribution_median: float  # RMB a month
    pf_years_mean: float
    pf_changes_probs: tuple[float, ...]  # P(0), P(1), P(2), P(3) status changes in 12m


@dataclass(frozen=True)
class SamplePoolSpec:
    """Parameters of the sample tape (see ``pools/README.md``)."""

    cutoff: str = "2015-09-30"
    grades: dict[str, GradeProfile] = field(
        default_factory=lambda: {
            "A": GradeProfile(
                0.55,
                (0.005, 0.006),
                (0.108, 0.12),
                0.01,
                (0.97, 0.03, 0.0),
                1500.0,
                7.0,
                (0.90, 0.10, 0.0, 0.0),
            ),
            "B": GradeProfile(
                0.30,
                (0.007, 0.008),
                (0.15, 0.18),
                0.03,
                (0.85, 0.10, 0.05),
                800.0,
                4.0,
                (0.70, 0.25, 0.05, 0.0),
            ),
            "C": GradeProfile(
                0.15,
                (0.009, 0.010),
                (0.216, 0.24),
                0.06,
                (0.55, 0.25, 0.20),
                400.0,
                2.0,
                (0.40, 0.35, 0.17, 0.08),
            ),
        }
    )
    #: Product mix by count: 30-day bills, flat-fee instalments, annuity cash loans.
    product_shares: tuple[float, float, float] = (0.35, 0.55, 0.10)
    instalment_terms: tuple[int, ...] = (3, 6, 12, 24)
    instalment_term_probs: tuple[float, ...] = (0.30, 0.30, 0.25, 0.15)
    cash_loan_terms: tuple[int, ...] = (6, 12, 24, 36)
    cash_loan_term_probs: tuple[float, ...] = (0.20, 0.40, 0.30, 0.10)
    #: Log-normal original balances: (median, sigma, cap) per product.
    bill_balance: tuple[float, float, float] = (600.0, 0.8, 5_000.0)
    instalment_balance: tuple[float, float, float] = (3_000.0, 0.8, 30_000.0)
    cash_loan_balance: tuple[float, float, float] = (10_000.0, 0.6, 50_000.0)
    #: Share of receivables whose provident-fund record is missing on the tape.
    pf_missing_share: float = 0.005
    #: Days-past-due buckets for delinquent receivables: 1-30, 31-60, 61-90.
    dpd_bucket_probs: tuple[float, float, float] = (0.60, 0.25, 0.15)


def _lognormal(rng: np.random.Generator, n: int, params: tuple[float, float, float]) -> np.ndarray:
    median, sigma, cap = params
    return np.minimum(np.round(median * np.exp(sigma * rng.standard_normal(n)), 0), cap).clip(100.0)


def sample_pool(
    n: int = 100_000, seed: int = 7, spec: SamplePoolSpec | None = None
) -> pd.DataFrame:
    """Generate the sample tape.

    Parameters
    ----------
    n : int
        Number of receivables.
    seed : int
        Seed of the random generator (PCG64).
    spec : SamplePoolSpec, optional
        Generator parameters; the defaults are documented in ``pools/README.md``.

    Returns
    -------
    pandas.DataFrame
        One row per receivable with every tape column, sorted by ``loan_id``.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise TapeError(f"sample pool size must be a whole number >= 1; got {n!r}")
    check_memory(  # sixteen columns, a loan id and the temporaries that build them
        int(n) * 600.0,
        f"a sample tape of {int(n):,} receivables (n, --n)",
        "generate fewer receivables",
    )
    spec = spec or SamplePoolSpec()
    rng = np.random.Generator(np.random.PCG64(seed))
    names = list(spec.grades)
    profiles = [spec.grades[g] for g in names]
    shares = np.array([p.count_share for p in profiles])
    grade = rng.choice(len(names), size=n, p=shares / shares.sum())
    product = rng.choice(3, size=n, p=np.asarray(spec.product_shares) / sum(spec.product_shares))
    bill, inst, cash = product == 0, product == 1, product == 2

    original_term = np.ones(n, dtype=np.int64)
    original_term[inst] = rng.choice(
        spec.instalment_terms, size=int(inst.sum()), p=spec.instalment_term_probs
    )
    original_term[cash] = rng.choice(
        spec.cash_loan_terms, size=int(cash.sum()), p=spec.cash_loan_term_probs
    )
    age = np.where(bill, 0, np.floor(rng.random(n) * original_term).astype(np.int64))
    remaining_term = original_term - age

    ob = np.empty(n)
    ob[bill] = _lognormal(rng, int(bill.sum()), spec.bill_balance)
    ob[inst] = _lognormal(rng, int(inst.sum()), spec.instalment_balance)
    ob[cash] = _lognormal(rng, int(cash.sum()), spec.cash_loan_balance)

    fee_rate = np.full(n, np.nan)
    rate = np.zeros(n)
    for gi, prof in enumerate(profiles):
        gm = grade == gi
        m = gm & inst
        fee_rate[m] = rng.choice(prof.fee_rates, size=int(m.sum()))
        m = gm & cash
        rate[m] = rng.choice(prof.cash_loan_rates, size=int(m.sum()))
    rate[inst] = np.nan  # flat-fee plans carry their charge in fee_rate

    balance = ob.copy()
    balance[inst] = np.round(ob[inst] * remaining_term[inst] / original_term[inst], 2)
    i = rate[cash] / 12.0
    nn, k = original_term[cash], age[cash]
    growth_n, growth_k = (1.0 + i) ** nn, (1.0 + i) ** k
    balance[cash] = np.round(ob[cash] * (growth_n - growth_k) / (growth_n - 1.0), 2)
    payment_type = np.array(["bullet", "flat_fee", "annuity"], dtype=object)[product]

    delinquent_p = np.array([p.delinquent_share for p in profiles])[grade]
    delinquent = (age >= 1) & (rng.random(n) < delinquent_p)
    bucket = rng.choice(3, size=n, p=spec.dpd_bucket_probs)
    dpd = np.where(delinquent, bucket * 30 + 1 + np.floor(rng.random(n) * 30).astype(np.int64), 0)

    status_p = np.array([p.pf_status_probs for p in profiles])[grade]
    status = (rng.random(n)[:, None] > np.cumsum(status_p, axis=1)).sum(axis=1).clip(0, 2)
    median = np.array([p.pf_contribution_median for p in profiles])[grade]
    contribution = np.round(median * np.exp(0.5 * rng.standard_normal(n)), 0).clip(100.0, 12_000.0)
    years = np.round(
        rng.gamma(2.0, np.array([p.pf_years_mean for p in profiles])[grade] / 2.0), 1
    ).clip(0.0, 35.0)
    change_p = np.array(
        [np.pad(p.pf_changes_probs, (0, 4 - len(p.pf_changes_probs))) for p in profiles]
    )[grade]
    changes = (rng.random(n)[:, None] > np.cumsum(change_p, axis=1)).sum(axis=1).clip(0, 3)
    none = status == 2
    contribution[none] = 0.0
    years[none] = 0.0
    changes[none] = 0
    missing = rng.random(n) < spec.pf_missing_share

    cutoff_month = np.datetime64(spec.cutoff[:7], "M")
    day = np.floor(rng.random(n) * 28).astype(np.int64)
    orig_dates = (cutoff_month - age).astype("datetime64[D]") + day

    width = max(8, len(str(n)))
    frame = pd.DataFrame(
        {
            "loan_id": [f"R{j:0{width}d}" for j in range(1, n + 1)],
            "grade": np.asarray(names, dtype=object)[grade],
            "balance": balance,
            "rate": rate,
            "original_term": original_term.astype(np.int32),
            "remaining_term": remaining_term.astype(np.int32),
            "payment_type": payment_type,
            "fee_rate": fee_rate,
            "original_balance": ob,
            "age": age.astype(np.int32),
            "origination_date": orig_dates,
            "dpd": dpd.astype(np.int32),
            "pf_monthly_contribution": np.where(missing, np.nan, contribution),
            "pf_status": np.where(
                missing, None, np.array(["normal", "suspended", "none"], dtype=object)[status]
            ),
            "pf_years": np.where(missing, np.nan, years),
            "pf_status_changes_12m": pd.array(np.where(missing, -1, changes), dtype="Int32"),
        }
    )
    frame.loc[missing, "pf_status_changes_12m"] = pd.NA
    return frame


def write_tape(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a tape atomically as parquet, CSV or Excel (by the file's suffix).

    Text cells never become spreadsheet formulas (see :func:`abs_engine.io.write_frame`).
    """
    return write_frame(frame, path, error=TapeError)
