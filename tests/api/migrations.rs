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

/// SQLite builds a temporary index for a CHECK's IN list on every write (see the migration
/// `2026-12-01-000012_check_lists_without_in`): after all migrations no table may have one, and
/// the rewritten constraints still refuse what the lists refused.
#[test]
fn sqlite_check_constraints_use_no_in_lists() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let (url, _dir, _) = fresh_database(crate::helpers::Backend::Sqlite);
    let mut settings = Settings::defaults();
    settings.database.url = Secret::new(url);
    let db = Db::connect(&settings.database).expect("connect");
    let mut conn = db.write_conn().expect("conn");
    run_pending(&mut conn).expect("up");
    let tanggap::db::DbConnection::Sqlite(c) = &mut *conn else {
        unreachable!("a SQLite URL")
    };
    let with_lists: Vec<String> =
        diesel::sql_query("SELECT name FROM sqlite_schema WHERE type = 'table' AND upper(sql) GLOB '*[ (]IN (*'")
            .load::<Name>(c)
            .expect("schema")
            .into_iter()
            .map(|n| n.name)
            .collect();
    assert!(with_lists.is_empty(), "CHECK constraints with IN lists: {with_lists:?}");

    c.batch_execute(
        "INSERT INTO users (email, name, role, created_at) VALUES ('a@x.example', 'A', 'agent', '2026-12-01 00:00:00')",
    )
    .expect("a listed role is accepted");
    let refused = c
        .batch_execute("INSERT INTO users (email, name, role, created_at) VALUES ('r@x.example', 'R', 'robot', '2026-12-01 00:00:00')")
        .expect_err("a role outside the list is refused");
    assert!(refused.to_string().contains("CHECK constraint failed"), "{refused}");
}

/// The rebuild keeps every row and every foreign key: rows written before it are all there after
/// it, nothing dangles, and a delete still cascades from the rebuilt `tickets` into the rebuilt
/// `messages`, `ticket_events` and `sla_clocks`.
#[test]
fn sqlite_check_list_rebuild_keeps_rows_and_foreign_keys() {
    use diesel::RunQueryDsl;
    use diesel_migrations::MigrationHarness;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |c: &mut diesel::SqliteConnection, sql: &str| -> i64 {
        diesel::sql_query(sql).get_result::<Count>(c).expect(sql).n
    };
    let (url, _dir, _) = fresh_database(crate::helpers::Backend::Sqlite);
    let mut settings = Settings::defaults();
    settings.database.url = Secret::new(url);
    let db = Db::connect(&settings.database).expect("connect");
    let mut conn = db.write_conn().expect("conn");
    let tanggap::db::DbConnection::Sqlite(c) = &mut *conn else {
        unreachable!("a SQLite URL")
    };
    // Everything before the rebuild (diesel writes versions without their dashes).
    while !c
        .applied_migrations()
        .expect("applied")
        .iter()
        .any(|v| v.to_string().replace('-', "") == "20261201000011")
    {
        c.run_next_migration(tanggap::db::migrations::SQLITE)
            .expect("next migration");
    }
    c.batch_execute(
        "INSERT INTO users (id, email, name, role, created_at) VALUES (1, 'a@x.example', 'A', 'agent', '2026-12-01 00:00:00');
         INSERT INTO auth_tokens (user_id, kind, token_hash, created_at) VALUES (1, 'api', 'h', '2026-12-01 00:00:00');
         INSERT INTO contacts (id, name, created_at, updated_at) VALUES (1, 'Ani', '2026-12-01 00:00:00', '2026-12-01 00:00:00');
         INSERT INTO contact_identities (contact_id, kind, value, created_at) VALUES (1, 'phone', '+6281234567890', '2026-12-01 00:00:00');
         INSERT INTO tickets (id, number, access_token_hash, subject, status, priority, channel, contact_id, assignee_id, created_at, updated_at)
             VALUES (1, 'T-1', 'h', 'Lampu mati', 'open', 'high', 'phone', 1, 1, '2026-12-01 00:00:00', '2026-12-01 00:00:00');
         INSERT INTO messages (ticket_id, direction, channel, author_contact_id, body_text, delivery_state, created_at)
             VALUES (1, 'inbound', 'phone', 1, 'Sejak kemarin', 'received', '2026-12-01 00:00:00');
         INSERT INTO ticket_events (ticket_id, actor_kind, actor_id, kind, created_at) VALUES (1, 'user', 1, 'created', '2026-12-01 00:00:00');
         INSERT INTO sla_clocks (ticket_id, kind, policy_name, policy_version, target_secs, target_text, remaining_secs, state, started_at)
             VALUES (1, 'resolution', 'Standar', 1, 3600, '1h', 3600, 'running', '2026-12-01 00:00:00');",
    )
    .expect("rows before the rebuild");

    run_pending(&mut conn).expect("the rebuild");
    let tanggap::db::DbConnection::Sqlite(c) = &mut *conn else {
        unreachable!("a SQLite URL")
    };
    for (table, n) in [
        ("users", 1),
        ("auth_tokens", 1),
        ("contact_identities", 1),
        ("tickets", 1),
        ("messages", 1),
        ("ticket_events", 1),
        ("sla_clocks", 1),
    ] {
        assert_eq!(count(c, &format!("SELECT count(*) AS n FROM {table}")), n, "{table}");
    }
    assert_eq!(count(c, "SELECT count(*) AS n FROM pragma_foreign_key_check"), 0);
    assert_eq!(
        count(
            c,
            "SELECT count(*) AS n FROM pragma_foreign_keys WHERE foreign_keys = 1"
        ),
        1
    );
    assert_eq!(
        count(
            c,
            "SELECT count(*) AS n FROM tickets WHERE assignee_id = 1 AND status = 'open'"
        ),
        1
    );
    c.batch_execute("DELETE FROM tickets WHERE id = 1").expect("delete");
    for table in ["messages", "ticket_events", "sla_clocks"] {
        assert_eq!(
            count(c, &format!("SELECT count(*) AS n FROM {table}")),
            0,
            "{table} after the cascade"
        );
    }
}
