"""Scenario sets: grids, tables, per-grade levers, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import Scenario, ScenarioSet


def test_grid_is_the_cartesian_product() -> None:
    s = ScenarioSet.grid(default_mult=[1, 2, 3], prepay_mult=[0.5, 1.5])
    assert len(s) == 6
    frame = s.to_frame()
    assert list(frame["default_mult"]) == [1, 1, 2, 2, 3, 3]
    assert list(frame["prepay_mult"]) == [0.5, 1.5] * 3
    assert s.names[0] == "default_mult=1,prepay_mult=0.5"
    assert (
        len(
            ScenarioSet.grid(default_mult=[1, 2], severity_mult=[1, 1.2], recovery_lag_shift=[0, 3])
        )
        == 8
    )


def test_grid_rejects_unknown_lever() -> None:
    with pytest.raises(ae.ScenarioError, match="did you mean 'default_mult'"):
        ScenarioSet.grid(default_mul=[1, 2])


def test_from_frame_and_per_grade_columns() -> None:
    frame = pd.DataFrame(
        {"scenario": ["base", "stress"], "default_mult": [1.0, 2.0], "default_mult[C]": [1.0, 3.0]}
    )
    s = ScenarioSet.from_frame(frame)
    np.testing.assert_allclose(s.multipliers("default_mult", ["A", "C"]), [[1, 1], [2, 3]])
    np.testing.assert_allclose(s.multipliers("prepay_mult", ["A", "C"]), 1.0)
    with pytest.raises(ae.ScenarioError, match="unknown column 'prepay'"):
        ScenarioSet.from_frame(pd.DataFrame({"prepay": [1.0]}))
    with pytest.raises(ae.ScenarioError, match="not a number"):
        ScenarioSet.from_frame(pd.DataFrame({"default_mult": ["x"]}))


def test_scenario_objects_round_trip() -> None:
    a = Scenario("a", default_mult=1.5)
    b = Scenario("b", default_mult={"C": 2.0, "*": 1.2}, recovery_lag_shift=2)
    s = ScenarioSet([a, b])
    assert list(s) == [
        Scenario("a", default_mult=1.5),
        Scenario("b", default_mult={"*": 1.2, "C": 2.0}, recovery_lag_shift=2),
    ]
    np.testing.assert_allclose(s.multipliers("default_mult", ["A", "C"]), [[1.5, 1.5], [1.2, 2.0]])
    assert len(s[1:]) == 1 and s[1].name == "b"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"default_mult": -1.0}, "between 0 and"),
        ({"prepay_mult": float("nan")}, "between 0 and"),
        ({"recovery_lag_shift": 1.5}, "whole months"),
        ({"default_mult": {"A": "x"}}, "expected a number"),
    ],
)
def test_bad_scenarios(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ae.ScenarioError, match=fragment):
        Scenario("bad", **kwargs)  # type: ignore[arg-type]


def test_names_must_be_unique() -> None:
    with pytest.raises(ae.ScenarioError, match="unique"):
        ScenarioSet([Scenario("x"), Scenario("x")])


def test_from_arrays_for_large_sets() -> None:
    rng = np.random.default_rng(0)
    s = ScenarioSet.from_arrays(default_mult={"A": rng.random(1000), "B": rng.random(1000)})
    assert len(s) == 1000
    assert s.names[0] == "s000000"
    with pytest.raises(ae.ScenarioError, match="different lengths"):
        ScenarioSet.from_arrays(default_mult=np.ones(3), prepay_mult=np.ones(4))
