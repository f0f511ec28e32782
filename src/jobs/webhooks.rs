//! Outgoing webhooks: events are enqueued as one job per subscribed receiver inside the
//! transaction that caused them, and delivered by the worker, signed
//! `X-Tanggap-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::{JobFailure, KIND_WEBHOOK};
use crate::config::Settings;
use crate::db::DbConnection;

#[derive(Debug, Serialize, Deserialize)]
pub struct WebhookJob {
    /// Receiver URL; the secret is looked up in configuration at delivery time.
    pub url: String,
    /// Stable across retries, so receivers can deduplicate.
    pub delivery_id: String,
    pub event: String,
    /// The exact JSON body to send.
    pub body: String,
}

/// Enqueues `event` with `data` for every receiver subscribed to it. Call inside the transaction.
pub fn emit(
    conn: &mut DbConnection,
    settings: &Settings,
    event: &str,
    data: Value,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    let receivers: Vec<_> = settings
        .webhooks
        .iter()
        .filter(|w| w.events.iter().any(|e| e == event))
        .collect();
    if receivers.is_empty() {
        return Ok(0);
    }
    for receiver in &receivers {
        let delivery_id = uuid::Uuid::now_v7().to_string();
        let body = serde_json::json!({
            "id": delivery_id,
            "event": event,
            "created_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        })
        .to_string();
        let job = WebhookJob {
            url: receiver.url.to_string(),
            delivery_id,
            event: event.into(),
            body,
        };
        super::enqueue(conn, settings, KIND_WEBHOOK, &job, now)?;
    }
    Ok(receivers.len())
}

/// `sha256=<hex>` over `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends one delivery. 2xx is success; 408, 429 and 5xx and network errors are retried;
/// other 4xx mean the receiver refuses this delivery and retrying will not help.
pub async fn deliver(
    http: &reqwest::Client,
    settings: &Settings,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<(), JobFailure> {
    let job: WebhookJob =
        serde_json::from_str(payload).map_err(|e| JobFailure::Permanent(format!("unreadable webhook payload: {e}")))?;
    let receiver = settings
        .webhooks
        .iter()
        .find(|w| w.url.as_str() == job.url)
        .ok_or_else(|| JobFailure::Permanent(format!("receiver {} is no longer configured", job.url)))?;
    let ts = now.timestamp();
    let resp = http
        .post(&job.url)
        .header("Content-Type", "application/json")
        .header("X-Tanggap-Event", &job.event)
        .header("X-Tanggap-Delivery", &job.delivery_id)
        .header("X-Tanggap-Timestamp", ts.to_string())
        .header(
            "X-Tanggap-Signature",
            signature(receiver.secret.expose(), ts, &job.body),
        )
        .body(job.body.clone())
        .send()
        .await
        .map_err(|e| JobFailure::Retry(format!("POST {}: {e}", job.url)))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(JobFailure::Retry(format!("POST {} answered {status}", job.url)))
    } else {
        Err(JobFailure::Permanent(format!("POST {} answered {status}", job.url)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_fixture_scheme() {
        // tests/fixtures/webhooks_out/message_created.*: the shared fixture, same scheme, secret whsec_uji_0001.
        let body = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/webhooks_out/message_created.body.json"
        ))
        .expect("tests/fixtures/webhooks_out");
        let sig = super::signature("whsec_uji_0001", 1786586407, &body);
        assert_eq!(
            sig,
            "sha256=1bd9a6095f0f55397dfac274247ed64da5a10c2f929089efd38353409d0ee5d7"
        );
    }
}
