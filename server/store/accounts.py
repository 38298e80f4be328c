"""Store operations for worker accounts and teams, the same SQL on every database.

`SqlTx` inherits them, so both stores offer them; they need only `one`,
`all`, `run` and `insert`. Membership is read inside the transaction that acts
on it (leasing, removal), so a worker removed from a team never gets a lease
that commits after its removal.
"""

from __future__ import annotations

from collections.abc import Sequence

from labelwire.server.store.rows import (
    JOB_COLUMNS,
    WORKER_COLUMNS,
    JobRow,
    WorkerRow,
    columns,
    job_rows,
    worker_row,
    worker_rows,
)
from labelwire.server.store.rows_callers import (
    ACCOUNT_COLUMNS,
    TEAM_COLUMNS,
    AccountRow,
    AccountTotalsRow,
    GoldAnswerRow,
    TeamJobRow,
    TeamRow,
)
from labelwire.server.store.sql_base import SqlBase

# credentials.kind of a worker account's sign-in token (see auth.ACCOUNT_TOKEN).
ACCOUNT_TOKEN_KIND = 3
DRAFT = 1
ACCOUNT_COLUMNS_A = columns(AccountRow, "a")


class AccountsSql(SqlBase):
    # worker accounts

    def insert_account(self, owner_id: int, display_name: str, now: float) -> int:
        return self.insert(
            "INSERT INTO worker_accounts (owner_id, display_name, created_at) VALUES (?, ?, ?)",
            (owner_id, display_name, now),
        )

    def account(self, account_id: int) -> AccountRow | None:
        return self.one_as(
            AccountRow, f"SELECT {ACCOUNT_COLUMNS} FROM worker_accounts WHERE id = ?", (account_id,)
        )

    def rename_account(self, account_id: int, display_name: str) -> None:
        """The account's name, and its name on every job it worked on."""
        self.run("UPDATE worker_accounts SET display_name = ? WHERE id = ?", (display_name, account_id))
        self.run("UPDATE workers SET display_name = ? WHERE account_id = ?", (display_name, account_id))

    def delete_account(self, account_id: int) -> None:
        """The account and its memberships. Its per-job worker rows stay (they
        hold its judgments' worker ids); AUTOINCREMENT never gives its id to
        another account, so they never seem to be another's."""
        self.run("DELETE FROM team_members WHERE account_id = ?", (account_id,))
        self.run("DELETE FROM worker_accounts WHERE id = ?", (account_id,))

    def account_gold_answers(self, account_id: int) -> list[GoldAnswerRow]:
        """Every gold answer of the account, on every job."""
        return self.all_as(
            GoldAnswerRow,
            "SELECT j.created_at, j.gold_correct FROM judgments j JOIN workers w ON w.id = j.worker_id"
            " WHERE w.account_id = ? AND j.gold_correct IS NOT NULL",
            (account_id,),
        )

    def account_job_ids(self, account_id: int) -> list[int]:
        """The jobs the account has a worker row in."""
        return [int(r[0]) for r in self.all("SELECT job_id FROM workers WHERE account_id = ?", (account_id,))]

    def accounts_of(self, owner_id: int | None, after_id: int, limit: int) -> list[AccountRow]:
        """A client's accounts (every client's with None), oldest first."""
        return self._owned_page(AccountRow, "worker_accounts", owner_id, after_id, limit)

    def team_members(self, team_id: int, after_id: int, limit: int) -> list[AccountRow]:
        """The accounts in a team, oldest first."""
        return self.all_as(
            AccountRow,
            f"SELECT {ACCOUNT_COLUMNS_A} FROM team_members m JOIN worker_accounts a ON a.id = m.account_id"
            " WHERE m.team_id = ? AND a.id > ? ORDER BY a.id LIMIT ?",
            (team_id, after_id, limit),
        )

    def account_teams(self, account_id: int) -> list[int]:
        rows = self.all(
            "SELECT team_id FROM team_members WHERE account_id = ? ORDER BY team_id", (account_id,)
        )
        return [int(r[0]) for r in rows]

    def live_account_tokens(self, account_ids: Sequence[int], now: float) -> dict[int, int]:
        """How many unrevoked, unexpired sign-in tokens each account has."""
        if not account_ids:
            return {}
        marks = ",".join("?" * len(account_ids))
        rows = self.all(
            f"SELECT owner_id, COUNT(*) FROM credentials WHERE kind = ? AND owner_id IN ({marks})"
            " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) GROUP BY owner_id",
            (ACCOUNT_TOKEN_KIND, *account_ids, now),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    # teams

    def insert_team(self, owner_id: int, display_name: str, description: str, now: float) -> int:
        return self.insert(
            "INSERT INTO teams (owner_id, display_name, description, created_at) VALUES (?, ?, ?, ?)",
            (owner_id, display_name, description, now),
        )

    def team(self, team_id: int) -> TeamRow | None:
        return self.one_as(TeamRow, f"SELECT {TEAM_COLUMNS} FROM teams WHERE id = ?", (team_id,))

    def teams_of(self, owner_id: int | None, after_id: int, limit: int) -> list[TeamRow]:
        """A client's teams (every client's with None), oldest first."""
        return self._owned_page(TeamRow, "teams", owner_id, after_id, limit)

    def member_counts(self, team_ids: Sequence[int]) -> dict[int, int]:
        if not team_ids:
            return {}
        marks = ",".join("?" * len(team_ids))
        rows = self.all(
            f"SELECT team_id, COUNT(*) FROM team_members WHERE team_id IN ({marks}) GROUP BY team_id",
            tuple(team_ids),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    def add_member(self, team_id: int, account_id: int, now: float) -> bool:
        """Says whether the account was not in the team before."""
        added = self.run(
            "INSERT INTO team_members (team_id, account_id, added_at) VALUES (?, ?, ?)"
            " ON CONFLICT (team_id, account_id) DO NOTHING",
            (team_id, account_id, now),
        )
        return added > 0

    def remove_member(self, team_id: int, account_id: int) -> bool:
        """Says whether the account was in the team."""
        return (
            self.run("DELETE FROM team_members WHERE team_id = ? AND account_id = ?", (team_id, account_id))
            > 0
        )

    def delete_team(self, team_id: int) -> None:
        """The team, its memberships and the jobs' links to it."""
        self.run("DELETE FROM team_members WHERE team_id = ?", (team_id,))
        self.run("DELETE FROM job_teams WHERE team_id = ?", (team_id,))
        self.run("DELETE FROM teams WHERE id = ?", (team_id,))

    # jobs and the teams they name

    def name_job_teams(self, job_id: int, team_ids: Sequence[int]) -> None:
        for team_id in team_ids:
            self.run(
                "INSERT INTO job_teams (job_id, team_id) VALUES (?, ?) ON CONFLICT (job_id, team_id) DO NOTHING",
                (job_id, team_id),
            )

    def set_job_teams(self, job_id: int, team_ids: Sequence[int]) -> None:
        self.run("DELETE FROM job_teams WHERE job_id = ?", (job_id,))
        self.name_job_teams(job_id, team_ids)

    def job_team_ids(self, job_id: int) -> tuple[int, ...]:
        rows = self.all("SELECT team_id FROM job_teams WHERE job_id = ? ORDER BY team_id", (job_id,))
        return tuple(int(r[0]) for r in rows)

    def jobs_naming(self, team_id: int) -> list[TeamJobRow]:
        """The jobs that name a team."""
        return self.all_as(
            TeamJobRow,
            "SELECT j.id, j.state FROM job_teams t JOIN jobs j ON j.id = t.job_id WHERE t.team_id = ? ORDER BY j.id",
            (team_id,),
        )

    def may_work(self, account_id: int, job_id: int) -> bool:
        """Whether the account is in a team the job names."""
        row = self.one(
            "SELECT 1 FROM job_teams t JOIN team_members m ON m.team_id = t.team_id"
            " WHERE t.job_id = ? AND m.account_id = ? LIMIT 1",
            (job_id, account_id),
        )
        return row is not None

    def jobs_of_account(self, account_id: int, before_id: int, limit: int) -> list[JobRow]:
        """The jobs, past their draft, that name a team of the account, newest first."""
        return job_rows(
            self.all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE id IN (SELECT t.job_id FROM job_teams t"
                " JOIN team_members m ON m.team_id = t.team_id WHERE m.account_id = ?)"
                " AND state <> ? AND id < ? ORDER BY id DESC LIMIT ?",
                (account_id, DRAFT, before_id, limit),
            )
        )

    # the account's worker row in each job

    def account_worker(self, account_id: int, job_id: int) -> WorkerRow | None:
        return worker_row(
            self.one(
                f"SELECT {WORKER_COLUMNS} FROM workers WHERE account_id = ? AND job_id = ?",
                (account_id, job_id),
            )
        )

    def account_workers(self, account_id: int, after_id: int, limit: int) -> list[WorkerRow]:
        """The account's per-job worker rows, in the order it started the jobs."""
        return worker_rows(
            self.all(
                f"SELECT {WORKER_COLUMNS} FROM workers WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
                (account_id, after_id, limit),
            )
        )

    def account_totals(self, account_id: int) -> AccountTotalsRow:
        """Sums over every per-job row of the account: jobs, qualified and
        disqualified (failed quiz included) jobs, judgments, gold and quiz
        figures, the last submission."""
        row = self.one_as(
            AccountTotalsRow,
            "SELECT COUNT(*) AS jobs,"
            " COALESCE(SUM(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0) AS qualified,"
            " COALESCE(SUM(CASE WHEN status IN (3, 4) THEN 1 ELSE 0 END), 0) AS disqualified,"
            " COALESCE(SUM(judgments), 0) AS judgments,"
            " COALESCE(SUM(gold_answered), 0) AS gold_answered, COALESCE(SUM(gold_correct), 0) AS gold_correct,"
            " COALESCE(SUM(quiz_answered), 0) AS quiz_answered, COALESCE(SUM(quiz_correct), 0) AS quiz_correct,"
            " MAX(last_active_at) AS last_active_at"
            " FROM workers WHERE account_id = ?",
            (account_id,),
        )
        assert row is not None
        return row

    def work_times(self, worker_id: int) -> list[int]:
        """Milliseconds spent on each of a worker's judgments, gold and excluded ones too."""
        return [
            int(r[0])
            for r in self.all("SELECT time_spent_ms FROM judgments WHERE worker_id = ?", (worker_id,))
        ]
