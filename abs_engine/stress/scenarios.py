"""Stress scenarios: grids, named sets, tables from files, and their combination.

A stress batch runs a :class:`ScenarioTable`: a
:class:`~abs_engine.curves.ScenarioSet` (the levers the engine applies) with a
``group`` label per scenario (``"grid"``, ``"set:moderate"``,
``"montecarlo"``...) and descriptive numeric columns (``recovery_haircut``,
the Monte Carlo ``factor``) that travel into the results.

Recovery haircut
----------------
A haircut ``h`` cuts each grade's recovery rate ``1 - s_g`` by the share
``h``, on top of any severity multiplier ``m``:

.. math::

    s_g' = 1 - \\bigl(1 - \\min(1, m\\,s_g)\\bigr)(1 - h), \\qquad
    \\text{severity\\_mult}[g] = s_g' / s_g,

so it needs the deal's base severities ``s_g`` and becomes per-grade
``severity_mult[g]`` columns (a grade with ``s_g = 0`` cannot be haircut by a
multiplier and is an error).

>>> t = grid(default_mult=[1, 2], recovery_haircut=[0, 0.5], severities={"A": 0.8})
>>> len(t), str(t.names[3])
(4, 'default_mult=2,recovery_haircut=0.5')
>>> round(float(t.scenarios.grade_levers[("severity_mult", "A")][1]), 6)  # (1 - 0.2 * 0.5) / 0.8
1.125
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast, overload

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine import _spec as s
from abs_engine._budget import check_memory
from abs_engine._frozen import FrozenMap
from abs_engine.curves.assumptions import Assumptions, GradedAssumptions
from abs_engine.curves.scenarios import LEVERS, MAX_MULT, MULTIPLIERS, Scenario, ScenarioSet
from abs_engine.deal.spec import Deal
from abs_engine.errors import ScenarioError, SpecError, plain

__all__ = [
    "AXES",
    "STRESS_SETS",
    "NamedSet",
    "ScenarioTable",
    "SeveritySource",
    "base_severities",
    "concat",
    "grid",
    "haircut_multipliers",
    "load_stress_sets",
    "named_set",
    "parse_levels",
    "read_scenarios",
]

F64 = NDArray[np.float64]

#: File name of the shipped named sets (in ``abs_engine/data``).
STRESS_SETS = "stress_sets.toml"

#: Grid axes, in the order they appear in scenario names.
AXES = ("default_mult", "prepay_mult", "severity_mult", "recovery_haircut", "recovery_lag_shift")

#: Where base severities for a recovery haircut come from.
SeveritySource = Mapping[str, float] | Deal | Assumptions | GradedAssumptions

_INFO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]+\])?$")
_RESERVED = frozenset({"scenario", "name", "group", "tranche", "scenario_index", "chunk"})


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ScenarioTable:
    """Scenarios plus what describes them: the input of a stress batch.

    Parameters
    ----------
    scenarios : ScenarioSet
        The levers the engine applies.
    group : str or array of str
        Label of each scenario (one label for all, or one per scenario):
        ``"grid"``, ``"set:moderate"``, ``"montecarlo"``...
    info : mapping of column name to array
        Descriptive numeric columns, one value per scenario (e.g.
        ``recovery_haircut``, ``factor``); they are copied into the results.
    metadata : mapping
        JSON-ready facts about how the table was built (grid axes, the Monte
        Carlo spec and its ``seed``); recorded in the batch manifest.
    """

    scenarios: ScenarioSet
    group: NDArray[np.str_] | str = "scenarios"
    info: Mapping[str, ArrayLike] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.scenarios, ScenarioSet):
            raise ScenarioError(
                f"ScenarioTable takes a ScenarioSet; got {type(self.scenarios).__name__}"
            )
        n = len(self.scenarios)
        group = np.asarray(self.group).astype(str)
        if group.ndim == 0:
            group = np.full(n, str(group))
        if group.shape != (n,):
            raise ScenarioError(f"group has {group.size} labels for {n} scenarios")
        group.setflags(write=False)
        lever_cols = set(self.scenarios.to_frame().columns)
        info: dict[str, F64] = {}
        for key, values in self.info.items():
            name = str(key)
            if not _INFO_NAME.match(name) or name in _RESERVED or name in lever_cols:
                raise ScenarioError(
                    f"info column {name!r} is not allowed: use a plain name that is not a "
                    f"lever or one of {', '.join(sorted(_RESERVED))}"
                )
            try:
                arr = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()
            except (TypeError, ValueError):
                raise ScenarioError(
                    f"info column {name!r}: expected {n} numbers (one per scenario)"
                ) from None
            arr.setflags(write=False)
            info[name] = arr
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "info", FrozenMap(info))
        object.__setattr__(self, "metadata", FrozenMap(dict(self.metadata)))

    @classmethod
    def of(
        cls, scenarios: ScenarioTable | ScenarioSet | Scenario | Sequence[Scenario] | None
    ) -> ScenarioTable:
        """Accept a table, a set, one scenario, a list of scenarios or ``None`` (base case)."""
        if isinstance(scenarios, ScenarioTable):
            return scenarios
        if scenarios is None:
            return cls(ScenarioSet.base())
        if isinstance(scenarios, ScenarioSet):
            return cls(scenarios)
        if isinstance(scenarios, Scenario):
            return cls(ScenarioSet([scenarios]))
        return cls(ScenarioSet(list(scenarios)))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, info: Sequence[str] = ()) -> ScenarioTable:
        """Inverse of :meth:`to_frame`: ``scenario``, optional ``group``, levers, ``info`` columns."""
        group: Any = "scenarios"
        if "group" in frame.columns:
            group = frame["group"].astype(str).to_numpy()
        extra = {c: frame[c].to_numpy(dtype=np.float64) for c in info}
        levers = frame.drop(columns=[c for c in ("group", *info) if c in frame.columns])
        return cls(ScenarioSet.from_frame(levers), group, extra)

    # --- access -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.scenarios)

    @property
    def names(self) -> NDArray[np.str_]:
        """Scenario ids."""
        return self.scenarios.names

    @property
    def groups(self) -> tuple[str, ...]:
        """The distinct group labels, in order of first appearance."""
        _, first = np.unique(np.asarray(self.group), return_index=True)
        return tuple(str(self.group[i]) for i in sorted(first))

    @property
    def seed(self) -> int | None:
        """The random seed recorded in the metadata (Monte Carlo), if any."""
        return _find_seed(self.metadata)

    @overload
    def __getitem__(self, key: int) -> Scenario: ...
    @overload
    def __getitem__(self, key: slice | NDArray[Any] | Sequence[int]) -> ScenarioTable: ...
    def __getitem__(
        self, key: int | slice | NDArray[Any] | Sequence[int]
    ) -> Scenario | ScenarioTable:
        if isinstance(key, (int, np.integer)):
            return self.scenarios[int(key)]
        idx = np.arange(len(self))[key]
        group = np.asarray(self.group)[idx]
        return ScenarioTable(
            self.scenarios[idx],
            group,
            {k: np.asarray(v)[idx] for k, v in self.info.items()},
            self.metadata,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario: ``scenario, group``, every lever column, the info columns."""
        frame = self.scenarios.to_frame()
        frame.insert(1, "group", np.asarray(self.group))
        for k, v in self.info.items():
            frame[k] = np.asarray(v)
        return frame

    def __repr__(self) -> str:
        groups = ", ".join(self.groups)
        return f"ScenarioTable({len(self):,} scenarios; groups: {groups})"


def _find_seed(meta: Any) -> int | None:
    if isinstance(meta, Mapping):
        seed = meta.get("seed")
        if isinstance(seed, int) and not isinstance(seed, bool):
            return seed
        for value in meta.values():
            found = _find_seed(value)
            if found is not None:
                return found
    elif isinstance(meta, list | tuple):
        for value in meta:
            found = _find_seed(value)
            if found is not None:
                return found
    return None


# --- severities and haircuts -------------------------------------------------------------------


def base_severities(
    source: SeveritySource, grades: Sequence[str] | None = None
) -> dict[str, float]:
    """Base-case loss severity per grade (key ``"*"``: every grade not named).

    Parameters
    ----------
    source : mapping grade -> severity, Deal, Assumptions or GradedAssumptions
        A deal gives the severities of its pool's grades.
    grades : sequence of str, optional
        Grades to list (default: the deal's grades, or those the assumptions name).
    """
    if isinstance(source, Deal):
        names = tuple(grades) if grades is not None else tuple(source.pool.grades)
        return {g: float(source.assumptions.for_grade(g).severity) for g in names}
    if isinstance(source, Assumptions):
        if grades is None:
            return {"*": float(source.severity)}
        return {g: float(source.severity) for g in grades}
    if isinstance(source, GradedAssumptions):
        if grades is not None:
            return {g: float(source.for_grade(g).severity) for g in grades}
        out = {g: float(a.severity) for g, a in source.items()}
        if source.default is not None:
            out["*"] = float(source.default.severity)
        return out
    if isinstance(source, Mapping):
        out = {}
        for g, v in source.items():
            sev = float(cast(float, v))
            if not 0.0 <= sev <= 1.0:
                raise ScenarioError(f"severity of grade {g!r} must be in [0, 1]; got {plain(v)!r}")
            out[str(g)] = sev
        if grades is not None:
            missing = [g for g in grades if g not in out and "*" not in out]
            if missing:
                raise ScenarioError(f"no base severity for grade(s) {missing}")
        return out
    raise ScenarioError(
        "severities must be a mapping grade -> severity, a Deal or assumptions; "
        f"got {type(source).__name__}"
    )


def haircut_multipliers(
    severities: Mapping[str, float], haircut: ArrayLike, severity_mult: ArrayLike = 1.0
) -> dict[str, F64]:
    """Severity multiplier per grade that applies a recovery haircut.

    .. math::

        \\text{mult}_g = \\frac{1 - (1 - \\min(1, m\\,s_g))(1 - h)}{s_g}

    Parameters
    ----------
    severities : mapping grade -> base severity ``s_g`` (``"*"`` allowed)
    haircut : array_like
        Share ``h`` of the recovery rate cut, in ``[0, 1]``.
    severity_mult : array_like
        Severity multiplier ``m`` applied before the haircut (broadcast with ``haircut``).

    Returns
    -------
    dict of grade -> array
        The effective ``severity_mult`` per grade.
    """
    h = np.asarray(haircut, dtype=np.float64)
    m = np.asarray(severity_mult, dtype=np.float64)
    if np.any(~np.isfinite(h)) or np.any((h < 0) | (h > 1)):
        raise ScenarioError(f"a recovery haircut is a share in [0, 1]; got {plain(h)}")
    h, m = np.broadcast_arrays(h, m)
    out: dict[str, F64] = {}
    for g, sev in severities.items():
        if sev <= 0.0:
            if np.any(h > 0):
                raise ScenarioError(
                    f"grade {g!r} has base severity 0 (full recovery): a recovery haircut cannot "
                    "be applied as a severity multiplier; set severity_mult for it instead"
                )
            out[g] = m.astype(np.float64, copy=True)
            continue
        stressed = 1.0 - (1.0 - np.minimum(1.0, m * sev)) * (1.0 - h)
        out[g] = np.asarray(stressed / sev, dtype=np.float64)
    return out


# --- grids ---------------------------------------------------------------------------------------


def _axis(name: str, values: Sequence[float] | ArrayLike) -> F64:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    if arr.size == 0:
        raise ScenarioError(f"grid: axis {name!r} has no values")
    if np.any(~np.isfinite(arr)):
        raise ScenarioError(f"grid: axis {name!r} has a value that is not a finite number")
    if name == "recovery_haircut" and np.any((arr < 0) | (arr > 1)):
        raise ScenarioError(f"grid: recovery_haircut values are shares in [0, 1]; got {plain(arr)}")
    if name == "recovery_lag_shift" and np.any(arr != np.round(arr)):
        raise ScenarioError(f"grid: recovery_lag_shift values are whole months; got {plain(arr)}")
    if name in MULTIPLIERS and np.any((arr < 0) | (arr > MAX_MULT)):
        raise ScenarioError(
            f"grid: {name} values are multipliers between 0 and {MAX_MULT:g}; got {plain(arr)}"
        )
    if np.unique(arr).size != arr.size:
        raise ScenarioError(f"grid: axis {name!r} repeats a value: {arr.tolist()}")
    return arr


def grid(
    *,
    default_mult: Sequence[float] | None = None,
    prepay_mult: Sequence[float] | None = None,
    severity_mult: Sequence[float] | None = None,
    recovery_haircut: Sequence[float] | None = None,
    recovery_lag_shift: Sequence[int] | None = None,
    severities: SeveritySource | None = None,
    group: str = "grid",
) -> ScenarioTable:
    """The cartesian product of stress levels.

    Parameters
    ----------
    default_mult, prepay_mult, severity_mult : sequence of float, optional
        Multipliers of the annual default rate, the annual prepayment rate
        and loss severity (each capped at 100% by the engine).
    recovery_haircut : sequence of float, optional
        Shares of the recovery rate cut (see the module docs); needs ``severities``.
    recovery_lag_shift : sequence of int, optional
        Months added to the recovery lags.
    severities : mapping, Deal or assumptions, optional
        Base severities per grade, for the haircut (pass the deal).
    group : str
        Group label of the scenarios.

    Returns
    -------
    ScenarioTable
        ``n_1 x n_2 x ...`` scenarios, the last axis varying fastest, named
        ``default_mult=2,prepay_mult=0.5``; an axis not given stays at its
        base value and is not named.  The haircut is an info column.
    """
    given = {
        k: v
        for k, v in (
            ("default_mult", default_mult),
            ("prepay_mult", prepay_mult),
            ("severity_mult", severity_mult),
            ("recovery_haircut", recovery_haircut),
            ("recovery_lag_shift", recovery_lag_shift),
        )
        if v is not None
    }
    if not given:
        return ScenarioTable(
            ScenarioSet([Scenario("base")]), group, metadata={"kind": "grid", "axes": {}}
        )
    axes = {k: _axis(k, v) for k, v in given.items()}
    keys = list(axes)
    n_grid = math.prod(len(a) for a in axes.values())
    check_memory(  # per scenario: its name, levers (per grade with a haircut) and table row
        n_grid * 1_024.0,
        f"a grid of {' x '.join(f'{len(axes[k]):,} {k}' for k in keys)} = {n_grid:,} scenarios",
        "use fewer levels per axis (a coarser step) or run the axes in separate batches",
    )
    mesh = np.meshgrid(*(axes[k] for k in keys), indexing="ij")
    cols = {k: m.ravel() for k, m in zip(keys, mesh, strict=True)}
    names = [
        ",".join(f"{k}={v:g}" for k, v in zip(keys, combo, strict=True))
        for combo in itertools.product(*(axes[k] for k in keys))
    ]
    n = len(names)
    sev_mult = cols.get("severity_mult", np.ones(n))
    info: dict[str, F64] = {}
    severity: F64 | dict[str, F64] = sev_mult
    if "recovery_haircut" in cols:
        if severities is None:
            raise ScenarioError(
                "grid: recovery_haircut needs the base severities; pass severities=deal"
            )
        base = base_severities(severities)
        by_grade = haircut_multipliers(base, cols["recovery_haircut"], sev_mult)
        severity = by_grade
        info["recovery_haircut"] = cols["recovery_haircut"]
    sset = _scenario_set(
        names,
        default_mult=cols.get("default_mult", np.ones(n)),
        prepay_mult=cols.get("prepay_mult", np.ones(n)),
        severity_mult=severity,
        recovery_lag_shift=cols.get("recovery_lag_shift", np.zeros(n)),
    )
    meta = {"kind": "grid", "axes": {k: axes[k].tolist() for k in keys}}
    return ScenarioTable(sset, group, info, meta)


def _scenario_set(
    names: Sequence[str] | NDArray[np.str_],
    *,
    default_mult: F64 | Mapping[str, F64],
    prepay_mult: F64 | Mapping[str, F64],
    severity_mult: F64 | Mapping[str, F64],
    recovery_lag_shift: F64,
) -> ScenarioSet:
    """A set from columns; per-grade mappings may hold ``"*"`` (the pool-wide column)."""
    frame: dict[str, Any] = {"scenario": np.asarray(names).astype(str)}
    for lever, value in (
        ("default_mult", default_mult),
        ("prepay_mult", prepay_mult),
        ("severity_mult", severity_mult),
    ):
        if isinstance(value, Mapping):
            frame[lever] = value.get("*", np.ones(len(frame["scenario"])))
            for g, arr in value.items():
                if g != "*":
                    frame[f"{lever}[{g}]"] = arr
        else:
            frame[lever] = value
    frame["recovery_lag_shift"] = recovery_lag_shift
    return ScenarioSet.from_frame(pd.DataFrame(frame))


# --- named sets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedSet:
    """A named stress set: a description and its scenarios.

    ``haircuts`` holds each scenario's recovery haircut (applied against the
    deal's severities when the set is used).
    """

    name: str
    description: str
    scenarios: tuple[Scenario, ...]
    haircuts: tuple[float, ...]

    def table(self, severities: SeveritySource | None = None) -> ScenarioTable:
        """The set as a :class:`ScenarioTable` (group ``set:NAME``)."""
        scen = list(self.scenarios)
        if any(h > 0 for h in self.haircuts):
            if severities is None:
                raise ScenarioError(
                    f"stress set {self.name!r} cuts recoveries; pass the deal (severities=) "
                    "so the haircut can be applied to its severities"
                )
            base = base_severities(severities)
            scen = []
            for sc, h in zip(self.scenarios, self.haircuts, strict=True):
                if h <= 0:
                    scen.append(sc)
                    continue
                sm = sc.severity_mult
                per = {}
                for g, sev in base.items():
                    m = float(sm.get(g, sm.get("*", 1.0))) if isinstance(sm, Mapping) else float(sm)
                    per[g] = float(haircut_multipliers({g: sev}, h, m)[g])
                pool_wide = per.pop("*", None)
                mapping: dict[str, float] = dict(per)
                if pool_wide is not None:
                    mapping["*"] = pool_wide
                scen.append(
                    Scenario(
                        sc.name,
                        default_mult=sc.default_mult,
                        prepay_mult=sc.prepay_mult,
                        severity_mult=mapping,
                        recovery_lag_shift=sc.recovery_lag_shift,
                    )
                )
        return ScenarioTable(
            ScenarioSet(scen),
            f"set:{self.name}",
            {"recovery_haircut": np.asarray(self.haircuts, dtype=np.float64)},
            {"kind": "named_set", "name": self.name, "description": self.description},
        )


_SET_KEYS = ("description", "scenarios")
_SCENARIO_KEYS = ("name", *MULTIPLIERS, "recovery_haircut", "recovery_lag_shift")


def _lever_value(value: Any, path: str) -> float | dict[str, float]:
    if isinstance(value, Mapping):
        return {str(g): s.req_number(value, g, path, minimum=0.0) for g in value}
    return s.req_number({"v": value}, "v", path, minimum=0.0)


def _sets_from_dict(data: Mapping[str, Any]) -> dict[str, NamedSet]:
    out: dict[str, NamedSet] = {}
    for name, body in data.items():
        path = str(name)
        tbl = s.table(body, path)
        s.check_keys(tbl, _SET_KEYS, path)
        scen: list[Scenario] = []
        cuts: list[float] = []
        for i, row in enumerate(s.table_list(s.req(tbl, "scenarios", path), f"{path}.scenarios")):
            p = f"{path}.scenarios[{i}]"
            s.check_keys(row, _SCENARIO_KEYS, p)
            kwargs: dict[str, Any] = {
                lv: _lever_value(row[lv], f"{p}.{lv}") for lv in MULTIPLIERS if lv in row
            }
            lag = s.opt_int(row, "recovery_lag_shift", p, 0, minimum=-1200) or 0
            cut = s.opt_number(row, "recovery_haircut", p, 0.0, minimum=0.0, maximum=1.0)
            try:
                scen.append(Scenario(s.req_str(row, "name", p), recovery_lag_shift=lag, **kwargs))
            except ScenarioError as exc:
                raise SpecError(str(exc), p) from None
            cuts.append(float(cut or 0.0))
        if not scen:
            raise SpecError("a stress set needs at least one scenario", path)
        out[path] = NamedSet(
            path, s.opt_str(tbl, "description", path, path), tuple(scen), tuple(cuts)
        )
    return out


def _parse_sets(data: Mapping[str, Any], source: str) -> dict[str, NamedSet]:
    try:
        return _sets_from_dict(data)
    except SpecError as exc:
        err = SpecError(f"{source}: {exc}")
        err.path = exc.path
        raise err from None


def load_stress_sets(path: str | os.PathLike[str] | None = None) -> dict[str, NamedSet]:
    """The named stress sets: the shipped ``base``, ``moderate``, ``severe`` and a user file's.

    Parameters
    ----------
    path : path-like, optional
        A TOML file in the form of ``abs_engine/data/stress_sets.toml``; its
        sets replace shipped sets of the same name and add new ones.

    Raises
    ------
    SpecError
        The file is missing, not TOML, or has an unknown key (named by its path).
    """
    shipped = resources.files("abs_engine").joinpath("data", STRESS_SETS)
    with resources.as_file(shipped) as p:
        sets = _parse_sets(s.read_toml(p, "stress sets file"), STRESS_SETS)
    if path is not None:
        user = Path(path)
        sets.update(_parse_sets(s.read_toml(user, "stress sets file"), str(user)))
    return sets


def named_set(
    name: str,
    severities: SeveritySource | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> ScenarioTable:
    """A named stress set (``base``, ``moderate``, ``severe`` or one from ``path``).

    Parameters
    ----------
    name : str
    severities : mapping, Deal or assumptions, optional
        Base severities, needed by sets that cut recoveries (pass the deal).
    path : path-like, optional
        A user TOML overriding or adding sets (see :func:`load_stress_sets`).
    """
    sets = load_stress_sets(path)
    if name not in sets:
        close = difflib.get_close_matches(name, list(sets), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ScenarioError(f"no stress set {name!r}{hint} (sets: {', '.join(sets)})")
    return sets[name].table(severities)


# --- tables from files ----------------------------------------------------------------------------


def read_scenarios(
    path: str | os.PathLike[str],
    severities: SeveritySource | None = None,
    *,
    group: str | None = None,
) -> ScenarioTable:
    """Scenarios from a table file: CSV, parquet or Excel (``.xlsx``).

    Columns: ``scenario`` (ids; default ``s000000``...), any of the levers
    (``default_mult``, ``prepay_mult``, ``severity_mult``,
    ``recovery_lag_shift``), per-grade overrides such as ``default_mult[C]``,
    an optional ``group`` and an optional ``recovery_haircut`` (which needs
    ``severities`` and may not be combined with ``severity_mult[GRADE]``
    columns).  Unknown columns are errors.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.parquet`` or ``.xlsx`` (the first sheet).  A file that
        cannot be read, or a table with no rows, is a :class:`ScenarioError`.
    severities : mapping, Deal or assumptions, optional
        Base severities, for a ``recovery_haircut`` column.
    group : str, optional
        Group label of every row (default: the ``group`` column, or the file's stem).
    """
    from abs_engine.io import read_table, table_to_frame

    p = Path(path)
    table = read_table(p, what="scenario table", error=ScenarioError, text_columns=("scenario",))
    frame = table_to_frame(table, f"scenario table {p}", ScenarioError)
    try:
        return _table_from_frame(frame, severities, group or p.stem)
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from None


def _table_from_frame(
    frame: pd.DataFrame, severities: SeveritySource | None, default_group: str
) -> ScenarioTable:
    if len(frame) == 0:
        raise ScenarioError("scenario table is empty")
    groups: Any = default_group
    if "group" in frame.columns:
        groups = frame["group"].astype(str).to_numpy()
        frame = frame.drop(columns="group")
    info: dict[str, F64] = {}
    if "recovery_haircut" in frame.columns:
        if severities is None:
            raise ScenarioError("column 'recovery_haircut' needs the base severities (the deal)")
        if any(str(c).startswith("severity_mult[") for c in frame.columns):
            raise ScenarioError(
                "give either recovery_haircut or severity_mult[GRADE] columns, not both"
            )
        h = pd.to_numeric(frame["recovery_haircut"], errors="coerce").to_numpy(dtype=np.float64)
        if np.any(np.isnan(h)):
            raise ScenarioError("column 'recovery_haircut' holds a value that is not a number")
        m = (
            pd.to_numeric(frame["severity_mult"], errors="coerce").to_numpy(dtype=np.float64)
            if "severity_mult" in frame.columns
            else np.ones(len(frame))
        )
        per = haircut_multipliers(base_severities(severities), h, m)
        frame = frame.drop(columns=["recovery_haircut"])
        for g, arr in per.items():
            frame["severity_mult" if g == "*" else f"severity_mult[{g}]"] = arr
        info["recovery_haircut"] = h
    return ScenarioTable(
        ScenarioSet.from_frame(frame),
        groups,
        info,
        {"kind": "table", "columns": [str(c) for c in frame.columns]},
    )


# --- combining ------------------------------------------------------------------------------------


def concat(*tables: ScenarioTable | ScenarioSet) -> ScenarioTable:
    """One table from several (a grid, named sets, Monte Carlo paths...).

    A per-grade lever column missing from a part takes that part's pool-wide
    value; an info column missing from a part is NaN there.  Scenario ids
    must be unique across the parts.
    """
    parts = [ScenarioTable.of(t) for t in tables]
    if not parts:
        raise ScenarioError("concat needs at least one scenario table")
    if len(parts) == 1:
        return parts[0]
    frames = [p.scenarios.to_frame() for p in parts]
    columns: list[str] = []
    for f in frames:
        columns += [str(c) for c in f.columns if c not in columns]
    filled = []
    for f in frames:
        f = f.copy()
        for c in columns:
            if c not in f.columns:
                lever = c.split("[", 1)[0]
                f[c] = f[lever] if lever in LEVERS else np.nan
        filled.append(f[columns])
    merged = pd.concat(filled, ignore_index=True)
    info_cols: list[str] = []
    for p in parts:
        info_cols += [k for k in p.info if k not in info_cols]
    info = {
        k: np.concatenate(
            [np.asarray(p.info[k]) if k in p.info else np.full(len(p), np.nan) for p in parts]
        )
        for k in info_cols
    }
    group = np.concatenate([np.asarray(p.group) for p in parts])
    meta = {"kind": "concat", "parts": [dict(p.metadata) for p in parts]}
    return ScenarioTable(ScenarioSet.from_frame(merged), group, info, meta)


def parse_levels(text: str, where: str = "levels") -> list[float]:
    """Stress levels from text: a range, a list or one number.

    ``"1:6:0.5"`` is start:stop:step (stop included when it lands on the
    grid), ``"0.5,1,1.5"`` a list, ``"2"`` one level.

    >>> parse_levels("1:3:0.5")
    [1.0, 1.5, 2.0, 2.5, 3.0]
    >>> parse_levels("0.5, 1,1.5")
    [0.5, 1.0, 1.5]
    """
    raw = text.strip()
    if not raw:
        raise ScenarioError(f"{where}: no values")
    if ":" in raw:
        bits = raw.split(":")
        if len(bits) != 3:
            raise ScenarioError(f"{where}: a range is start:stop:step; got {text!r}")
        try:
            start, stop, step = (float(b) for b in bits)
        except ValueError:
            raise ScenarioError(
                f"{where}: a range is three numbers start:stop:step; got {text!r}"
            ) from None
        if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
            raise ScenarioError(
                f"{where}: need a finite start <= stop and a step > 0; got {text!r}"
            )
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 100_000:
            raise ScenarioError(f"{where}: {count:,} levels is too many; widen the step")
        return [round(start + i * step, 12) for i in range(count)]
    out = []
    for part in raw.split(","):
        try:
            v = float(part.strip())
        except ValueError:
            raise ScenarioError(
                f"{where}: {part.strip()!r} is not a number (in {text!r})"
            ) from None
        if not math.isfinite(v):
            raise ScenarioError(f"{where}: {part.strip()!r} is not a finite number")
        out.append(v)
    return out
