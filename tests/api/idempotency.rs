//! `Idempotency-Key` on POST: a replay gets the first response and creates nothing; the same
//! key with another request is refused; racing replays create exactly one ticket.

use serde_json::{Value, json};

fn complaint(subject: &str) -> Value {
    json!({
        "subject": subject,
        "body": "Air PDAM keruh sejak pagi.",
        "channel": "phone",
        "contact": { "name": "Dewi", "phone": "081277778888" },
    })
}

async fn all_tickets(app: &crate::helpers::TestApp) -> Vec<Value> {
    let (status, body) = app.get(&app.agent_token, "/api/v1/tickets?limit=200").await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

crate::both_backends! {
    async fn replay_returns_the_first_response(app) {
        let key = [("Idempotency-Key", "c0ffee-0001")];
        let (s1, first) = app.post_with_headers(&app.agent_token, "/api/v1/tickets", &complaint("Air keruh"), &key).await;
        assert_eq!(s1, 201, "{first}");
        assert!(first["access_token"].as_str().is_some_and(|t| !t.is_empty()));
        app.clock.advance(chrono::Duration::minutes(3));
        let (s2, second) = app.post_with_headers(&app.agent_token, "/api/v1/tickets", &complaint("Air keruh"), &key).await;
        assert_eq!(s2, 201, "{second}");
        assert_eq!(second, first);
        assert_eq!(second["id"], first["id"]);
        assert_eq!(second["number"], first["number"]);
        assert_eq!(second["access_token"], first["access_token"]);

        let tickets = all_tickets(&app).await;
        assert_eq!(tickets.len(), 1, "{tickets:?}");
        let ticket = app.ticket(first["id"].as_i64().unwrap()).await;
        assert_eq!(ticket["messages"].as_array().unwrap().len(), 1);

        // Without a key, the same body is a new complaint.
        let (s3, third) = app.post(&app.agent_token, "/api/v1/tickets", &complaint("Air keruh")).await;
        assert_eq!(s3, 201);
        assert_ne!(third["id"], first["id"]);
        assert_eq!(all_tickets(&app).await.len(), 2);
    }

    async fn same_key_with_another_request_is_409(app) {
        let key = [("Idempotency-Key", "c0ffee-0002")];
        let (status, first) = app.post_with_headers(&app.agent_token, "/api/v1/tickets", &complaint("Air keruh"), &key).await;
        assert_eq!(status, 201, "{first}");
        let (status, body) = app.post_with_headers(&app.agent_token, "/api/v1/tickets", &complaint("Air berbau"), &key).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "idempotency_key_reused");
        // The same key on another endpoint is another request too.
        let (status, body) = app
            .post_with_headers(&app.agent_token, "/api/v1/contacts", &json!({ "name": "Rudi", "phone": "081299990000" }), &key)
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "idempotency_key_reused");
        assert_eq!(all_tickets(&app).await.len(), 1);
        let (_, contacts) = app.get(&app.agent_token, "/api/v1/contacts").await;
        assert_eq!(contacts["items"].as_array().unwrap().len(), 1, "{contacts}");
    }

    async fn keys_belong_to_one_user(app) {
        let key = [("Idempotency-Key", "shared-key")];
        let (s1, a) = app.post_with_headers(&app.agent_token, "/api/v1/tickets", &complaint("Air keruh"), &key).await;
        let (s2, b) = app.post_with_headers(&app.supervisor_token, "/api/v1/tickets", &complaint("Air keruh"), &key).await;
        assert_eq!((s1, s2), (201, 201), "{a} {b}");
        assert_ne!(a["id"], b["id"]);
        assert_eq!(all_tickets(&app).await.len(), 2);
    }

    async fn bad_keys_are_refused(app) {
        let long = "k".repeat(256);
        for bad in ["   ", long.as_str()] {
            let (status, body) = app
                .post_with_headers(&app.agent_token, "/api/v1/tickets", &complaint("Air keruh"), &[("Idempotency-Key", bad)])
                .await;
            assert_eq!(status, 422, "{body}");
            assert!(body["errors"]["Idempotency-Key"].is_string(), "{body}");
        }
        assert!(all_tickets(&app).await.is_empty());
    }

    async fn replayed_message_is_stored_once(app) {
        let t = app.create_ticket("Lampu padam", "081277770001").await;
        let path = format!("/api/v1/tickets/{}/messages", t["id"]);
        let key = [("Idempotency-Key", "reply-1")];
        let body = json!({ "kind": "reply", "body": "Petugas menuju lokasi." });
        let (s1, m1) = app.post_with_headers(&app.agent_token, &path, &body, &key).await;
        let (s2, m2) = app.post_with_headers(&app.agent_token, &path, &body, &key).await;
        assert_eq!((s1, s2), (201, 201), "{m1} {m2}");
        assert_eq!(m1, m2);
        let ticket = app.ticket(t["id"].as_i64().unwrap()).await;
        let outbound = ticket["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "outbound").count();
        assert_eq!(outbound, 1);
        // Exactly one delivery was queued.
        assert_eq!(app.run_jobs().await, 1);
    }

    async fn racing_replays_create_exactly_one_ticket(app) {
        let mut handles = Vec::new();
        for _ in 0..10 {
            let rb = app
                .http
                .post(app.url("/api/v1/tickets"))
                .bearer_auth(&app.agent_token)
                .header("Idempotency-Key", "race-0001")
                .json(&complaint("Banjir di RT 05"));
            handles.push(tokio::spawn(async move {
                let r = rb.send().await.expect("request");
                crate::helpers::split(r).await
            }));
        }
        let mut bodies = Vec::new();
        for h in handles {
            let (status, body) = h.await.expect("task");
            assert_eq!(status, 201, "{body}");
            bodies.push(body);
        }
        for b in &bodies {
            assert_eq!(b, &bodies[0]);
        }
        let tickets = all_tickets(&app).await;
        assert_eq!(tickets.len(), 1, "{tickets:?}");
        assert_eq!(tickets[0]["id"], bodies[0]["id"]);
        let (_, contacts) = app.get(&app.agent_token, "/api/v1/contacts").await;
        assert_eq!(contacts["items"].as_array().unwrap().len(), 1, "{contacts}");
    }
}
