"""Collateral assumptions: curves, severity, recovery lag, advancing, roll rates.

``Assumptions`` is one set; ``Assumptions.by_grade({...})`` gives a
:class:`GradedAssumptions` mapping each credit grade to its set.  Both are
frozen; a stress is ``dataclasses.replace(...)`` or a scenario multiplier.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abs_engine._frozen import FrozenMap
from abs_engine._spec import read_toml
from abs_engine.curves.curve import (
    PSA,
    SDA,
    ABSPrepay,
    Constant,
    CumulativeDefault,
    Curve,
    Vector,
    cumulative_default_shares,
)
from abs_engine.errors import AssumptionError, SpecError, plain

__all__ = [
    "DELINQUENCY_STATES",
    "DELINQUENT_AT_CUTOFF",
    "Assumptions",
    "GradedAssumptions",
    "RollRates",
    "curve_from_dict",
    "load_assumptions",
    "map_assumptions",
]

#: Pipeline states of the roll-rate model, in order; ``default`` is absorbing.
DELINQUENCY_STATES = ("current", "dpd_1_30", "dpd_31_60", "dpd_61_90", "default")

DelinquentAtCutoff = Literal["roll", "exclude"]
#: Treatments of receivables 1-90 days past due at cut-off (see :class:`Assumptions`).
DELINQUENT_AT_CUTOFF: tuple[str, ...] = ("roll", "exclude")


@dataclass(frozen=True, eq=False)
class RollRates:
    """Monthly roll-rate (Markov) matrix of the delinquency pipeline.

    ``matrix[i, j]`` is the share of the balance in state ``i`` (rows:
    current, 1-30, 31-60, 61-90 days past due) that is in state ``j``
    (columns: the same four, then default) one month later.  Rows sum to 1.
    Balance in the 61-90 bucket that does not cure or stay rolls to default.
    """

    matrix: NDArray[np.float64]

    def __post_init__(self) -> None:
        m = np.array(self.matrix, dtype=np.float64)
        if m.shape != (4, 5):
            raise AssumptionError(
                "roll-rate matrix must be 4 x 5 (rows current, 1-30, 31-60, 61-90; "
                f"columns the same plus default); got shape {m.shape}"
            )
        if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(m > 1):
            raise AssumptionError("roll rates must be decimals in [0, 1]")
        sums = m.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-9)
        if bad.size:
            i = int(bad[0])
            raise AssumptionError(
                f"roll-rate row '{DELINQUENCY_STATES[i]}' sums to {sums[i]:.6g}, not 1"
            )
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)

    @classmethod
    def from_rolls(
        cls,
        current_to_30: float,
        to_60: float,
        to_90: float,
        to_default: float,
        cure: float | Sequence[float] = 0.0,
    ) -> RollRates:
        """Build the matrix from forward roll rates and cure rates.

        Parameters
        ----------
        current_to_30 : float
            Share of the current balance that becomes 1-30 days past due.
        to_60, to_90, to_default : float
            Share of the 1-30, 31-60 and 61-90 buckets rolling one bucket on.
        cure : float or sequence of three floats
            Share of each delinquent bucket (1-30, 31-60, 61-90) returning
            to current.  What neither rolls nor cures stays in its bucket.
        """
        cures = [float(c) for c in cure] if isinstance(cure, Sequence) else [float(cure)] * 3
        if len(cures) != 3:
            raise AssumptionError("cure takes one rate or three (for 1-30, 31-60, 61-90)")
        rolls = [float(to_60), float(to_90), float(to_default)]
        m = np.zeros((4, 5))
        m[0, 0], m[0, 1] = 1.0 - float(current_to_30), float(current_to_30)
        for i in range(3):
            stay = 1.0 - rolls[i] - cures[i]
            if stay < -1e-12:
                raise AssumptionError(
                    f"bucket '{DELINQUENCY_STATES[i + 1]}': "
                    f"roll {rolls[i]} + cure {cures[i]} exceed 1"
                )
            m[i + 1, 0] = cures[i]
            m[i + 1, i + 1] = max(stay, 0.0)
            m[i + 1, i + 2] = rolls[i]
        return cls(m)

    def stressed(self, multiplier: ArrayLike) -> NDArray[np.float64]:
        """Matrices with the current-to-30 roll scaled by ``multiplier`` (capped at 1).

        Returns an array of shape ``multiplier.shape + (4, 5)``.  Entry into
        delinquency is what a default stress scales; cure and later roll
        rates are kept.
        """
        k = np.asarray(multiplier, dtype=np.float64)
        out = np.broadcast_to(self.matrix, (*k.shape, 4, 5)).copy()
        entry = np.minimum(self.matrix[0, 1] * k, 1.0)
        out[..., 0, 1] = entry
        out[..., 0, 0] = 1.0 - entry
        return out

    def to_dict(self) -> dict[str, Any]:
        """TOML form (the full matrix, row by row)."""
        return {"matrix": [list(map(float, row)) for row in self.matrix]}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RollRates) and np.array_equal(self.matrix, other.matrix)

    def __hash__(self) -> int:
        return hash(self.matrix.tobytes())

    def __repr__(self) -> str:
        return f"RollRates(matrix={self.matrix.tolist()})"


@dataclass(frozen=True)
class Assumptions:
    """Collateral performance assumptions for one grade (or the whole pool).

    Parameters
    ----------
    default : Curve
        Default curve (``cdr``, ``mdr``, ``sda``, ``vector(unit="cdr")``,
        ``cumulative_default``).  Ignored when ``roll_rates`` is given:
        defaults then come out of the delinquency pipeline.
    prepay : Curve
        Voluntary prepayment curve (``cpr``, ``smm``, ``psa``, ``abs_prepay``...).
    severity : float
        Loss severity, share of the defaulted balance lost (``1 - recovery rate``).
    recovery_lag : int
        Months from default to liquidation (recovery and loss).
    advancing : bool
        SIFMA servicer advancing: defaulted loans keep paying scheduled
        principal and interest (advanced) until liquidation, and no new
        defaults are taken in a loan's final ``recovery_lag`` months.
    roll_rates : RollRates or None
        Delinquency pipeline; when given, receivables already delinquent at
        cut-off start in their bucket.
    delinquent_at_cutoff : {"roll", "exclude"}
        What happens to receivables 1-90 days past due at cut-off.  ``"roll"``
        (default): they start in their bucket of the roll-rate pipeline, or,
        without one, roll one bucket a month to default paying nothing
        (61-90 days default in month 1, 31-60 in month 2, 1-30 in month 3).
        ``"exclude"``: they are ineligible and left out of the projection.
        Receivables 90+ days past due default in month 1 either way.
    """

    default: Curve = field(default_factory=lambda: Constant(0.0, "cdr"))
    prepay: Curve = field(default_factory=lambda: Constant(0.0, "cpr"))
    severity: float = 1.0
    recovery_lag: int = 0
    advancing: bool = False
    roll_rates: RollRates | None = None
    delinquent_at_cutoff: DelinquentAtCutoff = "roll"

    def __post_init__(self) -> None:
        if not isinstance(self.default, Curve):
            raise AssumptionError(
                f"default must be a Curve (e.g. curves.cdr(0.05)); got {self.default!r}"
            )
        if not isinstance(self.prepay, Curve):
            raise AssumptionError(
                f"prepay must be a Curve (e.g. curves.cpr(0.10)); got {self.prepay!r}"
            )
        if self.default.kind == "prepayment":
            raise AssumptionError(
                f"default is a prepayment curve ({type(self.default).__name__}); "
                "use cdr/mdr/sda/cumulative_default or vector(unit='cdr')"
            )
        if self.prepay.kind == "default":
            raise AssumptionError(
                f"prepay is a default curve ({type(self.prepay).__name__}); "
                "use cpr/smm/psa/abs_prepay or vector(unit='cpr')"
            )
        sev = float(self.severity)
        if not math.isfinite(sev) or not 0.0 <= sev <= 1.0:
            raise AssumptionError(
                f"severity must be a decimal in [0, 1] (1 - recovery rate); "
                f"got {plain(self.severity)!r}"
            )
        object.__setattr__(self, "severity", sev)
        lag = self.recovery_lag
        if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
            raise AssumptionError(
                f"recovery_lag must be a whole number of months >= 0; got {plain(lag)!r}"
            )
        object.__setattr__(self, "recovery_lag", int(lag))
        if self.roll_rates is not None and not isinstance(self.roll_rates, RollRates):
            raise AssumptionError("roll_rates must be a RollRates (e.g. RollRates.from_rolls(...))")
        if self.delinquent_at_cutoff not in DELINQUENT_AT_CUTOFF:
            raise AssumptionError(
                "delinquent_at_cutoff must be 'roll' (delinquent receivables roll to default, or "
                "through the roll-rate pipeline) or 'exclude' (ineligible, left out); "
                f"got {self.delinquent_at_cutoff!r}"
            )
        if self.advancing and cumulative_default_shares(self.default, [1]) is not None:
            raise AssumptionError(
                "a cumulative_default curve cannot be combined with advancing: the CGL is "
                "delivered on the performing balance of each grade and age, while advancing "
                "stops new defaults loan by loan; use a cdr/mdr/sda or vector curve"
            )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_projection_rows", None)  # the projection's memo of curve tables
        return state

    @staticmethod
    def by_grade(
        assumptions: Mapping[str, Assumptions], default: Assumptions | None = None
    ) -> GradedAssumptions:
        """Assumptions per credit grade, e.g. ``Assumptions.by_grade({"A": a, "B": b, "C": c})``.

        ``default`` (optional) applies to grades not named.
        """
        return GradedAssumptions(assumptions, default)

    def for_grade(self, grade: str) -> Assumptions:
        """The same set for every grade."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """TOML form."""
        out: dict[str, Any] = {
            "default": self.default.to_dict(),
            "prepay": self.prepay.to_dict(),
            "severity": self.severity,
            "recovery_lag": self.recovery_lag,
            "advancing": self.advancing,
        }
        if self.roll_rates is not None:
            out["roll_rates"] = self.roll_rates.to_dict()
        if self.delinquent_at_cutoff != "roll":
            out["delinquent_at_cutoff"] = self.delinquent_at_cutoff
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "assumptions") -> Assumptions:
        """Parse the TOML form; unknown keys are errors naming their path."""
        return _assumptions_from_dict(data, path)


class GradedAssumptions(Mapping[str, Assumptions]):
    """An immutable mapping ``grade -> Assumptions`` with an optional fallback."""

    __slots__ = ("_default", "_map")

    def __init__(
        self, assumptions: Mapping[str, Assumptions], default: Assumptions | None = None
    ) -> None:
        for g, a in assumptions.items():
            if not isinstance(a, Assumptions):
                raise AssumptionError(f"grade {g!r}: expected Assumptions, got {type(a).__name__}")
        if not assumptions and default is None:
            raise AssumptionError("by_grade needs at least one grade or a default")
        self._map = FrozenMap({str(g): a for g, a in assumptions.items()})
        self._default = default

    def __getitem__(self, grade: str) -> Assumptions:
        return self._map[grade]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __hash__(self) -> int:
        return hash((tuple(self._map.items()), self._default))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, GradedAssumptions)
            and dict(self._map) == dict(other._map)
            and self._default == other._default
        )

    def __repr__(self) -> str:
        inner = ", ".join(f"{g!r}: {a!r}" for g, a in self._map.items())
        return f"Assumptions.by_grade({{{inner}}}, default={self._default!r})"

    @property
    def default(self) -> Assumptions | None:
        """Fallback for grades not named."""
        return self._default

    def for_grade(self, grade: str) -> Assumptions:
        """Assumptions of ``grade``; an error naming the grades defined if there are none."""
        if grade in self._map:
            return self._map[grade]
        if self._default is not None:
            return self._default
        raise AssumptionError(
            f"no assumptions for grade {grade!r}; defined for {', '.join(self._map)} "
            "- add it to Assumptions.by_grade(...) or give default="
        )

    def to_dict(self) -> dict[str, Any]:
        """TOML form: ``[grades.A]`` tables and an optional ``[default]``."""
        out: dict[str, Any] = {"grades": {g: a.to_dict() for g, a in self._map.items()}}
        if self._default is not None:
            out["default"] = self._default.to_dict()
        return out


def map_assumptions(
    assumptions: Assumptions | GradedAssumptions, fn: Callable[[Assumptions], Assumptions]
) -> Assumptions | GradedAssumptions:
    """Apply ``fn`` to every grade's assumption set (and the fallback), keeping the shape.

    >>> import dataclasses
    >>> from abs_engine import curves
    >>> a = Assumptions.by_grade({"A": Assumptions(), "B": Assumptions()})
    >>> b = map_assumptions(a, lambda x: dataclasses.replace(x, default=curves.cdr(0.01)))
    >>> b.for_grade("B").default
    Constant(rate=0.01, unit='cdr', by='age')
    """
    if isinstance(assumptions, GradedAssumptions):
        fallback = assumptions.default
        return GradedAssumptions(
            {g: fn(a) for g, a in assumptions.items()},
            fn(fallback) if fallback is not None else None,
        )
    return fn(assumptions)


# --- TOML form -------------------------------------------------------------------

_CURVE_KINDS = ("cdr", "mdr", "cpr", "smm", "psa", "sda", "abs", "vector", "cumulative_default")
_CURVE_MODIFIERS = {"unit", "by", "timing", "scale"}


def _unknown(key: str, allowed: Sequence[str], path: str) -> SpecError:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"
    return SpecError(f"unknown key {key!r}{hint}", f"{path}.{key}" if path else key)


def curve_from_dict(data: Mapping[str, Any], path: str = "curve") -> Curve:
    """Build a curve from its TOML form.

    Exactly one kind key, optionally with modifiers::

        {cdr = 0.05}            {psa = 150}          {abs = 0.015}
        {vector = [0.01, 0.02], unit = "cdr", by = "age"}
        {cumulative_default = 0.06, timing = [1, 2, 3, 2, 1]}
        {cpr = 0.10, scale = 1.5}
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"a curve is a table such as {{cdr = 0.05}}; got {data!r}", path)
    for key in data:
        if key not in _CURVE_KINDS and key not in _CURVE_MODIFIERS:
            raise _unknown(key, [*_CURVE_KINDS, *_CURVE_MODIFIERS], path)
    kinds = [k for k in _CURVE_KINDS if k in data]
    if len(kinds) != 1:
        raise SpecError(
            f"a curve names exactly one of {', '.join(_CURVE_KINDS)}; got {kinds or 'none'}", path
        )
    kind = kinds[0]
    value = data[kind]
    by = data.get("by", "age")
    allowed_mods = {"scale"} | (
        {"unit", "by"}
        if kind == "vector"
        else {"timing", "by"}
        if kind == "cumulative_default"
        else {"by"}
        if kind in ("cdr", "mdr", "cpr", "smm")
        else set()
    )
    for mod in _CURVE_MODIFIERS & set(data):
        if mod not in allowed_mods:
            raise SpecError(f"{mod!r} does not apply to a {kind} curve", f"{path}.{mod}")
    try:
        curve: Curve
        if kind in ("cdr", "mdr", "cpr", "smm"):
            curve = Constant(_num(value, f"{path}.{kind}"), kind, by)  # type: ignore[arg-type]
        elif kind == "psa":
            curve = PSA(_num(value, f"{path}.psa"))
        elif kind == "sda":
            curve = SDA(_num(value, f"{path}.sda"))
        elif kind == "abs":
            curve = ABSPrepay(_num(value, f"{path}.abs"))
        elif kind == "vector":
            if "unit" not in data:
                raise SpecError(
                    "a vector curve needs unit = 'cdr' | 'cpr' | 'smm' | 'mdr'", f"{path}.unit"
                )
            curve = Vector(tuple(_nums(value, f"{path}.vector")), data["unit"], by)
        else:
            if "timing" not in data:
                raise SpecError(
                    "cumulative_default needs timing = [weights by month]", f"{path}.timing"
                )
            curve = CumulativeDefault(
                _num(value, f"{path}.cumulative_default"),
                tuple(_nums(data["timing"], f"{path}.timing")),
                by,
            )
        if "scale" in data:
            curve = curve.scaled(_num(data["scale"], f"{path}.scale"))
    except AssumptionError as exc:
        raise SpecError(str(exc), path) from exc
    return curve


def _num(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"expected a number; got {plain(value)!r}", path)
    return float(value)


def _nums(value: Any, path: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(f"expected a non-empty list of numbers; got {value!r}", path)
    return [_num(v, f"{path}[{i}]") for i, v in enumerate(value)]


_ASSUMPTION_KEYS = (
    "default",
    "prepay",
    "severity",
    "recovery_lag",
    "advancing",
    "roll_rates",
    "delinquent_at_cutoff",
)
_ROLL_KEYS = ("matrix", "current_to_30", "to_60", "to_90", "to_default", "cure")


def _roll_rates_from_dict(data: Any, path: str) -> RollRates:
    if not isinstance(data, Mapping):
        raise SpecError("roll_rates is a table", path)
    for key in data:
        if key not in _ROLL_KEYS:
            raise _unknown(key, _ROLL_KEYS, path)
    try:
        if "matrix" in data:
            if len(data) > 1:
                raise SpecError("give either matrix or the roll rates, not both", path)
            return RollRates(np.asarray(data["matrix"], dtype=np.float64))
        missing = [k for k in ("current_to_30", "to_60", "to_90", "to_default") if k not in data]
        if missing:
            raise SpecError(f"missing {', '.join(missing)}", path)
        cure = data.get("cure", 0.0)
        return RollRates.from_rolls(
            _num(data["current_to_30"], f"{path}.current_to_30"),
            _num(data["to_60"], f"{path}.to_60"),
            _num(data["to_90"], f"{path}.to_90"),
            _num(data["to_default"], f"{path}.to_default"),
            _nums(cure, f"{path}.cure") if isinstance(cure, list) else _num(cure, f"{path}.cure"),
        )
    except (AssumptionError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(str(exc), path) from exc


def _assumptions_from_dict(data: Mapping[str, Any], path: str) -> Assumptions:
    if not isinstance(data, Mapping):
        raise SpecError("expected a table of assumptions", path)
    for key in data:
        if key not in _ASSUMPTION_KEYS:
            raise _unknown(key, _ASSUMPTION_KEYS, path)
    kwargs: dict[str, Any] = {}
    if "default" in data:
        kwargs["default"] = curve_from_dict(data["default"], f"{path}.default")
    if "prepay" in data:
        kwargs["prepay"] = curve_from_dict(data["prepay"], f"{path}.prepay")
    if "severity" in data:
        kwargs["severity"] = _num(data["severity"], f"{path}.severity")
    if "recovery_lag" in data:
        lag = data["recovery_lag"]
        if isinstance(lag, bool) or not isinstance(lag, int):
            raise SpecError(f"expected whole months; got {lag!r}", f"{path}.recovery_lag")
        kwargs["recovery_lag"] = lag
    if "advancing" in data:
        if not isinstance(data["advancing"], bool):
            raise SpecError("expected true or false", f"{path}.advancing")
        kwargs["advancing"] = data["advancing"]
    if "roll_rates" in data:
        kwargs["roll_rates"] = _roll_rates_from_dict(data["roll_rates"], f"{path}.roll_rates")
    if "delinquent_at_cutoff" in data:
        value = data["delinquent_at_cutoff"]
        if value not in DELINQUENT_AT_CUTOFF:
            raise SpecError(
                f"expected 'roll' or 'exclude'; got {value!r}", f"{path}.delinquent_at_cutoff"
            )
        kwargs["delinquent_at_cutoff"] = value
    try:
        return Assumptions(**kwargs)
    except AssumptionError as exc:
        raise SpecError(str(exc), path) from exc


def _is_assumption_set(table: Mapping[str, Any]) -> bool:
    """Whether a ``default`` table is an assumption set (severity, curves...), not a curve."""
    return bool(table) and all(k in _ASSUMPTION_KEYS for k in table)


def assumptions_from_dict(
    data: Mapping[str, Any], path: str = "assumptions"
) -> Assumptions | GradedAssumptions:
    """Parse either one assumption set or ``{grades = {...}, default = {...}}``.

    A ``[default]`` table next to ``[grades.X]`` is the fallback for other
    grades *and* the base each grade table overrides key by key; a ``[default]``
    table alone is the one set every grade uses.
    """
    if "grades" not in data:
        base = data.get("default")
        if isinstance(base, Mapping) and _is_assumption_set(base):
            # ``[default]`` alone: the set every grade uses (a curve would be {cdr = ...})
            others = [k for k in data if k != "default"]
            if others:
                raise SpecError(
                    f"{others[0]!r} sits beside a [default] table of assumptions; put it "
                    "inside [default] (or in [grades.X] tables)",
                    f"{path}.{others[0]}" if path else others[0],
                )
            return _assumptions_from_dict(base, f"{path}.default" if path else "default")
        return _assumptions_from_dict(data, path)
    for key in data:
        if key not in ("grades", "default"):
            raise _unknown(key, ["grades", "default"], path)
    base = data.get("default", {})
    default = _assumptions_from_dict(base, f"{path}.default") if "default" in data else None
    grades = data["grades"]
    if not isinstance(grades, Mapping) or not grades:
        raise SpecError("grades is a table of grade tables ([grades.A], ...)", f"{path}.grades")
    per_grade = {
        str(g): _assumptions_from_dict(
            {**base, **tbl} if isinstance(tbl, Mapping) else tbl, f"{path}.grades.{g}"
        )
        for g, tbl in grades.items()
    }
    return GradedAssumptions(per_grade, default)


def load_assumptions(path: str | Path) -> Assumptions | GradedAssumptions:
    """Read an assumptions TOML file (one set, or ``[grades.A]``... tables)."""
    p = Path(path)
    data = read_toml(p, "assumptions file")
    if "assumptions" in data and len(data) == 1:
        data = data["assumptions"]
    try:
        return assumptions_from_dict(data, "assumptions")
    except SpecError as exc:
        raise SpecError(f"{p}: {exc}") from None
