//! The Graph API calls we make: Send API replies (Instagram, WhatsApp), comment replies, and
//! fetching a comment we were mentioned in. Errors are sorted into retry, window closed (hold the
//! reply) and permanent (shown on the message).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Platform;
use crate::context::AppContext;

#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// Network trouble, 5xx, rate limits: try again later.
    Retry(String),
    /// The platform's messaging window is closed (Instagram 10/2534022, WhatsApp 131047).
    WindowClosed(String),
    /// Retrying cannot help (bad token, invalid recipient, …).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Retry(m) | SendError::WindowClosed(m) | SendError::Permanent(m) => f.write_str(m),
        }
    }
}

/// Sorts a Graph error response.
pub fn classify(platform: Platform, status: u16, body: &str) -> SendError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let code = err["code"].as_i64().unwrap_or(0);
    let sub = err["error_subcode"].as_i64().unwrap_or(0);
    let message = err["message"].as_str().unwrap_or("").trim();
    let detail = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!(
            "{message} (Graph error {code}{})",
            if sub != 0 { format!("/{sub}") } else { String::new() }
        )
    };
    let label = platform.label();
    match (code, sub) {
        (10, 2534022) | (131047, _) => {
            SendError::WindowClosed(format!("{label} refused: the messaging window is closed: {detail}"))
        }
        (190, _) => SendError::Permanent(format!(
            "{label} access token is invalid or expired; renew TANGGAP__{}__ACCESS_TOKEN: {detail}",
            platform.as_str().to_uppercase()
        )),
        (4 | 17 | 32 | 613 | 80002 | 80006 | 130429 | 131048 | 131056, _) => {
            SendError::Retry(format!("{label} rate limit: {detail}"))
        }
        (1 | 2, _) => SendError::Retry(format!("{label} temporary error: {detail}")),
        _ if status == 429 || status >= 500 => SendError::Retry(format!("{label} unavailable: {detail}")),
        _ => SendError::Permanent(format!("{label} refused the message: {detail}")),
    }
}

/// Spaces calls to one account at most `per_second` apart (Meta's per-account limits).
async fn pace(key: &str, per_second: u32) {
    static NEXT: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    let gap = Duration::from_secs_f64(1.0 / per_second.max(1) as f64);
    let wait = {
        let mut map = NEXT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let slot = map.get(key).copied().filter(|t| *t > now).unwrap_or(now);
        map.insert(key.to_string(), slot + gap);
        slot.saturating_duration_since(now)
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

async fn call(
    ctx: &AppContext,
    platform: Platform,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, SendError> {
    let token = platform.access_token(&ctx.settings);
    if token.is_empty() {
        return Err(SendError::Permanent(format!(
            "no {} access token is configured (TANGGAP__{}__ACCESS_TOKEN)",
            platform.label(),
            platform.as_str().to_uppercase()
        )));
    }
    pace(
        &format!("{}:{}", platform.as_str(), platform.account_id(&ctx.settings)),
        platform.sends_per_second(&ctx.settings),
    )
    .await;
    let url = format!(
        "{}/{}",
        platform.graph_root(&ctx.settings),
        path.trim_start_matches('/')
    );
    let mut rb = ctx.http.request(method, &url).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.map_err(|e| {
        SendError::Retry(format!(
            "{} Graph API unreachable: {}",
            platform.label(),
            e.without_url()
        ))
    })?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| {
        SendError::Retry(format!(
            "{} Graph API response lost: {}",
            platform.label(),
            e.without_url()
        ))
    })?;
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|_| {
            SendError::Retry(format!(
                "{} Graph API answered {status} with a body that is not JSON",
                platform.label()
            ))
        })
    } else {
        Err(classify(platform, status, &text))
    }
}

fn id_from(v: &Value, pointer: &str, what: &str) -> Result<String, SendError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| SendError::Permanent(format!("the Graph API accepted the {what} but returned no id: {v}")))
}

/// A direct message to an Instagram user; returns the message id (`mid`).
pub async fn instagram_send(
    ctx: &AppContext,
    recipient: &str,
    text: &str,
    human_agent: bool,
) -> Result<String, SendError> {
    let mut body = json!({ "recipient": { "id": recipient }, "message": { "text": text } });
    if human_agent {
        body["messaging_type"] = json!("MESSAGE_TAG");
        body["tag"] = json!("HUMAN_AGENT");
    }
    instagram_messages(ctx, body, "message").await
}

/// The one private reply to a comment, delivered as a direct message.
pub async fn instagram_private_reply(ctx: &AppContext, comment_id: &str, text: &str) -> Result<String, SendError> {
    let body = json!({ "recipient": { "comment_id": comment_id }, "message": { "text": text } });
    instagram_messages(ctx, body, "private reply").await
}

async fn instagram_messages(ctx: &AppContext, body: Value, what: &str) -> Result<String, SendError> {
    let account = &ctx.settings.instagram.account_id;
    let v = call(
        ctx,
        Platform::Instagram,
        reqwest::Method::POST,
        &format!("{account}/messages"),
        Some(body),
    )
    .await?;
    id_from(&v, "/message_id", what)
}

/// A public reply under a comment on our media; returns the new comment's id.
pub async fn instagram_comment_reply(ctx: &AppContext, comment_id: &str, text: &str) -> Result<String, SendError> {
    let v = call(
        ctx,
        Platform::Instagram,
        reqwest::Method::POST,
        &format!("{comment_id}/replies"),
        Some(json!({ "message": text })),
    )
    .await?;
    id_from(&v, "/id", "comment reply")
}

/// A public reply to a comment on someone else's media that mentioned us.
pub async fn instagram_mention_reply(
    ctx: &AppContext,
    media_id: &str,
    comment_id: &str,
    text: &str,
) -> Result<String, SendError> {
    let account = &ctx.settings.instagram.account_id;
    let v = call(
        ctx,
        Platform::Instagram,
        reqwest::Method::POST,
        &format!("{account}/mentions"),
        Some(json!({ "media_id": media_id, "comment_id": comment_id, "message": text })),
    )
    .await?;
    id_from(&v, "/id", "mention reply")
}

/// Fetches a comment our account was mentioned in, shaped like a `comments` webhook value.
pub async fn fetch_mention(ctx: &AppContext, media_id: &str, comment_id: &str) -> Result<Value, SendError> {
    let account = &ctx.settings.instagram.account_id;
    let fields = format!("mentioned_comment.comment_id({comment_id}){{id,text,timestamp,username,from,media{{id}}}}");
    let path = format!(
        "{account}?fields={}",
        url::form_urlencoded::byte_serialize(fields.as_bytes()).collect::<String>()
    );
    let v = call(ctx, Platform::Instagram, reqwest::Method::GET, &path, None).await?;
    let mut c = v
        .get("mentioned_comment")
        .cloned()
        .ok_or_else(|| SendError::Permanent(format!("the Graph API returned no mentioned_comment for {comment_id}")))?;
    if c.pointer("/from/id").and_then(Value::as_str).is_none() {
        // Without a scoped id the username is the only handle on the author.
        let username = c
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        c["from"] = json!({ "id": format!("@{username}"), "username": username });
    }
    if c.pointer("/media/id").is_none() {
        c["media"] = json!({ "id": media_id });
    }
    if c.get("id").is_none() {
        c["id"] = json!(comment_id);
    }
    Ok(c)
}

/// A WhatsApp text message; returns the wamid.
pub async fn whatsapp_send(
    ctx: &AppContext,
    to: &str,
    text: &str,
    reply_to: Option<&str>,
) -> Result<String, SendError> {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "body": text, "preview_url": false },
    });
    if let Some(r) = reply_to {
        body["context"] = json!({ "message_id": r });
    }
    let number = &ctx.settings.whatsapp.phone_number_id;
    let v = call(
        ctx,
        Platform::Whatsapp,
        reqwest::Method::POST,
        &format!("{number}/messages"),
        Some(body),
    )
    .await?;
    id_from(&v, "/messages/0/id", "message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_errors_are_sorted() {
        let window = include_str!("../../../tests/fixtures/instagram/send_api/response_error_outside_window.json");
        assert!(matches!(
            classify(Platform::Instagram, 400, window),
            SendError::WindowClosed(_)
        ));
        let token = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}"#;
        assert!(
            matches!(classify(Platform::Instagram, 400, token), SendError::Permanent(m) if m.contains("ACCESS_TOKEN"))
        );
        let rate = r#"{"error":{"message":"Application request limit reached","code":4}}"#;
        assert!(matches!(classify(Platform::Instagram, 400, rate), SendError::Retry(_)));
        assert!(matches!(
            classify(Platform::Whatsapp, 503, "upstream down"),
            SendError::Retry(_)
        ));
        let wa_window = r#"{"error":{"message":"Re-engagement message","code":131047}}"#;
        assert!(matches!(
            classify(Platform::Whatsapp, 400, wa_window),
            SendError::WindowClosed(_)
        ));
        let bad = r#"{"error":{"message":"Invalid parameter","code":100}}"#;
        assert!(matches!(
            classify(Platform::Whatsapp, 400, bad),
            SendError::Permanent(_)
        ));
    }
}
