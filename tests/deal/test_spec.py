"""Deal spec errors name the key path and the fix; nothing runs on an invalid spec."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest

import abs_engine as ae
from abs_engine.deal import deal_from_dict, load_deal

SPEC = """
name = "mini"
[dates]
cutoff = 2020-01-31
closing = 2020-02-25
first_payment = 2020-03-25
legal_final = 2022-03-25
day_count = "30/360"
[pool]
tape = "tape.parquet"
[pool.assumptions]
default = { cdr = 0.05 }
prepay = { cpr = 0.10 }
severity = 0.8
[[tranches]]
name = "senior"
class = "senior"
size = 0.8
coupon = 0.05
[[tranches]]
name = "mezzanine"
class = "mezzanine"
size = 0.1
coupon = { rate = 0.07, steps = [{ from = 2021-03-25, rate = 0.09 }] }
[[tranches]]
name = "equity"
class = "equity"
[[fees]]
name = "servicer"
type = "pool_pct"
rate = 0.01
[reserve]
initial = 0.01
target = 0.01
[revolving]
periods = 3
[[revolving.template]]
grade = "A"
payment_type = "flat_fee"
term = 6
share = 1.0
fee_rate = 0.006
[[triggers]]
name = "cdr"
type = "cumulative_default"
level = 0.05
effects = ["end_revolving", "sequential"]
[waterfall]
interest = ["fee:servicer", "interest:senior", "interest:mezzanine", "reserve", "cover_defaults", "residual"]
principal = ["reinvest", "principal:senior", "principal:mezzanine", "principal:equity", "residual"]
post_default = ["fee:servicer", "interest:senior", "principal:senior", "residual"]
"""
BASE: dict[str, Any] = tomllib.loads(SPEC)


def spec(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        keys = dotted.split("__")
        node: Any = d
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is DELETE:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return d


DELETE = object()


def test_the_base_spec_is_valid() -> None:
    deal = deal_from_dict(BASE)
    assert [t.name for t in deal.tranches] == ["senior", "mezzanine", "equity"]
    assert deal.tranches[1].coupon.rate_from(dt.date(2021, 4, 25)) == 0.09
    assert deal.tranches[1].coupon.rate_from(dt.date(2021, 2, 25)) == 0.07


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"trnches": []}, "trnches", "did you mean 'tranches'"),
        ({"tranches__1__cupon": 0.07}, "tranches[1].cupon", "did you mean 'coupon'"),
        ({"reserve__targt": 0.02}, "reserve.targt", "did you mean 'target'"),
        (
            {"pool__assumptions__severty": 0.8},
            "pool.assumptions.severty",
            "did you mean 'severity'",
        ),
        ({"tranches__0__size": 0}, "tranches[0].size", "must be > 0"),
        ({"tranches__0__size": -0.5}, "tranches[0].size", "must be > 0"),
        ({"tranches__0__size": 1.5}, "tranches[0].size", "must be <= 1"),
        ({"tranches__0__size": 0.95}, "tranches", "notes are larger than the pool"),
        (
            {"waterfall__interest__1": "interest:senoir"},
            "waterfall.interest[1]",
            "unknown tranche 'senoir'",
        ),
        (
            {"waterfall__interest__0": "fee:trustee"},
            "waterfall.interest[0]",
            "unknown fee 'trustee'",
        ),
        ({"waterfall__interest__3": "resrve"}, "waterfall.interest[3]", "did you mean 'reserve'"),
        ({"reserve": DELETE}, "waterfall.interest[3]", "no reserve account"),
        (
            {"tranches__2__class": "mezzanine", "tranches__2__size": 0.05},
            "tranches",
            "no equity tranche",
        ),
        ({"tranches__2__class": "mezzanine"}, "tranches[2]", "needs size"),
        ({"revolving__template": []}, "revolving.template", "needs a purchase template"),
        ({"revolving": DELETE}, "triggers[0].effects", "no revolving period"),
        ({"revolving": DELETE, "triggers": []}, "waterfall.principal[0]", "no revolving period"),
        ({"dates__closing": "2019-12-01"}, "dates.closing", "must come after cutoff"),
        (
            {"dates__first_payment": "2023-01-01"},
            "dates.legal_final",
            "must come after first_payment",
        ),
        (
            {"triggers__0__effects": ["end_revolvng"]},
            "triggers[0].effects",
            "did you mean 'end_revolving'",
        ),
        ({"triggers__0__type": "oc"}, "triggers[0].tranche", "names its tranche"),
        (
            {"waterfall__principal": ["principal:senior"]},
            "waterfall.principal",
            "must end with 'residual'",
        ),
        ({"tranches__1__coupon": 7.3}, "tranches[1].coupon", "0.051 for 5.1%"),
        ({"fees__0__type": "flat"}, "fees[0].type", "not one of tax, fixed, pool_pct"),
        ({"dates__day_count": "ACT/365"}, "dates.day_count", "ACT/365F"),
    ],
)
def test_spec_errors_name_the_key_path(changes: dict[str, Any], where: str, fragment: str) -> None:
    with pytest.raises(ae.SpecError) as info:
        deal_from_dict(spec(**changes))
    assert info.value.path == where, str(info.value)
    assert fragment in str(info.value)


def test_amounts_larger_than_the_pool_are_caught_at_run(sample_pool: ae.Pool) -> None:
    d = spec(tranches__0__size=DELETE)
    d["tranches"][0]["amount"] = sample_pool.balance * 2
    deal = deal_from_dict(d)
    with pytest.raises(ae.SpecError, match=r"notes .* are larger than the pool"):
        ae.deal.run(deal, sample_pool)


def test_load_deal_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ae.SpecError, match="deal spec not found"):
        load_deal(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(ae.SpecError, match=r"bad\.toml: not valid TOML"):
        load_deal(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        SPEC.replace("trnches", "x").replace('class = "equity"', 'class = "equity"\ncupon = 0.1')
    )
    with pytest.raises(ae.SpecError) as info:
        load_deal(wrong)
    assert str(info.value).startswith(f"{wrong}: tranches[2].cupon: unknown key")


def test_paths_are_relative_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "deal.toml").write_text(SPEC)
    deal = load_deal(tmp_path / "deal.toml")
    assert deal.pool.tape == tmp_path / "tape.parquet"


@pytest.mark.parametrize("path", sorted(ae.samples.DATA_DIR.joinpath("waterfalls").glob("*.toml")))
def test_sample_deals_load(path: Path) -> None:
    deal = load_deal(path)
    assert deal.pool.tape is not None and deal.pool.tape.name == "sample_pool.parquet"
