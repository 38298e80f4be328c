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
from typing import Any, Generic, Protocol, TypeVar

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


OnCommit = Callable[[Set[int]], None]


def _settle_all(
    outcomes: list[tuple[asyncio.Future[Any], bool, Any]], moved: Set[int], on_commit: OnCommit | None
) -> None:
    if moved and on_commit is not None:
        on_commit(moved)
    for fut, ok, value in outcomes:
        _settle(fut, ok, value)


def _answer(outcomes: list[tuple[_Work, bool, Any, Set[int]]], on_commit: OnCommit | None = None) -> None:
    """Settles a group's callers with one call into each event loop rather
    than one per caller: each `call_soon_threadsafe` writes the loop's wake-up
    pipe, which the loop then reads, so a group of 60 judgments cost 120
    system calls and 60 loop iterations for nothing. The feeds the group moved
    are woken in the same call, before any caller resumes."""
    by_loop: dict[
        asyncio.AbstractEventLoop, tuple[list[tuple[asyncio.Future[Any], bool, Any]], set[int]]
    ] = {}
    for (_, fut, loop), ok, value, moved in outcomes:
        settled, jobs = by_loop.setdefault(loop, ([], set()))
        settled.append((fut, ok, value))
        jobs.update(moved)
    for loop, (settled, jobs) in by_loop.items():
        loop.call_soon_threadsafe(_settle_all, settled, jobs, on_commit)


class KeptRows(Protocol):
    """What a writer keeps from one transaction to the next (`sqlite_rows.WriterRows`)."""

    def begin(self, conn: Any) -> None:
        """After each BEGIN: drops what another connection may have changed."""

    def forget(self) -> None:
        """After any rollback: what the kept rows say may have been undone."""


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
        kept: KeptRows | None = None,
        work: queue.SimpleQueue[_Work | None] | None = None,
    ) -> None:
        """`work`: a queue shared with other threads, each taking the next group when
        it is free (`postgres_writer.Writers`); by default the thread's own."""
        self._connect = connect
        self._commit_seconds = metrics.STORE_COMMIT_SECONDS.labels(name)
        self._group_size = metrics.STORE_GROUP_SIZE.labels(name)
        self._make_tx = make_tx
        self._begin = begin
        self._grouped = grouped
        self._max_group = max_group
        self._kept = kept
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue() if work is None else work
        # Work a group put back unanswered (`PostgresWriteTx`'s lock waits): it opens the next group.
        self._deferred: list[_Work] = []
        # Called on the caller's event loop, after the commit and before the caller
        # resumes, with the jobs whose label feed the transaction moved.
        self.on_commit: OnCommit | None = None
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
        self.join()

    def join(self) -> None:
        """Waits for the thread to end: it ends at the first None it takes from its queue."""
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
                if self._deferred:
                    group, self._deferred = self._deferred, []
                else:
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
        group and leaves the thread ready for the next one.

        A group runs first without savepoints: callers' work seldom fails, and
        a savepoint per caller cost a quarter of a judgment's CPU (SQLite
        copies every page a caller first changes within its savepoint into the
        statement journal, a temporary file past 64 KiB). When one caller's
        work fails, the group is rolled back and run again with a savepoint
        per caller, so the failure rolls back alone, as PostgreSQL's writer
        does; a group of one needs none, its rollback is its own."""
        started = time.perf_counter()
        guarded = False
        while True:
            try:
                outcomes = self._run_callers(conn, group, guarded=guarded)
                if outcomes is None:  # a caller failed unguarded: all rolled back
                    if len(group) > 1:
                        guarded = True
                        continue
                    return
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
                self._forget()
                _answer([(work, False, exc, frozenset()) for work in group])
                return
            _answer(outcomes, self.on_commit)
            return

    def _run_callers(
        self, conn: Any, group: list[_Work], *, guarded: bool
    ) -> list[tuple[_Work, bool, Any, Set[int]]] | None:
        """Each caller's work in one transaction, left open for the commit.
        Unguarded, the first failure rolls the transaction back and returns
        None; a group of one is answered then (its failure is its own)."""
        conn.execute(self._begin)
        if self._kept is not None:
            self._kept.begin(conn)
        outcomes: list[tuple[_Work, bool, Any, Set[int]]] = []
        for work in group:
            outcome = self._run_work(conn, work, savepoint=guarded)
            if not guarded and not outcome[1]:
                conn.execute("ROLLBACK")
                self._forget()
                if len(group) == 1:
                    _answer([outcome])
                return None
            if not guarded and len(group) > 1 and not conn.in_transaction:
                # Work that ended the transaction itself: with no savepoint's RELEASE
                # to fail, the next callers would write outside any transaction.
                raise RuntimeError("a caller's work ended the group's transaction")
            outcomes.append(outcome)
        return outcomes

    def _forget(self) -> None:
        if self._kept is not None:
            self._kept.forget()

    def _run_work(self, conn: Any, work: _Work, *, savepoint: bool) -> tuple[_Work, bool, Any, Set[int]]:
        if savepoint:
            conn.execute("SAVEPOINT op")
        tx = self._make_tx(conn)
        try:
            value = work[0](tx)
        except Exception as exc:
            if savepoint:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
            self._forget()
            return work, False, exc, frozenset()
        if savepoint:
            conn.execute("RELEASE op")
        return work, True, value, getattr(tx, "moved_jobs", frozenset())
