"""What skill routing's read of a job's workers costs a lease of a target job
(`dispatch.contested.routed`): the read of up to `ROUTING_WORKER_SCAN` workers,
`present_skills`, the `Skills` of the present ones and their median, in one writer
transaction of a SQLite store whose job has N present workers. CPU time
(`time.process_time`) per lease, whole rows (`workers_of`, as before) against the six
columns routing weighs (`routing_workers`), alternating.

Not part of the tests: `python bench/routing_workers.py [--workers 16 100 500 --leases 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import numpy as np

from labelwire.server.dispatch import gate as quality
from labelwire.server.dispatch.contested import Skills
from labelwire.server.labels.pass_models import job_model
from labelwire.server.store import Tx, open_store


async def per_lease(workers: int, leases: int) -> dict[str, float]:
    store = open_store(f"{tempfile.mkdtemp(prefix='labelwire-routing-')}/store.db")
    now = time.time()

    def hire(tx: Tx) -> int:
        job_id = tx.insert_job(tx.insert_client("c", b"h", 0.0), {"x": 1}, 1, 0.0)
        for n in range(workers):
            tx.update_worker(tx.insert_worker(job_id, f"w{n}", None, 2, 0, 0.0), last_active_at=now)
        return job_id

    job_id = await store.write(hire)

    def lease(tx: Tx, narrow: bool) -> float:
        started = time.process_time()
        rows: Any = (
            tx.routing_workers(job_id, quality.ROUTING_WORKER_SCAN)
            if narrow
            else tx.workers_of(job_id, 0, quality.ROUTING_WORKER_SCAN)
        )
        skills = Skills(quality.present_skills(rows, now), job_model(tx, job_id))
        float(np.median(skills.flat))
        return time.process_time() - started

    spent = {"workers_of": 0.0, "routing_workers": 0.0}
    try:
        for _ in range(leases):
            for name in spent:
                spent[name] += await store.write(lambda tx, n=name: lease(tx, n == "routing_workers"))
    finally:
        store.close()
    return {name: round(1e6 * total / leases) for name, total in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 100, 500])
    parser.add_argument("--leases", type=int, default=200)
    args = parser.parse_args()
    for workers in args.workers:
        print(workers, "workers, µs a lease:", asyncio.run(per_lease(workers, args.leases)))


if __name__ == "__main__":
    main()
