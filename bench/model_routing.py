"""Routing by the model: the human judgments saved and the precision reached,
against truth, with thresholds learned from human labels.

Why it is built this way:

* A synthetic model with a known calibration curve per predicted class: on a
  "good" class, a label given with confidence c is right with probability
  c ** 0.15 (an underconfident model: 0.98 right at c = 0.87; confidences drawn
  from Beta(a, 1), mostly high); on a "bad" class it is right with probability
  0.6 c, however sure it sounds. Truth is then known
  for every item, which the server never sees.
* `labelwire serve`'s core on a temporary SQLite runs in this process; the job
  and its items are made over gRPC, then simulated workers call
  `Core.next_task` and `Core.submit` directly, answering right with a known
  accuracy (a wrong answer is another class at random). Every `--pass-every`
  judgments the maintenance pass runs, which learns the thresholds again and
  accepts the waiting items over them, as the server's own pass does.
* The baseline is every item labeled by humans: items x judgments_per_item.
  Saved share = 1 - human judgments asked / baseline.

Not part of the tests: `python bench/model_routing.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

GAMMA = 0.15


def synthetic_items(
    n: int, classes: list[str], bad: set[str], rng: random.Random
) -> tuple[list[tuple[str, str, float]], list[str]]:
    """(key, predicted class, confidence) per item, and each item's truth."""
    items, truth = [], []
    for i in range(n):
        predicted = rng.choice(classes)
        # Per-class confidence spread: Beta(a, 1), a from 15 to 40 (mean 0.94 to 0.98).
        a = 15 + 25 * (classes.index(predicted) % 5) / 4
        confidence = round(rng.betavariate(a, 1.0), 4)
        p_right = 0.6 * confidence if predicted in bad else confidence**GAMMA
        actual = predicted if rng.random() < p_right else rng.choice([c for c in classes if c != predicted])
        items.append((f"k{i}", predicted, confidence))
        truth.append(actual)
    return items, truth


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from labelwire.client.raw import AdminClient, Client, classification, text_item
    from labelwire.server.transport.app import start_server
    from labelwire.v1 import job_pb2

    rng = random.Random(args.seed)
    classes = [f"c{k}" for k in range(args.classes)]
    bad = set(classes[: args.bad_classes])
    items, truth = synthetic_items(args.items, classes, bad, rng)
    work = Path(tempfile.mkdtemp(prefix="labelwire-model-routing-"))
    key = secrets.token_urlsafe(24)
    running = await start_server(address="127.0.0.1:0", database=str(work / "bench.db"), admin_key=key)
    core: Any = running.core
    target = f"127.0.0.1:{running.port}"
    started = time.perf_counter()
    try:
        async with AdminClient(target, key) as admin:
            api_key = await admin.create_api_key("model-routing")
        async with Client(target, api_key) as lw:
            routing = job_pb2.ModelRouting(
                learn_thresholds=True,
                target_precision=args.target,
                audit_share=args.audit_share,
                min_learning_items=args.min_learning_items,
            )
            job = await lw.create_job(
                "model-routing",
                classes=classes,
                judgments_per_item=args.judgments_per_item,
                quiz_size=0,
                hidden_gold_share=0,
                job=job_pb2.Job(model_routing=routing),
            )
            for first in range(0, len(items), 10_000):
                batch = []
                for k, predicted, confidence in items[first : first + 10_000]:
                    item = text_item(k, k[1:])
                    item.prelabel.CopyFrom(classification(predicted))
                    item.prelabel_confidence = confidence
                    batch.append(item)
                await lw.add_items(job.name, batch)
            await lw.start_job(job.name)
            tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(args.workers)]
        principals = [await core.credentials.authenticate(t) for t in tokens]
        done = [0]
        idle = [0]

        async def worker(n: int, wrng: random.Random) -> None:
            while True:
                lease = await core.work.next_task(principals[n])
                if lease.task is None:
                    if idle[0] > 20 * args.workers:
                        return
                    idle[0] += 1
                    await asyncio.sleep(0.05)
                    continue
                idle[0] = 0
                actual = truth[int(str(lease.task.payload))]
                answer = (
                    actual
                    if wrng.random() < args.human_accuracy
                    else wrng.choice([c for c in classes if c != actual])
                )
                name = f"jobs/{lease.task.job_id}/tasks/{lease.task.id}"
                await core.work.submit(principals[n], name, {"classification": {"class_name": answer}}, None)
                done[0] += 1
                if done[0] % args.pass_every == 0:
                    await core.maintain_once()

        await asyncio.gather(*(worker(n, random.Random(args.seed + n)) for n in range(args.workers)))
        await core.maintain_once()
        async with Client(target, api_key) as lw:
            final = {label.item_key: label async for label in lw.stream_labels(job.name, snapshot_only=True)}
            report = await lw.calibration(job.name)
            counters = (await lw.get_job(job.name)).counters
        by_model = [(k, lb) for k, lb in final.items() if lb.method == "model"]
        model_right = sum(lb.value.classification.class_name == truth[int(k[1:])] for k, lb in by_model)
        all_right = sum(lb.value.classification.class_name == truth[int(k[1:])] for k, lb in final.items())
        baseline = args.items * args.judgments_per_item
        return {
            "items": args.items,
            "classes": args.classes,
            "bad_classes": sorted(bad),
            "human_accuracy": args.human_accuracy,
            "target_precision": args.target,
            "judgments_per_item": args.judgments_per_item,
            "human_judgments": counters.judgments,
            "baseline_judgments": baseline,
            "saved_share": round(1 - counters.judgments / baseline, 4),
            "reported_judgments_saved": report.human_judgments_saved,
            "labeled_by_model_final": len(by_model),
            "model_precision_vs_truth": round(model_right / max(len(by_model), 1), 4),
            "all_labels_accuracy_vs_truth": round(all_right / max(len(final), 1), 4),
            "labels": len(final),
            "per_class": [
                {
                    "class": r.class_name,
                    "threshold": round(r.threshold, 2),
                    "auto_accepted": r.auto_accepted,
                    "audited": r.audited,
                    "audit_precision": round(r.audit_precision, 4),
                    "wilson95": [round(r.audit_precision_lower, 4), round(r.audit_precision_upper, 4)],
                }
                for r in report.routing
            ],
            "seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        await running.stop(0)
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=100_000, help="items (default 100,000)")
    parser.add_argument("--classes", type=int, default=10, help="classes (default 10)")
    parser.add_argument("--bad-classes", type=int, default=2, help="classes the model is bad on (default 2)")
    parser.add_argument("--target", type=float, default=0.98, help="target precision (default 0.98)")
    parser.add_argument("--audit-share", type=float, default=0.05, help="audit share (default 0.05)")
    parser.add_argument("--min-learning-items", type=int, default=200, help="default 200")
    parser.add_argument("--human-accuracy", type=float, default=0.97, help="per judgment (default 0.97)")
    parser.add_argument("--judgments-per-item", type=int, default=3, help="default 3")
    parser.add_argument("--workers", type=int, default=16, help="simulated workers (default 16)")
    parser.add_argument(
        "--pass-every", type=int, default=1000, help="judgments between passes (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=1))


if __name__ == "__main__":
    main()
