DROP TABLE availability_changes;
ALTER TABLE users DROP COLUMN last_assigned_at;
ALTER TABLE users DROP COLUMN available;
ALTER TABLE teams DROP COLUMN max_open_per_agent;
ALTER TABLE teams DROP COLUMN auto_assign;
