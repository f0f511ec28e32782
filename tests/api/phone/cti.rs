//! The Generic CTI endpoint: the fixture sequences against expected_caller_log.json, JSON and
//! form bodies, every edge case and response fixture, reordered events, 50 concurrent calls.

use serde_json::{Value, json};

use super::*;

/// Compares our caller-log row with a row of expected_caller_log.json.
fn assert_matches_expected(row: &Value, expected: &Value) {
    let id = &row["call_id"];
    assert_eq!(row["direction"], expected["direction"], "{id}");
    assert_eq!(row["from"], expected["from"], "{id}");
    assert_eq!(row["to"], expected["to"], "{id}");
    if let Some(q) = expected.get("queue") {
        assert_eq!(&row["queue"], q, "{id}");
    }
    // Zammad's `hangup` state is our completed / missed / not_reached, all with an end time.
    assert_eq!(expected["state"], "hangup");
    assert!(row["ended_at"].is_string(), "{row}");
    assert_eq!(row["done"], expected["done"], "{row}");
    assert_eq!(row["cause"], expected["comment"], "{id}");
    if let Some(who) = expected.get("to_comment") {
        assert_eq!(&row["answered_by"], who, "{id}");
    }
    if let Some(who) = expected.get("from_comment") {
        assert_eq!(row["users"], json!([who]), "{id}");
    }
    if let Some(w) = expected.get("duration_waiting_time") {
        assert_eq!(&row["waiting_seconds"], w, "{id}");
    }
    if let Some(t) = expected.get("duration_talking_time") {
        assert_eq!(&row["talking_seconds"], t, "{id}");
    }
}

crate::both_backends! {
    async fn fixture_sequences_give_the_expected_caller_log(app, with_cti) {
        let expected = cti_fixture("expected_caller_log.json");
        let tick = |s: i64| app.clock.advance(chrono::Duration::seconds(s));

        // A: rung to two agents, answered after 12 s, 185 s of talk.
        let ok = cti_fixture("responses/newCall_in_ok.json");
        let (status, reply) = cti(&app, &cti_fixture("seq_a_answered/01_newCall.json")).await;
        assert_eq!((status, &reply), (200, &ok));
        let a_id = "b6f1c0de-7a51-4c3e-9d11-2608130001aa";
        let ringing = call_by_call_id(&app, a_id).await;
        assert_eq!(ringing["state"], "ringing");
        assert_eq!(ringing["done"], false);
        assert_eq!(ringing["users"], json!(["Dewi Anggraini", "Rudi Hartono"]));
        assert_eq!(ringing["number"], "+6281234500001");
        assert_eq!(ringing["to_number"], "+62224200112");
        tick(12);
        cti_ok(&app, &cti_fixture("seq_a_answered/02_answer.json")).await;
        let answered = call_by_call_id(&app, a_id).await;
        assert_eq!(answered["state"], "answered");
        assert_eq!(answered["answering_number"], "dewi.anggraini");
        tick(185);
        cti_ok(&app, &cti_fixture("seq_a_answered/03_hangup.json")).await;
        let a = call_by_call_id(&app, a_id).await;
        assert_eq!(a["state"], "completed");
        assert_eq!(a["duration_seconds"], 197);
        assert!(a["callback"].is_null());
        assert_matches_expected(&a, &expected[a_id]);

        // B: the caller gives up after 20 s: a missed call waiting to be called back.
        tick(60);
        cti_ok(&app, &cti_fixture("seq_b_missed/01_newCall.json")).await;
        tick(20);
        cti_ok(&app, &cti_fixture("seq_b_missed/02_hangup.json")).await;
        let b_id = "b6f1c0de-7a51-4c3e-9d11-2608130002bb";
        let b = call_by_call_id(&app, b_id).await;
        assert_eq!(b["state"], "missed");
        assert_eq!(b["callback"]["done"], false);
        assert_matches_expected(&b, &expected[b_id]);

        // C: an agent calls B's number back.
        tick(600);
        for step in ["01_newCall", "02_answer", "03_hangup"] {
            cti_ok(&app, &cti_fixture(&format!("seq_c_outbound_callback/{step}.json"))).await;
            tick(5);
        }
        let c_id = "b6f1c0de-7a51-4c3e-9d11-2608130003cc";
        let c = call_by_call_id(&app, c_id).await;
        assert_eq!(c["state"], "completed");
        assert_eq!(c["number"], "+6285600000777");
        assert_matches_expected(&c, &expected[c_id]);
        // ...which settles B's callback.
        let b = call_by_call_id(&app, b_id).await;
        assert_eq!(b["done"], true);
        assert_eq!(b["callback"]["resolution"], "called_back");
        assert_eq!(b["callback"]["resolved_by_call_id"], c_id);

        // Newest first.
        let (_, list) = app.get(&app.agent_token, "/api/v1/calls").await;
        let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["call_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [c_id, b_id, a_id]);
        assert_eq!(count_rows(&app, "call_events"), 8);
    }

    async fn form_encoded_events_work_like_json(app, with_cti) {
        let r = app
            .http
            .post(app.url(&format!("/api/v1/cti/{TOKEN}")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(fixture_bytes("zammad_generic_cti/seq_a_answered/01_newCall.form"))
            .send()
            .await
            .unwrap();
        let (status, body) = split(r).await;
        assert_eq!((status, body), (200, json!({})));
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130001aa").await;
        assert_eq!(call["users"], json!(["Dewi Anggraini", "Rudi Hartono"]));
        assert_eq!(call["queue"], "pengaduan");
        // The JSON form of the same newCall is a repeat.
        cti_ok(&app, &cti_fixture("seq_a_answered/01_newCall.json")).await;
        assert_eq!(count_rows(&app, "call_events"), 1);
        // `curl -F` sends multipart/form-data.
        let answer = cti_fixture("seq_a_answered/02_answer.json");
        let mut body = String::new();
        for (k, v) in answer.as_object().unwrap() {
            body.push_str(&format!("--b0undary\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{}\r\n", v.as_str().unwrap()));
        }
        body.push_str("--b0undary--\r\n");
        let r = app
            .http
            .post(app.url(&format!("/api/v1/cti/{TOKEN}")))
            .header("Content-Type", "multipart/form-data; boundary=b0undary")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130001aa").await;
        assert_eq!((call["state"].as_str(), call["answered_by"].as_str()), (Some("answered"), Some("Dewi Anggraini")));
    }

    async fn edge_cases_from_the_fixtures(app, with_cti) {
        // A repeated newCall (even with other details) is harmless.
        cti_ok(&app, &cti_fixture("seq_a_answered/01_newCall.json")).await;
        cti_ok(&app, &cti_fixture("edge/duplicate_newCall_same_callId.json")).await;
        assert_eq!(count_rows(&app, "calls"), 1);
        assert_eq!(count_rows(&app, "call_events"), 1);
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130001aa").await;
        assert_eq!(call["users"], json!(["Dewi Anggraini", "Rudi Hartono"]));

        // An answer for a call we never saw is recorded, not an error.
        cti_ok(&app, &cti_fixture("edge/answer_unknown_callId.json")).await;
        let orphan = call_by_call_id(&app, "tidak-ada-0000").await;
        assert_eq!(orphan["state"], "answered");
        assert_eq!(orphan["answered_by"], "Dewi Anggraini");
        let (_, detail) = app.get(&app.agent_token, &format!("/api/v1/calls/{}", orphan["id"])).await;
        assert_eq!(detail["events"].as_array().unwrap().len(), 1);
        assert_eq!(detail["events"][0]["event"], "answer");

        // Anonymous callers are fine: no number, no contact.
        cti_ok(&app, &cti_fixture("edge/anonymous_caller.json")).await;
        let anon = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130004dd").await;
        assert_eq!(anon["from"], "anonymous");
        assert!(anon["number"].is_null() && anon["contact"].is_null());
        app.clock.advance(chrono::Duration::seconds(9));
        let mut hang = cti_fixture("edge/anonymous_caller.json");
        hang["event"] = json!("hangup");
        hang["cause"] = json!("cancel");
        cti_ok(&app, &hang).await;
        let anon = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130004dd").await;
        assert_eq!(anon["state"], "missed");
        assert!(anon["callback"].is_null(), "nobody to call back: {anon}");

        // An invalid direction is a 422 that says so, and records nothing.
        let before = count_rows(&app, "call_events");
        let (status, body) = cti(&app, &cti_fixture("edge/invalid_direction.json")).await;
        assert_eq!(status, 422, "{body}");
        let zammad = cti_fixture("responses/error_invalid_direction_422.json");
        assert!(body["errors"]["direction"].as_str().unwrap().starts_with(zammad["error"].as_str().unwrap()), "{body}");
        assert_eq!(body["code"], "validation_failed");

        // A wrong token is 401 and records nothing.
        let (status, body) = cti_with(&app, "wrong-token-0123456789", &cti_fixture("seq_b_missed/01_newCall.json")).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], cti_fixture("responses/error_bad_token_401.json")["error"]);
        assert_eq!(count_rows(&app, "call_events"), before);

        // Bodies that are not events.
        for bad in [json!({}), json!({"event": "ring", "callId": "x", "direction": "in", "from": "1", "to": "2"}), json!([1, 2])] {
            let (status, body) = cti(&app, &bad).await;
            assert!(status == 422 || status == 400, "{status} {body}");
        }
        let r = app.http.post(app.url(&format!("/api/v1/cti/{TOKEN}")))
            .header("Content-Type", "application/json").body("{\"event\": ").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let r = app.http.post(app.url(&format!("/api/v1/cti/{TOKEN}")))
            .header("Content-Type", "application/json").body(vec![b' '; 70 * 1024]).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let long_id = "x".repeat(251);
        let (status, body) = cti(&app, &event("newCall", &long_id, "in", "0812", "0224200112")).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["callId"].is_string());
        assert_eq!(count_rows(&app, "call_events"), before);
    }

    async fn endpoint_is_off_without_a_token(app) {
        let (status, _) = cti_with(&app, "anything-at-all-0000", &cti_fixture("seq_b_missed/01_newCall.json")).await;
        assert_eq!(status, 404);
        assert_eq!(count_rows(&app, "call_events"), 0);
    }

    async fn events_out_of_order(app, with_cti) {
        let tick = |s: i64| app.clock.advance(chrono::Duration::seconds(s));
        // The answer overtakes the newCall: the call still reads as one answered call.
        let mut answer = event("answer", "ooo-1", "in", "0812-3456-7890", "022 4200112");
        answer["user"] = json!("Dewi Anggraini");
        cti_ok(&app, &answer).await;
        tick(1);
        let mut new_call = event("newCall", "ooo-1", "in", "0812-3456-7890", "022 4200112");
        new_call["queue"] = json!("pengaduan");
        cti_ok(&app, &new_call).await;
        tick(30);
        cti_ok(&app, &event("hangup", "ooo-1", "in", "0812-3456-7890", "022 4200112")).await;
        let c = call_by_call_id(&app, "ooo-1").await;
        assert_eq!(c["state"], "completed");
        assert_eq!(c["queue"], "pengaduan");
        assert_eq!(c["number"], "+6281234567890");
        assert_eq!(c["waiting_seconds"], 0);
        assert_eq!(c["talking_seconds"], 30);

        // The hangup overtakes everything; the late answer is ignored (answer after hangup).
        cti_ok(&app, &event("hangup", "ooo-2", "in", "+62 812 3456 7890", "0224200112")).await;
        tick(1);
        cti_ok(&app, &event("newCall", "ooo-2", "in", "+62 812 3456 7890", "0224200112")).await;
        tick(1);
        cti_ok(&app, &event("answer", "ooo-2", "in", "+62 812 3456 7890", "0224200112")).await;
        let c = call_by_call_id(&app, "ooo-2").await;
        assert_eq!(c["state"], "missed");
        assert!(c["answered_at"].is_null());
        assert_eq!(c["waiting_seconds"], 0);

        // An answer after the hangup, in order, is ignored too; repeats change nothing.
        for e in ["newCall", "hangup", "answer", "hangup", "newCall", "answer"] {
            let mut ev = event(e, "ooo-3", "out", "0224200112", "0812 3456 7890");
            ev["user"] = json!("Rudi Hartono");
            cti_ok(&app, &ev).await;
            tick(10);
        }
        let c = call_by_call_id(&app, "ooo-3").await;
        assert_eq!(c["state"], "not_reached");
        assert!(c["answered_at"].is_null() && c["answered_by"].is_null());
        assert_eq!(c["waiting_seconds"], 10);
        assert_eq!(c["users"], json!(["Rudi Hartono"]));
    }

    async fn fifty_concurrent_calls(app, with_cti) {
        let mut handles = Vec::new();
        for i in 0..50 {
            let http = app.http.clone();
            let url = app.url(&format!("/api/v1/cti/{TOKEN}"));
            handles.push(actix_web::rt::spawn(async move {
                let number = format!("0812{:08}", 5550000 + i);
                let id = format!("load-{i:02}");
                // Missed calls for odd i, answered for even; every event sent twice.
                let steps: &[&str] = if i % 2 == 0 { &["newCall", "answer", "hangup"] } else { &["newCall", "hangup"] };
                for e in steps {
                    let body = event(e, &id, "in", &number, "0224200112");
                    for _ in 0..2 {
                        let r = http.post(&url).json(&body).send().await.expect("request");
                        assert_eq!(r.status().as_u16(), 200, "{id} {e}");
                    }
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        assert_eq!(count_rows(&app, "calls"), 50);
        assert_eq!(count_rows(&app, "call_events"), 25 * 3 + 25 * 2);
        let (_, list) = app.get(&app.agent_token, "/api/v1/calls?state=completed&limit=200").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 25);
        let (_, list) = app.get(&app.agent_token, "/api/v1/calls?state=missed&limit=200").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 25);
        let (_, open) = app.get(&app.agent_token, "/api/v1/callbacks?limit=200").await;
        assert_eq!(open["items"].as_array().unwrap().len(), 25);
    }

    async fn racing_repeats_and_racing_events_of_one_call(app, with_cti) {
        // The same newCall eight times at once, then answer and hangup racing each other.
        let send_all = |bodies: Vec<Value>| {
            let handles: Vec<_> = bodies
                .into_iter()
                .map(|body| {
                    let http = app.http.clone();
                    let url = app.url(&format!("/api/v1/cti/{TOKEN}"));
                    actix_web::rt::spawn(async move {
                        let r = http.post(&url).json(&body).send().await.expect("request");
                        assert_eq!(r.status().as_u16(), 200);
                    })
                })
                .collect();
            async move {
                for h in handles {
                    h.await.expect("task");
                }
            }
        };
        let new_call = event("newCall", "race-1", "in", "0857 1234 5678", "0224200112");
        send_all(vec![new_call; 8]).await;
        assert_eq!(count_rows(&app, "calls"), 1);
        assert_eq!(count_rows(&app, "call_events"), 1);
        let mut answer = event("answer", "race-1", "in", "0857 1234 5678", "0224200112");
        answer["user"] = json!("Dewi Anggraini");
        let hangup = event("hangup", "race-1", "in", "0857 1234 5678", "0224200112");
        send_all(vec![answer.clone(), hangup.clone(), answer, hangup]).await;
        assert_eq!(count_rows(&app, "call_events"), 3);
        // Whichever came first, the row is the fold of all three events.
        let call = call_by_call_id(&app, "race-1").await;
        let (_, detail) = app.get(&app.agent_token, &format!("/api/v1/calls/{}", call["id"])).await;
        let at = |e: &str| {
            detail["events"].as_array().unwrap().iter().find(|x| x["event"] == e).unwrap()["received_at"].clone()
        };
        let answered_first = serde_json::from_value::<chrono::DateTime<chrono::Utc>>(at("answer")).unwrap()
            <= serde_json::from_value::<chrono::DateTime<chrono::Utc>>(at("hangup")).unwrap();
        assert_eq!(call["state"], if answered_first { "completed" } else { "missed" }, "{detail}");
    }

    async fn caller_log_filters_and_pages(app, with_cti) {
        replay_fixture_sequences(&app).await;
        let get = |q: &'static str| app.get(&app.agent_token, q);
        let (_, missed) = get("/api/v1/calls?state=missed").await;
        assert_eq!(missed["items"].as_array().unwrap().len(), 1);
        let (_, out) = get("/api/v1/calls?state=outbound").await;
        assert_eq!(out["items"][0]["direction"], "out");
        assert_eq!(out["items"].as_array().unwrap().len(), 1);
        // The number written any way finds both calls with B's caller.
        for q in ["/api/v1/calls?number=0856-0000-0777", "/api/v1/calls?number=%2B62%20856%200000%200777", "/api/v1/calls?number=6285600000777"] {
            let (status, body) = get(q).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["items"].as_array().unwrap().len(), 2, "{q}");
        }
        let (_, page1) = get("/api/v1/calls?limit=2").await;
        assert_eq!(page1["items"].as_array().unwrap().len(), 2);
        let cursor = page1["next_cursor"].as_str().unwrap().to_string();
        let (_, page2) = app.get(&app.agent_token, &format!("/api/v1/calls?limit=2&cursor={cursor}")).await;
        assert_eq!(page2["items"].as_array().unwrap().len(), 1);
        assert!(page2["next_cursor"].is_null());
        for (q, field) in [("/api/v1/calls?state=lost", "state"), ("/api/v1/calls?number=abc", "number"), ("/api/v1/calls?limit=0", "limit"), ("/api/v1/calls?direction=up", "direction")] {
            let (status, body) = get(q).await;
            assert_eq!(status, 422, "{q} {body}");
            assert!(body["errors"][field].is_string(), "{body}");
        }
        let (status, _) = app.get("not-a-token", "/api/v1/calls").await;
        assert_eq!(status, 401);
    }
}
