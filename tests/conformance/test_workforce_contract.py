"""The adapter contract, from the core's side, for every installed workforce and
for a push workforce of the kind an integrator would ship."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import grpc
import pytest

from labelwire.adapters.base import (
    Capabilities,
    ExternalJudgment,
    Mode,
    SettingsError,
    SyncResult,
    Workforce,
    WorkforceContext,
)
from labelwire.adapters.pool import PoolWorkforce
from labelwire.adapters.remote import RemoteWorkforce
from labelwire.client.raw import AdminClient, Client, text_item
from labelwire.server.dispatch.workforces import Workforces, job_view
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import JobSpec, LabelClass
from labelwire.server.transport.app import start_server
from labelwire.v1 import job_pb2
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import drain
from tests.node_adapter import NodeAdapter

INSTALLED = sorted(e.name for e in entry_points(group="labelwire.workforces"))


def spec(**overrides: object) -> JobSpec:
    fields: dict[str, object] = {
        "display_name": "J",
        "task_type": "classification",
        "classes": (LabelClass("a"), LabelClass("b")),
        "task_config": {"classes": [{"name": "a"}, {"name": "b"}]},
    }
    fields.update(overrides)
    return JobSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", INSTALLED)
def test_installed_workforce_loads_and_states_its_capabilities(name: str) -> None:
    adapter = Workforces.discover().get(name)
    assert adapter.name == name
    assert adapter.capabilities.task_types and adapter.capabilities.mode in (Mode.PULL, Mode.PUSH)


@pytest.mark.parametrize("name", INSTALLED)
def test_installed_workforce_refuses_a_task_type_it_cannot_run(name: str) -> None:
    adapter = Workforces.discover().get(name)
    unsupported = {
        "classification",
        "multi_label",
        "bounding_box",
        "spans",
        "custom",
        "segmentation",
        "verification",
        "nonsense",
    } - set(adapter.capabilities.task_types)
    kind = sorted(unsupported)[0]
    with pytest.raises(SettingsError) as err:
        adapter.validate(job_view(spec(task_type=kind, adapter=name)))
    assert err.value.field


def test_pool_refuses_settings_it_does_not_know() -> None:
    with pytest.raises(SettingsError) as err:
        PoolWorkforce().validate(job_view(spec(settings={"region": "x"})))
    assert err.value.field == "workforce.settings" and "region" in err.value.message


class Vendor(Workforce):
    """A push workforce as an integrator would write one; its outside service is
    three vendor workers who read the truth off the item's text."""

    name = "vendor"
    capabilities = Capabilities(task_types=frozenset({"classification"}), mode=Mode.PUSH, gates_by_gold=False)

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.report_twice = True

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        state = await ctx.load_state()
        claimed = await ctx.claim_items(50)
        answers = [
            ExternalJudgment(item.key, f"v{n}", {"classification": {"class_name": item.payload}}, 3.0)
            for item in claimed
            for n in range(item.judgments_wanted)
        ]
        outcome = await ctx.record_judgments(answers)
        if self.report_twice and answers:
            again = await ctx.record_judgments(answers[:1])
            state["duplicates"] = state.get("duplicates", 0) + again.duplicates
        bad = (
            await ctx.record_judgments(
                [ExternalJudgment(claimed[0].key, "v9", {"classification": {"class_name": "zzz"}})]
            )
            if claimed
            else None
        )
        state["rejected"] = state.get("rejected", 0) + (len(bad.rejected) if bad else 0)
        state["recorded"] = state.get("recorded", 0) + outcome.recorded
        await ctx.save_state(state)
        return SyncResult(next_sync_seconds=0.05, dispatched=len(claimed), recorded=outcome.recorded)

    async def cancel(self, ctx: WorkforceContext) -> None:
        self.cancelled.append(ctx.job.name)


@dataclass
class Attached:
    """The vendor as the tests see it: in the server's process, or the
    TypeScript adapter (clients/typescript/examples/adapter) in its own Node
    process, serving jobs of the `remote` workforce that name it."""

    workforce: dict[str, Any]  # create_job's workforce arguments
    cancelled: Callable[[], list[str]]  # the jobs it was told (or saw) were cancelled


@pytest.fixture(params=["in-process", "typescript"])
async def vendor_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Harness, Attached]]:
    vendor = Vendor()
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "v.db"),
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "vendor": vendor, "remote": RemoteWorkforce()}),
    )
    harness = Harness(running=running, target=f"127.0.0.1:{running.port}", database=tmp_path / "v.db")
    node: NodeAdapter | None = None
    try:
        if request.param == "in-process":
            yield harness, Attached({"workforce": "vendor"}, lambda: vendor.cancelled)
        else:
            async with AdminClient(harness.target, ADMIN_KEY) as admin:
                key = (await admin.create_adapter_key("vendor")).adapter_key
            node = NodeAdapter(harness.target, key)
            await until(lambda: node is not None and (node.attached or node.process.poll() is not None))
            assert node.attached, node.log()
            remote = {"workforce": "remote", "workforce_settings": {"adapter": "vendor"}}
            yield harness, Attached(remote, lambda: node.cancelled if node else [])
    finally:
        if node is not None:
            node.stop()
        await running.stop(grace=None)


async def test_push_workforce_judgments_become_streamed_labels(
    vendor_server: tuple[Harness, Attached],
) -> None:
    server, vendor = vendor_server
    lw: Client = await server.client()
    job = await lw.create_job("J", classes=["a", "b"], quiz_size=0, **vendor.workforce)
    await lw.add_items(job.name, [text_item(f"k{i}", "ab"[i % 2]) for i in range(20)])
    await lw.start_job(job.name)
    labels = await drain(lw.stream_labels(job.name))
    assert sorted(lab.item_key for lab in labels) == sorted(f"k{i}" for i in range(20))
    assert all(lab.value.classification.class_name == "ab"[int(lab.item_key[1:]) % 2] for lab in labels)
    done = await lw.get_job(job.name)
    # answers reported twice, and answers naming no class, were not counted
    assert done.state == job_pb2.JOB_STATE_COMPLETED and done.counters.judgments == 60
    workers = await lw.list_workers(job.name)
    assert sorted(w.display_name for w in workers) == ["v0", "v1", "v2"]
    await lw.close()


async def test_push_workforce_is_told_when_its_job_is_cancelled(
    vendor_server: tuple[Harness, Attached],
) -> None:
    server, vendor = vendor_server
    lw = await server.client()
    job = await lw.create_job("J", classes=["a", "b"], quiz_size=0, **vendor.workforce)
    await lw.cancel_job(job.name)
    await until(lambda: vendor.cancelled() != [])
    assert vendor.cancelled() == [job.name]
    await lw.close()


async def test_push_workforce_refuses_task_types_at_create_time(
    vendor_server: tuple[Harness, Attached],
) -> None:
    server, vendor = vendor_server
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.create_job("J", classes=["a"], task_type="multi_label", **vendor.workforce)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "cannot run multi_label" in (
        err.value.details() or ""
    )
    await lw.close()


async def test_a_discounted_outside_worker_stops_counting(tmp_path: Path) -> None:
    from labelwire.server.dispatch.workforces import JobContext

    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "d.db"),
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "vendor": Vendor()}),
        drive_workforces=False,
    )
    try:
        server = Harness(running=running, target=f"127.0.0.1:{running.port}", database=tmp_path / "d.db")
        lw = await server.client()
        job = await lw.create_job(
            "J", classes=["a", "b"], workforce="vendor", quiz_size=0, judgments_per_item=1
        )
        await lw.add_items(job.name, [text_item("k1", "a"), text_item("k2", "b")])
        await lw.start_job(job.name)
        job_id = int(job.name.split("/")[1])
        ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
        await ctx.claim_items(10)
        wrong = [ExternalJudgment(k, "liar", {"classification": {"class_name": "b"}}) for k in ("k1", "k2")]
        await ctx.record_judgments(wrong)
        await ctx.discount_worker("liar", "failed the vendor's gold")
        after = await lw.get_job(job.name)
        workers = await lw.list_workers(job.name)
        assert after.counters.excluded_judgments == 2 and after.counters.unlabeled_items == 2
        assert after.state == job_pb2.JOB_STATE_RUNNING
        assert [w.status for w in workers] == [4]  # WORKER_STATUS_DISQUALIFIED
        assert sorted(i.key for i in await ctx.claim_items(10)) == ["k1", "k2"]
        await lw.close()
    finally:
        await running.stop(grace=None)


async def test_outside_gold_is_graded_and_judged_by_the_core_quality_gate(tmp_path: Path) -> None:
    """A workforce that shows its workers gold of its own (MTurk's hidden gold
    HITs) has their answers graded by the gate and their record held to its bar:
    a worker below the bar stops counting, one at the bar keeps counting."""
    from labelwire.server.dispatch.workforces import JobContext

    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "g.db"),
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "vendor": Vendor()}),
        drive_workforces=False,
    )
    try:
        server = Harness(running=running, target=f"127.0.0.1:{running.port}", database=tmp_path / "g.db")
        lw = await server.client()
        job = await lw.create_job(
            "J", classes=["a", "b"], workforce="vendor", quiz_size=0, judgments_per_item=1
        )
        await lw.add_items(job.name, [text_item("k1", "a"), text_item("g1", "a", gold="a")])
        await lw.start_job(job.name)
        job_id = int(job.name.split("/")[1])
        ctx = JobContext(running.core.reads, job_id, await running.core.reads.spec_of_job(job_id))
        assert [g.key for g in await ctx.gold_items(10)] == ["g1"]

        def said(key: str, worker: str, name: str | None) -> ExternalJudgment:
            return ExternalJudgment(
                key, worker, None if name is None else {"classification": {"class_name": name}}
            )

        grades = await ctx.grade_gold(
            [said("g1", "w1", "a"), said("g1", "w2", "b"), said("g1", "w3", None), said("k1", "w1", "a")]
        )
        assert grades == [True, False, False, None]

        await ctx.claim_items(10)
        await ctx.record_judgments([said("k1", "w1", "b")])
        assert not await ctx.judge_gold_record("w1", 4, 3, pass_accuracy=0.75, min_answered=3)
        assert not await ctx.judge_gold_record("w1", 2, 0, pass_accuracy=0.75, min_answered=3)
        assert (await lw.get_job(job.name)).counters.excluded_judgments == 0
        assert await ctx.judge_gold_record("w1", 3, 2, pass_accuracy=0.75, min_answered=3)
        after = await lw.get_job(job.name)
        assert after.counters.excluded_judgments == 1 and after.counters.unlabeled_items == 1
        assert [w.status for w in await lw.list_workers(job.name)] == [4]  # WORKER_STATUS_DISQUALIFIED
        with pytest.raises(InvalidArgument, match="pass_accuracy"):
            await ctx.judge_gold_record("w2", 3, 0, pass_accuracy=80, min_answered=3)
        await lw.close()
    finally:
        await running.stop(grace=None)


class CountingVendor(Vendor):
    """A Vendor that remembers how many rounds it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        self.rounds += 1
        await super().sync(ctx)
        return SyncResult(next_sync_seconds=0.05)


async def until(condition: Callable[[], bool], limit: float = 60.0) -> None:
    """Waits for a condition; the limit only keeps a broken build from hanging."""
    import asyncio

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), limit)


async def test_only_one_replica_syncs_a_push_job_and_another_takes_over(tmp_path: Path) -> None:

    database = str(tmp_path / "replicas.db")
    vendors = [CountingVendor(), CountingVendor()]
    replicas = [
        await start_server(
            address="127.0.0.1:0",
            database=database,
            admin_key=ADMIN_KEY,
            workforces=Workforces({"pool": PoolWorkforce(), "vendor": v}, lease_seconds=0.5),
        )
        for v in vendors
    ]
    try:
        server = Harness(running=replicas[0], target=f"127.0.0.1:{replicas[0].port}", database=database)
        lw = await server.client()
        job = await lw.create_job("J", classes=["a", "b"], workforce="vendor", quiz_size=0)
        await lw.start_job(job.name)
        await until(lambda: sum(v.rounds for v in vendors) >= 10)
        assert min(v.rounds for v in vendors) == 0
        holder = 0 if vendors[0].rounds else 1
        await replicas[holder].stop(grace=None)
        before = vendors[1 - holder].rounds
        await until(lambda: vendors[1 - holder].rounds >= before + 3)
        await lw.close()
    finally:
        for running in replicas:
            await running.stop(grace=None)
