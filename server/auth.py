"""Bearer tokens: client API keys, worker tokens and the admin key.

A token is `lwc_<id>_<secret>` (client) or `lww_<id>_<secret>` (worker); the
store keeps only a SHA-256 of the secret, which is enough for random 256-bit
secrets (no password stretching needed) and cheap to check on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CLIENT_PREFIX = "lwc"
WORKER_PREFIX = "lww"


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def new_token(prefix: str, ident: int) -> tuple[str, bytes]:
    """A fresh token for an identity, and the hash to store."""
    secret = secrets.token_urlsafe(32)
    return f"{prefix}_{ident}_{secret}", digest(secret)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


_TOKEN = re.compile(f"({CLIENT_PREFIX}|{WORKER_PREFIX})_([0-9]{{1,18}})_([A-Za-z0-9_-]{{1,256}})")


def parse(token: str) -> tuple[str, int, str] | None:
    """(prefix, id, secret) of a well-formed token, else None: ids are ASCII
    digits that fit in 63 bits, secrets URL-safe base64."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        return None
    return found.group(1), int(found.group(2)), found.group(3)


def matches(secret: str, stored: bytes | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(secret), stored)
