//! Twilio Voice webhooks: `X-Twilio-Signature` verification and the mapping of Twilio's call
//! statuses onto the same call events the Generic CTI endpoint records.
//!
//! Signature (twilio.com/docs/usage/security): base64(HMAC-SHA1(auth token, the full URL as
//! Twilio called it, query string included, followed by each POST parameter sorted by name as
//! name + value)).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::{CallDirection, CallEvent, EventKind};
use crate::error::{AppError, AppResult};

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The signature Twilio sends for a POST of `params` to `url`.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    base64::engine::general_purpose::STANDARD.encode(hmac_sha1(auth_token.as_bytes(), data.as_bytes()))
}

pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    crate::auth::constant_time_eq(signature(auth_token, url, params).as_bytes(), header.trim().as_bytes())
}

/// The form parameters of a webhook body.
pub fn params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The call events one Twilio request stands for. `completed` means the call was connected and
/// then ended: when no answer was reported before, an `answer` is implied `CallDuration`
/// seconds before the hangup (the returned offsets are seconds before now).
pub fn to_events(params: &[(String, String)]) -> AppResult<Vec<(CallEvent, i64)>> {
    let call_id = param(params, "CallSid")
        .filter(|s| s.len() <= 250)
        .ok_or_else(|| AppError::field("CallSid", "is required"))?;
    let direction = match param(params, "Direction") {
        Some("inbound") => CallDirection::In,
        Some(d) if d.starts_with("outbound") => CallDirection::Out,
        _ => {
            return Err(AppError::field(
                "Direction",
                "must be inbound, outbound-api or outbound-dial",
            ));
        }
    };
    let status = param(params, "CallStatus").ok_or_else(|| AppError::field("CallStatus", "is required"))?;
    let (event, cause) = match status {
        "queued" | "initiated" | "ringing" => (EventKind::NewCall, None),
        "in-progress" => (EventKind::Answer, None),
        "completed" => (EventKind::Hangup, Some("normalClearing")),
        "busy" => (EventKind::Hangup, Some("busy")),
        "no-answer" => (EventKind::Hangup, Some("noAnswer")),
        "canceled" => (EventKind::Hangup, Some("cancel")),
        "failed" => (EventKind::Hangup, Some("failed")),
        other => return Err(AppError::field("CallStatus", format!("unknown call status `{other}`"))),
    };
    let base = CallEvent {
        event,
        call_id: call_id.to_string(),
        direction,
        from: param(params, "From").unwrap_or("anonymous").chars().take(100).collect(),
        to: param(params, "To").unwrap_or("").chars().take(100).collect(),
        users: Vec::new(),
        queue: None,
        answering_number: None,
        cause: cause.map(str::to_string),
        recording_url: param(params, "RecordingUrl")
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(|u| u.chars().take(2000).collect()),
    };
    let mut out = Vec::new();
    if status == "completed" {
        let talked = param(params, "CallDuration")
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0)
            .clamp(0, 86_400);
        let answer = CallEvent {
            event: EventKind::Answer,
            cause: None,
            ..base.clone()
        };
        out.push((answer, talked));
    }
    out.push((base, 0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha1_known_answer() {
        // RFC 2202 test case 2.
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        let long_key = [0xaau8; 80];
        let mac = hmac_sha1(&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    }

    #[test]
    fn statuses_map_to_events() {
        let p = |status: &str| {
            vec![
                ("CallSid".to_string(), "CA1".to_string()),
                ("Direction".to_string(), "inbound".to_string()),
                ("CallStatus".to_string(), status.to_string()),
                ("CallDuration".to_string(), "197".to_string()),
            ]
        };
        let ringing = to_events(&p("ringing")).unwrap();
        assert_eq!(ringing.len(), 1);
        assert_eq!(ringing[0].0.event, EventKind::NewCall);
        let done = to_events(&p("completed")).unwrap();
        assert_eq!(done[0].0.event, EventKind::Answer);
        assert_eq!(done[0].1, 197);
        assert_eq!(done[1].0.cause.as_deref(), Some("normalClearing"));
        assert_eq!(
            to_events(&p("no-answer")).unwrap()[0].0.cause.as_deref(),
            Some("noAnswer")
        );
        assert!(to_events(&p("exploded")).is_err());
    }
}
