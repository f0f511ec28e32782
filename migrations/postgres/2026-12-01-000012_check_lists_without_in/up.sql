-- Keep in step with migrations/sqlite: same version names. That migration rewrites SQLite's CHECK
-- constraints from IN lists to ORs of equalities, because SQLite builds a temporary index for each
-- IN list on every write. PostgreSQL evaluates an IN list of constants in place, so nothing
-- changes here.
SELECT 1;
