"""Deals: the specification, its TOML form, the waterfall engine and its results."""

from abs_engine.deal.engine import run
from abs_engine.deal.results import Ledger, RunResult
from abs_engine.deal.spec import (
    CleanUpCall,
    Coupon,
    Deal,
    DealDates,
    DealState,
    Fee,
    PoolSpec,
    Reserve,
    Revolving,
    Step,
    TemplateLine,
    Tranche,
    Trigger,
    Waterfall,
    deal_from_dict,
    deal_to_dict,
    load_deal,
    write_deal,
)

__all__ = [
    "CleanUpCall",
    "Coupon",
    "Deal",
    "DealDates",
    "DealState",
    "Fee",
    "Ledger",
    "PoolSpec",
    "Reserve",
    "Revolving",
    "RunResult",
    "Step",
    "TemplateLine",
    "Tranche",
    "Trigger",
    "Waterfall",
    "deal_from_dict",
    "deal_to_dict",
    "load_deal",
    "run",
    "write_deal",
]
