"""SubmitJudgment that also leases the next task (one round trip per task),
and the entry quiz's per-answer feedback, on the gRPC and the HTTP port."""

from __future__ import annotations

from labelwire.client.raw import AdminClient, Client, classification
from labelwire.v1 import task_pb2, worker_service_pb2
from tests.conftest import ADMIN_KEY, Harness, HttpHarness
from tests.connect_client import CONNECT_JSON, Caller
from tests.helpers import CLASSES, running_job, truth
from tests.test_http_port import WORKERS


async def test_submit_with_want_next_leases_the_next_task_in_the_same_call(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=3)
    _, token = await lw.create_worker(job.name, "fast")
    worker = server.worker(token)
    first = (await worker.next_task()).task
    seen = {first.text}
    task = first
    for _ in range(2):
        out = await worker.submit(task.name, classification(truth(task.text)), want_next=True)
        assert out.next.HasField("task") and out.next.task.name != task.name
        assert out.next.task.text not in seen
        task = out.next.task
        seen.add(task.text)
    assert (await worker.next_task()).task.name == task.name  # the lease given in the call is held
    last = await worker.submit(task.name, classification(truth(task.text)), want_next=True)
    assert not last.next.HasField("task") and last.next.message
    without = await worker.submit(task.name, classification(truth(task.text)))
    assert not without.HasField("next")


async def test_quiz_answers_get_feedback_and_work_answers_do_not(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2, gold=6, quiz_size=2, pass_accuracy=0.5)
    _, token = await lw.create_worker(job.name, "learner")
    worker = server.worker(token)
    feedback = []
    for right in (False, True):
        task = (await worker.next_task()).task
        assert task.phase == task_pb2.TASK_PHASE_QUIZ
        expected = truth(task.text)
        given = expected if right else CLASSES[(CLASSES.index(expected) + 1) % 3]
        out = await worker.submit(task.name, classification(given))
        feedback.append(
            (out.quiz_feedback.correct, out.quiz_feedback.expected_answer.classification.class_name)
        )
        assert feedback[-1] == (right, expected)
    assert out.status == task_pb2.WORKER_STATUS_QUALIFIED
    work = (await worker.next_task()).task
    assert work.phase == task_pb2.TASK_PHASE_WORK
    out = await worker.submit(work.name, classification(truth(work.text)))
    assert not out.HasField("quiz_feedback")


async def test_want_next_and_quiz_feedback_over_connect(http_server: HttpHarness) -> None:
    async with AdminClient(http_server.target, ADMIN_KEY) as admin:
        lw = Client(http_server.target, await admin.create_api_key("connect"))
    job = await running_job(lw, items=2, gold=3, quiz_size=1, pass_accuracy=0.5)
    _, token = await lw.create_worker(job.name, "browser")
    worker = Caller(http_server.url, CONNECT_JSON, token)
    task = (await worker.unary(f"{WORKERS}/NextTask", worker_service_pb2.NextTaskRequest())).task
    out = await worker.unary(
        f"{WORKERS}/SubmitJudgment",
        worker_service_pb2.SubmitJudgmentRequest(
            task=task.name, answer=classification(truth(task.text)), want_next=True
        ),
    )
    assert out.quiz_feedback.correct
    assert out.next.task.phase == task_pb2.TASK_PHASE_WORK
