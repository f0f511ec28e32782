-- CHECK constraints as ORs of equalities instead of IN lists. Keep in step with migrations/postgres:
-- same version names (there this migration changes nothing).
--
-- SQLite evaluates `x IN ('a', 'b', 'c')` (more than two constants) by building a temporary index
-- of the list every time a statement runs, so each INSERT or UPDATE of these tables opened,
-- filled and freed one per constrained column. Creating a ticket writes eight such rows (identity,
-- ticket, message, events, SLA clocks), and the temporary indexes were about 14 % of the single
-- writer thread's time. `x = 'a' OR x = 'b' OR x = 'c'` accepts exactly the same values and is
-- evaluated in place. CHECK constraints cannot be altered in SQLite, so each table is rebuilt the
-- way https://www.sqlite.org/lang_altertable.html#otheralter describes: with foreign keys off,
-- create the new table, copy the rows, drop the old one, rename the new one and create its
-- indexes again, all in one transaction.
--
-- The test `sqlite_check_constraints_use_no_in_lists` keeps new migrations from adding IN lists.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- users
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role = 'agent' OR role = 'supervisor' OR role = 'admin'),
    password_hash TEXT,
    team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL
, available BOOLEAN NOT NULL DEFAULT 0, last_assigned_at TIMESTAMP);
INSERT INTO users_new (id, email, name, role, password_hash, team_id, active, created_at, available, last_assigned_at)
    SELECT id, email, name, role, password_hash, team_id, active, created_at, available, last_assigned_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

-- auth_tokens
CREATE TABLE auth_tokens_new (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind = 'api' OR kind = 'session'),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);
INSERT INTO auth_tokens_new (id, user_id, kind, token_hash, label, created_at, expires_at, revoked_at)
    SELECT id, user_id, kind, token_hash, label, created_at, expires_at, revoked_at FROM auth_tokens;
DROP TABLE auth_tokens;
ALTER TABLE auth_tokens_new RENAME TO auth_tokens;
CREATE INDEX auth_tokens_user ON auth_tokens(user_id);

-- contact_identities
CREATE TABLE contact_identities_new (
    id INTEGER PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind = 'email' OR kind = 'phone' OR kind = 'instagram' OR kind = 'whatsapp' OR kind = 'chat'),
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, value)
);
INSERT INTO contact_identities_new (id, contact_id, kind, value, created_at)
    SELECT id, contact_id, kind, value, created_at FROM contact_identities;
DROP TABLE contact_identities;
ALTER TABLE contact_identities_new RENAME TO contact_identities;
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

-- tickets
CREATE TABLE tickets_new (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    access_token_hash TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status = 'new' OR status = 'open' OR status = 'pending' OR status = 'on_hold' OR status = 'resolved' OR status = 'closed'),
    priority TEXT NOT NULL CHECK (priority = 'low' OR priority = 'normal' OR priority = 'high' OR priority = 'urgent'),
    channel TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    category_id BIGINT REFERENCES categories(id) ON DELETE SET NULL,
    team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    parent_ticket_id BIGINT REFERENCES tickets(id),
    language TEXT NOT NULL DEFAULT 'id',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP,
    last_inbound_at TIMESTAMP
, thread_key TEXT);
INSERT INTO tickets_new (id, number, access_token_hash, subject, status, priority, channel, contact_id, category_id, team_id, assignee_id, parent_ticket_id, language, created_at, updated_at, first_response_at, resolved_at, closed_at, last_inbound_at, thread_key)
    SELECT id, number, access_token_hash, subject, status, priority, channel, contact_id, category_id, team_id, assignee_id, parent_ticket_id, language, created_at, updated_at, first_response_at, resolved_at, closed_at, last_inbound_at, thread_key FROM tickets;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
CREATE INDEX tickets_status_id ON tickets(status, id);
CREATE INDEX tickets_contact_channel ON tickets(contact_id, channel, id);
CREATE INDEX tickets_assignee_id ON tickets(assignee_id, id);
CREATE INDEX tickets_team_id ON tickets(team_id, id);
CREATE INDEX tickets_created_at ON tickets(created_at);
CREATE INDEX tickets_resolved_at ON tickets(resolved_at) WHERE status = 'resolved';

-- messages
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction = 'inbound' OR direction = 'outbound' OR direction = 'note'),
    channel TEXT NOT NULL,
    author_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    author_contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    external_id TEXT,
    delivery_state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL, metadata TEXT, delivery_error TEXT, edited_at TIMESTAMP, deleted_at TIMESTAMP,
    UNIQUE (channel, external_id)
);
INSERT INTO messages_new (id, ticket_id, direction, channel, author_user_id, author_contact_id, body_text, body_html, external_id, delivery_state, created_at, metadata, delivery_error, edited_at, deleted_at)
    SELECT id, ticket_id, direction, channel, author_user_id, author_contact_id, body_text, body_html, external_id, delivery_state, created_at, metadata, delivery_error, edited_at, deleted_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_ticket ON messages(ticket_id, id);
CREATE INDEX messages_held ON messages (ticket_id) WHERE delivery_state = 'held';

-- ticket_events
CREATE TABLE ticket_events_new (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    actor_kind TEXT NOT NULL CHECK (actor_kind = 'user' OR actor_kind = 'contact' OR actor_kind = 'system'),
    actor_id BIGINT,
    kind TEXT NOT NULL,
    before_value TEXT,
    after_value TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO ticket_events_new (id, ticket_id, actor_kind, actor_id, kind, before_value, after_value, created_at)
    SELECT id, ticket_id, actor_kind, actor_id, kind, before_value, after_value, created_at FROM ticket_events;
DROP TABLE ticket_events;
ALTER TABLE ticket_events_new RENAME TO ticket_events;
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);

-- inbound_events
CREATE TABLE inbound_events_new (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL CHECK (source = 'instagram' OR source = 'whatsapp'),
    payload BLOB NOT NULL,
    received_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state = 'pending' OR state = 'processed' OR state = 'failed'),
    outcome TEXT,
    processed_at TIMESTAMP
);
INSERT INTO inbound_events_new (id, source, payload, received_at, state, outcome, processed_at)
    SELECT id, source, payload, received_at, state, outcome, processed_at FROM inbound_events;
DROP TABLE inbound_events;
ALTER TABLE inbound_events_new RENAME TO inbound_events;
CREATE INDEX inbound_events_state ON inbound_events (state, id);

-- email_message_ids
CREATE TABLE email_message_ids_new (
    id INTEGER PRIMARY KEY,
    rfc_id TEXT NOT NULL UNIQUE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES messages(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction = 'inbound' OR direction = 'outbound'),
    created_at TIMESTAMP NOT NULL
);
INSERT INTO email_message_ids_new (id, rfc_id, ticket_id, message_id, direction, created_at)
    SELECT id, rfc_id, ticket_id, message_id, direction, created_at FROM email_message_ids;
DROP TABLE email_message_ids;
ALTER TABLE email_message_ids_new RENAME TO email_message_ids;
CREATE INDEX email_message_ids_ticket ON email_message_ids(ticket_id, id);

-- email_outbound
CREATE TABLE email_outbound_new (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind = 'reply' OR kind = 'ack' OR kind = 'resolution'),
    to_address TEXT NOT NULL,
    rfc_id TEXT NOT NULL UNIQUE,
    last_error TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO email_outbound_new (message_id, kind, to_address, rfc_id, last_error, sent_at, created_at)
    SELECT message_id, kind, to_address, rfc_id, last_error, sent_at, created_at FROM email_outbound;
DROP TABLE email_outbound;
ALTER TABLE email_outbound_new RENAME TO email_outbound;

-- calls
CREATE TABLE calls_new (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL CHECK (source = 'cti' OR source = 'twilio'),
    direction TEXT NOT NULL CHECK (direction = 'in' OR direction = 'out'),
    from_raw TEXT NOT NULL,
    to_raw TEXT NOT NULL,
    from_number TEXT,
    to_number TEXT,
    -- The citizen's side in E.164 (from for inbound, to for outbound); NULL when anonymous.
    remote_number TEXT,
    queue TEXT,
    users TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL CHECK (state = 'ringing' OR state = 'answered' OR state = 'completed' OR state = 'missed' OR state = 'forwarded' OR state = 'not_reached'),
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
INSERT INTO calls_new (id, call_id, source, direction, from_raw, to_raw, from_number, to_number, remote_number, queue, users, state, cause, answered_by, answering_number, blocked, initialized_at, answered_at, ended_at, waiting_secs, talking_secs, contact_id, ticket_id, recording_url, callback_due_at, callback_done_at, callback_done_by, callback_resolution, callback_call_id, created_at, updated_at)
    SELECT id, call_id, source, direction, from_raw, to_raw, from_number, to_number, remote_number, queue, users, state, cause, answered_by, answering_number, blocked, initialized_at, answered_at, ended_at, waiting_secs, talking_secs, contact_id, ticket_id, recording_url, callback_due_at, callback_done_at, callback_done_by, callback_resolution, callback_call_id, created_at, updated_at FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
CREATE INDEX calls_state_id ON calls(state, id);
CREATE INDEX calls_remote_number ON calls(remote_number, id);
CREATE INDEX calls_callbacks_open ON calls(callback_due_at) WHERE callback_due_at IS NOT NULL AND callback_done_at IS NULL;

-- call_events
CREATE TABLE call_events_new (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event = 'newCall' OR event = 'answer' OR event = 'hangup'),
    payload TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (call_id, event)
);
INSERT INTO call_events_new (id, call_id, event, payload, received_at)
    SELECT id, call_id, event, payload, received_at FROM call_events;
DROP TABLE call_events;
ALTER TABLE call_events_new RENAME TO call_events;

-- sla_clocks
CREATE TABLE sla_clocks_new (
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
    state TEXT NOT NULL CHECK (state = 'running' OR state = 'paused' OR state = 'met' OR state = 'stopped'),
    started_at TIMESTAMP NOT NULL,
    stopped_at TIMESTAMP,
    UNIQUE (ticket_id, kind)
);
INSERT INTO sla_clocks_new (id, ticket_id, kind, cycle, policy_name, policy_version, calendar_id, target_secs, target_text, remaining_secs, running_since, due_at, next_fire_at, warn_percents, warned, breached, state, started_at, stopped_at)
    SELECT id, ticket_id, kind, cycle, policy_name, policy_version, calendar_id, target_secs, target_text, remaining_secs, running_since, due_at, next_fire_at, warn_percents, warned, breached, state, started_at, stopped_at FROM sla_clocks;
DROP TABLE sla_clocks;
ALTER TABLE sla_clocks_new RENAME TO sla_clocks;
CREATE INDEX sla_clocks_next_fire ON sla_clocks(next_fire_at) WHERE next_fire_at IS NOT NULL;

COMMIT;
PRAGMA foreign_keys = ON;
