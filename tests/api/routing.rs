//! Automatic assignment: who the router picks, its cap, the team queue, and that a ticket is
//! assigned once however often its job runs.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, events_of_kind, seed_user};

struct Member {
    id: i64,
    token: String,
}

/// A team with `auto_assign` on and the given cap, as the admin sets it.
async fn routed_team(app: &TestApp, name: &str, max_open: i64) -> i64 {
    let team = app.create_team(name).await;
    let (status, body) = app
        .patch(
            &app.admin_token,
            &format!("/api/v1/teams/{team}"),
            &json!({ "auto_assign": true, "max_open_per_agent": max_open }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auto_assign"], true);
    assert_eq!(body["max_open_per_agent"], max_open);
    team
}

/// A user of `role` in `team` with an API token (not yet available).
fn member(app: &TestApp, team: i64, email: &str, role: &str) -> Member {
    let (user, token) = seed_user(&app.ctx, email, role, Some(team));
    Member { id: user.id, token }
}

/// `PUT /users/me/availability`, with or without a token.
async fn put_availability(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut rb = app.http.put(app.url("/api/v1/users/me/availability")).json(body);
    if let Some(token) = token {
        rb = rb.bearer_auth(token);
    }
    let (status, _, body) = app.send(rb).await;
    (status, body)
}

async fn set_available(app: &TestApp, m: &Member, available: bool) {
    let (status, body) = put_availability(app, Some(&m.token), &json!({ "available": available })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"], available);
}

/// Agents a and b of `team`, both available.
async fn two_available(app: &TestApp, team: i64) -> [Member; 2] {
    let pair = [
        member(app, team, "a@pemkot.example", "agent"),
        member(app, team, "b@pemkot.example", "agent"),
    ];
    for m in &pair {
        set_available(app, m, true).await;
    }
    pair
}

/// A ticket for `team` as the agent records it; returns its id.
async fn ticket_for(app: &TestApp, team: Option<i64>, subject: &str) -> i64 {
    let (status, body) = app
        .post(
            &app.agent_token,
            "/api/v1/tickets",
            &json!({
                "subject": subject,
                "body": format!("Laporan warga: {subject}"),
                "channel": "phone",
                "contact": { "name": "Warga Uji", "phone": "081377770000" },
                "team": team,
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("ticket id")
}

async fn assignee(app: &TestApp, id: i64) -> Value {
    app.ticket(id).await["assignee_id"].clone()
}

async fn patch_ticket(app: &TestApp, id: i64, body: Value) {
    let (status, answer) = app
        .patch(&app.supervisor_token, &format!("/api/v1/tickets/{id}"), &body)
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// The router's assignments of a ticket: `assignee_changed` events by the system.
async fn routed_events(app: &TestApp, id: i64) -> Vec<Value> {
    app.ticket(id).await["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "assignee_changed" && e["actor_kind"] == "system")
        .cloned()
        .collect()
}

fn route_ticket_payload(id: i64) -> String {
    json!({ "ticket_id": id }).to_string()
}

crate::both_backends! {
    async fn the_least_loaded_available_agent_gets_the_ticket(app) {
        let team = routed_team(&app, "Pembayaran Insentif", 25).await;
        let busy = member(&app, team, "busy@pemkot.example", "agent");
        let away = member(&app, team, "away@pemkot.example", "agent");
        let light = member(&app, team, "light@pemkot.example", "supervisor");
        let gone = member(&app, team, "gone@pemkot.example", "agent");
        let boss = member(&app, team, "boss@pemkot.example", "admin");
        for m in [&busy, &light, &gone, &boss] {
            set_available(&app, m, true).await;
        }
        // Load by hand: busy holds two tickets, light one; the inactive and the admin hold none.
        for (who, n) in [(&busy, 2), (&light, 1)] {
            for k in 0..n {
                let id = ticket_for(&app, None, &format!("beban {k}")).await;
                patch_ticket(&app, id, json!({ "assignee": who.id })).await;
            }
        }
        app.ctx
            .write_blocking(move |conn| {
                use diesel::prelude::*;
                use tanggap::db::schema::users;
                diesel::update(users::table.find(gone.id)).set(users::active.eq(false)).execute(conn)?;
                Ok(())
            })
            .expect("deactivate");

        let id = ticket_for(&app, Some(team), "Insentif belum cair").await;
        assert!(app.ticket(id).await["assignee_id"].is_null(), "routing waits for the job");
        app.run_jobs().await;
        // Not the unavailable one, not the inactive one, not the admin: the least loaded.
        assert_eq!(assignee(&app, id).await, light.id);
        let events = routed_events(&app, id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["before"], Value::Null);
        assert_eq!(events[0]["after"], light.id);
        let _ = away;
    }

    async fn ties_go_round_robin(app) {
        let team = routed_team(&app, "Layanan Umum", 25).await;
        let [a, b] = two_available(&app, team).await;
        // Each ticket is resolved before the next, so both agents are always equally loaded:
        // the one given a ticket least recently (never first, then lower id) gets the next.
        let mut order = Vec::new();
        for k in 0..5 {
            app.clock.advance(Duration::minutes(1));
            let id = ticket_for(&app, Some(team), &format!("antrian {k}")).await;
            app.run_jobs().await;
            let who = assignee(&app, id).await.as_i64().expect("assigned");
            order.push(who);
            patch_ticket(&app, id, json!({ "status": "resolved" })).await;
            app.run_jobs().await;
        }
        assert_eq!(order, [a.id, b.id, a.id, b.id, a.id]);
    }

    async fn the_cap_holds_and_the_queue_waits_for_room(app) {
        let team = routed_team(&app, "Pelatihan", 1).await;
        let [a, b] = two_available(&app, team).await;
        let mut ids = Vec::new();
        for k in 0..4 {
            ids.push(ticket_for(&app, Some(team), &format!("pelatihan {k}")).await);
        }
        app.run_jobs().await;
        let first = assignee(&app, ids[0]).await;
        let second = assignee(&app, ids[1]).await;
        assert_eq!((first.clone(), second.clone()), (json!(a.id), json!(b.id)));
        assert!(assignee(&app, ids[2]).await.is_null());
        assert!(assignee(&app, ids[3]).await.is_null());

        // b resolves theirs: the room goes to the oldest waiting ticket, and only that one.
        patch_ticket(&app, ids[1], json!({ "status": "resolved" })).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, ids[2]).await, b.id);
        assert!(assignee(&app, ids[3]).await.is_null());

        // Handing a's ticket to someone outside the team frees a's room too.
        patch_ticket(&app, ids[0], json!({ "assignee": app.agent_id })).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, ids[3]).await, a.id);

        // Raising the cap lets the next ticket in at once.
        let extra = ticket_for(&app, Some(team), "pelatihan 4").await;
        app.run_jobs().await;
        assert!(assignee(&app, extra).await.is_null());
        let (status, body) = app
            .patch(&app.admin_token, &format!("/api/v1/teams/{team}"), &json!({ "max_open_per_agent": 2 }))
            .await;
        assert_eq!(status, 200, "{body}");
        app.run_jobs().await;
        assert!(assignee(&app, extra).await.is_i64());
    }

    async fn the_backlog_goes_to_an_agent_who_becomes_available(app) {
        let team = routed_team(&app, "Akun & Verifikasi", 2).await;
        let a = member(&app, team, "a@pemkot.example", "agent");
        let b = member(&app, team, "b@pemkot.example", "agent");
        let mut ids = Vec::new();
        for k in 0..3 {
            ids.push(ticket_for(&app, Some(team), &format!("akun {k}")).await);
        }
        app.run_jobs().await;
        for id in &ids {
            assert!(assignee(&app, *id).await.is_null(), "nobody is available yet");
        }
        // The agent turns availability on: the oldest tickets up to the cap are theirs.
        set_available(&app, &a, true).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, ids[0]).await, a.id);
        assert_eq!(assignee(&app, ids[1]).await, a.id);
        assert!(assignee(&app, ids[2]).await.is_null());
        // A supervisor makes b available: the last one goes to b.
        let (status, body) = app
            .patch(&app.supervisor_token, &format!("/api/v1/users/{}", b.id), &json!({ "available": true }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["available"], true);
        app.run_jobs().await;
        assert_eq!(assignee(&app, ids[2]).await, b.id);

        // Who changed b's availability is kept.
        let (status, body) = app.get(&b.token, &format!("/api/v1/users/{}/availability", b.id)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["available"], true);
        assert_eq!(body["changes"].as_array().map(Vec::len), Some(1));
        let (_, me) = app.get(&app.supervisor_token, "/api/v1/users/me").await;
        assert_eq!(body["changes"][0]["changed_by"], me["id"]);
        // An agent cannot read someone else's.
        let (status, _) = app.get(&b.token, &format!("/api/v1/users/{}/availability", a.id)).await;
        assert_eq!(status, 403);
    }

    async fn a_ticket_is_routed_once_however_often_its_job_runs(app, |s: &mut tanggap::config::Settings| {
        s.webhooks = vec![tanggap::config::WebhookEndpoint {
            url: "http://127.0.0.1:9/hook".parse().expect("url"),
            secret: tanggap::config::Secret::new("whsec_uji_0001"),
            events: vec!["ticket.assigned".into()],
        }];
    }) {
        let team = routed_team(&app, "Infrastruktur Kota", 25).await;
        let _agents = two_available(&app, team).await;
        let id = ticket_for(&app, Some(team), "Jalan berlubang").await;
        // The same job run by two workers at once, then again, then by the queue itself.
        let payload = route_ticket_payload(id);
        let (x, y) = tokio::join!(
            tanggap::routing::run_ticket_job(&app.ctx, &payload),
            tanggap::routing::run_ticket_job(&app.ctx, &payload)
        );
        x.expect("first run");
        y.expect("second run");
        tanggap::routing::run_ticket_job(&app.ctx, &payload).await.expect("third run");
        app.run_jobs().await;
        let events = routed_events(&app, id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(assignee(&app, id).await, events[0]["after"]);
        // One `ticket.assigned` webhook for it, by the router.
        let hooks: Vec<Value> = app
            .ctx
            .write_blocking(|conn| {
                use diesel::prelude::*;
                use tanggap::db::schema::jobs;
                Ok(jobs::table
                    .filter(jobs::kind.eq("webhook"))
                    .select(jobs::payload)
                    .load::<String>(conn)?)
            })
            .expect("jobs")
            .iter()
            .map(|p| serde_json::from_str::<Value>(p).expect("payload"))
            .map(|p| serde_json::from_str::<Value>(p["body"].as_str().expect("body")).expect("body json"))
            .filter(|body| body["event"] == "ticket.assigned")
            .collect();
        assert_eq!(hooks.len(), 1, "{hooks:?}");
        assert_eq!(hooks[0]["data"]["by"], "router");
        assert_eq!(hooks[0]["data"]["to"], events[0]["after"]);
        // A gone ticket or team is nothing to do, not an error.
        tanggap::routing::run_ticket_job(&app.ctx, &route_ticket_payload(999_999)).await.expect("gone ticket");
        tanggap::routing::run_team_job(&app.ctx, &json!({ "team_id": 999_999 }).to_string())
            .await
            .expect("gone team");
    }

    async fn a_stale_read_modify_save_does_not_undo_an_assignment(app) {
        let team = routed_team(&app, "Perizinan", 25).await;
        let a = member(&app, team, "a@pemkot.example", "agent");
        set_available(&app, &a, true).await;
        let id = ticket_for(&app, Some(team), "Izin usaha").await;
        // Another write (e.g. a citizen's next message) read the ticket before the router ran…
        let mut stale = app
            .ctx
            .write_blocking(move |conn| Ok(tanggap::tickets::repo::get(conn, id)?))
            .expect("read");
        app.run_jobs().await;
        assert_eq!(assignee(&app, id).await, a.id);
        // …and saves its change after: the assignment stays.
        stale.last_inbound_at = Some(app.ctx.clock.now_naive());
        app.ctx
            .write_blocking(move |conn| Ok(tanggap::tickets::repo::save(conn, &stale)?))
            .expect("save");
        assert_eq!(assignee(&app, id).await, a.id);
    }

    async fn concurrent_routers_never_overfill_an_agent(app) {
        let team = routed_team(&app, "Kependudukan", 1).await;
        let [a, b] = two_available(&app, team).await;
        let mut ids = Vec::new();
        for k in 0..6 {
            ids.push(ticket_for(&app, Some(team), &format!("KTP {k}")).await);
        }
        // Six routers at once (separate connections; on PostgreSQL truly in parallel), plus two
        // team fills: room for two tickets, so exactly two are assigned, one to each agent.
        let payloads: Vec<String> = ids.iter().map(|id| route_ticket_payload(*id)).collect();
        let team_payload = json!({ "team_id": team }).to_string();
        let runs = payloads.iter().map(|p| tanggap::routing::run_ticket_job(&app.ctx, p));
        let fills = [&team_payload, &team_payload].map(|p| tanggap::routing::run_team_job(&app.ctx, p));
        let (runs, fills) = tokio::join!(futures_util::future::join_all(runs), futures_util::future::join_all(fills));
        for r in runs.into_iter().chain(fills) {
            r.expect("routing run");
        }
        let mut holders = Vec::new();
        for id in &ids {
            if let Some(who) = assignee(&app, *id).await.as_i64() {
                holders.push(who);
            }
        }
        holders.sort_unstable();
        assert_eq!(holders, [a.id, b.id]);
    }

    async fn manual_assignment_is_not_overridden(app) {
        let team = routed_team(&app, "Pembayaran", 25).await;
        let a = member(&app, team, "a@pemkot.example", "agent");
        set_available(&app, &a, true).await;
        let id = ticket_for(&app, Some(team), "Tolong ditangani Pak Budi").await;
        // A supervisor assigns it before the router's job runs.
        patch_ticket(&app, id, json!({ "assignee": app.agent_id })).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, id).await, app.agent_id);
        assert!(routed_events(&app, id).await.is_empty());
        let manual = events_of_kind(&app.ticket(id).await, "assignee_changed");
        assert_eq!(manual, vec![(Value::Null, json!(app.agent_id))]);
        // Later changes to the team's agents leave it where it is.
        set_available(&app, &a, false).await;
        set_available(&app, &a, true).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, id).await, app.agent_id);
    }

    async fn a_team_change_routes_and_only_auto_assigning_teams_route(app) {
        let routed = routed_team(&app, "Layanan Umum", 25).await;
        let manual = app.create_team("Hukum").await;
        let a = member(&app, routed, "a@pemkot.example", "agent");
        let c = member(&app, manual, "c@pemkot.example", "agent");
        set_available(&app, &a, true).await;
        set_available(&app, &c, true).await;
        let id = ticket_for(&app, Some(manual), "Sengketa lahan").await;
        app.run_jobs().await;
        assert!(assignee(&app, id).await.is_null(), "a team without auto_assign is not routed");
        patch_ticket(&app, id, json!({ "team": routed })).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, id).await, a.id);
        // Unassigned by hand in an auto-assigning team: routed again.
        patch_ticket(&app, id, json!({ "assignee": null })).await;
        app.run_jobs().await;
        assert_eq!(assignee(&app, id).await, a.id);
        assert_eq!(routed_events(&app, id).await.len(), 2);
        // A category's team routes as well.
        let cat = app.create_category("Kebersihan", Some(routed)).await;
        let (status, body) = app
            .post(
                &app.agent_token,
                "/api/v1/tickets",
                &json!({ "subject": "Sampah", "body": "Belum diangkut", "channel": "phone",
                         "contact": { "name": "Warga", "phone": "081377770001" }, "category": cat }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        app.run_jobs().await;
        assert_eq!(assignee(&app, body["id"].as_i64().expect("id")).await, a.id);
    }

    async fn team_and_availability_settings_are_validated(app) {
        let team = app.create_team("Pengaduan").await;
        let other = app.create_team("Lainnya").await;
        let (_, list) = app.get(&app.agent_token, "/api/v1/teams").await;
        let shown = list["items"].as_array().expect("items").iter().find(|t| t["id"] == team).cloned();
        let shown = shown.expect("team listed");
        assert_eq!(shown["auto_assign"], false);
        assert_eq!(shown["max_open_per_agent"], 25);

        let path = format!("/api/v1/teams/{team}");
        let (status, body) = app.patch(&app.supervisor_token, &path, &json!({ "auto_assign": true })).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
        for bad in [json!({ "max_open_per_agent": 0 }), json!({ "max_open_per_agent": 1001 }), json!({ "name": " " })] {
            let (status, body) = app.patch(&app.admin_token, &path, &bad).await;
            assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{bad}: {body}");
        }
        let (status, body) = app.patch(&app.admin_token, &path, &json!({ "auto_asign": true })).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = app.patch(&app.admin_token, &path, &json!({ "auto_assign": "yes" })).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = app.patch(&app.admin_token, "/api/v1/teams/999999", &json!({ "auto_assign": true })).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
        let (status, body) = app.patch(&app.admin_token, &path, &json!({ "name": "Lainnya" })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("name_taken")), "{body}");
        let (status, body) = app
            .patch(&app.admin_token, &path, &json!({ "name": "Pengaduan Warga", "auto_assign": true }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["name"].as_str(), body["auto_assign"].as_bool()), (Some("Pengaduan Warga"), Some(true)));
        let _ = other;

        // Availability: a boolean, for oneself; others' only by a supervisor.
        let (status, body) = put_availability(&app, Some(&app.agent_token), &json!({ "available": 1 })).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = put_availability(&app, None, &json!({ "available": true })).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
        let user = format!("/api/v1/users/{}", app.agent_id);
        let (status, _) = app.patch(&app.agent_token, &user, &json!({ "available": true })).await;
        assert_eq!(status, 403);
        let (status, body) = app.patch(&app.supervisor_token, "/api/v1/users/999999", &json!({ "available": true })).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
        let (status, body) = app.patch(&app.supervisor_token, &user, &json!({ "role": "admin" })).await;
        assert_eq!(status, 400, "{body}");
        let (_, users) = app.get(&app.supervisor_token, "/api/v1/users").await;
        let me = users["items"].as_array().expect("items").iter().find(|u| u["id"] == app.agent_id).cloned();
        assert_eq!(me.expect("listed")["available"], false, "off until the agent says so");
    }
}
