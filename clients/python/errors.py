"""The SDK's exceptions: one class per status a caller handles differently.

Every call of `Client` and `AsyncClient` raises one of these, never a bare
`grpc.RpcError` (it stays reachable as `__cause__`). `InvalidArgument`
carries the field violations the server puts in the google.rpc error details,
so a form or a notebook can point at the field that was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "LabelwireError",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "from_rpc_error",
]

STATUS_DETAILS_KEY = "grpc-status-details-bin"
REQUEST_ID_KEY = "x-request-id"  # the server sets it on every status


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (`job.judgment_policy.judgments_per_item`) and why."""

    field: str
    description: str


class LabelwireError(Exception):
    """Any failed call. `code` is the gRPC status, `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str, request_id: str = "") -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details
        self.request_id = request_id


class InvalidArgument(LabelwireError):
    """The request was wrong; `field_violations` name each bad field."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        request_id: str = "",
        field_violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(code, details, request_id)
        self.field_violations = field_violations


class NotFound(LabelwireError):
    """No such job, worker, key or team (or not yours)."""


class AlreadyExists(LabelwireError):
    """Something with that name or key is there already."""


class PermissionDenied(LabelwireError):
    """The key is valid but may not do this."""


class Unauthenticated(LabelwireError):
    """The key is missing, unknown, expired or revoked."""


class ResourceExhausted(LabelwireError):
    """A limit was hit (streams per client, budget, message size); retried for idempotent calls."""


class FailedPrecondition(LabelwireError):
    """The call is valid but not in the job's current state (starting a cancelled job)."""


class Unavailable(LabelwireError):
    """The server could not be reached or is shutting down; retried for idempotent calls."""


class DeadlineExceeded(LabelwireError):
    """The call took longer than its deadline (`Client.timeout` by default)."""


class Cancelled(LabelwireError):
    """The call was cancelled, by the caller or the server."""


class Internal(LabelwireError):
    """A bug on the server; the request id in the server's log says more."""


_BY_CODE: dict[grpc.StatusCode, type[LabelwireError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
}


def _trailers(exc: grpc.RpcError) -> list[tuple[str, str | bytes]]:
    trailing = getattr(exc, "trailing_metadata", None)
    found = trailing() if callable(trailing) else None
    return [(str(k), v) for k, v in (found or ())]


def _violations(trailers: list[tuple[str, str | bytes]]) -> tuple[FieldViolation, ...]:
    out: list[FieldViolation] = []
    for key, value in trailers:
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                out += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return tuple(out)


def from_rpc_error(exc: grpc.RpcError) -> LabelwireError:
    """The SDK exception for a failed gRPC call (raise it `from exc`)."""
    code_of = getattr(exc, "code", None)
    details_of = getattr(exc, "details", None)
    code = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details = (details_of() if callable(details_of) else "") or ""
    trailers = _trailers(exc)
    request_id = next((str(v) for k, v in trailers if k == REQUEST_ID_KEY), "")
    kind = _BY_CODE.get(code, LabelwireError)
    if kind is InvalidArgument:
        return InvalidArgument(code, details, request_id, _violations(trailers))
    return kind(code, details, request_id)
