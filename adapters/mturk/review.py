"""Reading workers' assignments and settling them: answers on item HITs are
recorded as judgments, answers on hidden gold HITs grade their worker, and
each submitted assignment is approved or rejected by the job's approval
policy before MTurk approves it on its own."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from labelwire.adapters.base import ExternalJudgment
from labelwire.adapters.batches import batch_verdicts
from labelwire.adapters.mturk.answers import answer_key, parse_answer_xml, to_answer
from labelwire.adapters.mturk.budget import MICROS_PER_CENT, BudgetRound
from labelwire.adapters.mturk.retry import error_message, is_retryable
from labelwire.adapters.mturk.round_base import as_datetime, epoch, seconds_between
from labelwire.adapters.mturk.settings import APPROVE_ALL, REJECT_BELOW_AGREEMENT, REJECT_WRONG_GOLD
from labelwire.adapters.mturk.state import APPROVED, BATCH, CLOSED, GOLD, ITEM, REJECTED, Hit, Seen
from labelwire.adapters.retry import error_code

log = logging.getLogger(__name__)
MIN_GOLD_TO_DISCOUNT = 3

FEEDBACK_EMPTY = "No usable answer was submitted for this task."
FEEDBACK_GOLD = "This task had a known answer, and the answer submitted did not match it."
FEEDBACK_AGREEMENT = "The answer submitted disagreed with a clear majority of the other workers on this item."


@dataclass
class Collected:
    hit: Hit
    assignment_id: str
    status: str


class ReviewRound(BudgetRound):
    async def collect(self, hits: Sequence[Hit]) -> None:
        """Reads submitted (and already approved) assignments; records new answers, then settles them.

        Answers are recorded before the state that marks them read is saved, so a
        crash in between re-offers them, which the core de-duplicates; an
        assignment decided before a crash lists as Approved or Rejected and is
        adopted, never decided (or paid) twice.
        """
        judgments: list[ExternalJudgment] = []
        gold_answers: list[tuple[Seen, ExternalJudgment]] = []
        to_settle: list[Collected] = []
        for hit in hits:
            try:
                assignments = await self.list_assignments(hit.hit_id)
            except ClientError as err:
                if is_retryable(err):
                    continue
                if error_code(err) != "RequestError":
                    raise
                # The HIT is gone (deleted, or disposed by MTurk after 120 days): nothing more to read.
                log.warning(
                    "%s: HIT %s can no longer be read (%s); closing it", self.job.name, hit.hit_id, err
                )
                hit.status, hit.expired_by_us = CLOSED, True
                continue
            for assignment in assignments:
                collected = await self.read_assignment(hit, assignment, judgments, gold_answers)
                if collected is not None:
                    to_settle.append(collected)
        if judgments:
            outcome = await self.ctx.record_judgments(judgments)
            self.recorded += outcome.recorded
        await self.grade(gold_answers)
        await self.save()
        if not self.closing:
            await self.claimed()
        for collected in to_settle:
            await self.settle(collected)
        for hit in hits:
            self.maybe_close(hit)
        await self.save()

    async def list_assignments(self, hit_id: str) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            page: dict[str, Any] = {
                "HITId": hit_id,
                "MaxResults": 100,
                "AssignmentStatuses": ["Submitted", "Approved", "Rejected"],
            }
            if token:
                page["NextToken"] = token
            response = await self.call("list_assignments_for_hit", **page)
            out.extend(response.get("Assignments", []))
            token = response.get("NextToken")
            if not token:
                return out

    async def read_assignment(
        self,
        hit: Hit,
        assignment: Mapping[str, Any],
        judgments: list[ExternalJudgment],
        gold_answers: list[tuple[Seen, ExternalJudgment]],
    ) -> Collected | None:
        """Notes a newly read assignment and adds its answer to `judgments`
        (an item HIT's) or `gold_answers` (a hidden gold HIT's)."""
        aid = str(assignment["AssignmentId"])
        status = str(assignment.get("AssignmentStatus", "Submitted"))
        if aid in hit.decided:
            return None
        if aid not in hit.answers and hit.kind == BATCH:
            self.read_batch(hit, assignment, judgments, gold_answers)
        elif aid not in hit.answers:
            worker = str(assignment.get("WorkerId", ""))
            answer = to_answer(parse_answer_xml(assignment.get("Answer")), self.job.task_type, self.classes)
            seen = Seen(
                worker=worker,
                answer=answer_key(answer),
                auto_approve_at=epoch(assignment.get("AutoApprovalTime")),
            )
            judgment = ExternalJudgment(
                item_key=hit.key,
                worker_id=worker,
                answer=answer,
                time_spent_seconds=seconds_between(
                    assignment.get("AcceptTime"), assignment.get("SubmitTime")
                ),
                submitted_at=as_datetime(assignment.get("SubmitTime")),
            )
            if hit.kind == ITEM:
                judgments.append(judgment)
            else:
                gold_answers.append((seen, judgment))
            hit.answers[aid] = seen
        return Collected(hit, aid, status)

    def read_batch(
        self,
        hit: Hit,
        assignment: Mapping[str, Any],
        judgments: list[ExternalJudgment],
        gold_answers: list[tuple[Seen, ExternalJudgment]],
    ) -> None:
        """Splits a batch HIT's answer into one judgment per item (its share of
        the time spent); the verdict on a hidden gold item grades the worker."""
        aid, worker = str(assignment["AssignmentId"]), str(assignment.get("WorkerId", ""))
        verdicts = batch_verdicts(parse_answer_xml(assignment.get("Answer")), len(hit.slots))
        seen = Seen(
            worker=worker,
            answer=answer_key(verdicts) if any(v is not None for v in verdicts) else "",
            auto_approve_at=epoch(assignment.get("AutoApprovalTime")),
        )
        spent = seconds_between(assignment.get("AcceptTime"), assignment.get("SubmitTime"))
        for key, verdict in zip(hit.slots, verdicts, strict=True):
            judgment = ExternalJudgment(
                item_key=key,
                worker_id=worker,
                answer=verdict,
                time_spent_seconds=None if spent is None else spent / len(hit.slots),
                submitted_at=as_datetime(assignment.get("SubmitTime")),
            )
            if key in hit.gold_slots:
                gold_answers.append((seen, judgment))
            else:
                judgments.append(judgment)
        hit.answers[aid] = seen

    async def grade(self, gold_answers: Sequence[tuple[Seen, ExternalJudgment]]) -> None:
        """Grades answers on hidden gold HITs by the core's quality gate (the
        comparison pool workers' gold gets) and adds them to their workers'
        records; a wrong one holds the worker's record to the bar."""
        if not gold_answers:
            return
        grades = await self.ctx.grade_gold([judgment for _, judgment in gold_answers])
        for (seen, _), correct in zip(gold_answers, grades, strict=True):
            if correct is None:  # a gold item removed since cannot grade anyone
                continue
            seen.correct = correct if seen.correct is None else seen.correct and correct
            record = self.state.worker(seen.worker)
            if correct:
                record.gold_right += 1
            else:
                record.gold_wrong += 1
                await self.discount_if_below_bar(seen.worker)

    async def discount_if_below_bar(self, worker: str) -> None:
        """Holds a worker's hidden gold record to the core's quality gate at the
        job's passing score (after a few gold answers): below it, the worker
        stops counting, as a pool worker would."""
        record = self.state.worker(worker)
        await self.ctx.judge_gold_record(
            worker,
            record.gold_right + record.gold_wrong,
            record.gold_right,
            pass_accuracy=self.settings.passing_score / 100,
            min_answered=MIN_GOLD_TO_DISCOUNT,
        )

    async def settle(self, collected: Collected) -> None:
        hit, aid = collected.hit, collected.assignment_id
        if collected.status != "Submitted":
            await self.account(hit, aid, APPROVED if collected.status == "Approved" else REJECTED)
            return
        verdict = self.verdict(hit, aid)
        if verdict is None:
            return
        approve, feedback = verdict
        try:
            if approve:
                await self.call("approve_assignment", AssignmentId=aid)
            else:
                await self.call("reject_assignment", AssignmentId=aid, RequesterFeedback=feedback)
        except ClientError as err:
            if is_retryable(err):
                return
            if "status" not in error_message(err).lower():
                # Not ours to fix here (e.g. the balance is too low to pay): left undecided, MTurk
                # approves it at AutoApprovalTime unless a later round succeeds first.
                log.warning("%s: could not settle assignment %s: %s", self.job.name, aid, err)
                return
            # Approved (automatically, at AutoApprovalTime) or settled by us just before a crash.
            approve = True
        await self.account(hit, aid, APPROVED if approve else REJECTED)

    def verdict(self, hit: Hit, aid: str) -> tuple[bool, str] | None:
        """Approve or reject one submitted assignment, or None to wait (agreement needs the other answers)."""
        seen = hit.answers[aid]
        policy = self.settings.approval_policy
        if policy == APPROVE_ALL:
            return True, ""
        if not seen.answer:
            return False, FEEDBACK_EMPTY
        if hit.kind in (GOLD, BATCH):
            # A batch's verdicts meet the other workers' item by item in the core's
            # consolidation, not here; a wrong hidden gold verdict rejects the batch.
            if policy == REJECT_WRONG_GOLD and seen.correct is False:
                return False, FEEDBACK_GOLD
            return True, ""
        if policy != REJECT_BELOW_AGREEMENT:
            return True, ""
        answers = [
            s.answer
            for h in self.state.item_hits(hit.key)
            if h.kind == ITEM
            for s in h.answers.values()
            if s.answer
        ]
        complete = (
            self.closing
            or hit.outstanding() == 0
            or hit.key not in (self._claimed or {})
            or self.expired(hit)
            or self.decision_due(hit)
        )
        if not complete:
            return None
        counts = Counter(answers).most_common(2)
        top, top_count = counts[0]
        unique = len(counts) == 1 or counts[1][1] < top_count
        if len(answers) >= 3 and unique and top_count / len(answers) >= self.settings.agreement_threshold:
            return (True, "") if seen.answer == top else (False, FEEDBACK_AGREEMENT)
        return True, ""

    async def account(self, hit: Hit, aid: str, outcome: str) -> None:
        """Books a decided assignment. The core charged an item HIT's answer
        its price and the fee rate it was claimed at; an approved one adds
        only a fee above that rate (a HIT grown to 10 or more assignments),
        an approved gold HIT answer (not a judgment) its reward and fee. Once
        per assignment id."""
        hit.decided[aid] = outcome
        cost = self.state.cost
        if outcome == APPROVED:
            fee = self.hit_fee_cents(hit)
            cost.approved += 1
            cost.reward_cents += self.hit_reward_cents(hit)
            cost.fee_cents += fee
            if hit.kind == ITEM:
                extra = fee * MICROS_PER_CENT - self.claimed_fee_micros()
                reason = "Mechanical Turk fee above the claimed rate"
            elif hit.kind == BATCH:
                extra = self.batch_extra_micros(hit)
                reason = (
                    "Mechanical Turk fee of a batch HIT above the claimed rate, and its gold items' reward"
                )
            else:
                extra = (fee + self.settings.reward_cents) * MICROS_PER_CENT
                reason = "Mechanical Turk reward and fee of a gold HIT"
            if extra > 0:
                reserved = hit.kind in (GOLD, BATCH) or self.surcharge_micros(hit) > 0
                await self.ctx.record_cost(
                    extra,
                    reason,
                    key=f"mturk:{aid}",
                    reservation=self.reservation(hit) if reserved else "",
                )
        else:
            cost.rejected += 1
            self.state.worker(hit.answers[aid].worker).rejected += 1
