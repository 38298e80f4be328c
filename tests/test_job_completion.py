"""When a job completes: at the judgment that labels its last item, on resume,
and, for a job that weighs its workers, only after its final pass."""

from __future__ import annotations

from pathlib import Path

from labelwire.client.raw import classification
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.domain.model import JobState
from labelwire.server.store import Tx, open_store
from labelwire.v1 import job_pb2
from tests.conftest import Harness
from tests.helpers import running_job, truth, work


async def test_the_last_judgment_of_a_majority_vote_job_completes_it_at_once(server: Harness) -> None:
    """No pass to wait for: the submit that labels the last item ends the job,
    before any maintenance runs."""
    lw = await server.client()
    job = await running_job(lw, items=2)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        done = await work(w)
    after = await lw.get_job(job.name)
    assert done == 2
    assert after.state == job_pb2.JOB_STATE_COMPLETED
    assert after.end_reason == job_pb2.JOB_END_REASON_ALL_LABELED
    await lw.close()


async def test_a_job_resumed_with_nothing_left_open_completes_on_resume(server: Harness) -> None:
    """The last item was answered while the job was paused: resuming finds
    nothing open and completes it instead of leaving it running empty."""
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        held = await w.next_task()
        await lw.pause_job(job.name)
        await w.submit(held.task.name, classification(truth(held.task.text)))
    paused = await lw.get_job(job.name)
    resumed = await lw.resume_job(job.name)
    assert paused.state == job_pb2.JOB_STATE_PAUSED and paused.counters.labeled_items == 1
    assert resumed.state == job_pb2.JOB_STATE_COMPLETED
    assert resumed.end_reason == job_pb2.JOB_END_REASON_ALL_LABELED
    await lw.close()


async def test_a_job_that_weighs_its_workers_completes_only_after_its_final_pass(tmp_path: Path) -> None:
    """The submit of the last judgment must leave a Dawid-Skene job running, so
    that the revisions of its final pass reach the streams before they end; a
    majority-vote job (its method read back from JSON, as the server does)
    completes there and then."""
    store = open_store(str(tmp_path / "store.db"))
    majority = "".join(["majority", "_vote"])  # not the interned literal

    def jobs(tx: Tx) -> tuple[int, int]:
        client = tx.insert_client("c", b"h", 0.0)
        made = tuple(tx.insert_job(client, {}, JobState.RUNNING, 0.0) for _ in range(2))
        for job_id in made:
            tx.count_job(job_id, total_items=1)  # labeled: none is open
        return made[0], made[1]

    def states(tx: Tx) -> list[int]:
        return [int(r["state"]) for r in tx.all("SELECT state FROM jobs ORDER BY id")]

    try:
        weighted, voted = await store.write(jobs)
        at_submit = await store.write(
            lambda tx: dispatch.complete_if_done(tx, weighted, 1.0, method="dawid_skene", open_checked=True)
        )
        voted_at_submit = await store.write(
            lambda tx: dispatch.complete_if_done(tx, voted, 1.0, method=majority, open_checked=True)
        )
        between = await store.read(states)
        after_pass = await store.write(
            lambda tx: dispatch.complete_if_done(tx, weighted, 2.0, after_pass=True)
        )
        assert (at_submit, voted_at_submit) == (False, True)
        assert between == [JobState.RUNNING, JobState.COMPLETED]
        assert after_pass and await store.read(states) == [JobState.COMPLETED, JobState.COMPLETED]
    finally:
        store.close()
