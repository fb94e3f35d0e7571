"""An immutable, picklable mapping for the frozen value objects.

``types.MappingProxyType`` is read-only but cannot be pickled, and results
must travel to Dask workers and multiprocessing pools.  :class:`FrozenMap`
is a read-only view over its own copy of the data that pickles as a dict.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["FrozenMap"]

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """A read-only mapping (a copy of ``data``) that pickles.

    >>> import pickle
    >>> m = FrozenMap({"a": 1})
    >>> pickle.loads(pickle.dumps(m)) == {"a": 1}
    True
    >>> m["b"] = 2
    Traceback (most recent call last):
    ...
    TypeError: 'FrozenMap' object does not support item assignment
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._data,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __hash__(self) -> int:
        try:
            return hash(frozenset(self._data.items()))
        except TypeError:  # unhashable values (arrays)
            return id(self)
