"""Stress scenarios: grids, recovery haircuts, named sets, tables from files, concatenation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import stress
from abs_engine.errors import ScenarioError, SpecError

WATERFALLS = ae.samples.DATA_DIR / "waterfalls"


@pytest.fixture(scope="module")
def deal() -> ae.Deal:
    return ae.load_deal(WATERFALLS / "baitiao_2015.toml")


def test_grid_is_the_cartesian_product() -> None:
    t = stress.grid(default_mult=[1, 2, 3], prepay_mult=[0.5, 1.5], recovery_lag_shift=[0, 2])
    assert len(t) == 12
    assert t.names[0] == "default_mult=1,prepay_mult=0.5,recovery_lag_shift=0"
    assert t.names[-1] == "default_mult=3,prepay_mult=1.5,recovery_lag_shift=2"
    f = t.to_frame()
    assert set(f["group"]) == {"grid"}
    # The last axis varies fastest.
    np.testing.assert_array_equal(f["recovery_lag_shift"][:4], [0, 2, 0, 2])
    np.testing.assert_array_equal(f["default_mult"][:4], [1, 1, 1, 1])
    cells = zip(f["default_mult"], f["prepay_mult"], f["recovery_lag_shift"], strict=True)
    assert len(set(cells)) == 12
    assert t.metadata["axes"]["prepay_mult"] == [0.5, 1.5]


def test_no_axes_is_the_base_case() -> None:
    t = stress.grid()
    assert len(t) == 1 and t.names[0] == "base"


def test_recovery_haircut_cuts_the_recovery_rate(deal: ae.Deal) -> None:
    """severity' = 1 - (1 - severity)(1 - h), applied through per-grade severity multipliers."""
    t = stress.grid(default_mult=[2], recovery_haircut=[0.0, 0.5], severities=deal)
    sev = {g: deal.assumptions.for_grade(g).severity for g in ("A", "B", "C")}
    assert sev == {"A": 0.85, "B": 0.88, "C": 0.92}
    for g, s in sev.items():
        mult = t.scenarios.grade_levers[("severity_mult", g)]
        np.testing.assert_allclose(mult[0], 1.0, rtol=1e-15)
        np.testing.assert_allclose(s * mult[1], 1 - (1 - s) * 0.5, rtol=1e-14)
    np.testing.assert_array_equal(t.info["recovery_haircut"], [0.0, 0.5])


def test_haircut_on_top_of_a_severity_multiplier() -> None:
    per = stress.haircut_multipliers({"A": 0.5}, [0.2], severity_mult=[1.2])
    # severity 0.5 x 1.2 = 0.6, recovery 0.4 cut by 20% -> 0.32, severity 0.68.
    np.testing.assert_allclose(0.5 * per["A"], [0.68], rtol=1e-14)
    capped = stress.haircut_multipliers({"A": 0.9}, [0.5], severity_mult=[2.0])
    np.testing.assert_allclose(0.9 * capped["A"], [1.0], rtol=1e-14)


def test_haircut_errors(deal: ae.Deal) -> None:
    with pytest.raises(ScenarioError, match="severities"):
        stress.grid(recovery_haircut=[0.5])
    with pytest.raises(ScenarioError, match=r"\[0, 1\]"):
        stress.grid(recovery_haircut=[1.5], severities=deal)
    with pytest.raises(ScenarioError, match="severity 0"):
        stress.haircut_multipliers({"A": 0.0}, [0.3])


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ({"default_mult": [-1.0]}, "between 0 and"),
        ({"recovery_lag_shift": [0.5]}, "whole months"),
        ({"prepay_mult": [1.0, 1.0]}, "repeats"),
        ({"default_mult": []}, "no values"),
        ({"default_mult": [np.nan]}, "finite"),
    ],
)
def test_grid_rejects_bad_levels(axes: dict[str, list[float]], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        stress.grid(**axes)  # type: ignore[arg-type]


def test_shipped_named_sets(deal: ae.Deal) -> None:
    sets = stress.load_stress_sets()
    assert {"base", "moderate", "severe"} <= set(sets)
    base = stress.named_set("base", deal)
    assert len(base) == 1 and base.to_frame().iloc[0]["default_mult"] == 1.0
    moderate = stress.named_set("moderate", deal)
    row = moderate.to_frame().iloc[0]
    assert row["default_mult"] == 2.0 and row["prepay_mult"] == 0.75
    assert row["recovery_lag_shift"] == 1 and row["group"] == "set:moderate"
    np.testing.assert_allclose(0.92 * row["severity_mult[C]"], 1 - 0.08 * 0.75, rtol=1e-14)
    severe = stress.named_set("severe", deal).scenarios
    m = severe.multipliers("default_mult", ["A", "B", "C"])
    np.testing.assert_array_equal(m, [[4.0, 4.0, 5.0]])


def test_named_sets_with_haircuts_need_the_deal() -> None:
    with pytest.raises(ScenarioError, match="pass the deal"):
        stress.named_set("moderate")
    assert len(stress.named_set("base")) == 1  # no haircut: no severities needed


def test_unknown_named_set_suggests() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'severe'"):
        stress.named_set("sever")


def test_user_sets_override_and_add(tmp_path: Path, deal: ae.Deal) -> None:
    user = tmp_path / "sets.toml"
    user.write_text(
        """
[moderate]
description = "house view"
[[moderate.scenarios]]
name = "house_moderate"
default_mult = 1.5

[liquidity]
description = "slow prepayment"
[[liquidity.scenarios]]
name = "slow"
prepay_mult = 0.25
[[liquidity.scenarios]]
name = "slower"
prepay_mult = 0.1
recovery_lag_shift = 6
""",
        encoding="utf-8",
    )
    sets = stress.load_stress_sets(user)
    assert sets["moderate"].description == "house view"
    assert "severe" in sets  # shipped sets not named stay
    liquidity = stress.named_set("liquidity", deal, path=user)
    assert list(liquidity.names) == ["slow", "slower"]
    assert list(liquidity.to_frame()["recovery_lag_shift"]) == [0, 6]


def test_user_sets_unknown_key_names_its_path(tmp_path: Path) -> None:
    user = tmp_path / "sets.toml"
    user.write_text('[x]\n[[x.scenarios]]\nname = "a"\ndefault_mul = 2\n', encoding="utf-8")
    with pytest.raises(
        SpecError, match=r"x\.scenarios\[0\]\.default_mul.*did you mean 'default_mult'"
    ):
        stress.load_stress_sets(user)
    with pytest.raises(SpecError, match="not found"):
        stress.load_stress_sets(tmp_path / "missing.toml")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scenario_table_from_file(tmp_path: Path, suffix: str, deal: ae.Deal) -> None:
    frame = pd.DataFrame(
        {
            "scenario": ["a", "b", "c"],
            "default_mult": [1.0, 2.0, 3.0],
            "default_mult[C]": [1.0, 2.5, 4.0],
            "prepay_mult": [1.0, 0.5, 0.5],
            "recovery_haircut": [0.0, 0.25, 0.5],
        }
    )
    path = tmp_path / f"table{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    t = stress.read_scenarios(path, deal)
    assert list(t.names) == ["a", "b", "c"]
    assert set(t.group) == {"table"}
    m = t.scenarios.multipliers("default_mult", ["A", "C"])
    np.testing.assert_array_equal(m, [[1.0, 1.0], [2.0, 2.5], [3.0, 4.0]])
    sev = t.scenarios.multipliers("severity_mult", ["B"])[:, 0]
    np.testing.assert_allclose(0.88 * sev, 1 - 0.12 * (1 - frame["recovery_haircut"]), rtol=1e-14)


def test_scenario_table_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"scenario": ["a"], "default_mul": [2.0]}).to_csv(path, index=False)
    with pytest.raises(ScenarioError, match="did you mean 'default_mult'"):
        stress.read_scenarios(path)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ScenarioError, match=r"use \.parquet, \.pq, \.csv, \.xlsx"):
        stress.read_scenarios(tmp_path / "x.json")
    with pytest.raises(ScenarioError, match="scenario table not found"):
        stress.read_scenarios(tmp_path / "missing.csv")


def test_concat_fills_per_grade_levers(deal: ae.Deal) -> None:
    g = stress.grid(default_mult=[2.0, 3.0])
    s = stress.named_set("severe", deal)
    t = stress.concat(g, s)
    assert list(t.group) == ["grid", "grid", "set:severe"]
    m = t.scenarios.multipliers("default_mult", ["A", "C"])
    np.testing.assert_array_equal(m, [[2.0, 2.0], [3.0, 3.0], [4.0, 5.0]])
    frame = t.to_frame()
    assert np.isnan(frame["recovery_haircut"].iloc[0]) and frame["recovery_haircut"].iloc[2] == 0.5
    with pytest.raises(ScenarioError, match="unique"):
        stress.concat(g, g)


def test_table_slicing_keeps_groups_and_info(deal: ae.Deal) -> None:
    t = stress.concat(stress.grid(default_mult=[1, 2, 3]), stress.named_set("moderate", deal))
    part = t[2:]
    assert list(part.names) == ["default_mult=3", "moderate"]
    assert list(part.group) == ["grid", "set:moderate"]
    np.testing.assert_array_equal(np.isnan(part.info["recovery_haircut"]), [True, False])
    again = stress.ScenarioTable.from_frame(t.to_frame(), info=list(t.info))
    pd.testing.assert_frame_equal(again.to_frame(), t.to_frame())


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("1:6:0.5", [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6]),
        ("0:1:0.3", [0, 0.3, 0.6, 0.9]),
        ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
        ("0.5, 1,1.5", [0.5, 1, 1.5]),
        ("2", [2]),
    ],
)
def test_parse_levels(text: str, levels: list[float]) -> None:
    assert stress.parse_levels(text) == levels


@pytest.mark.parametrize("text", ["", "1:2", "1:x:1", "3:1:1", "1:2:0", "a,b", "nan"])
def test_parse_levels_rejects(text: str) -> None:
    with pytest.raises(ScenarioError):
        stress.parse_levels(text)
