-- Automatic assignment (routing). Keep in step with migrations/postgres: same version names, same columns.

-- Per team: route its unassigned tickets to its agents automatically, and how many open tickets
-- (new, open, pending, on_hold) the router gives one agent at most.
ALTER TABLE teams ADD COLUMN auto_assign BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN max_open_per_agent INTEGER NOT NULL DEFAULT 25;

-- Per user: takes tickets from the router now (off until the agent says so), and when a ticket
-- was last assigned to them (round robin among equally loaded agents).
ALTER TABLE users ADD COLUMN available BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_assigned_at TIMESTAMP;

-- Who changed whose availability, and when.
CREATE TABLE availability_changes (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    available BOOLEAN NOT NULL,
    changed_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX availability_changes_user ON availability_changes(user_id, id);

