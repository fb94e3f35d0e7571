"""Spec rules added with issue 10 and the hardening of issue 12: names the step grammar and a
written TOML can carry, percentages caught, ranks and pari-passu classes, the options, the
warning for a PDL deal that never cures, and the generated spec reference."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from support.specs import BASE, DELETE, spec

import abs_engine as ae
from abs_engine.deal import deal_from_dict, load_deal, write_deal
from abs_engine.deal.schema import EXAMPLE, TABLES, render_markdown
from abs_engine.errors import SpecWarning

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"tranches__0__name": "senior\nevil = 1"}, "tranches[0].name", "control characters"),
        ({"tranches__0__name": "class A,1"}, "tranches[0].name", "cannot contain ','"),
        ({"tranches__0__name": "a:b"}, "tranches[0].name", "cannot contain ':'"),
        ({"tranches__0__name": " senior"}, "tranches[0].name", "blanks"),
        ({"tranches__0__name": ""}, "tranches[0].name", "non-empty"),
        ({"fees__0__name": "svc,x"}, "fees[0].name", "cannot contain ','"),
        ({"triggers__0__name": "t\r"}, "triggers[0].name", "control characters"),
        ({"name": "deal\n[x]"}, "name", "control characters"),
        ({"triggers__0__level": 4}, "triggers[0].level", "did you give a percentage?"),
        ({"tranches__0__rank": 1}, "tranches[1].rank", "every tranche a rank, or none"),
        (
            {"tranches__0__rank": 2, "tranches__1__rank": 1, "tranches__2__rank": 3},
            "tranches[1].rank",
            "must not decrease",
        ),
        (
            {"tranches__0__rank": 1, "tranches__1__rank": 2, "tranches__2__rank": 2},
            "tranches[2].rank",
            "equity class cannot rank pari passu",
        ),
        ({"tranches__0__rank": 0}, "tranches[0].rank", "must be >= 1"),
        ({"fees__0__accrue_from": "issue"}, "fees[0].accrue_from", "not one of closing, cutoff"),
        ({"loss_allocation": "write_down"}, "loss_allocation", "did you mean 'writedown'"),
        (
            {"waterfall__interest__1": "interest:senior,senior"},
            "waterfall.interest[1]",
            "names a target twice",
        ),
        (
            {"dates__cutoff": "2020-02-01", "dates__closing": "2020-02-25"},
            "dates.cutoff",
            "collects no pool month",
        ),
    ],
)
def test_spec_rules_name_the_key_path(changes: dict[str, Any], where: str, fragment: str) -> None:
    pool = ae.Cohorts.from_loans(("A",), [0], [1], [6], [0], [0], [1.0], [0.1], [0.0], [1.0])

    def load_and_run() -> None:
        ae.deal.run(deal_from_dict(spec(**changes)), pool)

    with pytest.raises(ae.SpecError) as info:
        load_and_run()
    assert info.value.path == where, str(info.value)
    assert fragment in str(info.value)


def test_cutoff_error_says_the_dates_and_the_fix() -> None:
    d = spec(dates__cutoff="2020-03-01", dates__closing="2020-03-05")
    deal = deal_from_dict(d)
    pool = ae.Cohorts.from_loans(("A",), [0], [1], [6], [0], [0], [1.0], [0.1], [0.0], [1.0])
    with pytest.raises(ae.SpecError) as info:
        ae.deal.run(deal, pool)
    msg = str(info.value)
    assert "2020-03-25 collects no pool month" in msg
    assert "2020-03-01" in msg and "2020-02-29" in msg  # the cut-off given, and the fix


def test_names_with_quotes_and_hashes_round_trip(tmp_path: Path) -> None:
    """write_deal quotes everything with the TOML library: a name full of TOML syntax comes back
    as itself and adds no key."""
    d = spec()
    d["name"] = 'Deal "X" # = [evil]'
    d["tranches"][0]["name"] = 'sen"ior # ='
    for part in ("interest", "principal", "post_default"):
        d["waterfall"][part] = [s.replace("senior", 'sen"ior # =') for s in d["waterfall"][part]]
    deal = deal_from_dict(d)
    path = write_deal(deal, tmp_path / "out.toml")
    text = path.read_text()
    data = tomllib.loads(text)
    assert data["name"] == 'Deal "X" # = [evil]'
    assert set(data) <= {t.path for t in TABLES} | {k.name for k in TABLES[0].keys}
    again = load_deal(path)
    assert again.name == deal.name and again.tranches[0].name == 'sen"ior # ='


def test_pari_passu_standard_waterfall() -> None:
    d = spec(waterfall=DELETE, revolving=DELETE, triggers=[])
    d["tranches"] = [
        {"name": "A1", "class": "senior", "size": 0.4, "coupon": 0.04, "rank": 1},
        {"name": "A2", "class": "senior", "size": 0.3, "coupon": 0.05, "rank": 1},
        {"name": "B", "class": "mezzanine", "size": 0.1, "coupon": 0.07, "rank": 2},
        {"name": "E", "class": "equity", "rank": 3},
    ]
    deal = deal_from_dict(d)
    wf = deal.waterfall
    assert wf is not None
    assert [str(s) for s in wf.interest] == [
        "fee:servicer",
        "interest:A1,A2",
        "interest:B",
        "reserve",
        "cover_defaults",
        "residual",
    ]
    assert [str(s) for s in wf.principal] == [
        "pro_rata:A1,A2",
        "principal:B",
        "principal:E",
        "residual",
    ]
    assert deal.senior_or_pari_passu("A2") == ("A1", "A2")
    assert deal.senior_or_pari_passu("B") == ("A1", "A2", "B")
    after = deal_from_dict({**d, "junior_interest_after_pdl": True}).waterfall
    assert after is not None
    assert [str(s) for s in after.interest] == [
        "fee:servicer",
        "interest:A1,A2",
        "reserve",
        "cover_defaults",
        "interest:B",
        "residual",
    ]


def test_junior_interest_after_pdl_reorders_a_given_waterfall() -> None:
    deal = deal_from_dict(spec(junior_interest_after_pdl=True))
    assert deal.waterfall is not None
    assert [str(s) for s in deal.waterfall.interest] == [
        "fee:servicer",
        "interest:senior",
        "reserve",
        "cover_defaults",
        "interest:mezzanine",
        "residual",
    ]
    no_cover = copy.deepcopy(BASE)
    no_cover["junior_interest_after_pdl"] = True
    no_cover["waterfall"]["interest"].remove("cover_defaults")
    with pytest.raises(ae.SpecError, match="needs a 'cover_defaults' step"):
        deal_from_dict(no_cover)


def test_a_pdl_deal_without_cover_defaults_warns_with_the_consequence() -> None:
    d = copy.deepcopy(BASE)
    d["loss_allocation"] = "pdl"
    d["waterfall"]["interest"].remove("cover_defaults")
    with pytest.warns(
        SpecWarning, match="made good from excess spread only once they reach a rated class"
    ):
        deal_from_dict(d)


def test_spec_reference_is_generated_from_the_code() -> None:
    page = (ROOT / "docs" / "deal-spec.md").read_text()
    assert page == render_markdown(), "docs/deal-spec.md is stale: run `make docs`"


def test_the_complete_example_loads_and_uses_every_key(tmp_path: Path) -> None:
    data = tomllib.loads(EXAMPLE)
    deal = deal_from_dict(data, base=tmp_path)
    assert deal.ranks == (1, 1, 2, 3) and deal.state is not None
    seen: dict[str, set[str]] = {"": set(data)}
    for key, value in data.items():
        if isinstance(value, dict):
            seen[key] = set(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            seen[key] = set().union(*value)
    seen["revolving.template"] = set().union(*data["revolving"]["template"])
    for table in TABLES:
        documented = {k.name for k in table.keys}
        assert documented <= seen[table.path], (table.path, documented - seen[table.path])
        if table.path:
            assert seen[table.path] <= documented, (table.path, seen[table.path] - documented)
