"""The store operations whose SQL is the same on every database.

Each store's transaction class inherits them and supplies `one`, `all`, `run`
and `insert` (PostgreSQL's translate the `?` placeholders), plus the few operations
whose SQL differs (a lease in one statement, batched updates, `GREATEST` for `MAX`).
A list of values and a row lock are asked of `SqlBase` (`_one_of`, `PICK_LOCK`), so
the statement around them is written once. They are grouped by what they touch,
one module each (`sql_jobs`, `sql_items`, `sql_tasks`, ...).
"""

from __future__ import annotations

from labelwire.server.store.accounts import AccountsSql
from labelwire.server.store.sql_adapters import AdaptersSql
from labelwire.server.store.sql_base import (
    NO_HIDDEN,
    RESERVED_COST,
    SqlBase,
    affordable_claims,
    in_pilot,
    shown,
)
from labelwire.server.store.sql_clients import ClientsSql
from labelwire.server.store.sql_costs import CostsSql
from labelwire.server.store.sql_items import ItemsSql
from labelwire.server.store.sql_jobs import JobsSql
from labelwire.server.store.sql_labels import LabelsSql
from labelwire.server.store.sql_posteriors import PosteriorsSql
from labelwire.server.store.sql_tasks import TasksSql
from labelwire.server.store.sql_uploads import UploadsSql
from labelwire.server.store.sql_workers import WorkersSql

__all__ = ["NO_HIDDEN", "RESERVED_COST", "SqlBase", "SqlTx", "affordable_claims", "in_pilot", "shown"]


class SqlTx(
    ClientsSql,
    CostsSql,
    JobsSql,
    ItemsSql,
    UploadsSql,
    WorkersSql,
    TasksSql,
    LabelsSql,
    PosteriorsSql,
    AdaptersSql,
    AccountsSql,
):
    """The shared operations, run inside one transaction (with those of
    worker accounts and teams, `AccountsSql`)."""
