//! The status machine over PATCH, the audit events of every change, and what an agent reply does.

use serde_json::{Value, json};

use crate::helpers::events_of_kind;

async fn set_status(app: &crate::helpers::TestApp, id: i64, status: &str) -> (u16, Value) {
    app.patch(
        &app.agent_token,
        &format!("/api/v1/tickets/{id}"),
        &json!({ "status": status }),
    )
    .await
}

crate::both_backends! {
    async fn walks_the_whole_machine_recording_each_step(app) {
        let t = app.create_ticket("Pipa PDAM bocor", "081311112222").await;
        let id = t["id"].as_i64().unwrap();
        assert_eq!(t["status"], "new");
        let steps = ["open", "pending", "open", "on_hold", "resolved", "closed"];
        for to in steps {
            app.clock.advance(chrono::Duration::minutes(5));
            let (status, body) = set_status(&app, id, to).await;
            assert_eq!(status, 200, "→ {to}: {body}");
            assert_eq!(body["status"], to);
            if to == "resolved" {
                assert!(body["resolved_at"].is_string(), "{body}");
                assert!(body["closed_at"].is_null(), "{body}");
            }
        }
        let ticket = app.ticket(id).await;
        assert_eq!(ticket["status"], "closed");
        assert!(ticket["closed_at"].is_string());
        let changes = events_of_kind(&ticket, "status_changed");
        let expected: Vec<(Value, Value)> = ["new", "open", "pending", "open", "on_hold", "resolved"]
            .iter()
            .zip(steps)
            .map(|(from, to)| (json!(from), json!(to)))
            .collect();
        assert_eq!(changes, expected);
        // Each event names the agent who made the change.
        for e in ticket["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "status_changed") {
            assert_eq!(e["actor_kind"], "user");
            assert_eq!(e["actor_id"], app.agent_id);
        }
    }

    async fn invalid_transitions_are_409_with_the_allowed_list(app) {
        let t = app.create_ticket("Sampah tidak diangkut", "081311113333").await;
        let id = t["id"].as_i64().unwrap();

        let (status, body) = set_status(&app, id, "closed").await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "invalid_transition");
        assert_eq!(body["from"], "new");
        assert_eq!(body["to"], "closed");
        assert_eq!(body["allowed"], json!(["open", "pending", "on_hold", "resolved"]));

        // A refused change leaves everything in the same request untouched.
        let (status, body) = app
            .patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "priority": "urgent", "status": "closed" }))
            .await;
        assert_eq!(status, 409, "{body}");
        let ticket = app.ticket(id).await;
        assert_eq!(ticket["status"], "new");
        assert_eq!(ticket["priority"], "normal");
        assert!(events_of_kind(&ticket, "status_changed").is_empty());
        assert!(events_of_kind(&ticket, "priority_changed").is_empty());

        let (status, body) = set_status(&app, id, "open").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = set_status(&app, id, "new").await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["allowed"], json!(["pending", "on_hold", "resolved"]));

        for to in ["resolved", "closed"] {
            let (status, body) = set_status(&app, id, to).await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, body) = set_status(&app, id, "open").await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "invalid_transition");
        assert_eq!(body["from"], "closed");
        assert_eq!(body["allowed"], json!([]));

        // A closed ticket takes no replies either (a note is still allowed).
        let path = format!("/api/v1/tickets/{id}/messages");
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "kind": "reply", "body": "Halo" })).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "ticket_closed");
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "kind": "note", "body": "Arsip" })).await;
        assert_eq!(status, 201, "{body}");
    }

    async fn resolved_ticket_can_be_reopened_by_an_agent(app) {
        let t = app.create_ticket("Drainase tersumbat", "081311114444").await;
        let id = t["id"].as_i64().unwrap();
        let (status, body) = set_status(&app, id, "resolved").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["resolved_at"].is_string());
        let (status, body) = set_status(&app, id, "open").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["resolved_at"].is_null(), "{body}");
        // Setting the status it already has is not a change.
        let (status, _) = set_status(&app, id, "open").await;
        assert_eq!(status, 200);
        let ticket = app.ticket(id).await;
        assert_eq!(events_of_kind(&ticket, "status_changed").len(), 2);
    }

    async fn agent_reply_opens_a_new_ticket_and_stamps_first_response(app) {
        let t = app.create_ticket("Pohon tumbang", "081311115555").await;
        let id = t["id"].as_i64().unwrap();
        assert!(t["first_response_at"].is_null());
        let path = format!("/api/v1/tickets/{id}/messages");

        // An internal note is not a response to the citizen.
        app.clock.advance(chrono::Duration::minutes(10));
        let (status, note) = app.post(&app.agent_token, &path, &json!({ "kind": "note", "body": "Cek dengan dinas" })).await;
        assert_eq!(status, 201, "{note}");
        assert_eq!(note["direction"], "note");
        assert_eq!(note["delivery_state"], "internal");
        let ticket = app.ticket(id).await;
        assert_eq!(ticket["status"], "new");
        assert!(ticket["first_response_at"].is_null());

        app.clock.advance(chrono::Duration::minutes(10));
        let replied_at = app.ctx.clock.now();
        let (status, reply) = app
            .post(&app.agent_token, &path, &json!({ "kind": "reply", "body": "Tim sedang menuju lokasi." }))
            .await;
        assert_eq!(status, 201, "{reply}");
        assert_eq!(reply["direction"], "outbound");
        assert_eq!(reply["delivery_state"], "queued");
        assert_eq!(reply["author_user_id"], app.agent_id);

        let ticket = app.ticket(id).await;
        assert_eq!(ticket["status"], "open");
        let first: chrono::DateTime<chrono::Utc> = serde_json::from_value(ticket["first_response_at"].clone()).unwrap();
        assert!((first - replied_at).num_milliseconds().abs() < 1, "{first} vs {replied_at}");
        assert_eq!(events_of_kind(&ticket, "status_changed"), vec![(json!("new"), json!("open"))]);
        assert_eq!(ticket["messages"].as_array().unwrap().len(), 3);

        // A later reply keeps the first response time.
        app.clock.advance(chrono::Duration::hours(1));
        let (status, _) = app.post(&app.agent_token, &path, &json!({ "kind": "reply", "body": "Sudah selesai." })).await;
        assert_eq!(status, 201);
        let again = app.ticket(id).await;
        assert_eq!(again["first_response_at"], ticket["first_response_at"]);
        assert_eq!(events_of_kind(&again, "status_changed").len(), 1);
    }

    async fn field_changes_are_audited(app) {
        let t = app.create_ticket("Trotoar rusak", "081311116666").await;
        let id = t["id"].as_i64().unwrap();
        let path = format!("/api/v1/tickets/{id}");
        let team = app.create_team("Bina Marga").await;
        let cat = app.create_category("Jalan dan Trotoar", None).await;

        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "priority": "high" })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["priority"], "high");
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "assignee": app.agent_id })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["assignee_id"], app.agent_id);
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "assignee": null })).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["assignee_id"].is_null());
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "team": team, "category": cat })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["team_id"], team);
        assert_eq!(body["category_id"], cat);
        let (status, body) = app
            .patch(&app.agent_token, &path, &json!({ "tags": ["Jalan", "darurat", "jalan "] }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["tags"], json!(["darurat", "jalan"]));
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "subject": "Trotoar ambles" })).await;
        assert_eq!(status, 200, "{body}");
        // A field left out is left alone.
        assert_eq!(body["team_id"], team);
        assert_eq!(body["priority"], "high");

        let ticket = app.ticket(id).await;
        assert_eq!(events_of_kind(&ticket, "priority_changed"), vec![(json!("normal"), json!("high"))]);
        assert_eq!(
            events_of_kind(&ticket, "assignee_changed"),
            vec![(Value::Null, json!(app.agent_id)), (json!(app.agent_id), Value::Null)]
        );
        assert_eq!(events_of_kind(&ticket, "team_changed"), vec![(Value::Null, json!(team))]);
        assert_eq!(events_of_kind(&ticket, "category_changed"), vec![(Value::Null, json!(cat))]);
        assert_eq!(events_of_kind(&ticket, "tags_changed"), vec![(json!([]), json!(["darurat", "jalan"]))]);
        assert_eq!(
            events_of_kind(&ticket, "subject_changed"),
            vec![(json!("Trotoar rusak"), json!("Trotoar ambles"))]
        );

        // The same values again change nothing and record nothing.
        let (status, _) = app
            .patch(&app.agent_token, &path, &json!({ "priority": "high", "team": team, "tags": ["jalan", "darurat"] }))
            .await;
        assert_eq!(status, 200);
        let again = app.ticket(id).await;
        assert_eq!(again["events"].as_array().unwrap().len(), ticket["events"].as_array().unwrap().len());

        // Filtering by assignee, team and category sees the change.
        let (_, list) = app.get(&app.agent_token, &format!("/api/v1/tickets?team={team}&category={cat}")).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    }

    async fn assigning_to_nobody_that_exists_is_422(app) {
        let t = app.create_ticket("Parkir liar", "081311117777").await;
        let path = format!("/api/v1/tickets/{}", t["id"]);
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "assignee": 987654 })).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "validation_failed");
        assert!(body["errors"]["assignee"].is_string(), "{body}");
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "team": 987654 })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["team"].is_string(), "{body}");
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "category": 987654 })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["category"].is_string(), "{body}");
        let ticket = app.ticket(t["id"].as_i64().unwrap()).await;
        assert!(ticket["assignee_id"].is_null());
        assert!(events_of_kind(&ticket, "assignee_changed").is_empty());
    }
}
