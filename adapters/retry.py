"""Retrying AWS calls that failed for reasons that pass: throttling and 5xx.

SageMaker's control plane throttles per account, and a push adapter calls it
for every running labeling job on every round, so throttling is expected, not
exceptional. Retries back off exponentially with full jitter (AWS's advice),
so that many jobs throttled at once do not retry in step. The sleep is
injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from labelwire.server.telemetry import metrics

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def is_retryable(err: Exception) -> bool:
    if isinstance(err, EndpointConnectionError | ConnectionClosedError | ReadTimeoutError):
        return True
    if not isinstance(err, ClientError):
        return False
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return error_code(err) in THROTTLING_CODES or status >= 500


@dataclass
class Retrier:
    """Runs blocking boto3 calls off the event loop, retrying passing failures.
    `labelwire_adapter_retries_total` and `labelwire_adapter_errors_total`
    count them by `adapter` and operation (the boto3 method's name)."""

    sleep: Sleep = asyncio.sleep
    attempts: int = 8
    base_seconds: float = 0.5
    cap_seconds: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    adapter: str = "groundtruth"

    def retryable(self, err: Exception) -> bool:
        return is_retryable(err)

    async def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        operation = getattr(fn, "__name__", "call")
        for attempt in range(self.attempts):
            try:
                return await asyncio.to_thread(fn, **kwargs)
            except Exception as err:
                if attempt + 1 >= self.attempts or not self.retryable(err):
                    metrics.ADAPTER_ERRORS.labels(self.adapter, operation).inc()
                    raise
            metrics.ADAPTER_RETRIES.labels(self.adapter, operation).inc()
            await self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0.0, min(self.cap_seconds, self.base_seconds * 2**attempt))
