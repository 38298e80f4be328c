"""What the blocking clients are made of: a private event loop on a thread,
and the base class that runs an async client's calls on it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

__all__ = ["Loop", "SyncBase"]

T = TypeVar("T")
A = TypeVar("A")


async def _next(source: AsyncIterator[T]) -> T:
    return await anext(source)


class Loop:
    """A private event loop on a daemon thread, which the blocking clients run
    their async twins on: it works the same in a script, in a notebook (whose
    own loop is already running) and in threads of a web server."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="labelwire-client", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """The coroutine's result; Ctrl-C (or any exception here) cancels it on the loop."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """The async iterator's items, one blocking step each; closing it closes the source."""
        try:
            while True:
                try:
                    yield self.run(_next(source))
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(source, "aclose", None)
            if close is not None and not self._loop.is_closed():
                # After Ctrl-C the cancelled step may still be unwinding: then the
                # generator is closed by its own cancellation, not here.
                with contextlib.suppress(RuntimeError):
                    self.run(close())

    @property
    def closed(self) -> bool:
        return self._loop.is_closed()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _build(make: Callable[[], A]) -> A:
    return make()


class SyncBase(Generic[A]):
    """A blocking client: an async client living on its own loop thread, so
    that grpc.aio's channel is only ever touched from that loop."""

    _env_key: ClassVar[str] = "LABELWIRE_API_KEY"

    def __init__(self, make: Callable[[], A]) -> None:
        self._loop = Loop()
        try:
            self._async: A = self._loop.run(_build(make))
        except BaseException:
            self._loop.close()
            raise

    @classmethod
    def _around(cls, make: Callable[[], A]) -> Self:
        """A blocking client around the async one `make` builds (on the new
        client's own loop), e.g. the worker client an account's `for_job` gives."""
        client = cls.__new__(cls)
        SyncBase.__init__(client, make)
        return client

    @property
    def timeout(self) -> float | None:
        """Each unary call's deadline in seconds (None: none); change it at any time."""
        seconds: float | None = getattr(self._async, "timeout")  # noqa: B009
        return seconds

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        setattr(self._async, "timeout", seconds)  # noqa: B010

    @property
    def address(self) -> str:
        """The server's address (HOST:PORT), e.g. for a `WorkerClient` on the same server."""
        address: str = getattr(self._async, "address")  # noqa: B009
        return address

    @property
    def aio(self) -> A:
        """The async client underneath (its calls must run on this client's loop)."""
        return self._async

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client for `LABELWIRE_ADDRESS` (default 127.0.0.1:50051) with the key in
        the environment (`LABELWIRE_API_KEY`; `LABELWIRE_WORKER_TOKEN` for a worker,
        `LABELWIRE_ADMIN_KEY` for the admin, `LABELWIRE_ACCOUNT_TOKEN` for a worker
        account); `LABELWIRE_TLS=1` turns TLS on."""
        key = os.environ.get(cls._env_key, "")
        if not key:
            raise ValueError(f"{cls._env_key} is not set")
        options.setdefault("tls", os.environ.get("LABELWIRE_TLS", "") in ("1", "true", "yes"))
        return cls(os.environ.get("LABELWIRE_ADDRESS") or "127.0.0.1:50051", key, **options)  # type: ignore[call-arg, arg-type]

    def close(self) -> None:
        """Closes the connection and stops the client's loop thread."""
        if not self._loop.closed:
            self._loop.run(getattr(self._async, "close")())  # noqa: B009
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
