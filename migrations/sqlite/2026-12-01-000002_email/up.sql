-- E-mail channel (SQLite). Keep in step with migrations/postgres: same version names, same columns.

-- Every RFC 5322 Message-ID we received or sent, normalised (no <>, lower-case domain), with the
-- ticket it belongs to: threading by In-Reply-To/References and dedupe of re-delivered mail.
CREATE TABLE email_message_ids (
    id INTEGER PRIMARY KEY,
    rfc_id TEXT NOT NULL UNIQUE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES messages(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX email_message_ids_ticket ON email_message_ids(ticket_id, id);

-- The original of each inbound mail, viewable by agents (headers only when over the size limit).
CREATE TABLE email_raw (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    raw BLOB NOT NULL,
    size_bytes BIGINT NOT NULL,
    truncated BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Outbound mail per outbound message: what kind, to whom, under which Message-ID, last error.
CREATE TABLE email_outbound (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('reply', 'ack', 'resolution')),
    to_address TEXT NOT NULL,
    rfc_id TEXT NOT NULL UNIQUE,
    last_error TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

-- Addresses seen on a ticket's mail (From/Cc), allowed to use its [Tiket#…] subject tag.
CREATE TABLE email_participants (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    PRIMARY KEY (ticket_id, address)
);

-- Acknowledgements sent, for the per-address rate limit.
CREATE TABLE email_acks (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX email_acks_address ON email_acks(address, created_at);

-- Mail that opened nothing (auto-replies, bounces, loops that matched no ticket): kept for dedupe
-- and for the record.
CREATE TABLE email_ignored (
    id INTEGER PRIMARY KEY,
    rfc_id TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- IMAP cursor per configured mailbox (name = user@host/folder).
CREATE TABLE email_imap_state (
    mailbox TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
