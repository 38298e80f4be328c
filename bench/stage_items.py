"""Staging AddItems' rows on PostgreSQL: `COPY` (the store's `stage_items`) against an
insert per row (what it did before), in alternating rounds of one run, through the
store's writer as AddItems does (1,000-row chunks, one write each).

Why store-level: the stage is the only part COPY changes; an AddItems call adds
gRPC, validation and the publish, the same for both, which would only blur the
difference on a shared machine.

    python bench/stage_items.py --items 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from labelwire.server.store import PostgresStore, Tx

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 1_000  # core/uploads.py STAGE_CHUNK

INSERT = "INSERT INTO upload_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"


def by_insert(upload_id: int, rows: list[tuple[Any, ...]], start: int) -> Callable[[Tx], int]:
    def run(tx: Tx) -> int:
        with tx.conn.cursor() as cur:  # type: ignore[union-attr]
            cur.executemany(
                INSERT, [(upload_id, start + i, *r, int(r[6] is not None)) for i, r in enumerate(rows)]
            )
            return len(rows) - int(cur.rowcount)

    return run


def by_store(upload_id: int, rows: list[tuple[Any, ...]], start: int) -> Callable[[Tx], int]:
    return lambda tx: tx.stage_items(upload_id, rows, start)


async def one_round(store: PostgresStore, job_id: int, items: int, how: Callable[..., Any]) -> float:
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    rows = [(f"k{n}", "text", f"item {n} " + "x" * 80, '{"n": 1}', None, None, None) for n in range(items)]
    began = time.perf_counter()
    for first in range(0, items, CHUNK):
        await store.write(how(upload, rows[first : first + CHUNK], first))
    seconds = time.perf_counter() - began
    while await store.write(lambda tx: tx.drop_upload(upload, 50_000)):
        pass
    return items / seconds


async def main_async(args: argparse.Namespace) -> None:
    import psycopg

    name = f"labelwire_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(args.postgres, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    store = PostgresStore(urlsplit(args.postgres)._replace(path=f"/{name}").geturl())
    try:

        def create(tx: Tx) -> int:
            return tx.insert_job(tx.insert_client("c", b"h", 0.0), {"x": 1}, 1, 0.0)

        job_id = await store.write(create)
        results: dict[str, list[float]] = {"insert per row": [], "copy": []}
        for _ in range(args.rounds):
            results["insert per row"].append(await one_round(store, job_id, args.items, by_insert))
            results["copy"].append(await one_round(store, job_id, args.items, by_store))
        for label, rates in results.items():
            shown = ", ".join(f"{r:,.0f}" for r in rates)
            print(f"{label:>15}: {shown} items/s (median {sorted(rates)[len(rates) // 2]:,.0f})")
    finally:
        store.close()
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=POSTGRES, help="a database URL on the server to use")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
