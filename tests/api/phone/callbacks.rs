//! The callback queue (missed calls with their own SLA) and blocked numbers.

use serde_json::json;

use super::*;

fn with_caller_id(s: &mut tanggap::config::Settings) {
    with_cti(s);
    s.phone.outbound_caller_id = "62224200100".into();
}

crate::both_backends! {
    async fn missed_calls_wait_in_the_callback_queue_until_called_back(app, with_cti) {
        let tick = |s: i64| app.clock.advance(chrono::Duration::seconds(s));
        cti_ok(&app, &cti_fixture("seq_b_missed/01_newCall.json")).await;
        tick(20);
        cti_ok(&app, &cti_fixture("seq_b_missed/02_hangup.json")).await;
        let hung_up = app.ctx.clock.now();

        let (status, open) = app.get(&app.agent_token, "/api/v1/callbacks").await;
        assert_eq!(status, 200, "{open}");
        let items = open["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        let cb = &items[0]["callback"];
        let due: chrono::DateTime<chrono::Utc> = serde_json::from_value(cb["due_at"].clone()).unwrap();
        // The default SLA: one hour after the caller hung up (PostgreSQL keeps microseconds).
        assert!((due - hung_up - chrono::Duration::hours(1)).num_milliseconds().abs() < 1, "{due} {hung_up}");
        assert_eq!(cb["overdue"], false);
        assert_eq!(items[0]["done"], false);

        tick(3601);
        let (_, open) = app.get(&app.agent_token, "/api/v1/callbacks").await;
        assert_eq!(open["items"][0]["callback"]["overdue"], true);

        // An outbound call that is not answered does not settle it.
        cti_ok(&app, &event("newCall", "try-1", "out", "62224200112", "0856 0000 0777")).await;
        tick(30);
        let mut busy = event("hangup", "try-1", "out", "62224200112", "0856 0000 0777");
        busy["cause"] = json!("busy");
        cti_ok(&app, &busy).await;
        assert_eq!(call_by_call_id(&app, "try-1").await["state"], "not_reached");
        let (_, open) = app.get(&app.agent_token, "/api/v1/callbacks").await;
        assert_eq!(open["items"].as_array().unwrap().len(), 1);

        // The answered callback (fixture C) settles it.
        for step in ["01_newCall", "02_answer", "03_hangup"] {
            cti_ok(&app, &cti_fixture(&format!("seq_c_outbound_callback/{step}.json"))).await;
            tick(5);
        }
        let (_, open) = app.get(&app.agent_token, "/api/v1/callbacks").await;
        assert!(open["items"].as_array().unwrap().is_empty(), "{open}");
        let (_, done) = app.get(&app.agent_token, "/api/v1/callbacks?state=done").await;
        assert_eq!(done["items"][0]["callback"]["resolution"], "called_back");
        let (status, _) = app.get(&app.agent_token, "/api/v1/callbacks?state=later").await;
        assert_eq!(status, 422);
    }

    async fn the_citizen_calling_again_and_agents_marking_done(app, with_cti) {
        let tick = |s: i64| app.clock.advance(chrono::Duration::seconds(s));
        for id in ["m-1", "m-2"] {
            cti_ok(&app, &event("newCall", id, "in", "0813-1111-2222", "0224200112")).await;
            tick(15);
            cti_ok(&app, &event("hangup", id, "in", "0813-1111-2222", "0224200112")).await;
            tick(60);
        }
        let (_, open) = app.get(&app.agent_token, "/api/v1/callbacks").await;
        let ids: Vec<String> = open["items"].as_array().unwrap().iter().map(|c| c["call_id"].as_str().unwrap().to_string()).collect();
        // Most urgent (oldest due time) first.
        assert_eq!(ids, ["m-1", "m-2"]);
        let (_, page) = app.get(&app.agent_token, "/api/v1/callbacks?limit=1").await;
        let cursor = page["next_cursor"].as_str().unwrap().to_string();
        let (_, page2) = app.get(&app.agent_token, &format!("/api/v1/callbacks?limit=1&cursor={cursor}")).await;
        assert_eq!(page2["items"][0]["call_id"], "m-2");

        // An agent marks m-1 done by hand; then reopens it; then done again.
        let m1 = call_by_call_id(&app, "m-1").await;
        let path = format!("/api/v1/calls/{}", m1["id"]);
        let (status, body) = app.patch(&app.agent_token, &path, &json!({ "done": true })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["callback"]["resolution"], "marked_done");
        assert_eq!(body["callback"]["done_by"], app.agent_id);
        assert_eq!(body["done"], true);
        let (_, body) = app.patch(&app.agent_token, &path, &json!({ "done": false })).await;
        assert_eq!(body["done"], false);

        // The citizen calls again and is answered: both open callbacks are settled.
        cti_ok(&app, &event("newCall", "m-3", "in", "+62 813 1111 2222", "0224200112")).await;
        tick(5);
        cti_ok(&app, &event("answer", "m-3", "in", "+62 813 1111 2222", "0224200112")).await;
        let (_, open) = app.get(&app.agent_token, "/api/v1/callbacks").await;
        assert!(open["items"].as_array().unwrap().is_empty(), "{open}");
        assert_eq!(call_by_call_id(&app, "m-2").await["callback"]["resolution"], "caller_reached_us");

        // Only missed calls are callback items.
        let m3 = call_by_call_id(&app, "m-3").await;
        let (status, body) = app.patch(&app.agent_token, &format!("/api/v1/calls/{}", m3["id"]), &json!({ "done": true })).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "no_callback");
        let (status, _) = app.patch(&app.agent_token, "/api/v1/calls/999999", &json!({ "done": true })).await;
        assert_eq!(status, 404);
        let (status, _) = app.patch(&app.agent_token, &path, &json!({ "done": "yes" })).await;
        assert_eq!(status, 400);
    }

    async fn blocked_numbers_are_rejected_busy(app, with_caller_id) {
        // Admin data: agents may not touch it.
        let (status, _) = app.post(&app.agent_token, "/api/v1/blocked-numbers", &json!({ "number": "0856-0000-0777" })).await;
        assert_eq!(status, 403);
        let (status, blocked) = app
            .post(&app.admin_token, "/api/v1/blocked-numbers", &json!({ "number": "0856-0000-0777", "reason": "panggilan iseng berulang" }))
            .await;
        assert_eq!(status, 201, "{blocked}");
        assert_eq!(blocked["number"], "+6285600000777");
        let (status, body) = app.post(&app.admin_token, "/api/v1/blocked-numbers", &json!({ "number": "+62 856 0000 0777" })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("number_blocked")));
        let (status, body) = app.post(&app.admin_token, "/api/v1/blocked-numbers", &json!({ "number": "bukan nomor" })).await;
        assert_eq!(status, 422, "{body}");
        let (_, list) = app.get(&app.admin_token, "/api/v1/blocked-numbers").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let item = format!("/api/v1/blocked-numbers/{}", blocked["id"]);
        let (status, changed) = app.patch(&app.admin_token, &item, &json!({ "reason": "ancaman kepada petugas" })).await;
        assert_eq!((status, changed["reason"].as_str()), (200, Some("ancaman kepada petugas")));
        let (status, _) = app.patch(&app.admin_token, &item, &json!({ "number": "0811" })).await;
        assert_eq!(status, 400);
        let (status, _) = app.patch(&app.admin_token, "/api/v1/blocked-numbers/999999", &json!({ "reason": "x" })).await;
        assert_eq!(status, 404);
        let (status, _) = app.patch(&app.agent_token, &item, &json!({ "reason": "x" })).await;
        assert_eq!(status, 403);

        // The PBX is told to reject the call, also when it repeats the newCall.
        for _ in 0..2 {
            let (status, reply) = cti(&app, &cti_fixture("seq_b_missed/01_newCall.json")).await;
            assert_eq!((status, reply), (200, cti_fixture("responses/newCall_in_blocked.json")));
        }
        app.clock.advance(chrono::Duration::seconds(1));
        cti_ok(&app, &cti_fixture("seq_b_missed/02_hangup.json")).await;
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130002bb").await;
        assert_eq!(call["blocked"], true);
        assert_eq!(call["state"], "missed");
        assert!(call["callback"].is_null(), "a blocked caller is not called back");
        // Calls to a blocked number from us are not rejected.
        let (_, reply) = cti(&app, &cti_fixture("seq_c_outbound_callback/01_newCall.json")).await;
        assert_eq!(reply, cti_fixture("responses/newCall_out_set_caller_id.json"));

        let (status, _) = app.delete(&app.admin_token, &format!("/api/v1/blocked-numbers/{}", blocked["id"])).await;
        assert_eq!(status, 204);
        let (status, _) = app.delete(&app.admin_token, &format!("/api/v1/blocked-numbers/{}", blocked["id"])).await;
        assert_eq!(status, 404);
        cti_ok(&app, &event("newCall", "after-unblock", "in", "085600000777", "0224200112")).await;
    }
}
