"""Rows of those who call the server and what they hold, typed as `rows.py`'s
are: clients and their credentials, adapters, worker accounts and teams.

Each is read by the core by attribute, the store selecting its columns in
field order (`rows.columns`); values come as the database holds them
(`secret_hash` as bytes, times as floats, JSON as text).
"""

from __future__ import annotations

from typing import NamedTuple

from labelwire.server.store.rows import columns


class ClientRow(NamedTuple):
    id: int
    name: str
    key_hash: bytes
    created_at: float


class CredentialRow(NamedTuple):
    """A key or token: its kind (`auth.CLIENT_KEY`, ...) and whose it is."""

    id: int
    kind: int
    owner_id: int
    secret_hash: bytes
    legacy: int
    created_at: float
    expires_at: float | None
    revoked_at: float | None


class AdapterRow(NamedTuple):
    id: int
    name: str
    capabilities: str  # JSON, "" until the adapter attaches
    created_at: float


class AccountRow(NamedTuple):
    id: int
    owner_id: int
    display_name: str
    created_at: float


class TeamRow(NamedTuple):
    id: int
    owner_id: int
    display_name: str
    description: str
    created_at: float


class TeamJobRow(NamedTuple):
    """A job that names a team, and its state (`JobState`)."""

    id: int
    state: int


class GoldAnswerRow(NamedTuple):
    """When an account answered a gold item, and whether it was right."""

    created_at: float
    gold_correct: int


class AccountTotalsRow(NamedTuple):
    """Sums over an account's per-job worker rows."""

    jobs: int
    qualified: int
    disqualified: int
    judgments: int
    gold_answered: int
    gold_correct: int
    quiz_answered: int
    quiz_correct: int
    last_active_at: float | None


CLIENT_COLUMNS = columns(ClientRow)
CREDENTIAL_COLUMNS = columns(CredentialRow)
ADAPTER_COLUMNS = columns(AdapterRow)
ACCOUNT_COLUMNS = columns(AccountRow)
TEAM_COLUMNS = columns(TeamRow)
