-- Contact attributes (PostgreSQL): a JSON object of string keys to string values, e.g.
-- {"segment": "vip"}, set by agents and matched by SLA policy conditions (`conditions.contact`).
-- Text like every JSON column here, so both backends share the schema.
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
