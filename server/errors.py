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
    pass


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
