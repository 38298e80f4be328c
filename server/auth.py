"""Bearer tokens: client API keys, worker tokens and the admin key.

A token is `lwc_<id>_<secret>` (client) or `lww_<id>_<secret>` (worker), `<id>`
naming its row in the credentials table (for tokens made before that table,
its owner); the store keeps only a SHA-256 of the secret, which is enough for
random 256-bit secrets (no password stretching needed) and cheap to check on
every call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CLIENT_PREFIX = "lwc"
WORKER_PREFIX = "lww"
CLIENT_KEY = 1
WORKER_TOKEN = 2
KINDS = {CLIENT_PREFIX: CLIENT_KEY, WORKER_PREFIX: WORKER_TOKEN}
PREFIXES = {v: k for k, v in KINDS.items()}


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def parse(token: str) -> tuple[str, int, str] | None:
    """(prefix, id, secret) of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] not in (CLIENT_PREFIX, WORKER_PREFIX) or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def matches(secret: str, stored: bytes | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(secret), stored)


def shown_prefix(kind: int, ident: int) -> str:
    """The part of a token that is not secret, to tell keys apart in listings."""
    return f"{PREFIXES[kind]}_{ident}_"
