-- Phone channel (SQLite). Keep in step with migrations/postgres: same version names, same columns.

-- One row per call session (the PBX's callId / Twilio's CallSid), folded from its events.
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL CHECK (source IN ('cti', 'twilio')),
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    from_raw TEXT NOT NULL,
    to_raw TEXT NOT NULL,
    from_number TEXT,
    to_number TEXT,
    -- The citizen's side in E.164 (from for inbound, to for outbound); NULL when anonymous.
    remote_number TEXT,
    queue TEXT,
    users TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL CHECK (state IN ('ringing', 'answered', 'completed', 'missed', 'forwarded', 'not_reached')),
    cause TEXT,
    answered_by TEXT,
    answering_number TEXT,
    blocked BOOLEAN NOT NULL DEFAULT 0,
    initialized_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    ended_at TIMESTAMP,
    waiting_secs BIGINT,
    talking_secs BIGINT,
    contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    ticket_id BIGINT REFERENCES tickets(id) ON DELETE SET NULL,
    recording_url TEXT,
    callback_due_at TIMESTAMP,
    callback_done_at TIMESTAMP,
    callback_done_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    callback_resolution TEXT,
    callback_call_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX calls_state_id ON calls(state, id);
CREATE INDEX calls_remote_number ON calls(remote_number, id);
CREATE INDEX calls_callbacks_open ON calls(callback_due_at) WHERE callback_due_at IS NOT NULL AND callback_done_at IS NULL;

-- Append-only log of every event received, one per (call, event): a repeat is not stored again.
CREATE TABLE call_events (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('newCall', 'answer', 'hangup')),
    payload TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (call_id, event)
);

-- Numbers whose calls the PBX is told to reject (admin data).
CREATE TABLE blocked_numbers (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
