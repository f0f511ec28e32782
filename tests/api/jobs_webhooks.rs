//! The jobs runtime seen from outside: signed webhooks to a real HTTP receiver, retries with
//! backoff on the fake clock, dead letters and the admin retry, and reply delivery per channel.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tanggap::config::{Secret, WebhookEndpoint};
use tanggap::jobs::webhooks::signature;

use crate::helpers::{TestApp, spawn_app_with, spawn_http_peer};

const SECRET: &str = "whsec_uji_0001";

#[derive(Clone, Debug)]
struct Delivery {
    path: String,
    event: String,
    delivery_id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Default)]
struct ReceiverState {
    status: AtomicU16,
    got: Mutex<Vec<Delivery>>,
}

/// A small HTTP receiver on a free local port that records every request and answers with
/// the status it is told to.
struct Receiver {
    base: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        state.status.store(status, Ordering::SeqCst);
        let data = web::Data::from(state.clone());
        let base = spawn_http_peer(move |cfg| {
            cfg.app_data(data.clone()).default_service(web::to(record));
        });
        Receiver { base, state }
    }

    fn url(&self, path: &str) -> url::Url {
        format!("{}{path}", self.base).parse().unwrap()
    }

    fn answer(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    fn got(&self) -> Vec<Delivery> {
        self.state.got.lock().unwrap().clone()
    }
}

async fn record(state: web::Data<ReceiverState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    state.got.lock().unwrap().push(Delivery {
        path: req.path().to_string(),
        event: header("X-Tanggap-Event"),
        delivery_id: header("X-Tanggap-Delivery"),
        timestamp: header("X-Tanggap-Timestamp"),
        signature: header("X-Tanggap-Signature"),
        content_type: header("Content-Type"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let status = actix_web::http::StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
    HttpResponse::build(status).finish()
}

/// The documented scheme, computed here independently of the server's code:
/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
fn expected_signature(secret: &str, timestamp: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn endpoint(url: url::Url, events: &[&str]) -> WebhookEndpoint {
    WebhookEndpoint {
        url,
        secret: Secret::new(SECRET),
        events: events.iter().map(|e| e.to_string()).collect(),
    }
}

const ALL: &[&str] = &["ticket.created", "message.created", "ticket.status_changed"];

async fn jobs(app: &TestApp, state: &str) -> Vec<Value> {
    let (status, body) = app.get(&app.admin_token, &format!("/api/v1/jobs?state={state}")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v} is not a time: {e}"))
}

crate::each_backend! {
    async fn webhooks_are_delivered_signed(backend) {
        let all = Receiver::start(200).await;
        let status_only = Receiver::start(200).await;
        let app = spawn_app_with(backend, |s| {
            s.webhooks = vec![
                endpoint(all.url("/hooks/tanggap"), ALL),
                endpoint(status_only.url("/hooks/status"), &["ticket.status_changed"]),
            ];
        })
        .await;
        let created = app.create_ticket("Lampu lalu lintas mati", "081377770001").await;
        // Nothing is sent until the worker runs: the events wait in the outbox.
        assert!(all.got().is_empty());
        assert_eq!(jobs(&app, "pending").await.len(), 2);

        assert_eq!(app.run_jobs().await, 2);
        assert!(jobs(&app, "all").await.is_empty(), "delivered jobs leave the queue");
        let got = all.got();
        let mut events: Vec<&str> = got.iter().map(|d| d.event.as_str()).collect();
        events.sort();
        assert_eq!(events, ["message.created", "ticket.created"]);
        let now = app.ctx.clock.now().timestamp();
        for d in &got {
            assert_eq!(d.path, "/hooks/tanggap");
            assert_eq!(d.content_type, "application/json");
            let ts: i64 = d.timestamp.parse().expect("numeric timestamp");
            assert_eq!(ts, now);
            assert_eq!(d.signature, expected_signature(SECRET, &d.timestamp, &d.body));
            assert_eq!(d.signature, signature(SECRET, ts, &d.body));
            assert!(d.signature.starts_with("sha256="));
            // A signature over another body or with another secret does not match.
            assert_ne!(d.signature, signature("whsec_lain_0002", ts, &d.body));
            let body = d.json();
            assert_eq!(body["event"], d.event.as_str());
            assert_eq!(body["id"], d.delivery_id.as_str());
            assert!(!d.delivery_id.is_empty());
            // The citizen's secret token never leaves in a webhook.
            assert!(!d.body.contains(created["access_token"].as_str().unwrap()), "{}", d.body);
        }
        let ticket_created = got.iter().find(|d| d.event == "ticket.created").unwrap().json();
        assert_eq!(ticket_created["data"]["id"], created["id"]);
        assert_eq!(ticket_created["data"]["number"], created["number"]);
        let message_created = got.iter().find(|d| d.event == "message.created").unwrap().json();
        assert_eq!(message_created["data"]["message"]["direction"], "inbound");
        assert_eq!(message_created["data"]["message"]["text"], "Laporan warga: Lampu lalu lintas mati");
        assert!(status_only.got().is_empty(), "not subscribed to these events");

        // A status change goes to both; an internal note is marked internal.
        let id = created["id"].as_i64().unwrap();
        let (s, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "status": "open" })).await;
        assert_eq!(s, 200);
        let (s, _) = app.post(&app.agent_token, &format!("/api/v1/tickets/{id}/messages"), &json!({ "kind": "note", "body": "cek" })).await;
        assert_eq!(s, 201);
        assert_eq!(app.run_jobs().await, 3);
        let only = status_only.got();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].event, "ticket.status_changed");
        let change = only[0].json();
        assert_eq!((&change["data"]["from"], &change["data"]["to"]), (&json!("new"), &json!("open")));
        assert_eq!(only[0].signature, expected_signature(SECRET, &only[0].timestamp, &only[0].body));
        let note = all.got().into_iter().find(|d| d.event == "message.created" && d.json()["data"]["message"]["direction"] == "note").expect("note webhook");
        assert_eq!(note.json()["data"]["message"]["visibility"], "internal");
        assert_eq!(all.got().len(), 4);
    }

    async fn failing_receiver_is_retried_then_dead_lettered(backend) {
        let hook = Receiver::start(500).await;
        let app = spawn_app_with(backend, |s| {
            s.webhooks = vec![endpoint(hook.url("/hook"), &["ticket.created"])];
            s.jobs.max_attempts = 2;
        })
        .await;
        app.create_ticket("Saluran air meluap", "081377770002").await;
        let queued = jobs(&app, "pending").await;
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0]["attempts"], 0);
        assert_eq!(queued[0]["max_attempts"], 2);
        let job_id = queued[0]["id"].as_i64().unwrap();

        // First attempt fails: counted, error kept, next run pushed out by the backoff.
        assert_eq!(app.run_jobs().await, 1);
        assert_eq!(hook.got().len(), 1);
        let job = jobs(&app, "pending").await.remove(0);
        assert_eq!(job["id"], job_id);
        assert_eq!(job["attempts"], 1);
        assert_eq!(job["state"], "pending");
        assert!(job["last_error"].as_str().unwrap().contains("500"), "{job}");
        assert!(job["leased_by"].is_null(), "{job}");
        let backoff = time(&job["run_at"]) - time(&job["created_at"]);
        assert_eq!(backoff, chrono::Duration::seconds(app.ctx.settings.jobs.backoff_base_secs as i64));

        // Not due yet: nothing runs.
        app.clock.advance(chrono::Duration::seconds(3));
        assert_eq!(app.run_jobs().await, 0);
        assert_eq!(hook.got().len(), 1);

        // Past the backoff it runs again, fails again, and is dead-lettered.
        app.clock.advance(chrono::Duration::seconds(3));
        assert_eq!(app.run_jobs().await, 1);
        let got = hook.got();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].delivery_id, got[1].delivery_id, "the delivery id is stable across retries");
        assert_eq!(got[0].body, got[1].body);
        assert!(jobs(&app, "pending").await.is_empty());
        let dead = jobs(&app, "dead").await;
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0]["id"], job_id);
        assert_eq!(dead[0]["state"], "dead");
        assert_eq!(dead[0]["attempts"], 2);
        assert!(dead[0]["dead_at"].is_string());

        // A dead job stays dead however long we wait.
        app.clock.advance(chrono::Duration::hours(24));
        assert_eq!(app.run_jobs().await, 0);

        // The admin puts it back; it is pending with a fresh budget.
        let (status, body) = app.post(&app.admin_token, &format!("/api/v1/jobs/{job_id}/retry"), &json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "pending");
        assert_eq!(body["attempts"], 0);
        assert!(body["dead_at"].is_null());
        assert!(jobs(&app, "dead").await.is_empty());
        // Retrying a job that is not dead is a conflict.
        let (status, body) = app.post(&app.admin_token, &format!("/api/v1/jobs/{job_id}/retry"), &json!({})).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "job_not_dead");

        // The receiver recovers; the retried job is delivered and leaves the queue.
        hook.answer(204);
        assert_eq!(app.run_jobs().await, 1);
        assert_eq!(hook.got().len(), 3);
        assert!(jobs(&app, "all").await.is_empty());
    }

    async fn receiver_refusing_with_4xx_is_dead_at_once(backend) {
        let hook = Receiver::start(410).await;
        let app = spawn_app_with(backend, |s| {
            s.webhooks = vec![endpoint(hook.url("/gone"), &["ticket.created"])];
        })
        .await;
        app.create_ticket("Reklame liar", "081377770003").await;
        assert_eq!(app.run_jobs().await, 1);
        let dead = jobs(&app, "dead").await;
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(dead[0]["attempts"], 1);
        assert!(dead[0]["last_error"].as_str().unwrap().contains("permanent"), "{:?}", dead[0]);
    }

    async fn unreachable_receiver_is_retried(backend) {
        // A port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url: url::Url = format!("http://127.0.0.1:{}/hook", closed.local_addr().unwrap().port()).parse().unwrap();
        drop(closed);
        let app = spawn_app_with(backend, |s| s.webhooks = vec![endpoint(url, &["ticket.created"])]).await;
        app.create_ticket("Kabel menjuntai", "081377770004").await;
        assert_eq!(app.run_jobs().await, 1);
        let pending = jobs(&app, "pending").await;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0]["attempts"], 1);
        assert!(pending[0]["last_error"].as_str().unwrap().contains("retryable"), "{:?}", pending[0]);
    }
}

async fn reply_on(app: &TestApp, channel: &str, contact: Value) -> (i64, i64) {
    let (status, t) = app
        .post(
            &app.agent_token,
            "/api/v1/tickets",
            &json!({ "subject": "Izin usaha lambat", "body": "Sudah dua bulan.", "channel": channel, "contact": contact }),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_i64().unwrap();
    let (status, m) = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/messages"),
            &json!({ "kind": "reply", "body": "Kami cek ke dinas terkait." }),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["delivery_state"], "queued");
    (id, m["id"].as_i64().unwrap())
}

fn delivery_state(ticket: &Value, message_id: i64) -> String {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id)
        .and_then(|m| m["delivery_state"].as_str())
        .expect("message")
        .to_string()
}

mod delivery {
    use super::*;

    crate::both_backends! {
        async fn reply_without_adapter_fails_visibly(app) {
            let (id, mid) = reply_on(&app, "chat", json!({ "name": "Andi", "phone": "081377770009" })).await;
            assert_eq!(app.run_jobs().await, 1);
            let ticket = app.ticket(id).await;
            assert_eq!(delivery_state(&ticket, mid), "failed");
            let (status, dead) = app.get(&app.admin_token, "/api/v1/jobs?state=dead").await;
            assert_eq!(status, 200);
            let dead = dead["items"].as_array().unwrap();
            assert_eq!(dead.len(), 1, "{dead:?}");
            assert_eq!(dead[0]["kind"], "deliver_message");
            assert_eq!(dead[0]["attempts"], 1, "a permanent failure is not retried");
            assert!(dead[0]["last_error"].as_str().unwrap().contains("chat"), "{:?}", dead[0]);
        }

        async fn phone_reply_is_sent(app) {
            let (id, mid) = reply_on(&app, "phone", json!({ "name": "Andi", "phone": "081377770005" })).await;
            assert_eq!(delivery_state(&app.ticket(id).await, mid), "queued");
            assert_eq!(app.run_jobs().await, 1);
            assert_eq!(delivery_state(&app.ticket(id).await, mid), "sent");
            let (_, all) = app.get(&app.admin_token, "/api/v1/jobs?state=all").await;
            assert!(all["items"].as_array().unwrap().is_empty(), "{all}");
            // Nothing left to run.
            assert_eq!(app.run_jobs().await, 0);
        }
    }
}
