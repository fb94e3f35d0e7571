"""A history that crosses each trigger's threshold breaches it in the right period.

The deal: a pool of 1,000 paying 80 a month, senior 600 at 6%, mezzanine 200 at 12%,
equity 200, no fees, no PDL cure (interest: senior, mezzanine, residual; principal
sequential), payments monthly from March 2020 collecting the previous month.  Each
case is worked by hand in its docstring.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support.deals import tiny_deal
from support.servicer import servicer_frame

import abs_engine as ae
from abs_engine.deal import Trigger
from abs_engine.surveillance import surveil

START = dt.date(2020, 2, 1)


def _deal(trigger: Trigger) -> ae.Deal:
    return tiny_deal(
        triggers=(trigger,),
        interest=["interest:senior", "interest:mezzanine", "residual"],
        principal=["principal:senior", "principal:mezzanine", "principal:equity", "residual"],
    )


def _months(n: int, **changes: dict[int, float]) -> list[dict[str, float]]:
    """``n`` months of 80 scheduled principal and 10 interest; ``changes[field][month]``."""
    out = [{"scheduled_principal": 80.0, "interest": 10.0} for _ in range(n)]
    for field, by_month in changes.items():
        for m, v in by_month.items():
            out[m - 1][field] = v
    return out


def _first_breach(table: pd.DataFrame, column: str = "breached") -> int | None:
    hit = table[table[column]]
    return int(hit["period"].iloc[0]) if len(hit) else None


def _run(trigger: Trigger, months: list[dict[str, Any]]) -> pd.DataFrame:
    s = surveil(_deal(trigger), servicer_frame(START, 1000.0, months), mc_paths=0)
    table = s.tables["triggers"]
    assert list(table["trigger"].unique()) == [trigger.name]
    assert len(table) == s.n_periods  # one row per trigger and period
    # The table's test is the engine's: the state follows it (non-curable: once breached).
    np.testing.assert_array_equal(table["breached"], np.maximum.accumulate(table["tested_breach"]))
    return table


def test_cumulative_default() -> None:
    """Defaults of 10, 10, 10 and 15 in February to May: cumulative 1%, 2%, 3%, then
    4.5% > 4% on the fourth payment date."""
    t = _run(
        Trigger("cdr", "cumulative_default", ("sequential",), level=0.04),
        _months(6, default={1: 10.0, 2: 10.0, 3: 10.0, 4: 15.0}),
    )
    np.testing.assert_allclose(t["value"], [0.01, 0.02, 0.03, 0.045, 0.045, 0.045])
    assert _first_breach(t) == 4
    np.testing.assert_allclose(t["headroom"].iloc[2], 0.01)


def test_oc() -> None:
    """OC of the senior notes (pool + reserve) / senior, breached below 1.2.  The pool pays
    80 a month, all to the senior: 920 / 520 = 1.77, 840 / 440 = 1.91; in month 3 a default
    of 350 leaves a pool of 410, and the rated classes (440 + 200) would be written down: the
    spread left after interest (10 - 2.2 - 2.0 = 5.8) is not residual but moves to the
    principal funds (docs/waterfall.md step 7, `reimburse_writedowns`), so the senior ends
    at 440 - 80 - 5.8 = 354.2: 410 / 354.2 = 1.158 < 1.2, period 3."""
    t = _run(
        Trigger("oc_senior", "oc", ("sequential",), level=1.2, tranche="senior"),
        _months(5, default={3: 350.0}),
    )
    np.testing.assert_allclose(t["value"].iloc[:3], [920 / 520, 840 / 440, 410 / 354.2])
    assert _first_breach(t) == 3


def test_ic() -> None:
    """IC of the mezzanine: interest collections / (senior + mezzanine interest due), below
    1.5.  Period 1: 10 / (3 + 2) = 2; period 2 collects only 5 against 2.6 + 2 = 4.6: 1.087."""
    t = _run(
        Trigger("ic_mezz", "ic", ("sequential",), level=1.5, tranche="mezzanine"),
        _months(4, interest={2: 5.0}),
    )
    np.testing.assert_allclose(t["value"].iloc[:2], [2.0, 5.0 / 4.6])
    assert _first_breach(t) == 2


def test_excess_spread() -> None:
    """Two-period average excess spread below 5%: (revenue - note interest) / pool x 12.
    Period 1: (10 - 5) / 1000 x 12 = 6%, period 2: (10 - 4.6) / 920 x 12 = 7.04%; period 3
    collects no interest: (0 - 4.2) / 840 x 12 = -6%, average 0.52% < 5%: period 3."""
    t = _run(
        Trigger("es", "excess_spread", ("divert_excess_spread",), level=0.05, periods=2),
        _months(5, interest={3: 0.0}),
    )
    es = [0.06, 5.4 / 920 * 12, -4.2 / 840 * 12]
    assert np.isnan(t["value"].iloc[0])
    np.testing.assert_allclose(t["value"].iloc[1:3], [(es[0] + es[1]) / 2, (es[1] + es[2]) / 2])
    assert _first_breach(t) == 3


def test_interest_shortfall() -> None:
    """No interest at all in month 3 and no reserve: the senior interest of the third
    payment date, 440 x 0.5% = 2.20 (600 less two payments of 80), goes unpaid."""
    t = _run(
        Trigger("eod", "interest_shortfall", ("post_default",), tranche="senior"),
        _months(5, interest={3: 0.0}),
    )
    np.testing.assert_allclose(t["value"].iloc[:3], [0.0, 0.0, 2.2])
    assert _first_breach(t) == 3


@pytest.mark.parametrize("curable", [True, False])
def test_a_curable_trigger_cures(curable: bool) -> None:
    """The IC dips in period 2 only: a curable trigger is breached in period 2 alone."""
    trig = Trigger("ic", "ic", ("sequential",), level=1.5, tranche="mezzanine", curable=curable)
    s = surveil(
        _deal(trig), servicer_frame(START, 1000.0, _months(4, interest={2: 5.0})), mc_paths=0
    )
    t = s.tables["triggers"]
    assert t["tested_breach"].tolist() == [False, True, False, False]
    assert t["breached"].tolist() == (
        [False, True, False, False] if curable else [False, True, True, True]
    )
