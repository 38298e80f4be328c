"""What every store shares: the transaction runner with grouped commits.

Every store method runs inside a transaction on a store thread, never on the
event loop. Writes from concurrent requests are grouped: the writer thread takes
every transaction that is waiting, runs each inside its own savepoint (so one
failing request rolls back alone), commits once, and only then answers each
caller. A judgment is therefore acknowledged only after its commit, while the
cost of the disk flush is shared by everyone who was waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Set
from typing import Any, Generic, TypeVar

from labelwire.server.telemetry import metrics

T = TypeVar("T")
TxT = TypeVar("TxT")

log = logging.getLogger(__name__)


_Work = tuple[Callable[[Any], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


def _settle(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.cancelled():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class TransactionThread(Generic[TxT]):
    """One connection on one thread, running queued transactions in groups.

    `grouped=False` runs each transaction alone (the read side).
    """

    def __init__(
        self,
        name: str,
        connect: Callable[[], Any],
        make_tx: Callable[[Any], TxT],
        *,
        begin: str = "BEGIN",
        grouped: bool = True,
        max_group: int = 256,
    ) -> None:
        self._connect = connect
        self._commit_seconds = metrics.STORE_COMMIT_SECONDS.labels(name)
        self._group_size = metrics.STORE_GROUP_SIZE.labels(name)
        self._make_tx = make_tx
        self._begin = begin
        self._grouped = grouped
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        # Called on the caller's event loop, after the commit and before the caller
        # resumes, with the jobs whose label feed the transaction moved.
        self.on_commit: Callable[[Set[int]], None] | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[[TxT], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, fut, loop))
        return fut

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first]
                while self._grouped and len(group) < self._max_group:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)
                        break
                    group.append(more)
                self._run_group(conn, group)
        finally:
            conn.close()

    def _run_group(self, conn: Any, group: list[_Work]) -> None:
        """Runs a group in one transaction and settles every caller. A failure
        of the transaction itself (not of one caller's work) fails the whole
        group and leaves the thread ready for the next one."""
        outcomes: list[tuple[_Work, bool, Any, Set[int]]] = []
        started = time.perf_counter()
        try:
            conn.execute(self._begin)
            for work in group:
                outcomes.append(self._run_one(conn, work))
            conn.execute("COMMIT")
            self._commit_seconds.observe(time.perf_counter() - started)
            if self._grouped:
                self._group_size.observe(len(group))
        except BaseException as exc:
            log.exception("a store transaction failed; its %d callers get the error", len(group))
            try:
                conn.execute("ROLLBACK")
            except BaseException:
                log.exception("rollback failed")
            for work in group:
                work[2].call_soon_threadsafe(_settle, work[1], False, exc)
            return
        for (_, fut, loop), ok, value, moved in outcomes:
            if moved and self.on_commit is not None:
                loop.call_soon_threadsafe(self.on_commit, moved)
            loop.call_soon_threadsafe(_settle, fut, ok, value)

    def _run_one(self, conn: Any, work: _Work) -> tuple[_Work, bool, Any, Set[int]]:
        """One caller's work; when grouped, inside a savepoint so that its
        failure rolls back alone (and moves no feed)."""
        if self._grouped:
            conn.execute("SAVEPOINT op")
        tx = self._make_tx(conn)
        try:
            value = work[0](tx)
        except Exception as exc:
            if self._grouped:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
            return work, False, exc, frozenset()
        if self._grouped:
            conn.execute("RELEASE op")
        return work, True, value, getattr(tx, "moved_jobs", frozenset())
