//! The phone channel through the real HTTP app: the Generic CTI fixtures and edge cases, the
//! caller log, the callback queue, tickets from calls, the live feed and Twilio webhooks.

mod callbacks;
mod cti;
mod live;
mod tickets;
mod twilio;

use std::path::PathBuf;

use serde_json::Value;
use tanggap::config::{Secret, Settings};

use crate::helpers::{TestApp, split};

pub const TOKEN: &str = "uji-cti-token-0123456789";

pub fn with_cti(s: &mut Settings) {
    s.phone.cti_token = Secret::new(TOKEN);
}

pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/phone")
        .join(rel)
}

pub fn fixture_bytes(rel: &str) -> Vec<u8> {
    let p = fixture_path(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn fixture(rel: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(rel)).expect("fixture JSON")
}

pub fn cti_fixture(rel: &str) -> Value {
    fixture(&format!("zammad_generic_cti/{rel}"))
}

/// Posts one CTI event as JSON with the right token.
pub async fn cti(app: &TestApp, body: &Value) -> (u16, Value) {
    cti_with(app, TOKEN, body).await
}

pub async fn cti_with(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/v1/cti/{token}")))
        .json(body)
        .send()
        .await
        .expect("request");
    split(r).await
}

/// Posts a CTI event and expects `{}`.
pub async fn cti_ok(app: &TestApp, body: &Value) {
    let (status, reply) = cti(app, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply, serde_json::json!({}), "{body}");
}

/// A CTI event built from parts.
pub fn event(event: &str, call_id: &str, direction: &str, from: &str, to: &str) -> Value {
    serde_json::json!({ "event": event, "callId": call_id, "direction": direction, "from": from, "to": to })
}

/// The caller log's rows with this PBX call id.
pub async fn call_by_call_id(app: &TestApp, call_id: &str) -> Value {
    let (status, body) = app.get(&app.agent_token, "/api/v1/calls?limit=200").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["call_id"] == call_id)
        .cloned()
        .unwrap_or_else(|| panic!("call {call_id} not in the caller log: {body}"))
}

pub fn count_rows(app: &TestApp, sql_table: &str) -> i64 {
    use diesel::prelude::*;
    use tanggap::db::schema::{call_events, calls};
    let mut conn = app.ctx.db.read_conn().expect("conn");
    match sql_table {
        "calls" => calls::table.count().get_result(&mut *conn).expect("count"),
        "call_events" => call_events::table.count().get_result(&mut *conn).expect("count"),
        other => panic!("unknown table {other}"),
    }
}

/// Replays the three fixture sequences with the times of expected_caller_log.json's `_doc`:
/// A rings 12 s and talks 185 s, B rings 20 s, C (the callback to B) rings 5 s and talks 60 s.
pub async fn replay_fixture_sequences(app: &TestApp) {
    let tick = |s: i64| app.clock.advance(chrono::Duration::seconds(s));
    cti_ok(app, &cti_fixture("seq_a_answered/01_newCall.json")).await;
    tick(12);
    cti_ok(app, &cti_fixture("seq_a_answered/02_answer.json")).await;
    tick(185);
    cti_ok(app, &cti_fixture("seq_a_answered/03_hangup.json")).await;
    tick(60);
    cti_ok(app, &cti_fixture("seq_b_missed/01_newCall.json")).await;
    tick(20);
    cti_ok(app, &cti_fixture("seq_b_missed/02_hangup.json")).await;
    tick(600);
    cti_ok(app, &cti_fixture("seq_c_outbound_callback/01_newCall.json")).await;
    tick(5);
    cti_ok(app, &cti_fixture("seq_c_outbound_callback/02_answer.json")).await;
    tick(60);
    cti_ok(app, &cti_fixture("seq_c_outbound_callback/03_hangup.json")).await;
}
