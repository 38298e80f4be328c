-- Worker accounts and teams. A worker account is one person working for a
-- client across its jobs; a team groups a client's worker accounts; a pool job
-- names the teams whose members may work on it (job_teams, written once when
-- the job is created, as its spec is). The per-job state stays in `workers`:
-- an account gets its own row in each job it works on (made at its first
-- NextTask there), linked by workers.account_id, so the quiz, the gold record
-- and disqualification stay per job. The account's sign-in tokens are rows of
-- `credentials` with kind 3 (owner_id the account).
CREATE TABLE worker_accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id      INTEGER NOT NULL,
    display_name  TEXT NOT NULL,
    created_at    REAL NOT NULL
);
CREATE INDEX worker_accounts_owner ON worker_accounts(owner_id, id);

-- AUTOINCREMENT: a deleted team's id is never given to a new team, so a job
-- that named the old one never seems to name the new one.
CREATE TABLE teams (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id      INTEGER NOT NULL,
    display_name  TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL
);
CREATE INDEX teams_owner ON teams(owner_id, id);

CREATE TABLE team_members (
    team_id     INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    added_at    REAL NOT NULL,
    PRIMARY KEY (team_id, account_id)
);
CREATE INDEX team_members_account ON team_members(account_id, team_id);

CREATE TABLE job_teams (
    job_id   INTEGER NOT NULL,
    team_id  INTEGER NOT NULL,
    PRIMARY KEY (job_id, team_id)
);
CREATE INDEX job_teams_team ON job_teams(team_id, job_id);

ALTER TABLE workers ADD COLUMN account_id INTEGER;
CREATE UNIQUE INDEX workers_account ON workers(account_id, job_id) WHERE account_id IS NOT NULL;
