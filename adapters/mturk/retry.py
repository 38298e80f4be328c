"""Retrying MTurk calls that failed for reasons that pass.

MTurk models only two errors: `ServiceFault` (the service's fault, always
worth retrying) and `RequestError` (the caller's fault), which is also what
MTurk answers when it throttles a requester ("Rate exceeded", "throttled").
The adapters' shared Retrier (`adapters/retry.py`) gives the backoff (exponential, full
jitter, injectable sleep); only the question "is this retryable" differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError

from labelwire.adapters.retry import Retrier, error_code
from labelwire.adapters.retry import is_retryable as is_transient

T = TypeVar("T")
THROTTLING_TEXT = re.compile(
    r"throttl|rate exceeded|too many requests|maximum request rate|request rate", re.I
)


def error_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))


def turk_error_code(err: ClientError) -> str:
    """MTurk's own code (`AWS.MechanicalTurk.HitAlreadyExists`), when the error carries one."""
    return str(err.response.get("TurkErrorCode") or err.response.get("Error", {}).get("TurkErrorCode") or "")


def is_retryable(err: Exception) -> bool:
    if is_transient(err):
        return True
    if not isinstance(err, ClientError):
        return False
    code = error_code(err)
    if code == "ServiceFault":
        return True
    return code == "RequestError" and bool(THROTTLING_TEXT.search(error_message(err)))


@dataclass
class MTurkRetrier(Retrier):
    """Runs blocking boto3 MTurk calls off the event loop, retrying throttling and service faults."""

    adapter: str = "mturk"

    def retryable(self, err: Exception) -> bool:
        return is_retryable(err)
