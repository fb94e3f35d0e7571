"""The sample files that ship with the package.

The sample deal specs, their base-case assumptions, the default scorecard and
the named stress sets live in ``abs_engine/data/`` and are installed with the
package, so the examples work from any directory::

    abs_engine/data/waterfalls/baitiao_2015.toml       revolving, on the 2015 JD Baitiao ABS
    abs_engine/data/waterfalls/static_sequential.toml  static, sequential, standard waterfall
    abs_engine/data/waterfalls/all_triggers.toml       every trigger type on a revolving deal
    abs_engine/data/pools/sample_assumptions.toml      base-case curves for the sample tape
    abs_engine/data/scorecard_default.toml             the provident-fund scorecard
    abs_engine/data/stress_sets.toml                   named stress scenario sets

A clone of the repository used to hold the deals in ``waterfalls/`` and the
assumptions in ``pools/``.  Those paths keep working from any directory: a
TOML path that does not exist and ends in one of the names above
(``waterfalls/baitiao_2015.toml``, ``pools/sample_assumptions.toml``) reads the
packaged file.  A file of yours at that path always takes precedence.

The sample *tape* is not a file of the package: it is generated
deterministically (:data:`SAMPLE_TAPE_N` receivables, seed
:data:`SAMPLE_TAPE_SEED`) by ``abs-engine sample-pool`` or
:func:`abs_engine.sample_pool`.  The sample deals name it as
``pools/sample_pool.parquet``; the command line generates it in memory when
that file is absent.

>>> from abs_engine import samples
>>> samples.path("baitiao_2015").name
'baitiao_2015.toml'
>>> samples.packaged("waterfalls/static_sequential.toml") == samples.path("static_sequential")
True
>>> samples.packaged("my_deal.toml") is None
True
"""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path, PurePath

from abs_engine.errors import SpecError

__all__ = [
    "DATA_DIR",
    "SAMPLE_FILES",
    "SAMPLE_TAPE",
    "SAMPLE_TAPE_N",
    "SAMPLE_TAPE_SEED",
    "is_sample_tape",
    "names",
    "packaged",
    "path",
    "resolve",
]

log = logging.getLogger(__name__)

#: The package's data directory.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: Every packaged sample file, by its path under :data:`DATA_DIR`.
SAMPLE_FILES = (
    "waterfalls/baitiao_2015.toml",
    "waterfalls/static_sequential.toml",
    "waterfalls/all_triggers.toml",
    "pools/sample_assumptions.toml",
    "scorecard_default.toml",
    "stress_sets.toml",
)

#: Where the sample deals expect the sample tape (relative to the clone's root).
SAMPLE_TAPE = "pools/sample_pool.parquet"
#: Number of receivables of the sample tape (``make sample``).
SAMPLE_TAPE_N = 100_000
#: Random seed of the sample tape.
SAMPLE_TAPE_SEED = 7


def names() -> list[str]:
    """Short names of the packaged samples (``baitiao_2015``, ``sample_assumptions``, ...)."""
    return [PurePath(f).stem for f in SAMPLE_FILES]


def path(name: str) -> Path:
    """The packaged sample file ``name``.

    Parameters
    ----------
    name : str
        A short name (``"baitiao_2015"``), a file name (``"baitiao_2015.toml"``)
        or a clone path (``"waterfalls/baitiao_2015.toml"``).

    Raises
    ------
    SpecError
        No sample has that name; the message lists the names.
    """
    stem = PurePath(name).stem
    for f in SAMPLE_FILES:
        if PurePath(f).stem == stem:
            return DATA_DIR / f
    close = difflib.get_close_matches(stem, names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SpecError(f"no sample named {name!r}{hint} (samples: {', '.join(names())})")


def _tail(p: str | os.PathLike[str]) -> str:
    return PurePath(os.path.normpath(os.fspath(p))).as_posix()


def packaged(p: str | os.PathLike[str]) -> Path | None:
    """The packaged file a clone path stands for (``waterfalls/x.toml``), or None.

    Only the path's trailing components are compared, after normalisation, so
    ``waterfalls/../pools/sample_assumptions.toml`` and
    ``/elsewhere/waterfalls/baitiao_2015.toml`` both match.
    """
    tail = _tail(p)
    for f in SAMPLE_FILES:
        if "/" in f and (tail == f or tail.endswith("/" + f)):
            return DATA_DIR / f
    return None


def resolve(p: str | os.PathLike[str]) -> Path:
    """``p`` if it exists, else the packaged sample it names, else ``p`` unchanged.

    Callers then read the result and report a missing file as usual.
    """
    given = Path(p)
    if given.exists():
        return given
    shipped = packaged(given)
    if shipped is not None and shipped.exists():
        log.info("%s not found; reading the packaged sample %s", given, shipped)
        return shipped
    return given


def is_sample_tape(p: str | os.PathLike[str]) -> bool:
    """Whether ``p`` names the sample tape (its path ends in ``pools/sample_pool.parquet``)."""
    tail = _tail(p)
    return tail == SAMPLE_TAPE or tail.endswith("/" + SAMPLE_TAPE)
