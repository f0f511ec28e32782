//! Embedded migrations, one set per backend with identical version names.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations; returns the versions applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, BoxError> {
    let applied: Vec<String> = match conn {
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES)?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE)?
            .iter()
            .map(|v| v.to_string())
            .collect(),
    };
    Ok(applied)
}

/// Reverts every applied migration (used by tests and `migrate --revert-all`).
pub fn revert_all(conn: &mut DbConnection) -> Result<Vec<String>, BoxError> {
    let reverted: Vec<String> = match conn {
        DbConnection::Postgresql(c) => c
            .revert_all_migrations(POSTGRES)?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE)?.iter().map(|v| v.to_string()).collect(),
    };
    Ok(reverted)
}

/// Versions applied to this database.
pub fn applied(conn: &mut DbConnection) -> Result<Vec<String>, BoxError> {
    let applied: Vec<String> = match conn {
        DbConnection::Postgresql(c) => c.applied_migrations()?.iter().map(|v| v.to_string()).collect(),
        DbConnection::Sqlite(c) => c.applied_migrations()?.iter().map(|v| v.to_string()).collect(),
    };
    Ok(applied)
}
