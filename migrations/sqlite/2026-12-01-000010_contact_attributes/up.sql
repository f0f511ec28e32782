-- Contact attributes (SQLite): a JSON object of string keys to string values, e.g.
-- {"segment": "vip"}, set by agents and matched by SLA policy conditions (`conditions.contact`).
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
