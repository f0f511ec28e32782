//! Test harness: the real HTTP app on a free port, one fresh database per test (a SQLite temp
//! file, or a PostgreSQL schema of its own), users of every role with API tokens, and a fake clock.

use std::net::TcpListener;
use std::sync::Arc;

use chrono::Utc;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use serde_json::Value;
use tanggap::auth;
use tanggap::clock::FakeClock;
use tanggap::config::{Secret, Settings};
use tanggap::context::AppContext;
use tanggap::db::Db;
use tanggap::startup::{Application, migrate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_base_url() -> String {
    std::env::var("TANGGAP_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestApp {
    pub address: String,
    pub ctx: AppContext,
    pub clock: Arc<FakeClock>,
    pub http: reqwest::Client,
    pub admin_token: String,
    pub supervisor_token: String,
    pub agent_token: String,
    pub agent_id: i64,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<String>,
}

/// A fresh database URL for `backend` (and what must be cleaned up).
pub fn fresh_database(backend: Backend) -> (String, Option<tempfile::TempDir>, Option<String>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, Some(dir), None)
        }
        Backend::Postgres => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&pg_base_url())
                .unwrap_or_else(|e| panic!("PostgreSQL at {} is required for the tests: {e}", pg_base_url()));
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create schema");
            let sep = if pg_base_url().contains('?') { '&' } else { '?' };
            let url = format!("{}{sep}options=-csearch_path%3D{schema}", pg_base_url());
            (url, None, Some(schema))
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let (url, dir, pg_schema) = fresh_database(backend);
    let mut settings = Settings::defaults();
    settings.database.url = Secret::new(url);
    settings.database.pool_size = 4;
    settings.public.lookups_per_minute = 1000;
    tweak(&mut settings);
    let db = Db::connect(&settings.database).expect("connect");
    let clock = Arc::new(FakeClock::new(Utc::now()));
    let ctx = AppContext::with_clock(settings, db, clock.clone()).expect("context");
    migrate(&ctx).expect("migrate");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = Application::build(ctx.clone(), listener).expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.server());

    let mut tokens = Vec::new();
    let mut agent_id = 0;
    for (email, role) in [
        ("admin@pemkot.example", "admin"),
        ("supervisor@pemkot.example", "supervisor"),
        ("agent@pemkot.example", "agent"),
    ] {
        let (user, token) = seed_user(&ctx, email, role, None);
        if role == "agent" {
            agent_id = user.id;
        }
        tokens.push(token);
    }
    TestApp {
        address,
        ctx,
        clock,
        http: reqwest::Client::new(),
        agent_token: tokens.pop().unwrap(),
        supervisor_token: tokens.pop().unwrap(),
        admin_token: tokens.pop().unwrap(),
        agent_id,
        backend,
        _dir: dir,
        pg_schema,
    }
}

/// Adds a user of `role` (optionally in `team`) with an API token; returns the user and token.
pub fn seed_user(ctx: &AppContext, email: &str, role: &str, team_id: Option<i64>) -> (auth::User, String) {
    let (token, hash) = auth::new_token("tgp");
    let now = ctx.clock.now_naive();
    let user = ctx
        .write_blocking(|conn| {
            let u = auth::repo::insert_user(
                conn,
                &auth::repo::NewUser {
                    email,
                    name: role,
                    role,
                    password_hash: None,
                    team_id,
                },
                now,
            )?;
            auth::repo::insert_token(conn, u.id, "api", &hash, "test", now, None)?;
            Ok(u)
        })
        .expect("seed user");
    (user, token)
}

/// Drops a PostgreSQL schema made by [`fresh_database`] (best effort).
pub fn drop_schema(schema: &str) {
    if let Ok(mut conn) = diesel::PgConnection::establish(&pg_base_url()) {
        let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            drop_schema(schema);
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GET with a bearer token; returns status and JSON body (Null when empty).
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        split(r).await
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        split(r).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        split(r).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        split(r).await
    }

    /// POST with a bearer token and extra headers (e.g. `Idempotency-Key`).
    pub async fn post_with_headers(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut rb = self.http.post(self.url(path)).bearer_auth(token).json(body);
        for (name, value) in headers {
            rb = rb.header(*name, *value);
        }
        split(rb.send().await.expect("request")).await
    }

    /// Sends any request; returns status, headers and JSON body (Null when empty).
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = rb.send().await.expect("request");
        let headers = r.headers().clone();
        let (status, body) = split(r).await;
        (status, headers, body)
    }

    /// The full ticket (contact, messages, events) as the agent sees it.
    pub async fn ticket(&self, id: i64) -> Value {
        let (status, body) = self.get(&self.agent_token, &format!("/api/v1/tickets/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Creates a team as the admin and returns its id.
    pub async fn create_team(&self, name: &str) -> i64 {
        let (status, body) = self
            .post(&self.admin_token, "/api/v1/teams", &serde_json::json!({ "name": name }))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().expect("team id")
    }

    /// Creates a category (optionally routed to a team) as the admin and returns its id.
    pub async fn create_category(&self, name: &str, team: Option<i64>) -> i64 {
        let (status, body) = self
            .post(
                &self.admin_token,
                "/api/v1/categories",
                &serde_json::json!({ "name": name, "team": team }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().expect("category id")
    }

    /// Creates a ticket as the agent and returns the 201 body.
    pub async fn create_ticket(&self, subject: &str, phone: &str) -> Value {
        let (status, body) = self
            .post(
                &self.agent_token,
                "/api/v1/tickets",
                &serde_json::json!({
                    "subject": subject,
                    "body": format!("Laporan warga: {subject}"),
                    "channel": "phone",
                    "contact": { "name": "Warga Uji", "phone": phone },
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Runs due jobs until none are left (or `max_rounds`), returning how many ran.
    pub async fn run_jobs(&self) -> usize {
        let mut total = 0;
        for _ in 0..20 {
            let n = tanggap::jobs::runner::run_once(&self.ctx, "test-worker")
                .await
                .expect("run jobs");
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    }
}

/// Starts a small HTTP server on a free loopback port (a stand-in for a remote peer) and returns
/// its base URL. `configure` registers its state and handlers.
pub fn spawn_http_peer<F>(configure: F) -> String
where
    F: Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind peer");
    let port = listener.local_addr().expect("peer address").port();
    let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(configure.clone()))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
    actix_web::rt::spawn(server);
    format!("http://127.0.0.1:{port}")
}

pub async fn split(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Events of one kind from a ticket detail, as `(before, after)` pairs.
pub fn events_of_kind(ticket: &Value, kind: &str) -> Vec<(Value, Value)> {
    ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| (e["before"].clone(), e["after"].clone()))
        .collect()
}

/// Declares each test once and runs it on SQLite and on PostgreSQL, each on a fresh app.
/// `async fn name(app) { … }` uses the default settings; `async fn name(app, |s| …) { … }`
/// adjusts the [`Settings`] first.
#[macro_export]
macro_rules! both_backends {
    (@spawn $backend:expr) => {
        $crate::helpers::spawn_app($backend)
    };
    (@spawn $backend:expr, $tweak:expr) => {
        $crate::helpers::spawn_app_with($backend, $tweak)
    };
    ($(async fn $name:ident($app:ident $(, $tweak:expr)?) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_web::test]
                async fn $name() {
                    let $app =
                        $crate::both_backends!(@spawn $crate::helpers::Backend::Sqlite $(, $tweak)?).await;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_web::test]
                async fn $name() {
                    let $app =
                        $crate::both_backends!(@spawn $crate::helpers::Backend::Postgres $(, $tweak)?).await;
                    $body
                }
            )*
        }
    };
}

/// Like [`both_backends!`], but the test gets only the [`Backend`] and builds what it needs
/// (its own app with settings that depend on the test, or a bare database).
#[macro_export]
macro_rules! each_backend {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_web::test]
                async fn $name() {
                    let $backend = $crate::helpers::Backend::Sqlite;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[actix_web::test]
                async fn $name() {
                    let $backend = $crate::helpers::Backend::Postgres;
                    $body
                }
            )*
        }
    };
}
