//! SLA engine through the API and the timer, on a fake clock. Due times are worked out by hand in
//! the comments; WIB is UTC+7. 4 Dec 2026 is a Friday.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tanggap::sla::timers::scan_once;

use crate::helpers::{TestApp, events_of_kind};

pub(crate) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn jakarta() -> Value {
    let day = json!(["08:00-12:00", "13:00-17:00"]);
    json!({
        "name": "jakarta-cc", "timezone": "Asia/Jakarta",
        "holidays": ["2026-12-24", { "date": "2026-12-25", "name": "Natal" }],
        "holidays_csv": "date,name\n2026-12-31,Cuti bersama\n",
        "hours": { "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": ["22:00-06:00"] },
    })
}

pub(crate) async fn setup(app: &TestApp, policies: &[Value]) {
    let (s, b) = app.post(&app.admin_token, "/api/v1/sla/calendars", &jakarta()).await;
    assert_eq!(s, 201, "{b}");
    for p in policies {
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/policies", p).await;
        assert_eq!(s, 201, "{b}");
    }
}

fn standard() -> Value {
    json!({
        "name": "standar", "position": 100,
        "targets": {
            "first_response": { "target": "4h", "calendar": "jakarta-cc" },
            "resolution": { "target": "8h", "calendar": "jakarta-cc" },
        },
        "pause": { "pending": ["resolution"] },
        "warn_at": [75, 90],
    })
}

pub(crate) fn clock<'a>(ticket: &'a Value, kind: &str) -> &'a Value {
    ticket["sla"]
        .as_array()
        .expect("sla clocks")
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} clock in {}", ticket["sla"]))
}

pub(crate) fn due_of(ticket: &Value, kind: &str) -> DateTime<Utc> {
    t(clock(ticket, kind)["due_at"].as_str().expect("due_at"))
}

pub(crate) async fn scan(app: &TestApp) -> usize {
    scan_once(&app.ctx, "test-timer").await.expect("scan").fired
}

pub(crate) async fn set_status(app: &TestApp, id: i64, status: &str) {
    let (s, b) = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            &json!({ "status": status }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

crate::both_backends! {
    async fn admins_manage_calendars_and_policies_agents_read(app) {
        setup(&app, &[]).await;
        // The same name again replaces it.
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/calendars", &jakarta()).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["holidays"].as_array().unwrap().len(), 3);
        assert_eq!(b["hours"]["sat"], json!(["22:00-06:00"]));
        let (s, b) = app.get(&app.agent_token, "/api/v1/sla/calendars").await;
        assert_eq!((s, b["items"].as_array().unwrap().len()), (200, 1));
        let (s, _) = app.post(&app.agent_token, "/api/v1/sla/calendars", &jakarta()).await;
        assert_eq!(s, 403);
        let mut bad = jakarta();
        bad["hours"]["mon"] = json!(["08:00-25:00"]);
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/calendars", &bad).await;
        assert_eq!(s, 422, "{b}");
        assert!(b.to_string().contains("hours.mon"), "{b}");
        let mut bad = jakarta();
        bad["holidays_ical"] = json!("BEGIN:VEVENT\nDTSTART:20261224T090000Z\nEND:VEVENT\n");
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/calendars", &bad).await;
        assert_eq!(s, 422, "{b}");

        let mut p = standard();
        p["targets"]["resolution"]["calendar"] = json!("nowhere");
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/policies", &p).await;
        assert_eq!(s, 422, "{b}");
        assert!(b.to_string().contains("nowhere"), "{b}");
        let (s, b) = app.post(&app.admin_token, "/api/v1/sla/policies", &json!({ "name": "x", "targets": {}, "colour": 1 })).await;
        assert!(s == 400 || s == 422, "{s} {b}");
        let (s, created) = app.post(&app.admin_token, "/api/v1/sla/policies", &standard()).await;
        assert_eq!((s, created["version"].as_i64()), (201, Some(1)), "{created}");
        let (s, _) = app.post(&app.admin_token, "/api/v1/sla/policies", &standard()).await;
        assert_eq!(s, 409);
        let id = created["id"].as_i64().unwrap();
        let mut p = standard();
        p["warn_at"] = json!([80]);
        let (s, b) = app.patch(&app.admin_token, &format!("/api/v1/sla/policies/{id}"), &p).await;
        assert_eq!((s, b["version"].as_i64(), b["warn_at"].clone()), (200, Some(2), json!([80])), "{b}");
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/sla/policies/{id}"), &p).await;
        assert_eq!(s, 403);
        let (s, b) = app.get(&app.agent_token, &format!("/api/v1/sla/policies/{id}")).await;
        assert_eq!((s, b["name"].as_str()), (200, Some("standar")));
        // A calendar a policy uses cannot go.
        let (_, cals) = app.get(&app.agent_token, "/api/v1/sla/calendars").await;
        let cal_id = cals["items"][0]["id"].as_i64().unwrap();
        let (s, b) = app.delete(&app.admin_token, &format!("/api/v1/sla/calendars/{cal_id}")).await;
        assert_eq!((s, b["code"].as_str()), (409, Some("calendar_in_use")), "{b}");
        let (s, _) = app.delete(&app.admin_token, &format!("/api/v1/sla/policies/{id}")).await;
        assert_eq!(s, 204);
        let (s, _) = app.delete(&app.admin_token, &format!("/api/v1/sla/calendars/{cal_id}")).await;
        assert_eq!(s, 204);
        let (s, _) = app.get(&app.agent_token, &format!("/api/v1/sla/policies/{id}")).await;
        assert_eq!(s, 404);
    }

    async fn clocks_run_through_the_weekend_night_shift_pause_and_breach(app) {
        setup(&app, &[standard()]).await;
        // Fri 4 Dec 16:00 WIB.
        app.clock.set(t("2026-12-04T16:00:00+07:00"));
        let created = app.create_ticket("Lampu jalan mati", "081311110001").await;
        let id = created["id"].as_i64().unwrap();
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "assignee": app.agent_id })).await;
        assert_eq!(s, 200);
        let tk = app.ticket(id).await;
        // First response 4 h: Fri 16-17 (1 h) + Sat 22:00 + 3 h = Sun 01:00 WIB.
        assert_eq!(due_of(&tk, "first_response"), t("2026-12-06T01:00:00+07:00"));
        // Resolution 8 h: 1 h Friday + 7 h of the night shift = Sun 05:00 WIB.
        assert_eq!(due_of(&tk, "resolution"), t("2026-12-06T05:00:00+07:00"));
        assert_eq!(clock(&tk, "resolution")["remaining_secs"], 8 * 3600);
        assert_eq!(events_of_kind(&tk, "sla_policy_applied").len(), 1);
        // The list carries the clocks too.
        let (_, list) = app.get(&app.agent_token, "/api/v1/tickets").await;
        assert_eq!(list["items"][0]["sla"].as_array().unwrap().len(), 2);

        // Sat 23:00: the citizen is asked for details (pending pauses resolution after 2 h used).
        app.clock.set(t("2026-12-05T23:00:00+07:00"));
        assert_eq!(scan(&app).await, 0, "first response is at 50 %");
        set_status(&app, id, "pending").await;
        let tk = app.ticket(id).await;
        let r = clock(&tk, "resolution");
        assert_eq!((r["paused"].as_bool(), r["remaining_secs"].as_i64()), (Some(true), Some(6 * 3600)));
        assert!(r["due_at"].is_null());
        let paused = events_of_kind(&tk, "sla_paused");
        assert_eq!(paused.len(), 1);
        assert_eq!(paused[0].1["reason"], "status new → pending");

        // Mon 7 Dec 10:00 the citizen answers; the agent resumes: 6 h left = Mon 10-12, 13-17.
        app.clock.set(t("2026-12-07T10:00:00+07:00"));
        // Meanwhile first response (not paused by pending) breached at Sun 01:00: one firing.
        assert_eq!(scan(&app).await, 1);
        assert_eq!(scan(&app).await, 0);
        set_status(&app, id, "open").await;
        let tk = app.ticket(id).await;
        assert_eq!(due_of(&tk, "resolution"), t("2026-12-07T17:00:00+07:00"));
        assert_eq!(events_of_kind(&tk, "sla_resumed").len(), 1);
        // Overdue by business time: Sun 01:00-06:00 (5 h) + Mon 08:00-10:00 (2 h).
        let fr = clock(&tk, "first_response");
        assert_eq!((fr["breached"].as_bool(), fr["remaining_secs"].as_i64()), (Some(true), Some(-(7 * 3600))));
        let breaches = events_of_kind(&tk, "sla_breached");
        assert_eq!(breaches.len(), 1);
        assert_eq!(breaches[0].1["due_at"], "2026-12-05T18:00:00Z");
        let (_, notes) = app.get(&app.agent_token, "/api/v1/sla/notifications").await;
        assert_eq!(notes["items"].as_array().unwrap().len(), 1, "{notes}");

        // 75 % of 8 h = 6 h used: 2 h before the pause + 4 h from 10:00 with lunch = 15:00.
        app.clock.set(t("2026-12-07T14:59:59+07:00"));
        assert_eq!(scan(&app).await, 0);
        app.clock.set(t("2026-12-07T15:00:00+07:00"));
        assert_eq!(scan(&app).await, 1);
        // 90 % = 7.2 h: 16:12.
        app.clock.set(t("2026-12-07T16:12:00+07:00"));
        assert_eq!(scan(&app).await, 1);
        app.clock.set(t("2026-12-07T17:00:00+07:00"));
        assert_eq!(scan(&app).await, 1);
        assert_eq!(scan(&app).await, 0);
        let tk = app.ticket(id).await;
        let warnings: Vec<Value> = events_of_kind(&tk, "sla_warning").into_iter().map(|(_, a)| a["at"].clone()).collect();
        assert_eq!(warnings, vec![json!("75%"), json!("90%")]);
        assert_eq!(events_of_kind(&tk, "sla_breached").len(), 2);
        let r = clock(&tk, "resolution");
        assert_eq!((r["warned_percent"].as_i64(), r["breached"].as_bool()), (Some(90), Some(true)));

        // The reply meets the first response; resolving meets the resolution clock.
        let (s, _) = app.post(&app.agent_token, &format!("/api/v1/tickets/{id}/messages"), &json!({ "kind": "reply", "body": "Sudah kami perbaiki." })).await;
        assert_eq!(s, 201);
        set_status(&app, id, "resolved").await;
        let tk = app.ticket(id).await;
        assert_eq!(clock(&tk, "first_response")["state"], "met");
        assert_eq!(clock(&tk, "resolution")["state"], "met");
    }

    async fn holidays_and_cuti_bersama_move_the_due_time(app) {
        setup(&app, &[standard()]).await;
        // Wed 30 Dec 16:00 WIB: 1 h; 31 Dec cuti bersama (CSV), 1 Jan not listed but Friday is
        // open; so first response 4 h = 16-17 + Fri 1 Jan 08:00-11:00.
        app.clock.set(t("2026-12-30T16:00:00+07:00"));
        let id = app.create_ticket("Banjir", "081311110002").await["id"].as_i64().unwrap();
        let tk = app.ticket(id).await;
        assert_eq!(due_of(&tk, "first_response"), t("2027-01-01T11:00:00+07:00"));
        // Wed 23 Dec 15:00: 2 h; 24 and 25 Dec holidays; Sat 26 22:00 + 2 h = Sun 00:00.
        app.clock.set(t("2026-12-23T15:00:00+07:00"));
        let id = app.create_ticket("Jalan rusak", "081311110003").await["id"].as_i64().unwrap();
        let tk = app.ticket(id).await;
        assert_eq!(due_of(&tk, "first_response"), t("2026-12-27T00:00:00+07:00"));
    }

    async fn a_policy_change_mid_ticket_keeps_the_time_used(app) {
        let urgent = json!({
            "name": "darurat", "position": 1, "conditions": { "priority": ["urgent"] },
            "targets": { "resolution": { "target": "2h" } },
            "escalation": [{ "at": "breach", "action": "raise_priority" }, { "at": "breach", "action": "notify_supervisors" }],
        });
        let normal = json!({ "name": "biasa", "position": 2, "targets": { "resolution": { "target": "8h" } } });
        setup(&app, &[urgent, normal]).await;
        let start = t("2026-12-01T02:00:00Z");
        app.clock.set(start);
        let id = app.create_ticket("Air keruh", "081311110004").await["id"].as_i64().unwrap();
        let tk = app.ticket(id).await;
        assert_eq!((clock(&tk, "resolution")["policy"].as_str(), due_of(&tk, "resolution")), (Some("biasa"), start + Duration::hours(8)));
        // An hour later it turns out urgent: 2 h target, 1 h used, due at start + 2 h.
        app.clock.advance(Duration::hours(1));
        let (s, b) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "priority": "high" })).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(events_of_kind(&b, "sla_policy_changed").len(), 0, "high still matches biasa");
        let (_, b) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "priority": "urgent" })).await;
        let changed = events_of_kind(&b, "sla_policy_changed");
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].0["policy"].as_str(), changed[0].1["policy"].as_str()), (Some("biasa"), Some("darurat")));
        assert_eq!(due_of(&b, "resolution"), start + Duration::hours(2));
        assert_eq!(clock(&b, "resolution")["remaining_secs"], 3600);
        // Editing the policy afterwards does not touch this ticket (it keeps version 1).
        app.clock.set(start + Duration::hours(2));
        assert_eq!(scan(&app).await, 1);
        let tk = app.ticket(id).await;
        assert_eq!(clock(&tk, "resolution")["policy_version"], 1);
        assert!(clock(&tk, "resolution")["breached"].as_bool().unwrap());
    }

    async fn next_response_restarts_on_each_citizen_message(app) {
        let p = json!({ "name": "chat", "targets": {
            "first_response": { "target": "30m" }, "next_response": { "target": "1h" }, "periodic_update": { "target": "1d" } } });
        setup(&app, &[p]).await;
        let start = t("2026-12-01T02:00:00Z");
        app.clock.set(start);
        let created = app.create_ticket("Sampah", "081311110005").await;
        let id = created["id"].as_i64().unwrap();
        app.clock.advance(Duration::minutes(10));
        let (s, _) = app.post(&app.agent_token, &format!("/api/v1/tickets/{id}/messages"), &json!({ "kind": "reply", "body": "Baik, kami cek." })).await;
        assert_eq!(s, 201);
        let tk = app.ticket(id).await;
        assert_eq!(clock(&tk, "first_response")["state"], "met");
        assert_eq!(due_of(&tk, "periodic_update"), start + Duration::minutes(10) + Duration::days(1));
        assert!(tk["sla"].as_array().unwrap().iter().all(|c| c["kind"] != "next_response"));
        // The citizen writes again (through intake, on the phone channel): next response starts.
        app.clock.advance(Duration::minutes(20));
        let msg = tanggap::intake::InboundMessage {
            channel: tanggap::tickets::Channel::Phone,
            external_id: Some("call-2".into()),
            sender: tanggap::contacts::Identity::parse(tanggap::contacts::IdentityKind::Phone, "081311110005").unwrap(),
            also_known_as: Vec::new(),
            display_name: None,
            subject: None,
            text: "Sudah dua hari belum diangkut".into(),
            html: None,
            attachments: Vec::new(),
            ticket_ref: created["number"].as_str().map(String::from),
            thread_key: None,
            metadata: None,
            received_at: app.ctx.clock.now(),
        };
        let out = tanggap::intake::ingest(&app.ctx, msg).await.expect("ingest");
        assert_eq!(out.ticket_id, id);
        let tk = app.ticket(id).await;
        assert_eq!(due_of(&tk, "next_response"), start + Duration::minutes(30) + Duration::hours(1));
        app.clock.advance(Duration::hours(2));
        assert_eq!(scan(&app).await, 1, "next response breached");
        let (s, _) = app.post(&app.agent_token, &format!("/api/v1/tickets/{id}/messages"), &json!({ "kind": "reply", "body": "Maaf, hari ini diangkut." })).await;
        assert_eq!(s, 201);
        let tk = app.ticket(id).await;
        assert_eq!(clock(&tk, "next_response")["state"], "met");
        assert_eq!(clock(&tk, "next_response")["cycle"], 1);
    }
}

/// A second process on the same database: its own pools, the same (fake) time.
pub(crate) fn second_node(app: &TestApp) -> tanggap::context::AppContext {
    let settings = (*app.ctx.settings).clone();
    let db = tanggap::db::Db::connect(&settings.database).expect("connect");
    tanggap::context::AppContext::with_clock(settings, db, app.clock.clone()).expect("context")
}

fn firings(app: &TestApp) -> i64 {
    let mut conn = app.ctx.db.read_conn().expect("conn");
    tanggap::sla::repo::count_firings(&mut conn).expect("count")
}

mod timer {
    use super::*;

    crate::both_backends! {
        async fn two_workers_fire_each_warning_and_breach_exactly_once(app, |s| s.sla.batch_size = 3) {
            let p = json!({ "name": "cepat", "targets": { "resolution": { "target": "1h" } }, "warn_at": [50] });
            setup(&app, &[p]).await;
            let start = t("2026-12-01T02:00:00Z");
            app.clock.set(start);
            let n = 12;
            for i in 0..n {
                app.create_ticket(&format!("Keluhan {i}"), &format!("0813111120{i:02}")).await;
            }
            let other = second_node(&app);
            // Half time: each clock's 50 % warning, by whichever worker claims it first.
            app.clock.set(start + Duration::minutes(30));
            let mut fired = 0;
            loop {
                let (a, b) = tokio::join!(scan_once(&app.ctx, "node-a"), scan_once(&other, "node-b"));
                let (a, b) = (a.expect("a"), b.expect("b"));
                fired += a.fired + b.fired;
                if a.claimed == 0 && b.claimed == 0 {
                    break;
                }
            }
            assert_eq!((fired, firings(&app)), (n, n as i64));
            // A restarted worker (a fresh process) finds nothing left to fire.
            let restarted = second_node(&app);
            assert_eq!(scan_once(&restarted, "node-c").await.unwrap(), Default::default());
            // Past the due time: one breach each, however many scans run.
            app.clock.set(start + Duration::hours(2));
            let mut fired = 0;
            for _ in 0..10 {
                let (a, b) = tokio::join!(scan_once(&app.ctx, "node-a"), scan_once(&restarted, "node-c"));
                fired += a.expect("a").fired + b.expect("b").fired;
            }
            assert_eq!((fired, firings(&app)), (n, 2 * n as i64));
            // The outbox got one sla.* webhook per firing only when configured; the notifications
            // table holds none here (no assignee, no team), and the events show one breach per ticket.
            let (_, list) = app.get(&app.agent_token, "/api/v1/tickets?limit=50").await;
            for item in list["items"].as_array().unwrap() {
                let tk = app.ticket(item["id"].as_i64().unwrap()).await;
                assert_eq!(events_of_kind(&tk, "sla_breached").len(), 1);
                assert_eq!(events_of_kind(&tk, "sla_warning").len(), 1);
            }
        }

        async fn stage_deadlines_in_working_days_and_supervisor_escalation(app) {
            let team = app.create_team("Dinas PU").await;
            let (token, hash) = tanggap::auth::new_token("tgp");
            let now = app.ctx.clock.now_naive();
            app.ctx
                .write_blocking(|conn| {
                    let u = tanggap::auth::repo::insert_user(
                        conn,
                        &tanggap::auth::repo::NewUser { email: "spv-pu@pemkot.example", name: "Spv PU", role: "supervisor", password_hash: None, team_id: Some(team) },
                        now,
                    )?;
                    tanggap::auth::repo::insert_token(conn, u.id, "api", &hash, "test", now, None)?;
                    Ok(())
                })
                .unwrap();
            let p = json!({
                "name": "pengaduan", "conditions": { "team_id": [team] },
                "stages": [{ "name": "verifikasi", "working_days": 3, "calendar": "jakarta-cc", "met_on": ["open"] }],
                "targets": { "resolution": { "target": "10d", "business_days": true, "calendar": "jakarta-cc" } },
                "escalation": [{ "at": "breach", "action": "notify_supervisors" }, { "at": "breach", "action": "raise_priority" }],
            });
            setup(&app, &[p]).await;
            // Mon 21 Dec 10:00 WIB: Tue 22, Wed 23, (24, 25 holidays), Sat 26 (the night shift) → Sun 27 06:00.
            app.clock.set(t("2026-12-21T10:00:00+07:00"));
            let (s, created) = app.post(&app.agent_token, "/api/v1/tickets", &json!({
                "subject": "Trotoar rusak", "body": "Trotoar berlubang", "channel": "phone",
                "contact": { "name": "Warga", "phone": "081311119999" }, "team": team })).await;
            assert_eq!(s, 201, "{created}");
            let id = created["id"].as_i64().unwrap();
            let tk = app.ticket(id).await;
            assert_eq!(due_of(&tk, "stage:verifikasi"), t("2026-12-27T06:00:00+07:00"));
            // Not verified in time: the breach notifies the team's supervisor and raises the priority.
            app.clock.set(t("2026-12-28T08:00:00+07:00"));
            assert_eq!(scan(&app).await, 1);
            let (_, notes) = app.get(&token, "/api/v1/sla/notifications").await;
            assert_eq!(notes["items"].as_array().unwrap().len(), 1, "{notes}");
            assert_eq!(notes["items"][0]["kind"], "sla.breached");
            let tk = app.ticket(id).await;
            assert_eq!(tk["priority"], "high");
            set_status(&app, id, "open").await;
            let tk = app.ticket(id).await;
            assert_eq!(clock(&tk, "stage:verifikasi")["state"], "met");
            assert_eq!(clock(&tk, "resolution")["state"], "running");
        }
    }
}

mod cli {
    crate::each_backend! {
        async fn the_cli_imports_calendars_and_answers_due_times(backend) {
            let (url, _dir, schema) = crate::helpers::fresh_database(backend);
            let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sla");
            let run = |args: &[&str]| {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_tanggap"))
                    .args(args)
                    .env("TANGGAP__DATABASE__URL", &url)
                    .env("TANGGAP_CONFIG_DIR", "/nonexistent")
                    .output()
                    .expect("run tanggap");
                (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
            };
            let toml = fixtures.join("jakarta-cc.toml");
            let (ok, _, err) = run(&["calendar", "import", toml.to_str().unwrap()]);
            assert!(ok, "{err}");
            assert!(err.contains("imported calendar jakarta-cc") && err.contains("6 holiday(s)"), "{err}");
            let (ok, _, err) = run(&["calendar", "import", toml.to_str().unwrap()]);
            assert!(ok && err.contains("replaced"), "{err}");
            // Fri 16:00 + 4 h: 1 h Friday, Saturday night 22:00-01:00.
            let (ok, out, err) = run(&["sla", "due", "--calendar", "jakarta-cc", "--start", "2026-12-04T16:00:00+07:00", "--target", "4h", "--explain"]);
            assert!(ok, "{err}");
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines[0], "2026-12-06T01:00:00+07:00");
            assert_eq!(lines.len(), 3);
            assert!(lines[2].starts_with("2026-12-05T22:00:00+07:00 .. 2026-12-06T01:00:00+07:00"), "{out}");
            // 30 Dec 16:00 + 2 h: 31 Dec (CSV cuti bersama) and 1 Jan (iCal) are closed → Sat 2 Jan 23:00.
            let (_, out, _) = run(&["sla", "due", "--calendar", "jakarta-cc", "--start", "2026-12-30T09:00:00Z", "--target", "2h"]);
            assert_eq!(out.trim(), "2027-01-02T23:00:00+07:00");
            // 8 Feb 2027 (Mon) + 3 working days: 9, 10 Feb are Imlek (iCal, DTEND exclusive) → 11, 12, Sat 13 night.
            let (_, out, _) = run(&["sla", "due", "--calendar", "jakarta-cc", "--start", "2027-02-08T10:00:00+07:00", "--target", "3d", "--business-days"]);
            assert_eq!(out.trim(), "2027-02-14T06:00:00+07:00");
            let (ok, _, err) = run(&["sla", "due", "--calendar", "nope", "--start", "2026-12-04T16:00:00+07:00", "--target", "4h"]);
            assert!(!ok && err.contains("no calendar named `nope`"), "{err}");
            let (ok, _, err) = run(&["sla", "due", "--calendar", "jakarta-cc", "--start", "2026-12-04T16:00:00+07:00", "--target", "4h", "--business-days"]);
            assert!(!ok && err.contains("whole days"), "{err}");
            if let Some(s) = schema {
                crate::helpers::drop_schema(&s);
            }
        }
    }
}

mod webhooks_and_reopen {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Deliveries seen: the event header and the body.
    type Seen = Arc<Mutex<Vec<(String, Value)>>>;

    /// A receiver that records each delivery's event header and body.
    fn receiver() -> (String, Seen) {
        let got: Seen = Arc::default();
        let store = got.clone();
        let url = crate::helpers::spawn_http_peer(move |cfg| {
            let store = store.clone();
            cfg.route(
                "/hook",
                actix_web::web::post().to(move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                    let store = store.clone();
                    async move {
                        let event = req
                            .headers()
                            .get("X-Tanggap-Event")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        store.lock().unwrap().push((event, body));
                        actix_web::HttpResponse::Ok().finish()
                    }
                }),
            );
        });
        (format!("{url}/hook"), got)
    }

    crate::each_backend! {
        async fn warnings_and_breaches_go_out_as_webhooks_once_and_a_reopened_ticket_runs_on(backend) {
            let (url, got) = receiver();
            let app = crate::helpers::spawn_app_with(backend, |s| {
                s.webhooks = vec![tanggap::config::WebhookEndpoint {
                    url: url.parse().unwrap(),
                    secret: tanggap::config::Secret::new("sla-webhook-secret"),
                    events: vec!["sla.warning".into(), "sla.breached".into()],
                }];
            })
            .await;
            let p = json!({ "name": "umum", "targets": { "resolution": { "target": "4h" } }, "warn_at": [50] });
            setup(&app, &[p]).await;
            let start = t("2026-12-01T02:00:00Z");
            app.clock.set(start);
            let id = app.create_ticket("Parkir liar", "081311117777").await["id"].as_i64().unwrap();
            // Resolved after 1 h, reopened 5 h later: 3 h are left from the reopening.
            app.clock.advance(Duration::hours(1));
            set_status(&app, id, "resolved").await;
            app.clock.advance(Duration::hours(5));
            assert_eq!(scan(&app).await, 0, "a resolved ticket's clock does not fire");
            set_status(&app, id, "open").await;
            let tk = app.ticket(id).await;
            assert_eq!(due_of(&tk, "resolution"), start + Duration::hours(9));
            assert_eq!(clock(&tk, "resolution")["state"], "running");
            // 50 % (2 h used) is 1 h after reopening; the breach 3 h after.
            app.clock.advance(Duration::hours(1));
            assert_eq!(scan(&app).await, 1);
            app.clock.advance(Duration::hours(2));
            assert_eq!(scan(&app).await, 1);
            assert_eq!(scan(&app).await, 0);
            app.run_jobs().await;
            let got = got.lock().unwrap().clone();
            let events: Vec<&str> = got.iter().map(|(e, _)| e.as_str()).collect();
            assert_eq!(events, vec!["sla.warning", "sla.breached"]);
            assert_eq!(got[1].1["data"]["ticket"]["id"], id);
            assert_eq!(got[1].1["data"]["sla"]["clock"], "resolution");
            assert_eq!(got[1].1["data"]["sla"]["due_at"], "2026-12-01T11:00:00Z");
        }
    }
}

mod supervisor_mail {
    use super::*;
    use crate::email::sink::SmtpSink;

    crate::each_backend! {
        async fn a_breach_mails_the_team_supervisors_through_the_outbox(backend) {
            let sink = SmtpSink::start().await;
            let smtp = sink.url();
            let app = crate::helpers::spawn_app_with(backend, |s| crate::email::email_settings(s, Some(&smtp))).await;
            let team = app.create_team("Dinas Kebersihan").await;
            let now = app.ctx.clock.now_naive();
            app.ctx
                .write_blocking(|conn| {
                    for (email, role) in [("spv-dk@pemkot.example", "supervisor"), ("agen-dk@pemkot.example", "agent")] {
                        tanggap::auth::repo::insert_user(
                            conn,
                            &tanggap::auth::repo::NewUser { email, name: role, role, password_hash: None, team_id: Some(team) },
                            now,
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            let p = json!({ "name": "kebersihan", "targets": { "resolution": { "target": "1h" } }, "warn_at": [50] });
            setup(&app, &[p]).await;
            let (s, created) = app.post(&app.agent_token, "/api/v1/tickets", &json!({
                "subject": "Sampah menumpuk", "body": "Di pasar", "channel": "phone",
                "contact": { "name": "Warga", "phone": "081311118888" }, "team": team })).await;
            assert_eq!(s, 201, "{created}");
            // The warning goes to the assignee only (none here): no mail.
            app.clock.advance(Duration::minutes(30));
            assert_eq!(scan(&app).await, 1);
            app.run_jobs().await;
            assert!(sink.mails().is_empty());
            app.clock.advance(Duration::minutes(31));
            assert_eq!(scan(&app).await, 1);
            app.run_jobs().await;
            let mails = sink.mails();
            assert_eq!(mails.len(), 1, "one mail, to the supervisor only");
            assert_eq!(mails[0].rcpt_to, vec!["spv-dk@pemkot.example".to_string()]);
            assert!(mails[0].subject().contains("melewati SLA"), "{}", mails[0].subject());
            assert!(mails[0].text().contains("resolution"), "{}", mails[0].text());
            // One Message-ID per firing and recipient, ours (so an auto-reply is seen as a loop)
            // and the same on a retry, so the receiving side can drop a second copy.
            let number = created["number"].as_str().unwrap();
            let mid = mails[0].header("Message-ID").expect("a Message-ID");
            assert!(mid.starts_with(&format!("<tiket-{number}.sla-")), "{mid}");
            assert!(tanggap::email::address::is_our_id(mid.trim_matches(['<', '>']), "pemkot.example"), "{mid}");
            assert_eq!(scan(&app).await, 0);
            app.run_jobs().await;
            assert_eq!(sink.mails().len(), 1);
        }
    }
}
