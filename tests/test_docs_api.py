"""docs/api.md names only what exists: attributes of the run, sections of docs/outputs.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import abs_engine as ae

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE = (DOCS / "api.md").read_text(encoding="utf-8")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_to_the_glossary_resolve() -> None:
    outputs = (DOCS / "outputs.md").read_text(encoding="utf-8")
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", outputs, flags=re.M)}
    links = re.findall(r"\(outputs\.md#([\w\-]+)\)", PAGE)
    assert links
    for link in links:
        assert link in anchors, link


@pytest.fixture(scope="module")
def result() -> ae.AnalysedRun:
    block = re.search(r"```python\n(.*?)```", PAGE, flags=re.S)
    assert block
    scope: dict[str, object] = {}
    exec(block.group(1).replace("20_000", "2_000"), scope)
    out = scope["result"]
    assert isinstance(out, ae.AnalysedRun)
    return out


def test_every_attribute_named_exists(result: ae.AnalysedRun) -> None:
    names = set(re.findall(r"`result\.(\w+)", PAGE))
    assert {"summary", "tranche_cashflows", "accounts", "triggers", "ledger"} <= names
    for name in names:
        assert hasattr(result, name), name
    for name in ("tranche_cashflows", "pool_cashflows", "fees", "accounts", "triggers", "ledger"):
        assert len(getattr(result, name)) > 0, name
    assert set(result.triggers.columns) == {"scenario", "period", "date", *result.trigger_names}
