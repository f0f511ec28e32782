//! The e-mail channel end to end: real mail through every way in (HTTP endpoint, the
//! `ingest-email` binary, an IMAP server), real SMTP out to a sink over TCP, on both backends.

mod cli;
mod imap;
mod inbound;
mod outbound;
mod parsing;
pub mod sink;

use diesel::prelude::*;
use serde_json::Value;
use tanggap::config::{Secret, Settings};

use crate::helpers::TestApp;

pub const INBOUND_TOKEN: &str = "inbound-token-uji-0123456789";
pub const ADDRESS_SECRET: &str = "address-secret-uji-0123456789";
pub const OUR_FROM: &str = "Layanan Pengaduan Pemkot <pengaduan@pemkot.example>";

/// One fixture from tests/fixtures/email, byte for byte.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Email settings for the tests; `smtp_url` points at a sink when given.
pub fn email_settings(s: &mut Settings, smtp_url: Option<&str>) {
    s.email.from = OUR_FROM.into();
    s.email.inbound_token = Secret::new(INBOUND_TOKEN);
    s.email.address_secret = Secret::new(ADDRESS_SECRET);
    s.email.smtp_url = Secret::new(smtp_url.unwrap_or(""));
    s.email.smtp_timeout_secs = 5;
    s.server.public_url = "https://pengaduan.pemkot.example".parse().unwrap();
}

/// POSTs a raw message to the inbound endpoint with the channel token.
pub async fn post_mail(app: &TestApp, raw: &[u8]) -> (u16, Value) {
    let rb = app
        .http
        .post(app.url("/api/v1/channels/email/inbound"))
        .bearer_auth(INBOUND_TOKEN)
        .header("Content-Type", "message/rfc822")
        .body(raw.to_vec());
    let (status, _, body) = app.send(rb).await;
    (status, body)
}

/// POSTs and expects a 200, returning the report.
pub async fn deliver_ok(app: &TestApp, raw: &[u8]) -> Value {
    let (status, body) = post_mail(app, raw).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A simple citizen mail.
pub fn mail(from: &str, subject: &str, message_id: Option<&str>, extra_headers: &str, body: &str) -> Vec<u8> {
    let mid = message_id.map(|m| format!("Message-ID: <{m}>\r\n")).unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {OUR_FROM}\r\nSubject: {subject}\r\nDate: Fri, 14 Aug 2026 07:31:02 +0700\r\n{mid}{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Gives ticket `id` the number `number` and registers `rfc_id` as one of our outbound mails on
/// it, as if we had sent it earlier (the fixtures refer to such mails).
pub fn seed_sent_mail(app: &TestApp, ticket_id: i64, number: Option<&str>, rfc_id: &str) -> i64 {
    use tanggap::db::schema::tickets;
    let now = app.ctx.clock.now();
    app.ctx
        .write_blocking(|conn| {
            if let Some(n) = number {
                diesel::update(tickets::table.find(ticket_id))
                    .set(tickets::number.eq(n))
                    .execute(conn)?;
            }
            let t = tanggap::tickets::repo::get(conn, ticket_id)?;
            let m = tanggap::tickets::repo::insert_message(
                conn,
                &tanggap::tickets::model::NewMessage {
                    ticket_id,
                    direction: "outbound",
                    channel: "email",
                    author_user_id: None,
                    author_contact_id: None,
                    body_text: "Laporan Anda telah kami terima.",
                    body_html: None,
                    external_id: None,
                    delivery_state: "sent",
                    created_at: now.naive_utc(),
                    metadata: None,
                },
            )?;
            let to = "warga@mail.example";
            tanggap::email::repo::insert_outbound(conn, m.id, "reply", to, rfc_id, now.naive_utc())?;
            tanggap::email::repo::insert_id(conn, rfc_id, t.id, Some(m.id), "outbound", now.naive_utc())?;
            Ok(m.id)
        })
        .expect("seed sent mail")
}

/// Number of tickets in the store.
pub async fn ticket_count(app: &TestApp) -> usize {
    let (status, body) = app.get(&app.agent_token, "/api/v1/tickets?limit=200").await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().expect("items").len()
}

pub fn messages(ticket: &Value) -> &Vec<Value> {
    ticket["messages"].as_array().expect("messages")
}
