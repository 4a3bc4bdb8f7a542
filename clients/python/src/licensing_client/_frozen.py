"""The base of the package's small immutable records (public keys, keyrings, revocation lists).

It gives what ``@dataclass(frozen=True, slots=True)`` gave them, without importing
``dataclasses``: that module imports ``inspect`` (and with it ``ast``, ``dis`` and ``tokenize``),
about 15 ms and 1 MiB at the start of every program that checks a key (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Frozen"]


class Frozen:
    """Fields are the subclass's ``__slots__``, set once in ``__init__`` through ``_set``."""

    __slots__: tuple[str, ...] = ()

    def _set(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Frozen)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
