"""PostgreSQL's writer thread: groups of writes, run again when PostgreSQL
aborted them to break a lock cycle with another replica."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from labelwire.server.store.base import TransactionThread, _answer, log
from labelwire.server.store.postgres_session import (
    RELEASE_AND_SAVEPOINT,
    RETRIES,
    WAIT_BRIEFLY,
    _lock_wait,
    _retriable,
)
from labelwire.server.store.postgres_write import PostgresWriteTx


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

    def _run_one(self, conn: Any, work: Any, opening: str = "SAVEPOINT op") -> Any:
        """One caller's work in its savepoint, which stays open until the next
        caller's begins (`RELEASE_AND_SAVEPOINT`) or the group commits: each
        statement is a round trip, and the savepoints cost two per caller otherwise.

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
            conn.execute("ROLLBACK TO op")
            return work, False, exc, frozenset()
        conn.check_open()  # the RELEASE that would have failed is not sent
        return work, True, value, getattr(tx, "moved_jobs", frozenset())

    def _run_group(self, conn: Any, group: list[Any]) -> None:
        """`TransactionThread._run_group`, run again from BEGIN when PostgreSQL
        aborted a statement of it, or its commit, to break a lock cycle."""
        started = time.perf_counter()
        for attempt in range(RETRIES):
            outcomes: list[Any] = []
            deferred: list[Any] = []
            try:
                conn.execute(f"{self._begin}; SAVEPOINT op")  # the first caller's savepoint, same round trip
                for n, work in enumerate(group):
                    opening = ("", WAIT_BRIEFLY)[n] if n < 2 else RELEASE_AND_SAVEPOINT
                    outcome = self._run_one(conn, work, opening)
                    if n and not outcome[1] and _lock_wait(outcome[2]):
                        deferred.append(work)
                    else:
                        outcomes.append(outcome)
                if len(group) > 1:
                    conn.execute("SET LOCAL lock_timeout = 0")  # the commit's flush waits as long as it must
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(BaseException):
                    conn.execute("ROLLBACK")
                if _retriable(exc) and attempt + 1 < RETRIES:
                    continue
                log.exception("a store transaction failed; its %d callers get the error", len(group))
                _answer([(work, False, exc, frozenset()) for work in group])
                return
            break
        self._deferred.extend(deferred)
        self._commit_seconds.observe(time.perf_counter() - started)
        self._group_size.observe(len(outcomes))
        numbered = conn.numbered
        if numbered:
            outcomes = [
                (work, ok, numbered.get(value, value) if ok and isinstance(value, int) else value, moved)
                for work, ok, value, moved in outcomes
            ]
        _answer(outcomes, self.on_commit)
