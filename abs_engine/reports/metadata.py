"""Run metadata stamped on every report: version, git commit, spec hash, seed, time.

>>> meta = run_metadata({"deal": "sample", "seed": 7}, seed=7)
>>> meta.seed, len(meta.spec_hash or "")
(7, 64)
>>> spec_hash({"b": 1, "a": [1.5, "x"]}) == spec_hash({"a": [1.5, "x"], "b": 1})
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from abs_engine._frozen import FrozenMap
from abs_engine.errors import SpecError

__all__ = [
    "RunMetadata",
    "canonical_json",
    "flatten_spec",
    "git_commit",
    "package_version",
    "run_metadata",
    "spec_hash",
]

#: Environment variable that overrides the commit found on disk (e.g. in a container
#: built from a known commit, where no ``.git`` is present).
COMMIT_ENV = "ABS_ENGINE_GIT_COMMIT"

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def package_version() -> str:
    """The installed version of abs_engine (``0.0.0+unknown`` from a bare source tree)."""
    from abs_engine import __version__

    return __version__


# --- git -------------------------------------------------------------------------------------


def _git_dir(start: Path) -> Path | None:
    """The ``.git`` directory of the checkout holding ``start`` (follows ``gitdir:`` files)."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (folder / target).resolve()
            return None
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():  # linked worktree: refs live in the main repository
        common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    for base in (git_dir, common):
        loose = base / ref
        if loose.is_file():
            sha = loose.read_text(encoding="utf-8", errors="replace").strip()
            return sha if _SHA.match(sha) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.strip().split(" ", 1)
            if len(parts) == 2 and parts[1] == ref and _SHA.match(parts[0]):
                return parts[0]
    return None


def git_commit(path: str | os.PathLike[str] | None = None) -> str | None:
    """The commit checked out where abs_engine (or ``path``) lives, or ``None``.

    Reads ``.git/HEAD`` and the refs directly, so it needs no ``git``
    program and never fails: outside a checkout (an installed wheel), or on
    any unreadable file, it returns ``None``.  The environment variable
    ``ABS_ENGINE_GIT_COMMIT`` overrides what is found.

    Parameters
    ----------
    path : path-like, optional
        Where to start looking (default: the abs_engine package folder).
    """
    override = os.environ.get(COMMIT_ENV, "").strip()
    if override:
        return override
    start = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        git_dir = _git_dir(start.resolve())
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
        if head.startswith("ref:"):
            return _resolve_ref(git_dir, head[len("ref:") :].strip())
        return head if _SHA.match(head) else None
    except OSError:
        return None


# --- spec hashing ------------------------------------------------------------------------------


def _plain(value: Any, path: str) -> Any:
    """JSON-ready form of a spec value, with a stable order."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value, path)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | decimal.Decimal):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dt.datetime | dt.date | dt.time | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return str(value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, np.ndarray):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value.tolist())]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        data = to_dict() if callable(to_dict) else dataclasses.asdict(value)
        return _plain(data, path)
    if isinstance(value, Mapping | FrozenMap):
        return {str(k): _plain(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [_plain(v, path) for v in value]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(value, Sequence):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _plain(to_dict(), path)
    raise SpecError(
        f"cannot hash a {type(value).__name__} in a spec; use numbers, text, dates, "
        "lists and tables (or an object with to_dict())",
        path,
    )


def canonical_json(spec: Any) -> str:
    """The spec as canonical JSON: sorted keys, no spaces, NaN as text.

    Mappings (including ``FrozenMap``), sequences, NumPy scalars and
    arrays, dates, paths and objects with ``to_dict()`` are accepted.
    """
    return json.dumps(_plain(spec, ""), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(spec: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of the spec: equal specs, equal hashes."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()


def flatten_spec(spec: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The spec as ``(key path, value)`` rows: ``tranches[1].coupon``.

    >>> flatten_spec({"deal": {"name": "x", "tranches": [{"coupon": 0.05}]}})
    [('deal.name', 'x'), ('deal.tranches[0].coupon', 0.05)]
    """
    plain = _plain(spec, prefix)
    rows: list[tuple[str, Any]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if not value:
                rows.append((path, "{}"))
            for k in sorted(value):
                walk(value[k], f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            if not value:
                rows.append((path, "[]"))
            elif all(not isinstance(v, dict | list) for v in value) and len(value) > 12:
                rows.append((path, json.dumps(value)))  # long vectors stay on one row
            else:
                for i, v in enumerate(value):
                    walk(v, f"{path}[{i}]")
        else:
            rows.append((path, value))

    walk(plain, prefix)
    return rows


# --- the record ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunMetadata:
    """What produced an output: enough to reproduce it.

    Attributes
    ----------
    package_version : str
        abs_engine version.
    git_commit : str or None
        Commit of the code, when known.
    spec_hash : str or None
        SHA-256 of the canonical effective spec (see :func:`spec_hash`).
    seed : int or None
        Random seed of the run.
    created : str
        UTC timestamp, ISO 8601.
    python, numpy, pandas, platform : str
        Versions of the run time.
    spec : mapping or None
        The full effective spec (shown in reports, never hashed twice).
    extra : mapping of str to str
        Further facts (tape file, assumptions file, scenario count, ...).
    """

    package_version: str
    git_commit: str | None
    spec_hash: str | None
    seed: int | None
    created: str
    python: str
    numpy: str
    pandas: str
    platform: str
    spec: Mapping[str, Any] | None = field(default=None, repr=False)
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        extra = FrozenMap({str(k): str(v) for k, v in self.extra.items()})
        object.__setattr__(self, "extra", extra)

    def to_dict(self) -> dict[str, str]:
        """Flat text form for report footers, workbook properties and sidecar files.

        Unknown values (no git checkout, no seed) read ``unknown`` / ``none``.
        """
        out = {
            "package_version": self.package_version,
            "git_commit": self.git_commit or "unknown",
            "spec_hash": self.spec_hash or "none",
            "seed": "none" if self.seed is None else str(self.seed),
            "created": self.created,
            "python": self.python,
            "numpy": self.numpy,
            "pandas": self.pandas,
            "platform": self.platform,
        }
        out.update(self.extra)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Two columns, ``key`` and ``value``: the metadata, then the flattened spec."""
        rows = list(self.to_dict().items())
        if self.spec is not None:
            rows += [(f"spec.{k}", v) for k, v in flatten_spec(self.spec)]
        return pd.DataFrame({"key": [k for k, _ in rows], "value": [_text(v) for _, v in rows]})

    def short(self) -> str:
        """One line: ``abs_engine 0.1.0 · commit 17b4d9a1c2e3 · spec 3f2a... · seed 7``."""
        parts = [f"abs_engine {self.package_version}"]
        parts.append(f"commit {self.git_commit[:12]}" if self.git_commit else "commit unknown")
        if self.spec_hash:
            parts.append(f"spec {self.spec_hash[:12]}")
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        parts.append(f"created {self.created}")
        return " · ".join(parts)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def run_metadata(
    spec: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    created: dt.datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    repo: str | os.PathLike[str] | None = None,
) -> RunMetadata:
    """Collect the metadata of a run.

    Parameters
    ----------
    spec : mapping, optional
        The full effective spec (deal, assumptions, scenarios, options); its
        hash is recorded and the spec kept for the report's appendix.
    seed : int, optional
        Random seed.
    created : datetime, optional
        Timestamp (default: now, UTC); give one for byte-identical reruns.
    extra : mapping, optional
        Further facts, shown as text.
    repo : path-like, optional
        Where to look for the git checkout (default: the package's folder).
    """
    when = created or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise SpecError(f"seed must be a whole number; got {seed!r}", "seed")
    return RunMetadata(
        package_version=package_version(),
        git_commit=git_commit(repo),
        spec_hash=None if spec is None else spec_hash(spec),
        seed=None if seed is None else int(seed),
        created=when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        python=platform.python_version(),
        numpy=np.__version__,
        pandas=pd.__version__,
        platform=platform.platform(terse=True),
        spec=None if spec is None else FrozenMap(dict(spec)),
        extra={str(k): _text(v) for k, v in (extra or {}).items()},
    )
