"""Bearer tokens: client API keys, worker tokens and the admin key.

A token is `lwc_<id>_<secret>` (client), `lww_<id>_<secret>` (a worker of one
job), `lwa_<id>_<secret>` (a worker account's sign-in token) or
`lwf_<id>_<secret>` (a workforce adapter in its own process), `<id>`
naming its row in the credentials table (for tokens made before that table,
its owner); the store keeps only a SHA-256 of the secret, which is enough for
random 256-bit secrets (no password stretching needed) and cheap to check on
every call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CLIENT_PREFIX = "lwc"
WORKER_PREFIX = "lww"
ACCOUNT_PREFIX = "lwa"
ADAPTER_PREFIX = "lwf"
CLIENT_KEY = 1
WORKER_TOKEN = 2
ACCOUNT_TOKEN = 3
ADAPTER_KEY = 4
KINDS = {
    CLIENT_PREFIX: CLIENT_KEY,
    WORKER_PREFIX: WORKER_TOKEN,
    ACCOUNT_PREFIX: ACCOUNT_TOKEN,
    ADAPTER_PREFIX: ADAPTER_KEY,
}
PREFIXES = {v: k for k, v in KINDS.items()}


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


_TOKEN = re.compile(
    f"({CLIENT_PREFIX}|{WORKER_PREFIX}|{ACCOUNT_PREFIX}|{ADAPTER_PREFIX})_([0-9]{{1,18}})_([A-Za-z0-9_-]{{1,256}})"
)


def parse(token: str) -> tuple[str, int, str] | None:
    """(prefix, id, secret) of a well-formed token, else None: ids are ASCII
    digits that fit in 63 bits, secrets URL-safe base64."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        return None
    return found.group(1), int(found.group(2)), found.group(3)


def matches(secret: str, stored: bytes | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(secret), stored)


def shown_prefix(kind: int, ident: int) -> str:
    """The part of a token that is not secret, to tell keys apart in listings."""
    return f"{PREFIXES[kind]}_{ident}_"
