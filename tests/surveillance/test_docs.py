"""docs/surveillance.md states the servicer schema the reader enforces."""

from __future__ import annotations

import re
from pathlib import Path

from abs_engine.surveillance import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, SERVICER_COLUMNS

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "surveillance.md").read_text(
    encoding="utf-8"
)


def test_the_schema_table_is_the_readers() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (yes|no) \|", PAGE, flags=re.M)
    assert [name for name, _ in rows] == list(SERVICER_COLUMNS)
    assert [n for n, req in rows if req == "yes"] == list(REQUIRED_COLUMNS)
    assert [n for n, req in rows if req == "no"] == list(OPTIONAL_COLUMNS)
