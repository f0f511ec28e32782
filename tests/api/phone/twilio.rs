//! The optional Twilio voice webhooks, with the fixtures' real signatures.

use std::collections::HashMap;

use tanggap::config::{Secret, Settings};

use super::*;

const TWILIO_TOKEN: &str = "uji_twilio_auth_token_0001";

fn with_twilio(s: &mut Settings) {
    s.phone.twilio_auth_token = Secret::new(TWILIO_TOKEN);
    // The fixtures were signed for this public address.
    s.server.public_url = "https://pengaduan.pemkot.example".parse().unwrap();
}

/// A `.http` fixture: request line, headers, body (comment lines skipped).
struct HttpFixture {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

fn http_fixture(rel: &str) -> HttpFixture {
    let text = String::from_utf8(fixture_bytes(rel)).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let request = lines.next().unwrap();
    let path = request.split_whitespace().nth(1).unwrap().to_string();
    let mut headers = HashMap::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.insert(k.trim().to_string(), v.trim().to_string());
    }
    let body = lines.collect::<Vec<_>>().join("\n").trim().to_string();
    HttpFixture { path, headers, body }
}

async fn post_fixture(app: &crate::helpers::TestApp, f: &HttpFixture, body: &str) -> (u16, String) {
    let mut rb = app.http.post(app.url(&f.path)).body(body.to_string());
    for (k, v) in &f.headers {
        if k != "Host" {
            rb = rb.header(k.as_str(), v.as_str());
        }
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

crate::both_backends! {
    async fn twilio_calls_are_verified_and_logged(app, with_twilio) {
        let incoming = http_fixture("twilio/incoming_call.http");
        let status_cb = http_fixture("twilio/status_callback_completed.http");

        // A body that is not what Twilio signed is refused and records nothing.
        let tampered = incoming.body.replace("%2B6281234500001", "%2B6281234500009");
        let (status, _) = post_fixture(&app, &incoming, &tampered).await;
        assert_eq!(status, 401);
        assert_eq!(count_rows(&app, "call_events"), 0);

        let (status, twiml) = post_fixture(&app, &incoming, &incoming.body).await;
        assert_eq!(status, 200, "{twiml}");
        assert!(twiml.contains("<Enqueue>"), "{twiml}");
        let call = call_by_call_id(&app, "CA000000000000000000000000000000a1").await;
        assert_eq!(call["state"], "ringing");
        assert_eq!(call["source"], "twilio");
        assert_eq!(call["number"], "+6281234500001");

        app.clock.advance(chrono::Duration::seconds(210));
        let (status, _) = post_fixture(&app, &status_cb, &status_cb.body).await;
        assert_eq!(status, 204);
        // Twilio retries: harmless.
        let (status, _) = post_fixture(&app, &status_cb, &status_cb.body).await;
        assert_eq!(status, 204);
        let call = call_by_call_id(&app, "CA000000000000000000000000000000a1").await;
        assert_eq!(call["state"], "completed");
        assert_eq!(call["talking_seconds"], 197);
        assert_eq!(call["waiting_seconds"], 13);
        assert_eq!(count_rows(&app, "call_events"), 3);

        // Without the signature header.
        let r = app.http.post(app.url("/webhooks/twilio/status")).body(status_cb.body.clone()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }

    async fn twilio_is_off_without_a_token(app) {
        let incoming = http_fixture("twilio/incoming_call.http");
        let (status, _) = post_fixture(&app, &incoming, &incoming.body).await;
        assert_eq!(status, 404);
    }
}
