"""The few checks every validator shares: `validation` and each task kind in
`domain.tasks` raise their InvalidArgument through these, so a message names
the field as the caller wrote it and never swells past gRPC's metadata limit."""

from __future__ import annotations

import math
import re

from labelwire.server.domain.errors import InvalidArgument

MAX_CLASSES = 10_000
QUOTE_CHARS = 80


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """A caller's value as an error message may echo it: at most `limit`
    characters, so a huge value never swells a status past gRPC's metadata
    limit (the caller has the rest)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def require(ok: bool, message: str, field: str = "") -> None:
    if not ok:
        raise InvalidArgument(message, _UNIT.sub("", field))


_UNIT = re.compile(r" \([^)]*\)$")


def check_text(field: str, value: str, *, low: int, high: int) -> None:
    require(
        low <= len(value) <= high,
        f"{field} must be {low} to {high} characters, got {len(value)}"
        if value or low == 0
        else f"{field} is required",
        field,
    )


def check_range(field: str, value: float, low: float, high: float) -> None:
    require(
        not math.isnan(value) and low <= value <= high,
        f"{field} must be between {low:g} and {high:g}, got {value:g}",
        field,
    )
