//! The agent inbox (filters and cursor pagination) and the contact directory.

use std::collections::HashSet;

use chrono::SecondsFormat;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn ids(app: &TestApp, query: &str) -> Vec<i64> {
    let (status, body) = app.get(&app.agent_token, &format!("/api/v1/tickets?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

async fn create(app: &TestApp, subject: &str, channel: &str, priority: &str, contact: Value) -> i64 {
    let (status, body) = app
        .post(
            &app.agent_token,
            "/api/v1/tickets",
            &json!({ "subject": subject, "body": "isi laporan", "channel": channel, "priority": priority, "contact": contact }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

crate::both_backends! {
    async fn filters_narrow_the_inbox(app) {
        let a = create(&app, "Banjir di Kampung Melayu", "phone", "urgent", json!({ "phone": "081388880001" })).await;
        let b = create(&app, "Jalan rusak", "email", "normal", json!({ "email": "b@mail.example" })).await;
        let c = create(&app, "BANJIR rob di pesisir", "whatsapp", "high", json!({ "whatsapp": "081388880003" })).await;
        let d = create(&app, "Sampah", "phone", "low", json!({ "phone": "081388880004" })).await;

        for (id, status) in [(b, "open"), (c, "pending"), (d, "resolved")] {
            let (s, body) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "status": status })).await;
            assert_eq!(s, 200, "{body}");
        }
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{a}"), &json!({ "assignee": app.agent_id })).await;
        assert_eq!(s, 200);

        assert_eq!(ids(&app, "").await, vec![d, c, b, a], "newest first");
        assert_eq!(sorted(ids(&app, "status=new").await), vec![a]);
        assert_eq!(sorted(ids(&app, "status=open,pending").await), vec![b, c]);
        assert_eq!(sorted(ids(&app, "status=open,%20resolved").await), vec![b, d]);
        assert_eq!(sorted(ids(&app, "channel=phone").await), vec![a, d]);
        assert_eq!(ids(&app, "channel=instagram").await, Vec::<i64>::new());
        assert_eq!(ids(&app, "priority=high").await, vec![c]);
        assert_eq!(ids(&app, "assignee=me").await, vec![a]);
        assert_eq!(ids(&app, &format!("assignee={}", app.agent_id)).await, vec![a]);
        assert_eq!(sorted(ids(&app, "assignee=none").await), vec![b, c, d]);
        // "me" is the caller: the supervisor has nothing assigned.
        let (_, sup) = app.get(&app.supervisor_token, "/api/v1/tickets?assignee=me").await;
        assert!(sup["items"].as_array().unwrap().is_empty(), "{sup}");
        assert_eq!(sorted(ids(&app, "q=banjir").await), vec![a, c]);
        assert_eq!(sorted(ids(&app, "q=BANJIR").await), vec![a, c]);
        assert_eq!(ids(&app, "q=rusak").await, vec![b]);
        assert_eq!(ids(&app, "q=tidak-ada").await, Vec::<i64>::new());
        // LIKE wildcards in q are literal.
        assert_eq!(ids(&app, "q=%25").await, Vec::<i64>::new());
        assert_eq!(ids(&app, "q=_").await, Vec::<i64>::new());
        // Filters combine.
        assert_eq!(ids(&app, "q=banjir&channel=phone").await, vec![a]);
        assert_eq!(ids(&app, "q=banjir&status=new,open&assignee=none").await, Vec::<i64>::new());
        // The ticket number is searchable too.
        let number = app.ticket(c).await["number"].as_str().unwrap().to_string();
        assert_eq!(ids(&app, &format!("q={number}")).await, vec![c]);
    }

    async fn created_range_is_half_open(app) {
        let t0 = app.ctx.clock.now();
        let a = app.create_ticket("Pertama", "081388880011").await["id"].as_i64().unwrap();
        app.clock.advance(chrono::Duration::hours(2));
        let b = app.create_ticket("Kedua", "081388880012").await["id"].as_i64().unwrap();
        app.clock.advance(chrono::Duration::hours(2));
        let c = app.create_ticket("Ketiga", "081388880013").await["id"].as_i64().unwrap();

        let at = |h: i64| (t0 + chrono::Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true);
        assert_eq!(ids(&app, &format!("created_from={}", at(1))).await, vec![c, b]);
        assert_eq!(ids(&app, &format!("created_to={}", at(1))).await, vec![a]);
        assert_eq!(ids(&app, &format!("created_from={}&created_to={}", at(1), at(3))).await, vec![b]);
        assert_eq!(ids(&app, &format!("created_from={}&created_to={}", at(5), at(6))).await, Vec::<i64>::new());
        // An offset other than Z is understood (and must be URL-encoded: "+" means space).
        let jakarta = (t0 + chrono::Duration::hours(3))
            .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap())
            .to_rfc3339_opts(SecondsFormat::Secs, false)
            .replace('+', "%2B");
        assert_eq!(ids(&app, &format!("created_from={jakarta}")).await, vec![c]);
    }

    async fn cursor_pagination_walks_everything_once(app) {
        let mut created = Vec::new();
        for i in 0..5 {
            created.push(app.create_ticket(&format!("Laporan {i}"), &format!("08138888002{i}")).await["id"].as_i64().unwrap());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                None => "/api/v1/tickets?limit=2".to_string(),
                Some(c) => format!("/api/v1/tickets?limit=2&cursor={c}"),
            };
            let (status, body) = app.get(&app.agent_token, &path).await;
            assert_eq!(status, 200, "{body}");
            let items = body["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|t| t["id"].as_i64().unwrap()));
            pages += 1;
            assert!(pages <= 5, "pagination does not end: {seen:?}");
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => {
                    assert!(body["next_cursor"].is_null(), "{body}");
                    break;
                }
            }
        }
        assert_eq!(pages, 3);
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "duplicates in {seen:?}");
        created.reverse();
        assert_eq!(seen, created);

        // A ticket created while paging does not appear on later pages (keyset on id).
        let (_, first) = app.get(&app.agent_token, "/api/v1/tickets?limit=2").await;
        let c = first["next_cursor"].as_str().unwrap().to_string();
        let newer = app.create_ticket("Laporan baru", "081388880099").await["id"].as_i64().unwrap();
        let (_, second) = app.get(&app.agent_token, &format!("/api/v1/tickets?limit=2&cursor={c}")).await;
        assert!(second["items"].as_array().unwrap().iter().all(|t| t["id"] != newer));

        // Filters and the cursor work together.
        let (_, page) = app.get(&app.agent_token, "/api/v1/tickets?status=new&limit=3").await;
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        let c = page["next_cursor"].as_str().unwrap().to_string();
        let (_, rest) = app.get(&app.agent_token, &format!("/api/v1/tickets?status=new&limit=3&cursor={c}")).await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 3);
        assert!(rest["next_cursor"].is_string());
        let (_, end) = app.get(&app.agent_token, &format!("/api/v1/tickets?status=new&limit=3&cursor={}", rest["next_cursor"].as_str().unwrap())).await;
        assert!(end["items"].as_array().unwrap().is_empty());
        assert!(end["next_cursor"].is_null());
    }

    async fn contacts_list_search_get_create(app) {
        let (status, body) = app
            .post(&app.agent_token, "/api/v1/contacts", &json!({ "name": "Siti Aminah", "email": "Siti@Mail.Example", "phone": "0812-9999-0001" }))
            .await;
        assert_eq!(status, 201, "{body}");
        let siti = body["id"].as_i64().unwrap();
        assert_eq!(body["name"], "Siti Aminah");
        assert_eq!(
            body["identities"],
            json!([{ "kind": "email", "value": "siti@mail.example" }, { "kind": "phone", "value": "+6281299990001" }])
        );
        let (status, body) = app
            .post(&app.agent_token, "/api/v1/contacts", &json!({ "name": "Bambang", "instagram": "bambang.ig" }))
            .await;
        assert_eq!(status, 201, "{body}");
        let bambang = body["id"].as_i64().unwrap();

        // An identity that already belongs to someone: 409 naming the owner, nothing created.
        let (status, body) = app
            .post(&app.agent_token, "/api/v1/contacts", &json!({ "name": "Orang Lain", "phone": "+62 812 9999 0001" }))
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "contact_exists");
        assert_eq!(body["contact_id"], siti);
        let (status, body) = app.post(&app.agent_token, "/api/v1/contacts", &json!({ "name": "Kosong" })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["contact"].is_string(), "{body}");

        let (status, list) = app.get(&app.agent_token, "/api/v1/contacts").await;
        assert_eq!(status, 200);
        let listed: Vec<i64> = list["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(listed, vec![bambang, siti]);

        for (q, want) in [("aminah", vec![siti]), ("SITI", vec![siti]), ("mail.example", vec![siti]), ("+62812999", vec![siti]), ("bambang", vec![bambang]), ("nobody", vec![])] {
            let (status, found) = app.get(&app.agent_token, &format!("/api/v1/contacts?q={}", q.replace('+', "%2B"))).await;
            assert_eq!(status, 200, "{found}");
            let got: Vec<i64> = found["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
            assert_eq!(got, want, "q={q}");
        }

        // Contact pagination.
        let (_, page) = app.get(&app.agent_token, "/api/v1/contacts?limit=1").await;
        assert_eq!(page["items"][0]["id"], bambang);
        let c = page["next_cursor"].as_str().unwrap().to_string();
        let (_, page2) = app.get(&app.agent_token, &format!("/api/v1/contacts?limit=1&cursor={c}")).await;
        assert_eq!(page2["items"][0]["id"], siti);

        // A ticket for a known phone lands on the existing contact, visible on its page.
        let t = app.create_ticket("Pajak daerah", "081299990001").await;
        assert_eq!(t["contact_id"], siti);
        let (status, detail) = app.get(&app.agent_token, &format!("/api/v1/contacts/{siti}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["name"], "Siti Aminah");
        let tickets = detail["tickets"].as_array().unwrap();
        assert_eq!(tickets.len(), 1);
        assert_eq!(tickets[0]["id"], t["id"]);
        let (_, other) = app.get(&app.agent_token, &format!("/api/v1/contacts/{bambang}")).await;
        assert!(other["tickets"].as_array().unwrap().is_empty());
    }
}
