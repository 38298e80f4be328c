"""Amazon Mechanical Turk as a labelwire workforce (API 2017-01-17).

One HIT per claimed item, with as many assignments as the core wants
judgments; workers' answers are read from ListAssignmentsForHIT while the HIT
runs, recorded as judgments under the worker's MTurk id, and approved or
rejected by the job's approval policy before MTurk approves them on its own.
When the core wants more judgments for an item (its confidence target is not
met), the HIT gets more assignments, or the item a new HIT when the old one
cannot grow; when the core needs no more, the HIT is expired so nothing more is
paid. Mechanical Turk closed on 2026-09-30: nothing here is needed by the core.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from labelwire.adapters.base import (
    Capabilities,
    ExternalJudgment,
    GoldItem,
    JobView,
    Mode,
    SettingsError,
    SyncResult,
    Workforce,
    WorkforceContext,
    WorkItem,
)
from labelwire.adapters.mturk import fees
from labelwire.adapters.mturk.answers import answer_key, parse_answer_xml, same_answer, to_answer
from labelwire.adapters.mturk.notifications import SqsNotifications, fresh_events, hits_to_poll, parse_body
from labelwire.adapters.mturk.qualification import TestNotPossible, build_test, type_name
from labelwire.adapters.mturk.questions import ItemRejected, custom_template, html_question
from labelwire.adapters.mturk.requests import (
    annotation,
    create_hit_request,
    create_qualification_type_request,
    extra_token,
    notification_request,
    request_token,
)
from labelwire.adapters.mturk.retry import MTurkRetrier, error_message, is_retryable, turk_error_code
from labelwire.adapters.mturk.settings import (
    APPROVE_ALL,
    LARGE_HIT_MIN,
    REJECT_BELOW_AGREEMENT,
    REJECT_WRONG_GOLD,
    SMALL_HIT_MAX,
    MTurkSettings,
    parse_settings,
)
from labelwire.adapters.mturk.state import (
    APPROVED,
    CLOSED,
    CREATING,
    GOLD,
    ITEM,
    OPEN,
    REJECTED,
    AdapterState,
    Hit,
    Seen,
)
from labelwire.adapters.retry import Sleep, error_code

if TYPE_CHECKING:
    from mypy_boto3_mturk import MTurkClient
else:
    MTurkClient = Any

TASK_TYPES = frozenset({"classification", "multi_label", "bounding_box", "spans", "verification", "custom"})
GOLD_LIMIT = 10_000
PAST = datetime(2015, 1, 1, tzinfo=UTC)  # UpdateExpirationForHIT to a past time expires a HIT at once
HIT_ID = re.compile(r"\b([A-Z0-9]{20,64})\b")
DECISION_MARGIN_SECONDS = 3600.0
MIN_GOLD_TO_DISCOUNT = 3

log = logging.getLogger(__name__)
MICROS_PER_CENT = 10_000

FEEDBACK_EMPTY = "No usable answer was submitted for this task."
FEEDBACK_GOLD = "This task had a known answer, and the answer submitted did not match it."
FEEDBACK_AGREEMENT = "The answer submitted disagreed with a clear majority of the other workers on this item."


class ClientFactory(Protocol):
    """Makes the boto3 client for a service ("mturk" or "sqs") as one job's settings want it."""

    def __call__(self, service: str, settings: MTurkSettings) -> Any: ...


class BotoClients:
    """boto3 clients shared by every job that agrees on region and endpoint. MTurk calls are
    retried by the adapter (with jitter and an injectable sleep), so botocore's retries are off."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    def __call__(self, service: str, settings: MTurkSettings) -> Any:
        endpoint = settings.endpoint_url if service == "mturk" else settings.sqs_endpoint_url
        region = settings.region if service == "mturk" else queue_region(settings.notification_queue_url)
        key = (service, region, endpoint)
        if key not in self._clients:
            retries: Any = {"total_max_attempts": 1} if service == "mturk" else {"mode": "standard"}
            make: Callable[..., Any] = boto3.client
            self._clients[key] = make(
                service, region_name=region, endpoint_url=endpoint, config=Config(retries=retries)
            )
        return self._clients[key]


def queue_region(queue_url: str | None) -> str:
    match = re.match(r"^https?://sqs\.([a-z0-9-]+)\.amazonaws\.com/", queue_url or "")
    return match.group(1) if match else "us-east-1"


class MTurkWorkforce(Workforce):
    name = "mturk"
    capabilities = Capabilities(
        task_types=TASK_TYPES,
        mode=Mode.PUSH,
        gates_by_gold=True,
        max_judgments_per_item=100,
    )

    def __init__(
        self,
        *,
        clients: ClientFactory | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._clients: ClientFactory = clients or BotoClients()
        self.retry = MTurkRetrier(sleep=sleep or asyncio.sleep, rng=rng or random.Random())
        self._clock = clock or time.time
        self.released: set[str] = set()  # gold HIT reservations given back by this process

    def validate(self, job: JobView) -> None:
        super().validate(job)
        parse_settings(job)
        if job.task_type in ("classification", "multi_label", "bounding_box", "spans") and not job.classes:
            raise SettingsError(
                "task_config", f"{job.task_type} tasks on Mechanical Turk need classes to offer"
            )
        if job.task_type == "classification" and len(job.classes) < 2:
            raise SettingsError(
                "task_config", f"classification needs at least 2 classes, got {len(job.classes)}"
            )
        if job.task_type == "custom":
            template = custom_template(job)
            if template is None or "<crowd-form" not in template:
                raise SettingsError(
                    "task_config.custom.template",
                    "a custom task on Mechanical Turk needs a template with a <crowd-form> (it posts the answer)",
                )

    def now(self) -> float:
        return self._clock()

    def client(self, settings: MTurkSettings) -> MTurkClient:
        client: MTurkClient = self._clients("mturk", settings)
        return client

    def notifications(self, settings: MTurkSettings) -> SqsNotifications | None:
        if settings.notification_queue_url is None:
            return None
        return SqsNotifications(self._clients("sqs", settings), settings.notification_queue_url)

    async def start(self, ctx: WorkforceContext) -> None:
        round_ = _Round(self, ctx)
        await round_.load()
        if round_.state.cancelled:
            return
        if round_.settings.qualification_test and round_.state.qualification_type_id is None:
            await round_.create_qualification_type()
        await round_.recover_orphans()

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        round_ = _Round(self, ctx)
        await round_.load()
        return await round_.sync()

    async def cancel(self, ctx: WorkforceContext) -> None:
        round_ = _Round(self, ctx)
        await round_.load()
        await round_.cancel()


@dataclass
class _Collected:
    hit: Hit
    assignment_id: str
    status: str


class _Round:
    """One call of start, sync or cancel for one job: its settings, client and loaded state."""

    def __init__(self, workforce: MTurkWorkforce, ctx: WorkforceContext) -> None:
        self.wf = workforce
        self.ctx = ctx
        self.job = ctx.job
        self.settings = parse_settings(ctx.job)
        self.mturk = workforce.client(self.settings)
        self.classes = [c.name for c in self.job.classes]
        self.state = AdapterState()
        self.recorded = 0
        self.dispatched = 0
        self._gold: dict[str, GoldItem] | None = None
        self._claimed: dict[str, WorkItem] | None = None
        self.closing = False  # cancelling: settle everything now, nothing more will come

    async def load(self) -> None:
        self.state = AdapterState.from_json(await self.ctx.load_state())

    async def save(self) -> None:
        await self.ctx.save_state(self.state.to_json())

    async def call(self, operation: str, **kwargs: Any) -> Any:
        return await self.wf.retry.call(getattr(self.mturk, operation), **kwargs)

    # --- start -------------------------------------------------------------------------------------------------

    async def create_qualification_type(self) -> None:
        """Makes the job's test from its gold once; a retry after a crash finds the type by name."""
        gold = await self.ctx.gold_items(GOLD_LIMIT)
        try:
            test = build_test(self.job, self.settings, gold)
        except TestNotPossible as err:
            await self.ctx.fail_job(f"workforce.settings.qualification_test: {err}")
            return
        request = create_qualification_type_request(self.job, self.settings, test)
        try:
            response = await self.call("create_qualification_type", **request)
            type_id = str(response["QualificationType"]["QualificationTypeId"])
        except ClientError as err:
            if "already" not in error_message(err).lower():
                raise
            found = await self.find_qualification_type()
            if found is None:
                raise
            type_id = found
        self.state.qualification_type_id = type_id
        await self.save()

    async def find_qualification_type(self) -> str | None:
        name = type_name(self.job.name)
        token: str | None = None
        while True:
            page: dict[str, Any] = {"Query": name, "MustBeRequestable": False, "MustBeOwnedByCaller": True}
            if token:
                page["NextToken"] = token
            response = await self.call("list_qualification_types", MaxResults=100, **page)
            for qualification in response.get("QualificationTypes", []):
                if qualification.get("Name") == name:
                    return str(qualification["QualificationTypeId"])
            token = response.get("NextToken")
            if not token:
                return None

    async def recover_orphans(self) -> None:
        """Hands back items claimed before a crash that no HIT (made or being made) holds."""
        held = {h.key for h in self.state.hits if h.kind == ITEM}
        orphans = [item.key for item in await self.ctx.claimed_items() if item.key not in held]
        if orphans:
            await self.ctx.return_items(orphans)

    # --- sync --------------------------------------------------------------------------------------------------

    async def sync(self) -> SyncResult:
        if self.state.cancelled:
            return SyncResult(next_sync_seconds=self.settings.poll_seconds, finished=True)
        if self.settings.qualification_test and self.state.qualification_type_id is None:
            await self.create_qualification_type()
            if self.state.qualification_type_id is None:
                return SyncResult(next_sync_seconds=self.settings.poll_seconds, finished=True)
        await self.resume_creating()
        receipts = await self.read_notifications()
        await self.collect(self.hits_to_poll())
        claimed = await self.claimed(refresh=False)
        await self.top_up(claimed)
        await self.dispatch()
        await self.save()
        await self.release_closed_gold()
        if receipts:
            notifications = self.wf.notifications(self.settings)
            if notifications is not None:
                await asyncio.to_thread(notifications.delete, receipts)
        open_hits = self.state.with_status(CREATING, OPEN)
        return SyncResult(
            next_sync_seconds=self.settings.poll_seconds,
            dispatched=self.dispatched,
            recorded=self.recorded,
            finished=not open_hits and not await self.ctx.claimed_items(),
        )

    async def claimed(self, refresh: bool = True) -> dict[str, WorkItem]:
        if self._claimed is None or refresh:
            self._claimed = {item.key: item for item in await self.ctx.claimed_items()}
        return self._claimed

    async def gold(self) -> dict[str, GoldItem]:
        if self._gold is None:
            self._gold = {g.key: g for g in await self.ctx.gold_items(GOLD_LIMIT)}
        return self._gold

    # --- notifications -----------------------------------------------------------------------------------------

    async def read_notifications(self) -> list[str]:
        """Moves the HITs named by new notification events to the front of the polling order;
        returns the receipts to delete once the state that remembers them is saved."""
        notifications = self.wf.notifications(self.settings)
        if notifications is None:
            return []
        messages = await asyncio.to_thread(notifications.receive)
        events = [event for _, body in messages for event in parse_body(body)]
        new = fresh_events(events, self.state.events_seen)
        self.state.remember_events([e.key for e in new])
        self.state.priority = list(dict.fromkeys([*self.state.priority, *hits_to_poll(new)]))
        return [receipt for receipt, _ in messages]

    def hits_to_poll(self) -> list[Hit]:
        """Notified HITs first. Without notifications every open HIT is polled each round; with
        them, the others only on a full sweep, or when a decision is due before auto-approval."""
        open_hits = self.state.with_status(OPEN)
        by_id = {h.hit_id: h for h in open_hits}
        first = [by_id[i] for i in self.state.priority if i in by_id]
        self.state.priority = []
        now = self.wf.now()
        sweep = self.settings.notification_queue_url is None or (
            now - self.state.last_sweep >= self.settings.sweep_seconds
        )
        if sweep:
            self.state.last_sweep = now
            rest = [h for h in open_hits if h not in first]
        else:
            rest = [h for h in open_hits if h not in first and self.decision_due(h)]
        return [*first, *rest]

    def decision_due(self, hit: Hit) -> bool:
        now = self.wf.now()
        return any(hit.answers[a].auto_approve_at - now <= DECISION_MARGIN_SECONDS for a in hit.undecided())

    # --- collection --------------------------------------------------------------------------------------------

    async def collect(self, hits: Sequence[Hit]) -> None:
        """Reads submitted (and already approved) assignments; records new answers, then settles them.

        Answers are recorded before the state that marks them read is saved, so a
        crash in between re-offers them, which the core de-duplicates; an
        assignment decided before a crash lists as Approved or Rejected and is
        adopted, never decided (or paid) twice.
        """
        judgments: list[ExternalJudgment] = []
        to_settle: list[_Collected] = []
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
                collected = await self.read_assignment(hit, assignment, judgments)
                if collected is not None:
                    to_settle.append(collected)
        if judgments:
            outcome = await self.ctx.record_judgments(judgments)
            self.recorded += outcome.recorded
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
        self, hit: Hit, assignment: Mapping[str, Any], judgments: list[ExternalJudgment]
    ) -> _Collected | None:
        aid = str(assignment["AssignmentId"])
        status = str(assignment.get("AssignmentStatus", "Submitted"))
        if aid in hit.decided:
            return None
        if aid not in hit.answers:
            worker = str(assignment.get("WorkerId", ""))
            answer = to_answer(parse_answer_xml(assignment.get("Answer")), self.job.task_type, self.classes)
            seen = Seen(
                worker=worker,
                answer=answer_key(answer),
                auto_approve_at=_epoch(assignment.get("AutoApprovalTime")),
            )
            if hit.kind == ITEM:
                judgments.append(
                    ExternalJudgment(
                        item_key=hit.key,
                        worker_id=worker,
                        answer=answer,
                        time_spent_seconds=_seconds_between(
                            assignment.get("AcceptTime"), assignment.get("SubmitTime")
                        ),
                        submitted_at=_datetime(assignment.get("SubmitTime")),
                    )
                )
            else:
                gold = (await self.gold()).get(hit.key)
                if gold is not None:  # a gold item removed since cannot grade anyone
                    seen.correct = same_answer(answer, gold.answer)
                    record = self.state.worker(worker)
                    if seen.correct:
                        record.gold_right += 1
                    else:
                        record.gold_wrong += 1
                        await self.discount_if_below_bar(worker)
            hit.answers[aid] = seen
        return _Collected(hit, aid, status)

    async def discount_if_below_bar(self, worker: str) -> None:
        """A worker whose accuracy on hidden gold falls below the passing score
        (after a few gold answers) stops counting, as a pool worker would."""
        record = self.state.worker(worker)
        answered = record.gold_right + record.gold_wrong
        if (
            answered >= MIN_GOLD_TO_DISCOUNT
            and record.gold_right * 100 < self.settings.passing_score * answered
        ):
            await self.ctx.discount_worker(
                worker, f"{record.gold_right} of {answered} hidden gold answers right"
            )

    async def settle(self, collected: _Collected) -> None:
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
        if hit.kind == GOLD:
            if policy == REJECT_WRONG_GOLD and seen.correct is False:
                return False, FEEDBACK_GOLD
            return True, ""
        if policy != REJECT_BELOW_AGREEMENT:
            return True, ""
        answers = [s.answer for h in self.state.item_hits(hit.key) for s in h.answers.values() if s.answer]
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
            fee = fees.fee_cents(self.settings.reward, hit.created_max, self.settings.masters)
            cost.approved += 1
            cost.reward_cents += self.settings.reward_cents
            cost.fee_cents += fee
            if hit.kind == ITEM:
                extra, reason = fee - self.claimed_fee_cents(), "Mechanical Turk fee above the claimed rate"
            else:
                extra, reason = (
                    fee + self.settings.reward_cents,
                    "Mechanical Turk reward and fee of a gold HIT",
                )
            if extra > 0:
                reserved = hit.kind == GOLD or self.surcharge_micros(hit) > 0
                await self.ctx.record_cost(
                    extra * MICROS_PER_CENT,
                    reason,
                    key=f"mturk:{aid}",
                    reservation=self.reservation(hit) if reserved else "",
                )
        else:
            cost.rejected += 1
            self.state.worker(hit.answers[aid].worker).rejected += 1

    def gold_hit_micros(self, hit: Hit) -> int:
        """The most a gold HIT can cost: every assignment approved, reward and
        fee. Its answers are not judgments, so no claim reserved them; this is
        reserved before the HIT is made, so hidden gold cannot overspend the
        budget, and what is not charged goes back once the HIT is closed."""
        fee = fees.fee_cents(self.settings.reward, hit.created_max, self.settings.masters)
        return hit.created_max * (self.settings.reward_cents + fee) * MICROS_PER_CENT

    def surcharge_micros(self, hit: Hit) -> int:
        """What an item HIT made with 10 or more assignments can cost above
        the claimed rate: MTurk's extra 20% of the reward on every assignment
        it may ever have (it can grow to `max_assignments_per_hit`). Claims
        reserve only the plain rate, so this is reserved before the HIT is
        made, and what approved answers do not use goes back at close."""
        if hit.kind != ITEM:
            return 0
        fee = fees.fee_cents(self.settings.reward, hit.created_max, self.settings.masters)
        extra = fee - self.claimed_fee_cents()
        if extra <= 0:
            return 0
        return extra * max(hit.created_max, self.settings.max_assignments_per_hit) * MICROS_PER_CENT

    async def reserve_surcharge(self, hit: Hit) -> None:
        """Reserves a large item HIT's surcharge; when the budget cannot pay
        it, the HIT is made with at most 9 assignments instead (the claimed
        rate), and the item's other judgments come from further HITs."""
        micros = self.surcharge_micros(hit)
        if micros and not await self.ctx.reserve_cost(micros, key=self.reservation(hit)):
            hit.max_assignments = hit.created_max = min(hit.created_max, SMALL_HIT_MAX)

    @staticmethod
    def reservation(hit: Hit) -> str:
        return f"mturk:{hit.kind}:{hit.token}"

    async def release_closed_gold(self) -> None:
        """Gives back what closed gold HITs, and closed large item HITs, still
        hold of their reservation (once per process; releasing again is
        harmless)."""
        for hit in self.state.hits:
            key = self.reservation(hit)
            held = hit.kind == GOLD or self.surcharge_micros(hit) > 0
            if held and hit.status == CLOSED and key not in self.wf.released:
                await self.ctx.release_cost(key=key)
                self.wf.released.add(key)

    def claimed_fee_cents(self) -> int:
        """The fee per judgment claims reserve and the core charges: MTurk's
        plain rate, that of a HIT with at most 9 assignments. A HIT made with
        10 or more reserves the surcharge itself (`reserve_surcharge`), so an
        item whose later judgments come from small HITs is not charged the
        large rate for them."""
        return fees.fee_cents(
            self.settings.reward,
            min(self.per_hit_cap(self.job.judgments_per_item), SMALL_HIT_MAX),
            self.settings.masters,
        )

    def maybe_close(self, hit: Hit) -> None:
        """A HIT is closed (no more polling) once nothing more will come and everything is settled."""
        finished = hit.outstanding() == 0 or self.expired(hit)
        if hit.status == OPEN and finished and not hit.undecided():
            hit.status = CLOSED

    def expired(self, hit: Hit) -> bool:
        return hit.expired_by_us or (hit.expires_at > 0 and self.wf.now() >= hit.expires_at)

    # --- more judgments, or none -------------------------------------------------------------------------------

    async def top_up(self, claimed: Mapping[str, WorkItem]) -> None:
        """Matches each item's open assignments to what the core still wants: more assignments (or a new
        HIT) when it wants more, an expired HIT when it wants none."""
        keys = dict.fromkeys([*(h.key for h in self.state.with_status(OPEN) if h.kind == ITEM), *claimed])
        for key in keys:
            hits = self.state.item_hits(key)
            if any(h.status == CREATING for h in hits):
                continue
            item = claimed.get(key)
            if item is None:
                for hit in hits:
                    if hit.status == OPEN and hit.outstanding() and not self.expired(hit):
                        await self.expire(hit)
                    self.maybe_close(hit)
                continue
            live = [h for h in hits if h.hit_id and not self.expired(h)]
            need = item.judgments_wanted - sum(h.outstanding() for h in live)
            if need <= 0:
                continue
            if live:
                need -= await self.add_assignments(live[-1], need)
            if need > 0:
                lapsed = [h for h in self.state.item_hits(key) if self.expired(h) and not h.expired_by_us]
                if len(lapsed) >= self.settings.max_hit_rounds:
                    await self.ctx.fail_items(
                        [key],
                        f"Mechanical Turk workers gave {sum(len(h.answers) for h in lapsed)} answers in "
                        f"{len(lapsed)} HITs before they expired; the item still wanted {need} more",
                    )
                    continue
                hit = self.new_hit(ITEM, key, self.per_hit_cap(need))
                await self.reserve_surcharge(hit)
                await self.save()
                await self.create(hit, item.payload_kind, item.payload, item.prelabel)
        await self.retire_gold(claimed)

    async def retire_gold(self, claimed: Mapping[str, WorkItem]) -> None:
        """Hidden gold HITs exist to grade workers on this job's items; with no item left to work
        on they would only cost money, so they are expired."""
        if claimed or any(h.kind == ITEM for h in self.state.with_status(CREATING, OPEN)):
            return
        for hit in self.state.with_status(OPEN):
            if not self.expired(hit):
                await self.expire(hit)
            self.maybe_close(hit)

    @property
    def small_hit_limit(self) -> int:
        """The most assignments a HIT made with fewer than 10 may ever have."""
        return SMALL_HIT_MAX if self.settings.large_hits else self.settings.max_assignments_per_hit

    def per_hit_cap(self, wanted: int) -> int:
        """Assignments for a new HIT of an item wanting `wanted` judgments: 10 or more only in the
        >= 10 regime the job chose up front."""
        if self.settings.large_hits and wanted >= LARGE_HIT_MIN:
            return min(wanted, self.settings.max_assignments_per_hit)
        return min(wanted, self.small_hit_limit)

    async def add_assignments(self, hit: Hit, need: int) -> int:
        """CreateAdditionalAssignmentsForHIT within MTurk's rule: a HIT made with fewer than 10
        assignments never reaches 10. Returns how many were added."""
        large = hit.created_max >= LARGE_HIT_MIN
        limit = self.settings.max_assignments_per_hit if large else self.small_hit_limit
        add = min(need, limit - hit.max_assignments)
        if add <= 0:
            return 0
        total = hit.max_assignments + add
        try:
            await self.call(
                "create_additional_assignments_for_hit",
                HITId=hit.hit_id,
                NumberOfAdditionalAssignments=add,
                UniqueRequestToken=extra_token(hit.hit_id, total),
            )
        except ClientError as err:
            if is_retryable(err) or "InvalidMaximumAssignmentsIncrease" in turk_error_code(
                err
            ) + error_message(err):
                return 0
            if "already" not in error_message(err).lower():
                raise
        hit.max_assignments = total
        hit.status = OPEN
        await self.save()
        return add

    async def expire(self, hit: Hit) -> None:
        try:
            await self.call("update_expiration_for_hit", HITId=hit.hit_id, ExpireAt=PAST)
        except ClientError as err:
            if is_retryable(err):
                return
            if error_code(err) != "RequestError":
                raise
        hit.expired_by_us = True

    # --- dispatch ----------------------------------------------------------------------------------------------

    async def dispatch(self) -> None:
        """Claims items while fewer than max_open_hits item HITs are open, and makes their HITs
        (with a hidden gold HIT after every gold_hit_every of them, when asked)."""
        open_items = sum(1 for h in self.state.with_status(CREATING, OPEN) if h.kind == ITEM)
        room = self.settings.max_open_hits - open_items
        if room <= 0:
            return
        fee = self.claimed_fee_cents() * MICROS_PER_CENT
        items = await self.ctx.claim_items(room, fee_micros_per_judgment=fee)
        if not items:
            return
        planned: list[tuple[Hit, str, str, Mapping[str, Any] | None]] = []
        refused: dict[str, list[str]] = {}
        for item in items:
            try:
                html_question(self.job, item.payload_kind, item.payload, item.prelabel)
            except ItemRejected as err:
                refused.setdefault(str(err), []).append(item.key)
                continue
            wanted = max(1, item.judgments_wanted)
            hit = self.new_hit(ITEM, item.key, self.per_hit_cap(wanted))
            await self.reserve_surcharge(hit)
            planned.append((hit, item.payload_kind, item.payload, item.prelabel))
            gold = await self.next_gold()
            if gold is not None:
                hit = self.new_hit(GOLD, gold.key, min(SMALL_HIT_MAX, max(1, self.job.judgments_per_item)))
                if await self.ctx.reserve_cost(self.gold_hit_micros(hit), key=self.reservation(hit)):
                    planned.append((hit, gold.payload_kind, gold.payload, None))
                else:  # the budget cannot pay for its answers: no gold HIT this time
                    self.state.hits.remove(hit)
        await self.save()
        for reason, keys in refused.items():
            await self.ctx.fail_items(keys, reason)
        for hit, kind, payload, prelabel in planned:
            await self.create(hit, kind, payload, prelabel)

    async def next_gold(self) -> GoldItem | None:
        if not self.settings.gold_hit_every:
            return None
        self.state.item_hits_since_gold += 1
        if self.state.item_hits_since_gold < self.settings.gold_hit_every:
            return None
        gold = list((await self.gold()).values())
        if not gold:
            return None
        self.state.item_hits_since_gold = 0
        chosen = gold[self.state.gold_cursor % len(gold)]
        self.state.gold_cursor += 1
        return chosen

    def new_hit(self, kind: str, key: str, assignments: int) -> Hit:
        number = 1 + sum(1 for h in self.state.hits if h.kind == kind and h.key == key)
        token = request_token(self.job.name, kind, key, number)
        hit = Hit(
            kind=kind,
            key=key,
            round=number,
            token=token,
            max_assignments=assignments,
            created_max=assignments,
        )
        self.state.hits.append(hit)
        return hit

    async def resume_creating(self) -> None:
        """Finishes HITs whose CreateHIT may or may not have reached MTurk before a crash; the
        request token makes the repeat safe."""
        pending = self.state.with_status(CREATING)
        if not pending:
            return
        claimed = await self.claimed()
        gold = await self.gold() if any(h.kind == GOLD for h in pending) else {}
        for hit in pending:
            source: WorkItem | GoldItem | None = (
                claimed.get(hit.key) if hit.kind == ITEM else gold.get(hit.key)
            )
            if source is None:
                hit.status = CLOSED
                continue
            prelabel = source.prelabel if isinstance(source, WorkItem) else None
            await self.create(hit, source.payload_kind, source.payload, prelabel)

    async def create(
        self, hit: Hit, payload_kind: str, payload: str, prelabel: Mapping[str, Any] | None
    ) -> None:
        request = create_hit_request(
            self.settings,
            question=html_question(self.job, payload_kind, payload, prelabel),
            max_assignments=hit.max_assignments,
            requester_annotation=annotation(hit.kind, hit.key),
            token=hit.token,
            test_type_id=self.state.qualification_type_id,
        )
        try:
            response = await self.call("create_hit", **request)
            described: Mapping[str, Any] = response["HIT"]
        except ClientError as err:
            if is_retryable(err):
                return
            existing = self.existing_hit_id(err)
            if existing is None:
                hit.status = CLOSED
                if hit.kind == ITEM:
                    await self.ctx.fail_items(
                        [hit.key], f"Mechanical Turk refused the HIT: {error_message(err)}"
                    )
                await self.save()
                return
            described = (await self.call("get_hit", HITId=existing))["HIT"]
        hit.hit_id = str(described["HITId"])
        hit.hit_type_id = str(described.get("HITTypeId", ""))
        hit.expires_at = _epoch(described.get("Expiration")) or self.wf.now() + self.settings.lifetime_seconds
        hit.status = OPEN
        if hit.kind == ITEM:
            self.dispatched += 1
        await self.notify_on(hit.hit_type_id)
        await self.save()

    def existing_hit_id(self, err: ClientError) -> str | None:
        text = turk_error_code(err) + " " + error_message(err)
        if "HitAlreadyExists" not in text and "already exists" not in text.lower():
            return None
        match = HIT_ID.search(error_message(err))
        return match.group(1) if match else None

    async def notify_on(self, hit_type_id: str) -> None:
        queue = self.settings.notification_queue_url
        if queue is None or not hit_type_id or hit_type_id in self.state.notified_hit_types:
            return
        await self.call("update_notification_settings", **notification_request(hit_type_id, queue))
        self.state.notified_hit_types.append(hit_type_id)

    # --- cancel ------------------------------------------------------------------------------------------------

    async def cancel(self) -> None:
        """Expires every open HIT; what workers already submitted is still read and settled."""
        for hit in self.state.with_status(CREATING):
            hit.status = CLOSED
        for hit in self.state.with_status(OPEN):
            if not self.expired(hit):
                await self.expire(hit)
        await self.save()
        self.closing = True
        await self.collect(self.state.with_status(OPEN))
        self.state.cancelled = True
        await self.save()
        await self.release_closed_gold()


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return 0.0


def _datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _seconds_between(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    return None


def cost_summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """What the job has cost on MTurk so far (approved work only), for logs and the cost account."""
    cost = AdapterState.from_json(state).cost
    return {
        "approved_assignments": cost.approved,
        "rejected_assignments": cost.rejected,
        "rewards_usd": fees.dollars(cost.reward_cents),
        "fees_usd": fees.dollars(cost.fee_cents),
        "total_usd": fees.dollars(cost.total_cents),
    }
