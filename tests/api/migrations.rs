//! Migrations: up → down → up on both backends, and the two sets kept in step.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::connection::SimpleConnection;
use tanggap::config::{Secret, Settings};
use tanggap::db::Db;
use tanggap::db::migrations::{applied, revert_all, run_pending};

use crate::helpers::{drop_schema, fresh_database};

/// Drops the PostgreSQL schema when the test ends, pass or fail.
struct SchemaGuard(Option<String>);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Some(s) = &self.0 {
            drop_schema(s);
        }
    }
}

fn versions(dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
    std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().expect("type").is_dir())
        .map(|e| {
            for f in ["up.sql", "down.sql"] {
                assert!(e.path().join(f).is_file(), "{} lacks {f}", e.path().display());
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

crate::each_backend! {
    async fn up_down_up(backend) {
        let (url, _dir, schema) = fresh_database(backend);
        let _guard = SchemaGuard(schema);
        let mut settings = Settings::defaults();
        settings.database.url = Secret::new(url);
        settings.database.pool_size = 2;
        let db = Db::connect(&settings.database).expect("connect");
        let mut conn = db.write_conn().expect("conn");

        let up = run_pending(&mut conn).expect("up");
        assert!(!up.is_empty());
        assert_eq!(applied(&mut conn).expect("applied").len(), up.len());
        conn.batch_execute("SELECT count(*) FROM tickets").expect("tickets exists after up");
        // Nothing left to apply.
        assert!(run_pending(&mut conn).expect("again").is_empty());

        let mut down = revert_all(&mut conn).expect("down");
        down.reverse();
        assert_eq!(down, up);
        assert!(applied(&mut conn).expect("applied").is_empty());
        for table in ["tickets", "messages", "jobs", "users", "idempotency_keys"] {
            assert!(
                conn.batch_execute(&format!("SELECT count(*) FROM {table}")).is_err(),
                "{table} survived the revert"
            );
        }

        let again = run_pending(&mut conn).expect("up again");
        assert_eq!(again, up);
        conn.batch_execute("SELECT count(*) FROM tickets").expect("tickets exists after up again");
        drop(conn);

        // The schema is usable end to end after the round trip.
        let ctx = tanggap::context::AppContext::new(settings, db).expect("context");
        let n: i64 = ctx
            .db
            .read(|conn| tanggap::jobs::repo::count_pending(conn).map_err(tanggap::error::AppError::from))
            .await
            .expect("query");
        assert_eq!(n, 0);
    }
}
