"""Bulk verification on Mechanical Turk against the real core over a real port:
a batch HIT's verdicts become judgments and labels of their own items, hidden
gold of the batch's class comes from the core with its pre-label, and the job's
cost is what MTurk bills."""

from __future__ import annotations

import json
from pathlib import Path

from labelwire.adapters.pool import PoolWorkforce
from labelwire.client.raw import source_item
from labelwire.server.dispatch.workforces import JobContext, Workforces
from labelwire.server.transport.app import start_server
from labelwire.v1 import answer_pb2, item_pb2, job_pb2, label_pb2
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import drain

from .harness import StubbedMTurk, assignment, clock_at, workforce
from .test_mturk_batches import HIT1, verdicts

PRICE = 50_000  # $0.05 a verdict, MTurk's reward per item


def model_item(key: str, gold: bool | None = None) -> item_pb2.Item:
    answer = (
        None
        if gold is None
        else answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=[gold]))
    )
    item = source_item(key, f"https://img.example/{key}.jpg", gold=answer)
    if gold is not None:
        item.gold_use = item_pb2.GOLD_USE_HIDDEN
    item.prelabel.classification.class_name = "car"
    item.prelabel_confidence = 0.9
    return item


async def test_a_batch_hit_feeds_the_core_one_judgment_per_item_and_costs_what_mturk_bills(
    tmp_path: Path, mturk: StubbedMTurk
) -> None:
    wf = workforce(mturk, clock_at())
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "m.db"),
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "mturk": wf}),
        drive_workforces=False,
    )
    try:
        server = Harness(running=running, target=f"127.0.0.1:{running.port}", database=tmp_path / "m.db")
        lw = await server.client()
        spec = job_pb2.Job(display_name="Verify cars", media_type=job_pb2.MEDIA_TYPE_IMAGE)
        spec.task_config.verification.classes.extend([job_pb2.LabelClass(name=c) for c in ("car", "person")])
        spec.task_config.verification.batch_size = 3
        job = await lw.create_job(
            "Verify",
            classes=[],
            job=spec,
            judgments_per_item=1,
            quiz_size=0,
            price_per_judgment_micros=PRICE,
            budget_micros=10_000_000,
            workforce="mturk",
            workforce_settings={"endpoint": "sandbox", "gold_hit_every": 1},
        )
        await lw.add_items(
            job.name, [model_item("c1"), model_item("c2"), model_item("c3"), model_item("g1", False)]
        )
        await lw.start_job(job.name)
        job_id = int(job.name.split("/")[1])
        ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))

        mturk.create_hit(HIT1, max_assignments=1)
        await wf.sync(ctx)
        (hit,) = json.loads(json.dumps(await ctx.load_state()))["hits"]
        assert sorted(hit["slots"]) == ["c1", "c2", "c3", "g1"] and hit["gold_slots"] == ["g1"]

        marks = [key not in ("c2", "g1") for key in hit["slots"]]  # c2 is no car; nor is the gold
        mturk.assignments(HIT1, [assignment("A1", "W1", HIT1, verdicts(*marks))])
        mturk.approve("A1")
        await wf.sync(ctx)
        mturk.assert_done()

        labels = {lab.item_key: lab for lab in await drain(lw.stream_labels(job.name))}
        assert set(labels) == {"c1", "c2", "c3"}
        disconfirmed = label_pb2.VerificationSummary.VERDICT_DISCONFIRMED
        assert labels["c2"].verification.verdict == disconfirmed
        assert labels["c1"].verification.confirmed == 1 and labels["c3"].verification.confirmed == 1
        done = await lw.get_job(job.name)
        assert done.counters.judgments == 3  # the gold verdict graded W1; it is not a judgment
        # MTurk bills the batch's reward (4 x $0.05) and its fee ($0.04): $0.24
        assert done.counters.cost_micros == 240_000 and done.counters.reserved_micros == 0
        await lw.close()
    finally:
        await running.stop(grace=None)
