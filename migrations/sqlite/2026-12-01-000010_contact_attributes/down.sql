ALTER TABLE contacts DROP COLUMN attributes;
