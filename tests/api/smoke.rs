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
