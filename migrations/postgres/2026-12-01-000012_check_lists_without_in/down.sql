-- Nothing to undo (see up.sql). Keep in step with migrations/sqlite: same version names.
SELECT 1;
