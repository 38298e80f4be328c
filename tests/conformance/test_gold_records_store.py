"""Every applicant's quiz record, grouped (`Tx.gold_records`), on every store: what a majority-vote job's confidence
is shrunk towards (`gate.applicant_pool`) counts the workers who failed the quiz and those
still answering it, not only the qualified."""

from __future__ import annotations

from labelwire.server.domain.model import WorkerStatus
from labelwire.server.store import Store, Tx
from tests.conformance.store_rows import job


async def test_gold_records_group_every_applicants_quiz_or_the_qualifieds_gold(store: Store) -> None:
    job_id = await job(store)
    other = await job(store)
    records = [
        (WorkerStatus.QUALIFIED, 5, 5),
        (WorkerStatus.QUALIFIED, 5, 4),
        (WorkerStatus.DISQUALIFIED, 5, 4),
        (WorkerStatus.FAILED_QUIZ, 5, 2),
        (WorkerStatus.FAILED_QUIZ, 5, 2),
        (WorkerStatus.QUIZ, 2, 1),
        (WorkerStatus.QUIZ, 0, 0),  # no answer yet: no record
    ]

    def hire(tx: Tx) -> None:
        for n, (status, answered, right) in enumerate(records):
            worker = tx.insert_worker(job_id, f"w{n}", None, int(status), 0, 0.0)
            tx.update_worker(
                worker,
                quiz_answered=answered,
                quiz_correct=right,
                gold_answered=answered + 7,
                gold_correct=right,
            )
        elsewhere = tx.insert_worker(other, "x", None, int(WorkerStatus.FAILED_QUIZ), 0, 0.0)
        tx.update_worker(elsewhere, quiz_answered=5, quiz_correct=0)

    await store.write(hire)
    got = await store.read(lambda tx: tx.gold_records(job_id, True))
    assert sorted(got) == [((2, 1), 1), ((5, 2), 2), ((5, 4), 2), ((5, 5), 1)]
    assert sorted(await store.write(lambda tx: tx.gold_records(job_id, True))) == sorted(got)  # the writer's
    # without a quiz, the qualified workers' whole gold records
    assert sorted(await store.read(lambda tx: tx.gold_records(job_id, False))) == [((12, 4), 1), ((12, 5), 1)]
