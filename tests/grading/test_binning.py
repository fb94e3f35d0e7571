"""Monotonic optimal binning, WoE and IV: hand computations and a brute-force optimum."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abs_engine.errors import GradingError, SpecError
from abs_engine.grading.binning import bin_attribute, iv_strength, optimal_partition, woe_iv


def _attribute(
    counts: list[tuple[float, int, int]], name: str = "x"
) -> tuple[pd.Series, np.ndarray]:
    """A column holding ``value`` in ``goods + bads`` rows, the first ``bads`` of them defaulted."""
    values: list[float] = []
    target: list[int] = []
    for value, goods, bads in counts:
        values += [value] * (goods + bads)
        target += [1] * bads + [0] * goods
    return pd.Series(values, name=name), np.asarray(target)


# A small table worked by hand (Siddiqi 2006, ch. 6 definitions; WoE = ln(%good / %bad)):
#
#   value  goods  bads   %good  %bad   WoE              IV term
#   1       500    20     0.5    0.2   ln 2.5 =  0.916291   0.3 x 0.916291 = 0.274887
#   2       300    30     0.3    0.3   ln 1   =  0          0
#   3       200    50     0.2    0.5   ln 0.4 = -0.916291  -0.3 x -0.916291 = 0.274887
#   total  1000   100                                        IV = 0.549774
HAND = [(1.0, 500, 20), (2.0, 300, 30), (3.0, 200, 50)]
HAND_WOE = [math.log(2.5), 0.0, math.log(0.4)]
HAND_IV = 0.6 * math.log(2.5)


def test_woe_iv_equal_the_hand_table() -> None:
    woe, iv, adjusted = woe_iv([500, 300, 200], [20, 30, 50])
    assert_allclose(woe, HAND_WOE, rtol=0, atol=1e-12)
    assert_allclose(iv.sum(), HAND_IV, rtol=1e-12)
    assert_allclose(HAND_IV, 0.549774, atol=5e-7)
    assert not adjusted.any()


def test_numeric_binning_of_the_hand_table() -> None:
    x, y = _attribute(HAND)
    b = bin_attribute(x, y, min_bin_share=0.05, min_bin_events=5)
    # default rates 3.8%, 9.1%, 20% rise with x: three bins, cut at 2 and 3
    assert b.edges == (2.0, 3.0)
    assert b.direction == "ascending"
    assert_allclose(b.goods, [500, 300, 200])
    assert_allclose(b.bads, [20, 30, 50])
    assert_allclose(b.woe, HAND_WOE, atol=1e-12)
    assert_allclose(b.iv, HAND_IV, rtol=1e-12)
    t = b.table()
    assert list(t["bin"]) == ["< 2", "[2, 3)", ">= 3"]
    assert_allclose(t["iv"].sum(), HAND_IV, rtol=1e-12)


def test_categorical_binning_of_the_hand_table() -> None:
    x, y = _attribute(HAND)
    cats = x.map({1.0: " Normal", 2.0: "suspended", 3.0: "NONE"})
    b = bin_attribute(cats.rename("status"), y, min_bin_share=0.05)
    assert b.kind == "category"
    assert b.groups == (("Normal",), ("suspended",), ("NONE",))  # by default rate, first spelling
    assert_allclose(b.woe, HAND_WOE, atol=1e-12)
    assert_allclose(b.iv, HAND_IV, rtol=1e-12)
    # matching is trimmed and case-insensitive; an unseen category is unplaceable (-2)
    assert list(b.assign(pd.Series(["normal", " none ", "Other", None]))) == [0, 2, -2, -1]


def test_missing_cells_get_their_own_woe_or_the_worst_bin() -> None:
    x, y = _attribute([*HAND, (np.nan, 40, 10)])
    b = bin_attribute(x, y, min_bin_share=0.05, min_bin_events=5)
    # totals G = 1040, B = 110 include the empty cells
    assert b.missing_own
    assert_allclose(b.missing_woe, math.log((40 / 1040) / (10 / 110)), rtol=1e-12)
    assert_allclose(b.woe[0], math.log((500 / 1040) / (20 / 110)), rtol=1e-12)
    few = bin_attribute(*_attribute([*HAND, (np.nan, 3, 1)]), min_bin_share=0.05)
    assert not few.missing_own
    assert few.missing_woe == pytest.approx(float(few.woe.min()))
    assert_allclose(few.transform(pd.Series([np.nan, 1.0])), [few.woe.min(), few.woe[0]])


def test_min_share_merges_small_bins() -> None:
    x, y = _attribute([(1.0, 30, 10), (2.0, 500, 40), (3.0, 400, 60)])
    b = bin_attribute(x, y, min_bin_share=0.1)
    # value 1 holds 40 of 1,040 rows (3.8%), too few for a bin of its own
    assert b.n_bins == 2
    assert (b.goods + b.bads >= 104).all()


def test_non_monotone_pattern_is_made_monotone() -> None:
    # rates 2%, 10%, 4%, 20%: ascending needs the middle bins merged
    x, y = _attribute([(1.0, 490, 10), (2.0, 450, 50), (3.0, 480, 20), (4.0, 400, 100)])
    b = bin_attribute(x, y, monotonic="ascending", min_bin_share=0.05)
    rates = b.bads / (b.goods + b.bads)
    assert (np.diff(rates) > 0).all()
    assert b.edges == (2.0, 4.0)
    free = bin_attribute(x, y, monotonic=None, min_bin_share=0.05)
    assert free.n_bins == 4
    assert free.iv > b.iv


def _brute_force(
    goods: np.ndarray,
    bads: np.ndarray,
    direction: str | None,
    max_bins: int,
    min_rows: float,
    min_events: float,
) -> float:
    """Best IV over every partition of the pre-bins into contiguous segments (2^(n-1) of them)."""
    G, B = goods.sum(), bads.sum()
    n = goods.size
    best = -math.inf
    for cuts in itertools.product([False, True], repeat=n - 1):
        bounds = [0] + [i + 1 for i, c in enumerate(cuts) if c] + [n]
        if len(bounds) - 1 > max_bins:
            continue
        g = np.array([goods[a:b].sum() for a, b in itertools.pairwise(bounds)])
        b_ = np.array([bads[a:b].sum() for a, b in itertools.pairwise(bounds)])
        if (g + b_ < min_rows).any() or (g < min_events).any() or (b_ < min_events).any():
            continue
        rate = b_ / (g + b_)
        if direction == "ascending" and not (np.diff(rate) > 1e-12).all():
            continue
        if direction == "descending" and not (np.diff(rate) < -1e-12).all():
            continue
        iv = float(((g / G - b_ / B) * np.log((g / G) / (b_ / B))).sum())
        best = max(best, iv)
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 15)), min_size=1, max_size=8),
    st.sampled_from(["ascending", "descending", None]),
    st.integers(1, 5),
    st.integers(0, 40),
)
def test_dynamic_programme_finds_the_brute_force_optimum(
    cells: list[tuple[int, int]], direction: str | None, max_bins: int, min_rows: int
) -> None:
    goods = np.array([c[0] for c in cells], dtype=float)
    bads = np.array([c[1] for c in cells], dtype=float)
    if goods.sum() == 0 or bads.sum() == 0:
        return
    seg = optimal_partition(
        goods,
        bads,
        direction=direction,
        max_bins=max_bins,
        min_rows=min_rows,
        min_events=1,  # type: ignore[arg-type]
    )
    expected = _brute_force(goods, bads, direction, max_bins, min_rows, 1)
    if seg is None:
        assert expected == -math.inf
        return
    assert seg[0][0] == 0 and seg[-1][1] == goods.size - 1
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(seg))
    g = np.array([goods[a : b + 1].sum() for a, b in seg])
    b_ = np.array([bads[a : b + 1].sum() for a, b in seg])
    iv = float(
        ((g / goods.sum() - b_ / bads.sum()) * np.log((g / goods.sum()) / (b_ / bads.sum()))).sum()
    )
    assert_allclose(iv, expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["ascending", "descending", "auto"]))
def test_random_attributes_bin_monotone_within_constraints(seed: int, monotonic: str) -> None:
    rng = np.random.default_rng(seed)
    n = 3_000
    x = pd.Series(np.round(rng.gamma(2.0, 3.0, n), 1), name="x")
    p = 1 / (1 + np.exp(-(-2.0 + 0.8 * np.sin(x.to_numpy() / 2))))  # not monotone in x
    y = (rng.random(n) < p).astype(int)
    b = bin_attribute(x, y, monotonic=monotonic, min_bin_share=0.05, min_bin_events=5, max_bins=6)  # type: ignore[arg-type]
    count = b.goods + b.bads
    rates = b.bads / count
    assert b.n_bins <= 6
    assert (count >= 0.05 * n).all()
    assert (b.bads >= 5).all() and (b.goods >= 5).all()
    if b.n_bins > 1:
        steps = np.diff(rates)
        assert (steps > 0).all() or (steps < 0).all()
        if monotonic != "auto":
            assert b.direction == monotonic
    assert list(b.edges) == sorted(set(b.edges))
    # every row lands in the bin whose counts the binning reports
    idx = b.assign(x)
    assert_allclose(np.bincount(idx, minlength=b.n_bins), count)


def test_bad_targets_and_settings_are_errors() -> None:
    x = pd.Series([1.0, 2.0, 3.0], name="x")
    with pytest.raises(GradingError, match="0 \\(repaid\\) or 1"):
        bin_attribute(x, [0, 1, 2])
    with pytest.raises(GradingError, match="only non-defaults"):
        bin_attribute(x, [0, 0, 0])
    with pytest.raises(SpecError, match="monotonic"):
        bin_attribute(x, [0, 1, 0], monotonic="up")  # type: ignore[arg-type]
    with pytest.raises(GradingError, match="lower min_bin_share"):
        bin_attribute(x, [0, 1, 0], min_bin_events=5)


def test_iv_strength_reading() -> None:
    assert [iv_strength(v) for v in (0.01, 0.05, 0.2, 0.4, 0.7)] == [
        "unpredictive",
        "weak",
        "medium",
        "strong",
        "suspicious",
    ]
