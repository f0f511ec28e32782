DROP TABLE email_imap_state;
DROP TABLE email_ignored;
DROP TABLE email_acks;
DROP TABLE email_participants;
DROP TABLE email_outbound;
DROP TABLE email_raw;
DROP TABLE email_message_ids;
