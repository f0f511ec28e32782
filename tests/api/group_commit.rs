//! Group commit: concurrent writes share transactions (one per batch). A write that fails inside
//! a batch must leave nothing behind and must not take the others down; every write keeps its own
//! audit events, in order.

use diesel::prelude::*;
use serde_json::{Value, json};
use tanggap::db::schema::{contact_identities, ticket_events, tickets};

fn complaint(i: usize, category: Option<i64>) -> Value {
    let mut body = json!({
        "subject": format!("Lampu jalan mati di gang {i}"),
        "body": "Sudah tiga malam gelap.",
        "channel": "phone",
        "contact": { "name": format!("Warga {i}"), "phone": format!("0812{:08}", 3_000_000 + i) },
    });
    if let Some(c) = category {
        body["category"] = json!(c);
    }
    body
}

/// A ticket's event kinds straight from the table, oldest first.
fn event_kinds(conn: &mut tanggap::db::DbConnection, ticket: i64) -> Vec<String> {
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket))
        .order(ticket_events::id.asc())
        .select(ticket_events::kind)
        .load(conn)
        .unwrap()
}

crate::both_backends! {
    async fn a_failing_write_in_a_batch_leaves_nothing_and_spares_the_others(app) {
        // Every fourth complaint names a category that does not exist: it fails with 422 after
        // its contact was already written in the shared transaction.
        let n = 48;
        let requests = (0..n).map(|i| {
            let app = &app;
            async move {
                let bad = i % 4 == 0;
                let (status, body) = app.post(&app.agent_token, "/api/v1/tickets", &complaint(i, bad.then_some(999_999))).await;
                (i, bad, status, body)
            }
        });
        let answers = futures_util::future::join_all(requests).await;
        let mut created = Vec::new();
        for (i, bad, status, body) in &answers {
            if *bad {
                assert_eq!(*status, 422, "request {i}: {body}");
                assert!(body["errors"]["category"].is_string(), "request {i}: {body}");
            } else {
                assert_eq!(*status, 201, "request {i}: {body}");
                created.push(body.clone());
            }
        }
        assert_eq!(created.len(), n - n / 4);

        let mut conn = app.ctx.db.read_conn().unwrap();
        // Nothing of a refused complaint was kept: not its contact, not a ticket.
        let phones: Vec<String> = contact_identities::table
            .select(contact_identities::value)
            .load(&mut *conn)
            .unwrap();
        for (i, bad, _, _) in &answers {
            let phone = format!("+62812{:08}", 3_000_000 + i);
            assert_eq!(phones.contains(&phone), !bad, "contact of request {i} ({phone})");
        }
        let stored: i64 = tickets::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(stored as usize, created.len());

        // Each stored ticket has its own events, "created" first, then its message.
        let mut numbers = std::collections::HashSet::new();
        for t in &created {
            let id = t["id"].as_i64().unwrap();
            assert!(numbers.insert(t["number"].as_str().unwrap().to_string()), "number reused: {t}");
            assert_eq!(event_kinds(&mut conn, id), ["created", "message_added"], "ticket {id}");
            let detail = app.ticket(id).await;
            assert_eq!(detail["messages"].as_array().unwrap().len(), 1, "{detail}");
            assert_eq!(detail["events"].as_array().unwrap().len(), 2, "{detail}");
        }
        let events: i64 = ticket_events::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(events as usize, 2 * created.len());
    }

    async fn a_ticket_created_after_a_policy_change_gets_the_new_policy(app) {
        // Complaints keep arriving from eight clients the whole time, so the policy change is
        // written among batches of ticket creations that read the policies once per batch.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let post = |i: usize| {
            let app = &app;
            async move {
                let (status, body) = app.post(&app.agent_token, "/api/v1/tickets", &complaint(i, None)).await;
                assert_eq!(status, 201, "{body}");
                body["id"].as_i64().unwrap()
            }
        };
        let load = async {
            let mut round = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                futures_util::future::join_all((0..8).map(|k| post(1_000 + round * 8 + k))).await;
                round += 1;
            }
        };
        let change = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let policy = json!({ "name": "semua", "position": 10,
                "targets": { "first_response": { "target": "4h", "calendar": "jakarta-cc" } } });
            crate::sla::setup(&app, &[policy]).await;
            // Every complaint sent after the policy was acknowledged gets it.
            let after = futures_util::future::join_all((0..16).map(|k| post(500 + k))).await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            after
        };
        let ((), after) = futures_util::future::join(load, change).await;
        let mut conn = app.ctx.db.read_conn().unwrap();
        for id in after {
            assert_eq!(event_kinds(&mut conn, id), ["created", "sla_policy_applied", "message_added"], "ticket {id}");
        }
    }
}

/// SQLite's WAL is copied back by a checkpoint thread instead of inside the writer's commits (see
/// `tanggap::db::Checkpoints`). Under writes that never pause, a checkpoint running beside the
/// writer never copies all of the WAL, and SQLite only starts it over once one has: unless the
/// writer finishes one (when asked, or at SQLite's raised threshold of 10,000 pages) the WAL
/// grows by everything written. 200 MiB are written here by 16 writers at once: a WAL smaller than
/// that has started over (without either, it grew to 219 MB; alone, this test sees 40–60 MB, but
/// it shares two cores with the whole suite, which can starve the checkpoint thread).
#[actix_web::test]
async fn sqlite_wal_starts_over_under_constant_writes() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let writes: usize = 3200;
    let per_task = writes / 16;
    let tasks = (0..16).map(|_| {
        let ctx = app.ctx.clone();
        async move {
            for _ in 0..per_task {
                ctx.write(|conn| {
                    diesel::sql_query(
                        "INSERT INTO inbound_events (source, payload, received_at) \
                         VALUES ('instagram', randomblob(65536), '2026-12-01 00:00:00')",
                    )
                    .execute(conn)?;
                    Ok(())
                })
                .await
                .expect("write");
            }
        }
    });
    futures_util::future::join_all(tasks).await;

    let url = app.ctx.settings.database.url.expose().to_string();
    let wal = format!("{}-wal", url.strip_prefix("sqlite://").expect("a SQLite URL"));
    let wal_bytes = std::fs::metadata(&wal).expect("the WAL file").len();
    let written = writes as u64 * 65536;
    assert!(
        wal_bytes < written,
        "the WAL grew to {wal_bytes} bytes for {written} bytes written"
    );
    let mut conn = app.ctx.db.read_conn().unwrap();
    let stored: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM inbound_events")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(stored, writes as i64);
}
