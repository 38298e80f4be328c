"""Errors the core raises; the API layer maps each kind onto one gRPC status.

The core does not import grpc, so a caller other than the gRPC server (the CLI,
the offline tools) sees the same errors with the same messages.
"""

from __future__ import annotations


class LabelwireError(Exception):
    """Base class; `message` tells the caller what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(LabelwireError):
    """`field` is the request field's path as the caller wrote it
    (`job.judgment_policy.judgments_per_item`, `items (message 2)[7].key`), so a
    client can point at it; empty when no single field is to blame."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotFound(LabelwireError):
    pass


class FailedPrecondition(LabelwireError):
    pass


class PermissionDenied(LabelwireError):
    pass


class Unauthenticated(LabelwireError):
    pass


class ResourceExhausted(LabelwireError):
    pass


class Unavailable(LabelwireError):
    """The database does not answer: nothing was done, and the same call may be
    made again (clients retry it, and health says NOT_SERVING meanwhile)."""
