//! The citizen's status lookup: number + token, no account. It shows the public conversation
//! and status changes, never internal notes or agent identities, and gives nothing away to
//! someone guessing numbers or tokens.

use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn lookup(app: &TestApp, number: &str, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut path = format!("/api/v1/public/tickets/{number}");
    if let Some(t) = token {
        path.push_str(&format!("?token={t}"));
    }
    app.send(app.http.get(app.url(&path))).await
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

crate::both_backends! {
    async fn citizen_sees_status_and_public_timeline_only(app) {
        let t = app.create_ticket("Jembatan retak", "081366660001").await;
        let id = t["id"].as_i64().unwrap();
        let (number, token) = (str_of(&t, "number"), str_of(&t, "access_token"));
        let path = format!("/api/v1/tickets/{id}/messages");

        app.clock.advance(chrono::Duration::minutes(5));
        let (s, _) = app.post(&app.agent_token, &path, &json!({ "kind": "note", "body": "RAHASIA-INTERNAL: kontraktor lama bermasalah" })).await;
        assert_eq!(s, 201);
        app.clock.advance(chrono::Duration::minutes(5));
        let (s, _) = app.post(&app.agent_token, &path, &json!({ "kind": "reply", "body": "Petugas akan memeriksa jembatan besok." })).await;
        assert_eq!(s, 201);
        app.clock.advance(chrono::Duration::minutes(5));
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "status": "pending" })).await;
        assert_eq!(s, 200);

        // No bearer token: the citizen has none.
        let (status, headers, body) = lookup(&app, number, Some(token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(body["number"], number);
        assert_eq!(body["status"], "pending");
        assert_eq!(body["subject"], "Jembatan retak");
        let timeline = body["timeline"].as_array().unwrap();
        let messages: Vec<(&str, &str)> = timeline
            .iter()
            .filter(|e| e["type"] == "message")
            .map(|e| (str_of(e, "from"), str_of(e, "text")))
            .collect();
        assert_eq!(messages, [("citizen", "Laporan warga: Jembatan retak"), ("agent", "Petugas akan memeriksa jembatan besok.")]);
        let statuses: Vec<&Value> = timeline.iter().filter(|e| e["type"] == "status").map(|e| &e["status"]).collect();
        assert_eq!(statuses, [&json!("open"), &json!("pending")]);
        // In time order.
        let times: Vec<&str> = timeline.iter().map(|e| str_of(e, "at")).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);

        let text = body.to_string();
        assert!(!text.contains("RAHASIA-INTERNAL"), "{text}");
        assert!(!text.contains("@pemkot.example"), "{text}");
        assert!(!text.contains("+6281366660001"), "{text}");
        assert!(!text.contains(token), "{text}");
        assert!(body.get("contact").is_none() && body.get("assignee_id").is_none(), "{text}");

        // The token is forgiving about case and dashes, as it is read over the phone.
        let dashed = format!("{}-{}", &token[..8], &token[8..]).to_lowercase();
        let (status, _, same) = lookup(&app, number, Some(&dashed)).await;
        assert_eq!(status, 200);
        assert_eq!(same, body);
    }

    async fn wrong_token_and_unknown_number_look_the_same(app) {
        let t = app.create_ticket("Pasar becek", "081366660002").await;
        let (number, token) = (str_of(&t, "number"), str_of(&t, "access_token"));
        let unknown = format!("{}9999", &number[..6]);
        assert_ne!(unknown, number);

        let (s1, h1, wrong_token) = lookup(&app, number, Some("ABCDEFGHJKMNPQRS")).await;
        let (s2, h2, unknown_number) = lookup(&app, &unknown, Some(token)).await;
        let (s3, _, no_token) = lookup(&app, number, None).await;
        let (s4, _, empty_token) = lookup(&app, number, Some("")).await;
        let (s5, _, garbage_number) = lookup(&app, "not-a-number", Some(token)).await;
        assert_eq!((s1, s2, s3, s4, s5), (404, 404, 404, 404, 404));
        assert_eq!(wrong_token["code"], "not_found");
        for other in [&unknown_number, &no_token, &empty_token, &garbage_number] {
            assert_eq!(other, &wrong_token);
        }
        assert_eq!(h1["content-type"], h2["content-type"]);
        // The real pair still works.
        let (status, _, _) = lookup(&app, number, Some(token)).await;
        assert_eq!(status, 200);
    }

    async fn one_tickets_token_does_not_open_another(app) {
        let a = app.create_ticket("Pengaduan A", "081366660003").await;
        let b = app.create_ticket("Pengaduan B", "081366660004").await;
        let (status, _, body) = lookup(&app, str_of(&a, "number"), Some(str_of(&b, "access_token"))).await;
        assert_eq!(status, 404, "{body}");
        let (status, _, body) = lookup(&app, str_of(&b, "number"), Some(str_of(&a, "access_token"))).await;
        assert_eq!(status, 404, "{body}");
        let (status, _, body) = lookup(&app, str_of(&b, "number"), Some(str_of(&b, "access_token"))).await;
        assert_eq!(status, 200);
        assert_eq!(body["subject"], "Pengaduan B");
    }

    async fn lookups_are_rate_limited(app, |s| s.public.lookups_per_minute = 3) {
        let t = app.create_ticket("Banjir", "081366660005").await;
        let (number, token) = (str_of(&t, "number"), str_of(&t, "access_token"));
        for _ in 0..3 {
            let (status, _, body) = lookup(&app, number, Some(token)).await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, headers, body) = lookup(&app, number, Some(token)).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(headers["retry-after"], "60");
        // Guessing counts too, so a guesser cannot keep going.
        let (status, _, _) = lookup(&app, number, Some("ABCDEFGHJKMNPQRS")).await;
        assert_eq!(status, 429);
        // Agents working through the API are not limited by it.
        let (status, _) = app.get(&app.agent_token, &format!("/api/v1/tickets/{}", t["id"])).await;
        assert_eq!(status, 200);
    }
}
