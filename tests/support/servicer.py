"""Servicer tables built month by month for the surveillance tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

FLOWS = ("scheduled_principal", "prepayment", "default", "interest", "fee", "recovery")


def month_ends(first: dt.date, n: int) -> list[dt.date]:
    """``n`` month ends from the month of ``first``."""
    out = []
    y, m = first.year, first.month
    for _ in range(n):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(dt.date(ny, nm, 1) - dt.timedelta(days=1))
        y, m = ny, nm
    return out


def servicer_frame(
    start: dt.date,
    opening: float,
    months: Sequence[dict[str, float]],
    grade: str = "A",
    **extra: Sequence[float],
) -> pd.DataFrame:
    """One grade's servicer rows: each month's flows; balances rolled forward.

    ``end = begin + purchases - scheduled - prepayment - default``, and the next
    month begins where this one ended.
    """
    rows: list[dict[str, Any]] = []
    begin = opening
    for d, flows in zip(month_ends(start, len(months)), months, strict=True):
        row: dict[str, Any] = {"period_end": d, "grade": grade, "begin_balance": begin}
        row.update({f: float(flows.get(f, 0.0)) for f in FLOWS})
        bought = float(flows.get("purchases", 0.0))
        if "purchases" in flows:
            row["purchases"] = bought
        if "loss" in flows:
            row["loss"] = float(flows["loss"])
        end = begin + bought - row["scheduled_principal"] - row["prepayment"] - row["default"]
        row["end_balance"] = end
        rows.append(row)
        begin = end
    frame = pd.DataFrame(rows)
    for col in ("purchases", "loss"):
        if col in frame.columns:
            frame[col] = frame[col].fillna(0.0)
    for col, values in extra.items():
        frame[col] = list(values)
    return frame
