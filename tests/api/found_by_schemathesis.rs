//! Bugs schemathesis found (bench/schemathesis.py), pinned on both backends.

use serde_json::json;

use crate::both_backends;

both_backends! {
    // PostgreSQL cannot store U+0000 in text: it was a 500 there and stored on SQLite. Now a 400
    // on both, for JSON bodies, form bodies and URLs alike, and nothing is written.
    async fn nul_characters_are_refused_at_the_edge(app) {
        let ticket = app.create_ticket("Lampu jalan mati", "0812-1111-2222").await;
        let id = ticket["id"].as_i64().unwrap();
        let path = format!("/api/v1/tickets/{id}/messages");
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "kind": "note", "body": "a\u{0}b" })).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{body}");
        let (status, body) = app
            .post(&app.agent_token, "/api/v1/teams", &json!({ "name": "\u{0}" }))
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = app.get(&app.agent_token, "/api/v1/tickets?q=a%00b").await;
        assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{body}");
        // A backslash before `u0000` is text, not a NUL.
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "kind": "note", "body": "C:\\u0000" })).await;
        assert_eq!(status, 201, "{body}");
        let detail = app.ticket(id).await;
        let texts: Vec<&str> = detail["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert_eq!(texts[1], "C:\\u0000");
    }

    // A ticket without SLA clocks showed `"sla": null` in the list and the detail, `[]` when created.
    async fn tickets_without_clocks_show_an_empty_sla_list(app) {
        let ticket = app.create_ticket("Air PDAM keruh", "0812-3333-4444").await;
        assert_eq!(ticket["sla"], json!([]));
        let (status, list) = app.get(&app.agent_token, "/api/v1/tickets").await;
        assert_eq!(status, 200);
        assert_eq!(list["items"][0]["sla"], json!([]), "{list}");
        let detail = app.ticket(ticket["id"].as_i64().unwrap()).await;
        assert_eq!(detail["sla"], json!([]));
    }
}
