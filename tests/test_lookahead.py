"""NextTask and SubmitJudgment with `lookahead`: the worker also holds the
lease after its task, so a page loads that task's media while the worker
answers; the second lease is an ordinary lease in every other way."""

from __future__ import annotations

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import task_pb2, worker_service_pb2
from tests.conftest import Clock, Harness
from tests.helpers import CLASSES, running_job, truth


async def texts_job(lw: Client, items: int, **spec: object) -> str:
    job = await lw.create_job("Looks", classes=CLASSES, judgments_per_item=1, quiz_size=0, **spec)  # type: ignore[arg-type]
    await lw.add_items(job.name, [text_item(f"i{n}", f"i{n} truth:{CLASSES[n % 3]}") for n in range(items)])
    await lw.start_job(job.name)
    return job.name


async def ahead(worker: WorkerClient) -> worker_service_pb2.NextTaskResponse:
    response: worker_service_pb2.NextTaskResponse = await worker.stub.NextTask(
        worker_service_pb2.NextTaskRequest(lookahead=True), metadata=worker.metadata
    )
    return response


async def submit_ahead(
    worker: WorkerClient, task: task_pb2.Task
) -> worker_service_pb2.SubmitJudgmentResponse:
    response: worker_service_pb2.SubmitJudgmentResponse = await worker.stub.SubmitJudgment(
        worker_service_pb2.SubmitJudgmentRequest(
            task=task.name, answer=classification(truth(task.text)), want_next=True, lookahead=True
        ),
        metadata=worker.metadata,
    )
    return response


async def test_lookahead_leases_the_task_after_and_hands_it_over_next(server: Harness) -> None:
    lw = await server.client()
    job = await texts_job(lw, 3)
    _, token = await lw.create_worker(job, "Ada")
    worker = server.worker(token)
    first = await ahead(worker)
    assert first.task.text and first.upcoming.text and first.upcoming.text != first.task.text
    again = await ahead(worker)  # asking again leases nothing more
    assert (again.task.name, again.upcoming.name) == (first.task.name, first.upcoming.name)
    out = await submit_ahead(worker, first.task)
    assert out.next.task.name == first.upcoming.name  # the task loaded ahead is the next one
    third = out.next.upcoming
    assert third.text not in (first.task.text, first.upcoming.text)
    out = await submit_ahead(worker, out.next.task)
    assert out.next.task.name == third.name
    assert not out.next.HasField("upcoming")  # no work past the last item
    out = await submit_ahead(worker, third)
    assert not out.next.HasField("task")
    labels = {label.item_key async for label in lw.list_labels(job)}
    assert labels == {"i0", "i1", "i2"}


async def test_the_upcoming_lease_keeps_its_item_from_others_until_released(server: Harness) -> None:
    lw = await server.client()
    job = await texts_job(lw, 2)
    _, ada_token = await lw.create_worker(job, "Ada")
    _, bo_token = await lw.create_worker(job, "Bo")
    ada, bo = server.worker(ada_token), server.worker(bo_token)
    held = await ahead(ada)
    assert not (await bo.next_task()).HasField("task")  # both items are leased to Ada
    await ada.release(held.upcoming.name)
    got = await bo.next_task()
    assert got.task.text == held.upcoming.text
    assert (await ahead(ada)).task.name == held.task.name and not (await ahead(ada)).HasField("upcoming")


async def test_an_expired_task_gives_way_to_the_upcoming_lease(server: Harness, clock: Clock) -> None:
    lw = await server.client()
    job = await texts_job(lw, 3, task_time_limit_seconds=60)
    _, token = await lw.create_worker(job, "Ada")
    worker = server.worker(token)
    first = (await worker.next_task()).task
    clock.advance(40)
    held = await ahead(worker)  # the same task, and the one after it, leased now
    assert held.task.name == first.name
    clock.advance(25)  # the first lease has run out; the one after it has 35 s left
    after = await worker.next_task()
    assert after.task.name == held.upcoming.name


async def test_no_lookahead_during_the_quiz(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, gold=3, quiz_size=2, pass_accuracy=0.5)
    _, token = await lw.create_worker(job.name, "learner")
    got = await ahead(server.worker(token))
    assert got.task.phase == task_pb2.TASK_PHASE_QUIZ
    assert not got.HasField("upcoming")
