"""Deal spec errors name the key path and the fix; nothing runs on an invalid spec."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from support.specs import BASE, DELETE, SPEC, spec

import abs_engine as ae
from abs_engine.deal import deal_from_dict, load_deal


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
