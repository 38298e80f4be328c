"""Listings that fetch their pages as you iterate, and turn into a list or a DataFrame.

`AsyncPages` is what `AsyncClient` returns (`async for`); `Pages` is the same
listing for the blocking `Client` (`for`), driven on the client's loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from labelwire.client.blocking import Loop

if TYPE_CHECKING:
    import pandas

__all__ = ["AsyncPages", "Pages"]

T = TypeVar("T")


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pandas.DataFrame:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_pandas() needs pandas: pip install 'labelwire[pandas]'") from exc
    return pandas.DataFrame(rows, columns=list(columns))


class AsyncPages(Generic[T]):
    """Every item of a paged listing; each `async for` starts from the first page."""

    def __init__(
        self,
        open_: Callable[[], AsyncIterator[T]],
        row: Callable[[T], dict[str, Any]],
        columns: Sequence[str],
    ) -> None:
        self._open = open_
        self._row = row
        self._columns = tuple(columns)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._open()

    async def to_list(self) -> list[T]:
        """All of them, every page fetched."""
        return [item async for item in self]

    async def to_pandas(self) -> pandas.DataFrame:
        """One row per item (needs the `pandas` extra); the columns are there even when it is empty."""
        return _frame([self._row(item) async for item in self], self._columns)


class Pages(Generic[T]):
    """Every item of a paged listing, for the blocking client; each `for` starts from the first page."""

    def __init__(self, loop: Loop, pages: AsyncPages[T]) -> None:
        self._loop = loop
        self._pages = pages

    def __iter__(self) -> Iterator[T]:
        return self._loop.iterate(aiter(self._pages))

    def to_list(self) -> list[T]:
        """All of them, every page fetched."""
        return self._loop.run(self._pages.to_list())

    def to_pandas(self) -> pandas.DataFrame:
        """One row per item (needs the `pandas` extra); the columns are there even when it is empty."""
        return self._loop.run(self._pages.to_pandas())
