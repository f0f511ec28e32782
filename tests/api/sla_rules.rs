//! SLA rules added on top of the engine: policy conditions on contact attributes, closing a
//! resolved ticket after working days of citizen silence, and pauses shifting working-day
//! deadlines by exactly the business time paused. Instants worked out by hand in the comments on
//! the `jakarta-cc` calendar of `sla.rs` (Mon–Fri 08–12 and 13–17 WIB, Saturday 22:00–06:00; WIB is
//! UTC+7). 7 Dec 2026 is a Monday.

use serde_json::{Value, json};
use tanggap::sla::timers::scan_once;

use crate::helpers::{TestApp, events_of_kind};
use crate::sla::{clock, due_of, scan, set_status, setup, t};

/// A citizen message on the phone channel, threaded to `number`.
async fn citizen_writes(app: &TestApp, phone: &str, number: &str, external_id: &str) -> i64 {
    let msg = tanggap::intake::InboundMessage {
        channel: tanggap::tickets::Channel::Phone,
        external_id: Some(external_id.into()),
        sender: tanggap::contacts::Identity::parse(tanggap::contacts::IdentityKind::Phone, phone).unwrap(),
        also_known_as: Vec::new(),
        display_name: None,
        subject: None,
        text: "Masih belum beres".into(),
        html: None,
        attachments: Vec::new(),
        ticket_ref: Some(number.into()),
        thread_key: None,
        metadata: None,
        received_at: app.ctx.clock.now(),
    };
    tanggap::intake::ingest(&app.ctx, msg).await.expect("ingest").ticket_id
}

fn policy_of(ticket: &Value, kind: &str) -> String {
    clock(ticket, kind)["policy"].as_str().unwrap_or_default().to_string()
}

crate::both_backends! {
    async fn contact_attributes_choose_the_policy_and_a_change_reevaluates_open_tickets(app) {
        let vip = json!({ "name": "vip", "position": 10, "conditions": { "contact": { "segment": ["vip", "vvip"] } },
            "targets": { "first_response": { "target": "1h", "calendar": "jakarta-cc" } } });
        let standard = json!({ "name": "standar", "position": 100,
            "targets": { "first_response": { "target": "4h", "calendar": "jakarta-cc" } } });
        setup(&app, &[vip, standard]).await;
        // A bad condition names its field.
        let bad = json!({ "name": "x", "conditions": { "contact": { "Segment!": ["vip"] } },
            "targets": { "first_response": { "target": "1h" } } });
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/policies", &bad).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["errors"]["conditions.contact"].is_string(), "{b}");
        // Mon 7 Dec 09:00 WIB.
        app.clock.set(t("2026-12-07T09:00:00+07:00"));

        // Attributes are set when the contact is created, validated.
        let (s, b) = app.post(&app.agent_token, "/api/v1/contacts",
            &json!({ "name": "Bu Ani", "phone": "081322220001", "attributes": { "segment": "vip", "kota": "Bogor" } })).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["attributes"], json!({ "segment": "vip", "kota": "Bogor" }));
        let (s, b) = app.post(&app.agent_token, "/api/v1/contacts",
            &json!({ "phone": "081322220009", "attributes": { "Segment": "vip", "n": 3 } })).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["errors"]["attributes.Segment"].is_string() && b["errors"]["attributes.n"].is_string(), "{b}");

        let vip_ticket = app.create_ticket("Bansos belum cair", "081322220001").await;
        let vip_id = vip_ticket["id"].as_i64().unwrap();
        let tk = app.ticket(vip_id).await;
        assert_eq!(policy_of(&tk, "first_response"), "vip");
        assert_eq!(due_of(&tk, "first_response"), t("2026-12-07T10:00:00+07:00"));

        let other = app.create_ticket("Jalan rusak", "081322220002").await;
        let other_id = other["id"].as_i64().unwrap();
        let tk = app.ticket(other_id).await;
        assert_eq!(policy_of(&tk, "first_response"), "standar");
        let contact_id = tk["contact_id"].as_i64().unwrap();

        // 30 minutes later the agent marks the second citizen as VIP: the open ticket takes the VIP
        // policy, keeping the 30 minutes used: due 10:00 instead of 13:00 (4 h with lunch).
        app.clock.set(t("2026-12-07T09:30:00+07:00"));
        let path = format!("/api/v1/contacts/{contact_id}");
        let (s, b) = app.patch(&app.agent_token, &path, &json!({ "attributes": { "segment": "vvip" } })).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["attributes"], json!({ "segment": "vvip" }));
        let tk = app.ticket(other_id).await;
        assert_eq!(policy_of(&tk, "first_response"), "vip");
        assert_eq!(due_of(&tk, "first_response"), t("2026-12-07T10:00:00+07:00"));
        let changed = events_of_kind(&tk, "sla_policy_changed");
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].0["policy"], "standar");
        assert_eq!(changed[0].1["policy"], "vip");
        assert_eq!(changed[0].1["reason"], "contact attributes changed");

        // Another attribute changes nothing about the policy: no event.
        let (s, _) = app.patch(&app.agent_token, &path, &json!({ "attributes": { "kota": "Depok" } })).await;
        assert_eq!(s, 200);
        assert_eq!(events_of_kind(&app.ticket(other_id).await, "sla_policy_changed").len(), 1);

        // Removing it (null) at 10:30 puts the standard policy back.
        app.clock.set(t("2026-12-07T10:30:00+07:00"));
        let (s, b) = app.patch(&app.agent_token, &path, &json!({ "attributes": { "segment": null } })).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["attributes"], json!({ "kota": "Depok" }));
        let tk = app.ticket(other_id).await;
        assert_eq!(policy_of(&tk, "first_response"), "standar");
        // Used: 09:00–10:30 = 1.5 h of 4 h; 2.5 h left from 10:30: 10:30–12:00, 13:00–14:00.
        assert_eq!(due_of(&tk, "first_response"), t("2026-12-07T14:00:00+07:00"));
        assert_eq!(events_of_kind(&tk, "sla_policy_changed").len(), 2);

        // Validation, authentication, unknown contact.
        let (s, b) = app.patch(&app.agent_token, &path, &json!({ "attributes": { "segment": 5 } })).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["errors"]["attributes.segment"].is_string(), "{b}");
        let (s, _) = app.patch(&app.agent_token, &path, &json!({ "colour": "red" })).await;
        assert!(s == 400 || s == 422, "{s}");
        let (s, _) = app.patch("", &path, &json!({ "attributes": { "segment": "vip" } })).await;
        assert_eq!(s, 401);
        let (s, _) = app.patch(&app.agent_token, "/api/v1/contacts/999999", &json!({ "name": "X" })).await;
        assert_eq!(s, 404);
        let (s, b) = app.get(&app.agent_token, &path).await;
        assert_eq!((s, b["attributes"].clone()), (200, json!({ "kota": "Depok" })), "{b}");
        // The VIP ticket did not move.
        assert_eq!(policy_of(&app.ticket(vip_id).await, "first_response"), "vip");
    }

    async fn a_resolved_ticket_closes_after_working_days_of_citizen_silence(app, |s| s.tickets.reopen_window_hours = 1) {
        let p = json!({ "name": "pengaduan", "conditions": { "priority": ["high"] },
            "targets": { "first_response": { "target": "4h", "calendar": "jakarta-cc" } },
            "close_after_silence": { "working_days": 2, "calendar": "jakarta-cc" } });
        setup(&app, &[p]).await;
        app.clock.set(t("2026-12-04T10:00:00+07:00"));
        let phone = "081322220003";
        let created = app.create_ticket("Air PDAM keruh", phone).await;
        let id = created["id"].as_i64().unwrap();
        let number = created["number"].as_str().unwrap().to_string();
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "priority": "high" })).await;
        assert_eq!(s, 200);
        // A ticket without the policy: the global window (1 h) closes it.
        let plain = app.create_ticket("Lampu taman", "081322220004").await;
        let plain_id = plain["id"].as_i64().unwrap();

        // Resolved Mon 7 Dec 10:00: 2 working days after Monday are Tue 8 and Wed 9; closes Wed 17:00.
        app.clock.set(t("2026-12-07T10:00:00+07:00"));
        set_status(&app, id, "resolved").await;
        set_status(&app, plain_id, "resolved").await;
        let tk = app.ticket(id).await;
        assert_eq!(clock(&tk, "auto_close")["state"], "running");
        assert_eq!(due_of(&tk, "auto_close"), t("2026-12-09T17:00:00+07:00"));
        assert_eq!(events_of_kind(&tk, "sla_started").len(), 1);

        // Past the global window the old job closes only the ticket without the stage.
        app.clock.set(t("2026-12-08T12:00:00+07:00"));
        assert_eq!(tanggap::tickets::service::auto_close(&app.ctx).await.expect("auto close"), 1);
        assert_eq!(app.ticket(plain_id).await["status"], "closed");
        assert_eq!(app.ticket(id).await["status"], "resolved");

        // The citizen writes on Tuesday (after the 1 h window, within the stage): reopened, the count stops.
        assert_eq!(citizen_writes(&app, phone, &number, "call-r1").await, id);
        let tk = app.ticket(id).await;
        assert_eq!(tk["status"], "open");
        assert_eq!(events_of_kind(&tk, "reopened").len(), 1);
        assert_eq!(clock(&tk, "auto_close")["state"], "stopped");
        assert_eq!(scan(&app).await, 0);

        // Resolved again Wed 9 Dec 10:00: a new count, Thu 10 and Fri 11, closes Fri 11 Dec 17:00.
        app.clock.set(t("2026-12-09T10:00:00+07:00"));
        set_status(&app, id, "resolved").await;
        let tk = app.ticket(id).await;
        assert_eq!((clock(&tk, "auto_close")["state"].clone(), clock(&tk, "auto_close")["cycle"].clone()), (json!("running"), json!(2)));
        assert_eq!(due_of(&tk, "auto_close"), t("2026-12-11T17:00:00+07:00"));

        app.clock.set(t("2026-12-11T16:59:59+07:00"));
        assert_eq!(scan(&app).await, 0);
        assert_eq!(app.ticket(id).await["status"], "resolved");
        // At 17:00 two nodes scan: the ticket closes once.
        app.clock.set(t("2026-12-11T17:00:00+07:00"));
        let other = crate::sla::second_node(&app);
        let (a, b) = tokio::join!(scan_once(&app.ctx, "node-a"), scan_once(&other, "node-b"));
        assert_eq!(a.expect("a").fired + b.expect("b").fired, 1);
        assert_eq!(scan(&app).await, 0);
        let tk = app.ticket(id).await;
        assert_eq!(tk["status"], "closed");
        let closed: Vec<&Value> = tk["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "auto_closed").collect();
        assert_eq!(closed.len(), 1, "{closed:?}");
        assert_eq!((closed[0]["actor_kind"].as_str(), closed[0]["before"].as_str(), closed[0]["after"].as_str()),
            (Some("system"), Some("resolved"), Some("closed")));
        let met = events_of_kind(&tk, "sla_met");
        assert!(met.iter().any(|(_, after)| after["clock"] == "auto_close"
            && after["reason"].as_str().is_some_and(|r| r.contains("2 working days"))), "{met:?}");
        assert_eq!(clock(&tk, "auto_close")["state"], "met");
        // No warning or breach went anywhere for it.
        assert!(events_of_kind(&tk, "sla_breached").iter().all(|(_, a)| a["clock"] != "auto_close"));
    }

    async fn pauses_shift_working_day_deadlines_by_the_business_time_paused(app) {
        let p = json!({ "name": "tahapan", "position": 100,
            "stages": [{ "name": "verifikasi", "working_days": 3, "calendar": "jakarta-cc", "met_on": ["resolved"] }],
            "pause": { "on_hold": ["stage:verifikasi"] } });
        let longer = json!({ "name": "tahapan-panjang", "position": 10, "conditions": { "priority": ["urgent"] },
            "stages": [{ "name": "verifikasi", "working_days": 4, "calendar": "jakarta-cc", "met_on": ["resolved"] }],
            "pause": { "on_hold": ["stage:verifikasi"] } });
        setup(&app, &[p, longer]).await;
        // Opened Mon 7 Dec 10:00: 3 working days after Monday, due Thu 10 Dec 17:00.
        app.clock.set(t("2026-12-07T10:00:00+07:00"));
        let a = app.create_ticket("Dokumen kurang", "081322220005").await["id"].as_i64().unwrap();
        assert_eq!(due_of(&app.ticket(a).await, "stage:verifikasi"), t("2026-12-10T17:00:00+07:00"));
        // On hold Tue 14:00 to Wed 10:00: 3 h (Tue 14–17) + 2 h (Wed 08–10) = 5 h of business time
        // paused, so the deadline moves 5 business hours past Thu 17:00: Fri 08–12 and 13–14.
        app.clock.set(t("2026-12-08T14:00:00+07:00"));
        set_status(&app, a, "on_hold").await;
        let tk = app.ticket(a).await;
        // Left at the pause: Tue 14–17 (3 h) + Wed and Thu (8 h each) = 19 h.
        assert_eq!((clock(&tk, "stage:verifikasi")["state"].as_str(), clock(&tk, "stage:verifikasi")["remaining_secs"].as_i64()),
            (Some("paused"), Some(19 * 3600)));
        app.clock.set(t("2026-12-09T10:00:00+07:00"));
        set_status(&app, a, "open").await;
        assert_eq!(due_of(&app.ticket(a).await, "stage:verifikasi"), t("2026-12-11T14:00:00+07:00"));
        // On hold again Fri 13:30 over the weekend (Fri 13:30–17, the Saturday night shift 22–06, Mon
        // 08–09 = 12.5 h paused) until Mon 14 Dec 09:00: the 30 minutes left run 09:00–09:30.
        app.clock.set(t("2026-12-11T13:30:00+07:00"));
        set_status(&app, a, "on_hold").await;
        app.clock.set(t("2026-12-14T09:00:00+07:00"));
        set_status(&app, a, "open").await;
        let tk = app.ticket(a).await;
        assert_eq!(due_of(&tk, "stage:verifikasi"), t("2026-12-14T09:30:00+07:00"));
        let paused = events_of_kind(&tk, "sla_paused");
        assert_eq!(paused.len(), 2);
        assert_eq!(paused[1].1["reason"], "status open → on_hold");
        assert_eq!(paused[1].1["remaining_secs"], 1800);

        // A policy change mid-stage counts the new working days from the clock's start, not from the
        // change: opened Mon 7 Dec 10:00, moved Tue 10:00 to the 4-working-day stage: due Fri 11 Dec 17:00.
        app.clock.set(t("2026-12-07T10:00:00+07:00"));
        let b = app.create_ticket("Surat keterangan", "081322220006").await["id"].as_i64().unwrap();
        app.clock.set(t("2026-12-08T10:00:00+07:00"));
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{b}"), &json!({ "priority": "urgent" })).await;
        assert_eq!(s, 200);
        let tk = app.ticket(b).await;
        assert_eq!(clock(&tk, "stage:verifikasi")["policy"], "tahapan-panjang");
        assert_eq!(due_of(&tk, "stage:verifikasi"), t("2026-12-11T17:00:00+07:00"));
    }
}
