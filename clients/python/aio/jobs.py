"""The owner's calls on jobs, their items and workers, and `wait`: mixed into `AsyncClient`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

from google.protobuf import json_format
from tqdm.auto import tqdm

from labelwire.client.aio.base import (
    _mapped,
    _name,
    _translated,
    _translated_stream,
)
from labelwire.client.items import ItemSource, items_from
from labelwire.client.models import Added, Comment, Decline, Item, Job, Route, Team, Worker
from labelwire.client.pages import AsyncPages
from labelwire.client.raw import Client as RawClient
from labelwire.v1 import (
    job_pb2,
)

T = TypeVar("T")


def _copy(job: job_pb2.Job) -> job_pb2.Job:
    out = job_pb2.Job()
    out.CopyFrom(job)
    return out


def _routing(given: Mapping[str, Any] | job_pb2.ModelRouting | None) -> job_pb2.ModelRouting | None:
    if given is None or isinstance(given, job_pb2.ModelRouting):
        return given
    return json_format.ParseDict(dict(given), job_pb2.ModelRouting())


class JobMethods:
    """Jobs, items and the job's workers (JobService); needs the raw `Client` as `raw`."""

    raw: RawClient

    @_translated
    async def create_job(
        self,
        display_name: str,
        *,
        classes: Sequence[str] | Mapping[str, str],
        judgments: int = 3,
        task_type: str = "classification",
        max_judgments: int = 0,
        target_confidence: float = 0.0,
        media: str = "text",
        instructions: str = "",
        full_instructions: str = "",
        quiz_size: int | None = None,
        pass_accuracy: float | None = None,
        hidden_gold_share: float | None = None,
        price_per_judgment_micros: int = 0,
        budget_micros: int = 0,
        workforce: str = "",
        workforce_settings: Mapping[str, Any] | None = None,
        teams: Sequence[str] = (),
        consolidation: str = "",
        model_routing: Mapping[str, Any] | job_pb2.ModelRouting | None = None,
        routes: Sequence[Route] = (),
        job: job_pb2.Job | None = None,
    ) -> Job:
        """A new job in the draft state, ready for items.

        `classes` are the class names (or a mapping of name to description);
        `judgments` the judgments each item gets; with `target_confidence` an
        item starts with one and gets more, up to `max_judgments` (default
        `judgments`), while its label's confidence is below the target. `media` is text,
        image, document, audio or video; `consolidation` a method such as
        majority_vote or dawid_skene (the server's default when empty).
        `quiz_size`, `pass_accuracy` and `hidden_gold_share` set the gold
        policy. `model_routing` lets the model's confident pre-labels through
        without humans: a dict such as `{"class_thresholds": {"cat": 0.9},
        "audit_share": 0.05}` or `{"learn_thresholds": True, "target_precision":
        0.98}` (ModelRouting's fields), or the message. `routes` send items
        whose label meets a condition on to other jobs of yours (`Route`).
        Anything else: pass a full `job` message, whose fields win."""
        if routes:
            job = job_pb2.Job() if job is None else _copy(job)
            job.routing_rules.extend(r.to_proto() for r in routes)
        method = (
            job_pb2.ConsolidationMethod.Value(f"CONSOLIDATION_METHOD_{consolidation.upper()}")
            if consolidation
            else 0
        )
        created = await self.raw.create_job(
            display_name,
            classes=classes,
            task_type=task_type,
            judgments_per_item=judgments,
            max_judgments_per_item=max_judgments,
            target_confidence=target_confidence,
            media_type=job_pb2.MediaType.Value(f"MEDIA_TYPE_{media.upper()}"),
            short_instructions=instructions,
            full_instructions=full_instructions,
            quiz_size=quiz_size,
            pass_accuracy=pass_accuracy,
            hidden_gold_share=hidden_gold_share,
            price_per_judgment_micros=price_per_judgment_micros,
            budget_micros=budget_micros,
            workforce=workforce,
            workforce_settings=workforce_settings,
            consolidation_method=method,
            teams=teams,
            model_routing=_routing(model_routing),
            job=job,
        )
        return Job.from_proto(created)

    @_translated
    async def get_job(self, job: Job | str) -> Job:
        """The job as it is now (its state and counters)."""
        return Job.from_proto(await self.raw.get_job(_name(job)))

    async def watch_job(self, job: Job | str) -> AsyncIterator[Job]:
        """The job now, then again each time its state or counters change (at
        most twice a second), until it completes, is cancelled or fails: a
        progress display without polling."""
        async for proto in _translated_stream(self.raw.watch_job(_name(job))):
            yield Job.from_proto(proto)

    def jobs(self) -> AsyncPages[Job]:
        """Your jobs, newest first, fetched page by page."""
        return AsyncPages(
            lambda: _translated_stream(_mapped(self.raw.list_jobs(), Job.from_proto)),
            Job.row,
            ("name", "display_name", "state", "total_items", "labeled_items", "cost_micros"),
        )

    @_translated
    async def start_job(self, job: Job | str, *, pilot_size: int = 0, pilot_seed: int | None = None) -> Job:
        """Opens the job to workers; items can still be added. With
        `pilot_size`, only the first that many items are dispatched; the job
        then pauses itself (`state_reason` "pilot complete") until
        `resume_job`."""
        return Job.from_proto(
            await self.raw.start_job(_name(job), pilot_size=pilot_size, pilot_seed=pilot_seed)
        )

    @_translated
    async def update_job(
        self,
        job: Job | str,
        *,
        display_name: str | None = None,
        short_instructions: str | None = None,
        full_instructions: str | None = None,
        class_descriptions: Mapping[str, str] | None = None,
        pass_accuracy: float | None = None,
        hidden_gold_share: float | None = None,
        judgments_per_item: int | None = None,
        price_per_judgment_micros: int | None = None,
        budget_micros: int | None = None,
        model_routing: Mapping[str, Any] | job_pb2.ModelRouting | None = None,
        routes: Sequence[Route] | None = None,
    ) -> Job:
        """Changes the settings given, and only those (UpdateJob's field
        mask). A change of the instructions or the classes' descriptions
        makes a new `instructions_version`. `model_routing` (as in
        `create_job`) replaces the job's whole routing: thresholds, audit share
        and all. `routes` replaces the job's routing rules (an empty list
        removes them)."""
        name = _name(job)
        change = job_pb2.Job(name=name)
        paths: list[str] = []
        if display_name is not None:
            change.display_name = display_name
            paths.append("display_name")
        if short_instructions is not None:
            change.instructions.short_instructions = short_instructions
            paths.append("instructions.short_instructions")
        if full_instructions is not None:
            change.instructions.full_instructions = full_instructions
            paths.append("instructions.full_instructions")
        if class_descriptions is not None:
            current = await self.raw.get_job(name)
            change.task_config.CopyFrom(current.task_config)
            kind = change.task_config.WhichOneof("config") or ""
            config: Any = getattr(change.task_config, kind)
            for label_class in config.entity_types if kind == "spans" else config.classes:
                label_class.description = class_descriptions.get(label_class.name, label_class.description)
            paths.append("task_config")
        if pass_accuracy is not None:
            change.gold_policy.pass_accuracy = pass_accuracy
            paths.append("gold_policy.pass_accuracy")
        if hidden_gold_share is not None:
            change.gold_policy.hidden_gold_share = hidden_gold_share
            paths.append("gold_policy.hidden_gold_share")
        if judgments_per_item is not None:
            change.judgment_policy.judgments_per_item = judgments_per_item
            paths.append("judgment_policy.judgments_per_item")
        if price_per_judgment_micros is not None:
            change.price_per_judgment_micros = price_per_judgment_micros
            paths.append("price_per_judgment_micros")
        if budget_micros is not None:
            change.budget_micros = budget_micros
            paths.append("budget_micros")
        routing = _routing(model_routing)
        if routing is not None:
            change.model_routing.CopyFrom(routing)
            paths.append("model_routing")
        if routes is not None:
            change.routing_rules.extend(r.to_proto() for r in routes)
            paths.append("routing_rules")
        return Job.from_proto(await self.raw.update_job(change, paths))

    @_translated
    async def pause_job(self, job: Job | str) -> Job:
        """Stops handing out tasks; leased tasks may still be submitted."""
        return Job.from_proto(await self.raw.pause_job(_name(job)))

    @_translated
    async def resume_job(self, job: Job | str) -> Job:
        """Hands out tasks again after `pause_job`."""
        return Job.from_proto(await self.raw.resume_job(_name(job)))

    @_translated
    async def cancel_job(self, job: Job | str) -> Job:
        """Ends the job for good; its labels so far stay readable."""
        return Job.from_proto(await self.raw.cancel_job(_name(job)))

    @_translated
    async def set_job_teams(self, job: Job | str, teams: Sequence[Team | str]) -> Job:
        """Replaces the teams whose worker accounts may work on a pool job, also
        while it runs: accounts that lose the job lose their leases on it at once."""
        return Job.from_proto(await self.raw.set_job_teams(_name(job), [_name(t) for t in teams]))

    @_translated
    async def add_items(
        self,
        job: Job | str,
        items: ItemSource,
        *,
        progress: bool | Callable[[int, int | None], None] = False,
        per_message: int = 1000,
        timeout: float | None = None,
    ) -> Added:
        """Adds items, all or nothing: a list of dicts (`key`, `text` or `source_ref`,
        `gold`, other keys as metadata; see `labelwire.client.items`), a pandas
        DataFrame with those columns, a .csv or .jsonl path, or Item messages.
        `progress=True` shows a tqdm bar; a callable instead gets (items sent so
        far, total or None) after each message of `per_message` items. The
        upload has no deadline unless `timeout`."""
        listed, _ = items_from(items)
        response = await self.raw.add_items(
            _name(job), listed, per_message=per_message, progress=progress, timeout=timeout
        )
        return Added.from_proto(response)

    @_translated
    async def import_manifest(
        self, job: Job | str, uri: str, *, key_field: str = "", gold_field: str = ""
    ) -> Added:
        """Adds the items of a JSON Lines manifest the server reads (a path under
        its files root, or an allowed s3:// URI)."""
        response = await self.raw.import_manifest(_name(job), uri, key_field=key_field, gold_field=gold_field)
        return Added.from_proto(response)

    @_translated
    async def create_worker(
        self, job: Job | str, display_name: str, *, token_ttl: float | None = None
    ) -> tuple[Worker, str]:
        """A pool worker for the job and its token (shown only now; hand it to the
        person). `token_ttl` seconds makes the token expire."""
        worker, token = await self.raw.create_worker(_name(job), display_name, token_ttl=token_ttl)
        return Worker.from_proto(worker), token

    def workers(self, job: Job | str) -> AsyncPages[Worker]:
        """The job's workers and their records, fetched page by page."""

        async def each() -> AsyncIterator[Worker]:
            for worker in await self.raw.list_workers(_name(job)):
                yield Worker.from_proto(worker)

        return AsyncPages(
            lambda: _translated_stream(each()),
            lambda w: {
                "name": w.name,
                "display_name": w.display_name,
                "status": w.status,
                "judgments": w.judgments,
                "gold_answered": w.gold_answered,
                "gold_correct": w.gold_correct,
            },
            ("name", "display_name", "status", "judgments", "gold_answered", "gold_correct"),
        )

    @_translated
    async def revoke_worker_token(self, worker: Worker | str) -> Worker:
        """Every token of the worker (`jobs/{j}/workers/{w}`) stops working at once."""
        return Worker.from_proto(await self.raw.revoke_worker_token(_name(worker)))

    @_translated
    async def disqualify_worker(self, worker: Worker | str) -> Worker:
        """Disqualifies the worker (`jobs/{j}/workers/{w}`) by hand: it gets no
        more tasks of the job, its judgments are dropped and its items judged again."""
        return Worker.from_proto(await self.raw.disqualify_worker(_name(worker)))

    @_translated
    async def get_item(self, job: Job | str, key: str) -> Item:
        """One item as its owner reads it: its content, metadata, gold, state, current
        label, the workers' comments on it and their declines."""
        return Item.from_proto(await self.raw.get_item(_name(job), key))

    @_translated
    async def requalify_worker(self, worker: Worker | str) -> Worker:
        """Undoes a disqualification: the worker gets tasks of the job again (its
        judgments excluded by the disqualification stay excluded)."""
        return Worker.from_proto(await self.raw.requalify_worker(_name(worker)))

    @_translated
    async def comments(self, job: Job | str) -> list[Comment]:
        """Every comment the job's workers left on their tasks, newest first."""
        return [Comment.from_proto(c) for c in await self.raw.list_task_comments(_name(job))]

    @_translated
    async def declines(self, job: Job | str) -> list[Decline]:
        """Every time the job's workers declined a task, with the item's key and
        the reason, newest first."""
        return [Decline.from_proto(d) for d in await self.raw.list_task_declines(_name(job))]

    @_translated
    async def rotate_worker_token(
        self, worker: Worker | str, *, grace_period: float = 0.0, token_ttl: float | None = None
    ) -> str:
        """A new token for the worker; its old ones work `grace_period` seconds more."""
        return await self.raw.rotate_worker_token(
            _name(worker), grace_period=grace_period, token_ttl=token_ttl
        )

    @_translated
    async def wait(
        self,
        job: Job | str,
        *,
        progress: bool = False,
        timeout: float | None = None,
        poll_interval: float = 1.0,
    ) -> Job:
        """Returns the job once it is completed, cancelled or failed, checking every
        `poll_interval` seconds; `progress=True` shows labeled items on a tqdm bar
        (a widget in a notebook). Raises TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar: Any = None
        try:
            while True:
                current = Job.from_proto(await self.raw.get_job(_name(job)))
                if progress:
                    bar = bar or tqdm(
                        total=current.counters.total_items, unit=" items", desc=current.display_name
                    )
                    bar.total = current.counters.total_items
                    bar.n = current.counters.labeled_items
                    bar.refresh()
                if current.done:
                    return current
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"{current.name} is still {current.state} after {timeout:g} s")
                pause = (
                    poll_interval
                    if deadline is None
                    else min(poll_interval, max(deadline - time.monotonic(), 0))
                )
                await asyncio.sleep(pause)
        finally:
            if bar is not None:
                bar.close()
