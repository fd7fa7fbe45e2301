"""The rows an adapter session reads (``AdapterSession.rows`` / ``lazy_rows``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

Row = dict[str, Any]


class Rows(Sequence[Row]):
    """A statement's rows as dicts keyed by column name (``AdapterSession.lazy_rows``), built on
    first use: a resync whose raw rows are those of the last applied listing is recognised from
    the raw tuples alone (the account sync's listing fingerprint) and never parses them. ``columns`` and
    ``raw`` are the driver's column names and row tuples; ``column(name)`` reads one column
    without building the dicts. Compares equal to the list of its dicts."""

    __slots__ = ("columns", "raw", "_dicts")

    def __init__(self, columns: Sequence[str], raw: Sequence[Sequence[Any]]):
        self.columns = tuple(columns)
        self.raw = raw
        self._dicts: list[Row] | None = None

    @property
    def built(self) -> bool:
        """Have the dicts been built (and so possibly changed by the reader)?"""
        return self._dicts is not None

    def dicts(self) -> list[Row]:
        if self._dicts is None:
            columns = self.columns
            self._dicts = [dict(zip(columns, row, strict=True)) for row in self.raw]
        return self._dicts

    def column(self, name: str) -> list[Any]:
        if self._dicts is not None:
            return [row[name] for row in self._dicts]
        at = self.columns.index(name)
        return [row[at] for row in self.raw]

    def __len__(self) -> int:
        return len(self.raw) if self._dicts is None else len(self._dicts)

    def __getitem__(self, index):  # an int or a slice, as a list takes
        return self.dicts()[index]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.dicts())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            return self.dicts() == other.dicts()
        return isinstance(other, list) and self.dicts() == other

    __hash__ = None  # type: ignore[assignment]  (mutable, like a list)

    def __repr__(self) -> str:
        return repr(self.dicts())
