"""Scenarios: multipliers and shifts applied to the base assumptions.

A :class:`Scenario` is one stress; a :class:`ScenarioSet` holds thousands as
columns (arrays), so the engines apply them along the scenario axis in one
call.  Levers:

``default_mult``
    multiplies the annual default rate (CDR) of every month, capped at 100%;
    with a delinquency pipeline it multiplies the current-to-30 roll rate.
``prepay_mult``
    multiplies the annual prepayment rate (CPR), capped at 100%.
``severity_mult``
    multiplies loss severity, capped at 100%.
``recovery_lag_shift``
    months added to the recovery lag (the result is floored at 0).

The three multipliers can also be given per grade: ``Scenario("s",
default_mult={"C": 2.0})``.  A per-grade value *overrides* the pool-wide one
for that grade; in a mapping the key ``"*"`` sets the value of every grade not
named (default 1).  In tables the per-grade columns are ``default_mult[C]``.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from abs_engine._frozen import FrozenMap
from abs_engine.errors import ScenarioError, plain

__all__ = ["LEVERS", "MULTIPLIERS", "Scenario", "ScenarioSet"]

MULTIPLIERS = ("default_mult", "prepay_mult", "severity_mult")
LEVERS = (*MULTIPLIERS, "recovery_lag_shift")
_GRADE_COL = re.compile(r"^(default_mult|prepay_mult|severity_mult)\[(.+)\]$")


#: Largest stress multiplier a scenario accepts.  Default and prepayment rates are capped at
#: 100% a month, so beyond the multiple that caps the smallest curve value (the Monte Carlo
#: calibration grid reaches about 1e6) a multiplier only adds floating-point trouble (1e308
#: overflows to inf in products): such a figure is a typo, not a stress.
MAX_MULT = 1e7


def _check_mult(value: Any, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: expected a number, got {plain(value)!r}") from None
    if not math.isfinite(v) or not 0 <= v <= MAX_MULT:
        raise ScenarioError(
            f"{where}: a multiplier must be between 0 and {MAX_MULT:g}; got {plain(value)!r}"
        )
    return v


@dataclass(frozen=True)
class Scenario:
    """One stress on the base assumptions.

    Parameters
    ----------
    name : str
        Unique id within a set.
    default_mult, prepay_mult, severity_mult : float or mapping grade -> float
        Multipliers (see module docs); a mapping applies per grade, grades
        not named keep 1.
    recovery_lag_shift : int
        Months added to every recovery lag.
    """

    name: str = "base"
    default_mult: float | Mapping[str, float] = 1.0
    prepay_mult: float | Mapping[str, float] = 1.0
    severity_mult: float | Mapping[str, float] = 1.0
    recovery_lag_shift: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ScenarioError(
                f"scenario name must be a non-empty string; got {plain(self.name)!r}"
            )
        for lever in MULTIPLIERS:
            value = getattr(self, lever)
            where = f"scenario {plain(self.name)!r} {lever}"
            if isinstance(value, Mapping):
                checked = {str(g): _check_mult(v, f"{where}[{g}]") for g, v in value.items()}
                object.__setattr__(self, lever, FrozenMap(checked))
            else:
                object.__setattr__(self, lever, _check_mult(value, where))
        shift = self.recovery_lag_shift
        if isinstance(shift, bool) or not float(shift).is_integer():
            raise ScenarioError(
                f"scenario {plain(self.name)!r} recovery_lag_shift must be whole months; "
                f"got {plain(shift)!r}"
            )
        object.__setattr__(self, "recovery_lag_shift", int(shift))

    def __hash__(self) -> int:
        return hash(
            (
                self.name,
                *(
                    tuple(sorted(v.items())) if isinstance(v, Mapping) else v
                    for v in (self.default_mult, self.prepay_mult, self.severity_mult)
                ),
                self.recovery_lag_shift,
            )
        )


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """Scenarios stored as columns: one array per lever, shape ``(n_scenarios,)``.

    Build with ``ScenarioSet([Scenario(...), ...])``, :meth:`grid`,
    :meth:`from_frame` or :meth:`from_arrays`.  ``len()`` is the number of
    scenarios; slicing returns a smaller set (how batches are chunked).
    """

    scenarios: Sequence[Scenario] = ()
    names: NDArray[np.str_] = field(init=False, repr=False)
    levers: Mapping[str, NDArray[np.float64]] = field(init=False, repr=False)
    grade_levers: Mapping[tuple[str, str], NDArray[np.float64]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        scenarios = list(self.scenarios) or [Scenario()]
        for i, s in enumerate(scenarios):
            if not isinstance(s, Scenario):
                raise ScenarioError(f"scenarios[{i}] is a {type(s).__name__}, not a Scenario")
        n = len(scenarios)
        levers = {lv: np.ones(n) for lv in MULTIPLIERS}
        levers["recovery_lag_shift"] = np.zeros(n)
        per_grade: dict[tuple[str, str], NDArray[np.float64]] = {}
        for i, s in enumerate(scenarios):
            for lv in MULTIPLIERS:
                v = getattr(s, lv)
                if isinstance(v, Mapping):
                    levers[lv][i] = v.get("*", 1.0)
                    for g, x in v.items():
                        if g != "*":
                            per_grade.setdefault((lv, g), np.full(n, np.nan))[i] = x
                else:
                    levers[lv][i] = v
            levers["recovery_lag_shift"][i] = s.recovery_lag_shift
        # A grade named by some scenarios only keeps the pool-wide value elsewhere.
        for (lv, _g), arr in per_grade.items():
            np.copyto(arr, levers[lv], where=np.isnan(arr))
        self._init(np.array([s.name for s in scenarios]), levers, per_grade)
        object.__setattr__(self, "scenarios", ())

    def _init(
        self,
        names: NDArray[np.str_],
        levers: Mapping[str, NDArray[np.float64]],
        grade_levers: Mapping[tuple[str, str], NDArray[np.float64]],
    ) -> None:
        names = np.asarray(names).astype(str)
        uniq, counts = np.unique(names, return_counts=True)
        if np.any(counts > 1):
            dup = uniq[counts > 1][:3].tolist()
            raise ScenarioError(f"scenario names must be unique; repeated: {dup}")
        n = names.shape[0]
        frozen: dict[str, NDArray[np.float64]] = {}
        for lv in LEVERS:
            arr = np.asarray(
                levers.get(lv, np.zeros(n) if lv == "recovery_lag_shift" else np.ones(n)),
                dtype=np.float64,
            )
            arr = np.broadcast_to(arr, (n,)).copy()
            self._check_column(lv, arr, names)
            arr.setflags(write=False)
            frozen[lv] = arr
        gl: dict[tuple[str, str], NDArray[np.float64]] = {}
        for (lv, g), arr0 in grade_levers.items():
            if lv not in MULTIPLIERS:
                raise ScenarioError(f"per-grade lever must be one of {MULTIPLIERS}; got {lv!r}")
            arr = np.broadcast_to(np.asarray(arr0, dtype=np.float64), (n,)).copy()
            self._check_column(f"{lv}[{g}]", arr, names)
            arr.setflags(write=False)
            gl[(lv, str(g))] = arr
        names.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "levers", FrozenMap(frozen))
        object.__setattr__(self, "grade_levers", FrozenMap(gl))

    @staticmethod
    def _check_column(col: str, arr: NDArray[np.float64], names: NDArray[np.str_]) -> None:
        bad = ~np.isfinite(arr)
        if col != "recovery_lag_shift":
            bad |= (arr < 0) | (arr > MAX_MULT)
        else:
            bad |= arr != np.round(arr)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            need = (
                "whole months"
                if col == "recovery_lag_shift"
                else f"a multiplier between 0 and {MAX_MULT:g}"
            )
            raise ScenarioError(
                f"scenario {plain(names[i])!r} {col}: {need} expected; got {plain(arr[i])!r} "
                f"({int(bad.sum())} bad value(s) in the column)"
            )

    # --- constructors ------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        names: ArrayLike | None = None,
        *,
        default_mult: ArrayLike | Mapping[str, ArrayLike] = 1.0,
        prepay_mult: ArrayLike | Mapping[str, ArrayLike] = 1.0,
        severity_mult: ArrayLike | Mapping[str, ArrayLike] = 1.0,
        recovery_lag_shift: ArrayLike = 0,
        n: int | None = None,
    ) -> ScenarioSet:
        """Columnar constructor for large sets (Monte Carlo paths).

        Each lever is a scalar, an array of length ``n``, or a mapping
        grade -> array for per-grade multipliers.  ``names`` defaults to
        ``"s000000"``, ``"s000001"``, ...
        """
        sizes = {np.size(names)} if names is not None else set()
        for v in (default_mult, prepay_mult, severity_mult, recovery_lag_shift):
            for arr in v.values() if isinstance(v, Mapping) else [v]:
                if np.ndim(arr) > 0:
                    sizes.add(np.size(arr))
        if n is not None:
            sizes.add(n)
        if len(sizes) > 1:
            raise ScenarioError(f"scenario columns have different lengths: {sorted(sizes)}")
        count = sizes.pop() if sizes else 1
        names_arr = _default_names(count) if names is None else np.asarray(names).astype(str)
        levers: dict[str, Any] = {"recovery_lag_shift": recovery_lag_shift}
        grade_levers: dict[tuple[str, str], Any] = {}
        for lv, v in (
            ("default_mult", default_mult),
            ("prepay_mult", prepay_mult),
            ("severity_mult", severity_mult),
        ):
            if isinstance(v, Mapping):
                for g, arr in v.items():
                    grade_levers[(lv, str(g))] = arr
            else:
                levers[lv] = v
        return cls._from_columns(names_arr, levers, grade_levers)

    @classmethod
    def grid(cls, **axes: Sequence[float]) -> ScenarioSet:
        """Cartesian product of lever values.

        ``grid(default_mult=[1, 2], prepay_mult=[0.5, 1])`` gives four scenarios.

        Names read ``default_mult=2,prepay_mult=0.5``.
        """
        for key in axes:
            if key not in LEVERS:
                close = difflib.get_close_matches(key, LEVERS, n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)"
                    if close
                    else f"; levers are {', '.join(LEVERS)}"
                )
                raise ScenarioError(f"grid: unknown lever {key!r}{hint}")
        if not axes:
            return cls([Scenario()])
        keys = list(axes)
        values = [np.atleast_1d(np.asarray(axes[k], dtype=np.float64)) for k in keys]
        for k, v in zip(keys, values, strict=True):
            if v.size == 0:
                raise ScenarioError(f"grid: lever {k!r} has no values")
        mesh = np.meshgrid(*values, indexing="ij")
        cols = {k: m.ravel() for k, m in zip(keys, mesh, strict=True)}
        names = [
            ",".join(f"{k}={_fmt(v)}" for k, v in zip(keys, combo, strict=True))
            for combo in itertools.product(*values)
        ]
        return cls.from_arrays(names, **cols)  # type: ignore[arg-type]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ScenarioSet:
        """Scenarios from a table: columns ``scenario`` (id, optional) and levers.

        Per-grade multipliers are columns like ``default_mult[C]``; they
        override the pool-wide column for that grade.  Unknown columns are
        errors.
        """
        if len(frame) == 0:
            raise ScenarioError("scenario table is empty")
        levers: dict[str, NDArray[np.float64]] = {}
        grade_levers: dict[tuple[str, str], NDArray[np.float64]] = {}
        names: NDArray[Any] | None = None
        for col in frame.columns:
            c = str(col)
            if c in ("scenario", "name"):
                names = frame[col].astype(str).to_numpy()
            elif c in LEVERS:
                levers[c] = _numeric_column(frame[col], c)
            elif (m := _GRADE_COL.match(c)) is not None:
                grade_levers[(m.group(1), m.group(2))] = _numeric_column(frame[col], c)
            else:
                close = difflib.get_close_matches(c, [*LEVERS, "scenario"], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ScenarioError(
                    f"scenario table: unknown column {c!r}{hint} "
                    f"(columns: scenario, {', '.join(LEVERS)}, or default_mult[GRADE] per grade)"
                )
        if names is None:
            names = _default_names(len(frame))
        return cls._from_columns(names, levers, grade_levers)

    @classmethod
    def _from_columns(
        cls,
        names: ArrayLike,
        levers: Mapping[str, ArrayLike],
        grade_levers: Mapping[tuple[str, str], ArrayLike],
    ) -> ScenarioSet:
        self = object.__new__(cls)
        object.__setattr__(self, "scenarios", ())
        self._init(
            np.asarray(names),
            {k: np.asarray(v, dtype=np.float64) for k, v in levers.items()},
            {k: np.asarray(v, dtype=np.float64) for k, v in grade_levers.items()},
        )
        return self

    @classmethod
    def base(cls) -> ScenarioSet:
        """A single base-case scenario."""
        return cls([Scenario()])

    # --- access -----------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.names.shape[0])

    def __iter__(self) -> Iterator[Scenario]:
        for i in range(len(self)):
            yield self.scenario(i)

    @overload
    def __getitem__(self, key: int) -> Scenario: ...
    @overload
    def __getitem__(self, key: slice | NDArray[Any] | Sequence[int]) -> ScenarioSet: ...
    def __getitem__(
        self, key: int | slice | NDArray[Any] | Sequence[int]
    ) -> Scenario | ScenarioSet:
        if isinstance(key, (int, np.integer)):
            return self.scenario(int(key))
        idx = np.arange(len(self))[key]
        out = object.__new__(ScenarioSet)
        object.__setattr__(out, "scenarios", ())
        out._init(
            self.names[idx],
            {lv: a[idx] for lv, a in self.levers.items()},
            {k: a[idx] for k, a in self.grade_levers.items()},
        )
        return out

    def scenario(self, i: int) -> Scenario:
        """The ``i``-th scenario as a :class:`Scenario`."""
        kwargs: dict[str, Any] = {}
        for lv in MULTIPLIERS:
            pool_wide = float(self.levers[lv][i])
            named = {
                g: float(a[i])
                for (lev, g), a in self.grade_levers.items()
                if lev == lv and float(a[i]) != pool_wide
            }
            kwargs[lv] = {"*": pool_wide, **named} if named else pool_wide
        return Scenario(
            str(self.names[i]),
            recovery_lag_shift=int(self.levers["recovery_lag_shift"][i]),
            **kwargs,
        )

    def multipliers(self, lever: str, grades: Sequence[str]) -> NDArray[np.float64]:
        """Effective multiplier per scenario and grade, shape ``(n_scenarios, n_grades)``.

        A per-grade column overrides the pool-wide value for its grade.
        """
        if lever not in MULTIPLIERS:
            raise ScenarioError(f"unknown multiplier {lever!r}; one of {MULTIPLIERS}")
        out = np.repeat(self.levers[lever][:, None], len(grades), axis=1)
        for j, g in enumerate(grades):
            col = self.grade_levers.get((lever, g))
            if col is not None:
                out[:, j] = col
        return out

    @property
    def recovery_lag_shift(self) -> NDArray[np.int64]:
        """Months added to the recovery lag, per scenario."""
        return self.levers["recovery_lag_shift"].astype(np.int64)

    def grades_named(self) -> set[str]:
        """Grades that per-grade levers refer to."""
        return {g for (_, g) in self.grade_levers}

    def check_grades(self, grades: Sequence[str]) -> None:
        """Raise :class:`ScenarioError` if a per-grade lever names a grade not in ``grades``."""
        unknown = self.grades_named() - set(grades) - {"*"}
        if unknown:
            raise ScenarioError(
                f"scenarios name grade(s) {sorted(unknown)} that the pool does not have "
                f"(grades: {', '.join(grades)})"
            )

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario: ``scenario`` and every lever column."""
        data: dict[str, Any] = {"scenario": self.names}
        data.update(dict(self.levers))
        data["recovery_lag_shift"] = self.recovery_lag_shift
        for (lv, g), a in sorted(self.grade_levers.items()):
            data[f"{lv}[{g}]"] = a
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        head = ", ".join(self.names[:3].tolist())
        more = f", ... ({len(self)} in all)" if len(self) > 3 else ""
        return f"ScenarioSet([{head}{more}])"


def _default_names(n: int) -> NDArray[np.str_]:
    width = max(6, len(str(n - 1)))
    return np.char.add("s", np.char.zfill(np.arange(n).astype(str), width))


def _fmt(v: float) -> str:
    return f"{v:g}"


def _numeric_column(col: pd.Series, name: str) -> NDArray[np.float64]:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ScenarioError(
            f"scenario table column {name!r}, row {i}: not a number ({plain(col.iloc[i])!r})"
        )
    return values
