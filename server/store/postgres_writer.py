"""PostgreSQL's writer threads: groups of writes, run again when PostgreSQL
aborted them to break a lock cycle with another replica or another writer."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import time
from collections.abc import Callable
from typing import Any, TypeVar

from labelwire.server.store.base import OnCommit, TransactionThread, _answer, log
from labelwire.server.store.postgres_session import (
    RELEASE_AND_SAVEPOINT,
    RETRIES,
    WAIT_BRIEFLY,
    WAIT_BRIEFLY_UNGUARDED,
    _lock_wait,
    _retriable,
)
from labelwire.server.store.postgres_write import PostgresWriteTx

T = TypeVar("T")

DEFAULT_WRITERS = 1
"""Writer connections per replica unless `--database-writers` says otherwise. More are
safe (two writers labeling a job's last items at once take the job's row before deciding
that none is left, `SqlBase._any_left`), but on a small machine not always faster."""


class WriterThread(TransactionThread[PostgresWriteTx]):
    """The writer, running again a group PostgreSQL aborted to break a lock
    cycle with another replica: a caller never sees a deadlock, only a later answer.

    Cycles are also kept from forming. Grouped transactions of two replicas
    that judge the same items lock them in no common order (each caller's work
    locks its item when it comes), so once a group holds the locks of its
    first work, a later work waits on another replica's lock only briefly
    (`LOCK_WAIT`): then it is rolled back alone and put first in the next
    group, where it waits holding nothing of its group's. The others commit;
    a group that waits no longer than that can never close a cycle."""

    _waited = False  # the last group put back callers that waited on a lock (they come first in the next)

    def _run_one(self, conn: Any, work: Any, opening: str = "SAVEPOINT op", *, guarded: bool = True) -> Any:
        """One caller's work; `guarded`, in its savepoint, which stays open until
        the next caller's begins (`RELEASE_AND_SAVEPOINT`) or the group commits.
        Unguarded, a failure is `_Unguarded`: the group is rolled back and run
        again guarded (`_run_group`).

        A lock cycle aborts the whole group, not the one caller: the locks
        its earlier callers took stay held until the rollback, so running the
        one caller again would meet the same cycle."""
        if opening:
            conn.execute(opening)
        tx = self._make_tx(conn)
        try:
            value = work[0](tx)
            tx.send_deferred()
        except Exception as exc:
            if _retriable(exc):
                raise
            if not guarded:
                raise _Unguarded(exc) from exc
            conn.execute("ROLLBACK TO op")
            return work, False, exc, frozenset()
        conn.check_open()  # the RELEASE that would have failed is not sent
        return work, True, value, getattr(tx, "moved_jobs", frozenset())

    def _run_group(self, conn: Any, group: list[Any]) -> None:
        """`TransactionThread._run_group`, run again from BEGIN when PostgreSQL
        aborted a statement of it, or its commit, to break a lock cycle.

        A group runs first without savepoints (two statements per caller, a
        fifth of a judgment's): callers' work seldom fails. When one does, the
        group is rolled back and run again with a savepoint per caller, where
        a failure (or a lock waited on too long) rolls back that caller alone;
        a group of one caller needs none, its rollback is its own. Run first,
        a group of several waits briefly from its BEGIN on (one round trip
        fewer than setting it after the first caller: groups are of 2-4
        callers under load, and each statement costs the replica 20-40 µs);
        its first caller seldom waits on a lock, and when it does the group runs
        again guarded."""
        started = time.perf_counter()
        guarded = False
        attempt = 0
        outcomes: list[Any] = []
        deferred: list[Any] = []
        while True:
            outcomes, deferred = [], []
            # Brief waits from BEGIN, in its round trip, unless the first caller waited
            # on a lock last time (`_waited`): a first caller that waits longer runs the
            # group again guarded, where it waits as long as it must.
            brief = not guarded and len(group) > 1 and not self._waited
            try:
                if guarded:
                    conn.execute(f"{self._begin}; SAVEPOINT op")
                else:
                    conn.execute(f"{self._begin}; {WAIT_BRIEFLY_UNGUARDED}" if brief else self._begin)
                for n, work in enumerate(group):
                    if guarded:
                        opening = ("", WAIT_BRIEFLY)[n] if n < 2 else RELEASE_AND_SAVEPOINT
                    else:
                        opening = WAIT_BRIEFLY_UNGUARDED if n == 1 and not brief else ""
                    outcome = self._run_one(conn, work, opening, guarded=guarded)
                    if n and not outcome[1] and _lock_wait(outcome[2]):
                        deferred.append(work)
                    else:
                        outcomes.append(outcome)
                conn.commit(wait_again=len(group) > 1)  # the commit's flush waits as long as it must
            except _Unguarded as failed:
                with contextlib.suppress(BaseException):
                    conn.execute("ROLLBACK")
                if len(group) == 1:
                    outcomes = [(group[0], False, failed.error, frozenset())]
                    break
                guarded = True
                continue
            except BaseException as exc:
                with contextlib.suppress(BaseException):
                    conn.execute("ROLLBACK")
                attempt += 1
                if _retriable(exc) and attempt < RETRIES:
                    continue
                log.exception("a store transaction failed; its %d callers get the error", len(group))
                _answer([(work, False, exc, frozenset()) for work in group])
                return
            break
        self._deferred.extend(deferred)
        self._waited = bool(deferred)
        self._commit_seconds.observe(time.perf_counter() - started)
        self._group_size.observe(len(outcomes))
        numbered = conn.numbered
        if numbered:
            outcomes = [
                (work, ok, numbered.get(value, value) if ok and isinstance(value, int) else value, moved)
                for work, ok, value, moved in outcomes
            ]
        _answer(outcomes, self.on_commit)


class _Unguarded(Exception):
    """A caller's work failed in a group run without savepoints (`WriterThread`)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Writers:
    """`count` writer threads, each on its own connection, taking groups from
    one queue: while one waits for its group's commit (the round trip and the
    WAL flush), the next takes the work queued meanwhile. With one writer a
    replica used 60% of a core, its writer waiting on each commit.

    Two writers of one replica are no different from writers of two replicas,
    which the store already makes safe: a lease skips rows other transactions
    lock, a decision on an item, a worker or a budget job locks that row, and
    the label feed's sequences are numbered at the commit on the job's row, so
    they commit in the order they were numbered whichever writer numbered them.
    Each writer keeps its own rows and counts (`Session`), and its stand-in
    sequences are made of its own backend's pid. What no longer holds is an
    order between two writes submitted without awaiting the first: either may
    commit first, as on two replicas."""

    def __init__(self, count: int, name: str, connect: Callable[[], Any]) -> None:
        if count < 1:
            raise ValueError(f"a replica needs at least one database writer, got {count}")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.threads: list[WriterThread] = []
        try:
            for n in range(count):
                self.threads.append(
                    WriterThread(f"{name}-{n + 1}" if n else name, connect, PostgresWriteTx, work=self._queue)
                )
        except BaseException:
            self.close()
            raise

    @property
    def on_commit(self) -> OnCommit | None:
        return self.threads[0].on_commit

    @on_commit.setter
    def on_commit(self, callback: OnCommit | None) -> None:
        for thread in self.threads:
            thread.on_commit = callback

    def submit(self, fn: Callable[[PostgresWriteTx], T]) -> asyncio.Future[T]:
        return self.threads[0].submit(fn)  # the queue is every thread's

    def close(self) -> None:
        """Each thread ends at the first None it takes, so one per thread goes in first."""
        for _ in self.threads:
            self._queue.put(None)
        for thread in self.threads:
            thread.join()
