"""Every Prometheus series the server exports, defined in one place.

The core, the store and the adapters import this module to count what they
do; it imports neither grpc nor the store, so the core stays free of the
transport. The series live in prometheus_client's default registry (beside its
process and platform collectors) and are served by `serve_metrics` on the
operator's `--metrics-address`. `docs/operations.md` lists every series.

The per-job series are not counted as they happen: the maintenance loop reads
the counters the store already keeps for each running or paused job once a
round (`JobSeries.update`), and a scrape only formats that snapshot, so a
scrape never touches the database.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

disable_created_metrics()  # type: ignore[no-untyped-call]

RPC_REQUESTS = Counter(
    "labelwire_rpc_requests",
    "gRPC calls finished, by full method name and gRPC status code name.",
    ["method", "code"],
)
RPC_SECONDS = Histogram(
    "labelwire_rpc_duration_seconds",
    "Time from a call's arrival to its last response message, by full method name.",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
STORE_COMMIT_SECONDS = Histogram(
    "labelwire_store_commit_seconds",
    "Time of one store transaction from BEGIN to the end of COMMIT, by store thread.",
    ["thread"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
STORE_GROUP_SIZE = Histogram(
    "labelwire_store_group_size",
    "Callers whose work shared one write transaction (and its flush), by store thread.",
    ["thread"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
PASS_SECONDS = Histogram(
    "labelwire_consolidation_pass_seconds",
    "Time of one job-level consolidation pass (read, fit, write), by consolidation method.",
    ["method"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
ADAPTER_RETRIES = Counter(
    "labelwire_adapter_retries",
    "Calls to a workforce's outside service retried after a passing failure (throttling, 5xx).",
    ["adapter", "operation"],
)
ADAPTER_ERRORS = Counter(
    "labelwire_adapter_errors",
    "Calls to a workforce's outside service that failed for good (not retryable, or out of attempts).",
    ["adapter", "operation"],
)


@dataclass(frozen=True)
class JobRow:
    """One job's counters as the store keeps them."""

    name: str
    state: str
    total_items: int
    labeled_items: int
    failed_items: int
    judgments: int
    open_leases: int


@dataclass(frozen=True)
class StateTotals:
    """All jobs in one state, summed."""

    jobs: int
    judgments: int
    labeled_items: int


class JobSeries(Collector):
    """The per-job gauges, from the latest snapshot of the store's counters.

    Only running and paused jobs get series of their own (cardinality grows
    with the jobs in flight, not with the jobs ever made); the `labelwire_jobs*`
    series sum every job by its state.
    """

    def __init__(self) -> None:
        self._jobs: Sequence[JobRow] = ()
        self._states: dict[str, StateTotals] = {}

    def update(self, jobs: Iterable[JobRow], states: dict[str, StateTotals]) -> None:
        self._jobs, self._states = tuple(jobs), dict(states)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs, states = self._jobs, self._states
        counts = GaugeMetricFamily("labelwire_jobs", "Jobs, by job state.", labels=["state"])
        judged = GaugeMetricFamily(
            "labelwire_jobs_judgments", "Judgments of all jobs in each job state.", labels=["state"]
        )
        labeled = GaugeMetricFamily(
            "labelwire_jobs_labeled_items", "Labeled items of all jobs in each job state.", labels=["state"]
        )
        for state, totals in sorted(states.items()):
            counts.add_metric([state], totals.jobs)
            judged.add_metric([state], totals.judgments)
            labeled.add_metric([state], totals.labeled_items)
        yield from (counts, judged, labeled)
        job_labels = ["job", "state"]
        items = GaugeMetricFamily(
            "labelwire_job_items",
            "A running or paused job's items (gold excluded): total, labeled, failed.",
            labels=[*job_labels, "item_state"],
        )
        judgments = GaugeMetricFamily(
            "labelwire_job_judgments", "Judgments a running or paused job has received.", labels=job_labels
        )
        queue = GaugeMetricFamily(
            "labelwire_job_open_items",
            "Queue depth: a running or paused job's items still waiting for their label.",
            labels=job_labels,
        )
        leases = GaugeMetricFamily(
            "labelwire_job_open_leases",
            "A running or paused job's tasks leased to a worker right now.",
            labels=job_labels,
        )
        for job in jobs:
            labels = [job.name, job.state]
            items.add_metric([*labels, "total"], job.total_items)
            items.add_metric([*labels, "labeled"], job.labeled_items)
            items.add_metric([*labels, "failed"], job.failed_items)
            judgments.add_metric(labels, job.judgments)
            queue.add_metric(labels, max(job.total_items - job.labeled_items - job.failed_items, 0))
            leases.add_metric(labels, job.open_leases)
        yield from (items, judgments, queue, leases)


JOBS = JobSeries()
REGISTRY.register(JOBS)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_address(address: str) -> tuple[str, int]:
    """HOST:PORT (`[::1]:9090` for IPv6) into its parts; ValueError names what is wrong."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"metrics address must be HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def check_address(address: str, *, allow_remote: bool = False) -> tuple[str, int]:
    """The metrics address's host and port. The series name jobs and their
    progress, so a host other than loopback needs `allow_remote`."""
    host, port = split_address(address)
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"--metrics-address {address} is not a loopback address; pass --metrics-allow-remote"
            " (LABELWIRE_METRICS_ALLOW_REMOTE=1) to expose metrics beyond this host"
        )
    return host, port


def serve_metrics(address: str, *, allow_remote: bool = False) -> MetricsServer:
    """Serves `/metrics` over HTTP on a daemon thread."""
    host, port = check_address(address, allow_remote=allow_remote)
    try:
        server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot serve metrics on {address}: {exc.strerror}") from exc
    return MetricsServer(server=server, thread=thread)
