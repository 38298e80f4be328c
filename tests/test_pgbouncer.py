"""Replicas behind PgBouncer in transaction pooling mode (the scale-out issue, section 3).

With `pool_mode = transaction` each transaction may run on another server connection,
so nothing may outlive one: no prepared statements (psycopg prepares a statement
after its fifth run), no session settings, no session-level advisory locks. The
database URL says so with `?pool_mode=transaction`. PgBouncer is Debian's package,
started here on a free port in front of the test PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.transport.app import Running, start_server

from .conftest import ADMIN_KEY, UNDER_CI
from .helpers import CLASSES, truth

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pgbouncer(postgres_database: str) -> Iterator[str]:
    """PgBouncer in transaction pooling mode in front of the test database; the
    database's URL through it."""
    if not os.path.exists(PGBOUNCER):
        if UNDER_CI:
            pytest.fail("pgbouncer is not installed (Debian's package pgbouncer; .ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    direct = urlsplit(postgres_database)
    port = _free_port()
    # PgBouncer will not run as root: it runs as postgres, which must read its files
    # (pytest's own temporary folders are private to root).
    folder = Path(tempfile.mkdtemp(prefix="labelwire-pgbouncer-"))
    folder.chmod(0o755)
    (folder / "userlist.txt").write_text(f'"{direct.username or "postgres"}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={direct.hostname} port={direct.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 100\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    user = [] if os.geteuid() != 0 else ["-u", "postgres"]
    proc = subprocess.Popen([PGBOUNCER, *user, str(folder / "pgbouncer.ini")], stderr=subprocess.PIPE)
    url = direct._replace(netloc=f"{direct.username or 'postgres'}@127.0.0.1:{port}").geturl()
    try:
        for _ in range(100):
            try:
                psycopg.connect(url, connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"pgbouncer exited: {proc.stderr.read() if proc.stderr else ''}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("writers", [1, 2])
async def test_two_replicas_behind_transaction_pooling_label_a_job_with_every_event_once(
    pgbouncer: str, writers: int
) -> None:
    """With two writers each, the job's last items are often labeled by two writers
    at once: the stream below ends only because one of them completes the job."""
    url = f"{pgbouncer}?pool_mode=transaction"
    replicas: list[Running] = []
    try:
        for _ in range(2):
            replicas.append(
                await start_server(
                    address="127.0.0.1:0", database=url, admin_key=ADMIN_KEY, database_writers=writers
                )
            )
        targets = [f"127.0.0.1:{r.port}" for r in replicas]
        async with AdminClient(targets[0], ADMIN_KEY) as admin:
            key = await admin.create_api_key("pooled")
        async with Client(targets[1], key) as lw:
            job = await lw.create_job("behind pgbouncer", classes=CLASSES, judgments_per_item=2, quiz_size=0)
            await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(40)])
            await lw.start_job(job.name)
            tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(4)]

            async def work(token: str, target: str) -> None:
                async with WorkerClient(target, token) as w:
                    while (t := await w.next_task()).HasField("task"):
                        await w.submit(t.task.name, classification(truth(t.task.text)))

            await asyncio.gather(*(work(t, targets[n % 2]) for n, t in enumerate(tokens)))
            labels = [label async for label in lw.stream_labels(job.name)]

        # Every item labeled right, each event once, sequences without a gap, though each
        # statement ran 80 times or more on server connections shared by both replicas.
        assert sorted(label.sequence for label in labels) == list(range(1, len(labels) + 1))
        latest = {label.item_key: label for label in labels}
        assert len(latest) == 40
        assert all(
            label.value.classification.class_name == CLASSES[int(key[1:]) % 3]
            for key, label in latest.items()
        )
    finally:
        for running in replicas:
            await running.stop(grace=None)


def test_only_session_and_transaction_are_pool_modes() -> None:
    from labelwire.server.store.postgres import pooling

    assert pooling("postgresql://u@h:6432/db?pool_mode=transaction&sslmode=disable") == (
        "postgresql://u@h:6432/db?sslmode=disable",
        True,
    )
    assert pooling("postgresql://u@h/db?pool_mode=session") == ("postgresql://u@h/db", False)
    with pytest.raises(ValueError, match="pool_mode"):
        pooling("postgresql://u@h/db?pool_mode=statement")
