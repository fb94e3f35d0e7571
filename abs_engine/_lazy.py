"""Lazy package namespaces (PEP 562): names load on first use.

A package ``__init__`` lists its public names under ``TYPE_CHECKING`` (for
mypy and readers) and hands the same map to :func:`attach`, so importing the
package does not import plotly, scipy, dask or a spreadsheet writer until a
name that needs one is used::

    __getattr__, __dir__ = attach(__name__, {"abs_engine.reports.html": ("Report",)})

A name's first use imports its module and caches the object in the package
namespace; an unlisted name that is a submodule of the package is imported too.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package`` from ``{module: names}``.

    A name may be ``"alias=attribute"`` to publish ``attribute`` of the module
    under another name.
    """
    where: dict[str, tuple[str, str]] = {}
    for module, attrs in names.items():
        for spec in attrs:
            name, _, attr = spec.partition("=")
            where[name] = (module, attr or name)

    def getattr_(name: str) -> Any:
        namespace = vars(sys.modules[package])
        if name in where:
            module, attr = where[name]
            value = getattr(importlib.import_module(module), attr)
        else:
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return getattr_, dir_
