"""A surveillance cycle with triggers that breach, for the trustee-report tests."""

from __future__ import annotations

from pathlib import Path

import abs_engine as ae
from abs_engine.surveillance import Deterioration, Surveillance, surveil, synthetic_servicer_history

ROOT = Path(__file__).resolve().parents[2]


def trustee_cycle(months: int = 9) -> tuple[Surveillance, ae.Pool]:
    """The Baitiao sample deal on a 3,000-receivable pool, ``months`` of a history whose
    defaults treble from month 4 (its excess-spread trigger breaches from period 3 or 4,
    after two or three clear payment dates; the servicer gives receivable counts), with the pool as the current tape."""
    deal = ae.load_deal(ROOT / "waterfalls" / "baitiao_2015.toml")
    pool = ae.Pool.from_frame(ae.sample_pool(n=3000, seed=3))
    history = synthetic_servicer_history(
        deal,
        pool,
        months=months,
        seed=1,
        noise=0.05,
        deterioration=Deterioration(start=4, default_mult=3.0),
    )
    return surveil(deal, history, pool=pool, tape=pool, mc_paths=60, seed=1), pool
