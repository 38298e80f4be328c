"""The first label is the final label (issue 13, wanted 1): an item that completes after a
Dawid-Skene pass is labeled with the workers' fitted confusion matrices, so the next pass
does not revise it."""

from __future__ import annotations

from typing import Any

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import job_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, truth

SWAP = {"pos": "neg", "neg": "pos", "neutral": "neutral"}


async def answer(w: WorkerClient, rule: dict[str, str] | None = None, limit: int = 1000) -> None:
    for _ in range(limit):
        t = await w.next_task()
        if not t.HasField("task"):
            return
        right = truth(t.task.text)
        await w.submit(t.task.name, classification(rule[right] if rule else right))


async def swapper_job(server: Harness, lw: Client) -> tuple[job_pb2.Job, dict[str, tuple[Any, str]]]:
    """A Dawid-Skene job of 30 items (pos, neg, neutral in turn), each judged by two right
    workers and one who swaps pos and neg; no pass has run yet."""
    job = await lw.create_job(
        "DS",
        classes=CLASSES,
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(30)])
    await lw.start_job(job.name)
    workers = {name: await lw.create_worker(job.name, name) for name in ("good1", "good2", "swapper")}
    for name, rule in (("good1", None), ("good2", None), ("swapper", SWAP)):
        async with server.worker(workers[name][1]) as w:
            await answer(w, rule, limit=30)
    return job, workers


async def test_an_item_after_a_pass_is_labeled_with_the_fitted_confusions(server: Harness) -> None:
    lw = await server.client()
    job, workers = await swapper_job(server, lw)
    tokens = {name: token for name, (_, token) in workers.items()}
    await lw.add_items(job.name, [text_item("late", "truth:neg")])
    await server.running.core.maintain_once()  # the pass learns that the swapper swaps pos and neg

    async with server.worker(tokens["swapper"]) as w:
        await answer(w, SWAP)  # says pos
    newcomers = [(await lw.create_worker(job.name, name))[1] for name in ("new1", "new2")]
    async with server.worker(newcomers[0]) as w:
        await answer(w, {"neg": "pos"})  # wrong
    async with server.worker(newcomers[1]) as w:
        await answer(w)  # right

    [first] = await lw.label_revisions(job.name, "late")
    assert first.value.classification.class_name == "neg"
    assert first.method == "dawid_skene"
    # the swapper's "pos" is evidence for neg: the newcomers alone are a coin toss (0.5); its
    # 30 answers do not make its matrix known, so it is mixed with the pool's (pool_shrink)
    assert first.confidence > 0.6
    await server.running.core.maintain_once()
    revisions = await lw.label_revisions(job.name, "late")
    assert [r.value.classification.class_name for r in revisions] == ["neg"] * len(revisions)
    await lw.close()


async def test_items_judged_again_after_a_disqualification_are_labeled_by_the_pass_model(
    server: Harness,
) -> None:
    lw = await server.client()
    job, workers = await swapper_job(server, lw)
    await server.running.core.maintain_once()  # the pass learns that the swapper swaps pos and neg

    await lw.disqualify_worker(workers["good2"][0].name)

    latest = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
    relabeled = [lab for lab in latest.values() if lab.revision > 1]
    assert relabeled
    # good1 and the swapper disagree on pos and neg items: the swapper's answer read through
    # its fitted matrix agrees with good1, where a vote weighed by skill alone ties
    assert {lab.method for lab in relabeled} == {"dawid_skene"}
    assert all(lab.value.classification.class_name == truth_of(lab.item_key) for lab in latest.values())
    await lw.close()


def truth_of(key: str) -> str:
    return CLASSES[int(key[1:]) % 3]
