"""Early-warning flags, the watch list, flag counts and the default-multiplier overlay."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.errors import GradingError, SpecError
from abs_engine.grading import (
    FLAG_ANY,
    FLAG_INTERRUPTED,
    FLAG_PF_MISSING,
    FLAG_SPEND_SPIKE,
    FLAG_STATUS_CHANGES,
    FLAGS,
    EarlyWarningRules,
    default_multipliers,
    early_warning,
    flag_counts,
    grade,
    load_scorecard,
    watch_list,
)

COLS = ["pf_status", "pf_status_changes_12m", "pf_years", "spend_last_month", "spend_avg_6m"]


def tape(*rows: tuple[Any, ...], spend: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=COLS)
    frame.insert(0, "loan_id", [f"W{i:02d}" for i in range(len(frame))])
    if not spend:
        frame = frame.drop(columns=["spend_last_month", "spend_avg_6m"])
    return frame


QUIET = ("normal", 0, 5.0, 500.0, 500.0)


def test_flag_columns_and_index() -> None:
    frame = tape(QUIET, QUIET)
    frame.index = pd.Index([10, 20])
    flags = early_warning(frame)
    assert list(flags.columns) == list(FLAGS)
    assert list(flags.index) == [10, 20]
    assert all(pd.api.types.is_bool_dtype(t) for t in flags.dtypes)
    assert not flags.to_numpy().any()


@pytest.mark.parametrize(
    ("changes", "flagged"), [(0, False), (1, False), (2, True), (3, True), (None, False)]
)
def test_status_changes_flag_at_two_or_more(changes: Any, flagged: bool) -> None:
    flags = early_warning(tape(("normal", changes, 5.0, 0.0, 0.0)))
    assert bool(flags.loc[0, FLAG_STATUS_CHANGES]) is flagged


@pytest.mark.parametrize(
    ("status", "years", "flagged"),
    [
        ("normal", 5.0, False),
        ("suspended", 5.0, True),
        ("none", 3.0, True),  # stopped after contributing
        ("none", 0.0, False),  # never contributed: not an interruption
        (None, 3.0, False),
    ],
)
def test_interrupted_contribution(status: Any, years: float, flagged: bool) -> None:
    flags = early_warning(tape((status, 0, years, 0.0, 0.0)))
    assert bool(flags.loc[0, FLAG_INTERRUPTED]) is flagged


def test_none_with_history_can_be_switched_off() -> None:
    rules = EarlyWarningRules(none_with_history=False)
    flags = early_warning(tape(("none", 0, 3.0, 0.0, 0.0)), rules)
    assert not flags.loc[0, FLAG_INTERRUPTED]


@pytest.mark.parametrize(
    ("last", "avg", "flagged"),
    [
        (3000.0, 1000.0, True),  # 3x and +2,000
        (1500.0, 500.0, True),  # 3x and exactly +1,000 (the floor is inclusive)
        (2000.0, 1000.0, True),  # exactly 2x and +1,000
        (1999.0, 1000.0, False),  # just under 2x
        (900.0, 300.0, False),  # 3x but only +600
        (1200.0, 0.0, True),  # no baseline spend, +1,200
        (np.nan, 1000.0, False),  # no data, no spike
        (5000.0, np.nan, False),
    ],
)
def test_spend_spike_against_own_history(last: float, avg: float, flagged: bool) -> None:
    flags = early_warning(tape(("normal", 0, 5.0, last, avg)))
    assert bool(flags.loc[0, FLAG_SPEND_SPIKE]) is flagged
    assert bool(flags.loc[0, FLAG_ANY]) is flagged


def test_no_spend_columns_means_no_spike_and_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="abs_engine")
    flags = early_warning(tape(("normal", 0, 5.0, 0, 0), spend=False))
    assert not flags[FLAG_SPEND_SPIKE].any()
    assert any("no spending columns" in r.getMessage() for r in caplog.records)


def test_one_spend_column_alone_is_an_error() -> None:
    frame = tape(QUIET).drop(columns=["spend_avg_6m"])
    with pytest.raises(GradingError, match="'spend_avg_6m'"):
        early_warning(frame)


def test_missing_pf_columns_are_errors() -> None:
    with pytest.raises(GradingError, match="'pf_status_changes_12m'"):
        early_warning(tape(QUIET).drop(columns=["pf_status_changes_12m"]))


def test_missing_pf_record_is_flagged_explicitly() -> None:
    frame = tape(
        (None, 0, 5.0, 0.0, 0.0),
        ("normal", None, 5.0, 0.0, 0.0),
        ("frozen", 0, 5.0, 0.0, 0.0),  # unusable status
        ("normal", -1, 5.0, 0.0, 0.0),  # unusable count
        QUIET,
    )
    flags = early_warning(frame)
    assert flags[FLAG_PF_MISSING].tolist() == [True, True, True, True, False]
    assert flags[FLAG_ANY].tolist() == [True, True, True, True, False]
    off = early_warning(frame, EarlyWarningRules(flag_missing_pf=False))
    assert off[FLAG_PF_MISSING].tolist() == [True, True, True, True, False]
    assert not off[FLAG_ANY].any()


def test_rules_from_scorecard_toml_and_defaults() -> None:
    card = load_scorecard()
    assert card.early_warning == EarlyWarningRules()
    stricter = EarlyWarningRules.from_dict(
        {"status_changes_min": 1, "spend_spike_ratio": 1.5, "spend_spike_min_increase": 500}
    )
    row = ("normal", 1, 5.0, 1200.0, 700.0)  # 1 change; spend x1.71, +500
    flags = early_warning(tape(row), stricter)
    assert flags.loc[0, FLAG_STATUS_CHANGES]
    assert flags.loc[0, FLAG_SPEND_SPIKE]
    flags = early_warning(tape(row), card)  # the scorecard's (default) rules
    assert not flags.loc[0, FLAG_ANY]
    assert EarlyWarningRules.from_dict(stricter.to_dict()) == stricter


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"status_change_min": 2}, "early_warning.status_change_min"),
        ({"status_changes_min": 0}, "early_warning.status_changes_min"),
        ({"status_changes_min": 1.5}, "early_warning.status_changes_min"),
        ({"interrupted_statuses": ["normal", "stopped"]}, "early_warning.interrupted_statuses[1]"),
        ({"spend_spike_ratio": 1.0}, "early_warning.spend_spike_ratio"),
        ({"default_multiplier": 0}, "early_warning.default_multiplier"),
        ({"flag_missing_pf": "yes"}, "early_warning.flag_missing_pf"),
    ],
)
def test_rule_errors_name_key_path(data: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as info:
        EarlyWarningRules.from_dict(data)
    assert info.value.path == path


# --- watch list and counts -----------------------------------------------------------------


@pytest.fixture(scope="module")
def graded() -> pd.DataFrame:
    frame = ae.sample_pool(n=3_000, seed=21)
    return grade(frame)


def test_watch_list_holds_flagged_borrowers_without_pf_values(graded: pd.DataFrame) -> None:
    flags = early_warning(graded)
    watch = watch_list(graded, flags)
    assert len(watch) == int(flags[FLAG_ANY].sum()) > 0
    assert list(watch.columns) == [
        "row", "loan_id", "grade", "score", "balance", "reason_1",
        FLAG_STATUS_CHANGES, FLAG_INTERRUPTED, FLAG_SPEND_SPIKE, FLAG_PF_MISSING, "n_flags",
    ]  # fmt: skip
    assert not any(c.startswith("pf_") for c in watch.columns)
    assert "credit_limit" not in watch.columns  # a multiple of the contribution
    assert watch["loan_id"].tolist() == graded["loan_id"].iloc[watch["row"]].tolist()
    individual = watch[[FLAG_STATUS_CHANGES, FLAG_INTERRUPTED, FLAG_SPEND_SPIKE, FLAG_PF_MISSING]]
    np.testing.assert_array_equal(watch["n_flags"], individual.sum(axis=1))
    assert (watch["n_flags"] >= 1).all()
    # most flags first, then the lowest score
    keys = list(zip(-watch["n_flags"], watch["score"], watch["row"], strict=True))
    assert keys == sorted(keys)


def test_watch_list_computes_flags_when_not_given(graded: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(watch_list(graded), watch_list(graded, early_warning(graded)))


def test_watch_list_rejects_mismatched_flags(graded: pd.DataFrame) -> None:
    flags = early_warning(graded)
    with pytest.raises(GradingError, match="rows"):
        watch_list(graded.head(10), flags)


def test_flag_counts_by_grade(graded: pd.DataFrame) -> None:
    flags = early_warning(graded)
    table = flag_counts(flags, by=graded["grade"], balance=graded["balance"])
    assert list(table.index) == ["A", "B", "C", "Total"]
    assert table.index.name == "grade"
    assert table.loc["Total", "count"] == len(graded)
    for f in FLAGS:
        assert table.loc["Total", f] == int(flags[f].sum())
        assert table.loc[["A", "B", "C"], f].sum() == table.loc["Total", f]
    for g in ("A", "B", "C"):
        sel = graded["grade"] == g
        assert table.loc[g, "count"] == int(sel.sum())
        assert table.loc[g, FLAG_ANY] == int(flags.loc[sel, FLAG_ANY].sum())
        np.testing.assert_allclose(
            table.loc[g, "flagged_balance"],
            graded.loc[sel & flags[FLAG_ANY], "balance"].sum(),
            rtol=1e-12,
        )
    np.testing.assert_allclose(table["pct_flagged"], table[FLAG_ANY] / table["count"], rtol=1e-12)
    # riskier grades carry more warnings
    assert (
        table.loc["A", "pct_flagged"]
        < table.loc["B", "pct_flagged"]
        < table.loc["C", "pct_flagged"]
    )


def test_flag_counts_without_groups() -> None:
    flags = early_warning(tape(QUIET, ("suspended", 3, 5.0, 0.0, 0.0)))
    table = flag_counts(flags)
    assert list(table.index) == ["all", "Total"]
    assert table.loc["Total", FLAG_ANY] == 1
    assert table.loc["Total", "pct_flagged"] == pytest.approx(0.5, abs=1e-12)


# --- default multipliers ---------------------------------------------------------------


def test_default_multipliers_scalar_and_per_flag() -> None:
    frame = tape(
        QUIET,
        ("suspended", 0, 5.0, 0.0, 0.0),  # interrupted
        ("normal", 2, 5.0, 0.0, 0.0),  # status changes
        ("suspended", 3, 5.0, 0.0, 0.0),  # both
        (None, 0, 5.0, 0.0, 0.0),  # missing record
    )
    flags = early_warning(frame)
    np.testing.assert_allclose(default_multipliers(flags, 1.5), [1.0, 1.5, 1.5, 1.5, 1.5], rtol=0)
    per_flag = {FLAG_INTERRUPTED: 1.3, FLAG_STATUS_CHANGES: 1.8}
    # the strongest sign counts, flags the mapping omits do not move k
    np.testing.assert_allclose(
        default_multipliers(flags, per_flag), [1.0, 1.3, 1.8, 1.8, 1.0], rtol=0
    )
    out = default_multipliers(flags)
    assert out.dtype == np.float64
    assert out.shape == (5,)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), "2", {"ew_anything": 2.0}])
def test_default_multipliers_reject_bad_values(bad: Any) -> None:
    flags = early_warning(tape(QUIET))
    with pytest.raises(GradingError):
        default_multipliers(flags, bad)


def test_logs_hold_counts_only(graded: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="abs_engine")
    early_warning(graded)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "borrowers flagged" in text
    assert "R0" not in text  # no loan id
