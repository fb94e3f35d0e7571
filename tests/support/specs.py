"""A small valid deal spec as TOML and a helper to change one key of it (spec tests)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

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
DELETE = object()


def spec(**changes: Any) -> dict[str, Any]:
    """A copy of ``BASE`` with ``a__0__b=value`` changes (``DELETE`` removes the key)."""
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
