-- Meta (Instagram, WhatsApp) channel. Keep in step with migrations/sqlite.

-- Every signed webhook body, stored as received before it is acknowledged; a job turns it into
-- messages. Bodies that cannot be understood stay here as `failed` for admins to inspect.
CREATE TABLE inbound_events (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL CHECK (source IN ('instagram', 'whatsapp')),
    payload BYTEA NOT NULL,
    received_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processed', 'failed')),
    outcome TEXT,
    processed_at TIMESTAMP
);
CREATE INDEX inbound_events_state ON inbound_events (state, id);

-- Channel details of a message (reply_to, story, reactions, comment ids, reply route) as JSON,
-- why its delivery failed or is held, and edits/unsends by the citizen.
ALTER TABLE messages ADD COLUMN metadata TEXT;
ALTER TABLE messages ADD COLUMN delivery_error TEXT;
ALTER TABLE messages ADD COLUMN edited_at TIMESTAMP;
ALTER TABLE messages ADD COLUMN deleted_at TIMESTAMP;
CREATE INDEX messages_held ON messages (ticket_id) WHERE delivery_state = 'held';

-- Media the platform only gives as a link (Instagram CDN, WhatsApp media id).
ALTER TABLE attachments ADD COLUMN source_url TEXT;

-- A conversation inside a channel that is not the contact's direct thread, e.g. the comments of
-- one citizen under one Instagram post ("ig-comments:<media id>"). NULL for direct messages.
ALTER TABLE tickets ADD COLUMN thread_key TEXT;
