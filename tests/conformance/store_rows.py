"""The stores the contract tests run on, and the rows they write through a store's
own transactions: a job, items (gold or not, published or hidden) and the ids they got.
"""

from __future__ import annotations

from typing import Any

from labelwire.server.store import Store, Tx

STORES = ["sqlite", "postgres"]


async def job(store: Store) -> int:
    def create(tx: Tx) -> int:
        client = tx.insert_client("c", b"h", 0.0)
        return tx.insert_job(client, {"x": 1}, 1, 0.0)

    return await store.write(create)


async def add_items(store: Store, job_id: int, rows: list[tuple[Any, ...]], target: int) -> None:
    """Stages and publishes items in one go, as a small upload does."""
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    await store.write(lambda tx: tx.stage_items(upload, rows, 0))

    def publish(tx: Tx) -> None:
        tx.publish_items(upload, job_id, target, 0.0, 0, len(rows))
        tx.end_upload(upload)

    await store.write(publish)


GOLD = '{"classification": {"class_name": "cat"}}'


def item_row(key: str, gold: bool = False) -> tuple[Any, ...]:
    """An upload row (key, kind, payload, metadata, prelabel, prelabel_confidence, gold)."""
    return (key, "text", f"text of {key}", None, None, None, GOLD if gold else None)


async def ids_by_key(store: Store, job_id: int) -> dict[str, int]:
    rows = await store.read(lambda tx: tx.all("SELECT key, id FROM items WHERE job_id = ?", (job_id,)))
    return {str(r[0]): int(r[1]) for r in rows}


async def publishing_upload(store: Store, job_id: int, rows: list[tuple[Any, ...]]) -> int:
    """An upload that has published `rows` into the job and still holds them hidden."""
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    await store.write(lambda tx: tx.stage_items(upload, rows, 0))

    def publish(tx: Tx) -> None:
        assert tx.claim_publish(upload, job_id, 0.0)
        tx.publish_items(upload, job_id, 1, 0.0, 0, len(rows))

    await store.write(publish)
    return upload
