//! Malformed and invalid requests: 400 for bodies that are not the expected JSON, 422 naming
//! the fields for values that are not acceptable, 404 for what does not exist.

use serde_json::{Value, json};

fn valid_ticket() -> Value {
    json!({
        "subject": "Lampu jalan padam",
        "body": "Lampu jalan di Jl. Merdeka padam sejak tiga hari.",
        "channel": "phone",
        "contact": { "name": "Warga Uji", "phone": "081234567890" },
    })
}

fn assert_fields(status: u16, body: &Value, fields: &[&str]) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_failed", "{body}");
    let errors = body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors in {body}"));
    let mut named: Vec<&str> = errors.keys().map(String::as_str).collect();
    named.sort();
    let mut want = fields.to_vec();
    want.sort();
    assert_eq!(named, want, "{body}");
}

async fn ticket_count(app: &crate::helpers::TestApp) -> usize {
    let (status, body) = app.get(&app.agent_token, "/api/v1/tickets").await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().len()
}

crate::both_backends! {
    async fn malformed_json_is_400(app) {
        for raw in ["{\"subject\": ", "not json at all", "[1, 2, 3]", ""] {
            let (status, headers, body) = app
                .send(
                    app.http
                        .post(app.url("/api/v1/tickets"))
                        .bearer_auth(&app.agent_token)
                        .header("Content-Type", "application/json")
                        .body(raw),
                )
                .await;
            assert_eq!(status, 400, "{raw}: {body}");
            assert_eq!(body["code"], "bad_request", "{body}");
            assert_eq!(headers["content-type"], "application/problem+json");
        }
        // Right JSON, wrong content type.
        let (status, _, body) = app
            .send(
                app.http
                    .post(app.url("/api/v1/tickets"))
                    .bearer_auth(&app.agent_token)
                    .header("Content-Type", "text/plain")
                    .body(valid_ticket().to_string()),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "bad_request");
        assert_eq!(ticket_count(&app).await, 0);
    }

    async fn unknown_json_fields_are_400_naming_the_field(app) {
        let mut body = valid_ticket();
        body["colour"] = json!("red");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["code"], "bad_request");
        assert!(resp["detail"].as_str().unwrap().contains("colour"), "{resp}");

        let mut body = valid_ticket();
        body["contact"]["fax"] = json!("021-555");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_eq!(status, 400, "{resp}");
        assert!(resp["detail"].as_str().unwrap().contains("fax"), "{resp}");

        // Wrong JSON type for a field.
        let mut body = valid_ticket();
        body["category"] = json!("sampah");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_eq!(status, 400, "{resp}");

        let (status, resp) = app
            .patch(&app.agent_token, "/api/v1/tickets/1", &json!({ "state": "open" }))
            .await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(ticket_count(&app).await, 0);
    }

    async fn missing_required_fields_are_422_naming_the_field(app) {
        for field in ["subject", "body", "channel", "contact"] {
            let mut body = valid_ticket();
            body.as_object_mut().unwrap().remove(field);
            let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
            assert_fields(status, &resp, &[field]);
        }
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &json!({})).await;
        assert_eq!(status, 422, "{resp}");
        let t = app.create_ticket("Lampu padam", "081234567899").await;
        let (status, resp) = app
            .post(&app.agent_token, &format!("/api/v1/tickets/{}/messages", t["id"]), &json!({ "kind": "note" }))
            .await;
        assert_fields(status, &resp, &["body"]);
        let (status, resp) = app.post(&app.admin_token, "/api/v1/teams", &json!({ "description": "tanpa nama" })).await;
        assert_fields(status, &resp, &["name"]);
        assert_eq!(ticket_count(&app).await, 1);
    }

    async fn invalid_values_are_422_naming_each_field(app) {
        let mut body = valid_ticket();
        body["contact"]["phone"] = json!("12ab");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["contact.phone"]);

        let mut body = valid_ticket();
        body["channel"] = json!("fax");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["channel"]);

        let mut body = valid_ticket();
        body["subject"] = json!("   ");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["subject"]);

        let mut body = valid_ticket();
        body["priority"] = json!("super");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["priority"]);

        let mut body = valid_ticket();
        body["contact"]["email"] = json!("bukan-email");
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["contact.email"]);

        // No way to reach the citizen.
        let mut body = valid_ticket();
        body["contact"] = json!({ "name": "Tanpa Kontak" });
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["contact"]);

        // Every bad field is reported at once.
        let body = json!({
            "subject": "",
            "body": "",
            "channel": "fax",
            "priority": "super",
            "contact": { "phone": "12ab" },
        });
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["body", "channel", "contact.phone", "priority", "subject"]);

        assert_eq!(ticket_count(&app).await, 0);
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &valid_ticket()).await;
        assert_eq!(status, 201, "{resp}");
        assert_eq!(ticket_count(&app).await, 1);
    }

    async fn invalid_patch_and_message_values_are_422(app) {
        let t = app.create_ticket("Jalan berlubang", "081234567891").await;
        let path = format!("/api/v1/tickets/{}", t["id"]);
        for (patch, field) in [
            (json!({ "status": "done" }), "status"),
            (json!({ "priority": "super" }), "priority"),
            (json!({ "subject": "" }), "subject"),
            (json!({ "tags": [""] }), "tags"),
        ] {
            let (status, resp) = app.patch(&app.agent_token, &path, &patch).await;
            assert_fields(status, &resp, &[field]);
        }
        let (status, resp) = app
            .post(&app.agent_token, &format!("{path}/messages"), &json!({ "kind": "shout", "body": "halo" }))
            .await;
        assert_fields(status, &resp, &["kind"]);
        let (status, resp) = app
            .post(&app.agent_token, &format!("{path}/messages"), &json!({ "kind": "reply", "body": " " }))
            .await;
        assert_fields(status, &resp, &["body"]);
        // Nothing changed.
        let ticket = app.ticket(t["id"].as_i64().unwrap()).await;
        assert_eq!(ticket["status"], "new");
        assert_eq!(ticket["priority"], "normal");
        assert_eq!(ticket["messages"].as_array().unwrap().len(), 1);
    }

    async fn bad_query_parameters(app) {
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?status=bogus").await;
        assert_fields(status, &resp, &["status"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?status=open,bogus").await;
        assert_fields(status, &resp, &["status"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?limit=0").await;
        assert_fields(status, &resp, &["limit"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?limit=201").await;
        assert_fields(status, &resp, &["limit"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?cursor=bm9wZQ").await;
        assert_fields(status, &resp, &["cursor"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?cursor=%25%25%25").await;
        assert_fields(status, &resp, &["cursor"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?channel=fax").await;
        assert_fields(status, &resp, &["channel"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?assignee=someone").await;
        assert_fields(status, &resp, &["assignee"]);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/contacts?limit=0").await;
        assert_fields(status, &resp, &["limit"]);
        let (status, resp) = app.get(&app.admin_token, "/api/v1/jobs?state=sleeping").await;
        assert_fields(status, &resp, &["state"]);
        // Not a number, not a date, an unknown parameter: the query string itself is wrong.
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?limit=abc").await;
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["code"], "bad_request");
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?created_from=yesterday").await;
        assert_eq!(status, 400, "{resp}");
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?sort=asc").await;
        assert_eq!(status, 400, "{resp}");
        // The good forms work.
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets?status=open,new&limit=200").await;
        assert_eq!(status, 200, "{resp}");
    }

    async fn unknown_resources_are_404(app) {
        for path in ["/api/v1/tickets/999999", "/api/v1/contacts/999999", "/api/v1/nothing-here", "/nothing"] {
            let (status, resp) = app.get(&app.agent_token, path).await;
            assert_eq!(status, 404, "{path}: {resp}");
            assert_eq!(resp["code"], "not_found", "{resp}");
        }
        let (status, resp) = app.patch(&app.agent_token, "/api/v1/tickets/999999", &json!({ "status": "open" })).await;
        assert_eq!(status, 404, "{resp}");
        let (status, resp) = app
            .post(&app.agent_token, "/api/v1/tickets/999999/messages", &json!({ "kind": "note", "body": "halo" }))
            .await;
        assert_eq!(status, 404, "{resp}");
        let (status, resp) = app.post(&app.admin_token, "/api/v1/jobs/999999/retry", &json!({})).await;
        assert_eq!(status, 404, "{resp}");
        let (status, resp) = app.get(&app.agent_token, "/api/v1/tickets/abc").await;
        assert_eq!(status, 400, "{resp}");
    }

    async fn unknown_category_or_team_is_422(app) {
        let mut body = valid_ticket();
        body["category"] = json!(424242);
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["category"]);

        let mut body = valid_ticket();
        body["team"] = json!(424242);
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_fields(status, &resp, &["team"]);

        let (status, resp) = app
            .post(&app.admin_token, "/api/v1/categories", &json!({ "name": "Banjir", "team": 424242 }))
            .await;
        assert_fields(status, &resp, &["team"]);

        // The failed attempts left no ticket and no contact behind.
        assert_eq!(ticket_count(&app).await, 0);
        let (status, resp) = app.get(&app.agent_token, "/api/v1/contacts").await;
        assert_eq!(status, 200);
        assert_eq!(resp["items"].as_array().unwrap().len(), 0, "{resp}");

        // A category routes the ticket to its team.
        let team = app.create_team("Drainase").await;
        let cat = app.create_category("Banjir", Some(team)).await;
        let mut body = valid_ticket();
        body["category"] = json!(cat);
        let (status, resp) = app.post(&app.agent_token, "/api/v1/tickets", &body).await;
        assert_eq!(status, 201, "{resp}");
        assert_eq!(resp["category_id"], cat);
        assert_eq!(resp["team_id"], team);
    }

    async fn duplicate_team_name_is_409(app) {
        app.create_team("Kebersihan").await;
        let (status, resp) = app.post(&app.admin_token, "/api/v1/teams", &json!({ "name": "Kebersihan" })).await;
        assert_eq!(status, 409, "{resp}");
        assert_eq!(resp["code"], "name_taken");
        let (status, resp) = app.post(&app.admin_token, "/api/v1/teams", &json!({ "name": "" })).await;
        assert_fields(status, &resp, &["name"]);
    }
}
