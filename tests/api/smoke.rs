use serde_json::json;

crate::both_backends! {
    async fn runs_on_the_backend_it_names(app) {
        let expected = match app.backend {
            crate::helpers::Backend::Sqlite => tanggap::db::Backend::Sqlite,
            crate::helpers::Backend::Postgres => tanggap::db::Backend::Postgres,
        };
        assert_eq!(app.ctx.db.backend(), expected);
        let (status, body) = app.get(&app.agent_token, "/readyz").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["database"], "ok");
    }

    async fn create_and_fetch_ticket(app) {
        let created = app.create_ticket("Sampah menumpuk di TPS", "0812-3456-7890").await;
        let id = created["id"].as_i64().unwrap();
        let (status, body) = app.get(&app.agent_token, &format!("/api/v1/tickets/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["contact"]["identities"][0]["value"], "+6281234567890");
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
        let (status, _) = app.post(&app.agent_token, &format!("/api/v1/tickets/{id}/messages"), &json!({"kind": "reply", "body": "Baik, kami tindak lanjuti."})).await;
        assert_eq!(status, 201);
        assert!(app.run_jobs().await >= 1);
    }
}

/// PostgreSQL only: the pool does not probe connections on checkout, so a connection whose server
/// went away must be noticed when it fails and replaced, not handed out again and again.
#[actix_web::test]
async fn a_lost_postgres_connection_is_replaced() {
    let app_name = format!("tg_lost_{}", uuid::Uuid::new_v4().simple());
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Postgres, |s| {
        let url = format!("{}&application_name={app_name}", s.database.url.expose());
        s.database.url = tanggap::config::Secret::new(url);
    })
    .await;
    let (status, body) = app.get(&app.agent_token, "/api/v1/users/me").await;
    assert_eq!(status, 200, "{body}");

    // Kill every server process serving this app, as a PostgreSQL restart would.
    let terminated = {
        use diesel::{Connection, RunQueryDsl};
        let mut admin = diesel::PgConnection::establish(&crate::helpers::pg_base_url()).expect("connect");
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = '{app_name}'"
        ))
        .get_result::<N>(&mut admin)
        .expect("terminate")
        .n
    };
    assert!(terminated >= 1, "the app held no connection");

    // Each dead connection fails one request with a 503, is dropped, and then the app recovers.
    // (The inbox reads the database on every request; `users/me` would be answered from the
    // verified-token cache.)
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = app.get(&app.agent_token, "/api/v1/tickets").await;
        statuses.push(status);
    }
    let failed = statuses.iter().filter(|s| **s != 200).count() as i64;
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    assert!(
        failed <= terminated,
        "{failed} failures for {terminated} dead connections: {statuses:?}"
    );
    assert!(statuses[statuses.len() - 4..].iter().all(|s| *s == 200), "{statuses:?}");
    let created = app.create_ticket("Lampu jalan mati", "0812-1111-2222").await;
    assert!(created["id"].as_i64().is_some(), "{created}");
}
