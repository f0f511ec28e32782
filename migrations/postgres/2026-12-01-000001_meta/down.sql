ALTER TABLE tickets DROP COLUMN thread_key;
ALTER TABLE attachments DROP COLUMN source_url;
DROP INDEX messages_held;
ALTER TABLE messages DROP COLUMN deleted_at;
ALTER TABLE messages DROP COLUMN edited_at;
ALTER TABLE messages DROP COLUMN delivery_error;
ALTER TABLE messages DROP COLUMN metadata;
DROP TABLE inbound_events;
