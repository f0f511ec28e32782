-- SLA engine (SQLite). Keep in step with migrations/postgres: same version names, same columns.

-- Business calendars; `definition` is the canonical JSON shape (timezone, hours, holidays).
CREATE TABLE sla_calendars (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Policies in evaluation order (position); `version` grows with every change.
CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every version of every policy, so a ticket's applied version stays readable.
CREATE TABLE sla_policy_versions (
    policy_id BIGINT NOT NULL REFERENCES sla_policies(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- The policy (and version) applied to a ticket.
CREATE TABLE sla_ticket_policies (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    policy_id BIGINT REFERENCES sla_policies(id) ON DELETE SET NULL,
    policy_name TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    applied_at TIMESTAMP NOT NULL
);

-- One clock per ticket and kind. While running, the business time left at `running_since` is
-- `remaining_secs`; `due_at` is the breach instant and `next_fire_at` the next warning or breach
-- still to fire (NULL when paused, stopped or all fired). `cycle` counts restarts (next_response).
CREATE TABLE sla_clocks (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    cycle INTEGER NOT NULL DEFAULT 1,
    policy_name TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    calendar_id BIGINT REFERENCES sla_calendars(id) ON DELETE SET NULL,
    target_secs BIGINT NOT NULL,
    target_text TEXT NOT NULL,
    remaining_secs BIGINT NOT NULL,
    running_since TIMESTAMP,
    due_at TIMESTAMP,
    next_fire_at TIMESTAMP,
    warn_percents TEXT NOT NULL DEFAULT '[]',
    warned INTEGER NOT NULL DEFAULT 0,
    breached BOOLEAN NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'met', 'stopped')),
    started_at TIMESTAMP NOT NULL,
    stopped_at TIMESTAMP,
    UNIQUE (ticket_id, kind)
);
CREATE INDEX sla_clocks_next_fire ON sla_clocks(next_fire_at) WHERE next_fire_at IS NOT NULL;

-- Exactly once: one row per (clock, cycle, warning/breach), whichever worker gets there first.
CREATE TABLE sla_firings (
    id INTEGER PRIMARY KEY,
    clock_id BIGINT NOT NULL REFERENCES sla_clocks(id) ON DELETE CASCADE,
    cycle INTEGER NOT NULL,
    kind TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    worker TEXT NOT NULL,
    UNIQUE (clock_id, cycle, kind)
);

-- In-app notifications for agents and supervisors.
CREATE TABLE sla_notifications (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    firing_id BIGINT NOT NULL REFERENCES sla_firings(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX sla_notifications_user ON sla_notifications(user_id, id);
