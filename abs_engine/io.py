"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, a full disk or an exception mid-write never leaves a partial file
at the target path: readers see the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CSV_FLOAT_FORMAT", "atomic_dir", "atomic_path", "write_csv"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed onto ``target``.

    >>> with atomic_path("out.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success it is renamed onto ``target``.

    ``target`` must not exist yet (output directories are never merged)
    unless ``replace``: then an existing ``target`` is swapped out only once
    the new directory is complete, and removed after.  On failure the
    temporary directory is removed and ``target`` is left as it was.
    """
    target = Path(target)
    if target.exists() and not (replace and target.is_dir()):
        raise FileExistsError(f"output directory already exists: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / "d")
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old / "d", target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


#: How floats are written to CSV: 12 significant digits, which removes binary noise
#: (``0.30000000000000004`` -> ``0.3``) and keeps cents on amounts up to 10 billion.
#: CSV is for reading; parquet keeps full precision.
CSV_FLOAT_FORMAT = "%.12g"


def write_csv(frame: Any, target: str | os.PathLike[str], *, index: bool = False) -> Path:
    """Write a DataFrame as CSV atomically, floats to :data:`CSV_FLOAT_FORMAT`.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"rate": [0.1 + 0.2], "amount": [1234567.891]})
    >>> print(frame.to_csv(index=False, float_format=CSV_FLOAT_FORMAT).strip())
    rate,amount
    0.3,1234567.891
    """
    target = Path(target)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=index, float_format=CSV_FLOAT_FORMAT)
    return target
