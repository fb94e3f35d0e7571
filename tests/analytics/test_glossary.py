"""docs/outputs.md is generated from the glossary, and the glossary matches the code.

Each documented table is produced by the call that makes it (on the tiny deal)
and its columns must be exactly the documented ones, in order; the Markdown
file must equal what the glossary renders now.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.deals import tiny_deal, tiny_pool
from support.switch_deal import POOL, switch_deal

import abs_engine as ae
from abs_engine import analytics
from abs_engine.analytics.glossary import TABLES, glossary_markdown

DOC = Path(__file__).parents[2] / "docs" / "outputs.md"


@pytest.fixture(scope="module")
def frames() -> dict[str, list[str]]:
    r = ae.run(tiny_deal(), tiny_pool(), ae.ScenarioSet.grid(default_mult=[1.0, 2.0]))
    curve = analytics.ZeroCurve.flat(0.02, compounding=12)
    sized = analytics.size(switch_deal(), POOL, {"A": 1.0}, tolerance=1e-2)
    out: dict[str, pd.DataFrame | pd.Series] = {
        "summary": r.summary(),
        "sources_and_uses": r.sources_and_uses(),
        "prices_from_yields": r.prices_from_yields(0.05),
        "price_yield": analytics.price_yield(r, (100.0,)),
        "coverage": r.coverage(),
        "z_spreads": r.z_spreads(curve),
        "breakeven": analytics.breakeven(switch_deal(), POOL, ["B"]),
        "sizing": sized.tranches,
        "sizing_summary": sized.summary(),
        "scenario_comparison": analytics.scenario_comparison(r),
        "tranche_cashflows": r.tranche_cashflows,
        "pool_cashflows": r.pool_cashflows,
        "accounts": r.accounts,
        "fees": r.fees,
        "ledger": r.ledger,
    }
    return {
        k: list(v.index) if isinstance(v, pd.Series) else [str(c) for c in v.columns]
        for k, v in out.items()
    }


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.key)
def test_each_table_has_exactly_the_documented_columns(
    table: analytics.glossary.OutputTable, frames: dict[str, list[str]]
) -> None:
    assert table.key in frames, f"no producer for {table.key} in this test"
    assert [c.name for c in table.columns] == frames[table.key]
    for c in table.columns:
        assert c.definition and "(undocumented)" not in c.definition, (table.key, c.name)
        assert c.units, (table.key, c.name)


def test_every_convention_bearing_column_states_its_convention() -> None:
    for t in TABLES:
        for c in t.columns:
            if c.name in ("yield", "z_spread", "wal", "equity_irr", "accrued_interest"):
                assert c.convention, (t.key, c.name)


def test_outputs_md_is_current() -> None:
    assert DOC.read_text() == glossary_markdown(), (
        "docs/outputs.md is stale: python -m abs_engine.analytics.glossary > docs/outputs.md"
    )
