"""WorkforceAdapterService from an adapter's side: its key, the jobs it sees,
and claims and judgments that a retry after a crash never repeats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from labelwire.adapters.pool import PoolWorkforce
from labelwire.adapters.remote import RemoteWorkforce
from labelwire.client import AsyncAdminClient
from labelwire.client.raw import AdminClient, Client, classification, text_item
from labelwire.server.dispatch.workforces import Workforces
from labelwire.server.transport.app import start_server
from labelwire.v1 import adapter_service_pb2 as pb
from labelwire.v1 import adapter_service_pb2_grpc, job_pb2
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import drain
from tests.node_adapter import NodeAdapter


@dataclass
class Adapter:
    """A stub with an adapter key, as an adapter process holds one."""

    stub: adapter_service_pb2_grpc.WorkforceAdapterServiceStub
    key: str

    def __getattr__(self, rpc: str) -> object:
        method = getattr(self.stub, rpc)

        async def call(request: object) -> object:
            return await method(request, metadata=(("authorization", f"Bearer {self.key}"),))

        return call


@pytest.fixture
async def adapter(server: Harness) -> AsyncIterator[Adapter]:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        created = await admin.create_adapter_key("vendor")
        await admin.create_adapter_key("someone-else")
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield Adapter(adapter_service_pb2_grpc.WorkforceAdapterServiceStub(channel), created.adapter_key)


async def remote_job(lw: Client, items: int, adapter: str = "vendor", **options: object) -> str:
    job = await lw.create_job(
        "J",
        classes=["a", "b"],
        workforce="remote",
        workforce_settings={"adapter": adapter},
        quiz_size=0,
        **options,  # type: ignore[arg-type]
    )
    await lw.add_items(job.name, [text_item(f"k{i}", "ab"[i % 2]) for i in range(items)])
    await lw.start_job(job.name)
    return job.name


def judgment(jid: str, key: str, worker: str, answer: str = "a") -> pb.AdapterJudgment:
    return pb.AdapterJudgment(judgment_id=jid, item_key=key, worker_id=worker, answer=classification(answer))


async def test_an_adapter_sees_only_the_running_jobs_that_name_it(server: Harness, adapter: Adapter) -> None:
    lw = await server.client()
    mine = await remote_job(lw, 1)
    await remote_job(lw, 1, adapter="someone-else")
    await lw.create_job("pool job", classes=["a", "b"], quiz_size=0)
    listed = await adapter.ListAdapterJobs(pb.ListAdapterJobsRequest())
    assert [j.name for j in listed.jobs] == [mine]  # type: ignore[attr-defined]
    await lw.cancel_job(mine)
    cancelled = await adapter.ListAdapterJobs(pb.ListAdapterJobsRequest(states=[job_pb2.JOB_STATE_CANCELLED]))
    assert [(j.name, j.state) for j in cancelled.jobs] == [(mine, job_pb2.JOB_STATE_CANCELLED)]  # type: ignore[attr-defined]
    await lw.close()


async def test_a_repeated_claim_id_returns_the_same_items_and_reserves_once(
    server: Harness, adapter: Adapter
) -> None:
    lw = await server.client()
    job = await remote_job(lw, 5, price_per_judgment_micros=100, budget_micros=10_000)
    first = await adapter.ClaimItems(pb.ClaimItemsRequest(job=job, claim_id="c1", max_items=2))
    again = await adapter.ClaimItems(pb.ClaimItemsRequest(job=job, claim_id="c1", max_items=2))
    after = await lw.get_job(job)
    keys = [i.key for i in first.items]  # type: ignore[attr-defined]
    assert keys == ["k0", "k1"] and [i.key for i in again.items] == keys  # type: ignore[attr-defined]
    assert after.counters.reserved_micros == 2 * 3 * 100  # two items, three judgments each, once
    claimed = await adapter.ListClaimedItems(pb.ListClaimedItemsRequest(job=job))
    assert [i.key for i in claimed.items] == keys  # type: ignore[attr-defined]
    await lw.close()


async def test_a_resent_judgment_is_recorded_once(server: Harness, adapter: Adapter) -> None:
    lw = await server.client()
    job = await remote_job(lw, 2)
    await adapter.ClaimItems(pb.ClaimItemsRequest(job=job, claim_id="c1", max_items=2))
    batch = [judgment("j1", "k0", "w1"), judgment("j2", "k0", "w2", "b")]
    first = await adapter.RecordJudgments(pb.RecordJudgmentsRequest(job=job, judgments=batch))
    resent = await adapter.RecordJudgments(pb.RecordJudgmentsRequest(job=job, judgments=batch))
    counters = (await lw.get_job(job)).counters
    assert [r.outcome for r in first.results] == [pb.JUDGMENT_OUTCOME_RECORDED] * 2  # type: ignore[attr-defined]
    assert [r.outcome for r in resent.results] == [pb.JUDGMENT_OUTCOME_DUPLICATE] * 2  # type: ignore[attr-defined]
    assert counters.judgments == 2
    await lw.close()


async def test_a_judgment_of_an_item_the_adapter_never_claimed_is_rejected(
    server: Harness, adapter: Adapter
) -> None:
    lw = await server.client()
    job = await remote_job(lw, 2)
    out = await adapter.RecordJudgments(
        pb.RecordJudgmentsRequest(job=job, judgments=[judgment("j1", "k1", "w1")])
    )
    result = out.results[0]  # type: ignore[attr-defined]
    assert result.outcome == pb.JUDGMENT_OUTCOME_REJECTED and "not claimed" in result.reason
    assert (await lw.get_job(job)).counters.judgments == 0
    await lw.close()


async def test_claims_on_a_cancelled_job_are_refused(server: Harness, adapter: Adapter) -> None:
    lw = await server.client()
    job = await remote_job(lw, 2)
    await lw.cancel_job(job)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await adapter.ClaimItems(pb.ClaimItemsRequest(job=job, claim_id="c1", max_items=2))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "CANCELLED" in (
        err.value.details() or ""
    )
    await lw.close()


async def test_a_remote_job_must_name_its_adapter(server: Harness) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.create_job("J", classes=["a", "b"], workforce="remote")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "workforce.settings.adapter" in (err.value.details() or "")
    await lw.close()


async def test_a_job_naming_no_adapter_the_operator_made_is_refused(
    server: Harness, adapter: Adapter
) -> None:
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await remote_job(lw, 1, adapter="vendr")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no adapter is named 'vendr'" in (err.value.details() or "")
    await lw.close()


async def test_a_job_the_attached_adapter_cannot_run_is_refused(server: Harness, adapter: Adapter) -> None:
    await adapter.AttachAdapter(
        pb.AttachAdapterRequest(task_types=["classification"], max_judgments_per_item=5)
    )
    lw = await server.client()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await lw.create_job(
            "J",
            classes=["a", "b"],
            workforce="remote",
            workforce_settings={"adapter": "vendor"},
            judgments_per_item=9,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_judgments_per_item: the vendor adapter allows at most 5" in (err.value.details() or "")
    await lw.close()


async def test_a_revoked_adapter_key_stops_working(server: Harness) -> None:
    async with AsyncAdminClient(server.target, ADMIN_KEY) as admin:
        key, name = await admin.create_adapter_key("vendor")
        await admin.revoke_adapter_key(name)
    async with grpc.aio.insecure_channel(server.target) as channel:
        revoked = Adapter(adapter_service_pb2_grpc.WorkforceAdapterServiceStub(channel), key)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await revoked.ListAdapterJobs(pb.ListAdapterJobsRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def until_true(condition: Callable[[], Awaitable[bool]], limit: float = 120.0) -> None:
    """Polls a condition; the limit only keeps a broken build from hanging."""

    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), limit)


async def test_an_adapter_killed_mid_job_and_restarted_loses_nothing_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """The TypeScript adapter, over Connect on the HTTP port, is killed while
    it reports judgments one at a time; a new process resumes its claimed
    items and reports all their judgments again."""
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "crash.db"),
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "remote": RemoteWorkforce()}),
        http_address="127.0.0.1:0",
    )
    assert running.http is not None
    http = f"127.0.0.1:{running.http.port}"
    server = Harness(running=running, target=f"127.0.0.1:{running.port}", database=tmp_path / "crash.db")
    nodes: list[NodeAdapter] = []
    try:
        async with AdminClient(server.target, ADMIN_KEY) as admin:
            key = (await admin.create_adapter_key("vendor")).adapter_key
        lw = await server.client()
        job = await remote_job(lw, 20)

        async def judged(at_least: int) -> bool:
            return (await lw.get_job(job)).counters.judgments >= at_least

        nodes.append(NodeAdapter(http, key, transport="connect", pause_ms=200))
        await until_true(lambda: judged(10))
        nodes[0].kill()
        before = await lw.get_job(job)
        assert 0 < before.counters.judgments < 60 and before.state == job_pb2.JOB_STATE_RUNNING, nodes[
            0
        ].log()
        nodes.append(NodeAdapter(http, key, transport="connect"))
        labels = await drain(lw.stream_labels(job))
        done = await lw.get_job(job)
        workers = await lw.list_workers(job)
        assert sorted(lab.item_key for lab in labels) == sorted(f"k{i}" for i in range(20)), nodes[1].log()
        assert done.state == job_pb2.JOB_STATE_COMPLETED
        assert done.counters.judgments == 60  # three workers per item, none twice
        assert sorted(w.display_name for w in workers) == ["v0", "v1", "v2"]
        assert sorted(w.judgments for w in workers) == [20, 20, 20]
        await lw.close()
    finally:
        for node in nodes:
            node.stop()
        await running.stop(grace=None)
