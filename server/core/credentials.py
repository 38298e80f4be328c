"""Credentials an operator can cut off: listing, revoking and rotating client
API keys (admin key) and worker tokens (the owner of the worker's job).

A revocation here drops this replica's cached checks at once; other replicas
stop trusting their cached checks within `credential_cache_seconds`.
"""

from __future__ import annotations

from collections.abc import Callable

from labelwire.server.core import auth
from labelwire.server.core.base import (
    ADMIN,
    DEFAULT_CREDENTIAL_CACHE_SECONDS,
    MAX_TTL_SECONDS,
    MIN_TTL_SECONDS,
    JobReads,
    checked_page_size,
    issue_credential,
    page_cursor,
    page_of,
    parse_name,
    parse_pair,
    require,
    retire_credentials,
    worker_from_row,
)
from labelwire.server.domain import validation
from labelwire.server.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from labelwire.server.domain.model import Credential, Principal, Worker
from labelwire.server.store import Store, Tx
from labelwire.server.store.rows import WorkerRow
from labelwire.server.store.rows_callers import CredentialRow

MAX_GRACE_SECONDS = 30 * 86400.0


def parse_key_name(name: str, field: str = "name") -> tuple[int, int]:
    """(client id, key id) of `clients/{c}/apiKeys/{k}`."""
    return parse_pair(name, "apiKeys", field)


def parse_worker_name(name: str, field: str = "worker") -> tuple[int, int]:
    """(job id, worker id) of `jobs/{j}/workers/{w}`."""
    return parse_pair(name, "workers", field)


def credential_from_row(row: CredentialRow | None, owner_name: str = "") -> Credential:
    assert row is not None
    return Credential(
        id=int(row.id),
        kind=int(row.kind),
        owner_id=int(row.owner_id),
        created_at=float(row.created_at),
        expires_at=None if row.expires_at is None else float(row.expires_at),
        revoked_at=None if row.revoked_at is None else float(row.revoked_at),
        owner_name=owner_name,
    )


class CredentialsService:
    """Who is calling (`authenticate`, with this replica's cache of checked
    keys) and the keys and tokens an operator or owner can cut off."""

    def __init__(
        self,
        store: Store,
        reads: JobReads,
        *,
        clock: Callable[[], float],
        admin_key: str,
        cache_seconds: float = DEFAULT_CREDENTIAL_CACHE_SECONDS,
    ) -> None:
        self.store = store
        self.reads = reads
        self.clock = clock
        self._admin_hash = auth.digest(admin_key)
        self.credential_cache_seconds = cache_seconds
        self._principals: dict[str, tuple[Principal, int, float]] = {}

    async def authenticate(self, token: str | None) -> Principal:
        """The caller a token names. A checked token is trusted for at most
        `credential_cache_seconds` (and never past its expiry); then its row
        is read again, so a key revoked on any replica fails here too."""
        if not token:
            raise Unauthenticated("missing bearer token: send the metadata `authorization: Bearer <token>`")
        now = self.clock()
        cached = self._principals.get(token)
        if cached is not None and now < cached[2]:
            return cached[0]
        if auth.matches(token, self._admin_hash):
            return ADMIN
        parsed = auth.parse(token)
        if parsed is None:
            raise Unauthenticated("the bearer token is not a labelwire key")
        prefix, ident, secret = parsed
        kind = auth.KINDS[prefix]

        def look_up(tx: Tx) -> tuple[CredentialRow | None, WorkerRow | None]:
            for row in tx.credentials_named(kind, ident):
                if auth.matches(secret, bytes(row.secret_hash)):
                    worker = tx.worker(int(row.owner_id)) if kind == auth.WORKER_TOKEN else None
                    return row, worker
            return None, None

        row, worker = await self.store.read(look_up)
        if row is None:
            self._principals.pop(token, None)
            raise Unauthenticated("the bearer token is not valid")
        if row.revoked_at is not None:
            self._principals.pop(token, None)
            raise Unauthenticated("the bearer token was revoked")
        expires = row.expires_at
        if expires is not None and float(expires) <= now:
            self._principals.pop(token, None)
            raise Unauthenticated("the bearer token has expired")
        if kind == auth.CLIENT_KEY:
            principal = Principal(kind="client", id=int(row.owner_id))
        elif kind == auth.ACCOUNT_TOKEN:
            principal = Principal(kind="account", id=int(row.owner_id))
        elif kind == auth.ADAPTER_KEY:
            principal = Principal(kind="adapter", id=int(row.owner_id))
        else:
            job_id = 0 if worker is None else worker.job_id
            principal = Principal(kind="worker", id=int(row.owner_id), job_id=job_id)
        until = now + self.credential_cache_seconds
        if expires is not None:
            until = min(until, float(expires))
        if len(self._principals) > 100_000:
            self._principals.clear()
        self._principals[token] = (principal, int(row.id), until)
        return principal

    def forget_credentials(self, credential_ids: set[int]) -> None:
        """Drops this replica's cached checks of credentials just revoked here."""
        for token, entry in list(self._principals.items()):
            if entry[1] in credential_ids:
                del self._principals[token]

    async def create_api_key(
        self, principal: Principal, client_name: str, ttl_seconds: float = 0.0
    ) -> tuple[int, str]:
        """A new client and its first key (whose id `auth.parse` reads)."""
        require(principal, "admin")
        validation.check_text("client_name", client_name, low=1, high=200)
        expires = self.expiry(ttl_seconds, "ttl")
        now = self.clock()

        def create(tx: Tx) -> tuple[int, str]:
            client_id = tx.insert_client(client_name, b"", now)
            return client_id, issue_credential(tx, auth.CLIENT_KEY, client_id, now, expires)[1]

        return await self.store.write(create)

    def expiry(self, ttl_seconds: float, field: str) -> float | None:
        """When a credential made now with this time to live expires; None for 0 (never)."""
        if ttl_seconds == 0:
            return None
        validation.check_range(f"{field} (seconds)", ttl_seconds, MIN_TTL_SECONDS, MAX_TTL_SECONDS)
        return self.clock() + ttl_seconds

    async def list_api_keys(
        self, principal: Principal, parent: str, page_size: int, page_token: str
    ) -> tuple[list[Credential], str]:
        """Keys of one client (`clients/{c}`) or of all (`clients/-`), oldest first."""
        require(principal, "admin")
        client_id = None if parent == "clients/-" else parse_name(parent, "clients", "parent")
        size = checked_page_size(page_size)
        after = page_cursor(page_token, default=0)

        def page(tx: Tx) -> list[Credential]:
            if client_id is not None and tx.client(client_id) is None:
                raise NotFound(f"clients/{client_id} does not exist")
            rows = tx.credentials_of(auth.CLIENT_KEY, client_id, after, size + 1)
            names = {}
            for r in rows:
                owner = int(r.owner_id)
                if owner not in names:
                    client = tx.client(owner)
                    names[owner] = "" if client is None else str(client.name)
            return [credential_from_row(r, names[int(r.owner_id)]) for r in rows]

        keys = await self.store.read(page)
        return page_of(keys, size, lambda r: r.id)

    def _key_row(self, tx: Tx, name: str) -> CredentialRow:
        client_id, key_id = parse_key_name(name)
        row = tx.credential(key_id)
        if row is None or int(row.kind) != auth.CLIENT_KEY or int(row.owner_id) != client_id:
            raise NotFound(f"{name} does not exist")
        return row

    async def revoke_api_key(self, principal: Principal, name: str) -> Credential:
        """Revoking twice is harmless; the first revocation time stays."""
        require(principal, "admin")
        now = self.clock()

        def revoke(tx: Tx) -> Credential:
            row = self._key_row(tx, name)
            tx.revoke_credential(int(row.id), now)
            return credential_from_row(tx.credential(int(row.id)))

        key = await self.store.write(revoke)
        self.forget_credentials({key.id})
        return key

    async def rotate_api_key(
        self, principal: Principal, name: str, grace_seconds: float, ttl_seconds: float
    ) -> tuple[Credential, str, Credential]:
        """A new key for the key's client, and the old key expiring after the
        grace period (0: at once). Returns (new key, its token, old key)."""
        require(principal, "admin")
        validation.check_range("grace_period (seconds)", grace_seconds, 0, MAX_GRACE_SECONDS)
        expires = self.expiry(ttl_seconds, "ttl")
        now = self.clock()

        def rotate(tx: Tx) -> tuple[Credential, str, Credential]:
            old = self._key_row(tx, name)
            old_id = int(old.id)
            if old.revoked_at is not None:
                raise InvalidArgument(f"{name} is revoked; create a new key with CreateApiKey")
            new_id, token = issue_credential(tx, auth.CLIENT_KEY, int(old.owner_id), now, expires)
            if grace_seconds == 0:
                tx.revoke_credential(old_id, now)
            else:
                tx.expire_credential(old_id, now + grace_seconds)
            return (
                credential_from_row(tx.credential(new_id)),
                token,
                credential_from_row(tx.credential(old_id)),
            )

        new, token, old = await self.store.write(rotate)
        self.forget_credentials({old.id})
        return new, token, old

    def _worker_row(self, tx: Tx, principal: Principal, name: str) -> WorkerRow:
        job_id, worker_id = parse_worker_name(name)
        self.reads.require_job_row(tx, job_id, principal.id)
        row = tx.worker(worker_id)
        if row is None or row.job_id != job_id or row.external_id is not None:
            raise NotFound(f"{name} does not exist")
        return row

    async def revoke_worker_token(self, principal: Principal, name: str) -> Worker:
        """Every token of the worker stops working; its leases run out as usual."""
        require(principal, "client")
        now = self.clock()

        def revoke(tx: Tx) -> tuple[Worker, set[int]]:
            row = self._worker_row(tx, principal, name)
            ids = {int(c.id) for c in tx.live_credentials_of(auth.WORKER_TOKEN, row.id, now)}
            for credential_id in ids:
                tx.revoke_credential(credential_id, now)
            return worker_from_row(row), ids

        worker, ids = await self.store.write(revoke)
        self.forget_credentials(ids)
        return worker

    async def rotate_worker_token(
        self, principal: Principal, name: str, grace_seconds: float, ttl_seconds: float
    ) -> tuple[Worker, str]:
        """A new token for the worker; its other tokens expire after the grace
        period (0: at once)."""
        require(principal, "client")
        validation.check_range("grace_period (seconds)", grace_seconds, 0, MAX_GRACE_SECONDS)
        expires = self.expiry(ttl_seconds, "token_ttl")
        now = self.clock()

        def rotate(tx: Tx) -> tuple[Worker, str, set[int]]:
            row = self._worker_row(tx, principal, name)
            worker_id = row.id
            if row.account_id is not None:
                raise FailedPrecondition(
                    f"{name} is workers/{row.account_id}'s record on the job, which signs in with its"
                    " account token: use TeamService.IssueWorkerAccountToken"
                )
            ids = retire_credentials(tx, auth.WORKER_TOKEN, worker_id, now, grace_seconds)
            _, token = issue_credential(tx, auth.WORKER_TOKEN, worker_id, now, expires)
            return worker_from_row(row), token, ids

        worker, token, ids = await self.store.write(rotate)
        self.forget_credentials(ids)
        return worker, token
