"""The cyclic garbage collector, tuned for a long-running server.

py-spy with native frames put `gc_collect_main` at about a fifth of the
asyncio thread's busy time while 64 workers judged (bench/README.md, "Server
throughput"). Two causes, both fixed here once start-up is done:

* Every full collection walked the whole start-up heap (grpc, protobuf
  descriptors, numpy, boto3, the HTTP stack: hundreds of thousands of
  objects that live as long as the process). `gc.freeze()` moves them out of
  the collector's generations, so collections walk only what calls made.
* With the default young generation (700 allocations), a collection ran
  every few calls and promoted whatever the 64 calls in flight held at that
  moment; those objects died soon after but were only found again by the
  rarer, larger collections. A larger young generation lets them die young.

Nothing is left uncollected: reference counting frees almost everything as
before, and cycles made after start-up are still found, only in fewer, larger
passes.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION = 20_000


def settle_after_start() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)
