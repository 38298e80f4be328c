"""Clients (API keys) and their credentials: the SQL is the same on every database."""

from __future__ import annotations

from labelwire.server.store.rows_callers import CLIENT_COLUMNS, CREDENTIAL_COLUMNS, ClientRow, CredentialRow
from labelwire.server.store.sql_base import SqlBase


class ClientsSql(SqlBase):
    def client(self, client_id: int) -> ClientRow | None:
        return self.one_as(ClientRow, f"SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?", (client_id,))

    def insert_credential(
        self, kind: int, owner_id: int, secret_hash: bytes, now: float, expires_at: float | None
    ) -> int:
        return self.insert(
            "INSERT INTO credentials (kind, owner_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (kind, owner_id, secret_hash, now, expires_at),
        )

    def credential(self, credential_id: int) -> CredentialRow | None:
        return self.one_as(
            CredentialRow, f"SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?", (credential_id,)
        )

    def credentials_named(self, kind: int, ident: int) -> list[CredentialRow]:
        """The credential a token's id names: the row with that id, or, for a
        token made before the credentials table, its owner's legacy row."""
        return self.all_as(
            CredentialRow,
            f"SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = ? AND id = ?"
            f" UNION ALL SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = ? AND owner_id = ? AND legacy = 1",
            (kind, ident, kind, ident),
        )

    def credentials_of(
        self, kind: int, owner_id: int | None, after_id: int, limit: int
    ) -> list[CredentialRow]:
        return self._owned_page(CredentialRow, "credentials", owner_id, after_id, limit, ("kind", kind))

    def live_credentials_of(self, kind: int, owner_id: int, now: float) -> list[CredentialRow]:
        return self.all_as(
            CredentialRow,
            f"SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = ? AND owner_id = ? AND revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > ?)",
            (kind, owner_id, now),
        )

    def revoke_credential(self, credential_id: int, now: float) -> None:
        self.run(
            "UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, credential_id)
        )

    def expire_credential(self, credential_id: int, at: float) -> None:
        """Moves a credential's expiry earlier, never later."""
        self.run(
            "UPDATE credentials SET expires_at = ? WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)",
            (at, credential_id, at),
        )

    def insert_client(self, name: str, key_hash: bytes, now: float) -> int:
        return self.insert(
            "INSERT INTO clients (name, key_hash, created_at) VALUES (?, ?, ?)", (name, key_hash, now)
        )
