"""Random and boundary requests to every RPC, with every kind of token: none
may get UNKNOWN or INTERNAL, none may hang, and a rejected one changes nothing.

Requests are built from the services' descriptors, so a new RPC or field is
fuzzed without touching this file. The server runs in its own thread and event
loop with a frozen clock (no lease expires mid-test); the test talks to it over
a real port with blocking stubs. Derandomized, so every run sends the same
requests.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor, message_factory
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelwire.client.raw import text_item
from labelwire.v1 import (
    adapter_service_pb2,
    admin_service_pb2,
    job_service_pb2,
    label_service_pb2,
    quality_service_pb2,
    team_service_pb2,
    worker_service_pb2,
)
from tests.fuzz_payloads import INVALID_UTF8, Requests, _fill
from tests.fuzz_server import Target, _serve
from tests.helpers import CLASSES

CALL_SECONDS = 10.0
FORBIDDEN = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
}
SERVICES = [
    module.DESCRIPTOR.services_by_name[name]
    for module, name in [
        (job_service_pb2, "JobService"),
        (label_service_pb2, "LabelService"),
        (worker_service_pb2, "WorkerService"),
        (admin_service_pb2, "AdminService"),
        (quality_service_pb2, "QualityService"),
        (team_service_pb2, "TeamService"),
        (adapter_service_pb2, "WorkforceAdapterService"),
        (health_pb2, "Health"),
    ]
]
METHODS = [m for s in SERVICES for m in s.methods if m.name != "Watch"]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, aws_env: None) -> Iterator[Target]:
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    patch.setenv("AWS_MAX_ATTEMPTS", "1")
    try:
        yield from _serve(tmp_path_factory.mktemp("fuzz"))
    finally:
        patch.undo()


def snapshot(database: Path) -> dict[str, list[str]]:
    """Every row of every table, in a stable order."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(repr(row) for row in db.execute(f'SELECT * FROM "{t}"')) for t in tables}


class Snapshots:
    """`snapshot`, read again only when the server has committed since the last
    read: SQLite's `data_version` on one kept connection changes whenever another
    connection commits, so an unchanged version means unchanged rows. Reading
    every row before and after each of some 20,000 calls was most of this file's time."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._watch = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
        self._version = -1
        self._rows: dict[str, list[str]] = {}

    def version(self) -> int:
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def now(self) -> dict[str, list[str]]:
        version = self.version()
        if version != self._version:
            self._rows, self._version = snapshot(self.database), version
        return self._rows


@functools.cache
def snapshots(database: Path) -> Snapshots:
    return Snapshots(database)


OWNER = {
    "JobService": "client",
    "LabelService": "client",
    "QualityService": "client",
    "WorkerService": "worker",
    "TeamService": "client",
}


def uris_for(target: Target, method: descriptor.MethodDescriptor) -> list[str]:
    return target.export_uris if method.name == "ExportLabels" else target.uris


STATE_CHANGES = {"StartJob", "PauseJob", "ResumeJob", "CancelJob"}
# Server streams that follow a live job until it ends: read up to their first message.
FOLLOWS_UNTIL_THE_END = {"WatchJob"}
STABLE_JOB = "jobs/5"  # not among the names a mutation sets, so nothing cancels it
REMOTE_JOB = "jobs/7"


def valid_request(target: Target, method: descriptor.MethodDescriptor) -> Message:
    """A request the seeded server accepts, for mutations to start from: most
    checks sit behind the ones a random message already fails."""
    out = message_factory.GetMessageClass(method.input_type)()
    for f in method.input_type.fields:
        if f.name in ("job", "name") and f.type == descriptor.FieldDescriptor.TYPE_STRING:
            setattr(out, f.name, "jobs/3" if method.name in STATE_CHANGES else STABLE_JOB)
        elif f.name == "task":
            out.task = "jobs/1/tasks/1"
        elif f.name == "uri":
            out.uri = target.export_uris[1] if method.name == "ExportLabels" else target.uris[1]
    if isinstance(out, job_service_pb2.CreateJobRequest):
        out.job.display_name = "J"
        out.job.task_config.classification.classes.add(name="pos")
        out.job.task_config.classification.classes.add(name="neg")
        out.job.judgment_policy.judgments_per_item = 1
        out.job.workforce.settings.update({"a": 1})
    elif isinstance(out, job_service_pb2.AddItemsRequest):
        out.items.append(text_item("new", "x", metadata={"a": [1, {"b": 2}]}))
    elif isinstance(out, worker_service_pb2.SubmitJudgmentRequest):
        out.answer.classification.class_name = "pos"
    elif isinstance(out, label_service_pb2.StreamLabelsRequest):
        out.snapshot_only = True
    elif isinstance(out, admin_service_pb2.CreateApiKeyRequest):
        out.client_name = "c"
    elif isinstance(out, job_service_pb2.CreateWorkerRequest):
        out.display_name = "w"
    elif method.containing_service.name == "WorkerService" and "job" in out.DESCRIPTOR.fields_by_name:
        out.ClearField("job")  # a worker token's calls need none; NextTask keeps its valid path
    elif method.containing_service.name == "TeamService":
        _team_request(out, method.name)
    elif method.containing_service.name == "WorkforceAdapterService":
        _adapter_request(out)
    return out


def _adapter_request(out: Message) -> None:
    """The adapter's job is jobs/7 (remote, running), where it claimed r0."""
    fields = out.DESCRIPTOR.fields_by_name
    for name in ("job", "name"):
        if name in fields:
            setattr(out, name, REMOTE_JOB)
    if isinstance(out, adapter_service_pb2.ClaimItemsRequest):
        out.claim_id, out.max_items = "c1", 1
    elif isinstance(out, adapter_service_pb2.RecordJudgmentsRequest):
        out.judgments.add(
            judgment_id="j1", item_key="r0", worker_id="v1"
        ).answer.classification.class_name = CLASSES[0]
    elif isinstance(out, adapter_service_pb2.AttachAdapterRequest):
        out.task_types.append("classification")
    if "item_keys" in fields:
        out.item_keys.append("r0")  # type: ignore[attr-defined]
    for name in ("reason", "worker_id"):
        if name in fields:
            setattr(out, name, "x")


def _team_request(out: Message, method: str) -> None:
    """TeamService's names are teams and worker accounts, not jobs. The
    account whose token the fuzz holds (workers/1) keeps its token: the
    token calls aim at workers/2."""
    teams = "teams/2" if method == "DeleteTeam" else "teams/1"
    wanted = {
        "name": "workers/1" if "WorkerAccount" in method else teams,
        "team": "teams/1",
        "worker": "workers/1" if method in ("RemoveTeamMember", "GetWorkerAccountHistory") else "workers/2",
    }
    for field, value in wanted.items():
        found = out.DESCRIPTOR.fields_by_name.get(field)
        if found is not None and found.message_type is None:
            setattr(out, field, value)
    if isinstance(out, team_service_pb2.CreateTeamRequest):
        out.team.display_name = "t"
    elif isinstance(out, team_service_pb2.CreateWorkerAccountRequest):
        out.worker_account.display_name = "w"


def mutate(draw: st.DrawFn, requests: Requests, message: Message, depth: int = 0) -> None:
    """Sets one field, at any depth, to a random or boundary value."""
    fields = list(message.DESCRIPTOR.fields)
    if not fields:
        return
    f = draw(st.sampled_from(fields))
    inner = f.message_type
    if (
        inner is not None
        and not f.is_repeated
        and inner.full_name != "google.protobuf.Struct"
        and depth < 4
        and draw(st.integers(0, 3)) > 0
    ):
        mutate(draw, requests, getattr(message, f.name), depth + 1)
        return
    value = draw(requests.field(f, depth))
    message.ClearField(f.name)
    _fill(message, f.name, value)


@st.composite
def _mutated(draw: st.DrawFn, requests: Requests, method: descriptor.MethodDescriptor) -> bytes:
    message = valid_request(requests.target, method)
    for _ in range(draw(st.integers(1, 2))):
        mutate(draw, requests, message)
    return message.SerializeToString()


def _payloads(requests: Requests, method: descriptor.MethodDescriptor) -> st.SearchStrategy[bytes]:
    return st.one_of(
        requests.message(method.input_type).map(lambda m: m.SerializeToString()),
        st.binary(max_size=48),
        st.just(INVALID_UTF8),
    )


@dataclass
class Outcome:
    code: grpc.StatusCode
    details: str


def send(target: Target, method: descriptor.MethodDescriptor, token: str, payloads: list[bytes]) -> Outcome:
    path = f"/{method.containing_service.full_name}/{method.name}"
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    identity: Callable[[bytes], bytes] = lambda b: b  # noqa: E731
    channel = target.channel
    if True:
        try:
            if method.client_streaming:
                channel.stream_unary(path, identity, identity)(
                    iter(payloads), metadata=metadata, timeout=CALL_SECONDS
                )
            elif method.server_streaming:
                call = channel.unary_stream(path, identity, identity)(
                    payloads[0], metadata=metadata, timeout=CALL_SECONDS
                )
                for _ in call:
                    if method.name in FOLLOWS_UNTIL_THE_END:
                        call.cancel()  # its first message answered the request
                        break
            else:
                channel.unary_unary(path, identity, identity)(
                    payloads[0], metadata=metadata, timeout=CALL_SECONDS
                )
        except grpc.RpcError as exc:
            return Outcome(exc.code(), exc.details() or "")  # type: ignore[attr-defined]
    return Outcome(grpc.StatusCode.OK, "")


def _follows_a_live_job(method: descriptor.MethodDescriptor, payload: bytes) -> bool:
    """StreamLabels without snapshot_only follows the job: it has no end."""
    if method.name != "StreamLabels":
        return False
    try:
        request = label_service_pb2.StreamLabelsRequest.FromString(payload)
    except DecodeError:
        return False
    return not request.snapshot_only


@st.composite
def calls(draw: st.DrawFn, target: Target, method: descriptor.MethodDescriptor) -> tuple[str, list[bytes]]:
    """Mostly a valid request with one or two fields changed, sent with the
    token its service wants; else random messages or bytes with any token."""
    requests = Requests(target, exporting=method.name == "ExportLabels")
    count = draw(st.integers(1, 3)) if method.client_streaming else 1
    if draw(st.integers(0, 2)) > 0:
        token = OWNER.get(method.containing_service.name, "admin")
        payloads = [draw(_mutated(requests, method)) for _ in range(count)]
    else:
        token = draw(st.sampled_from(sorted(target.tokens)))
        payloads = [draw(_payloads(requests, method)) for _ in range(count)]
    return target.tokens[token], payloads


def check(target: Target, method: descriptor.MethodDescriptor, token: str, payloads: list[bytes]) -> None:
    if _follows_a_live_job(method, payloads[0]):
        request = label_service_pb2.StreamLabelsRequest.FromString(payloads[0])
        request.snapshot_only = True
        payloads = [request.SerializeToString()]
    rows = snapshots(target.database)
    before = rows.now()
    outcome = send(target, method, token, payloads)
    where = f"{method.full_name} with {[p[:200] for p in payloads]!r}"
    assert outcome.code not in FORBIDDEN, f"{where}: {outcome.code.name} {outcome.details[:500]}"
    assert len(outcome.details) <= 1100, f"{where}: a {len(outcome.details)}-character message"
    if outcome.code != grpc.StatusCode.OK:
        assert rows.now() == before, f"{where}: rejected with {outcome.code.name} but changed the store"


def _examples(method: descriptor.MethodDescriptor) -> int:
    """More examples where a request has more to get wrong."""
    seen: set[str] = set()
    todo = [method.input_type]
    while todo:
        desc = todo.pop()
        if desc.full_name not in seen:
            seen.add(desc.full_name)
            todo += [f.message_type for f in desc.fields if f.message_type is not None]
    return 150 if len(seen) > 4 else 25


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
def test_random_requests_to_every_rpc_get_a_named_status(
    target: Target, method: descriptor.MethodDescriptor
) -> None:
    @settings(
        max_examples=_examples(method),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        token, payloads = data.draw(calls(target, method))
        check(target, method, token, payloads)

    run()


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
def test_boundary_requests_to_every_rpc_get_a_named_status(
    target: Target, method: descriptor.MethodDescriptor
) -> None:
    """Each RPC, with each token, gets every boundary value in each of its
    string fields (alone, and in an otherwise valid request), invalid UTF-8,
    and bytes that are no message."""
    cls = message_factory.GetMessageClass(method.input_type)
    strings = [f for f in method.input_type.fields if f.type == descriptor.FieldDescriptor.TYPE_STRING]
    payloads: list[bytes] = [
        b"",
        INVALID_UTF8,
        b"\xff" * 8,
        valid_request(target, method).SerializeToString(),
    ]
    for field in strings:
        name, repeated = field.name, field.is_repeated
        for value in uris_for(target, method) if name == "uri" else target.names:
            payloads.append(cls(**{name: [value] if repeated else value}).SerializeToString())
            changed = valid_request(target, method)
            if repeated:
                changed.ClearField(name)
                getattr(changed, name).append(value)
            else:
                setattr(changed, name, value)
            payloads.append(changed.SerializeToString())
    for token in target.tokens.values():
        for payload in payloads:
            check(target, method, token, [payload])


def test_the_kept_snapshot_sees_another_connections_commit(tmp_path: Path) -> None:
    database = tmp_path / "watched.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE t (v TEXT)")
    rows = Snapshots(database)
    before = rows.now()
    assert rows.now() is before  # no commit since: not read again
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO t VALUES ('x')")
    assert rows.now() == {"t": ["('x',)"]} != before
